// Package modemtest holds the tests and benchmarks that faxkit's QAM fax
// modems (modem/v27ter, modem/v29, modem/v17) share: spandsp's receiver
// regression points, the impaired-channel points, the cross-test into
// spandsp's receiver, the long BER sweep against libspandsp in the same
// run (modem/internal/ber, modem/internal/qamref), and the CPU-per-block
// benchmarks beside spandsp's. A modem's test files describe the modem
// once (Modem) and call these.
package modemtest

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/faxkit/faxkit/modem/internal/ber"
	"github.com/faxkit/faxkit/modem/internal/qamref"
)

// Receiver is what the benchmarks need of a modem's receiver.
type Receiver interface {
	Process(samples []int16)
	Reset()
}

// Transmitter is what the benchmarks need of a modem's transmitter.
type Transmitter interface {
	Modulate(dst []int16) int
}

// Modem describes one modem to the shared tests.
type Modem struct {
	Name  string // libspandsp's name in qamref: "v29", "v27ter", "v17"
	Label string // for the sweep's lines: "V.29"
	Rates []int  // fastest first
	// RefSNR are spandsp's regression points (tests/regression_tests.sh,
	// signal at -42 dBm0); GoalSNR where faxkit's receiver must be
	// error-free (nil: RefSNR).
	RefSNR, GoalSNR map[int]float64
	ImpairedRates   []int   // rates of ImpairedPoints
	SweepFrom       float64 // the sweep starts this many dB above RefSNR
	// Tx returns faxkit's whole transmission of bits; Rx faxkit's
	// received bits for audio.
	Tx func(t testing.TB, rate int, bits []byte) []int16
	Rx func(t testing.TB, rate int, audio []int16) []byte
	// NewTx returns a transmitter of ones; NewRx a receiver that drops
	// its bits (benchmarks).
	NewTx func(rate int) (Transmitter, error)
	NewRx func(rate int) (Receiver, error)
	// NewRxLine returns a receiver for the noisy-line tests (NoisyLine,
	// NoiseOnly, NoiseSweep); NoisyRates are the rates whose data must
	// arrive without error on issue 17's noisy line (16 dB SNR).
	NewRxLine  LineRx
	NoisyRates []int
}

func (m Modem) goal(rate int) float64 {
	if m.GoalSNR != nil {
		return m.GoalSNR[rate]
	}
	return m.RefSNR[rate]
}

// Pair is one transmitter-receiver pairing of the sweep.
type Pair struct {
	Name string
	Link func(t testing.TB, rate int) ber.Link
}

// Pairs returns faxkit→faxkit, spandsp→faxkit, faxkit→spandsp and
// spandsp→spandsp, in that order.
func (m Modem) Pairs() []Pair {
	ftx := func(t testing.TB, r int) func([]byte) []int16 {
		return func(b []byte) []int16 { return m.Tx(t, r, b) }
	}
	frx := func(t testing.TB, r int) func([]int16) []byte {
		return func(a []int16) []byte { return m.Rx(t, r, a) }
	}
	stx := func(t testing.TB, r int) func([]byte) []int16 {
		return func(b []byte) []int16 { return qamref.Tx(t, m.Name, r, -10, b) }
	}
	srx := func(t testing.TB, r int) func([]int16) []byte {
		return func(a []int16) []byte { got, _ := qamref.Rx(t, m.Name, r, a); return got }
	}
	return []Pair{
		{"faxkit-faxkit", func(t testing.TB, r int) ber.Link { return ber.Link{Tx: ftx(t, r), Rx: frx(t, r)} }},
		{"spandsp-faxkit", func(t testing.TB, r int) ber.Link { return ber.Link{Tx: stx(t, r), Rx: frx(t, r)} }},
		{"faxkit-spandsp", func(t testing.TB, r int) ber.Link { return ber.Link{Tx: ftx(t, r), Rx: srx(t, r)} }},
		{"spandsp-spandsp", func(t testing.TB, r int) ber.Link { return ber.Link{Tx: stx(t, r), Rx: srx(t, r)} }},
	}
}

