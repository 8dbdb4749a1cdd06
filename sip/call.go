package sip

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/faxkit/faxkit/sdp"
)

// URI is a party of a call (the dialed number or the caller). It is PHI:
// it logs itself redacted.
type URI struct {
	uri  string
	user string
}

// String returns the URI in full (PHI: never log it).
func (u URI) String() string { return u.uri }

// User returns the user part: the dialed number (Request-URI user) or the
// calling number.
func (u URI) User() string { return u.user }

// LogValue redacts the URI: the user part keeps at most its last two
// characters.
func (u URI) LogValue() slog.Value {
	if u.user == "" {
		return slog.StringValue("[redacted]")
	}
	keep := min(2, len(u.user)/4)
	return slog.StringValue("[redacted]" + u.user[len(u.user)-keep:])
}

// Media is a change of a call's media, delivered on Call.Media.
type Media struct {
	// Kind is sdp.KindAudio or sdp.KindT38.
	Kind sdp.Kind
	// Conn is the call's media socket (the same one before and after the
	// switch). With T.38 the application owns reading it until the next
	// Media value or the end of the call; it must not close it. Writes to
	// Remote go where the peer's packets come from (symmetric latching).
	Conn net.PacketConn
	// Remote is the peer's media address from its SDP.
	Remote net.Addr
	// Audio is the negotiated audio stream (Kind audio).
	Audio *sdp.AudioStream
	// T38 is the negotiated T.38 parameters (Kind T.38): run the T.38
	// terminal with T38.Version, T38.EC (redundancy or FEC as answered) and
	// datagrams of at most sdp.NormalizeMaxDatagram(T38.MaxDatagram)
	// octets.
	T38 *sdp.T38Params

	// AudioFax (Kind audio) hands the audio path to the application's
	// audio fax modem: the call stays in audio (the policy is off, T.38
	// was refused or not answered in time with Config.AudioFallback, or
	// await with AudioFallback, where the fax starts at once and moves to
	// T.38 if the peer asks). The sip package has stopped its own audio
	// leg and no longer reads or writes Conn: the application runs G.711
	// RTP on it to Remote with codec Audio.Codec (payload type
	// Audio.Codec.PT) in PTime packets, continuing Stream. Without
	// AudioFax an audio Media is the pre-switch leg, which the sip package
	// runs itself (silence or CNG out, tone detection): the application
	// must not use Conn then. A T.38 Media after an audio fax has begun
	// comes on a socket of its own (hand the running fax over, e.g.
	// faxkit's Call.SwapMedia).
	AudioFax bool
	// PTime is the packet time to send (AudioFax): 20 ms (what fax over
	// G.711 uses; RFC 3551's default).
	PTime time.Duration
	// Stream (AudioFax) continues the RTP stream the pre-switch leg sent:
	// the same SSRC, the next sequence number and a timestamp advanced by
	// the time since its last packet. Nil when the leg sent nothing (a
	// new stream starts at random values).
	Stream *RTPStream
}

type evKind uint8

const (
	evReinvite evKind = iota + 1
	evReinviteResult
	evAck
	evBye
	evHangup
	evFaxDone
	evTone
	evAbort
	evUpdate
	evRefreshResult
	evProvisional // a 1xx to our T.38 re-INVITE
)

type callEvent struct {
	kind evKind
	req  *sip.Request
	tx   sip.ServerTransaction
	code int
	body []byte
	tone Tone
	st   sessionTimer  // the session timer a 2xx to our request negotiated
	mse  time.Duration // the Min-SE of a 422 to our request (0: none usable)
	done chan struct{} // closed once a request event is answered
	// acked (a 2xx to our INVITE) is closed once our ACK is on the wire.
	// The result is posted before the ACK goes out, so that a BYE the
	// peer sends as soon as it has the ACK queues behind it; the call
	// waits for acked before acting on it, so that nothing it sends
	// (a BYE, say) overtakes the ACK.
	acked chan struct{}
}

