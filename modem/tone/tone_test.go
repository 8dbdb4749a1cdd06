package tone

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit/internal/dsp"
	"github.com/faxkit/faxkit/modem/g711"
	"github.com/faxkit/faxkit/modem/internal/fskref"
	"github.com/faxkit/faxkit/modem/v21"
)

func generate(k Kind, c GenConfig, n int) []int16 {
	g := NewGenerator(k, c)
	out := make([]int16, n)
	for i := 0; i < n; i += 160 {
		g.Process(out[i:min(i+160, n)])
	}
	return out
}

func detect(d *Detector, sig []int16) []Event {
	var ev []Event
	for i := 0; i < len(sig); i += 160 {
		ev = append(ev, d.Process(sig[i:min(i+160, len(sig))])...)
	}
	return ev
}

func ms(samples int64) float64 { return float64(samples) / 8 }

func TestGeneratorCNG(t *testing.T) {
	sig := generate(CNG, GenConfig{}, 8*8000)
	// On/off cadence: find the edges.
	var edges []int
	on := false
	for i := 0; i < len(sig); i += 8 {
		p := dsp.MeanPower(sig[i : i+8])
		if (p > 0) != on {
			on = !on
			edges = append(edges, i)
		}
	}
	assert.Equal(t, []int{0, 4000, 28000, 32000, 56000, 60000}, edges)
	assert.InDelta(t, DefaultLevel, dsp.PowerToDBm0(dsp.MeanPower(sig[:4000])), 0.05)
	g := dsp.NewGoertzel(CNGHz, 4000)
	var p float64
	for _, v := range sig[:4000] {
		p, _ = g.Update(float64(v))
	}
	assert.InDelta(t, DefaultLevel, dsp.GoertzelDBm0(p, 4000), 0.1)
}

func TestGeneratorAnswer(t *testing.T) {
	sig := generate(ANSamPR, GenConfig{Level: -15}, 4*8000)
	// Duration 3.3 s, then silence.
	assert.NotZero(t, dsp.MeanPower(sig[26390:26400]))
	assert.Zero(t, dsp.MeanPower(sig[26400:]))
	// Average level is that of the unmodulated carrier plus the AM's
	// 2% (10·log10(1 + 0.2²/2)).
	assert.InDelta(t, -15+10*math.Log10(1.02), dsp.PowerToDBm0(dsp.MeanPower(sig[:24000])), 0.05)
	// Envelope between 0.8 and 1.2 of the carrier's peak.
	peak := dsp.DBm0ToPeak(-15)
	var hi, lo float64 = 0, 1e9
	for i := 0; i+40 <= 24000; i += 40 {
		m := 0.0
		for _, v := range sig[i : i+40] {
			m = max(m, math.Abs(float64(v)))
		}
		hi, lo = max(hi, m), min(lo, m)
	}
	assert.InDelta(t, 1.2, hi/peak, 0.01)
	assert.InDelta(t, 0.8, lo/peak, 0.02)
	// Phase reversals every 450 ms: the product of the signal with itself
	// one period (80 samples = 21 cycles... not integer) — measure with
	// the block phase of a 2100 Hz correlator instead.
	o := dsp.NewNCO(AnswerHz)
	var revs []int
	var prev complex128
	for b := 0; b+40 <= 26400; b += 40 {
		var acc complex128
		for _, v := range sig[b : b+40] {
			c, s := o.Next()
			acc += complex(float64(v)*c, -float64(v)*s)
		}
		if b > 0 && real(acc*complex(real(prev), -imag(prev))) < 0 {
			revs = append(revs, b)
		}
		prev = acc
	}
	assert.Equal(t, []int{3600, 7200, 10800, 14400, 18000, 21600, 25200}, revs)
}

// Our detector on our tones, at the extremes of level and frequency.
func TestDetectOwnTones(t *testing.T) {
	cases := []struct {
		kind  Kind
		level float64
	}{{CNG, -6}, {CNG, -43}, {CED, -10}, {CED, -43}, {ANSPR, -20}, {ANSam, -12}, {ANSam, -43}, {ANSamPR, -30}}
	for _, c := range cases {
		t.Run(c.kind.String(), func(t *testing.T) {
			sig := generate(c.kind, GenConfig{Level: c.level}, 5*8000)
			ev := detect(NewDetector(DetConfig{}), sig)
			require.NotEmpty(t, ev)
			assert.Equal(t, c.kind, lastOn(ev).Tone, "%+v", ev)
			assert.InDelta(t, c.level, ev[0].Level, 1.0)
			assert.InDelta(t, 400, ms(ev[0].At), 20, "recognised after 400 ms")
		})
	}
}

func lastOn(ev []Event) Event {
	var e Event
	for _, x := range ev {
		if x.On {
			e = x
		}
	}
	return e
}

