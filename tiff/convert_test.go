package tiff

import (
	"bytes"
	"fmt"
	"image"
	"image/draw"
	"testing"

	"github.com/faxkit/faxkit/t4"
	"github.com/stretchr/testify/require"
)

// halves returns a w x h image whose left half is black.
func halves(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(10, 20, 10+w, 20+h)) // not at the origin on purpose
	draw.Draw(img, img.Rect, image.White, image.Point{}, draw.Src)
	draw.Draw(img, image.Rect(10, 20, 10+w/2, 20+h), image.Black, image.Point{}, draw.Src)
	return img
}

func blackIn(b *t4.Bitmap, r image.Rectangle) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			n += int(b.ColorIndexAt(x, y))
		}
	}
	return n
}

func TestPaperSizes(t *testing.T) {
	require.Equal(t, 2292, A4.Rows(ResFine))
	require.Equal(t, 1146, A4.Rows(ResStandard))
	require.Equal(t, 1078, Letter.Rows(ResStandard))
	require.Equal(t, 0, Continuous.Rows(ResFine))
	require.Equal(t, 1728, A4.Pels(ResSuperfine))
	require.Equal(t, 2048, B4.Pels(ResFine))
	require.Equal(t, 2592, A4.Pels(Res300))
	require.Equal(t, 3456, Letter.Pels(ResR16))
	require.Equal(t, 3456, A4.Pels(Res400))
	require.Equal(t, "B4", B4.String())
}

func TestToFaxFitsWidthKeepingAspect(t *testing.T) {
	pages, err := ToFax(halves(800, 600), &ConvertConfig{Resolution: ResStandard})
	require.NoError(t, err)
	require.Len(t, pages, 1)
	p := pages[0]
	require.Equal(t, 1728, p.Width)
	require.Equal(t, A4.Rows(ResStandard), p.Height)
	// 600 rows of square pixels at 1728/800 columns each are
	// 600*2.16*98/204 = 622.6 standard rows.
	h := 623
	require.Zero(t, blackIn(p, image.Rect(0, h+2, 1728, p.Height)), "below the image is white")
	require.Equal(t, 860*(h-4), blackIn(p, image.Rect(2, 2, 862, h-2)), "left half black")
	require.Zero(t, blackIn(p, image.Rect(868, 0, 1728, h)), "right half white")
}

func TestToFaxFitPageShrinksTallImages(t *testing.T) {
	pages, err := ToFax(halves(300, 3000), nil)
	require.NoError(t, err)
	require.Len(t, pages, 1)
	p := pages[0]
	require.Equal(t, 2292, p.Height)
	// Width: 300 * 2292/(3000*196/204) = 238.6 columns, centred.
	tw := 239
	x0 := (1728 - tw) / 2
	require.Zero(t, blackIn(p, image.Rect(0, 0, x0-1, p.Height)), "left margin white")
	require.Zero(t, blackIn(p, image.Rect(x0+tw/2+2, 0, 1728, p.Height)), "right of the black half white")
	require.Greater(t, blackIn(p, image.Rect(x0+1, 10, x0+tw/2-1, 2280)), (tw/2-2)*2260)
}

func TestToFaxFitWidthSplitsPages(t *testing.T) {
	pages, err := ToFax(halves(300, 1500), &ConvertConfig{Fit: FitWidth, Resolution: ResStandard})
	require.NoError(t, err)
	// 1500 * 1728/300 * 98/204 = 4151 rows: 4 standard A4 pages.
	require.Len(t, pages, 4)
	for _, p := range pages[:3] {
		require.Equal(t, 1146, p.Height)
		require.Equal(t, 864*1146, blackIn(p, image.Rect(0, 0, 864, 1146)))
	}
	require.Equal(t, 1146, pages[3].Height)
	require.Equal(t, 864*(4151-3*1146), blackIn(pages[3], image.Rect(0, 0, 864, 1146)))
	cont, err := ToFax(halves(300, 1500), &ConvertConfig{Paper: Continuous, Resolution: ResStandard})
	require.NoError(t, err)
	require.Len(t, cont, 1)
	require.Equal(t, 4151, cont[0].Height)
}

