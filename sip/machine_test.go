package sip

import (
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"

	sipgo "github.com/emiago/sipgo/sip"

	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit/sdp"
	"github.com/faxkit/faxkit/t38"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func testLocal(port int, id uint64) sdp.Local {
	return sdp.Local{SessionID: id, Addr: netip.MustParseAddr("192.0.2.1"), AudioPort: port, T38Port: port,
		T38: sdp.T38Params{Version: 0, MaxBitRate: 14400, RateManagement: sdp.RateTransferredTCF, MaxDatagram: 400, EC: t38.ECRedundancy}}
}

// newMachine returns a machine whose call is up in audio: we offered
// audio (caller) or answered the peer's audio offer (answerer).
func newMachine(t *testing.T, role Role, p Policy, fallback bool) (*machine, []action, sdp.Local) {
	t.Helper()
	return newMachineWith(t, role, p, fallback, nil)
}

// newMachineWith is newMachine with setup run on the machine before the
// call is up (as the endpoint sets it up from the initial INVITE's
// transaction).
func newMachineWith(t *testing.T, role Role, p Policy, fallback bool, setup func(*machine)) (*machine, []action, sdp.Local) {
	t.Helper()
	us, peer := testLocal(6000, 100), testLocal(7000, 200)
	peer.Addr = netip.MustParseAddr("192.0.2.2")
	m := &machine{cfg: machineConfig{role: role, policy: p, local: us, switchTimeout: 5 * time.Second,
		autoRequestDelay: 3 * time.Second, awaitTimeout: 35 * time.Second, audioFallback: fallback,
		rand: rand.New(rand.NewPCG(1, 2))}}
	if setup != nil {
		setup(m)
	}
	var sent, remote *sdp.Session
	var neg sdp.Negotiated
	if role == RoleCaller {
		sent = sdp.Offer(us, sdp.KindAudio, nil)
		var err error
		remote, _, err = sdp.Answer(peer, sent, nil, true)
		require.NoError(t, err)
		neg, err = sdp.Result(sent, remote)
		require.NoError(t, err)
	} else {
		remote = sdp.Offer(peer, sdp.KindAudio, nil)
		var err error
		sent, neg, err = sdp.Answer(us, remote, nil, true)
		require.NoError(t, err)
	}
	acts := m.start(t0, sent, remote, neg)
	return m, acts, peer
}

func kinds(acts []action) []actKind {
	var k []actKind
	for _, a := range acts {
		k = append(k, a.kind)
	}
	return k
}

// peerAnswer is the peer's 200 answer to our re-INVITE.
func peerAnswer(t *testing.T, peer sdp.Local, offer *sdp.Session) *sdp.Session {
	t.Helper()
	ans, _, err := sdp.Answer(peer, offer, nil, true)
	require.NoError(t, err)
	return ans
}

func TestMachineAnswererRequestsAtOnce(t *testing.T) {
	m, acts, peer := newMachine(t, RoleAnswerer, PolicyAuto, false)
	require.Equal(t, []actKind{actMedia, actReinvite}, kinds(acts), "auto answerer: re-INVITE right after the ACK")
	require.True(t, acts[1].sdp.Media[0].IsT38())
	require.Equal(t, t0.Add(5*time.Second), m.deadline(), "switch timeout armed")

	acts = m.offerAnswered(t0.Add(40*time.Millisecond), reply{code: 200}, peerAnswer(t, peer, acts[1].sdp))
	require.Equal(t, []actKind{actMedia}, kinds(acts))
	require.NotNil(t, acts[0].media.T38)
	require.Equal(t, "192.0.2.2:7000", acts[0].media.T38.Remote.String())
	require.True(t, m.deadline().IsZero(), "no timer left once in T.38")
}

func TestMachineCallerAutoWaitsThenRequests(t *testing.T) {
	m, acts, _ := newMachine(t, RoleCaller, PolicyAuto, false)
	require.Equal(t, []actKind{actMedia}, kinds(acts))
	require.Equal(t, t0.Add(3*time.Second), m.deadline())
	require.Empty(t, m.timeout(t0.Add(2999*time.Millisecond)))
	acts = m.timeout(t0.Add(3 * time.Second))
	require.Equal(t, []actKind{actReinvite}, kinds(acts))
}

func TestMachineCallerHearsCED(t *testing.T) {
	m, _, _ := newMachine(t, RoleCaller, PolicyAuto, false)
	require.Empty(t, m.heard(t0.Add(time.Second), ToneCNG), "our own kind of tone does not trigger")
	acts := m.heard(t0.Add(1500*time.Millisecond), ToneCED)
	require.Equal(t, []actKind{actReinvite}, kinds(acts))
}

func TestMachineRefused(t *testing.T) {
	for _, code := range []int{488, 415, 606, 500} {
		m, acts, _ := newMachine(t, RoleAnswerer, PolicyRequest, false)
		require.Equal(t, actReinvite, acts[1].kind)
		acts = m.offerAnswered(t0.Add(time.Second), reply{code: code}, nil)
		require.Equal(t, []actKind{actBye, actEnd}, kinds(acts), "code %d", code)
		require.Equal(t, ResultT38Refused, acts[1].result)
	}
	// With an audio modem the call stays in audio: the audio path goes to
	// the application's audio fax, once, and no T.38 request follows.
	m, _, peer := newMachine(t, RoleAnswerer, PolicyRequest, true)
	acts := m.offerAnswered(t0.Add(time.Second), reply{code: 488}, nil)
	require.Equal(t, []actKind{actMedia}, kinds(acts))
	require.True(t, acts[0].audioFax)
	require.NotNil(t, acts[0].media.Audio)
	require.Equal(t, stAudio, m.state)
	require.Empty(t, m.heard(t0.Add(2*time.Second), ToneCED))
	require.True(t, m.deadline().IsZero())
	// The peer's own T.38 re-INVITE later is accepted: the running audio
	// fax moves over.
	acts = m.remoteOffer(t0.Add(3*time.Second), sdp.Offer(peer, sdp.KindT38, nil))
	require.Equal(t, []actKind{actRespond, actMedia}, kinds(acts))
	require.Equal(t, 200, acts[0].code)
	require.NotNil(t, acts[1].media.T38)
}

// Unanswered with an audio modem: audio fax at SwitchTimeout. Off and
// await-with-fallback are audio fax from the start; off still refuses T.38.
func TestMachineAudioFax(t *testing.T) {
	m, _, _ := newMachine(t, RoleAnswerer, PolicyRequest, true)
	acts := m.timeout(t0.Add(5 * time.Second))
	require.Equal(t, []actKind{actMedia}, kinds(acts))
	require.True(t, acts[0].audioFax)

	m, acts, peer := newMachine(t, RoleCaller, PolicyOff, false)
	require.Equal(t, []actKind{actMedia}, kinds(acts))
	require.True(t, acts[0].audioFax)
	require.True(t, m.deadline().IsZero())
	acts = m.remoteOffer(t0.Add(time.Second), sdp.Offer(peer, sdp.KindT38, nil))
	require.Equal(t, []actKind{actRespond}, kinds(acts))
	require.Equal(t, 488, acts[0].code)

	m, acts, _ = newMachine(t, RoleAnswerer, PolicyAwait, true)
	require.Equal(t, []actKind{actMedia}, kinds(acts))
	require.True(t, acts[0].audioFax)
	require.True(t, m.deadline().IsZero(), "no await timeout: the fax runs in audio")

	m, acts, _ = newMachine(t, RoleAnswerer, PolicyAwait, false)
	require.False(t, acts[0].audioFax)
	require.Equal(t, t0.Add(35*time.Second), m.deadline())
}

func TestMachineReinviteUnanswered(t *testing.T) {
	m, _, _ := newMachine(t, RoleAnswerer, PolicyRequest, false)
	require.Empty(t, m.timeout(t0.Add(4999*time.Millisecond)))
	acts := m.timeout(t0.Add(5 * time.Second))
	require.Equal(t, []actKind{actBye, actEnd}, kinds(acts))
	require.Equal(t, ResultT38Refused, acts[1].result)
	// A 200 arriving after we gave up is ignored.
	require.Empty(t, m.offerAnswered(t0.Add(6*time.Second), reply{code: 200}, nil))
}

// RFC 3261 clause 14.1: after 491 the Call-ID owner waits 2.1-4 s, the
// other side 0.1-2 s (a subset of 0-2 s that never beats the peer's own
// crossing re-INVITE); in both cases the offer is sent again.
func TestMachineGlare(t *testing.T) {
	for _, tc := range []struct {
		role     Role
		min, max time.Duration
	}{
		{RoleCaller, 2100 * time.Millisecond, 4 * time.Second},
		{RoleAnswerer, 100 * time.Millisecond, 2 * time.Second},
	} {
		for range 50 {
			m, acts, _ := newMachine(t, tc.role, PolicyRequest, false)
			require.Equal(t, []actKind{actMedia, actReinvite}, kinds(acts))
			now := t0.Add(100 * time.Millisecond)
			// The peer's own re-INVITE crosses ours: we answer it 491.
			peerOffer := sdp.Offer(testLocal(7000, 200), sdp.KindT38, nil)
			acts = m.remoteOffer(now, peerOffer)
			require.Equal(t, []action{{kind: actRespond, code: 491}}, acts)
			// Ours is answered 491 too.
			require.Empty(t, m.offerAnswered(now, reply{code: 491}, nil))
			wait := m.deadline().Sub(now)
			require.GreaterOrEqual(t, wait, tc.min)
			require.LessOrEqual(t, wait, tc.max)
			require.Zero(t, wait%(10*time.Millisecond))
			require.Equal(t, []actKind{actReinvite}, kinds(m.timeout(m.deadline())))
		}
	}
}

// A session-timer refresh re-INVITE with the same SDP mid-page: answered
// 200 with our identical description, no media change.
func TestMachineRefreshMidFax(t *testing.T) {
	m, acts, peer := newMachine(t, RoleCaller, PolicyAwait, false)
	require.Equal(t, []actKind{actMedia}, kinds(acts))
	peerOffer := sdp.Offer(peer, sdp.KindT38, m.remote)
	acts = m.remoteOffer(t0.Add(time.Second), peerOffer)
	require.Equal(t, []actKind{actRespond, actMedia}, kinds(acts))
	require.Equal(t, 200, acts[0].code)
	first := acts[0].sdp.Marshal()

	acts = m.remoteOffer(t0.Add(60*time.Second), peerOffer)
	require.Equal(t, []actKind{actRespond}, kinds(acts), "no media change")
	require.Equal(t, string(first), string(acts[0].sdp.Marshal()), "identical answer, same o= version")
	require.Equal(t, stT38, m.state)
}

func TestMachinePolicyOffRefusesT38(t *testing.T) {
	m, _, peer := newMachine(t, RoleCaller, PolicyOff, true)
	acts := m.remoteOffer(t0.Add(time.Second), sdp.Offer(peer, sdp.KindT38, m.remote))
	require.Equal(t, []action{{kind: actRespond, code: 488}}, acts)
	require.True(t, m.deadline().IsZero(), "off never requests")
}

func TestMachineAwaitTimeout(t *testing.T) {
	m, _, _ := newMachine(t, RoleAnswerer, PolicyAwait, false)
	require.Equal(t, t0.Add(35*time.Second), m.deadline())
	acts := m.timeout(t0.Add(35 * time.Second))
	require.Equal(t, []actKind{actBye, actEnd}, kinds(acts))
	require.Equal(t, ResultT38NotOffered, acts[1].result)
}

func TestMachineHangups(t *testing.T) {
	m, _, _ := newMachine(t, RoleAnswerer, PolicyAwait, false)
	acts := m.byeReceived(t0.Add(time.Second))
	require.Equal(t, []action{{kind: actEnd, result: ResultRemoteHangup}}, acts)
	require.Empty(t, m.byeReceived(t0.Add(time.Second)))
	require.Empty(t, m.faxDone(t0.Add(time.Second)), "nothing after the end")

	m, _, _ = newMachine(t, RoleCaller, PolicyAwait, false)
	m.cfg.byeWait = 500 * time.Millisecond
	require.Empty(t, m.faxDone(t0.Add(time.Second)), "wait for the peer's BYE first")
	require.Equal(t, t0.Add(1500*time.Millisecond), m.deadline())
	acts = m.timeout(t0.Add(1500 * time.Millisecond))
	require.Equal(t, []actKind{actBye, actEnd}, kinds(acts))
	require.Equal(t, ResultFaxDone, acts[1].result)

	// The peer's BYE within the wait: the call ends as a finished fax.
	m, _, _ = newMachine(t, RoleAnswerer, PolicyAwait, false)
	m.cfg.byeWait = 3 * time.Second
	require.Empty(t, m.faxDone(t0.Add(time.Second)))
	require.Equal(t, []action{{kind: actEnd, result: ResultFaxDone}}, m.byeReceived(t0.Add(1200*time.Millisecond)))
	require.Equal(t, []action{{kind: actRespond, code: 481}}, m.remoteOffer(t0.Add(2*time.Second), m.remote))
}

// A re-INVITE without SDP: we offer in the 200 and take the answer from
// the ACK.
func TestMachineReinviteWithoutSDP(t *testing.T) {
	m, _, peer := newMachine(t, RoleAnswerer, PolicyAwait, false)
	acts := m.remoteOffer(t0.Add(time.Second), nil)
	require.Equal(t, []actKind{actRespond}, kinds(acts))
	require.Equal(t, 200, acts[0].code)
	require.True(t, acts[0].sdp.Media[0].IsAudioRTP())
	ans := peerAnswer(t, peer, acts[0].sdp)
	require.Empty(t, m.ackAnswer(t0.Add(time.Second), ans), "same audio: no change")
}

func TestEnumNames(t *testing.T) {
	require.Equal(t, "t38-refused", ResultT38Refused.String())
	require.Equal(t, "Result(99)", Result(99).String())
	require.Equal(t, "await", PolicyAwait.String())
	require.Equal(t, "Policy(9)", Policy(9).String())
	require.Equal(t, "CED", ToneCED.String())
	p, err := ParsePolicy("offer")
	require.NoError(t, err)
	require.Equal(t, PolicyOffer, p)
	_, err = ParsePolicy("maybe")
	require.Error(t, err)
}

// RFC 3261 clause 13.3.1.4: our 2xx to a re-INVITE is retransmitted at T1,
// 2*T1, 4*T1, then every T2, until the ACK (or 64*T1).
func TestMachineRetransmits2xxUntilAck(t *testing.T) {
	m, _, peer := newMachine(t, RoleAnswerer, PolicyAwait, false)
	offer := sdp.Offer(peer, sdp.KindT38, nil)
	acts := m.remoteOffer(t0, offer)
	require.Equal(t, []actKind{actRespond, actMedia}, kinds(acts))
	var at []time.Duration
	for range 6 {
		d := m.deadline()
		acts = m.timeout(d)
		require.Equal(t, []actKind{actResend}, kinds(acts))
		at = append(at, d.Sub(t0))
	}
	require.Equal(t, []time.Duration{500 * time.Millisecond, 1500 * time.Millisecond, 3500 * time.Millisecond,
		7500 * time.Millisecond, 11500 * time.Millisecond, 15500 * time.Millisecond}, at)
	m.acked(t0.Add(16 * time.Second))
	require.True(t, m.deadline().IsZero(), "the ACK stops retransmission")

	// Without an ACK it stops at 64*T1 and the call stays up.
	m2, _, _ := newMachine(t, RoleAnswerer, PolicyAwait, false)
	m2.remoteOffer(t0, offer)
	n := 0
	for d := m2.deadline(); !d.IsZero(); d = m2.deadline() {
		if len(m2.timeout(d)) > 0 {
			n++
		}
		require.Less(t, n, 20)
	}
	require.Equal(t, 10, n, "T1, 2T1, 4T1, then T2 up to 64*T1")
	require.Equal(t, stT38, m2.state)
}

func TestParseSessionExpires(t *testing.T) {
	for _, tc := range []struct {
		in        string
		d         time.Duration
		refresher string
		ok        bool
	}{
		{"1800", 1800 * time.Second, "", true},
		{"90;refresher=uac", 90 * time.Second, "uac", true},
		{" 120 ; Refresher = UAS ;foo=bar", 120 * time.Second, "uas", true},
		{"120;refresher=proxy", 120 * time.Second, "", true},
		{"0", 0, "", false},
		{"-5", 0, "", false},
		{"", 0, "", false},
		{"99999999999", 0, "", false},
		{"4000000000", maxSessionInterval, "", true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			d, r, ok := parseSessionExpires(tc.in)
			require.Equal(t, tc.ok, ok)
			require.Equal(t, tc.d, d)
			require.Equal(t, tc.refresher, r)
		})
	}
}

