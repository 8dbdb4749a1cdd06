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
	pages = append(pages, stressPages()...)
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

// eachBenchPage runs body as a sub-benchmark per scheme (benchCodecs)
// and page (benchPages), named scheme/page, with the page coded in that
// scheme in data and its raw size set as the bytes per op. body does its
// set-up, then starts cpuMetric and runs the timed loop.
func eachBenchPage(b *testing.B, body func(b *testing.B, opt *EncodeOptions, page *Bitmap, data []byte)) {
	pages := benchPages(b)
	for _, c := range benchCodecs {
		b.Run(c.name, func(b *testing.B) {
			for _, p := range pages {
				b.Run(p.name, func(b *testing.B) {
					if p.page == nil {
						loadITU(b) // skips (fails under CI)
					}
					data, err := AppendPage(nil, p.page, &c.opt)
					if err != nil {
						b.Fatal(err)
					}
					b.SetBytes(int64(len(p.page.Pix)))
					b.ReportAllocs()
					body(b, &c.opt, p.page, data)
				})
			}
		})
	}
}

func BenchmarkEncode(b *testing.B) {
	eachBenchPage(b, func(b *testing.B, opt *EncodeOptions, page *Bitmap, data []byte) {
		e, err := NewEncoder(io.Discard, page.Width, opt)
		if err != nil {
			b.Fatal(err)
		}
		defer cpuMetric(b)()
		for b.Loop() {
			e.Reset(io.Discard)
			for y := range page.Height {
				e.WriteRow(page.Row(y))
			}
			if err := e.Close(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	eachBenchPage(b, func(b *testing.B, opt *EncodeOptions, page *Bitmap, data []byte) {
		out := NewBitmap(page.Width, page.Height)
		r := bytes.NewReader(data)
		d, err := NewDecoder(r, page.Width, &DecodeOptions{Compression: opt.Compression})
		if err != nil {
			b.Fatal(err)
		}
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
		if !bytes.Equal(out.Pix, page.Pix) || d.Stats().BadRows != 0 {
			b.Fatal("decoded page differs")
		}
	})
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
	return FromGray(photoGrey(rand.New(rand.NewPCG(3, 4))), FloydSteinberg, 0)
}

// photoGrey is the synthetic photograph in grey, A4 fine: a diagonal
// gradient with smooth blobs and noise drawn from rng.
func photoGrey(rng *rand.Rand) *image.Gray {
	const w, h = 1728, 2376
	g := image.NewGray(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			v := 40 + 170*float64(x+y)/float64(w+h)
			v += 50 * math.Sin(float64(x)/90) * math.Cos(float64(y)/130)
			v += float64(rng.IntN(41) - 20)
			g.Pix[y*g.Stride+x] = uint8(min(max(v, 0), 255))
		}
	}
	return g
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
	eachBenchPage(b, func(b *testing.B, opt *EncodeOptions, page *Bitmap, data []byte) {
		e, err := NewEncoder(nil, page.Width, opt)
		if err != nil {
			b.Fatal(err)
		}
		buf, err := e.AppendPage(nil, page)
		if err != nil {
			b.Fatal(err)
		}
		defer cpuMetric(b)()
		for b.Loop() {
			buf, _ = e.AppendPage(buf[:0], page)
		}
	})
}

// BenchmarkReadPage decodes whole pages from bytes into a reused Bitmap
// with Decoder.ResetBytes and ReadPage (no io.Reader).
func BenchmarkReadPage(b *testing.B) {
	eachBenchPage(b, func(b *testing.B, opt *EncodeOptions, page *Bitmap, data []byte) {
		out := NewBitmap(page.Width, page.Height)
		d, err := NewDecoder(nil, page.Width, &DecodeOptions{Compression: opt.Compression})
		if err != nil {
			b.Fatal(err)
		}
		defer cpuMetric(b)()
		var st Stats
		for b.Loop() {
			d.ResetBytes(data)
			if st, err = d.ReadPage(out); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		if !bytes.Equal(out.Pix, page.Pix) || st.BadRows != 0 || st.Rows != page.Height {
			b.Fatal("decoded page differs")
		}
	})
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
// one-call API (its set-up per call is part of the cost), into a reused
// Bitmap.
func BenchmarkDecodeInto(b *testing.B) {
	eachBenchPage(b, func(b *testing.B, opt *EncodeOptions, page *Bitmap, data []byte) {
		out := NewBitmap(page.Width, page.Height)
		dopt := &DecodeOptions{Compression: opt.Compression}
		defer cpuMetric(b)()
		var st Stats
		var err error
		for b.Loop() {
			if st, err = DecodeInto(out, data, dopt); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		if !bytes.Equal(out.Pix, page.Pix) || st.BadRows != 0 || st.Rows != page.Height {
			b.Fatal("decoded page differs")
		}
	})
}

// BenchmarkAppendPageFunc codes whole pages with the AppendPage function,
// the one-call API (BenchmarkAppendPage reuses an Encoder), into a reused
// buffer.
func BenchmarkAppendPageFunc(b *testing.B) {
	eachBenchPage(b, func(b *testing.B, opt *EncodeOptions, page *Bitmap, data []byte) {
		buf := make([]byte, 0, 2*len(data)+64<<10) // room for the coder's per-row slack
		defer cpuMetric(b)()
		var got []byte
		var err error
		for b.Loop() {
			if got, err = AppendPage(buf[:0], page, opt); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		if !bytes.Equal(got, data) {
			b.Fatal("coded page differs")
		}
	})
}

// BenchmarkFillRow times fillRow alone on every row of the corpus pages
// (and the pages beside it) from their changing-element lists: the part of
// a decode that turns lists into pixels.
func BenchmarkFillRow(b *testing.B) {
	pages := append(corpusPages(), stressPages()...)
	for _, p := range pages {
		b.Run(p.name, func(b *testing.B) {
			pg := p.page
			tail := make([]byte, 8)
			var lists [][]int32
			for y := range pg.Height {
				lists = append(lists, changes(tail, pg.Row(y), pg.Width, make([]int32, pg.Width+8)))
			}
			dst := make([]byte, pg.Stride)
			b.SetBytes(int64(len(pg.Pix)))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				for _, l := range lists {
					fillRow(dst, l, pg.Width)
				}
			}
		})
	}
}
