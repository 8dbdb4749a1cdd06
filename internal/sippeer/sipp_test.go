package sippeer

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit/internal/peertest"
)

// TestSIPpScenarios runs every SIPp scenario against sipfaxpeer (sofia-sip),
// so that the scenarios are known to be right before they judge faxkit.
func TestSIPpScenarios(t *testing.T) {
	t.Parallel()
	src := filepath.Join(peertest.SharedTestdata(t), "ccitt", "itu1.tif")
	for _, tc := range []struct {
		scenario string
		peer     Config // Role UAS: SIPp calls it; UAC: it calls SIPp
		exit     int    // the peer's exit status
		check    func(t *testing.T, r Result)
	}{
		{"uac_glare.xml", Config{Role: UAS, T38: Request}, ExitT30, func(t *testing.T, r Result) {
			assert.Equal(t, 1, r.Glare491Received)
			assert.Equal(t, 1, r.ReinvitesReceived)
			assert.Equal(t, "t38", r.Media)
			assert.True(t, r.ByeReceived)
		}},
		{"uac_reinvite_488.xml", Config{Role: UAS, T38: Request}, ExitRefused, func(t *testing.T, r Result) {
			assert.Equal(t, 488, r.ReinviteStatus)
			assert.True(t, r.ByeSent)
			assert.Equal(t, "audio", r.Media)
		}},
		{"uac_bye_midfax.xml", Config{Role: UAS, T38: Request}, ExitT30, func(t *testing.T, r Result) {
			assert.Equal(t, "t38", r.Media)
			assert.True(t, r.ByeReceived)
			assert.False(t, r.PhaseE)
		}},
		{"uac_reinvite_no_sdp.xml", Config{Role: UAS, T38: Await}, ExitSIP, func(t *testing.T, r Result) {
			assert.Equal(t, 1, r.NoSDPReinvites)
			assert.True(t, r.ByeReceived)
		}},
		{"uac_cancel.xml", Config{Role: UAS, T38: Await, AnswerDelay: 3 * time.Second}, ExitSIP, func(t *testing.T, r Result) {
			assert.Equal(t, "cancelled", r.Result)
		}},
		{"uac_malformed.xml", Config{Role: UAS, T38: Await}, ExitSIP, func(t *testing.T, r Result) {
			assert.True(t, r.ByeReceived, "the well-formed call after the malformed messages")
		}},
		{"uas_auth_register.xml", Config{Role: UAS, User: "faxkit", Password: "faxkit-secret", Timeout: 4 * time.Second},
			ExitTimeout, func(t *testing.T, r Result) {
				assert.Equal(t, 200, r.RegisterStatus)
			}},
		{"uas_auth_invite_488.xml", Config{Role: UAC, Send: true, T38: Request, User: "faxkit", Password: "faxkit-secret"},
			ExitRefused, func(t *testing.T, r Result) {
				assert.Equal(t, 200, r.InviteStatus)
				assert.Equal(t, 488, r.ReinviteStatus)
				assert.True(t, r.ByeSent)
			}},
		{"uas_proxy_auth_407.xml", Config{Role: UAC, Send: true, T38: Request, User: "faxkit", Password: "faxkit-secret"},
			ExitRefused, func(t *testing.T, r Result) {
				assert.Equal(t, 200, r.InviteStatus)
				assert.Equal(t, 488, r.ReinviteStatus)
			}},
		{"uas_cancel.xml", Config{Role: UAC, Send: true, Timeout: 2 * time.Second}, ExitTimeout, func(t *testing.T, r Result) {
			assert.Equal(t, 487, r.InviteStatus)
		}},
		{"uas_out_of_order.xml", Config{Role: UAC, Send: true, T38: Await}, ExitSIP, func(t *testing.T, r Result) {
			assert.Equal(t, 200, r.InviteStatus)
			assert.True(t, r.ByeReceived)
		}},
	} {
		t.Run(tc.scenario, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
			defer cancel()
			cfg := tc.peer
			if cfg.Timeout == 0 {
				cfg.Timeout = 30 * time.Second
			}
			if cfg.Send {
				cfg.File = src
			} else {
				cfg.File = filepath.Join(t.TempDir(), "rx.tif")
			}
			var sipp *SIPp
			var peer *Call
			switch {
			case strings.HasPrefix(tc.scenario, "uas_auth_register"):
				// SIPp is the registrar; nobody calls the peer afterwards.
				sipp = StartSIPp(ctx, t, SIPpConfig{Scenario: tc.scenario})
				time.Sleep(200 * time.Millisecond) // SIPp binds its port
				cfg.Register = sipp.URI("faxkit")
				peer = start(ctx, t, cfg, false)
			case cfg.Role == UAS:
				peer = Start(ctx, t, cfg)
				sipp = StartSIPp(ctx, t, SIPpConfig{Scenario: tc.scenario, Remote: peer.SIP})
			default:
				sipp = StartSIPp(ctx, t, SIPpConfig{Scenario: tc.scenario})
				time.Sleep(200 * time.Millisecond) // SIPp binds its port
				cfg.To = sipp.URI("fax")
				peer = Start(ctx, t, cfg)
			}
			serr := sipp.Wait()
			r, err := peer.Wait()
			require.NoError(t, err)
			require.NoError(t, serr, "peer log:\n%s", peer.Log())
			t.Logf("peer %+v", r)
			assert.Equal(t, tc.exit, r.Exit, "peer: %s", r.Result)
			if tc.check != nil {
				tc.check(t, r)
			}
		})
	}
}