func TestToFaxAutoRotate(t *testing.T) {
	img := halves(800, 400) // black left half: after a clockwise turn, the top half
	pages, err := ToFax(img, &ConvertConfig{AutoRotate: true, Resolution: Res300})
	require.NoError(t, err)
	p := pages[0]
	require.Equal(t, 2592, p.Width)
	// Rotated: 400 x 800, scaled to min(2592/400, 3508/800) = 4.385.
	tw, th := 1754, 3508
	x0 := (2592 - tw) / 2
	require.Equal(t, A4.Rows(Res300), p.Height)
	require.Equal(t, (tw-4)*(th/2-4), blackIn(p, image.Rect(x0+2, 2, x0+tw-2, th/2-2)), "top half black")
	require.Zero(t, blackIn(p, image.Rect(0, th/2+3, 2592, p.Height)), "bottom half white")
}

func TestToFaxDitherKeepsTone(t *testing.T) {
	g := image.NewGray(image.Rect(0, 0, 200, 200))
	for i := range g.Pix {
		g.Pix[i] = 192 // light grey: 25% black
	}
	for _, d := range []t4.Dither{t4.FloydSteinberg, t4.Ordered} {
		pages, err := ToFax(g, &ConvertConfig{Dither: d, Paper: Continuous})
		require.NoError(t, err)
		p := pages[0]
		frac := float64(p.Black()) / float64(p.Width*p.Height)
		require.InDelta(t, 0.25, frac, 0.03, "%v", d)
	}
	pages, err := ToFax(g, &ConvertConfig{Paper: Continuous})
	require.NoError(t, err)
	require.Zero(t, pages[0].Black(), "threshold: light grey is white")
}

func TestToFaxTransparentIsWhite(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 50, 50)) // all transparent black
	pages, err := ToFax(img, nil)
	require.NoError(t, err)
	require.Zero(t, pages[0].Black())
	_, err = ToFax(image.NewGray(image.Rectangle{}), nil)
	require.ErrorIs(t, err, ErrEmptyImage)
}

func TestConvertDocument(t *testing.T) {
	// A fax page (copied as is), a half-width standard page (stretched
	// to the fax width, rows doubled for fine) and a grey page.
	fax := synthPage(1728, 500, 1)
	half := t4.NewBitmap(864, 100)
	for y := 0; y < 100; y++ {
		for x := 0; x < 432; x++ {
			half.SetBlack(x, y, true)
		}
	}
	var buf bytes.Buffer
	w, err := NewWriter(&buf, &WriterConfig{Compression: CompressionGroup4})
	require.NoError(t, err)
	require.NoError(t, w.WritePage(fax, &PageOptions{Resolution: ResSuperfine}))
	require.NoError(t, w.WritePage(half, &PageOptions{XDPI: 102, YDPI: 98}))
	require.NoError(t, w.Close())
	r, err := NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()), nil)
	require.NoError(t, err)

	var out bytes.Buffer
	w2, err := NewWriter(&out, nil)
	require.NoError(t, err)
	n, err := ConvertDocument(w2, r, &ConvertConfig{Paper: Continuous})
	require.NoError(t, err)
	require.Equal(t, 2, n)
	require.NoError(t, w2.Close())
	got, infos := readDoc(t, out.Bytes())
	require.Len(t, got, 2)
	require.Empty(t, diffBitmaps(fax, got[0]))
	require.Equal(t, ResSuperfine, infos[0].Resolution())
	// 864 columns at 102 dpi = 8.47 in = 1728 columns at 204 dpi; 100
	// rows at 98 dpi = 200 rows at 196 dpi.
	require.Equal(t, ResFine, infos[1].Resolution())
	require.Equal(t, 1728, got[1].Width)
	require.Equal(t, 200, got[1].Height)
	require.Equal(t, 860*196, blackIn(got[1], image.Rect(2, 2, 862, 198)))
	require.Zero(t, blackIn(got[1], image.Rect(868, 0, 1728, 200)))
}

