package t4

import (
	"errors"
	"math/rand/v2"
	"testing"
)

// Synthetic test pages. They exercise long and short runs of both colours,
// changes near every alignment, and rows that repeat (2-D coding) or not.

type pageKind string

const (
	pageText     pageKind = "text"
	pageGrid     pageKind = "grid"
	pageNoise    pageKind = "noise"
	pageBlank    pageKind = "blank"
	pageBlack    pageKind = "black"
	pageHalftone pageKind = "halftone"
)

var pageKinds = []pageKind{pageText, pageGrid, pageNoise, pageBlank, pageBlack, pageHalftone}

func genPage(kind pageKind, width, height int, seed uint64) *Bitmap {
	b := NewBitmap(width, height)
	rng := rand.New(rand.NewPCG(seed, uint64(width)))
	set := func(x, y int) {
		if x >= 0 && x < width && y >= 0 && y < height {
			b.Pix[y*b.Stride+x>>3] |= 0x80 >> uint(x&7)
		}
	}
	switch kind {
	case pageBlank:
	case pageBlack:
		for y := range height {
			for x := range width {
				set(x, y)
			}
		}
	case pageGrid:
		for y := range height {
			for x := range width {
				if (x/2+y/2)%2 == 0 || x%7 == 0 || y%5 == 0 {
					set(x, y)
				}
			}
		}
	case pageNoise:
		for i := range b.Pix {
			b.Pix[i] = byte(rng.Uint32())
		}
		if r := width & 7; r != 0 {
			for y := range height {
				b.Pix[y*b.Stride+b.Stride-1] &= 0xff << (8 - r)
			}
		}
	case pageHalftone:
		for y := range height {
			for x := range width {
				level := (x * 17 / max(width, 1)) % 16
				if bayer4[y&3][x&3] < level {
					set(x, y)
				}
			}
		}
	case pageText:
		// Lines of "glyphs": small random blobs on a baseline grid, with
		// margins, ruled lines and some long black bars.
		for line := 8; line+14 < height; line += 20 {
			x := rng.IntN(16)
			for x < width-8 {
				gw := 4 + rng.IntN(8)
				for gy := range 12 {
					for gx := range gw {
						if rng.IntN(3) == 0 {
							set(x+gx, line+gy)
						}
					}
				}
				x += gw + 1 + rng.IntN(5)
				if rng.IntN(12) == 0 {
					x += 10 + rng.IntN(30)
				}
			}
		}
		for y := 3; y < height; y += 37 {
			for x := width / 10; x < width-width/10; x++ {
				set(x, y)
			}
		}
		if height > 2 {
			y := height - 2
			for x := range width {
				set(x, y)
			}
		}
	}
	return b
}

var bayer4 = [4][4]int{{0, 8, 2, 10}, {12, 4, 14, 6}, {3, 11, 1, 9}, {15, 7, 13, 5}}

func requireSamePixels(t testing.TB, want, got *Bitmap) {
	t.Helper()
	if got.Width != want.Width || got.Height != want.Height {
		t.Fatalf("size %dx%d, want %dx%d", got.Width, got.Height, want.Width, want.Height)
	}
	for y := range want.Height {
		w, g := want.Row(y), got.Row(y)
		for i := range w {
			if w[i] != g[i] {
				t.Fatalf("row %d differs at byte %d: got %08b want %08b", y, i, g[i], w[i])
			}
		}
	}
}

func asDecodeError(err error, de **DecodeError) bool {
	return errors.As(err, de)
}
