package sip

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	sipgo "github.com/emiago/sipgo/sip"
	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit/sdp"
)

func TestParseMinSE(t *testing.T) {
	for _, tc := range []struct {
		in string
		d  time.Duration
		ok bool
	}{
		{"1800", 1800 * time.Second, true},
		{" 90 ;foo=bar", 90 * time.Second, true},
		{"86400", maxSessionInterval, true},
		{"86401", 0, false}, // more than we would ever schedule
		{"0", 0, false},
		{"-1", 0, false},
		{"", 0, false},
		{"1800s", 0, false},
		{"99999999999", 0, false},
	} {
		d, ok := parseMinSE(tc.in)
		require.Equal(t, tc.ok, ok, tc.in)
		require.Equal(t, tc.d, d, tc.in)
	}
}

// RFC 4028 clause 7.4: a 422 is retried asking for its Min-SE (never less
// than our own MinSE); not without a usable Min-SE, nor for one no larger
// than what was asked.
func TestRetryInterval(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		peerMin, sent, ourMn time.Duration
		want                 time.Duration
		ok                   bool
	}{
		{"raise", 1800 * time.Second, 90 * time.Second, 90 * time.Second, 1800 * time.Second, true},
		{"no Session-Expires sent", 600 * time.Second, 0, 90 * time.Second, 600 * time.Second, true},
		{"our MinSE is higher", 120 * time.Second, 90 * time.Second, 300 * time.Second, 300 * time.Second, true},
		{"no Min-SE", 0, 90 * time.Second, 90 * time.Second, 0, false},
		{"same as asked", 1800 * time.Second, 1800 * time.Second, 90 * time.Second, 0, false},
		{"lower than asked", 600 * time.Second, 1800 * time.Second, 90 * time.Second, 0, false},
		{"beyond a day", maxSessionInterval + time.Second, 90 * time.Second, 90 * time.Second, 0, false},
	} {
		got, ok := retryInterval(tc.peerMin, tc.sent, tc.ourMn)
		require.Equal(t, tc.ok, ok, tc.name)
		require.Equal(t, tc.want, got, tc.name)
	}
}

// The INVITE sent again after a 422: same Call-ID, From tag, body and
// credentials, the next CSeq, a fresh Via (added by the transaction
// layer), Session-Expires and Min-SE replaced, not duplicated.
func TestRetryInvite(t *testing.T) {
	req := sipgo.NewRequest(sipgo.INVITE, sipgo.Uri{Scheme: "sip", User: "5551234", Host: "192.0.2.1"})
	req.AppendHeader(sipgo.NewHeader("Via", "SIP/2.0/UDP 192.0.2.9:5060;branch=z9hG4bKold"))
	req.AppendHeader(sipgo.NewHeader("From", "<sip:fax@192.0.2.9>;tag=abc"))
	req.AppendHeader(sipgo.NewHeader("To", "<sip:5551234@192.0.2.1>"))
	req.AppendHeader(sipgo.NewHeader("Call-ID", "call-1"))
	req.AppendHeader(&sipgo.CSeqHeader{SeqNo: 7, MethodName: sipgo.INVITE})
	req.AppendHeader(sipgo.NewHeader("Authorization", "Digest username=\"u\""))
	req.AppendHeader(sipgo.NewHeader("Session-Expires", "90"))
	req.AppendHeader(sipgo.NewHeader("Min-SE", "90"))
	req.SetBody([]byte("v=0\r\n"))

	r := retryInvite(req, 1800*time.Second, 1800*time.Second)
	require.Nil(t, r.Via(), "a new transaction: the transport layer adds a new Via")
	require.Equal(t, uint32(8), r.CSeq().SeqNo)
	require.Equal(t, sipgo.INVITE, r.CSeq().MethodName)
	require.Equal(t, "call-1", r.CallID().Value())
	require.Equal(t, "<sip:fax@192.0.2.9>;tag=abc", r.GetHeader("From").Value())
	require.Equal(t, "Digest username=\"u\"", r.GetHeader("Authorization").Value())
	require.Len(t, r.GetHeaders("Session-Expires"), 1)
	require.Equal(t, "1800", r.GetHeader("Session-Expires").Value())
	require.Len(t, r.GetHeaders("Min-SE"), 1)
	require.Equal(t, "1800", r.GetHeader("Min-SE").Value())
	require.Equal(t, "v=0\r\n", string(r.Body()))
	require.Equal(t, uint32(7), req.CSeq().SeqNo, "the original is untouched")
}

