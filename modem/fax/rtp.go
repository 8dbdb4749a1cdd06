package fax

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/pion/rtp"

	"github.com/faxkit/faxkit/internal/clock"
	"github.com/faxkit/faxkit/modem/g711"
)

// RTPConfig configures an RTPLine. The zero value sends PCMU.
type RTPConfig struct {
	Law g711.Law // ULaw (PCMU, payload type 0) or ALaw (PCMA, 8)
	// PayloadType overrides the static one (0 keeps it).
	PayloadType uint8
	// PTime is the packet time, sent and played: 10, 20, 30 or 40 ms
	// (80 to 320 samples a packet); 0 means 20 ms. Packets received may
	// have another (any multiple of 10 ms): the jitter buffer plays them
	// by timestamp.
	PTime time.Duration
	// Depth is the jitter buffer's fixed delay in units of 20 ms, whatever
	// the packet time (rounded up to a whole packet); 0 means 3 (60 ms).
	Depth int
	// Start, when set, is where the sent stream begins: an RTP stream
	// already running (a SIP call's voice before the fax) continues with
	// the same SSRC and the next sequence number and timestamp. Nil
	// starts a new stream at random values.
	Start *RTPStream
	// Clock paces the line (one block every 20 ms of it); nil means the
	// system clock. A test's scaled clock runs the call faster than real
	// time.
	Clock clock.Clock
}

// RTPStream is the sending state of an RTP stream: its SSRC and the
// sequence number and timestamp of its next packet.
type RTPStream struct {
	SSRC      uint32
	Seq       uint16
	Timestamp uint32
}

// RTPStats counts an RTPLine's packets.
type RTPStats struct {
	PacketsIn, PacketsOut uint64
	BytesIn, BytesOut     uint64 // datagram sizes
	Foreign               uint64 // datagrams from another address, or not our RTP
	Skipped               uint64 // blocks not sent: the line was more than 2 s behind its clock
	Jitter                JitterStats
	// ClockOffset is how fast the far end's sample clock runs against
	// ours, in parts per million, as the RTP timestamps of its packets
	// against their arrival times show (the least-delayed packets of the
	// first and the latest 4 s); 0 until 8 s of stream.
	ClockOffset float64
}

// RTPLine is a Line over G.711 RTP (RFC 3550/3551): packets of PTime (20
// ms, 160 samples, by default), the RTP timestamp advancing by the
// packet's samples from a random start, continuous for the whole call; a
// fixed jitter buffer on receive. ReadBlock paces the call on its own
// ticker of one packet time (the sample clock); its blocks are one
// packet long (BlockLen).
// The conn stays the caller's: Close stops using it without closing it.
type RTPLine struct {
	conn net.PacketConn
	peer net.Addr
	cfg  RTPConfig
	pt   uint8

	clk   clock.Clock
	mu    sync.Mutex
	jb    *JitterBuffer
	stats RTPStats
	drift driftEstimator
	next  time.Time // when the next block is due
	done  chan struct{}
	once  sync.Once
	wg    sync.WaitGroup

	block int           // samples a packet
	ptime time.Duration // its duration
	seq   uint16
	ts    uint32
	ssrc  uint32
	pkt   []byte
	pay   []byte
}

// PTimes are the packet times an RTPLine sends.
var PTimes = []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 30 * time.Millisecond, 40 * time.Millisecond}

// ErrPTime says an RTPConfig.PTime is not one of PTimes.
var ErrPTime = errors.New("fax: packet time not 10, 20, 30 or 40 ms")

// CheckPTime returns the packet time to use for p (0 means 20 ms), or
// ErrPTime.
func CheckPTime(p time.Duration) (time.Duration, error) {
	if p == 0 {
		return 20 * time.Millisecond, nil
	}
	for _, q := range PTimes {
		if p == q {
			return p, nil
		}
	}
	return 0, ErrPTime
}

