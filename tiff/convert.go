package tiff

import (
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"strconv"

	"github.com/faxkit/faxkit/t4"
	xdraw "golang.org/x/image/draw"
)

// Paper is the paper size converted images are made for; t4.Paper is its
// home.
type Paper = t4.Paper

// The paper sizes (see t4.Paper).
const (
	A4         = t4.PaperA4
	Letter     = t4.PaperLetter
	Legal      = t4.PaperLegal
	B4         = t4.PaperB4
	Continuous = t4.PaperContinuous
	A3         = t4.PaperA3
)

// isFaxWidth reports whether w is a standard T.4 scan line width (A4, B4 or
// A3) at resolution r: such bilevel pages are faxed as they are.
func isFaxWidth(w int, r Resolution) bool {
	_, ok := t4.LineWidthOf(w, r)
	return ok
}

// Fit says how an image is fitted to fax pages.
type Fit uint8

const (
	// FitPage scales the image to fit one page, keeping its aspect
	// ratio: as wide as the page unless that would make it too long.
	FitPage Fit = iota
	// FitWidth scales the image to the page width and splits it over as
	// many pages as it needs (a long receipt or a continuous document).
	FitWidth
)

func (f Fit) String() string {
	switch f {
	case FitPage:
		return "fit page"
	case FitWidth:
		return "fit width"
	}
	return "Fit(" + strconv.Itoa(int(f)) + ")"
}

// ConvertConfig controls ToFax. The zero value makes fine-resolution A4
// pages 1728 pixels wide, thresholded at mid-grey, without rotation.
type ConvertConfig struct {
	// Resolution of the pages; default ResFine.
	Resolution Resolution
	// Width of the pages in pixels; default Paper.Pels(Resolution).
	Width int
	// Paper sets the page length; default A4.
	Paper Paper
	// Fit selects how the image is fitted; default FitPage. With
	// Continuous paper both give one page as long as the image.
	Fit Fit
	// Dither selects thresholding (the default: sharp text) or a halftone
	// (t4.FloydSteinberg or t4.Ordered: photographs).
	Dither t4.Dither
	// Threshold is the grey level below which a pixel is black when
	// thresholding; default 128.
	Threshold uint8
	// AutoRotate turns landscape images (wider than tall) a quarter turn
	// clockwise so that they fill a portrait page.
	AutoRotate bool
	// Scaler resamples the image. nil selects this package's resampler:
	// an area average when shrinking (thin strokes survive), linear
	// interpolation when growing, in fixed point; it is much faster and
	// lighter than x/image/draw's kernels (xdraw.CatmullRom takes about
	// 200 MB and seconds for an A4 scan at 300 dpi).
	Scaler xdraw.Scaler
}

func (c *ConvertConfig) withDefaults() (ConvertConfig, error) {
	var o ConvertConfig
	if c != nil {
		o = *c
	}
	if o.Resolution == ResUnknown {
		o.Resolution = ResFine
	}
	if !o.Resolution.Known() {
		return o, fmt.Errorf("tiff: unknown resolution %v", o.Resolution)
	}
	if !o.Paper.Known() {
		return o, fmt.Errorf("tiff: unknown paper %v", o.Paper)
	}
	if o.Width == 0 {
		o.Width = o.Paper.Pels(o.Resolution)
	}
	if o.Width < 0 || o.Width > t4.MaxWidth {
		return o, fmt.Errorf("tiff: page width %d out of range", o.Width)
	}
	return o, nil
}

// ErrEmptyImage is returned by ToFax for an image without pixels.
var ErrEmptyImage = errors.New("tiff: empty image")

// ToFax renders any image as fax pages: converted to grey, rotated if asked,
// scaled to the page width and resolution keeping its aspect ratio (source
// pixels are taken as square), centred, and made black and white by
// threshold or dither. It returns one page with FitPage or Continuous paper,
// and as many as the image needs with FitWidth.
func ToFax(img image.Image, cfg *ConvertConfig) ([]*t4.Bitmap, error) {
	return toFax(img, 1, cfg)
}

