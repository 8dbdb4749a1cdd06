package t30

import (
	"fmt"
	"github.com/faxkit/faxkit/t4"
)

// Speed is a fax image modem and data signalling rate (T.30 Table 2 bits
// 11-14, DCS column). The zero value means no speed.
type Speed uint8

// Image modem speeds, lowest first.
const (
	SpeedNone Speed = iota
	V27ter2400
	V27ter4800
	V29_7200
	V29_9600
	V17_7200
	V17_9600
	V17_12000
	V17_14400
)

var speedNames = [...]string{"none", "V.27ter/2400", "V.27ter/4800", "V.29/7200", "V.29/9600",
	"V.17/7200", "V.17/9600", "V.17/12000", "V.17/14400"}

func (s Speed) String() string {
	if int(s) < len(speedNames) {
		return speedNames[s]
	}
	return fmt.Sprintf("Speed(%d)", uint8(s))
}

// BitRate returns the data signalling rate in bit/s (0 for SpeedNone).
func (s Speed) BitRate() int {
	return [...]int{0, 2400, 4800, 7200, 9600, 7200, 9600, 12000, 14400, 0}[min(int(s), 9)]
}

// Modulation returns the modem family of s.
func (s Speed) Modulation() Modulation {
	switch s {
	case V27ter2400, V27ter4800:
		return V27ter
	case V29_7200, V29_9600:
		return V29
	case V17_7200, V17_9600, V17_12000, V17_14400:
		return V17
	}
	return ModNone
}

// dcsBits returns T.30 bits 11-14 (bit 11 in bit 0) for s in a DCS or CTC.
func (s Speed) dcsBits() uint8 {
	return [...]uint8{0, 0, 2, 3, 1, 11, 9, 10, 8, 0}[min(int(s), 9)]
}

func speedFromDCSBits(b uint8) (Speed, bool) {
	switch b & 0x0F {
	case 0:
		return V27ter2400, true
	case 2:
		return V27ter4800, true
	case 3:
		return V29_7200, true
	case 1:
		return V29_9600, true
	case 11:
		return V17_7200, true
	case 9:
		return V17_9600, true
	case 10:
		return V17_12000, true
	case 8:
		return V17_14400, true
	}
	return SpeedNone, false
}

// Modulation is a modem family.
type Modulation uint8

// Modem families. V21 carries the control frames (300 bit/s).
const (
	ModNone Modulation = iota
	V21
	V27ter
	V29
	V17
)

func (m Modulation) String() string {
	switch m {
	case ModNone:
		return "none"
	case V21:
		return "V.21"
	case V27ter:
		return "V.27ter"
	case V29:
		return "V.29"
	case V17:
		return "V.17"
	}
	return fmt.Sprintf("Modulation(%d)", uint8(m))
}

// ModemSet is the set of image modems a DIS/DTC offers (bits 11-14).
type ModemSet uint8

// ModemSet members.
const (
	ModemsV27terFallback ModemSet = 1 << iota // V.27ter at 2400 only
	ModemsV27ter
	ModemsV29
	ModemsV17
)

// Speeds returns the speeds the set allows, fastest first.
func (m ModemSet) Speeds() []Speed {
	var out []Speed
	if m&ModemsV17 != 0 {
		out = append(out, V17_14400, V17_12000, V17_9600, V17_7200)
	}
	if m&ModemsV29 != 0 {
		out = append(out, V29_9600, V29_7200)
	}
	if m&ModemsV27ter != 0 {
		out = append(out, V27ter4800, V27ter2400)
	} else if m&(ModemsV27terFallback|ModemsV29|ModemsV17) != 0 || m == 0 {
		out = append(out, V27ter2400)
	}
	return out
}

// Has reports whether s is allowed by the set.
func (m ModemSet) Has(s Speed) bool {
	for _, x := range m.Speeds() {
		if x == s {
			return true
		}
	}
	return false
}

