package transport

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/transport/v5/deadline"

	"github.com/faxkit/faxkit/internal/clock"
)

// Impairment describes what the network does to datagrams travelling in one
// direction. The zero value passes everything through untouched;
// probabilities are clamped to [0, 1] and negative durations read as zero
// (NaN as zero too). All random
// decisions come from a PCG generator seeded with Seed, so a run that
// offers the same datagrams in the same order suffers the same impairments.
//
// Per datagram, in this order: the Gilbert-Elliott state advances and may
// lose it; a fixed-length burst may be running or start; independent random
// loss; duplication; then each copy may be held back for reordering and is
// delayed by Delay plus a uniform jitter.
type Impairment struct {
	// Loss is the probability that a datagram is lost independently of
	// the others.
	Loss float64
	// BurstRate is the probability that a loss burst of BurstLen
	// consecutive datagrams starts at a datagram not already in a burst.
	// The long-run fraction lost to bursts is r·L/(r·L+1-r).
	BurstRate float64
	// BurstLen is the length of fixed bursts. Default 4 when BurstRate > 0.
	BurstLen int
	// GilbertElliott, if set, adds two-state Markov (bursty) loss.
	GilbertElliott *GilbertElliott
	// Duplicate is the probability that a delivered datagram is sent twice.
	Duplicate float64
	// Reorder is the probability that a datagram is held back and delivered
	// just after the next one (or after ReorderHold, if none follows).
	Reorder float64
	// ReorderHold bounds how long a held-back datagram waits for a
	// successor. Default 50 ms.
	ReorderHold time.Duration
	// Delay is added to every datagram's delivery. Delayed datagrams keep
	// their order unless Jitter reorders them.
	Delay time.Duration
	// Jitter adds a uniformly random extra delay in [0, Jitter); datagrams
	// whose delivery times cross are delivered in delivery-time order.
	Jitter time.Duration
	// Seed seeds the generator; the zero seed is as deterministic as any.
	Seed uint64
}

// GilbertElliott is the two-state bursty loss model: a Markov chain that
// moves between a good and a bad state once per datagram, losing datagrams
// with LossGood or LossBad probability in each. The classic Gilbert model
// is LossGood 0, LossBad 1; its mean burst length is 1/PBadGood and its
// long-run loss rate PGoodBad/(PGoodBad+PBadGood).
type GilbertElliott struct {
	PGoodBad, PBadGood float64 // transition probabilities per datagram
	LossGood, LossBad  float64 // loss probability in each state
}

func (m Impairment) active() bool {
	return m.Loss > 0 || m.BurstRate > 0 || m.GilbertElliott != nil || m.Duplicate > 0 ||
		m.Reorder > 0 || m.Delay > 0 || m.Jitter > 0
}

// ImpairStats counts what an impairment did to one direction.
type ImpairStats struct {
	Offered    uint64 // datagrams submitted
	Delivered  uint64 // datagrams passed on, duplicates included
	Lost       uint64 // datagrams dropped, all causes
	BurstLost  uint64 // of Lost: in fixed bursts or the Gilbert-Elliott bad state
	Duplicated uint64 // extra copies made
	Reordered  uint64 // datagrams held back behind a successor
	Delayed    uint64 // datagrams that went through the delay line
	Bursts     uint64 // loss bursts started (fixed or Gilbert-Elliott)
}

// stage applies one direction's Impairment and hands survivors to deliver,
// which is called with the stage's lock held and must not retain p.
type stage struct {
	mu      sync.Mutex
	m       Impairment
	rng     *rand.Rand
	clock   clock.Clock
	deliver func(p []byte, addr net.Addr)
	closed  bool

	geBad     bool
	burstLeft int
	inBurst   bool // previous datagram was lost to a burst

	held      *pending
	holdTimer clock.Timer

	line      []*pending // delay line, sorted by due time (FIFO on ties)
	lineTimer clock.Timer
	armedAt   time.Time

	st ImpairStats
}

type pending struct {
	due  time.Time
	b    []byte
	addr net.Addr
}

// clamp01 keeps a probability in [0, 1].
func clamp01(p float64) float64 {
	if !(p > 0) { // also NaN
		return 0
	}
	return min(p, 1)
}

