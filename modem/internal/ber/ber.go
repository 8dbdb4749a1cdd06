// Package ber is faxkit's modem bit-error harness, after the receiver
// tests of spandsp (v17_tests, v29_tests, v27ter_tests): random bits are
// sent through a transmitter, a channel with white noise and G.711
// companding (optionally a carrier offset, a timing offset and a fixed
// band-limiting line filter), and a receiver; the received bits are
// aligned with the sent ones and the errors counted.
//
// Levels and SNR: the channel scales the transmitted signal to exactly
// Signal dBm0, measured over the middle half of the transmission (the
// data), so that every transmitter, faxkit's or spandsp's, meets the same
// signal-to-noise ratio; the noise (internal/dsp.AWGN, seeded) is white
// Gaussian over 0-4 kHz at Signal-SNR dBm0, added before the G.711 codec
// (modem/g711) as in spandsp's line model. 0 dBm0 is the G.711 level
// (+3.14 dBm0 is the largest sine wave in µ-law).
//
// Offsets: CarrierOffset shifts every frequency by a single-sideband
// mixer (127-tap Hilbert transformer); TimingPPM resamples the signal
// (windowed sinc, 32 taps) as a receiver clock that fast would.
//
// The line filter (LineFilter) is a fixed telephone-channel model without
// echo: a 2nd-order Butterworth high-pass at 300 Hz followed by a
// 4th-order Butterworth low-pass at 3400 Hz (bilinear transform, as two
// cascaded biquads of Q 0.5412 and 1.3066), which gives the band edges
// the group-delay distortion of a real analogue channel.
package ber

import (
	"math"
	"math/cmplx"
	"math/rand/v2"

	"github.com/faxkit/faxkit/internal/dsp"
	"github.com/faxkit/faxkit/modem/g711"
	"github.com/faxkit/faxkit/modem/internal/qam"
)

// Codec is the companding applied after the noise.
type Codec int

const (
	Linear Codec = iota
	ULaw
	ALaw
)

// Channel describes the impairments between a transmitter and a receiver.
type Channel struct {
	Signal        float64 // dBm0 the signal is scaled to
	SNR           float64 // dB over 0-4 kHz; NoNoise means none
	Codec         Codec
	CarrierOffset float64 // Hz
	TimingPPM     float64 // receiver clock error, parts per million
	LineFilter    bool
	Seed          uint64
}

// NoNoise as Channel.SNR adds no noise.
const NoNoise = math.MaxFloat64

// Apply passes in through the channel.
func (c Channel) Apply(in []int16) []int16 {
	x := make([]float64, len(in))
	for i, v := range in {
		x[i] = float64(v)
	}
	var ms float64
	lo, hi := len(x)/4, 3*len(x)/4
	for _, v := range x[lo:hi] {
		ms += v * v
	}
	if hi > lo && ms > 0 {
		g := math.Sqrt(qam.PowerFromDBm0(c.Signal) / (ms / float64(hi-lo)))
		for i := range x {
			x[i] *= g
		}
	}
	if c.LineFilter {
		x = lineFilter(x)
	}
	if c.CarrierOffset != 0 {
		x = shift(x, c.CarrierOffset)
	}
	if c.TimingPPM != 0 {
		x = resample(x, 1+c.TimingPPM*1e-6)
	}
	if c.SNR != NoNoise {
		n := dsp.NewAWGN(c.Seed, c.Signal-c.SNR)
		for i := range x {
			x[i] += n.Next()
		}
	}
	out := make([]int16, len(x))
	for i, v := range x {
		s := int16(max(-32768, min(32767, math.Round(v))))
		switch c.Codec {
		case ULaw:
			s = g711.ULawToLinear(g711.LinearToULaw(s))
		case ALaw:
			s = g711.ALawToLinear(g711.LinearToALaw(s))
		}
		out[i] = s
	}
	return out
}

type biquad struct{ b0, b1, b2, a1, a2, z1, z2 float64 }

func (q *biquad) run(x float64) float64 {
	y := q.b0*x + q.z1
	q.z1 = q.b1*x - q.a1*y + q.z2
	q.z2 = q.b2*x - q.a2*y
	return y
}

// newBiquad designs an RBJ-cookbook low- or high-pass section.
func newBiquad(f, qf float64, high bool) biquad {
	w := 2 * math.Pi * f / qam.SampleRate
	al := math.Sin(w) / (2 * qf)
	cw := math.Cos(w)
	a0 := 1 + al
	var b0, b1, b2 float64
	if high {
		b0, b1, b2 = (1+cw)/2, -(1 + cw), (1+cw)/2
	} else {
		b0, b1, b2 = (1-cw)/2, 1-cw, (1-cw)/2
	}
	return biquad{b0: b0 / a0, b1: b1 / a0, b2: b2 / a0, a1: -2 * cw / a0, a2: (1 - al) / a0}
}

