package t4

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"testing"

	"golang.org/x/image/ccitt"
)

// codeWriter packs codes MSB first into hand-built test streams.
type codeWriter struct {
	buf []byte
	acc uint64
	n   uint8 // bits in acc
}

func (w *codeWriter) put(c enc) {
	w.acc = w.acc<<c.n | uint64(c.bits)
	w.n += c.n
	for w.n >= 8 {
		w.n -= 8
		w.buf = append(w.buf, byte(w.acc>>w.n))
	}
}

func (w *codeWriter) bytes() []byte {
	if w.n > 0 {
		return append(w.buf, byte(w.acc<<(8-w.n)))
	}
	return w.buf
}

// randomMMR codes height rows of the given width as a random walk through
// the 2-D modes (T.4 4.2.1.3): at each a0 it picks, among the modes that
// are valid there, mostly a vertical mode, else a pass or a horizontal
// mode with short runs. Unlike an encoder it takes any valid mode, not the
// one the pixels call for: vertical modes up to the row's end and left of
// b1 near it, passes to the last changing element, runs of one pixel:
// the cases where a decoder's stepping through the reference row can go
// wrong. Every stream is valid: a decoder must decode every row.
func randomMMR(rng *rand.Rand, width, height int) []byte {
	var w codeWriter
	var ref, cur []int
	for range height {
		cur = cur[:0]
		a0, colour := -1, 0 // colour of a0: 0 white, 1 black
		for a0 < width {
			// b1: the first changing element of ref right of a0 of
			// the colour opposite to a0's (even indexes are changes
			// to black), b2 the next; width past the last.
			i := 0
			for i < len(ref) && (ref[i] <= a0 || i&1 != colour) {
				i++
			}
			b1, b2 := width, width
			if i < len(ref) {
				b1 = ref[i]
				if i+1 < len(ref) {
					b2 = ref[i+1]
				}
			}
			var vert []int // valid a1 - b1
			for d := -3; d <= 3; d++ {
				if a1 := b1 + d; a1 > a0 && a1 >= 0 && a1 <= width {
					vert = append(vert, d)
				}
			}
			start := max(a0, 0)
			switch p := rng.IntN(100); {
			case p < 75 && len(vert) > 0:
				d := vert[rng.IntN(len(vert))]
				if slices.Contains(vert, 0) && rng.IntN(2) == 0 {
					d = 0 // runs of V0: rows that repeat the one above
				}
				w.put(vertCode[d+3])
				a0 = b1 + d
				if a0 < width {
					cur = append(cur, a0)
				}
				colour ^= 1
			case p < 88 && b2 < width:
				w.put(enc{codePass, 4})
				a0 = b2
			case width-start >= 2:
				w.put(enc{codeHoriz, 3})
				r1 := 1 + rng.IntN(min(8, width-start-1))
				r2 := 1 + rng.IntN(min(8, width-start-r1))
				if a0 < 0 && rng.IntN(4) == 0 {
					r1 = 0 // the row starts black
				}
				runs := [2]enc{whiteTerm[r1], blackTerm[r2]}
				if colour == 1 {
					runs = [2]enc{blackTerm[r1], whiteTerm[r2]}
				}
				w.put(runs[0])
				w.put(runs[1])
				if a1 := start + r1; a1 < width {
					cur = append(cur, a1)
				}
				if a2 := start + r1 + r2; a2 < width {
					cur = append(cur, a2)
				}
				a0 = start + r1 + r2
			}
		}
		ref = append(ref[:0], cur...)
	}
	return w.bytes()
}

// TestDecode2DMatchesXImage decodes random valid 2-D code streams
// (randomMMR) with this package and with golang.org/x/image/ccitt, an
// independent decoder, at narrow widths where modes often meet the row's
// end: both must decode every row, to the same pixels.
// Each row is decoded as the decoder chooses, by code2DDense, and by
// code2D.
func TestDecode2DMatchesXImage(t *testing.T) {
	for _, as := range []rowKind{anyRows, denseRows, sparseRows} {
		t.Run(fmt.Sprint("rows", as), func(t *testing.T) {
			defer func() { rowsAs = anyRows }()
			rowsAs = as
			decode2DMatchesXImage(t)
		})
	}
}