func newStage(m Impairment, clk clock.Clock, deliver func([]byte, net.Addr)) *stage {
	m.Loss, m.BurstRate, m.Duplicate, m.Reorder = clamp01(m.Loss), clamp01(m.BurstRate), clamp01(m.Duplicate), clamp01(m.Reorder)
	if ge := m.GilbertElliott; ge != nil {
		m.GilbertElliott = &GilbertElliott{
			PGoodBad: clamp01(ge.PGoodBad), PBadGood: clamp01(ge.PBadGood),
			LossGood: clamp01(ge.LossGood), LossBad: clamp01(ge.LossBad),
		}
	}
	m.Delay, m.Jitter = max(m.Delay, 0), max(m.Jitter, 0)
	if m.BurstRate > 0 && m.BurstLen <= 0 {
		m.BurstLen = 4
	}
	if m.ReorderHold <= 0 {
		m.ReorderHold = 50 * time.Millisecond
	}
	return &stage{
		m:       m,
		rng:     rand.New(rand.NewPCG(m.Seed, m.Seed^0x9e3779b97f4a7c15)),
		clock:   clockOrReal(clk),
		deliver: deliver,
	}
}

// submit puts one datagram through the impairment.
func (s *stage) submit(p []byte, addr net.Addr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.st.Offered++
	m := &s.m
	lost, burst := false, false
	if ge := m.GilbertElliott; ge != nil {
		if s.geBad {
			if s.rng.Float64() < ge.PBadGood {
				s.geBad = false
			}
		} else if s.rng.Float64() < ge.PGoodBad {
			s.geBad = true
		}
		lossP := ge.LossGood
		if s.geBad {
			lossP = ge.LossBad
		}
		if s.rng.Float64() < lossP {
			lost, burst = true, s.geBad
		}
	}
	if m.BurstRate > 0 {
		if s.burstLeft > 0 {
			s.burstLeft--
			lost, burst = true, true
		} else if s.rng.Float64() < m.BurstRate {
			s.burstLeft = m.BurstLen - 1
			lost, burst = true, true
		}
	}
	if m.Loss > 0 && s.rng.Float64() < m.Loss && !lost {
		lost = true
	}
	if lost {
		s.st.Lost++
		if burst {
			s.st.BurstLost++
			if !s.inBurst {
				s.st.Bursts++
			}
		}
		s.inBurst = burst
		return
	}
	s.inBurst = false
	copies := 1
	if m.Duplicate > 0 && s.rng.Float64() < m.Duplicate {
		copies = 2
		s.st.Duplicated++
	}
	for range copies {
		if m.Reorder > 0 && s.held == nil && s.rng.Float64() < m.Reorder {
			s.st.Reordered++
			h := &pending{b: append([]byte(nil), p...), addr: addr}
			s.held = h
			s.holdTimer = afterFunc(s.clock, m.ReorderHold, func() { s.releaseHeld(h) })
			continue
		}
		s.emit(p, addr)
		if h := s.held; h != nil {
			s.held = nil
			s.holdTimer.Stop()
			s.emit(h.b, h.addr)
		}
	}
}

// releaseHeld delivers h when its hold expires, unless a successor has
// released it already. A timer that fired while submit was stopping it
// finds another datagram held (or none) and must leave that one alone.
func (s *stage) releaseHeld(h *pending) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held == h && !s.closed {
		s.held = nil
		s.emit(h.b, h.addr)
	}
}

// emit delivers p now or puts it on the delay line. Called with s.mu held.
func (s *stage) emit(p []byte, addr net.Addr) {
	d := s.m.Delay
	if s.m.Jitter > 0 {
		d += time.Duration(s.rng.Int64N(int64(s.m.Jitter)))
	}
	if d <= 0 {
		s.st.Delivered++
		s.deliver(p, addr)
		return
	}
	s.st.Delayed++
	due := s.clock.Now().Add(d)
	e := &pending{due: due, b: append([]byte(nil), p...), addr: addr}
	i := len(s.line)
	for i > 0 && s.line[i-1].due.After(due) {
		i--
	}
	s.line = append(s.line, nil)
	copy(s.line[i+1:], s.line[i:])
	s.line[i] = e
	if i == 0 {
		s.arm()
	}
}

// arm sets the delay-line timer for the head of the line.
func (s *stage) arm() {
	if len(s.line) == 0 {
		return
	}
	due := s.line[0].due
	if s.lineTimer != nil {
		if s.armedAt.Equal(due) {
			return
		}
		s.lineTimer.Stop()
	}
	s.armedAt = due
	s.lineTimer = afterFunc(s.clock, due.Sub(s.clock.Now()), s.flush)
}

// flush delivers every datagram on the delay line that is due.
func (s *stage) flush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	// lineTimer is left as it is: if emit re-armed it for an earlier
	// datagram while this call waited for the lock, it is a live timer
	// that arm below keeps (same due time) or stops; forgetting it would
	// leave it pending past close.
	now := s.clock.Now()
	k := 0
	for k < len(s.line) && !s.line[k].due.After(now) {
		s.st.Delivered++
		s.deliver(s.line[k].b, s.line[k].addr)
		s.line[k] = nil
		k++
	}
	s.line = s.line[k:]
	s.arm()
}

