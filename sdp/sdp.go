package sdp

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Errors. Parse wraps ErrInvalid with the line type (never the line's text,
// which may carry an address or a user name).
var (
	ErrInvalid  = errors.New("sdp: invalid description")
	ErrTooLarge = errors.New("sdp: description exceeds limits")
	ErrNoMedia  = errors.New("sdp: no acceptable media")
)

// Limits on hostile input. A real fax or voice description is under 2 KiB
// with at most three media sections.
const (
	MaxBodySize = 64 << 10 // bytes
	MaxMedia    = 32       // media sections
	MaxLines    = 2048     // lines in a body
	MaxFormats  = 64       // formats on one m= line
)

// Media types, transports and formats this package gives meaning to.
const (
	TypeAudio = "audio"
	TypeImage = "image"

	ProtoRTPAVP    = "RTP/AVP"
	ProtoUDPTL     = "udptl"         // T.38 annex D, RFC 3362
	ProtoUDPTLDTLS = "UDP/TLS/UDPTL" // RFC 7345 (parsed and kept, not answered)

	FormatT38 = "t38"
)

// Origin is the o= line (RFC 8866 clause 5.2):
//
//	o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>
//
// SessionID stays the same for the life of a session; Version grows by one
// each time the description changes (RFC 3264 clause 8).
type Origin struct {
	Username  string
	SessionID uint64
	Version   uint64
	Address   string // unicast address or FQDN, as written
}

// Attr is one a= line: "a=Name" (a property) or "a=Name:Value".
type Attr struct {
	Name     string
	Value    string
	HasValue bool
}

func (a Attr) String() string {
	if a.HasValue {
		return a.Name + ":" + a.Value
	}
	return a.Name
}

// Session is a whole SDP body (RFC 8866 clause 5):
//
//	v=0
//	o=<username> <sess-id> <sess-version> IN IP4 <address>
//	s=<session name>
//	[session-level i= u= e= p= c= b= lines]
//	t=<start> <stop> [r= z=]
//	[k=] [a=...]*
//	[m=... media sections]*
//
// Lines this package does not model (i, u, e, p, b, r, z, k) are kept as
// written in Extra so that they round-trip. Connection is the session-level
// c= address ("" when absent).
type Session struct {
	Origin     Origin
	Name       string
	Connection string
	Time       string // the t= value, "0 0" when absent
	Extra      []string
	Attrs      []Attr
	Media      []Media
}

// Media is one media section (RFC 8866 clause 5.14):
//
//	m=<media> <port>[/<number of ports>] <proto> <fmt> ...
//
// A port of 0 means the stream is rejected or disabled. Connection is the
// media-level c= address ("" when absent: the session's applies).
type Media struct {
	Type       string
	Port       int
	NumPorts   int // 0 when not written
	Proto      string
	Formats    []string
	Connection string
	Extra      []string
	Attrs      []Attr
}

// Attr returns the value of the first attribute named name (matched
// case-insensitively) and whether it is present.
func attrLookup(attrs []Attr, name string) (string, bool) {
	for _, a := range attrs {
		if strings.EqualFold(a.Name, name) {
			return a.Value, true
		}
	}
	return "", false
}

// Attr returns the value of the media's first attribute named name.
func (m *Media) Attr(name string) (string, bool) { return attrLookup(m.Attrs, name) }

// Attr returns the value of the session's first attribute named name.
func (s *Session) Attr(name string) (string, bool) { return attrLookup(s.Attrs, name) }

// IsT38 reports whether m is a T.38 section: m=image with the t38 format
// over udptl or UDP/TLS/UDPTL.
func (m *Media) IsT38() bool {
	if !strings.EqualFold(m.Type, TypeImage) {
		return false
	}
	if !strings.EqualFold(m.Proto, ProtoUDPTL) && !strings.EqualFold(m.Proto, ProtoUDPTLDTLS) {
		return false
	}
	for _, f := range m.Formats {
		if strings.EqualFold(f, FormatT38) {
			return true
		}
	}
	return false
}

// IsAudioRTP reports whether m is an m=audio section over RTP/AVP.
func (m *Media) IsAudioRTP() bool {
	return strings.EqualFold(m.Type, TypeAudio) && strings.EqualFold(m.Proto, ProtoRTPAVP)
}

// T38 returns the section's T.38 attributes. Unknown attributes are
// ignored; a T.38 attribute with a bad value is an error.
func (m *Media) T38() (T38Params, error) {
	var p T38Params
	for _, a := range m.Attrs {
		if _, err := ParseT38Attribute(a.String(), &p); err != nil {
			return p, err
		}
	}
	return p, nil
}

// Direction is the section's direction attribute (RFC 3264 clause 5.1),
// "sendrecv" when none is written.
func (m *Media) Direction() string {
	for _, a := range m.Attrs {
		switch d := strings.ToLower(a.Name); d {
		case "sendrecv", "sendonly", "recvonly", "inactive":
			return d
		}
	}
	return "sendrecv"
}

// ConnAddr returns the connection address that applies to m (its own c=
// line, else the session's) and port as an AddrPort. ok is false when the
// address is not an IP literal (an FQDN, or absent).
func (s *Session) ConnAddr(m *Media) (netip.AddrPort, bool) {
	c := m.Connection
	if c == "" {
		c = s.Connection
	}
	a, err := netip.ParseAddr(c)
	if err != nil || m.Port <= 0 || m.Port > 65535 {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(a.Unmap(), uint16(m.Port)), true
}

// Parse reads an SDP body (RFC 8866). Lines may end in CRLF or LF; a line
// that is not "<letter>=..." is an error, as are a missing or non-zero v=,
// a bad o=, m= or c= line, and bodies over the limits above. Attribute
// values are not checked here (see Media.T38).
func Parse(body []byte) (*Session, error) {
	if len(body) > MaxBodySize {
		return nil, ErrTooLarge
	}
	s := &Session{Time: "0 0"}
	var cur *Media
	seenV, seenO := false, false
	lines := 0
	for len(body) > 0 {
		var line []byte
		line, body, _ = bytes.Cut(body, []byte{'\n'})
		l := strings.TrimRight(string(line), "\r")
		if strings.TrimSpace(l) == "" {
			continue // tolerate blank lines (a trailing one is common)
		}
		if lines++; lines > MaxLines {
			return nil, ErrTooLarge
		}
		if len(l) < 2 || l[1] != '=' || l[0] < 'a' || l[0] > 'z' {
			return nil, fmt.Errorf("%w: malformed line %d", ErrInvalid, lines)
		}
		v := strings.TrimSpace(l[2:])
		switch l[0] {
		case 'v':
			if v != "0" || seenV {
				return nil, fmt.Errorf("%w: v= line", ErrInvalid)
			}
			seenV = true
		case 'o':
			if cur != nil || seenO {
				return nil, fmt.Errorf("%w: o= line", ErrInvalid)
			}
			o, err := parseOrigin(v)
			if err != nil {
				return nil, err
			}
			s.Origin, seenO = o, true
		case 's':
			if cur == nil {
				s.Name = v
			}
		case 't':
			if cur == nil {
				s.Time = v
			}
		case 'c':
			addr, err := parseConn(v)
			if err != nil {
				return nil, err
			}
			if cur == nil {
				s.Connection = addr
			} else {
				cur.Connection = addr
			}
		case 'm':
			if len(s.Media) >= MaxMedia {
				return nil, ErrTooLarge
			}
			m, err := parseMedia(v)
			if err != nil {
				return nil, err
			}
			s.Media = append(s.Media, m)
			cur = &s.Media[len(s.Media)-1]
		case 'a':
			name, value, has := strings.Cut(v, ":")
			a := Attr{Name: name, Value: value, HasValue: has}
			if cur == nil {
				s.Attrs = append(s.Attrs, a)
			} else {
				cur.Attrs = append(cur.Attrs, a)
			}
		default:
			kept := l[:2] + v
			if cur == nil {
				s.Extra = append(s.Extra, kept)
			} else {
				cur.Extra = append(cur.Extra, kept)
			}
		}
	}
	if !seenV && !seenO && len(s.Media) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrInvalid)
	}
	return s, nil
}

