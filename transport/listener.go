package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/transport/v5/deadline"
	"github.com/pion/transport/v5/udp"

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
// call, handed out by Accept as a *Conn. It is built on the connection
// demultiplexer of github.com/pion/transport/v5/udp (the maintained
// successor of pion/udp), adding a bound on calls, a bounded receive queue
// per call, idle timeouts and a shutdown that waits for its goroutines.
type Listener struct {
	cfg   listenConfig
	pl    net.Listener
	addr  net.Addr
	accCh chan *Conn

	done       chan struct{} // closed when Close or Shutdown starts
	acceptDone chan struct{} // closed when acceptLoop returns
	acceptErr  error         // why acceptLoop returned, read after acceptDone
	stopOnce   sync.Once
	closeOnce  sync.Once
	closeErr   error
	wg         sync.WaitGroup // acceptLoop and call pumps

	mu      sync.Mutex
	calls   map[*call]struct{}
	changed chan struct{} // capacity 1: a call ended

	recentMu sync.Mutex
	recent   map[string]time.Time // ended calls' peers, until when to ignore them

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
		cfg:        cfg.resolve(),
		done:       make(chan struct{}),
		acceptDone: make(chan struct{}),
		calls:      make(map[*call]struct{}),
		recent:     make(map[string]time.Time),
		changed:    make(chan struct{}, 1),
	}
	l.accCh = make(chan *Conn, l.cfg.backlog)
	rbuf := 4 << 20
	var wbuf int
	if cfg != nil {
		if cfg.ReadBufferSize > 0 {
			rbuf = cfg.ReadBufferSize
		}
		wbuf = cfg.WriteBufferSize
	}
	lc := udp.ListenConfig{
		Backlog:         l.cfg.backlog,
		AcceptFilter:    l.filter,
		ReadBufferSize:  rbuf,
		WriteBufferSize: wbuf,
	}
	if cfg != nil && cfg.BatchIO {
		size, interval := cfg.BatchSize, cfg.BatchInterval
		if size <= 0 {
			size = 32
		}
		if interval <= 0 {
			interval = time.Millisecond
		}
		lc.Batch = udp.BatchIOConfig{Enable: true, ReadBatchSize: size, WriteBatchSize: size, WriteBatchInterval: interval}
	}
	pl, err := lc.Listen(network, laddr)
	if err != nil {
		return nil, fmt.Errorf("transport: %w", err)
	}
	l.pl = pl
	l.addr = pl.Addr()
	l.wg.Add(1)
	go l.acceptLoop()
	return l, nil
}

// filter runs under pion's connection lock for each datagram from an
// unknown peer.
func (l *Listener) filter(b []byte) bool {
	if l.active.Load() >= int64(l.cfg.maxCalls) {
		l.rejected.Add(1)
		return false
	}
	if l.cfg.filter != nil {
		return l.cfg.filter(b)
	}
	return true
}

func (l *Listener) acceptLoop() {
	defer l.wg.Done()
	defer close(l.acceptDone)
	for {
		nc, err := l.pl.Accept()
		if err != nil {
			l.acceptErr = err
			return
		}
		if l.lingering(nc.RemoteAddr()) {
			_ = nc.Close()
			l.lingered.Add(1)
			continue
		}
		// Only this goroutine sends on accCh, so a slot seen free here
		// stays free until the send below.
		if l.stopping() || l.active.Load() >= int64(l.cfg.maxCalls) || len(l.accCh) == cap(l.accCh) {
			_ = nc.Close()
			l.rejected.Add(1)
			continue
		}
		c := l.newCall(nc)
		conn := &Conn{call: c, maxDg: l.cfg.maxDg}
		conn.setPeer(nc.RemoteAddr())
		conn.latched.Store(true)
		l.accCh <- conn
	}
}

func (l *Listener) stopping() bool {
	select {
	case <-l.done:
		return true
	default:
		return false
	}
}