// Call is one SIP call. Its dialog, media negotiation and timers belong to
// one goroutine; the methods only post to it.
type Call struct {
	e       *Endpoint
	role    Role
	callID  string
	key     string // Call-ID and our tag: the dialog as the endpoint finds it
	to      URI
	from    URI
	mc      *mediaConn
	t38c    *mediaConn // T.38's own socket once an audio fax runs on mc
	dcs     *sipgo.DialogClientSession
	dss     *sipgo.DialogServerSession
	machine machine
	events  chan callEvent
	media   chan Media

	status    atomic.Int32
	setup     time.Duration // from Dial to the 2xx, for diagnostics
	confirmed chan struct{}
	done      chan struct{}
	endOnce   sync.Once
	result    atomic.Uint32
	ackAt     time.Time

	switchMu sync.Mutex
	switchD  time.Duration // ACK to first T.38 packet; -1 until seen
}

func newCall(e *Endpoint, role Role, mc *mediaConn, callID, localTag string, to, from URI) *Call {
	c := &Call{e: e, role: role, mc: mc, callID: callID, key: dialogKey(callID, localTag), to: to, from: from,
		events: make(chan callEvent, 32), media: make(chan Media, 8),
		confirmed: make(chan struct{}), done: make(chan struct{}), switchD: -1}
	mc.onFirstT38 = c.firstT38
	return c
}

// To is the called party (Request-URI user: the dialed number). PHI.
func (c *Call) To() URI { return c.to }

// From is the calling party. PHI.
func (c *Call) From() URI { return c.from }

// Role says whether we placed or answered the call.
func (c *Call) Role() Role { return c.role }

// Status is the final SIP status of the initial INVITE (200 for an
// answered call).
func (c *Call) Status() int { return int(c.status.Load()) }

// Media delivers the call's media: the audio first, then each change (the
// switch to T.38). It is closed when the call ends.
func (c *Call) Media() <-chan Media { return c.media }

// Done is closed when the call has ended.
func (c *Call) Done() <-chan struct{} { return c.done }

// Result says how the call ended (ResultNone while it is up).
func (c *Call) Result() Result { return Result(c.result.Load()) }

// SwitchDelay is t38_switch_ms: from the ACK of the initial INVITE to the
// first T.38 packet sent or received. ok is false if T.38 never flowed.
func (c *Call) SwitchDelay() (d time.Duration, ok bool) {
	c.switchMu.Lock()
	defer c.switchMu.Unlock()
	return c.switchD, c.switchD >= 0
}

// FaxDone tells the call that the fax ended (T.30 phase E, or the fax
// failed): the call sends BYE and ends with ResultFaxDone. It returns when
// the call has ended or ctx is done.
func (c *Call) FaxDone(ctx context.Context) {
	c.post(callEvent{kind: evFaxDone})
	c.wait(ctx)
}

// Hangup ends the call (BYE) with ResultLocalAbort unless it already
// ended, and waits for it like FaxDone.
func (c *Call) Hangup() {
	c.post(callEvent{kind: evHangup})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c.wait(ctx)
}

// Wait blocks until the call ends or ctx is done and returns the result.
func (c *Call) Wait(ctx context.Context) Result {
	c.wait(ctx)
	return c.Result()
}

func (c *Call) wait(ctx context.Context) {
	select {
	case <-c.done:
	case <-ctx.Done():
	}
}

func (c *Call) post(ev callEvent) {
	select {
	case c.events <- ev:
	case <-c.done:
	}
}

func (c *Call) abort() { c.post(callEvent{kind: evAbort}) }

func (c *Call) firstT38() {
	c.switchMu.Lock()
	if c.switchD < 0 && !c.ackAt.IsZero() {
		c.switchD = time.Since(c.ackAt)
	}
	c.switchMu.Unlock()
}

// failSetup ends a call that never got confirmed.
func (c *Call) failSetup(code int) {
	if code != 0 {
		c.status.Store(int32(code))
	}
	c.finish(ResultRejected)
}

func (c *Call) failAfterAck(ctx context.Context) {
	bctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	_ = c.dcs.Bye(bctx)
	cancel()
	c.dcs.Close()
	c.finish(ResultError)
}

