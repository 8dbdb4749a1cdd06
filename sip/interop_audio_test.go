package sip_test

// Issue 17 over SIP against an independent peer: sipfaxpeer in audio mode
// (sofia-sip for SIP, libspandsp's audio fax engine fax_state_t on G.711
// RTP) refuses faxkit's T.38 re-INVITE with 488, and the fax completes in
// audio between faxkit's own modems (modem/fax) and spandsp's, every page
// pixel-exact. Real time (about 20 s a call), so not under -race.

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit/internal/sippeer"
	"github.com/faxkit/faxkit/sip"
	"github.com/faxkit/faxkit/t30"
	"github.com/faxkit/faxkit/t4"
	"github.com/faxkit/faxkit/tiff"
)

// writePageTIFF stores b as a one-page fine TIFF for the peer to send or
// to compare with.
func writePageTIFF(t *testing.T, b *t4.Bitmap) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "page.tif")
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

func TestInteropSofiaAudio488(t *testing.T) {
	if interopRace {
		t.Skip("real-time audio fax: the race detector slows the modems below real time")
	}
	t.Parallel()
	page := audioPage()
	src := writePageTIFF(t, page)
	for _, tc := range []struct {
		name    string
		fkCalls bool // faxkit calls and sends; else the peer calls and sends
		codec   string
		policy  sip.Policy
	}{
		{"faxkit-calls-sends-pcmu", true, "pcmu", sip.PolicyRequest},
		{"peer-calls-sends-pcma", false, "pcma", sip.PolicyAuto},
	} {
		t.Run(tc.name, func(t *testing.T) {
			realtimeSlot(t)
			ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
			defer cancel()
			e := newEndpoint(t, sip.Config{Policy: tc.policy, AudioFallback: true})
			pc := sippeer.Config{Audio: tc.codec, Timeout: 100 * time.Second}
			var got []t30.ReceivedPage
			var faxErr error
			var c *sip.Call
			if tc.fkCalls {
				pc.Role, pc.File = sippeer.UAS, filepath.Join(t.TempDir(), "rx.tif")
				peer := sippeer.Start(ctx, t, pc)
				logOnFailure(t, peer)
				var err error
				c, err = e.Dial(ctx, peer.URI("5551234"), nil)
				require.NoError(t, err)
				m, err := awaitAudioFax(ctx, c)
				require.NoError(t, err)
				faxErr = audioFax(ctx, c, m, &t30.BitmapDocument{Pages: []*t4.Bitmap{page}, Resolution: t30.ResFine}, nil)
				pr, err := peer.Wait()
				require.NoError(t, err)
				t.Logf("sipfaxpeer: %+v", pr)
				assert.True(t, pr.OK, "sipfaxpeer: %s", pr.Result)
				assert.Equal(t, "audio", pr.Media)
				assert.Equal(t, 1, pr.ReinvitesRejected, "the peer refused faxkit's T.38 re-INVITE")
				assert.Equal(t, 1, pr.Pages)
				assert.Equal(t, sippeer.PagePixels(t, src), sippeer.PagePixels(t, pc.File), "received page differs")
			} else {
				pc.Role, pc.Send, pc.File, pc.To = sippeer.UAC, true, src, e.URI("5551234")
				peer := sippeer.Start(ctx, t, pc)
				logOnFailure(t, peer)
				var err error
				c, err = e.Accept(ctx)
				require.NoError(t, err)
				m, err := awaitAudioFax(ctx, c)
				require.NoError(t, err)
				faxErr = audioFax(ctx, c, m, nil, &got)
				pr, err := peer.Wait()
				require.NoError(t, err)
				t.Logf("sipfaxpeer: %+v", pr)
				assert.True(t, pr.OK, "sipfaxpeer: %s", pr.Result)
				assert.Equal(t, "audio", pr.Media)
				assert.Equal(t, 1, pr.ReinvitesRejected, "the peer refused faxkit's T.38 re-INVITE")
				require.Len(t, got, 1)
				samePage(t, page, got[0])
			}
			require.NoError(t, faxErr)
			assert.Contains(t, ended, c.Result())
			_, t38 := c.SwitchDelay()
			assert.False(t, t38, "no T.38 flowed")
		})
	}
}
