package v21

import (
	"math"

	"github.com/faxkit/faxkit/internal/dsp"
)

// V.21 channel 2 (V.21 clause 2, Table 1): the answering modem's channel,
// which T.30 uses in both directions for its control frames.
const (
	MarkHz  = 1650 // binary 1 (mark), nominal 1650 Hz
	SpaceHz = 1850 // binary 0 (space), nominal 1850 Hz
	BitRate = 300  // bit/s
)

// BitSource supplies the bits to transmit: 0 or 1, or a negative value at
// the end of the data (the carrier then stops).
type BitSource interface{ NextBit() int }

// BitSink takes demodulated bits and the carrier's state changes.
type BitSink interface {
	PutBit(bit int)
	Carrier(up bool)
}

// Modulator generates continuous-phase binary FSK at 300 bit/s. Bit
// timing is exact: three bits per 80 samples, counted in integers.
type Modulator struct {
	nco         dsp.NCO
	amp         float64
	mark, space dsp.Phase
	baud        int // bit clock, in units of 1/8000 bit
	on, ended   bool
}

// NewModulator returns a modulator sending at level dBm0.
func NewModulator(level float64) Modulator {
	return Modulator{amp: dsp.DBm0ToPeak(level), mark: dsp.PhaseStep(MarkHz), space: dsp.PhaseStep(SpaceHz)}
}

// SetLevel changes the transmit level (dBm0).
func (m *Modulator) SetLevel(level float64) { m.amp = dsp.DBm0ToPeak(level) }

// Reset makes the modulator ready for a new transmission.
func (m *Modulator) Reset() {
	*m = Modulator{amp: m.amp, mark: m.mark, space: m.space}
}

// Ended reports whether the source has ended the transmission.
func (m *Modulator) Ended() bool { return m.ended }

// Modulate fills out with signal, taking bits from src as it needs them,
// and returns how many samples carry signal: fewer than len(out) when the
// source ends (the rest of out is silence).
func (m *Modulator) Modulate(out []int16, src BitSource) int {
	for i := range out {
		if m.ended {
			clear(out[i:])
			return i
		}
		if m.baud <= 0 || !m.on {
			b := src.NextBit()
			if b < 0 {
				m.ended = true
				clear(out[i:])
				return i
			}
			m.on = true
			m.baud += SampleRate
			if b&1 == 1 {
				m.nco.SetStep(m.mark)
			} else {
				m.nco.SetStep(m.space)
			}
		}
		m.baud -= BitRate
		out[i] = int16(math.Round(m.amp * m.nco.NextSin()))
	}
	return len(out)
}

// SampleRate is the 8 kHz of the telephone channel.
const SampleRate = dsp.SampleRate
