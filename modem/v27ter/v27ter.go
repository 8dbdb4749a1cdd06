package v27ter

import (
	"errors"
	"math"
)

// ErrRate is returned for a bit rate V.27ter does not have.
var ErrRate = errors.New("v27ter: bit rate must be 2400 or 4800")

// EndOfData is returned by a GetBit function when there are no more bits.
const EndOfData = -1

const (
	carrier = 1800
	beta    = 0.5 // RRC roll-off (V.27ter §2.2: 50% raised-cosine energy spectrum)
)

// Long training sequence (V.27ter §8.3, Table 3), in symbols.
const (
	tepLen  = 320  // optional unmodulated carrier (talker echo protection)
	seg2Len = 32   // no transmitted energy
	seg3Len = 50   // continuous 180° phase reversals
	seg4Len = 1074 // equaliser conditioning: 0°/180° from the scrambler
	seg5Len = 8    // scrambled binary ones
	endLen  = 32   // ones after the data
)

// phaseStep maps the tribit (first bit most significant) to the phase
// change in 45° steps (V.27ter Table 1).
var phaseStep = [8]int{1, 0, 2, 3, 6, 7, 5, 4}

// phaseStep2400 maps the dibit to the phase change in 45° steps.
var phaseStep2400 = [4]int{0, 2, 6, 4}

var phaseBits, phaseBits2400 = func() (r [8]int, r2 [8]int) {
	for b, s := range phaseStep {
		r[s] = b
	}
	for b, s := range phaseStep2400 {
		r2[s] = b
	}
	return
}()

// points are the eight signal elements, unit amplitude √2.
var points = func() (p [8]complex128) {
	for i := range p {
		s, c := math.Sincos(float64(i) * math.Pi / 4)
		p[i] = complex(math.Sqrt2*c, math.Sqrt2*s)
	}
	return
}()

const symPower = 2

func baud(rate int) float64 {
	if rate == 4800 {
		return 1600
	}
	return 1200
}

func validRate(r int) bool { return r == 2400 || r == 4800 }

// scrambler is the V.27ter §4 scrambler: 1 + x^-6 + x^-7 with the guard
// that inverts the next bit after 33 bits in which each line bit equalled
// the one 8, 9 or 12 bits before it (repetitive patterns of period 1, 2,
// 3, 4, 6, 8, 9, 12).
type scrambler struct {
	reg   uint32
	count int
}

func (s *scrambler) guard(line int) int {
	if s.count >= 33 {
		s.count = 0
		return 1
	}
	if (int(s.reg>>7)^line)&(int(s.reg>>8)^line)&(int(s.reg>>11)^line)&1 != 0 {
		s.count = 0
	} else {
		s.count++
	}
	return 0
}

func (s *scrambler) scramble(b int) int {
	out := (b ^ int(s.reg>>5) ^ int(s.reg>>6)) & 1
	out ^= s.guard(out)
	s.reg = s.reg<<1 | uint32(out)
	return out
}

func (s *scrambler) descramble(line int) int {
	line &= 1
	out := (line ^ int(s.reg>>5) ^ int(s.reg>>6)) & 1
	out ^= s.guardRx(line)
	s.reg = s.reg<<1 | uint32(line)
	return out
}

// guardRx mirrors guard on the received line bits: when the transmitter
// inverted a line bit, the receiver un-inverts the data bit.
func (s *scrambler) guardRx(line int) int {
	if s.count >= 33 {
		s.count = 0
		return 1
	}
	if (int(s.reg>>7)^line)&(int(s.reg>>8)^line)&(int(s.reg>>11)^line)&1 != 0 {
		s.count = 0
	} else {
		s.count++
	}
	return 0
}
