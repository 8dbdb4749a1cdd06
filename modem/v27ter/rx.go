package v27ter

import (
	"math"
	"math/cmplx"

	"github.com/faxkit/faxkit/modem/internal/qam"
)

// Status is a change in the receiver's state.
type Status int

const (
	CarrierUp Status = iota + 1
	CarrierDown
	TrainingSucceeded
	TrainingFailed
)

var statusNames = [...]string{"", "carrier up", "carrier down", "training succeeded", "training failed"}

func (s Status) String() string {
	if s > 0 && int(s) < len(statusNames) {
		return statusNames[s]
	}
	return "status(?)"
}

// RxConfig configures a receiver.
type RxConfig struct {
	Rate   int            // 2400 or 4800; 0 means 4800
	PutBit func(bit int)  // receives each descrambled data bit
	Status func(s Status) // optional
	// CarrierOn is the carrier-detect threshold in dBm0; 0 means -45.5.
	// Carrier is lost 3 dB below it. The level compared is the signal's
	// in the modem's band, the noise there taken out
	// (qam.CarrierDetect): white noise raises no carrier (none in 8 s of
	// it at -35 to 0 dBm0) and does not hold one up.
	CarrierOn float64
}

type rxState int

const (
	stIdle rxState = iota
	stSearch
	stFit
	stTrain
	stData
	stFailed
)

const (
	eqTaps  = 33
	corrLen = 16 // T/2 samples: segment 3 is only 50 symbols
	fitLen  = 8
	// trainLen symbols of segment 3/4 train the equaliser decision
	// directed on the 0°/180° axis; segment 4 is 1074 symbols.
	trainLen = 600
)

// Rx is a V.27ter receiver.
type Rx struct {
	cfg    RxConfig
	dem    *qam.Demod
	eq     *qam.Equalizer
	det    *qam.CarrierDetect
	st     rxState
	k      int
	centre bool
	ring   [corrLen]complex128
	nring  int
	wait   int
	fit    [fitLen]complex128
	nfit   int
	agc    float64
	theta  float64
	omega  float64
	idx    int
	errAcc float64
	mse    float64
	desc   scrambler
	prev   int
	prevD  complex128
	prevZ  complex128
	nsym   int
	drift  qam.Drift
}

// NewRx returns a receiver.
func NewRx(cfg RxConfig) (*Rx, error) {
	if cfg.Rate == 0 {
		cfg.Rate = 4800
	}
	if !validRate(cfg.Rate) {
		return nil, ErrRate
	}
	if cfg.CarrierOn == 0 {
		cfg.CarrierOn = -45.5
	}
	r := &Rx{
		cfg: cfg,
		dem: qam.NewDemod(baud(cfg.Rate), carrier, beta, 4, 2),
		eq:  qam.NewEqualizer(eqTaps),
		det: qam.NewCarrierDetect(baud(cfg.Rate), 2, cfg.CarrierOn, cfg.CarrierOn-3),
	}
	r.Reset()
	return r, nil
}

// Reset returns the receiver to waiting for a carrier.
func (r *Rx) Reset() {
	r.dem.Reset()
	r.eq.Reset(1)
	r.det.Reset()
	r.st = stIdle
}

// CarrierPresent reports whether the receiver sees a carrier.
func (r *Rx) CarrierPresent() bool { return r.det.Up() }

// Trained reports whether the receiver has trained and delivers data.
func (r *Rx) Trained() bool { return r.st == stData }

// SignalQuality returns the signal-to-error ratio at the decision point in
// dB, or 0 before training.
func (r *Rx) SignalQuality() float64 {
	if r.st != stData && r.st != stTrain || r.mse <= 0 {
		return 0
	}
	return 10 * math.Log10(symPower/r.mse)
}

// Power returns the received signal power in dBm0: the power in the
// modem's band less the estimated noise there (qam.CarrierDetect).
func (r *Rx) Power() float64 { return qam.DBm0FromPower(r.det.Power()) }

