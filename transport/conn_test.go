package transport

import (
	"context"
	"errors"
	"net"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// checkGoroutines fails t if, after the test's cleanups, more goroutines are
// running than when it was called. Goroutines may take a moment to exit
// after Close returns in the runtime's own bookkeeping, so it polls briefly.
func checkGoroutines(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(3 * time.Second)
		for {
			now := runtime.NumGoroutine()
			if now <= before {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<16)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("goroutine leak: %d before, %d after\n%s", before, now, buf)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// dialPair returns two socket Conns on 127.0.0.1 that are each other's peer.
func dialPair(t *testing.T, cfg *ConnConfig) (a, b *Conn) {
	t.Helper()
	pa, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	pb, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	a = NewConn(pa, pb.LocalAddr(), cfg)
	b = NewConn(pb, pa.LocalAddr(), cfg)
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestDialRoundTrip(t *testing.T) {
	checkGoroutines(t)
	ctx := testCtx(t)
	b, err := Dial(ctx, "udp4", "127.0.0.1:0", "127.0.0.1:9", nil)
	require.NoError(t, err)
	a, err := Dial(ctx, "udp4", "127.0.0.1:0", b.LocalAddr().String(), nil)
	require.NoError(t, err)
	b.Close()
	b, err = Dial(ctx, "udp4", b.LocalAddr().String(), a.LocalAddr().String(), nil)
	require.NoError(t, err)
	defer a.Close()
	defer b.Close()

	for i := range 50 {
		msg := []byte{byte(i), 1, 2, 3}
		require.NoError(t, a.WritePacket(ctx, msg))
		buf := make([]byte, 64)
		n, err := b.ReadPacket(ctx, buf)
		require.NoError(t, err)
		require.Equal(t, msg, buf[:n])
		require.NoError(t, b.WritePacket(ctx, buf[:n]))
		n, err = a.ReadPacket(ctx, buf)
		require.NoError(t, err)
		require.Equal(t, msg, buf[:n])
	}
	sa, sb := a.Stats(), b.Stats()
	assert.Equal(t, uint64(50), sa.PacketsOut)
	assert.Equal(t, uint64(50), sa.PacketsIn)
	assert.Equal(t, uint64(200), sb.BytesIn)
}

func TestConnDropsForeignPeers(t *testing.T) {
	ctx := testCtx(t)
	a, b := dialPair(t, nil)
	stranger, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	defer stranger.Close()
	_, err = stranger.WriteTo([]byte("intruder"), b.LocalAddr())
	require.NoError(t, err)
	time.Sleep(20 * time.Millisecond) // let it land first
	require.NoError(t, a.WritePacket(ctx, []byte("peer")))
	buf := make([]byte, 64)
	n, err := b.ReadPacket(ctx, buf)
	require.NoError(t, err)
	assert.Equal(t, "peer", string(buf[:n]))
	assert.Equal(t, uint64(1), b.Stats().Foreign)
}

func TestConnContext(t *testing.T) {
	checkGoroutines(t)
	a, b := dialPair(t, nil)
	buf := make([]byte, 64)

	t.Run("deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := b.ReadPacket(ctx, buf)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Less(t, time.Since(start), 2*time.Second)
	})
	t.Run("cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(20*time.Millisecond, cancel)
		_, err := b.ReadPacket(ctx, buf)
		require.ErrorIs(t, err, context.Canceled)
	})
	t.Run("reads work after a cancelled one", func(t *testing.T) {
		// The cancellation left a deadline in the past on the socket.
		require.NoError(t, a.WritePacket(context.Background(), []byte("x")))
		ctx := testCtx(t)
		n, err := b.ReadPacket(ctx, buf)
		require.NoError(t, err)
		assert.Equal(t, "x", string(buf[:n]))
		require.NoError(t, a.WritePacket(context.Background(), []byte("y")))
		n, err = b.ReadPacket(context.Background(), buf)
		require.NoError(t, err)
		assert.Equal(t, "y", string(buf[:n]))
	})
	t.Run("net.Conn deadline", func(t *testing.T) {
		require.NoError(t, b.SetReadDeadline(time.Now().Add(20*time.Millisecond)))
		_, err := b.Read(buf)
		require.ErrorIs(t, err, os.ErrDeadlineExceeded)
		var ne net.Error
		require.ErrorAs(t, err, &ne)
		assert.True(t, ne.Timeout())
		require.NoError(t, b.SetReadDeadline(time.Time{}))
	})
	t.Run("cancelled before", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := b.ReadPacket(ctx, buf)
		require.ErrorIs(t, err, context.Canceled)
		require.ErrorIs(t, a.WritePacket(ctx, []byte("z")), context.Canceled)
	})
}

func TestConnClose(t *testing.T) {
	checkGoroutines(t)
	a, b := dialPair(t, nil)
	errc := make(chan error, 1)
	go func() {
		_, err := b.ReadPacket(context.Background(), make([]byte, 10))
		errc <- err
	}()
	time.Sleep(10 * time.Millisecond)
	require.NoError(t, b.Close())
	select {
	case err := <-errc:
		require.ErrorIs(t, err, ErrClosed)
		require.ErrorIs(t, err, net.ErrClosed)
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not unblock ReadPacket")
	}
	require.ErrorIs(t, b.WritePacket(context.Background(), []byte("x")), ErrClosed)
	assert.NoError(t, b.Close(), "second Close")
	_ = a
}

func TestConnLimits(t *testing.T) {
	a, b := dialPair(t, &ConnConfig{MaxDatagram: 100})
	ctx := testCtx(t)
	require.ErrorIs(t, a.WritePacket(ctx, make([]byte, 101)), ErrTooLarge)
	require.NoError(t, a.WritePacket(ctx, make([]byte, 100)))
	_, err := a.WriteTo([]byte("x"), &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1})
	require.ErrorIs(t, err, ErrWrongPeer)
	_, err = a.WriteTo([]byte("x"), b.LocalAddr())
	require.NoError(t, err)
	buf := make([]byte, 200)
	n, from, err := b.ReadFrom(buf)
	require.NoError(t, err)
	assert.Equal(t, 100, n)
	assert.Equal(t, a.LocalAddr().String(), from.String())
}

