package t30

import (
	"errors"
	"fmt"

	"github.com/faxkit/faxkit/t4"
)

// Compression is a T.4/T.6 coding scheme.
type Compression uint8

// Codings. The values match t4.Compression.
const (
	CompressionNone Compression = 0
	MH              Compression = 1 // T.4 one-dimensional
	MR              Compression = 2 // T.4 two-dimensional
	MMR             Compression = 3 // T.6, ECM only
)

func (c Compression) String() string {
	switch c {
	case CompressionNone:
		return "none"
	case MH:
		return "MH"
	case MR:
		return "MR"
	case MMR:
		return "MMR"
	}
	return fmt.Sprintf("Compression(%d)", uint8(c))
}

// Resolution is a fax resolution; t4.Resolution is its home (densities,
// names, row lengths). T.30 codes it in DIS/DCS bits 15 and 41-44.
type Resolution = t4.Resolution

// The fax resolutions (see t4.Resolution). ResUnknown is the zero value:
// the resolution of a call that agreed on none.
const (
	ResUnknown   = t4.ResUnknown
	ResStandard  = t4.ResStandard
	ResFine      = t4.ResFine
	ResSuperfine = t4.ResSuperfine
	ResR16       = t4.ResR16
	Res300       = t4.Res300
	Res300x600   = t4.Res300x600
	Res400       = t4.Res400
	Res400x800   = t4.Res400x800
	Res600       = t4.Res600
	Res600x1200  = t4.Res600x1200
	Res1200      = t4.Res1200
)

// bitResolutions are the resolutions above standard that a DIS/DCS bit
// names, in the order of their bits (T.30 Table 2: 15, 41, 42, 43, 45, 46,
// 47, 48, 49... as Features lists them). Res400 shares ResR16's bit 43, so
// a DCS with that bit reads as ResR16.
var bitResolutions = [...]Resolution{ResFine, ResSuperfine, Res300, ResR16, Res600, Res1200,
	Res300x600, Res400x800, Res600x1200}

// dcsResolutions is the order ModeFromDCS reads the bits in: the finest
// first, should a DCS set more than one.
var dcsResolutions = [...]Resolution{Res600x1200, Res400x800, Res300x600, Res1200, Res600, ResR16,
	Res300, ResSuperfine, ResFine}

// sameBit returns the resolution whose DIS/DCS bit stands for r (ResR16
// for Res400, r itself for the others).
func sameBit(r Resolution) Resolution {
	if r == Res400 {
		return ResR16
	}
	return r
}

// resBit returns the feature bit that enables resolution r, nil for
// standard resolution (always available) and unknown values.
func (f *Features) resBit(r Resolution) *bool {
	switch r {
	case ResFine:
		return &f.Fine
	case ResSuperfine:
		return &f.Superfine
	case Res300:
		return &f.R300x300
	case ResR16, Res400:
		return &f.R400x400
	case Res600:
		return &f.R600x600
	case Res1200:
		return &f.R1200x1200
	case Res300x600:
		return &f.R300x600
	case Res400x800:
		return &f.R400x800
	case Res600x1200:
		return &f.R600x1200
	}
	return nil
}

// hasRes reports whether features f enable resolution r.
func (f Features) hasRes(r Resolution) bool {
	if r == ResStandard {
		return true
	}
	b := f.resBit(r)
	return b != nil && *b
}

func (f *Features) setRes(r Resolution, v bool) {
	if b := f.resBit(r); b != nil {
		*b = v
	}
}

// Capabilities is what a terminal offers or accepts. The zero value is not
// useful; start from DefaultCapabilities.
type Capabilities struct {
	Modems       ModemSet
	MaxSpeed     Speed        // highest speed to use (SpeedNone: no limit)
	MR, MMR      bool         // MH is always supported; MMR needs ECM
	ECM          bool         // error correction mode (T.30 Annex A)
	ECM64        bool         // prefer (receive) or use (transmit) 64-octet ECM frames
	Resolutions  []Resolution // besides ResStandard
	Width        PaperWidth   // widest
	Length       PaperLength  // longest
	MinScanMs    int          // receiver minimum scan line time at 3.85 lines/mm: 0, 5, 10, 20, 40
	ScanHalfFine bool         // receiver: fine resolution may use half MinScanMs
}

