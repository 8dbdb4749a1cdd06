package t30

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors for frame decoding. Decoders wrap them with detail; compare
// with errors.Is.
var (
	ErrShortFrame = errors.New("t30: frame too short")
	ErrAddress    = errors.New("t30: bad HDLC address field")
	ErrControl    = errors.New("t30: bad HDLC control field")
	ErrFIF        = errors.New("t30: malformed facsimile information field")
	ErrUnexpected = errors.New("t30: unexpected frame type")
	ErrFCS        = errors.New("t30: bad frame check sequence")
)

// FCF is a T.30 facsimile control field (T.30 5.3.6, Table 5), as the octet
// appears on the line (first transmitted bit in bit 0), with the X bit
// (bit 0) cleared except for the initial identification and "command to send"
// groups, where bit 0 is part of the code (DIS 0x80 versus DTC 0x81).
type FCF uint8

// T.30 Table 5 control fields (values as spandsp and the line use them).
const (
	FCFNull FCF = 0x00 // NULL: used only as FCF2 in PPS and EOR

	// Initial identification (called to calling terminal), no X bit.
	FCFDIS FCF = 0x80
	FCFCSI FCF = 0x40
	FCFNSF FCF = 0x20

	// Command to send (polling), no X bit.
	FCFDTC FCF = 0x81
	FCFCIG FCF = 0x41
	FCFNSC FCF = 0x21
	FCFPWD FCF = 0xC1 // password, in the polling group (with DTC)
	FCFSEP FCF = 0xA1
	FCFPSA FCF = 0x61
	FCFCIA FCF = 0xE1
	FCFISP FCF = 0x11

	// Command to receive.
	FCFDCS FCF = 0x82
	FCFTSI FCF = 0x42
	FCFNSS FCF = 0x22
	FCFSUB FCF = 0xC2
	FCFSID FCF = 0xA2 // sender identification (password when sent with DCS)
	FCFCTC FCF = 0x12
	FCFTSA FCF = 0x62
	FCFIRA FCF = 0xE2

	// Pre-message responses.
	FCFCFR FCF = 0x84
	FCFFTT FCF = 0x44
	FCFCTR FCF = 0xC4
	FCFCSA FCF = 0x24

	// Post-message commands.
	FCFEOM    FCF = 0x8E
	FCFMPS    FCF = 0x4E
	FCFEOP    FCF = 0x2E
	FCFPRIEOM FCF = 0x9E
	FCFPRIMPS FCF = 0x5E
	FCFPRIEOP FCF = 0x3E
	FCFEOS    FCF = 0x1E
	FCFPPS    FCF = 0xBE
	FCFEOR    FCF = 0xCE
	FCFRR     FCF = 0x6E

	// Post-message responses.
	FCFMCF FCF = 0x8C
	FCFRTP FCF = 0xCC
	FCFRTN FCF = 0x4C
	FCFPIP FCF = 0xAC
	FCFPIN FCF = 0x2C
	FCFPPR FCF = 0xBC
	FCFRNR FCF = 0xEC
	FCFERR FCF = 0x1C
	FCFFDM FCF = 0xFC
	FCFPID FCF = 0x6C

	// Other line control signals.
	FCFDCN FCF = 0xFA
	FCFCRP FCF = 0x1A
	FCFFNV FCF = 0xCA
	FCFTNR FCF = 0xEA
	FCFTR  FCF = 0x6A
	FCFDNK FCF = 0x9A

	// T.4 Annex A ECM information frames (phase C, at the image modem).
	FCFFCD FCF = 0x06
	FCFRCP FCF = 0x86
)

