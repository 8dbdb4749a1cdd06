package fax

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/pion/rtp"

	"github.com/faxkit/faxkit/modem/g711"
)

// RTPConfig configures an RTPLine. The zero value sends PCMU.
type RTPConfig struct {
	Law g711.Law // ULaw (PCMU, payload type 0) or ALaw (PCMA, 8)
	// PayloadType overrides the static one (0 keeps it).
	PayloadType uint8
	// Depth is the jitter buffer's fixed delay in 20 ms blocks; 0 means
	// 3 (60 ms).
	Depth int
}

// RTPStats counts an RTPLine's packets.
type RTPStats struct {
	PacketsIn, PacketsOut uint64
	Foreign               uint64 // datagrams from another address, or not our RTP
	Jitter                JitterStats
}

// RTPLine is a Line over G.711 RTP (RFC 3550/3551): 20 ms packets of 160
// samples, the RTP timestamp advancing by 160 per packet from a random
// start, continuous for the whole call; a fixed jitter buffer on receive.
// ReadBlock paces the call on its own 20 ms ticker (the sample clock).
// The conn stays the caller's: Close stops using it without closing it.
type RTPLine struct {
	conn net.PacketConn
	peer net.Addr
	cfg  RTPConfig
	pt   uint8

	mu     sync.Mutex
	jb     *JitterBuffer
	stats  RTPStats
	ticker *time.Ticker
	done   chan struct{}
	once   sync.Once
	wg     sync.WaitGroup

	seq  uint16
	ts   uint32
	ssrc uint32
	pkt  []byte
	pay  [BlockSize]byte
}

// NewRTPLine starts receiving RTP from peer on conn.
func NewRTPLine(conn net.PacketConn, peer net.Addr, cfg *RTPConfig) *RTPLine {
	l := &RTPLine{conn: conn, peer: peer, done: make(chan struct{})}
	if cfg != nil {
		l.cfg = *cfg
	}
	l.pt = 0
	if l.cfg.Law == g711.ALaw {
		l.pt = 8
	}
	if l.cfg.PayloadType != 0 {
		l.pt = l.cfg.PayloadType
	}
	l.jb = NewJitterBuffer(l.cfg.Depth)
	var r [10]byte
	_, _ = rand.Read(r[:])
	l.seq = binary.BigEndian.Uint16(r[0:])
	l.ts = binary.BigEndian.Uint32(r[2:])
	l.ssrc = binary.BigEndian.Uint32(r[6:])
	l.ticker = time.NewTicker(20 * time.Millisecond)
	l.wg.Add(1)
	go l.recv()
	return l
}

// ErrLineClosed is returned by an RTPLine after Close.
var ErrLineClosed = errors.New("fax: RTP line closed")

func (l *RTPLine) recv() {
	defer l.wg.Done()
	buf := make([]byte, 1500)
	var pcm [BlockSize]int16
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
		k := g711.Decode(l.cfg.Law, pcm[:], p.Payload[:min(len(p.Payload), BlockSize)])
		l.mu.Lock()
		l.stats.PacketsIn++
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

// ReadBlock waits for the next 20 ms tick and plays the jitter buffer's
// block for it; false means its packet is missing.
func (l *RTPLine) ReadBlock(rx []int16) (bool, error) {
	select {
	case <-l.done:
		return false, ErrLineClosed
	case <-l.ticker.C:
	}
	l.mu.Lock()
	ok := l.jb.Get(rx)
	l.mu.Unlock()
	return ok, nil
}

// WriteBlock sends one packet of BlockSize samples.
func (l *RTPLine) WriteBlock(tx []int16) error {
	select {
	case <-l.done:
		return ErrLineClosed
	default:
	}
	n := g711.Encode(l.cfg.Law, l.pay[:], tx[:min(len(tx), BlockSize)])
	h := rtp.Header{Version: 2, PayloadType: l.pt, SequenceNumber: l.seq, Timestamp: l.ts, SSRC: l.ssrc}
	var err error
	l.pkt, err = (&rtp.Packet{Header: h, Payload: l.pay[:n]}).Marshal()
	if err != nil {
		return err
	}
	l.seq++
	l.ts += BlockSize
	if _, err := l.conn.WriteTo(l.pkt, l.peer); err != nil {
		return err
	}
	l.mu.Lock()
	l.stats.PacketsOut++
	l.mu.Unlock()
	return nil
}

// Stats returns the counters.
func (l *RTPLine) Stats() RTPStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.stats
	s.Jitter = l.jb.Stats()
	return s
}

// Close stops the line (not the conn).
func (l *RTPLine) Close() error {
	l.once.Do(func() {
		close(l.done)
		l.ticker.Stop()
	})
	l.wg.Wait()
	return nil
}
