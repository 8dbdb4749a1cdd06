package t4

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestFillRow checks fillRow (both its sparse and its dense path) against
// the definition: pixel x is black when an odd number of changing elements
// are at most x. Rows of every width class (under a word, word multiples,
// a partial last word, a partial last octet), densities from one element to
// a change at every pixel, and a destination full of ones so that every
// octet must be written, pad bits white.
func TestFillRow(t *testing.T) {
	rng := rand.New(rand.NewPCG(16, 7))
	widths := []int{1, 7, 8, 9, 63, 64, 65, 127, 128, 129, 300, 1000, 1215, 1727, 1728, 1729, 2432, 3456, 4864}
	for range 20 {
		widths = append(widths, 1+rng.IntN(5000))
	}
	for _, width := range widths {
		for _, density := range []float64{0, 0.001, 0.02, 0.1, 0.5, 0.9, 1} {
			var ch []int32
			for x := range width {
				if rng.Float64() < density {
					ch = append(ch, int32(x))
				}
			}
			k := len(ch)
			list := endList(append(ch, make([]int32, listPad)...), k, int32(width))
			n := (width + 7) / 8
			want := make([]byte, n)
			black, e := false, 0
			for x := range width {
				for e < k && int(ch[e]) <= x {
					black = !black
					e++
				}
				if black {
					want[x/8] |= 0x80 >> (x % 8)
				}
			}
			got := bytes.Repeat([]byte{0xff}, n+8)
			fillRow(got, list, width)
			if !bytes.Equal(got[:n], want) {
				i := 0
				for got[i] == want[i] {
					i++
				}
				t.Fatalf("width %d, %d changing elements: octet %d is %08b, want %08b", width, k, i, got[i], want[i])
			}
			if !bytes.Equal(got[n:], bytes.Repeat([]byte{0xff}, 8)) {
				t.Fatalf("width %d, %d changing elements: wrote past the row", width, k)
			}
		}
	}
}
