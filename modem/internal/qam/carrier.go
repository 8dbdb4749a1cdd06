package qam

import "math"

// CarrierDetect is the QAM receivers' carrier detector, made to work on a
// noisy line as well as on a quiet one.
//
// A threshold on the line's whole power cannot: white noise at -40 dBm0
// over 0-4 kHz is above any usable carrier-on level (T.30 receivers work
// down to -43 dBm0), so the carrier would never drop at the end of a
// burst, and noise alone would raise it. So the detector:
//
//   - estimates the line's noise from a guard band above every fax
//     modem's spectrum (3500-4000 Hz: the line signal shifted down by
//     4 kHz through a 6th-order Butterworth low-pass at 500 Hz; the V.17
//     and V.29 spectra end at 3300 and 3200 Hz), scaled by the guard's
//     noise bandwidth to the whole band's: right for white noise, and an
//     underestimate (so no worse than a plain threshold) when the line
//     cuts the top of the band;
//   - measures the in-band power after the receive (matched) filter: the
//     demodulator's T/2 outputs y, 2|y|² being the line power of a signal
//     in the modem's band; white noise reads baud/4000 of its 0-4 kHz
//     power there (the RRC's noise bandwidth is the baud rate);
//   - takes the signal's level as the line's power less the noise (the
//     matched filter would read the training's alternations, whose power
//     lies where the RRC is 3 dB down, 3 dB low), and raises the carrier
//     when that exceeds the on threshold and the in-band signal (power
//     less noise, over 8 ms) is 6 dB over the in-band noise, for 5 ms, the
//     in-band power having risen 3 dB from its lowest since the last
//     carrier (so that the decaying end of a burst does not raise it
//     again);
//   - drops it when the level falls under the off threshold, or the
//     in-band signal 6 dB under the in-band noise, or the in-band power
//     12 dB under the highest the burst had (the end of a burst on a
//     line whose noise the guard band does not see).
//
// The powers are smoothed with a time constant of 4 ms (the decisions),
// 8 ms (in-band, the carrier-on decision) and 20 ms (the reported level
// and the burst's peak); the guard band's with 40 ms, starting as a
// running mean after Reset so that the noise estimate is unbiased from
// the first samples (a line whose noise is there when the receiver starts
// raises no carrier). No carrier is raised in the first 20 ms.
type CarrierDetect struct {
	on, off    float64 // thresholds, mean squares
	guardGain  float64 // the guard filter's power gain for white noise
	inK        float64 // in-band noise over the whole band's (baud/4000)
	aIn, aOn   float64 // per-output smoothing
	aLvl       float64
	guard      [3]biquad
	flip       float64 // (-1)^n
	gPow       float64 // guard-band power
	all, allLv float64 // the line's power (4 ms, 20 ms)
	nSamp      int
	nOut       int
	persist    int // outputs the on condition must hold
	warm       int // outputs before the carrier may rise
	run        int
	pIn, pOn   float64 // in-band power (4 ms, 8 ms)
	lvl        float64 // in-band power (20 ms)
	peak       float64
	trough     float64 // the lowest in-band power since the carrier dropped
	up         bool
}

const (
	cdGuardHz   = 500 // guard band: 4000-500 .. 4000 Hz
	cdInTau     = 0.004
	cdLvlTau    = 0.020
	cdOnTau     = 0.008
	cdGuardTau  = 0.040
	cdPersist   = 0.005
	cdWarm      = 0.020
	cdOnSNR     = 4    // the in-band signal must be 6 dB over the in-band noise
	cdOffSNR    = 0.25 // and is lost 6 dB under it
	cdOffRel    = 1.0 / 16
	cdRise      = 2    // a carrier rises 3 dB above the trough since the last one
	cdGuardTaps = 4000 // samples of the guard filter's impulse response summed
)

// NewCarrierDetect returns a detector for a modem of baud symbols per
// second whose demodulator gives outPerSym outputs a symbol, with the
// carrier-on and carrier-off thresholds in dBm0.
func NewCarrierDetect(baud float64, outPerSym int, on, off float64) *CarrierDetect {
	d := &CarrierDetect{on: PowerFromDBm0(on), off: PowerFromDBm0(off), inK: baud / (SampleRate / 2)}
	rate := baud * float64(outPerSym)
	d.aIn = 1 / (cdInTau * rate)
	d.aOn = 1 / (cdOnTau * rate)
	d.aLvl = 1 / (cdLvlTau * rate)
	d.persist = int(math.Ceil(cdPersist * rate))
	d.warm = int(math.Ceil(cdWarm * rate))
	for i, q := range []float64{0.5176, math.Sqrt2 / 2, 1.9319} {
		d.guard[i] = lowPass(cdGuardHz, q)
	}
	// The guard filter's power gain for white noise (Σh²), by its
	// impulse response: white noise of mean square σ² reads σ²·Σh² there.
	for n := range cdGuardTaps {
		x := 0.0
		if n == 0 {
			x = 1
		}
		for k := range d.guard {
			x = d.guard[k].run(x)
		}
		d.guardGain += x * x
	}
	d.Reset()
	return d
}

