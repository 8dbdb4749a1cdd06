package t4

import (
	"math"
	"strconv"
)

// Page geometry (ITU-T T.4 clause 2): the resolutions, scan line widths and
// paper lengths a fax page can have. This file is their one home: t30
// codes them as DIS/DCS bits (T.30 Table 2), tiff stores them as
// resolution tags and converts images to them, and the root package sizes
// received pages by them. Each is a small enum whose figures live in one
// fixed table below; nothing is built per call.

// Resolution is a fax resolution (T.4 clause 2.3, T.30 Table 2 bits 15 and
// 41-44): a horizontal density in pels per mm (R8, R16) or per 25.4 mm
// and a vertical density in lines per mm or per 25.4 mm.
//
// The zero value is ResUnknown: a TIFF page whose tags name no fax
// resolution, or a call that never agreed on a mode. Configuration that
// takes a Resolution says what zero stands for.
type Resolution uint8

const (
	// ResUnknown is no fax resolution.
	ResUnknown Resolution = iota
	// ResStandard is R8 x 3.85 lines/mm (204 x 98 dpi); 200 x 100 dpi is
	// its inch-based equivalent.
	ResStandard
	// ResFine is R8 x 7.7 lines/mm (204 x 196 dpi), or 200 x 200 dpi.
	ResFine
	// ResSuperfine is R8 x 15.4 lines/mm (204 x 391 dpi), or 200 x 400 dpi.
	ResSuperfine
	// ResR16 is R16 x 15.4 lines/mm (408 x 391 dpi). T.30 offers it and
	// Res400 with one bit (43); a DCS with that bit gives ResR16.
	ResR16
	// Res300 is 300 x 300 pels/25.4 mm.
	Res300
	// Res300x600 is 300 x 600 pels/25.4 mm.
	Res300x600
	// Res400 is 400 x 400 pels/25.4 mm (the inch-based twin of ResR16).
	Res400
	// Res400x800 is 400 x 800 pels/25.4 mm.
	Res400x800
	// Res600 is 600 x 600 pels/25.4 mm.
	Res600
	// Res600x1200 is 600 x 1200 pels/25.4 mm.
	Res600x1200
	// Res1200 is 1200 x 1200 pels/25.4 mm.
	Res1200
)

// resolutions gives each resolution's figures: its name; its density in
// dots per inch as fax software writes it in TIFF (spandsp and HylaFAX use
// 204 x 98/196/391 for R8); its lines per mm (T.4 Table 1 for the metric
// ones, dpi/25.4 for the others); and its row length relative to R8 in
// halves (T.4 clause 2.2: R8 2, 300 dpi 3, R16 and 400 dpi 4, ...).
var resolutions = [...]struct {
	name       string
	dpiX, dpiY float64
	linesPerMM float64
	r8Halves   int
}{
	ResUnknown:   {"unknown", 0, 0, 0, 0},
	ResStandard:  {"standard", 204, 98, 3.85, 2},
	ResFine:      {"fine", 204, 196, 7.7, 2},
	ResSuperfine: {"superfine", 204, 391, 15.4, 2},
	ResR16:       {"R16 superfine", 408, 391, 15.4, 4},
	Res300:       {"300x300", 300, 300, 300 / 25.4, 3},
	Res300x600:   {"300x600", 300, 600, 600 / 25.4, 3},
	Res400:       {"400x400", 400, 400, 400 / 25.4, 4},
	Res400x800:   {"400x800", 400, 800, 800 / 25.4, 4},
	Res600:       {"600x600", 600, 600, 600 / 25.4, 6},
	Res600x1200:  {"600x1200", 600, 1200, 1200 / 25.4, 6},
	Res1200:      {"1200x1200", 1200, 1200, 1200 / 25.4, 12},
}

func (r Resolution) String() string {
	if int(r) < len(resolutions) {
		return resolutions[r].name
	}
	return "Resolution(" + strconv.Itoa(int(r)) + ")"
}

// Known reports whether r is a fax resolution (not ResUnknown nor out of
// range).
func (r Resolution) Known() bool { return r != ResUnknown && int(r) < len(resolutions) }

// DPI returns the resolution's horizontal and vertical density in dots per
// inch as stored in TIFF files (0, 0 when r is not Known).
func (r Resolution) DPI() (x, y float64) {
	if int(r) < len(resolutions) {
		return resolutions[r].dpiX, resolutions[r].dpiY
	}
	return 0, 0
}

// LinesPerMM returns the vertical density in lines per millimetre (0 when
// r is not Known).
func (r Resolution) LinesPerMM() float64 {
	if int(r) < len(resolutions) {
		return resolutions[r].linesPerMM
	}
	return 0
}

// Aspect returns the vertical density divided by the horizontal one: the
// height of a square inch in rows per column (98/204 for standard), 1 when
// r is not Known.
func (r Resolution) Aspect() float64 {
	x, y := r.DPI()
	if x == 0 {
		return 1
	}
	return y / x
}

// ResolutionFromDPI maps densities in dots per inch to the nearest fax
// resolution, within 4% on each axis (so that 200 x 100 dpi, 203.2 x 97.8
// dpi from 8 pels/mm x 3.85 lines/mm and 204 x 98 dpi are all standard).
// Densities matching none give ResUnknown.
func ResolutionFromDPI(x, y float64) Resolution {
	best, bestErr := ResUnknown, 0.04
	for r := ResStandard; int(r) < len(resolutions); r++ {
		e := math.Max(math.Abs(x/resolutions[r].dpiX-1), math.Abs(y/resolutions[r].dpiY-1))
		if e < bestErr {
			best, bestErr = r, e
		}
	}
	return best
}

