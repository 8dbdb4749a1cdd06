package dsp

import (
	"math"
	"math/rand/v2"
)

// AWGN generates seeded, reproducible white Gaussian noise at a level in
// dBm0 (see the package doc for the dBm0 convention). Its samples are
// independent N(0, σ²) with σ the RMS value of the level, drawn with
// math/rand/v2's ziggurat on a PCG source, so a seed gives the same noise
// on every platform and Go release that keeps those algorithms.
type AWGN struct {
	pcg   rand.PCG
	rng   *rand.Rand
	seed  uint64
	sigma float64
}

// NewAWGN returns a noise generator at level dBm0 seeded with seed.
func NewAWGN(seed uint64, level float64) *AWGN {
	n := &AWGN{seed: seed, sigma: DBm0ToRMS(level)}
	n.pcg.Seed(seed, seed^0x9e3779b97f4a7c15)
	n.rng = rand.New(&n.pcg)
	return n
}

// SetLevel changes the level to level dBm0 (−inf or below −200 is silence).
func (n *AWGN) SetLevel(level float64) {
	if level < -200 || math.IsInf(level, -1) {
		n.sigma = 0
		return
	}
	n.sigma = DBm0ToRMS(level)
}

// Next returns the next noise sample.
func (n *AWGN) Next() float64 { return n.sigma * n.rng.NormFloat64() }

// Add adds noise to a block of samples in place, saturating at 16 bits.
func (n *AWGN) Add(x []int16) {
	for i, v := range x {
		x[i] = Sat16(float64(v) + n.Next())
	}
}

// Fill writes a block of noise alone.
func (n *AWGN) Fill(x []int16) {
	for i := range x {
		x[i] = Sat16(n.Next())
	}
}

// Reset restarts the noise sequence from the seed.
func (n *AWGN) Reset() { n.pcg.Seed(n.seed, n.seed^0x9e3779b97f4a7c15) }
