package t4

import (
	"image"
	"image/draw"
	"strconv"

	xdraw "golang.org/x/image/draw"
)

// Dither selects how grey levels become black and white pixels.
type Dither uint8

const (
	// Threshold makes every pixel darker than ConvertOptions.Threshold
	// black. It keeps text and line art sharp and codes smallest.
	Threshold Dither = iota
	// FloydSteinberg diffuses the quantisation error to neighbouring
	// pixels (serpentine scan): the best rendering of photographs.
	FloydSteinberg
	// Ordered uses an 8x8 Bayer matrix: a regular halftone that codes
	// better than error diffusion and survives fax resolution well.
	Ordered
)

var ditherNames = [...]string{"threshold", "floyd-steinberg", "ordered"}

func (d Dither) String() string {
	if int(d) < len(ditherNames) {
		return ditherNames[d]
	}
	return "Dither(" + strconv.Itoa(int(d)) + ")"
}

// ConvertOptions control FromImage. The zero value converts at the source
// size with a mid-grey threshold.
type ConvertOptions struct {
	// Width and Height of the page in pixels. When both are zero the
	// source size is kept; when one is zero it follows from the other and
	// the source's aspect ratio, corrected by Aspect.
	Width, Height int
	// Aspect is the page's vertical resolution divided by its horizontal
	// resolution (98/204 for standard fax, 196/204 for fine, 1 for square
	// pixels). It is used only to derive a zero Width or Height; zero means 1.
	Aspect float64
	// Dither selects the rendering; the default is Threshold.
	Dither Dither
	// Threshold is the grey level (0-255) below which a pixel is black
	// with Threshold dithering; zero means 128.
	Threshold uint8
	// Scaler resamples when the size changes; nil means ScaleGray's own
	// area-average filter, which keeps thin strokes when shrinking.
	Scaler xdraw.Scaler
}

// FromImage renders any image as a bilevel page: scaled to the requested
// size, converted to grey and then to black and white. A *Bitmap source of
// the requested size is copied as it is.
func FromImage(src image.Image, opts *ConvertOptions) *Bitmap {
	var o ConvertOptions
	if opts != nil {
		o = *opts
	}
	sb := src.Bounds()
	w, h := o.Width, o.Height
	aspect := o.Aspect
	if aspect <= 0 {
		aspect = 1
	}
	switch {
	case w <= 0 && h <= 0:
		w, h = sb.Dx(), sb.Dy()
	case h <= 0 && sb.Dx() > 0:
		h = int(float64(sb.Dy())*float64(w)/float64(sb.Dx())*aspect + 0.5)
	case w <= 0 && sb.Dy() > 0:
		w = int(float64(sb.Dx())*float64(h)/float64(sb.Dy())/aspect + 0.5)
	}
	w, h = max(w, 0), max(h, 0)
	if bm, ok := src.(*Bitmap); ok && bm.Width == w && bm.Height == h {
		return bm.Clone()
	}

	if w == 0 || h == 0 || sb.Empty() {
		return NewBitmap(w, h)
	}
	return FromGray(ScaleGray(ToGray(src), w, h, o.Scaler), o.Dither, o.Threshold)
}

// FromGray converts a grey image to a page of the same size.
func FromGray(g *image.Gray, d Dither, threshold uint8) *Bitmap {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	b := NewBitmap(w, h)
	if threshold == 0 {
		threshold = 128
	}
	switch d {
	case FloydSteinberg:
		floydSteinberg(b, g)
	case Ordered:
		for y := 0; y < h; y++ {
			src := g.Pix[(y)*g.Stride : y*g.Stride+w]
			row := b.Row(y)
			m := &bayer8[y&7]
			for x, v := range src {
				if int(v) < int(m[x&7]) {
					row[x>>3] |= 0x80 >> uint(x&7)
				}
			}
		}
	default:
		for y := 0; y < h; y++ {
			src := g.Pix[y*g.Stride : y*g.Stride+w]
			row := b.Row(y)
			for x, v := range src {
				if v < threshold {
					row[x>>3] |= 0x80 >> uint(x&7)
				}
			}
		}
	}
	return b
}

// bayer8 holds the 8x8 Bayer matrix scaled to thresholds 2..254.
var bayer8 = func() (m [8][8]uint8) {
	idx := [8][8]int{
		{0, 32, 8, 40, 2, 34, 10, 42},
		{48, 16, 56, 24, 50, 18, 58, 26},
		{12, 44, 4, 36, 14, 46, 6, 38},
		{60, 28, 52, 20, 62, 30, 54, 22},
		{3, 35, 11, 43, 1, 33, 9, 41},
		{51, 19, 59, 27, 49, 17, 57, 25},
		{15, 47, 7, 39, 13, 45, 5, 37},
		{63, 31, 55, 23, 61, 29, 53, 21},
	}
	for y := range idx {
		for x, v := range idx[y] {
			m[y][x] = uint8(v*4 + 2)
		}
	}
	return m
}()

