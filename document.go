package faxkit

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // the image formats OpenDocument reads
	_ "image/jpeg"
	_ "image/png"
	"io"
	"os"

	_ "golang.org/x/image/bmp"
	_ "golang.org/x/image/webp"

	"github.com/faxkit/faxkit/t30"
	"github.com/faxkit/faxkit/t4"
	"github.com/faxkit/faxkit/tiff"
)

// DocumentOptions say how OpenDocument turns files that are not fax pages
// into fax pages. The zero value (or nil) works.
type DocumentOptions struct {
	// Resolution is the fax resolution of converted pages: t4.ResStandard,
	// t4.ResFine or t4.ResSuperfine. Default (t4.ResUnknown) fine. Pages
	// of a TIFF that are fax pages already keep their own.
	Resolution t4.Resolution
	// PDF configures the PDF renderer (Ghostscript or pdftoppm, found at
	// run time); nil uses its defaults.
	PDF *tiff.PDFConfig
}

// ErrUnknownFormat is returned by OpenDocument for a file that is none of
// the formats it reads.
var ErrUnknownFormat = errors.New("faxkit: not a TIFF, PDF or readable image")

// OpenedDocument is a Document read from a file by OpenDocument. Close it
// after the call.
type OpenedDocument struct {
	Document
	// FileType is what the file was: "tiff", "pdf", "png", "jpeg", "gif",
	// "bmp" or "webp".
	FileType string
	close    func() error
}

// Close releases the file.
func (d *OpenedDocument) Close() error { return d.close() }

// OpenDocument opens a file to fax, whatever it is: a TIFF (fax pages are
// sent as they are, read a page at a time; other pages are converted as
// TIFF does), a PDF (rendered with Ghostscript or pdftoppm, which must be
// installed; see tiff.RenderPDF), or a PNG, JPEG, GIF, BMP or WebP image
// (converted with tiff.ToFax: greys thresholded, scaled and rotated to
// A4). The format is found from the file's first octets, not its name.
// ctx bounds the PDF renderer.
func OpenDocument(ctx context.Context, path string, opts *DocumentOptions) (*OpenedDocument, error) {
	var o DocumentOptions
	if opts != nil {
		o = *opts
	}
	switch o.Resolution {
	case t4.ResUnknown:
		o.Resolution = t4.ResFine
	case t4.ResStandard, t4.ResFine, t4.ResSuperfine:
	default:
		return nil, fmt.Errorf("%w: resolution %v for converted pages (want standard, fine or superfine)", ErrOptions, o.Resolution)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	d, err := readDocument(ctx, f, &o)
	if err != nil {
		f.Close()
		return nil, err
	}
	if d.close == nil {
		f.Close()
		d.close = func() error { return nil }
	}
	return d, nil
}

func readDocument(ctx context.Context, f *os.File, o *DocumentOptions) (*OpenedDocument, error) {
	var head [4]byte
	n, err := io.ReadFull(f, head[:])
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	conv := &tiff.ConvertConfig{Resolution: o.Resolution, AutoRotate: true}
	switch s := string(head[:n]); {
	case s == "II*\x00" || s == "MM\x00*" || s == "II+\x00" || s == "MM\x00+":
		st, err := f.Stat()
		if err != nil {
			return nil, err
		}
		r, err := tiff.NewReader(f, st.Size(), nil)
		if err != nil {
			return nil, err
		}
		doc, err := TIFF(r)
		if err != nil {
			return nil, err
		}
		return &OpenedDocument{Document: doc, FileType: "tiff", close: f.Close}, nil
	case s == "%PDF":
		// The renderer's pages become fax pages in a TIFF in memory (MH
		// coded: a few tens of kilobytes a page), sent from there.
		var buf bytes.Buffer
		w, err := tiff.NewWriter(&buf, nil)
		if err != nil {
			return nil, err
		}
		if _, err := tiff.PDFToFax(ctx, w, f, o.PDF, conv); err != nil {
			return nil, err
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
		r, err := tiff.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()), nil)
		if err != nil {
			return nil, err
		}
		doc, err := TIFF(r)
		if err != nil {
			return nil, err
		}
		return &OpenedDocument{Document: doc, FileType: "pdf"}, nil
	}
	img, format, err := image.Decode(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnknownFormat, err)
	}
	pages, err := tiff.ToFax(img, conv)
	if err != nil {
		return nil, err
	}
	return &OpenedDocument{Document: &t30.BitmapDocument{Pages: pages, Resolution: o.Resolution}, FileType: format}, nil
}

