package t38

// The T.38 terminal: a t30.Modem that carries a T.30 session over IFP
// packets (T.38 clauses 5 to 7), in UDPTL datagrams (clause 9.1) or one IFP
// per datagram (IFP over RTP), on a transport.Endpoint.
//
// The exported API, kept small and stable for the root package and the CLI:
//
//	term, err := t38.NewTerminal(ep, t38.TerminalConfig{Version: 0, EC: t38.ECRedundancy})
//	defer term.Close()             // ends its goroutines; does not close ep
//	result := t30.Run(ctx, session, term, clk)
//	st := term.Stats()             // packets, recovery, pacing lateness
//
// A Terminal is a pure protocol core (core: indicators, HDLC chunking,
// the pacing schedule, end-of-signal handling, receive reassembly, driven
// by events and the time) owned by one goroutine per call, which also owns
// the clock and every write to the Endpoint; a second goroutine only reads
// the Endpoint. Close (after Run returned) lets the owner finish a
// hang-up's last packets (bounded by CloseTimeout), stops both goroutines,
// waits for them, and closes the Events channel. Close never closes the
// Endpoint: its owner does.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/faxkit/faxkit/internal/clock"
	"github.com/faxkit/faxkit/t30"
	"github.com/faxkit/faxkit/transport"
)

// ErrClosed is returned by a Terminal's methods after Hangup or Close.
var ErrClosed = errors.New("t38: terminal closed")

// Pacing says how a Terminal spaces the packets it sends.
type Pacing uint8

// Pacing modes.
const (
	// PacingRealTime spaces packets as a modem at the signal's rate would
	// deliver them (indicator, training or preamble time, data at the bit
	// rate, 75 ms between signals), so that a gateway to the telephone
	// network can keep up. It reads TerminalConfig.Clock.
	PacingRealTime Pacing = iota
	// PacingNone sends every packet as soon as it is built, for IP to IP
	// delivery between terminals.
	PacingNone
)

func (p Pacing) String() string {
	switch p {
	case PacingRealTime:
		return "real-time"
	case PacingNone:
		return "none"
	}
	return fmt.Sprintf("Pacing(%d)", uint8(p))
}

// Encapsulation says how IFP packets travel in the Endpoint's datagrams.
type Encapsulation uint8

// Encapsulations.
const (
	// EncapUDPTL: each datagram is a UDPTL packet (T.38 clause 9.1) with
	// the configured redundancy or FEC.
	EncapUDPTL Encapsulation = iota
	// EncapIFP: each datagram is one IFP packet, as over
	// transport.RTPConn (T.38 over RTP). EC settings are ignored.
	EncapIFP
)

func (e Encapsulation) String() string {
	switch e {
	case EncapUDPTL:
		return "udptl"
	case EncapIFP:
		return "ifp"
	}
	return fmt.Sprintf("Encapsulation(%d)", uint8(e))
}

// Terminal defaults.
const (
	DefaultIndicatorRepeat = 3
	DefaultPacketInterval  = 30 * time.Millisecond
	DefaultQuietFlush      = 150 * time.Millisecond
	DefaultCloseTimeout    = 5 * time.Second
	DefaultReadBuffer      = 4 << 20
)

