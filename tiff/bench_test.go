package tiff

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"testing"

	"github.com/faxkit/faxkit/internal/peertest"
	"github.com/faxkit/faxkit/t4"
)

// benchPages returns a 10-page fine document: the eight ITU test pages
// (1728 x 2376, real text and drawings) and two of them again.
func benchPages(b *testing.B) []*t4.Bitmap {
	dir := filepath.Join(peertest.SharedTestdata(b), "ccitt")
	var pages []*t4.Bitmap
	for i := 0; i < 10; i++ {
		got, _ := readDoc(b, readFile(b, filepath.Join(dir, fmt.Sprintf("itu%d.tif", i%8+1))))
		pages = append(pages, got[0])
	}
	return pages
}

func rawSize(pages []*t4.Bitmap) int64 {
	var n int64
	for _, p := range pages {
		n += int64(len(p.Pix))
	}
	return n
}

var benchModes = []struct {
	name string
	cfg  WriterConfig
}{
	{"MH", WriterConfig{Compression: CompressionGroup3}},
	{"MR", WriterConfig{Compression: CompressionGroup3, TwoD: true}},
	{"MMR", WriterConfig{Compression: CompressionGroup4}},
}

// BenchmarkWrite10PageFine codes a 10-page fine document; bytes/s count
// the pages' pixels (1 bit each), not the file.
func BenchmarkWrite10PageFine(b *testing.B) {
	pages := benchPages(b)
	opts := &PageOptions{Resolution: ResFine}
	for _, m := range benchModes {
		b.Run(m.name, func(b *testing.B) {
			b.SetBytes(rawSize(pages))
			b.ReportAllocs()
			var size int
			for b.Loop() {
				w, _ := NewWriter(io.Discard, &m.cfg)
				for _, p := range pages {
					if err := w.WritePage(p, opts); err != nil {
						b.Fatal(err)
					}
				}
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
				size = int(w.off)
			}
			b.ReportMetric(float64(size), "file-bytes")
		})
	}
}

// BenchmarkRead10PageFine decodes every page of a 10-page fine document.
func BenchmarkRead10PageFine(b *testing.B) {
	pages := benchPages(b)
	for _, m := range benchModes {
		b.Run(m.name, func(b *testing.B) {
			data := writeDoc(b, &m.cfg, pages, nil)
			b.SetBytes(rawSize(pages))
			b.ReportAllocs()
			for b.Loop() {
				r, err := NewReader(bytes.NewReader(data), int64(len(data)), nil)
				if err != nil {
					b.Fatal(err)
				}
				for p, err := range r.Pages() {
					if err != nil {
						b.Fatal(err)
					}
					if _, err := p.Bitmap(); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// BenchmarkToFax converts a 2480 x 3508 grey scan (A4 at 300 dpi) to a
// fine fax page.
func BenchmarkToFax(b *testing.B) {
	g := greyTestImage(2480, 3508)
	for _, d := range []t4.Dither{t4.Threshold, t4.FloydSteinberg} {
		b.Run(d.String(), func(b *testing.B) {
			b.SetBytes(int64(len(g.Pix)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ToFax(g, &ConvertConfig{Dither: d}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
