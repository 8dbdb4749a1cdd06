package v17

import "errors"

// ErrRate is returned for a bit rate V.17 does not have.
var ErrRate = errors.New("v17: bit rate must be 7200, 9600, 12000 or 14400")

// EndOfData is returned by a GetBit function when there are no more bits;
// the transmitter then sends its closing ones and stops.
const EndOfData = -1

const (
	baud    = 2400
	carrier = 1800
	beta    = 0.25 // RRC roll-off
)

// Training segments (V.17 §7, Table 3), in symbols.
const (
	tepLen       = 480  // optional talker echo protection: unmodulated carrier
	tepGap       = 48   // then silence
	seg1Len      = 256  // alternations ABAB
	seg2Len      = 2976 // equaliser conditioning, long train
	seg2ShortLen = 38   // equaliser conditioning, short train (resync)
	seg3Len      = 64   // bridge (long train only)
	seg4Len      = 48   // trellis-coded scrambled ones
	endOnes      = 32   // scrambled ones after the data
	endGap       = 48   // silence that lets the pulse tails and the far carrier detector settle
)

// scramblerInit is the scrambler state at the start of segment 2; the
// receiver predicts segments 2 and 3 from it.
const scramblerInit = 0x2ECDD5

// bridgeWord holds segment 3's repeating 16-bit input to the scrambler,
// taken two bits per symbol from the least significant end.
const bridgeWord = 0x8880

// abcd are the training points A, B, C, D (V.17 Table 3 / Figure 2).
var abcd = [4]complex128{-6 - 2i, 2 - 6i, 6 + 2i, -2 + 6i}

// seg2Point maps a scrambled dibit of segment 2 (first bit most
// significant) to its training point: 00→C, 01→D, 10→B, 11→A.
var seg2Point = [4]uint8{2, 3, 1, 0}

// bridgeStep maps a scrambled dibit of segment 3 to the quarter turns the
// bridge advances by.
var bridgeStep = [4]uint8{1, 0, 2, 3}

// trellisNext is the state table of the 8-state convolutional encoder of
// V.17 §4.2 (Figure 3), in the states' 3-bit order of the figure's delay
// elements: trellisNext[s] packs, 3 bits each, the next state for the
// differentially encoded pair Y2Y1 = 0..3. The redundant bit Y0 of a
// symbol is bit 2 of the state the encoder moves to.
var trellisNext = [8]uint16{
	pack(0, 2, 3, 1), pack(4, 7, 5, 6), pack(1, 3, 2, 0), pack(7, 4, 6, 5),
	pack(2, 0, 1, 3), pack(6, 5, 7, 4), pack(3, 1, 0, 2), pack(5, 6, 4, 7),
}

func pack(a, b, c, d uint16) uint16 { return a | b<<3 | c<<6 | d<<9 }

func nextState(s, y int) int { return int(trellisNext[s]>>(3*y)) & 7 }

