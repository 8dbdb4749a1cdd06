package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/draw"
	_ "image/jpeg" // JPEG uploads
	_ "image/png"  // PNG uploads
	"io"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/inconsolata"
	"golang.org/x/image/math/fixed"

	"github.com/faxkit/faxkit/t4"
	"github.com/faxkit/faxkit/tiff"
)

// Upload conversion: every file of a send request is sniffed (the
// declared content type is not trusted), converted to fine A4 fax pages
// and appended to one in-memory TIFF, which is then sealed. Plaintext
// never reaches the disk.

var errUnsupported = errors.New("unsupported file type (PDF, TIFF, PNG or JPEG)")

type formatError struct{ msg string }

func (e *formatError) Error() string { return e.msg }

// sniff names a file's type from its first bytes.
func sniff(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte("%PDF-")):
		return "pdf"
	case bytes.HasPrefix(b, []byte("II*\x00")), bytes.HasPrefix(b, []byte("MM\x00*")):
		return "tiff"
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return "png"
	case bytes.HasPrefix(b, []byte{0xff, 0xd8, 0xff}):
		return "jpeg"
	}
	return ""
}

// maxImagePixels bounds a decoded PNG/JPEG (a decompression bomb is
// refused before decoding).
const maxImagePixels = 100 << 20

// appendFile converts one uploaded file to fax pages on w.
func appendFile(ctx context.Context, w *tiff.Writer, b []byte) (int, error) {
	conv := &tiff.ConvertConfig{AutoRotate: true}
	switch sniff(b) {
	case "pdf":
		n, err := tiff.PDFToFax(ctx, w, bytes.NewReader(b), &tiff.PDFConfig{MaxPages: 200}, conv)
		if err != nil {
			return n, &formatError{"the PDF could not be rendered"}
		}
		return n, nil
	case "tiff":
		r, err := tiff.NewReader(bytes.NewReader(b), int64(len(b)), nil)
		if err != nil {
			return 0, &formatError{"the TIFF file is corrupt"}
		}
		n, err := tiff.ConvertDocument(w, r, conv)
		if err != nil {
			return n, &formatError{"the TIFF file is corrupt"}
		}
		return n, nil
	case "png", "jpeg":
		cfg, _, err := image.DecodeConfig(bytes.NewReader(b))
		if err != nil {
			return 0, &formatError{"the image is corrupt"}
		}
		if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > maxImagePixels {
			return 0, &formatError{"the image is too large"}
		}
		img, _, err := image.Decode(bytes.NewReader(b))
		if err != nil {
			return 0, &formatError{"the image is corrupt"}
		}
		pages, err := tiff.ToFax(img, conv)
		if err != nil {
			return 0, &formatError{"the image could not be converted"}
		}
		for _, p := range pages {
			if err := w.WritePage(p, &tiff.PageOptions{Resolution: tiff.ResFine}); err != nil {
				return 0, err
			}
		}
		return len(pages), nil
	}
	return 0, &formatError{errUnsupported.Error()}
}

// Cover is a cover page's fields. They are PHI: rendered into the sealed
// first page and never stored or logged anywhere else.
type Cover struct {
	To, From, Subject, Note string
}

func (c Cover) empty() bool { return c.To == "" && c.From == "" && c.Subject == "" && c.Note == "" }

// coverPage renders c as a fine A4 page (1728 x 2292 pels).
func coverPage(c Cover, pages int) *t4.Bitmap {
	const w, h = 1728, 2292
	img := image.NewGray(image.Rect(0, 0, w/2, h/2)) // drawn at half size, scaled 2x
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	d := &font.Drawer{Dst: img, Src: image.Black, Face: inconsolata.Bold8x16}
	y := 80
	line := func(s string) {
		d.Dot = fixed.P(60, y)
		d.DrawString(s)
		y += 22
	}
	line("F A X")
	y += 20
	for _, f := range []struct{ k, v string }{{"To:", c.To}, {"From:", c.From}, {"Subject:", c.Subject}} {
		line(fmt.Sprintf("%-9s %s", f.k, clip(f.v, 80)))
	}
	line(fmt.Sprintf("%-9s %d (including this page)", "Pages:", pages+1))
	y += 20
	d.Face = inconsolata.Regular8x16
	for _, para := range strings.Split(c.Note, "\n") {
		for len(para) > 88 {
			line(para[:88])
			para = para[88:]
		}
		line(para)
		if y > h/2-120 {
			break
		}
	}
	y = h/2 - 80
	line("CONFIDENTIAL: this fax may contain protected health information.")
	line("If you are not the intended recipient, notify the sender and destroy it.")
	b := t4.NewBitmap(w, h)
	for yy := 0; yy < h; yy++ {
		for xx := 0; xx < w; xx++ {
			if img.GrayAt(xx/2, yy/2).Y < 128 {
				b.SetBlack(xx, yy, true)
			}
		}
	}
	return b
}

func clip(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return ' '
		}
		return r
	}, s)
	if len(s) > n {
		return s[:n]
	}
	return s
}

// writePDF writes the pages of a TIFF as a PDF with one CCITT G4 image
// per page (ISO 32000-1 8.9.5, 7.4.6 CCITTFaxDecode), scaled to the page
// at the fax resolution.
func writePDF(out io.Writer, r *tiff.Reader) error {
	var bufs [][]byte
	type dim struct {
		w, h   int
		xr, yr float64
	}
	var dims []dim
	for p, err := range r.Pages() {
		if err != nil {
			return err
		}
		bm, err := p.Bitmap()
		if err != nil {
			return err
		}
		var enc bytes.Buffer
		if err := t4.EncodePage(&enc, bm, &t4.EncodeOptions{Compression: t4.MMR}); err != nil {
			return err
		}
		bufs = append(bufs, enc.Bytes())
		xr, yr := p.Info.XResolution, p.Info.YResolution
		if p.Info.ResolutionUnit == tiff.UnitCentimeter {
			xr, yr = xr*2.54, yr*2.54
		}
		if xr <= 0 || yr <= 0 {
			xr, yr = 204, 196
		}
		dims = append(dims, dim{bm.Width, bm.Height, xr, yr})
	}
	var b bytes.Buffer
	var offs []int
	obj := func(s string) {
		offs = append(offs, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", len(offs), s)
	}
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	n := len(bufs)
	// 1 catalog, 2 pages, then per page: page, contents, image.
	obj("<< /Type /Catalog /Pages 2 0 R >>")
	var kids []string
	for i := range n {
		kids = append(kids, fmt.Sprintf("%d 0 R", 3+3*i))
	}
	obj(fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), n))
	for i := range n {
		d := dims[i]
		pw, ph := float64(d.w)/d.xr*72, float64(d.h)/d.yr*72
		obj(fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.2f %.2f] /Resources << /XObject << /Im0 %d 0 R >> >> /Contents %d 0 R >>", pw, ph, 5+3*i, 4+3*i))
		content := fmt.Sprintf("q %.2f 0 0 %.2f 0 0 cm /Im0 Do Q", pw, ph)
		obj(fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content))
		offs = append(offs, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray /BitsPerComponent 1 /Filter /CCITTFaxDecode /DecodeParms << /K -1 /Columns %d /Rows %d >> /Length %d >>\nstream\n",
			len(offs), d.w, d.h, d.w, d.h, len(bufs[i]))
		b.Write(bufs[i])
		b.WriteString("\nendstream\nendobj\n")
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offs)+1, xref)
	_, err := out.Write(b.Bytes())
	return err
}
