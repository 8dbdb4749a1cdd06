package tone

import (
	"math"
	"math/cmplx"

	"github.com/faxkit/faxkit/internal/dsp"
	"github.com/faxkit/faxkit/modem/v21"
)

// Detector design (parameters chosen here, checked by the tests):
//
//   - The signal is cut into blocks of 64 samples (8 ms). For each block
//     the detector measures the total energy and, by correlation with
//     continuous-phase references, the complex amplitude at 1100 Hz and
//     at 2100 Hz. A block "has" a tone when the tone carries more than
//     purity of the block's energy (a pure sine gives 1; at CNG's ±38 Hz
//     tolerance the 8 ms block still gives 0.73) and its level is at or
//     above MinLevel.
//   - A tone is recognised after onBlocks (400 ms) of such blocks, one
//     missing block forgiven; it ends after two missing blocks. A CNG
//     burst is 425-575 ms, so it is recognised during its first burst; a
//     1100 Hz burst longer than 700 ms is not CNG and is not reported.
//   - ANSam is told from ANS by the 15 Hz component of the block
//     amplitudes (125 blocks a second) over the tone so far: modulation
//     index above 0.1 is ANSam (V.8's is 0.2, a steady tone's is 0).
//   - Phase reversals: the block phase, corrected for the tone's own
//     frequency offset (its average phase advance per block), jumps by
//     more than 2π/3 across two blocks; reversals closer than 300 ms are
//     one. The first reversal upgrades ANS to ANS/PR and ANSam to
//     ANSam/PR.
//   - V.21 preamble: a V.21 channel 2 receiver (modem/v21) reporting
//     four consecutive HDLC flags.
const (
	blockLen   = 64
	purity     = 0.55
	onBlocks   = 50 // 400 ms
	maxCNG     = 88 // 704 ms
	amIndexMin = 0.1
)

// MinLevel is the weakest tone detected, dBm0.
const MinLevel = -45.0

// DetConfig configures a Detector. The zero value detects CNG, CED/ANS
// and ANSam, with and without phase reversals.
type DetConfig struct {
	// Preamble also runs a V.21 receiver and reports V21Preamble.
	Preamble bool
}

// Event reports a tone starting or stopping.
type Event struct {
	Tone Kind
	On   bool // false: the tone stopped
	// At is the index, from the last Reset, of the sample at which it was
	// recognised.
	At int64
	// Level is the tone's level in dBm0 when recognised.
	Level float64
}

// maxEvents bounds the events of one Process call; blocks of a second or
// less cannot produce more.
const maxEvents = 16

// track follows one frequency.
type track struct {
	nco       dsp.NCO
	acc       complex128
	run, miss int  // blocks with the tone, consecutive misses
	on        bool // reported
	kind      Kind
	level     float64
	// ANS analysis.
	prevPh   [2]float64 // phases of the last two blocks
	drift    float64    // average phase advance per block
	lastRev  int        // run index of the last reversal
	reversed bool
	amAcc    complex128
	ampSum   float64
	amNCO    dsp.NCO
}

// Detector recognises connect tones in a stream of 8 kHz samples. It
// allocates only in NewDetector.
type Detector struct {
	cfg      DetConfig
	cng, ans track
	energy   float64
	n        int
	at       int64
	minPower float64
	events   [maxEvents]Event
	nev      int
	v21      *v21.Receiver
	preamble bool
	Dropped  int // events lost to a full event buffer
}

// NewDetector returns a detector configured by c.
func NewDetector(c DetConfig) *Detector {
	d := &Detector{cfg: c, minPower: dsp.DBm0ToPower(MinLevel)}
	if c.Preamble {
		d.v21 = v21.NewReceiver()
	}
	d.Reset()
	return d
}

// Reset forgets the signal.
func (d *Detector) Reset() {
	d.cng = track{nco: dsp.NewNCO(CNGHz)}
	// The envelope is sampled once a block (125 Hz): an NCO stepping
	// 15/125 of a turn per block is NewNCO(15·64), as NCOs count steps at
	// 8 kHz.
	d.ans = track{nco: dsp.NewNCO(AnswerHz), amNCO: dsp.NewNCO(AMHz * blockLen)}
	d.energy, d.n, d.at, d.nev, d.preamble = 0, 0, 0, 0, false
	if d.v21 != nil {
		d.v21.Reset()
	}
}

func (d *Detector) add(e Event) {
	if d.nev == maxEvents {
		d.Dropped++
		return
	}
	d.events[d.nev] = e
	d.nev++
}

