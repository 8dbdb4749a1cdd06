package t30

import (
	"fmt"
	"time"
)

// The machine, drawn after T.30 Figure 5-2 (a: phase B, b: transmitter
// phases C/D, c: receiver phases C/D) and Annex A (ECM). States are in
// brackets; every transmitter wait for a response runs T4 and repeats the
// command (exchange.go): MaxTries silences, or MaxDamagedTries damaged
// answers, end the call with DCN.
//
//	      calling transmitter                          answering receiver
//	A    CNG every 3.5 s ───────────────────────────▶
//	     [wait-DIS] (T1)   ◀─────────────────────── CED
//	B                      ◀──────────── [NSF][CSI] DIS  [rx-DIS]
//	                                                      [wait-command] (T4: DIS again,
//	                                                        at once on CNG; T1 ends it)
//	     [NSS][TSI] DCS ───────────────────────────▶
//	     [tx-TCF] TCF ─────────────────────────────▶ [wait-TCF]
//	     [wait-CFR] (T4)   ◀────────────────────── CFR | FTT
//	       FTT: next speed, DCS again; DIS: DCS was lost, again
//	C    [tx-page] page | ECM block (FCD…RCP) ─────▶ [wait-page] [rx-page] (T2)
//	D    [tx-post] MPS|EOM|EOP | PPS-x ────────────▶ [wait-post-command] (T2)
//	     [wait-post-response] (T4) ◀───── MCF | RTP | RTN | PPR | RNR
//	       MCF/RTP: MPS → C, EOM → B (DIS), EOP → E    RTN: DCS, TCF, same page
//	       PPR: resend the frames asked; the 4th PPR → CTC [wait-CTR] (same
//	       speed while converging, else the next lower) or EOR [wait-ERR]
//	       RNR: RR until T5
//	E    DCN ──────────────────────────────────────▶ [wait-DCN] (T2) → done
//
// A polling call swaps the roles after DIS: the caller answers with DTC and
// receives; the answerer transmits.

// state is the session state (one switch in enter/timeout advances it).
type state uint8

const (
	stIdle         state = iota
	stSending            // a Send* is outstanding; then enter(after)
	stWaitDIS            // transmitter or poller: waiting for DIS (T1)
	stWaitCFR            // transmitter: waiting for CFR/FTT (T4)
	stTxTCF              // transient: send TCF
	stTxPage             // transient: send phase C (non-ECM page or ECM block)
	stTxPost             // transient: send post-page command or PPS
	stWaitPostResp       // transmitter: waiting for MCF/RTP/RTN or ECM response (T4)
	stWaitCTR            // transmitter: waiting for CTR (T4)
	stWaitERR            // transmitter: waiting for ERR (T4)
	stRxDIS              // transient: send NSF/CSI/DIS
	stWaitCmd            // receiver: waiting for a command (T4 repeating DIS within T1, else T2)
	stWaitTCF            // receiver: collecting TCF
	stWaitPage           // receiver: waiting for phase C (T2)
	stRxPage             // receiver: non-ECM page data flowing (T2 since the last data)
	stWaitPost           // receiver: waiting for the post-page command or PPS (T2)
	stWaitDCN            // receiver: all confirmed, waiting for DCN (T2, then success)
	stHangup             // transient: release
	stDone
)

var stateNames = [...]string{"idle", "sending", "wait-DIS", "wait-CFR", "tx-TCF", "tx-page", "tx-post",
	"wait-post-response", "wait-CTR", "wait-ERR", "rx-DIS", "wait-command", "wait-TCF", "wait-page",
	"rx-page", "wait-post-command", "wait-DCN", "hangup", "done"}