func (m ModemSet) String() string {
	switch {
	case m&ModemsV17 != 0:
		return "V.17+V.29+V.27ter"
	case m&ModemsV29 != 0 && m&ModemsV27ter != 0:
		return "V.29+V.27ter"
	case m&ModemsV29 != 0:
		return "V.29"
	case m&ModemsV27ter != 0:
		return "V.27ter"
	}
	return "V.27ter-fallback"
}

// disBits returns T.30 bits 11-14 for a DIS/DTC (bit 11 in bit 0).
func (m ModemSet) disBits() uint8 {
	switch {
	case m&ModemsV17 != 0:
		return 11 // 1,1,0,1: V.27ter, V.29 and V.17
	case m&ModemsV29 != 0 && m&ModemsV27ter != 0:
		return 3 // 1,1,0,0
	case m&ModemsV29 != 0:
		return 1 // 1,0,0,0
	case m&ModemsV27ter != 0:
		return 2 // 0,1,0,0
	}
	return 0 // V.27ter fallback mode
}

func modemSetFromDISBits(b uint8) ModemSet {
	switch b & 0x0F {
	case 0:
		return ModemsV27terFallback
	case 2:
		return ModemsV27ter
	case 1:
		return ModemsV29
	case 3:
		return ModemsV29 | ModemsV27ter
	case 11, 15:
		return ModemsV17 | ModemsV29 | ModemsV27ter
	case 7: // 1,1,1,0: V.27ter, V.29 and V.33 (1988); we lack V.33
		return ModemsV29 | ModemsV27ter
	}
	// reserved combinations: assume only the mandatory fallback
	return ModemsV27terFallback
}

// PaperWidth is a scan line width (T.30 bits 17-18); t4.LineWidth is its
// home, with the row length at each resolution (LineWidth.Pels).
type PaperWidth = t4.LineWidth

// The scan line widths (see t4.LineWidth).
const (
	WidthA4 = t4.WidthA4 // 215 mm
	WidthB4 = t4.WidthB4 // 255 mm
	WidthA3 = t4.WidthA3 // 303 mm
)

// widthBits returns T.30 Table 2 bits 17-18 for w (those of A4 for a width
// that has none).
func widthBits(w PaperWidth) uint8 {
	if w > WidthA3 {
		return 0
	}
	return uint8(w)
}

// PaperLength is the recording length (T.30 bits 19-20).
type PaperLength uint8

// Lengths.
const (
	LengthA4 PaperLength = iota
	LengthB4
	LengthUnlimited
)

func (l PaperLength) String() string {
	switch l {
	case LengthA4:
		return "A4"
	case LengthB4:
		return "B4"
	case LengthUnlimited:
		return "unlimited"
	}
	return fmt.Sprintf("PaperLength(%d)", uint8(l))
}

// bits returns T.30 Table 2 bits 19-20 for l (those of A4 for a length
// that has none).
func (l PaperLength) bits() uint8 {
	if l > LengthUnlimited {
		return 0
	}
	return uint8(l)
}

// ScanTimeCap is the 3-bit minimum scan line time capability of a DIS/DTC
// (T.30 bits 21-23, bit 21 in bit 0), including whether fine resolution may
// use half the time.
type ScanTimeCap uint8

// Standard returns the minimum scan line time in ms at 3.85 lines/mm, and
// whether 7.7 lines/mm may use half of it.
func (c ScanTimeCap) Standard() (ms int, halfAtFine bool) {
	switch c & 7 {
	case 0:
		return 20, false
	case 4:
		return 40, false
	case 2:
		return 10, false
	case 1:
		return 5, false
	case 6:
		return 10, true
	case 3:
		return 20, true
	case 5:
		return 40, true
	}
	return 0, false
}

