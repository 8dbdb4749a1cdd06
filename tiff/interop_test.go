package tiff

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faxkit/faxkit/internal/peertest"
	"github.com/faxkit/faxkit/t4"
	"github.com/stretchr/testify/require"
)

// Interop with independent peers: libtiff (through its tools and a small C
// harness of ours, testdata/libtiffpeer/peer.c, linked against libtiff) and
// ImageMagick. Pages are compared pixel by pixel through P4 PBM files, a
// format simple enough to leave no room for interpretation.

const (
	hintLibtiff = "apt-get install libtiff-tools"
	hintIM      = "apt-get install imagemagick"
)

func libtiffPeer(t *testing.T) string {
	t.Helper()
	flags := peertest.CFlags(t, "libtiff-4", "apt-get install libtiff-dev")
	return peertest.BuildC(t, "peer", []string{"testdata/libtiffpeer/peer.c"}, flags...)
}

// writePBM writes b as a P4 PBM (1 = black, rows packed MSB first, as in
// t4.Bitmap).
func writePBM(t testing.TB, name string, b *t4.Bitmap) {
	t.Helper()
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "P4\n%d %d\n", b.Width, b.Height)
	buf.Write(b.Pix)
	require.NoError(t, os.WriteFile(name, buf.Bytes(), 0o644))
}

// pnmToken reads a PNM header token, skipping white space and # comments
// (ImageMagick writes the ImageDescription as one). It leaves the white
// space after the token unread.
func pnmToken(r *bufio.Reader) (string, error) {
	var tok []byte
	for {
		c, err := r.ReadByte()
		if err != nil {
			if len(tok) > 0 {
				return string(tok), nil
			}
			return "", err
		}
		switch {
		case c == '#' && len(tok) == 0:
			if _, err := r.ReadString('\n'); err != nil {
				return "", err
			}
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			if len(tok) > 0 {
				return string(tok), r.UnreadByte()
			}
		default:
			tok = append(tok, c)
		}
	}
}

// readPBMs parses concatenated P4 PBM images, or P5 PGM images of a
// bilevel page (ImageMagick writes PGM much faster than PBM): 0 is black,
// maxval white, and nothing else may occur.
func readPBMs(t testing.TB, data []byte) []*t4.Bitmap {
	t.Helper()
	r := bufio.NewReader(bytes.NewReader(data))
	var out []*t4.Bitmap
	for {
		magic, err := pnmToken(r)
		if err == io.EOF {
			return out
		}
		require.NoError(t, err)
		var w, h, maxv int
		for _, dst := range []*int{&w, &h} {
			tok, err := pnmToken(r)
			require.NoError(t, err)
			_, err = fmt.Sscan(tok, dst)
			require.NoError(t, err)
		}
		if magic == "P5" {
			tok, err := pnmToken(r)
			require.NoError(t, err)
			_, err = fmt.Sscan(tok, &maxv)
			require.NoError(t, err)
			require.True(t, maxv > 0 && maxv < 256, "maxval %d", maxv)
		} else {
			require.Equal(t, "P4", magic)
		}
		_, err = r.ReadByte() // the single whitespace before the raster
		require.NoError(t, err)
		b := t4.NewBitmap(w, h)
		if magic == "P4" {
			_, err = io.ReadFull(r, b.Pix)
			require.NoError(t, err)
			clearPadding(b, 0, h)
		} else {
			g := make([]byte, w*h)
			_, err = io.ReadFull(r, g)
			require.NoError(t, err)
			for i, v := range g {
				require.True(t, v == 0 || int(v) == maxv, "grey level %d of %d in a bilevel page", v, maxv)
				b.SetBlack(i%w, i/w, v == 0)
			}
		}
		out = append(out, b)
	}
}

func run(t testing.TB, name string, args ...string) (stdout, stderr []byte) {
	t.Helper()
	var o, e bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	require.NoError(t, err, "%s %s\nstderr: %s", name, strings.Join(args, " "), e.String())
	return o.Bytes(), e.Bytes()
}

var interopPages = []*t4.Bitmap{synthPage(1728, 400, 11), synthPage(1731, 97, 12)}