// Signal-space diagrams of V.17 Figures 2 (7200), 4 (9600, 12 000) and 5
// (14 400), indexed by the bits Q6..Q3 Y2 Y1 Y0 (Y0 least significant).
// Only the points with Y2 = 0 are listed: setting Y2 turns a point by
// 180°. Each entry is re, im.
var (
	half14400 = [...]int8{
		-8, -3, 9, 2, 2, -9, -3, 8, -8, 1, 9, -2, -2, -9, 1, 8,
		-4, -3, 5, 2, 2, -5, -3, 4, -4, 1, 5, -2, -2, -5, 1, 4,
		4, -3, -3, 2, 2, 3, -3, -4, 4, 1, -3, -2, -2, 3, 1, -4,
		0, -3, 1, 2, 2, -1, -3, 0, 0, 1, 1, -2, -2, -1, 1, 0,
		8, -3, -7, 2, 2, 7, -3, -8, 8, 1, -7, -2, -2, 7, 1, -8,
		-4, -7, 5, 6, 6, -5, -7, 4, -4, 5, 5, -6, -6, -5, 5, 4,
		4, -7, -3, 6, 6, 3, -7, -4, 4, 5, -3, -6, -6, 3, 5, -4,
		0, -7, 1, 6, 6, -1, -7, 0, 0, 5, 1, -6, -6, -1, 5, 0,
	}
	half12000 = [...]int8{
		7, 1, -5, -1, -1, 5, 1, -7, 3, -3, -1, 3, 3, 1, -3, -3,
		7, -7, -5, 7, 7, 5, -7, -7, -1, -7, 3, 7, 7, -3, -7, 1,
		3, 5, -1, -5, -5, 1, 5, -3, -1, 1, 3, -1, -1, -3, 1, 1,
		-5, 5, 7, -5, -5, -7, 5, 5, -5, -3, 7, 3, 3, -7, -3, 5,
	}
	half9600 = [...]int8{
		-8, 2, -6, -4, -4, 6, 2, 8, 0, 2, -6, 4, 4, 6, 2, 0,
		0, -6, 2, -4, -4, -2, -6, 0, 8, 2, 2, 4, 4, -2, 2, -8,
	}
	half7200 = [...]int8{
		6, -6, -2, 6, 6, 2, -6, -6, -2, 2, 6, -2, -2, -6, 2, 2,
	}
)

// constellation expands a half table into the full signal space.
func constellation(half []int8) []complex128 {
	n := len(half) // two entries per point, half the points
	pts := make([]complex128, n)
	for i := 0; i < n/2; i++ {
		p := complex(float64(half[2*i]), float64(half[2*i+1]))
		g, k := i/4, i%4 // groups of 4 with Y2 = 0, then 4 with Y2 = 1
		pts[g*8+k] = p
		pts[g*8+k+4] = -p
	}
	return pts
}

// rateInfo is what differs between the rates.
type rateInfo struct {
	bits int // data bits per symbol
	pts  []complex128
	pow  float64 // mean power of the points
	minQ float64 // least training quality (dB) accepted
}

var rates = map[int]*rateInfo{
	14400: {bits: 6, pts: constellation(half14400[:]), minQ: 15},
	12000: {bits: 5, pts: constellation(half12000[:]), minQ: 12},
	9600:  {bits: 4, pts: constellation(half9600[:]), minQ: 10},
	7200:  {bits: 3, pts: constellation(half7200[:]), minQ: 8},
}

func init() {
	for _, r := range rates {
		for _, p := range r.pts {
			r.pow += real(p)*real(p) + imag(p)*imag(p)
		}
		r.pow /= float64(len(r.pts))
	}
}

func rateOf(rate int) (*rateInfo, error) {
	if r, ok := rates[rate]; ok {
		return r, nil
	}
	return nil, ErrRate
}

// scramble is the V.17 §5 scrambler 1 + x^-18 + x^-23.
func scramble(reg *uint32, in int) int {
	out := (in ^ int(*reg>>17) ^ int(*reg>>22)) & 1
	*reg = *reg<<1 | uint32(out)
	return out
}

// training holds segments 2 and 3 as sent (indices into abcd): seg2 for
// the long train (the short train sends its first seg2ShortLen symbols),
// then the bridge.
var training = func() (t struct {
	seg2   [seg2Len]uint8
	bridge [seg3Len]uint8
}) {
	reg := uint32(scramblerInit)
	var st uint8
	for i := range t.seg2 {
		b := scramble(&reg, 1)<<1 | scramble(&reg, 1)
		st = seg2Point[b]
		t.seg2[i] = st
	}
	for i := range t.bridge {
		sh := uint(i&7) << 1
		b := scramble(&reg, bridgeWord>>sh)<<1 | scramble(&reg, bridgeWord>>(sh+1))
		st = (st + bridgeStep[b]) & 3
		t.bridge[i] = st
	}
	return
}()