func (c *Call) finish(r Result) {
	c.endOnce.Do(func() {
		c.result.Store(uint32(r))
		c.mc.Close()
		if c.t38c != nil {
			c.t38c.Close()
		}
		c.e.unregister(c)
		close(c.media)
		close(c.done)
		c.e.wg.Done()
	})
}

// runAnswerer waits for the ACK of our 200, then runs the call.
func (c *Call) runAnswerer(sent, offer *sdp.Session, neg sdp.Negotiated) {
	if offer != nil {
		// WriteResponse returned: the ACK came (onAck read it).
		close(c.confirmed)
		c.run(time.Now(), sent, offer, neg)
		return
	}
	timer := time.NewTimer(64*sip.T1 + time.Second)
	defer timer.Stop()
	for {
		select {
		case ev := <-c.events:
			switch ev.kind {
			case evAck:
				if ev.req.CSeq() == nil || ev.req.CSeq().SeqNo != c.dss.InviteRequest.CSeq().SeqNo {
					continue
				}
				if offer == nil {
					// Delayed offer: the answer is in the ACK.
					ans, err := sdp.Parse(ev.req.Body())
					if err == nil {
						neg, err = sdp.Result(sent, ans)
					}
					if err != nil {
						c.byeAndFinish(ResultError)
						return
					}
					offer = ans
				}
				close(c.confirmed)
				c.run(time.Now(), sent, offer, neg)
				return
			case evBye, evAbort:
				c.finish(ResultRemoteHangup)
				return
			case evHangup:
				c.byeAndFinish(ResultLocalAbort)
				return
			case evReinvite:
				_ = ev.tx.Respond(sip.NewResponseFromRequest(ev.req, 491, "Request Pending", nil))
				close(ev.done)
			case evUpdate:
				_ = ev.tx.Respond(sip.NewResponseFromRequest(ev.req, 200, "OK", nil))
				close(ev.done)
			}
		case <-c.dss.Context().Done():
			c.finish(ResultRemoteHangup) // CANCEL
			return
		case <-timer.C:
			c.byeAndFinish(ResultError)
			return
		}
	}
}

func (c *Call) byeAndFinish(r Result) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if c.dss != nil {
		_ = c.dss.Bye(ctx)
		c.dss.Close()
	}
	if c.dcs != nil {
		_ = c.dcs.Bye(ctx)
		c.dcs.Close()
	}
	c.finish(r)
}

