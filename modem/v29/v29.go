package v29

import "errors"

// ErrRate is returned for a bit rate V.29 does not have.
var ErrRate = errors.New("v29: bit rate must be 4800, 7200 or 9600")

// EndOfData is returned by a GetBit function when there are no more bits;
// the transmitter then sends its closing ones and stops.
const EndOfData = -1

const (
	baud    = 2400
	carrier = 1700
	beta    = 0.25 // RRC roll-off
)

// Training segments of ITU-T V.29 §6 (Table 3), in symbols.
const (
	tepLen  = 480 // optional talker echo protection tone (unmodulated carrier)
	seg1Len = 48  // no transmitted energy
	seg2Len = 128 // alternations ABAB
	seg3Len = 384 // equaliser conditioning: C/D chosen by 1+x^-6+x^-7
	seg4Len = 48  // scrambled binary ones
	endLen  = 32  // ones after the data, so the last bits clear the far receiver
)

// points are the 16 signal elements of V.29 Figure 1 / Table 2, indexed by
// amplitude bit (×8) and absolute phase in 45° steps.
var points = [16]complex128{
	3, 1 + 1i, 3i, -1 + 1i, -3, -1 - 1i, -3i, 1 - 1i,
	5, 3 + 3i, 5i, -3 + 3i, -5, -3 - 3i, -5i, 3 - 3i,
}

// phaseStep maps Q2Q3Q4 (Q2 the most significant) to the phase change in
// 45° steps (V.29 Table 1).
var phaseStep = [8]int{1, 0, 2, 3, 6, 7, 5, 4}

// phaseBits is the inverse of phaseStep.
var phaseBits = func() (r [8]int) {
	for b, s := range phaseStep {
		r[s] = b
	}
	return
}()

// trainPoints are A, B, C, D of V.29 Table 3 for each rate.
func trainPoints(rate int) (a, b, c, d complex128) {
	switch rate {
	case 9600:
		return 3 - 3i, -3, 3, -3 + 3i
	case 7200:
		return 1 - 1i, -3, 3, -1 + 1i
	default:
		return -3i, -3, 3, 3i
	}
}

// symPower is the mean power of the data constellation.
func symPower(rate int) float64 {
	switch rate {
	case 9600:
		return (9 + 25 + 2 + 18) / 4.0
	case 7200:
		return (9 + 2) / 2.0
	default:
		return 9
	}
}

// trainPRBS steps the segment 3 generator 1+x^-6+x^-7 (initial state
// 0101010, V.29 §6.2.3) and returns the bit choosing C (0) or D (1).
func trainPRBS(reg *uint8) int {
	b := int(*reg & 1)
	*reg >>= 1
	*reg |= uint8((b^int(*reg&1))&1) << 6
	return b
}

const prbsInit = 0x2a

func validRate(r int) bool { return r == 4800 || r == 7200 || r == 9600 }
