package sip

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/faxkit/faxkit/modem/g711"
	"github.com/faxkit/faxkit/modem/tone"
	"github.com/faxkit/faxkit/sdp"
	"github.com/pion/rtp"
)

// mediaConn is a call's media socket. It is the net.PacketConn handed to
// the application for T.38, with symmetric latching (RFC 4961 style, as
// SBCs and Asterisk's "nat=yes" do): the peer's packets are reported as
// coming from the SDP address, and what the application writes to that
// address goes to wherever the peer's packets actually come from.
//
// Before the switch it also runs the audio leg: G.711 RTP out every 20 ms
// (silence, or CNG for the caller) and a fax tone detector on what comes
// in.
type mediaConn struct {
	*net.UDPConn

	mu      sync.Mutex
	sdpAddr netip.AddrPort // from the peer's SDP
	latched netip.AddrPort // where the peer's packets come from
	t38     bool
	seenT38 bool

	onFirstT38 func()

	audioStop chan struct{}
	audioDone chan struct{}
	// The audio leg's RTP stream, once it has sent: its SSRC, and the
	// sequence number and timestamp of its last packet and when it went.
	legSent bool
	leg     RTPStream
	legAt   time.Time
}

// RTPStream is the sending state of an RTP stream (RFC 3550): its SSRC
// and the sequence number and timestamp of its next packet. Its fields are
// those of faxkit.RTPStream (modem/fax.RTPStream), so one converts to the
// other.
type RTPStream struct {
	SSRC      uint32
	Seq       uint16
	Timestamp uint32
}

// nextStream is where a stream continuing the audio leg's begins: the next
// sequence number, and the timestamp advanced by the samples of the time
// since the leg's last packet (RFC 3550 clause 5.1: the timestamp is the
// sampling instant), never less than one packet. nil if the leg never
// sent.
func (m *mediaConn) nextStream(now time.Time) *RTPStream {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.legSent {
		return nil
	}
	elapsed := max(now.Sub(m.legAt), 20*time.Millisecond)
	s := m.leg
	s.Seq++
	s.Timestamp += uint32(elapsed / (time.Second / 8000))
	return &s
}

func newMediaConn(addr netip.Addr) (*mediaConn, error) {
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(addr, 0)))
	if err != nil {
		return nil, err
	}
	return &mediaConn{UDPConn: c}, nil
}

func (m *mediaConn) port() int { return m.LocalAddr().(*net.UDPAddr).Port }

func (m *mediaConn) setRemote(a netip.AddrPort, t38 bool) {
	m.mu.Lock()
	if a != m.sdpAddr {
		m.latched = netip.AddrPort{}
	}
	m.sdpAddr, m.t38 = a, t38
	m.mu.Unlock()
}

// ReadFrom reads the next packet. In T.38 mode, RTP packets still in
// flight from the audio leg are dropped, and the source is reported as
// the SDP address once latched.
func (m *mediaConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, src, err := m.UDPConn.ReadFromUDPAddrPort(b)
		if err != nil {
			return n, nil, err
		}
		m.mu.Lock()
		t38, sdpAddr := m.t38, m.sdpAddr
		if t38 && looksLikeRTP(b[:n]) {
			m.mu.Unlock()
			continue
		}
		// Latch: the first packet from the peer's address family fixes
		// where we send.
		if sdpAddr.IsValid() && src != sdpAddr && (!m.latched.IsValid() || m.latched != src) {
			m.latched = src
		}
		first := t38 && !m.seenT38
		if t38 {
			m.seenT38 = true
		}
		m.mu.Unlock()
		if first && m.onFirstT38 != nil {
			m.onFirstT38()
		}
		if sdpAddr.IsValid() && src != sdpAddr {
			return n, net.UDPAddrFromAddrPort(sdpAddr), nil
		}
		return n, net.UDPAddrFromAddrPort(src), nil
	}
}

// WriteTo sends b; packets for the SDP address go to the latched address.
func (m *mediaConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return 0, errors.New("sip: media write to a non-UDP address")
	}
	dst := ua.AddrPort()
	dst = netip.AddrPortFrom(dst.Addr().Unmap(), dst.Port())
	m.mu.Lock()
	if dst == m.sdpAddr && m.latched.IsValid() {
		dst = m.latched
	}
	first := m.t38 && !m.seenT38
	if m.t38 {
		m.seenT38 = true
	}
	m.mu.Unlock()
	if first && m.onFirstT38 != nil {
		m.onFirstT38()
	}
	return m.UDPConn.WriteToUDPAddrPort(b, dst)
}

