package faxkit_test

import (
	"bytes"
	"testing"

	"github.com/faxkit/faxkit"
	"github.com/faxkit/faxkit/t30"
	"github.com/faxkit/faxkit/tiff"
)

// FuzzTIFFDocument feeds hostile files through faxkit.TIFF and encodes
// every page as a call would: no input may panic, and a document that
// opens must encode (or fail cleanly) in every coding. Limits keep
// decoded pages small so that the fuzzer explores structure, not size.
func FuzzTIFFDocument(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := tiff.NewReader(bytes.NewReader(data), int64(len(data)), &tiff.ReaderConfig{
			Limits: tiff.Limits{MaxPages: 4, MaxPixels: 4 << 20, MaxWidth: 4096, MaxHeight: 4096, MaxImageBytes: 16 << 20}})
		if err != nil {
			return
		}
		doc, err := faxkit.TIFF(r)
		if err != nil {
			return
		}
		if doc.NumPages() < 1 {
			t.Fatal("a document without pages opened")
		}
		for i := range doc.NumPages() {
			f := doc.Format(i)
			for _, m := range []t30.Mode{
				{Compression: t30.MH, Resolution: f.Resolution, Width: f.Width},
				{Compression: t30.MMR, ECM: true, Resolution: f.Resolution, Width: f.Width},
			} {
				b, err := doc.Encode(i, m)
				if err == nil && len(b) == 0 {
					t.Fatalf("page %d encoded to nothing", i+1)
				}
			}
		}
	})
}
