package tiff

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/faxkit/faxkit/t4"
	"github.com/stretchr/testify/require"
)

var updateSeeds = flag.Bool("update-seeds", false, "rewrite testdata/fuzz/FuzzReader seeds made by our writer")

// fuzzLimits keep one fuzz input cheap: small pages, few pages.
var fuzzLimits = Limits{MaxPages: 16, MaxPixels: 1 << 20, MaxImageBytes: 8 << 20, MaxStrips: 4096, MaxValueBytes: 1 << 16, MaxStreamBuffer: 1 << 20}

// FuzzReader feeds arbitrary bytes to the reader: it must never panic or
// allocate beyond its limits, errors must wrap a sentinel, and every page it
// does decode must survive a round trip through our writer.
func FuzzReader(f *testing.F) {
	for _, m := range writeModes {
		f.Add(writeDoc(f, &m.cfg, []*t4.Bitmap{synthPage(61, 9, 1), synthPage(40, 5, 2)}, nil))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// The stream reader on the same bytes: no panic, sentinel errors.
		if sr, err := NewStreamReader(bytes.NewBuffer(data), &ReaderConfig{Limits: fuzzLimits}); err != nil {
			checkSentinel(t, err)
		} else {
			for p, err := range sr.Pages() {
				if err != nil {
					checkSentinel(t, err)
					break
				}
				if _, err := p.Bitmap(); err != nil {
					checkSentinel(t, err)
				}
			}
		}
		r, err := NewReader(bytes.NewReader(data), int64(len(data)), &ReaderConfig{Limits: fuzzLimits})
		if err != nil {
			checkSentinel(t, err)
			return
		}
		for {
			p, err := r.Next()
			if err == io.EOF {
				return
			}
			if err != nil {
				checkSentinel(t, err)
				return
			}
			b, err := p.Bitmap()
			if err != nil {
				checkSentinel(t, err)
				continue
			}
			if b.Width != p.Info.Width || b.Height != p.Info.Height {
				t.Fatalf("bitmap %dx%d for a %dx%d page", b.Width, b.Height, p.Info.Width, p.Info.Height)
			}
			var buf bytes.Buffer
			w, _ := NewWriter(&buf, &WriterConfig{Compression: CompressionGroup4})
			if err := w.WritePage(b, nil); err != nil {
				t.Fatalf("writing a decoded page: %v", err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			got, _ := readDoc(t, buf.Bytes())
			if d := diffBitmaps(b, got[0]); d != "" {
				t.Fatalf("round trip of a decoded page: %s", d)
			}
		}
	})
}

func checkSentinel(t *testing.T, err error) {
	t.Helper()
	for _, s := range []error{ErrCorrupt, ErrUnsupported, ErrTooLarge} {
		if errorsIs(err, s) {
			return
		}
	}
	t.Fatalf("error wraps no sentinel: %v", err)
}

// TestWriteFuzzSeeds rewrites the seed files made by our writer (run with
// -update-seeds). The other seeds (from libtiff and ImageMagick) are
// described in testdata/README.md.
func TestWriteFuzzSeeds(t *testing.T) {
	if !*updateSeeds {
		t.Skip("run with -update-seeds to rewrite the seeds")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzReader")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	for _, m := range writeModes {
		for _, fo := range []FillOrder{MSBFirst, LSBFirst} {
			cfg := m.cfg
			cfg.FillOrder = fo
			data := writeDoc(t, &cfg, []*t4.Bitmap{synthPage(61, 9, 1), synthPage(40, 5, 2)}, nil)
			name := filepath.Join(dir, fmt.Sprintf("faxkit-%s-%s", m.name, fo))
			require.NoError(t, os.WriteFile(name, []byte(fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)), 0o644))
		}
	}
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }

// FuzzPackBits checks that PackBits rows decode to what was coded, and that
// decoding arbitrary bytes stays within its output.
func FuzzPackBits(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 1, 2, 3, 3, 3, 4})
	f.Add(bytes.Repeat([]byte{0xaa}, 300))
	f.Fuzz(func(t *testing.T, row []byte) {
		var buf bytes.Buffer
		packBits(&buf, row)
		got := make([]byte, len(row))
		if err := unpackBits(bufio.NewReader(&buf), got); err != nil {
			t.Fatalf("decoding our own coding: %v", err)
		}
		if !bytes.Equal(row, got) {
			t.Fatalf("round trip: got %x, want %x", got, row)
		}
		if buf.Len() != 0 {
			t.Fatalf("%d bytes left after the row", buf.Len())
		}
		// Arbitrary input as coded data: fills at most the row.
		_ = unpackBits(bufio.NewReader(bytes.NewReader(row)), make([]byte, 17))
	})
}
