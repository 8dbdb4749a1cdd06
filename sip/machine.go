package sip

import (
	"errors"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/faxkit/faxkit/sdp"
)

// Policy is the T.38 switch policy of a call (the CLI's -t38 flag).
type Policy uint8

// Policies. The zero value is PolicyAuto.
const (
	// PolicyAuto: the answering side requests T.38 as soon as the call is
	// up; the calling side accepts the peer's re-INVITE and requests T.38
	// itself if none comes within Config.AutoRequestDelay (or as soon as
	// it hears the answerer's CED or V.21 flags). T.38 offered in an
	// initial INVITE is accepted.
	PolicyAuto Policy = iota
	// PolicyRequest: this side sends the re-INVITE to T.38 once the call
	// is up.
	PolicyRequest
	// PolicyAwait: wait for the peer's re-INVITE; never send one.
	PolicyAwait
	// PolicyOffer: T.38 (with audio) in the initial INVITE; then as auto.
	PolicyOffer
	// PolicyOff: audio only; T.38 offers are refused with 488.
	PolicyOff
)

var policyNames = [...]string{"auto", "request", "await", "offer", "off"}

func (p Policy) String() string {
	if int(p) < len(policyNames) {
		return policyNames[p]
	}
	return "Policy(" + strconv.Itoa(int(p)) + ")"
}

// ParsePolicy parses a -t38 flag value.
func ParsePolicy(s string) (Policy, error) {
	for i, n := range policyNames {
		if s == n {
			return Policy(i), nil
		}
	}
	return 0, errors.New("sip: unknown T.38 policy (want auto, request, await, offer or off)")
}

// Role is which side of the call this is.
type Role uint8

// Roles.
const (
	RoleCaller   Role = iota // UAC of the initial INVITE
	RoleAnswerer             // UAS of the initial INVITE
)

// Result says how the call ended, from the SIP side.
type Result uint8

// Results.
const (
	ResultNone           Result = iota // still up
	ResultFaxDone                      // the application said the fax ended; we sent BYE
	ResultRemoteHangup                 // the peer sent BYE (or CANCEL)
	ResultT38Refused                   // our re-INVITE to T.38 was refused (488/415/...) or unanswered within SwitchTimeout
	ResultT38NotOffered                // await: the peer never offered T.38 within AwaitTimeout
	ResultLocalAbort                   // the application hung up before the fax ended
	ResultRejected                     // the initial INVITE failed (see Call.Status)
	ResultError                        // transport or protocol failure
	ResultSessionExpired               // the peer was the session refresher and did not refresh in time (RFC 4028 clause 10)
)

var resultNames = [...]string{"", "fax-done", "remote-hangup", "t38-refused", "t38-not-offered", "local-abort", "rejected", "error", "session-expired"}

func (r Result) String() string {
	if int(r) < len(resultNames) {
		return resultNames[r]
	}
	return "Result(" + strconv.Itoa(int(r)) + ")"
}

// Tone is a fax signal the audio leg heard.
type Tone uint8

// Tones the audio detector reports.
const (
	ToneCNG Tone = iota + 1 // 1100 Hz calling tone
	ToneCED                 // 2100 Hz answer tone
	ToneV21                 // V.21 channel 2 HDLC flags (the T.30 preamble)
)

var toneNames = [...]string{"", "CNG", "CED", "V21"}

func (t Tone) String() string {
	if int(t) < len(toneNames) {
		return toneNames[t]
	}
	return "Tone(" + strconv.Itoa(int(t)) + ")"
}

// state of the machine after the dialog is confirmed.
type state uint8

const (
	stAudio    state = iota // media is audio
	stOffering              // our re-INVITE is outstanding
	stT38                   // media is T.38
	stEnding                // BYE sent
	stEnded
)

// actKind is what the driver must do.
type actKind uint8

