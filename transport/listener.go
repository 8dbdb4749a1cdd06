package transport

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/transport/v5/deadline"
	"github.com/pion/transport/v5/udp"
	"golang.org/x/net/ipv4"

	"github.com/faxkit/faxkit/internal/clock"
)

// ErrListenerClosed is returned by Accept once the Listener is closed or
// shutting down. It matches ErrClosed and net.ErrClosed too.
var ErrListenerClosed = fmt.Errorf("transport: listener closed: %w", ErrClosed)

// ListenConfig configures a Listener. The zero value works.
type ListenConfig struct {
	// MaxCalls bounds the calls open at once. Datagrams from a new peer
	// while MaxCalls calls are open are dropped (and counted as
	// rejected). Default 1024.
	MaxCalls int
	// Backlog bounds the calls waiting for Accept; beyond it new peers are
	// rejected. Default 128.
	Backlog int
	// QueueLen is each call's receive queue, in datagrams. When a call's
	// reader falls behind, the oldest queued datagram is dropped (counted in
	// ConnStats.Overflow). Default 64.
	QueueLen int
	// IdleTimeout ends a call when nothing has been received from its peer
	// for this long: reads then fail with ErrIdle and the call's slot is
	// freed. Default 60 s, longer than any T.30 timer; negative disables.
	IdleTimeout time.Duration
	// MaxDatagram bounds datagrams in both directions; longer received
	// ones are dropped (ConnStats.Oversize). Default DefaultMaxDatagram.
	MaxDatagram int
	// Linger is how long, after a call ends, datagrams from its peer's
	// address are dropped rather than starting a new call: peers repeat
	// their last messages (DCN, end-of-signal indicators) after the far end
	// has hung up. Default 2 s; negative disables.
	Linger time.Duration
	// AcceptFilter, if set, sees the first datagram from an unknown peer and
	// decides whether it starts a call (for example: does it parse as
	// UDPTL?). It runs on the listener's read goroutine: keep it cheap.
	AcceptFilter func(first []byte) bool
	// ReadBufferSize is the socket's receive buffer (SO_RCVBUF; the kernel
	// may cap it). Default 4 MiB, since one socket carries every call.
	ReadBufferSize int
	// WriteBufferSize is the socket's send buffer; 0 keeps the OS default.
	WriteBufferSize int
	// BatchIO reads and writes the shared socket in batches (recvmmsg and
	// sendmmsg on Linux, through pion's batch connection), which saves
	// system calls when many calls are busy. Writes then wait up to
	// BatchInterval to be sent with others.
	BatchIO bool
	// BatchSize is the most datagrams per batch. Default 32.
	BatchSize int
	// BatchInterval is the longest a write waits for its batch. Default
	// 1 ms, small beside T.38's 20-40 ms packet spacing.
	BatchInterval time.Duration
	// Clock times idle timeouts. Default the system clock.
	Clock clock.Clock
}

type listenConfig struct {
	maxCalls, backlog, queueLen, maxDg int
	idle, linger                       time.Duration
	filter                             func([]byte) bool
	clock                              clock.Clock
}

func (c *ListenConfig) resolve() listenConfig {
	var z ListenConfig
	if c == nil {
		c = &z
	}
	r := listenConfig{
		maxCalls: c.MaxCalls, backlog: c.Backlog, queueLen: c.QueueLen,
		maxDg: c.MaxDatagram, idle: c.IdleTimeout, linger: c.Linger, filter: c.AcceptFilter,
		clock: clockOrReal(c.Clock),
	}
	if r.maxCalls <= 0 {
		r.maxCalls = 1024
	}
	if r.backlog <= 0 {
		r.backlog = 128
	}
	if r.queueLen <= 0 {
		r.queueLen = 64
	}
	if r.maxDg <= 0 {
		r.maxDg = DefaultMaxDatagram
	}
	if r.idle == 0 {
		r.idle = 60 * time.Second
	}
	if r.linger == 0 {
		r.linger = 2 * time.Second
	}
	return r
}

