package faxkit

import (
	"log/slog"
	"net"
	"time"

	"github.com/faxkit/faxkit/t30"
	"github.com/faxkit/faxkit/t38"
	"github.com/faxkit/faxkit/transport"
)

// Media is a media path a Call runs over: the physical layer under the
// T.30 session. T38Media makes one for T.38 (UDPTL, or IFP over RTP);
// audio (G.711 modems) will be another. Call control starts a call on one
// media path and may hand it to another (Call.SwapMedia), as a SIP
// re-INVITE from audio to T.38 does.
type Media interface {
	// Kind names the media in reports and traces: "t38" (UDPTL),
	// "t38-rtp" or "audio" (G.711 RTP).
	Kind() string
	// open makes the media's modem; the call's driver goroutine owns it
	// from then on.
	open(env mediaEnv) (mediaModem, error)
}

// mediaEnv is what a media path gets from the call it joins.
type mediaEnv struct {
	calling bool
	clock   Clock
	logger  *slog.Logger
}

// mediaModem is an open media path.
type mediaModem interface {
	t30.Modem
	// Close releases the path; the caller's socket stays open.
	Close() error
	// Stats returns the path's counters; called after Close.
	Stats() MediaStats
	// kind is the Media's Kind.
	kind() string
}

// MediaStats are the counters of one media path a call used. Report.Media
// has one per path, in the order the call used them.
type MediaStats struct {
	// Kind is the Media's Kind ("t38", "t38-rtp", "audio").
	Kind string
	// From and To are when the call started and stopped using this path,
	// measured from the start of the call.
	From, To time.Duration
	// Network counts the path's datagrams.
	Network NetStats
	// T38 has the T.38 terminal's counters (IFP packets, UDPTL recovery,
	// how late paced packets went out); nil for other media.
	T38 *t38.TerminalStats
	// Audio has an audio path's counters (RTP loss and late packets, the
	// far clock's offset, where its RTP stream ended); nil for other
	// media.
	Audio *AudioStats
}

// NetStats count the datagrams of a media path (or, in Report.Network, of
// the whole call).
type NetStats struct {
	PacketsIn, PacketsOut uint64
	BytesIn, BytesOut     uint64
}

func (n *NetStats) add(o NetStats) {
	n.PacketsIn += o.PacketsIn
	n.PacketsOut += o.PacketsOut
	n.BytesIn += o.BytesIn
	n.BytesOut += o.BytesOut
}

// T38Media returns the T.38 media path to peer over conn, with the
// settings agreed for it (nil: the T38Options defaults). conn stays the
// caller's: the call neither closes it nor reads it after leaving this
// path. Datagrams from other addresses than peer are ignored.
func T38Media(conn net.PacketConn, peer net.Addr, opts *T38Options) Media {
	m := &t38Media{conn: conn, peer: peer}
	if opts != nil {
		m.o = *opts
	}
	return m
}

type t38Media struct {
	conn net.PacketConn
	peer net.Addr
	o    T38Options
}

func (m *t38Media) Kind() string {
	if m.o.RTP {
		return "t38-rtp"
	}
	return "t38"
}

func (m *t38Media) open(env mediaEnv) (mediaModem, error) {
	if m.peer == nil {
		return nil, ErrNoPeer
	}
	o, err := m.o.resolve()
	if err != nil {
		return nil, err
	}
	growReadBuffer(m.conn)
	mdg := max(o.MaxDatagram, transport.DefaultMaxDatagram)
	tc := transport.NewConn(m.conn, m.peer, &transport.ConnConfig{MaxDatagram: mdg})
	var ep transport.Endpoint = keepOpen{tc}
	if o.RTP {
		ep = transport.NewRTPConn(ep, &transport.RTPConfig{PayloadType: o.RTPPayloadType, MaxDatagram: mdg})
	}
	term, err := newTerminal(ep, o, env)
	if err != nil {
		tc.Detach()
		return nil, err
	}
	return &t38Modem{Modem: term, term: term, tc: tc, k: m.Kind()}, nil
}

// terminal is what t38Modem needs of a T.38 terminal.
type terminal interface {
	t30.Modem
	Close() error
	Stats() t38.TerminalStats
}

// newTerminal makes the T.38 terminal of a media path.
func newTerminal(ep transport.Endpoint, o T38Options, env mediaEnv) (terminal, error) {
	cfg := t38.TerminalConfig{
		Version:     t38.Version(o.Version),
		EC:          o.ErrorCorrection.t38(),
		MaxDatagram: o.MaxDatagram,
		Pacing:      t38.PacingRealTime,
		Clock:       env.clock,
		Logger:      env.logger,
	}
	switch o.ErrorCorrection {
	case Redundancy:
		cfg.Depth = o.ECDepth
	case FEC:
		cfg.FECEntries = o.ECDepth
		cfg.FECSpan = t38.DefaultFECSpan
		for cfg.FECSpan*cfg.FECEntries > t38.MaxFECReach && cfg.FECSpan > 1 {
			cfg.FECSpan--
		}
	}
	if o.RTP {
		cfg.Encapsulation = t38.EncapIFP
	}
	if o.Pacing == Unpaced {
		cfg.Pacing = t38.PacingNone
	}
	return t38.NewTerminal(ep, cfg)
}

// t38Modem is an open T.38 media path.
type t38Modem struct {
	t30.Modem
	term terminal
	tc   *transport.Conn
	k    string
}

func (m *t38Modem) kind() string { return m.k }

// Preempt cuts short the signal being sent (t30.Preempter), when the
// terminal can.
func (m *t38Modem) Preempt() error {
	if p, ok := m.term.(t30.Preempter); ok {
		return p.Preempt()
	}
	return nil
}

func (m *t38Modem) Close() error {
	err := m.term.Close()
	m.tc.Detach() // conn is the caller's: leave it open, with no deadline a late ctx could set
	return err
}

func (m *t38Modem) Stats() MediaStats {
	ts := m.term.Stats()
	ns := m.tc.Stats()
	return MediaStats{Kind: m.k, T38: &ts,
		Network: NetStats{PacketsIn: ns.PacketsIn, PacketsOut: ns.PacketsOut, BytesIn: ns.BytesIn, BytesOut: ns.BytesOut}}
}

// keepOpen is an Endpoint whose Close does not close the caller's socket.
type keepOpen struct{ *transport.Conn }

func (keepOpen) Close() error { return nil }