// ScanTimeCapFor returns the capability code for ms (0, 5, 10, 20, 40) at
// 3.85 lines/mm. halfAtFine is only encodable for 10, 20 and 40 ms.
func ScanTimeCapFor(ms int, halfAtFine bool) ScanTimeCap {
	switch {
	case ms <= 0:
		return 7
	case ms <= 5:
		return 1
	case ms <= 10 && halfAtFine:
		return 6
	case ms <= 10:
		return 2
	case ms <= 20 && halfAtFine:
		return 3
	case ms <= 20:
		return 0
	case halfAtFine:
		return 5
	}
	return 4
}

// scanTimeDCSBits returns DCS bits 21-23 for ms.
func scanTimeDCSBits(ms int) uint8 {
	switch {
	case ms <= 0:
		return 7
	case ms <= 5:
		return 1
	case ms <= 10:
		return 2
	case ms <= 20:
		return 0
	}
	return 4
}

func scanTimeFromDCSBits(b uint8) int {
	switch b & 7 {
	case 1:
		return 5
	case 2:
		return 10
	case 0:
		return 20
	case 4:
		return 40
	case 7:
		return 0
	}
	return 20 // reserved: assume the T.4 default
}

// Features are the single-bit fields of T.30 Table 2 that DIS, DTC and DCS
// share. In a DIS/DTC a true field is a capability, in a DCS a command.
// Bit numbers are those of Table 2.
type Features struct {
	T37                    bool  // bit 1: T.37 simple mode
	T38                    bool  // bit 3: T.38 capable
	Mobile3G               bool  // bit 4: 3G mobile network access
	Fine                   bool  // bit 15: R8 x 7.7 lines/mm or 200x200 dpi
	MR                     bool  // bit 16: two-dimensional coding (T.4 MR)
	Uncompressed           bool  // bit 26: uncompressed mode
	ECM                    bool  // bit 27: error correction mode
	MMR                    bool  // bit 31: T.6 coding (ECM only)
	FNV                    bool  // bit 33: field not valid capable
	T43                    bool  // bit 36
	PlaneInterleave        bool  // bit 37
	G726                   bool  // bit 38
	Superfine              bool  // bit 41: R8 x 15.4 lines/mm
	R300x300               bool  // bit 42: 300x300 pels/25.4 mm
	R400x400               bool  // bit 43: R16 x 15.4 lines/mm or 400x400 dpi
	InchBased              bool  // bit 44: inch based resolution (preferred in DIS)
	Subaddressing          bool  // bit 49: sub-addressing (capability / SUB transmission)
	Password               bool  // bit 50: password (DIS) / sender identification transmission (DCS)
	BFT                    bool  // bit 53: binary file transfer (T.434)
	DTM                    bool  // bit 54: document transfer mode
	EDI                    bool  // bit 55: electronic data interchange
	BTM                    bool  // bit 57: basic transfer mode
	CharacterMode          bool  // bit 60
	MixedMode              bool  // bit 62: mixed mode (Annex E/T.4)
	DigitalNetwork         bool  // bit 66: digital network capability
	Duplex                 bool  // bit 67: duplex and half duplex capability
	T81                    bool  // bit 68: JPEG coding
	FullColour             bool  // bit 69
	Bits12                 bool  // bit 71: 12 bits/pel component
	NoSubsampling          bool  // bit 73
	CustomIlluminant       bool  // bit 74
	CustomGamut            bool  // bit 75
	Letter                 bool  // bit 76: North American Letter
	Legal                  bool  // bit 77: North American Legal
	T85                    bool  // bit 78: JBIG (T.85)
	T85L0                  bool  // bit 79: T.85 optional L0
	HKMKeyManagement       bool  // bit 81
	RSAKeyManagement       bool  // bit 82
	Override               bool  // bit 83
	HFX40Cipher            bool  // bit 84
	AltCipher2             bool  // bit 85
	AltCipher3             bool  // bit 86
	HFX40IHashing          bool  // bit 87
	AltHashing2            bool  // bit 89
	AltHashing3            bool  // bit 90
	T44PageLength          bool  // bit 95
	ColourGray300x400      bool  // bit 97
	ColourGray100x100      bool  // bit 98
	SimpleBFTNegotiation   bool  // bit 99
	InternetRoutingAddress bool  // bit 102
	R600x600               bool  // bit 105
	R1200x1200             bool  // bit 106
	R300x600               bool  // bit 107
	R400x800               bool  // bit 108
	R600x1200              bool  // bit 109
	ColourGray600x600      bool  // bit 110
	ColourGray1200x1200    bool  // bit 111
	AlternateDoubleSided   bool  // bit 113
	ContinuousDoubleSided  bool  // bit 114
	T45                    bool  // bit 116: run-length colour encoding
	T44ColourSpace         bool  // bit 119
	T38FlowControl         bool  // bit 121
	T38Fax                 bool  // bit 123: internet-aware fax (IAF) capability/mode
	SYCCT81                bool  // bit 127: sYCC-JPEG (Annex K)
	MRCMode                uint8 // bits 92-94 (bit 92 in bit 0): T.44 mixed raster content mode
	SharedMemory           uint8 // bits 117-118 (bit 117 in bit 0)
	T88                    uint8 // bits 124-126 (bit 124 in bit 0): T.89 application profile
}

