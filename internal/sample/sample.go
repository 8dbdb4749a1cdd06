// Package sample renders synthetic fax documents for examples, tests and
// benchmarks: a typed letter with a header, paragraphs, a table and a
// signature box, drawn with the Go fonts. Every name and number in it is
// made up; nothing here is PHI.
package sample

import (
	"fmt"
	"image"
	"image/draw"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"

	"github.com/faxkit/faxkit/t4"
)

// Resolution is a fax page's pixel grid in dots per inch.
type Resolution struct{ X, Y float64 }

// Common fax resolutions (T.30: 8 pels/mm x 3.85 and 7.7 lines/mm).
var (
	Standard = Resolution{204, 98}
	Fine     = Resolution{204, 196}
)

var (
	fontsOnce        sync.Once
	regular, bold    *opentype.Font
	errFontsNotFound error
)

func loadFonts() {
	fontsOnce.Do(func() {
		regular, errFontsNotFound = opentype.Parse(goregular.TTF)
		if errFontsNotFound == nil {
			bold, errFontsNotFound = opentype.Parse(gobold.TTF)
		}
	})
}

// Letter renders page n (1-based) of a synthetic letter of total pages as
// an A4 page 1728 pixels wide at the given resolution. The same arguments
// always give the same pixels.
func Letter(n, total int, res Resolution) (*t4.Bitmap, error) {
	loadFonts()
	if errFontsNotFound != nil {
		return nil, errFontsNotFound
	}
	const widthMM, heightMM = 215.0, 297.0
	w := t4.WidthA4R8
	h := int(heightMM/25.4*res.Y + 0.5)
	img := image.NewGray(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Rect, image.White, image.Point{}, draw.Src)

	// Glyphs are drawn at the horizontal resolution and squeezed vertically
	// by drawing into a square-pixel canvas and resampling.
	sq := image.NewGray(image.Rect(0, 0, w, int(heightMM/25.4*res.X+0.5)))
	draw.Draw(sq, sq.Rect, image.White, image.Point{}, draw.Src)
	face := func(f *opentype.Font, pt float64) font.Face {
		fc, _ := opentype.NewFace(f, &opentype.FaceOptions{Size: pt, DPI: res.X, Hinting: font.HintingFull})
		return fc
	}
	body, head := face(regular, 11), face(bold, 16)
	d := &font.Drawer{Dst: sq, Src: image.Black}
	y := 140
	line := func(f font.Face, x int, s string) {
		d.Face = f
		d.Dot = fixed.P(x, y)
		d.DrawString(s)
		y += f.Metrics().Height.Ceil() + 6
	}
	rect := func(x0, y0, x1, y1, t int) {
		for _, r := range []image.Rectangle{
			image.Rect(x0, y0, x1, y0+t), image.Rect(x0, y1-t, x1, y1),
			image.Rect(x0, y0, x0+t, y1), image.Rect(x1-t, y0, x1, y1),
		} {
			draw.Draw(sq, r, image.Black, image.Point{}, draw.Src)
		}
	}
	line(head, 120, "Example Family Clinic - Referral (synthetic test document)")
	line(body, 120, fmt.Sprintf("Page %d of %d        Fax: +1 555 0100 (fictional)", n, total))
	y += 20
	draw.Draw(sq, image.Rect(120, y, w-120, y+4), image.Black, image.Point{}, draw.Src)
	y += 40
	for p := 0; p < 4; p++ {
		for _, s := range paragraph(n, p) {
			line(body, 120, s)
		}
		y += 24
	}
	// A table with ruled cells, the kind of content forms are made of.
	x0, ty := 120, y
	for r := 0; r < 6; r++ {
		for c := 0; c < 4; c++ {
			rect(x0+c*370, ty+r*48, x0+(c+1)*370+3, ty+(r+1)*48+3, 3)
			d.Face, d.Dot = body, fixed.P(x0+c*370+14, ty+r*48+34)
			d.DrawString(fmt.Sprintf("Item %d.%d  %4d", r+1, c+1, (r*7+c*13+n*31)%1000))
		}
	}
	y = ty + 6*48 + 60
	rect(120, y, 900, y+160, 4)
	d.Face, d.Dot = body, fixed.P(140, y+40)
	d.DrawString("Signature: Dr. A. Example (synthetic)")

	// Resample the square-pixel canvas onto the fax grid.
	out := t4.FromImage(sq, &t4.ConvertOptions{Width: w, Height: h})
	return out, nil
}

// Letters renders all pages of a synthetic letter.
func Letters(total int, res Resolution) ([]*t4.Bitmap, error) {
	pages := make([]*t4.Bitmap, total)
	for i := range pages {
		p, err := Letter(i+1, total, res)
		if err != nil {
			return nil, err
		}
		pages[i] = p
	}
	return pages, nil
}

var words = []string{"the", "patient", "was", "seen", "today", "for", "a", "routine",
	"follow-up", "visit", "and", "reported", "no", "new", "symptoms", "results",
	"of", "laboratory", "tests", "are", "attached", "please", "review", "with",
	"regards", "dosage", "unchanged", "next", "appointment", "in", "six", "weeks"}

// paragraph returns deterministic pseudo-text lines for page n, paragraph p.
func paragraph(n, p int) []string {
	var lines []string
	seed := uint32(n*977 + p*131 + 7)
	for l := 0; l < 5; l++ {
		s := ""
		for len(s) < 88 {
			seed = seed*1664525 + 1013904223
			if s != "" {
				s += " "
			}
			s += words[seed>>16%uint32(len(words))]
		}
		lines = append(lines, s)
	}
	return lines
}
