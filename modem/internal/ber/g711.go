package ber

// G.711 companding for the channel model (ITU-T G.711 §3/§4 with the usual
// segment encoding). modem/g711 is the library's codec; this copy keeps
// the harness independent of the code under test's neighbours.

// ULawEncode compresses a linear sample to µ-law.
func ULawEncode(s int16) byte {
	const bias, clip = 0x84, 32635
	v := int(s)
	sign := 0
	if v < 0 {
		v, sign = -v, 0x80
	}
	v = min(v, clip) + bias
	exp := 7
	for m := 0x4000; v&m == 0 && exp > 0; m >>= 1 {
		exp--
	}
	mant := (v >> (exp + 3)) & 0x0f
	return ^byte(sign | exp<<4 | mant)
}

// ULawDecode expands a µ-law code.
func ULawDecode(u byte) int16 {
	u = ^u
	exp := int(u>>4) & 7
	v := ((int(u&0x0f) << 3) + 0x84) << exp
	v -= 0x84
	if u&0x80 != 0 {
		return int16(-v)
	}
	return int16(v)
}

// ALawEncode compresses a linear sample to A-law.
func ALawEncode(s int16) byte {
	v := int(s) >> 3 // 13-bit
	mask := byte(0xd5)
	if v < 0 {
		v, mask = -v-1, 0x55
	}
	var out byte
	switch {
	case v < 32:
		out = byte(v >> 1)
	default:
		exp := 1
		for t := v >> 6; t > 0 && exp < 7; t >>= 1 {
			exp++
		}
		if v >= 4096 {
			out = 0x7f
			return out ^ mask
		}
		out = byte(exp<<4 | (v>>exp)&0x0f)
	}
	return out ^ mask
}

// ALawDecode expands an A-law code.
func ALawDecode(a byte) int16 {
	a ^= 0x55
	exp := int(a>>4) & 7
	mant := int(a & 0x0f)
	var v int
	if exp == 0 {
		v = mant<<4 + 8
	} else {
		v = (mant<<4 + 0x108) << (exp - 1)
	}
	if a&0x80 != 0 {
		return int16(v)
	}
	return int16(-v)
}