// featureBits maps Table 2 bit numbers to Features fields.
var featureBits = []struct {
	bit int
	f   func(*Features) *bool
}{
	{1, func(f *Features) *bool { return &f.T37 }},
	{3, func(f *Features) *bool { return &f.T38 }},
	{4, func(f *Features) *bool { return &f.Mobile3G }},
	{15, func(f *Features) *bool { return &f.Fine }},
	{16, func(f *Features) *bool { return &f.MR }},
	{26, func(f *Features) *bool { return &f.Uncompressed }},
	{27, func(f *Features) *bool { return &f.ECM }},
	{31, func(f *Features) *bool { return &f.MMR }},
	{33, func(f *Features) *bool { return &f.FNV }},
	{36, func(f *Features) *bool { return &f.T43 }},
	{37, func(f *Features) *bool { return &f.PlaneInterleave }},
	{38, func(f *Features) *bool { return &f.G726 }},
	{41, func(f *Features) *bool { return &f.Superfine }},
	{42, func(f *Features) *bool { return &f.R300x300 }},
	{43, func(f *Features) *bool { return &f.R400x400 }},
	{44, func(f *Features) *bool { return &f.InchBased }},
	{49, func(f *Features) *bool { return &f.Subaddressing }},
	{50, func(f *Features) *bool { return &f.Password }},
	{53, func(f *Features) *bool { return &f.BFT }},
	{54, func(f *Features) *bool { return &f.DTM }},
	{55, func(f *Features) *bool { return &f.EDI }},
	{57, func(f *Features) *bool { return &f.BTM }},
	{60, func(f *Features) *bool { return &f.CharacterMode }},
	{62, func(f *Features) *bool { return &f.MixedMode }},
	{66, func(f *Features) *bool { return &f.DigitalNetwork }},
	{67, func(f *Features) *bool { return &f.Duplex }},
	{68, func(f *Features) *bool { return &f.T81 }},
	{69, func(f *Features) *bool { return &f.FullColour }},
	{71, func(f *Features) *bool { return &f.Bits12 }},
	{73, func(f *Features) *bool { return &f.NoSubsampling }},
	{74, func(f *Features) *bool { return &f.CustomIlluminant }},
	{75, func(f *Features) *bool { return &f.CustomGamut }},
	{76, func(f *Features) *bool { return &f.Letter }},
	{77, func(f *Features) *bool { return &f.Legal }},
	{78, func(f *Features) *bool { return &f.T85 }},
	{79, func(f *Features) *bool { return &f.T85L0 }},
	{81, func(f *Features) *bool { return &f.HKMKeyManagement }},
	{82, func(f *Features) *bool { return &f.RSAKeyManagement }},
	{83, func(f *Features) *bool { return &f.Override }},
	{84, func(f *Features) *bool { return &f.HFX40Cipher }},
	{85, func(f *Features) *bool { return &f.AltCipher2 }},
	{86, func(f *Features) *bool { return &f.AltCipher3 }},
	{87, func(f *Features) *bool { return &f.HFX40IHashing }},
	{89, func(f *Features) *bool { return &f.AltHashing2 }},
	{90, func(f *Features) *bool { return &f.AltHashing3 }},
	{95, func(f *Features) *bool { return &f.T44PageLength }},
	{97, func(f *Features) *bool { return &f.ColourGray300x400 }},
	{98, func(f *Features) *bool { return &f.ColourGray100x100 }},
	{99, func(f *Features) *bool { return &f.SimpleBFTNegotiation }},
	{102, func(f *Features) *bool { return &f.InternetRoutingAddress }},
	{105, func(f *Features) *bool { return &f.R600x600 }},
	{106, func(f *Features) *bool { return &f.R1200x1200 }},
	{107, func(f *Features) *bool { return &f.R300x600 }},
	{108, func(f *Features) *bool { return &f.R400x800 }},
	{109, func(f *Features) *bool { return &f.R600x1200 }},
	{110, func(f *Features) *bool { return &f.ColourGray600x600 }},
	{111, func(f *Features) *bool { return &f.ColourGray1200x1200 }},
	{113, func(f *Features) *bool { return &f.AlternateDoubleSided }},
	{114, func(f *Features) *bool { return &f.ContinuousDoubleSided }},
	{116, func(f *Features) *bool { return &f.T45 }},
	{119, func(f *Features) *bool { return &f.T44ColourSpace }},
	{121, func(f *Features) *bool { return &f.T38FlowControl }},
	{123, func(f *Features) *bool { return &f.T38Fax }},
	{127, func(f *Features) *bool { return &f.SYCCT81 }},
}

