package v17

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/faxkit/faxkit/modem/internal/ber"
	"github.com/faxkit/faxkit/modem/internal/qamref"
)

var (
	sweep      = flag.Bool("sweep", false, "run the long BER sweeps (minutes) and print the table")
	sweepMatch = flag.String("sweep.match", "", "only sweep cases whose name contains this")
)

// refSNR are spandsp's regression points (tests/regression_tests.sh: the
// signal at -42 dBm0).
var refSNR = map[int]float64{14400: 24, 12000: 19, 9600: 17, 7200: 14}

// goalSNR is where faxkit's receiver must be error-free: spandsp's bar,
// and 22 dB at 14 400 bit/s.
var goalSNR = map[int]float64{14400: 22, 12000: 19, 9600: 17, 7200: 14}

func faxkitTx(t testing.TB, rate int) func([]byte) []int16 {
	return func(b []byte) []int16 { return transmit(t, rate, b) }
}

func faxkitRx(t testing.TB, rate int) func([]int16) []byte {
	return func(a []int16) []byte { got, _ := receive(t, rate, a, 0); return got }
}

func spandspTx(t testing.TB, rate int) func([]byte) []int16 {
	return func(b []byte) []int16 { return qamref.Tx(t, "v17", rate, -10, b) }
}

func spandspRx(t testing.TB, rate int) func([]int16) []byte {
	return func(a []int16) []byte { got, _ := qamref.Rx(t, "v17", rate, a); return got }
}

type pair struct {
	name string
	link func(t testing.TB, rate int) ber.Link
}

var pairs = []pair{
	{"faxkit-faxkit", func(t testing.TB, r int) ber.Link { return ber.Link{Tx: faxkitTx(t, r), Rx: faxkitRx(t, r)} }},
	{"spandsp-faxkit", func(t testing.TB, r int) ber.Link { return ber.Link{Tx: spandspTx(t, r), Rx: faxkitRx(t, r)} }},
	{"faxkit-spandsp", func(t testing.TB, r int) ber.Link { return ber.Link{Tx: faxkitTx(t, r), Rx: spandspRx(t, r)} }},
	{"spandsp-spandsp", func(t testing.TB, r int) ber.Link { return ber.Link{Tx: spandspTx(t, r), Rx: spandspRx(t, r)} }},
}

// TestRegressionPoints is spandsp's own receiver regression test
// (tests/regression_tests.sh) applied to faxkit's receiver: 50,000 bits at
// -42 dBm0 through µ-law, with the noise at goalSNR (spandsp's bar; 2 dB
// under it at 14 400 bit/s), from faxkit's and from spandsp's
// transmitter. It fails if faxkit's receiver gets worse. The noise is
// seeded, so the test is deterministic.
func TestRegressionPoints(t *testing.T) {
	for _, rate := range []int{14400, 12000, 9600, 7200} {
		for _, p := range pairs[:2] {
			t.Run(fmt.Sprintf("%d/%s", rate, p.name), func(t *testing.T) {
				l := p.link(t, rate)
				ch := ber.Channel{Signal: -42, SNR: goalSNR[rate], Codec: ber.ULaw}
				if e := l.Trial(ch, 50000, 7); e != 0 {
					t.Errorf("%d bit errors in 50000 at %.0f dB SNR, -42 dBm0", e, ch.SNR)
				}
			})
		}
	}
}

// TestImpairedPoints holds faxkit's receiver to error-free reception 2 dB
// above its goal SNR with a ±7 Hz carrier offset, a ±100 ppm clock
// offset, the line filter, and at the ends of the level range.
func TestImpairedPoints(t *testing.T) {
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
	for _, rate := range []int{14400, 7200} {
		for _, c := range cases {
			t.Run(fmt.Sprintf("%d/%s", rate, c.name), func(t *testing.T) {
				ch := c.ch
				ch.SNR = goalSNR[rate] + 2
				if ch.Codec == ber.Linear {
					ch.Codec = ber.ULaw
				}
				l := pairs[1].link(t, rate)
				if e := l.Trial(ch, 20000, 11); e != 0 {
					t.Errorf("%d bit errors in 20000 at %.0f dB SNR", e, ch.SNR)
				}
			})
		}
	}
}

// TestCrossSpandspRx checks faxkit's transmitter against spandsp's
// receiver at spandsp's regression SNR + 2 dB: the bits must arrive
// without error. spandsp's own transmitter through the same channel is
// the anchor, logged.
func TestCrossSpandspRx(t *testing.T) {
	for _, rate := range []int{14400, 12000, 9600, 7200} {
		t.Run(strconv.Itoa(rate), func(t *testing.T) {
			ch := ber.Channel{Signal: -42, SNR: refSNR[rate] + 2, Codec: ber.ULaw}
			anchor := pairs[3].link(t, rate).Trial(ch, 50000, 7)
			e := pairs[2].link(t, rate).Trial(ch, 50000, 7)
			t.Logf("spandsp receiver at %.0f dB SNR: %d errors from faxkit, %d from spandsp", ch.SNR, e, anchor)
			if e != 0 {
				t.Errorf("spandsp received faxkit's transmission with %d bit errors in 50000", e)
			}
		})
	}
}

// TestSweep prints the full comparison table (go test -run Sweep -sweep).
func TestSweep(t *testing.T) {
	if !*sweep {
		t.Skip("long sweep: run with -sweep")
	}
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
	for _, rate := range []int{14400, 12000, 9600, 7200} {
		for _, im := range impair {
			for _, p := range pairs {
				name := fmt.Sprintf("%d %s %s", rate, im.name, p.name)
				if !strings.Contains(name, *sweepMatch) {
					continue
				}
				l := p.link(t, rate)
				// Noise fixed so that spandsp's threshold falls at -38 dBm0 (well
				// above the carrier-detect thresholds).
				noise := -38 - refSNR[rate]
				steps := l.Sweep(im.ch, noise, refSNR[rate]+4, 3, 50000)
				best, ok := ber.Lowest(steps)
				res := "none"
				if ok {
					res = fmt.Sprintf("%2.0f dB SNR (%.0f dBm0)", best.SNR, best.Signal)
				}
				t.Logf("V.17 %d %-10s %-16s lowest error-free: %s", rate, im.name, p.name, res)
			}
		}
	}
}
