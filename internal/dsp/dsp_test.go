package dsp

import (
	"math"
	"math/cmplx"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLevels(t *testing.T) {
	assert.InDelta(t, 16140.7, RMS0dBm0, 0.1)
	assert.InDelta(t, 32767, DBm0ToPeak(MaxSineDBm0), 0.01)
	assert.InDelta(t, -13.0, RMSToDBm0(DBm0ToRMS(-13)), 1e-9)
	assert.InDelta(t, -43.0, PowerToDBm0(DBm0ToPower(-43)), 1e-9)
	// A full-scale sine measured sample by sample is +3.14 dBm0.
	var x [8000]int16
	o := NewNCO(1000)
	for i := range x {
		x[i] = Sat16(32767 * o.NextSin())
	}
	assert.InDelta(t, MaxSineDBm0, PowerToDBm0(MeanPower(x[:])), 0.01)
	assert.Equal(t, int16(32767), Sat16(1e9))
	assert.Equal(t, int16(-32768), Sat16(-1e9))
	assert.Equal(t, int16(-2), Sat16(-1.6))
	assert.Zero(t, MeanPower(nil))
}

func TestAWGN(t *testing.T) {
	for _, level := range []float64{-10, -30, -50} {
		n := NewAWGN(7, level)
		const N = 200000
		var s1, s2, s4 float64
		for range N {
			v := n.Next()
			s1 += v
			s2 += v * v
		}
		mean, p := s1/N, s2/N
		assert.InDelta(t, level, PowerToDBm0(p), 0.05, "level")
		assert.InDelta(t, 0, mean/math.Sqrt(p), 0.01, "mean")
		n.Reset()
		for range N {
			v := n.Next()
			s4 += v * v * v * v
		}
		assert.InDelta(t, 3, s4/N/(p*p), 0.05, "kurtosis of a Gaussian")
	}
	// Reproducible from the seed; different seeds differ.
	a, b, c := NewAWGN(1, -20), NewAWGN(1, -20), NewAWGN(2, -20)
	var x, y, z [160]int16
	a.Fill(x[:])
	b.Fill(y[:])
	c.Fill(z[:])
	assert.Equal(t, x, y)
	assert.NotEqual(t, x, z)
	// White: equal power in four quarters of the band (Goertzel bins).
	n := NewAWGN(3, -20)
	for _, hz := range []float64{500, 1500, 2500, 3500} {
		var sum float64
		g := NewGoertzel(hz, 200)
		for range 2000 * 200 {
			if p, ok := g.Update(n.Next()); ok {
				sum += p
			}
		}
		// E|X|² = n·σ² for white noise.
		assert.InDelta(t, 0, 10*math.Log10(sum/2000/(200*DBm0ToPower(-20))), 0.4, "%v Hz", hz)
	}
	n.SetLevel(math.Inf(-1))
	assert.Zero(t, n.Next())
	z = [160]int16{100}
	n.Add(z[:])
	assert.Equal(t, int16(100), z[0])
}

func TestPowerMeter(t *testing.T) {
	m := NewPowerMeter(0.02)
	o := NewNCO(1800)
	var blk [160]int16
	amp := DBm0ToPeak(-25)
	for range 50 {
		for i := range blk {
			blk[i] = Sat16(amp * o.NextSin())
		}
		m.Process(blk[:])
	}
	assert.InDelta(t, -25, m.DBm0(), 0.2)
	m.Reset()
	assert.Zero(t, m.Power())
	assert.InDelta(t, 1.0/160*100, m.Update(10), 1e-9)
}

func TestNCO(t *testing.T) {
	for _, hz := range []float64{1100, 1650, 2100, 3999.5, -600} {
		o := NewNCO(hz)
		assert.InDelta(t, hz, o.Freq(), 1e-5)
		var maxErr float64
		for i := range 10000 {
			c, s := o.Next()
			w := 2 * math.Pi * hz * float64(i) / SampleRate
			maxErr = max(maxErr, math.Abs(c-math.Cos(w)), math.Abs(s-math.Sin(w)))
		}
		assert.Less(t, maxErr, 2e-5, "%v Hz", hz) // table error plus phase quantisation
	}
	o := NewNCO(1000)
	o.AdjustPhase(math.Pi / 2)
	assert.InDelta(t, math.Pi/2, o.Phase().Radians(), 1e-6)
	_, s := o.Next()
	assert.InDelta(t, 1, s, 1e-6)
	o.Reset()
	assert.Zero(t, o.Phase())
	assert.InDelta(t, 3*math.Pi/2, PhaseOf(-math.Pi/2).Radians(), 1e-6)
}

func TestFIR(t *testing.T) {
	taps := []float64{1, 2, 3, 4, 5}
	f := NewFIR(taps)
	var got []float64
	for i := range 8 {
		x := 0.0
		if i == 0 {
			x = 1
		}
		got = append(got, f.Filter(x))
	}
	assert.Equal(t, []float64{1, 2, 3, 4, 5, 0, 0, 0}, got, "impulse response")
	f.Reset()
	assert.Equal(t, 1.0, f.Filter(1))

	lp := LowpassTaps(63, 1000, Blackman(63))
	assert.InDelta(t, 1, cmplx.Abs(Response(lp, 0)), 1e-9)
	assert.InDelta(t, 0.5, cmplx.Abs(Response(lp, 1000)), 0.02, "−6 dB at cut-off")
	assert.Less(t, 20*math.Log10(cmplx.Abs(Response(lp, 2000))), -60.0, "stop band")

	bp := BandpassTaps(63, 1500, 2000, Blackman(63))
	assert.InDelta(t, 1, cmplx.Abs(Response(bp, 1750)), 0.01)
	assert.Less(t, 20*math.Log10(cmplx.Abs(Response(bp, 1000))), -50.0)

	// A root raised cosine convolved with itself is a Nyquist pulse: zero
	// at every other symbol instant.
	rrc := RootRaisedCosineTaps(81, 10, 0.5)
	cf := NewComplexFIR(rrc)
	var out []complex128
	for i := range 200 {
		x := complex(0, 0)
		if i == 0 {
			x = 1
		}
		_ = x
		y := 0.0
		if i < len(rrc) {
			y = rrc[i]
		}
		out = append(out, cf.Filter(complex(y, -y)))
	}
	peak := 80
	assert.InDelta(t, 1, real(out[peak]), 0.01)
	assert.InDelta(t, -1, imag(out[peak]), 0.01)
	for k := 1; k <= 7; k++ {
		assert.InDelta(t, 0, real(out[peak+10*k]), 0.01, "ISI at symbol %d", k)
		assert.InDelta(t, 0, real(out[peak-10*k]), 0.01, "ISI at symbol -%d", k)
	}
	require.Panics(t, func() { NewFIR(nil) })
}

func TestBiquad(t *testing.T) {
	cases := []struct {
		name string
		b    Biquad
		hz   float64
		want float64 // dB
	}{
		{"lowpass pass", LowpassBiquad(1000, math.Sqrt2/2), 100, 0},
		{"lowpass corner", LowpassBiquad(1000, math.Sqrt2/2), 1000, -3.01},
		{"highpass corner", HighpassBiquad(300, math.Sqrt2/2), 300, -3.01},
		{"bandpass peak", BandpassBiquad(2100, 10), 2100, 0},
		{"notch", NotchBiquad(2100, 10), 2100, -300},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := 20 * math.Log10(cmplx.Abs(c.b.Response(c.hz))+1e-15)
			if c.want < -100 {
				assert.Less(t, g, -100.0)
				return
			}
			assert.InDelta(t, c.want, g, 0.05)
			// The time-domain filter agrees with the response.
			b := c.b
			o := NewNCO(c.hz)
			var p float64
			for i := range 16000 {
				y := b.Filter(o.NextSin())
				if i >= 8000 {
					p += y * y
				}
			}
			assert.InDelta(t, c.want, 10*math.Log10(p/8000/0.5), 0.05)
			b.Reset()
			assert.Equal(t, b.B0, b.Filter(1))
		})
	}
}