// Reset forgets the line: no carrier, averages restarting.
func (d *CarrierDetect) Reset() {
	for k := range d.guard {
		d.guard[k].z1, d.guard[k].z2 = 0, 0
	}
	d.flip = 1
	d.gPow, d.all, d.allLv, d.nSamp = 0, 0, 0, 0
	d.pIn, d.pOn, d.lvl, d.peak, d.nOut = 0, 0, 0, 0, 0
	d.Drop()
}

// Drop sets the carrier down, keeping the averages: a signal present
// raises it again (as after Reset, without waiting for a rise).
func (d *CarrierDetect) Drop() {
	d.up = false
	d.run = 0
	d.trough = 0
}

// Sample takes every line sample.
func (d *CarrierDetect) Sample(x float64) {
	d.all += (x*x - d.all) * (1 / (cdInTau * SampleRate))
	d.allLv += (x*x - d.allLv) * (1 / (cdLvlTau * SampleRate))
	v := x * d.flip
	d.flip = -d.flip
	for k := range d.guard {
		v = d.guard[k].run(v)
	}
	d.nSamp++
	a := max(1/float64(d.nSamp), 1/(cdGuardTau*SampleRate))
	d.gPow += (v*v - d.gPow) * a
}

// Output takes every demodulator output y (the matched filter's, before
// any gain) and reports whether the carrier changed.
func (d *CarrierDetect) Output(y complex128) bool {
	p := 2 * (real(y)*real(y) + imag(y)*imag(y))
	d.nOut++
	d.pIn += (p - d.pIn) * d.aIn
	d.pOn += (p - d.pOn) * d.aOn
	d.lvl += (p - d.lvl) * d.aLvl
	noise := d.gPow / d.guardGain
	s := d.all - noise
	if !d.up {
		d.trough = min(d.trough, d.pIn)
		if d.nOut < d.warm || s < d.on || d.pOn-noise*d.inK < cdOnSNR*noise*d.inK || d.pIn < cdRise*d.trough {
			d.run = 0
			return false
		}
		if d.run++; d.run < d.persist {
			return false
		}
		d.up = true
		d.peak = d.lvl
		return true
	}
	d.peak = max(d.peak, d.lvl)
	if s < d.off || d.pIn-noise*d.inK < cdOffSNR*noise*d.inK || d.pIn < cdOffRel*d.peak {
		d.Drop()
		d.trough = d.pIn
		return true
	}
	return false
}

// Up reports whether the carrier is present.
func (d *CarrierDetect) Up() bool { return d.up }

// Power returns the estimated signal power (the line's power less the
// estimated noise, averaged over 20 ms) as a mean square.
func (d *CarrierDetect) Power() float64 { return max(d.allLv-d.gPow/d.guardGain, 0) }

// Noise returns the estimated noise power over 0-4 kHz as a mean square.
func (d *CarrierDetect) Noise() float64 { return d.gPow / d.guardGain }

// InBand returns the in-band power (after the matched filter, averaged
// over 4 ms) as a mean square.
func (d *CarrierDetect) InBand() float64 { return d.pIn }

type biquad struct{ b0, b1, b2, a1, a2, z1, z2 float64 }

func (q *biquad) run(x float64) float64 {
	y := q.b0*x + q.z1
	q.z1 = q.b1*x - q.a1*y + q.z2
	q.z2 = q.b2*x - q.a2*y
	return y
}

// lowPass designs a bilinear-transform (RBJ cookbook) low-pass section.
func lowPass(f, qf float64) biquad {
	w := 2 * math.Pi * f / SampleRate
	al := math.Sin(w) / (2 * qf)
	cw := math.Cos(w)
	a0 := 1 + al
	return biquad{b0: (1 - cw) / 2 / a0, b1: (1 - cw) / a0, b2: (1 - cw) / 2 / a0, a1: -2 * cw / a0, a2: (1 - al) / a0}
}