// CarrierOffset returns the tracked carrier frequency error in Hz.
func (r *Rx) CarrierOffset() float64 { return r.omega * baud(r.cfg.Rate) / (2 * math.Pi) }

// TimingOffset returns the far end's symbol clock against ours in parts
// per million (positive: it runs fast), from the symbol-timing loop since
// the data began (qam.Drift); 0 until 480 symbols into the data and 480
// more (0.6 s at 4800 bit/s, 0.8 s at 2400).
func (r *Rx) TimingOffset() float64 { return r.drift.PPM() }

func (r *Rx) status(s Status) {
	if r.cfg.Status != nil {
		r.cfg.Status(s)
	}
}

// Process consumes a block of 8 kHz linear samples.
func (r *Rx) Process(samples []int16) {
	for _, s := range samples {
		x := float64(s)
		r.det.Sample(x)
		y, ok := r.dem.Push(x)
		if !ok {
			continue
		}
		if r.det.Output(y) {
			if r.det.Up() {
				r.status(CarrierUp)
				r.st = stSearch
				r.nring, r.wait = 0, 0
				r.agc = 1
				r.eq.Reset(1)
				r.theta, r.omega, r.mse = 0, 0, 0
			} else {
				r.st = stIdle
				r.status(CarrierDown)
			}
		}
		if r.st != stIdle && r.st != stFailed {
			r.half(y * complex(r.agc, 0))
		}
	}
}

func jpow(k int) complex128 {
	switch k & 3 {
	case 0:
		return 1
	case 1:
		return 1i
	case 2:
		return -1
	}
	return -1i
}

func sq(z complex128) float64 { return real(z)*real(z) + imag(z)*imag(z) }

func (r *Rx) half(y complex128) {
	r.k++
	r.eq.Push(y)
	switch r.st {
	case stSearch:
		r.search(y)
		return
	case stFit:
		// Fit on the matched-filter output itself: segment 3 is short.
		if r.centre {
			r.fit[r.nfit] = y
			r.nfit++
			if r.nfit == fitLen {
				r.fitGain()
			}
		}
		r.centre = !r.centre
		return
	}
	isCentre := r.centre
	r.centre = !r.centre
	if isCentre {
		r.symbol(r.eq.Output())
	}
}

// search finds segment 3's phase reversals: at T/2 spacing they are the
// tones ±j per sample, and the phase between the two gives the symbol
// centres (as in modem/v29).
func (r *Rx) search(y complex128) {
	r.ring[r.k%corrLen] = y
	if r.nring < corrLen {
		r.nring++
		return
	}
	var s, c1, c2 complex128
	var e float64
	for i := r.k - corrLen + 1; i <= r.k; i++ {
		v := r.ring[i%corrLen]
		s += v
		e += sq(v)
		c1 += v * jpow(-i)
		c2 += v * jpow(i)
	}
	ac := e - sq(s)/corrLen
	if ac <= 0 || (sq(c1)+sq(c2))/corrLen/ac < 0.5 {
		r.wait = 0
		return
	}
	if r.wait++; r.wait < 4 {
		return
	}
	kc := cmplx.Phase(c2*cmplx.Conj(c1)) / math.Pi
	delta := 1 + math.Mod(math.Mod(kc-float64(r.k+1), 2)+2, 2)
	r.dem.Adjust((delta - 1) * r.dem.Step)
	r.centre = true
	r.st = stFit
	r.nfit = 0
}

// fitGain takes the complex gain from alternating ±g samples; which sign
// is which does not matter (a 180° rotation maps the constellation onto
// itself and the data are differentially coded).
func (r *Rx) fitGain() {
	var num complex128
	for i, v := range r.fit {
		if i&1 == 1 {
			v = -v
		}
		num += v
	}
	g := num / fitLen / complex(math.Sqrt2, 0)
	m := cmplx.Abs(g)
	if m == 0 {
		r.st = stSearch
		r.nring, r.wait = 0, 0
		return
	}
	r.agc /= m
	r.eq.Scale(1 / m)
	clear(r.eq.W)
	r.eq.W[eqTaps/2] = cmplx.Rect(1, -cmplx.Phase(g))
	r.theta, r.omega = 0, 0
	r.st = stTrain
	r.idx = 0
	r.errAcc = 0
}