const (
	actReinvite actKind = iota + 1 // send a re-INVITE with sdp as offer
	actRespond                     // answer the pending incoming re-INVITE with code (and sdp on 2xx)
	actMedia                       // media changed to neg
	actBye                         // send BYE
	actEnd                         // the call is over with result
	actResend                      // retransmit our last 2xx to a re-INVITE (no ACK yet)
	actRefresh                     // send a session refresh: UPDATE (update) or re-INVITE with sdp unchanged
)

type action struct {
	kind   actKind
	code   int
	sdp    *sdp.Session
	media  sdp.Negotiated
	result Result
	se     string // Session-Expires for a request we send ("" none)
	minSE  string // Min-SE for a request we send ("" none)
	update bool   // actRefresh by UPDATE
	// audioFax (actMedia, audio): the audio path is the application's
	// now, for an audio fax modem; the pre-switch leg stops.
	audioFax bool
}

// machineConfig is what the state machine needs of Config.
type machineConfig struct {
	role             Role
	policy           Policy
	local            sdp.Local
	switchTimeout    time.Duration // our re-INVITE unanswered: give up
	autoRequestDelay time.Duration // caller in auto: request T.38 ourselves after this
	awaitTimeout     time.Duration // await: no T.38 offer within this ends the call
	audioFallback    bool          // stay in audio when T.38 is refused (an audio modem exists)
	byeWait          time.Duration // after the fax: wait this long for the peer's BYE before sending ours
	minSE            time.Duration // Config.MinSE: no session interval we ask for is below it
	rand             *rand.Rand    // glare back-off
}

// machine is the dialog and media-negotiation logic of one confirmed call:
// a pure state machine. The driver feeds it events with the time they
// happened and carries out the actions it returns; deadline says when to
// call timeout next. It does no I/O and reads no clock.
//
// The SIP transactions themselves (retransmission, CANCEL, ACK of the
// initial INVITE) are sipgo's; this machine decides what to offer, how to
// answer, when to switch to T.38, and when the call ends.
type machine struct {
	cfg   machineConfig
	state state

	sent     *sdp.Session // our last description in the dialog (offer or answer)
	remote   *sdp.Session // the peer's last description
	offer    *sdp.Session // our outstanding re-INVITE offer
	media    sdp.Negotiated
	result   Result
	faxEnded bool

	requestAt     time.Time // send our T.38 re-INVITE then
	offerDeadline time.Time // our re-INVITE unanswered by then: refused
	offerSent     time.Time // when our re-INVITE went
	offerAlive    bool      // it drew a provisional response
	awaitDeadline time.Time
	byeAt         time.Time // fax done: send BYE then unless the peer's comes first
	tries         int       // our T.38 re-INVITEs sent (glare retries)

	// Our 2xx to the peer's last re-INVITE, retransmitted until its ACK
	// (RFC 3261 clause 13.3.1.4; the transaction layer does not do it,
	// RFC 6026 leaves it to the core).
	okNext     time.Time     // retransmit then (zero: ACKed or given up)
	okInterval time.Duration // T1 doubling up to T2
	okUntil    time.Time     // 64*T1 after the first 2xx

	// Session timer (RFC 4028) as negotiated by the last transaction
	// that carried Session-Expires.
	st            sessionTimer
	peerUpdate    bool      // the peer allows UPDATE: refresh with it
	refreshAt     time.Time // we refresh: send the refresh then
	expireAt      time.Time // the peer refreshes: end the session then unless it has
	refreshing    bool      // our refresh is outstanding
	refreshInvite bool      // ... and it is a re-INVITE (an INVITE transaction)
	refreshes     int       // refreshes sent (for tests)
	stSet         time.Time // when st was last negotiated

	// RFC 4028 422 (Session Interval Too Small) handling: peerMinSE is
	// the largest Min-SE the dialog has seen (in a 422 to a request of
	// ours, or in a peer's refresh); from then on our requests ask for at
	// least it and carry it in Min-SE (clause 7.4). offerSE and refreshSE
	// are the intervals the outstanding re-INVITE and refresh asked for
	// (0: none); the retry counters bound the retries of each.
	// timerDemanded says a 422 asked us for a session timer: our requests
	// then carry Session-Expires even while none is negotiated (a Min-SE
	// heard only in the peer's requests bounds what we ask for, but does
	// not make us ask).
	peerMinSE        time.Duration
	timerDemanded    bool
	offerSE          time.Duration
	refreshSE        time.Duration
	offerSERetries   int
	refreshSERetries int

	audioFax bool // the application's audio fax runs on the audio path
}