// ListenerStats counts a Listener's calls.
type ListenerStats struct {
	// Active is the number of calls open now (accepted or waiting).
	Active int
	// Accepted counts calls handed out by Accept.
	Accepted uint64
	// Rejected counts datagrams from new peers turned away because
	// MaxCalls calls were open or the Accept backlog was full.
	Rejected uint64
	// IdleClosed counts calls ended by IdleTimeout.
	IdleClosed uint64
	// Lingered counts datagrams dropped because their address's call had
	// just ended (see Linger).
	Lingered uint64
}

// Listener serves many calls on one UDP port: each remote address is a
// call, handed out by Accept as a *Conn. One goroutine reads the socket and
// puts each datagram straight into its call's bounded receive queue; the
// Listener bounds the calls, expires idle ones, drops the late repetitions
// of ended calls, and has a shutdown that waits for its goroutine.
//
// It was first built on pion/transport's UDP listener, whose Accept can add
// to a WaitGroup that its Close has already waited on (a data race the race
// detector reports when a peer's first datagram arrives as the listener
// closes). Owning the demultiplexer also removes pion's per-call buffer and
// the goroutine per call that copied from it into the bounded queue. pion's
// BatchConn is still what BatchIO reads and writes through.
type Listener struct {
	cfg  listenConfig
	uc   *net.UDPConn
	bc   *udp.BatchConn // around uc when BatchIO, else nil
	addr net.Addr

	accCh chan *Conn // only the read loop sends, holding mu

	done      chan struct{} // closed when Close or Shutdown starts
	readDone  chan struct{} // closed when readLoop returns
	readErr   error         // why readLoop returned, read after readDone
	stopOnce  sync.Once
	closeOnce sync.Once
	closeErr  error

	mu      sync.Mutex
	calls   map[netip.AddrPort]*call
	changed chan struct{} // capacity 1: a call ended

	recentMu sync.Mutex
	recent   map[netip.AddrPort]time.Time // ended calls' peers, until when to ignore them

	active                                   atomic.Int64
	accepted, rejected, idleClosed, lingered atomic.Uint64
}

// Listen serves calls on the local UDP address (for example
// "127.0.0.1:4000" or ":0"). network is "udp", "udp4" or "udp6".
func Listen(network, address string, cfg *ListenConfig) (*Listener, error) {
	laddr, err := net.ResolveUDPAddr(network, address)
	if err != nil {
		return nil, fmt.Errorf("transport: %w", err)
	}
	l := &Listener{
		cfg:      cfg.resolve(),
		done:     make(chan struct{}),
		readDone: make(chan struct{}),
		calls:    make(map[netip.AddrPort]*call),
		recent:   make(map[netip.AddrPort]time.Time),
		changed:  make(chan struct{}, 1),
	}
	l.accCh = make(chan *Conn, l.cfg.backlog)
	uc, err := net.ListenUDP(network, laddr)
	if err != nil {
		return nil, fmt.Errorf("transport: %w", err)
	}
	rbuf := 4 << 20
	if cfg != nil && cfg.ReadBufferSize > 0 {
		rbuf = cfg.ReadBufferSize
	}
	_ = uc.SetReadBuffer(rbuf)
	if cfg != nil && cfg.WriteBufferSize > 0 {
		_ = uc.SetWriteBuffer(cfg.WriteBufferSize)
	}
	l.uc, l.addr = uc, uc.LocalAddr()
	batch := 0
	if cfg != nil && cfg.BatchIO {
		size, interval := cfg.BatchSize, cfg.BatchInterval
		if size <= 0 {
			size = 32
		}
		if interval <= 0 {
			interval = time.Millisecond
		}
		l.bc = udp.NewBatchConn(uc, size, interval)
		batch = size
	}
	go l.readLoop(batch)
	return l, nil
}

// readLoop reads the socket until it is closed, one datagram or one batch
// at a time, and hands each datagram to its call.
func (l *Listener) readLoop(batch int) {
	defer close(l.readDone)
	// One octet more than MaxDatagram tells an oversize datagram (which
	// the OS truncates) from one that fits exactly.
	size := l.cfg.maxDg + 1
	if batch < 2 {
		buf := make([]byte, size)
		for {
			n, ap, err := l.uc.ReadFromUDPAddrPort(buf)
			if err != nil {
				l.readErr = err
				return
			}
			l.dispatch(ap, buf[:n])
		}
	}
	msgs := make([]ipv4.Message, batch)
	for i := range msgs {
		msgs[i].Buffers = [][]byte{make([]byte, size)}
	}
	for {
		n, err := l.bc.ReadBatch(msgs, 0)
		if err != nil {
			l.readErr = err
			return
		}
		for _, m := range msgs[:n] {
			if ua, ok := m.Addr.(*net.UDPAddr); ok {
				l.dispatch(ua.AddrPort(), m.Buffers[0][:m.N])
			}
		}
	}
}

