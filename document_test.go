package faxkit_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit"
	"github.com/faxkit/faxkit/internal/peertest"
	"github.com/faxkit/faxkit/t30"
	"github.com/faxkit/faxkit/t4"
	"github.com/faxkit/faxkit/tiff"
)

// boxImage is a white letter-size page at 100 dpi with a black box.
func boxImage() *image.Gray {
	g := image.NewGray(image.Rect(0, 0, 850, 1100))
	for i := range g.Pix {
		g.Pix[i] = 255
	}
	for y := 200; y < 400; y++ {
		for x := 100; x < 700; x++ {
			g.SetGray(x, y, color.Gray{})
		}
	}
	return g
}

// encodeFirst encodes page 0 of doc in its own format and decodes it.
func encodeFirst(t *testing.T, doc faxkit.Document) *t4.Bitmap {
	t.Helper()
	f := doc.Format(0)
	data, err := doc.Encode(0, t30.Mode{Compression: t30.MMR, ECM: true, Resolution: f.Resolution, Width: f.Width})
	require.NoError(t, err)
	bm, _, err := t4.DecodePage(bytes.NewReader(data), f.Width.Pels(f.Resolution), &t4.DecodeOptions{Compression: t4.MMR, BitOrder: t4.LSBFirst})
	require.NoError(t, err)
	return bm
}

func TestOpenDocument(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	write := func(name string, enc func(f *os.File) error) string {
		p := filepath.Join(dir, name)
		f, err := os.Create(p)
		require.NoError(t, err)
		require.NoError(t, enc(f))
		require.NoError(t, f.Close())
		return p
	}
	img := boxImage()
	// Image files: converted to one A4 page, at fine or the asked resolution.
	for _, tc := range []struct {
		name, typ string
		enc       func(f *os.File) error
		res       tiff.Resolution
	}{
		{"box.jpg", "jpeg", func(f *os.File) error { return jpeg.Encode(f, img, nil) }, tiff.ResUnknown},
		{"box.gif", "gif", func(f *os.File) error { return gif.Encode(f, paletted(img), nil) }, tiff.ResStandard},
		{"box.png.renamed", "png", func(f *os.File) error { return pngEncode(f, img) }, tiff.ResUnknown}, // found by content, not name
	} {
		p := write(tc.name, tc.enc)
		for _, res := range []tiff.Resolution{tc.res} {
			doc, err := faxkit.OpenDocument(ctx, p, &faxkit.DocumentOptions{Resolution: res})
			require.NoError(t, err, tc.name)
			require.Equal(t, tc.typ, doc.FileType)
			require.Equal(t, 1, doc.NumPages())
			f := doc.Format(0)
			want := t30.ResFine
			if res == tiff.ResStandard {
				want = t30.ResStandard
			}
			require.Equal(t, t30.PageFormat{Resolution: want, Width: t30.WidthA4, Length: t30.LengthA4}, f, tc.name)
			bm := encodeFirst(t, doc)
			require.Equal(t, 1728, bm.Width)
			require.Positive(t, bm.Black(), "%s: the box survived", tc.name)
			require.Less(t, bm.Black(), bm.Width*bm.Height/4, "%s: the page is mostly white", tc.name)
			require.NoError(t, doc.Close())
		}
	}

	// A fax TIFF: pages are sent as they are, pixel for pixel.
	pg := []*t4.Bitmap{t4.NewBitmap(1728, 2287), t4.NewBitmap(1728, 2287)}
	for y := 100; y < 300; y++ {
		for x := 64; x < 1600; x += 3 {
			pg[0].SetBlack(x, y, true)
			pg[1].SetBlack(x, y+1000, true)
		}
	}
	tp := write("letter.tif", func(f *os.File) error {
		w, err := tiff.NewWriter(f, nil)
		if err != nil {
			return err
		}
		for _, p := range pg {
			if err := w.WritePage(p, &tiff.PageOptions{Resolution: tiff.ResFine}); err != nil {
				return err
			}
		}
		return w.Close()
	})
	doc, err := faxkit.OpenDocument(ctx, tp, nil)
	require.NoError(t, err)
	require.Equal(t, "tiff", doc.FileType)
	require.Equal(t, 2, doc.NumPages())
	require.True(t, pg[0].Equal(encodeFirst(t, doc)))
	require.NoError(t, doc.Close())

	// Not a document.
	junk := write("junk.txt", func(f *os.File) error { _, err := f.WriteString("dear doctor"); return err })
	_, err = faxkit.OpenDocument(ctx, junk, nil)
	require.ErrorIs(t, err, faxkit.ErrUnknownFormat)
	_, err = faxkit.OpenDocument(ctx, filepath.Join(dir, "missing.pdf"), nil)
	require.ErrorIs(t, err, os.ErrNotExist)
	_, err = faxkit.OpenDocument(ctx, tp, &faxkit.DocumentOptions{Resolution: tiff.Res600})
	require.ErrorIs(t, err, faxkit.ErrOptions)
}

func TestOpenDocumentPDF(t *testing.T) {
	gs := peertest.Program(t, "gs", "apt-get install ghostscript")
	dir := t.TempDir()
	pdf, ps := filepath.Join(dir, "in.pdf"), filepath.Join(dir, "in.ps")
	require.NoError(t, os.WriteFile(ps, []byte("%!PS\n/Helvetica findfont 24 scalefont setfont\n72 700 moveto (Synthetic page one) show showpage\n72 700 moveto (Synthetic page two) show showpage\n"), 0o600))
	o, err := exec.Command(gs, "-q", "-dNOPAUSE", "-dBATCH", "-sDEVICE=pdfwrite", "-sOutputFile="+pdf, ps).CombinedOutput()
	require.NoError(t, err, "%s", o)
	doc, err := faxkit.OpenDocument(context.Background(), pdf, nil)
	require.NoError(t, err)
	defer doc.Close()
	require.Equal(t, "pdf", doc.FileType)
	require.Equal(t, 2, doc.NumPages())
	bm := encodeFirst(t, doc)
	require.Equal(t, 1728, bm.Width)
	require.Positive(t, bm.Black(), "the text survived")
}

func pngEncode(f *os.File, img image.Image) error { return png.Encode(f, img) }

// paletted makes a two-colour copy of g: GIF's own quantiser is slow
// under -race.
func paletted(g *image.Gray) *image.Paletted {
	p := image.NewPaletted(g.Bounds(), color.Palette{color.Black, color.White})
	for i, v := range g.Pix {
		if v >= 128 {
			p.Pix[i] = 1
		}
	}
	return p
}
