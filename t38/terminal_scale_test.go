package t38

import (
	"context"
	"net"
	"os"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit/t30"
	"github.com/faxkit/faxkit/transport"
)

// TestConcurrentPacedCalls holds FAXKIT_T38_CALLS concurrent calls (each
// a one-page ECM fax between two faxkit terminals over UDP on 127.0.0.1)
// in real time, on the system clock, with real-time pacing on both ends,
// and reports the CPU time per call and the pacing error (how late paced
// packets left against their schedule). It is skipped unless
// FAXKIT_T38_CALLS is set: a run lasts about 20 s of wall time whatever
// the number of calls. The calls start spread over two seconds.
//
//	FAXKIT_T38_CALLS=1000 go test -run TestConcurrentPacedCalls -v ./t38/
func TestConcurrentPacedCalls(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("FAXKIT_T38_CALLS"))
	if n <= 0 {
		t.Skip("set FAXKIT_T38_CALLS=N to hold N concurrent real-time calls")
	}
	doc := testDoc(1, 300, t30.ResFine)
	var ru0 syscall.Rusage
	require.NoError(t, syscall.Getrusage(syscall.RUSAGE_SELF, &ru0))
	start := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var total TerminalStats
	var failed, pagesOK int
	for i := 0; i < n; i++ {
		// Calls arrive over two seconds, as they would at a gateway, not
		// all in the same millisecond.
		time.Sleep(2 * time.Second / time.Duration(n))
		pa, err := net.ListenPacket("udp4", "127.0.0.1:0")
		require.NoError(t, err)
		pb, err := net.ListenPacket("udp4", "127.0.0.1:0")
		require.NoError(t, err)
		wg.Add(1)
		go func() {
			defer wg.Done()
			ea := transport.NewConn(pa, pb.LocalAddr(), nil)
			eb := transport.NewConn(pb, pa.LocalAddr(), nil)
			defer ea.Close()
			defer eb.Close()
			cfg := TerminalConfig{EC: ECRedundancy, Pacing: PacingRealTime, ReadBuffer: -1}
			ta, _ := NewTerminal(ea, cfg)
			tb, _ := NewTerminal(eb, cfg)
			var pages int
			tx, _ := t30.NewSession(t30.Config{Calling: true, Transmit: true, Document: doc})
			rx, _ := t30.NewSession(t30.Config{OnPage: func(t30.ReceivedPage) error { pages++; return nil }})
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			var rres t30.Result
			var cw sync.WaitGroup
			cw.Add(1)
			go func() {
				defer cw.Done()
				rres = t30.Run(ctx, rx, tb, nil)
			}()
			tres := t30.Run(ctx, tx, ta, nil)
			cw.Wait()
			ta.Close()
			tb.Close()
			mu.Lock()
			defer mu.Unlock()
			if tres != t30.ResultOK || rres != t30.ResultOK || pages != 1 {
				failed++
			} else {
				pagesOK++
			}
			for _, st := range []TerminalStats{ta.Stats(), tb.Stats()} {
				total.Paced += st.Paced
				total.PacingTotal += st.PacingTotal
				total.PacingMax = max(total.PacingMax, st.PacingMax)
				total.PacingErrors += st.PacingErrors
				for j := range st.PacingLate {
					total.PacingLate[j] += st.PacingLate[j]
				}
			}
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	var ru1 syscall.Rusage
	require.NoError(t, syscall.Getrusage(syscall.RUSAGE_SELF, &ru1))
	cpu := time.Duration(ru1.Utime.Nano()-ru0.Utime.Nano()) + time.Duration(ru1.Stime.Nano()-ru0.Stime.Nano())
	// p99 from the histogram: the upper bound of the bucket holding it.
	p99 := "beyond 100ms"
	var seen uint64
	for j, c := range total.PacingLate {
		seen += c
		if seen*100 >= total.Paced*99 {
			if j < len(PacingBuckets) {
				p99 = "<= " + PacingBuckets[j].String()
			}
			break
		}
	}
	t.Logf("%d calls: %d ok, %d failed; wall %v; CPU %v (%v per call); %d packets paced, mean late %v, max %v, p99 %s, %d over 20 ms",
		n, pagesOK, failed, wall.Round(time.Millisecond), cpu.Round(time.Millisecond), (cpu / time.Duration(n)).Round(time.Microsecond),
		total.Paced, total.PacingTotal/time.Duration(max(total.Paced, 1)), total.PacingMax, p99, total.PacingErrors)
	require.Zero(t, failed)
}
