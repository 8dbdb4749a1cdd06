package v17

import (
	"math"
	"math/cmplx"
	"strconv"

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
	return "status(" + strconv.Itoa(int(s)) + ")"
}

// RxConfig configures a receiver.
type RxConfig struct {
	Rate   int            // 7200, 9600, 12000 or 14400; 0 means 14400
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
	stIdle    rxState = iota // no carrier
	stSearch                 // looking for segment 1's ABAB alternations
	stFit                    // estimating gain and phase on the alternations
	stABAB                   // tracking ABAB, waiting for segment 2
	stTrain                  // training the equaliser on segment 2
	stBridge                 // segment 3 (long train)
	stTrellis                // segment 4 (ones check) and data, trellis decoded
	stFailed                 // training failed; waiting for the carrier to drop
)

const (
	eqTaps    = 33 // T/2-spaced; centre tap is a symbol centre
	corrLen   = 32 // T/2 samples in the ABAB correlator
	fitLen    = 8  // symbols in the gain/phase fit
	detLen    = 8  // symbols matched against segment 2's start
	ababLimit = seg1Len + 32
	abcdPow   = 40 // power of the training points
)

// Rx is a V.17 receiver. It detects the carrier, finds segment 1's
// alternations to set symbol timing, gain and carrier phase, recognises
// the start of segment 2, trains a T/2-spaced equaliser on segments 2 and
// 3, then decodes the trellis code with a Viterbi decoder while tracking
// carrier phase, symbol timing and the channel decision-directed.
type Rx struct {
	cfg     RxConfig
	ri      *rateInfo
	dem     *qam.Demod
	eq      *qam.Equalizer
	vit     *viterbi
	det     *qam.CarrierDetect
	st      rxState
	k       int
	centre  bool
	ring    [corrLen]complex128
	nring   int
	wait    int
	rms     float64
	fit     [fitLen]complex128
	nfit    int
	skip    int
	agc     float64
	theta   float64
	omega   float64
	rot     complex128 // e^-jθ for the current symbol
	expectA bool
	hist    [detLen]complex128 // last symbols during ABAB (carrier-corrected)
	histAB  [detLen]uint8      // the ABAB point expected for each
	nabab   int
	short   bool // this training is the short one
	idx     int
	errAcc  float64
	mse     float64
	es      float64
	desc    qam.Scrambler
	prevY   int
	nsym    int
	nout    int // symbols out of the Viterbi decoder
	nbits   int // segment 4 bits decoded
	zeros   int // of which (after the descrambler's 23) were 0
	prevD   complex128
	prevZ   complex128
	drift   qam.Drift
	probe   int     // symbols left to tell a short training from a long one
	eLong   float64 // their squared distance from segment 2's continuation

	// What a successful training leaves for a short train.
	saved struct {
		ok    bool
		w     []complex128
		agc   float64
		rms   float64
		omega float64
	}
	wantShort bool
}

// Loop gains. timingGain is the Mueller-Müller gain in samples per unit
// of normalised timing error; data* are the decision-directed equaliser
// step and the carrier loop's phase and frequency gains.
var (
	timingGain                       = 0.02
	dataMu, dataAlpha, dataBeta      = 0.01, 0.01, 0.000025
	trainAlpha, trainBeta            = 0.05, 0.001
	shortMu                          = 0.02
	trainMuHi, trainMuMid, trainMuLo = 0.1, 0.03, 0.01
)

// NewRx returns a receiver expecting a long training.
func NewRx(cfg RxConfig) (*Rx, error) {
	if cfg.Rate == 0 {
		cfg.Rate = 14400
	}
	ri, err := rateOf(cfg.Rate)
	if err != nil {
		return nil, err
	}
	if cfg.CarrierOn == 0 {
		cfg.CarrierOn = -45.5
	}
	r := &Rx{
		cfg: cfg,
		ri:  ri,
		dem: qam.NewDemod(baud, carrier, beta, 4, 2),
		eq:  qam.NewEqualizer(eqTaps),
		vit: newViterbi(ri.pts),
		det: qam.NewCarrierDetect(baud, 2, cfg.CarrierOn, cfg.CarrierOn-3),
	}
	r.saved.w = make([]complex128, eqTaps)
	r.Reset()
	return r, nil
}

