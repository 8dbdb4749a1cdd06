package spandsp

import (
	"context"
	"crypto/sha256"
	"fmt"
	"image"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	xtiff "golang.org/x/image/tiff"

	"github.com/faxkit/faxkit/internal/peertest"
)

// freeAddrs returns two loopback UDP addresses that were free a moment ago.
func freeAddrs(t *testing.T) (string, string) {
	t.Helper()
	var addrs [2]string
	var conns [2]net.PacketConn
	for i := range conns {
		c, err := net.ListenPacket("udp4", "127.0.0.1:0")
		require.NoError(t, err)
		conns[i] = c
		addrs[i] = c.LocalAddr().String()
	}
	for _, c := range conns {
		c.Close()
	}
	return addrs[0], addrs[1]
}

// pagePixels decodes every page of a bilevel TIFF through libtiff (tiffcp
// -c none) and returns the SHA-256 of each page's packed rows (1 = black).
func pagePixels(t *testing.T, file string) []string {
	t.Helper()
	tiffcp := peertest.Program(t, "tiffcp", "apt-get install libtiff-tools")
	tiffsplit := peertest.Program(t, "tiffsplit", "apt-get install libtiff-tools")
	dir := t.TempDir()
	out, err := exec.Command(tiffsplit, file, filepath.Join(dir, "p")).CombinedOutput()
	require.NoError(t, err, "%s", out)
	pages, _ := filepath.Glob(filepath.Join(dir, "p*.tif"))
	var sums []string
	for _, p := range pages {
		raw := p + ".raw.tif"
		out, err := exec.Command(tiffcp, "-c", "none", "-f", "msb2lsb", p, raw).CombinedOutput()
		require.NoError(t, err, "%s", out)
		f, err := os.Open(raw)
		require.NoError(t, err)
		img, err := xtiff.Decode(f)
		f.Close()
		require.NoError(t, err)
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
	return fmt.Sprintf("%x", h.Sum(nil))[:16]
}

// TestPeerToPeer holds spandsp-to-spandsp calls through the harness's own
// UDPTL: it proves the peer builds and calls end, and gives the baseline
// that faxkit's calls with the same peer are compared with.
func TestPeerToPeer(t *testing.T) {
	data := peertest.SharedTestdata(t)
	src := filepath.Join(data, "ccitt", "itu1.tif")
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"ecm", Config{}},
		{"non-ecm-mh", Config{NoECM: true, Compression: "mh"}},
		{"ecm-v3-loss20-redundancy3", Config{Version: 3, Loss: 20}},
		{"ecm-v0-loss20-fec3x3", Config{FEC: true, Loss: 20}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := freeAddrs(t)
			rx := filepath.Join(t.TempDir(), "rx.tif")
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			rcfg, scfg := tc.cfg, tc.cfg
			rcfg.File, rcfg.Local, rcfg.Remote, rcfg.Seed = rx, b, a, 1
			scfg.Send, scfg.File, scfg.Local, scfg.Remote, scfg.Seed = true, src, a, b, 2
			rcfg.Speedup, scfg.Speedup = 25, 25
			r := Start(ctx, t, rcfg)
			s := Start(ctx, t, scfg)
			sres, err := s.Wait()
			require.NoError(t, err)
			rres, err := r.Wait()
			require.NoError(t, err)
			assert.True(t, sres.OK, "sender: %+v", sres)
			assert.True(t, rres.OK, "receiver: %+v", rres)
			assert.Equal(t, 1, rres.Pages)
			assert.Equal(t, !tc.cfg.NoECM, rres.ECM)
			switch {
			case tc.cfg.Loss > 0 && tc.cfg.FEC:
				// Both sides send FEC: each rebuilds what the other lost.
				assert.Positive(t, rres.IFPRecoveredFEC, "receiver: 20%% loss with FEC must rebuild packets")
				assert.Positive(t, sres.IFPRecoveredFEC, "sender: 20%% loss with FEC must rebuild packets")
				assert.Zero(t, rres.IFPRecovered+sres.IFPRecovered, "no secondaries were sent")
				assert.Zero(t, rres.FECRebuildRejected+sres.FECRebuildRejected, "parity that matches no group")
			case tc.cfg.Loss > 0:
				assert.Positive(t, rres.IFPRecovered, "20%% loss with redundancy must recover packets")
			}
			t.Logf("sender %+v\nreceiver %+v", sres, rres)
			if rres.BadRows == 0 {
				// The README of the shared data gives itu1's pixel hash.
				assert.Equal(t, []string{"b4de070c35e376e8"}, pagePixels(t, rx))
			}
		})
	}
}
