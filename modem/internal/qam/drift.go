package qam

// Drift measures the far end's symbol clock against ours from a symbol
// timing loop's adjustments (Demod.Adjust): over many symbols their sum
// is the drift, the timing phase's own wander being bounded. It skips
// driftSettle symbols after Start (the loop settles after training) and
// reports nothing before driftMin more.
//
// The estimate reads low at first: the equaliser takes up part of a drift
// as delay until its centre has moved far enough for the receivers' pull
// back to the centre tap to balance it. From faxkit's and spandsp's
// transmitters at ±100 ppm, after 2.5 s of data it is within 3 ppm at
// V.17, 5 ppm at V.29 9600 and 10 ppm at V.29 4800 and V.27ter
// (modemtest.TimingOffset), and it closes in over a page (V.27ter 2400 at
// +100 ppm: 88 after 1 s of measurement, 95 after 8 s).
type Drift struct {
	sps  float64 // samples per symbol
	sum  float64
	n    int
	skip int
}

const (
	driftSettle = 480
	driftMin    = 480
)

// Start begins a measurement for symbols of sps samples.
func (d *Drift) Start(sps float64) { *d = Drift{sps: sps, skip: driftSettle} }

// Symbol adds one symbol's timing adjustment in samples (Demod.Adjust's).
func (d *Drift) Symbol(adj float64) {
	if d.sps == 0 {
		return
	}
	if d.skip > 0 {
		d.skip--
		return
	}
	d.sum += adj
	d.n++
}

// PPM returns the far end's symbol clock against ours in parts per
// million, positive when it runs fast (its symbols take fewer of our
// samples), or 0 before enough symbols.
func (d *Drift) PPM() float64 {
	if d.n < driftMin {
		return 0
	}
	return -d.sum / (float64(d.n) * d.sps) * 1e6
}
