package sip_test

// SIP edge cases from SIPp scenarios (testdata/sipp, run by
// internal/sippeer) against faxkit's sip package. Each scenario is also run
// against sofia-sip in internal/sippeer, so a failure here is faxkit's.

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit/internal/sippeer"
	"github.com/faxkit/faxkit/sip"
)

// TestInteropSIPpUAS runs the uac_* scenarios: SIPp calls faxkit.
func TestInteropSIPpUAS(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		scenario string
		policy   sip.Policy
		fax      bool // run a receiving fax once T.38 is up
		want     sip.Result
		t38      bool // the call must reach T.38
	}{
		// faxkit's own re-INVITE meets a 491; SIPp's arrives at once and
		// must be accepted, and faxkit must not retry its own after that.
		{"uac_glare.xml", sip.PolicyRequest, false, sip.ResultRemoteHangup, true},
		// 488 to faxkit's T.38 re-INVITE: faxkit hangs up, "t38-refused".
		{"uac_reinvite_488.xml", sip.PolicyRequest, false, sip.ResultT38Refused, false},
		// BYE mid-fax: faxkit's fax stops, the call ends remote-hangup.
		{"uac_bye_midfax.xml", sip.PolicyRequest, true, sip.ResultRemoteHangup, true},
		// re-INVITE without SDP: faxkit offers in its 200, takes the answer
		// in the ACK.
		{"uac_reinvite_no_sdp.xml", sip.PolicyAwait, false, sip.ResultRemoteHangup, false},
		// Stray BYE (481), stray ACK, bad CSeq (400), short body, then a
		// well-formed call that must still work.
		{"uac_malformed.xml", sip.PolicyAwait, false, sip.ResultRemoteHangup, false},
		// RFC 4028: the INVITE's Min-SE: 1800 must come back in faxkit's
		// T.38 re-INVITE, with Session-Expires of at least that.
		{"uac_invite_min_se.xml", sip.PolicyRequest, false, sip.ResultRemoteHangup, true},
	} {
		t.Run(tc.scenario, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
			defer cancel()
			e := newEndpoint(t, sip.Config{Policy: tc.policy})
			type outcome struct {
				res sip.Result
				t38 bool
				err error
			}
			out := make(chan outcome, 1)
			go func() {
				c, err := e.Accept(ctx)
				if err != nil {
					out <- outcome{err: err}
					return
				}
				if tc.fax {
					o := fkFax(ctx, c, "", t.TempDir()+"/rx.tif")
					out <- outcome{res: o.result, t38: o.t38}
					return
				}
				_, err = fkAwaitT38(ctx, c)
				out <- outcome{res: c.Wait(ctx), t38: err == nil}
			}()
			s := sippeer.StartSIPp(ctx, t, sippeer.SIPpConfig{Scenario: tc.scenario, Remote: e.Addr().String(), Service: "5551234"})
			serr := s.Wait()
			var o outcome
			select {
			case o = <-out:
			case <-time.After(15 * time.Second):
				t.Fatalf("faxkit's call did not end 15 s after the scenario ended\nSIPp messages:\n%s", s.Messages())
			}
			require.NoError(t, serr)
			require.NoError(t, o.err)
			assert.Equal(t, tc.want, o.res)
			assert.Equal(t, tc.t38, o.t38, "T.38 reached")
		})
	}
}

