//go:build ignore

// gen.go turns the code tables of ITU-T T.4 (Tables 1, 2, 3 and 4; T.6
// Tables 1 and 2 are the same codes) into the lookup tables in
// tables_gen.go. Run it with "go generate" in this directory.
//
// Decode tables are indexed by the next 12 (white), 13 (black) or 7 (mode)
// bits of the stream, MSB first; every index whose prefix is a code holds
// that code's value and length, so one load decodes one code.
package main

import (
	"bytes"
	"fmt"
	"go/format"
	"log"
	"os"
	"strconv"
	"strings"
)

// T.4 Table 2 and Table 3 (terminating and make-up codes), white runs.
const whiteCodes = `
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

// T.4 Table 2 and Table 3, black runs.
const blackCodes = `
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

// T.4 Table 3 (continued): extended make-up codes, the same for both colours.
const extCodes = `
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

// T.4 Table 4 (two-dimensional mode codes). The uncompressed-mode extension
// 0000001xxx is decoded as modeExt, which the decoder rejects.
const modeCodes = `
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

const eol = "000000000001"

type code struct {
	val  int
	bits string
}

func parse(s string) []code {
	var cs []code
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		f := strings.Fields(line)
		v, err := strconv.Atoi(f[0])
		if err != nil || len(f) != 2 {
			log.Fatalf("bad line %q", line)
		}
		cs = append(cs, code{v, f[1]})
	}
	return cs
}

func code2int(s string) int {
	v, err := strconv.ParseUint(s, 2, 32)
	if err != nil {
		log.Fatal(err)
	}
	return int(v)
}

// fill sets every index of a table of 2^bits entries whose top bits are the
// code to val, and fails on an overlap (codes that are not prefix-free).
func fill(tab []int, bits int, c string, val int) {
	n := len(c)
	base := code2int(c) << (bits - n)
	for i := 0; i < 1<<(bits-n); i++ {
		if tab[base+i] != 0 {
			log.Fatalf("code %s overlaps another code", c)
		}
		tab[base+i] = val
	}
}

func runTable(cs []code, bits int) []int {
	tab := make([]int, 1<<bits)
	for _, c := range cs {
		fill(tab, bits, c.bits, c.val<<4|len(c.bits))
	}
	fill(tab, bits, eol, 0xfff<<4)
	return tab
}

func main() {
	white := append(parse(whiteCodes), parse(extCodes)...)
	black := append(parse(blackCodes), parse(extCodes)...)
	modes := parse(modeCodes)

	var buf bytes.Buffer
	fmt.Fprintf(&buf, "// Code generated by \"go run gen.go\". DO NOT EDIT.\n\n")
	fmt.Fprintf(&buf, "package t4\n\n")

	writeDec := func(name, doc string, tab []int, typ string) {
		fmt.Fprintf(&buf, "%s\nvar %s = [%d]%s{", doc, name, len(tab), typ)
		for i, v := range tab {
			if i%16 == 0 {
				fmt.Fprintf(&buf, "\n")
			}
			fmt.Fprintf(&buf, "%#x, ", v)
		}
		fmt.Fprintf(&buf, "\n}\n\n")
	}
	writeDec("whiteDecode", "// whiteDecode maps the next 12 bits to run<<4 | code length for a white\n// run (T.4 Tables 2 and 3); 0 is no code, decEOL is an EOL.", runTable(white, 12), "uint16")
	writeDec("blackDecode", "// blackDecode maps the next 13 bits to run<<4 | code length for a black\n// run (T.4 Tables 2 and 3); 0 is no code, decEOL is an EOL.", runTable(black, 13), "uint16")
	mt := make([]int, 128)
	for _, c := range modes {
		fill(mt, 7, c.bits, c.val<<4|len(c.bits))
	}
	writeDec("modeDecode", "// modeDecode maps the next 7 bits to mode<<4 | code length (T.4 Table 4);\n// 0 means seven zero bits: an EOL or no code.", mt, "uint8")

	writeEnc := func(name, doc string, cs []code) {
		fmt.Fprintf(&buf, "%s\nvar %s = [%d]enc{\n", doc, name, len(cs))
		for _, c := range cs {
			fmt.Fprintf(&buf, "{%#x, %d}, // %d %s\n", code2int(c.bits), len(c.bits), c.val, c.bits)
		}
		fmt.Fprintf(&buf, "}\n\n")
	}
	writeEnc("whiteTerm", "// whiteTerm holds the white terminating codes 0..63 (T.4 Table 2).", white[:64])
	writeEnc("whiteMakeup", "// whiteMakeup holds the white make-up codes 64..2560 (T.4 Table 3).", white[64:])
	writeEnc("blackTerm", "// blackTerm holds the black terminating codes 0..63 (T.4 Table 2).", black[:64])
	writeEnc("blackMakeup", "// blackMakeup holds the black make-up codes 64..2560 (T.4 Table 3).", black[64:])

	out, err := format.Source(buf.Bytes())
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile("tables_gen.go", out, 0o644); err != nil {
		log.Fatal(err)
	}
}