func TestInteropLibtiffReadsOurs(t *testing.T) {
	tiffinfo := peertest.Program(t, "tiffinfo", hintLibtiff)
	tiffcp := peertest.Program(t, "tiffcp", hintLibtiff)
	peer := libtiffPeer(t)
	dir := t.TempDir()
	for _, m := range writeModes {
		for _, fo := range []FillOrder{MSBFirst, LSBFirst} {
			t.Run(m.name+"/"+fo.String(), func(t *testing.T) {
				cfg := m.cfg
				cfg.FillOrder = fo
				cfg.PageCount = len(interopPages)
				name := filepath.Join(dir, m.name+fo.String()+".tif")
				// Every optional tag we write, so that libtiff checks them too.
				opts := []*PageOptions{
					{Resolution: ResStandard, DateTime: time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC), Description: "test"},
					{Resolution: ResSuperfine, Quality: &FaxQuality{BadLines: 2, Clean: FaxRegenerated, ConsecutiveBadLines: 1}},
				}
				require.NoError(t, os.WriteFile(name, writeDoc(t, &cfg, interopPages, opts), 0o644))

				// tiffinfo -D decodes every strip; it must not warn.
				out, stderr := run(t, tiffinfo, "-D", name)
				require.Empty(t, string(stderr), "tiffinfo -D warnings")
				require.Equal(t, len(interopPages), strings.Count(string(out), "TIFF Directory at offset"))
				wants := []string{"Resolution: 204, 98 pixels/inch", "Resolution: 204, 391 pixels/inch",
					"DateTime: 2026:11:23 08:00:00", "Page Number: 0-2", "Page Number: 1-2", "Software: faxkit",
					"FillOrder: " + map[FillOrder]string{MSBFirst: "msb-to-lsb", LSBFirst: "lsb-to-msb"}[fo]}
				if cfg.Compression != CompressionNone && cfg.Compression != CompressionPackBits {
					wants = append(wants, "Bad Fax Lines: 2", "Consecutive Bad Fax Lines: 1", "Fax Data: receiver regenerated")
				}
				for _, want := range wants {
					require.Contains(t, string(out), want)
				}

				// libtiff's decoding, pixel by pixel.
				pbm, stderr := run(t, peer, "read", name)
				require.Empty(t, string(stderr))
				got := readPBMs(t, pbm)
				require.Len(t, got, len(interopPages))
				for i := range got {
					require.Empty(t, diffBitmaps(interopPages[i], got[i]), "page %d decoded by libtiff", i)
				}

				// tiffcp -c none: libtiff rewrites it uncompressed.
				plain := filepath.Join(dir, m.name+fo.String()+"-none.tif")
				_, stderr = run(t, tiffcp, "-c", "none", name, plain)
				require.Empty(t, string(stderr), "tiffcp warnings")
				got, _ = readDoc(t, readFile(t, plain))
				require.Len(t, got, len(interopPages))
				for i := range got {
					require.Empty(t, diffBitmaps(interopPages[i], got[i]), "page %d via tiffcp -c none", i)
				}
			})
		}
	}
}

func TestInteropWeReadLibtiff(t *testing.T) {
	peer := libtiffPeer(t)
	dir := t.TempDir()
	var pbms []string
	for i, p := range interopPages {
		n := filepath.Join(dir, fmt.Sprintf("p%d.pbm", i))
		writePBM(t, n, p)
		pbms = append(pbms, n)
	}
	for _, comp := range []string{"none", "packbits", "rle", "g3", "g3-2d", "g3-fill", "g3-2d-fill", "g4", "lzw", "zip"} {
		for _, fill := range []string{"1", "2"} {
			for _, rps := range []string{"0", "64"} {
				t.Run(comp+"/fill"+fill+"/rps"+rps, func(t *testing.T) {
					name := filepath.Join(dir, comp+fill+rps+".tif")
					run(t, peer, append([]string{"write", name, comp, fill, rps}, pbms...)...)
					got, infos := readDoc(t, readFile(t, name))
					require.Len(t, got, len(interopPages))
					for i := range got {
						require.Empty(t, diffBitmaps(interopPages[i], got[i]), "page %d", i)
						require.Equal(t, ResFine, infos[i].Resolution())
						require.Equal(t, i, infos[i].PageNumber)
					}
				})
			}
		}
	}
}

func TestInteropTiffcpRecodes(t *testing.T) {
	tiffcp := peertest.Program(t, "tiffcp", hintLibtiff)
	dir := t.TempDir()
	src := filepath.Join(dir, "src.tif")
	require.NoError(t, os.WriteFile(src, writeDoc(t, &WriterConfig{Compression: CompressionNone, FillOrder: MSBFirst}, interopPages, nil), 0o644))
	for _, c := range []string{"none", "packbits", "g3", "g3:2d", "g3:fill", "g3:2d:fill", "g4", "lzw", "zip"} {
		for _, args := range [][]string{{}, {"-f", "lsb2msb", "-r", "50"}, {"-B"}, {"-t", "-w", "256", "-l", "48"}, {"-8"}} {
			name := c + strings.Join(args, "")
			t.Run(name, func(t *testing.T) {
				out := filepath.Join(dir, strings.ReplaceAll(name, ":", "_")+".tif")
				run(t, tiffcp, append(append([]string{"-c", c}, args...), src, out)...)
				got, _ := readDoc(t, readFile(t, out))
				require.Len(t, got, len(interopPages))
				for i := range got {
					require.Empty(t, diffBitmaps(interopPages[i], got[i]), "page %d", i)
				}
			})
		}
	}
}

