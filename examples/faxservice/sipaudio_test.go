//go:build !race

package main

// Audio fax over SIP in the service, against an independent peer:
// sipfaxpeer (internal/sippeer: sofia-sip for SIP, libspandsp's audio fax
// engine on G.711 RTP) in audio mode, which answers every T.38 offer with
// 488. The service's re-INVITE is refused and the fax goes on in audio
// with faxkit's own modems, in both directions; with the policy "off" no
// re-INVITE is sent at all. Pages are compared pixel for pixel through
// libtiff, and each attempt says media "audio".
//
// Real time (G.711 at 20 ms packets, some 15-25 s a call), so not under
// the race detector, which slows the modems below real time: this file
// runs in scripts/test.sh's stage without -race.

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit/internal/sippeer"
	"github.com/faxkit/faxkit/t4"
)

// audioTestPage is a one-page fine document light enough for a quick
// audio call (a few kilobytes of MH), with marks in every band of rows so
// that a lost or shifted row changes it.
func audioTestPage() *t4.Bitmap {
	b := t4.NewBitmap(1728, 240)
	for y := range 240 {
		if (y/12)%3 == 2 {
			continue
		}
		row := b.Row(y)
		for x := range 1728 {
			if (x/13+y/12)%5 == 0 && (x*7+y*3)%97 < 40 {
				row[x/8] |= 0x80 >> (x % 8)
			}
		}
	}
	return b
}

func TestSIPAudioFax(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time audio fax calls")
	}
	t.Parallel()
	sippeer.Peer(t) // build it (or skip with the install hint) first
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	t.Cleanup(cancel) // the subtests run after this function returns
	src, doc := pageTIFF(t, audioTestPage())
	want := sippeer.PagePixels(t, src)

	// The carrier's far end: answers, receives in audio, refuses T.38.
	farAuto := sippeer.Config{Role: sippeer.UAS, Audio: "pcmu", File: filepath.Join(t.TempDir(), "rx-auto.tif"), Timeout: 120 * time.Second}
	farPeer := sippeer.Start(ctx, t, farAuto)
	auto := newEnv(t, func(c *Config) {
		c.Peers = map[string]string{}
		c.SIP = &SIPConfig{Listen: "127.0.0.1:0", Trunk: "sip:" + farPeer.SIP}
		c.CallTimeout = Duration(2 * time.Minute)
	})
	off := newEnv(t, func(c *Config) {
		c.Peers = map[string]string{}
		c.SIP = &SIPConfig{Listen: "127.0.0.1:0", Policy: "off", Codec: "pcma"}
		c.CallTimeout = Duration(2 * time.Minute)
	})
	_, alice := auto.user("alice", "sender")
	bobID, bob := auto.user("bob", "inbox")
	require.Equal(t, http.StatusOK, auto.json("PUT", "/v1/routes/+15550177", auto.admin, map[string]any{"targets": []string{bobID}}, nil))
	carolID, carol := off.user("carol", "inbox")
	require.Equal(t, http.StatusOK, off.json("PUT", "/v1/routes/+15550188", off.admin, map[string]any{"targets": []string{carolID}}, nil))

	// The three calls run at once: the service's T.38 re-INVITE refused
	// on an outbound and on an inbound call, and an inbound call to the
	// service whose policy is off.
	t.Run("outbound-488", func(t *testing.T) {
		t.Parallel()
		api := &remote{t: t, base: auto.base, client: auto.client}
		code, st, body := api.send(alice, nil, part{name: "to", data: []byte("+15550142")}, part{name: "file", file: "a.tif", data: doc})
		require.Equal(t, http.StatusAccepted, code, "%s", body)
		st = waitFor(api, alice, st.ID, 140*time.Second, func(s FaxStatus) bool { return s.Status == statusDelivered || s.Status == statusFailed })
		assert.Equal(t, statusDelivered, st.Status, "%+v", st.Attempts)
		if assert.Len(t, st.Attempts, 1) {
			assert.Equal(t, "audio", st.Attempts[0].Media, "the trunk refused T.38: the fax went in audio")
			assert.Equal(t, 1, st.Attempts[0].Pages)
		}
		pr, err := farPeer.Wait()
		require.NoError(t, err)
		t.Logf("far end: %+v", pr)
		assert.True(t, pr.OK, "far end: %s", pr.Result)
		assert.Equal(t, "audio", pr.Media)
		assert.Equal(t, 1, pr.ReinvitesRejected, "the far end refused the service's T.38 re-INVITE")
		assert.Equal(t, want, sippeer.PagePixels(t, farAuto.File), "the page the far end received differs")
	})
	inbound := func(e *testEnv, token, did, codec string, reinvites int) func(*testing.T) {
		return func(t *testing.T) {
			t.Parallel()
			api := &remote{t: t, base: e.base, client: e.client}
			caller := sippeer.Start(ctx, t, sippeer.Config{Role: sippeer.UAC, Send: true, File: src, Audio: codec,
				To: "sip:" + did + "@" + e.svc.sip.Addr().String(), Timeout: 120 * time.Second})
			pr, err := caller.Wait()
			require.NoError(t, err)
			t.Logf("caller: %+v", pr)
			assert.True(t, pr.OK, "caller: %s", pr.Result)
			assert.Equal(t, "audio", pr.Media)
			assert.Equal(t, reinvites, pr.ReinvitesRejected, "T.38 re-INVITEs the caller refused")
			st := inboundFax(api, token, 30*time.Second)
			assert.Equal(t, statusReceived, st.Status)
			if assert.Len(t, st.Attempts, 1) {
				assert.Equal(t, "audio", st.Attempts[0].Media)
			}
			assert.Equal(t, want, contentPixels(api, token, st.ID), "the page the service received differs")
			// The received call's T.30 trace, audio statistics included.
			receivedTrace(t, api, e.admin, st.ID, "audio", did[1:])
		}
	}
	t.Run("inbound-488", inbound(auto, bob, "+15550177", "pcma", 1))
	t.Run("inbound-policy-off", inbound(off, carol, "+15550188", "pcmu", 0))
	t.Cleanup(func() {
		for _, e := range []*testEnv{auto, off} {
			for _, n := range []string{"15550142", "15550177", "15550188"} {
				assert.NotContains(t, e.logs.String(), n, "a number in the logs")
			}
		}
	})
}