// RFC 3261 clause 17 timer values (sipgo's defaults).
const (
	timerT1 = 500 * time.Millisecond
	timerT2 = 4 * time.Second
)

const maxGlareTries = 4

// maxSERetries bounds the requests sent again after a 422 (RFC 4028
// clause 7.4): each must carry a larger Min-SE than the interval last
// asked for, so two retries cover a proxy and the UAS each raising it.
const maxSERetries = 2

// reply is the final response to a request of ours, as the machine needs
// it.
type reply struct {
	code  int
	st    sessionTimer  // the session timer a 2xx negotiated
	minSE time.Duration // a 422's Min-SE (0: absent or unusable)
}

// start is called when the dialog is confirmed (ACK sent or received) with
// the descriptions exchanged in the initial INVITE.
func (m *machine) start(now time.Time, sent, remote *sdp.Session, neg sdp.Negotiated) []action {
	m.sent, m.remote, m.media = sent, remote, neg
	acts := []action{{kind: actMedia, media: neg}}
	if neg.T38 != nil {
		m.state = stT38
		return acts
	}
	m.state = stAudio
	if m.cfg.policy == PolicyOff || (m.cfg.audioFallback && m.cfg.policy == PolicyAwait) {
		// Audio fax from the start: off never moves to T.38; await with
		// an audio modem has no reason to wait idle for the peer's
		// re-INVITE (which, if it comes, moves the running fax to T.38).
		m.audioFax = true
		acts[0].audioFax = true
		return acts
	}
	switch m.cfg.policy {
	case PolicyRequest:
		m.requestAt = now
	case PolicyAuto, PolicyOffer:
		if m.cfg.role == RoleAnswerer {
			m.requestAt = now
		} else {
			m.requestAt = now.Add(m.cfg.autoRequestDelay)
		}
	case PolicyAwait:
		m.awaitDeadline = now.Add(m.cfg.awaitTimeout)
	}
	return append(acts, m.timeout(now)...)
}

// deadline is when timeout must next be called (zero: no timer).
func (m *machine) deadline() time.Time {
	var d time.Time
	requestAt := m.requestAt
	if m.refreshing && m.refreshInvite {
		requestAt = time.Time{} // fires once the refresh is answered
	}
	for _, t := range []time.Time{requestAt, m.offerDeadline, m.awaitDeadline, m.byeAt, m.okNext, m.refreshAt, m.expireAt} {
		if !t.IsZero() && (d.IsZero() || t.Before(d)) {
			d = t
		}
	}
	return d
}

// timeout fires the timers due at now.
func (m *machine) timeout(now time.Time) []action {
	if m.state >= stEnding {
		return nil
	}
	acts := m.resend2xx(now)
	if !m.byeAt.IsZero() && !now.Before(m.byeAt) {
		return append(acts, m.hangup(ResultFaxDone)...)
	}
	return append(acts, m.timers(now)...)
}

// resend2xx: RFC 3261 clause 13.3.1.4: "the 2xx response is passed to the
// transport with an interval that starts at T1 seconds and doubles for
// each retransmission until it reaches T2 seconds", ending at the ACK or
// after 64*T1. The clause says a UAS that never gets the ACK SHOULD end
// the session with BYE; a fax whose media flows is left alone (the peer
// evidently had our answer), so retransmission simply stops.
func (m *machine) resend2xx(now time.Time) []action {
	if m.okNext.IsZero() || now.Before(m.okNext) {
		return nil
	}
	if !now.Before(m.okUntil) {
		m.okNext = time.Time{}
		return nil
	}
	m.okInterval = min(2*m.okInterval, timerT2)
	m.okNext = now.Add(m.okInterval)
	return []action{{kind: actResend}}
}

