package sip_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/faxkit/faxkit/sip"
	"github.com/faxkit/faxkit/t30"
)

// BenchmarkT38Switch places a call, lets the answerer request T.38 (the
// auto policy's answering side) and sends the first UDPTL datagram as soon
// as the caller has the T.38 media: t38_switch_ms is from the caller's ACK
// to that datagram (median over b.N calls); ns/op is the whole call set-up,
// switch and BYE for both user agents.
func BenchmarkT38Switch(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	a := endpoint(b, sip.Config{Policy: sip.PolicyAuto, ByeWait: time.Millisecond})
	callee := endpoint(b, sip.Config{Policy: sip.PolicyAuto})
	go func() {
		for {
			c, err := callee.Accept(ctx)
			if err != nil {
				return
			}
			go func() {
				if _, err := awaitT38(ctx, c); err == nil {
					c.Wait(ctx)
				}
			}()
		}
	}()
	var sw []float64
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		c, err := a.Dial(ctx, callee.URI("5551234"), nil)
		if err != nil {
			b.Fatal(err)
		}
		m, err := awaitT38(ctx, c)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := m.Conn.WriteTo([]byte{0, 0, 0x02, 0, 0}, m.Remote.(*net.UDPAddr)); err != nil {
			b.Fatal(err)
		}
		d, _ := c.SwitchDelay()
		sw = append(sw, float64(d)/1e6)
		c.FaxDone(ctx)
	}
	b.StopTimer()
	slices.Sort(sw)
	b.ReportMetric(sw[len(sw)/2], "t38_switch_ms")
}

// BenchmarkConcurrentFaxCalls runs 200 SIP fax calls at once from one
// calling endpoint to one answering endpoint (one listener each) on
// loopback, every call switched to T.38 and carrying one unpaced page;
// it fails unless every page arrives pixel-exact. cpu-ms/call is the
// process CPU time (both ends) divided by the calls.
func BenchmarkConcurrentFaxCalls(b *testing.B) {
	const calls = 200
	pages, err := letters()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		a := endpoint(b, sip.Config{AnswerQueue: calls, Logger: benchLogger(b, "caller")})
		callee := endpoint(b, sip.Config{AnswerQueue: calls, Logger: benchLogger(b, "answerer")})
		results := make(chan error, 2*calls)
		go func() {
			for range calls {
				c, err := callee.Accept(ctx)
				if err != nil {
					results <- err
					return
				}
				go func() {
					sink := &memSink{}
					r := runFax(ctx, c, false, nil, sink)
					switch {
					case r.err != nil:
						results <- fmt.Errorf("receiver: %w (sip %s, %v)", r.err, r.res, r.rep)
					case len(sink.pages) != 1 || !pages[0].Equal(sink.pages[0]):
						results <- errors.New("page not intact")
					default:
						results <- nil
					}
				}()
			}
		}()
		cpu0 := cpuTime()
		for range calls {
			go func() {
				c, err := a.Dial(ctx, callee.URI("5551234"), nil)
				if err != nil {
					results <- err
					return
				}
				r := runFax(ctx, c, true, &t30.BitmapDocument{Pages: pages[:1], Resolution: t30.ResFine}, nil)
				if r.err != nil {
					r.err = fmt.Errorf("sender: %w (sip %s, %v)", r.err, r.res, r.rep)
				}
				results <- r.err
			}()
		}
		var failed []error
		for range 2 * calls {
			if err := <-results; err != nil {
				failed = append(failed, err)
			}
		}
		if len(failed) > 0 {
			b.Fatalf("%d of %d call ends failed, first: %v", len(failed), 2*calls, errors.Join(failed...))
		}
		b.ReportMetric(float64(cpuTime()-cpu0)/1e6/calls, "cpu-ms/call")
		cancel()
	}
}

// benchLogger writes the endpoint's debug stream to
// $FAXKIT_SIP_BENCH_LOG (for diagnosing a failed run); nil without it.
func benchLogger(b *testing.B, side string) *slog.Logger {
	name := os.Getenv("FAXKIT_SIP_BENCH_LOG")
	if name == "" {
		return nil
	}
	f, err := os.OpenFile(name, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	return slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: slog.LevelDebug})).With("side", side)
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkCallSetup places and ends audio calls from one endpoint to
// another on loopback (INVITE, 200, ACK, the media sockets and the
// pre-switch audio leg, BYE, 200): cpu-ns/call is the process CPU time
// (both user agents) per call. PolicyAwait with a long AwaitTimeout keeps
// T.38 out of it.
//
//	go test ./sip -run XXX -bench BenchmarkCallSetup -benchtime 200x
func BenchmarkCallSetup(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	a := endpoint(b, sip.Config{Policy: sip.PolicyAwait, AwaitTimeout: time.Hour})
	callee := endpoint(b, sip.Config{Policy: sip.PolicyAwait, AwaitTimeout: time.Hour, AnswerQueue: 64})
	go func() {
		for {
			c, err := callee.Accept(ctx)
			if err != nil {
				return
			}
			go c.Wait(ctx)
		}
	}()
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		c, err := a.Dial(ctx, callee.URI("5551234"), nil)
		if err != nil {
			b.Fatal(err)
		}
		c.Hangup()
		if c.Result() != sip.ResultLocalAbort {
			b.Fatalf("call ended %v", c.Result())
		}
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/call")
}
