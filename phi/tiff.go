package phi

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/faxkit/faxkit/t4"
	"github.com/faxkit/faxkit/tiff"
)

// The TIFF path: each fax page is sealed as its own single-page TIFF Class F
// file (one page of the sealed document), so the received image goes from
// the t4 decoder through the TIFF writer into the sealing writer row by row
// and plaintext never reaches disk; each page keeps its own SHA-256. Reading
// returns tiff.Pages, and WriteTIFF joins them into one multi-page file.

// maxTIFFPageBytes caps the size of one sealed TIFF page read back into
// memory (tiff.Reader needs an io.ReaderAt). Fax pages code to tens of KiB.
const maxTIFFPageBytes = 64 << 20

// TIFFWriter writes fax pages into a DocumentWriter as single-page TIFFs.
type TIFFWriter struct {
	w   *DocumentWriter
	cfg tiff.WriterConfig
}

// NewTIFFWriter wraps w; cfg (nil for defaults) configures every page's TIFF
// writer. Commit w after the last page.
func NewTIFFWriter(w *DocumentWriter, cfg *tiff.WriterConfig) *TIFFWriter {
	t := &TIFFWriter{w: w}
	if cfg != nil {
		t.cfg = *cfg
	}
	return t
}

// TIFFPageWriter receives one page row by row.
type TIFFPageWriter struct {
	sealed io.WriteCloser
	tw     *tiff.Writer
	pw     *tiff.PageWriter
}

// NewPage starts a page width pixels wide. opts.Description is stored inside
// the sealed page only, never in clear.
func (t *TIFFWriter) NewPage(width int, opts *tiff.PageOptions) (*TIFFPageWriter, error) {
	sealed, err := t.w.NewPage()
	if err != nil {
		return nil, err
	}
	tw, err := tiff.NewWriter(sealed, &t.cfg)
	if err != nil {
		return nil, err
	}
	pw, err := tw.NewPage(width, opts)
	if err != nil {
		return nil, err
	}
	return &TIFFPageWriter{sealed: sealed, tw: tw, pw: pw}, nil
}

// WriteRow appends one row of packed bilevel pixels (1 = black, MSB first).
func (p *TIFFPageWriter) WriteRow(row []byte) error { return p.pw.WriteRow(row) }

// Close finishes the TIFF and the sealed page.
func (p *TIFFPageWriter) Close() error {
	err := p.pw.Close()
	if err == nil {
		err = p.tw.Close()
	}
	if cerr := p.sealed.Close(); err == nil {
		err = cerr
	}
	return err
}

// WritePage seals a whole bitmap as one page.
func (t *TIFFWriter) WritePage(b *t4.Bitmap, opts *tiff.PageOptions) error {
	p, err := t.NewPage(b.Width, opts)
	if err != nil {
		return err
	}
	for y := 0; y < b.Height; y++ {
		if err := p.WriteRow(b.Row(y)); err != nil {
			p.Close()
			return err
		}
	}
	return p.Close()
}

// SealTIFF copies every page of a TIFF file into w, one sealed single-page
// TIFF per page (pages are decoded and re-coded with cfg).
func SealTIFF(w *DocumentWriter, r io.ReaderAt, size int64, cfg *tiff.WriterConfig) (int, error) {
	tr, err := tiff.NewReader(r, size, nil)
	if err != nil {
		return 0, err
	}
	tw := NewTIFFWriter(w, cfg)
	n := 0
	for page, err := range tr.Pages() {
		if err != nil {
			return n, err
		}
		bm, err := page.Bitmap()
		if err != nil {
			return n, err
		}
		if err := tw.WritePage(bm, &tiff.PageOptions{Resolution: page.Info.Resolution()}); err != nil {
			return n, err
		}
		n++
	}
	if n == 0 {
		return 0, tiff.ErrNoPages
	}
	return n, nil
}

// NextTIFFPage reads the next sealed page (verifying its SHA-256) and parses
// it as a single-page TIFF. It returns io.EOF after the last page.
func (d *DocumentReader) NextTIFFPage() (*tiff.Page, error) {
	p, err := d.NextPage()
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(p, maxTIFFPageBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxTIFFPageBytes {
		return nil, fmt.Errorf("%w: TIFF page larger than %d bytes", ErrCorrupt, maxTIFFPageBytes)
	}
	tr, err := tiff.NewReader(bytes.NewReader(b), int64(len(b)), nil)
	if err != nil {
		return nil, err
	}
	return tr.Next()
}

// WriteTIFF writes every page of a sealed TIFF document to w as one
// multi-page TIFF Class F file (decoded and re-coded with cfg).
func (d *DocumentReader) WriteTIFF(w io.Writer, cfg *tiff.WriterConfig) (int, error) {
	var c tiff.WriterConfig
	if cfg != nil {
		c = *cfg
	}
	if c.PageCount == 0 {
		c.PageCount = len(d.pages)
	}
	tw, err := tiff.NewWriter(w, &c)
	if err != nil {
		return 0, err
	}
	n := 0
	for {
		page, err := d.NextTIFFPage()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return n, err
		}
		bm, err := page.Bitmap()
		if err != nil {
			return n, err
		}
		if err := tw.WritePage(bm, &tiff.PageOptions{Resolution: page.Info.Resolution()}); err != nil {
			return n, err
		}
		n++
	}
	return n, tw.Close()
}
