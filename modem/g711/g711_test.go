package g711

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit/modem/internal/fskref"
)

// Rows of ITU-T G.711 Table 2a (µ-law) and Table 1a (A-law): the
// transmitted character and the decoder output value, in the table's own
// units (14-bit for µ-law, 13-bit for A-law; scaled here to 16 bits).
func TestITUTableRows(t *testing.T) {
	ulaw := []struct {
		code  uint8
		value int
	}{
		{0xFF, 0}, {0xFE, 2}, {0xF0, 30}, {0xEF, 33}, {0xDF, 99}, {0xCF, 231},
		{0xBF, 495}, {0xAF, 1023}, {0x9F, 2079}, {0x8F, 4191}, {0x80, 8031},
		{0x7F, 0}, {0x00, -8031}, {0x70, -30}, {0x6F, -33},
	}
	for _, r := range ulaw {
		assert.Equal(t, int16(r.value*4), ULawToLinear(r.code), "µ-law %#02x", r.code)
	}
	alaw := []struct {
		code  uint8
		value int
	}{
		{0xD5, 1}, {0xD4, 3}, {0xDA, 31}, {0xC5, 33}, {0xF5, 66}, {0xE5, 132},
		{0x95, 264}, {0x85, 528}, {0xB5, 1056}, {0xA5, 2112}, {0xAA, 4032},
		{0x55, -1}, {0x2A, -4032},
	}
	for _, r := range alaw {
		assert.Equal(t, int16(r.value*8), ALawToLinear(r.code), "A-law %#02x", r.code)
	}
	// Decision values: the first input of each µ-law segment (14-bit 31,
	// 95, ... from Table 2a) codes into that segment's first interval.
	for s, d := range []int{31, 95, 223, 479, 991, 2015, 4063} {
		assert.Equal(t, uint8(0xEF-16*s), LinearToULaw(int16(d*4)), "µ-law decision %d", d)
		assert.Equal(t, uint8(0xF0-16*s), LinearToULaw(int16(d*4-1)), "µ-law below decision %d", d)
	}
	for s, d := range []int{32, 64, 128, 256, 512, 1024, 2048} {
		assert.Equal(t, uint8((0x80|(s+1)<<4)^0x55), LinearToALaw(int16(d*8)), "A-law decision %d", d)
	}
}

func TestRoundTrip(t *testing.T) {
	for c := range 256 {
		assert.Equal(t, uint8(c), LinearToALaw(ALawToLinear(uint8(c))), "A-law %#02x", c)
		u := uint8(c)
		if u == 0x7F { // negative zero decodes to 0, which codes as +0
			continue
		}
		assert.Equal(t, u, LinearToULaw(ULawToLinear(u)), "µ-law %#02x", c)
	}
	// Encoding is monotonic.
	prevU, prevA := ULawToLinear(LinearToULaw(-32768)), ALawToLinear(LinearToALaw(-32768))
	for x := -32768; x < 32768; x++ {
		u, a := ULawToLinear(LinearToULaw(int16(x))), ALawToLinear(LinearToALaw(int16(x)))
		if u < prevU || a < prevA {
			t.Fatalf("not monotonic at %d: µ-law %d after %d, A-law %d after %d", x, u, prevU, a, prevA)
		}
		prevU, prevA = u, a
	}
}

// TestSpandsp compares every encoding and decoding with libspandsp's.
func TestSpandsp(t *testing.T) {
	out := fskref.Run(t, nil, "g711")
	require.Len(t, out, 2*65536+2*512)
	for i := range 65536 {
		x := int16(uint16(i))
		if out[i] != LinearToULaw(x) {
			t.Fatalf("µ-law encode %d: spandsp %#02x, faxkit %#02x", x, out[i], LinearToULaw(x))
		}
		if out[65536+i] != LinearToALaw(x) {
			t.Fatalf("A-law encode %d: spandsp %#02x, faxkit %#02x", x, out[65536+i], LinearToALaw(x))
		}
	}
	dec := out[2*65536:]
	for c := range 256 {
		u := int16(binary.NativeEndian.Uint16(dec[2*c:]))
		a := int16(binary.NativeEndian.Uint16(dec[512+2*c:]))
		assert.Equal(t, u, ULawToLinear(uint8(c)), "µ-law decode %#02x", c)
		assert.Equal(t, a, ALawToLinear(uint8(c)), "A-law decode %#02x", c)
	}
}

func TestBlocks(t *testing.T) {
	src := []int16{0, 1000, -1000, 32767, -32768}
	var u, a [5]byte
	require.Equal(t, 5, Encode(ULaw, u[:], src))
	require.Equal(t, 5, Encode(ALaw, a[:], src))
	var du, da [5]int16
	Decode(ULaw, du[:], u[:])
	Decode(ALaw, da[:], a[:])
	ch := append([]int16(nil), src...)
	Channel(ULaw, ch)
	assert.Equal(t, du[:], ch)
	ch = append([]int16(nil), src...)
	Channel(ALaw, ch)
	assert.Equal(t, da[:], ch)
	assert.Equal(t, uint8(0x80), ALawToULaw(0xAA), "A-law max transcodes to µ-law max")
	assert.Equal(t, LinearToALaw(ULawToLinear(0x80)), ULawToALaw(0x80))
	assert.Equal(t, "µ-law", ULaw.String())
	assert.Equal(t, "Law(7)", Law(7).String())
}

func BenchmarkEncodeULaw(b *testing.B) {
	src := make([]int16, 160)
	for i := range src {
		src[i] = int16(i * 397)
	}
	var dst [160]byte
	b.SetBytes(320)
	b.ReportAllocs()
	for b.Loop() {
		Encode(ULaw, dst[:], src)
	}
}

func BenchmarkDecodeALaw(b *testing.B) {
	var src [160]byte
	for i := range src {
		src[i] = byte(i)
	}
	dst := make([]int16, 160)
	b.SetBytes(160)
	b.ReportAllocs()
	for b.Loop() {
		Decode(ALaw, dst, src[:])
	}
}