// imModes is the subset of writeModes checked with ImageMagick, which is
// slow to start: every compression once, and both fill orders.
var imModes = []struct {
	name string
	cfg  WriterConfig
}{
	{"G3-1D", WriterConfig{Compression: CompressionGroup3, FillOrder: LSBFirst}},
	{"G3-2D-aligned", WriterConfig{Compression: CompressionGroup3, TwoD: true, AlignEOL: true, FillOrder: MSBFirst}},
	{"G4-msb", WriterConfig{Compression: CompressionGroup4, FillOrder: MSBFirst}},
	{"G4-lsb", WriterConfig{Compression: CompressionGroup4, FillOrder: LSBFirst}},
	{"RLE", WriterConfig{Compression: CompressionCCITTRLE, FillOrder: LSBFirst}},
	{"none", WriterConfig{Compression: CompressionNone, FillOrder: LSBFirst}},
	{"PackBits", WriterConfig{Compression: CompressionPackBits, FillOrder: MSBFirst}},
}

func TestInteropImageMagickReadsOurs(t *testing.T) {
	identify := peertest.Program(t, "identify", hintIM)
	convert := peertest.Program(t, "convert", hintIM)
	dir := t.TempDir()
	// ImageMagick is slow to start: one identify and one convert for all.
	var names []string
	for _, m := range imModes {
		name := filepath.Join(dir, m.name+".tif")
		opts := []*PageOptions{
			{Resolution: ResStandard, DateTime: time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC), Description: "test"},
			{Resolution: ResFine, Quality: &FaxQuality{BadLines: 2, Clean: FaxRegenerated, ConsecutiveBadLines: 1}},
		}
		require.NoError(t, os.WriteFile(name, writeDoc(t, &m.cfg, interopPages, opts), 0o644))
		names = append(names, name)
	}
	out, stderr := run(t, identify, names...)
	require.Empty(t, string(stderr), "identify warnings")
	require.Equal(t, len(names)*len(interopPages), strings.Count(string(out), " TIFF "), "%s", out)
	pbm, stderr := run(t, convert, append(names, "pgm:-")...)
	require.Empty(t, string(stderr))
	got := readPBMs(t, pbm)
	require.Len(t, got, len(names)*len(interopPages))
	for i, m := range imModes {
		for j, want := range interopPages {
			require.Empty(t, diffBitmaps(want, got[i*len(interopPages)+j]), "%s page %d decoded by ImageMagick", m.name, j)
		}
	}
}

// convertMany runs ImageMagick once to write src with each settings list
// to its own file: convert -respect-parentheses src ( +clone SETTINGS
// -write OUT +delete ) ... null:
func convertMany(t *testing.T, convert, src string, outs []string, settings [][]string) {
	args := []string{"-respect-parentheses", src}
	for i, s := range settings {
		args = append(args, "(", "+clone")
		args = append(args, s...)
		args = append(args, "-write", outs[i], "+delete", ")")
	}
	run(t, convert, append(args, "null:")...)
}

func TestInteropWeReadImageMagickBilevel(t *testing.T) {
	convert := peertest.Program(t, "convert", hintIM)
	dir := t.TempDir()
	src := filepath.Join(dir, "src.pbm")
	page := interopPages[0]
	writePBM(t, src, page)
	tests := [][]string{
		{"-compress", "None"},
		{"-compress", "Fax"},
		{"-compress", "Fax", "-define", "tiff:fill-order=lsb", "-define", "tiff:rows-per-strip=33"},
		{"-compress", "Group4"},
		{"-compress", "Group4", "-define", "tiff:fill-order=lsb"},
		{"-compress", "LZW", "-define", "tiff:fill-order=lsb"},
		{"-compress", "Zip"},
		{"-compress", "RLE"},
	}
	var outs []string
	for i := range tests {
		outs = append(outs, filepath.Join(dir, fmt.Sprintf("%d.tif", i)))
	}
	convertMany(t, convert, src, outs, tests)
	for i, args := range tests {
		t.Run(strings.Join(args, ""), func(t *testing.T) {
			got, _ := readDoc(t, readFile(t, outs[i]))
			require.Len(t, got, 1)
			require.Empty(t, diffBitmaps(page, got[0]))
		})
	}
}