func TestConnOverPipe(t *testing.T) {
	checkGoroutines(t)
	pa, pb := Pipe(nil)
	a := NewConn(pa, pb.LocalAddr(), nil)
	b := NewConn(pb, pa.LocalAddr(), nil)
	defer a.Close()
	defer b.Close()
	ctx := testCtx(t)
	require.NoError(t, a.WritePacket(ctx, []byte("hello")))
	buf := make([]byte, 3)
	n, err := b.ReadPacket(ctx, buf)
	require.ErrorIs(t, err, ErrTruncated)
	assert.Equal(t, "hel", string(buf[:n]))

	cctx, cancel := context.WithCancel(ctx)
	time.AfterFunc(10*time.Millisecond, cancel)
	_, err = b.ReadPacket(cctx, buf)
	require.ErrorIs(t, err, context.Canceled)
	require.NoError(t, a.WritePacket(ctx, []byte("abc")))
	n, err = b.ReadPacket(ctx, buf)
	require.NoError(t, err)
	assert.Equal(t, "abc", string(buf[:n]))
	assert.False(t, errors.Is(err, ErrClosed))
}

func TestPipeEndpoints(t *testing.T) {
	checkGoroutines(t)
	a, b := PipeEndpoints(&PipeConfig{AToB: Impairment{Duplicate: 1}})
	defer a.Close()
	defer b.Close()
	ctx := testCtx(t)
	var ep Endpoint = a
	require.NoError(t, ep.WritePacket(ctx, []byte("ifp")))
	buf := make([]byte, 8)
	for range 2 {
		n, err := b.ReadPacket(ctx, buf)
		require.NoError(t, err)
		require.Equal(t, "ifp", string(buf[:n]))
	}
	assert.Equal(t, uint64(1), a.PacketConn().(*PipeConn).Stats().Duplicated)
	assert.Equal(t, b.LocalAddr(), a.RemoteAddr())
}

