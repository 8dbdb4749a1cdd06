package faxkit

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/faxkit/faxkit/modem/fax"
	"github.com/faxkit/faxkit/modem/g711"
	"github.com/faxkit/faxkit/t30"
)

// AudioCodec is the G.711 law of an audio media path.
type AudioCodec uint8

// The G.711 codecs (RFC 3551 static payload types 0 and 8).
const (
	PCMU AudioCodec = iota // µ-law, payload type 0
	PCMA                   // A-law, payload type 8
)

func (c AudioCodec) String() string {
	switch c {
	case PCMU:
		return "pcmu"
	case PCMA:
		return "pcma"
	}
	return fmt.Sprintf("AudioCodec(%d)", uint8(c))
}

// ParseAudioCodec parses "pcmu" or "pcma" (any case).
func ParseAudioCodec(s string) (AudioCodec, error) {
	switch strings.ToLower(s) {
	case "pcmu":
		return PCMU, nil
	case "pcma":
		return PCMA, nil
	}
	return 0, fmt.Errorf("%w: audio codec %q (want pcmu or pcma)", ErrOptions, s)
}

// RTPStream is the sending state of an RTP stream: its SSRC and the
// sequence number and timestamp of its next packet. An audio media path
// can continue a stream that a SIP call's voice began (AudioOptions.Stream)
// and says where its own stream ended (AudioStats.Stream).
type RTPStream = fax.RTPStream

// AudioModems are the image modems an audio media path has: V.17, V.29
// and V.27ter.
const AudioModems = t30.ModemsV17 | t30.ModemsV29 | t30.ModemsV27ter

// AudioOptions are the settings of an audio media path: G.711 RTP (RFC
// 3550/3551) in packets of PTime (20 ms, 160 samples, by default),
// usually agreed through SDP (a=ptime). The zero value works: PCMU,
// payload type 0, 20 ms packets, a 60 ms jitter buffer, a new stream,
// every audio modem.
type AudioOptions struct {
	// Codec is PCMU (default) or PCMA.
	Codec AudioCodec
	// PayloadType is the RTP payload type sent and accepted. Default 0
	// for PCMU and 8 for PCMA (a PCMA payload type cannot be set to 0).
	PayloadType uint8
	// PTime is the packet time sent and played: 10, 20, 30 or 40 ms
	// (SDP a=ptime). Default 20 ms. Packets received may have another
	// packet time (any multiple of 10 ms): they are played by timestamp.
	PTime time.Duration
	// JitterDepth is the fixed jitter buffer's delay in units of 20 ms,
	// 1..25, whatever PTime is (rounded up to whole packets). Default 3
	// (60 ms). It never adapts and conceals nothing: a packet missing at
	// its time is skipped by the modem and counted.
	JitterDepth int
	// Stream, when set, continues an RTP stream already running (the
	// same SSRC, the next sequence number and timestamp), as a SIP call
	// whose voice turns to fax does. Nil starts a new stream at random
	// values.
	Stream *RTPStream
	// ANSam makes an answering call's answer tone ANSam with phase
	// reversals (V.8 /ANSam: 2100 Hz amplitude-modulated at 15 Hz, phase
	// reversed every 450 ms) instead of plain CED, as V.34-capable fax
	// machines answer; T.30 callers take it as CED. No V.8 CM/JM
	// exchange follows: the call goes on in T.30 (V.17 at most).
	ANSam bool
	// Modems are the image modems allowed on this path, within
	// AudioModems. Default AudioModems. A call that starts on an audio
	// path offers only these (with FaxOptions.MaxBitRate still capping
	// the rate).
	Modems t30.ModemSet
}

func (a AudioOptions) resolve() (AudioOptions, error) {
	if a.Codec > PCMA {
		return a, fmt.Errorf("%w: %v", ErrOptions, a.Codec)
	}
	if a.PayloadType > 127 {
		return a, fmt.Errorf("%w: RTP payload type %d (want 0..127)", ErrOptions, a.PayloadType)
	}
	p, err := fax.CheckPTime(a.PTime)
	if err != nil {
		return a, fmt.Errorf("%w: packet time %v (want 10, 20, 30 or 40 ms)", ErrOptions, a.PTime)
	}
	a.PTime = p
	if a.JitterDepth == 0 {
		a.JitterDepth = 3
	}
	if a.JitterDepth < 1 || a.JitterDepth > 25 {
		return a, fmt.Errorf("%w: jitter buffer depth %d (want 1..25 packets)", ErrOptions, a.JitterDepth)
	}
	if a.Modems == 0 {
		a.Modems = AudioModems
	}
	if a.Modems&AudioModems == 0 {
		return a, fmt.Errorf("%w: audio modems %v (have %v)", ErrOptions, a.Modems, AudioModems)
	}
	a.Modems &= AudioModems
	return a, nil
}

