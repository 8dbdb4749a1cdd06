package transport

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit/internal/clock"
)

func listen(t *testing.T, cfg *ListenConfig) *Listener {
	t.Helper()
	l, err := Listen("udp4", "127.0.0.1:0", cfg)
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	return l
}

// overflow totals the receive-queue overflows of the calls echo served.
var overflow atomic.Uint64

// echo serves l: every call gets its datagrams back until it ends.
func echo(l *Listener, wg *sync.WaitGroup) {
	defer wg.Done()
	for {
		c, err := l.Accept(context.Background())
		if err != nil {
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { overflow.Add(c.Stats().Overflow) }()
			defer c.Close()
			buf := make([]byte, DefaultMaxDatagram)
			for {
				n, err := c.ReadPacket(context.Background(), buf)
				if err != nil {
					return
				}
				if c.WritePacket(context.Background(), buf[:n]) != nil {
					return
				}
			}
		}()
	}
}

func TestListenerManyCalls(t *testing.T) {
	for _, batch := range []bool{false, true} {
		t.Run(fmt.Sprintf("batch=%v", batch), func(t *testing.T) { testManyCalls(t, batch) })
	}
}

func testManyCalls(t *testing.T, batch bool) {
	checkGoroutines(t)
	const calls, packets = 200, 20
	l := listen(t, &ListenConfig{MaxCalls: calls, Backlog: calls, BatchIO: batch})
	var srv sync.WaitGroup
	srv.Add(1)
	go echo(l, &srv)

	ctx := testCtx(t)
	var wg sync.WaitGroup
	errs := make(chan error, calls)
	for i := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := Dial(ctx, "udp4", "127.0.0.1:0", l.Addr().String(), nil)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			buf := make([]byte, 64)
			for j := 0; j < packets; j++ {
				var msg [8]byte
				binary.BigEndian.PutUint32(msg[:], uint32(i))
				binary.BigEndian.PutUint32(msg[4:], uint32(j))
				// UDP on loopback can still drop under load: retry a
				// few times, each with a short timeout.
				var got bool
				for try := 0; try < 5 && !got; try++ {
					if err := c.WritePacket(ctx, msg[:]); err != nil {
						errs <- err
						return
					}
					rctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
					for {
						n, err := c.ReadPacket(rctx, buf)
						if err != nil {
							break
						}
						if string(buf[:n]) == string(msg[:]) {
							got = true
							break
						}
					}
					cancel()
				}
				if !got {
					errs <- fmt.Errorf("call %d packet %d: no echo", i, j)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	st := l.Stats()
	assert.Equal(t, uint64(calls), st.Accepted)
	assert.Zero(t, st.Rejected)
	require.NoError(t, l.Close())
	srv.Wait()
	assert.Zero(t, l.Stats().Active)
}

func TestListenerMaxCalls(t *testing.T) {
	checkGoroutines(t)
	l := listen(t, &ListenConfig{MaxCalls: 2})
	ctx := testCtx(t)
	var clients []*Conn
	for range 4 {
		c, err := Dial(ctx, "udp4", "127.0.0.1:0", l.Addr().String(), nil)
		require.NoError(t, err)
		defer c.Close()
		clients = append(clients, c)
		require.NoError(t, c.WritePacket(ctx, []byte("hello")))
		time.Sleep(10 * time.Millisecond)
	}
	var accepted []*Conn
	for range 2 {
		c, err := l.Accept(ctx)
		require.NoError(t, err)
		accepted = append(accepted, c)
	}
	actx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	_, err := l.Accept(actx)
	cancel()
	require.ErrorIs(t, err, context.DeadlineExceeded, "a third call was let in")
	st := l.Stats()
	assert.Equal(t, 2, st.Active)
	assert.GreaterOrEqual(t, st.Rejected, uint64(2))

	// Ending a call frees its slot for the next new peer.
	require.NoError(t, accepted[0].Close())
	require.NoError(t, clients[2].WritePacket(ctx, []byte("again")))
	c, err := l.Accept(ctx)
	require.NoError(t, err)
	assert.Equal(t, clients[2].LocalAddr().String(), c.RemoteAddr().String())
	buf := make([]byte, 16)
	n, err := c.ReadPacket(ctx, buf)
	require.NoError(t, err)
	assert.Equal(t, "again", string(buf[:n]))
}

func TestListenerQueueBound(t *testing.T) {
	checkGoroutines(t)
	l := listen(t, &ListenConfig{QueueLen: 4})
	ctx := testCtx(t)
	c, err := Dial(ctx, "udp4", "127.0.0.1:0", l.Addr().String(), nil)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.WritePacket(ctx, []byte{0}))
	call, err := l.Accept(ctx)
	require.NoError(t, err)
	for i := 1; i < 20; i++ {
		require.NoError(t, c.WritePacket(ctx, []byte{byte(i)}))
	}
	// Wait until the read loop has queued everything.
	require.Eventually(t, func() bool { return call.Stats().Overflow == 16 },
		5*time.Second, 5*time.Millisecond, "overflow count")
	buf := make([]byte, 4)
	for want := 16; want < 20; want++ {
		n, err := call.ReadPacket(ctx, buf)
		require.NoError(t, err)
		require.Equal(t, []byte{byte(want)}, buf[:n], "the oldest datagrams are the ones dropped")
	}
}

func TestListenerIdleTimeout(t *testing.T) {
	checkGoroutines(t)
	clk := clock.NewFake(time.Unix(1000, 0))
	l := listen(t, &ListenConfig{IdleTimeout: 10 * time.Second, Clock: clk})
	ctx := testCtx(t)
	c, err := Dial(ctx, "udp4", "127.0.0.1:0", l.Addr().String(), nil)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.WritePacket(ctx, []byte("a")))
	call, err := l.Accept(ctx)
	require.NoError(t, err)
	buf := make([]byte, 8)
	_, err = call.ReadPacket(ctx, buf)
	require.NoError(t, err)

	clk.Advance(6 * time.Second)
	require.NoError(t, c.WritePacket(ctx, []byte("b")))
	_, err = call.ReadPacket(ctx, buf) // the pump has stamped it by now
	require.NoError(t, err)
	clk.Advance(6 * time.Second) // 12 s since the first, 6 s since the last
	assert.Equal(t, 1, l.Stats().Active, "a call with recent traffic must not idle out")

	errc := make(chan error, 1)
	go func() { _, err := call.ReadPacket(ctx, buf); errc <- err }()
	clk.Advance(5 * time.Second)
	select {
	case err := <-errc:
		require.ErrorIs(t, err, ErrIdle)
		require.ErrorIs(t, err, ErrClosed)
	case <-time.After(5 * time.Second):
		t.Fatal("idle call was not ended")
	}
	st := l.Stats()
	assert.Equal(t, uint64(1), st.IdleClosed)
	assert.Zero(t, st.Active)
	require.NoError(t, call.Close())
}