// Frequency tolerance: CNG ±38 Hz, ANS ±15 Hz (shifted by a Hilbert
// frequency shifter).
func TestDetectOffsets(t *testing.T) {
	for _, c := range []struct {
		kind   Kind
		offset float64
	}{{CNG, 38}, {CNG, -38}, {CED, 15}, {CED, -15}, {ANSam, 15}} {
		sig := generate(c.kind, GenConfig{Level: -20}, 5*8000)
		dsp.NewFreqShifter(c.offset).Process(sig)
		ev := detect(NewDetector(DetConfig{}), sig)
		require.NotEmpty(t, ev, "%v %+v", c.kind, c.offset)
		assert.Equal(t, c.kind, ev[0].Tone, "%v %+v", c.kind, c.offset)
	}
	// 1100 Hz held for 2 s is not CNG.
	o := dsp.NewNCO(CNGHz)
	sig := make([]int16, 16000)
	for i := range sig {
		sig[i] = dsp.Sat16(5000 * o.NextSin())
	}
	ev := detect(NewDetector(DetConfig{}), sig)
	require.Len(t, ev, 2)
	assert.False(t, ev[1].On, "withdrawn")
}

// spandsp's generators (modem_connect_tones_tx, tone_gen) to our detector.
func TestDetectSpandspTones(t *testing.T) {
	for _, c := range []struct {
		args []string
		want Kind
	}{
		{[]string{"tone", "1", "40000"}, CNG},
		{[]string{"tone", "2", "40000"}, CED},
		{[]string{"tone", "3", "40000"}, ANSPR},
		{[]string{"tone", "4", "40000"}, ANSam},
		{[]string{"tone", "5", "40000"}, ANSamPR},
		{[]string{"tonegen", "1100", "-43", "500", "3000", "40000"}, CNG},
		{[]string{"tonegen", "1100", "-6", "500", "3000", "40000"}, CNG},
		{[]string{"tonegen", "2100", "-40", "3300", "0", "40000"}, CED},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			for _, law := range []g711.Law{g711.ULaw, g711.ALaw} {
				sig := fskref.Samples(fskref.Run(t, nil, c.args...))
				g711.Channel(law, sig)
				ev := detect(NewDetector(DetConfig{}), sig)
				require.NotEmpty(t, ev, "%v", law)
				assert.Equal(t, c.want, lastOn(ev).Tone, "%v %+v", law, ev)
			}
		})
	}
}

// Our generators to spandsp's detector (modem_connect_tones_rx).
func TestSpandspDetectsOurTones(t *testing.T) {
	for _, c := range []struct {
		kind   Kind
		rxType string
		want   string // spandsp's report
	}{
		{CNG, "1", "tone 1 "},
		{CED, "2", "tone 2 "},
		{ANSPR, "2", "tone 3 "},
		{ANSam, "2", "tone 4 "},
		{ANSamPR, "2", "tone 5 "},
	} {
		sig := generate(c.kind, GenConfig{}, 5*8000)
		out := string(fskref.Run(t, fskref.PCM(sig), "tonerx", c.rxType))
		assert.Contains(t, out, c.want, "%v: spandsp said %q", c.kind, out)
	}
}

// speechLike synthesises voiced sounds: a gliding pitch with harmonics
// shaped by two formants, syllables of 100-300 ms with pauses.
func speechLike(rng *rand.Rand, n int) []int16 {
	out := make([]int16, n)
	var ph [40]dsp.Phase
	var gain [40]float64
	i := 0
	for i < n {
		syl := 800 + rng.IntN(1600)
		f0 := 90 + 160*rng.Float64()
		glide := (rng.Float64() - 0.5) * 60
		f1, f2 := 300+500*rng.Float64(), 900+1500*rng.Float64()
		amp := dsp.DBm0ToPeak(-10 - 20*rng.Float64())
		for h := 1; h < len(gain); h++ {
			fh := float64(h) * f0
			gain[h] = 0
			if fh < 3800 {
				gain[h] = 1/(1+math.Pow((fh-f1)/150, 2)) + 0.5/(1+math.Pow((fh-f2)/200, 2))
			}
		}
		for k := 0; k < syl && i < n; k, i = k+1, i+1 {
			step := dsp.PhaseStep(f0 + glide*float64(k)/float64(syl))
			var v float64
			for h := 1; h < len(ph); h++ {
				ph[h] += step * dsp.Phase(h)
				if gain[h] != 0 {
					v += gain[h] * dsp.Sin(ph[h])
				}
			}
			env := math.Sin(math.Pi * float64(k) / float64(syl))
			out[i] = dsp.Sat16(amp * 0.3 * env * v)
		}
		i += rng.IntN(1600) // pause
	}
	return out
}