var fcfNames = map[FCF]string{
	FCFNull: "NULL", FCFDIS: "DIS", FCFCSI: "CSI", FCFNSF: "NSF",
	FCFDTC: "DTC", FCFCIG: "CIG", FCFNSC: "NSC", FCFPWD: "PWD", FCFSEP: "SEP",
	FCFPSA: "PSA", FCFCIA: "CIA", FCFISP: "ISP",
	FCFDCS: "DCS", FCFTSI: "TSI", FCFNSS: "NSS", FCFSUB: "SUB", FCFSID: "SID",
	FCFCTC: "CTC", FCFTSA: "TSA", FCFIRA: "IRA",
	FCFCFR: "CFR", FCFFTT: "FTT", FCFCTR: "CTR", FCFCSA: "CSA",
	FCFEOM: "EOM", FCFMPS: "MPS", FCFEOP: "EOP", FCFPRIEOM: "PRI-EOM",
	FCFPRIMPS: "PRI-MPS", FCFPRIEOP: "PRI-EOP", FCFEOS: "EOS", FCFPPS: "PPS",
	FCFEOR: "EOR", FCFRR: "RR",
	FCFMCF: "MCF", FCFRTP: "RTP", FCFRTN: "RTN", FCFPIP: "PIP", FCFPIN: "PIN",
	FCFPPR: "PPR", FCFRNR: "RNR", FCFERR: "ERR", FCFFDM: "FDM", FCFPID: "PID",
	FCFDCN: "DCN", FCFCRP: "CRP", FCFFNV: "FNV", FCFTNR: "TNR", FCFTR: "TR",
	FCFDNK: "DNK", FCFFCD: "FCD", FCFRCP: "RCP",
}

// String returns the T.30 mnemonic, or "FCF(0xNN)" for unknown values.
func (f FCF) String() string {
	if n, ok := fcfNames[f]; ok {
		return n
	}
	return fmt.Sprintf("FCF(0x%02X)", uint8(f))
}

// Known reports whether f is a control field this package understands.
func (f FCF) Known() bool { _, ok := fcfNames[f]; return ok }

// hasXBit reports whether bit 0 of the line octet is the X bit (T.30 5.3.6.1)
// rather than part of the code: true for all groups except the initial
// identification and command-to-send groups, whose codes have bits 1-3 zero.
func hasXBit(octet uint8) bool { return octet&0x0E != 0 }

// fcfFromOctet splits a line FCF octet into the code and the X bit.
func fcfFromOctet(o uint8) (FCF, bool) {
	if !hasXBit(o) {
		return FCF(o), false
	}
	return FCF(o & 0xFE), o&1 != 0
}

func (f FCF) octet(x bool) uint8 {
	o := uint8(f)
	if x && hasXBit(o) {
		o |= 1
	}
	return o
}

// IsPostPage reports whether f is a post-message command (MPS, EOM, EOP and
// their PRI- variants) as used directly or as the FCF2 of PPS/EOR.
func (f FCF) IsPostPage() bool {
	switch f {
	case FCFMPS, FCFEOM, FCFEOP, FCFPRIMPS, FCFPRIEOM, FCFPRIEOP:
		return true
	}
	return false
}

// WithoutPRI maps PRI-MPS/EOM/EOP to MPS/EOM/EOP; other values are returned as is.
func (f FCF) WithoutPRI() FCF {
	switch f {
	case FCFPRIMPS:
		return FCFMPS
	case FCFPRIEOM:
		return FCFEOM
	case FCFPRIEOP:
		return FCFEOP
	}
	return f
}

// HDLC address and control fields (T.30 5.3.4, 5.3.5).
const (
	hdlcAddress      = 0xFF
	hdlcControl      = 0x03 // non-final frame
	hdlcControlFinal = 0x13 // final frame of a command or response
	maxFIF           = 260  // largest FIF we accept: FCD with 256 data octets + slack
)

// Frame is one T.30 HDLC frame without flags and FCS (T.30 5.3):
//
//	+---------+---------+-----+-----------------------------------+
//	| Address | Control | FCF | FIF (facsimile information field) |
//	|  0xFF   | 03 / 13 |     | 0..n octets                       |
//	+---------+---------+-----+-----------------------------------+
//
// The FCS is added and checked by the modem (T.38 carries it as fcs-OK/BAD);
// see AppendFCS and CheckFCS for modems that need it in band.
type Frame struct {
	FCF   FCF
	X     bool   // the X bit: 1 in frames from the terminal that received a valid DIS
	Final bool   // control field 0x13: the last frame of a command or response
	Info  []byte // FIF; after UnmarshalBinary it is a copy, never aliases the input
}

