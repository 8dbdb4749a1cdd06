package modemtest

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/faxkit/faxkit/internal/dsp"
	"github.com/faxkit/faxkit/modem/g711"
	"github.com/faxkit/faxkit/modem/internal/ber"
	"github.com/faxkit/faxkit/modem/internal/qamref"
)

// The noisy line of issue 17: the far end's signal 10 dB below spandsp's
// fax level of -14 dBm0, with white noise at -40 dBm0 added to what the
// receiver hears (16 dB SNR over 0-4 kHz), through µ-law.
const (
	NoisySignal = -24.0
	NoisyNoise  = -40.0
)

// maxDownMs is how long after a burst's last sample the carrier must be
// seen to drop: T.30's turnarounds (75 ms ± 20 ms before a response)
// depend on it.
const maxDownMs = 40

// LineRx is a receiver for the carrier tests: it passes its bits to put
// and its carrier changes to carrier.
type LineRx func(rate int, carrierOn float64, put func(int), carrier func(up bool)) (interface{ Process([]int16) }, error)

// burst is one transmission placed on a line.
type burst struct {
	start, end int // first and last sample of signal
	bits       []byte
}

// noisyLine builds 300 ms of line, then two transmissions of bits from
// tx at signal dBm0 with 300 ms between them and after them, with white
// noise at noise dBm0 over everything, through µ-law.
func noisyLine(tx func([]byte) []int16, signal, noise float64, nbits int, seed uint64) ([]int16, []burst) {
	const gap = 2400
	line := make([]int16, gap)
	var bs []burst
	for i := range 2 {
		bits := ber.Bits(ber.Preamble+nbits, seed+uint64(i))
		a := ber.Channel{Signal: signal, SNR: ber.NoNoise}.Apply(tx(bits))
		last := len(a) - 1
		for last > 0 && a[last] == 0 {
			last--
		}
		first := 0
		for first < last && a[first] == 0 {
			first++
		}
		bs = append(bs, burst{start: len(line) + first, end: len(line) + last, bits: bits})
		line = append(line, a[:last+1]...)
		line = append(line, make([]int16, gap)...)
	}
	return addNoise(line, noise, seed), bs
}

// addNoise adds white noise at level dBm0 (none below -200) and passes
// the result through µ-law.
func addNoise(x []int16, level float64, seed uint64) []int16 {
	n := dsp.NewAWGN(seed, level)
	out := make([]int16, len(x))
	for i, v := range x {
		f := float64(v)
		if level > -200 {
			f += n.Next()
		}
		out[i] = g711.ULawToLinear(g711.LinearToULaw(int16(max(-32768, min(32767, math.Round(f))))))
	}
	return out
}

// lineResult is what a receiver made of a noisy line.
type lineResult struct {
	events  []string // "up@ms", "down@ms"
	ok      bool     // carrier up inside each burst, down after each, nothing else
	downMs  []float64
	errs    []int // bit errors per burst
	falseUp int   // carrier-ups outside the bursts
}

func runLine(t testing.TB, newRx LineRx, rate int, on float64, line []int16, bs []burst) lineResult {
	var res lineResult
	got := make([][]byte, len(bs))
	cur := -1
	pos := 0
	ups, downs := 0, 0
	rx, err := newRx(rate, on, func(b int) {
		if cur >= 0 && cur < len(got) {
			got[cur] = append(got[cur], byte(b))
		}
	}, func(up bool) {
		ms := float64(pos) / 8
		if up {
			res.events = append(res.events, fmt.Sprintf("up@%.0f", ms))
			cur = -1
			for i, b := range bs {
				if pos >= b.start && pos <= b.end {
					cur = i
				}
			}
			if cur < 0 {
				res.falseUp++
			}
			ups++
			return
		}
		res.events = append(res.events, fmt.Sprintf("down@%.0f", ms))
		if cur >= 0 {
			res.downMs = append(res.downMs, float64(pos-bs[cur].end)/8)
		}
		downs++
	})
	if err != nil {
		t.Fatal(err)
	}
	const blk = 8 // 1 ms: the events' resolution
	for ; pos < len(line); pos += blk {
		rx.Process(line[pos:min(pos+blk, len(line))])
	}
	res.ok = res.falseUp == 0 && ups == len(bs) && downs == len(bs) && len(res.downMs) == len(bs)
	for i, b := range bs {
		e, _ := ber.Compare(b.bits, got[i])
		res.errs = append(res.errs, e)
	}
	return res
}

// txs returns faxkit's and spandsp's transmitters at rate.
func (m Modem) txs(t testing.TB, rate int) []struct {
	name string
	tx   func([]byte) []int16
} {
	return []struct {
		name string
		tx   func([]byte) []int16
	}{
		{"faxkit", func(b []byte) []int16 { return m.Tx(t, rate, b) }},
		{"spandsp", func(b []byte) []int16 { return qamref.Tx(t, m.Name, rate, -10, b) }},
	}
}