// lingering reports whether a call with addr ended less than Linger ago.
func (l *Listener) lingering(addr net.Addr) bool {
	if l.cfg.linger <= 0 {
		return false
	}
	key := addr.String()
	l.recentMu.Lock()
	defer l.recentMu.Unlock()
	until, ok := l.recent[key]
	if !ok {
		return false
	}
	if l.cfg.clock.Now().Before(until) {
		return true
	}
	delete(l.recent, key)
	return false
}

// remember starts addr's linger period.
func (l *Listener) remember(addr net.Addr) {
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
	l.recent[addr.String()] = now.Add(l.cfg.linger)
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
	case <-l.acceptDone:
		if l.stopping() {
			return nil, ErrListenerClosed
		}
		return nil, fmt.Errorf("transport: listener failed: %w", l.acceptErr)
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
		close(l.done)
		if err := l.pl.Close(); err != nil && !errors.Is(err, udp.ErrClosedListener) {
			l.closeErr = err
		}
		<-l.acceptDone
		// Calls that were never accepted will never be read: end them.
		for {
			select {
			case c := <-l.accCh:
				_ = c.call.close(ErrListenerClosed)
				continue
			default:
			}
			break
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
// ErrListenerClosed) and returns once the listener's goroutines, and pion's,
// have finished.
func (l *Listener) Close() error {
	l.closeOnce.Do(func() {
		l.stop()
		l.mu.Lock()
		calls := make([]*call, 0, len(l.calls))
		for c := range l.calls {
			calls = append(calls, c)
		}
		l.mu.Unlock()
		for _, c := range calls {
			_ = c.close(ErrListenerClosed)
		}
		l.wg.Wait()
	})
	return l.closeErr
}

// call is the listener side of one Conn.
type call struct {
	l   *Listener
	pc  net.Conn // pion's per-remote conn
	q   *packetQueue
	rdl *deadline.Deadline

	lastRx   atomic.Int64 // clock reading, UnixNano
	oversize atomic.Uint64

	mu       sync.Mutex
	timer    clock.Timer
	ended    bool
	causeErr error

	closeOnce sync.Once
	closeErr  error
	pumpDone  chan struct{}
}

func (l *Listener) newCall(nc net.Conn) *call {
	c := &call{
		l:        l,
		pc:       nc,
		q:        newPacketQueue(l.cfg.queueLen),
		rdl:      deadline.New(),
		pumpDone: make(chan struct{}),
	}
	c.lastRx.Store(l.cfg.clock.Now().UnixNano())
	l.mu.Lock()
	l.calls[c] = struct{}{}
	l.mu.Unlock()
	l.active.Add(1)
	if l.cfg.idle > 0 {
		c.mu.Lock()
		c.timer = afterFunc(l.cfg.clock, l.cfg.idle, c.checkIdle)
		c.mu.Unlock()
	}
	l.wg.Add(1)
	go c.pump()
	return c
}

// pump moves datagrams from pion's per-remote buffer into the call's
// bounded queue, so that a stalled reader costs at most QueueLen datagrams.
func (c *call) pump() {
	defer c.l.wg.Done()
	defer close(c.pumpDone)
	buf := make([]byte, c.l.cfg.maxDg)
	for {
		n, err := c.pc.Read(buf)
		if errors.Is(err, io.ErrShortBuffer) {
			c.oversize.Add(1)
			continue
		}
		if err != nil {
			c.q.close(c.cause())
			return
		}
		c.lastRx.Store(c.l.cfg.clock.Now().UnixNano())
		c.q.push(buf[:n], nil)
	}
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
	_, err := c.pc.Write(p)
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

// close ends the call with cause (what its reads will return) and waits
// for its pump goroutine.
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
		c.closeErr = c.pc.Close()
		<-c.pumpDone
		l := c.l
		l.remember(c.pc.RemoteAddr())
		l.mu.Lock()
		delete(l.calls, c)
		l.mu.Unlock()
		l.active.Add(-1)
		select {
		case l.changed <- struct{}{}:
		default:
		}
	})
	return c.closeErr
}