// sent2xx arms the retransmission of the 2xx just sent to a re-INVITE
// (a newer one replaces an older one still unacknowledged).
func (m *machine) sent2xx(now time.Time) {
	m.okInterval = timerT1
	m.okNext = now.Add(timerT1)
	m.okUntil = now.Add(64 * timerT1)
}

// acked is the ACK of our 2xx to the peer's re-INVITE.
func (m *machine) acked(now time.Time) { m.okNext = time.Time{} }

// timers fires the negotiation timers due at now.
func (m *machine) timers(now time.Time) []action {
	if !m.offerDeadline.IsZero() && !now.Before(m.offerDeadline) {
		// RFC 3261 leaves a re-INVITE that is never answered to Timer B
		// (32 s); a fax cannot wait that long. Treat it as refused.
		m.offerDeadline = time.Time{}
		m.offer = nil
		m.state = stAudio
		return m.refused()
	}
	if !m.awaitDeadline.IsZero() && !now.Before(m.awaitDeadline) {
		m.awaitDeadline = time.Time{}
		if m.state == stAudio {
			if !m.cfg.audioFallback {
				return m.hangup(ResultT38NotOffered)
			}
			return m.toAudioFax()
		}
	}
	if !m.requestAt.IsZero() && !now.Before(m.requestAt) && !(m.refreshing && m.refreshInvite) {
		m.requestAt = time.Time{}
		if m.state == stAudio && !m.audioFax {
			m.tries++
			return m.sendT38Offer(now)
		}
	}
	if !m.expireAt.IsZero() && !now.Before(m.expireAt) {
		// RFC 4028 clause 10: the peer was to refresh and did not; the
		// session is over, and we say so with BYE rather than leave a
		// dialog (and its media) that the peer and the proxies in the
		// path consider dead.
		m.expireAt = time.Time{}
		return m.hangup(ResultSessionExpired)
	}
	if !m.refreshAt.IsZero() && !now.Before(m.refreshAt) {
		m.refreshAt = time.Time{}
		if m.state == stOffering || m.refreshing {
			// Our T.38 re-INVITE (which carries Session-Expires and
			// refreshes the session when answered) or a refresh is
			// outstanding: look again shortly.
			m.refreshAt = now.Add(time.Second)
			return nil
		}
		// RFC 4028 clause 10: UPDATE without a body where the peer allows
		// it (it touches no media), else a re-INVITE with the session
		// description unchanged, the same o= version (RFC 3264 clause 8).
		m.refreshing, m.refreshInvite = true, !m.peerUpdate
		m.refreshes++
		m.refreshSE = m.askInterval()
		a := action{kind: actRefresh, update: m.peerUpdate, se: seValue(m.refreshSE, "uac"), minSE: m.minSEValue()}
		if !m.peerUpdate {
			a.sdp = m.sent
		}
		return []action{a}
	}
	return nil
}

// sessionTimerSet is a session timer negotiated by a transaction carrying
// Session-Expires (the initial INVITE, a refresh, a re-INVITE either way):
// when we refresh, the next refresh goes at half the interval (RFC 4028
// clause 10).
func (m *machine) sessionTimerSet(now time.Time, st sessionTimer) {
	m.st, m.stSet = st, now
	m.refreshAt, m.expireAt = time.Time{}, time.Time{}
	if st.interval > 0 && st.weRefresh && m.state < stEnding {
		m.refreshAt = now.Add(st.interval / 2)
	}
	if st.interval > 0 && !st.weRefresh && m.state < stEnding {
		// The side that does not refresh sends BYE at the expiry minus
		// the lesser of 32 s and a third of the interval (clause 10).
		m.expireAt = now.Add(st.interval - min(32*time.Second, st.interval/3))
	}
}