// RFC 4028 clause 9 as the UAS: the request's interval and refresher, the
// UAC as refresher when it supports timers and names none, 422 under
// Min-SE, and our own interval (us refreshing) when the request has none.
func TestUASSessionTimer(t *testing.T) {
	req := func(hdrs ...string) *sipgo.Request {
		r := sipgo.NewRequest(sipgo.INVITE, sipgo.Uri{Scheme: "sip", User: "a", Host: "192.0.2.1"})
		for _, h := range hdrs {
			k, v, _ := strings.Cut(h, ": ")
			r.AppendHeader(sipgo.NewHeader(k, v))
		}
		return r
	}
	for _, tc := range []struct {
		name      string
		req       *sipgo.Request
		want      time.Duration
		se        string
		require   bool
		weRefresh bool
		tooSmall  bool
	}{
		{"uac refreshes", req("Session-Expires: 1800", "Supported: timer"), 0, "1800;refresher=uac", true, false, false},
		{"uac asks uas", req("Session-Expires: 600;refresher=uas", "Supported: timer"), 0, "600;refresher=uas", false, true, false},
		{"uac without timer support", req("Session-Expires: 600"), 0, "600;refresher=uas", false, true, false},
		{"compact form", req("x: 300;refresher=uac", "k: timer"), 0, "300;refresher=uac", true, false, false},
		{"too small", req("Session-Expires: 30", "Supported: timer"), 0, "", false, false, true},
		{"none asked, none wanted", req("Supported: timer"), 0, "", false, false, false},
		{"none asked, we want one", req("Supported: timer"), 1800 * time.Second, "1800;refresher=uas", false, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			se, requireTimer, st, tooSmall := uasSessionTimer(tc.req, tc.want, 90*time.Second)
			require.Equal(t, tc.tooSmall, tooSmall)
			require.Equal(t, tc.se, se)
			require.Equal(t, tc.require, requireTimer)
			require.Equal(t, tc.weRefresh, st.weRefresh)
		})
	}
}