// MarshalSize returns the encoded length of f.
func (f Frame) MarshalSize() int { return 3 + len(f.Info) }

// AppendBinary appends the encoded frame to b.
func (f Frame) AppendBinary(b []byte) ([]byte, error) {
	if len(f.Info) > maxFIF {
		return b, fmt.Errorf("%w: %s FIF of %d octets", ErrFIF, f.FCF, len(f.Info))
	}
	ctl := uint8(hdlcControl)
	if f.Final {
		ctl = hdlcControlFinal
	}
	b = append(b, hdlcAddress, ctl, f.FCF.octet(f.X))
	return append(b, f.Info...), nil
}

// MarshalBinary encodes f.
func (f Frame) MarshalBinary() ([]byte, error) {
	return f.AppendBinary(make([]byte, 0, f.MarshalSize()))
}

// UnmarshalBinary decodes a frame (without FCS), copying the FIF. It checks
// the address and control fields and the FIF of frames with a fixed layout.
func (f *Frame) UnmarshalBinary(b []byte) error {
	if len(b) < 3 {
		return fmt.Errorf("%w: %d octets", ErrShortFrame, len(b))
	}
	if b[0] != hdlcAddress {
		return fmt.Errorf("%w: 0x%02X", ErrAddress, b[0])
	}
	if b[1] != hdlcControl && b[1] != hdlcControlFinal {
		return fmt.Errorf("%w: 0x%02X", ErrControl, b[1])
	}
	if len(b)-3 > maxFIF {
		return fmt.Errorf("%w: FIF of %d octets", ErrFIF, len(b)-3)
	}
	fcf, x := fcfFromOctet(b[2])
	nf := Frame{FCF: fcf, X: x, Final: b[1] == hdlcControlFinal}
	if len(b) > 3 {
		nf.Info = append([]byte(nil), b[3:]...)
	}
	if err := nf.validate(); err != nil {
		return err
	}
	*f = nf
	return nil
}

// ParseFrame decodes b as a frame; see Frame.UnmarshalBinary.
func ParseFrame(b []byte) (Frame, error) {
	var f Frame
	err := f.UnmarshalBinary(b)
	return f, err
}

// validate checks the FIF length of frames whose layout T.30 fixes.
func (f Frame) validate() error {
	n := len(f.Info)
	bad := func(want string) error {
		return fmt.Errorf("%w: %s with %d FIF octets, want %s", ErrFIF, f.FCF, n, want)
	}
	switch f.FCF {
	case FCFDIS, FCFDTC, FCFDCS:
		if n < 3 {
			return bad(">= 3")
		}
		// the last octet must be the one whose extend bit is 0
		for i := 2; i < n-1; i++ {
			if f.Info[i]&0x80 == 0 {
				return fmt.Errorf("%w: %s extend bit clear in octet %d of %d", ErrFIF, f.FCF, i+1, n)
			}
		}
	case FCFCSI, FCFTSI, FCFCIG, FCFPWD, FCFSUB, FCFSEP, FCFSID, FCFPSA:
		if n != IdentLen {
			return bad("20")
		}
	case FCFNSF, FCFNSS, FCFNSC:
		if n < 1 {
			return bad(">= 1")
		}
	case FCFPPS:
		if n != 4 {
			return bad("4")
		}
	case FCFPPR:
		if n != 32 {
			return bad("32")
		}
	case FCFCTC:
		if n != 2 {
			return bad("2")
		}
	case FCFEOR:
		if n != 1 {
			return bad("1")
		}
	case FCFFCD:
		if n < 2 {
			return bad(">= 2")
		}
	case FCFCFR, FCFFTT, FCFCTR, FCFEOM, FCFMPS, FCFEOP, FCFPRIEOM, FCFPRIMPS,
		FCFPRIEOP, FCFRR, FCFMCF, FCFRTP, FCFRTN, FCFPIP, FCFPIN, FCFRNR, FCFERR,
		FCFDCN, FCFCRP, FCFRCP, FCFTNR, FCFTR, FCFEOS, FCFPID:
		if n != 0 {
			return bad("0")
		}
	}
	return nil
}

