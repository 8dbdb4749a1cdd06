package fax

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit/modem/g711"
	"github.com/faxkit/faxkit/t30"
)

// skew resamples a stream as heard by a receiver whose sample clock runs
// ppm faster than the sender's (32-tap Blackman-windowed sinc
// interpolation, transparent in the voice band; 128 samples of silence
// absorb the drift of a call).
type skew struct {
	ratio float64
	buf   []float64
	pos   float64
}

const phases = 1024

// sincTable holds the interpolator's 32 taps for each of phases
// fractional positions.
var sincTable = func() (t [phases][32]float64) {
	for p := range t {
		f := float64(p) / phases
		for j := -15; j <= 16; j++ {
			d := float64(j) - f
			w := 0.42 + 0.5*math.Cos(math.Pi*d/16) + 0.08*math.Cos(2*math.Pi*d/16)
			sinc := 1.0
			if d != 0 {
				sinc = math.Sin(math.Pi*d) / (math.Pi * d)
			}
			t[p][j+15] = sinc * w
		}
	}
	return
}()

func newSkew(ppm float64) *skew {
	return &skew{ratio: 1 - ppm*1e-6, buf: make([]float64, 128)}
}

func (s *skew) carry(x []int16) {
	for _, v := range x {
		s.buf = append(s.buf, float64(v))
	}
	for k := range x {
		i := int(s.pos)
		f := s.pos - float64(i)
		v := 0.0
		taps := &sincTable[int(f*phases)]
		for j := -15; j <= 16; j++ {
			if i+j >= 0 && i+j < len(s.buf) {
				v += s.buf[i+j] * taps[j+15]
			}
		}
		x[k] = int16(max(-32768, min(32767, math.Round(v))))
		s.pos += s.ratio
	}
	if n := int(s.pos) - 32; n > 4096 {
		s.buf = append(s.buf[:0], s.buf[n:]...)
		s.pos -= float64(n)
	}
}

// TestClockSkew holds calls whose two ends' sample clocks differ by ±50 ppm
// (both directions skewed), through µ-law.
func TestClockSkew(t *testing.T) {
	for _, c := range []struct {
		name   string
		ppm    float64
		ecm    bool
		modems t30.ModemSet
	}{
		{"V29-ECM+50ppm", 50, true, t30.ModemsV29 | t30.ModemsV27ter},
		{"V29-nonECM-50ppm", -50, false, t30.ModemsV29 | t30.ModemsV27ter},
		{"V27ter-ECM-50ppm", -50, true, t30.ModemsV27ter},
	} {
		t.Run(c.name, func(t *testing.T) {
			doc := testDoc(1, 800)
			var got []t30.ReceivedPage
			txs, err := t30.NewSession(t30.Config{OnRecord: traceFn(t, "A"), Calling: true, Transmit: true, Document: doc, Capabilities: audioCaps(c.ecm, c.modems)})
			require.NoError(t, err)
			rxs, err := t30.NewSession(t30.Config{OnRecord: traceFn(t, "B"), Capabilities: audioCaps(c.ecm, t30.ModemsV29|t30.ModemsV27ter),
				OnPage: func(p t30.ReceivedPage) error { got = append(got, p); return nil }})
			require.NoError(t, err)
			start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			a, b := NewTerminal(txs, NewCore(nil), start), NewTerminal(rxs, NewCore(nil), start)
			ab, ba := newSkew(c.ppm), newSkew(-c.ppm)
			var aIn, aOut, bIn, bOut [BlockSize]int16
			for i := 0; i < 15000 && !(a.Done() && b.Done()); i++ {
				a.Process(aIn[:], aOut[:])
				b.Process(bIn[:], bOut[:])
				aIn, bIn = bOut, aOut
				g711.Channel(g711.ULaw, aIn[:])
				g711.Channel(g711.ULaw, bIn[:])
				ba.carry(aIn[:])
				ab.carry(bIn[:])
			}
			t.Logf("tx %v rx %v; line %v; rx modem %+v", txs.Result(), rxs.Result(), a.Now().Sub(start), b.Core().Stats())
			require.Equal(t, t30.ResultOK, txs.Result())
			require.Equal(t, t30.ResultOK, rxs.Result())
			require.Zero(t, txs.Stats().PPRs+txs.Stats().FTTs)
			checkPages(t, callOutcome{doc: doc, got: got})
			// The receiver measured the sender's symbol clock: ours runs
			// ppm fast against it, so it comes ppm slow.
			st := b.Core().Stats()
			require.True(t, st.TimingKnown)
			require.InDelta(t, -c.ppm, st.TimingOffset, 15)
		})
	}
}