// As refresher the machine refreshes at half the interval: by UPDATE when
// the peer allows it, else by a re-INVITE carrying the SDP last sent,
// unchanged (same o= version); a peer re-INVITE meanwhile is answered 491
// and the T.38 request waits for the refresh's answer.
func TestMachineSessionRefresh(t *testing.T) {
	m, _, peer := newMachine(t, RoleCaller, PolicyAwait, false)
	m.awaitDeadline = time.Time{} // the await timeout is not under test
	m.sessionTimerSet(t0, sessionTimer{interval: 90 * time.Second, weRefresh: true})
	require.Equal(t, t0.Add(45*time.Second), m.deadline())
	sentBefore := m.sent
	acts := m.timeout(t0.Add(45 * time.Second))
	require.Equal(t, []actKind{actRefresh}, kinds(acts))
	require.False(t, acts[0].update)
	require.Same(t, sentBefore, acts[0].sdp, "identical SDP")
	require.Equal(t, "90;refresher=uac", acts[0].se)
	require.Equal(t, sentBefore.Origin.Version, acts[0].sdp.Origin.Version)

	// The peer's T.38 re-INVITE crosses our refresh: 491.
	acts = m.remoteOffer(t0.Add(46*time.Second), sdp.Offer(peer, sdp.KindT38, nil))
	require.Equal(t, []actKind{actRespond}, kinds(acts))
	require.Equal(t, 491, acts[0].code)

	acts = m.refreshAnswered(t0.Add(46*time.Second), reply{code: 200, st: sessionTimer{interval: 90 * time.Second, weRefresh: true}})
	require.Empty(t, acts)
	require.Equal(t, t0.Add(91*time.Second), m.deadline(), "next refresh at half the interval")

	// With UPDATE allowed; a 405 falls back to re-INVITE at once.
	m.peerUpdate = true
	acts = m.timeout(t0.Add(91 * time.Second))
	require.Equal(t, []actKind{actRefresh}, kinds(acts))
	require.True(t, acts[0].update)
	require.Nil(t, acts[0].sdp)
	acts = m.refreshAnswered(t0.Add(91*time.Second), reply{code: 405})
	require.Equal(t, []actKind{actRefresh}, kinds(acts))
	require.False(t, acts[0].update)

	// A 2xx without Session-Expires ends the session timer.
	acts = m.refreshAnswered(t0.Add(92*time.Second), reply{code: 200})
	require.Empty(t, acts)
	require.True(t, m.deadline().IsZero())

	// 481 to a refresh: the dialog is gone.
	m.sessionTimerSet(t0.Add(100*time.Second), sessionTimer{interval: 90 * time.Second, weRefresh: true})
	m.timeout(t0.Add(145 * time.Second))
	acts = m.refreshAnswered(t0.Add(145*time.Second), reply{code: 481})
	require.Equal(t, []actKind{actBye, actEnd}, kinds(acts))
}