func TestListenerCloseEndsCalls(t *testing.T) {
	checkGoroutines(t)
	l, err := Listen("udp4", "127.0.0.1:0", nil)
	require.NoError(t, err)
	ctx := testCtx(t)
	var calls []*Conn
	for range 5 {
		c, err := Dial(ctx, "udp4", "127.0.0.1:0", l.Addr().String(), nil)
		require.NoError(t, err)
		defer c.Close()
		require.NoError(t, c.WritePacket(ctx, []byte("x")))
		call, err := l.Accept(ctx)
		require.NoError(t, err)
		calls = append(calls, call)
	}
	// One more peer whose call is never accepted.
	c, err := Dial(ctx, "udp4", "127.0.0.1:0", l.Addr().String(), nil)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.WritePacket(ctx, []byte("x")))
	time.Sleep(20 * time.Millisecond)

	var wg sync.WaitGroup
	for _, call := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 8)
			for {
				if _, err := call.ReadPacket(ctx, buf); err != nil {
					assert.ErrorIs(t, err, ErrClosed)
					return
				}
			}
		}()
	}
	require.NoError(t, l.Close())
	wg.Wait()
	_, err = l.Accept(ctx)
	require.ErrorIs(t, err, ErrListenerClosed)
	assert.Zero(t, l.Stats().Active)
	for _, call := range calls {
		require.ErrorIs(t, call.WritePacket(ctx, []byte("x")), ErrClosed)
		require.NoError(t, call.Close())
	}
}

