package t4

import (
	"bytes"
	"fmt"
	"image"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
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

// benchPages returns the generated dense page, the realistic corpus
// (corpus_test.go) and, when the repository's test data is present, the
// eight CCITT documents (a nil page means skip with peertest).
func benchPages(b testing.TB) []benchPage {
	pages := append([]benchPage{{"dense", genPage(pageGrid, 1728, 2376, 1)}}, corpusPages()...)
	_, file, _, _ := runtime.Caller(0)
	ccitt := filepath.Join(filepath.Dir(filepath.Dir(file)), "testdata", "ccitt")
	if _, err := os.Stat(ccitt); err != nil {
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

// BenchmarkAppendPage codes whole pages into a reused slice with
// Encoder.AppendPage (no io.Writer).
func BenchmarkAppendPage(b *testing.B) {
	pages := benchPages(b)
	for _, c := range benchCodecs {
		b.Run(c.name, func(b *testing.B) {
			for _, p := range pages {
				b.Run(p.name, func(b *testing.B) {
					if p.page == nil {
						loadITU(b)
					}
					e, err := NewEncoder(nil, p.page.Width, &c.opt)
					if err != nil {
						b.Fatal(err)
					}
					buf, err := e.AppendPage(nil, p.page)
					if err != nil {
						b.Fatal(err)
					}
					b.SetBytes(int64(len(p.page.Pix)))
					b.ReportAllocs()
					defer cpuMetric(b)()
					for b.Loop() {
						buf, _ = e.AppendPage(buf[:0], p.page)
					}
				})
			}
		})
	}
}

// BenchmarkReadPage decodes whole pages from bytes into a reused Bitmap
// with Decoder.ResetBytes and ReadPage (no io.Reader).
func BenchmarkReadPage(b *testing.B) {
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
					d, err := NewDecoder(nil, p.page.Width, &DecodeOptions{Compression: c.opt.Compression})
					if err != nil {
						b.Fatal(err)
					}
					b.SetBytes(int64(len(p.page.Pix)))
					b.ReportAllocs()
					defer cpuMetric(b)()
					var st Stats
					for b.Loop() {
						d.ResetBytes(data)
						if st, err = d.ReadPage(out); err != nil {
							b.Fatal(err)
						}
					}
					b.StopTimer()
					if !bytes.Equal(out.Pix, p.page.Pix) || st.BadRows != 0 || st.Rows != p.page.Height {
						b.Fatal("decoded page differs")
					}
				})
			}
		})
	}
}

// TestWriteBenchPages writes the synthetic benchmark pages as raw PBM (P4
// is Bitmap's packed format) into $FAXKIT_T4_PBM_DIR, so that the C
// reference can be run on them (convert to TIFF with ImageMagick, then
// t4/cref/bench.c). Skipped without the variable.
func TestWriteBenchPages(t *testing.T) {
	dir := os.Getenv("FAXKIT_T4_PBM_DIR")
	if dir == "" {
		t.Skip("FAXKIT_T4_PBM_DIR not set")
	}
	for _, p := range benchPages(t) {
		if p.page == nil || strings.HasPrefix(p.name, "itu") {
			continue
		}
		hdr := fmt.Sprintf("P4\n%d %d\n", p.page.Width, p.page.Height)
		if err := os.WriteFile(filepath.Join(dir, p.name+".pbm"), append([]byte(hdr), p.page.Pix...), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// BenchmarkDecodeInto decodes whole pages from bytes with DecodeInto, the
// one-call API: a new Decoder per page (its set-up is part of the cost),
// into a reused Bitmap.
func BenchmarkDecodeInto(b *testing.B) {
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
					opt := &DecodeOptions{Compression: c.opt.Compression}
					b.SetBytes(int64(len(p.page.Pix)))
					b.ReportAllocs()
					defer cpuMetric(b)()
					var st Stats
					for b.Loop() {
						if st, err = DecodeInto(out, data, opt); err != nil {
							b.Fatal(err)
						}
					}
					b.StopTimer()
					if !bytes.Equal(out.Pix, p.page.Pix) || st.BadRows != 0 || st.Rows != p.page.Height {
						b.Fatal("decoded page differs")
					}
				})
			}
		})
	}
}

// BenchmarkAppendPageFunc codes whole pages with the AppendPage function,
// the one-call API (BenchmarkAppendPage reuses an Encoder), into a reused
// buffer.
func BenchmarkAppendPageFunc(b *testing.B) {
	pages := benchPages(b)
	for _, c := range benchCodecs {
		b.Run(c.name, func(b *testing.B) {
			for _, p := range pages {
				b.Run(p.name, func(b *testing.B) {
					if p.page == nil {
						loadITU(b)
					}
					want, err := AppendPage(nil, p.page, &c.opt)
					if err != nil {
						b.Fatal(err)
					}
					buf := make([]byte, 0, 2*len(want)+64<<10) // room for the coder's per-row slack
					b.SetBytes(int64(len(p.page.Pix)))
					b.ReportAllocs()
					defer cpuMetric(b)()
					var got []byte
					for b.Loop() {
						if got, err = AppendPage(buf[:0], p.page, &c.opt); err != nil {
							b.Fatal(err)
						}
					}
					b.StopTimer()
					if !bytes.Equal(got, want) {
						b.Fatal("coded page differs")
					}
				})
			}
		})
	}
}