// When the peer is the refresher, a session it does not refresh ends with
// our BYE at the expiry minus the lesser of 32 s and a third of the
// interval (RFC 4028 clause 10); each refresh it sends moves that on.
func TestMachineSessionExpiresPeerRefresher(t *testing.T) {
	m, _, _ := newMachine(t, RoleAnswerer, PolicyAwait, false)
	m.awaitDeadline = time.Time{} // the await timeout is not under test
	m.sessionTimerSet(t0, sessionTimer{interval: 90 * time.Second})
	require.Equal(t, t0.Add(60*time.Second), m.deadline(), "90 s less a third")
	require.Empty(t, m.timeout(t0.Add(59*time.Second)))

	// The peer refreshes at 45 s: the expiry moves on.
	m.sessionTimerSet(t0.Add(45*time.Second), sessionTimer{interval: 90 * time.Second})
	require.Empty(t, m.timeout(t0.Add(60*time.Second)))
	require.Equal(t, t0.Add(105*time.Second), m.deadline())

	// Then it falls silent: BYE, and the call ends session-expired.
	acts := m.timeout(t0.Add(105 * time.Second))
	require.Equal(t, []actKind{actBye, actEnd}, kinds(acts))
	require.Equal(t, ResultSessionExpired, acts[1].result)
	require.Equal(t, "session-expired", acts[1].result.String())
	require.True(t, m.deadline().IsZero())

	// A long interval: 32 s before the expiry, not a third.
	m, _, _ = newMachine(t, RoleAnswerer, PolicyAwait, false)
	m.awaitDeadline = time.Time{}
	m.sessionTimerSet(t0, sessionTimer{interval: 1800 * time.Second})
	require.Equal(t, t0.Add(1768*time.Second), m.deadline())
}

