package faxkit_test

import (
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/faxkit/faxkit"
	"github.com/faxkit/faxkit/t30"
)

// BenchmarkCallUnpaced is issue 7's end-to-end figure: one fine A4 page
// (the synthetic letter, ~31 KB in MMR) sent faxkit to faxkit over UDP on
// 127.0.0.1, unpaced, through Send and Receive, from the first CNG to both
// sides having returned (sockets included). Target: under 100 ms.
// SetBytes is the page's size in pixels (bits/8), so MB/s is page area;
// cpu-ns/op is the CPU time of both ends per call.
func BenchmarkCallUnpaced(b *testing.B) {
	for _, bc := range []struct {
		name string
		opts faxkit.Options
	}{
		{"ECM-MMR", faxkit.Options{T38: faxkit.T38Options{Pacing: faxkit.Unpaced}}},
		{"nonECM-MR", faxkit.Options{Fax: faxkit.FaxOptions{DisableECM: true}, T38: faxkit.T38Options{Pacing: faxkit.Unpaced}}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			page := pages(b, 1)
			doc := &t30.BitmapDocument{Pages: page, Resolution: t30.ResFine}
			b.SetBytes(int64(len(page[0].Pix)))
			b.ReportAllocs()
			var durs []time.Duration
			cpu0 := processCPU()
			for b.Loop() {
				start := time.Now()
				s, r := call(b, doc, &memSink{}, &bc.opts, &bc.opts, true)
				if s.err != nil || r.err != nil || r.rep.Pages != 1 {
					b.Fatalf("send %v, receive %v, %d pages", s.err, r.err, r.rep.Pages)
				}
				durs = append(durs, time.Since(start))
			}
			cpu := processCPU() - cpu0
			sort.Slice(durs, func(i, j int) bool { return durs[i] < durs[j] })
			b.ReportMetric(float64(durs[len(durs)/2].Microseconds())/1000, "median-ms")
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
		})
	}
}

// processCPU is the CPU time (user and system) the process has used: both
// ends of a call run in it.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