// TestConvertDocumentUnitNone: ResolutionUnit 1 (none) still gives the
// pixels' aspect ratio (TIFF 6.0), so a 102 x 98 page is stretched as one
// in inches would be.
func TestConvertDocumentUnitNone(t *testing.T) {
	half := t4.NewBitmap(864, 100)
	for y := 0; y < 100; y++ {
		for x := 0; x < 432; x++ {
			half.SetBlack(x, y, true)
		}
	}
	e := with(faxEntries(864, 100, CompressionNone, 0, MSBFirst),
		qRat(tagXResolution, 102, 1), qRat(tagYResolution, 98, 1), qShort(tagResolutionUnit, uint32(UnitNone)), qShort(tagPhotometric, uint32(BlackIsZero)))
	data := buildTIFF([]qPage{{e, [][]byte{invertedCopy(half)}}})
	r, err := NewReader(bytes.NewReader(data), int64(len(data)), nil)
	require.NoError(t, err)
	var out bytes.Buffer
	w, err := NewWriter(&out, nil)
	require.NoError(t, err)
	_, err = ConvertDocument(w, r, &ConvertConfig{Paper: Continuous})
	require.NoError(t, err)
	require.NoError(t, w.Close())
	got, _ := readDoc(t, out.Bytes())
	require.Len(t, got, 1)
	require.Equal(t, 1728, got[0].Width)
	require.Equal(t, 200, got[0].Height)
	require.Equal(t, 860*196, blackIn(got[0], image.Rect(2, 2, 862, 198)))
}

func invertedCopy(b *t4.Bitmap) []byte {
	out := make([]byte, len(b.Pix))
	for i, v := range b.Pix {
		out[i] = ^v
	}
	return out
}

// TestConvertDocumentKeepsEveryFaxWidth: a bilevel page at any T.4 width
// (A4, B4, A3) of any fax resolution is copied pixel for pixel, never
// scaled to A4 (an A3 page at R8 is 2432 pixels wide).
func TestConvertDocumentKeepsEveryFaxWidth(t *testing.T) {
	for _, res := range []Resolution{ResStandard, ResFine, ResSuperfine, ResR16, Res300, Res400, Res600, Res1200} {
		for _, paper := range []Paper{A4, B4, A3} {
			width := paper.Pels(res)
			t.Run(fmt.Sprintf("%v/%v/%d", res, paper, width), func(t *testing.T) {
				page := synthPage(width, 40, 3)
				var buf bytes.Buffer
				w, err := NewWriter(&buf, &WriterConfig{Compression: CompressionGroup4})
				require.NoError(t, err)
				require.NoError(t, w.WritePage(page, &PageOptions{Resolution: res}))
				require.NoError(t, w.Close())
				r, err := NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()), nil)
				require.NoError(t, err)
				var out bytes.Buffer
				w2, err := NewWriter(&out, nil)
				require.NoError(t, err)
				n, err := ConvertDocument(w2, r, nil)
				require.NoError(t, err)
				require.Equal(t, 1, n)
				require.NoError(t, w2.Close())
				got, infos := readDoc(t, out.Bytes())
				require.Len(t, got, 1)
				require.Equal(t, res, infos[0].Resolution())
				require.Empty(t, diffBitmaps(page, got[0]))
			})
		}
	}
	require.Equal(t, []int{2432, 3648, 4864, 7296, 14592},
		[]int{A3.Pels(ResFine), A3.Pels(Res300), A3.Pels(ResR16), A3.Pels(Res600), A3.Pels(Res1200)})
}
