package t38

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// RateManagement is T38FaxRateManagement: how the TCF training check is
// handled across the IP network.
type RateManagement uint8

// Rate management methods.
const (
	RateUnspecified    RateManagement = iota // attribute absent
	RateLocalTCF                             // localTCF: each gateway generates and checks TCF (TCP)
	RateTransferredTCF                       // transferredTCF: TCF crosses the network (UDP)
)

func (r RateManagement) String() string {
	switch r {
	case RateUnspecified:
		return "unspecified"
	case RateLocalTCF:
		return "localTCF"
	case RateTransferredTCF:
		return "transferredTCF"
	}
	return "RateManagement(" + strconv.Itoa(int(r)) + ")"
}

// ErrNoT38 is returned by ParseSDP when the description has no T.38 media.
var ErrNoT38 = errors.New("t38: no m=image t38 media in SDP")

// SDPParams are the T.38 SDP attributes of ITU-T T.38 annex D (and RFC
// 3362's media type parameters). Zero fields mean "not stated".
type SDPParams struct {
	Version        Version        // T38FaxVersion
	MaxBitRate     int            // T38MaxBitRate (also T38FaxMaxRate, T38FaxMaxBitRate)
	RateManagement RateManagement // T38FaxRateManagement
	MaxBuffer      int            // T38FaxMaxBuffer (also T38FaxMaxBufferSize)
	MaxDatagram    int            // T38FaxMaxDatagram (also T38MaxDatagram)
	EC             ErrorCorrection
	// ECDepthMin and ECDepthMax are T38FaxUdpECDepth (T.38 2010), the
	// redundancy depth for control and image packets.
	ECDepthMin, ECDepthMax int
	FECMaxSpan             int // T38FaxUdpFECMaxSpan (T.38 2010)
	FillBitRemoval         bool
	TranscodingMMR         bool
	TranscodingJBIG        bool
	VendorInfo             string // T38VendorInfo, as sent
}

// Media is a T.38 media description: the m=image line, its connection
// address and attributes.
type Media struct {
	Port   int
	Proto  string // transport as written, e.g. "udptl" (also "UDPTL")
	Addr   string // connection address (media-level c= line, else session-level)
	Params SDPParams
}

// ParseSDP finds the first T.38 media description ("m=image <port> udptl
// t38", the transport matched case-insensitively) in an SDP body and
// returns it with its attributes. Lines may end in CRLF or LF. Attributes
// it does not know are ignored; a known attribute with a bad value is an
// error.
func ParseSDP(body []byte) (Media, error) {
	var m Media
	var sessionAddr string
	state := 0 // 0 session, 1 in our media, 2 in other media, 3 done
	for len(body) > 0 && state != 3 {
		var line []byte
		line, body, _ = bytes.Cut(body, []byte{'\n'})
		l := strings.TrimRight(string(line), "\r \t")
		if len(l) < 2 || l[1] != '=' {
			continue
		}
		switch l[0] {
		case 'm':
			if state == 1 {
				state = 3
				continue
			}
			f := strings.Fields(l[2:])
			if len(f) >= 4 && strings.EqualFold(f[0], "image") && hasFormat(f[3:], "t38") {
				port, err := strconv.Atoi(f[1])
				if p, _, ok := strings.Cut(f[1], "/"); ok { // port/count
					port, err = strconv.Atoi(p)
				}
				if err != nil || port < 0 || port > 65535 {
					return m, fmt.Errorf("%w: bad port in %q", ErrInvalid, l)
				}
				m.Port, m.Proto = port, f[2]
				state = 1
			} else {
				state = 2
			}
		case 'c':
			addr := connAddr(l[2:])
			switch state {
			case 0:
				sessionAddr = addr
			case 1:
				m.Addr = addr
			}
		case 'a':
			if state != 1 {
				continue
			}
			if _, err := ParseAttribute(l, &m.Params); err != nil {
				return m, err
			}
		}
	}
	if state == 0 || state == 2 {
		return m, ErrNoT38
	}
	if m.Addr == "" {
		m.Addr = sessionAddr
	}
	return m, nil
}

func hasFormat(fmts []string, want string) bool {
	for _, f := range fmts {
		if strings.EqualFold(f, want) {
			return true
		}
	}
	return false
}

// connAddr returns the address of "IN IP4 192.0.2.1[/ttl]".
func connAddr(v string) string {
	f := strings.Fields(v)
	if len(f) < 3 {
		return ""
	}
	a, _, _ := strings.Cut(f[2], "/")
	return a
}