// dispatch queues one datagram from ap on its call, or starts a call when
// ap has none and the listener takes new calls.
func (l *Listener) dispatch(ap netip.AddrPort, b []byte) {
	l.mu.Lock()
	c := l.calls[ap]
	if c == nil {
		c = l.admit(ap, b)
	}
	l.mu.Unlock()
	if c == nil {
		return
	}
	if len(b) > l.cfg.maxDg {
		c.oversize.Add(1)
		return
	}
	c.lastRx.Store(l.cfg.clock.Now().UnixNano())
	c.q.push(b, nil)
}

// admit decides, holding l.mu, whether the first datagram b from ap starts
// a call, and if so starts it and queues it for Accept.
func (l *Listener) admit(ap netip.AddrPort, b []byte) *call {
	switch {
	case l.stopping():
		return nil
	case l.lingering(ap):
		l.lingered.Add(1)
		return nil
	case l.active.Load() >= int64(l.cfg.maxCalls) || len(l.accCh) == cap(l.accCh):
		l.rejected.Add(1)
		return nil
	case l.cfg.filter != nil && !l.cfg.filter(b):
		return nil
	}
	c := l.newCall(ap)
	conn := &Conn{call: c, maxDg: l.cfg.maxDg}
	conn.setPeer(c.raddr)
	conn.latched.Store(true)
	l.accCh <- conn // room checked above; only dispatch sends, holding mu
	return c
}

func (l *Listener) stopping() bool {
	select {
	case <-l.done:
		return true
	default:
		return false
	}
}

// lingering reports whether a call with ap ended less than Linger ago.
func (l *Listener) lingering(ap netip.AddrPort) bool {
	if l.cfg.linger <= 0 {
		return false
	}
	l.recentMu.Lock()
	defer l.recentMu.Unlock()
	until, ok := l.recent[ap]
	if !ok {
		return false
	}
	if l.cfg.clock.Now().Before(until) {
		return true
	}
	delete(l.recent, ap)
	return false
}

// remember starts ap's linger period.
func (l *Listener) remember(ap netip.AddrPort) {
	if l.cfg.linger <= 0 || l.stopping() {
		return
	}
	now := l.cfg.clock.Now()
	l.recentMu.Lock()
	defer l.recentMu.Unlock()
	if len(l.recent) >= 256 && len(l.recent) >= l.cfg.maxCalls {
		for k, until := range l.recent {
			if !now.Before(until) {
				delete(l.recent, k)
			}
		}
	}
	l.recent[ap] = now.Add(l.cfg.linger)
}

// Accept waits for the next call. It returns ErrListenerClosed once the
// listener is closed or shutting down, and ctx.Err() if ctx ends first.
func (l *Listener) Accept(ctx context.Context) (*Conn, error) {
	select {
	case c := <-l.accCh:
		l.accepted.Add(1)
		return c, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-l.done:
		return nil, ErrListenerClosed
	case <-l.readDone:
		if l.stopping() {
			return nil, ErrListenerClosed
		}
		return nil, fmt.Errorf("transport: listener failed: %w", l.readErr)
	}
}

// Addr returns the local address calls are served on.
func (l *Listener) Addr() net.Addr { return l.addr }

// Stats returns the listener's counters so far.
func (l *Listener) Stats() ListenerStats {
	return ListenerStats{
		Active:     int(l.active.Load()),
		Accepted:   l.accepted.Load(),
		Rejected:   l.rejected.Load(),
		IdleClosed: l.idleClosed.Load(),
		Lingered:   l.lingered.Load(),
	}
}