// DIS is the FIF of a DIS or DTC: the capabilities of a terminal (T.30
// 5.3.6.2.1, Table 2, DIS/DTC column).
type DIS struct {
	Features
	V8                       bool        // bit 6: V.8 capabilities
	Prefer64OctetECM         bool        // bit 7: prefers 64-octet ECM frames
	ReadyToTransmit          bool        // bit 9: a document is ready to be polled
	ReadyToReceive           bool        // bit 10: able to receive fax documents
	Modems                   ModemSet    // bits 11-14
	Width                    PaperWidth  // bits 17-18: widest width accepted
	Length                   PaperLength // bits 19-20: longest length accepted
	ScanTime                 ScanTimeCap // bits 21-23
	MultipleSelectivePolling bool        // bit 34
	PolledSubaddressing      bool        // bit 35
	MetricPreferred          bool        // bit 45
	ScanTimeHalvesAtHigher   bool        // bit 46: T15.4 = 1/2 T7.7
	SelectivePolling         bool        // bit 47
	ReadyToTransmitDataFile  bool        // bit 51
	ReadyToTransmitMixed     bool        // bit 59
	ProcessableMode26        bool        // bit 65
	ExtendedBFTNegotiation   bool        // bit 100
	InternetSelectivePolling bool        // bit 101
	BlackAndWhiteMRC         bool        // bit 115
	KGreaterThan4            bool        // bit 122
	Reserved                 DISBits     // bits set on the line that no field above names
	Octets                   int         // FIF length to emit at least (0: as short as possible)
}

// DCS is the FIF of a DCS: the mode the transmitter commands (T.30 Table 2,
// DCS column).
type DCS struct {
	Features
	Receive          bool        // bit 10: set the receiver to receive mode
	Speed            Speed       // bits 11-14
	Width            PaperWidth  // bits 17-18
	Length           PaperLength // bits 19-20
	ScanTime         int         // bits 21-23: minimum scan line time in ms (0,5,10,20,40)
	ECM64            bool        // bit 28: 64-octet ECM frames (else 256)
	PreferredHuffman bool        // bit 70
	Reserved         DISBits     // bits set on the line that no field above names
	Octets           int         // FIF length to emit at least (0: as short as possible)
}

