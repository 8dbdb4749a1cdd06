package faxkit

import (
	"fmt"

	"github.com/faxkit/faxkit/t30"
	"github.com/faxkit/faxkit/t4"
	"github.com/faxkit/faxkit/tiff"
)

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
		res, ok := t30Resolution(p.Info.Resolution())
		w, wok := paperWidth(res, p.Info.Width)
		if ok && wok && p.Info.Bilevel() {
			tp.res, tp.width, tp.height = res, w, p.Info.Height
			d.pages = append(d.pages, tp)
			continue
		}
		img, err := p.Image()
		if err != nil {
			return nil, err
		}
		bms, err := tiff.ToFax(img, &tiff.ConvertConfig{Resolution: tiff.ResFine, AutoRotate: true})
		if err != nil {
			return nil, err
		}
		for _, bm := range bms {
			d.pages = append(d.pages, tiffPage{bitmap: bm, res: t30.ResFine, width: t30.WidthA4, height: bm.Height})
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
	res    t30.Resolution
	width  t30.PaperWidth
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

var resPairs = []struct {
	t30  t30.Resolution
	tiff tiff.Resolution
}{
	{t30.ResStandard, tiff.ResStandard}, {t30.ResFine, tiff.ResFine},
	{t30.ResSuperfine, tiff.ResSuperfine}, {t30.ResR16, tiff.ResR16},
	{t30.Res300, tiff.Res300}, {t30.Res300x600, tiff.Res300x600},
	{t30.ResR16, tiff.Res400}, {t30.Res400x800, tiff.Res400x800},
	{t30.Res600, tiff.Res600}, {t30.Res600x1200, tiff.Res600x1200},
	{t30.Res1200, tiff.Res1200},
}

func t30Resolution(r tiff.Resolution) (t30.Resolution, bool) {
	for _, p := range resPairs {
		if p.tiff == r {
			return p.t30, true
		}
	}
	return 0, false
}

func tiffResolution(r t30.Resolution) tiff.Resolution {
	for _, p := range resPairs {
		if p.t30 == r {
			return p.tiff
		}
	}
	return tiff.ResUnknown
}

func paperWidth(r t30.Resolution, pels int) (t30.PaperWidth, bool) {
	for _, w := range []t30.PaperWidth{t30.WidthA4, t30.WidthB4, t30.WidthA3} {
		if r.RowPels(w) == pels {
			return w, true
		}
	}
	return 0, false
}
