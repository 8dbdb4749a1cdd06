package sippeer

import (
	"crypto/sha256"
	"fmt"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"

	xtiff "golang.org/x/image/tiff"

	"github.com/faxkit/faxkit/internal/peertest"
)

// PagePixels decodes every page of a bilevel TIFF through libtiff (tiffsplit,
// then tiffcp -c none) and returns, per page, its width, height and the
// SHA-256 of its packed rows (1 = black): two files whose PagePixels are
// equal hold the same pages pixel for pixel, whatever their compression.
func PagePixels(t testing.TB, file string) []string {
	t.Helper()
	tiffcp := peertest.Program(t, "tiffcp", "apt-get install libtiff-tools")
	tiffsplit := peertest.Program(t, "tiffsplit", "apt-get install libtiff-tools")
	dir := t.TempDir()
	if out, err := exec.Command(tiffsplit, file, filepath.Join(dir, "p")).CombinedOutput(); err != nil {
		t.Fatalf("tiffsplit %s: %v\n%s", filepath.Base(file), err, out)
	}
	pages, _ := filepath.Glob(filepath.Join(dir, "p*.tif"))
	sort.Strings(pages)
	var sums []string
	for _, p := range pages {
		raw := p + ".raw"
		if out, err := exec.Command(tiffcp, "-c", "none", "-f", "msb2lsb", p, raw).CombinedOutput(); err != nil {
			t.Fatalf("tiffcp: %v\n%s", err, out)
		}
		f, err := os.Open(raw)
		if err != nil {
			t.Fatal(err)
		}
		img, err := xtiff.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("decoding page %s: %v", filepath.Base(p), err)
		}
		sums = append(sums, packedSum(img))
	}
	return sums
}

func packedSum(img image.Image) string {
	b := img.Bounds()
	stride := (b.Dx() + 7) / 8
	h := sha256.New()
	row := make([]byte, stride)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		clear(row)
		for x := b.Min.X; x < b.Max.X; x++ {
			r, _, _, _ := img.At(x, y).RGBA()
			if r < 0x8000 {
				row[(x-b.Min.X)/8] |= 0x80 >> uint((x-b.Min.X)%8)
			}
		}
		h.Write(row)
	}
	return fmt.Sprintf("%dx%d:%x", b.Dx(), b.Dy(), h.Sum(nil)[:8])
}
