package dsp

import "math"

// FIR is a real finite impulse response filter. Its delay line is stored
// twice over, so each output is one contiguous dot product with no
// modular indexing.
type FIR struct {
	taps []float64
	hist []float64 // 2*len(taps): hist[pos] and hist[pos+n] hold the same sample
	pos  int
}

// NewFIR returns a filter with a copy of taps (taps[0] weighs the newest
// sample). It panics on no taps: a design error, never input.
func NewFIR(taps []float64) *FIR {
	if len(taps) == 0 {
		panic("dsp: FIR with no taps")
	}
	f := &FIR{taps: make([]float64, len(taps)), hist: make([]float64, 2*len(taps))}
	// Stored reversed, so that the dot product runs oldest to newest.
	for i, t := range taps {
		f.taps[len(taps)-1-i] = t
	}
	return f
}

// Len returns the number of taps.
func (f *FIR) Len() int { return len(f.taps) }

// Filter adds one sample and returns the filter's output.
func (f *FIR) Filter(x float64) float64 {
	f.Push(x)
	return f.Output()
}

// Push adds one sample without computing an output (for decimation).
func (f *FIR) Push(x float64) {
	n := len(f.taps)
	f.hist[f.pos] = x
	f.hist[f.pos+n] = x
	f.pos++
	if f.pos == n {
		f.pos = 0
	}
}

// Output returns the output for the samples pushed so far.
func (f *FIR) Output() float64 {
	h := f.hist[f.pos : f.pos+len(f.taps)]
	var s float64
	for i, t := range f.taps {
		s += t * h[i]
	}
	return s
}

// Reset clears the delay line.
func (f *FIR) Reset() {
	clear(f.hist)
	f.pos = 0
}

// ComplexFIR is a FIR filter with real taps on a complex signal (the
// matched filter of a QAM receiver on its baseband signal).
type ComplexFIR struct {
	taps []float64
	hist []complex128
	pos  int
}

// NewComplexFIR returns a complex filter with a copy of real taps.
func NewComplexFIR(taps []float64) *ComplexFIR {
	if len(taps) == 0 {
		panic("dsp: FIR with no taps")
	}
	f := &ComplexFIR{taps: make([]float64, len(taps)), hist: make([]complex128, 2*len(taps))}
	for i, t := range taps {
		f.taps[len(taps)-1-i] = t
	}
	return f
}

// Filter adds one sample and returns the output.
func (f *ComplexFIR) Filter(x complex128) complex128 {
	f.Push(x)
	return f.Output()
}

// Push adds one sample without computing an output.
func (f *ComplexFIR) Push(x complex128) {
	n := len(f.taps)
	f.hist[f.pos] = x
	f.hist[f.pos+n] = x
	f.pos++
	if f.pos == n {
		f.pos = 0
	}
}

// Output returns the output for the samples pushed so far.
func (f *ComplexFIR) Output() complex128 {
	h := f.hist[f.pos : f.pos+len(f.taps)]
	var re, im float64
	for i, t := range f.taps {
		re += t * real(h[i])
		im += t * imag(h[i])
	}
	return complex(re, im)
}

// Reset clears the delay line.
func (f *ComplexFIR) Reset() {
	clear(f.hist)
	f.pos = 0
}

// Window functions over n points, w[0] = w[n-1] at the edges.

// Hamming returns the Hamming window of n points.
func Hamming(n int) []float64 {
	w := make([]float64, n)
	for i := range w {
		w[i] = 0.54 - 0.46*math.Cos(2*math.Pi*float64(i)/float64(max(n-1, 1)))
	}
	return w
}

// Blackman returns the Blackman window of n points (stop band about −74 dB).
func Blackman(n int) []float64 {
	w := make([]float64, n)
	for i := range w {
		x := 2 * math.Pi * float64(i) / float64(max(n-1, 1))
		w[i] = 0.42 - 0.5*math.Cos(x) + 0.08*math.Cos(2*x)
	}
	return w
}

// LowpassTaps designs an n-tap linear-phase low-pass filter with cut-off
// (−6 dB point) at cutoff Hz by the windowed-sinc method with window w
// (Hamming if nil), normalised to unity gain at DC.
func LowpassTaps(n int, cutoff float64, w []float64) []float64 {
	if w == nil {
		w = Hamming(n)
	}
	fc := cutoff / SampleRate
	taps := make([]float64, n)
	mid := float64(n-1) / 2
	var sum float64
	for i := range taps {
		t := float64(i) - mid
		v := 2 * fc
		if t != 0 {
			v = math.Sin(2*math.Pi*fc*t) / (math.Pi * t)
		}
		taps[i] = v * w[i]
		sum += taps[i]
	}
	for i := range taps {
		taps[i] /= sum
	}
	return taps
}

// BandpassTaps designs an n-tap linear-phase band-pass filter passing lo
// to hi Hz (−6 dB points) by shifting a windowed-sinc low-pass of half the
// bandwidth to the centre frequency; unity gain at the centre.
func BandpassTaps(n int, lo, hi float64, w []float64) []float64 {
	lp := LowpassTaps(n, (hi-lo)/2, w)
	fc := (lo + hi) / 2 / SampleRate
	mid := float64(n-1) / 2
	for i := range lp {
		lp[i] *= 2 * math.Cos(2*math.Pi*fc*(float64(i)-mid))
	}
	return lp
}

// RootRaisedCosineTaps designs the root raised cosine pulse of a QAM
// modem's transmit and matched filters: n taps at sps samples per symbol
// with roll-off beta, normalised to unit energy (so a matched pair has
// unity gain at the symbol instant).
func RootRaisedCosineTaps(n int, sps, beta float64) []float64 {
	taps := make([]float64, n)
	mid := float64(n-1) / 2
	var energy float64
	for i := range taps {
		t := (float64(i) - mid) / sps
		var v float64
		switch {
		case t == 0:
			v = 1 - beta + 4*beta/math.Pi
		case beta > 0 && math.Abs(math.Abs(4*beta*t)-1) < 1e-9:
			v = beta / math.Sqrt2 * ((1+2/math.Pi)*math.Sin(math.Pi/(4*beta)) + (1-2/math.Pi)*math.Cos(math.Pi/(4*beta)))
		default:
			v = (math.Sin(math.Pi*t*(1-beta)) + 4*beta*t*math.Cos(math.Pi*t*(1+beta))) /
				(math.Pi * t * (1 - (4*beta*t)*(4*beta*t)))
		}
		taps[i] = v
		energy += v * v
	}
	for i := range taps {
		taps[i] /= math.Sqrt(energy)
	}
	return taps
}

// Response returns the complex frequency response of taps at hz.
func Response(taps []float64, hz float64) complex128 {
	var re, im float64
	for i, t := range taps {
		w := 2 * math.Pi * hz / SampleRate * float64(i)
		re += t * math.Cos(w)
		im -= t * math.Sin(w)
	}
	return complex(re, im)
}
