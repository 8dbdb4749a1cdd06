package t4

import (
	"bytes"
	"testing"
)

// TestCodesMaxBound codes, for widths around the make-up and word
// boundaries, every ordered pair of rows drawn from patterns that make
// the most codes (one-pixel runs, passes over a busy reference, long runs
// needing make-up codes, horizontal runs against a shifted reference),
// and checks that no row needs more code words than codesMax allows and
// that the page decodes back.
func TestCodesMaxBound(t *testing.T) {
	patterns := []func(x, w int) bool{
		func(x, w int) bool { return false },
		func(x, w int) bool { return true },
		func(x, w int) bool { return x&1 == 1 },
		func(x, w int) bool { return x&1 == 0 },
		func(x, w int) bool { return x%8 == 4 },
		func(x, w int) bool { return x < w/2 && x&1 == 1 },
		func(x, w int) bool { return x >= w/2 && x&1 == 0 },
		func(x, w int) bool { return x == w-1 },
		func(x, w int) bool { return x > 0 && x < w-1 },
		func(x, w int) bool { return (x/5)&1 == 1 },
	}
	for _, w := range []int{1, 2, 7, 64, 65, 1728, 2623, 2624, 5121, 9000} {
		n := len(patterns)
		page := NewBitmap(w, n*n*2)
		y := 0
		for i := range n {
			for j := range n {
				for _, p := range []func(int, int) bool{patterns[i], patterns[j]} {
					for x := range w {
						page.SetBlack(x, y, p(x, w))
					}
					y++
				}
			}
		}
		// The bound itself, row pair by row pair.
		var ref, cur []int32
		tail := make([]byte, 8)
		codes := make([]uint32, 4*w+64)
		for y := range page.Height {
			cur = changes(tail, page.Row(y), w, make([]int32, w+8))
			if ref != nil {
				if k := len(modes2D(cur, ref, int32(w), codes)); k > codesMax(w) {
					t.Fatalf("width %d row %d: %d 2-D code words, codesMax %d", w, y, k, codesMax(w))
				}
			}
			ref = cur
		}
		for _, c := range []Compression{MR, MMR} {
			data, err := AppendPage(nil, page, &EncodeOptions{Compression: c, K: 2})
			if err != nil {
				t.Fatal(err)
			}
			got, st, err := DecodePage(bytes.NewReader(data), w, &DecodeOptions{Compression: c, Rows: page.Height})
			if err != nil || st.BadRows != 0 || !got.Equal(page) {
				t.Fatalf("width %d %v: round trip failed (%v, %+v)", w, c, err, st)
			}
		}
	}
}