func parseOrigin(v string) (Origin, error) {
	f := strings.Fields(v)
	if len(f) != 6 {
		return Origin{}, fmt.Errorf("%w: o= line", ErrInvalid)
	}
	// Session IDs and versions are meant to be NTP-format integers; some
	// stacks write 20-digit values, so a value that overflows 64 bits is
	// kept modulo 2^64 rather than refused.
	id, ok1 := parseDecimal(f[1])
	ver, ok2 := parseDecimal(f[2])
	if !ok1 || !ok2 || !isToken(f[0]) {
		return Origin{}, fmt.Errorf("%w: o= line", ErrInvalid)
	}
	return Origin{Username: f[0], SessionID: id, Version: ver, Address: f[5]}, nil
}

func parseDecimal(s string) (uint64, bool) {
	if s == "" || len(s) > 40 {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, true
}

// parseConn returns the address of "IN IP4 192.0.2.1[/ttl]".
func parseConn(v string) (string, error) {
	f := strings.Fields(v)
	if len(f) != 3 || !isToken(f[2]) {
		return "", fmt.Errorf("%w: c= line", ErrInvalid)
	}
	a, _, _ := strings.Cut(f[2], "/")
	return a, nil
}

func parseMedia(v string) (Media, error) {
	f := strings.Fields(v)
	if len(f) < 3 || len(f) > 3+MaxFormats {
		return Media{}, fmt.Errorf("%w: m= line", ErrInvalid)
	}
	m := Media{Type: f[0], Proto: f[2], Formats: f[3:]}
	p, n, hasN := strings.Cut(f[1], "/")
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return Media{}, fmt.Errorf("%w: m= port", ErrInvalid)
	}
	m.Port = port
	if hasN {
		if m.NumPorts, err = strconv.Atoi(n); err != nil || m.NumPorts < 1 || m.NumPorts > 65535 {
			return Media{}, fmt.Errorf("%w: m= port count", ErrInvalid)
		}
	}
	if len(m.Formats) == 0 {
		m.Formats = nil
	}
	return m, nil
}

