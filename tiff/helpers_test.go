package tiff

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/faxkit/faxkit/t4"
	"github.com/stretchr/testify/require"
)

// synthPage draws a deterministic page that looks like a fax: text-like
// glyph rows, rules, a filled box and noise, so that every code (long and
// short runs, pass and vertical modes) is exercised.
func synthPage(width, height int, seed uint64) *t4.Bitmap {
	b := t4.NewBitmap(width, height)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	// Text lines: glyphs of random strokes.
	for y := 40; y+30 < height; y += 48 {
		for x := 60; x+20 < width-60; x += 22 {
			if rng.IntN(7) == 0 {
				continue // a space
			}
			for s := 0; s < 4; s++ {
				x0, y0 := x+rng.IntN(16), y+rng.IntN(24)
				var dx, dy int
				if rng.IntN(2) == 0 {
					dx, dy = rng.IntN(12)+2, 2
				} else {
					dx, dy = 2, rng.IntN(20)+2
				}
				for yy := y0; yy < y0+dy; yy++ {
					for xx := x0; xx < x0+dx; xx++ {
						b.SetBlack(xx, yy, true)
					}
				}
			}
		}
	}
	// A rule and a box.
	for x := 0; x < width; x++ {
		b.SetBlack(x, height/3, true)
	}
	for y := height / 2; y < min(height/2+40, height); y++ {
		for x := width / 4; x < width/2; x++ {
			b.SetBlack(x, y, true)
		}
	}
	// Speckle noise near the bottom.
	for i := 0; i < width*height/400; i++ {
		b.SetBlack(rng.IntN(width), height-1-rng.IntN(max(1, height/8)), true)
	}
	// The first and last columns and rows touched.
	b.SetBlack(0, 0, true)
	b.SetBlack(width-1, height-1, true)
	return b
}

// writeDoc writes pages with cfg and returns the file.
func writeDoc(t testing.TB, cfg *WriterConfig, pages []*t4.Bitmap, opts []*PageOptions) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, cfg)
	require.NoError(t, err)
	for i, p := range pages {
		var o *PageOptions
		if opts != nil {
			o = opts[i]
		}
		require.NoError(t, w.WritePage(p, o), "page %d", i)
	}
	require.NoError(t, w.Close())
	return buf.Bytes()
}

// readDoc reads every page of a file as bitmaps.
func readDoc(t testing.TB, data []byte) ([]*t4.Bitmap, []PageInfo) {
	t.Helper()
	r, err := NewReader(bytes.NewReader(data), int64(len(data)), nil)
	require.NoError(t, err)
	var bms []*t4.Bitmap
	var infos []PageInfo
	for {
		p, err := r.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		b, err := p.Bitmap()
		require.NoError(t, err, "page %d", p.Index())
		bms = append(bms, b)
		infos = append(infos, p.Info)
	}
	return bms, infos
}

// diffBitmaps describes the first difference between two bitmaps, or "".
func diffBitmaps(want, got *t4.Bitmap) string {
	if want.Width != got.Width || want.Height != got.Height {
		return fmt.Sprintf("size %dx%d, want %dx%d", got.Width, got.Height, want.Width, want.Height)
	}
	for y := 0; y < want.Height; y++ {
		if !bytes.Equal(want.Row(y), got.Row(y)) {
			for x := 0; x < want.Width; x++ {
				if want.ColorIndexAt(x, y) != got.ColorIndexAt(x, y) {
					return fmt.Sprintf("first difference at row %d column %d", y, x)
				}
			}
			return fmt.Sprintf("row %d differs in padding", y)
		}
	}
	return ""
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	require.NoError(t, err)
	return b
}

func leOrder() byteOrder { return binary.LittleEndian }

// firstPage opens data with cfg and returns its first page.
func firstPage(t testing.TB, data []byte, cfg *ReaderConfig) *Page {
	t.Helper()
	r, err := NewReader(bytes.NewReader(data), int64(len(data)), cfg)
	require.NoError(t, err)
	p, err := r.Next()
	require.NoError(t, err)
	return p
}

// writeSame writes n copies of page with cfg.
func writeSame(t testing.TB, cfg *WriterConfig, page *t4.Bitmap, n int) []byte {
	t.Helper()
	pages := make([]*t4.Bitmap, n)
	for i := range pages {
		pages[i] = page
	}
	return writeDoc(t, cfg, pages, nil)
}
