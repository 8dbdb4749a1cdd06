package transport

import (
	"context"
	"encoding/binary"
	"math"
	"net"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit/internal/clock"
)

// runStage offers n numbered datagrams to an impairment and returns the
// numbers delivered, in delivery order, advancing clk (if any) by step
// after each datagram and draining the delay line at the end.
func runStage(m Impairment, n int, clk *clock.Fake, step time.Duration) ([]uint32, ImpairStats) {
	var got []uint32
	var c clock.Clock
	if clk != nil {
		c = clk
	}
	s := newStage(m, c, func(p []byte, _ net.Addr) { got = append(got, binary.BigEndian.Uint32(p)) })
	var b [4]byte
	for i := range n {
		binary.BigEndian.PutUint32(b[:], uint32(i))
		s.submit(b[:], nil)
		if clk != nil {
			clk.Advance(step)
		}
	}
	if clk != nil {
		clk.Advance(time.Hour)
	}
	return got, s.stats()
}

// within asserts |got-want| <= tol.
func within(t *testing.T, name string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Errorf("%s = %.4f, want %.4f ± %.4f", name, got, want, tol)
	}
}

func TestImpairmentRates(t *testing.T) {
	const n = 100000
	// Tolerances are about 5 standard deviations of a binomial count at
	// this n, so a correct implementation fails with negligible odds while
	// an off-by-a-few-percent one fails for every seed.
	for _, seed := range []uint64{1, 2, 3} {
		t.Run("random loss", func(t *testing.T) {
			_, st := runStage(Impairment{Loss: 0.2, Seed: seed}, n, nil, 0)
			within(t, "loss", float64(st.Lost)/n, 0.2, 0.007)
			assert.Equal(t, st.Offered, st.Lost+st.Delivered)
			assert.Zero(t, st.BurstLost)
		})
		t.Run("fixed bursts", func(t *testing.T) {
			const r, L = 0.02, 4
			got, st := runStage(Impairment{BurstRate: r, BurstLen: L, Seed: seed}, n, nil, 0)
			want := r * L / (r*L + 1 - r)
			within(t, "loss", float64(st.Lost)/n, want, 0.01)
			assert.Equal(t, st.Lost, st.BurstLost)
			// Every burst is exactly L long, except one cut off at the end,
			// unless two bursts are adjacent (counted as one run).
			runs := lossRuns(got, n)
			for _, r := range runs[:len(runs)-1] {
				if r%L != 0 {
					t.Fatalf("loss run of %d, not a multiple of %d", r, L)
				}
			}
			within(t, "burst count", float64(st.Bursts), float64(len(runs)), 1)
		})
		t.Run("gilbert-elliott", func(t *testing.T) {
			ge := &GilbertElliott{PGoodBad: 0.01, PBadGood: 0.25, LossBad: 1}
			got, st := runStage(Impairment{GilbertElliott: ge, Seed: seed}, n, nil, 0)
			pBad := ge.PGoodBad / (ge.PGoodBad + ge.PBadGood)
			within(t, "loss", float64(st.Lost)/n, pBad, 0.01)
			runs := lossRuns(got, n)
			mean := 0.0
			for _, r := range runs {
				mean += float64(r)
			}
			mean /= float64(len(runs))
			within(t, "mean burst", mean, 1/ge.PBadGood, 0.4)
		})
		t.Run("duplicate", func(t *testing.T) {
			got, st := runStage(Impairment{Duplicate: 0.1, Seed: seed}, n, nil, 0)
			within(t, "dup", float64(st.Duplicated)/n, 0.1, 0.005)
			assert.Equal(t, uint64(n)+st.Duplicated, st.Delivered)
			assert.Len(t, got, int(st.Delivered))
			dups := 0
			for i := 1; i < len(got); i++ {
				if got[i] == got[i-1] {
					dups++
				}
			}
			assert.Equal(t, int(st.Duplicated), dups, "a duplicate follows its original")
		})
		t.Run("reorder", func(t *testing.T) {
			got, st := runStage(Impairment{Reorder: 0.1, Seed: seed}, n, nil, 0)
			within(t, "reorder", float64(st.Reordered)/n, 0.1/1.1, 0.006) // the datagram after a held one is never held
			require.Len(t, got, n)
			swaps := 0
			for i := 1; i < len(got); i++ {
				if got[i] < got[i-1] {
					swaps++
					assert.Equal(t, got[i]+1, got[i-1], "held back by exactly one")
				}
			}
			// The last datagram may still be held: it is released by the
			// hold timer, which this clock-less run never fires.
			assert.InDelta(t, st.Reordered, swaps, 1)
		})
	}
}