func TestGoertzel(t *testing.T) {
	g := NewGoertzel(1100, 160)
	o := NewNCO(1100)
	amp := DBm0ToPeak(-30)
	var p float64
	var ok bool
	for !ok {
		p, ok = g.Update(amp * o.NextSin())
	}
	assert.InDelta(t, -30, GoertzelDBm0(p, 160), 0.1)
	// 500 Hz away is far down.
	g2 := NewGoertzel(1600, 160)
	o.Reset()
	ok = false
	for !ok {
		p, ok = g2.Update(amp * o.NextSin())
	}
	assert.Less(t, GoertzelDBm0(p, 160), -60.0)
	assert.Equal(t, 160, g2.N())
}

func TestNoAllocs(t *testing.T) {
	n := NewAWGN(1, -20)
	f := NewFIR(LowpassTaps(31, 1000, nil))
	cf := NewComplexFIR(LowpassTaps(31, 1000, nil))
	b := LowpassBiquad(1000, 0.7)
	g := NewGoertzel(1000, 160)
	m := NewPowerMeter(0.01)
	o := NewNCO(1000)
	var blk [160]int16
	allocs := testing.AllocsPerRun(100, func() {
		n.Fill(blk[:])
		for _, x := range blk {
			v := float64(x)
			c, s := o.Next()
			v = f.Filter(v) + b.Filter(v) + real(cf.Filter(complex(c*v, s*v)))
			g.Update(v)
		}
		m.Process(blk[:])
	})
	assert.Zero(t, allocs)
}

func BenchmarkBlock(b *testing.B) {
	n := NewAWGN(1, -20)
	f := NewFIR(LowpassTaps(31, 1000, nil))
	var blk [160]int16
	b.SetBytes(320)
	b.ReportAllocs()
	for b.Loop() {
		n.Fill(blk[:])
		for _, x := range blk {
			f.Filter(float64(x))
		}
	}
}

func TestFreqShifter(t *testing.T) {
	for _, c := range []struct{ f, shift float64 }{{1650, 7}, {1850, -7}, {1000, 100}, {3000, -500}} {
		s := NewFreqShifter(c.shift)
		o := NewNCO(c.f)
		var x [4000]int16
		for i := range x {
			x[i] = Sat16(10000 * o.NextSin())
		}
		s.Process(x[:])
		tail := x[1000:]
		w := Blackman(len(tail)) // so that a bin 14 Hz away does not leak
		power := func(hz float64) float64 {
			g := NewGoertzel(hz, len(tail))
			var p float64
			for i, v := range tail {
				p, _ = g.Update(float64(v) * w[i] / 0.42)
			}
			return p
		}
		want, image := power(c.f+c.shift), power(c.f-c.shift)
		assert.InDelta(t, 0, 10*math.Log10(want/math.Pow(10000*float64(len(tail))/2, 2)), 0.1, "%+v gain", c)
		assert.Less(t, 10*math.Log10(image/want), -40.0, "%+v image", c)
	}
}