// DISBits is a raw DIS/DTC/DCS bit map (T.30 Table 2; a page bitmap is
// t4.Bitmap): bit n (1-based) is bit (n-1)%8 of octet (n-1)/8, the first
// transmitted bit in bit 0.
type DISBits [maxDISOctets]byte

const maxDISOctets = 16 // bits 1..128

// Get reports whether Table 2 bit n is set.
func (b *DISBits) Get(n int) bool {
	if n < 1 || n > maxDISOctets*8 {
		return false
	}
	return b[(n-1)/8]&(1<<((n-1)%8)) != 0
}

// Set sets Table 2 bit n to v.
func (b *DISBits) Set(n int, v bool) {
	if n < 1 || n > maxDISOctets*8 {
		return
	}
	if v {
		b[(n-1)/8] |= 1 << ((n - 1) % 8)
	} else {
		b[(n-1)/8] &^= 1 << ((n - 1) % 8)
	}
}

func (b *DISBits) getN(first, count int) uint8 {
	var v uint8
	for i := 0; i < count; i++ {
		if b.Get(first + i) {
			v |= 1 << i
		}
	}
	return v
}

func (b *DISBits) setN(first, count int, v uint8) {
	for i := 0; i < count; i++ {
		b.Set(first+i, v&(1<<i) != 0)
	}
}

func isExtendBit(n int) bool { return n >= 24 && n%8 == 0 }

// encodeBitmap turns a bit map into a FIF: extend bits (24, 32, ...) are set
// on every octet but the last; trailing zero octets are dropped unless
// minOctets asks for them (T.30 needs at least 3 octets).
func encodeBitmap(b DISBits, minOctets int) []byte {
	for n := 24; n <= maxDISOctets*8; n += 8 {
		b.Set(n, false)
	}
	last := 2
	for i := maxDISOctets - 1; i > 2; i-- {
		if b[i] != 0 {
			last = i
			break
		}
	}
	if minOctets-1 > last {
		last = min(minOctets, maxDISOctets) - 1
	}
	out := make([]byte, last+1)
	copy(out, b[:last+1])
	for i := 2; i < last; i++ {
		out[i] |= 0x80
	}
	return out
}

// decodeBitmap reads a FIF up to the first octet (from the third) whose
// extend bit is clear, ignoring any octets after it. It returns the bitmap
// without extend bits and the number of octets used.
func decodeBitmap(fif []byte) (DISBits, int, error) {
	var b DISBits
	if len(fif) < 3 {
		return b, 0, fmt.Errorf("%w: capability FIF of %d octets, want >= 3", ErrFIF, len(fif))
	}
	n := len(fif)
	for i := 2; i < len(fif); i++ {
		if fif[i]&0x80 == 0 {
			n = i + 1
			break
		}
	}
	n = min(n, maxDISOctets)
	copy(b[:], fif[:n])
	for k := 24; k <= maxDISOctets*8; k += 8 {
		b.Set(k, false)
	}
	return b, n, nil
}

func (f *Features) toBits(b *DISBits) {
	for _, fb := range featureBits {
		b.Set(fb.bit, *fb.f(f))
	}
	b.setN(92, 3, f.MRCMode)
	b.setN(117, 2, f.SharedMemory)
	b.setN(124, 3, f.T88)
}

func (f *Features) fromBits(b *DISBits, used *DISBits) {
	for _, fb := range featureBits {
		*fb.f(f) = b.Get(fb.bit)
		used.Set(fb.bit, true)
	}
	f.MRCMode = b.getN(92, 3)
	f.SharedMemory = b.getN(117, 2)
	f.T88 = b.getN(124, 3)
	used.setN(92, 3, 7)
	used.setN(117, 2, 3)
	used.setN(124, 3, 7)
}