// NewRTPLine starts receiving RTP from peer on conn. A PTime not in
// PTimes is taken as 20 ms (CheckPTime validates it beforehand).
func NewRTPLine(conn net.PacketConn, peer net.Addr, cfg *RTPConfig) *RTPLine {
	l := &RTPLine{conn: conn, peer: peer, done: make(chan struct{})}
	if cfg != nil {
		l.cfg = *cfg
	}
	pt, err := CheckPTime(l.cfg.PTime)
	if err != nil {
		pt = 20 * time.Millisecond
	}
	l.ptime = pt
	l.block = samples(pt)
	l.pay = make([]byte, l.block)
	l.pt = 0
	if l.cfg.Law == g711.ALaw {
		l.pt = 8
	}
	if l.cfg.PayloadType != 0 {
		l.pt = l.cfg.PayloadType
	}
	depth := l.cfg.Depth
	if depth < 1 {
		depth = 3
	}
	// The delay in time, rounded up to whole packets.
	delay := (depth*BlockSize + l.block - 1) / l.block * l.block
	l.jb = NewJitterBufferSamples(delay)
	if st := l.cfg.Start; st != nil {
		l.seq, l.ts, l.ssrc = st.Seq, st.Timestamp, st.SSRC
	} else {
		var r [10]byte
		_, _ = rand.Read(r[:])
		l.seq = binary.BigEndian.Uint16(r[0:])
		l.ts = binary.BigEndian.Uint32(r[2:])
		l.ssrc = binary.BigEndian.Uint32(r[6:])
	}
	l.clk = l.cfg.Clock
	if l.clk == nil {
		l.clk = clock.Real()
	}
	l.wg.Add(1)
	go l.recv()
	return l
}

// maxCatchUp is how far behind its schedule an RTPLine catches up by
// sending blocks back to back; beyond, it skips them.
const maxCatchUp = 2 * time.Second

// ErrLineClosed is returned by an RTPLine after Close.
var ErrLineClosed = errors.New("fax: RTP line closed")

func (l *RTPLine) recv() {
	defer l.wg.Done()
	buf := make([]byte, 1500)
	pcm := make([]int16, 1500)
	var p rtp.Packet
	for {
		_ = l.conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		n, from, err := l.conn.ReadFrom(buf)
		select {
		case <-l.done:
			return
		default:
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		if !sameAddr(from, l.peer) || p.Unmarshal(buf[:n]) != nil || p.PayloadType != l.pt || len(p.Payload) == 0 {
			l.mu.Lock()
			l.stats.Foreign++
			l.mu.Unlock()
			continue
		}
		k := g711.Decode(l.cfg.Law, pcm, p.Payload)
		now := l.clk.Now()
		l.mu.Lock()
		l.stats.PacketsIn++
		l.stats.BytesIn += uint64(n)
		l.drift.add(now, p.Timestamp)
		l.jb.Put(p.Timestamp, pcm[:k])
		l.mu.Unlock()
	}
}

func sameAddr(a, b net.Addr) bool {
	ua, ok1 := a.(*net.UDPAddr)
	ub, ok2 := b.(*net.UDPAddr)
	if ok1 && ok2 {
		return ua.Port == ub.Port && ua.IP.Equal(ub.IP)
	}
	return a.String() == b.String()
}

// BlockLen is the samples of a block: one packet's.
func (l *RTPLine) BlockLen() int { return l.block }

// PTime is the packet time.
func (l *RTPLine) PTime() time.Duration { return l.ptime }

// ReadBlock waits until the next block is due (every packet time of the
// line's clock, on a fixed schedule from the first call: a late wake-up
// is caught up by blocks back to back, so the number of samples sent
// keeps pace with the clock; more than 2 s behind, the missed blocks are
// skipped on both ways, and counted) and plays the jitter buffer's block for it; false
// means its packet is missing.
func (l *RTPLine) ReadBlock(rx []int16) (bool, error) {
	now := l.clk.Now()
	if l.next.IsZero() {
		l.next = now
	}
	if d := l.next.Sub(now); d > 0 {
		t := l.clk.NewTimer(d)
		select {
		case <-l.done:
			t.Stop()
			return false, ErrLineClosed
		case <-t.C():
		}
	} else {
		select {
		case <-l.done:
			return false, ErrLineClosed
		default:
		}
		if -d > maxCatchUp {
			// Asleep for long (a stopped process): the blocks of that
			// time are skipped, not sent in one burst; the timestamps
			// jump with the time, so the far end takes them as lost
			// rather than hearing everything after late.
			k := int64(-d / l.ptime)
			l.next = l.next.Add(time.Duration(k) * l.ptime)
			l.ts += uint32(k) * uint32(l.block)
			l.mu.Lock()
			l.stats.Skipped += uint64(k)
			l.jb.skip(int(k), l.block)
			l.mu.Unlock()
		}
	}
	l.next = l.next.Add(l.ptime)
	l.mu.Lock()
	ok := l.jb.Get(rx)
	l.mu.Unlock()
	return ok, nil
}

// WriteBlock sends one packet of BlockLen samples (more are cut, fewer
// padded with silence).
func (l *RTPLine) WriteBlock(tx []int16) error {
	select {
	case <-l.done:
		return ErrLineClosed
	default:
	}
	n := g711.Encode(l.cfg.Law, l.pay, tx[:min(len(tx), l.block)])
	if n < l.block {
		g711.Encode(l.cfg.Law, l.pay[n:], make([]int16, l.block-n))
	}
	h := rtp.Header{Version: 2, PayloadType: l.pt, SequenceNumber: l.seq, Timestamp: l.ts, SSRC: l.ssrc}
	var err error
	l.pkt, err = (&rtp.Packet{Header: h, Payload: l.pay}).Marshal()
	if err != nil {
		return err
	}
	l.seq++
	l.ts += uint32(l.block)
	if _, err := l.conn.WriteTo(l.pkt, l.peer); err != nil {
		return err
	}
	l.mu.Lock()
	l.stats.PacketsOut++
	l.stats.BytesOut += uint64(len(l.pkt))
	l.mu.Unlock()
	return nil
}

// Stream returns where the sent stream continues: its SSRC and the
// sequence number and timestamp of the next packet (for the RTPConfig
// Start of a line that takes over the stream). Call it when the line no
// longer sends.
func (l *RTPLine) Stream() RTPStream {
	return RTPStream{SSRC: l.ssrc, Seq: l.seq, Timestamp: l.ts}
}

// Stats returns the counters.
func (l *RTPLine) Stats() RTPStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.stats
	s.Jitter = l.jb.Stats()
	s.ClockOffset = l.drift.ppm()
	return s
}

