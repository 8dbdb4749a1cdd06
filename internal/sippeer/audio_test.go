package sippeer

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit/t4"
	"github.com/faxkit/faxkit/tiff"
)

// smallPage writes a synthetic fine page of 150 rows (a few seconds of
// modem time) as a TIFF.
func smallPage(t *testing.T) string {
	t.Helper()
	b := t4.NewBitmap(1728, 150)
	for y := range 150 {
		row := b.Row(y)
		for x := range 1728 {
			if (x/13+y/7)%3 == 0 {
				row[x/8] |= 0x80 >> (x % 8)
			}
		}
	}
	name := filepath.Join(t.TempDir(), "small.tif")
	f, err := os.Create(name)
	require.NoError(t, err)
	defer f.Close()
	bw := bufio.NewWriter(f)
	w, err := tiff.NewWriter(bw, nil)
	require.NoError(t, err)
	require.NoError(t, w.WritePage(b, &tiff.PageOptions{Resolution: tiff.ResFine}))
	require.NoError(t, w.Close())
	require.NoError(t, bw.Flush())
	return name
}

// TestPeerToPeerAudio proves the audio mode: two sipfaxpeers on
// libspandsp's audio fax engine over G.711 RTP (PCMA), in real time (V.17
// with ECM between two spandsp ends), the page pixel-exact, and no T.38
// asked for by either side.
func TestPeerToPeerAudio(t *testing.T) {
	t.Parallel()
	src := smallPage(t)
	rx := filepath.Join(t.TempDir(), "rx.tif")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	b := Start(ctx, t, Config{Role: UAS, File: rx, Audio: "pcma", Timeout: 80 * time.Second})
	a := Start(ctx, t, Config{Role: UAC, Send: true, File: src, To: b.URI("fax"), Audio: "pcma", Timeout: 80 * time.Second})
	ra, err := a.Wait()
	require.NoError(t, err)
	rb, err := b.Wait()
	require.NoError(t, err)
	t.Logf("uac %+v", ra)
	t.Logf("uas %+v", rb)
	assert.True(t, ra.OK, "uac: %s", ra.Result)
	assert.True(t, rb.OK, "uas: %s", rb.Result)
	assert.Equal(t, "audio", ra.Media)
	assert.Equal(t, "audio", rb.Media)
	assert.Zero(t, ra.ReinvitesSent+rb.ReinvitesSent, "audio mode never asks for T.38")
	assert.Equal(t, PagePixels(t, src), PagePixels(t, rx), "received page differs from the sent one")
	if t.Failed() {
		t.Logf("uac log:\n%s\nuas log:\n%s", a.Log(), b.Log())
	}
}
