package transport

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"

	"github.com/faxkit/faxkit/internal/clock"
)

// RTP errors, for errors.Is.
var (
	// ErrMalformedRTP is a datagram that is not an RTP version 2 packet
	// with a non-empty payload (RFC 3550 clause 5.1).
	ErrMalformedRTP = errors.New("transport: malformed RTP packet")
	// ErrPayloadType is an RTP packet whose payload type is not the
	// configured T.38 one (for example a stray audio or comfort noise
	// packet during a switch-over).
	ErrPayloadType = errors.New("transport: unexpected RTP payload type")
)

// Defaults for RTPConfig.
const (
	// DefaultRTPPayloadType is a dynamic payload type (RFC 3551 clause 6);
	// T.38 over RTP has no static one, so both sides agree on it in SDP
	// ("a=rtpmap:96 t38/8000").
	DefaultRTPPayloadType = 96
	// DefaultRTPClockRate is the RTP clock rate peers put in the rtpmap
	// for t38 ("t38/8000"): 8000 Hz, as for narrowband audio.
	DefaultRTPClockRate = 8000
)

// RTPConfig configures a Packetizer, a Depacketizer or an RTPConn. The zero
// value works.
type RTPConfig struct {
	// PayloadType is the RTP payload type of T.38 packets, sent and
	// expected. Default DefaultRTPPayloadType (96); 0 means the default,
	// since 0 is PCMU and never T.38.
	PayloadType uint8
	// ClockRate is the RTP timestamp rate. Default 8000.
	ClockRate uint32
	// SSRC identifies our stream. Zero picks random SSRC, first sequence
	// number and first timestamp, as RFC 3550 clause 5.1 asks. A non-zero
	// SSRC uses FirstSequence and FirstTimestamp as given (for tests and
	// reproducible captures).
	SSRC           uint32
	FirstSequence  uint16
	FirstTimestamp uint32
	// DropLate discards packets that arrive after a later-numbered one
	// (reordered). By default they are delivered, marked SeqLate.
	DropLate bool
	// Window is how many sequence numbers back duplicates are recognised;
	// older packets are SeqStale and dropped. Default 128, maximum 1024.
	Window int
	// MaxDatagram bounds whole RTP packets, both ways. Default
	// DefaultMaxDatagram.
	MaxDatagram int
	// Clock stamps outgoing packets. Default the system clock.
	Clock clock.Clock
}

func (c *RTPConfig) orZero() *RTPConfig {
	if c == nil {
		return &RTPConfig{}
	}
	return c
}

func (c *RTPConfig) payloadType() uint8 {
	if c.PayloadType == 0 {
		return DefaultRTPPayloadType
	}
	return c.PayloadType & 0x7f
}

func (c *RTPConfig) window() int {
	switch {
	case c.Window <= 0:
		return 128
	case c.Window > 1024:
		return 1024
	}
	return c.Window
}

// Packetizer builds one RTP packet per IFP packet. It is not safe for
// concurrent use; RTPConn serialises it.
type Packetizer struct {
	pt      uint8
	ssrc    uint32
	seq     uint16
	ts0     uint32
	rate    uint32
	start   time.Time
	started bool
	hdr     rtp.Header
}

// NewPacketizer returns a Packetizer configured by cfg (nil for defaults).
func NewPacketizer(cfg *RTPConfig) *Packetizer {
	cfg = cfg.orZero()
	p := &Packetizer{pt: cfg.payloadType(), rate: cfg.ClockRate}
	if p.rate == 0 {
		p.rate = DefaultRTPClockRate
	}
	if cfg.SSRC != 0 {
		p.ssrc, p.seq, p.ts0 = cfg.SSRC, cfg.FirstSequence, cfg.FirstTimestamp
	} else {
		var b [10]byte
		_, _ = crand.Read(b[:])
		p.ssrc = binary.BigEndian.Uint32(b[0:])
		if p.ssrc == 0 {
			p.ssrc = 1
		}
		p.seq = binary.BigEndian.Uint16(b[4:])
		p.ts0 = binary.BigEndian.Uint32(b[6:])
	}
	return p
}

// SSRC returns the synchronisation source identifier in use.
func (p *Packetizer) SSRC() uint32 { return p.ssrc }

// NextSequence returns the sequence number the next packet will carry.
func (p *Packetizer) NextSequence() uint16 { return p.seq }

