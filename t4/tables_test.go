package t4

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// The code words of ITU-T T.4 Tables 2, 3 and 4 (identical in T.6), typed
// in again here, independently of gen.go, so that a mistake in either copy
// or in the generator shows up. (Both copies were also checked against
// golang.org/x/image/ccitt's gen.go.)
const specWhite = `
0 00110101
1 000111
2 0111
3 1000
4 1011
5 1100
6 1110
7 1111
8 10011
9 10100
10 00111
11 01000
12 001000
13 000011
14 110100
15 110101
16 101010
17 101011
18 0100111
19 0001100
20 0001000
21 0010111
22 0000011
23 0000100
24 0101000
25 0101011
26 0010011
27 0100100
28 0011000
29 00000010
30 00000011
31 00011010
32 00011011
33 00010010
34 00010011
35 00010100
36 00010101
37 00010110
38 00010111
39 00101000
40 00101001
41 00101010
42 00101011
43 00101100
44 00101101
45 00000100
46 00000101
47 00001010
48 00001011
49 01010010
50 01010011
51 01010100
52 01010101
53 00100100
54 00100101
55 01011000
56 01011001
57 01011010
58 01011011
59 01001010
60 01001011
61 00110010
62 00110011
63 00110100
64 11011
128 10010
192 010111
256 0110111
320 00110110
384 00110111
448 01100100
512 01100101
576 01101000
640 01100111
704 011001100
768 011001101
832 011010010
896 011010011
960 011010100
1024 011010101
1088 011010110
1152 011010111
1216 011011000
1280 011011001
1344 011011010
1408 011011011
1472 010011000
1536 010011001
1600 010011010
1664 011000
1728 010011011
`

const specBlack = `
0 0000110111
1 010
2 11
3 10
4 011
5 0011
6 0010
7 00011
8 000101
9 000100
10 0000100
11 0000101
12 0000111
13 00000100
14 00000111
15 000011000
16 0000010111
17 0000011000
18 0000001000
19 00001100111
20 00001101000
21 00001101100
22 00000110111
23 00000101000
24 00000010111
25 00000011000
26 000011001010
27 000011001011
28 000011001100
29 000011001101
30 000001101000
31 000001101001
32 000001101010
33 000001101011
34 000011010010
35 000011010011
36 000011010100
37 000011010101
38 000011010110
39 000011010111
40 000001101100
41 000001101101
42 000011011010
43 000011011011
44 000001010100
45 000001010101
46 000001010110
47 000001010111
48 000001100100
49 000001100101
50 000001010010
51 000001010011
52 000000100100
53 000000110111
54 000000111000
55 000000100111
56 000000101000
57 000001011000
58 000001011001
59 000000101011
60 000000101100
61 000001011010
62 000001100110
63 000001100111
64 0000001111
128 000011001000
192 000011001001
256 000001011011
320 000000110011
384 000000110100
448 000000110101
512 0000001101100
576 0000001101101
640 0000001001010
704 0000001001011
768 0000001001100
832 0000001001101
896 0000001110010
960 0000001110011
1024 0000001110100
1088 0000001110101
1152 0000001110110
1216 0000001110111
1280 0000001010010
1344 0000001010011
1408 0000001010100
1472 0000001010101
1536 0000001011010
1600 0000001011011
1664 0000001100100
1728 0000001100101
`

const specExt = `
1792 00000001000
1856 00000001100
1920 00000001101
1984 000000010010
2048 000000010011
2112 000000010100
2176 000000010101
2240 000000010110
2304 000000010111
2368 000000011100
2432 000000011101
2496 000000011110
2560 000000011111
`

const specModes = `
1 0001
2 001
3 1
4 011
5 000011
6 0000011
7 010
8 000010
9 0000010
10 0000001
`

type specCode struct {
	val  int
	bits string
}

