package sdp

import (
	"fmt"
	"github.com/faxkit/faxkit/t38"
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

// T38Params are the T.38 SDP attributes of ITU-T T.38 annex D (and RFC
// 3362's media type parameters). Zero fields mean "not stated".
type T38Params struct {
	Version        t38.Version    // T38FaxVersion
	MaxBitRate     int            // T38MaxBitRate (also T38FaxMaxRate, T38FaxMaxBitRate)
	RateManagement RateManagement // T38FaxRateManagement
	MaxBuffer      int            // T38FaxMaxBuffer (also T38FaxMaxBufferSize)
	MaxDatagram    int            // T38FaxMaxDatagram (also T38MaxDatagram)
	EC             t38.ErrorCorrection
	// ECDepthMin and ECDepthMax are T38FaxUdpECDepth (T.38 2010), the
	// redundancy depth for control and image packets.
	ECDepthMin, ECDepthMax int
	FECMaxSpan             int // T38FaxUdpFECMaxSpan (T.38 2010)
	FillBitRemoval         bool
	TranscodingMMR         bool
	TranscodingJBIG        bool
	VendorInfo             string // T38VendorInfo, as sent
}

// ParseT38Attribute parses one SDP attribute line ("a=name:value", with or
// without the "a=") into p and reports whether it was a T.38 attribute.
// Names are matched case-insensitively, with the vendor spellings seen in
// the field (T38MaxDatagram, T38FaxMaxRate, T38FaxMaxBufferSize, ...).
// Boolean attributes are true when bare or with ":1" (also "true", "yes")
// and false with ":0" (also "false", "no").
func ParseT38Attribute(line string, p *T38Params) (bool, error) {
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
			p.Version = t38.Version(n)
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
			p.EC = t38.ECRedundancy
		case "t38udpfec":
			p.EC = t38.ECFEC
		case "t38udpnoec", "none", "":
			p.EC = t38.ECNone
		default:
			err = fmt.Errorf("%w: T38FaxUdpEC %q", ErrInvalid, value)
		}
	case "t38faxudpecdepth":
		lo, hi, two := strings.Cut(value, " ")
		value = lo
		if p.ECDepthMin, err = num(t38.MaxDepth * 8); err == nil {
			p.ECDepthMax = p.ECDepthMin
			if two {
				value = strings.TrimSpace(hi)
				p.ECDepthMax, err = num(t38.MaxDepth * 8)
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
func (p T38Params) AppendAttributes(b []byte) []byte {
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
	case t38.ECRedundancy, t38.ECFEC:
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

// NormalizeMaxDatagram returns the datagram size to use for a peer's
// T38FaxMaxDatagram: as Asterisk does, a missing or zero value, or one above
// 1400 (often a confusion with the buffer size), is taken as
// t38.DefaultMaxDatagram (400). FreeSWITCH always advertises 400 and some
// gateways 238; those are used as stated.
func NormalizeMaxDatagram(n int) int {
	if n <= 0 || n > 1400 {
		return t38.DefaultMaxDatagram
	}
	return n
}

// AnswerT38 computes the T.38 parameters to answer offer with, given what the
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
func AnswerT38(offer, local T38Params) T38Params {
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
	case offer.EC == t38.ECFEC && local.EC == t38.ECFEC:
		a.EC = t38.ECFEC
		a.FECMaxSpan = minStated(offer.FECMaxSpan, local.FECMaxSpan)
	case offer.EC != t38.ECNone && local.EC != t38.ECNone:
		a.EC = t38.ECRedundancy
		a.FECMaxSpan = 0
	default:
		a.EC = t38.ECNone
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