// run is the call's owner goroutine once the dialog is confirmed. sent
// and remote are the descriptions of the initial exchange.
func (c *Call) run(ackAt time.Time, sent, remote *sdp.Session, neg sdp.Negotiated) {
	if c.role == RoleCaller {
		close(c.confirmed)
	}
	c.switchMu.Lock()
	c.ackAt = ackAt
	c.switchMu.Unlock()
	log := c.e.cfg.Logger.With("role", c.role, "call", callIDHash(c.callID))
	var pending *callEvent // the incoming re-INVITE being answered
	var held *callEvent    // a peer re-INVITE held while ours awaits its answer
	var lastOK *okSent     // our 2xx to a re-INVITE, until its ACK
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	holdTimer := time.NewTimer(time.Hour)
	holdTimer.Stop()
	defer holdTimer.Stop()
	// A BYE that came while our re-INVITE awaits its answer, held (up to
	// glareHold) for that answer: the peer may have sent its 200 first,
	// and the application should hear of the T.38 it agreed to.
	byeHeld := false
	byeTimer := time.NewTimer(time.Hour)
	byeTimer.Stop()
	defer byeTimer.Stop()
	var cancels []context.CancelFunc // of our re-INVITE transactions
	defer func() {
		for _, f := range cancels {
			f()
		}
	}()

	acts := c.machine.start(ackAt, sent, remote, neg)
	c.machine.sessionTimerSet(ackAt, c.machine.st)
	for {
		for _, a := range acts {
			switch a.kind {
			case actMedia:
				c.applyMedia(a.media, a.audioFax, log)
			case actReinvite:
				log.Debug("sip re-INVITE sent", "kind", sdp.KindT38)
				ctx, cancel := context.WithTimeout(context.Background(), provisionalFactor*c.machine.cfg.switchTimeout+time.Second)
				cancels = append(cancels, cancel)
				go c.sendRequest(ctx, sip.INVITE, a.sdp.Marshal(), a.se, a.minSE, evReinviteResult)
			case actRefresh:
				log.Debug("sip session refresh sent", "update", a.update)
				ctx, cancel := context.WithTimeout(context.Background(), 64*sip.T1)
				cancels = append(cancels, cancel)
				if a.update {
					go c.sendRequest(ctx, sip.UPDATE, nil, a.se, a.minSE, evRefreshResult)
				} else {
					go c.sendRequest(ctx, sip.INVITE, a.sdp.Marshal(), a.se, a.minSE, evRefreshResult)
				}
			case actRespond:
				if pending != nil {
					res := sip.NewResponseFromRequest(pending.req, a.code, reasonPhrase(a.code), nil)
					if a.code == 200 {
						res = sip.NewSDPResponseFromRequest(pending.req, a.sdp.Marshal())
						c.answerSessionTimer(pending.req, res)
						res.AppendHeader(sip.NewHeader("Allow", allowed))
					}
					if a.code == 491 {
						res.AppendHeader(sip.NewHeader("Retry-After", "1"))
					}
					c.addContact(res)
					_ = pending.tx.Respond(res)
					if a.code == 200 {
						lastOK = &okSent{tx: pending.tx, res: res, cseq: pending.req.CSeq().SeqNo}
					}
					close(pending.done)
					log.Debug("sip re-INVITE answered", "status", a.code)
					pending = nil
				}
			case actResend:
				if lastOK != nil {
					log.Debug("sip re-INVITE 2xx retransmitted")
					_ = lastOK.tx.Respond(lastOK.res)
				}
			case actBye:
				c.mc.stopAudio()
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				var err error
				if c.dcs != nil {
					err = c.dcs.Bye(ctx)
				} else {
					err = c.dss.Bye(ctx)
				}
				cancel()
				if err != nil {
					log.Debug("sip BYE failed", "err", err)
				}
			case actEnd:
				log.Debug("sip call ended", "result", a.result)
				if c.dcs != nil {
					c.dcs.Close()
				}
				if c.dss != nil {
					c.dss.Close()
				}
				c.finish(a.result)
				return
			}
		}
		acts = nil
		if d := c.machine.deadline(); !d.IsZero() {
			timer.Reset(max(time.Until(d), 0))
		} else {
			timer.Reset(time.Hour)
		}
		var holdC <-chan time.Time
		if held != nil {
			holdC = holdTimer.C
		}
		var byeC <-chan time.Time
		if byeHeld {
			byeC = byeTimer.C
		}
		select {
		case <-byeC:
			byeHeld = false
			acts = c.machine.byeReceived(time.Now())
		case <-holdC:
			// Our re-INVITE is still unanswered: a real glare (491).
			ev := *held
			held = nil
			acts = c.remoteReinvite(time.Now(), ev, &pending)
		case ev := <-c.events:
			if ev.acked != nil {
				<-ev.acked
			}
			now := time.Now()
			switch ev.kind {
			case evReinvite:
				if c.machine.state == stOffering && held == nil {
					// Our own re-INVITE may already have its final
					// response in the transaction layer (which ACKed a
					// 491 or 488 at once) while the goroutine that posts
					// it has not run yet: a peer that answered ours with
					// 491 and sent its own at once is then no glare at
					// all. Hold the peer's INVITE briefly for that
					// response (its server transaction absorbs
					// retransmissions) before answering 491.
					held = &ev
					holdTimer.Reset(glareHold)
					continue
				}
				acts = c.remoteReinvite(now, ev, &pending)
			case evUpdate:
				res := sip.NewResponseFromRequest(ev.req, 200, "OK", nil)
				if !c.answerSessionTimer(ev.req, res) {
					res = sip.NewResponseFromRequest(ev.req, 422, "Session Interval Too Small", nil)
					res.AppendHeader(sip.NewHeader("Min-SE", seValue(c.e.cfg.MinSE, "")))
				} else {
					c.machine.minSEHeard(minSEOf(ev.req))
				}
				_ = ev.tx.Respond(res)
				close(ev.done)
			case evProvisional:
				c.machine.offerProvisional(now)
			case evRefreshResult:
				log.Debug("sip session refresh response", "status", ev.code)
				acts = c.machine.refreshAnswered(now, reply{code: ev.code, st: ev.st, minSE: ev.mse})
			case evReinviteResult:
				var ans *sdp.Session
				if len(ev.body) > 0 {
					ans, _ = sdp.Parse(ev.body)
				}
				log.Debug("sip re-INVITE response", "status", ev.code)
				acts = c.machine.offerAnswered(now, reply{code: ev.code, st: ev.st, minSE: ev.mse}, ans)
				if held != nil {
					holdTimer.Stop()
					ev := *held
					held = nil
					acts = append(acts, c.remoteReinvite(now, ev, &pending)...)
				}
				if byeHeld {
					byeTimer.Stop()
					byeHeld = false
					acts = append(acts, c.machine.byeReceived(now)...)
				}
			case evAck:
				if lastOK != nil && ev.req.CSeq().SeqNo == lastOK.cseq {
					c.machine.acked(now)
					lastOK = nil
				}
				if len(ev.req.Body()) > 0 {
					if ans, err := sdp.Parse(ev.req.Body()); err == nil {
						acts = c.machine.ackAnswer(now, ans)
					}
				}
			case evBye:
				if c.machine.state == stOffering {
					byeHeld = true
					byeTimer.Reset(glareHold)
					continue
				}
				acts = c.machine.byeReceived(now)
				if len(acts) == 0 {
					continue
				}
			case evFaxDone:
				acts = c.machine.faxDone(now)
			case evHangup, evAbort:
				acts = c.machine.hangupLocal(now)
			case evTone:
				log.Debug("sip audio leg heard", "tone", ev.tone)
				acts = c.machine.heard(now, ev.tone)
			}
		case <-timer.C:
			acts = c.machine.timeout(time.Now())
		}
	}
}