// Reset returns the receiver to waiting for a carrier with a long
// training, forgetting any previous training.
func (r *Rx) Reset() {
	r.saved.ok = false
	r.det.Reset()
	r.Restart(false)
}

// Restart returns the receiver to waiting for a carrier. (After a
// carrier that trained successfully the receiver restarts by itself as
// Restart(true) does, as spandsp's does.) With short set,
// it expects the short training (V.17 §7.3) that T.30 uses for the pages
// after a long-trained TCF: it then starts from the equaliser, level and
// carrier frequency of its last successful training (without one, it
// expects a long training). A receiver expecting the short training
// still takes a long one: it sees segment 2 go on past the short one's 38
// symbols and trains on the rest.
func (r *Rx) Restart(short bool) {
	r.dem.Reset()
	r.eq.Reset(1)
	r.det.Drop()
	r.st = stIdle
	r.wantShort = short
	r.mse = 0
}

// CarrierPresent reports whether the receiver sees a carrier.
func (r *Rx) CarrierPresent() bool { return r.det.Up() }

// Trained reports whether the receiver has trained and is delivering data.
func (r *Rx) Trained() bool { return r.st == stTrellis && r.nout >= seg4Len }

// SignalQuality returns the receiver's estimate of the signal-to-noise
// ratio at the decision point, in dB (the ratio of the mean constellation
// power to the mean squared error of its per-symbol decisions), or 0
// before training.
func (r *Rx) SignalQuality() float64 {
	if r.st < stTrain || r.st == stFailed || r.mse <= 0 {
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
				r.carrierDown()
			}
		}
		if r.st != stIdle && r.st != stFailed {
			r.half(y * complex(r.agc, 0))
		}
	}
}

func (r *Rx) carrierDown() {
	if r.st >= stTrain && r.st <= stTrellis && !r.Trained() {
		// The carrier went in the middle of a training.
		r.status(TrainingFailed)
	}
	if r.Trained() {
		// As T.30 goes: the next transmission (a page after TCF)
		// may come with the short training.
		r.wantShort = true
	}
	r.st = stIdle
	r.status(CarrierDown)
}