// Bits returns the Table 2 bit map of d (without extend bits).
func (d DIS) Bits() DISBits {
	b := d.Reserved
	d.Features.toBits(&b)
	b.Set(6, d.V8)
	b.Set(7, d.Prefer64OctetECM)
	b.Set(9, d.ReadyToTransmit)
	b.Set(10, d.ReadyToReceive)
	b.setN(11, 4, d.Modems.disBits())
	b.setN(17, 2, widthBits(d.Width))
	b.setN(19, 2, d.Length.bits())
	b.setN(21, 3, uint8(d.ScanTime))
	b.Set(34, d.MultipleSelectivePolling)
	b.Set(35, d.PolledSubaddressing)
	b.Set(45, d.MetricPreferred)
	b.Set(46, d.ScanTimeHalvesAtHigher)
	b.Set(47, d.SelectivePolling)
	b.Set(51, d.ReadyToTransmitDataFile)
	b.Set(59, d.ReadyToTransmitMixed)
	b.Set(65, d.ProcessableMode26)
	b.Set(100, d.ExtendedBFTNegotiation)
	b.Set(101, d.InternetSelectivePolling)
	b.Set(115, d.BlackAndWhiteMRC)
	b.Set(122, d.KGreaterThan4)
	return b
}

var disUsed, dcsUsed DISBits

func init() {
	var d DIS
	var b DISBits
	for i := range b {
		b[i] = 0xFF
	}
	d.fromBitmap(b, &disUsed)
	var c DCS
	c.fromBitmap(b, &dcsUsed)
}

func (d *DIS) fromBitmap(b DISBits, used *DISBits) {
	var u DISBits
	d.Features.fromBits(&b, &u)
	get := func(n int) bool { u.Set(n, true); return b.Get(n) }
	d.V8 = get(6)
	d.Prefer64OctetECM = get(7)
	d.ReadyToTransmit = get(9)
	d.ReadyToReceive = get(10)
	u.setN(11, 4, 0xF)
	u.setN(17, 7, 0x7F)
	d.Modems = modemSetFromDISBits(b.getN(11, 4))
	switch b.getN(17, 2) {
	case 1:
		d.Width = WidthB4
	case 2, 3:
		d.Width = WidthA3
	default:
		d.Width = WidthA4
	}
	switch b.getN(19, 2) {
	case 1:
		d.Length = LengthB4
	case 2, 3:
		d.Length = LengthUnlimited
	default:
		d.Length = LengthA4
	}
	d.ScanTime = ScanTimeCap(b.getN(21, 3))
	d.MultipleSelectivePolling = get(34)
	d.PolledSubaddressing = get(35)
	d.MetricPreferred = get(45)
	d.ScanTimeHalvesAtHigher = get(46)
	d.SelectivePolling = get(47)
	d.ReadyToTransmitDataFile = get(51)
	d.ReadyToTransmitMixed = get(59)
	d.ProcessableMode26 = get(65)
	d.ExtendedBFTNegotiation = get(100)
	d.InternetSelectivePolling = get(101)
	d.BlackAndWhiteMRC = get(115)
	d.KGreaterThan4 = get(122)
	if used != nil {
		*used = u
	}
	for i := range b {
		d.Reserved[i] = b[i] &^ disUsed[i]
	}
}

// MarshalBinary encodes d as a DIS/DTC FIF.
func (d DIS) MarshalBinary() ([]byte, error) { return encodeBitmap(d.Bits(), d.Octets), nil }

// UnmarshalBinary decodes a DIS/DTC FIF. Reserved bits are kept in
// d.Reserved and the FIF length in d.Octets, so re-encoding is exact for
// well-formed input (extend bits are recomputed).
func (d *DIS) UnmarshalBinary(fif []byte) error {
	b, n, err := decodeBitmap(fif)
	if err != nil {
		return err
	}
	*d = DIS{}
	d.fromBitmap(b, nil)
	d.Octets = n
	return nil
}

// Frame builds a DIS (or, with dtc, a DTC) frame.
func (d DIS) Frame(dtc bool) Frame {
	fif, _ := d.MarshalBinary()
	f := Frame{FCF: FCFDIS, Final: true, Info: fif}
	if dtc {
		f.FCF = FCFDTC
	}
	return f
}