func (s *stage) stats() ImpairStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st
}

// close stops the timers and discards what is still held or delayed.
func (s *stage) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.holdTimer != nil {
		s.holdTimer.Stop()
	}
	if s.lineTimer != nil {
		s.lineTimer.Stop()
	}
	s.held, s.line = nil, nil
}

// ImpairConfig configures Impair. The zero value passes traffic untouched.
type ImpairConfig struct {
	// Send impairs datagrams written with WriteTo.
	Send Impairment
	// Receive impairs datagrams read from the wrapped connection.
	Receive Impairment
	// Clock drives Delay, Jitter and ReorderHold. Default the system
	// clock; tests pass a *clock.Fake (see clock.go).
	Clock clock.Clock
	// QueueLen bounds received datagrams waiting for ReadFrom when Receive
	// is active; beyond it the oldest is dropped. Default 256.
	QueueLen int
	// MaxDatagram is the read buffer used on the wrapped connection when
	// Receive is active. Default 65535.
	MaxDatagram int
}

// ImpairedConn is a net.PacketConn that impairs the datagrams another one
// sends and receives. Failed delayed writes are counted, not returned.
type ImpairedConn struct {
	pc      net.PacketConn
	send    *stage
	recv    *stage // nil: reads pass straight through
	q       *packetQueue
	rdl     *deadline.Deadline
	pumpEnd chan struct{}

	writeErrs atomic.Uint64
	closeOnce sync.Once
	closeErr  error
	closed    atomic.Bool
}

var _ net.PacketConn = (*ImpairedConn)(nil)

// Impair wraps pc. The ImpairedConn owns pc: Close closes it. When
// cfg.Receive is active a goroutine reads pc until Close.
func Impair(pc net.PacketConn, cfg *ImpairConfig) *ImpairedConn {
	if cfg == nil {
		cfg = &ImpairConfig{}
	}
	c := &ImpairedConn{pc: pc}
	c.send = newStage(cfg.Send, cfg.Clock, func(p []byte, addr net.Addr) {
		if _, err := pc.WriteTo(p, addr); err != nil {
			c.writeErrs.Add(1)
		}
	})
	if cfg.Receive.active() {
		ql := cfg.QueueLen
		if ql <= 0 {
			ql = 256
		}
		c.q = newPacketQueue(ql)
		c.rdl = deadline.New()
		c.recv = newStage(cfg.Receive, cfg.Clock, func(p []byte, addr net.Addr) { c.q.push(p, addr) })
		mdg := cfg.MaxDatagram
		if mdg <= 0 {
			mdg = 65535
		}
		c.pumpEnd = make(chan struct{})
		go c.pump(mdg)
	}
	return c
}

func (c *ImpairedConn) pump(size int) {
	defer close(c.pumpEnd)
	buf := make([]byte, size)
	for {
		n, addr, err := c.pc.ReadFrom(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && !c.closed.Load() {
				continue
			}
			if c.closed.Load() || (errors.Is(err, net.ErrClosed) && !errors.Is(err, ErrClosed)) {
				err = ErrClosed
			}
			c.q.close(err) // readers learn why: ErrIdle, a socket error...
			return
		}
		c.recv.submit(buf[:n], addr)
	}
}

// ReadFrom implements net.PacketConn.
func (c *ImpairedConn) ReadFrom(p []byte) (int, net.Addr, error) {
	if c.recv == nil {
		n, addr, err := c.pc.ReadFrom(p)
		if err != nil && c.closed.Load() {
			return 0, nil, ErrClosed
		}
		return n, addr, err
	}
	if c.closed.Load() {
		return 0, nil, ErrClosed
	}
	return c.q.pop(context.Background(), c.rdl, p)
}

// WriteTo implements net.PacketConn. It reports success for datagrams the
// impairment drops, as a network would.
func (c *ImpairedConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	if c.closed.Load() {
		return 0, ErrClosed
	}
	c.send.submit(p, addr)
	return len(p), nil
}

// Close stops the impairments, discards datagrams still delayed and closes
// the wrapped connection.
func (c *ImpairedConn) Close() error {
	c.closeOnce.Do(func() {
		c.closed.Store(true)
		c.send.close()
		if c.recv != nil {
			c.recv.close()
			c.q.close(ErrClosed)
		}
		c.closeErr = c.pc.Close()
		if c.pumpEnd != nil {
			<-c.pumpEnd
		}
	})
	return c.closeErr
}

// LocalAddr implements net.PacketConn.
func (c *ImpairedConn) LocalAddr() net.Addr { return c.pc.LocalAddr() }

