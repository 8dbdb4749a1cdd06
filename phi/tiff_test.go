package phi

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/faxkit/faxkit/internal/peertest"
	"github.com/faxkit/faxkit/t4"
	"github.com/faxkit/faxkit/tiff"
	"github.com/stretchr/testify/require"
)

func decodeAll(t *testing.T, data []byte) []*t4.Bitmap {
	t.Helper()
	r, err := tiff.NewReader(bytes.NewReader(data), int64(len(data)), nil)
	require.NoError(t, err)
	var out []*t4.Bitmap
	for p, err := range r.Pages() {
		require.NoError(t, err)
		bm, err := p.Bitmap()
		require.NoError(t, err)
		out = append(out, bm)
	}
	return out
}

func TestTIFFPagesSealedRowByRow(t *testing.T) {
	ctx := context.Background()
	s, dir := testStore(t, newMemKeys(t, "k1"), Segment4KB)
	w, err := s.create(ctx, Metadata{ContentType: "image/tiff"})
	require.NoError(t, err)
	tw := NewTIFFWriter(w, &tiff.WriterConfig{Compression: tiff.CompressionGroup4})
	var want []*t4.Bitmap
	for i := 0; i < 3; i++ {
		bm := t4.NewBitmap(1728, 200)
		for y := 0; y < bm.Height; y++ {
			for x := (y * (i + 1)) % 97; x < bm.Width; x += 97 {
				bm.SetBlack(x, y, true)
			}
		}
		want = append(want, bm)
		pw, err := tw.NewPage(bm.Width, &tiff.PageOptions{Resolution: tiff.ResFine, Description: "Patient Jane Doe"})
		require.NoError(t, err)
		for y := 0; y < bm.Height; y++ {
			require.NoError(t, pw.WriteRow(bm.Row(y)))
		}
		require.NoError(t, pw.Close())
	}
	info, err := w.Commit()
	require.NoError(t, err)
	require.Equal(t, 3, info.Pages)

	// The description (PHI) is inside the sealed pages only.
	data, err := os.ReadFile(filepath.Join(dir, docsDir, info.ID+sealExt))
	require.NoError(t, err)
	require.NotContains(t, string(data), "Jane")

	d, err := s.open(ctx, info.ID)
	require.NoError(t, err)
	for i := 0; ; i++ {
		p, err := d.NextTIFFPage()
		if err == io.EOF {
			require.Equal(t, 3, i)
			break
		}
		require.NoError(t, err)
		require.Equal(t, tiff.ResFine, p.Info.Resolution())
		bm, err := p.Bitmap()
		require.NoError(t, err)
		require.Equal(t, want[i].Pix, bm.Pix, "page %d", i)
	}
	d.Close()
}

// TestSealTIFFInteropWithLibtiff seals the ITU test chart, exports it as a
// multi-page TIFF, and has libtiff (an independent decoder) decompress both
// the original and the export: the pixels must be identical.
func TestSealTIFFInteropWithLibtiff(t *testing.T) {
	tiffcp := peertest.Program(t, "tiffcp", "apt-get install libtiff-tools")
	ctx := context.Background()
	src := filepath.Join(peertest.SharedTestdata(t), "ccitt", "itu1.tif")
	orig, err := os.ReadFile(src)
	require.NoError(t, err)

	s, _ := testStore(t, newMemKeys(t, "k1"), Segment4KB)
	w, err := s.create(ctx, Metadata{ContentType: "image/tiff"})
	require.NoError(t, err)
	n, err := SealTIFF(w, bytes.NewReader(orig), int64(len(orig)), nil)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	info, err := w.Commit()
	require.NoError(t, err)

	d, err := s.open(ctx, info.ID)
	require.NoError(t, err)
	var exported bytes.Buffer
	n, err = d.WriteTIFF(&exported, &tiff.WriterConfig{Compression: tiff.CompressionGroup3, TwoD: true})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	d.Close()

	tmp := t.TempDir()
	exp := filepath.Join(tmp, "exported.tif")
	require.NoError(t, os.WriteFile(exp, exported.Bytes(), 0o600))
	libtiffDecode := func(in string) []*t4.Bitmap {
		out := filepath.Join(tmp, filepath.Base(in)+".raw.tif")
		b, err := exec.Command(tiffcp, "-c", "none", in, out).CombinedOutput()
		require.NoError(t, err, "%s", b)
		data, err := os.ReadFile(out)
		require.NoError(t, err)
		return decodeAll(t, data)
	}
	a, b := libtiffDecode(src), libtiffDecode(exp)
	require.Len(t, b, len(a))
	for i := range a {
		require.Equal(t, a[i].Width, b[i].Width)
		require.Equal(t, a[i].Height, b[i].Height)
		require.True(t, bytes.Equal(a[i].Pix, b[i].Pix), "page %d pixels differ after seal/export", i)
	}
}