func (s state) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// Session is one T.30 call: a deterministic state machine (T.30 clause 5,
// flow diagrams in Figures 5-2 a-c, Annex A for ECM). It does no I/O and
// reads no clock: feed it Events with the current time and carry out the
// Actions it returns; call Tick (or Handle an EventTimer) when Deadline
// passes. A Session is not safe for concurrent use.
type Session struct {
	cfg   Config
	caps  Capabilities
	st    state
	after state // for stSending
	phase Phase
	now   time.Time

	deadline   time.Time
	t1End      time.Time
	t5End      time.Time
	cngNext    time.Time // calling terminal: when CNG is due again; zero once the far end is heard
	farHeard   bool      // a frame or carrier has come from the far end
	callerSeen bool      // answering: the caller has been heard (CNG, a frame, any signal)
	disHeard   bool      // answering: the last DIS went out after the caller was heard
	earlyDIS   bool      // answering: the caller's CNG asked for the DIS again, due at deadline (EarlyDISDelay)
	sending    int
	flagged    bool // flags seen since the current wait began (T4 reset once)

	result  Result
	pending Result // result to report once the DCN has been sent
	stats   Stats
	out     []Action
	ex      exchange // the command (or, receiving, the response) in progress

	disReceived bool
	remote      DIS
	haveRemote  bool
	mode        Mode
	haveMode    bool
	common      []Speed

	// transmitter
	page      int
	pageData  []byte
	pageTries int
	converge  int // ECM: frames the receiver missed at the last CTC decision (block size + 1 at its start)
	pprFirst  int // ECM: frames the first PPR since the block or the last CTC asked for
	postCmd   FCF
	retrain   bool // next phase C needs DCS+TCF first
	block     int
	blockOff  int
	blockN    int
	resend    FrameMap // frames to (re)send in the next burst; all for a new block
	ppr       int      // PPRs for the current block
	ecmFailed bool

	// receiver
	repeatDIS    bool
	tcfTotal     int
	tcfCarrier   bool // an image carrier started after the DCS (its training may have failed)
	tcfRun       int
	tcfLongest   int
	rxData       []byte
	rxOverflow   bool
	rxUncertain  bool      // non-ECM: rows of the page were lost uncounted (Event.Uncertain)
	rxLast       time.Time // non-ECM: when the page's last data came
	rxPostAt     time.Time // non-ECM: first V.21 signal after rxLast (the post-page command's)
	rxPostFlags  bool      // rxPostAt is its flags' (else a frame's)
	pageSeen     bool
	lastCmd      FCF
	lastResp     FCF
	rxBlock      [256][]byte
	rxHave       FrameMap
	rxFrames     int    // frames in the current ECM block: the largest PPS count seen
	rxCommit     [2]int // page and block counters of the last committed block, -1 none
	rxPPSAt      [2]int // page and block counters of the last PPS, -1 none
	rxExpect     [2]int // counters the next new PPS must carry, -1 any (after DCS)
	rxPartial    bool
	allDone      bool
	rxIdle       int       // consecutive T2 expiries while waiting for a command
	rxRepeats    int       // consecutive CRP/RR answered with our last response
	rxRepeatFrom time.Time // when the first of them came
}

// NewSession validates cfg and returns a session ready to Start.
func NewSession(cfg Config) (*Session, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	s := &Session{cfg: cfg, rxCommit: [2]int{-1, -1}, rxPPSAt: [2]int{-1, -1}, rxExpect: [2]int{-1, -1}}
	if cfg.Capabilities != nil {
		s.caps = *cfg.Capabilities
	} else {
		s.caps = DefaultCapabilities()
	}
	if s.caps.Modems == 0 {
		s.caps.Modems = ModemsV27ter
	}
	return s, nil
}

// Result returns how the call ended (ResultInProgress until Done).
func (s *Session) Result() Result { return s.result }

// Done reports whether the session has ended.
func (s *Session) Done() bool { return s.st == stDone }

// Stats returns the statistics so far.
func (s *Session) Stats() Stats { return s.stats }

// Mode returns the mode negotiated (or commanded by the remote DCS) so far.
func (s *Session) Mode() (Mode, bool) { return s.mode, s.haveMode }

// Phase returns the current T.30 phase.
func (s *Session) Phase() Phase { return s.phase }

// Deadline returns when the session next needs Tick: the earliest of its
// running sub-state timers, each kept on its own and combined by min (as
// x/net/quic's idle.go does): the state's own timer (T2, T4, a send's
// watchdog), T1 while phase B is sought, and the caller's next CNG.
func (s *Session) Deadline() (time.Time, bool) {
	if s.st == stDone {
		return time.Time{}, false
	}
	var d time.Time
	for _, t := range [...]time.Time{s.deadline, s.t1Deadline(), s.cngDeadline()} {
		if !t.IsZero() && (d.IsZero() || t.Before(d)) {
			d = t
		}
	}
	return d, !d.IsZero()
}

// t1Deadline is when T1 expires (T.30 5.4.3.1), while it runs: a caller
// (or poller) waiting for DIS, and an answerer repeating its DIS until a
// command begins. Zero otherwise.
func (s *Session) t1Deadline() time.Time {
	switch {
	case s.st == stWaitDIS, s.st == stWaitCmd && s.repeatDIS && !s.flagged:
		return s.t1End
	}
	return time.Time{}
}

// cngDeadline is when the waiting caller sends CNG again; zero once the
// far end is heard.
func (s *Session) cngDeadline() time.Time {
	if s.st == stWaitDIS {
		return s.cngNext
	}
	return time.Time{}
}