func TestListenerShutdown(t *testing.T) {
	checkGoroutines(t)
	l, err := Listen("udp4", "127.0.0.1:0", nil)
	require.NoError(t, err)
	ctx := testCtx(t)
	c, err := Dial(ctx, "udp4", "127.0.0.1:0", l.Addr().String(), nil)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.WritePacket(ctx, []byte("x")))
	call, err := l.Accept(ctx)
	require.NoError(t, err)

	done := make(chan error, 1)
	go func() { done <- l.Shutdown(ctx) }()
	// The open call still works while shutting down.
	require.NoError(t, c.WritePacket(ctx, []byte("y")))
	buf := make([]byte, 8)
	for {
		n, err := call.ReadPacket(ctx, buf)
		require.NoError(t, err)
		if string(buf[:n]) == "y" {
			break
		}
	}
	require.NoError(t, call.WritePacket(ctx, []byte("z")))
	n, err := c.ReadPacket(ctx, buf)
	require.NoError(t, err)
	assert.Equal(t, "z", string(buf[:n]))
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned %v with a call open", err)
	case <-time.After(30 * time.Millisecond):
	}
	require.NoError(t, call.Close())
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown did not return after the last call closed")
	}

	// Shutdown with a context that ends forces the calls closed.
	l2, err := Listen("udp4", "127.0.0.1:0", nil)
	require.NoError(t, err)
	c2, err := Dial(ctx, "udp4", "127.0.0.1:0", l2.Addr().String(), nil)
	require.NoError(t, err)
	defer c2.Close()
	require.NoError(t, c2.WritePacket(ctx, []byte("x")))
	call2, err := l2.Accept(ctx)
	require.NoError(t, err)
	sctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, l2.Shutdown(sctx), context.DeadlineExceeded)
	_, err = call2.ReadPacket(ctx, buf)
	require.True(t, errors.Is(err, ErrListenerClosed), "got %v", err)
}