// Close stops the line (not the conn).
func (l *RTPLine) Close() error {
	l.once.Do(func() {
		close(l.done)
	})
	l.wg.Wait()
	// The conn is the caller's: leave no read deadline of ours on it.
	_ = l.conn.SetReadDeadline(time.Time{})
	return nil
}

// driftEstimator compares the RTP timestamps of arriving packets with
// their arrival times: the least-delayed packet of a window has met the
// least queueing, so the change of that minimum delay between the first
// window and the latest one is the clocks' drift, free of jitter.
type driftEstimator struct {
	started       bool
	t0            time.Time
	ts0           uint32
	first         float64 // least delay of the first window, seconds
	firstAt       float64 // its arrival, seconds from t0
	cur, curAt    float64 // least delay of the current window
	last, lastAt  float64 // least delay of the last complete window
	win           int     // index of the current window
	haveCur, have bool
}

const driftWindow = 4.0 // seconds

func (d *driftEstimator) add(now time.Time, ts uint32) {
	if !d.started {
		d.started, d.t0, d.ts0 = true, now, ts
	}
	at := now.Sub(d.t0).Seconds()
	media := float64(int32(ts-d.ts0)) / SampleRate
	delay := at - media
	w := int(at / driftWindow)
	if w != d.win {
		if d.haveCur {
			if d.win == 0 {
				d.first, d.firstAt = d.cur, d.curAt
			} else {
				d.last, d.lastAt, d.have = d.cur, d.curAt, true
			}
		}
		d.win, d.haveCur = w, false
	}
	if !d.haveCur || delay < d.cur {
		d.cur, d.curAt, d.haveCur = delay, at, true
	}
}

// ppm is the far clock's rate against ours: positive when it runs fast
// (its timestamps advance more than our time does).
func (d *driftEstimator) ppm() float64 {
	if !d.have || d.lastAt-d.firstAt < driftWindow {
		return 0
	}
	return -(d.last - d.first) / (d.lastAt - d.firstAt) * 1e6
}