// expire handles whichever timers have expired at s.now: T1 ends the
// search for phase B; CNG is sent again; the state's timer goes to
// timeout.
func (s *Session) expire() {
	if t := s.t1Deadline(); !t.IsZero() && !s.now.Before(t) {
		if s.st == stWaitCmd {
			s.disconnect(ResultNoCommand)
		} else if s.stats.Pages > 0 || s.haveRemote {
			s.disconnect(ResultNoResponse) // after EOM
		} else {
			s.end(ResultNoAnswer)
		}
		return
	}
	if t := s.cngDeadline(); !t.IsZero() && !s.now.Before(t) {
		s.sendCNG()
	}
	if !s.deadline.IsZero() && !s.now.Before(s.deadline) {
		s.timeout()
	}
}

// Start begins the call (phase A) at now.
func (s *Session) Start(now time.Time) []Action {
	s.now = now
	s.out = nil
	if s.st != stIdle {
		return nil
	}
	s.stats.Start = now
	s.setPhase(PhaseA)
	if s.cfg.Calling {
		s.t1End = now.Add(s.cfg.T1)
		s.sendCNG()
		s.emit(Action{Kind: ActionReceive})
		s.setPhase(PhaseB)
		s.st = stWaitDIS
	} else {
		s.t1End = now.Add(s.cfg.T1)
		s.repeatDIS = true
		s.sendTone(ToneCED, stRxDIS)
	}
	return s.flush()
}

// Tick handles an expired deadline; it is Handle with an EventTimer.
func (s *Session) Tick(now time.Time) []Action { return s.Handle(now, Event{Kind: EventTimer}) }

// Handle feeds one event at now and returns the actions to carry out.
func (s *Session) Handle(now time.Time, ev Event) []Action {
	if s.st == stDone {
		return nil
	}
	var started []Action
	if s.st == stIdle {
		started = s.Start(now)
	}
	s.now = now
	s.out = started
	switch ev.Kind {
	case EventTimer:
		s.expire()
	case EventAbort:
		s.disconnect(ResultLocalAbort)
	case EventHangup:
		switch {
		case s.allDone || s.pending == ResultOK:
			s.end(ResultOK)
		case s.pending != ResultInProgress:
			s.end(s.pending)
		default:
			s.end(ResultCallDropped)
		}
	case EventSendDone:
		if s.sending > 0 {
			s.sending--
		}
		if s.sending == 0 && s.st == stSending {
			s.enter(s.after)
		}
	case EventFrame:
		s.heard()
		s.postHeard(false)
		f, err := ParseFrame(ev.Data)
		if err != nil {
			s.stats.BadFrames++
			s.record(Record{Kind: RecordFrameReceived, Bad: true})
			break
		}
		s.stats.FramesReceived++
		s.ex.heardGood = true
		s.rxIdle = 0
		s.record(Record{Kind: RecordFrameReceived, Frame: f, PHI: f.CarriesPHI()})
		s.onFrame(f)
	case EventFrameBad:
		s.heard()
		s.postHeard(false)
		s.stats.BadFrames++
		s.record(Record{Kind: RecordFrameReceived, Bad: true})
		s.rxAlive()
		s.damagedResponse()
	case EventCarrierUp:
		s.heard()
		if ev.Speed != SpeedNone && (s.st == stWaitPage || s.st == stRxPage) && s.haveMode && !s.mode.ECM {
			s.pageSeen = true
		}
		if ev.Speed != SpeedNone {
			if s.st == stWaitTCF {
				s.tcfCarrier = true
			}
			s.rxAlive()
		} else {
			s.postHeard(true)
			s.flagsSeen()
		}
	case EventData:
		s.onData(ev.Data)
		if ev.Uncertain && s.pageSeen {
			s.rxUncertain = true
		}
	case EventCarrierDown:
		s.onCarrierDown()
	case EventCED:
		s.heard()
	case EventCNG:
		s.callerHeard(true)
	case EventSignal:
		s.callerHeard(false)
	}
	return s.flush()
}

func (s *Session) flush() []Action {
	out := s.out
	s.out = nil
	return out
}

func (s *Session) emit(a Action) { s.out = append(s.out, a) }

func (s *Session) record(r Record) {
	r.Time = s.now
	if r.Phase == PhaseIdle {
		r.Phase = s.phase
	}
	if s.cfg.OnRecord != nil {
		s.cfg.OnRecord(r)
	}
	if s.cfg.Logger != nil {
		s.cfg.Logger.Debug("t30", "event", r)
	}
}

func (s *Session) setPhase(p Phase) {
	if s.phase == p {
		return
	}
	s.phase = p
	s.record(Record{Kind: RecordPhase, Phase: p})
}

