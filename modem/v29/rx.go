package v29

import (
	"math"
	"math/cmplx"

	"github.com/faxkit/faxkit/modem/internal/qam"
)

// Status is a change in the receiver's state, reported through
// RxConfig.Status.
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
	return "status(" + itoa(int(s)) + ")"
}

func itoa(v int) string {
	if v < 0 {
		return "-" + itoa(-v)
	}
	if v < 10 {
		return string(rune('0' + v))
	}
	return itoa(v/10) + string(rune('0'+v%10))
}

// RxConfig configures a receiver.
type RxConfig struct {
	Rate   int            // 4800, 7200 or 9600; 0 means 9600
	PutBit func(bit int)  // receives each descrambled data bit (0 or 1)
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
	stIdle   rxState = iota // no carrier
	stSearch                // looking for segment 2's ABAB alternations
	stFit                   // estimating gain and phase on the alternations
	stABAB                  // tracking ABAB, waiting for segment 3
	stTrain                 // training the equaliser on segment 3
	stOnes                  // segment 4: checking that it decodes as ones
	stData                  // decision directed: data
	stFailed                // training failed; waiting for the carrier to drop
)

const (
	eqTaps    = 33 // T/2-spaced; centre tap is a symbol centre
	corrLen   = 32 // T/2 samples in the ABAB correlator
	fitLen    = 8  // symbols in the gain/phase fit
	ababLimit = 160
)

// Rx is a V.29 receiver. It detects the carrier, finds segment 2's
// alternations to set symbol timing, gain and carrier phase, trains a
// T/2-spaced equaliser on segment 3, then decodes decision-directed with
// carrier (second-order loop) and symbol-timing tracking.
type Rx struct {
	cfg       RxConfig
	dem       *qam.Demod
	eq        *qam.Equalizer
	det       *qam.CarrierDetect
	st        rxState
	k         int
	centre    bool
	ring      [corrLen]complex128
	nring     int
	wait      int
	fit       [fitLen]complex128
	nfit      int
	skip      int
	agc       float64
	theta     float64
	omega     float64
	expectA   bool
	cand      bool
	nabab     int
	a, b      complex128
	c, d      complex128
	train     [seg3Len]uint8
	idx       int
	errAcc    float64
	mse       float64
	es        float64
	pts       []complex128
	slicer    *qam.Slicer
	desc      qam.Scrambler
	prevPhase int
	symbols   int
	prevD     complex128
	prevZ     complex128
	nsym      int
	drift     qam.Drift
	nbits     int // segment 4 bits decoded
	zeros     int // of which (after the descrambler's 23) were 0
}

// timingGain is the Mueller-Müller loop gain, samples per unit of normalised
// timing error.
var timingGain = 0.02

var dataMu, dataAlpha, dataBeta = 0.01, 0.01, 0.000025

// NewRx returns a receiver.
func NewRx(cfg RxConfig) (*Rx, error) {
	if cfg.Rate == 0 {
		cfg.Rate = 9600
	}
	if !validRate(cfg.Rate) {
		return nil, ErrRate
	}
	if cfg.CarrierOn == 0 {
		cfg.CarrierOn = -45.5
	}
	r := &Rx{
		cfg: cfg,
		dem: qam.NewDemod(baud, carrier, beta, 4, 2),
		eq:  qam.NewEqualizer(eqTaps),
		det: qam.NewCarrierDetect(baud, 2, cfg.CarrierOn, cfg.CarrierOn-3),
		es:  symPower(cfg.Rate),
	}
	r.a, r.b, r.c, r.d = trainPoints(cfg.Rate)
	reg := uint8(prbsInit)
	for i := range r.train {
		r.train[i] = uint8(trainPRBS(&reg))
	}
	switch cfg.Rate {
	case 9600:
		r.pts = points[:]
	case 7200:
		r.pts = points[:8]
	default:
		r.pts = []complex128{points[0], 0, points[2], 0, points[4], 0, points[6], 0}
	}
	r.slicer = qam.NewSlicer(r.pts)
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

// Trained reports whether the receiver has trained and is delivering data.
func (r *Rx) Trained() bool { return r.st == stData }

// SignalQuality returns the receiver's estimate of the signal-to-noise
// ratio at the decision point, in dB (the ratio of the mean constellation
// power to the mean squared decision error), or 0 before training.
func (r *Rx) SignalQuality() float64 {
	if r.st != stData && r.st != stTrain && r.st != stOnes || r.mse <= 0 {
		return 0
	}
	return 10 * math.Log10(r.es/r.mse)
}

// Power returns the received signal power in dBm0: the power in the
// modem's band less the estimated noise there (qam.CarrierDetect).
func (r *Rx) Power() float64 { return qam.DBm0FromPower(r.det.Power()) }

// CarrierOffset returns the tracked carrier frequency error in Hz.
func (r *Rx) CarrierOffset() float64 { return r.omega * baud / (2 * math.Pi) }

// TimingOffset returns the far end's symbol clock against ours in parts
// per million (positive: it runs fast), from the symbol-timing loop since
// the data began (qam.Drift); 0 until 0.4 s of data.
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
				r.startSearch()
			} else {
				if r.st == stData || r.st == stTrain || r.st == stOnes {
					r.desc.Reg = 0
				}
				r.st = stIdle
				r.status(CarrierDown)
			}
		}
		if r.st != stIdle && r.st != stFailed {
			r.half(y * complex(r.agc, 0))
		}
	}
}

