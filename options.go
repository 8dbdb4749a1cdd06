package faxkit

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/faxkit/faxkit/phi/redact"
	"github.com/faxkit/faxkit/t30"
	"github.com/faxkit/faxkit/t38"
)

// ErrorCorrection selects how UDPTL protects IFP packets against loss
// (T.38 clause 9.1, SDP attribute T38FaxUdpEC).
type ErrorCorrection uint8

// Error-correction schemes. The zero value is Redundancy.
const (
	Redundancy ErrorCorrection = iota // t38UDPRedundancy: each datagram repeats the previous IFP packets
	FEC                               // t38UDPFEC: XOR parity over earlier packets
	NoEC                              // none: T.30 command repetition and ECM carry all recovery
)

var ecNames = [...]string{Redundancy: "redundancy", FEC: "fec", NoEC: "none"}

func (e ErrorCorrection) String() string {
	if int(e) < len(ecNames) {
		return ecNames[e]
	}
	return fmt.Sprintf("ErrorCorrection(%d)", uint8(e))
}

// ParseErrorCorrection parses "redundancy", "fec" or "none".
func ParseErrorCorrection(s string) (ErrorCorrection, error) {
	for i, n := range ecNames {
		if n == s {
			return ErrorCorrection(i), nil
		}
	}
	return 0, fmt.Errorf("%w: error correction %q (want redundancy, fec or none)", ErrOptions, s)
}

func (e ErrorCorrection) t38() t38.ErrorCorrection {
	switch e {
	case FEC:
		return t38.ECFEC
	case NoEC:
		return t38.ECNone
	}
	return t38.ECRedundancy
}

// Pacing says how fast the T.38 terminal hands IFP packets to the network.
type Pacing uint8

// Pacing modes. The zero value is RealTime.
const (
	// RealTime spaces packets as a modem at the negotiated rate would
	// deliver them, so that a gateway to the phone network keeps up.
	RealTime Pacing = iota
	// Unpaced sends as fast as the peer accepts: IP-to-IP delivery
	// between endpoints that need no real-time pacing (faxkit to faxkit,
	// T.38 servers, tests).
	Unpaced
)

func (p Pacing) String() string {
	switch p {
	case RealTime:
		return "real-time"
	case Unpaced:
		return "unpaced"
	}
	return fmt.Sprintf("Pacing(%d)", uint8(p))
}

// Options configure Send and Receive: the fax part (T.30), the T.38 media
// part, and what belongs to the call as a whole. The zero value (or nil)
// works: ECM on, MH, MR and MMR, up to 14400 bit/s, no ident, T.30's own
// timers; T.38 version 0 over UDPTL, redundancy of depth 3, 400-octet
// datagrams, real-time pacing; no time limit, no callback, no logging, the
// system clock.
type Options struct {
	// Fax is the T.30 part, the same for every media a call runs over.
	Fax FaxOptions
	// T38 is the T.38 media part (UDPTL, or IFP over RTP).
	T38 T38Options
	// Timeout bounds the whole call; when it passes the call is ended
	// with DCN like a cancelled context. Default 0: only the T.30 timers
	// (T1 35 s to find the other terminal, T2/T4/T5) bound it.
	Timeout time.Duration
	// OnEvent, when set, is called from the call's goroutine for every
	// T.30 event (phase changes, frames, pages, the result) and every
	// change of media. It must not block for long: the call's timing
	// depends on it.
	OnEvent func(Event)
	// Logger receives the call's debug stream. Nil discards it. It is
	// wrapped in a redacting handler, so PHI-typed and PHI-named
	// attributes never reach the underlying handler in clear.
	Logger *slog.Logger
	// Clock drives T.30 timers and media pacing. Nil means the system
	// clock; tests pass a fake one.
	Clock Clock
}

// Clock is the time source of a call: the system clock unless a test
// injects another (see Options.Clock).
type Clock = t30.Clock

// FaxOptions are the T.30 settings of a call: what the session offers,
// accepts and says about itself. They do not depend on the media (T.38 or
// audio) that carries the call.
type FaxOptions struct {
	// DisableECM turns off error correction mode (T.30 Annex A). ECM is
	// on by default: it retransmits damaged image frames so pages arrive
	// intact, and MMR needs it.
	DisableECM bool
	// Compressions are the codings offered (receive) or allowed (send):
	// any of t30.MH, t30.MR and t30.MMR. Nil means all three. MH is
	// always included, as T.30 requires of every terminal; MMR is used
	// only with ECM.
	Compressions []t30.Compression
	// MaxBitRate caps the image modem: 2400, 4800, 7200, 9600, 12000 or
	// 14400 bit/s. Default 14400 (V.17).
	MaxBitRate int
	// LocalIdent is sent as our TSI (sending) or CSI (receiving): up to 20
	// characters, usually the fax number. It is PHI and never logged.
	LocalIdent string
	// T1 overrides T.30's T1 (35 s): how long to wait for the other
	// terminal to appear.
	T1 time.Duration
}

// T38Options are the settings of a T.38 media path (T.38 clause 9: UDPTL,
// or IFP over RTP with RTP set), usually agreed through SDP.
type T38Options struct {
	// Version is the T.38 IFP version, 0 to 3. Default 0 (the version
	// most peers default to; both ends must agree, usually through SDP).
	Version int
	// ErrorCorrection is the UDPTL loss protection. Default Redundancy.
	ErrorCorrection ErrorCorrection
	// ECDepth is the redundancy depth (secondary packets per datagram,
	// 1..15) or, for FEC, the number of FEC entries (1..5). Default 3.
	ECDepth int
	// MaxDatagram is the largest datagram sent, in octets: the far end's
	// T38FaxMaxDatagram. Default 400 (Asterisk's and FreeSWITCH's).
	MaxDatagram int
	// Pacing is real time (default) or unpaced.
	Pacing Pacing
	// RTP carries one IFP packet per RTP packet (T.38 over RTP, RFC 4612
	// "image/t38" or "audio/t38") instead of UDPTL; ErrorCorrection and
	// ECDepth are then unused (RTP has no UDPTL redundancy: loss is left
	// to ECM and T.30). Default false: UDPTL.
	RTP bool
	// RTPPayloadType is the negotiated dynamic payload type with RTP.
	// Default 96.
	RTPPayloadType uint8
}

