package tiff

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faxkit/faxkit/internal/peertest"
	"github.com/faxkit/faxkit/t4"
	"github.com/stretchr/testify/require"
)

// libtiff's fax2tiff turns raw fax data, as a fax modem program stores it
// (mgetty's .g3 files, efax's raw pages), into TIFF Class F: the files of
// fax programs built on libtiff. Every input coding it reads and every
// output it writes must read back pixel-exactly, with the resolution given.
func TestInteropFax2tiff(t *testing.T) {
	fax2tiff := peertest.Program(t, "fax2tiff", hintLibtiff)
	peer := libtiffPeer(t)
	dir := t.TempDir()
	page := synthPage(1728, 300, 31)
	inputs := []struct {
		name  string
		flags []string
		opts  t4.EncodeOptions
	}{
		{"MH-lsb", nil, t4.EncodeOptions{BitOrder: t4.LSBFirst}},
		{"MH-msb-aligned", []string{"-M", "-A"}, t4.EncodeOptions{AlignEOL: true}},
		{"MR-lsb", []string{"-2"}, t4.EncodeOptions{Compression: t4.MR, K: 4, BitOrder: t4.LSBFirst}},
		{"MMR-lsb", []string{"-4"}, t4.EncodeOptions{Compression: t4.MMR, BitOrder: t4.LSBFirst}},
	}
	outputs := [][]string{
		{},                 // G3 2-D, EOL-aligned, LSB first, Class F
		{"-8"},             // G4
		{"-5", "-p", "-m"}, // G3 1-D, not aligned, MSB first
		{"-r", "16", "-c"}, // strips of 16 rows, classic TIFF
		{"-R", "98", "-s"}, // standard resolution stretched to fine
	}
	for _, in := range inputs {
		raw := filepath.Join(dir, in.name+".g3")
		require.NoError(t, os.WriteFile(raw, encodeRows(t, page, 0, page.Height, in.opts), 0o644))
		for _, out := range outputs {
			name := in.name + strings.Join(out, "")
			t.Run(name, func(t *testing.T) {
				tif := filepath.Join(dir, name+".tif")
				run(t, fax2tiff, append(append(append([]string{}, in.flags...), out...), "-o", tif, raw)...)
				got, infos := readDoc(t, readFile(t, tif))
				require.Len(t, got, 1)
				want := page
				if strings.Contains(name, "-s") {
					// -s doubles every row of a standard-resolution page.
					want = t4.NewBitmap(page.Width, 2*page.Height)
					for y := 0; y < want.Height; y++ {
						copy(want.Row(y), page.Row(y/2))
					}
				}
				// fax2tiff counts the EOLs of RTC as white rows (up to
				// 5, doubled with -s): the page, then white.
				b := got[0]
				require.GreaterOrEqual(t, b.Height, want.Height)
				require.LessOrEqual(t, b.Height, want.Height+10)
				require.Empty(t, diffBitmaps(want, &t4.Bitmap{Width: b.Width, Height: want.Height, Stride: b.Stride, Pix: b.Pix[:want.Height*b.Stride]}))
				require.Equal(t, make([]byte, (b.Height-want.Height)*b.Stride), b.Pix[want.Height*b.Stride:])
				// libtiff decodes the same pixels.
				pbm, stderr := run(t, peer, "read", tif)
				require.Empty(t, string(stderr))
				require.Empty(t, diffBitmaps(readPBMs(t, pbm)[0], b))
				require.Equal(t, ResFine, infos[0].Resolution())
			})
		}
	}
}