func (r *Rx) startSearch() {
	r.st = stSearch
	r.nring, r.wait = 0, 0
	r.agc = 1
	r.eq.Reset(1)
	r.theta, r.omega = 0, 0
	r.mse = 0
	r.short = r.wantShort && r.saved.ok
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

// search looks for segment 1's ABAB alternations. B is A turned a
// quarter, so the alternation is a constant plus a component alternating
// at the symbol rate: at T/2 spacing, tones at ±1200 Hz about the carrier,
// i.e. ±j per sample; the phase between the two gives the symbol centres.
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
	// The alternating part is about half of ABAB's energy; an unmodulated
	// carrier (the talker echo protection tone) has none.
	ac := e - sq(s)/corrLen
	if ac <= 0.2*e {
		r.wait = 0
		return
	}
	if (sq(c1)+sq(c2))/corrLen/ac < 0.5 {
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
	r.rms = math.Sqrt(e / corrLen)
	if r.rms <= 0 {
		r.st = stSearch
		return
	}
	f := 5 / r.rms // about the training points' size
	if r.short {
		// Scale the input as it was when the saved equaliser was trained.
		f = r.saved.agc * r.saved.rms / r.rms
		copy(r.eq.W, r.saved.w)
		r.omega = r.saved.omega
	}
	r.agc *= f
	r.eq.Scale(f)
}

func sq(z complex128) float64 { return real(z)*real(z) + imag(z)*imag(z) }

// fitGain estimates the complex gain g from the alternations to the
// equaliser output, for both orders of A and B, keeps the better and
// divides it out of the equaliser.
func (r *Rx) fitGain() bool {
	a, b := abcd[0], abcd[1]
	best := math.Inf(1)
	var bestG complex128
	for h := 0; h < 2; h++ {
		var num complex128
		var den float64
		for i, v := range r.fit {
			s := a
			if (i+h)&1 == 1 {
				s = b
			}
			num += v * cmplx.Conj(s)
			den += sq(s)
		}
		g := num / complex(den, 0)
		var res float64
		for i, v := range r.fit {
			s := a
			if (i+h)&1 == 1 {
				s = b
			}
			res += sq(v - g*s)
		}
		if res < best {
			best, bestG = res, g
			r.expectA = (fitLen+h)&1 == 0
		}
	}
	if sq(bestG) == 0 {
		return false
	}
	inv := 1 / bestG
	if r.short {
		for i := range r.eq.W {
			r.eq.W[i] *= inv
		}
	} else {
		m := cmplx.Abs(bestG)
		r.agc /= m
		r.eq.Scale(1 / m)
		clear(r.eq.W)
		r.eq.W[eqTaps/2] = cmplx.Rect(1, -cmplx.Phase(bestG))
		r.omega = 0
	}
	r.theta = 0
	r.nabab = 0
	return true
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
	// Back to the equaliser's frame: r.rot is the carrier rotation this
	// symbol was taken with (track runs after adapt).
	err := (want - zr) * cmplx.Conj(r.rot)
	r.eq.Update(err, mu/(eqTaps*p))
}

func (r *Rx) fail() {
	r.st = stFailed
	r.status(TrainingFailed)
}

func (r *Rx) symbol(z complex128) {
	r.rot = cmplx.Rect(1, -r.theta)
	zr := z * r.rot
	switch r.st {
	case stFit:
		if r.skip > 0 {
			r.skip--
			return
		}
		r.fit[r.nfit] = z
		r.nfit++
		if r.nfit == fitLen {
			if !r.fitGain() {
				r.st = stSearch
				r.nring, r.wait = 0, 0
				return
			}
			r.st = stABAB
		}
	case stABAB:
		r.abab(zr)
	case stTrain:
		want := abcd[training.seg2[r.idx]]
		e := sq(want - zr)
		n := seg2Len
		if r.short {
			n = seg2ShortLen
			r.adapt(zr, want, shortMu)
			r.track(zr, want, trainAlpha, trainBeta/4)
			r.timing(zr, want)
			if r.idx >= n-30 {
				r.errAcc += e
			}
		} else {
			mu := trainMuLo
			if r.idx < 400 {
				mu = trainMuHi
			} else if r.idx < 1500 {
				mu = trainMuMid
			}
			r.adapt(zr, want, mu)
			if r.idx >= 400 {
				r.timing(zr, want)
			}
			if r.idx < 1000 {
				r.track(zr, want, trainAlpha, trainBeta)
			} else {
				r.track(zr, want, dataAlpha*2, dataBeta*4)
			}
			if r.idx >= n-256 {
				r.errAcc += e
			}
		}
		r.idx++
		if r.idx == n {
			if r.short {
				r.mse = r.errAcc / 30
			} else {
				r.mse = r.errAcc / 256
			}
			r.es = abcdPow
			if r.SignalQuality() < r.ri.minQ {
				r.fail()
				return
			}
			if r.short {
				r.startTrellis()
				return
			}
			r.st = stBridge
			r.idx = 0
		}
	case stBridge:
		want := abcd[training.bridge[r.idx]]
		r.adapt(zr, want, trainMuLo)
		r.track(zr, want, dataAlpha, dataBeta)
		r.timing(zr, want)
		if r.idx++; r.idx == seg3Len {
			r.startTrellis()
		}
	case stTrellis:
		r.data(zr)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// abab tracks the alternations and watches for segment 2: the last
// detLen symbols must match segment 2's first symbols much better than
// they match the alternations.
func (r *Rx) abab(zr complex128) {
	r.nabab++
	if r.nabab > ababLimit {
		// Not a V.17 training after all (or its start was missed): look
		// again.
		r.startSearch()
		return
	}
	want := abcd[1]
	if r.expectA {
		want = abcd[0]
	}
	r.expectA = !r.expectA
	copy(r.hist[:], r.hist[1:])
	copy(r.histAB[:], r.histAB[1:])
	r.hist[detLen-1] = zr
	r.histAB[detLen-1] = uint8(b2i(want == abcd[1]))
	// Carrier phase: decision directed on the four training points,
	// which holds through the start of segment 2.
	best, bd := 0, math.Inf(1)
	for i, p := range abcd {
		if d := sq(zr - p); d < bd {
			best, bd = i, d
		}
	}
	r.track(zr, abcd[best], 0.1, 0.003)
	if r.nabab < detLen {
		return
	}
	var eAB, eS float64
	differ := 0
	for i, h := range r.hist {
		p := abcd[training.seg2[i]]
		q := abcd[r.histAB[i]]
		eAB += sq(h - q)
		eS += sq(h - p)
		if p != q {
			differ++
		}
	}
	if differ >= 3 && eS < eAB/4 {
		r.st = stTrain
		r.idx = detLen
		r.errAcc = 0
		r.es = abcdPow
		r.prevD, r.prevZ = 0, 0
	}
}

func (r *Rx) startTrellis() {
	r.st = stTrellis
	r.vit.reset()
	r.desc = qam.Scrambler{A: 18, B: 23}
	r.prevY = 1
	if r.short {
		r.prevY = 0
	}
	r.nout, r.nbits, r.zeros = 0, 0, 0
	r.drift.Start(r.dem.Step * 2)
	r.probe, r.eLong = 0, 0
	if r.short {
		r.probe = probeLen
	}
	r.es = r.ri.pow
	r.mse *= r.es / abcdPow
}

// timing keeps the symbol timing: a Mueller-Müller detector on the
// equaliser output against the decided or known symbol want, plus a slow
// pull keeping the equaliser's energy on its centre tap.
func (r *Rx) timing(zr, want complex128) {
	te := real(cmplx.Conj(r.prevD)*zr-cmplx.Conj(want)*r.prevZ) / r.es
	r.prevD, r.prevZ = want, zr
	adj := timingGain * te
	if r.nsym++; r.nsym&7 == 0 {
		adj -= 8 * 0.05 * r.eq.TapCentroid() * r.dem.Step
	}
	r.dem.Adjust(adj)
	if r.st == stTrellis {
		r.drift.Symbol(adj)
	}
}

// probeLen is how many symbols after a short segment 2 are compared with
// the long segment 2's continuation.
const probeLen = 16

func (r *Rx) data(zr complex128) {
	if r.probe > 0 {
		// A receiver expecting the short training also takes a long one
		// (T.30 retrains with a long TCF at the same rate after RTN or
		// FTT): then segment 2 goes on where the short one stops.
		r.eLong += sq(zr - abcd[training.seg2[seg2ShortLen+probeLen-r.probe]])
		if r.probe--; r.probe == 0 && r.eLong < probeLen*abcdPow/4 {
			r.short = false
			r.st = stTrain
			r.idx = seg2ShortLen + probeLen
			r.errAcc = 0
			r.es = abcdPow
			return
		}
	}
	tent, dec, ok := r.vit.step(zr)
	want := r.ri.pts[tent]
	r.mse += (sq(zr-want) - r.mse) * (1.0 / 256)
	r.adapt(zr, want, dataMu)
	r.track(zr, want, dataAlpha, dataBeta)
	r.timing(zr, want)
	if !ok {
		return
	}
	// Differential decoding (V.17 Table 1): Q2Q1 = Y2Y1 - previous Y2Y1.
	y := dec >> 1 & 3
	q := (dec>>3)<<2 | (y-r.prevY)&3
	r.prevY = y
	ones := r.nout < seg4Len
	for range r.ri.bits {
		b := r.desc.Descramble(q & 1)
		q >>= 1
		if ones {
			// Segment 4 is scrambled ones: once the descrambler has
			// synchronised (23 bits), count what does not decode as one.
			if r.nbits++; r.nbits > 23 && b == 0 {
				r.zeros++
			}
		} else if r.cfg.PutBit != nil {
			r.cfg.PutBit(b)
		}
	}
	if r.nout++; r.nout == seg4Len {
		r.checkOnes()
	}
}

// checkOnes ends segment 4: training succeeded only if it decoded
// mostly as ones. A signal at another V.17 rate trains the equaliser just as well
// (the training is the same at every rate) but decodes as noise here.
func (r *Rx) checkOnes() {
	// Noise that decodes as another rate's signal gives about half
	// zeros; up to 30 % is this rate on a poor line, which trains, so
	// that T.30 judges the TCF (and answers FTT, stepping down) rather
	// than hearing nothing.
	if r.zeros*10 > (r.nbits-23)*3 {
		r.fail()
		return
	}
	r.saved.ok = true
	copy(r.saved.w, r.eq.W)
	r.saved.agc = r.agc
	r.saved.rms = r.rms
	r.saved.omega = r.omega
	r.status(TrainingSucceeded)
}