// Append appends to dst an RTP packet (RFC 3550 clause 5.1) carrying ifp
// as its whole payload, stamped with now on the configured clock rate
// relative to the first packet, and advances the sequence number.
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|V=2|P|X|  CC   |M|     PT      |       sequence number         |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                           timestamp                           |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|           synchronization source (SSRC) identifier            |
//	+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
//	|                      IFP packet (T.38 clause 7)               |
func (p *Packetizer) Append(dst, ifp []byte, now time.Time) ([]byte, error) {
	if len(ifp) == 0 {
		return dst, fmt.Errorf("%w: empty IFP packet", ErrMalformedRTP)
	}
	if !p.started {
		p.start, p.started = now, true
	}
	elapsed := now.Sub(p.start)
	if elapsed < 0 {
		elapsed = 0
	}
	// Split the multiplication so that long calls do not overflow.
	sec := uint64(elapsed / time.Second)
	frac := uint64(elapsed % time.Second)
	ticks := sec*uint64(p.rate) + frac*uint64(p.rate)/uint64(time.Second)
	p.hdr = rtp.Header{
		Version:        2,
		PayloadType:    p.pt,
		SequenceNumber: p.seq,
		Timestamp:      p.ts0 + uint32(ticks),
		SSRC:           p.ssrc,
	}
	hs := p.hdr.MarshalSize()
	off := len(dst)
	dst = append(dst, make([]byte, hs)...)
	if _, err := p.hdr.MarshalTo(dst[off:]); err != nil {
		return dst[:off], fmt.Errorf("transport: rtp header: %w", err)
	}
	dst = append(dst, ifp...)
	p.seq++
	return dst, nil
}

// SeqStatus says where an RTP packet's sequence number falls relative to
// the packets received before it.
type SeqStatus int

// Sequence statuses.
const (
	SeqInOrder   SeqStatus = iota // the next expected number
	SeqFirst                      // first packet of a stream
	SeqGap                        // ahead of expected: Info.Lost packets missing before it
	SeqLate                       // behind the highest seen but not seen before: reordered
	SeqDuplicate                  // seen before
	SeqStale                      // too far behind to tell: dropped
	SeqResync                     // a new SSRC or a confirmed sequence jump: state reset
)

var seqStatusNames = [...]string{"in-order", "first", "gap", "late", "duplicate", "stale", "resync"}

func (s SeqStatus) String() string {
	if s >= 0 && int(s) < len(seqStatusNames) {
		return seqStatusNames[s]
	}
	return fmt.Sprintf("SeqStatus(%d)", int(s))
}

// Deliverable reports whether a packet with this status carries new data.
func (s SeqStatus) Deliverable() bool { return s != SeqDuplicate && s != SeqStale }

// RTPInfo describes one depacketised RTP packet.
type RTPInfo struct {
	Sequence  uint16
	Timestamp uint32
	SSRC      uint32
	Marker    bool
	Status    SeqStatus
	// Lost is how many sequence numbers were skipped just before this
	// packet (SeqGap only). Some may still arrive late.
	Lost int
}

// RTPStats counts a Depacketizer's verdicts.
type RTPStats struct {
	Packets    uint64 // well-formed packets of our payload type
	Malformed  uint64
	ForeignPT  uint64 // other payload types, ignored
	Lost       uint64 // sequence numbers skipped (minus those that came late)
	Late       uint64
	Duplicates uint64
	Stale      uint64
	Resyncs    uint64
	Dropped    uint64 // packets not delivered: duplicates, stale, DropLate, jumps awaiting confirmation
}

// Maximum forward jump and backward distance accepted without
// confirmation (RFC 3550 appendix A.1 uses 3000 and 100).
const (
	maxDropout = 3000
)

// Depacketizer takes RTP packets apart and tracks their sequence numbers to
// detect loss, reordering and duplication (RFC 3550 clause 6.4.1 and
// appendix A.1). It is not safe for concurrent use.
type Depacketizer struct {
	pt     uint8
	win    int
	hdr    rtp.Header
	inited bool
	ssrc   uint32
	maxSeq uint16
	seen   [1024 / 64]uint64 // bit i: maxSeq-i received
	badSeq int32             // expected next number after an unconfirmed jump, -1 none
	st     RTPStats
}

// NewDepacketizer returns a Depacketizer configured by cfg (nil for
// defaults).
func NewDepacketizer(cfg *RTPConfig) *Depacketizer {
	cfg = cfg.orZero()
	return &Depacketizer{pt: cfg.payloadType(), win: cfg.window(), badSeq: -1}
}