func (r *Rx) startSearch() {
	r.st = stSearch
	r.nring, r.wait = 0, 0
	r.agc = 1
	r.eq.Reset(1)
	r.theta, r.omega = 0, 0
	r.mse = 0
}

// jpow returns j^k.
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

// half handles one T/2-spaced matched-filter output.
func (r *Rx) half(y complex128) {
	r.k++
	r.eq.Push(y)
	if r.st == stSearch {
		r.search(y)
		return
	}
	isCentre := r.centre
	r.centre = !r.centre
	if isCentre {
		r.symbol(r.eq.Output())
	}
}

// search looks for the ABAB alternations of segment 2: at T/2 spacing they
// are tones at ±1200 Hz about the carrier, i.e. ±j per sample. Their
// relative phase gives the symbol centres (§ design notes in doc.go).
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
		e += real(v)*real(v) + imag(v)*imag(v)
		c1 += v * jpow(-i)
		c2 += v * jpow(i)
	}
	ac := e - (real(s)*real(s)+imag(s)*imag(s))/corrLen
	if ac <= 0 {
		return
	}
	ratio := (sq(c1) + sq(c2)) / corrLen / ac
	if ratio < 0.5 {
		r.wait = 0
		return
	}
	r.wait++
	if r.wait < 16 {
		return
	}
	// Centres are at kc + 2m, kc = arg(c2·conj(c1))/π (mod 2).
	kc := cmplx.Phase(c2*cmplx.Conj(c1)) / math.Pi
	delta := 1 + math.Mod(math.Mod(kc-float64(r.k+1), 2)+2, 2)
	r.dem.Adjust((delta - 1) * r.dem.Step)
	r.centre = true
	r.st = stFit
	r.nfit = 0
	r.skip = eqTaps/4 + 1
	// Rough AGC so that the fit works on numbers of constellation size.
	rms := math.Sqrt(e / corrLen)
	if rms > 0 {
		f := 3 / rms
		r.agc *= f
		r.eq.Scale(f)
	}
}

func sq(z complex128) float64 { return real(z)*real(z) + imag(z)*imag(z) }

// fitGain estimates the complex channel gain g on fitLen alternations,
// for both orders of A and B, and keeps the better.
func (r *Rx) fitGain() {
	best := math.Inf(1)
	var bestG complex128
	for h := 0; h < 2; h++ {
		var num complex128
		var den float64
		for i, v := range r.fit {
			s := r.a
			if (i+h)&1 == 1 {
				s = r.b
			}
			num += v * cmplx.Conj(s)
			den += sq(s)
		}
		g := num / complex(den, 0)
		var res float64
		for i, v := range r.fit {
			s := r.a
			if (i+h)&1 == 1 {
				s = r.b
			}
			res += sq(v - g*s)
		}
		if res < best {
			best, bestG = res, g
			r.expectA = (fitLen+h)&1 == 0
		}
	}
	m := cmplx.Abs(bestG)
	if m == 0 {
		r.st = stSearch
		return
	}
	r.agc /= m
	r.eq.Scale(1 / m)
	clear(r.eq.W)
	r.eq.W[eqTaps/2] = cmplx.Rect(1, -cmplx.Phase(bestG))
	r.theta, r.omega = 0, 0
	r.cand = false
	r.nabab = 0
}

func (r *Rx) cd(i int) complex128 {
	if r.train[i] == 0 {
		return r.c
	}
	return r.d
}

// track runs the carrier loop on decision or known symbol want.
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

// adapt moves the equaliser toward want.
func (r *Rx) adapt(zr, want complex128, mu float64) {
	p := r.eq.Power()
	if p <= 0 {
		return
	}
	err := (want - zr) * cmplx.Rect(1, r.theta)
	r.eq.Update(err, mu/(eqTaps*p))
}

