package sippeer

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit/internal/peertest"
)

// speedup runs T.30 in the peer-to-peer calls this many times faster than
// real time; SIP timers (491 back-off, re-INVITE) stay in real time.
const speedup = 10

// callPair holds one sofia-sip/spandsp call between two sipfaxpeers and
// returns what each side reports, after checking the received page against
// the sent one pixel for pixel when the fax got through.
func callPair(t *testing.T, uac, uas Config) (Result, Result) {
	t.Helper()
	src := filepath.Join(peertest.SharedTestdata(t), "ccitt", "itu1.tif")
	rx := filepath.Join(t.TempDir(), "rx.tif")
	if uac.Send {
		uac.File, uas.File = src, rx
	} else {
		uac.File, uas.File = rx, src
		uas.Send = true
	}
	uac.Role, uas.Role = UAC, UAS
	for _, c := range []*Config{&uac, &uas} {
		if c.Speedup == 0 {
			c.Speedup = speedup
		}
		if c.Timeout == 0 {
			c.Timeout = 40 * time.Second
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b := Start(ctx, t, uas)
	uac.To = b.URI("fax")
	a := Start(ctx, t, uac)
	ra, err := a.Wait()
	require.NoError(t, err)
	rb, err := b.Wait()
	require.NoError(t, err)
	t.Logf("uac %+v", ra)
	t.Logf("uas %+v", rb)
	if rb.Pages > 0 || ra.Pages > 0 {
		assert.Equal(t, PagePixels(t, src), PagePixels(t, rx), "received page differs from the sent one")
	}
	if t.Failed() {
		t.Logf("uac log:\n%s\nuas log:\n%s", a.Log(), b.Log())
	}
	return ra, rb
}

func requireFaxOK(t *testing.T, ra, rb Result) {
	t.Helper()
	require.True(t, ra.Delivered(1), "uac: %s (exit %d)", ra.Result, ra.Exit)
	require.True(t, rb.Delivered(1), "uas: %s (exit %d)", rb.Result, rb.Exit)
	assert.Equal(t, "t38", ra.Media)
	assert.Equal(t, "t38", rb.Media)
	assert.Equal(t, 1, ra.Pages)
	assert.Equal(t, 1, rb.Pages)
	assert.Equal(t, 200, ra.InviteStatus)
	assert.True(t, ra.ByeSent != rb.ByeSent, "exactly one side sends BYE")
	assert.Equal(t, ra.ByeSent, rb.ByeReceived)
	assert.Equal(t, rb.ByeSent, ra.ByeReceived)
}

// TestPeerToPeer proves the harness: sipfaxpeer against itself through every
// switch-to-T.38 path the faxkit interop tests drive.
func TestPeerToPeer(t *testing.T) {
	t.Parallel()
	t.Run("uac-reinvites", func(t *testing.T) {
		t.Parallel()
		ra, rb := callPair(t, Config{Send: true, T38: Request}, Config{T38: Await})
		requireFaxOK(t, ra, rb)
		assert.Equal(t, 1, ra.ReinvitesSent)
		assert.Equal(t, 200, ra.ReinviteStatus)
		assert.Equal(t, 1, rb.ReinvitesReceived)
		assert.Zero(t, rb.ReinvitesSent)
		assert.Positive(t, ra.RTPSent+rb.RTPSent, "the call starts in audio")
		assert.GreaterOrEqual(t, ra.T38SwitchMS, 0)
	})
	t.Run("uas-reinvites-uas-sends", func(t *testing.T) {
		t.Parallel()
		ra, rb := callPair(t, Config{T38: Await}, Config{T38: Request})
		requireFaxOK(t, ra, rb)
		assert.Equal(t, 1, rb.ReinvitesSent)
		assert.Equal(t, 200, rb.ReinviteStatus)
		assert.Equal(t, 1, ra.ReinvitesReceived)
		assert.Zero(t, ra.ReinvitesSent)
	})
	t.Run("uas-reinvites-rfc3264-style", func(t *testing.T) {
		t.Parallel()
		ra, rb := callPair(t, Config{Send: true, T38: Await}, Config{T38: Request, SDPBoth: true})
		requireFaxOK(t, ra, rb)
		assert.Equal(t, 1, ra.ReinvitesReceived)
	})
	t.Run("t38-in-initial-invite", func(t *testing.T) {
		t.Parallel()
		ra, rb := callPair(t, Config{Send: true, T38: Offer}, Config{T38: Await})
		requireFaxOK(t, ra, rb)
		assert.Zero(t, ra.ReinvitesSent+rb.ReinvitesSent+ra.ReinvitesReceived+rb.ReinvitesReceived)
		assert.Zero(t, ra.RTPSent+rb.RTPSent, "no audio before T.38")
	})
	t.Run("488-rejects-t38", func(t *testing.T) {
		t.Parallel()
		ra, rb := callPair(t, Config{Send: true, T38: Request}, Config{T38: Reject})
		assert.Equal(t, ExitRefused, ra.Exit, "uac: %s", ra.Result)
		assert.Equal(t, ExitRefused, rb.Exit, "uas: %s", rb.Result)
		assert.Equal(t, 488, ra.ReinviteStatus)
		assert.Equal(t, 1, rb.ReinvitesRejected)
		assert.Equal(t, "audio", ra.Media)
		assert.True(t, ra.ByeSent, "the refused side hangs up")
		assert.True(t, rb.ByeReceived)
		assert.Zero(t, ra.Pages+rb.Pages)
	})
	t.Run("488-rejects-initial-t38", func(t *testing.T) {
		t.Parallel()
		ra, rb := callPair(t, Config{Send: true, T38: Offer}, Config{T38: Reject})
		assert.Equal(t, ExitRefused, ra.Exit, "uac: %s", ra.Result)
		assert.Equal(t, ExitRefused, rb.Exit, "uas: %s", rb.Result)
		assert.Equal(t, 488, ra.InviteStatus)
	})
	t.Run("glare", func(t *testing.T) {
		t.Parallel()
		// Both sides re-INVITE as soon as the call is up. Whether the two
		// cross is a race by nature: under load one side's re-INVITE can
		// arrive before the other side has sent its own, and the call
		// then switches without glare (CI saw that once, under -race).
		// Such a call must still carry the fax; the call is then placed
		// again, up to three times, until the re-INVITEs cross.
		var ra, rb Result
		for attempt := 1; ; attempt++ {
			ra, rb = callPair(t, Config{Send: true, T38: Request}, Config{T38: Request})
			requireFaxOK(t, ra, rb)
			if ra.Glare491Received+rb.Glare491Received > 0 || attempt == 3 {
				break
			}
			t.Logf("attempt %d: the re-INVITEs did not cross (uac sent %d, uas sent %d); calling again",
				attempt, ra.ReinvitesSent, rb.ReinvitesSent)
			assert.Equal(t, 1, ra.ReinvitesSent+rb.ReinvitesSent, "without glare exactly one re-INVITE switches the call")
		}
		// Both re-INVITE at once and each gets 491 (sofia's nua answers
		// it); the side that does not own the Call-ID (the UAS) retries
		// after 0-2 s, before the UAC's 2.1-4 s (RFC 3261 section 14.1).
		assert.Equal(t, 1, ra.Glare491Received, "uac: no glare happened")
		assert.Equal(t, 1, rb.Glare491Received, "uas: no glare happened")
		assert.Zero(t, ra.ReinvitesSent, "the uac never re-INVITEs successfully")
		assert.Equal(t, 1, rb.ReinvitesSent, "the uas's retry succeeds")
		assert.Equal(t, 1, ra.ReinvitesReceived)
	})
	t.Run("refresh-mid-page", func(t *testing.T) {
		t.Parallel()
		ra, rb := callPair(t, Config{Send: true, T38: Request, RefreshAfter: 40}, Config{T38: Await})
		requireFaxOK(t, ra, rb)
		assert.Equal(t, 1, ra.RefreshSent)
		assert.Equal(t, 200, ra.RefreshStatus)
		assert.Equal(t, 1, rb.RefreshReceived)
	})
	t.Run("udptl-loss-10pct", func(t *testing.T) {
		t.Parallel()
		ra, rb := callPair(t, Config{Send: true, T38: Request, Loss: 10, Seed: 1}, Config{T38: Await, Loss: 10, Seed: 2})
		requireFaxOK(t, ra, rb)
		assert.Positive(t, ra.PacketsDropped)
		assert.Positive(t, rb.IFPRecovered, "redundancy recovers lost IFPs")
	})
}