// DefaultCapabilities is what faxkit offers by default: every modem, MH,
// MR and MMR, ECM with 256-octet frames, standard, fine, superfine, 300 and
// 400 dpi, A3 width, unlimited length, 0 ms minimum scan line time.
func DefaultCapabilities() Capabilities {
	return Capabilities{
		Modems: ModemsV17 | ModemsV29 | ModemsV27ter, MR: true, MMR: true, ECM: true,
		Resolutions: []Resolution{ResFine, ResSuperfine, Res300, ResR16},
		Width:       WidthA3, Length: LengthUnlimited,
	}
}

// DIS returns the DIS/DTC bits advertising c as a receiver.
func (c Capabilities) DIS() DIS {
	d := DIS{ReadyToReceive: true, Modems: c.Modems, Width: c.Width, Length: c.Length,
		ScanTime: ScanTimeCapFor(c.MinScanMs, c.ScanHalfFine)}
	d.MR = c.MR
	d.ECM = c.ECM
	d.MMR = c.MMR && c.ECM
	d.Prefer64OctetECM = c.ECM && c.ECM64
	for _, r := range c.Resolutions {
		d.setRes(r, true)
	}
	d.MetricPreferred = true
	d.FNV = false
	return d
}

// FromDIS returns the receiving capabilities a DIS/DTC advertises.
func FromDIS(d DIS) Capabilities {
	c := Capabilities{Modems: d.Modems, MR: d.MR, ECM: d.ECM, MMR: d.MMR && d.ECM,
		ECM64: d.Prefer64OctetECM, Width: d.Width, Length: d.Length}
	c.MinScanMs, c.ScanHalfFine = d.ScanTime.Standard()
	for _, r := range bitResolutions {
		if d.hasRes(r) {
			c.Resolutions = append(c.Resolutions, r)
		}
	}
	return c
}

func (c Capabilities) hasRes(r Resolution) bool {
	if r == ResStandard {
		return true
	}
	for _, x := range c.Resolutions {
		if sameBit(x) == sameBit(r) {
			return true
		}
	}
	return false
}

// fallbackOrder is the order real terminals (and spandsp) step down on FTT.
var fallbackOrder = []Speed{V17_14400, V17_12000, V17_9600, V17_7200, V29_9600, V29_7200, V27ter4800, V27ter2400}

// CommonSpeeds returns the speeds both sets allow, fastest first, capped at max.
func CommonSpeeds(local, remote ModemSet, max Speed) []Speed {
	var out []Speed
	for _, s := range fallbackOrder {
		if max != SpeedNone && s.BitRate() > max.BitRate() {
			continue
		}
		if local.Has(s) && remote.Has(s) {
			out = append(out, s)
		}
	}
	return out
}

// NextSpeed returns the next lower speed after cur in the common list, or
// SpeedNone at the bottom.
func NextSpeed(common []Speed, cur Speed) Speed {
	for i, s := range common {
		if s == cur && i+1 < len(common) {
			return common[i+1]
		}
	}
	return SpeedNone
}

// PageFormat is what a page needs from the channel.
type PageFormat struct {
	Resolution Resolution
	Width      PaperWidth
	Length     PaperLength // LengthA4 unless the page is longer
}

// Mode is the negotiated transfer mode: what a DCS commands.
type Mode struct {
	Speed        Speed
	Compression  Compression
	ECM          bool
	ECMFrameSize int // 256 or 64 with ECM, else 0
	Resolution   Resolution
	Width        PaperWidth
	Length       PaperLength
	ScanTimeMs   int // minimum scan line time for this resolution (0 with ECM)
}

// RowPels returns the scan line length in pels of the mode's width at its
// resolution (T.4 clause 2.2), 0 when the resolution is unknown.
func (m Mode) RowPels() int { return m.Width.Pels(m.Resolution) }

// Errors from ChooseMode.
var (
	ErrNoCommonModem       = errors.New("t30: no common modem")
	ErrResolution          = errors.New("t30: remote cannot receive the page resolution")
	ErrWidth               = errors.New("t30: remote cannot receive the page width")
	ErrLength              = errors.New("t30: remote cannot receive the page length")
	ErrRemoteCannotReceive = errors.New("t30: remote is not ready to receive")
)