// refreshAnswered is the final response to our refresh (r.st: the timer
// its 2xx negotiated; r.minSE: a 422's Min-SE).
func (m *machine) refreshAnswered(now time.Time, r reply) []action {
	if !m.refreshing || m.state >= stEnding {
		return nil
	}
	wasUpdate := !m.refreshInvite
	m.refreshing, m.refreshInvite = false, false
	code := r.code
	if code != 422 {
		m.refreshSERetries = 0
	}
	switch {
	case code >= 200 && code < 300:
		m.sessionTimerSet(now, r.st)
	case code == 422:
		// RFC 4028 clause 7.4: the peer (or a proxy) wants a longer
		// interval: refresh again at once asking for its Min-SE.
		if m.raiseMinSE(r.minSE, m.refreshSE, &m.refreshSERetries) {
			m.refreshAt = now
			break
		}
		// No usable Min-SE, or one no larger than what we asked for, or
		// the retries are spent: this session cannot be refreshed. Stop
		// trying and let it run to its expiry, ending it then with BYE
		// as the side that does not refresh would (the fax usually ends
		// first).
		m.refreshSERetries = 0
		if m.st.interval > 0 {
			m.expireAt = m.stSet.Add(m.st.interval - min(32*time.Second, m.st.interval/3))
		}
	case code == 481 || code == 408:
		// RFC 3261 clause 12.2.1.2: the dialog is gone.
		return m.hangup(ResultError)
	case wasUpdate && (code == 405 || code == 501):
		m.peerUpdate = false
		m.refreshAt = now
	case code == 491:
		m.refreshAt = now.Add(m.glareWait())
	default:
		// Try again before the session expires (the peer ends it at
		// interval minus a third at the latest).
		m.refreshAt = now.Add(max(m.st.interval/4, time.Second))
	}
	return m.timers(now)
}

// sendT38Offer sends our re-INVITE to T.38 (the first, a retry after
// 491, or one after 422 asking for a longer session interval).
func (m *machine) sendT38Offer(now time.Time) []action {
	m.offer = sdp.Offer(m.cfg.local, sdp.KindT38, m.sent)
	m.state = stOffering
	m.offerDeadline = now.Add(m.cfg.switchTimeout)
	m.offerSent, m.offerAlive = now, false
	a := action{kind: actReinvite, sdp: m.offer}
	m.offerSE = m.askInterval()
	if m.offerSE > 0 {
		// A re-INVITE refreshes the session too (RFC 4028 clause 7.4),
		// naming the current refresher (in this transaction's terms: we
		// are its UAC); with no session timer yet (a retry after 422)
		// the UAS chooses.
		r := ""
		if m.st.interval > 0 {
			r = "uas"
			if m.st.weRefresh {
				r = "uac"
			}
		}
		a.se, a.minSE = seValue(m.offerSE, r), m.minSEValue()
	}
	return []action{a}
}

// askInterval is the session interval our next request asks for: the
// negotiated one, raised to the largest Min-SE the dialog has seen (and
// never below our own MinSE then).
func (m *machine) askInterval() time.Duration {
	if m.peerMinSE == 0 || (m.st.interval == 0 && !m.timerDemanded) {
		return m.st.interval
	}
	return max(m.st.interval, m.peerMinSE, m.cfg.minSE)
}

// minSEValue is the Min-SE of our requests: RFC 4028 clause 7.4 wants the
// largest Min-SE seen on the dialog once there is one ("" before).
func (m *machine) minSEValue() string {
	if m.peerMinSE == 0 {
		return ""
	}
	return seValue(max(m.peerMinSE, m.cfg.minSE), "")
}