// newRefresher is a machine in audio whose session timer (90 s) it
// refreshes itself; our MinSE is 90 s.
func newRefresher(t *testing.T, role Role) *machine {
	t.Helper()
	m, _, _ := newMachine(t, role, PolicyAwait, false)
	m.awaitDeadline = time.Time{} // the await timeout is not under test
	m.cfg.minSE = 90 * time.Second
	m.sessionTimerSet(t0, sessionTimer{interval: 90 * time.Second, weRefresh: true})
	return m
}

// A refresh answered 422 with a larger Min-SE is sent again at once asking
// for it, and carrying it in Min-SE; once a 2xx agrees, the refreshes go
// at half the new interval and keep the Min-SE.
func TestMachineRefresh422Retried(t *testing.T) {
	m := newRefresher(t, RoleCaller)
	acts := m.timeout(t0.Add(45 * time.Second))
	require.Equal(t, []actKind{actRefresh}, kinds(acts))
	require.Equal(t, "90;refresher=uac", acts[0].se)
	require.Empty(t, acts[0].minSE, "no Min-SE before the dialog has seen one")

	acts = m.refreshAnswered(t0.Add(46*time.Second), reply{code: 422, minSE: 1800 * time.Second})
	require.Equal(t, []actKind{actRefresh}, kinds(acts), "sent again at once")
	require.Equal(t, "1800;refresher=uac", acts[0].se)
	require.Equal(t, "1800", acts[0].minSE)
	require.Same(t, m.sent, acts[0].sdp, "the same SDP, unchanged")

	acts = m.refreshAnswered(t0.Add(47*time.Second), reply{code: 200, st: sessionTimer{interval: 1800 * time.Second, weRefresh: true}})
	require.Empty(t, acts)
	require.Equal(t, t0.Add(947*time.Second), m.deadline(), "half the new interval")
	acts = m.timeout(m.deadline())
	require.Equal(t, []actKind{actRefresh}, kinds(acts))
	require.Equal(t, "1800;refresher=uac", acts[0].se)
	require.Equal(t, "1800", acts[0].minSE, "the dialog's Min-SE stays")
}

// A 422 that cannot be retried (no Min-SE, one no larger than asked, or
// after maxSERetries) ends the refreshing, not in a loop: the session then
// ends at its expiry with BYE (session-expired) unless the call ends
// first.
func TestMachineRefresh422GivesUp(t *testing.T) {
	for _, tc := range []struct {
		name    string
		replies []time.Duration // Min-SE of each 422 (0: none)
		sent    int             // refreshes sent in all
	}{
		{"no Min-SE", []time.Duration{0}, 1},
		{"same Min-SE twice", []time.Duration{1800 * time.Second, 1800 * time.Second}, 2},
		{"lower Min-SE", []time.Duration{1800 * time.Second, 600 * time.Second}, 2},
		{"retries bounded", []time.Duration{120 * time.Second, 600 * time.Second, 1800 * time.Second}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newRefresher(t, RoleAnswerer)
			acts := m.timeout(t0.Add(45 * time.Second))
			require.Equal(t, []actKind{actRefresh}, kinds(acts))
			for i, mse := range tc.replies {
				acts = m.refreshAnswered(t0.Add(46*time.Second), reply{code: 422, minSE: mse})
				if i < len(tc.replies)-1 {
					require.Equal(t, []actKind{actRefresh}, kinds(acts), "422 #%d retried", i+1)
				}
			}
			require.Empty(t, acts, "the last 422 is not retried")
			require.Equal(t, tc.sent, m.refreshes)
			require.False(t, m.refreshing)
			// Expiry of the 90 s session negotiated at t0, less a third.
			require.Equal(t, t0.Add(60*time.Second), m.deadline())
			require.Empty(t, m.timeout(t0.Add(59*time.Second)))
			acts = m.timeout(t0.Add(60 * time.Second))
			require.Equal(t, []actKind{actBye, actEnd}, kinds(acts))
			require.Equal(t, ResultSessionExpired, acts[1].result)
			require.Equal(t, tc.sent, m.refreshes, "no refresh after giving up")
		})
	}
}

