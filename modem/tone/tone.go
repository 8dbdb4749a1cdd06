package tone

import (
	"time"

	"github.com/faxkit/faxkit/internal/dsp"
)

// Kind is a fax or modem connect tone.
type Kind uint8

const (
	None Kind = iota
	// CNG, the calling tone (T.30 clause 4.2): 1100 Hz ± 38 Hz, 0.5 s on
	// and 3 s off (each ± 15 %), repeated.
	CNG
	// CED, the called station identification, the same signal as ANS of
	// V.25: 2100 Hz ± 15 Hz, continuous, 2.6 s to 4 s (T.30 clause 4.2).
	CED
	// ANSPR is ANS with phase reversals (/ANS of V.25): 180° every
	// 450 ms ± 25 ms, which also disables network echo cancellers.
	ANSPR
	// ANSam (V.8 clause 7.1): 2100 Hz amplitude-modulated by 15 Hz ± 0.1 Hz,
	// the envelope between 0.8 and 1.2 times its average.
	ANSam
	// ANSamPR is ANSam with phase reversals every 450 ms (/ANSam).
	ANSamPR
	// V21Preamble is a V.21 channel 2 carrier carrying HDLC flags: the
	// preamble of a T.30 frame, which tells a gateway a fax has started
	// even when no CNG or CED was heard.
	V21Preamble
)

var kindNames = [...]string{"none", "CNG", "CED", "ANS/PR", "ANSam", "ANSam/PR", "V.21 preamble"}

// String names the tone.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + itoa(int(k)) + ")"
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

// Tone parameters.
const (
	CNGHz        = 1100
	AnswerHz     = 2100
	AMHz         = 15
	AMDepth      = 0.2 // envelope 0.8 to 1.2 of its average
	CNGOn        = 500 * time.Millisecond
	CNGOff       = 3 * time.Second
	ReversalStep = 450 * time.Millisecond
	// AnswerDuration is the default length of CED and ANS: V.25's and
	// T.30's nominal 3.3 s (2.6 to 4.0 s allowed).
	AnswerDuration = 3300 * time.Millisecond
	// DefaultLevel is the default sending level of every tone, dBm0.
	DefaultLevel = -11
)

// GenConfig configures a Generator. The zero value works.
type GenConfig struct {
	// Level in dBm0; 0 means DefaultLevel. For ANSam it is the level of
	// the unmodulated carrier (the envelope's average).
	Level float64
	// Duration is the total length of the tone, after which the generator
	// sends silence and reports Done. 0 means AnswerDuration for the
	// answer tones and unlimited for CNG (the caller stops it when the far
	// end answers, as T.30's calling terminal does).
	Duration time.Duration
}

// Generator produces a connect tone sample by sample with the timing of
// T.30 and V.8. It allocates only in NewGenerator.
type Generator struct {
	kind     Kind
	amp      float64
	total    int64 // samples, 0 = unlimited
	n        int64 // samples produced
	carrier  dsp.NCO
	am       dsp.NCO
	reversal int64 // samples between phase reversals (0 = none)
}

// NewGenerator returns a generator of kind (CNG, CED, ANSPR, ANSam or
// ANSamPR; anything else generates silence).
func NewGenerator(kind Kind, c GenConfig) *Generator {
	if c.Level == 0 {
		c.Level = DefaultLevel
	}
	g := &Generator{kind: kind, amp: dsp.DBm0ToPeak(c.Level)}
	d := c.Duration
	switch kind {
	case CNG:
		g.carrier = dsp.NewNCO(CNGHz)
	case CED, ANSPR, ANSam, ANSamPR:
		g.carrier = dsp.NewNCO(AnswerHz)
		g.am = dsp.NewNCO(AMHz)
		if d == 0 {
			d = AnswerDuration
		}
		if kind == ANSPR || kind == ANSamPR {
			g.reversal = samples(ReversalStep)
		}
	default:
		g.amp = 0
	}
	g.total = samples(d)
	return g
}

func samples(d time.Duration) int64 { return int64(d) * dsp.SampleRate / int64(time.Second) }

// Kind returns the tone generated.
func (g *Generator) Kind() Kind { return g.kind }

// Done reports whether the tone's duration has passed.
func (g *Generator) Done() bool { return g.total > 0 && g.n >= g.total }

// Reset restarts the tone from its beginning.
func (g *Generator) Reset() {
	g.n = 0
	g.carrier.Reset()
	g.am.Reset()
}

// Process fills out with the tone and returns how many samples are tone
// (or CNG's silent gaps): fewer than len(out) only when the duration ends,
// the rest of out being silence.
func (g *Generator) Process(out []int16) int {
	cngPeriod := samples(CNGOn + CNGOff)
	cngOn := samples(CNGOn)
	for i := range out {
		if g.total > 0 && g.n >= g.total {
			clear(out[i:])
			return i
		}
		var v float64
		switch g.kind {
		case CNG:
			if g.n%cngPeriod < cngOn {
				v = g.amp * g.carrier.NextSin()
			} else {
				g.carrier.Reset() // each burst starts at phase 0
			}
		case CED, ANSPR:
			v = g.amp * g.carrier.NextSin()
		case ANSam, ANSamPR:
			v = g.amp * (1 + AMDepth*g.am.NextSin()) * g.carrier.NextSin()
		}
		g.n++
		if g.reversal > 0 && g.n%g.reversal == 0 {
			g.carrier.SetPhase(g.carrier.Phase() + 1<<31)
		}
		out[i] = dsp.Sat16(v)
	}
	return len(out)
}