// ParseDIS decodes the FIF of a DIS or DTC frame.
func ParseDIS(f Frame) (DIS, error) {
	var d DIS
	if f.FCF != FCFDIS && f.FCF != FCFDTC {
		return d, fmt.Errorf("%w: %s is not DIS/DTC", ErrUnexpected, f.FCF)
	}
	err := d.UnmarshalBinary(f.Info)
	return d, err
}

// Bits returns the Table 2 bit map of c (without extend bits).
func (c DCS) Bits() DISBits {
	b := c.Reserved
	c.Features.toBits(&b)
	b.Set(10, c.Receive)
	b.setN(11, 4, c.Speed.dcsBits())
	b.setN(17, 2, widthBits(c.Width))
	b.setN(19, 2, c.Length.bits())
	b.setN(21, 3, scanTimeDCSBits(c.ScanTime))
	b.Set(28, c.ECM64)
	b.Set(70, c.PreferredHuffman)
	return b
}

func (c *DCS) fromBitmap(b DISBits, used *DISBits) error {
	var u DISBits
	c.Features.fromBits(&b, &u)
	get := func(n int) bool { u.Set(n, true); return b.Get(n) }
	c.Receive = get(10)
	u.setN(11, 4, 0xF)
	u.setN(17, 7, 0x7F)
	var err error
	s, ok := speedFromDCSBits(b.getN(11, 4))
	if !ok {
		err = fmt.Errorf("%w: DCS with reserved rate bits 0x%X", ErrFIF, b.getN(11, 4))
	}
	c.Speed = s
	switch b.getN(17, 2) {
	case 1:
		c.Width = WidthB4
	case 2:
		c.Width = WidthA3
	case 3:
		if err == nil {
			err = fmt.Errorf("%w: DCS with invalid width bits", ErrFIF)
		}
	}
	switch b.getN(19, 2) {
	case 1:
		c.Length = LengthB4
	case 2:
		c.Length = LengthUnlimited
	case 3:
		if err == nil {
			err = fmt.Errorf("%w: DCS with invalid length bits", ErrFIF)
		}
	}
	c.ScanTime = scanTimeFromDCSBits(b.getN(21, 3))
	c.ECM64 = get(28)
	c.PreferredHuffman = get(70)
	if used != nil {
		*used = u
	}
	for i := range b {
		c.Reserved[i] = b[i] &^ dcsUsed[i]
	}
	return err
}

// MarshalBinary encodes c as a DCS FIF.
func (c DCS) MarshalBinary() ([]byte, error) {
	if c.Speed == SpeedNone || c.Speed > V17_14400 {
		return nil, fmt.Errorf("%w: DCS without a valid speed", ErrFIF)
	}
	return encodeBitmap(c.Bits(), c.Octets), nil
}

// UnmarshalBinary decodes a DCS FIF; reserved rate, width or length codes
// are rejected.
func (c *DCS) UnmarshalBinary(fif []byte) error {
	b, n, err := decodeBitmap(fif)
	if err != nil {
		return err
	}
	var nc DCS
	if err := nc.fromBitmap(b, nil); err != nil {
		return err
	}
	nc.Octets = n
	*c = nc
	return nil
}

// Frame builds a DCS frame (X bit set: the DCS always answers a DIS).
func (c DCS) Frame() (Frame, error) {
	fif, err := c.MarshalBinary()
	if err != nil {
		return Frame{}, err
	}
	return Frame{FCF: FCFDCS, X: true, Final: true, Info: fif}, nil
}

// ParseDCS decodes the FIF of a DCS frame.
func ParseDCS(f Frame) (DCS, error) {
	var c DCS
	if f.FCF != FCFDCS {
		return c, fmt.Errorf("%w: %s is not DCS", ErrUnexpected, f.FCF)
	}
	err := c.UnmarshalBinary(f.Info)
	return c, err
}
