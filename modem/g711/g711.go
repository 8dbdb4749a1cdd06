package g711

//go:generate go run gen.go

// Law selects the companding law of a G.711 channel.
type Law uint8

const (
	ULaw Law = iota // µ-law (PCMU), North America and Japan
	ALaw            // A-law (PCMA), the rest of the world
)

// String returns "µ-law", "A-law" or the number of an unknown law.
func (l Law) String() string {
	switch l {
	case ULaw:
		return "µ-law"
	case ALaw:
		return "A-law"
	}
	return "Law(" + itoa(int(l)) + ")"
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [4]byte
	i := len(b)
	for n > 0 && i > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

// LinearToULaw encodes a 16-bit linear sample as µ-law. The two low bits
// are below µ-law's 14-bit resolution and are ignored. µ-law's quantiser
// is symmetric about its zero level, so a negative sample is quantised by
// its magnitude −x (−32768 overloads like −32767).
func LinearToULaw(x int16) uint8 {
	if x >= 0 {
		return ulawSegment[x>>2] ^ 0xFF
	}
	m := -int32(x) >> 2
	if m > 8191 {
		m = 8191
	}
	return ulawSegment[m] ^ 0x7F
}

// ULawToLinear decodes a µ-law code to a 16-bit linear sample.
func ULawToLinear(u uint8) int16 { return ulawToLinear[u] }

// LinearToALaw encodes a 16-bit linear sample as A-law. The three low bits
// are below A-law's 13-bit resolution and are ignored. A-law has a
// decision value at zero, so a negative 13-bit value v codes as the mirror
// interval of −v−1 (its ones' complement): −1 is the smallest negative.
func LinearToALaw(x int16) uint8 {
	if x >= 0 {
		return (0x80 | alawSegment[x>>3]) ^ 0x55
	}
	return alawSegment[(^x)>>3] ^ 0x55
}

// ALawToLinear decodes an A-law code to a 16-bit linear sample.
func ALawToLinear(a uint8) int16 { return alawToLinear[a] }

// ULawToALaw transcodes a µ-law code to A-law through the linear value.
func ULawToALaw(u uint8) uint8 { return LinearToALaw(ulawToLinear[u]) }

// ALawToULaw transcodes an A-law code to µ-law through the linear value.
func ALawToULaw(a uint8) uint8 { return LinearToULaw(alawToLinear[a]) }

// Encode encodes min(len(dst), len(src)) samples of src into dst with law
// and returns the number encoded.
func Encode(law Law, dst []byte, src []int16) int {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	if law == ALaw {
		for i, x := range src {
			dst[i] = LinearToALaw(x)
		}
		return n
	}
	for i, x := range src {
		dst[i] = LinearToULaw(x)
	}
	return n
}

// Decode decodes min(len(dst), len(src)) codes of src into dst with law and
// returns the number decoded.
func Decode(law Law, dst []int16, src []byte) int {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	t := &ulawToLinear
	if law == ALaw {
		t = &alawToLinear
	}
	for i, c := range src {
		dst[i] = t[c]
	}
	return n
}

// Channel passes samples through an encoder and a decoder in place: what a
// G.711 telephone channel does to a signal, quantisation noise included.
func Channel(law Law, samples []int16) {
	if law == ALaw {
		for i, x := range samples {
			samples[i] = alawToLinear[LinearToALaw(x)]
		}
		return
	}
	for i, x := range samples {
		samples[i] = ulawToLinear[LinearToULaw(x)]
	}
}