// lossRuns returns the lengths of the runs of missing numbers in got (which
// holds numbers from [0,n) in increasing order).
func lossRuns(got []uint32, n int) []int {
	var runs []int
	next := uint32(0)
	for _, g := range append(got, uint32(n)) {
		if g > next {
			runs = append(runs, int(g-next))
		}
		next = g + 1
	}
	return runs
}

func TestImpairmentDeterministic(t *testing.T) {
	m := Impairment{Loss: 0.1, BurstRate: 0.01, Duplicate: 0.05, Reorder: 0.05, Jitter: 30 * time.Millisecond, Seed: 42}
	a, sa := runStage(m, 5000, clock.NewFake(time.Unix(0, 0)), 10*time.Millisecond)
	b, sb := runStage(m, 5000, clock.NewFake(time.Unix(0, 0)), 10*time.Millisecond)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Fatalf("same seed, different run (-first +second):\n%s", diff)
	}
	assert.Equal(t, sa, sb)
	m.Seed = 43
	c, _ := runStage(m, 5000, clock.NewFake(time.Unix(0, 0)), 10*time.Millisecond)
	assert.NotEqual(t, a, c, "a different seed should give a different run")
}

func TestImpairmentDelay(t *testing.T) {
	clk := clock.NewFake(time.Unix(0, 0))
	var got []uint32
	var at []time.Duration
	s := newStage(Impairment{Delay: 100 * time.Millisecond}, clk, func(p []byte, _ net.Addr) {
		got = append(got, binary.BigEndian.Uint32(p))
		at = append(at, clk.Now().Sub(time.Unix(0, 0)))
	})
	var b [4]byte
	for i := range 10 {
		binary.BigEndian.PutUint32(b[:], uint32(i))
		s.submit(b[:], nil)
		clk.Advance(10 * time.Millisecond)
	}
	// t = 100 ms: only datagram 0 (sent at 0) is due.
	assert.Equal(t, []uint32{0}, got)
	clk.Advance(95 * time.Millisecond)
	assert.Len(t, got, 10)
	for i := range got {
		assert.Equal(t, uint32(i), got[i], "fixed delay keeps order")
		assert.Equal(t, time.Duration(i)*10*time.Millisecond+100*time.Millisecond, at[i])
	}
	assert.Equal(t, uint64(10), s.stats().Delayed)
	assert.Zero(t, clk.Pending())
}

func TestImpairmentJitterReorders(t *testing.T) {
	got, st := runStage(Impairment{Delay: 20 * time.Millisecond, Jitter: 40 * time.Millisecond, Seed: 7},
		2000, clock.NewFake(time.Unix(0, 0)), 10*time.Millisecond)
	require.Len(t, got, 2000)
	assert.Equal(t, uint64(2000), st.Delivered)
	inversions := 0
	for i := 1; i < len(got); i++ {
		if got[i] < got[i-1] {
			inversions++
		}
	}
	assert.Greater(t, inversions, 100, "jitter wider than the packet spacing reorders")
}

func TestImpairmentReorderHold(t *testing.T) {
	clk := clock.NewFake(time.Unix(0, 0))
	var got []uint32
	s := newStage(Impairment{Reorder: 1, ReorderHold: 30 * time.Millisecond}, clk, func(p []byte, _ net.Addr) {
		got = append(got, binary.BigEndian.Uint32(p))
	})
	s.submit([]byte{0, 0, 0, 1}, nil) // held
	s.submit([]byte{0, 0, 0, 2}, nil) // delivered, then 1
	s.submit([]byte{0, 0, 0, 3}, nil) // held; nothing follows
	assert.Equal(t, []uint32{2, 1}, got)
	clk.Advance(29 * time.Millisecond)
	assert.Equal(t, []uint32{2, 1}, got)
	clk.Advance(time.Millisecond)
	assert.Equal(t, []uint32{2, 1, 3}, got, "released when the hold expires")
}

func TestPipeImpaired(t *testing.T) {
	checkGoroutines(t)
	clk := clock.NewFake(time.Unix(0, 0))
	a, b := Pipe(&PipeConfig{
		AToB:     Impairment{Loss: 0.3, Seed: 1},
		BToA:     Impairment{Delay: 50 * time.Millisecond},
		Clock:    clk,
		QueueLen: 1000,
	})
	defer a.Close()
	defer b.Close()
	for i := range 1000 {
		_, err := a.WriteTo([]byte{byte(i), byte(i >> 8)}, b.LocalAddr())
		require.NoError(t, err)
	}
	st := a.Stats()
	within(t, "a->b loss", float64(st.Lost)/1000, 0.3, 0.07)
	buf := make([]byte, 4)
	for range st.Delivered {
		n, from, err := b.ReadFrom(buf)
		require.NoError(t, err)
		require.Equal(t, 2, n)
		require.Equal(t, a.LocalAddr(), from)
	}

	// b->a is delayed on the manual clock: nothing arrives until it moves.
	_, err := b.WriteTo([]byte("late"), a.LocalAddr())
	require.NoError(t, err)
	require.NoError(t, a.SetReadDeadline(time.Now().Add(20*time.Millisecond)))
	_, _, err = a.ReadFrom(buf)
	require.ErrorIs(t, err, errTimeout)
	clk.Advance(50 * time.Millisecond)
	require.NoError(t, a.SetReadDeadline(time.Time{}))
	n, _, err := a.ReadFrom(buf)
	require.NoError(t, err)
	assert.Equal(t, "late", string(buf[:n]))

	require.NoError(t, a.Close())
	_, _, err = a.ReadFrom(buf)
	require.ErrorIs(t, err, ErrClosed)
	_, err = a.WriteTo(buf, nil)
	require.ErrorIs(t, err, ErrClosed)
}