func TestNoFalseAlarms(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	speech := speechLike(rng, 60*8000)
	assert.InDelta(t, -25, dsp.PowerToDBm0(dsp.MeanPower(speech)), 10, "speech level")
	inputs := map[string][]int16{"speech": speech}
	noise := make([]int16, 30*8000)
	dsp.NewAWGN(9, -20).Fill(noise)
	inputs["noise"] = noise
	// DTMF-like dual tones including 1209+... and a V.21 transmission.
	dual := make([]int16, 10*8000)
	a, b := dsp.NewNCO(1100), dsp.NewNCO(1336)
	for i := range dual {
		dual[i] = dsp.Sat16(6000*a.NextSin() + 6000*b.NextSin())
	}
	inputs["dual tone"] = dual
	tx := v21.NewTransmitter(v21.TxConfig{})
	require.NoError(t, tx.Preamble(3*time.Second))
	require.NoError(t, tx.End())
	fsk := make([]int16, 4*8000)
	tx.Process(fsk)
	inputs["v21 flags"] = fsk
	for name, sig := range inputs {
		ev := detect(NewDetector(DetConfig{}), sig)
		assert.Empty(t, ev, name)
	}
	// And the V.21 preamble is found when asked for.
	ev := detect(NewDetector(DetConfig{Preamble: true}), fsk)
	require.NotEmpty(t, ev)
	assert.Equal(t, Event{Tone: V21Preamble, On: true, At: ev[0].At, Level: ev[0].Level}, ev[0])
	assert.Less(t, ms(ev[0].At), 250.0, "four flags and the carrier detector")
}

func TestNoAllocs(t *testing.T) {
	sig := generate(ANSamPR, GenConfig{}, 8000)
	d := NewDetector(DetConfig{Preamble: true})
	g := NewGenerator(CNG, GenConfig{})
	var blk [160]int16
	i := 0
	allocs := testing.AllocsPerRun(100, func() {
		d.Process(sig[i%8000 : i%8000+160])
		i += 160
		g.Process(blk[:])
	})
	assert.Zero(t, allocs)
}

func FuzzDetector(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3})
	f.Add(make([]byte, 4000))
	cng := generate(CNG, GenConfig{}, 5000)
	f.Add(fskref.PCM(cng))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		d := NewDetector(DetConfig{Preamble: true})
		junk := make([]int16, len(data)/2)
		for i := range junk {
			junk[i] = int16(uint16(data[2*i]) | uint16(data[2*i+1])<<8)
		}
		detect(d, junk)
		// Recovers: a real CNG after the junk (and a gap) is detected.
		ev := detect(d, append(make([]int16, 800), generate(CNG, GenConfig{}, 6000)...))
		found := false
		for _, e := range ev {
			found = found || (e.On && e.Tone == CNG)
		}
		require.True(t, found, "%+v", ev)
	})
}

// spandsp's V.21 HDLC preamble (hdlc_tx flags through fsk_tx) is found,
// and raises no connect tone, through both laws and from −6 to −43 dBm0.
func TestDetectSpandspPreamble(t *testing.T) {
	for _, level := range []string{"-6", "-14", "-43"} {
		for _, law := range []g711.Law{g711.ULaw, g711.ALaw} {
			sig := fskref.Samples(fskref.Run(t, []byte("ff13800011\n"), "hdlctx", level, "38"))
			sig = append(make([]int16, 800), sig...)
			g711.Channel(law, sig)
			ev := detect(NewDetector(DetConfig{Preamble: true}), sig)
			require.NotEmpty(t, ev, "%s %v", level, law)
			assert.Equal(t, V21Preamble, ev[0].Tone, "%s %v", level, law)
			assert.Less(t, ms(ev[0].At-800), 200.0, "%s %v", level, law)
			for _, e := range ev {
				assert.Equal(t, V21Preamble, e.Tone)
			}
		}
	}
}

// faxkit's dBm0 (internal/dsp) is spandsp's: its tone_gen and
// awgn_init_dbm0 at a level measure that level with our meter.
func TestLevelConventionMatchesSpandsp(t *testing.T) {
	for _, level := range []float64{-10, -30} {
		tone := fskref.Samples(fskref.Run(t, nil, "tonegen", "1000", fskref.Ftoa(level), "1000", "0", "8000"))
		assert.InDelta(t, level, dsp.PowerToDBm0(dsp.MeanPower(tone)), 0.05, "tone_gen at %v dBm0", level)
		noise := fskref.Samples(fskref.Run(t, nil, "awgn", fskref.Ftoa(level), "80000"))
		assert.InDelta(t, level, dsp.PowerToDBm0(dsp.MeanPower(noise)), 0.1, "awgn at %v dBm0", level)
	}
}
