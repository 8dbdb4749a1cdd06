package main

import (
	"fmt"
	"image"
	"image/draw"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"

	"github.com/faxkit/faxkit/t4"
	"github.com/faxkit/faxkit/tiff"
)

// syntheticLetter renders a synthetic letter of n pages (made-up text, no PHI) as
// fine-resolution A4 fax pages: each page is drawn on a square-pixel A4
// canvas at 204 dpi and fitted to the fax grid with tiff.ToFax, the way
// any image is turned into fax pages. The same n always gives the same
// pixels.
func syntheticLetter(n int) ([]*t4.Bitmap, error) {
	regular, err := opentype.Parse(goregular.TTF)
	if err != nil {
		return nil, err
	}
	bold, err := opentype.Parse(gobold.TTF)
	if err != nil {
		return nil, err
	}
	face := func(f *opentype.Font, pt float64) (font.Face, error) {
		return opentype.NewFace(f, &opentype.FaceOptions{Size: pt, DPI: 204, Hinting: font.HintingFull})
	}
	body, err := face(regular, 11)
	if err != nil {
		return nil, err
	}
	head, err := face(bold, 16)
	if err != nil {
		return nil, err
	}
	words := []string{"the", "patient", "was", "seen", "today", "for", "a", "routine", "follow-up",
		"visit", "and", "reported", "no", "new", "symptoms", "results", "of", "laboratory", "tests",
		"are", "attached", "please", "review", "with", "regards", "next", "appointment", "in", "six", "weeks"}
	var pages []*t4.Bitmap
	for p := 1; p <= n; p++ {
		const w, h = 1728, 2386 // 215 x 297 mm at 204 dpi
		img := image.NewGray(image.Rect(0, 0, w, h))
		draw.Draw(img, img.Rect, image.White, image.Point{}, draw.Src)
		d := &font.Drawer{Dst: img, Src: image.Black}
		y := 140
		line := func(f font.Face, s string) {
			d.Face, d.Dot = f, fixed.P(120, y)
			d.DrawString(s)
			y += f.Metrics().Height.Ceil() + 6
		}
		line(head, "Example Family Clinic - Referral (synthetic test document)")
		line(body, fmt.Sprintf("Page %d of %d", p, n))
		y += 20
		draw.Draw(img, image.Rect(120, y, w-120, y+4), image.Black, image.Point{}, draw.Src)
		y += 40
		seed := uint32(p*977 + 7)
		for range 20 {
			s := ""
			for len(s) < 88 {
				seed = seed*1664525 + 1013904223
				if s != "" {
					s += " "
				}
				s += words[seed>>16%uint32(len(words))]
			}
			line(body, s)
		}
		// A ruled table, the kind of content forms are made of.
		for r := range 7 {
			draw.Draw(img, image.Rect(120, y+r*48, w-120, y+r*48+3), image.Black, image.Point{}, draw.Src)
		}
		for c := range 5 {
			x := 120 + c*(w-243)/4
			draw.Draw(img, image.Rect(x, y, x+3, y+6*48+3), image.Black, image.Point{}, draw.Src)
		}
		fitted, err := tiff.ToFax(img, &tiff.ConvertConfig{Resolution: t4.ResFine})
		if err != nil {
			return nil, err
		}
		pages = append(pages, fitted...)
	}
	return pages, nil
}