// greyTestImage is a grey ramp with some text-like black strokes.
func greyTestImage(w, h int) *image.Gray {
	g := image.NewGray(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := uint8(x * 255 / (w - 1))
			if (y/10)%3 == 0 && (x/7)%2 == 0 {
				v = 0
			}
			g.SetGray(x, y, color.Gray{Y: v})
		}
	}
	return g
}

func TestInteropWeReadImageMagickGreyAndColour(t *testing.T) {
	convert := peertest.Program(t, "convert", hintIM)
	dir := t.TempDir()
	g := greyTestImage(301, 120)
	src := filepath.Join(dir, "src.png")
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, g))
	require.NoError(t, os.WriteFile(src, buf.Bytes(), 0o644))
	tests := []struct {
		name  string
		args  []string
		exact bool
	}{
		{"grey-none", []string{"-type", "Grayscale", "-compress", "None"}, true},
		{"grey-lzw", []string{"-type", "Grayscale", "-compress", "LZW"}, true},
		{"grey-zip", []string{"-type", "Grayscale", "-compress", "Zip"}, true},
		{"grey-packbits", []string{"-type", "Grayscale", "-compress", "RLE"}, true},
		{"grey-jpeg", []string{"-type", "Grayscale", "-compress", "JPEG", "-quality", "95"}, false},
		{"rgb-lzw", []string{"-type", "TrueColor", "-compress", "LZW"}, true},
		{"rgb-zip", []string{"-type", "TrueColor", "-compress", "Zip"}, true},
		{"rgb-jpeg", []string{"-type", "TrueColor", "-compress", "JPEG", "-quality", "95"}, false},
		{"palette-lzw", []string{"-type", "Palette", "-compress", "LZW"}, false}, // IM quantises
		{"grey-lzw-strips", []string{"-type", "Grayscale", "-compress", "LZW", "-define", "tiff:rows-per-strip=16"}, true},
		{"rgb-jpeg-strips", []string{"-type", "TrueColor", "-compress", "JPEG", "-quality", "95", "-define", "tiff:rows-per-strip=16"}, false},
	}
	var outs []string
	var settings [][]string
	for _, tt := range tests {
		outs = append(outs, filepath.Join(dir, tt.name+".tif"))
		settings = append(settings, tt.args)
	}
	convertMany(t, convert, src, outs, settings)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := outs[i]
			r, err := NewReader(bytes.NewReader(readFile(t, out)), int64(len(readFile(t, out))), nil)
			require.NoError(t, err)
			p, err := r.Next()
			require.NoError(t, err)
			img, err := p.Image()
			require.NoError(t, err)
			require.Equal(t, g.Bounds(), img.Bounds())
			var maxErr int
			for y := 0; y < g.Rect.Dy(); y++ {
				for x := 0; x < g.Rect.Dx(); x++ {
					want := int(g.GrayAt(x, y).Y)
					got := int(color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y)
					maxErr = max(maxErr, abs(want-got))
				}
			}
			if tt.exact {
				require.LessOrEqual(t, maxErr, 1, "lossless page differs") // RGB->grey rounding
			} else {
				require.LessOrEqual(t, maxErr, 40, "JPEG page too far from the source")
			}
			// And as a fax page: thresholded at mid-grey.
			b, err := p.Bitmap()
			require.NoError(t, err)
			require.Equal(t, 1, int(b.ColorIndexAt(0, 0)), "black stroke at the origin")
			require.Equal(t, 0, int(b.ColorIndexAt(300, 15)), "white at the right end of the ramp")
		})
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// The ITU test pages (G4, written by an independent tool; see
// testdata/ccitt/README.md at the repository root) decode to the PBMs' pixels.
func TestSharedITUPages(t *testing.T) {
	dir := filepath.Join(peertest.SharedTestdata(t), "ccitt")
	want := map[string]string{
		"itu1.tif": "b4de070c35e376e8", "itu2.tif": "36bef714ea315e8c",
		"itu3.tif": "fc06f13146d3b7d7", "itu4.tif": "c86239c32c27bede",
		"itu5.tif": "0ec3a75089bb5234", "itu6.tif": "bb69e36efdaa54f5",
		"itu7.tif": "04aba43b3f0d5aed", "itu8.tif": "30af73b241a6c02b",
	}
	for name, sum := range want {
		t.Run(name, func(t *testing.T) {
			got, infos := readDoc(t, readFile(t, filepath.Join(dir, name)))
			require.Len(t, got, 1)
			require.Equal(t, 1728, got[0].Width)
			require.Equal(t, 2376, got[0].Height)
			require.Equal(t, ResFine, infos[0].Resolution())
			h := sha256.Sum256(got[0].Pix)
			require.Equal(t, sum, hex.EncodeToString(h[:8]))
		})
	}
}