// ParseAttribute parses one SDP attribute line ("a=name:value", with or
// without the "a=") into p and reports whether it was a T.38 attribute.
// Names are matched case-insensitively, with the vendor spellings seen in
// the field (T38MaxDatagram, T38FaxMaxRate, T38FaxMaxBufferSize, ...).
// Boolean attributes are true when bare or with ":1" (also "true", "yes")
// and false with ":0" (also "false", "no").
func ParseAttribute(line string, p *SDPParams) (bool, error) {
	line = strings.TrimPrefix(strings.TrimSpace(line), "a=")
	name, value, hasValue := strings.Cut(line, ":")
	name = strings.TrimSpace(name)
	value = strings.TrimSpace(value)
	num := func(limit int) (int, error) {
		n, err := strconv.Atoi(value)
		if err != nil || n < 0 || n > limit {
			return 0, fmt.Errorf("%w: SDP attribute %s value %q", ErrInvalid, name, value)
		}
		return n, nil
	}
	flag := func() (bool, error) {
		if !hasValue {
			return true, nil
		}
		switch strings.ToLower(value) {
		case "", "1", "true", "yes", "on":
			return true, nil
		case "0", "false", "no", "off":
			return false, nil
		}
		return false, fmt.Errorf("%w: SDP attribute %s value %q", ErrInvalid, name, value)
	}
	var err error
	switch strings.ToLower(name) {
	case "t38faxversion":
		var n int
		if n, err = num(255); err == nil {
			p.Version = Version(n)
		}
	case "t38maxbitrate", "t38faxmaxrate", "t38faxmaxbitrate":
		p.MaxBitRate, err = num(1 << 30)
	case "t38faxratemanagement":
		switch strings.ToLower(value) {
		case "localtcf":
			p.RateManagement = RateLocalTCF
		case "transferredtcf":
			p.RateManagement = RateTransferredTCF
		default:
			err = fmt.Errorf("%w: T38FaxRateManagement %q", ErrInvalid, value)
		}
	case "t38faxmaxbuffer", "t38faxmaxbuffersize":
		p.MaxBuffer, err = num(1 << 30)
	case "t38faxmaxdatagram", "t38maxdatagram":
		p.MaxDatagram, err = num(1 << 30)
	case "t38faxudpec":
		switch strings.ToLower(value) {
		case "t38udpredundancy":
			p.EC = ECRedundancy
		case "t38udpfec":
			p.EC = ECFEC
		case "t38udpnoec", "none", "":
			p.EC = ECNone
		default:
			err = fmt.Errorf("%w: T38FaxUdpEC %q", ErrInvalid, value)
		}
	case "t38faxudpecdepth":
		lo, hi, two := strings.Cut(value, " ")
		value = lo
		if p.ECDepthMin, err = num(MaxDepth * 8); err == nil {
			p.ECDepthMax = p.ECDepthMin
			if two {
				value = strings.TrimSpace(hi)
				p.ECDepthMax, err = num(MaxDepth * 8)
			}
		}
	case "t38faxudpfecmaxspan":
		p.FECMaxSpan, err = num(1 << 16)
	case "t38faxfillbitremoval":
		p.FillBitRemoval, err = flag()
	case "t38faxtranscodingmmr":
		p.TranscodingMMR, err = flag()
	case "t38faxtranscodingjbig":
		p.TranscodingJBIG, err = flag()
	case "t38vendorinfo":
		p.VendorInfo = value
	default:
		return false, nil
	}
	return true, err
}

// AppendAttributes appends p as SDP attribute lines (CRLF-terminated) in
// the canonical spelling, in the order Asterisk and FreeSWITCH use. Fields
// that are zero are left out, except T38FaxVersion; boolean attributes are
// written bare when true.
func (p SDPParams) AppendAttributes(b []byte) []byte {
	b = fmt.Appendf(b, "a=T38FaxVersion:%d\r\n", p.Version)
	if p.MaxBitRate > 0 {
		b = fmt.Appendf(b, "a=T38MaxBitRate:%d\r\n", p.MaxBitRate)
	}
	if p.FillBitRemoval {
		b = append(b, "a=T38FaxFillBitRemoval\r\n"...)
	}
	if p.TranscodingMMR {
		b = append(b, "a=T38FaxTranscodingMMR\r\n"...)
	}
	if p.TranscodingJBIG {
		b = append(b, "a=T38FaxTranscodingJBIG\r\n"...)
	}
	if p.RateManagement != RateUnspecified {
		b = fmt.Appendf(b, "a=T38FaxRateManagement:%v\r\n", p.RateManagement)
	}
	if p.MaxBuffer > 0 {
		b = fmt.Appendf(b, "a=T38FaxMaxBuffer:%d\r\n", p.MaxBuffer)
	}
	if p.MaxDatagram > 0 {
		b = fmt.Appendf(b, "a=T38FaxMaxDatagram:%d\r\n", p.MaxDatagram)
	}
	switch p.EC {
	case ECRedundancy, ECFEC:
		b = fmt.Appendf(b, "a=T38FaxUdpEC:%v\r\n", p.EC)
	}
	if p.ECDepthMin > 0 {
		if p.ECDepthMax > 0 && p.ECDepthMax != p.ECDepthMin {
			b = fmt.Appendf(b, "a=T38FaxUdpECDepth:%d %d\r\n", p.ECDepthMin, p.ECDepthMax)
		} else {
			b = fmt.Appendf(b, "a=T38FaxUdpECDepth:%d\r\n", p.ECDepthMin)
		}
	}
	if p.FECMaxSpan > 0 {
		b = fmt.Appendf(b, "a=T38FaxUdpFECMaxSpan:%d\r\n", p.FECMaxSpan)
	}
	if p.VendorInfo != "" {
		b = fmt.Appendf(b, "a=T38VendorInfo:%s\r\n", sanitizeLine(p.VendorInfo))
	}
	return b
}