// raiseMinSE takes a 422's Min-SE for a request that asked for sent (0:
// no Session-Expires): true when the request is to be sent again, asking
// for it (see retryInterval); *retries counts the retries of that request.
func (m *machine) raiseMinSE(peerMin, sent time.Duration, retries *int) bool {
	if *retries >= maxSERetries {
		return false
	}
	if _, ok := retryInterval(peerMin, sent, m.cfg.minSE); !ok {
		return false
	}
	*retries++
	m.peerMinSE = max(m.peerMinSE, peerMin)
	m.timerDemanded = true
	return true
}

// minSEHeard is the Min-SE of a peer's request (its initial INVITE, a
// re-INVITE or UPDATE; 0: none): later requests of ours honour it (RFC
// 4028 clause 7.4).
func (m *machine) minSEHeard(d time.Duration) {
	if d > 0 && d <= maxSessionInterval {
		m.peerMinSE = max(m.peerMinSE, d)
	}
}

// glareWait is the RFC 3261 clause 14.1 back-off after a 491: the owner of
// the Call-ID (the caller) waits 2.1 to 4 s, the other side 0 to 2 s, in
// units of 10 ms. The other side draws from 0.1-2 s: a peer that answers
// 491 usually has its own re-INVITE in flight, and a retry sent before
// that arrives (a draw of 0) only starts a second glare.
func (m *machine) glareWait() time.Duration {
	if m.cfg.role == RoleCaller {
		return time.Duration(210+m.cfg.rand.IntN(191)) * 10 * time.Millisecond
	}
	return time.Duration(10+m.cfg.rand.IntN(191)) * 10 * time.Millisecond
}

// provisionalFactor stretches SwitchTimeout once our re-INVITE has drawn a
// provisional response.
const provisionalFactor = 3

// offerProvisional is a provisional (1xx) response to our re-INVITE: the
// peer has it and is working on it (a loaded peer, an SBC asking its other
// leg), so the wait for the final answer stretches to provisionalFactor
// times SwitchTimeout from the re-INVITE (the first one, when 422s made
// us send it again): "not answered" means no response at all. A peer that
// never answers at all is still given up on at SwitchTimeout.
func (m *machine) offerProvisional(now time.Time) {
	if m.state != stOffering || m.offerAlive {
		return
	}
	m.offerAlive = true
	m.offerDeadline = m.offerSent.Add(provisionalFactor * m.cfg.switchTimeout)
}

// heard reports a fax tone on the audio leg: a caller in auto that hears
// the answerer's CED or V.21 flags requests T.38 at once instead of
// waiting for AutoRequestDelay.
func (m *machine) heard(now time.Time, t Tone) []action {
	if m.state != stAudio || m.tries > 0 || m.requestAt.IsZero() || m.audioFax {
		return nil
	}
	if t == ToneCED || t == ToneV21 || m.cfg.policy == PolicyRequest {
		m.requestAt = now
		return m.timeout(now)
	}
	return nil
}

// offerAnswered is the final response to our re-INVITE (answer is its
// body, nil when none; r.st the session timer a 2xx negotiated, r.minSE a
// 422's Min-SE).
func (m *machine) offerAnswered(now time.Time, r reply, answer *sdp.Session) []action {
	if m.state != stOffering {
		return nil // a late response after we gave up or hung up
	}
	offer := m.offer
	deadline, sent, alive := m.offerDeadline, m.offerSent, m.offerAlive
	m.offer, m.offerDeadline = nil, time.Time{}
	m.state = stAudio
	code := r.code
	if code != 422 {
		m.offerSERetries = 0
	}
	switch {
	case code >= 200 && code < 300:
		if m.offerSE > 0 {
			// It carried Session-Expires: its 2xx negotiated the
			// session timer anew (RFC 4028 clause 7.2).
			m.sessionTimerSet(now, r.st)
		}
		if answer == nil {
			return m.refused()
		}
		neg, err := sdp.Result(offer, answer)
		if err != nil || neg.T38 == nil {
			return m.refused()
		}
		m.sent, m.remote = offer, answer
		return m.setMedia(neg)
	case code == 491:
		// RFC 3261 clause 14.1 (see glareWait).
		if m.tries >= maxGlareTries {
			return m.refused()
		}
		m.requestAt = now.Add(m.glareWait())
		return nil
	case code == 422:
		// RFC 4028 clause 7.4: the same offer again at once, asking for
		// the 422's Min-SE (a new transaction, the next CSeq). A 422
		// that cannot be retried refuses T.38 like any failure.
		if m.raiseMinSE(r.minSE, m.offerSE, &m.offerSERetries) {
			acts := m.sendT38Offer(now)
			// The retry is the same switch, not a new one: its wait
			// runs on from the first re-INVITE's (SwitchTimeout, or
			// provisionalFactor times it once a provisional came), so
			// 422s cannot stretch the wait for T.38.
			m.offerDeadline, m.offerSent, m.offerAlive = deadline, sent, alive
			return acts
		}
		m.offerSERetries = 0
	}
	return m.refused() // 488, 415, 606, 500...
}