// RegressionPoints is spandsp's own receiver regression test
// (tests/regression_tests.sh) applied to faxkit's receiver: 50,000 bits
// at -42 dBm0 through µ-law, with the noise at the goal SNR, from
// faxkit's and from spandsp's transmitter. It fails if faxkit's receiver
// gets worse. The noise is seeded, so the test is deterministic.
func (m Modem) RegressionPoints(t *testing.T) {
	for _, rate := range m.Rates {
		for _, p := range m.Pairs()[:2] {
			t.Run(fmt.Sprintf("%d/%s", rate, p.Name), func(t *testing.T) {
				l := p.Link(t, rate)
				ch := ber.Channel{Signal: -42, SNR: m.goal(rate), Codec: ber.ULaw}
				if e := l.Trial(ch, 50000, 7); e != 0 {
					t.Errorf("%d bit errors in 50000 at %.0f dB SNR, -42 dBm0", e, ch.SNR)
				}
			})
		}
	}
}

// ImpairedPoints holds faxkit's receiver (from spandsp's transmitter) to
// error-free reception 2 dB above its goal SNR with a ±7 Hz carrier
// offset, a ±100 ppm clock offset, the line filter, at the ends of the
// level range and through A-law.
func (m Modem) ImpairedPoints(t *testing.T) {
	cases := []struct {
		name string
		ch   ber.Channel
	}{
		{"+7Hz", ber.Channel{Signal: -42, CarrierOffset: 7}},
		{"-7Hz", ber.Channel{Signal: -42, CarrierOffset: -7}},
		{"+100ppm", ber.Channel{Signal: -42, TimingPPM: 100}},
		{"-100ppm", ber.Channel{Signal: -42, TimingPPM: -100}},
		{"line", ber.Channel{Signal: -42, LineFilter: true}},
		{"-6dBm0", ber.Channel{Signal: -6}},
		{"-43dBm0", ber.Channel{Signal: -43}},
		{"alaw", ber.Channel{Signal: -42, Codec: ber.ALaw}},
	}
	for _, rate := range m.ImpairedRates {
		for _, c := range cases {
			t.Run(fmt.Sprintf("%d/%s", rate, c.name), func(t *testing.T) {
				ch := c.ch
				ch.SNR = m.goal(rate) + 2
				if ch.Codec == ber.Linear {
					ch.Codec = ber.ULaw
				}
				l := m.Pairs()[1].Link(t, rate)
				if e := l.Trial(ch, 20000, 11); e != 0 {
					t.Errorf("%d bit errors in 20000 at %.0f dB SNR", e, ch.SNR)
				}
			})
		}
	}
}

// CrossSpandspRx checks faxkit's transmitter against spandsp's receiver
// 2 dB above spandsp's regression SNR: the bits must arrive without
// error. spandsp's own transmitter through the same channel is the
// anchor, logged but not asserted.
func (m Modem) CrossSpandspRx(t *testing.T) {
	for _, rate := range m.Rates {
		t.Run(strconv.Itoa(rate), func(t *testing.T) {
			ch := ber.Channel{Signal: -42, SNR: m.RefSNR[rate] + 2, Codec: ber.ULaw}
			pairs := m.Pairs()
			anchor := pairs[3].Link(t, rate).Trial(ch, 50000, 7)
			e := pairs[2].Link(t, rate).Trial(ch, 50000, 7)
			t.Logf("spandsp receiver at %.0f dB SNR: %d errors from faxkit, %d from spandsp", ch.SNR, e, anchor)
			if e != 0 {
				t.Errorf("spandsp received faxkit's transmission with %d bit errors in 50000", e)
			}
		})
	}
}

// Sweep prints the full comparison table: for every rate, channel and
// pairing whose name contains match, the lowest error-free SNR of
// spandsp's stepped test, with the noise fixed so that spandsp's bar
// falls at -38 dBm0 (well above the carrier-detect thresholds).
func (m Modem) Sweep(t *testing.T, match string) {
	impair := []struct {
		name string
		ch   ber.Channel
	}{
		{"awgn+ulaw", ber.Channel{Codec: ber.ULaw}},
		{"+7Hz", ber.Channel{Codec: ber.ULaw, CarrierOffset: 7}},
		{"-7Hz", ber.Channel{Codec: ber.ULaw, CarrierOffset: -7}},
		{"+100ppm", ber.Channel{Codec: ber.ULaw, TimingPPM: 100}},
		{"-100ppm", ber.Channel{Codec: ber.ULaw, TimingPPM: -100}},
		{"line", ber.Channel{Codec: ber.ULaw, LineFilter: true}},
	}
	for _, rate := range m.Rates {
		for _, im := range impair {
			for _, p := range m.Pairs() {
				name := fmt.Sprintf("%d %s %s", rate, im.name, p.Name)
				if !strings.Contains(name, match) {
					continue
				}
				l := p.Link(t, rate)
				noise := -38 - m.RefSNR[rate]
				steps := l.Sweep(im.ch, noise, m.RefSNR[rate]+m.SweepFrom, 3, 50000)
				best, ok := ber.Lowest(steps)
				res := "none"
				if ok {
					res = fmt.Sprintf("%2.0f dB SNR (%.0f dBm0)", best.SNR, best.Signal)
				}
				t.Logf("%s %d %-10s %-16s lowest error-free: %s", m.Label, rate, im.name, p.Name, res)
			}
		}
	}
}