func TestConnLatch(t *testing.T) {
	ctx := testCtx(t)
	local, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	// The peer signalled one port (say, in SDP) but sends from another,
	// as it would behind NAT.
	signalled := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9}
	natted, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	defer natted.Close()
	stranger, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	defer stranger.Close()

	c := NewConn(local, signalled, &ConnConfig{Latch: true})
	defer c.Close()
	_, err = natted.WriteTo([]byte("hello"), local.LocalAddr())
	require.NoError(t, err)
	buf := make([]byte, 16)
	n, err := c.ReadPacket(ctx, buf)
	require.NoError(t, err)
	assert.Equal(t, "hello", string(buf[:n]))
	assert.Equal(t, natted.LocalAddr().String(), c.RemoteAddr().String(), "latched")

	// Replies go to where the peer really is; others are now foreign.
	require.NoError(t, c.WritePacket(ctx, []byte("reply")))
	require.NoError(t, natted.SetReadDeadline(time.Now().Add(5*time.Second)))
	n, _, err = natted.ReadFrom(buf)
	require.NoError(t, err)
	assert.Equal(t, "reply", string(buf[:n]))
	_, err = stranger.WriteTo([]byte("spoof"), local.LocalAddr())
	require.NoError(t, err)
	_, err = natted.WriteTo([]byte("real"), local.LocalAddr())
	require.NoError(t, err)
	n, err = c.ReadPacket(ctx, buf)
	require.NoError(t, err)
	assert.Equal(t, "real", string(buf[:n]))
	assert.Equal(t, uint64(1), c.Stats().Foreign)

	// Without Latch the same first datagram is foreign.
	a, b := dialPair(t, nil)
	_, err = natted.WriteTo([]byte("x"), b.LocalAddr())
	require.NoError(t, err)
	require.NoError(t, a.WritePacket(ctx, []byte("y")))
	n, err = b.ReadPacket(ctx, buf)
	require.NoError(t, err)
	assert.Equal(t, "y", string(buf[:n]))
	assert.Equal(t, a.LocalAddr().String(), b.RemoteAddr().String())
}