func parseSpec(t *testing.T, s string) []specCode {
	var cs []specCode
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		f := strings.Fields(line)
		v, err := strconv.Atoi(f[0])
		if err != nil || len(f) != 2 {
			t.Fatalf("bad spec line %q", line)
		}
		cs = append(cs, specCode{v, f[1]})
	}
	return cs
}

func codeValue(t *testing.T, s string) uint64 {
	v, err := strconv.ParseUint(s, 2, 32)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestTablesMatchSpec(t *testing.T) {
	ext := parseSpec(t, specExt)
	for _, c := range []struct {
		name   string
		codes  []specCode
		dec    []uint16
		bits   int
		term   *[64]enc
		makeup *[40]enc
		run    *[maxCombinedRun + 1]uint32
	}{
		{"white", append(parseSpec(t, specWhite), ext...), whiteDecode[:], 12, &whiteTerm, &whiteMakeup, whiteRun},
		{"black", append(parseSpec(t, specBlack), ext...), blackDecode[:], 13, &blackTerm, &blackMakeup, blackRun},
	} {
		if len(c.codes) != 64+27+13 {
			t.Fatalf("%s: %d codes in the spec copy", c.name, len(c.codes))
		}
		covered := 0
		for _, sc := range c.codes {
			n := len(sc.bits)
			v := codeValue(t, sc.bits)
			// Every index starting with the code decodes to it.
			for i := range 1 << (c.bits - n) {
				e := c.dec[int(v)<<(c.bits-n)|i]
				if int(e>>4) != sc.val || int(e&15) != n {
					t.Fatalf("%s code %s: table entry run %d len %d, want %d %d", c.name, sc.bits, e>>4, e&15, sc.val, n)
				}
				covered++
			}
			// The encoder's code words.
			var got enc
			if sc.val < 64 {
				got = c.term[sc.val]
			} else {
				got = c.makeup[sc.val/64-1]
			}
			if uint64(got.bits) != v || int(got.n) != n {
				t.Fatalf("%s run %d: encoder code %0*b, want %s", c.name, sc.val, got.n, got.bits, sc.bits)
			}
		}
		// The EOL, and nothing else.
		eolIdx := 1 << (c.bits - 12)
		for i := range eolIdx {
			if c.dec[eolIdx+i] != decEOL {
				t.Fatalf("%s: EOL entry %#x", c.name, c.dec[eolIdx+i])
			}
		}
		covered += eolIdx
		zero := 0
		for _, e := range c.dec {
			if e == 0 {
				zero++
			}
		}
		if covered+zero != len(c.dec) {
			t.Fatalf("%s: %d entries covered by codes, %d invalid, of %d", c.name, covered, zero, len(c.dec))
		}
		// The combined run codes decode back to their run.
		for r, e := range c.run {
			code, n := uint64(e>>5), int(e&31)
			left := uint64(code) << (64 - n)
			total := 0
			for {
				ent := c.dec[left>>(64-c.bits)]
				l := int(ent & 15)
				if l == 0 || l > n {
					t.Fatalf("%s run %d: combined code %0*b does not decode", c.name, r, n, code)
				}
				left <<= l
				n -= l
				total += int(ent >> 4)
				if ent>>4 < 64 {
					break
				}
			}
			if total != r || n != 0 {
				t.Fatalf("%s run %d: combined code decodes to %d with %d bits left", c.name, r, total, n)
			}
		}
	}
	for _, sc := range parseSpec(t, specModes) {
		n := len(sc.bits)
		v := codeValue(t, sc.bits)
		for i := range 1 << (7 - n) {
			e := modeDecode[int(v)<<(7-n)|i]
			if int(e>>4) != sc.val || int(e&15) != n {
				t.Fatalf("mode code %s: entry %#x", sc.bits, e)
			}
		}
		if sc.val >= modeV0 && sc.val <= modeVL3 {
			c := vertCode[vertDelta[sc.val]+3]
			if uint64(c.bits) != v || int(c.n) != n {
				t.Fatalf("vertical mode %d: encoder code %0*b, want %s", sc.val, c.n, c.bits, sc.bits)
			}
		}
	}
	if modeDecode[0] != 0 {
		t.Fatal("seven zeros must not decode to a mode")
	}
}

func TestReverseBits(t *testing.T) {
	for i := range 256 {
		b := byte(i)
		var r byte
		for k := range 8 {
			r |= (b >> k & 1) << (7 - k)
		}
		if reverseBits[b] != r {
			t.Fatalf("reverseBits[%#x] = %#x, want %#x", b, reverseBits[b], r)
		}
	}
}

// TestVertPairs checks vertPairs against the spec's mode codes (T.4 Table
// 4): every pair of vertical codes that fits in pairBits bits is found at
// every index it starts, with its lengths and deltas, and no other index
// holds an entry.
func TestVertPairs(t *testing.T) {
	modes := parseSpec(t, specModes)
	found := 0
	for _, c1 := range modes {
		for _, c2 := range modes {
			if c1.val < modeV0 || c1.val > modeVL3 || c2.val < modeV0 || c2.val > modeVL3 {
				continue
			}
			n1, n2 := len(c1.bits), len(c2.bits)
			if n1+n2 > pairBits {
				continue
			}
			v := codeValue(t, c1.bits+c2.bits)
			want := uint32(n1+n2) | uint32(n1)<<8 |
				uint32(uint8(int8(vertDelta[c1.val])))<<16 | uint32(uint8(int8(vertDelta[c2.val])))<<24
			for i := range 1 << (pairBits - n1 - n2) {
				if e := vertPairs[int(v)<<(pairBits-n1-n2)|i]; e != want {
					t.Fatalf("codes %s %s: entry %#x, want %#x", c1.bits, c2.bits, e, want)
				}
				found++
			}
		}
	}
	total := 0
	for _, e := range vertPairs {
		if e != 0 {
			total++
		}
	}
	if total != found || found == 0 {
		t.Fatalf("%d entries, %d from pairs of vertical codes", total, found)
	}
}

// TestFixGroups holds every entry of fixGroups to the codes of T.4 Table
// 4, read from the spec's bit strings (not from modeOf): the run of V0 and
// VL1 codes at the start of the 12 bits (at most three, VL1s before V0s,
// and not the last vertical code there), then the vertical code after it,
// with their total length and each a1 - b1. An entry is 0 exactly where
// the bits do not start with a whole vertical code.
func TestFixGroups(t *testing.T) {
	delta := map[int]int8{3: 0, 4: 1, 5: 2, 6: 3, 7: -1, 8: -2, 9: -3} // spec value: a1 - b1
	modes := parseSpec(t, specModes)
	for key := range 1 << groupBits {
		bitsOf := fmt.Sprintf("%0*b", groupBits, key)
		var ds []int8
		var lens []int
		for used := 0; ; {
			found := false
			for _, c := range modes {
				if strings.HasPrefix(bitsOf[used:], c.bits) {
					if d, ok := delta[c.val]; ok {
						ds, lens = append(ds, d), append(lens, len(c.bits))
						used += len(c.bits)
						found = true
					}
					break
				}
			}
			if !found {
				break
			}
		}
		g := fixGroups[key]
		if len(ds) == 0 {
			if g != 0 {
				t.Fatalf("bits %s: entry %#x, want 0", bitsOf, g)
			}
			continue
		}
		m := 0
		for m < 3 && m < len(ds)-1 && (ds[m] == 0 || ds[m] == -1 && (m == 0 || ds[m-1] == -1)) {
			m++
		}
		want := uint64(m) << 8
		total := 0
		for c := range m + 1 {
			total += lens[c]
		}
		want |= uint64(total)
		for c := range m {
			want |= uint64(uint8(ds[c])) << (16 + 8*c)
		}
		want |= uint64(uint8(ds[m])) << 40
		if g != want {
			t.Fatalf("bits %s (codes %v): entry %#x, want %#x", bitsOf, ds, g, want)
		}
	}
}