// SetDeadline implements net.PacketConn.
func (c *ImpairedConn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

// SetReadDeadline implements net.PacketConn.
func (c *ImpairedConn) SetReadDeadline(t time.Time) error {
	if c.recv == nil {
		return c.pc.SetReadDeadline(t)
	}
	c.rdl.Set(t)
	return nil
}

// SetWriteDeadline implements net.PacketConn.
func (c *ImpairedConn) SetWriteDeadline(t time.Time) error { return c.pc.SetWriteDeadline(t) }

// Stats returns the counters of both directions and the number of delayed
// writes the wrapped connection refused.
func (c *ImpairedConn) Stats() (send, receive ImpairStats, writeErrors uint64) {
	send = c.send.stats()
	if c.recv != nil {
		receive = c.recv.stats()
	}
	return send, receive, c.writeErrs.Load()
}

// PipeConfig configures Pipe. The zero value is a perfect link.
type PipeConfig struct {
	AToB, BToA Impairment
	// Clock drives delays. Default the system clock; tests
	// pass a *clock.Fake.
	Clock clock.Clock
	// QueueLen bounds datagrams waiting at each end; beyond it the oldest
	// is dropped. Default 256.
	QueueLen int
}

// PipeAddr is the address of one end of a Pipe.
type PipeAddr string

// Network returns "pipe".
func (PipeAddr) Network() string { return "pipe" }

func (a PipeAddr) String() string { return string(a) }

// PipeConn is one end of an in-memory datagram link made by Pipe. Every
// datagram written goes to the other end, whatever address it names.
type PipeConn struct {
	addr   net.Addr
	peer   *PipeConn
	out    *stage
	q      *packetQueue
	rdl    *deadline.Deadline
	closed atomic.Bool
	once   sync.Once
}

var _ net.PacketConn = (*PipeConn)(nil)

// Pipe returns two connected in-memory PacketConns, "a" and "b", with the
// configured impairment in each direction.
func Pipe(cfg *PipeConfig) (a, b *PipeConn) {
	if cfg == nil {
		cfg = &PipeConfig{}
	}
	ql := cfg.QueueLen
	if ql <= 0 {
		ql = 256
	}
	a = &PipeConn{addr: PipeAddr("a"), q: newPacketQueue(ql), rdl: deadline.New()}
	b = &PipeConn{addr: PipeAddr("b"), q: newPacketQueue(ql), rdl: deadline.New()}
	a.peer, b.peer = b, a
	a.out = newStage(cfg.AToB, cfg.Clock, func(p []byte, _ net.Addr) { b.q.push(p, a.addr) })
	b.out = newStage(cfg.BToA, cfg.Clock, func(p []byte, _ net.Addr) { a.q.push(p, b.addr) })
	return a, b
}

// PipeEndpoints is Pipe with each end wrapped in a Conn whose peer is the
// other end: two connected Endpoints for testing a T.38 terminal (or two)
// in memory. The PipeConns are reachable for Stats through Conn.PacketConn.
func PipeEndpoints(cfg *PipeConfig) (a, b *Conn) {
	pa, pb := Pipe(cfg)
	return NewConn(pa, pb.LocalAddr(), nil), NewConn(pb, pa.LocalAddr(), nil)
}

// ReadFrom implements net.PacketConn.
func (c *PipeConn) ReadFrom(p []byte) (int, net.Addr, error) {
	if c.closed.Load() {
		return 0, nil, ErrClosed
	}
	return c.q.pop(context.Background(), c.rdl, p)
}

// WriteTo implements net.PacketConn. Datagrams to a closed end vanish.
func (c *PipeConn) WriteTo(p []byte, _ net.Addr) (int, error) {
	if c.closed.Load() {
		return 0, ErrClosed
	}
	c.out.submit(p, c.addr)
	return len(p), nil
}

// Close closes this end; the other end's reads keep waiting, as with UDP.
func (c *PipeConn) Close() error {
	c.once.Do(func() {
		c.closed.Store(true)
		c.out.close()
		c.q.close(ErrClosed)
		c.q.discard()
	})
	return nil
}

// LocalAddr returns this end's address.
func (c *PipeConn) LocalAddr() net.Addr { return c.addr }

// RemoteAddr returns the other end's address.
func (c *PipeConn) RemoteAddr() net.Addr { return c.peer.addr }

// SetDeadline sets the read deadline; writes never block.
func (c *PipeConn) SetDeadline(t time.Time) error { return c.SetReadDeadline(t) }

// SetReadDeadline implements net.PacketConn.
func (c *PipeConn) SetReadDeadline(t time.Time) error { c.rdl.Set(t); return nil }

// SetWriteDeadline implements net.PacketConn; writes never block.
func (c *PipeConn) SetWriteDeadline(time.Time) error { return nil }

// Stats returns the counters of this end's outgoing direction.
func (c *PipeConn) Stats() ImpairStats { return c.out.stats() }
