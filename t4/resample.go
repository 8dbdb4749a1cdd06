package t4

import (
	"image"
	"math"
)

// resampleGray scales g to w x h with a separable filter in fixed point:
// an area average (box filter) when shrinking, which is what a bilevel
// page needs to keep thin strokes, and linear interpolation when growing.
// It is many times faster than x/image/draw's kernel scalers, whose float64
// RGBA intermediate image takes 32 bytes per pixel.
func resampleGray(g *image.Gray, w, h int) *image.Gray {
	sw, sh := g.Rect.Dx(), g.Rect.Dy()
	xt := weights(sw, w)
	yt := weights(sh, h)
	// Horizontal pass: sh rows of w columns, 16.16 fixed point kept as
	// uint16 grey scaled by 256.
	mid := make([]uint16, w*sh)
	for y := 0; y < sh; y++ {
		src := g.Pix[y*g.Stride:] // g's origin is (0, 0)
		dst := mid[y*w : (y+1)*w]
		for x := range dst {
			t := &xt[x]
			var acc uint32
			for i, wt := range t.w {
				acc += uint32(src[t.first+i]) * uint32(wt)
			}
			dst[x] = uint16((acc + 1<<7) >> 8) // grey * 256
		}
	}
	out := image.NewGray(image.Rect(0, 0, w, h))
	acc := make([]uint32, w)
	for y := 0; y < h; y++ {
		t := &yt[y]
		clear(acc)
		for i, wt := range t.w {
			row := mid[(t.first+i)*w : (t.first+i+1)*w]
			for x, v := range row {
				acc[x] += uint32(v) * uint32(wt)
			}
		}
		dst := out.Pix[y*out.Stride : y*out.Stride+w]
		for x, a := range acc {
			dst[x] = uint8(min(255, (a+1<<23)>>24)) // /256 /65536
		}
	}
	return out
}

// tap is one output sample's filter: weights (summing to 65536) for
// source samples first, first+1, ...
type tap struct {
	first int
	w     []uint16
}

func weights(src, dst int) []tap {
	taps := make([]tap, dst)
	scale := float64(src) / float64(dst) // source samples per output sample
	for i := range taps {
		var lo, hi float64
		var f func(x float64) float64 // weight of source sample centred at x
		center := (float64(i) + 0.5) * scale
		if scale > 1 { // shrink: box of width scale
			lo, hi = center-scale/2, center+scale/2
			f = func(x float64) float64 {
				return math.Max(0, math.Min(x+0.5, hi)-math.Max(x-0.5, lo))
			}
		} else { // grow: triangle of width 1
			lo, hi = center-1, center+1
			f = func(x float64) float64 { return math.Max(0, 1-math.Abs(x-center)) }
		}
		first := max(0, int(math.Floor(lo-0.5)))
		last := min(src-1, int(math.Ceil(hi+0.5)))
		ws := make([]float64, 0, last-first+1)
		var sum float64
		for s := first; s <= last; s++ {
			v := f(float64(s) + 0.5)
			ws = append(ws, v)
			sum += v
		}
		if sum == 0 { // cannot happen for sane sizes; fall back to nearest
			ws[min(len(ws)-1, int(center)-first)] = 1
			sum = 1
		}
		// Trim zero weights at both ends, then quantise so that the
		// weights sum to exactly 65536.
		for len(ws) > 1 && ws[0] == 0 {
			ws = ws[1:]
			first++
		}
		for len(ws) > 1 && ws[len(ws)-1] == 0 {
			ws = ws[:len(ws)-1]
		}
		q := make([]uint16, len(ws))
		total := 0
		big := 0
		for k, v := range ws {
			n := int(math.Round(v / sum * 65535))
			q[k] = uint16(n)
			total += n
			if ws[k] > ws[big] {
				big = k
			}
		}
		q[big] = uint16(int(q[big]) + 65535 - total)
		taps[i] = tap{first: first, w: q}
	}
	return taps
}