// Our T.38 re-INVITE carrying Session-Expires and answered 422: the same
// offer again at once asking for the Min-SE; its 2xx switches to T.38 and
// sets the new session timer. A 422 without Min-SE refuses T.38 like any
// failure.
func TestMachineReinvite422(t *testing.T) {
	m, acts, peer := newMachine(t, RoleAnswerer, PolicyRequest, false)
	m.cfg.minSE = 90 * time.Second
	require.Equal(t, []actKind{actMedia, actReinvite}, kinds(acts))
	// The session timer of the call (as if negotiated by the INVITE): the
	// request goes again with it.
	m.state = stAudio
	m.sessionTimerSet(t0, sessionTimer{interval: 120 * time.Second, weRefresh: true})
	acts = m.sendT38Offer(t0)
	require.Equal(t, "120;refresher=uac", acts[0].se)
	first := acts[0].sdp

	acts = m.offerAnswered(t0.Add(100*time.Millisecond), reply{code: 422, minSE: 1800 * time.Second}, nil)
	require.Equal(t, []actKind{actReinvite}, kinds(acts))
	require.Equal(t, "1800;refresher=uac", acts[0].se)
	require.Equal(t, "1800", acts[0].minSE)
	require.Equal(t, first.Marshal(), acts[0].sdp.Marshal(), "the same offer")
	require.Equal(t, stOffering, m.state)
	require.Equal(t, t0.Add(5*time.Second), m.offerDeadline, "the first re-INVITE's switch timeout runs on")

	acts = m.offerAnswered(t0.Add(200*time.Millisecond), reply{code: 200, st: sessionTimer{interval: 1800 * time.Second, weRefresh: true}},
		peerAnswer(t, peer, acts[0].sdp))
	require.Equal(t, []actKind{actMedia}, kinds(acts))
	require.NotNil(t, acts[0].media.T38)
	require.Equal(t, 1800*time.Second, m.st.interval)
	require.Equal(t, t0.Add(200*time.Millisecond+900*time.Second), m.deadline(), "refresh at half the new interval")

	// 422 without a Min-SE: not retried; T.38 refused.
	m, _, _ = newMachine(t, RoleAnswerer, PolicyRequest, false)
	m.cfg.minSE = 90 * time.Second
	m.state = stAudio
	m.sessionTimerSet(t0, sessionTimer{interval: 120 * time.Second, weRefresh: true})
	m.sendT38Offer(t0)
	acts = m.offerAnswered(t0.Add(100*time.Millisecond), reply{code: 422}, nil)
	require.Equal(t, []actKind{actBye, actEnd}, kinds(acts))
	require.Equal(t, ResultT38Refused, acts[1].result)

	// A second 422 with the same Min-SE: not retried again.
	m, _, _ = newMachine(t, RoleAnswerer, PolicyRequest, false)
	m.state = stAudio
	m.sessionTimerSet(t0, sessionTimer{interval: 120 * time.Second, weRefresh: true})
	m.sendT38Offer(t0)
	require.Equal(t, []actKind{actReinvite}, kinds(m.offerAnswered(t0, reply{code: 422, minSE: 1800 * time.Second}, nil)))
	acts = m.offerAnswered(t0, reply{code: 422, minSE: 1800 * time.Second}, nil)
	require.Equal(t, []actKind{actBye, actEnd}, kinds(acts))
}

// RFC 3261 clause 14.1 for a session refresh answered 491: the owner of
// the Call-ID (the caller) waits 2.1-4 s, the other side 0.1-2 s (never 0,
// which would only cross the peer's own re-INVITE again), then refreshes
// again.
func TestMachineRefreshGlareBackoff(t *testing.T) {
	for _, tc := range []struct {
		role     Role
		min, max time.Duration
	}{
		{RoleCaller, 2100 * time.Millisecond, 4 * time.Second},
		{RoleAnswerer, 100 * time.Millisecond, 2 * time.Second},
	} {
		var lo, hi time.Duration
		rng := rand.New(rand.NewPCG(3, 4))
		for i := range 200 {
			m := newRefresher(t, tc.role)
			m.cfg.rand = rng
			require.Equal(t, []actKind{actRefresh}, kinds(m.timeout(t0.Add(45*time.Second))))
			now := t0.Add(45*time.Second + 50*time.Millisecond)
			require.Empty(t, m.refreshAnswered(now, reply{code: 491}))
			wait := m.deadline().Sub(now)
			require.GreaterOrEqual(t, wait, tc.min, "%v", tc.role)
			require.LessOrEqual(t, wait, tc.max, "%v", tc.role)
			require.Zero(t, wait%(10*time.Millisecond), "10 ms units")
			if i == 0 || wait < lo {
				lo = wait
			}
			hi = max(hi, wait)
			acts := m.timeout(m.deadline())
			require.Equal(t, []actKind{actRefresh}, kinds(acts), "refreshed again after the back-off")
		}
		require.Less(t, lo, hi, "%v: the wait is drawn, not fixed", tc.role)
	}
}