func (r *Rx) track(zr, want complex128, alpha, beta float64) {
	pe := imag(zr*cmplx.Conj(want)) / sq(want)
	r.theta += r.omega + alpha*pe
	r.omega += beta * pe
	if r.theta > math.Pi {
		r.theta -= 2 * math.Pi
	} else if r.theta < -math.Pi {
		r.theta += 2 * math.Pi
	}
}

func (r *Rx) adapt(zr, want complex128, mu float64) {
	p := r.eq.Power()
	if p <= 0 {
		return
	}
	r.eq.Update((want-zr)*cmplx.Rect(1, r.theta), mu/(eqTaps*p))
}

// Loop gains (see modem/v29 for their tuning).
const (
	trainMu, trainAlpha, trainBeta = 0.05, 0.05, 0.001
	dataMu, dataAlpha, dataBeta    = 0.01, 0.01, 0.000025
	timingGain                     = 0.02
)

func (r *Rx) symbol(z complex128) {
	zr := z * cmplx.Rect(1, -r.theta)
	switch r.st {
	case stTrain:
		// Segments 3 and 4 lie on the 0°/180° axis.
		want := complex(math.Sqrt2, 0)
		if real(zr) < 0 {
			want = -want
		}
		e := sq(want - zr)
		r.adapt(zr, want, trainMu)
		r.track(zr, want, trainAlpha, trainBeta)
		r.timing(zr, want)
		if r.idx >= trainLen-128 {
			r.errAcc += e
		}
		if r.idx++; r.idx == trainLen {
			r.mse = r.errAcc / 128
			if r.SignalQuality() < 6 {
				r.st = stFailed
				r.status(TrainingFailed)
				return
			}
			r.st = stData
			r.drift.Start(r.dem.Step * 2)
			r.desc = scrambler{}
			r.prev = 0
			if real(zr) < 0 {
				r.prev = 4
			}
			r.status(TrainingSucceeded)
		}
	case stData:
		r.data(zr)
	}
}

func (r *Rx) timing(zr, want complex128) {
	te := real(cmplx.Conj(r.prevD)*zr-cmplx.Conj(want)*r.prevZ) / symPower
	r.prevD, r.prevZ = want, zr
	adj := timingGain * te
	if r.nsym++; r.nsym&7 == 0 {
		// The centroid moves slowly: look at it every 8 symbols.
		adj -= 8 * 0.05 * r.eq.TapCentroid() * r.dem.Step
	}
	r.dem.Adjust(adj)
	if r.st == stData {
		r.drift.Symbol(adj)
	}
}

func (r *Rx) data(zr complex128) {
	// Nearest of the 8 (4800) or 4 (2400) phases.
	a := cmplx.Phase(zr)
	var ph int
	if r.cfg.Rate == 4800 {
		ph = int(math.Round(a/(math.Pi/4))) & 7
	} else {
		ph = 2 * (int(math.Round(a/(math.Pi/2))) & 3)
	}
	want := points[ph]
	r.mse += (sq(want-zr) - r.mse) * (1.0 / 256)
	r.adapt(zr, want, dataMu)
	r.track(zr, want, dataAlpha, dataBeta)
	r.timing(zr, want)
	change := (ph - r.prev) & 7
	r.prev = ph
	if r.cfg.Rate == 4800 {
		q := phaseBits[change]
		r.put(q >> 2)
		r.put(q >> 1)
		r.put(q)
	} else {
		q := phaseBits2400[change]
		r.put(q >> 1)
		r.put(q)
	}
}

func (r *Rx) put(b int) {
	b = r.desc.descramble(b & 1)
	if r.cfg.PutBit != nil {
		r.cfg.PutBit(b)
	}
}
