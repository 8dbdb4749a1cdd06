package v21

import (
	"github.com/faxkit/faxkit/internal/dsp"
)

// Receiver design (the parameters are chosen here and checked by the
// tests; nothing is copied from another implementation):
//
//   - Front end: a 41-tap Hamming-windowed band-pass, 1350-2150 Hz at the
//     −6 dB points (BandpassTaps), which keeps channel 2's signal with its
//     first sidebands and removes the rest of the band before the level
//     is measured. It delays the signal 2.5 ms.
//   - Level and carrier: a one-pole power meter (τ = 8 ms) on the filtered
//     signal. The carrier is up when it exceeds carrierOnDBm0 and down when
//     it falls below carrierOffDBm0 (3 dB of hysteresis), inside V.21's
//     received line signal detector limits (on above −43 dBm, off below
//     −48 dBm) so that −43 dBm0 signals are received.
//   - Demodulation: non-coherent FSK by two quadrature correlators at
//     1650 and 1850 Hz integrated over a sliding window of one bit (27
//     samples); the decision variable is the difference of the two
//     energies over their sum.
//   - Bit timing: a digital PLL on the decision variable's sign changes,
//     which fall half a bit before the best sampling point (where the
//     window covers exactly one bit). It corrects a quarter of the timing
//     error at each transition for the first 16 bits after carrier-up,
//     then an eighth.
const (
	bandTaps       = 41
	bandLo, bandHi = 1350, 2150
	meterTau       = 0.008
	carrierOnDBm0  = -45.0
	carrierOffDBm0 = -48.0
	window         = 27
	baudUnit       = SampleRate // bit clock units per bit
)

var bandFilter = dsp.BandpassTaps(bandTaps, bandLo, bandHi, nil)

// Demodulator is V.21 channel 2's receiver, from samples to bits.
type Demodulator struct {
	front          *dsp.FIR
	meter          dsp.PowerMeter
	on, off        float64 // carrier thresholds as mean squares
	carrier        bool
	mark, space    dsp.NCO
	ring           [window][4]float64 // products of the last window samples
	pos            int
	mI, mQ, sI, sQ float64
	prev           float64 // last decision variable
	baud           int     // bit clock, units of 1/8000 bit, sample at ≥ baudUnit
	bits           int     // bits since carrier-up
	filled         int     // samples in the window since carrier-up
}

// NewDemodulator returns a demodulator with the default carrier thresholds.
func NewDemodulator() *Demodulator {
	d := &Demodulator{
		front: dsp.NewFIR(bandFilter),
		meter: dsp.NewPowerMeter(meterTau),
		on:    dsp.DBm0ToPower(carrierOnDBm0),
		off:   dsp.DBm0ToPower(carrierOffDBm0),
		mark:  dsp.NewNCO(MarkHz),
		space: dsp.NewNCO(SpaceHz),
	}
	return d
}

// SetThresholds sets the carrier-on and carrier-off levels in dBm0.
func (d *Demodulator) SetThresholds(on, off float64) {
	d.on, d.off = dsp.DBm0ToPower(on), dsp.DBm0ToPower(off)
}

// Reset forgets the signal.
func (d *Demodulator) Reset() {
	d.front.Reset()
	d.meter.Reset()
	d.carrier = false
	d.restart()
}

func (d *Demodulator) restart() {
	d.mark.Reset()
	d.space.Reset()
	d.ring = [window][4]float64{}
	d.pos = 0
	d.mI, d.mQ, d.sI, d.sQ = 0, 0, 0, 0
	d.prev = 0
	d.baud = baudUnit / 2
	d.bits, d.filled = 0, 0
}

// Carrier reports whether a carrier is present.
func (d *Demodulator) Carrier() bool { return d.carrier }

// Level returns the received level in dBm0 in the channel's band.
func (d *Demodulator) Level() float64 { return d.meter.DBm0() }

// Process demodulates a block of samples, passing bits and carrier changes
// to sink.
func (d *Demodulator) Process(in []int16, sink BitSink) {
	for _, v := range in {
		x := d.front.Filter(float64(v))
		p := d.meter.Update(x)
		if !d.carrier {
			if p < d.on {
				continue
			}
			d.carrier = true
			d.restart()
			sink.Carrier(true)
		} else if p < d.off {
			d.carrier = false
			sink.Carrier(false)
			continue
		}
		d.demodulate(x, sink)
	}
}

func (d *Demodulator) demodulate(x float64, sink BitSink) {
	mc, ms := d.mark.Next()
	sc, ss := d.space.Next()
	r := &d.ring[d.pos]
	a, b, c, e := x*mc, x*ms, x*sc, x*ss
	d.mI += a - r[0]
	d.mQ += b - r[1]
	d.sI += c - r[2]
	d.sQ += e - r[3]
	r[0], r[1], r[2], r[3] = a, b, c, e
	d.pos++
	if d.pos == window {
		d.pos = 0
	}
	if d.filled < window {
		d.filled++
		if d.filled < window {
			return
		}
	}
	em := d.mI*d.mI + d.mQ*d.mQ
	es := d.sI*d.sI + d.sQ*d.sQ
	v := (em - es) / (em + es + 1e-9)
	if (v > 0) != (d.prev > 0) {
		// A transition: it should fall half a bit before sampling.
		err := d.baud - baudUnit/2
		gain := 8
		if d.bits < 16 {
			gain = 4
		}
		d.baud -= err / gain
	}
	d.prev = v
	d.baud += BitRate
	if d.baud >= baudUnit {
		d.baud -= baudUnit
		d.bits++
		if v > 0 {
			sink.PutBit(1)
		} else {
			sink.PutBit(0)
		}
	}
}