// enter moves to st, starting its timer and, for transient states, its send.
func (s *Session) enter(st state) {
	s.st = st
	s.flagged = false
	s.earlyDIS = false
	s.ex.newWait()
	switch st {
	case stWaitDIS:
		s.listen(SpeedNone)
		s.deadline = time.Time{} // T1 and CNG (Deadline) rule this wait
	case stWaitCFR, stWaitPostResp, stWaitCTR, stWaitERR:
		s.listen(SpeedNone)
		s.deadline = s.now.Add(s.cfg.T4)
	case stTxTCF:
		s.emit(Action{Kind: ActionSendTCF, Speed: s.mode.Speed, Duration: s.cfg.TCFDuration})
		s.waitSend(stWaitCFR, s.cfg.TCFDuration)
	case stTxPage:
		s.txPhaseC()
	case stTxPost:
		s.txPost()
	case stRxDIS:
		s.sendDIS()
	case stWaitCmd:
		s.listen(SpeedNone)
		if s.repeatDIS {
			s.deadline = s.now.Add(s.cfg.T4) // T1 runs too (t1Deadline)
		} else {
			s.deadline = s.now.Add(s.cfg.T2)
		}
	case stWaitTCF:
		s.listen(s.mode.Speed)
		s.deadline = s.now.Add(s.cfg.TCFDuration + s.cfg.T4)
	case stWaitPage, stWaitPost, stRxPage:
		s.listen(s.mode.Speed)
		s.deadline = s.now.Add(s.cfg.T2)
	case stWaitDCN:
		s.listen(SpeedNone)
		s.deadline = s.now.Add(s.cfg.T2)
	case stHangup:
		r := s.pending
		if r == ResultInProgress {
			r = ResultOK
		}
		s.end(r)
	}
}

// timeout handles an expired deadline according to the state.
func (s *Session) timeout() {
	switch s.st {
	case stSending:
		// the modem never said it finished: carry on as if it had
		s.sending = 0
		s.enter(s.after)
	case stWaitCFR, stWaitPostResp, stWaitCTR, stWaitERR:
		if s.ex.heardBad || s.flagged && !s.ex.heardGood {
			// something came, but no valid frame: damaged, not silent
			s.retryDamaged()
			return
		}
		s.retry()
	case stWaitCmd:
		if s.repeatDIS {
			if !s.now.Before(s.t1End) {
				s.disconnect(ResultNoCommand)
				return
			}
			if s.earlyDIS {
				s.stats.EarlyDIS++
			}
			s.sendDIS()
			return
		}
		s.rxWaitAgain()
	case stWaitTCF:
		if s.tcfTotal > 0 || s.tcfCarrier {
			s.judgeTCF()
			return
		}
		s.enter(stWaitCmd) // the transmitter will repeat DCS
	case stWaitPage, stRxPage:
		s.enter(stWaitPost)
	case stWaitPost:
		s.rxWaitAgain()
	case stWaitDCN:
		// Every page is confirmed. Keep listening as long as the
		// transmitter may still be repeating EOP because our MCF was lost,
		// then end: the DCN itself was lost.
		s.rxIdle++
		if s.rxIdle < s.cfg.MaxTries {
			s.enter(stWaitDCN)
			return
		}
		s.end(ResultOK)
	default:
		s.disconnect(ResultProtocolError)
	}
}

func (s *Session) onFrame(f Frame) {
	switch f.FCF {
	case FCFDCN:
		if s.allDone || s.pending == ResultOK {
			s.end(ResultOK)
			return
		}
		if s.pending != ResultInProgress {
			s.end(s.pending)
			return
		}
		s.end(ResultRemoteDisconnect)
		return
	case FCFCSI, FCFTSI, FCFCIG:
		if id, err := DecodeIdent(f.Info); err == nil {
			s.stats.RemoteIdent = id
		}
		return
	case FCFNSF, FCFNSS, FCFNSC:
		s.stats.RemoteVendor = NSF(f.Info).Vendor()
		return
	}
	if s.pending != ResultInProgress {
		return // we are disconnecting
	}
	if !s.cfg.Transmit {
		if f.FCF != FCFCRP && f.FCF != FCFRR {
			s.rxRepeats = 0
		}
		s.rxFrame(f)
		return
	}
	if s.st == stWaitCmd || s.st == stSending && s.after == stWaitCmd {
		// answering transmitter waiting to be polled
		if f.FCF == FCFDTC {
			s.onDIS(f)
		}
		return
	}
	if s.st == stSending {
		switch s.after {
		case stWaitCFR, stWaitPostResp, stWaitCTR, stWaitERR, stWaitDIS:
			// The answer overtook our modem's EventSendDone (a paced T.38
			// terminal may report the end of a burst late): take it as if
			// the wait had begun; the late EventSendDone is absorbed.
			s.enter(s.after)
		}
	}
	s.txFrame(f)
}

// DefaultPageChecker is the Config.CheckPage used when none is set:
// CheckPageT4, which decodes with package t4.
var DefaultPageChecker PageChecker