const blockNs = 20e6 // one 160-sample block is 20 ms of audio

// CPUNs returns the process's CPU time (user+system) in ns: on a shared
// machine wall time says more about the neighbours than about the code.
func CPUNs() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRx measures the receiver's CPU per 20 ms block over a whole
// transmission (training and data, -13 dBm0, 35 dB SNR, µ-law: the noise
// stays under both receivers' carrier thresholds), and spandsp's
// receiver over the same audio in the same run (spandsp-ns/block).
func (m Modem) BenchmarkRx(b *testing.B) {
	for _, rate := range m.Rates {
		b.Run(fmt.Sprint(rate), func(b *testing.B) {
			bits := ber.Bits(20000, 5)
			ch := ber.Channel{Signal: -13, SNR: 35, Codec: ber.ULaw, Seed: 5}
			audio := ch.Apply(m.Tx(b, rate, bits))
			audio = audio[:len(audio)/160*160]
			sp := qamref.BenchRx(b, m.Name, rate, audio, 20)
			rx, err := m.NewRx(rate)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(320)
			b.ReportAllocs()
			b.ResetTimer()
			c0 := CPUNs()
			pos := 0
			for range b.N {
				if pos == len(audio) {
					pos = 0
					rx.Reset()
				}
				rx.Process(audio[pos : pos+160])
				pos += 160
			}
			b.StopTimer()
			ns := (CPUNs() - c0) / float64(b.N)
			b.ReportMetric(ns, "cpu-ns/block")
			b.ReportMetric(blockNs/ns, "x-realtime")
			b.ReportMetric(sp, "spandsp-ns/block")
			b.ReportMetric(blockNs/sp, "spandsp-x-realtime")
		})
	}
}

// BenchmarkTx measures the transmitter's CPU per 20 ms block, beside
// spandsp's transmitter in the same run.
func (m Modem) BenchmarkTx(b *testing.B) {
	for _, rate := range m.Rates {
		b.Run(fmt.Sprint(rate), func(b *testing.B) {
			sp := qamref.BenchTx(b, m.Name, rate, 20000)
			tx, err := m.NewTx(rate)
			if err != nil {
				b.Fatal(err)
			}
			buf := make([]int16, 160)
			b.SetBytes(320)
			b.ReportAllocs()
			b.ResetTimer()
			c0 := CPUNs()
			for range b.N {
				tx.Modulate(buf)
			}
			b.StopTimer()
			ns := (CPUNs() - c0) / float64(b.N)
			b.ReportMetric(ns, "cpu-ns/block")
			b.ReportMetric(blockNs/ns, "x-realtime")
			b.ReportMetric(sp, "spandsp-ns/block")
		})
	}
}

// PCMBytes returns samples as 16-bit little-endian bytes.
func PCMBytes(a []int16) []byte {
	b := make([]byte, 2*len(a))
	for i, v := range a {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(v))
	}
	return b
}

// Samples returns 16-bit little-endian bytes as samples (an odd last
// byte is dropped).
func Samples(b []byte) []int16 {
	s := make([]int16, len(b)/2)
	for i := range s {
		s[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
	}
	return s
}

// Transmit runs a transmitter to its end in 20 ms blocks and returns
// what it sent followed by 1600 samples of silence.
func Transmit(tx interface {
	Transmitter
	Done() bool
}) []int16 {
	var out []int16
	buf := make([]int16, 160)
	for !tx.Done() {
		n := tx.Modulate(buf)
		out = append(out, buf[:n]...)
	}
	return append(out, make([]int16, 1600)...)
}

// Feed passes audio to rx in 20 ms blocks.
func Feed(rx interface{ Process([]int16) }, audio []int16) {
	for i := 0; i < len(audio); i += 160 {
		rx.Process(audio[i:min(i+160, len(audio))])
	}
}

// Bits returns a GetBit function over bits that returns end after them.
func Bits(bits []byte, end int) func() int {
	i := 0
	return func() int {
		if i >= len(bits) {
			return end
		}
		i++
		return int(bits[i-1])
	}
}
