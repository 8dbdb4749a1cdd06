package dsp

import "math"

// SampleRate is the sample rate of every telephone-channel signal, in Hz.
const SampleRate = 8000

// MaxSineDBm0 is the level of a full-scale sine (peak 32767) in dBm0.
const MaxSineDBm0 = 3.14

// RMS0dBm0 is the RMS value, in 16-bit linear units, of any signal at 0 dBm0.
var RMS0dBm0 = 32767 / math.Sqrt2 * math.Pow(10, -MaxSineDBm0/20)

// DBm0ToRMS returns the RMS value of a signal at level dBm0.
func DBm0ToRMS(level float64) float64 { return RMS0dBm0 * math.Pow(10, level/20) }

// DBm0ToPower returns the mean square of a signal at level dBm0.
func DBm0ToPower(level float64) float64 { r := DBm0ToRMS(level); return r * r }

// DBm0ToPeak returns the peak amplitude of a sine at level dBm0.
func DBm0ToPeak(level float64) float64 { return DBm0ToRMS(level) * math.Sqrt2 }

// RMSToDBm0 returns the level of a signal of RMS value rms (−inf for 0).
func RMSToDBm0(rms float64) float64 { return 20 * math.Log10(rms/RMS0dBm0) }

// PowerToDBm0 returns the level of a signal of mean square p (−inf for 0).
func PowerToDBm0(p float64) float64 { return 10 * math.Log10(p/(RMS0dBm0*RMS0dBm0)) }

// MeanPower returns the mean square of a block of samples (0 for none).
func MeanPower(x []int16) float64 {
	if len(x) == 0 {
		return 0
	}
	var s float64
	for _, v := range x {
		f := float64(v)
		s += f * f
	}
	return s / float64(len(x))
}

// Sat16 rounds x to the nearest 16-bit sample, saturating at the limits.
func Sat16(x float64) int16 {
	switch {
	case x >= 32767:
		return 32767
	case x <= -32768:
		return -32768
	}
	return int16(math.Round(x))
}

// PowerMeter follows the mean square of a signal with a one-pole average
// (an exponential window), like a level meter. Its time constant is
// 1/alpha samples.
type PowerMeter struct {
	alpha, p float64
}

// NewPowerMeter returns a meter whose average has time constant tau
// seconds (e.g. 0.010 follows syllables, 0.100 a steady level).
func NewPowerMeter(tau float64) PowerMeter {
	a := 1 / (tau * SampleRate)
	return PowerMeter{alpha: math.Min(a, 1)}
}

// Update adds one sample and returns the current mean square.
func (m *PowerMeter) Update(x float64) float64 {
	m.p += m.alpha * (x*x - m.p)
	return m.p
}

// Process adds a block of samples and returns the current mean square.
func (m *PowerMeter) Process(x []int16) float64 {
	p, a := m.p, m.alpha
	for _, v := range x {
		f := float64(v)
		p += a * (f*f - p)
	}
	m.p = p
	return p
}

// Power returns the current mean square.
func (m *PowerMeter) Power() float64 { return m.p }

// DBm0 returns the current level in dBm0.
func (m *PowerMeter) DBm0() float64 { return PowerToDBm0(m.p) }

// Reset forgets the signal.
func (m *PowerMeter) Reset() { m.p = 0 }