func TestListenerAcceptFilter(t *testing.T) {
	l := listen(t, &ListenConfig{AcceptFilter: func(b []byte) bool { return len(b) > 0 && b[0] == 'T' }})
	ctx := testCtx(t)
	junk, err := Dial(ctx, "udp4", "127.0.0.1:0", l.Addr().String(), nil)
	require.NoError(t, err)
	defer junk.Close()
	require.NoError(t, junk.WritePacket(ctx, []byte("junk")))
	good, err := Dial(ctx, "udp4", "127.0.0.1:0", l.Addr().String(), nil)
	require.NoError(t, err)
	defer good.Close()
	time.Sleep(10 * time.Millisecond)
	require.NoError(t, good.WritePacket(ctx, []byte("T38")))
	call, err := l.Accept(ctx)
	require.NoError(t, err)
	assert.Equal(t, good.LocalAddr().(*net.UDPAddr).Port, call.RemoteAddr().(*net.UDPAddr).Port)
	actx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	_, err = l.Accept(actx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestListenerLinger(t *testing.T) {
	checkGoroutines(t)
	clk := clock.NewFake(time.Unix(1000, 0))
	l := listen(t, &ListenConfig{Linger: 5 * time.Second, Clock: clk})
	ctx := testCtx(t)
	c, err := Dial(ctx, "udp4", "127.0.0.1:0", l.Addr().String(), nil)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.WritePacket(ctx, []byte("call")))
	call, err := l.Accept(ctx)
	require.NoError(t, err)
	require.NoError(t, call.Close())

	// The peer repeats its last message after we hung up: no new call.
	require.NoError(t, c.WritePacket(ctx, []byte("DCN again")))
	require.Eventually(t, func() bool { return l.Stats().Lingered == 1 }, 5*time.Second, time.Millisecond)
	actx, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	_, err = l.Accept(actx)
	cancel()
	require.ErrorIs(t, err, context.DeadlineExceeded)

	// After the linger period the address may start a call again.
	clk.Advance(5 * time.Second)
	require.NoError(t, c.WritePacket(ctx, []byte("new call")))
	call, err = l.Accept(ctx)
	require.NoError(t, err)
	buf := make([]byte, 16)
	n, err := call.ReadPacket(ctx, buf)
	require.NoError(t, err)
	assert.Equal(t, "new call", string(buf[:n]))
}

// TestListenerBacklog: calls beyond the backlog are turned away without
// penalty, and get in once Accept makes room.
func TestListenerBacklog(t *testing.T) {
	checkGoroutines(t)
	l := listen(t, &ListenConfig{Backlog: 1})
	ctx := testCtx(t)
	a, err := Dial(ctx, "udp4", "127.0.0.1:0", l.Addr().String(), nil)
	require.NoError(t, err)
	defer a.Close()
	b, err := Dial(ctx, "udp4", "127.0.0.1:0", l.Addr().String(), nil)
	require.NoError(t, err)
	defer b.Close()
	require.NoError(t, a.WritePacket(ctx, []byte("a")))
	require.Eventually(t, func() bool { return l.Stats().Active == 1 }, 5*time.Second, time.Millisecond)
	require.NoError(t, b.WritePacket(ctx, []byte("b1")))
	require.Eventually(t, func() bool { return l.Stats().Rejected == 1 }, 5*time.Second, time.Millisecond)

	ca, err := l.Accept(ctx)
	require.NoError(t, err)
	defer ca.Close()
	assert.Equal(t, a.LocalAddr().String(), ca.RemoteAddr().String())
	// b's next datagram starts its call: a rejection does not linger.
	require.NoError(t, b.WritePacket(ctx, []byte("b2")))
	cb, err := l.Accept(ctx)
	require.NoError(t, err)
	defer cb.Close()
	buf := make([]byte, 8)
	n, err := cb.ReadPacket(ctx, buf)
	require.NoError(t, err)
	assert.Equal(t, "b2", string(buf[:n]))
	assert.Zero(t, l.Stats().Lingered)
}

// TestListenerCloseAsCallsArrive closes listeners while their first
// datagrams are being read, admitted and queued for Accept, with and
// without BatchIO. Under -race this is the interleaving in which pion's UDP
// listener (which the Listener used to be built on) added to a WaitGroup its
// Close had already waited on. Every call that was admitted must end with
// the listener, and no goroutine may be left.
func TestListenerCloseAsCallsArrive(t *testing.T) {
	checkGoroutines(t)
	client, err := net.ListenPacket("udp4", "127.0.0.1:0")
	require.NoError(t, err)
	defer client.Close()
	for i := range 200 {
		l, err := Listen("udp4", "127.0.0.1:0", &ListenConfig{BatchIO: i%2 == 1})
		require.NoError(t, err)
		for range 3 {
			_, err = client.WriteTo([]byte("udptl"), l.Addr())
			require.NoError(t, err)
		}
		if i%3 == 0 {
			runtime.Gosched()
		}
		require.NoError(t, l.Close())
		assert.Zero(t, l.Stats().Active, "round %d", i)
		_, err = l.Accept(context.Background())
		require.ErrorIs(t, err, ErrListenerClosed)
	}
}

// TestListenerDualStack: a listener on a dual-stack socket serves IPv4 and
// IPv6 peers, with and without BatchIO (whose reads and writes go through
// pion's BatchConn): each peer is one call, shown with its own address, its
// datagrams arrive in order and the call's replies reach it.
func TestListenerDualStack(t *testing.T) {
	for _, batch := range []bool{false, true} {
		t.Run(fmt.Sprintf("batch=%v", batch), func(t *testing.T) {
			l, err := Listen("udp", ":0", &ListenConfig{BatchIO: batch})
			if err != nil {
				t.Skipf("no dual-stack UDP socket here: %v", err)
			}
			defer l.Close()
			_, port, err := net.SplitHostPort(l.Addr().String())
			require.NoError(t, err)
			for _, host := range []string{"127.0.0.1", "::1"} {
				c, err := net.ListenPacket("udp", net.JoinHostPort(host, "0"))
				if err != nil && host == "::1" {
					t.Logf("no IPv6 loopback: %v", err)
					continue
				}
				require.NoError(t, err)
				defer c.Close()
				dst, err := net.ResolveUDPAddr("udp", net.JoinHostPort(host, port))
				require.NoError(t, err)
				for range 2 {
					_, err = c.WriteTo([]byte("T38"), dst)
					require.NoError(t, err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				call, err := l.Accept(ctx)
				require.NoError(t, err)
				assert.Equal(t, c.LocalAddr().String(), call.RemoteAddr().String())
				buf := make([]byte, 8)
				for range 2 {
					n, err := call.ReadPacket(ctx, buf)
					require.NoError(t, err)
					assert.Equal(t, "T38", string(buf[:n]))
				}
				require.NoError(t, call.WritePacket(ctx, []byte("ok")))
				require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
				n, from, err := c.ReadFrom(buf)
				require.NoError(t, err)
				assert.Equal(t, "ok", string(buf[:n]))
				assert.Equal(t, port, strconv.Itoa(from.(*net.UDPAddr).Port))
			}
			assert.Equal(t, 0, int(l.Stats().Rejected))
		})
	}
}

// TestListenerOversize: datagrams longer than MaxDatagram are dropped and
// counted on their call, and the datagrams around them arrive whole,
// including one of exactly MaxDatagram octets.
func TestListenerOversize(t *testing.T) {
	l := listen(t, &ListenConfig{MaxDatagram: 100})
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	require.NoError(t, err)
	defer c.Close()
	for _, n := range []int{10, 101, 100, 4000, 11} {
		_, err := c.WriteTo(bytes.Repeat([]byte{byte(n)}, n), l.Addr())
		require.NoError(t, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	call, err := l.Accept(ctx)
	require.NoError(t, err)
	buf := make([]byte, 200)
	for _, want := range []int{10, 100, 11} {
		n, err := call.ReadPacket(ctx, buf)
		require.NoError(t, err)
		require.Equal(t, bytes.Repeat([]byte{byte(want)}, want), buf[:n])
	}
	assert.Equal(t, uint64(2), call.Stats().Oversize)
}