// Stats returns the counters so far.
func (d *Depacketizer) Stats() RTPStats { return d.st }

// Unmarshal parses one RTP packet and returns its payload, which aliases
// pkt. Malformed packets return ErrMalformedRTP and packets of another
// payload type ErrPayloadType, without touching the sequence state. For
// packets that parse, info.Status says whether the payload is new
// (Deliverable) or a duplicate or stale copy to ignore.
func (d *Depacketizer) Unmarshal(pkt []byte) (ifp []byte, info RTPInfo, err error) {
	n, err := d.hdr.Unmarshal(pkt)
	if err != nil {
		d.st.Malformed++
		return nil, info, fmt.Errorf("%w: %w", ErrMalformedRTP, err)
	}
	if d.hdr.Version != 2 {
		d.st.Malformed++
		return nil, info, fmt.Errorf("%w: version %d", ErrMalformedRTP, d.hdr.Version)
	}
	end := len(pkt)
	if d.hdr.Padding {
		pad := int(pkt[end-1])
		if pad == 0 || pad > end-n {
			d.st.Malformed++
			return nil, info, fmt.Errorf("%w: bad padding", ErrMalformedRTP)
		}
		end -= pad
	}
	if end <= n {
		d.st.Malformed++
		return nil, info, fmt.Errorf("%w: no payload", ErrMalformedRTP)
	}
	if d.hdr.PayloadType != d.pt {
		d.st.ForeignPT++
		return nil, info, fmt.Errorf("%w: %d", ErrPayloadType, d.hdr.PayloadType)
	}
	d.st.Packets++
	info = RTPInfo{
		Sequence:  d.hdr.SequenceNumber,
		Timestamp: d.hdr.Timestamp,
		SSRC:      d.hdr.SSRC,
		Marker:    d.hdr.Marker,
	}
	info.Status, info.Lost = d.track(d.hdr.SSRC, d.hdr.SequenceNumber)
	if !info.Status.Deliverable() {
		d.st.Dropped++
	}
	return pkt[n:end], info, nil
}

func (d *Depacketizer) reset(ssrc uint32, seq uint16) {
	d.inited = true
	d.ssrc = ssrc
	d.maxSeq = seq
	clear(d.seen[:])
	d.seen[0] = 1
	d.badSeq = -1
}

func (d *Depacketizer) bit(i int) bool { return d.seen[i/64]&(1<<(i%64)) != 0 }
func (d *Depacketizer) setBit(i int)   { d.seen[i/64] |= 1 << (i % 64) }

// shift moves the window forward by k numbers.
func (d *Depacketizer) shift(k int) {
	words := len(d.seen)
	if k >= words*64 {
		clear(d.seen[:])
		return
	}
	w, b := k/64, uint(k%64)
	for i := words - 1; i >= 0; i-- {
		var v uint64
		if j := i - w; j >= 0 {
			v = d.seen[j] << b
			if b != 0 && j-1 >= 0 {
				v |= d.seen[j-1] >> (64 - b)
			}
		}
		d.seen[i] = v
	}
}

func (d *Depacketizer) track(ssrc uint32, seq uint16) (SeqStatus, int) {
	if !d.inited {
		d.reset(ssrc, seq)
		return SeqFirst, 0
	}
	if ssrc != d.ssrc {
		d.st.Resyncs++
		d.reset(ssrc, seq)
		return SeqResync, 0
	}
	delta := int(int16(seq - d.maxSeq))
	switch {
	case delta > 0 && delta < maxDropout:
		d.badSeq = -1
		d.shift(delta)
		d.maxSeq = seq
		d.setBit(0)
		if delta == 1 {
			return SeqInOrder, 0
		}
		d.st.Lost += uint64(delta - 1)
		return SeqGap, delta - 1
	case delta == 0:
		d.st.Duplicates++
		return SeqDuplicate, 0
	case delta < 0 && -delta < d.win:
		if d.bit(-delta) {
			d.st.Duplicates++
			return SeqDuplicate, 0
		}
		d.setBit(-delta)
		d.st.Late++
		if d.st.Lost > 0 {
			d.st.Lost--
		}
		return SeqLate, 0
	}
	// A large jump either way: the sender restarted, or this is junk.
	// Accept the new numbering only when the next packet follows it
	// (RFC 3550 appendix A.1).
	if int32(seq) == d.badSeq {
		d.st.Resyncs++
		d.reset(ssrc, seq)
		return SeqResync, 0
	}
	d.badSeq = int32(seq + 1)
	d.st.Stale++
	return SeqStale, 0
}