// String describes the frame without revealing identity data: idents and
// other PHI-bearing FIFs are shown as their length only.
func (f Frame) String() string {
	var sb strings.Builder
	sb.WriteString(f.FCF.String())
	switch f.FCF {
	case FCFPPS:
		if p, err := ParsePPS(f); err == nil {
			fmt.Fprintf(&sb, "-%s page=%d block=%d frames=%d", p.FCF2, p.Page, p.Block, p.Frames)
		}
	case FCFEOR:
		if len(f.Info) == 1 {
			c, _ := fcfFromOctet(f.Info[0])
			fmt.Fprintf(&sb, "-%s", c)
		}
	case FCFPPR:
		if m, err := ParsePPR(f); err == nil {
			fmt.Fprintf(&sb, " bad=%d", m.Count())
		}
	case FCFCTC:
		if s, err := ParseCTC(f); err == nil {
			fmt.Fprintf(&sb, " %s", s)
		}
	case FCFFCD:
		if len(f.Info) > 0 {
			fmt.Fprintf(&sb, " #%d len=%d", f.Info[0], len(f.Info)-1)
		}
	case FCFDIS, FCFDTC, FCFDCS:
		fmt.Fprintf(&sb, " % X", f.Info)
	default:
		if len(f.Info) > 0 {
			fmt.Fprintf(&sb, " [%d octets redacted]", len(f.Info))
		}
	}
	return sb.String()
}

// CarriesPHI reports whether the frame's FIF can identify a person or
// terminal (idents, passwords, addresses, vendor data, image data).
func (f Frame) CarriesPHI() bool {
	switch f.FCF {
	case FCFCSI, FCFTSI, FCFCIG, FCFPWD, FCFSUB, FCFSEP, FCFSID, FCFPSA,
		FCFNSF, FCFNSS, FCFNSC, FCFCIA, FCFTSA, FCFCSA, FCFIRA, FCFISP, FCFFCD:
		return len(f.Info) > 0
	}
	return false
}

// NewFrame returns a frame without FIF.
func NewFrame(fcf FCF, x, final bool) Frame { return Frame{FCF: fcf, X: x, Final: final} }

// IdentLen is the length of the FIF of CSI/TSI/CIG/PWD/SUB/SEP/SID/PSA.
const IdentLen = 20

// EncodeIdent encodes a T.30 5.3.6.2.4 numeric ident: up to 20 characters
// from "0-9", "+" and space, sent last character first and padded with spaces.
// Other printable ASCII is passed through (many terminals send it); longer
// strings are truncated.
func EncodeIdent(s string) [IdentLen]byte {
	var out [IdentLen]byte
	for i := range out {
		out[i] = ' '
	}
	if len(s) > IdentLen {
		s = s[:IdentLen]
	}
	// The line order is reversed: the last character is transmitted first.
	// The FIF of an ident holds the characters from the end of the string
	// to the start, padded with trailing spaces on the line (leading spaces
	// in the string).
	for i := 0; i < len(s); i++ {
		c := s[len(s)-1-i]
		if c < 0x20 || c > 0x7E {
			c = ' '
		}
		out[i] = c
	}
	return out
}

