package v17

import (
	"flag"
	"testing"

	"github.com/faxkit/faxkit/modem/internal/modemtest"
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

var modem = modemtest.Modem{
	Name: "v17", Label: "V.17",
	Rates:  []int{14400, 12000, 9600, 7200},
	RefSNR: refSNR, GoalSNR: goalSNR,
	ImpairedRates: []int{14400, 7200},
	SweepFrom:     4,
	Tx:            transmit,
	Rx: func(t testing.TB, rate int, audio []int16) []byte {
		got, _ := receive(t, rate, audio, 0)
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
	NoisyRates: []int{9600, 7200},
}

// TestRegressionPoints: spandsp's receiver regression test on faxkit's
// receiver at 22 dB (14 400) and spandsp's bar (the other rates), from
// faxkit's and spandsp's transmitters (modemtest.Modem.RegressionPoints).
func TestRegressionPoints(t *testing.T) { modem.RegressionPoints(t) }

// TestImpairedPoints: ±7 Hz, ±100 ppm, the line filter, -6 and -43 dBm0
// and A-law, 2 dB above the goal (modemtest.Modem.ImpairedPoints).
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
// arrive at the rates of NoisyRates (modemtest.Modem.NoisyLine).
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