// inviteReq is a peer's initial INVITE with headers ("Name: value").
func inviteReq(hdrs ...string) *sipgo.Request {
	r := sipgo.NewRequest(sipgo.INVITE, sipgo.Uri{Scheme: "sip", User: "5551234", Host: "192.0.2.1"})
	for _, h := range hdrs {
		k, v, _ := strings.Cut(h, ": ")
		r.AppendHeader(sipgo.NewHeader(k, v))
	}
	return r
}

// answered is a machine of a call we answer, set up from its initial
// INVITE as the endpoint does (our Config.SessionExpires want, MinSE 90 s),
// up in audio at t0; the 2xx's Session-Expires value and the start's
// actions come back too.
func answered(t *testing.T, req *sipgo.Request, want time.Duration, p Policy) (*machine, []action, string, sdp.Local) {
	t.Helper()
	se, _, st, tooSmall := uasSessionTimer(req, want, 90*time.Second)
	require.False(t, tooSmall)
	m, acts, peer := newMachineWith(t, RoleAnswerer, p, false, func(m *machine) {
		m.cfg.minSE = 90 * time.Second
		m.invited(req, st)
	})
	m.sessionTimerSet(t0, m.st) // as the call's goroutine does once up
	return m, acts, se, peer
}

// RFC 4028 clauses 7.4 and 9: the Min-SE of the caller's initial INVITE is
// the dialog's; every re-INVITE and refresh we send later asks for at
// least it and carries it, as for a Min-SE heard later.
func TestMachineInviteMinSE(t *testing.T) {
	t.Run("T.38 re-INVITE and refreshes", func(t *testing.T) {
		req := inviteReq("Session-Expires: 1800;refresher=uas", "Min-SE: 1800", "Supported: timer")
		m, acts, se, peer := answered(t, req, 0, PolicyRequest)
		require.Equal(t, "1800;refresher=uas", se, "we refresh, as asked")
		require.Equal(t, []actKind{actMedia, actReinvite}, kinds(acts))
		require.Equal(t, "1800;refresher=uac", acts[1].se)
		require.Equal(t, "1800", acts[1].minSE, "the INVITE's Min-SE, carried")

		now := t0.Add(200 * time.Millisecond)
		acts = m.offerAnswered(now, reply{code: 200, st: sessionTimer{interval: 1800 * time.Second, weRefresh: true}},
			peerAnswer(t, peer, acts[1].sdp))
		require.Equal(t, []actKind{actMedia}, kinds(acts))
		require.Equal(t, now.Add(900*time.Second), m.deadline(), "refresh at half the interval")
		acts = m.timeout(m.deadline())
		require.Equal(t, []actKind{actRefresh}, kinds(acts))
		require.False(t, acts[0].update, "no UPDATE in the INVITE's Allow: a re-INVITE")
		require.Equal(t, "1800;refresher=uac", acts[0].se)
		require.Equal(t, "1800", acts[0].minSE)
	})
	t.Run("Min-SE without Session-Expires, we want a timer", func(t *testing.T) {
		// Clause 9: the interval we add to the 2xx is not below the
		// request's Min-SE (our 90 s would be).
		req := inviteReq("Min-SE: 600", "Supported: timer", "Allow: INVITE, ACK, BYE, CANCEL, UPDATE")
		m, acts, se, _ := answered(t, req, 90*time.Second, PolicyAwait)
		require.Equal(t, "600;refresher=uas", se)
		require.Equal(t, []actKind{actMedia}, kinds(acts))
		m.awaitDeadline = time.Time{} // the await timeout is not under test
		require.Equal(t, t0.Add(300*time.Second), m.deadline())
		acts = m.timeout(m.deadline())
		require.Equal(t, []actKind{actRefresh}, kinds(acts))
		require.True(t, acts[0].update)
		require.Equal(t, "600;refresher=uac", acts[0].se)
		require.Equal(t, "600", acts[0].minSE)
	})
	t.Run("Min-SE without Session-Expires, no timer", func(t *testing.T) {
		// A Min-SE bounds an interval we would ask for; it does not make
		// us ask for one.
		req := inviteReq("Min-SE: 600", "Supported: timer")
		m, acts, se, _ := answered(t, req, 0, PolicyRequest)
		require.Empty(t, se)
		require.Equal(t, []actKind{actMedia, actReinvite}, kinds(acts))
		require.Empty(t, acts[1].se)
		require.Empty(t, acts[1].minSE)
		require.Equal(t, t0.Add(5*time.Second), m.deadline(), "only the switch timeout")
	})
	t.Run("422 to a re-INVITE without Session-Expires", func(t *testing.T) {
		// A 422 does ask for a timer: the retry carries the Min-SE, the
		// UAS choosing the refresher.
		m, acts, _, _ := answered(t, inviteReq("Supported: timer"), 0, PolicyRequest)
		require.Empty(t, acts[1].se)
		acts = m.offerAnswered(t0.Add(100*time.Millisecond), reply{code: 422, minSE: 600 * time.Second}, nil)
		require.Equal(t, []actKind{actReinvite}, kinds(acts))
		require.Equal(t, "600", acts[0].se)
		require.Equal(t, "600", acts[0].minSE)
	})
}