// DecodeIdent decodes an ident FIF (reversed on the line), trimming spaces.
// Non-printable octets are replaced by '?'.
func DecodeIdent(fif []byte) (string, error) {
	if len(fif) != IdentLen {
		return "", fmt.Errorf("%w: ident of %d octets, want %d", ErrFIF, len(fif), IdentLen)
	}
	b := make([]byte, IdentLen)
	for i := range fif {
		c := fif[IdentLen-1-i]
		if c < 0x20 || c > 0x7E {
			c = '?'
		}
		b[i] = c
	}
	return strings.Trim(string(b), " "), nil
}

// IdentFrame builds a CSI/TSI/CIG/PWD/SUB/SEP/SID/PSA frame.
func IdentFrame(fcf FCF, ident string, x bool) Frame {
	id := EncodeIdent(ident)
	return Frame{FCF: fcf, X: x, Info: id[:]}
}

// PPS is the FIF of a partial page signal (T.30 5.3.6.1.7, A.4): the
// post-message command that follows, the page and block counters (modulo
// 256) and the number of frames in the partial page.
type PPS struct {
	FCF2   FCF // FCFNull, MPS, EOM, EOP or a PRI- variant
	Page   uint8
	Block  uint8
	Frames int // 1..256 frames in this partial page (sent as Frames-1)
}

// Frame encodes p as a PPS frame.
func (p PPS) Frame(x bool) Frame {
	n := p.Frames - 1
	if n < 0 {
		n = 0
	}
	if n > 255 {
		n = 255
	}
	return Frame{FCF: FCFPPS, X: x, Final: true, Info: []byte{p.FCF2.octet(x), p.Page, p.Block, uint8(n)}}
}

// ParsePPS decodes the FIF of a PPS frame.
func ParsePPS(f Frame) (PPS, error) {
	if f.FCF != FCFPPS {
		return PPS{}, fmt.Errorf("%w: %s is not PPS", ErrUnexpected, f.FCF)
	}
	if len(f.Info) != 4 {
		return PPS{}, fmt.Errorf("%w: PPS with %d FIF octets", ErrFIF, len(f.Info))
	}
	c, _ := fcfFromOctet(f.Info[0])
	if c != FCFNull && !c.IsPostPage() {
		return PPS{}, fmt.Errorf("%w: PPS with FCF2 %s", ErrFIF, c)
	}
	return PPS{FCF2: c, Page: f.Info[1], Block: f.Info[2], Frames: int(f.Info[3]) + 1}, nil
}

// EORFrame builds an EOR frame (T.30 A.4) carrying the post-message command.
func EORFrame(fcf2 FCF, x bool) Frame {
	return Frame{FCF: FCFEOR, X: x, Final: true, Info: []byte{fcf2.octet(x)}}
}

// ParseEOR returns the FCF2 of an EOR frame.
func ParseEOR(f Frame) (FCF, error) {
	if f.FCF != FCFEOR || len(f.Info) != 1 {
		return 0, fmt.Errorf("%w: bad EOR", ErrFIF)
	}
	c, _ := fcfFromOctet(f.Info[0])
	if c != FCFNull && !c.IsPostPage() {
		return 0, fmt.Errorf("%w: EOR with FCF2 %s", ErrFIF, c)
	}
	return c, nil
}

// FrameMap is the 256-bit map of a PPR (T.30 A.4.3): bit n set means ECM
// frame n of the partial page must be retransmitted. Frame n is bit n%8 of
// octet n/8 (the first transmitted bit of the first octet is frame 0).
type FrameMap [32]byte

// Set marks frame n.
func (m *FrameMap) Set(n int) { m[n>>3&31] |= 1 << (n & 7) }

// Clear unmarks frame n.
func (m *FrameMap) Clear(n int) { m[n>>3&31] &^= 1 << (n & 7) }

// Has reports whether frame n is marked.
func (m FrameMap) Has(n int) bool { return n >= 0 && n < 256 && m[n>>3]&(1<<(n&7)) != 0 }

// Count returns the number of marked frames.
func (m FrameMap) Count() int {
	c := 0
	for _, b := range m {
		for ; b != 0; b &= b - 1 {
			c++
		}
	}
	return c
}