// looksLikeRTP: version 2, no padding/extension games, a G.711 or
// telephone-event payload type and a 20 ms G.711 size. A UDPTL packet
// starts with a 16-bit sequence number, which would have to be above
// 32767 to collide.
func looksLikeRTP(b []byte) bool {
	if len(b) < 12 || b[0]&0xc0 != 0x80 {
		return false
	}
	pt := b[1] & 0x7f
	return pt == 0 || pt == 8 || pt == 13 || (pt >= 96 && pt <= 127 && len(b) <= 12+16)
}

// startAudio runs the audio leg: 20 ms G.711 packets to the peer (CNG
// cadence from the caller, silence from the answerer) and the tone
// detector on what arrives. It stops at stopAudio (before the switch to
// T.38) or when the socket closes.
func (m *mediaConn) startAudio(a sdp.AudioStream, caller bool, heard func(Tone)) {
	m.stopAudio()
	if !a.Remote.IsValid() || a.Remote.Addr().IsUnspecified() {
		return
	}
	stop, done := make(chan struct{}), make(chan struct{})
	m.mu.Lock()
	m.audioStop, m.audioDone = stop, done
	m.mu.Unlock()
	law := g711.ULaw
	if a.Codec.Name == "PCMA" {
		law = g711.ALaw
	}
	go func() {
		defer close(done)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { // receiver
			defer wg.Done()
			// One detector per RTP source: two streams (an SBC switching
			// sources, a peer's comfort noise and tone generator) must not
			// be blended into one signal.
			dets := map[uint32]*tone.Detector{}
			buf := make([]byte, 1500)
			var pkt rtp.Packet
			pcm := make([]int16, 1500)
			for {
				select {
				case <-stop:
					return
				default:
				}
				n, _, err := m.ReadFrom(buf)
				if err != nil {
					return // closed, or woken by stopAudio
				}
				if pkt.Unmarshal(buf[:n]) != nil || (pkt.PayloadType != 0 && pkt.PayloadType != 8) {
					continue
				}
				rlaw := g711.ULaw
				if pkt.PayloadType == 8 {
					rlaw = g711.ALaw
				}
				n = g711.Decode(rlaw, pcm, pkt.Payload)
				det := dets[pkt.SSRC]
				if det == nil {
					if len(dets) >= 4 {
						continue
					}
					det = tone.NewDetector(tone.DetConfig{Preamble: true})
					dets[pkt.SSRC] = det
				}
				for _, ev := range det.Process(pcm[:n]) {
					if !ev.On {
						continue
					}
					switch ev.Tone {
					case tone.CNG:
						heard(ToneCNG)
					case tone.CED, tone.ANSPR, tone.ANSam, tone.ANSamPR:
						heard(ToneCED)
					case tone.V21Preamble:
						heard(ToneV21)
					}
				}
			}
		}()
		// T.30's calling terminal sends CNG until the far end is heard;
		// the answerer sends silence until its fax starts on T.38.
		kind := tone.None
		if caller {
			kind = tone.CNG
		}
		gen := tone.NewGenerator(kind, tone.GenConfig{})
		samples := make([]int16, 160)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: a.Codec.PT, SSRC: uint32(time.Now().UnixNano()), Marker: true}}
		payload := make([]byte, 160)
		dst := net.UDPAddrFromAddrPort(a.Remote)
		for {
			select {
			case <-stop:
				wg.Wait()
				_ = m.UDPConn.SetReadDeadline(time.Time{})
				return
			case <-tick.C:
			}
			gen.Process(samples)
			g711.Encode(law, payload, samples)
			pkt.Payload = payload
			if b, err := pkt.Marshal(); err == nil {
				if _, err := m.WriteTo(b, dst); err != nil && errors.Is(err, net.ErrClosed) {
					wg.Wait()
					return
				}
				m.mu.Lock()
				m.legSent, m.legAt = true, time.Now()
				m.leg = RTPStream{SSRC: pkt.SSRC, Seq: pkt.SequenceNumber, Timestamp: pkt.Timestamp}
				m.mu.Unlock()
			}
			pkt.Marker = false
			pkt.SequenceNumber++
			pkt.Timestamp += 160
		}
	}()
}

func (m *mediaConn) stopAudio() {
	m.mu.Lock()
	stop, done := m.audioStop, m.audioDone
	m.audioStop, m.audioDone = nil, nil
	m.mu.Unlock()
	if stop != nil {
		close(stop)
		_ = m.UDPConn.SetReadDeadline(time.Now()) // wake the receiver now
		<-done
	}
}

func (m *mediaConn) Close() error {
	err := m.UDPConn.Close()
	m.stopAudio()
	return err
}