// toFax is ToFax for sources whose pixels are srcAspect times as tall as
// they are wide.
func toFax(img image.Image, srcAspect float64, cfg *ConvertConfig) ([]*t4.Bitmap, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if img.Bounds().Empty() {
		return nil, ErrEmptyImage
	}
	gray := t4.ToGray(img)
	if c.AutoRotate && gray.Rect.Dx() > gray.Rect.Dy() {
		gray = rotateCW(gray)
		srcAspect = 1 / srcAspect
	}
	sw, sh := float64(gray.Rect.Dx()), float64(gray.Rect.Dy())
	aspect := c.Resolution.Aspect() * srcAspect // output rows per output column of one source pixel
	pageH := c.Paper.Rows(c.Resolution)
	W := c.Width
	s := float64(W) / sw // output columns per source column
	if c.Fit == FitPage && pageH > 0 {
		s = math.Min(s, float64(pageH)/(sh*aspect))
	}
	tw := max(1, min(W, int(math.Round(sw*s))))
	th := max(1, int(math.Round(sh*s*aspect)))
	if pageH == 0 && th > defaultMaxHeight {
		return nil, fmt.Errorf("%w: continuous page of %d rows", ErrTooLarge, th)
	}
	bm := t4.FromGray(t4.ScaleGray(gray, tw, th, c.Scaler), c.Dither, c.Threshold)
	x0 := (W - tw) / 2
	if pageH == 0 {
		pageH = th
	}
	var pages []*t4.Bitmap
	for y0 := 0; y0 < th; y0 += pageH {
		p := t4.NewBitmap(W, pageH)
		for y := y0; y < min(y0+pageH, th); y++ {
			blitRow(p.Row(y-y0), x0, bm.Row(y), tw)
		}
		pages = append(pages, p)
	}
	return pages, nil
}

// rotateCW turns g a quarter turn clockwise.
func rotateCW(g *image.Gray) *image.Gray {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	r := image.NewGray(image.Rect(0, 0, h, w))
	for y := 0; y < h; y++ {
		src := g.Pix[y*g.Stride : y*g.Stride+w]
		nx := h - 1 - y
		for x, v := range src {
			r.Pix[x*r.Stride+nx] = v
		}
	}
	return r
}

// blitRow ORs the first n pixels of src (packed) into dst starting at pixel
// x0.
func blitRow(dst []byte, x0 int, src []byte, n int) {
	full := n / 8
	sh := uint(x0 & 7)
	di := x0 >> 3
	put := func(i int, v byte) {
		dst[di+i] |= v >> sh
		if sh != 0 && di+i+1 < len(dst) {
			dst[di+i+1] |= v << (8 - sh)
		}
	}
	for i := 0; i < full; i++ {
		put(i, src[i])
	}
	if r := n & 7; r != 0 {
		put(full, src[full]&(0xff<<uint(8-r)))
	}
}

// ConvertDocument writes every page of r to w as fax pages, and returns how
// many it wrote. Bilevel pages that already have a fax width for their fax
// resolution are copied pixel for pixel with that resolution; all other
// pages (other widths or resolutions, grey, colour) go through ToFax with
// cfg, their pixel aspect ratio taken from their resolution tags.
func ConvertDocument(w *Writer, r *Reader, cfg *ConvertConfig) (int, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return 0, err
	}
	n := 0
	for {
		p, err := r.Next()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		in := &p.Info
		res := in.Resolution()
		if in.Bilevel() && res != ResUnknown && isFaxWidth(in.Width, res) {
			b, err := p.Bitmap()
			if err != nil {
				return n, err
			}
			if err := w.WritePage(b, &PageOptions{Resolution: res}); err != nil {
				return n, err
			}
			n++
			continue
		}
		img, err := p.Image()
		if err != nil {
			return n, err
		}
		srcAspect := 1.0
		if x, y := in.DPI(); x > 0 && y > 0 { // with unit none too: an aspect ratio
			srcAspect = x / y
		}
		pages, err := toFax(img, srcAspect, &c)
		if err != nil {
			return n, err
		}
		for _, pg := range pages {
			if err := w.WritePage(pg, &PageOptions{Resolution: c.Resolution}); err != nil {
				return n, err
			}
			n++
		}
	}
}
