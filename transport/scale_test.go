package transport

import (
	"context"
	"encoding/binary"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestListenerScale is an explicitly real-time load test, off by default:
// FAXKIT_TRANSPORT_SCALE=1000 runs 1000 calls through one Listener, each
// sending a 160-byte datagram every 20 ms (a paced T.38 call) for
// FAXKIT_TRANSPORT_SECONDS (default 5) and having it echoed back. It
// reports the round-trip time percentiles, the worst lateness of a
// client's 20 ms tick, losses, and CPU time per call-second (clients,
// listener and echo servers together, so an upper bound for one side).
func TestListenerScale(t *testing.T) {
	calls, _ := strconv.Atoi(os.Getenv("FAXKIT_TRANSPORT_SCALE"))
	if calls <= 0 {
		t.Skip("set FAXKIT_TRANSPORT_SCALE=<calls> to run the real-time load test")
	}
	secs := 5
	if s, err := strconv.Atoi(os.Getenv("FAXKIT_TRANSPORT_SECONDS")); err == nil && s > 0 {
		secs = s
	}
	checkGoroutines(t)
	l, err := Listen("udp4", "127.0.0.1:0", &ListenConfig{MaxCalls: calls, Backlog: calls})
	require.NoError(t, err)
	var srv sync.WaitGroup
	srv.Add(1)
	go echo(l, &srv)

	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(secs+30)*time.Second)
	defer cancel()
	const interval = 20 * time.Millisecond
	perCall := secs * int(time.Second/interval)

	var ru0 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	start := time.Now()
	var mu sync.Mutex
	var rtts, late []time.Duration
	sent, received := 0, 0
	var wg sync.WaitGroup
	for i := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := Dial(ctx, "udp4", "127.0.0.1:0", l.Addr().String(), nil)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			// Stagger the calls across one interval, as real calls are.
			time.Sleep(time.Duration(i) * interval / time.Duration(calls))
			var myRTT []time.Duration
			var myLate time.Duration
			got := 0
			var sendDone atomic.Bool
			done := make(chan struct{})
			go func() {
				defer close(done)
				buf := make([]byte, DefaultMaxDatagram)
				for got < perCall {
					rctx, rcancel := context.WithTimeout(ctx, time.Second)
					n, err := c.ReadPacket(rctx, buf)
					rcancel()
					if err != nil {
						if ctx.Err() != nil || sendDone.Load() {
							return
						}
						continue
					}
					if n >= 8 {
						sentAt := time.Unix(0, int64(binary.BigEndian.Uint64(buf)))
						myRTT = append(myRTT, time.Since(sentAt))
					}
					got++
				}
			}()
			msg := make([]byte, benchSize)
			next := time.Now()
			for range perCall {
				if d := time.Since(next); d > myLate {
					myLate = d
				}
				binary.BigEndian.PutUint64(msg, uint64(time.Now().UnixNano()))
				if err := c.WritePacket(ctx, msg); err != nil {
					t.Error(err)
					return
				}
				next = next.Add(interval)
				if d := time.Until(next); d > 0 {
					time.Sleep(d)
				}
			}
			sendDone.Store(true)
			<-done
			mu.Lock()
			rtts = append(rtts, myRTT...)
			late = append(late, myLate)
			sent += perCall
			received += got
			mu.Unlock()
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	var ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := time.Duration(syscall.TimevalToNsec(ru1.Utime) - syscall.TimevalToNsec(ru0.Utime) +
		syscall.TimevalToNsec(ru1.Stime) - syscall.TimevalToNsec(ru0.Stime))
	require.NoError(t, l.Close())
	srv.Wait()

	slices.Sort(rtts)
	slices.Sort(late)
	pct := func(s []time.Duration, p float64) time.Duration {
		if len(s) == 0 {
			return 0
		}
		return s[min(len(s)-1, int(float64(len(s))*p))]
	}
	callSeconds := float64(calls) * float64(secs)
	t.Logf("%d calls × %d s at 50 datagrams/s each way: sent %d, echoed back %d (%.3f%% lost)",
		calls, secs, sent, received, 100*float64(sent-received)/float64(max(sent, 1)))
	t.Logf("round trip: p50 %v, p99 %v, max %v", pct(rtts, 0.5), pct(rtts, 0.99), pct(rtts, 1))
	t.Logf("sender tick lateness (worst per call): p50 %v, p99 %v", pct(late, 0.5), pct(late, 0.99))
	t.Logf("CPU %v over %v wall (%.2f cores); %.2f ms CPU per call-second (both ends)",
		cpu.Round(time.Millisecond), wall.Round(time.Millisecond), cpu.Seconds()/wall.Seconds(),
		float64(cpu.Milliseconds())/callSeconds)
	if received < sent*99/100 {
		t.Errorf("more than 1%% of datagrams lost")
	}
}