// ChooseMode picks the best mode for sending page format p from local to
// a remote that advertised remote, as real terminals do: the fastest common
// modem, MMR > MR > MH (MMR only with ECM), ECM when both have it with the
// frame size the sender prefers or the receiver asks for, and the minimum
// scan line time the receiver needs at the page's resolution.
func ChooseMode(local Capabilities, remote DIS, p PageFormat) (Mode, error) {
	rc := FromDIS(remote)
	var m Mode
	sp := CommonSpeeds(local.Modems, rc.Modems, local.MaxSpeed)
	if len(sp) == 0 {
		return m, ErrNoCommonModem
	}
	m.Speed = sp[0]
	m.ECM = local.ECM && rc.ECM
	switch {
	case m.ECM && local.MMR && rc.MMR:
		m.Compression = MMR
	case local.MR && rc.MR:
		m.Compression = MR
	default:
		m.Compression = MH
	}
	if m.ECM {
		m.ECMFrameSize = 256
		if local.ECM64 || rc.ECM64 {
			m.ECMFrameSize = 64
		}
	}
	if !rc.hasRes(p.Resolution) {
		return m, fmt.Errorf("%w: %s", ErrResolution, p.Resolution)
	}
	m.Resolution = p.Resolution
	if p.Width > rc.Width {
		return m, fmt.Errorf("%w: %s", ErrWidth, p.Width)
	}
	m.Width = p.Width
	if p.Length > rc.Length {
		return m, fmt.Errorf("%w: %s", ErrLength, p.Length)
	}
	m.Length = p.Length
	if !m.ECM {
		m.ScanTimeMs = ScanTimeFor(remote, p.Resolution)
	}
	return m, nil
}

// ScanTimeFor returns the minimum scan line time in ms a receiver with DIS
// d needs at resolution r (T.30 Table 2 bits 21-23 and 46).
func ScanTimeFor(d DIS, r Resolution) int {
	ms, half := d.ScanTime.Standard()
	switch r {
	case ResStandard:
		return ms
	case ResFine, Res300:
		if half {
			return ms / 2
		}
		return ms
	}
	// higher vertical resolutions: T15.4 = T7.7, or half of it with bit 46
	fine := ms
	if half {
		fine = ms / 2
	}
	if d.ScanTimeHalvesAtHigher {
		return fine / 2
	}
	return fine
}

// DCS returns the DCS for mode m.
func (m Mode) DCS() DCS {
	c := DCS{Receive: true, Speed: m.Speed, Width: m.Width, Length: m.Length, ScanTime: m.ScanTimeMs}
	c.ECM = m.ECM
	c.ECM64 = m.ECM && m.ECMFrameSize == 64
	c.MR = m.Compression == MR
	c.MMR = m.Compression == MMR
	c.setRes(m.Resolution, true)
	if !m.ECM {
		// ScanTime 0 would be encoded as 0 ms; keep it explicit
		c.ScanTime = m.ScanTimeMs
	}
	return c
}

// ModeFromDCS reads the mode a DCS commands.
func ModeFromDCS(c DCS) Mode {
	m := Mode{Speed: c.Speed, ECM: c.ECM, Width: c.Width, Length: c.Length, ScanTimeMs: c.ScanTime}
	switch {
	case c.MMR:
		m.Compression = MMR
	case c.MR:
		m.Compression = MR
	default:
		m.Compression = MH
	}
	if m.ECM {
		m.ECMFrameSize = 256
		if c.ECM64 {
			m.ECMFrameSize = 64
		}
		m.ScanTimeMs = 0
	}
	m.Resolution = ResStandard
	for _, r := range dcsResolutions {
		if c.hasRes(r) {
			m.Resolution = r
			break
		}
	}
	return m
}

// Acceptable reports why a receiver with capabilities local should refuse
// the mode a DCS commands, or nil.
func (m Mode) Acceptable(local Capabilities) error {
	if !local.Modems.Has(m.Speed) {
		return fmt.Errorf("%w: %s", ErrNoCommonModem, m.Speed)
	}
	if m.Compression == MMR && (!m.ECM || !local.MMR) {
		return fmt.Errorf("%w: MMR", ErrIncompatibleMode)
	}
	if m.Compression == MR && !local.MR {
		return fmt.Errorf("%w: MR", ErrIncompatibleMode)
	}
	if m.ECM && !local.ECM {
		return fmt.Errorf("%w: ECM", ErrIncompatibleMode)
	}
	if !local.hasRes(m.Resolution) {
		return fmt.Errorf("%w: %s", ErrResolution, m.Resolution)
	}
	if m.Width > local.Width {
		return fmt.Errorf("%w: %s", ErrWidth, m.Width)
	}
	return nil
}

// ErrIncompatibleMode reports a DCS asking for something not offered.
var ErrIncompatibleMode = errors.New("t30: commanded mode was not offered")

// MinRowBits returns the minimum number of bits per coded row for the
// mode's scan line time at its speed (0 with ECM).
func (m Mode) MinRowBits() int {
	if m.ECM || m.ScanTimeMs <= 0 {
		return 0
	}
	return m.ScanTimeMs * m.Speed.BitRate() / 1000
}