// TestDialDualStack: a socket bound to the IPv6 wildcard sees IPv4 peers as
// v4-mapped addresses; they must still match the IPv4 peer we were given.
func TestDialDualStack(t *testing.T) {
	ctx := testCtx(t)
	v4, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	defer v4.Close()
	c, err := Dial(ctx, "udp", "[::]:0", v4.LocalAddr().String(), nil)
	if err != nil {
		t.Skipf("no dual-stack UDP here: %v", err)
	}
	defer c.Close()
	port := c.LocalAddr().(*net.UDPAddr).Port
	require.NoError(t, c.WritePacket(ctx, []byte("to v4")))
	require.NoError(t, v4.SetReadDeadline(time.Now().Add(5*time.Second)))
	buf := make([]byte, 16)
	n, from, err := v4.ReadFrom(buf)
	require.NoError(t, err)
	assert.Equal(t, "to v4", string(buf[:n]))
	assert.Equal(t, port, from.(*net.UDPAddr).Port)

	_, err = v4.WriteTo([]byte("from v4"), &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	require.NoError(t, err)
	n, err = c.ReadPacket(ctx, buf)
	require.NoError(t, err)
	assert.Equal(t, "from v4", string(buf[:n]))
	assert.Zero(t, c.Stats().Foreign)
}

func TestDialIPv6Loopback(t *testing.T) {
	ctx := testCtx(t)
	p6, err := net.ListenPacket("udp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	a, err := Dial(ctx, "udp6", "[::1]:0", p6.LocalAddr().String(), nil)
	require.NoError(t, err)
	defer a.Close()
	b := NewConn(p6, a.LocalAddr(), nil)
	defer b.Close()
	require.NoError(t, a.WritePacket(ctx, []byte("v6")))
	buf := make([]byte, 8)
	n, err := b.ReadPacket(ctx, buf)
	require.NoError(t, err)
	assert.Equal(t, "v6", string(buf[:n]))
}

// TestConnContextSwitch: cancelling a context that an earlier read used
// must not disturb a read with another context, and a reader looping with
// one cancellable context allocates nothing per datagram.
func TestConnContextSwitch(t *testing.T) {
	checkGoroutines(t)
	a, b := dialPair(t, nil)
	buf := make([]byte, 16)
	ctx1, cancel1 := context.WithCancel(context.Background())
	require.NoError(t, a.WritePacket(context.Background(), []byte("1")))
	_, err := b.ReadPacket(ctx1, buf)
	require.NoError(t, err)

	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	got := make(chan string, 1)
	go func() {
		n, err := b.ReadPacket(ctx2, buf)
		if err != nil {
			got <- err.Error()
			return
		}
		got <- string(buf[:n])
	}()
	time.Sleep(20 * time.Millisecond)
	cancel1() // must not interrupt the read on ctx2
	time.Sleep(20 * time.Millisecond)
	require.NoError(t, a.WritePacket(context.Background(), []byte("2")))
	select {
	case s := <-got:
		assert.Equal(t, "2", s)
	case <-time.After(5 * time.Second):
		t.Fatal("read on ctx2 never returned")
	}

	// The same context across reads: no allocation per read.
	msg := []byte("x")
	allocs := testing.AllocsPerRun(200, func() {
		if err := a.WritePacket(ctx2, msg); err != nil {
			t.Fatal(err)
		}
		if _, err := b.ReadPacket(ctx2, buf); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs, "allocations per datagram with a reused cancellable context")

	// And cancelling it still interrupts a blocked read.
	errc := make(chan error, 1)
	go func() { _, err := b.ReadPacket(ctx2, buf); errc <- err }()
	time.Sleep(20 * time.Millisecond)
	cancel2()
	select {
	case err := <-errc:
		require.ErrorIs(t, err, context.Canceled)
	case <-time.After(5 * time.Second):
		t.Fatal("cancel did not interrupt the read")
	}
	// A fresh context reads normally after the cancelled one.
	require.NoError(t, a.WritePacket(context.Background(), []byte("3")))
	n, err := b.ReadPacket(testCtx(t), buf)
	require.NoError(t, err)
	assert.Equal(t, "3", string(buf[:n]))
}

// scriptedPC returns scripted ReadFrom results, then blocks until closed.
type scriptedPC struct {
	net.PacketConn // nil: only the methods below are used
	reads          []scriptedRead
	closed         chan struct{}
}

type scriptedRead struct {
	data string
	from net.Addr
	err  error
}

func (s *scriptedPC) ReadFrom(p []byte) (int, net.Addr, error) {
	if len(s.reads) == 0 {
		<-s.closed
		return 0, nil, net.ErrClosed
	}
	r := s.reads[0]
	s.reads = s.reads[1:]
	return copy(p, r.data), r.from, r.err
}
func (s *scriptedPC) SetReadDeadline(time.Time) error { return nil }
func (s *scriptedPC) Close() error                    { close(s.closed); return nil }

// A stranger's datagram that did not fit the buffer (in-memory conns
// report ErrTruncated) is dropped and counted, not reported to the reader.
func TestConnDropsTruncatedForeignDatagram(t *testing.T) {
	peer, stranger := PipeAddr("peer"), PipeAddr("stranger")
	pc := &scriptedPC{closed: make(chan struct{}), reads: []scriptedRead{
		{"intruder", stranger, ErrTruncated},
		{"peer", peer, nil},
	}}
	c := NewConn(pc, peer, nil)
	defer c.Close()
	buf := make([]byte, 64)
	n, err := c.ReadPacket(testCtx(t), buf)
	require.NoError(t, err)
	assert.Equal(t, "peer", string(buf[:n]))
	assert.Equal(t, uint64(1), c.Stats().Foreign)
}

// A caller that keeps its socket after a call (Send given the
// application's own socket) detaches the Conn; a read context cancelled
// afterwards must not set a past deadline on the socket.
func TestConnDetachLeavesSocketUsable(t *testing.T) {
	pa, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	defer pa.Close()
	pb, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	defer pb.Close()
	c := NewConn(pb, pa.LocalAddr(), nil)

	ctx, cancel := context.WithCancel(context.Background())
	_, err = pa.WriteTo([]byte("one"), pb.LocalAddr())
	require.NoError(t, err)
	buf := make([]byte, 64)
	_, err = c.ReadPacket(ctx, buf) // watches ctx
	require.NoError(t, err)
	require.NoError(t, c.Detach())
	cancel()
	time.Sleep(50 * time.Millisecond) // let a stray AfterFunc run, if any

	_, err = pa.WriteTo([]byte("two"), pb.LocalAddr())
	require.NoError(t, err)
	n, _, err := pb.ReadFrom(buf)
	require.NoError(t, err, "the caller's socket was left with a past deadline")
	assert.Equal(t, "two", string(buf[:n]))
	_, err = c.ReadPacket(context.Background(), buf)
	assert.ErrorIs(t, err, ErrClosed)
	assert.NoError(t, c.Close(), "Close after Detach leaves the socket open")
	_, err = pa.WriteTo([]byte("three"), pb.LocalAddr())
	require.NoError(t, err)
	n, _, err = pb.ReadFrom(buf)
	require.NoError(t, err)
	assert.Equal(t, "three", string(buf[:n]))
}
