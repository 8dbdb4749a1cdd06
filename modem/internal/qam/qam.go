// Package qam holds the receiver and transmitter machinery shared by
// faxkit's QAM/PSK fax modems (V.29, and later V.27ter and V.17):
// root-raised-cosine pulse shaping, a demodulating front end with a
// fractional-delay matched filter for symbol-timing recovery, a
// fractionally spaced LMS equaliser, power measurement in dBm0 and the
// self-synchronising scramblers of the ITU-T recommendations.
//
// Everything here is a fixed-size streaming block: constructors allocate,
// the per-sample and per-symbol methods never do.
//
// Design parameters (written down here, computed once per process by the
// constructors rather than read from generated tables):
//   - Pulse: root raised cosine, roll-off given by the caller (0.25 for
//     V.29 as in its informal spectrum, energy density -3 dB at 1700±1200
//     Hz), truncated to ±Span symbols, no extra window.
//   - Receive matched filter: the same RRC sampled at 8 kHz for
//     Phases fractional delays (1/Phases of a sample resolution).
package qam

import (
	"math"
	"math/cmplx"
)

// SampleRate is the sampling rate of every faxkit modem, in Hz.
const SampleRate = 8000

// dBm0 reference: a sine wave of peak amplitude 32767·10^(-3.14/20) in
// 16-bit linear PCM is 0 dBm0 (G.711 µ-law: the maximum sine is +3.14 dBm0).
const maxSineDBm0 = 3.14

// PowerFromDBm0 returns the mean-square value, in 16-bit linear units
// squared, of a signal at level dBm0.
func PowerFromDBm0(dbm0 float64) float64 {
	a := 32767 * math.Pow(10, (dbm0-maxSineDBm0)/20) / math.Sqrt2
	return a * a
}

// DBm0FromPower is the inverse of PowerFromDBm0.
func DBm0FromPower(ms float64) float64 {
	if ms <= 0 {
		return -200
	}
	return 10 * math.Log10(ms/PowerFromDBm0(0))
}

// RRC returns the root-raised-cosine impulse response with roll-off beta at
// time t in symbol periods; RRC(0) = 1-beta+4beta/pi.
func RRC(t, beta float64) float64 {
	if t == 0 {
		return 1 - beta + 4*beta/math.Pi
	}
	if beta > 0 && math.Abs(math.Abs(t)-1/(4*beta)) < 1e-9 {
		return beta / math.Sqrt2 * ((1+2/math.Pi)*math.Sin(math.Pi/(4*beta)) + (1-2/math.Pi)*math.Cos(math.Pi/(4*beta)))
	}
	num := math.Sin(math.Pi*t*(1-beta)) + 4*beta*t*math.Cos(math.Pi*t*(1+beta))
	den := math.Pi * t * (1 - (4*beta*t)*(4*beta*t))
	return num / den
}

// carrierTable returns one period of e^{j2π f n/SampleRate}.
func carrierTable(freq float64) []complex128 {
	f := int(math.Round(freq))
	n := SampleRate / gcd(f, SampleRate)
	t := make([]complex128, n)
	for i := range t {
		t[i] = cmplx.Rect(1, 2*math.Pi*float64(f)*float64(i)/SampleRate)
	}
	return t
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
