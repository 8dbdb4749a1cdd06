package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/ipv4"
)

// Sentinel errors, for errors.Is.
var (
	// ErrClosed is returned by operations on a closed Conn, RTPConn,
	// Listener or impaired connection. It matches net.ErrClosed too.
	ErrClosed = fmt.Errorf("transport: closed: %w", net.ErrClosed)
	// ErrIdle ends a listener call when nothing was received from its peer
	// for ListenConfig.IdleTimeout. It matches ErrClosed too.
	ErrIdle = fmt.Errorf("transport: call idle timeout: %w", ErrClosed)
	// ErrTruncated is returned with the first len(p) bytes when a datagram
	// does not fit the read buffer.
	ErrTruncated = errors.New("transport: datagram larger than the read buffer")
	// ErrTooLarge rejects a write longer than the configured MaxDatagram.
	ErrTooLarge = errors.New("transport: datagram larger than MaxDatagram")
	// ErrWrongPeer rejects a WriteTo an address other than the call's peer.
	ErrWrongPeer = errors.New("transport: address is not this call's peer")
)

// DefaultMaxDatagram is the MaxDatagram used when a Config leaves it zero:
// the largest UDP payload that fits an Ethernet frame without IP options.
const DefaultMaxDatagram = 1472

// Endpoint is what a T.38 terminal needs from the network: datagrams to and
// from one peer, with blocking reads bounded by a context. *Conn (UDPTL:
// each datagram is one UDPTL packet, built by package t38) and *RTPConn
// (each datagram's payload is one IFP packet) both implement it, so a
// terminal written against Endpoint runs over either encapsulation.
//
// ReadPacket is meant for one reading goroutine; WritePacket may be called
// concurrently with it.
type Endpoint interface {
	// ReadPacket waits for the next datagram from the peer and copies it
	// into p. It returns ctx.Err() when ctx ends first, ErrTruncated if the
	// datagram was longer than p, and an error matching ErrClosed after
	// Close.
	ReadPacket(ctx context.Context, p []byte) (int, error)
	// WritePacket sends p to the peer as one datagram.
	WritePacket(ctx context.Context, p []byte) error
	LocalAddr() net.Addr
	RemoteAddr() net.Addr
	Close() error
}

// ConnConfig configures a Conn. The zero value works.
type ConnConfig struct {
	// MaxDatagram bounds writes; longer ones fail with ErrTooLarge.
	// Default DefaultMaxDatagram.
	MaxDatagram int
	// Latch makes the Conn adopt the source address of the first datagram
	// it receives as its peer ("symmetric" UDPTL/RTP, as SBCs call it): a
	// peer behind NAT often sends from another address or port than the
	// one it signalled. Until then writes go to the configured peer;
	// afterwards datagrams from any other address are dropped.
	Latch bool
}

func (c *ConnConfig) maxDatagram() int {
	if c == nil || c.MaxDatagram <= 0 {
		return DefaultMaxDatagram
	}
	return c.MaxDatagram
}

// ConnStats counts a Conn's traffic.
type ConnStats struct {
	PacketsIn, PacketsOut uint64
	BytesIn, BytesOut     uint64
	// Foreign counts datagrams dropped because they came from an address
	// other than the peer (one-socket-per-call Conns only).
	Foreign uint64
	// Overflow counts datagrams dropped because the call's receive queue
	// was full (listener calls only); the oldest queued datagram goes.
	Overflow uint64
	// Oversize counts received datagrams dropped for exceeding the
	// listener's MaxDatagram (listener calls only).
	Oversize uint64
}

// Conn is one call's datagram endpoint: a socket (or any net.PacketConn)
// with a fixed peer, or one call demultiplexed by a Listener. It implements
// Endpoint, net.Conn and net.PacketConn; datagrams from addresses other than
// the peer are dropped and counted.
type Conn struct {
	peerP   atomic.Pointer[peerInfo]
	maxDg   int
	latch   bool
	latched atomic.Bool

	// Socket mode.
	pc      net.PacketConn
	udp     *net.UDPConn // pc, when it is one: allocation-free I/O
	userRDL atomic.Pointer[time.Time]
	rdDirty bool // read deadline on pc may be stale; reader-owned

	// Cancellation of socket reads: one context.AfterFunc per distinct
	// context, kept across reads, so that a reader looping with its call's
	// context allocates nothing per datagram.
	cancelMu    sync.Mutex
	cancelDone  <-chan struct{} // Done of the context watched
	cancelStop  func() bool
	cancelFired bool // the watched context's func has set a past deadline
	detached    bool // Detach ran: watch nothing more

	// Listener mode.
	call *call

	closeOnce sync.Once
	closed    atomic.Bool
	closeErr  error

	packetsIn, packetsOut, bytesIn, bytesOut, foreign atomic.Uint64

	// Batched writes (WritePackets): one sendmmsg for many datagrams.
	batchMu   sync.Mutex
	batch4    *ipv4.PacketConn
	batchMsgs []ipv4.Message
	batchAddr *net.UDPAddr
}

