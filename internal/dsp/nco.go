package dsp

import "math"

// The sine table: sineTable[i] = sin(2πi/sineTableLen) for one full turn
// plus a guard entry, computed at init. The NCO interpolates linearly
// between entries; with 1024 entries the interpolation error is below
// (2π/1024)²/8 = 4.7e-6 of full scale (−107 dB), well under 16-bit
// quantisation (−98 dB for a full-scale sine).
const (
	sineTableBits = 10
	sineTableLen  = 1 << sineTableBits
)

var sineTable [sineTableLen + 1]float64

func init() {
	for i := range sineTable {
		sineTable[i] = math.Sin(2 * math.Pi * float64(i) / sineTableLen)
	}
}

// Phase is an angle as a fraction of a turn in 32-bit fixed point: 1<<32
// is 2π, so phase arithmetic wraps exactly.
type Phase uint32

// PhaseOf returns the Phase of an angle in radians.
func PhaseOf(rad float64) Phase {
	t := rad / (2 * math.Pi)
	t -= math.Floor(t)
	return Phase(uint32(int64(t*(1<<32)) & 0xFFFFFFFF))
}

// Radians returns the angle in [0, 2π).
func (p Phase) Radians() float64 { return float64(p) * (2 * math.Pi / (1 << 32)) }

// PhaseStep returns the per-sample phase increment of a frequency in Hz
// at SampleRate (negative frequencies wrap).
func PhaseStep(hz float64) Phase {
	return Phase(uint32(int64(math.Round(hz / SampleRate * (1 << 32)))))
}

// Sin returns sin(p) from the table.
func Sin(p Phase) float64 {
	i := uint32(p) >> (32 - sineTableBits)
	f := float64(uint32(p)<<sineTableBits) * (1.0 / (1 << 32))
	a := sineTable[i]
	return a + f*(sineTable[i+1]-a)
}

// Cos returns cos(p) from the table.
func Cos(p Phase) float64 { return Sin(p + 1<<30) }

// NCO is a numerically controlled oscillator: a 32-bit phase accumulator
// and the sine table. Frequency resolution is 8000/2^32 Hz.
type NCO struct {
	phase, step Phase
}

// NewNCO returns an oscillator at hz starting at phase 0.
func NewNCO(hz float64) NCO { return NCO{step: PhaseStep(hz)} }

// SetFreq sets the frequency in Hz, keeping the phase continuous.
func (o *NCO) SetFreq(hz float64) { o.step = PhaseStep(hz) }

// SetStep sets the per-sample phase increment (see PhaseStep): switching
// between precomputed frequencies, as an FSK modulator does.
func (o *NCO) SetStep(p Phase) { o.step = p }

// Step returns the per-sample phase increment.
func (o *NCO) Step() Phase { return o.step }

// Freq returns the frequency in Hz.
func (o *NCO) Freq() float64 { return float64(int32(o.step)) * SampleRate / (1 << 32) }

// AdjustPhase advances (or, negative, retards) the phase by rad radians:
// the correction step of a phase-locked loop.
func (o *NCO) AdjustPhase(rad float64) {
	o.phase += Phase(uint32(int64(rad * (1 << 32) / (2 * math.Pi))))
}

// SetPhase sets the current phase.
func (o *NCO) SetPhase(p Phase) { o.phase = p }

// Phase returns the current phase.
func (o *NCO) Phase() Phase { return o.phase }

// Next returns cos and sin of the current phase and advances one sample.
func (o *NCO) Next() (cos, sin float64) {
	p := o.phase
	o.phase += o.step
	return Cos(p), Sin(p)
}

// NextSin returns sin of the current phase and advances one sample.
func (o *NCO) NextSin() float64 {
	p := o.phase
	o.phase += o.step
	return Sin(p)
}

// Reset returns to phase 0, keeping the frequency.
func (o *NCO) Reset() { o.phase = 0 }
