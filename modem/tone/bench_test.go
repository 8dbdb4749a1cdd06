package tone

import (
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/faxkit/faxkit/modem/internal/fskref"
)

// cpuNow returns the process's CPU time: the machine is shared, so wall
// time per op overstates the cost.
func cpuNow() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportRT(b *testing.B, start time.Duration) {
	ns := float64(cpuNow()-start) / float64(b.N)
	b.ReportMetric(ns, "cpu-ns/block")
	b.ReportMetric(20e6/ns, "x-realtime")
}

func benchDetector(b *testing.B, c DetConfig) {
	sig := generate(ANSamPR, GenConfig{}, 8000)
	d := NewDetector(c)
	b.SetBytes(320)
	b.ReportAllocs()
	i := 0
	start := cpuNow()
	for b.Loop() {
		d.Process(sig[i : i+160])
		i = (i + 160) % 8000
	}
	reportRT(b, start)
}

// BenchmarkDetector covers CNG and the ANS family together (spandsp needs
// one detector for each: compare with the sum of its two).
func BenchmarkDetector(b *testing.B) { benchDetector(b, DetConfig{}) }

// BenchmarkDetectorPreamble adds the V.21 preamble detector.
func BenchmarkDetectorPreamble(b *testing.B) { benchDetector(b, DetConfig{Preamble: true}) }

func BenchmarkGenerator(b *testing.B) {
	g := NewGenerator(ANSamPR, GenConfig{})
	var blk [160]int16
	b.SetBytes(320)
	b.ReportAllocs()
	start := cpuNow()
	for b.Loop() {
		if g.Process(blk[:]) < 160 {
			g.Reset()
		}
	}
	reportRT(b, start)
}

// BenchmarkSpandsp times modem_connect_tones_rx (a CNG and an ANS
// detector) and modem_connect_tones_tx (ANSam/PR) in the same run.
func BenchmarkSpandsp(b *testing.B) {
	out := string(fskref.Run(b, nil, "tonebench", strconv.Itoa(max(b.N, 20000))))
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) == 2 {
			ns, _ := strconv.ParseFloat(f[1], 64)
			b.ReportMetric(ns, "spandsp-"+f[0]+"-ns/block")
		}
	}
}