// TerminalConfig configures a Terminal. The zero value works: T.38 version
// 0, no error correction, 400-octet datagrams, real-time pacing on the
// system clock.
type TerminalConfig struct {
	// Version is the negotiated T.38 version (T38FaxVersion), 0..3.
	Version Version
	// Encapsulation: EncapUDPTL (default) or EncapIFP (IFP over RTP).
	Encapsulation Encapsulation
	// EC is the UDPTL error correction we send (T38FaxUdpEC). Received
	// datagrams may carry either kind at any time. Default ECNone.
	EC ErrorCorrection
	// Depth is the redundancy depth for image data (ECRedundancy);
	// default DefaultDepth.
	Depth int
	// ControlDepth is the redundancy depth for indicators, V.21 control
	// frames and end-of-signal packets, whose loss costs a T.30 command
	// repetition (seconds) rather than an ECM retransmission; default
	// Depth+2, at most MaxDepth.
	ControlDepth int
	// FECSpan and FECEntries shape ECFEC (see SenderConfig).
	FECSpan, FECEntries int
	// MaxDatagram is the far end's T38FaxMaxDatagram; default
	// DefaultMaxDatagram. Data is chunked so that each datagram keeps its
	// full redundancy or FEC within it.
	MaxDatagram int
	// FirstSeq is the first UDPTL sequence number sent.
	FirstSeq uint16
	// Pacing: PacingRealTime (default) or PacingNone.
	Pacing Pacing
	// PacketInterval is the line time of one paced data packet; default
	// DefaultPacketInterval (30 ms, as spandsp).
	PacketInterval time.Duration
	// Clock paces packets and times the receiver's quiet flush; nil means
	// the system clock.
	Clock clock.Clock
	// FillBitRemoval (T38FaxFillBitRemoval, when both ends negotiated it):
	// fill bits before each EOL of non-ECM MH/MR page data are removed
	// before sending. Received data needs no re-insertion by a terminal.
	FillBitRemoval bool
	// IndicatorRepeat is how many times indicators and end-of-signal
	// packets are sent (each in its own datagram); default 3, as spandsp.
	IndicatorRepeat int
	// QuietFlush: when nothing has arrived for this long, packets still
	// missing from the UDPTL stream are declared lost so that everything
	// received is delivered; default DefaultQuietFlush.
	QuietFlush time.Duration
	// ReorderWindow is the UDPTL receiver's window (ReceiverConfig.Window).
	ReorderWindow int
	// ReadBuffer is the socket receive buffer (SO_RCVBUF) the terminal asks
	// for when the Endpoint is a UDP socket (a transport.Conn from Dial or
	// NewConn): an unpaced peer sends an ECM block of a few hundred
	// datagrams at once, more than the usual 208 KiB default holds.
	// Default DefaultReadBuffer (the kernel caps it at net.core.rmem_max);
	// negative leaves the socket alone.
	ReadBuffer int
	// Turnaround is how long after the far end's no-signal our next signal
	// starts (T.30's 75 ms between signals); before it, the terminal waits
	// for that no-signal, at most TurnaroundMax. Terminals such as
	// spandsp's only hear our answer once their own signal is over.
	// Default 75 ms with real-time pacing, 0 unpaced (the wait for the
	// no-signal remains); negative turns the wait off.
	Turnaround    time.Duration
	TurnaroundMax time.Duration // default 500 ms
	// CloseTimeout bounds how long Close waits for a hung-up call's last
	// packets to go out; default DefaultCloseTimeout.
	CloseTimeout time.Duration
	// Logger gets signal-level debug records (never frame or page
	// contents); nil discards.
	Logger *slog.Logger

	// splitFrames cuts HDLC frames into PacketInterval chunks, as before
	// whole-frame packets; kept to measure what those buy.
	splitFrames bool
}

// TerminalStats counts what a Terminal sent and received.
type TerminalStats struct {
	Sender   SenderStats   // UDPTL datagrams built (EncapUDPTL)
	Receiver ReceiverStats // UDPTL datagrams received (EncapUDPTL)

	IFPSent        uint64 // IFP packets sent, repeats included
	IFPReceived    uint64 // IFP packets received and decoded
	IFPMalformed   uint64 // IFP packets that did not decode
	Repeats        uint64 // received indicators and end-of-signal packets ignored as repeats
	FramesReceived uint64 // HDLC frames delivered with a good FCS
	FramesBad      uint64 // HDLC frames delivered bad (fcs-BAD, cut short, or data lost in the network)
	DataLost       uint64 // received IFP packets lost for good (gaps), all kinds
	ImageOctets    uint64 // non-ECM image and TCF octets received
	RowsMarked     uint64 // non-ECM rows marked bad in place of page data lost in the network
	RowsEstimated  uint64 // of RowsMarked, those whose number was estimated (the page's row count is uncertain)
	WriteErrors    uint64 // datagrams the Endpoint refused (not counting after close)

	// Paced packets and how late they went out against their schedule.
	Paced        uint64
	PacingMax    time.Duration
	PacingTotal  time.Duration
	PacingLate   [len(PacingBuckets) + 1]uint64 // histogram over PacingBuckets, then beyond
	PacingErrors uint64                         // packets more than 20 ms late
}

// PacingBuckets are the upper bounds of TerminalStats.PacingLate's buckets.
var PacingBuckets = [...]time.Duration{time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond,
	10 * time.Millisecond, 20 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond}