// floydSteinberg dithers g into b with serpentine Floyd-Steinberg error
// diffusion, carrying errors in two int32 rows (no allocation per pixel).
func floydSteinberg(b *Bitmap, g *image.Gray) {
	w, h := b.Width, b.Height
	cur := make([]int32, w+2)
	next := make([]int32, w+2)
	for y := 0; y < h; y++ {
		src := g.Pix[y*g.Stride : y*g.Stride+w]
		row := b.Row(y)
		clear(next)
		x0, x1, dx := 0, w, 1
		if y&1 == 1 {
			x0, x1, dx = w-1, -1, -1
		}
		for x := x0; x != x1; x += dx {
			v := int32(src[x])*16 + cur[x+1]
			var e int32
			if v < 128*16 {
				row[x>>3] |= 0x80 >> uint(x&7)
				e = v
			} else {
				e = v - 255*16
			}
			// 7/16 ahead, 3/16 behind-below, 5/16 below, 1/16 ahead-below.
			cur[x+1+dx] += e * 7 / 16
			next[x+1-dx] += e * 3 / 16
			next[x+1] += e * 5 / 16
			next[x+1+dx] += e / 16
		}
		cur, next = next, cur
	}
}

// ToGray returns img as an *image.Gray with its origin at (0, 0), with
// transparent pixels white (as on paper). The common decoded types (JPEG's
// YCbCr, PNG's RGBA, NRGBA, Gray and Paletted) take fast paths.
func ToGray(img image.Image) *image.Gray {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if g, ok := img.(*image.Gray); ok && b.Min == (image.Point{}) {
		return g
	}
	g := image.NewGray(image.Rect(0, 0, w, h))
	switch src := img.(type) {
	case *image.Gray:
		for y := 0; y < h; y++ {
			copy(g.Pix[y*g.Stride:y*g.Stride+w], src.Pix[src.PixOffset(b.Min.X, b.Min.Y+y):])
		}
	case *image.YCbCr: // JPEG: the luma plane is the grey image
		for y := 0; y < h; y++ {
			copy(g.Pix[y*g.Stride:y*g.Stride+w], src.Y[src.YOffset(b.Min.X, b.Min.Y+y):])
		}
	case *image.RGBA: // premultiplied: over white adds 255-A
		for y := 0; y < h; y++ {
			row := src.Pix[src.PixOffset(b.Min.X, b.Min.Y+y):]
			dst := g.Pix[y*g.Stride : y*g.Stride+w]
			for x := range dst {
				p := row[4*x : 4*x+4 : 4*x+4]
				l := (19595*uint32(p[0]) + 38470*uint32(p[1]) + 7471*uint32(p[2]) + 1<<15) >> 16
				dst[x] = uint8(min(255, l+255-uint32(p[3])))
			}
		}
	case *image.NRGBA:
		for y := 0; y < h; y++ {
			row := src.Pix[src.PixOffset(b.Min.X, b.Min.Y+y):]
			dst := g.Pix[y*g.Stride : y*g.Stride+w]
			for x := range dst {
				p := row[4*x : 4*x+4 : 4*x+4]
				l := (19595*uint32(p[0]) + 38470*uint32(p[1]) + 7471*uint32(p[2]) + 1<<15) >> 16
				a := uint32(p[3])
				dst[x] = uint8((l*a + 255*(255-a) + 127) / 255)
			}
		}
	default:
		draw.Draw(g, g.Rect, image.White, image.Point{}, draw.Src)
		draw.Draw(g, g.Rect, img, b.Min, draw.Over)
	}
	return g
}

// ScaleGray resamples g (origin at 0, 0) to w x h: with sc when set, else
// with a fixed-point area-average (shrinking) or linear (growing) filter
// that keeps thin strokes and is many times faster than x/image/draw's
// kernels. x/image/draw's fast paths write RGBA, so the scaled
// image goes through one and its red channel (equal to green and blue for
// a grey source) is kept.
func ScaleGray(g *image.Gray, w, h int, sc xdraw.Scaler) *image.Gray {
	if g.Rect.Dx() == w && g.Rect.Dy() == h {
		return g
	}
	if sc == nil {
		return resampleGray(g, w, h)
	}
	tmp := image.NewRGBA(image.Rect(0, 0, w, h))
	sc.Scale(tmp, tmp.Rect, g, g.Rect, xdraw.Src, nil)
	out := image.NewGray(tmp.Rect)
	for i := range out.Pix {
		out.Pix[i] = tmp.Pix[4*i]
	}
	return out
}