// LineWidth is a standard scan line width (T.4 clause 2.2, T.30 Table 2
// bits 17-18): the width of A4, B4 or A3 paper. Its length in pels depends
// on the resolution (Pels). The zero value is WidthA4, the width every
// terminal takes.
type LineWidth uint8

const (
	WidthA4 LineWidth = iota // 215 mm: 1728 pels at R8
	WidthB4                  // 255 mm: 2048 pels at R8
	WidthA3                  // 303 mm: 2432 pels at R8
)

// Fax page widths in pixels (T.4 clause 2.2 and T.30 Table 2): A4, B4 and
// A3 scan lines at 8 pels/mm (R8, 204 dpi), 300 dpi and 16 pels/mm (R16,
// 408 dpi). A fax page is one of these widths (or one at 600 or 1200 dpi,
// see LineWidth.Pels); other widths are legal for TIFF but cannot be sent
// by T.30.
const (
	WidthA4R8   = 1728
	WidthB4R8   = 2048
	WidthA3R8   = 2432
	WidthA4R300 = 2592
	WidthB4R300 = 3072
	WidthA3R300 = 3648
	WidthA4R16  = 3456
	WidthB4R16  = 4096
	WidthA3R16  = 4864
)

var lineWidths = [...]struct {
	name string
	r8   int // pels at R8
}{
	WidthA4: {"A4", WidthA4R8},
	WidthB4: {"B4", WidthB4R8},
	WidthA3: {"A3", WidthA3R8},
}

func (w LineWidth) String() string {
	if int(w) < len(lineWidths) {
		return lineWidths[w].name
	}
	return "LineWidth(" + strconv.Itoa(int(w)) + ")"
}

// Pels returns the scan line length in pels of width w at resolution r
// (T.4 clause 2.2): 1728, 2048 or 2432 at R8, times 1.5, 2, 3 and 6 at
// 300, R16 or 400, 600 and 1200 pels/25.4 mm. It returns 0 for an unknown
// width or resolution.
func (w LineWidth) Pels(r Resolution) int {
	if int(w) >= len(lineWidths) || int(r) >= len(resolutions) {
		return 0
	}
	return lineWidths[w].r8 * resolutions[r].r8Halves / 2
}

// LineWidthOf returns the standard width whose scan line at resolution r
// is pels long, and false when there is none (the page cannot be faxed
// without scaling).
func LineWidthOf(pels int, r Resolution) (LineWidth, bool) {
	for w := range lineWidths {
		if pels > 0 && LineWidth(w).Pels(r) == pels {
			return LineWidth(w), true
		}
	}
	return 0, false
}

// Paper is a paper size that pages are made for: its width is one of the
// standard scan lines and its length sets how many rows a page has. The
// zero value is PaperA4.
type Paper uint8

const (
	// PaperA4 is 210 x 297 mm, faxed on an A4 line.
	PaperA4 Paper = iota
	// PaperLetter is 8.5 x 11 inches, faxed on an A4 line.
	PaperLetter
	// PaperLegal is 8.5 x 14 inches, faxed on an A4 line.
	PaperLegal
	// PaperB4 is 257 x 364 mm, faxed on a B4 line.
	PaperB4
	// PaperContinuous is an A4-wide roll as long as the page needs.
	PaperContinuous
	// PaperA3 is 297 x 420 mm, faxed on an A3 line.
	PaperA3
)

var papers = [...]struct {
	name     string
	lengthMM float64 // 0: as long as needed
	width    LineWidth
}{
	PaperA4:         {"A4", 297, WidthA4},
	PaperLetter:     {"Letter", 279.4, WidthA4},
	PaperLegal:      {"Legal", 355.6, WidthA4},
	PaperB4:         {"B4", 364, WidthB4},
	PaperContinuous: {"continuous", 0, WidthA4},
	PaperA3:         {"A3", 420, WidthA3},
}

func (p Paper) String() string {
	if int(p) < len(papers) {
		return papers[p].name
	}
	return "Paper(" + strconv.Itoa(int(p)) + ")"
}

// Known reports whether p is one of the papers above.
func (p Paper) Known() bool { return int(p) < len(papers) }

// LengthMM returns the paper's length in millimetres, 0 for
// PaperContinuous and unknown papers.
func (p Paper) LengthMM() float64 {
	if int(p) < len(papers) {
		return papers[p].lengthMM
	}
	return 0
}

// LineWidth returns the scan line the paper is faxed on (WidthA4 for an
// unknown paper).
func (p Paper) LineWidth() LineWidth {
	if int(p) < len(papers) {
		return papers[p].width
	}
	return WidthA4
}

// Rows returns the page length in rows at resolution r, or 0 for
// PaperContinuous (and for an unknown paper or resolution). It counts at
// the resolution's TIFF density, as fax software sizes pages: 2292 rows
// for A4 at fine (196 dpi), where 7.7 lines/mm would give 2287.
func (p Paper) Rows(r Resolution) int {
	_, y := r.DPI()
	return int(math.Round(p.LengthMM() / 25.4 * y))
}

// Pels returns the row length of the paper's scan line at resolution r
// (p.LineWidth().Pels(r)).
func (p Paper) Pels(r Resolution) int { return p.LineWidth().Pels(r) }