// Terminal is a T.38 fax terminal: it implements t30.Modem over IFP
// packets on a transport.Endpoint. Create it with NewTerminal, hand it to
// t30.Run, and Close it afterwards.
//
// One goroutine owns the call: the protocol core, the clock, and every
// write to the Endpoint (the shape of x/net/quic's connection loop). A
// second goroutine only blocks in ep.ReadPacket and hands each datagram
// over. The t30.Modem methods queue signals for the owner and never
// block on the network.
type Terminal struct {
	cfg    TerminalConfig
	ep     transport.Endpoint
	clk    clock.Clock
	events chan t30.Event

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex // guards inbox and hungup
	inbox  []txJob
	hungup bool
	wake   chan struct{} // capacity 1: the inbox has jobs

	rxc    chan rxMsg    // reader → owner
	free   chan []byte   // owner → reader: buffers to reuse
	txIdle chan struct{} // closed once the signals before Hangup are sent

	closeMu sync.Mutex
	closed  bool

	batch [][]byte // the owner's: datagrams of one write

	statsMu sync.Mutex
	stats   TerminalStats
}

// rxMsg is what the reading goroutine hands the owner.
type rxMsg struct {
	b         []byte
	truncated bool // a datagram longer than the buffer
	gone      bool // the endpoint failed for good
}

const readBufSize = 8192

// NewTerminal starts a Terminal on ep. The Terminal does not own ep: close
// it after Close.
func NewTerminal(ep transport.Endpoint, cfg TerminalConfig) (*Terminal, error) {
	if ep == nil {
		return nil, fmt.Errorf("%w: nil endpoint", ErrInvalid)
	}
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	t := &Terminal{
		cfg:    cfg,
		ep:     ep,
		clk:    cfg.Clock,
		events: make(chan t30.Event, 1024),
		wake:   make(chan struct{}, 1),
		rxc:    make(chan rxMsg, 64),
		free:   make(chan []byte, 16),
		txIdle: make(chan struct{}),
	}
	c, err := newCore(&t.cfg)
	if err != nil {
		return nil, err
	}
	t.ctx, t.cancel = context.WithCancel(context.Background())
	if cfg.ReadBuffer > 0 {
		setReadBuffer(ep, cfg.ReadBuffer)
	}
	t.wg.Add(2)
	go t.loop(c)
	go t.readLoop()
	return t, nil
}

// setReadBuffer enlarges the receive buffer of a UDP socket endpoint.
func setReadBuffer(ep transport.Endpoint, n int) {
	pcer, ok := ep.(interface{ PacketConn() net.PacketConn })
	if !ok {
		return
	}
	if rb, ok := pcer.PacketConn().(interface{ SetReadBuffer(int) error }); ok {
		_ = rb.SetReadBuffer(n)
	}
}