// ErrOptions is wrapped by errors that reject Options.
var ErrOptions = errors.New("faxkit: invalid options")

// bitRates maps MaxBitRate values to the fastest speed at that rate.
var bitRates = map[int]t30.Speed{
	2400: t30.V27ter2400, 4800: t30.V27ter4800, 7200: t30.V17_7200,
	9600: t30.V17_9600, 12000: t30.V17_12000, 14400: t30.V17_14400,
}

// resolved is the call part of Options (fax and call-wide settings) with
// defaults filled in and validated.
type resolved struct {
	Fax      FaxOptions
	Timeout  time.Duration
	OnEvent  func(Event)
	Clock    Clock
	maxSpeed t30.Speed
	logger   *slog.Logger
}

func resolveCall(f FaxOptions, timeout time.Duration, onEvent func(Event), logger *slog.Logger, clk Clock) (*resolved, error) {
	r := &resolved{Fax: f, Timeout: timeout, OnEvent: onEvent, Clock: clk}
	if r.Fax.MaxBitRate == 0 {
		r.Fax.MaxBitRate = 14400
	}
	sp, ok := bitRates[r.Fax.MaxBitRate]
	if !ok {
		return nil, fmt.Errorf("%w: bit rate %d (want 2400, 4800, 7200, 9600, 12000 or 14400)", ErrOptions, r.Fax.MaxBitRate)
	}
	r.maxSpeed = sp
	for _, c := range r.Fax.Compressions {
		if c != t30.MH && c != t30.MR && c != t30.MMR {
			return nil, fmt.Errorf("%w: compression %v", ErrOptions, c)
		}
	}
	if r.Timeout < 0 || r.Fax.T1 < 0 {
		return nil, fmt.Errorf("%w: negative timeout", ErrOptions)
	}
	if logger == nil {
		r.logger = slog.New(slog.DiscardHandler)
	} else {
		r.logger = slog.New(redact.NewHandler(logger.Handler(), nil))
	}
	return r, nil
}

// resolve fills the defaults of a T.38 media path and validates it.
func (t T38Options) resolve() (T38Options, error) {
	if t.Version < 0 || t.Version > 3 {
		return t, fmt.Errorf("%w: T.38 version %d (want 0..3)", ErrOptions, t.Version)
	}
	if t.ErrorCorrection > NoEC {
		return t, fmt.Errorf("%w: %v", ErrOptions, t.ErrorCorrection)
	}
	if t.ECDepth == 0 {
		t.ECDepth = t38.DefaultDepth
	}
	switch {
	case t.ErrorCorrection == Redundancy && (t.ECDepth < 1 || t.ECDepth > t38.MaxDepth):
		return t, fmt.Errorf("%w: redundancy depth %d (want 1..%d)", ErrOptions, t.ECDepth, t38.MaxDepth)
	case t.ErrorCorrection == FEC && (t.ECDepth < 1 || t.ECDepth > t38.MaxFECEntries):
		return t, fmt.Errorf("%w: FEC entries %d (want 1..%d)", ErrOptions, t.ECDepth, t38.MaxFECEntries)
	}
	if t.RTPPayloadType == 0 {
		t.RTPPayloadType = 96
	}
	if t.RTPPayloadType > 127 {
		return t, fmt.Errorf("%w: RTP payload type %d (want 0..127)", ErrOptions, t.RTPPayloadType)
	}
	if t.MaxDatagram == 0 {
		t.MaxDatagram = t38.DefaultMaxDatagram
	}
	if t.MaxDatagram < 64 || t.MaxDatagram > 65507 {
		return t, fmt.Errorf("%w: max datagram %d (want 64..65507)", ErrOptions, t.MaxDatagram)
	}
	if t.Pacing > Unpaced {
		return t, fmt.Errorf("%w: %v", ErrOptions, t.Pacing)
	}
	return t, nil
}

// capabilities returns what the T.30 session offers or accepts.
func (r *resolved) capabilities() *t30.Capabilities {
	c := t30.DefaultCapabilities()
	c.ECM = !r.Fax.DisableECM
	if r.Fax.Compressions != nil {
		c.MR = slices.Contains(r.Fax.Compressions, t30.MR)
		c.MMR = slices.Contains(r.Fax.Compressions, t30.MMR)
	}
	if !c.ECM {
		c.MMR = false
	}
	c.MaxSpeed = r.maxSpeed
	return &c
}

// ParseCompressions parses a comma-separated list of "mh", "mr" and "mmr".
func ParseCompressions(s string) ([]t30.Compression, error) {
	var out []t30.Compression
	start := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != ',' {
			continue
		}
		var c t30.Compression
		switch w := s[start:i]; w {
		case "mh", "MH":
			c = t30.MH
		case "mr", "MR":
			c = t30.MR
		case "mmr", "MMR":
			c = t30.MMR
		default:
			return nil, fmt.Errorf("%w: compression %q (want mh, mr, mmr)", ErrOptions, w)
		}
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
		start = i + 1
	}
	return out, nil
}