// AudioMedia returns the audio media path to peer over conn: the T.30
// session on faxkit's own modems (V.21, V.27ter, V.29, V.17, CNG and CED;
// package modem/fax) over G.711 RTP, as fax machines call over a voice
// line. opts nil means the AudioOptions defaults. conn stays the
// caller's: the call neither closes it nor reads it after leaving this
// path. Datagrams from other addresses than peer, and RTP of other
// payload types (telephone-event, comfort noise), are ignored.
//
// A call moved from audio to T.38 (Call.SwapMedia, on a re-INVITE)
// continues where it is; give the T.38 path its own socket, as T.38 is
// negotiated on a new port: two paths reading one socket at once would
// steal each other's datagrams while the switch is made.
func AudioMedia(conn net.PacketConn, peer net.Addr, opts *AudioOptions) Media {
	m := &audioMedia{conn: conn, peer: peer}
	if opts != nil {
		m.o = *opts
	}
	return m
}

type audioMedia struct {
	conn net.PacketConn
	peer net.Addr
	o    AudioOptions
}

func (m *audioMedia) Kind() string { return "audio" }

// modems limits the session a call starts on this path with.
func (m *audioMedia) modems() (t30.ModemSet, error) {
	o, err := m.o.resolve()
	return o.Modems, err
}