// stop ends accepting: new peers are no longer turned into calls, while
// open calls keep receiving.
func (l *Listener) stop() {
	l.stopOnce.Do(func() {
		// Once done is closed, a dispatch that takes mu after this one
		// starts no call, so the drain below leaves accCh empty for good.
		close(l.done)
		l.mu.Lock()
		var waiting []*call
		for {
			select {
			case c := <-l.accCh:
				waiting = append(waiting, c.call)
				continue
			default:
			}
			break
		}
		l.mu.Unlock()
		// Calls that were never accepted will never be read: end them.
		for _, c := range waiting {
			_ = c.close(ErrListenerClosed)
		}
	})
}

// Shutdown stops accepting calls and waits until the open calls have been
// closed by their owners (or ended by IdleTimeout), then closes the
// listener. If ctx ends first the remaining calls are closed and ctx.Err()
// is returned.
func (l *Listener) Shutdown(ctx context.Context) error {
	l.stop()
	for l.active.Load() > 0 {
		select {
		case <-l.changed:
		case <-ctx.Done():
			_ = l.Close()
			return ctx.Err()
		}
	}
	return l.Close()
}

// Close stops accepting, ends every open call (their reads return
// ErrListenerClosed), closes the socket and returns once the listener's
// goroutine has finished.
func (l *Listener) Close() error {
	l.closeOnce.Do(func() {
		l.stop()
		l.mu.Lock()
		calls := make([]*call, 0, len(l.calls))
		for _, c := range l.calls {
			calls = append(calls, c)
		}
		l.mu.Unlock()
		for _, c := range calls {
			_ = c.close(ErrListenerClosed)
		}
		if l.bc != nil {
			l.closeErr = l.bc.Close()
		} else {
			l.closeErr = l.uc.Close()
		}
		<-l.readDone
	})
	return l.closeErr
}

// call is the listener side of one Conn.
type call struct {
	l     *Listener
	ap    netip.AddrPort
	raddr *net.UDPAddr
	q     *packetQueue
	rdl   *deadline.Deadline

	lastRx   atomic.Int64 // clock reading, UnixNano
	oversize atomic.Uint64

	mu       sync.Mutex
	timer    clock.Timer
	ended    bool
	causeErr error

	closeOnce sync.Once
}

// newCall starts the call with the peer at ap; the caller holds l.mu.
func (l *Listener) newCall(ap netip.AddrPort) *call {
	c := &call{
		l:     l,
		ap:    ap,
		raddr: net.UDPAddrFromAddrPort(ap),
		q:     newPacketQueue(l.cfg.queueLen),
		rdl:   deadline.New(),
	}
	c.lastRx.Store(l.cfg.clock.Now().UnixNano())
	l.calls[ap] = c
	l.active.Add(1)
	if l.cfg.idle > 0 {
		c.mu.Lock()
		c.timer = afterFunc(l.cfg.clock, l.cfg.idle, c.checkIdle)
		c.mu.Unlock()
	}
	return c
}

func (c *call) checkIdle() {
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		return
	}
	idle := time.Duration(c.l.cfg.clock.Now().UnixNano() - c.lastRx.Load())
	if idle < c.l.cfg.idle {
		c.timer = afterFunc(c.l.cfg.clock, c.l.cfg.idle-idle, c.checkIdle)
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	c.l.idleClosed.Add(1)
	_ = c.close(ErrIdle)
}

func (c *call) write(p []byte) error {
	if c.l.bc != nil {
		_, err := c.l.bc.WriteTo(p, c.raddr)
		return err
	}
	_, err := c.l.uc.WriteToUDPAddrPort(p, c.ap)
	return err
}

func (c *call) cause() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.causeErr != nil {
		return c.causeErr
	}
	return ErrClosed
}

// close ends the call with cause (what its reads will return) and frees
// its slot; datagrams from its peer then linger (see Linger).
func (c *call) close(cause error) error {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.ended = true
		c.causeErr = cause
		if c.timer != nil {
			c.timer.Stop()
		}
		c.mu.Unlock()
		c.q.close(cause)
		c.q.discard() // reads report the end at once, not stale data
		l := c.l
		// Remembered before the slot is freed, so that no datagram from
		// the peer starts a new call in between.
		l.remember(c.ap)
		l.mu.Lock()
		if l.calls[c.ap] == c {
			delete(l.calls, c.ap)
		}
		l.mu.Unlock()
		l.active.Add(-1)
		select {
		case l.changed <- struct{}{}:
		default:
		}
	})
	return nil
}
