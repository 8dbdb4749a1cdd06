package dsp

import (
	"math"
	"math/cmplx"
)

// Biquad is a second-order IIR section in transposed direct form II:
//
//	H(z) = (b0 + b1·z⁻¹ + b2·z⁻²) / (1 + a1·z⁻¹ + a2·z⁻²)
//
// The designs are those of R. Bristow-Johnson's "Cookbook formulae for
// audio EQ biquad filter coefficients" (bilinear transform with frequency
// pre-warping) at SampleRate.
type Biquad struct {
	B0, B1, B2, A1, A2 float64
	z1, z2             float64
}

func rbj(hz, q float64) (cosw, alpha float64) {
	w := 2 * math.Pi * hz / SampleRate
	return math.Cos(w), math.Sin(w) / (2 * q)
}

func normalised(b0, b1, b2, a0, a1, a2 float64) Biquad {
	return Biquad{B0: b0 / a0, B1: b1 / a0, B2: b2 / a0, A1: a1 / a0, A2: a2 / a0}
}

// LowpassBiquad returns a second-order low-pass at hz with quality q
// (1/√2 is Butterworth).
func LowpassBiquad(hz, q float64) Biquad {
	c, a := rbj(hz, q)
	return normalised((1-c)/2, 1-c, (1-c)/2, 1+a, -2*c, 1-a)
}

// HighpassBiquad returns a second-order high-pass at hz with quality q.
func HighpassBiquad(hz, q float64) Biquad {
	c, a := rbj(hz, q)
	return normalised((1+c)/2, -(1 + c), (1+c)/2, 1+a, -2*c, 1-a)
}

// BandpassBiquad returns a band-pass centred on hz with 0 dB peak gain and
// quality q (bandwidth hz/q between the −3 dB points).
func BandpassBiquad(hz, q float64) Biquad {
	c, a := rbj(hz, q)
	return normalised(a, 0, -a, 1+a, -2*c, 1-a)
}

// NotchBiquad returns a notch at hz with quality q.
func NotchBiquad(hz, q float64) Biquad {
	c, a := rbj(hz, q)
	return normalised(1, -2*c, 1, 1+a, -2*c, 1-a)
}

// Filter returns the output for one input sample.
func (b *Biquad) Filter(x float64) float64 {
	y := b.B0*x + b.z1
	b.z1 = b.B1*x - b.A1*y + b.z2
	b.z2 = b.B2*x - b.A2*y
	return y
}

// Reset clears the filter's state, keeping its coefficients.
func (b *Biquad) Reset() { b.z1, b.z2 = 0, 0 }

// Response returns the filter's complex frequency response at hz.
func (b *Biquad) Response(hz float64) complex128 {
	z := cmplx.Exp(complex(0, -2*math.Pi*hz/SampleRate)) // z⁻¹
	num := complex(b.B0, 0) + complex(b.B1, 0)*z + complex(b.B2, 0)*z*z
	den := 1 + complex(b.A1, 0)*z + complex(b.A2, 0)*z*z
	return num / den
}