func (m *audioMedia) open(env mediaEnv) (mediaModem, error) {
	if m.peer == nil {
		return nil, ErrNoPeer
	}
	o, err := m.o.resolve()
	if err != nil {
		return nil, err
	}
	growReadBuffer(m.conn)
	law := g711.ULaw
	if o.Codec == PCMA {
		law = g711.ALaw
	}
	line := fax.NewRTPLine(m.conn, m.peer, &fax.RTPConfig{Law: law, PayloadType: o.PayloadType,
		PTime: o.PTime, Depth: o.JitterDepth, Start: o.Stream, Clock: env.clock})
	am := &audioModem{Modem: fax.NewModem(&fax.Config{ANSam: o.ANSam}), line: line, codec: o.Codec, done: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	am.cancel = cancel
	go func() {
		defer close(am.done)
		if err := am.Modem.Run(ctx, line); err != nil && ctx.Err() == nil && err != fax.ErrClosed {
			env.logger.Debug("faxkit: audio line stopped", "err", err)
			// The line failed (the socket was closed): the modem's events
			// end, which the driver takes as a hang-up.
			_ = am.Modem.Close()
		}
	}()
	return am, nil
}

// audioModem is an open audio media path: the modem and the RTP line it
// runs on, in a goroutine of its own that keeps the sample clock.
type audioModem struct {
	*fax.Modem
	line   *fax.RTPLine
	codec  AudioCodec
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once

	mu       sync.Mutex
	repeated int // Stats().FramesRepeated at the last page received
}

func (m *audioModem) kind() string { return "audio" }

func (m *audioModem) Close() error {
	m.once.Do(func() {
		m.cancel()
		_ = m.Modem.Close()
		<-m.done
		_ = m.line.Close()
	})
	return nil
}

func (m *audioModem) Stats() MediaStats {
	ls := m.line.Stats()
	ms := m.Modem.Stats()
	a := &AudioStats{
		Codec:          m.codec.String(),
		Stream:         m.line.Stream(),
		Missing:        ls.Jitter.Missing,
		Late:           ls.Jitter.Late,
		Duplicate:      ls.Jitter.Duplicate,
		Overflow:       ls.Jitter.Overflow,
		Foreign:        ls.Foreign,
		Skipped:        ls.Skipped,
		ClockOffset:    ls.ClockOffset,
		FramesOK:       ms.FramesOK,
		FramesBad:      ms.FramesBad,
		Trainings:      ms.Trainings,
		TrainingFailed: ms.TrainingFailed,
		FramesRepeated: ms.FramesRepeated,
	}
	return MediaStats{Kind: "audio", Audio: a,
		Network: NetStats{PacketsIn: ls.PacketsIn, PacketsOut: ls.PacketsOut, BytesIn: ls.BytesIn, BytesOut: ls.BytesOut}}
}

// signal is what the image receiver measured of the page just received.
func (m *audioModem) signal() *SignalStats {
	ms := m.Modem.Stats()
	if ms.LastSpeed == t30.SpeedNone {
		return nil
	}
	return &SignalStats{Level: ms.Level, SNR: ms.SNR, CarrierOffset: ms.CarrierOffset,
		ClockOffset: m.line.Stats().ClockOffset, TimingOffset: ms.TimingOffset, TimingKnown: ms.TimingKnown}
}

func (m *audioModem) framesRepeated() int {
	n := m.Modem.Stats().FramesRepeated
	m.mu.Lock()
	defer m.mu.Unlock()
	d := n - m.repeated
	m.repeated = n
	return d
}

// AudioStats are the counters of an audio media path (MediaStats.Audio).
type AudioStats struct {
	// Codec is "pcmu" or "pcma".
	Codec string
	// Stream is where the sent RTP stream ended: the SSRC and the next
	// sequence number and timestamp, for a path that continues it.
	Stream RTPStream
	// The jitter buffer's counts: Missing blocks (of the path's packet
	// time) played as lost, all or in part (their packet never came, or
	// came too late), Late packets that came after
	// their time, Duplicate packets, Overflow packets too far ahead.
	Missing, Late, Duplicate, Overflow uint64
	// Foreign counts datagrams from other addresses or not of our
	// payload type.
	Foreign uint64
	// Skipped counts blocks (packets) neither sent nor played because this
	// end fell more than 2 s behind its clock (an overloaded host).
	Skipped uint64
	// ClockOffset is the far end's sample clock against ours, in ppm
	// (positive: it runs fast), as its RTP timestamps against their
	// arrival show; 0 for calls too short to tell (8 s).
	ClockOffset float64
	// FramesOK and FramesBad count the HDLC frames heard (V.21 and ECM);
	// Trainings and TrainingFailed the image modem's trainings.
	FramesOK, FramesBad       int
	Trainings, TrainingFailed int
	// FramesRepeated counts the ECM frames received again: those of the
	// bursts that answered this end's PPRs (per page: PageStats).
	FramesRepeated int
}

// SignalStats are what an audio path's image receiver measured of a
// received page (PageStats.Signal).
type SignalStats struct {
	// Level is the receive level in dBm0.
	Level float64
	// SNR is the signal-to-error ratio at the receiver's decision point
	// in dB: the line's signal-to-noise and distortion as the demodulator
	// saw it.
	SNR float64
	// CarrierOffset is the far end's carrier frequency offset, in Hz, as
	// the receiver tracked it.
	CarrierOffset float64
	// ClockOffset is the far end's sample clock against ours in ppm,
	// from the RTP stream's timestamps against their arrival so far (see
	// AudioStats).
	ClockOffset float64
	// TimingOffset is the timing offset of the page's signal: the far
	// end's symbol clock against ours in ppm (positive: it runs fast), as
	// the image receiver's timing loop tracked it over the page. It is
	// what the modems met, where ClockOffset is what the RTP stream
	// says; TimingKnown is false (and TimingOffset 0) when the receiver
	// does not measure it.
	TimingOffset float64
	TimingKnown  bool
}

// modemLimiter is a Media that limits the image modems a call starting
// on it may offer.
type modemLimiter interface {
	modems() (t30.ModemSet, error)
}

// signaller is an open media path that measures received pages.
type signaller interface {
	signal() *SignalStats
	// framesRepeated returns the ECM frames received again since the
	// last call (the page just received).
	framesRepeated() int
}

// pageMedia adds to a page's statistics what the media path measured:
// the ECM repeats since the previous page, and the received signal.
func (c *Call) pageMedia(p *PageStats, r t30.Record) {
	st := c.session.Stats()
	if m, ok := c.session.Mode(); ok {
		p.Modem = m.Speed.Modulation().String()
	}
	p.PPRs = st.PPRs - c.prev.PPRs
	p.FramesResent = st.FramesResent - c.prev.FramesResent
	c.prev = st
	if r.Kind != t30.RecordPageReceived || c.driver == nil {
		return
	}
	if s, ok := c.driver.Modem().(signaller); ok {
		p.Signal = s.signal()
		p.FramesRepeated = s.framesRepeated()
	}
}

// limitModems remakes the session (not yet started) to offer only the
// image modems a media path has, for a call that starts on it.
func (c *Call) limitModems(m Media) error {
	ml, ok := m.(modemLimiter)
	if !ok {
		return nil
	}
	set, err := ml.modems()
	if err != nil {
		return err
	}
	caps := *c.tcfg.Capabilities
	if caps.Modems&set == caps.Modems {
		return nil
	}
	caps.Modems &= set
	if caps.Modems == 0 {
		return fmt.Errorf("%w: no image modem both allowed and on the %s path", ErrOptions, m.Kind())
	}
	tc := c.tcfg
	tc.Capabilities = &caps
	s, err := t30.NewSession(tc)
	if err != nil {
		return err
	}
	c.session, c.tcfg = s, tc
	return nil
}
