package dsp

import "math"

// Goertzel measures the power of one frequency over blocks of N samples:
// the second-order recursion s[n] = x[n] + 2cos(ω)·s[n−1] − s[n−2], after
// which |X(ω)|² = s1² + s2² − 2cos(ω)·s1·s2 (G. Goertzel, 1958). It is how
// tone detectors measure a few frequencies cheaply.
type Goertzel struct {
	coef   float64
	n, i   int
	s1, s2 float64
}

// NewGoertzel returns a detector for hz over blocks of n samples. Its
// bandwidth is about SampleRate/n Hz (the DFT bin width).
func NewGoertzel(hz float64, n int) Goertzel {
	return Goertzel{coef: 2 * math.Cos(2*math.Pi*hz/SampleRate), n: n}
}

// Update adds one sample. When it completes a block it returns the block's
// power |X|² and true, and starts the next block.
func (g *Goertzel) Update(x float64) (float64, bool) {
	s := x + g.coef*g.s1 - g.s2
	g.s2, g.s1 = g.s1, s
	g.i++
	if g.i < g.n {
		return 0, false
	}
	p := g.s1*g.s1 + g.s2*g.s2 - g.coef*g.s1*g.s2
	g.Reset()
	return p, true
}

// N returns the block length.
func (g *Goertzel) N() int { return g.n }

// Reset starts a new block.
func (g *Goertzel) Reset() { g.s1, g.s2, g.i = 0, 0, 0 }

// GoertzelDBm0 converts the power |X|² of an n-sample Goertzel block to
// the level in dBm0 of a sine at the detector's frequency that produces it
// (a sine of peak A gives |X| = A·n/2).
func GoertzelDBm0(p float64, n int) float64 {
	peak := 2 * math.Sqrt(p) / float64(n)
	return RMSToDBm0(peak / math.Sqrt2)
}