// refused: T.38 was not obtained. With an audio modem the call stays in
// audio; without one it ends truthfully.
func (m *machine) refused() []action {
	if m.cfg.audioFallback {
		return m.toAudioFax()
	}
	return m.hangup(ResultT38Refused)
}

// toAudioFax hands the audio path to the application's audio fax modem
// (once); a later T.38 offer from the peer is still accepted, and the
// application moves the running fax over (faxkit's Call.SwapMedia).
func (m *machine) toAudioFax() []action {
	if m.audioFax || m.state != stAudio || m.media.Audio == nil {
		return nil
	}
	m.audioFax = true
	m.requestAt = time.Time{}
	return []action{{kind: actMedia, media: m.media, audioFax: true}}
}

func (m *machine) setMedia(neg sdp.Negotiated) []action {
	if neg.T38 != nil {
		m.state = stT38
		m.requestAt, m.awaitDeadline = time.Time{}, time.Time{}
	} else {
		m.state = stAudio
	}
	if negEqual(neg, m.media) {
		return nil
	}
	m.media = neg
	return []action{{kind: actMedia, media: neg, audioFax: neg.Audio != nil && m.audioFax}}
}

func negEqual(a, b sdp.Negotiated) bool {
	switch {
	case a.T38 != nil && b.T38 != nil:
		return *a.T38 == *b.T38
	case a.Audio != nil && b.Audio != nil:
		return *a.Audio == *b.Audio
	}
	return a.T38 == nil && b.T38 == nil && a.Audio == nil && b.Audio == nil
}

// remoteOffer is an incoming re-INVITE (offer nil: a re-INVITE without
// SDP, answered with an offer of the current media; the answer then
// comes in the ACK, see ackAnswer). It returns exactly one actRespond
// first, possibly followed by a media change.
func (m *machine) remoteOffer(now time.Time, offer *sdp.Session) []action {
	if m.refreshing && m.refreshInvite && m.state < stEnding {
		return []action{{kind: actRespond, code: 491}} // our refresh re-INVITE is outstanding
	}
	switch m.state {
	case stOffering:
		// Glare: we have a re-INVITE outstanding (RFC 3261 clause 14.2).
		return []action{{kind: actRespond, code: 491}}
	case stEnding, stEnded:
		return []action{{kind: actRespond, code: 481}}
	}
	if offer == nil {
		kind := sdp.KindAudio
		if m.state == stT38 {
			kind = sdp.KindT38
		}
		o := sdp.Offer(m.cfg.local, kind, m.sent)
		m.sent = o
		m.offer = o // the ACK carries the answer
		m.sent2xx(now)
		return []action{{kind: actRespond, code: 200, sdp: o}}
	}
	if m.state == stT38 && stale(offer, m.remote) && m.sent != nil {
		// The peer's session version did not move: RFC 3264 clause 8
		// says a changed offer increments it, so this is a refresh
		// (RFC 4028), whatever its body says. Some user agents refresh
		// with the description of the call's start (audio) after a
		// T.38 switch; taking that at its word would pull a running
		// fax off T.38. Answer with the current description, media
		// unchanged. (Only on T.38: a peer that moves an audio call to
		// T.38 without a new version is still heard.)
		m.sent2xx(now)
		return []action{{kind: actRespond, code: 200, sdp: m.sent}}
	}
	allowT38 := m.cfg.policy != PolicyOff
	ans, neg, err := sdp.Answer(m.cfg.local, offer, m.sent, allowT38)
	if err != nil {
		return []action{{kind: actRespond, code: 488}}
	}
	m.sent, m.remote = ans, offer
	m.sent2xx(now)
	return append([]action{{kind: actRespond, code: 200, sdp: ans}}, m.setMedia(neg)...)
}