// TestImpairUDP impairs a real loopback socket in both directions.
func TestImpairUDP(t *testing.T) {
	checkGoroutines(t)
	ctx := testCtx(t)
	raw, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	peer, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	clk := clock.NewFake(time.Unix(0, 0))
	imp := Impair(raw, &ImpairConfig{
		Send:    Impairment{Duplicate: 1},
		Receive: Impairment{Delay: time.Second},
		Clock:   clk,
	})
	a := NewConn(imp, peer.LocalAddr(), nil)
	b := NewConn(peer, raw.LocalAddr(), nil)
	defer a.Close()
	defer b.Close()

	require.NoError(t, a.WritePacket(ctx, []byte("twice")))
	buf := make([]byte, 16)
	for range 2 {
		n, err := b.ReadPacket(ctx, buf)
		require.NoError(t, err)
		assert.Equal(t, "twice", string(buf[:n]))
	}

	require.NoError(t, b.WritePacket(ctx, []byte("slow")))
	rctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	_, err = a.ReadPacket(rctx, buf)
	cancel()
	require.ErrorIs(t, err, context.DeadlineExceeded, "held in the delay line")
	require.Eventually(t, func() bool {
		_, r, _ := imp.Stats()
		return r.Offered == 1
	}, 5*time.Second, time.Millisecond)
	clk.Advance(time.Second)
	n, err := a.ReadPacket(ctx, buf)
	require.NoError(t, err)
	assert.Equal(t, "slow", string(buf[:n]))
	s, r, werr := imp.Stats()
	assert.Equal(t, ImpairStats{Offered: 1, Delivered: 2, Duplicated: 1}, s)
	assert.Equal(t, ImpairStats{Offered: 1, Delivered: 1, Delayed: 1}, r)
	assert.Zero(t, werr)
}

// TestImpairListenerCall impairs one call of a Listener: a *Conn is a
// net.PacketConn, so Impair wraps it like any socket.
func TestImpairListenerCall(t *testing.T) {
	checkGoroutines(t)
	ctx := testCtx(t)
	l, err := Listen("udp4", "127.0.0.1:0", nil)
	require.NoError(t, err)
	defer l.Close()
	client, err := Dial(ctx, "udp4", "127.0.0.1:0", l.Addr().String(), nil)
	require.NoError(t, err)
	defer client.Close()
	require.NoError(t, client.WritePacket(ctx, []byte{0}))
	call, err := l.Accept(ctx)
	require.NoError(t, err)
	imp := Impair(call, &ImpairConfig{
		Send:    Impairment{Loss: 0.5, Seed: 3},
		Receive: Impairment{Duplicate: 1},
	})
	c := NewConn(imp, call.RemoteAddr(), nil)
	defer c.Close()

	buf := make([]byte, 8)
	n, err := c.ReadPacket(ctx, buf) // the first datagram, duplicated
	require.NoError(t, err)
	require.Equal(t, []byte{0}, buf[:n])
	n, err = c.ReadPacket(ctx, buf)
	require.NoError(t, err)
	require.Equal(t, []byte{0}, buf[:n])

	for i := range 200 {
		require.NoError(t, c.WritePacket(ctx, []byte{byte(i)}))
	}
	s, r, _ := imp.Stats()
	within(t, "call send loss", float64(s.Lost)/200, 0.5, 0.18)
	assert.Equal(t, uint64(1), r.Duplicated)
	got := 0
	for got < int(s.Delivered) {
		rctx, cancel := context.WithTimeout(ctx, time.Second)
		_, err := client.ReadPacket(rctx, buf)
		cancel()
		require.NoError(t, err, "after %d of %d", got, s.Delivered)
		got++
	}
}