func (c *TerminalConfig) fill() error {
	if c.Version > MaxVersion {
		return fmt.Errorf("%w: T.38 version %d", ErrInvalid, c.Version)
	}
	if c.Encapsulation > EncapIFP || c.Pacing > PacingNone || c.EC > ECFEC {
		return fmt.Errorf("%w: terminal configuration", ErrInvalid)
	}
	if c.Depth == 0 {
		c.Depth = DefaultDepth
	}
	if c.Depth < 0 || c.Depth > MaxDepth || c.ControlDepth < 0 || c.ControlDepth > MaxDepth {
		return fmt.Errorf("%w: redundancy depth", ErrInvalid)
	}
	if c.ControlDepth == 0 {
		c.ControlDepth = min(c.Depth+2, MaxDepth)
	}
	if c.MaxDatagram == 0 {
		c.MaxDatagram = DefaultMaxDatagram
	}
	if c.MaxDatagram < 32 {
		return fmt.Errorf("%w: max datagram %d", ErrInvalid, c.MaxDatagram)
	}
	if c.PacketInterval <= 0 {
		c.PacketInterval = DefaultPacketInterval
	}
	if c.Clock == nil {
		c.Clock = clock.Real()
	}
	if c.IndicatorRepeat <= 0 {
		c.IndicatorRepeat = DefaultIndicatorRepeat
	}
	if c.QuietFlush <= 0 {
		c.QuietFlush = DefaultQuietFlush
	}
	if c.Turnaround == 0 && c.Pacing == PacingRealTime {
		c.Turnaround = t30.SignalGap
	}
	if c.TurnaroundMax <= 0 {
		c.TurnaroundMax = 500 * time.Millisecond
	}
	if c.ReadBuffer == 0 {
		c.ReadBuffer = DefaultReadBuffer
	}
	if c.CloseTimeout <= 0 {
		c.CloseTimeout = DefaultCloseTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return nil
}

// Config returns the terminal's configuration with defaults filled in.
func (t *Terminal) Config() TerminalConfig { return t.cfg }

// Stats returns the terminal's counters so far. It is safe to call at any
// time, from any goroutine.
func (t *Terminal) Stats() TerminalStats {
	t.statsMu.Lock()
	defer t.statsMu.Unlock()
	return t.stats
}

// Events implements t30.Modem. The channel is closed by Close.
func (t *Terminal) Events() <-chan t30.Event { return t.events }

func (t *Terminal) enqueue(j txJob) error {
	t.mu.Lock()
	if t.hungup {
		t.mu.Unlock()
		return ErrClosed
	}
	t.inbox = append(t.inbox, j)
	if j.kind == jobHangup {
		t.hungup = true
	}
	t.mu.Unlock()
	select {
	case t.wake <- struct{}{}:
	default:
	}
	return nil
}

// SendTone implements t30.Modem: the CNG or CED indicator.
func (t *Terminal) SendTone(tone t30.Tone) error {
	return t.enqueue(txJob{kind: jobTone, tone: tone})
}

// SendFrames implements t30.Modem: one HDLC burst at V.21 (s ==
// SpeedNone) or at the image modem s (ECM phase C).
func (t *Terminal) SendFrames(s t30.Speed, frames [][]byte) error {
	j, err := framesJob(s, frames)
	if err != nil {
		return err
	}
	return t.enqueue(j)
}

func framesJob(s t30.Speed, frames [][]byte) (txJob, error) {
	if s != t30.SpeedNone && dataTypeFor(s) == 0 {
		return txJob{}, fmt.Errorf("%w: speed %v", ErrInvalid, s)
	}
	return txJob{kind: jobFrames, speed: s, frames: frames}, nil
}

// Preempt implements t30.Preempter: the signals queued or being sent are
// cut short (their remaining data is not sent, their end-of-signal
// packets are, and each still answers EventSendDone), so that the next
// Send* (the DCN of an aborted call) follows at once.
func (t *Terminal) Preempt() error {
	return t.enqueue(txJob{kind: jobPreempt})
}

// SendTCF implements t30.Modem: the training check, transferred as
// t4-non-ecm-data zeros (T.38 transferred TCF).
func (t *Terminal) SendTCF(s t30.Speed, d time.Duration) error {
	if dataTypeFor(s) == 0 {
		return fmt.Errorf("%w: speed %v", ErrInvalid, s)
	}
	return t.enqueue(txJob{kind: jobTCF, speed: s, dur: d})
}

// SendImage implements t30.Modem: non-ECM page data.
func (t *Terminal) SendImage(s t30.Speed, data []byte) error {
	if dataTypeFor(s) == 0 {
		return fmt.Errorf("%w: speed %v", ErrInvalid, s)
	}
	return t.enqueue(txJob{kind: jobImage, speed: s, data: data})
}

// Receive implements t30.Modem. A T.38 terminal receives whatever the far
// end sends, so it has nothing to do: the training indicator (or the data
// type, when that is missing) names the image modem.
func (t *Terminal) Receive(t30.Speed) error { return nil }

// Hangup implements t30.Modem: the call is over. Signals already queued
// (the DCN) are still sent; nothing is sent afterwards.
func (t *Terminal) Hangup() error {
	t.mu.Lock()
	h := t.hungup
	t.mu.Unlock()
	if h {
		return nil
	}
	return t.enqueue(txJob{kind: jobHangup})
}

// Close ends the terminal. After a Hangup it first waits (at most
// CloseTimeout) for the last signals to be sent. It then stops the
// terminal's goroutines, waits for them and closes Events. It does not
// close the Endpoint. Close is idempotent.
func (t *Terminal) Close() error {
	t.closeMu.Lock()
	defer t.closeMu.Unlock()
	if t.closed {
		return nil
	}
	t.closed = true
	t.mu.Lock()
	h := t.hungup
	t.hungup = true
	t.mu.Unlock()
	if h {
		tm := t.clk.NewTimer(t.cfg.CloseTimeout)
		select {
		case <-t.txIdle:
		case <-tm.C():
		}
		tm.Stop()
	}
	t.cancel()
	t.wg.Wait()
	close(t.events)
	return nil
}

// loop is the owner goroutine: it feeds the core the session's signals,
// the received datagrams and the time, writes what the core releases and
// delivers its events, sleeping until the core's next deadline.
func (t *Terminal) loop(c *core) {
	defer t.wg.Done()
	var pending []t30.Event
	idle := false
	var inbox []txJob
	for {
		now := t.clk.Now()
		t.mu.Lock()
		inbox, t.inbox = t.inbox, inbox[:0]
		t.mu.Unlock()
		for i := range inbox {
			c.enqueue(now, inbox[i])
			inbox[i] = txJob{}
		}
		c.step(now)
		t.write(now, c)
		if c.hungup {
			pending = pending[:0]
		}
		pending = append(pending, c.events...)
		clear(c.events)
		c.events = c.events[:0]
		t.statsMu.Lock()
		t.stats = c.stats
		t.statsMu.Unlock()
		if !idle && c.idle() {
			idle = true
			close(t.txIdle)
		}
	deliver:
		for len(pending) > 0 {
			select {
			case t.events <- pending[0]:
				pending = pending[1:]
			default:
				break deliver
			}
		}
		var evc chan<- t30.Event
		var head t30.Event
		if len(pending) > 0 {
			evc, head = t.events, pending[0]
		}
		var timer clock.Timer
		var tc <-chan time.Time
		if d, ok := c.deadline(); ok {
			wait := d.Sub(t.clk.Now())
			if wait <= 0 {
				// More is due at once: take what has arrived meanwhile,
				// then go round again.
				select {
				case m := <-t.rxc:
					t.received(c, m)
				case <-t.ctx.Done():
					return
				default:
				}
				continue
			}
			timer = t.clk.NewTimer(wait)
			tc = timer.C()
		}
		select {
		case <-t.ctx.Done():
			if timer != nil {
				timer.Stop()
			}
			return
		case <-t.wake:
		case m := <-t.rxc:
			t.received(c, m)
		case evc <- head:
			pending = pending[1:]
		case <-tc:
		}
		if timer != nil {
			timer.Stop()
		}
	}
}

// received hands a datagram (and any others already waiting) to the core.
func (t *Terminal) received(c *core, m rxMsg) {
	now := t.clk.Now()
	for n := 0; ; n++ {
		switch {
		case m.gone:
			c.endpointGone(now)
		case m.truncated:
			c.stats.IFPMalformed++
		default:
			c.receive(now, m.b)
		}
		if m.b != nil {
			select {
			case t.free <- m.b[:cap(m.b)]:
			default:
			}
		}
		if n == maxBatch {
			return
		}
		select {
		case m = <-t.rxc:
		default:
			return
		}
	}
}

// write sends the datagrams the core released, in one batch when the
// Endpoint can write batches (transport.BatchWriter: sendmmsg).
func (t *Terminal) write(now time.Time, c *core) {
	out := &c.out
	defer out.reset()
	if out.Len() == 0 || c.tx.dead || t.ctx.Err() != nil {
		return
	}
	t.batch = t.batch[:0]
	for i := 0; i < out.Len(); i++ {
		t.batch = append(t.batch, out.At(i))
	}
	defer clear(t.batch)
	for ps := t.batch; len(ps) > 0; {
		var n int
		var err error
		if bw, ok := t.ep.(transport.BatchWriter); ok && len(ps) > 1 {
			n, err = bw.WritePackets(t.ctx, ps)
		} else {
			err = t.ep.WritePacket(t.ctx, ps[0])
			if err == nil {
				n = 1
			}
		}
		c.stats.IFPSent += uint64(n)
		ps = ps[n:]
		if err == nil {
			continue
		}
		if t.ctx.Err() != nil {
			return
		}
		if errors.Is(err, net.ErrClosed) {
			c.endpointGone(now)
			return
		}
		c.stats.WriteErrors++
		if len(ps) > 0 {
			ps = ps[1:] // that datagram is dropped; go on with the rest
		}
	}
	if c.tx.sender != nil {
		c.stats.Sender = c.tx.sender.Stats()
	}
}

// readLoop blocks in ep.ReadPacket and hands each datagram to the owner.
func (t *Terminal) readLoop() {
	defer t.wg.Done()
	errs := 0
	for {
		var buf []byte
		select {
		case buf = <-t.free:
		default:
			buf = make([]byte, readBufSize)
		}
		n, err := t.ep.ReadPacket(t.ctx, buf)
		var m rxMsg
		switch {
		case err == nil:
			errs = 0
			m.b = buf[:n]
		case t.ctx.Err() != nil:
			return
		case errors.Is(err, transport.ErrTruncated):
			m.truncated = true
		default:
			// A closed endpoint ends the call; other errors (an ICMP
			// report on a connected socket, a malformed RTP packet) are
			// transient, unless they never stop.
			if errs++; errs < 100 && !errors.Is(err, net.ErrClosed) {
				continue
			}
			m.gone = true
		}
		select {
		case t.rxc <- m:
		case <-t.ctx.Done():
			return
		}
		if m.gone {
			return
		}
	}
}
