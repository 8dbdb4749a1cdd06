//go:build linux

package fax

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/faxkit/faxkit/internal/peertest"
	"github.com/faxkit/faxkit/modem/g711"
	"github.com/faxkit/faxkit/modem/internal/faxref"
	"github.com/faxkit/faxkit/t30"
)

// threadCPU is the calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID,
// nanosecond resolution); callers lock their goroutine to the thread.
func threadCPU() time.Duration {
	var ts syscall.Timespec
	syscall.RawSyscall(syscall.SYS_CLOCK_GETTIME, 3, uintptr(unsafe.Pointer(&ts)), 0)
	return time.Duration(ts.Nano())
}

func cpuNow() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkCall holds whole faxkit-to-faxkit audio calls (one fine page of
// 1100 rows, V.29 9600, through µ-law both ways) and reports the CPU time
// per call for both terminals together, and how many such calls (both
// ends) one core keeps in real time.
func BenchmarkCall(b *testing.B) {
	for _, ecm := range []bool{true, false} {
		name := "nonECM"
		if ecm {
			name = "ECM"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			var line time.Duration
			start := cpuNow()
			for range b.N {
				o := runCall(b, callSpec{ecm: ecm, modems: t30.ModemsV29 | t30.ModemsV27ter, g711: true, law: g711.ULaw, height: 1100})
				if o.tx != t30.ResultOK || o.rx != t30.ResultOK {
					b.Fatalf("call failed: %v %v", o.tx, o.rx)
				}
				line += o.lineTime
			}
			cpu := cpuNow() - start
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/call")
			b.ReportMetric(line.Seconds()/float64(b.N), "line-s/call")
			b.ReportMetric(line.Seconds()/cpu.Seconds(), "calls/core")
		})
	}
}

// BenchmarkSpandspCall: spandsp's fax_state_t sends ITU chart 1 to our
// terminal (V.29 9600, ECM, µ-law); the CPU of each end is reported side
// by side (spandsp's includes its harness's pipe I/O).
func BenchmarkSpandspCall(b *testing.B) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	exe := faxref.Build(b)
	tif := filepath.Join(peertest.SharedTestdata(b), "ccitt", "itu1.tif")
	var ours, theirs, line time.Duration
	for range b.N {
		s, err := t30.NewSession(t30.Config{Capabilities: audioCaps(true, t30.ModemsV29|t30.ModemsV27ter)})
		if err != nil {
			b.Fatal(err)
		}
		term := NewTerminal(s, NewCore(nil), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		p := faxref.Start(b, exe, faxref.Config{Send: true, File: tif, Calling: true, Verbose: os.Getenv("FAX_TRACE") != ""})
		l := spandspLine(g711.ULaw)
		var out, in, pin, tx [BlockSize]int16
		var mine time.Duration
		after := 0
		for i := 0; i < 12000 && after < 500; i++ {
			if term.Done() {
				after++
			}
			t0 := threadCPU()
			term.Process(in[:], out[:])
			mine += threadCPU() - t0
			pin = out
			l.carry(pin[:])
			if err := p.Step(pin[:], tx[:]); err != nil {
				b.Fatal(err)
			}
			in = tx
			l.carry(in[:])
		}
		r, err := p.Close()
		if err != nil || !r.OK || s.Result() != t30.ResultOK {
			b.Fatalf("call failed: %v %+v", err, r)
		}
		ours += mine
		theirs += r.CPU
		line += term.Now().Sub(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	}
	b.ReportMetric(float64(ours.Nanoseconds())/float64(b.N), "faxkit-cpu-ns/call")
	b.ReportMetric(float64(theirs.Nanoseconds())/float64(b.N), "spandsp-cpu-ns/call")
	b.ReportMetric(line.Seconds()/float64(b.N), "line-s/call")
}

// BenchmarkRTPCallRealTime holds one real-time faxkit-to-faxkit ECM call
// (one fine page of 300 rows, V.29 9600) over G.711 RTP on 127.0.0.1:
// two t30.Drivers, two Modems, two RTPLines with 60 ms jitter buffers. It
// takes the call's line time (about 18 s) of wall time per iteration and
// reports the process CPU per call (both ends, sockets included).
func BenchmarkRTPCallRealTime(b *testing.B) {
	for range b.N {
		ca, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		cb, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		doc := testDoc(1, 300)
		var got []t30.ReceivedPage
		txs, _ := t30.NewSession(t30.Config{Calling: true, Transmit: true, Document: doc, Capabilities: audioCaps(true, t30.ModemsV29|t30.ModemsV27ter)})
		rxs, _ := t30.NewSession(t30.Config{Capabilities: audioCaps(true, t30.ModemsV29|t30.ModemsV27ter),
			OnPage: func(p t30.ReceivedPage) error { got = append(got, p); return nil }})
		la := NewRTPLine(ca, cb.LocalAddr(), &RTPConfig{Law: g711.ALaw})
		lb := NewRTPLine(cb, ca.LocalAddr(), &RTPConfig{Law: g711.ALaw})
		ma, mb := NewModem(nil), NewModem(nil)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		go func() { _ = ma.Run(ctx, la) }()
		go func() { _ = mb.Run(ctx, lb) }()
		c0 := cpuNow()
		done := make(chan t30.Result)
		go func() { done <- t30.Run(ctx, rxs, mb, nil) }()
		txr := t30.Run(ctx, txs, ma, nil)
		rxr := <-done
		cpu := cpuNow() - c0
		cancel()
		_ = ma.Close()
		_ = mb.Close()
		_ = la.Close()
		_ = lb.Close()
		_ = ca.Close()
		_ = cb.Close()
		if txr != t30.ResultOK || rxr != t30.ResultOK || len(got) != 1 {
			b.Fatalf("call: %v %v, %d pages; rtp %+v / %+v", txr, rxr, len(got), la.Stats(), lb.Stats())
		}
		checkPages(b, callOutcome{doc: doc, got: got})
		b.ReportMetric(float64(cpu.Nanoseconds()), "cpu-ns/call")
		b.ReportMetric(ma.LineTime().Seconds(), "line-s/call")
		st := lb.Stats()
		b.ReportMetric(float64(st.Jitter.Missing), "missing-blocks")
		b.ReportMetric(float64(st.Jitter.Late), "late-packets")
	}
}