func lineFilter(x []float64) []float64 {
	qs := []biquad{
		newBiquad(300, math.Sqrt2/2, true),
		newBiquad(3400, 0.5412, false),
		newBiquad(3400, 1.3066, false),
	}
	y := make([]float64, len(x))
	for i, v := range x {
		for k := range qs {
			v = qs[k].run(v)
		}
		y[i] = v
	}
	return y
}

// shift moves every frequency of x up by df Hz (single-sideband shift
// through a 127-tap Hilbert transformer).
func shift(x []float64, df float64) []float64 {
	const n = 127
	h := make([]float64, n)
	for i := range h {
		k := i - n/2
		if k%2 != 0 {
			w := 0.54 + 0.46*math.Cos(2*math.Pi*float64(k)/float64(n-1))
			h[i] = 2 / (math.Pi * float64(k)) * w
		}
	}
	y := make([]float64, len(x))
	for i := range x {
		var q float64
		for j, c := range h {
			if c == 0 {
				continue
			}
			if k := i - j + n/2; k >= 0 && k < len(x) {
				q += c * x[k]
			}
		}
		z := complex(x[i], q) * cmplx.Rect(1, 2*math.Pi*df*float64(i)/qam.SampleRate)
		y[i] = real(z)
	}
	return y
}

// resample reads x at times i·ratio (windowed-sinc interpolation): the
// receiver's clock runs ratio times the transmitter's.
func resample(x []float64, ratio float64) []float64 {
	const half = 16
	n := int(float64(len(x)) / ratio)
	y := make([]float64, n)
	for i := range y {
		t := float64(i) * ratio
		k0 := int(math.Floor(t))
		var s float64
		for k := k0 - half + 1; k <= k0+half; k++ {
			if k < 0 || k >= len(x) {
				continue
			}
			d := t - float64(k)
			w := 0.5 + 0.5*math.Cos(math.Pi*d/half)
			sinc := 1.0
			if d != 0 {
				sinc = math.Sin(math.Pi*d) / (math.Pi * d)
			}
			s += x[k] * sinc * w
		}
		y[i] = s
	}
	return y
}

// Bits returns n random bits (bytes 0/1) from seed.
func Bits(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.IntN(2))
	}
	return b
}

// Preamble is the number of leading bits of a test sequence that Compare
// does not count: receivers may deliver training ones first, or start a
// few bits into the data (spandsp's do).
const Preamble = 256

// Compare aligns got with sent[Preamble:] and returns the number of those
// bits received wrong or not at all, and the offset in got where
// sent[Preamble] was found (-1 if nowhere).
func Compare(sent, got []byte) (errs, offset int) {
	const probe = 256
	want := sent[Preamble:]
	best, bestOff := probe+1, -1
	limit := min(len(got)-probe, 4096+Preamble)
	for o := 0; o <= limit; o++ {
		e := 0
		for i := 0; i < probe && e < best; i++ {
			if got[o+i] != want[i] {
				e++
			}
		}
		if e < best {
			best, bestOff = e, o
		}
	}
	if bestOff < 0 || best > probe/4 {
		return len(want), -1
	}
	for i, b := range want {
		if bestOff+i >= len(got) || got[bestOff+i] != b {
			errs++
		}
	}
	return errs, bestOff
}

// Link is one transmitter-receiver pairing under test.
type Link struct {
	Tx func(bits []byte) []int16 // whole transmission, training to shutdown
	Rx func(audio []int16) []byte
}

// Trial sends nbits random bits (after a Preamble) from seed through ch
// and returns the bit errors.
func (l Link) Trial(ch Channel, nbits int, seed uint64) int {
	bits := Bits(Preamble+nbits, seed)
	audio := l.Tx(bits)
	// Silence after the transmission lets the receiver see the carrier go.
	audio = append(audio, make([]int16, 800)...)
	ch.Seed = seed
	errs, _ := Compare(bits, l.Rx(ch.Apply(audio)))
	return errs
}

// Step is one step of a sweep.
type Step struct {
	Signal, SNR float64
	Errors      int
}

// Sweep reproduces spandsp's receiver test: with the noise fixed at
// noise dBm0, the signal starts at noise+startSNR and drops 1 dB per
// error-free step of nbits bits. It returns every step run; the last
// error-free one is the result.
func (l Link) Sweep(ch Channel, noise, startSNR, minSNR float64, nbits int) []Step {
	var steps []Step
	for snr := startSNR; snr >= minSNR; snr-- {
		ch.Signal, ch.SNR = noise+snr, snr
		e := l.Trial(ch, nbits, uint64(1000+snr))
		steps = append(steps, Step{Signal: ch.Signal, SNR: snr, Errors: e})
		if e != 0 {
			break
		}
	}
	return steps
}

// Lowest returns the lowest error-free step of a sweep, and false if none.
func Lowest(steps []Step) (Step, bool) {
	var best Step
	ok := false
	for _, s := range steps {
		if s.Errors == 0 {
			best, ok = s, true
		}
	}
	return best, ok
}
