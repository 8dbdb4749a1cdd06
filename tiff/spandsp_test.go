package tiff

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faxkit/faxkit/internal/peertest"
	"github.com/faxkit/faxkit/t4"
	"github.com/stretchr/testify/require"
)

// spandsp sends our files: its T.4 transmitter (t4_tx) opens each file we
// write, as a spandsp-based fax server would, and its receiver (t4_rx)
// stores what it decoded as a received fax (T.6, FillOrder 2). We read that
// file back: both directions are pixel-exact. See testdata/spandsppeer.
func TestInteropSpandspSendsOursAndWeReadItsReceivedFax(t *testing.T) {
	flags := peertest.CFlags(t, "spandsp", "apt-get install libspandsp-dev")
	flags = append(flags, "-ltiff")
	relay := peertest.BuildC(t, "relay", []string{"testdata/spandsppeer/relay.c"}, flags...)
	dir := t.TempDir()
	pages := []*t4.Bitmap{synthPage(1728, 1100, 21), synthPage(1728, 600, 22)}
	res := []Resolution{ResStandard, ResFine, ResSuperfine}
	for _, m := range []struct {
		name string
		cfg  WriterConfig
		enc  string // spandsp's transmit encoding
	}{
		{"MH-lsb", WriterConfig{Compression: CompressionGroup3, FillOrder: LSBFirst}, "1"},
		{"MR-msb", WriterConfig{Compression: CompressionGroup3, TwoD: true, FillOrder: MSBFirst}, "2"},
		{"MMR-lsb", WriterConfig{Compression: CompressionGroup4, FillOrder: LSBFirst}, "3"},
		{"RLE-msb", WriterConfig{Compression: CompressionCCITTRLE, FillOrder: MSBFirst}, "3"},
	} {
		for _, r := range res {
			t.Run(m.name+"/"+r.String(), func(t *testing.T) {
				in := filepath.Join(dir, m.name+r.String()+".tif")
				out := filepath.Join(dir, m.name+r.String()+"-rx.tif")
				opts := []*PageOptions{{Resolution: r}, {Resolution: r}}
				require.NoError(t, os.WriteFile(in, writeDoc(t, &m.cfg, pages, opts), 0o644))
				stdout, _ := run(t, relay, in, out, m.enc)
				lines := strings.Split(strings.TrimSpace(string(stdout)), "\n")
				require.Equal(t, "pages 2", lines[0])
				for i, p := range pages {
					require.Equal(t, fmt.Sprintf("page %d %d 0", p.Width, p.Height), lines[1+i], "spandsp decoded page %d", i)
				}
				got, infos := readDoc(t, readFile(t, out))
				require.Len(t, got, len(pages))
				for i := range got {
					require.Empty(t, diffBitmaps(pages[i], got[i]), "page %d", i)
					require.Equal(t, r, infos[i].Resolution(), "resolution of spandsp's file (%v x %v per %v)",
						infos[i].XResolution, infos[i].YResolution, infos[i].ResolutionUnit)
					require.Equal(t, CompressionGroup4, infos[i].Compression)
				}
			})
		}
	}
}