func (r *Rx) symbol(z complex128) {
	zr := z * cmplx.Rect(1, -r.theta)
	switch r.st {
	case stFit:
		if r.skip > 0 {
			r.skip--
			return
		}
		r.fit[r.nfit] = z
		r.nfit++
		if r.nfit == fitLen {
			r.fitGain()
			if r.st == stFit {
				r.st = stABAB
			}
		}
	case stABAB:
		r.nabab++
		if r.nabab > ababLimit {
			r.st = stFailed
			r.status(TrainingFailed)
			return
		}
		want := r.b
		if r.expectA {
			want = r.a
		}
		r.expectA = !r.expectA
		if r.cand {
			if sq(zr-r.cd(1)) < sq(zr-want) {
				r.st = stTrain
				r.idx = 2
				r.errAcc = 0
				r.track(zr, r.cd(1), 0.05, 0.001)
				return
			}
			r.cand = false
		}
		if sq(zr-r.cd(0)) < sq(zr-want) {
			r.cand = true
			return
		}
		r.track(zr, want, 0.1, 0.003)
	case stTrain:
		want := r.cd(r.idx)
		e := sq(want - zr)
		r.adapt(zr, want, 0.1)
		r.track(zr, want, 0.05, 0.001)
		if r.idx >= seg3Len-128 {
			r.errAcc += e
		}
		r.idx++
		if r.idx == seg3Len {
			r.mse = r.errAcc / 128
			if r.SignalQuality() < r.minQuality() {
				r.st = stFailed
				r.status(TrainingFailed)
				return
			}
			r.st = stOnes
			r.drift.Start(r.dem.Step * 2)
			r.desc = qam.Scrambler{A: 18, B: 23}
			r.prevPhase = 0
			r.symbols = 0
			r.nbits, r.zeros = 0, 0
		}
	case stOnes, stData:
		r.data(zr)
	}
}

func (r *Rx) minQuality() float64 {
	switch r.cfg.Rate {
	case 9600:
		return 10
	case 7200:
		return 8
	}
	return 5
}

func (r *Rx) data(zr complex128) {
	bi, best := r.slicer.Nearest(zr)
	want := r.pts[bi]
	r.mse += (best - r.mse) * (1.0 / 256)
	r.adapt(zr, want, dataMu)
	r.track(zr, want, dataAlpha, dataBeta)
	// Symbol timing: a decision-directed Mueller-Müller detector on the
	// equaliser output, plus a slow pull keeping the equaliser's energy
	// on its centre tap.
	te := real(cmplx.Conj(r.prevD)*zr-cmplx.Conj(want)*r.prevZ) / r.es
	r.prevD, r.prevZ = want, zr
	adj := timingGain * te
	if r.nsym++; r.nsym&7 == 0 {
		// The centroid moves slowly: look at it every 8 symbols.
		adj -= 8 * 0.05 * r.eq.TapCentroid() * r.dem.Step
	}
	r.dem.Adjust(adj)
	r.drift.Symbol(adj)
	r.symbols++

	ph := bi & 7
	change := (ph - r.prevPhase) & 7
	r.prevPhase = ph
	q := phaseBits[change]
	put := r.cfg.PutBit
	switch r.cfg.Rate {
	case 9600:
		r.put(put, bi>>3)
		r.put(put, q>>2)
		r.put(put, q>>1)
		r.put(put, q)
	case 7200:
		r.put(put, q>>2)
		r.put(put, q>>1)
		r.put(put, q)
	default:
		r.put(put, q>>2)
		r.put(put, q>>1)
	}
	if r.st == stOnes && r.symbols == seg4Len {
		r.checkOnes()
	}
}

func (r *Rx) put(put func(int), b int) {
	b = r.desc.Descramble(b & 1)
	if r.st == stOnes {
		// Segment 4 is scrambled ones: once the descrambler has
		// synchronised (23 bits), count what does not decode as one.
		if r.nbits++; r.nbits > 23 && b == 0 {
			r.zeros++
		}
		return
	}
	if put != nil {
		put(b)
	}
}

// checkOnes ends segment 4: training succeeded only if it decoded as
// ones. A signal at another V.29 rate can train the equaliser (an FIR
// can learn the affine map between two rates' C/D points on the
// pseudo-random segment 3) but decodes segment 4 as noise.
func (r *Rx) checkOnes() {
	if r.zeros*10 > r.nbits-23 {
		r.st = stFailed
		r.status(TrainingFailed)
		return
	}
	r.st = stData
	r.status(TrainingSucceeded)
}