// okSent is a 2xx we sent to a re-INVITE, kept for retransmission until
// the ACK arrives (RFC 3261 clause 13.3.1.4). The server transaction is in
// RFC 6026's Accepted state, which sends what the core passes it and
// absorbs retransmitted INVITEs.
type okSent struct {
	tx   sip.ServerTransaction
	res  *sip.Response
	cseq uint32
}

// glareHold is how long a peer's re-INVITE waits for the final response
// to ours before it is answered 491 (well under T1, so the peer's
// retransmission timer never sees it).
const glareHold = 150 * time.Millisecond

// remoteReinvite reads a peer's re-INVITE into the dialog and the
// machine; *pending becomes the request the machine's actRespond answers.
func (c *Call) remoteReinvite(now time.Time, ev callEvent, pending **callEvent) []action {
	if err := c.dialog().ReadRequest(ev.req, ev.tx); err != nil {
		_ = ev.tx.Respond(sip.NewResponseFromRequest(ev.req, 500, "Server Internal Error", nil))
		close(ev.done)
		return nil
	}
	if _, _, _, tooSmall := uasSessionTimer(ev.req, c.machine.st.interval, c.e.cfg.MinSE); tooSmall {
		res := sip.NewResponseFromRequest(ev.req, 422, "Session Interval Too Small", nil)
		res.AppendHeader(sip.NewHeader("Min-SE", seValue(c.e.cfg.MinSE, "")))
		_ = ev.tx.Respond(res)
		close(ev.done)
		return nil
	}
	c.machine.minSEHeard(minSEOf(ev.req))
	var offer *sdp.Session
	if len(ev.req.Body()) > 0 {
		var err error
		if offer, err = sdp.Parse(ev.req.Body()); err != nil {
			_ = ev.tx.Respond(sip.NewResponseFromRequest(ev.req, 488, "Not Acceptable Here", nil))
			close(ev.done)
			return nil
		}
	}
	*pending = &ev
	return c.machine.remoteOffer(now, offer)
}

