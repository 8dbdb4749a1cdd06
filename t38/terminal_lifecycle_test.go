package t38

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit/t30"
	"github.com/faxkit/faxkit/transport"
)

// TestTerminalAbort: cancelling the sender's context mid-call ends it with
// DCN; the receiver hears the DCN and ends at once (not on a timer); both
// terminals close and leave no goroutine behind.
func TestTerminalAbort(t *testing.T) {
	base := runtime.NumGoroutine()
	clk := newScaledClock(20)
	a, b := transport.PipeEndpoints(nil)
	ta, err := NewTerminal(a, TerminalConfig{EC: ECRedundancy, Clock: clk})
	require.NoError(t, err)
	tb, err := NewTerminal(b, TerminalConfig{EC: ECRedundancy, Clock: clk})
	require.NoError(t, err)
	var trace []string
	var traceMu sync.Mutex
	phaseC := make(chan struct{})
	var once sync.Once
	rec := func(who string) func(t30.Record) {
		return func(r t30.Record) {
			if who == "tx" && r.Kind == t30.RecordPhase && r.Phase == t30.PhaseC {
				once.Do(func() { close(phaseC) })
			}
			traceMu.Lock()
			trace = append(trace, fmt.Sprintf("%8.3fs %s %v", r.Time.Sub(clk.start).Seconds(), who, r))
			traceMu.Unlock()
		}
	}
	tx, err := t30.NewSession(t30.Config{Calling: true, Transmit: true, Document: testDoc(3, 2000, t30.ResFine), OnRecord: rec("tx")})
	require.NoError(t, err)
	rx, err := t30.NewSession(t30.Config{OnRecord: rec("rx")})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var rres t30.Result
	var rxEnd time.Time
	wg.Add(1)
	go func() {
		defer wg.Done()
		rres = t30.Run(context.Background(), rx, tb, clk)
		rxEnd = clk.Now()
	}()
	go func() {
		// Abort early in the first page's phase C (paced at 20x: an ECM
		// block takes seconds of call time).
		<-phaseC
		time.Sleep(20 * time.Millisecond)
		cancel()
	}()
	tres := t30.Run(ctx, tx, ta, clk)
	txEnd := clk.Now()
	wg.Wait()
	require.Equal(t, t30.ResultLocalAbort, tres)
	require.Equal(t, t30.ResultRemoteDisconnect, rres)
	require.Less(t, rxEnd.Sub(txEnd), 3*time.Second, "the receiver ended on a timer, not on the DCN\n%s", strings.Join(trace, "\n"))
	require.NoError(t, ta.Close())
	require.NoError(t, tb.Close())
	_, open := <-ta.Events()
	require.False(t, open, "Events is closed by Close")
	a.Close()
	b.Close()
	checkGoroutines(t, base)
}

// TestTerminalEndpointClosed: when the endpoint goes away under a call,
// the session hears a hang-up instead of waiting for its timers.
func TestTerminalEndpointClosed(t *testing.T) {
	base := runtime.NumGoroutine()
	a, b := transport.PipeEndpoints(nil)
	ta, err := NewTerminal(a, TerminalConfig{Pacing: PacingNone})
	require.NoError(t, err)
	rx, err := t30.NewSession(t30.Config{})
	require.NoError(t, err)
	go func() {
		time.Sleep(50 * time.Millisecond)
		a.Close()
	}()
	start := time.Now()
	res := t30.Run(context.Background(), rx, ta, nil)
	require.Equal(t, t30.ResultCallDropped, res)
	require.Less(t, time.Since(start), 5*time.Second)
	require.NoError(t, ta.Close())
	require.NoError(t, ta.Close(), "Close is idempotent")
	require.ErrorIs(t, ta.SendTone(t30.ToneCED), ErrClosed)
	b.Close()
	checkGoroutines(t, base)
}

// TestTerminalPacedCall: a whole call with both terminals in real-time
// pacing, over UDP on loopback, on a clock 20 times faster than real.
func TestTerminalPacedCall(t *testing.T) {
	o := runCall(t, callSpec{pages: 2, height: 300, ecm: true, comp: t30.MMR, udp: true,
		term: TerminalConfig{EC: ECRedundancy, Pacing: PacingRealTime}})
	require.Equal(t, t30.ResultOK, o.tx)
	require.Equal(t, t30.ResultOK, o.rx)
	checkPages(t, o)
	for i, st := range o.term {
		require.Positive(t, st.Paced)
		t.Logf("terminal %d: %d packets paced, max %v late (at 20x), call %v of wall time", i, st.Paced, st.PacingMax, o.wall)
	}
	// A paced call cannot be much faster than the modems: 2 pages of
	// call time at 20x is well over half a second of wall time.
	require.Greater(t, o.wall, 500*time.Millisecond)
}

// TestTerminalLogNoPHI: the terminal's debug log names signals, never
// their contents: no ident, no frame or page octets.
func TestTerminalLogNoPHI(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	// No time in the lines: a timestamp's digits can hold the ones looked
	// for below.
	log := slog.New(slog.NewTextHandler(lockedWriter{&mu, &buf}, &slog.HandlerOptions{Level: slog.LevelDebug,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}}))
	o := runCall(t, callSpec{pages: 1, ecm: true, comp: t30.MMR,
		term: TerminalConfig{EC: ECRedundancy, Pacing: PacingNone, Logger: log}})
	require.Equal(t, t30.ResultOK, o.tx)
	mu.Lock()
	defer mu.Unlock()
	out := buf.String()
	require.Contains(t, out, "v21-preamble", "the log is written")
	for _, phi := range []string{"555", "0100", "0199", "3535", "35 35"} {
		require.NotContains(t, out, phi)
	}
}