// BatchWriter is implemented by Endpoints that can send several datagrams
// at once (Conn: sendmmsg on Linux). A terminal that has many datagrams due
// at the same moment (an unpaced ECM block, indicator repeats) hands them
// over in one call.
type BatchWriter interface {
	// WritePackets sends ps to the peer in order, each as one datagram. It
	// returns how many were sent; when that is fewer than len(ps), err
	// says why the next one was not.
	WritePackets(ctx context.Context, ps [][]byte) (int, error)
}

var (
	_ Endpoint       = (*Conn)(nil)
	_ BatchWriter    = (*Conn)(nil)
	_ net.Conn       = (*Conn)(nil)
	_ net.PacketConn = (*Conn)(nil)
)

// Dial opens a UDP socket on local (for example "127.0.0.1:0" or ":4000")
// for one call with the peer at remote. network is "udp", "udp4" or
// "udp6". The context bounds address resolution only.
func Dial(ctx context.Context, network, local, remote string, cfg *ConnConfig) (*Conn, error) {
	var r net.Resolver
	raddr, err := resolveUDP(ctx, &r, network, remote)
	if err != nil {
		return nil, fmt.Errorf("transport: remote address: %w", err)
	}
	var lc net.ListenConfig
	pc, err := lc.ListenPacket(ctx, network, local)
	if err != nil {
		return nil, fmt.Errorf("transport: %w", err)
	}
	return NewConn(pc, raddr, cfg), nil
}