func TestImpairmentClamps(t *testing.T) {
	got, st := runStage(Impairment{Loss: -1, Duplicate: 7, Delay: -time.Second, Jitter: -1}, 10, nil, 0)
	assert.Len(t, got, 20, "duplicate 7 means always; negative loss and delay mean none")
	assert.Zero(t, st.Lost)
	_, st = runStage(Impairment{GilbertElliott: &GilbertElliott{PGoodBad: 2, LossBad: 3}}, 10, nil, 0)
	assert.Equal(t, uint64(10), st.Lost)
	got, _ = runStage(Impairment{Loss: math.NaN(), Reorder: math.NaN()}, 10, nil, 0)
	assert.Equal(t, []uint32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, got, "NaN means never")
}

// stuckClock's timers cannot be stopped, like a system timer that fired
// just as Stop was called; the test fires them by hand.
type stuckClock struct{ fns []func() }

func (c *stuckClock) Now() time.Time { return time.Unix(0, 0) }
func (c *stuckClock) NewTimer(time.Duration) clock.Timer {
	panic("transport waits with AfterFunc only")
}
func (c *stuckClock) AfterFunc(_ time.Duration, f func()) clock.Timer {
	c.fns = append(c.fns, f)
	return stuckTimer{}
}

type stuckTimer struct{}

func (stuckTimer) Stop() bool          { return false }
func (stuckTimer) C() <-chan time.Time { return nil }

// A hold timer that fires after its datagram was already released by a
// successor must not release the next held datagram early.
func TestImpairmentStaleHoldTimer(t *testing.T) {
	clk := &stuckClock{}
	var got []uint32
	s := newStage(Impairment{Reorder: 1}, clk, func(p []byte, _ net.Addr) {
		got = append(got, binary.BigEndian.Uint32(p))
	})
	s.submit([]byte{0, 0, 0, 1}, nil) // held, timer 0
	s.submit([]byte{0, 0, 0, 2}, nil) // delivered, then 1
	s.submit([]byte{0, 0, 0, 3}, nil) // held, timer 1
	require.Len(t, clk.fns, 2)
	clk.fns[0]() // the stale timer of datagram 1
	assert.Equal(t, []uint32{2, 1}, got, "3 is still held")
	clk.fns[1]()
	assert.Equal(t, []uint32{2, 1, 3}, got)
}

// When the wrapped connection fails (here: a listener call that idled
// out), reads of the ImpairedConn report that error, not a bare ErrClosed.
func TestImpairedConnReportsWrappedError(t *testing.T) {
	pc := &scriptedPC{closed: make(chan struct{}), reads: []scriptedRead{{"x", PipeAddr("p"), nil}, {err: ErrIdle}}}
	ic := Impair(pc, &ImpairConfig{Receive: Impairment{Duplicate: 1, Seed: 1}})
	defer ic.Close()
	buf := make([]byte, 8)
	for range 2 {
		n, _, err := ic.ReadFrom(buf)
		require.NoError(t, err)
		require.Equal(t, "x", string(buf[:n]))
	}
	_, _, err := ic.ReadFrom(buf)
	require.ErrorIs(t, err, ErrIdle)
}

// recClock records timers; the test decides when they fire and whether
// Stop still works (a timer that has fired cannot be stopped).
type recClock struct {
	now    time.Time
	timers []*recTimer
}

type recTimer struct {
	f              func()
	fired, stopped bool
}

func (c *recClock) Now() time.Time { return c.now }
func (c *recClock) NewTimer(time.Duration) clock.Timer {
	panic("transport waits with AfterFunc only")
}
func (c *recClock) AfterFunc(_ time.Duration, f func()) clock.Timer {
	t := &recTimer{f: f}
	c.timers = append(c.timers, t)
	return t
}
func (t *recTimer) C() <-chan time.Time { return nil }
func (t *recTimer) Stop() bool {
	if t.fired || t.stopped {
		return false
	}
	t.stopped = true
	return true
}

// A delay-line timer re-armed while an older one had fired and was waiting
// for the lock must still be stopped by close, not left pending.
func TestImpairmentDelayTimerNotOrphaned(t *testing.T) {
	clk := &recClock{now: time.Unix(100, 0)}
	var got []uint32
	s := newStage(Impairment{Delay: 10 * time.Millisecond}, clk, func(p []byte, _ net.Addr) {
		got = append(got, binary.BigEndian.Uint32(p))
	})
	s.submit([]byte{0, 0, 0, 1}, nil) // due 100.010, timer 0
	clk.timers[0].fired = true        // fired, its flush not yet run
	clk.now = clk.now.Add(-5 * time.Millisecond)
	s.submit([]byte{0, 0, 0, 2}, nil) // due 100.005: new head, timer 1
	require.Len(t, clk.timers, 2)
	clk.now = time.Unix(100, 0).Add(20 * time.Millisecond)
	clk.timers[0].f() // the old flush delivers both, in due order
	assert.Equal(t, []uint32{2, 1}, got)
	s.close()
	for i, tm := range clk.timers {
		assert.True(t, tm.fired || tm.stopped, "timer %d left pending after close", i)
	}
}
