package v21

import (
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/faxkit/faxkit/modem/internal/fskref"
)

// Benchmarks per 20 ms block (160 samples). The real-time factor is how
// many channels one core could run: 20 ms divided by the time per block.
// BenchmarkSpandsp measures libspandsp's fsk_rx and fsk_tx on the same
// machine in the same run (CPU time inside the C harness).

// cpuNow returns the process's CPU time (user + system): the machine is
// shared, so wall time per op overstates the cost.
func cpuNow() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportRT reports CPU ns per block and the real-time factor from it.
func reportRT(b *testing.B, start time.Duration) {
	b.Helper()
	ns := float64(cpuNow()-start) / float64(b.N)
	b.ReportMetric(ns, "cpu-ns/block")
	b.ReportMetric(20e6/ns, "x-realtime")
}

func BenchmarkReceiver(b *testing.B) {
	sig := transmit(b, -13, 2*time.Second, testFrames)
	rx := NewReceiver()
	b.SetBytes(320)
	b.ReportAllocs()
	i := 0
	start := cpuNow()
	for b.Loop() {
		if i+160 > len(sig) {
			i = 0
		}
		rx.Process(sig[i : i+160])
		i += 160
	}
	reportRT(b, start)
}

func BenchmarkTransmitter(b *testing.B) {
	tx := NewTransmitter(TxConfig{})
	var blk [160]int16
	b.SetBytes(320)
	b.ReportAllocs()
	start := cpuNow()
	for b.Loop() {
		if !tx.Active() {
			tx.Reset()
			_ = tx.Preamble(time.Second)
			_ = tx.Frame(testFrames[1])
			_ = tx.End()
		}
		tx.Process(blk[:])
	}
	reportRT(b, start)
}

func BenchmarkSpandsp(b *testing.B) {
	blocks := max(b.N, 20000)
	out := string(fskref.Run(b, nil, "bench", strconv.Itoa(blocks)))
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && (f[0] == "rx" || f[0] == "tx") {
			ns, _ := strconv.ParseFloat(f[1], 64)
			b.ReportMetric(ns, "spandsp-"+f[0]+"-ns/block")
			b.ReportMetric(20e6/ns, "spandsp-"+f[0]+"-x-realtime")
		}
	}
}
