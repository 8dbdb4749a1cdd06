package hdlc

import "errors"

// Flag is the HDLC flag octet, 01111110.
const Flag = 0x7E

// MaxFrame is the default longest frame, FCS excluded: T.30's largest
// frame (an ECM frame of 256 octets of facsimile data behind its address,
// control, FCF and frame number) with room to spare.
const MaxFrame = 300

var (
	// ErrTooLong is returned for a frame longer than the encoder takes.
	ErrTooLong = errors.New("hdlc: frame too long")
	// ErrQueueFull is returned when the encoder's queue has no room.
	ErrQueueFull = errors.New("hdlc: encoder queue full")
)

// crcTable is the byte-wise table of the reflected V.41 CRC (polynomial
// 0x1021 reflected to 0x8408), computed at init.
var crcTable [256]uint16

func init() {
	for i := range crcTable {
		c := uint16(i)
		for range 8 {
			if c&1 != 0 {
				c = c>>1 ^ 0x8408
			} else {
				c >>= 1
			}
		}
		crcTable[i] = c
	}
}

// goodFCS is the CRC register after a frame and its correct FCS have
// passed through it (the "magic" residue of the complemented CRC).
const goodFCS = 0xF0B8

func crcUpdate(crc uint16, b byte) uint16 { return crc>>8 ^ crcTable[byte(crc)^b] }

// FCS returns the frame check sequence of a frame as the 16-bit value
// whose low octet is sent first.
func FCS(frame []byte) uint16 {
	crc := uint16(0xFFFF)
	for _, b := range frame {
		crc = crcUpdate(crc, b)
	}
	return ^crc
}

// AppendFCS appends frame's FCS in line order.
func AppendFCS(frame []byte) []byte {
	f := FCS(frame)
	return append(frame, byte(f), byte(f>>8))
}

// CheckFCS reports whether a frame that ends with its two FCS octets is
// intact.
func CheckFCS(frameWithFCS []byte) bool {
	crc := uint16(0xFFFF)
	for _, b := range frameWithFCS {
		crc = crcUpdate(crc, b)
	}
	return crc == goodFCS
}
