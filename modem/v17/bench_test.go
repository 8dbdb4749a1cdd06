package v17

import (
	"fmt"
	"syscall"
	"testing"

	"github.com/faxkit/faxkit/modem/internal/ber"
	"github.com/faxkit/faxkit/modem/internal/qamref"
)

const blockNs = 20e6 // one 160-sample block is 20 ms of audio

// cpuNs returns the process's CPU time (user+system) in ns: on this shared
// machine wall time says more about the neighbours than about the code.
func cpuNs() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRx measures the receiver's CPU per 20 ms block over a whole
// transmission (training and data, -13 dBm0, 35 dB SNR, µ-law: the noise stays under both receivers' carrier thresholds), and spandsp's
// receiver over the same audio in the same run (spandsp-ns/block).
func BenchmarkRx(b *testing.B) {
	for _, rate := range []int{14400, 12000, 9600, 7200} {
		b.Run(fmt.Sprint(rate), func(b *testing.B) {
			bits := ber.Bits(20000, 5)
			ch := ber.Channel{Signal: -13, SNR: 35, Codec: ber.ULaw, Seed: 5}
			audio := ch.Apply(transmit(b, rate, bits))
			audio = audio[:len(audio)/160*160]
			sp := qamref.BenchRx(b, "v17", rate, audio, 20)
			rx, err := NewRx(RxConfig{Rate: rate, PutBit: func(int) {}})
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(320)
			b.ReportAllocs()
			b.ResetTimer()
			c0 := cpuNs()
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
			ns := (cpuNs() - c0) / float64(b.N)
			b.ReportMetric(ns, "cpu-ns/block")
			b.ReportMetric(blockNs/ns, "x-realtime")
			b.ReportMetric(sp, "spandsp-ns/block")
			b.ReportMetric(blockNs/sp, "spandsp-x-realtime")
		})
	}
}

// BenchmarkTx measures the transmitter's CPU per 20 ms block, beside
// spandsp's transmitter in the same run.
func BenchmarkTx(b *testing.B) {
	for _, rate := range []int{14400, 12000, 9600, 7200} {
		b.Run(fmt.Sprint(rate), func(b *testing.B) {
			sp := qamref.BenchTx(b, "v17", rate, 20000)
			tx, err := NewTx(TxConfig{Rate: rate, GetBit: func() int { return 1 }})
			if err != nil {
				b.Fatal(err)
			}
			buf := make([]int16, 160)
			b.SetBytes(320)
			b.ReportAllocs()
			b.ResetTimer()
			c0 := cpuNs()
			for range b.N {
				tx.Modulate(buf)
			}
			b.StopTimer()
			ns := (cpuNs() - c0) / float64(b.N)
			b.ReportMetric(ns, "cpu-ns/block")
			b.ReportMetric(blockNs/ns, "x-realtime")
			b.ReportMetric(sp, "spandsp-ns/block")
		})
	}
}