// The T.38 switch is bounded by one SwitchTimeout however many 422s it
// draws: a retried re-INVITE does not start a wait of its own (three
// tries would otherwise wait up to 3 x SwitchTimeout). Once a provisional
// response stretched the wait, the stretch counts from the first
// re-INVITE too.
func TestMachineReinvite422SwitchBounded(t *testing.T) {
	withTimer := func(m *machine) {
		m.cfg.minSE = 90 * time.Second
		m.st = sessionTimer{interval: 120 * time.Second, weRefresh: true}
	}
	t.Run("no provisional", func(t *testing.T) {
		m, acts, _ := newMachineWith(t, RoleAnswerer, PolicyRequest, false, withTimer)
		require.Equal(t, []actKind{actMedia, actReinvite}, kinds(acts))
		require.Equal(t, t0.Add(5*time.Second), m.deadline())
		acts = m.offerAnswered(t0.Add(3*time.Second), reply{code: 422, minSE: 600 * time.Second}, nil)
		require.Equal(t, []actKind{actReinvite}, kinds(acts))
		acts = m.offerAnswered(t0.Add(4500*time.Millisecond), reply{code: 422, minSE: 1800 * time.Second}, nil)
		require.Equal(t, []actKind{actReinvite}, kinds(acts))
		require.Equal(t, "1800;refresher=uac", acts[0].se)
		require.Equal(t, t0.Add(5*time.Second), m.deadline(), "the first re-INVITE's deadline")
		require.Empty(t, m.timeout(t0.Add(4999*time.Millisecond)))
		acts = m.timeout(t0.Add(5 * time.Second))
		require.Equal(t, []actKind{actBye, actEnd}, kinds(acts))
		require.Equal(t, ResultT38Refused, acts[1].result)
	})
	t.Run("provisional", func(t *testing.T) {
		m, _, peer := newMachineWith(t, RoleAnswerer, PolicyRequest, false, withTimer)
		m.offerProvisional(t0.Add(time.Second))
		require.Equal(t, t0.Add(15*time.Second), m.deadline())
		acts := m.offerAnswered(t0.Add(10*time.Second), reply{code: 422, minSE: 1800 * time.Second}, nil)
		require.Equal(t, []actKind{actReinvite}, kinds(acts))
		require.Equal(t, t0.Add(15*time.Second), m.deadline(), "not 10 s + 5 s, nor 10 s + 15 s")
		m.offerProvisional(t0.Add(11 * time.Second))
		require.Equal(t, t0.Add(15*time.Second), m.deadline())
		// Answered in time, it still switches.
		acts = m.offerAnswered(t0.Add(14*time.Second), reply{code: 200, st: sessionTimer{interval: 1800 * time.Second, weRefresh: true}},
			peerAnswer(t, peer, acts[0].sdp))
		require.Equal(t, []actKind{actMedia}, kinds(acts))
		require.NotNil(t, acts[0].media.T38)
	})
	t.Run("retry unanswered after a provisional-less first try", func(t *testing.T) {
		// The retry's own provisional stretches to 3 x SwitchTimeout
		// from the first re-INVITE, no further.
		m, _, _ := newMachineWith(t, RoleAnswerer, PolicyRequest, false, withTimer)
		require.Equal(t, []actKind{actReinvite}, kinds(m.offerAnswered(t0.Add(4*time.Second), reply{code: 422, minSE: 1800 * time.Second}, nil)))
		m.offerProvisional(t0.Add(4100 * time.Millisecond))
		require.Equal(t, t0.Add(15*time.Second), m.deadline())
		acts := m.timeout(t0.Add(15 * time.Second))
		require.Equal(t, []actKind{actBye, actEnd}, kinds(acts))
	})
}
