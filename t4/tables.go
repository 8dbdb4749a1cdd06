package t4

import "math/bits"

//go:generate go run gen.go

// enc is one code word of T.4 Tables 2, 3 or 4: its n bits, right-aligned.
type enc struct {
	bits uint16
	n    uint8
}

// Special entries of whiteDecode and blackDecode (code length 0).
const (
	decInvalid = 0          // no code starts with these bits
	decEOL     = 0xfff << 4 // the 12-bit EOL 000000000001
)

// Two-dimensional coding modes (T.4 4.2.1.3.2, Table 4): the values that
// modeDecode holds in its high nibble.
const (
	modeNone = iota // seven zero bits: EOL, EOFB or garbage
	modePass
	modeHoriz
	modeV0
	modeVR1
	modeVR2
	modeVR3
	modeVL1
	modeVL2
	modeVL3
	modeExt // 0000001: uncompressed-mode extension, not supported
)

// Mode code words for the encoder (T.4 Table 4).
const (
	codePass  = 0b0001
	codeHoriz = 0b001
)

// vertCode[d+3] is the code of vertical mode a1-b1 = d, d in -3..3.
var vertCode = [7]enc{
	{0b0000010, 7}, // VL3
	{0b000010, 6},  // VL2
	{0b010, 3},     // VL1
	{0b1, 1},       // V0
	{0b011, 3},     // VR1
	{0b000011, 6},  // VR2
	{0b0000011, 7}, // VR3
}

// maxCombinedRun is the longest run that one entry of whiteRun/blackRun
// codes: a make-up code of up to 2560 followed by a terminating code.
const maxCombinedRun = 2560 + 63

// whiteRun[r] and blackRun[r] are the complete code for a run of r pixels
// (make-up code, if any, followed by the terminating code), packed as
// bits<<5 | length. Longer runs start with make-up codes of 2560.
var whiteRun, blackRun = combinedRunTable(&whiteTerm, &whiteMakeup), combinedRunTable(&blackTerm, &blackMakeup)

func combinedRunTable(term *[64]enc, makeup *[40]enc) *[maxCombinedRun + 1]uint32 {
	var t [maxCombinedRun + 1]uint32
	for r := range t {
		tc := term[r&63]
		if r < 64 {
			t[r] = uint32(tc.bits)<<5 | uint32(tc.n)
			continue
		}
		mc := makeup[r>>6-1]
		t[r] = (uint32(mc.bits)<<tc.n|uint32(tc.bits))<<5 | uint32(mc.n+tc.n)
	}
	return &t
}

// reverseBits[b] is b with its bit order reversed: it converts between
// LSBFirst and MSBFirst octets at the I/O boundary.
var reverseBits = func() (t [256]byte) {
	for i := range t {
		b := byte(i)
		b = b>>4 | b<<4
		b = b>>2&0x33 | b<<2&0xcc
		b = b>>1&0x55 | b<<1&0xaa
		t[i] = b
	}
	return
}()

func reverseBytes(p []byte) {
	for i, b := range p {
		p[i] = reverseBits[b]
	}
}

func leadingZeros(x uint64) int { return bits.LeadingZeros64(x) }
