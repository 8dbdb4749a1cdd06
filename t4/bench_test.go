package t4

import (
	"bytes"
	"image"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// benchCodecs are the schemes benchmarked, with the options the C reference
// (t4/cref/bench.c) uses: MSB first, MR with K = 4.
var benchCodecs = []struct {
	name string
	opt  EncodeOptions
}{
	{"MH", EncodeOptions{}},
	{"MR", EncodeOptions{Compression: MR, K: 4}},
	{"MMR", EncodeOptions{Compression: MMR}},
}

type benchPage struct {
	name string
	page *Bitmap
}

// benchPages returns the generated dense page and, when the shared data is
// present, the eight CCITT documents (a nil page means skip with peertest).
func benchPages(b *testing.B) []benchPage {
	pages := []benchPage{
		{"dense", genPage(pageGrid, 1728, 2376, 1)},
		{"blank", NewBitmap(1728, 2376)},
		{"nearblank", nearBlankPage()},
		{"photo", photoPage()},
	}
	_, file, _, _ := runtime.Caller(0)
	shared := filepath.Join(filepath.Dir(filepath.Dir(filepath.Dir(file))), "shared", "testdata", "ccitt")
	if _, err := os.Stat(shared); err != nil {
		return append(pages, benchPage{"itu", nil})
	}
	for _, d := range loadITU(b) {
		pages = append(pages, benchPage{d.name, d.page})
	}
	return pages
}

func BenchmarkEncode(b *testing.B) {
	pages := benchPages(b)
	for _, c := range benchCodecs {
		b.Run(c.name, func(b *testing.B) {
			for _, p := range pages {
				b.Run(p.name, func(b *testing.B) {
					if p.page == nil {
						loadITU(b) // skips (fails under CI)
					}
					e, err := NewEncoder(io.Discard, p.page.Width, &c.opt)
					if err != nil {
						b.Fatal(err)
					}
					b.SetBytes(int64(len(p.page.Pix)))
					b.ReportAllocs()
					defer cpuMetric(b)()
					for b.Loop() {
						e.Reset(io.Discard)
						for y := range p.page.Height {
							e.WriteRow(p.page.Row(y))
						}
						if err := e.Close(); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	pages := benchPages(b)
	for _, c := range benchCodecs {
		b.Run(c.name, func(b *testing.B) {
			for _, p := range pages {
				b.Run(p.name, func(b *testing.B) {
					if p.page == nil {
						loadITU(b)
					}
					data, err := AppendPage(nil, p.page, &c.opt)
					if err != nil {
						b.Fatal(err)
					}
					out := NewBitmap(p.page.Width, p.page.Height)
					r := bytes.NewReader(data)
					d, err := NewDecoder(r, p.page.Width, &DecodeOptions{Compression: c.opt.Compression})
					if err != nil {
						b.Fatal(err)
					}
					b.SetBytes(int64(len(p.page.Pix)))
					b.ReportAllocs()
					defer cpuMetric(b)()
					for b.Loop() {
						r.Reset(data)
						d.Reset(r)
						for y := range out.Height {
							if err := d.ReadRow(out.Row(y)); err != nil {
								b.Fatal(err)
							}
						}
					}
					b.StopTimer()
					if !bytes.Equal(out.Pix, p.page.Pix) || d.Stats().BadRows != 0 {
						b.Fatal("decoded page differs")
					}
				})
			}
		})
	}
}

// nearBlankPage is an A4 fine page that is white but for a few lines of
// text near the top (a cover sheet's or a short note's header).
func nearBlankPage() *Bitmap {
	text := genPage(pageText, 1728, 2376, 7)
	b := NewBitmap(1728, 2376)
	copy(b.Pix[200*b.Stride:], text.Pix[8*text.Stride:88*text.Stride]) // four lines of "glyphs"
	return b
}

// photoPage is an A4 fine page holding a synthetic photograph (a diagonal
// gradient with smooth blobs and noise) error-diffused with
// Floyd-Steinberg: the densest realistic fax page.
func photoPage() *Bitmap {
	const w, h = 1728, 2376
	g := image.NewGray(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(3, 4))
	for y := range h {
		for x := range w {
			v := 40 + 170*float64(x+y)/float64(w+h)
			v += 50 * math.Sin(float64(x)/90) * math.Cos(float64(y)/130)
			v += float64(rng.IntN(41) - 20)
			g.Pix[y*g.Stride+x] = uint8(min(max(v, 0), 255))
		}
	}
	return FromGray(g, FloydSteinberg, 0)
}

// cpuMetric reports the thread CPU time per op as "cpu-ns/op" when the
// returned function runs (see threadCPU).
func cpuMetric(b *testing.B) func() {
	runtime.LockOSThread()
	start := threadCPU()
	return func() {
		if used := threadCPU() - start; used > 0 && b.N > 0 {
			b.ReportMetric(float64(used)/float64(b.N), "cpu-ns/op")
		}
		runtime.UnlockOSThread()
	}
}
