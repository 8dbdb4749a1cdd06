package tiff

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"path/filepath"
	"testing"

	"github.com/faxkit/faxkit/t4"
	"github.com/stretchr/testify/require"
)

// The committed files in testdata/peers were written by libtiff and
// ImageMagick from a.pbm, b.pbm and g.pgm (see testdata/README.md). They
// keep the reader honest without the tools installed, and seed FuzzReader.

func readPNM(t *testing.T, name string) (w, h int, pix []byte) {
	data := readFile(t, filepath.Join("testdata", "peers", name))
	var magic string
	var maxv int
	r := bytes.NewReader(data)
	_, err := fmt.Fscan(r, &magic, &w, &h)
	require.NoError(t, err)
	if magic == "P5" {
		_, err = fmt.Fscan(r, &maxv)
		require.NoError(t, err)
	}
	_, _ = r.ReadByte()
	pix = data[len(data)-r.Len():]
	return w, h, pix
}

func pbmBitmap(t *testing.T, name string) *t4.Bitmap {
	w, h, pix := readPNM(t, name)
	b := t4.NewBitmap(w, h)
	copy(b.Pix, pix)
	return b
}

func TestPeerFilesBilevel(t *testing.T) {
	want := []*t4.Bitmap{pbmBitmap(t, "a.pbm"), pbmBitmap(t, "b.pbm")}
	for _, f := range []struct {
		name  string
		pages int
		big   bool
	}{
		{"g3.tif", 2, false}, {"g3-2d-fill.tif", 2, false}, {"g4.tif", 2, false}, {"rle.tif", 2, false},
		{"zip-be.tif", 2, false}, {"bigtiff-g4.tif", 2, true}, {"bigtiff-g3-2d.tif", 2, true},
		{"minisblack-packbits.tif", 1, false}, {"tiled-g3-2d.tif", 2, false}, {"tiled-g4.tif", 2, false},
	} {
		t.Run(f.name, func(t *testing.T) {
			data := readFile(t, filepath.Join("testdata", "peers", f.name))
			r, err := NewReader(bytes.NewReader(data), int64(len(data)), nil)
			require.NoError(t, err)
			require.Equal(t, f.big, r.BigTIFF())
			got, _ := readDoc(t, data)
			require.Len(t, got, f.pages)
			for i := range got {
				require.Empty(t, diffBitmaps(want[i], got[i]), "page %d", i)
			}
		})
	}
}

// ImageMagick's -depth 4 and -depth 2 truncate: level = v * (2^bits-1) / 255.
func TestPeerFilesLowDepthGrey(t *testing.T) {
	w, h, pix := readPNM(t, "g.pgm")
	for _, f := range []struct {
		name   string
		levels int
	}{{"grey4-lzw.tif", 15}, {"grey2-none.tif", 3}} {
		t.Run(f.name, func(t *testing.T) {
			data := readFile(t, filepath.Join("testdata", "peers", f.name))
			p := firstPage(t, data, nil)
			img, err := p.Image()
			require.NoError(t, err)
			g, ok := img.(*image.Gray)
			require.True(t, ok, "%T", img)
			for i, v := range pix[:w*h] {
				want := int(v) * f.levels / 255 * 255 / f.levels
				require.Equal(t, want, int(g.Pix[i]), "pixel %d", i)
			}
		})
	}
}

func TestPeerFilesGrey(t *testing.T) {
	w, h, pix := readPNM(t, "g.pgm")
	for _, f := range []struct {
		name    string
		meanErr float64 // JPEG at quality 50 on a saw-tooth ramp: a few levels
	}{
		{"grey-lzw.tif", 0}, {"grey-zip-pred.tif", 0}, {"grey-jpeg.tif", 6}, {"rgb-jpeg.tif", 6},
		{"bigtiff-grey-lzw.tif", 0},
		{"palette-lzw.tif", 9},         // 16 colours chosen by ImageMagick
		{"bigtiff-palette-zip.tif", 9}, // the same palette page in BigTIFF
	} {
		t.Run(f.name, func(t *testing.T) {
			data := readFile(t, filepath.Join("testdata", "peers", f.name))
			p := firstPage(t, data, nil)
			img, err := p.Image()
			require.NoError(t, err)
			require.Equal(t, w, img.Bounds().Dx())
			require.Equal(t, h, img.Bounds().Dy())
			sum := 0
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					g := color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y
					sum += abs(int(g) - int(pix[y*w+x]))
				}
			}
			mean := float64(sum) / float64(w*h)
			t.Logf("mean error %.2f", mean)
			require.LessOrEqual(t, mean, f.meanErr)
		})
	}
}