// A provisional response to our re-INVITE stretches the wait for its
// final answer to 3x SwitchTimeout; with none we give up at SwitchTimeout.
func TestMachineReinviteProvisional(t *testing.T) {
	m, _, peer := newMachine(t, RoleAnswerer, PolicyRequest, false)
	m.offerProvisional(t0.Add(300 * time.Millisecond))
	require.Equal(t, t0.Add(15*time.Second), m.deadline())
	require.Empty(t, m.timeout(t0.Add(5*time.Second)))
	acts := m.offerAnswered(t0.Add(9*time.Second), reply{code: 200}, peerAnswer(t, peer, m.offer))
	require.Equal(t, []actKind{actMedia}, kinds(acts))

	m, _, _ = newMachine(t, RoleAnswerer, PolicyRequest, false)
	m.offerProvisional(t0.Add(time.Second))
	acts = m.timeout(t0.Add(15 * time.Second))
	require.Equal(t, []actKind{actBye, actEnd}, kinds(acts))
	require.Equal(t, ResultT38Refused, acts[1].result)
}

// A peer whose refresh repeats the call's first (audio) description at its
// old session version, after we moved the call to T.38: RFC 3264 clause 8
// makes an unchanged version a refresh, so the fax stays on T.38 and the
// answer is our current description. A real move back to audio (a new
// version) is still honoured.
func TestMachineStaleRefreshKeepsT38(t *testing.T) {
	m, acts, peer := newMachine(t, RoleAnswerer, PolicyRequest, false)
	require.Equal(t, []actKind{actMedia, actReinvite}, kinds(acts))
	first := m.remote // the peer's audio offer that started the call
	acts = m.offerAnswered(t0.Add(10*time.Millisecond), reply{code: 200}, peerAnswer(t, peer, acts[1].sdp))
	require.Equal(t, []actKind{actMedia}, kinds(acts))
	require.Equal(t, stT38, m.state)
	current := m.sent.Marshal()

	stale := *first
	acts = m.remoteOffer(t0.Add(time.Second), &stale)
	require.Equal(t, []actKind{actRespond}, kinds(acts), "no media change")
	require.Equal(t, 200, acts[0].code)
	require.Equal(t, string(current), string(acts[0].sdp.Marshal()))
	require.Equal(t, stT38, m.state)

	back := *first
	back.Origin.Version = m.remote.Origin.Version + 1
	acts = m.remoteOffer(t0.Add(2*time.Second), &back)
	require.Equal(t, []actKind{actRespond, actMedia}, kinds(acts), "a newer audio offer moves the call")
	require.Equal(t, stAudio, m.state)
}