func decode2DMatchesXImage(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 2026))
	for i := range 3000 {
		width := 1 + rng.IntN(40)
		if i%5 == 0 {
			width = 1 + rng.IntN(300) // long stretches of V0
		}
		height := 1 + rng.IntN(12)
		data := randomMMR(rng, width, height)
		r := ccitt.NewReader(bytes.NewReader(data), ccitt.MSB, ccitt.Group4, width, height, &ccitt.Options{Invert: true})
		want, err := io.ReadAll(r)
		if err != nil {
			t.Fatalf("case %d (width %d, height %d, data %x): x/image: %v", i, width, height, data, err)
		}
		got := NewBitmap(width, height)
		st, err := DecodeInto(got, data, &DecodeOptions{Compression: MMR, Rows: height})
		if err != nil || st.BadRows != 0 {
			t.Fatalf("case %d (width %d, height %d, data %x): %v, %d bad rows", i, width, height, data, err, st.BadRows)
		}
		stride := (width + 7) / 8
		for y := range height {
			w, g := want[y*stride:(y+1)*stride], got.Row(y)[:stride]
			if !bytes.Equal(w, g) {
				t.Fatalf("case %d (width %d, height %d, data %x): row %d: x/image %08b, ours %08b",
					i, width, height, data, y, w, g)
			}
		}
	}
}

// TestNextB1Steps holds the decoder's two ways of stepping b1 after a
// vertical mode (nextB1Branches, nextB1Arith) and the encoder's nextB1 to
// the definition, a search from the list's start, on random lists with
// runs of one pixel, for every b1 and every vertical mode that puts a1
// right of the element of b1's parity before b1 and left of the row's end.
func TestNextB1Steps(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 2026))
	for range 2000 {
		width := 1 + rng.IntN(48)
		ref := []int32{-1, -1}
		for x := range width {
			if rng.IntN(3) > 0 {
				ref = append(ref, int32(x))
			}
		}
		n := len(ref) - 2
		w := int32(width)
		ref = append(ref, w, w, w, w)
		for j := 2; j <= n+3; j++ {
			for d := int32(-3); d <= 3; d++ {
				a1 := ref[j] + d
				if a1 < 0 || a1 >= w || a1 <= ref[j-2] {
					continue
				}
				want := (j + 1) & 1
				for ref[want] <= a1 {
					want += 2
				}
				odd := 0
				br := nextB1Branches(ref, j, a1, &odd)
				ar := nextB1Arith(ref, j, a1)
				enc := nextB1(ref[2:], j-2, a1) + 2
				if br != want || ar != want || enc != want {
					t.Fatalf("list %v, b1 at %d, a1 %d: want %d, nextB1Branches %d, nextB1Arith %d, nextB1 %d",
						ref, j, a1, want, br, ar, enc)
				}
				if wantOdd := b2i(want != j+1); odd != wantOdd {
					t.Fatalf("list %v, b1 at %d, a1 %d: step to %d counted %d times, want %d", ref, j, a1, want, odd, wantOdd)
				}
			}
		}
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestDenseRowsMatchSparse decodes random 2-D streams, valid (randomMMR,
// and pages coded by the encoder) and damaged (bits flipped, cut short),
// with every row decoded by code2DDense and again by code2D: the pixels,
// Stats and Err must be the same, so that the groups of code2DDense
// (fixGroups) take bad data exactly as the one-code path does.
func TestDenseRowsMatchSparse(t *testing.T) {
	defer func() { rowsAs = anyRows }()
	rng := rand.New(rand.NewPCG(18, 2026))
	decode := func(as rowKind, data []byte, width, height int, opt DecodeOptions) (*Bitmap, Stats, string) {
		rowsAs = as
		got := NewBitmap(width, height)
		st, err := DecodeInto(got, data, &opt)
		return got, st, fmt.Sprint(err)
	}
	for i := range 4000 {
		var data []byte
		width, height := 1+rng.IntN(60), 1+rng.IntN(16)
		comp := MMR
		switch i % 4 {
		case 0, 1:
			data = randomMMR(rng, width, height)
		default:
			width, height = 64+rng.IntN(400), 4+rng.IntN(12)
			page := genPage(pageKinds[rng.IntN(len(pageKinds))], width, height, rng.Uint64())
			if i%8 == 3 {
				comp = MR
			}
			var err error
			if data, err = AppendPage(nil, page, &EncodeOptions{Compression: comp}); err != nil {
				t.Fatal(err)
			}
		}
		if i%3 != 0 && len(data) > 0 {
			// Damage: flip one to four bits, sometimes cut the end.
			data = slices.Clone(data)
			for range 1 + rng.IntN(4) {
				data[rng.IntN(len(data))] ^= 1 << rng.IntN(8)
			}
			if rng.IntN(4) == 0 {
				data = data[:rng.IntN(len(data))]
			}
		}
		opt := DecodeOptions{Compression: comp}
		if rng.IntN(2) == 0 {
			opt.Rows = height
		}
		dp, ds, de := decode(denseRows, data, width, height, opt)
		sp, ss, se := decode(sparseRows, data, width, height, opt)
		if !bytes.Equal(dp.Pix, sp.Pix) || ds != ss || de != se {
			t.Fatalf("case %d (%v, width %d, height %d, data %x):\ndense:  %+v %s\nsparse: %+v %s",
				i, comp, width, height, data, ds, de, ss, se)
		}
	}
}