// Process takes a block of samples and returns the tones that started or
// stopped in it. The slice is valid until the next call.
func (d *Detector) Process(in []int16) []Event {
	d.nev = 0
	if d.v21 != nil {
		for _, e := range d.v21.Process(in) {
			switch e.Kind {
			case v21.Preamble:
				if !d.preamble {
					d.preamble = true
					d.add(Event{Tone: V21Preamble, On: true, At: e.At, Level: d.v21.Level()})
				}
			case v21.CarrierDown:
				if d.preamble {
					d.preamble = false
					d.add(Event{Tone: V21Preamble, On: false, At: e.At})
				}
			}
		}
	}
	for _, v := range in {
		x := float64(v)
		d.energy += x * x
		c, s := d.cng.nco.Next()
		d.cng.acc += complex(x*c, -x*s)
		c, s = d.ans.nco.Next()
		d.ans.acc += complex(x*c, -x*s)
		d.n++
		d.at++
		if d.n == blockLen {
			d.block()
		}
	}
	return d.events[:d.nev]
}

func (d *Detector) block() {
	e := d.energy
	d.decide(&d.cng, CNG, e)
	d.decide(&d.ans, CED, e)
	d.energy, d.n = 0, 0
	d.cng.acc, d.ans.acc = 0, 0
}

func (d *Detector) decide(t *track, base Kind, energy float64) {
	x := t.acc
	p := real(x)*real(x) + imag(x)*imag(x)
	// A sine of peak A gives |X| = A·N/2 and energy N·A²/2.
	present := energy > 0 && 2*p/(blockLen*energy) > purity && 2*p/(blockLen*blockLen) >= d.minPower
	if !present {
		t.miss++
		if t.miss < 2 && t.run > 0 {
			t.run++
			return
		}
		if t.on {
			d.add(Event{Tone: t.kind, On: false, At: d.at})
		}
		*t = track{nco: t.nco, amNCO: t.amNCO}
		return
	}
	t.miss = 0
	t.run++
	amp := 2 * math.Sqrt(p) / blockLen
	ph := cmplx.Phase(x)
	if base == CED {
		d.analyseAnswer(t, amp, ph)
	}
	if t.run == 1 {
		t.level = 0
	}
	t.level += amp
	switch {
	case base == CNG && !t.on && t.run == onBlocks:
		t.on, t.kind = true, CNG
		d.add(Event{Tone: CNG, On: true, At: d.at, Level: d.levelOf(t)})
	case base == CNG && t.on && t.run > maxCNG:
		// Too long for CNG: a steady 1100 Hz tone. Withdraw it.
		d.add(Event{Tone: CNG, On: false, At: d.at})
		t.on, t.kind = false, None
		t.run = -1 << 30 // not again until it stops
	case base == CED && !t.on && t.run == onBlocks:
		t.on = true
		t.kind = CED
		if d.amIndex(t) > amIndexMin {
			t.kind = ANSam
		}
		if t.reversed {
			t.kind++ // ANS → ANS/PR, ANSam → ANSam/PR
		}
		d.add(Event{Tone: t.kind, On: true, At: d.at, Level: d.levelOf(t)})
	}
}

func (d *Detector) levelOf(t *track) float64 {
	return dsp.RMSToDBm0(t.level / float64(max(t.run, 1)) / math.Sqrt2)
}

func (d *Detector) amIndex(t *track) float64 {
	if t.ampSum == 0 {
		return 0
	}
	return 2 * cmplx.Abs(t.amAcc) / t.ampSum
}

// analyseAnswer follows the 2100 Hz tone's envelope (for ANSam) and phase
// (for reversals).
func (d *Detector) analyseAnswer(t *track, amp, ph float64) {
	c, s := t.amNCO.Next()
	t.amAcc += complex(amp*c, -amp*s)
	t.ampSum += amp
	if t.run >= 3 {
		step := wrap(ph - t.prevPh[1])
		jump := wrap(ph - t.prevPh[0] - 2*t.drift)
		if math.Abs(jump) > 2*math.Pi/3 && t.run-t.lastRev > 37 {
			t.lastRev = t.run
			if !t.reversed {
				t.reversed = true
				if t.on && (t.kind == CED || t.kind == ANSam) {
					t.kind++
					d.add(Event{Tone: t.kind, On: true, At: d.at, Level: d.levelOf(t)})
				}
			}
		} else if t.run-t.lastRev > 3 {
			t.drift += 0.2 * (step - t.drift)
		}
	} else if t.run == 2 {
		t.drift = wrap(ph - t.prevPh[1])
	}
	t.prevPh[0], t.prevPh[1] = t.prevPh[1], ph
}

func wrap(a float64) float64 {
	return a - 2*math.Pi*math.Floor((a+math.Pi)/(2*math.Pi))
}