// isToken reports whether s is a non-empty run of visible ASCII, safe as
// one field of an SDP line.
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return s != ""
}

// sanitizeLine keeps a value from breaking the SDP line structure.
func sanitizeLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == 0 {
			return ' '
		}
		return r
	}, s)
}

// AppendSDP appends m as a media description: "m=image <port> udptl
// t38", a c= line when Addr is set, and the attributes. The transport is
// written "udptl" unless Proto says otherwise.
func (m Media) AppendSDP(b []byte) []byte {
	proto := m.Proto
	if !isToken(proto) {
		proto = "udptl"
	}
	b = fmt.Appendf(b, "m=image %d %s t38\r\n", m.Port, proto)
	if isToken(m.Addr) {
		family := "IP4"
		if strings.Contains(m.Addr, ":") {
			family = "IP6"
		}
		b = fmt.Appendf(b, "c=IN %s %s\r\n", family, m.Addr)
	}
	return m.Params.AppendAttributes(b)
}

// NormalizeMaxDatagram returns the datagram size to use for a peer's
// T38FaxMaxDatagram: as Asterisk does, a missing or zero value, or one above
// 1400 (often a confusion with the buffer size), is taken as
// DefaultMaxDatagram (400). FreeSWITCH always advertises 400 and some
// gateways 238; those are used as stated.
func NormalizeMaxDatagram(n int) int {
	if n <= 0 || n > 1400 {
		return DefaultMaxDatagram
	}
	return n
}

// Answer computes the T.38 parameters to answer offer with, given what the
// local side supports, as gateways do:
//   - version: the lower of the two;
//   - max bit rate: the lower of the stated ones;
//   - rate management: the offer's (the answer must not change it), else
//     the local one;
//   - max datagram: the smaller of NormalizeMaxDatagram(offer) and the
//     local maximum (when stated);
//   - error correction: FEC when both offer and support it; redundancy when
//     the offer has redundancy or FEC and the local side supports either;
//     otherwise none;
//   - fill-bit removal and MMR/JBIG transcoding: only when both sides have
//     them;
//   - max buffer, EC depth and vendor info: the local side's.
func Answer(offer, local SDPParams) SDPParams {
	a := local
	a.Version = min(offer.Version, local.Version)
	a.MaxBitRate = minStated(offer.MaxBitRate, local.MaxBitRate)
	if offer.RateManagement != RateUnspecified {
		a.RateManagement = offer.RateManagement
	}
	a.MaxDatagram = NormalizeMaxDatagram(offer.MaxDatagram)
	if local.MaxDatagram > 0 {
		a.MaxDatagram = min(a.MaxDatagram, local.MaxDatagram)
	}
	switch {
	case offer.EC == ECFEC && local.EC == ECFEC:
		a.EC = ECFEC
		a.FECMaxSpan = minStated(offer.FECMaxSpan, local.FECMaxSpan)
	case offer.EC != ECNone && local.EC != ECNone:
		a.EC = ECRedundancy
		a.FECMaxSpan = 0
	default:
		a.EC = ECNone
		a.ECDepthMin, a.ECDepthMax, a.FECMaxSpan = 0, 0, 0
	}
	a.FillBitRemoval = offer.FillBitRemoval && local.FillBitRemoval
	a.TranscodingMMR = offer.TranscodingMMR && local.TranscodingMMR
	a.TranscodingJBIG = offer.TranscodingJBIG && local.TranscodingJBIG
	return a
}

func minStated(a, b int) int {
	switch {
	case a <= 0:
		return b
	case b <= 0:
		return a
	}
	return min(a, b)
}