// Marshal returns s as an SDP body with CRLF line ends.
func (s *Session) Marshal() []byte { return s.AppendTo(nil) }

// AppendTo appends s to b as an SDP body. Fields that would break the
// line structure (spaces in tokens, line breaks in values) are replaced,
// so that what is written always parses.
func (s *Session) AppendTo(b []byte) []byte {
	o := s.Origin
	user := o.Username
	if !isToken(user) {
		user = "-"
	}
	b = append(b, "v=0\r\n"...)
	oaddr := tokenOr(o.Address, "0.0.0.0")
	b = fmt.Appendf(b, "o=%s %d %d IN %s %s\r\n", user, o.SessionID, o.Version, addrType(oaddr), oaddr)
	name := clean(s.Name)
	if strings.TrimSpace(name) == "" {
		name = "-"
	}
	b = append(b, "s="...)
	b = append(b, name...)
	b = append(b, "\r\n"...)
	b = appendExtra(b, s.Extra, "iuepb")
	if isToken(s.Connection) {
		b = fmt.Appendf(b, "c=IN %s %s\r\n", addrType(s.Connection), s.Connection)
	}
	t := clean(s.Time)
	if strings.TrimSpace(t) == "" {
		t = "0 0"
	}
	b = append(b, "t="...)
	b = append(b, t...)
	b = append(b, "\r\n"...)
	b = appendExtra(b, s.Extra, "rzk")
	b = appendAttrs(b, s.Attrs)
	for i := range s.Media {
		b = s.Media[i].appendTo(b)
	}
	return b
}

func (m *Media) appendTo(b []byte) []byte {
	b = fmt.Appendf(b, "m=%s %d", tokenOr(m.Type, "application"), m.Port)
	if m.NumPorts > 0 {
		b = fmt.Appendf(b, "/%d", m.NumPorts)
	}
	b = append(b, ' ')
	b = append(b, tokenOr(m.Proto, ProtoRTPAVP)...)
	for _, f := range m.Formats {
		if isToken(f) {
			b = append(b, ' ')
			b = append(b, f...)
		}
	}
	b = append(b, "\r\n"...)
	b = appendExtra(b, m.Extra, "ib")
	if isToken(m.Connection) {
		b = fmt.Appendf(b, "c=IN %s %s\r\n", addrType(m.Connection), m.Connection)
	}
	b = appendExtra(b, m.Extra, "k")
	return appendAttrs(b, m.Attrs)
}

func appendExtra(b []byte, extra []string, types string) []byte {
	for _, x := range extra {
		if len(x) >= 2 && strings.IndexByte(types, x[0]) >= 0 {
			b = append(b, x[:2]...)
			b = append(b, clean(x[2:])...)
			b = append(b, "\r\n"...)
		}
	}
	return b
}

func appendAttrs(b []byte, attrs []Attr) []byte {
	for _, a := range attrs {
		name := strings.Map(func(r rune) rune {
			if r <= ' ' || r == ':' || r >= 0x7f {
				return -1
			}
			return r
		}, a.Name)
		if name == "" {
			continue
		}
		b = append(b, "a="...)
		b = append(b, name...)
		if a.HasValue {
			b = append(b, ':')
			b = append(b, clean(a.Value)...)
		}
		b = append(b, "\r\n"...)
	}
	return b
}

func addrType(a string) string {
	if strings.Contains(a, ":") {
		return "IP6"
	}
	return "IP4"
}

func tokenOr(s, def string) string {
	if isToken(s) {
		return s
	}
	return def
}

// Clone returns a deep copy of s.
func (s *Session) Clone() *Session {
	c := *s
	c.Extra = append([]string(nil), s.Extra...)
	c.Attrs = append([]Attr(nil), s.Attrs...)
	c.Media = make([]Media, len(s.Media))
	for i, m := range s.Media {
		m.Formats = append([]string(nil), m.Formats...)
		m.Extra = append([]string(nil), m.Extra...)
		m.Attrs = append([]Attr(nil), m.Attrs...)
		c.Media[i] = m
	}
	return &c
}

// clean is s made safe as the rest of one SDP line: line breaks and NULs
// become spaces and the ends are trimmed (as Parse trims them).
func clean(s string) string { return strings.TrimSpace(sanitizeLine(s)) }