// Document is what Send transmits: a page source the T.30 session encodes
// page by page in the coding it negotiates. A *t30.BitmapDocument holds
// pages already in memory; TIFF reads them from a file as they are sent.
type Document = t30.Document

// PageSink receives the pages of a fax as they are accepted. *tiff.Writer
// (a plain TIFF Class F file) and *phi.TIFFWriter (each page sealed in an
// encrypted phi.Store) both implement it. Receive does not close the sink:
// close the tiff.Writer, or commit the phi document, after Receive returns.
type PageSink interface {
	WritePage(b *t4.Bitmap, opts *tiff.PageOptions) error
}

// TIFF returns a Document that sends the pages of r. Fax pages (bilevel,
// at a fax resolution and width) are decoded one at a time as the call
// reaches them, so a long document is never in memory at once. Other pages
// (grey, colour, other sizes) are converted with tiff.ToFax to A4 pages at
// fine resolution when TIFF is called and held in memory; convert large
// documents beforehand ("faxkit tiff convert") to avoid that.
func TIFF(r *tiff.Reader) (Document, error) {
	d := &tiffDoc{cached: -1}
	for p, err := range r.Pages() {
		if err != nil {
			return nil, err
		}
		tp := tiffPage{page: p}
		res := p.Info.Resolution()
		w, ok := t4.LineWidthOf(p.Info.Width, res)
		if ok && p.Info.Bilevel() {
			tp.res, tp.width, tp.height = res, w, p.Info.Height
			d.pages = append(d.pages, tp)
			continue
		}
		img, err := p.Image()
		if err != nil {
			return nil, err
		}
		bms, err := tiff.ToFax(img, &tiff.ConvertConfig{Resolution: t4.ResFine, AutoRotate: true})
		if err != nil {
			return nil, err
		}
		for _, bm := range bms {
			d.pages = append(d.pages, tiffPage{bitmap: bm, res: t4.ResFine, width: t4.WidthA4, height: bm.Height})
		}
	}
	if len(d.pages) == 0 {
		return nil, fmt.Errorf("faxkit: %w", tiff.ErrNoPages)
	}
	return d, nil
}

type tiffPage struct {
	page   *tiff.Page // nil when bitmap holds a converted page
	bitmap *t4.Bitmap
	res    t4.Resolution
	width  t4.LineWidth
	height int
}

type tiffDoc struct {
	pages  []tiffPage
	cached int // index of the page whose bitmap is in bm
	bm     *t4.Bitmap
}

func (d *tiffDoc) NumPages() int { return len(d.pages) }

func (d *tiffDoc) Format(i int) t30.PageFormat {
	if i < 0 || i >= len(d.pages) {
		return t30.PageFormat{}
	}
	p := d.pages[i]
	// BitmapDocument knows how page height maps to paper length.
	bd := t30.BitmapDocument{Pages: []*t4.Bitmap{{Height: p.height}}, Resolution: p.res, Width: p.width}
	return bd.Format(0)
}

func (d *tiffDoc) bitmap(i int) (*t4.Bitmap, error) {
	p := d.pages[i]
	if p.bitmap != nil {
		return p.bitmap, nil
	}
	if d.cached == i {
		return d.bm, nil
	}
	bm, err := p.page.Bitmap()
	if err != nil {
		return nil, err
	}
	d.cached, d.bm = i, bm
	return bm, nil
}

func (d *tiffDoc) Encode(i int, m t30.Mode) ([]byte, error) {
	if i < 0 || i >= len(d.pages) {
		return nil, fmt.Errorf("faxkit: no page %d", i+1)
	}
	bm, err := d.bitmap(i)
	if err != nil {
		return nil, err
	}
	bd := t30.BitmapDocument{Pages: []*t4.Bitmap{bm}, Resolution: m.Resolution, Width: m.Width}
	return bd.Encode(0, m)
}