func reasonPhrase(code int) string {
	switch code {
	case 200:
		return "OK"
	case 481:
		return "Call/Transaction Does Not Exist"
	case 488:
		return "Not Acceptable Here"
	case 491:
		return "Request Pending"
	}
	return "Server Internal Error"
}

func (c *Call) dialog() *sipgo.Dialog {
	if c.dcs != nil {
		return &c.dcs.Dialog
	}
	return &c.dss.Dialog
}

func (c *Call) addContact(res *sip.Response) {
	if res.Contact() == nil {
		res.AppendHeader(sip.HeaderClone(&c.e.contact))
	}
}

// remoteTarget is the peer's Contact (RFC 3261 clause 12.1).
func (c *Call) remoteTarget() sip.Uri {
	if c.dcs != nil {
		if h := c.dcs.InviteResponse.Contact(); h != nil {
			return h.Address
		}
		return c.dcs.InviteRequest.Recipient
	}
	if h := c.dss.InviteRequest.Contact(); h != nil {
		return h.Address
	}
	return c.dss.InviteRequest.From().Address
}

// answerSessionTimer adds the session timer to our 2xx to a peer's
// re-INVITE or UPDATE (RFC 4028 clause 9) and hands the negotiated timer
// to the machine; false means the request's interval is under MinSE (422).
// With a timer running and a request that names none, we keep refreshing.
func (c *Call) answerSessionTimer(req *sip.Request, res *sip.Response) bool {
	se, requireTimer, st, tooSmall := uasSessionTimerKeep(req, c.machine.st.interval, c.e.cfg.MinSE, c.machine.st.weRefresh)
	if tooSmall {
		return false
	}
	addSessionExpires(res, se, requireTimer)
	c.machine.sessionTimerSet(time.Now(), st)
	return true
}

// sendRequest runs one in-dialog client transaction (a re-INVITE and its
// ACK, or an UPDATE) and posts the final status to the owner goroutine as
// an event of kind. se and minSE are the Session-Expires and Min-SE to
// send ("" none).
func (c *Call) sendRequest(ctx context.Context, method sip.RequestMethod, body []byte, se, minSE string, kind evKind) {
	req := sip.NewRequest(method, c.remoteTarget())
	if len(body) > 0 {
		req.SetBody(body)
		ct := sip.ContentTypeHeader("application/sdp")
		req.AppendHeader(&ct)
	}
	if se != "" {
		req.AppendHeader(sip.NewHeader("Session-Expires", se))
		req.AppendHeader(sip.NewHeader("Supported", "timer"))
	}
	if minSE != "" {
		req.AppendHeader(sip.NewHeader("Min-SE", minSE))
	}
	var tx sip.ClientTransaction
	var err error
	if c.dcs != nil {
		tx, err = c.dcs.TransactionRequest(ctx, req)
	} else {
		tx, err = c.dss.TransactionRequest(ctx, req)
	}
	result := callEvent{kind: kind, code: 408}
	posted := false
	defer func() {
		if !posted {
			c.post(result)
		}
	}()
	if err != nil {
		return
	}
	provisional := false
	for {
		select {
		case res := <-tx.Responses():
			if res.IsProvisional() {
				if !provisional && kind == evReinviteResult {
					provisional = true
					c.post(callEvent{kind: evProvisional})
				}
				continue
			}
			result.code, result.body = res.StatusCode, res.Body()
			if res.IsSuccess() {
				result.st = uacSessionTimer(res)
			}
			if res.StatusCode == 422 {
				result.mse = minSEOf(res)
			}
			if !res.IsSuccess() || method != sip.INVITE {
				tx.Terminate()
				return
			}
			ack := sip.NewRequest(sip.ACK, c.remoteTarget())
			ack.AppendHeader(&sip.CSeqHeader{SeqNo: req.CSeq().SeqNo, MethodName: sip.ACK})
			if c.dcs != nil {
				ack.AppendHeader(sip.HeaderClone(c.dcs.InviteResponse.To()))
			}
			result.acked = make(chan struct{})
			c.post(result)
			posted = true
			c.writeInDialog(ack)
			if f := ackWritten.Load(); f != nil {
				(*f)()
			}
			close(result.acked)
			// RFC 3261 clause 13.2.2.4: every retransmission of the 2xx
			// is answered with the same ACK (the peer retransmits until
			// it has one). The transaction stays in RFC 6026's Accepted
			// state, passing them here, until Timer M (64*T1) ends it.
			tmpl := ack.Clone()
			tx.OnRetransmission(func(r *sip.Response) {
				if r.IsSuccess() {
					c.writeInDialog(tmpl.Clone())
				}
			})
			return
		case <-tx.Done():
			return
		case <-ctx.Done():
			tx.Terminate()
			return
		}
	}
}