// TestInteropSIPpUAC runs the uas_* scenarios: faxkit calls (or registers
// with) SIPp.
func TestInteropSIPpUAC(t *testing.T) {
	t.Parallel()
	creds := sip.Config{User: "faxkit", Password: "faxkit-secret"}
	for _, tc := range []struct {
		scenario string
		run      func(t *testing.T, ctx context.Context, s *sippeer.SIPp)
	}{
		{"uas_auth_register.xml", func(t *testing.T, ctx context.Context, s *sippeer.SIPp) {
			cfg := creds
			cfg.Register = s.URI("faxkit")
			e := newEndpoint(t, cfg)
			rctx, cancel := context.WithCancel(ctx)
			defer cancel()
			_, err := e.Register(rctx)
			require.NoError(t, err, "the digest answer to 401 must be accepted")
		}},
		{"uas_auth_invite_488.xml", func(t *testing.T, ctx context.Context, s *sippeer.SIPp) {
			cfg := creds
			cfg.Policy = sip.PolicyRequest
			e := newEndpoint(t, cfg)
			c, err := e.Dial(ctx, s.URI("fax"), nil)
			require.NoError(t, err, "the digest answer to 401 must be accepted")
			assert.Equal(t, sip.ResultT38Refused, c.Wait(ctx))
		}},
		{"uas_proxy_auth_407.xml", func(t *testing.T, ctx context.Context, s *sippeer.SIPp) {
			cfg := creds
			cfg.Policy = sip.PolicyRequest
			e := newEndpoint(t, cfg)
			c, err := e.Dial(ctx, s.URI("fax"), nil)
			require.NoError(t, err)
			assert.Equal(t, sip.ResultT38Refused, c.Wait(ctx))
		}},
		{"uas_out_of_order.xml", func(t *testing.T, ctx context.Context, s *sippeer.SIPp) {
			e := newEndpoint(t, sip.Config{Policy: sip.PolicyAwait})
			c, err := e.Dial(ctx, s.URI("fax"), nil)
			require.NoError(t, err)
			assert.Equal(t, 200, c.Status())
			assert.Equal(t, sip.ResultRemoteHangup, c.Wait(ctx))
		}},
		{"uas_invite_422.xml", func(t *testing.T, ctx context.Context, s *sippeer.SIPp) {
			// RFC 4028: the INVITE asking for 90 s meets 422 Min-SE: 1800
			// and goes again asking for 1800 s.
			e := newEndpoint(t, sip.Config{Policy: sip.PolicyAwait, SessionExpires: 90 * time.Second})
			c, err := e.Dial(ctx, s.URI("fax"), nil)
			require.NoError(t, err, "the 422 must be retried with the peer's Min-SE")
			assert.Equal(t, 200, c.Status())
			c.Hangup()
			assert.Equal(t, sip.ResultLocalAbort, c.Result())
		}},
		{"uas_reinvite_422.xml", func(t *testing.T, ctx context.Context, s *sippeer.SIPp) {
			// Our T.38 re-INVITE asking for 90 s meets 422 Min-SE: 1800
			// and goes again asking for 1800 s: T.38 is reached.
			e := newEndpoint(t, sip.Config{Policy: sip.PolicyRequest, SessionExpires: 90 * time.Second})
			c, err := e.Dial(ctx, s.URI("fax"), nil)
			require.NoError(t, err)
			_, err = fkAwaitT38(ctx, c)
			require.NoError(t, err, "the re-INVITE must be retried with the peer's Min-SE")
			c.Hangup()
			assert.Equal(t, sip.ResultLocalAbort, c.Result())
		}},
		{"uas_refresh_422.xml", func(t *testing.T, ctx context.Context, s *sippeer.SIPp) {
			// Our session refresh (UPDATE) asking for 2 s meets 422
			// Min-SE: 1800 and goes again asking for 1800 s.
			e := newEndpoint(t, sip.Config{Policy: sip.PolicyAwait, SessionExpires: 2 * time.Second, MinSE: 2 * time.Second})
			c, err := e.Dial(ctx, s.URI("fax"), nil)
			require.NoError(t, err)
			assert.Equal(t, sip.ResultRemoteHangup, c.Wait(ctx), "SIPp hangs up once the retried refresh is answered")
		}},
		{"uas_cancel.xml", func(t *testing.T, ctx context.Context, s *sippeer.SIPp) {
			e := newEndpoint(t, sip.Config{})
			dctx, cancel := context.WithTimeout(ctx, time.Second)
			defer cancel()
			_, err := e.Dial(dctx, s.URI("fax"), nil)
			require.Error(t, err, "a call never answered cannot succeed")
		}},
	} {
		t.Run(tc.scenario, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
			defer cancel()
			s := sippeer.StartSIPp(ctx, t, sippeer.SIPpConfig{Scenario: tc.scenario})
			time.Sleep(200 * time.Millisecond) // SIPp binds its port
			tc.run(t, ctx, s)
			require.NoError(t, s.Wait())
		})
	}
}
