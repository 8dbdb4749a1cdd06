package v29

import (
	"flag"
	"testing"

	"github.com/faxkit/faxkit/modem/internal/modemtest"
)

var (
	sweep      = flag.Bool("sweep", false, "run the long BER sweeps (minutes) and print the table")
	sweepMatch = flag.String("sweep.match", "", "only sweep cases whose name contains this")
)

// modem describes V.29 to the shared tests: spandsp's regression points
// (tests/regression_tests.sh: the signal at -42 dBm0, the noise at -62,
// -59, -54 dBm0), the impaired points at 9600, 4800 bit/s, the sweep from
// the bar + 6 dB.
var modem = modemtest.Modem{
	Name: "v29", Label: "V.29",
	Rates:         []int{9600, 7200, 4800},
	RefSNR:        map[int]float64{9600: 20, 7200: 17, 4800: 12},
	ImpairedRates: []int{9600, 4800},
	SweepFrom:     6,
	Tx:            transmit,
	Rx: func(t testing.TB, rate int, audio []int16) []byte {
		got, _ := receive(t, rate, audio)
		return got
	},
	NewTx: func(rate int) (modemtest.Transmitter, error) {
		return NewTx(TxConfig{Rate: rate, GetBit: func() int { return 1 }})
	},
	NewRx: func(rate int) (modemtest.Receiver, error) {
		return NewRx(RxConfig{Rate: rate, PutBit: func(int) {}})
	},
	NewRxLine: func(rate int, on float64, put func(int), carrier func(bool)) (interface{ Process([]int16) }, error) {
		return NewRx(RxConfig{Rate: rate, CarrierOn: on, PutBit: put, Status: func(s Status) {
			switch s {
			case CarrierUp:
				carrier(true)
			case CarrierDown:
				carrier(false)
			}
		}})
	},
	NoisyRates: []int{7200, 4800},
}

// TestRegressionPoints: spandsp's receiver regression test on faxkit's
// receiver at spandsp's bar, from faxkit's and spandsp's transmitters
// (modemtest.Modem.RegressionPoints).
func TestRegressionPoints(t *testing.T) { modem.RegressionPoints(t) }

// TestImpairedPoints: ±7 Hz, ±100 ppm, the line filter, -6 and -43 dBm0
// and A-law, 2 dB above the bar (modemtest.Modem.ImpairedPoints).
func TestImpairedPoints(t *testing.T) { modem.ImpairedPoints(t) }

// TestCrossSpandspRx: spandsp's receiver takes faxkit's transmitter
// without error 2 dB above its bar (modemtest.Modem.CrossSpandspRx).
func TestCrossSpandspRx(t *testing.T) { modem.CrossSpandspRx(t) }

// TestSweep prints the full comparison table (go test -run Sweep -sweep).
func TestSweep(t *testing.T) {
	if !*sweep {
		t.Skip("long sweep: run with -sweep")
	}
	modem.Sweep(t, *sweepMatch)
}

// TestNoisyLine: the carrier rises and drops with each transmission on
// issue 17's noisy line (-24 dBm0 signal, -40 dBm0 noise) and the data
// arrive at 7200 and 4800 (modemtest.Modem.NoisyLine).
func TestNoisyLine(t *testing.T) { modem.NoisyLine(t) }

// TestNoiseOnly: noise alone at -40 dBm0 raises no carrier.
func TestNoiseOnly(t *testing.T) { modem.NoiseOnly(t) }

// TestNoiseSweep prints the noisy line from -50 to -35 dBm0 of noise (go
// test -run NoiseSweep -sweep).
func TestNoiseSweep(t *testing.T) {
	if !*sweep {
		t.Skip("long sweep: run with -sweep")
	}
	modem.NoiseSweep(t, *sweepMatch)
}

// TestTimingOffset: TimingOffset reports a ±100 ppm clock offset within
// 10 ppm (modemtest.Modem.TimingOffset).
func TestTimingOffset(t *testing.T) { modem.TimingOffset(t) }