// stale reports whether offer is no newer than the peer's last
// description: the same session (o= session ID) at a version not above it.
func stale(offer, last *sdp.Session) bool {
	return offer != nil && last != nil && offer.Origin.SessionID == last.Origin.SessionID &&
		offer.Origin.Username == last.Origin.Username && offer.Origin.Version <= last.Origin.Version
}

// ackAnswer is the SDP answer in the ACK of a 200 that carried our offer
// (a re-INVITE without SDP).
func (m *machine) ackAnswer(now time.Time, answer *sdp.Session) []action {
	offer := m.offer
	if offer == nil || m.state == stOffering || answer == nil {
		return nil
	}
	m.offer = nil
	neg, err := sdp.Result(offer, answer)
	if err != nil {
		return nil // keep the media as it was
	}
	m.remote = answer
	return m.setMedia(neg)
}

// faxDone: the application's fax ended (T.30 phase E, or failed). The
// peer may still be finishing its own phase E (a sender's DCN is still
// being paced out when the receiver has it), so our BYE waits byeWait for
// the peer's: the answering side waits longer than the calling side, so
// that two faxkit ends do not cross BYEs.
func (m *machine) faxDone(now time.Time) []action {
	if m.state >= stEnding || m.faxEnded {
		return nil
	}
	m.faxEnded = true
	m.requestAt, m.offerDeadline, m.awaitDeadline = time.Time{}, time.Time{}, time.Time{}
	m.byeAt = now.Add(m.cfg.byeWait)
	return m.timeout(now)
}

// hangupLocal: the application hangs up without a fax result.
func (m *machine) hangupLocal(now time.Time) []action { return m.hangup(ResultLocalAbort) }

func (m *machine) hangup(r Result) []action {
	if m.state >= stEnding {
		return nil
	}
	m.state = stEnding
	m.result = r
	m.requestAt, m.offerDeadline, m.awaitDeadline, m.byeAt, m.okNext = time.Time{}, time.Time{}, time.Time{}, time.Time{}, time.Time{}
	m.refreshAt, m.expireAt = time.Time{}, time.Time{}
	return []action{{kind: actBye}, {kind: actEnd, result: r}}
}

// byeReceived: the peer hung up (we answer 200 in the driver).
func (m *machine) byeReceived(now time.Time) []action {
	if m.state == stEnded {
		return nil
	}
	wasEnding := m.state == stEnding
	m.state = stEnded
	m.requestAt, m.offerDeadline, m.awaitDeadline, m.byeAt, m.okNext = time.Time{}, time.Time{}, time.Time{}, time.Time{}, time.Time{}
	m.refreshAt, m.expireAt = time.Time{}, time.Time{}
	if wasEnding {
		return nil
	}
	m.result = ResultRemoteHangup
	if m.faxEnded {
		m.result = ResultFaxDone // the fax was over; the peer hung up first
	}
	return []action{{kind: actEnd, result: m.result}}
}

// setT38Port moves where we take T.38 (a socket of its own once an audio
// fax runs on the audio one, so that the two never read each other's
// datagrams while the fax moves over): later offers and answers say it.
func (m *machine) setT38Port(port int) { m.cfg.local.T38Port = port }