// Frame builds a PPR frame.
func (m FrameMap) Frame(x bool) Frame {
	return Frame{FCF: FCFPPR, X: x, Final: true, Info: append([]byte(nil), m[:]...)}
}

// ParsePPR decodes the frame map of a PPR.
func ParsePPR(f Frame) (FrameMap, error) {
	var m FrameMap
	if f.FCF != FCFPPR || len(f.Info) != 32 {
		return m, fmt.Errorf("%w: bad PPR", ErrFIF)
	}
	copy(m[:], f.Info)
	return m, nil
}

// CTCFrame builds a continue-to-correct frame (T.30 A.4.4) naming the new
// data signalling rate in octet 2 with the DCS bits 11-14 layout.
func CTCFrame(s Speed, x bool) Frame {
	return Frame{FCF: FCFCTC, X: x, Final: true, Info: []byte{0, s.dcsBits() << 2}}
}

// ParseCTC returns the speed requested by a CTC frame.
func ParseCTC(f Frame) (Speed, error) {
	if f.FCF != FCFCTC || len(f.Info) != 2 {
		return 0, fmt.Errorf("%w: bad CTC", ErrFIF)
	}
	s, ok := speedFromDCSBits(f.Info[1] >> 2 & 0x0F)
	if !ok {
		return 0, fmt.Errorf("%w: CTC with reserved rate bits 0x%X", ErrFIF, f.Info[1]>>2&0x0F)
	}
	return s, nil
}

// FCDFrame builds an ECM facsimile coded data frame (T.4 A.3.6.1): frame
// number then data (256 or 64 octets; the last frame of a page may be
// padded by the sender).
func FCDFrame(n uint8, data []byte) Frame {
	info := make([]byte, 1+len(data))
	info[0] = n
	copy(info[1:], data)
	return Frame{FCF: FCFFCD, Info: info}
}

// RCPFrame builds a return-to-control-for-partial-page frame.
func RCPFrame() Frame { return Frame{FCF: FCFRCP} }

// NSF is the opaque FIF of NSF/NSS/NSC (T.30 5.3.6.2.3): a T.35 country
// code (1 octet, or 2 when the first is 0xFF), a provider code and vendor data.
type NSF []byte

// Country returns the T.35 country code octets.
func (n NSF) Country() []byte {
	if len(n) == 0 {
		return nil
	}
	if n[0] == 0xFF && len(n) >= 2 {
		return n[:2]
	}
	return n[:1]
}

// Vendor returns the country code and the two provider octets that
// follow it (T.35), as hex, e.g. "B5 00 66". It identifies the make of the
// remote terminal, not a person.
func (n NSF) Vendor() string {
	c := len(n.Country())
	end := c + 2
	if end > len(n) {
		end = len(n)
	}
	return fmt.Sprintf("% X", []byte(n[:end]))
}

// FCS computes the HDLC frame check sequence (CRC-16/X.25, T.30 5.3.7)
// over b, as transmitted (low octet first).
func FCS(b []byte) uint16 {
	crc := uint16(0xFFFF)
	for _, c := range b {
		crc ^= uint16(c)
		for i := 0; i < 8; i++ {
			if crc&1 != 0 {
				crc = crc>>1 ^ 0x8408
			} else {
				crc >>= 1
			}
		}
	}
	return ^crc
}

// AppendFCS appends the FCS of b to b.
func AppendFCS(b []byte) []byte {
	c := FCS(b)
	return append(b, uint8(c), uint8(c>>8))
}

// CheckFCS verifies and strips the two FCS octets at the end of b.
func CheckFCS(b []byte) ([]byte, error) {
	if len(b) < 2 {
		return nil, ErrShortFrame
	}
	n := len(b) - 2
	c := FCS(b[:n])
	if uint8(c) != b[n] || uint8(c>>8) != b[n+1] {
		return nil, ErrFCS
	}
	return b[:n], nil
}