// RTPConn carries IFP packets in RTP over an Endpoint (a Conn from Dial or
// from a Listener): one IFP packet per RTP packet, the T.38 RTP
// encapsulation. It implements Endpoint itself, with IFP packets as the
// datagrams, so a T.38 terminal uses it exactly like a UDPTL Conn, minus
// the UDPTL layer. Duplicates and stale packets are dropped; late
// (reordered) ones are delivered unless DropLate is set; other payload
// types and malformed packets are ignored and counted.
type RTPConn struct {
	ep    Endpoint
	clock clock.Clock
	maxDg int
	drop  bool

	wmu  sync.Mutex
	pz   *Packetizer
	wbuf []byte

	rbuf []byte        // reader-owned
	smu  sync.Mutex    // guards dz: the reader updates it, Stats reads it
	dz   *Depacketizer // guarded by smu

	closed atomic.Bool
}

var _ Endpoint = (*RTPConn)(nil)

// NewRTPConn wraps ep. The RTPConn owns ep: Close closes it.
func NewRTPConn(ep Endpoint, cfg *RTPConfig) *RTPConn {
	cfg = cfg.orZero()
	mdg := cfg.MaxDatagram
	if mdg <= 0 {
		mdg = DefaultMaxDatagram
	}
	return &RTPConn{
		ep:    ep,
		clock: clockOrReal(cfg.Clock),
		maxDg: mdg,
		drop:  cfg.DropLate,
		pz:    NewPacketizer(cfg),
		dz:    NewDepacketizer(cfg),
		wbuf:  make([]byte, 0, mdg),
		rbuf:  make([]byte, mdg+1),
	}
}

// WritePacket sends ifp as the payload of the next RTP packet.
func (c *RTPConn) WritePacket(ctx context.Context, ifp []byte) error {
	if c.closed.Load() {
		return ErrClosed
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if 12+len(ifp) > c.maxDg {
		return ErrTooLarge
	}
	b, err := c.pz.Append(c.wbuf[:0], ifp, c.clock.Now())
	if err != nil {
		return err
	}
	c.wbuf = b[:0]
	return c.ep.WritePacket(ctx, b)
}

// ReadPacket implements Endpoint: it returns the next new IFP packet.
func (c *RTPConn) ReadPacket(ctx context.Context, p []byte) (int, error) {
	n, _, err := c.ReadIFP(ctx, p)
	return n, err
}

// ReadIFP returns the next new IFP packet copied into p, with its RTP
// sequence details (which a T.38 receiver can use as it would UDPTL
// sequence numbers).
func (c *RTPConn) ReadIFP(ctx context.Context, p []byte) (int, RTPInfo, error) {
	for {
		if c.closed.Load() {
			return 0, RTPInfo{}, ErrClosed
		}
		n, err := c.ep.ReadPacket(ctx, c.rbuf)
		if errors.Is(err, ErrTruncated) || n > c.maxDg {
			c.smu.Lock()
			c.dz.st.Malformed++
			c.smu.Unlock()
			continue
		}
		if err != nil {
			if c.closed.Load() {
				return 0, RTPInfo{}, ErrClosed
			}
			return 0, RTPInfo{}, err
		}
		c.smu.Lock()
		ifp, info, perr := c.dz.Unmarshal(c.rbuf[:n])
		deliver := perr == nil && info.Status.Deliverable()
		if deliver && info.Status == SeqLate && c.drop {
			c.dz.st.Dropped++
			deliver = false
		}
		c.smu.Unlock()
		if !deliver {
			continue
		}
		m := copy(p, ifp)
		if m < len(ifp) {
			return m, info, ErrTruncated
		}
		return m, info, nil
	}
}

// Stats returns the receive-side counters so far.
func (c *RTPConn) Stats() RTPStats {
	c.smu.Lock()
	defer c.smu.Unlock()
	return c.dz.Stats()
}

// SSRC returns the SSRC of the stream we send.
func (c *RTPConn) SSRC() uint32 { return c.pz.SSRC() }

// LocalAddr implements Endpoint.
func (c *RTPConn) LocalAddr() net.Addr { return c.ep.LocalAddr() }

// RemoteAddr implements Endpoint.
func (c *RTPConn) RemoteAddr() net.Addr { return c.ep.RemoteAddr() }

// Close closes the underlying Endpoint.
func (c *RTPConn) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	return c.ep.Close()
}