func resolveUDP(ctx context.Context, r *net.Resolver, network, addr string) (*net.UDPAddr, error) {
	if ap, err := netip.ParseAddrPort(addr); err == nil {
		return net.UDPAddrFromAddrPort(ap), nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	pn, err := r.LookupPort(ctx, network, port)
	if err != nil {
		return nil, err
	}
	ipNet := "ip"
	switch network {
	case "udp4":
		ipNet = "ip4"
	case "udp6":
		ipNet = "ip6"
	}
	ips, err := r.LookupNetIP(ctx, ipNet, host)
	if err != nil {
		return nil, err
	}
	if len(ips) == 0 {
		return nil, fmt.Errorf("no address for host")
	}
	return net.UDPAddrFromAddrPort(netip.AddrPortFrom(ips[0].Unmap(), uint16(pn))), nil
}

// NewConn wraps pc as one call with peer. Close closes pc. A caller that
// keeps ownership of pc (for example a Send given the application's own
// socket) calls Detach instead: the Conn holds no goroutines, but a read
// context it watched can still fire after the Conn is dropped and set a
// past read deadline on pc. pc may
// be any net.PacketConn, including an impaired one (see Impair), one end of
// a Pipe, or a Listener call.
func NewConn(pc net.PacketConn, peer net.Addr, cfg *ConnConfig) *Conn {
	c := &Conn{pc: pc, maxDg: cfg.maxDatagram(), latch: cfg != nil && cfg.Latch}
	c.setPeer(peer)
	c.udp, _ = pc.(*net.UDPConn)
	return c
}

// peerInfo is the peer's address, with its AddrPort form when it is UDP.
type peerInfo struct {
	addr net.Addr
	ap   netip.AddrPort // valid when addr is a *net.UDPAddr
}

func (c *Conn) setPeer(peer net.Addr) {
	pi := &peerInfo{addr: peer}
	if ua, ok := peer.(*net.UDPAddr); ok {
		ap := ua.AddrPort()
		pi.ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	c.peerP.Store(pi)
}

func (c *Conn) peer() *peerInfo { return c.peerP.Load() }

func (c *Conn) isPeer(a net.Addr) bool {
	pi := c.peer()
	if a == pi.addr {
		return true
	}
	if ua, ok := a.(*net.UDPAddr); ok && pi.ap.IsValid() {
		ap := ua.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()) == pi.ap
	}
	return a != nil && pi.addr != nil && a.Network() == pi.addr.Network() && a.String() == pi.addr.String()
}

// latchTo adopts a as the peer if Latch is on and nothing was latched yet.
func (c *Conn) latchTo(a net.Addr) bool {
	if !c.latch || a == nil || !c.latched.CompareAndSwap(false, true) {
		return false
	}
	c.setPeer(a)
	return true
}

// ReadPacket implements Endpoint.
func (c *Conn) ReadPacket(ctx context.Context, p []byte) (int, error) {
	if c.closed.Load() {
		return 0, c.closeError()
	}
	if c.call != nil {
		n, _, err := c.call.q.pop(ctx, c.call.rdl, p)
		if err != nil && err != ErrTruncated {
			return 0, err
		}
		c.countIn(n)
		return n, err
	}
	return c.readSocket(ctx, p)
}

func (c *Conn) readSocket(ctx context.Context, p []byte) (int, error) {
	for {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		ctxDL, hasDL := ctx.Deadline()
		var userDL time.Time
		if t := c.userRDL.Load(); t != nil {
			userDL = *t
		}
		// Watch ctx first: a cancellation of a context watched before can
		// then no longer touch the socket, and one that already did is
		// seen by takeFired and undone here.
		c.watch(ctx)
		if hasDL || c.rdDirty || c.takeFired() {
			// A deadline from an earlier context (or a cancellation) may
			// still be set on the socket.
			if err := c.pc.SetReadDeadline(earlier(userDL, ctxDL)); err != nil {
				return 0, c.mapErr(ctx, err)
			}
			c.rdDirty = hasDL
			// ctx may have ended just before the reset undid its
			// cancellation deadline.
			if err := ctx.Err(); err != nil {
				return 0, err
			}
		}

		var (
			n    int
			from bool
			err  error
		)
		if pi := c.peer(); c.udp != nil && pi.ap.IsValid() {
			var ap netip.AddrPort
			n, ap, err = c.udp.ReadFromUDPAddrPort(p)
			ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
			from = ap == pi.ap
			if !from && ap.IsValid() && (err == nil || errors.Is(err, ErrTruncated)) {
				from = c.latchTo(net.UDPAddrFromAddrPort(ap))
			}
		} else {
			var a net.Addr
			n, a, err = c.pc.ReadFrom(p)
			from = c.isPeer(a)
			if !from && (err == nil || errors.Is(err, ErrTruncated)) {
				from = c.latchTo(a)
			}
		}
		if c.latch && from && err == nil && !c.latched.Load() {
			c.latched.Store(true) // the configured peer spoke first
		}
		if !from && (err == nil || errors.Is(err, ErrTruncated)) {
			// A stranger's datagram, whole or truncated: not ours to
			// report.
			c.foreign.Add(1)
			continue
		}
		if err != nil && !errors.Is(err, ErrTruncated) {
			if errors.Is(err, os.ErrDeadlineExceeded) && ctx.Err() == nil {
				now := time.Now()
				switch {
				case hasDL && !now.Before(ctxDL):
					// The socket deadline came from ctx, whose own
					// timer may not have fired yet.
					return 0, context.DeadlineExceeded
				case userDL.IsZero() || now.Before(userDL):
					// Neither deadline has passed: a stale
					// cancellation deadline. Clear it and read on.
					c.rdDirty = true
					continue
				}
			}
			return 0, c.mapErr(ctx, err)
		}
		c.countIn(n)
		return n, err
	}
}

// watch makes sure that ctx ending interrupts a blocked read, by setting a
// read deadline in the past. The watch stays in place for the next read
// with the same context; a read with another context replaces it.
func (c *Conn) watch(ctx context.Context) {
	done := ctx.Done()
	c.cancelMu.Lock()
	defer c.cancelMu.Unlock()
	if done == c.cancelDone {
		return
	}
	if c.cancelStop != nil {
		c.cancelStop()
	}
	c.cancelDone, c.cancelStop = done, nil
	if done == nil || c.detached {
		return
	}
	c.cancelStop = context.AfterFunc(ctx, func() {
		c.cancelMu.Lock()
		defer c.cancelMu.Unlock()
		if c.cancelDone != done {
			return // replaced: another context is being watched
		}
		_ = c.pc.SetReadDeadline(time.Unix(1, 0))
		c.cancelFired = true
	})
}

// takeFired reports (once) whether a cancellation has set a past deadline
// on the socket that the next read must clear.
func (c *Conn) takeFired() bool {
	c.cancelMu.Lock()
	defer c.cancelMu.Unlock()
	f := c.cancelFired
	c.cancelFired = false
	return f
}

// mapErr turns socket errors into this package's: a context that ended wins
// over the deadline it caused, a closed socket is ErrClosed.
func (c *Conn) mapErr(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	if errors.Is(err, net.ErrClosed) || c.closed.Load() {
		return c.closeError()
	}
	return err
}

func (c *Conn) countIn(n int) {
	c.packetsIn.Add(1)
	c.bytesIn.Add(uint64(n))
}

// WritePacket implements Endpoint. UDP sends do not block for long, so ctx
// is only checked before sending.
func (c *Conn) WritePacket(ctx context.Context, p []byte) error {
	if c.closed.Load() {
		return c.closeError()
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(p) > c.maxDg {
		return ErrTooLarge
	}
	var err error
	switch {
	case c.call != nil:
		err = c.call.write(p)
	default:
		if pi := c.peer(); c.udp != nil && pi.ap.IsValid() {
			_, err = c.udp.WriteToUDPAddrPort(p, pi.ap)
		} else {
			_, err = c.pc.WriteTo(p, pi.addr)
		}
	}
	if err != nil {
		if errors.Is(err, net.ErrClosed) || c.closed.Load() {
			return c.closeError()
		}
		return err
	}
	c.packetsOut.Add(1)
	c.bytesOut.Add(uint64(len(p)))
	return nil
}

// WritePackets implements BatchWriter. On a UDP socket with an IPv4 peer
// it sends the datagrams with as few sendmmsg system calls as the kernel
// allows; otherwise it writes them one by one.
func (c *Conn) WritePackets(ctx context.Context, ps [][]byte) (int, error) {
	pi := c.peer()
	if c.call != nil || c.udp == nil || !pi.ap.IsValid() || !pi.ap.Addr().Is4() || len(ps) < 2 {
		for i, p := range ps {
			if err := c.WritePacket(ctx, p); err != nil {
				return i, err
			}
		}
		return len(ps), nil
	}
	if c.closed.Load() {
		return 0, c.closeError()
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	for _, p := range ps {
		if len(p) > c.maxDg {
			return 0, ErrTooLarge
		}
	}
	c.batchMu.Lock()
	defer c.batchMu.Unlock()
	if c.batch4 == nil {
		c.batch4 = ipv4.NewPacketConn(c.udp)
	}
	if c.batchAddr == nil || c.batchAddr.AddrPort() != pi.ap {
		c.batchAddr = net.UDPAddrFromAddrPort(pi.ap)
	}
	if cap(c.batchMsgs) < len(ps) {
		c.batchMsgs = make([]ipv4.Message, len(ps))
	}
	msgs := c.batchMsgs[:len(ps)]
	for i, p := range ps {
		if msgs[i].Buffers == nil {
			msgs[i].Buffers = make([][]byte, 1)
		}
		msgs[i].Buffers[0] = p
		msgs[i].Addr = c.batchAddr
	}
	sent := 0
	for sent < len(msgs) {
		n, err := c.batch4.WriteBatch(msgs[sent:], 0)
		for _, m := range msgs[sent : sent+max(n, 0)] {
			c.packetsOut.Add(1)
			c.bytesOut.Add(uint64(len(m.Buffers[0])))
		}
		sent += max(n, 0)
		if err != nil {
			if errors.Is(err, net.ErrClosed) || c.closed.Load() {
				err = c.closeError()
			}
			clearBuffers(msgs)
			return sent, err
		}
		if n <= 0 {
			break
		}
	}
	clearBuffers(msgs)
	return sent, nil
}

func clearBuffers(msgs []ipv4.Message) {
	for i := range msgs {
		msgs[i].Buffers[0] = nil
	}
}

// Read implements net.Conn: ReadPacket without a context.
func (c *Conn) Read(p []byte) (int, error) { return c.ReadPacket(context.Background(), p) }

// Write implements net.Conn: WritePacket without a context.
func (c *Conn) Write(p []byte) (int, error) {
	if err := c.WritePacket(context.Background(), p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// ReadFrom implements net.PacketConn; the address is always the peer.
func (c *Conn) ReadFrom(p []byte) (int, net.Addr, error) {
	n, err := c.ReadPacket(context.Background(), p)
	if n == 0 && err != nil {
		return 0, nil, err
	}
	return n, c.peer().addr, err
}

// WriteTo implements net.PacketConn. addr must be nil or the peer.
func (c *Conn) WriteTo(p []byte, addr net.Addr) (int, error) {
	if addr != nil && !c.isPeer(addr) {
		return 0, ErrWrongPeer
	}
	return c.Write(p)
}

// LocalAddr returns the local socket address.
func (c *Conn) LocalAddr() net.Addr {
	if c.call != nil {
		return c.call.l.addr
	}
	return c.pc.LocalAddr()
}

// RemoteAddr returns the peer (the latched one, with Latch).
func (c *Conn) RemoteAddr() net.Addr { return c.peer().addr }

// SetDeadline sets both deadlines, as net.Conn does.
func (c *Conn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

// SetReadDeadline sets a wall-clock read deadline, as net.Conn does. A
// context deadline passed to ReadPacket applies as well; the earlier wins.
func (c *Conn) SetReadDeadline(t time.Time) error {
	if c.call != nil {
		c.call.rdl.Set(t)
		return nil
	}
	c.userRDL.Store(&t)
	return c.pc.SetReadDeadline(t)
}

// SetWriteDeadline sets a write deadline on a socket Conn; listener calls
// share one socket and ignore it.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	if c.call != nil {
		return nil
	}
	return c.pc.SetWriteDeadline(t)
}

// Close ends the call: for a socket Conn it closes the socket, for a
// listener call it releases the call's slot. Blocked reads return ErrClosed.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		c.closed.Store(true)
		if c.call != nil {
			c.closeErr = c.call.close(ErrClosed)
			return
		}
		c.closeErr = c.pc.Close()
		c.cancelMu.Lock()
		if c.cancelStop != nil {
			c.cancelStop()
		}
		c.cancelDone, c.cancelStop = nil, nil
		c.cancelMu.Unlock()
	})
	return c.closeErr
}

// Detach ends the Conn like Close but leaves its net.PacketConn open for
// the caller: it stops watching read contexts, waits out a cancellation
// that is setting a deadline at that moment, and clears the read deadline
// (restoring one set with SetReadDeadline). After Detach no context passed
// to ReadPacket can touch pc. For a Listener call it is Close.
func (c *Conn) Detach() error {
	if c.call != nil {
		return c.Close()
	}
	var err error
	detached := false
	c.closeOnce.Do(func() {
		detached = true
		c.closed.Store(true)
		c.cancelMu.Lock()
		if c.cancelStop != nil {
			c.cancelStop()
		}
		// A callback already running waits for cancelMu, then finds it
		// is no longer the watched context and leaves pc alone.
		c.cancelDone, c.cancelStop, c.detached = nil, nil, true
		c.cancelMu.Unlock()
		var dl time.Time
		if t := c.userRDL.Load(); t != nil {
			dl = *t
		}
		err = c.pc.SetReadDeadline(dl)
	})
	if !detached {
		return c.closeErr
	}
	return err
}

func (c *Conn) closeError() error {
	if c.call != nil {
		return c.call.cause()
	}
	return ErrClosed
}

// PacketConn returns the net.PacketConn a socket Conn wraps (nil for a
// Listener call), for example to read an ImpairedConn's or PipeConn's Stats.
func (c *Conn) PacketConn() net.PacketConn { return c.pc }

// Stats returns the call's counters so far.
func (c *Conn) Stats() ConnStats {
	s := ConnStats{
		PacketsIn:  c.packetsIn.Load(),
		PacketsOut: c.packetsOut.Load(),
		BytesIn:    c.bytesIn.Load(),
		BytesOut:   c.bytesOut.Load(),
		Foreign:    c.foreign.Load(),
	}
	if c.call != nil {
		s.Overflow = c.call.q.droppedCount()
		s.Oversize = c.call.oversize.Load()
	}
	return s
}