// NoisyLine receives two transmissions, 300 ms apart, on the noisy line
// of issue 17 (NoisySignal, NoisyNoise, µ-law), from faxkit's and
// spandsp's transmitters, with the receiver's default carrier threshold
// and with modem/fax's (-43 dBm0): the carrier must rise once in each
// transmission, never in the noise between, and drop within maxDownMs of
// each transmission's end; at the rates in NoisyRates (those whose bar
// is under the 16 dB SNR this leaves) the data must arrive without error.
func (m Modem) NoisyLine(t *testing.T) {
	for _, rate := range m.Rates {
		for _, tx := range m.txs(t, rate) {
			for _, on := range []float64{0, -43} {
				t.Run(fmt.Sprintf("%d/%s/on=%v", rate, tx.name, on), func(t *testing.T) {
					line, bs := noisyLine(tx.tx, NoisySignal, NoisyNoise, 3000, 40)
					r := runLine(t, m.NewRxLine, rate, on, line, bs)
					if !r.ok {
						t.Errorf("carrier events %v (transmissions at %d-%d and %d-%d ms), want one up in each and a down within %d ms of its end",
							r.events, bs[0].start/8, bs[0].end/8, bs[1].start/8, bs[1].end/8, maxDownMs)
					}
					for _, d := range r.downMs {
						if d > maxDownMs {
							t.Errorf("carrier seen to drop %.0f ms after the end, want under %d", d, maxDownMs)
						}
					}
					if m.noisyOK(rate) {
						for i, e := range r.errs {
							if e != 0 {
								t.Errorf("transmission %d: %d bit errors in 3000", i, e)
							}
						}
					}
				})
			}
		}
	}
}

func (m Modem) noisyOK(rate int) bool {
	for _, r := range m.NoisyRates {
		if r == rate {
			return true
		}
	}
	return false
}

// NoiseOnly feeds 3 s of white noise at -40 dBm0 (µ-law) to the
// receiver at each rate, with its default carrier threshold and with
// modem/fax's (-43 dBm0): it must never report a carrier.
func (m Modem) NoiseOnly(t *testing.T) {
	for _, rate := range m.Rates {
		for _, on := range []float64{0, -43} {
			line := addNoise(make([]int16, 3*8000), NoisyNoise, uint64(rate))
			r := runLine(t, m.NewRxLine, rate, on, line, nil)
			if r.falseUp != 0 {
				t.Errorf("%d, carrier-on %v dBm0: carrier events %v on noise alone", rate, on, r.events)
			}
		}
	}
}

// NoiseSweep prints, for each rate and transmitter, what the receiver
// makes of the noisy line as the noise goes from -50 to -35 dBm0 with the
// signal at NoisySignal (carrier-on at modem/fax's -43 dBm0): whether the
// carrier events were right, the carrier-down delays, the bit errors of
// the two transmissions, and the carrier-ups of 3 s of the noise alone.
func (m Modem) NoiseSweep(t *testing.T, match string) {
	for _, rate := range m.Rates {
		for _, tx := range m.txs(t, rate) {
			for noise := -50.0; noise <= -35; noise++ {
				name := fmt.Sprintf("%d %s %.0f", rate, tx.name, noise)
				if !strings.Contains(name, match) {
					continue
				}
				line, bs := noisyLine(tx.tx, NoisySignal, noise, 3000, 40)
				r := runLine(t, m.NewRxLine, rate, -43, line, bs)
				alone := runLine(t, m.NewRxLine, rate, -43, addNoise(make([]int16, 3*8000), noise, 7), nil)
				t.Logf("%s %5d %-7s noise %3.0f dBm0 (SNR %2.0f): carrier ok %-5v down after %v ms, bit errors %v of 3000; noise alone: %d carrier-ups",
					m.Label, rate, tx.name, noise, NoisySignal-noise, r.ok, r.downMs, r.errs, alone.falseUp)
			}
		}
	}
}

// TimingOffset checks the receiver's TimingOffset against a ±100 ppm
// clock offset (ber.Channel.TimingPPM: the far end's clock fast by that
// much) and none, from faxkit's and spandsp's transmitters, at the
// ImpairedRates: 2.5 s of data at -20 dBm0, 30 dB SNR, µ-law; the report
// must be within 12 ppm (qam.Drift reads low at first).
func (m Modem) TimingOffset(t *testing.T) {
	for _, rate := range m.ImpairedRates {
		for _, tx := range m.txs(t, rate) {
			for _, ppm := range []float64{100, 0, -100} {
				t.Run(fmt.Sprintf("%d/%s/%+.0fppm", rate, tx.name, ppm), func(t *testing.T) {
					bits := ber.Bits(ber.Preamble+rate*5/2, 3)
					audio := ber.Channel{Signal: -20, SNR: 30, Codec: ber.ULaw, TimingPPM: ppm, Seed: 3}.Apply(tx.tx(bits))
					var got []byte
					rx, err := m.NewRxLine(rate, 0, func(b int) { got = append(got, byte(b)) }, func(bool) {})
					if err != nil {
						t.Fatal(err)
					}
					Feed(rx, audio)
					off := rx.(interface{ TimingOffset() float64 }).TimingOffset()
					t.Logf("TimingOffset() = %+.1f ppm", off)
					if math.Abs(off-ppm) > 12 {
						t.Errorf("TimingOffset() = %+.1f ppm, want %+.0f±12", off, ppm)
					}
					if e, _ := ber.Compare(bits, got); e != 0 {
						t.Errorf("%d bit errors", e)
					}
				})
			}
		}
	}
}