// ackWritten, when set (by tests only), runs after the ACK of a 2xx to
// our INVITE is written: it stands for a scheduler that runs this
// goroutine late.
var ackWritten atomic.Pointer[func()]

func (c *Call) writeInDialog(req *sip.Request) {
	if c.dcs != nil {
		_ = c.dcs.WriteRequest(req)
	} else {
		_ = c.dss.WriteRequest(req)
	}
}

func (c *Call) applyMedia(n sdp.Negotiated, audioFax bool, log *slog.Logger) {
	m := Media{Kind: n.Kind(), Conn: c.mc}
	switch {
	case n.T38 != nil:
		c.mc.stopAudio()
		mc := c.mc
		if c.t38c != nil {
			mc = c.t38c
		}
		mc.setRemote(n.T38.Remote, true)
		m.Conn = mc
		m.Remote = net.UDPAddrFromAddrPort(n.T38.Remote)
		p := n.T38.Params
		m.T38 = &p
	case n.Audio != nil:
		c.mc.setRemote(n.Audio.Remote, false)
		m.Remote = net.UDPAddrFromAddrPort(n.Audio.Remote)
		a := *n.Audio
		m.Audio = &a
		if !audioFax {
			c.mc.startAudio(a, c.role == RoleCaller, func(t Tone) { c.post(callEvent{kind: evTone, tone: t}) })
			break
		}
		c.mc.stopAudio()
		m.AudioFax, m.PTime, m.Stream = true, 20*time.Millisecond, c.mc.nextStream(time.Now())
		if c.t38c == nil && c.machine.cfg.policy != PolicyOff {
			// T.38, if the peer asks for it now, on a socket of its own:
			// the audio fax keeps reading this one until it hands over.
			if t, err := newMediaConn(c.e.cfg.MediaAddr); err == nil {
				t.onFirstT38 = c.firstT38
				c.t38c = t
				c.machine.setT38Port(t.port())
			}
		}
	}
	log.Debug("sip media", "kind", m.Kind, "audio_fax", m.AudioFax)
	select {
	case c.media <- m:
	default:
		// The application is not reading: drop the oldest so the latest
		// state is delivered.
		select {
		case <-c.media:
		default:
		}
		c.media <- m
	}
}

// callIDHash is a short, non-reversible tag for logs (Call-IDs may embed
// addresses).
func callIDHash(id string) string {
	var h uint32 = 2166136261
	for i := 0; i < len(id); i++ {
		h = (h ^ uint32(id[i])) * 16777619
	}
	const hex = "0123456789abcdef"
	var b strings.Builder
	for i := 28; i >= 0; i -= 4 {
		b.WriteByte(hex[(h>>uint(i))&0xf])
	}
	return b.String()
}

// dialogKey names a dialog by its Call-ID and our tag (RFC 3261 clause
// 12: the dialog ID is the Call-ID and both tags; our tag alone is unique
// among our dialogs with that Call-ID).
func dialogKey(callID, localTag string) string { return callID + "\x00" + localTag }
