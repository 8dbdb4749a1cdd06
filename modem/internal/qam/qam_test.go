package qam

import (
	"math"
	"math/cmplx"
	"testing"
)

// TestRRCNyquist checks that the RRC convolved with itself is a Nyquist
// pulse: 1 at t=0 (with the unit-energy normalisation) and ~0 at the other
// symbol instants.
func TestRRCNyquist(t *testing.T) {
	for _, beta := range []float64{0.25, 0.5} {
		const os = 64 // samples per symbol
		var h []float64
		for i := -12 * os; i <= 12*os; i++ {
			h = append(h, RRC(float64(i)/os, beta))
		}
		rc := func(k int) float64 {
			var s float64
			for i := range h {
				if j := i + k*os; j >= 0 && j < len(h) {
					s += h[i] * h[j]
				}
			}
			return s / os
		}
		if c := rc(0); math.Abs(c-1) > 0.01 {
			t.Errorf("beta %v: energy %.4f, want 1", beta, c)
		}
		for k := 1; k <= 4; k++ {
			if c := rc(k); math.Abs(c) > 0.01 {
				t.Errorf("beta %v: ISI at %d symbols %.4f", beta, k, c)
			}
		}
	}
}

func TestModulatorLevel(t *testing.T) {
	m := NewModulator(2400, 1700, 0.25, 6)
	m.SetLevel(-13, 2)
	pts := []complex128{1 + 1i, -1 + 1i, -1 - 1i, 1 - 1i}
	var ms float64
	seed := uint32(1)
	const n = 200000
	for range n {
		if m.Advance() {
			seed = seed*1664525 + 1013904223
			m.Push(pts[seed>>30])
		}
		v := m.Sample()
		ms += v * v
	}
	if got := DBm0FromPower(ms / n); math.Abs(got+13) > 0.1 {
		t.Errorf("level %.2f dBm0, want -13", got)
	}
}

// TestModDemod passes symbols through Modulator and Demod and checks the
// symbol-spaced outputs reproduce them (after the filters' delay).
func TestModDemod(t *testing.T) {
	for _, baud := range []float64{2400, 1600, 1200} {
		m := NewModulator(baud, 1800, 0.5, 6)
		d := NewDemod(baud, 1800, 0.5, 6, 1)
		var sent, got []complex128
		pts := []complex128{1, 1i, -1, -1i}
		k := 0
		for range 8000 {
			if m.Advance() {
				s := pts[(k*k+k/3)%4]
				k++
				sent = append(sent, s)
				m.Push(s)
			}
			if y, ok := d.Push(m.Sample()); ok {
				got = append(got, y)
			}
		}
		// Find the delay and the complex gain on the middle of the run.
		best, bestLag := math.Inf(1), 0
		var bestG complex128
		for lag := 0; lag < 40; lag++ {
			var num complex128
			var den float64
			for i := 100; i < 400; i++ {
				num += got[i+lag] * cmplx.Conj(sent[i])
				den += 1
			}
			g := num / complex(den, 0)
			var e float64
			for i := 100; i < 400; i++ {
				e += sq(got[i+lag] - g*sent[i])
			}
			if e < best {
				best, bestLag, bestG = e, lag, g
			}
		}
		if snr := 10 * math.Log10(sq(bestG)*300/best); snr < 30 {
			t.Errorf("baud %v: symbols come back at %.1f dB signal-to-ISI (lag %d)", baud, snr, bestLag)
		}
	}
}

func sq(z complex128) float64 { return real(z)*real(z) + imag(z)*imag(z) }

func TestScramblerRoundTrip(t *testing.T) {
	tx := Scrambler{A: 18, B: 23}
	rx := Scrambler{A: 18, B: 23, Reg: 0x5a5a5}
	errs := 0
	for i := range 5000 {
		b := (i*7 + i/5) & 1
		if got := rx.Descramble(tx.Scramble(b)); got != b && i >= 23 {
			errs++
		}
	}
	if errs != 0 {
		t.Errorf("%d errors after the descrambler synchronised", errs)
	}
	// A run of ones comes out scrambled (not constant).
	s := Scrambler{A: 18, B: 23, Reg: 1}
	ones := 0
	for range 1000 {
		ones += s.Scramble(1)
	}
	if ones < 400 || ones > 600 {
		t.Errorf("scrambled ones: %d of 1000 are 1", ones)
	}
}

func TestEqualizerLMS(t *testing.T) {
	// Identify a 3-tap channel's inverse from known symbols.
	e := NewEqualizer(9)
	e.Reset(1)
	ch := []complex128{0.2i, 1, -0.3}
	hist := make([]complex128, 3)
	var errAcc float64
	seed := uint32(7)
	pts := []complex128{1, 1i, -1, -1i}
	var syms []complex128
	for i := range 4000 {
		seed = seed*1664525 + 1013904223
		s := pts[seed>>30]
		syms = append(syms, s)
		copy(hist[1:], hist[:2])
		hist[0] = s
		var x complex128
		for k, c := range ch {
			x += c * hist[k]
		}
		e.Push(x)
		if i < 8 {
			continue
		}
		want := syms[i-4] // the centre tap's delay, less the channel's 1
		y := e.Output()
		err := want - y
		e.Update(err, 0.05/(9*e.Power()))
		if i > 3000 {
			errAcc += sq(err)
		}
	}
	if mse := errAcc / 999; mse > 1e-3 {
		t.Errorf("equaliser MSE %.2g after training", mse)
	}
}

func TestSlicerExact(t *testing.T) {
	v29 := []complex128{3, 1 + 1i, 3i, -1 + 1i, -3, -1 - 1i, -3i, 1 - 1i,
		5, 3 + 3i, 5i, -3 + 3i, -5, -3 - 3i, -5i, 3 - 3i}
	sets := [][]complex128{v29, v29[:8], {3, 0, 3i, 0, -3, 0, -3i, 0}}
	seed := uint64(3)
	for _, pts := range sets {
		s := NewSlicer(pts)
		for range 200000 {
			seed = seed*6364136223846793005 + 1442695040888963407
			z := complex(float64(int32(seed>>32))/float64(1<<31)*8, float64(int32(seed))/float64(1<<31)*8)
			got, gd := s.Nearest(z)
			want, wd := 0, math.Inf(1)
			for i, p := range pts {
				if p != 0 && sq(z-p) < wd {
					want, wd = i, sq(z-p)
				}
			}
			if got != want && math.Abs(gd-wd) > 1e-12 {
				t.Fatalf("Nearest(%v) = %d (%v), want %d (%v)", z, got, gd, want, wd)
			}
		}
	}
}
