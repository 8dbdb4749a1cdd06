package t30

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Config configures a Session. The zero value answers a call and receives
// with DefaultCapabilities.
type Config struct {
	// Calling is true for the terminal that placed the call (it sends CNG
	// and waits for DIS); false for the answering terminal (CED, then DIS).
	Calling bool
	// Transmit is true when this terminal sends Document. A calling
	// receiver polls (DTC) and an answering transmitter offers its document
	// for polling (DIS bit 9).
	Transmit bool
	// Document is the page source; required when Transmit.
	Document Document
	// Capabilities offered or accepted; nil means DefaultCapabilities().
	Capabilities *Capabilities
	// LocalIdent is sent in CSI/TSI/CIG (20 characters at most; PHI).
	LocalIdent string
	// NSF is optional vendor data sent as NSF/NSS/NSC (T.35 country code first).
	NSF []byte
	// OnPage receives each page a receiving session accepts; an error ends
	// the call with ResultDocumentError. Nil discards pages.
	OnPage func(ReceivedPage) error
	// CheckPage decodes received pages; nil uses DefaultPageChecker.
	CheckPage PageChecker
	// Quality is the MCF/RTP/RTN policy for non-ECM pages.
	Quality CopyQuality
	// OnRecord receives the event stream (phase changes, frames, pages, the result).
	OnRecord func(Record)
	// Logger gets the same stream at debug level, with PHI redacted; nil discards.
	Logger *slog.Logger

	// Timers (T.30 5.4.3.1); zero means the T.30 value: T1 35 s, T2 6 s,
	// T4 3 s (4.5 s for an answering terminal unless ManualAnswer), T5 60 s.
	T1, T2, T4, T5 time.Duration
	ManualAnswer   bool
	// MaxTries is how often a command is sent without a valid response
	// before giving up (default 3, T.30 5.4.3.1).
	MaxTries int
	// MaxDamagedTries is how often a command is repeated because its
	// response arrived damaged (bad FCS, or flags without a valid frame),
	// which shows a live line, not a dead one (default 3 × MaxTries).
	MaxDamagedTries int
	// MaxPageTries is how often a page answered RTN is retried (default 3).
	MaxPageTries int
	// MaxPageBytes caps received page data (default 32 MiB).
	MaxPageBytes int
	// TCFDuration is the training check length (default 1.5 s).
	TCFDuration time.Duration
	// TCFMinZeros is how much of an unbroken run of zero octets a received
	// TCF needs, as a duration at the commanded rate (default 1 s, i.e. two
	// thirds of a 1.5 s TCF). TCF with a shorter run is answered FTT.
	TCFMinZeros time.Duration
}

func (c *Config) fill() error {
	if c.Transmit && c.Document == nil {
		return errors.New("t30: Transmit needs a Document")
	}
	if c.Transmit && c.Document.NumPages() < 1 {
		return errors.New("t30: Document has no pages")
	}
	if c.T1 == 0 {
		c.T1 = 35 * time.Second
	}
	if c.T2 == 0 {
		c.T2 = 6 * time.Second
	}
	if c.T4 == 0 {
		c.T4 = 3 * time.Second
		if !c.Calling && !c.ManualAnswer {
			c.T4 = 4500 * time.Millisecond
		}
	}
	if c.T5 == 0 {
		c.T5 = 60 * time.Second
	}
	if c.MaxTries <= 0 {
		c.MaxTries = 3
	}
	if c.MaxDamagedTries <= 0 {
		c.MaxDamagedTries = 3 * c.MaxTries
	}
	if c.MaxPageTries <= 0 {
		c.MaxPageTries = 3
	}
	if c.MaxPageBytes <= 0 {
		c.MaxPageBytes = 32 << 20
	}
	if c.TCFDuration <= 0 {
		c.TCFDuration = TCFDuration
	}
	if c.TCFMinZeros <= 0 {
		c.TCFMinZeros = time.Second
	}
	if c.CheckPage == nil {
		c.CheckPage = DefaultPageChecker
	}
	return nil
}

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

	deadline time.Time
	t1End    time.Time
	t5End    time.Time
	cngNext  time.Time // calling terminal: when CNG is due again; zero once the far end is heard
	farHeard bool      // a frame or carrier has come from the far end
	sending  int
	flagged  bool // flags seen since the current wait began (T4 reset once)

	result   Result
	pending  Result // result to report once the DCN has been sent
	stats    Stats
	out      []Action
	lastSent []Frame // last command or response burst, for CRP and repetition

	disReceived bool
	remote      DIS
	haveRemote  bool
	mode        Mode
	haveMode    bool
	common      []Speed

	// transmitter
	page         int
	pageData     []byte
	pageTries    int
	tries        int  // the command in progress was sent this often without any answer
	damagedTries int  // ... and this often answered with damaged frames only
	heardBad     bool // this response wait saw a damaged frame
	heardGood    bool // ... and a valid one (not necessarily a response)
	converge     int  // ECM: frames the receiver missed at the last CTC decision (block size + 1 at its start)
	pprFirst     int  // ECM: frames the first PPR since the block or the last CTC asked for
	postCmd      FCF
	retrain      bool // next phase C needs DCS+TCF first
	block        int
	blockOff     int
	blockN       int
	resend       FrameMap // frames to (re)send in the next burst; all for a new block
	ppr          int      // PPRs for the current block
	ecmFailed    bool

	// receiver
	repeatDIS    bool
	tcfTotal     int
	tcfRun       int
	tcfLongest   int
	rxData       []byte
	rxOverflow   bool
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

// Deadline returns when the session next needs Tick, if it does.
func (s *Session) Deadline() (time.Time, bool) {
	if s.st == stDone || s.deadline.IsZero() {
		return time.Time{}, false
	}
	return s.deadline, true
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
		s.cngDeadline()
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
		if !s.deadline.IsZero() && !now.Before(s.deadline) {
			s.timeout()
		}
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
		f, err := ParseFrame(ev.Data)
		if err != nil {
			s.stats.BadFrames++
			s.record(Record{Kind: RecordFrameReceived, Bad: true})
			break
		}
		s.stats.FramesReceived++
		s.heardGood = true
		s.rxIdle = 0
		s.record(Record{Kind: RecordFrameReceived, Frame: f, PHI: f.CarriesPHI()})
		s.onFrame(f)
	case EventFrameBad:
		s.heard()
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
			s.rxAlive()
		} else {
			s.flagsSeen()
		}
	case EventData:
		s.onData(ev.Data)
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

// ---- sending helpers ----

func (s *Session) sendFrames(after state, speed Speed, frames ...Frame) {
	for i := range frames {
		frames[i].Final = i == len(frames)-1
		s.stats.FramesSent++
		s.record(Record{Kind: RecordFrameSent, Frame: frames[i], PHI: frames[i].CarriesPHI()})
	}
	octets := 0
	for _, f := range frames {
		octets += f.MarshalSize() + 2
	}
	rate := 300
	if speed != SpeedNone {
		rate = speed.BitRate()
	}
	s.emit(Action{Kind: ActionSendFrames, Frames: frames, Speed: speed})
	s.waitSend(after, time.Duration(octets*8)*time.Second/time.Duration(rate)+time.Second)
}

// sendCmd sends a control burst at V.21 and remembers it for CRP.
func (s *Session) sendCmd(after state, frames ...Frame) {
	s.lastSent = frames
	s.sendFrames(after, SpeedNone, frames...)
}

// sendCNG sends one CNG cycle while the calling terminal waits for the
// first frame and schedules the next (T.30: CNG repeats until a
// valid frame arrives or T1 expires). Repeating matters over T.38: an
// answering gateway or terminal that starts listening after the first CNG
// learns of the call only from a later one. The tone's EventSendDone is
// absorbed; the wait for DIS goes on meanwhile.
func (s *Session) sendCNG() {
	s.sending++
	s.emit(Action{Kind: ActionSendTone, Tone: ToneCNG})
	s.cngNext = s.now.Add(CNGPeriod)
}

// cngDeadline sets the stWaitDIS deadline: T1, or the next CNG if sooner.
func (s *Session) cngDeadline() {
	s.deadline = s.t1End
	if !s.cngNext.IsZero() && s.cngNext.Before(s.t1End) {
		s.deadline = s.cngNext
	}
}

// heard notes a frame or carrier from the far end; it stops CNG: the far
// end has answered.
func (s *Session) heard() {
	s.cngNext = time.Time{}
	s.farHeard = true
}

// callerHeard repeats DIS at once when an answering terminal waiting for
// a command hears the caller (its CNG, or any signal before the caller has
// sent anything else) instead of sitting out T4: a caller still sending
// CNG has not heard our DIS, typically because it was not listening yet
// when it went out. A caller whose V.21 flags began in this wait is
// answering: nothing is repeated over it.
func (s *Session) callerHeard(cng bool) {
	if s.st != stWaitCmd || !s.repeatDIS || s.flagged || !cng && s.farHeard {
		return
	}
	if !s.now.Before(s.t1End) {
		return
	}
	s.stats.EarlyDIS++
	s.sendDIS()
}

func (s *Session) sendTone(t Tone, after state) {
	s.emit(Action{Kind: ActionSendTone, Tone: t})
	s.waitSend(after, 5*time.Second)
}

// waitSend enters stSending with a watchdog: a modem that never reports
// EventSendDone cannot hang the call.
func (s *Session) waitSend(after state, est time.Duration) {
	s.sending++
	s.st = stSending
	s.after = after
	s.deadline = s.now.Add(2*est + 10*time.Second)
}

func (s *Session) listen(sp Speed) { s.emit(Action{Kind: ActionReceive, Speed: sp}) }

// disconnect sends DCN and ends with r once it is out.
func (s *Session) disconnect(r Result) {
	if s.st == stDone {
		return
	}
	s.pending = r
	s.setPhase(PhaseE)
	s.sendCmd(stHangup, NewFrame(FCFDCN, s.disReceived, true))
	// Once the call is being ended nothing still going out matters: the
	// DCN pre-empts it (the modem cuts it short, Preempter).
	s.out[len(s.out)-1].Preempt = true
}

func (s *Session) end(r Result) {
	if s.st == stDone {
		return
	}
	s.result = r
	s.stats.End = s.now
	s.setPhase(PhaseDone)
	s.st = stDone
	s.deadline = time.Time{}
	s.emit(Action{Kind: ActionHangup})
	s.record(Record{Kind: RecordResult, Result: r})
}

// enter moves to st, starting its timer and, for transient states, its send.
func (s *Session) enter(st state) {
	s.st = st
	s.flagged = false
	s.heardBad, s.heardGood = false, false
	switch st {
	case stWaitDIS:
		s.listen(SpeedNone)
		s.cngDeadline()
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
			s.deadline = s.now.Add(s.cfg.T4)
			if s.deadline.After(s.t1End) {
				s.deadline = s.t1End
			}
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
	case stWaitDIS:
		if s.now.Before(s.t1End) {
			// the CNG timer, not T1
			if !s.cngNext.IsZero() && !s.now.Before(s.cngNext) {
				s.sendCNG()
			}
			s.cngDeadline()
			return
		}
		if s.stats.Pages > 0 || s.haveRemote {
			s.disconnect(ResultNoResponse) // after EOM
		} else {
			s.end(ResultNoAnswer)
		}
	case stWaitCFR, stWaitPostResp, stWaitCTR, stWaitERR:
		if s.heardBad || s.flagged && !s.heardGood {
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
			s.sendDIS()
			return
		}
		s.rxWaitAgain()
	case stWaitTCF:
		if s.tcfTotal > 0 {
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

// rxWaitAgain restarts T2 (T.30 5.4.3.1) in the current state, or ends the
// call after MaxTries expiries in a row. The transmitter repeats a lost
// command up to MaxTries times at T4 intervals, which takes longer than one
// T2: waiting that long keeps loss from ending a call that repetition would
// have saved.
func (s *Session) rxWaitAgain() {
	s.rxIdle++
	if s.rxIdle >= s.cfg.MaxTries {
		s.disconnect(ResultTimeout)
		return
	}
	s.enter(s.st)
}

// answered notes a valid response to the command in progress: its tries,
// silent and damaged, start again for the next command.
func (s *Session) answered() {
	s.tries = 0
	s.damagedTries = 0
}

// isResponseWait reports whether st waits for the response to a command
// of ours (T4 runs).
func isResponseWait(st state) bool {
	switch st {
	case stWaitCFR, stWaitPostResp, stWaitCTR, stWaitERR:
		return true
	}
	return false
}

// damagedResponse notes a frame with a bad FCS (or abandoned mid-way)
// while we wait for a response: when T4 expires with no valid response,
// the answer was damaged, not missing (timeout).
func (s *Session) damagedResponse() {
	if s.st == stSending && isResponseWait(s.after) {
		// the answer overtook our modem's EventSendDone (see onFrame)
		s.enter(s.after)
	}
	if isResponseWait(s.st) {
		s.heardBad = true
	}
}

// retryDamaged repeats the command when T4 expired after a damaged
// response (frames with a bad FCS, or V.21 flags without any valid
// frame). T.30 treats a corrupted response differently from silence: the
// far end is there and answering (5.3.6.1.7 lets a receiver ask for a
// repeat with CRP; a transmitter repeats the command whose response was
// in error). Such a repeat is not a try of a dead line (MaxTries); it has
// its own, larger budget (MaxDamagedTries), so a long answer that keeps
// arriving damaged (a PPR spread over many lossy T.38 packets) does not
// end a call the next repetition would save, and a peer that only ever
// sends garbage still cannot hold the call for ever.
//
// The repeat waits for T4 rather than going out when the damaged burst
// ends: an answer to a duplicated command (T.38 redundancy) may follow at
// once, and a repeat sent over it would draw a second answer that crosses
// the next command and is taken for its answer (a page counted that the
// receiver never confirmed: found by TestRandomLoss).
func (s *Session) retryDamaged() {
	s.heardBad = false
	s.damagedTries++
	if s.damagedTries > s.cfg.MaxDamagedTries {
		s.disconnect(ResultNoResponse)
		return
	}
	s.stats.DamagedResponses++
	s.repeatCmd()
}

// retry repeats the last command after T4 expired or the peer answered
// CRP (T.30 5.4.3.1, 5.3.6.1.7), or gives up after MaxTries. A CRP counts
// as a try, as in libspandsp, so a peer that answers everything with CRP
// cannot hold the call forever.
func (s *Session) retry() {
	s.tries++
	if s.tries >= s.cfg.MaxTries {
		s.disconnect(ResultNoResponse)
		return
	}
	s.repeatCmd()
}

// repeatCmd resends the last command burst and waits again for its
// response. A repeated DCS is followed by TCF again.
func (s *Session) repeatCmd() {
	if len(s.lastSent) == 0 {
		return
	}
	frames := append([]Frame(nil), s.lastSent...)
	after := s.st
	if frames[len(frames)-1].FCF == FCFDCS {
		after = stTxTCF
	}
	s.sendCmd(after, frames...)
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

// ---- transmitter ----

func (s *Session) txFrame(f Frame) {
	switch s.st {
	case stWaitDIS:
		if f.FCF == FCFDIS {
			s.onDIS(f)
		}
	case stWaitCFR:
		switch f.FCF {
		case FCFCFR:
			s.answered()
			s.retrain = false
			s.enter(stTxPage)
		case FCFFTT:
			s.stats.FTTs++
			s.answered()
			next := NextSpeed(s.common, s.mode.Speed)
			if next == SpeedNone {
				s.disconnect(ResultTrainingFailed)
				return
			}
			s.mode.Speed = next
			s.sendDCS()
		case FCFDIS:
			// our DCS was lost and the receiver repeated DIS
			s.tries++
			if s.tries >= s.cfg.MaxTries {
				s.disconnect(ResultNoResponse)
				return
			}
			s.sendDCS()
		case FCFCRP:
			s.retry()
		}
	case stWaitPostResp:
		if s.mode.ECM {
			s.txECMResponse(f)
			return
		}
		switch f.FCF {
		case FCFMCF, FCFRTP, FCFPIP:
			s.answered()
			s.retrain = f.FCF == FCFRTP
			s.pageConfirmed()
		case FCFRTN, FCFPIN:
			s.answered()
			s.stats.PagesRejected++
			s.pageTries++
			if s.pageTries >= s.cfg.MaxPageTries {
				s.disconnect(ResultPageRejected)
				return
			}
			if next := NextSpeed(s.common, s.mode.Speed); next != SpeedNone {
				s.mode.Speed = next
			}
			s.sendDCS() // retrain, then the same page again
		case FCFCRP:
			s.retry()
		}
	case stWaitCTR:
		switch f.FCF {
		case FCFCTR:
			s.answered()
			s.ppr = 0
			s.enter(stTxPage)
		case FCFCRP:
			s.retry()
		}
	case stWaitERR:
		switch f.FCF {
		case FCFERR:
			s.answered()
			s.t5End = time.Time{}
			s.ecmFailed = true
			s.stats.EORs++
			s.blockDone()
		case FCFRNR: // a busy receiver may answer EOR with RNR (T.30 A.4.2)
			s.onRNR(stWaitERR)
		case FCFPIN:
			s.disconnect(ResultPageRejected)
		case FCFCRP:
			s.retry()
		}
	}
}

// onDIS handles the DIS (or, for an answering transmitter, the DTC) that
// opens phase B.
func (s *Session) onDIS(f Frame) {
	d, err := ParseDIS(f)
	if err != nil {
		return // a malformed DIS is as good as none: T1/T4 will act
	}
	s.remote = d
	s.haveRemote = true
	s.disReceived = f.FCF == FCFDIS
	if !s.cfg.Transmit {
		// calling receiver: poll
		if !d.ReadyToTransmit {
			s.disconnect(ResultNoDocument)
			return
		}
		var frames []Frame
		if len(s.cfg.NSF) > 0 {
			frames = append(frames, Frame{FCF: FCFNSC, Info: s.cfg.NSF})
		}
		if s.cfg.LocalIdent != "" {
			frames = append(frames, IdentFrame(FCFCIG, s.cfg.LocalIdent, false))
		}
		frames = append(frames, s.caps.DIS().Frame(true))
		s.repeatDIS = false
		s.sendCmd(stWaitCmd, frames...)
		return
	}
	if f.FCF == FCFDIS && !d.ReadyToReceive {
		s.disconnect(ResultIncompatible)
		return
	}
	m, err := ChooseMode(s.caps, d, s.cfg.Document.Format(s.page))
	if err != nil {
		s.disconnect(ResultIncompatible)
		return
	}
	s.mode = m
	s.haveMode = true
	s.common = CommonSpeeds(s.caps.Modems, d.Modems, s.caps.MaxSpeed)
	s.stats.ECM = m.ECM
	s.stats.ECMFrameSize = m.ECMFrameSize
	s.stats.Compression = m.Compression
	s.stats.Resolution = m.Resolution
	s.stats.Width = m.Width
	s.answered()
	s.sendDCS()
}

func (s *Session) sendDCS() {
	s.setPhase(PhaseB)
	if s.stats.Speed != SpeedNone {
		s.stats.Retrains++
	}
	s.stats.Speed = s.mode.Speed
	var frames []Frame
	if len(s.cfg.NSF) > 0 {
		frames = append(frames, Frame{FCF: FCFNSS, X: s.disReceived, Info: s.cfg.NSF})
	}
	if s.cfg.LocalIdent != "" {
		frames = append(frames, IdentFrame(FCFTSI, s.cfg.LocalIdent, s.disReceived))
	}
	dcs, err := s.mode.DCS().Frame()
	if err != nil {
		s.disconnect(ResultProtocolError)
		return
	}
	dcs.X = s.disReceived
	frames = append(frames, dcs)
	s.sendCmd(stTxTCF, frames...)
}

// txPhaseC sends the current page (non-ECM) or the current ECM burst.
func (s *Session) txPhaseC() {
	s.setPhase(PhaseC)
	if s.pageData == nil {
		data, err := s.cfg.Document.Encode(s.page, s.mode)
		if err != nil {
			s.disconnect(ResultDocumentError)
			return
		}
		if data == nil {
			data = []byte{}
		}
		s.pageData = data
		s.block, s.blockOff, s.ppr = 0, 0, 0
		s.newBlock()
	}
	if !s.mode.ECM {
		s.emit(Action{Kind: ActionSendImage, Speed: s.mode.Speed, Data: s.pageData})
		s.waitSend(stTxPost, time.Duration(len(s.pageData)*8)*time.Second/time.Duration(max(s.mode.Speed.BitRate(), 1)))
		return
	}
	fs := s.mode.ECMFrameSize
	var frames []Frame
	for i := 0; i < s.blockN; i++ {
		if !s.resend.Has(i) {
			continue
		}
		lo := s.blockOff + i*fs
		hi := min(lo+fs, len(s.pageData))
		frames = append(frames, FCDFrame(uint8(i), s.pageData[lo:hi]))
	}
	if s.ppr > 0 {
		s.stats.FramesResent += len(frames)
	}
	frames = append(frames, RCPFrame(), RCPFrame(), RCPFrame())
	s.sendFrames(stTxPost, s.mode.Speed, frames...)
}

// newBlock prepares the next ECM partial page at s.blockOff.
func (s *Session) newBlock() {
	if !s.mode.ECM {
		return
	}
	fs := s.mode.ECMFrameSize
	rest := len(s.pageData) - s.blockOff
	n := (rest + fs - 1) / fs
	n = max(1, min(n, 256))
	s.blockN = n
	s.converge = n + 1
	s.resend = FrameMap{}
	for i := 0; i < n; i++ {
		s.resend.Set(i)
	}
	s.ppr = 0
}

func (s *Session) lastBlock() bool {
	return s.blockOff+s.blockN*s.mode.ECMFrameSize >= len(s.pageData)
}

// postCommand chooses MPS, EOM or EOP after the current page: EOM when the
// next page needs a different DCS (resolution or width), as T.30 requires.
func (s *Session) postCommand() FCF {
	n := s.cfg.Document.NumPages()
	if s.page+1 >= n {
		return FCFEOP
	}
	cur, next := s.cfg.Document.Format(s.page), s.cfg.Document.Format(s.page+1)
	if cur.Resolution != next.Resolution || cur.Width != next.Width || next.Length > s.mode.Length {
		return FCFEOM
	}
	return FCFMPS
}

func (s *Session) txPost() {
	s.setPhase(PhaseD)
	s.postCmd = s.postCommand()
	if !s.mode.ECM {
		s.sendCmd(stWaitPostResp, NewFrame(s.postCmd, s.disReceived, true))
		return
	}
	fcf2 := FCFNull
	if s.lastBlock() {
		fcf2 = s.postCmd
	}
	p := PPS{FCF2: fcf2, Page: uint8(s.page), Block: uint8(s.block), Frames: s.blockN}
	s.sendCmd(stWaitPostResp, p.Frame(s.disReceived))
}

func (s *Session) txECMResponse(f Frame) {
	switch f.FCF {
	case FCFMCF, FCFPIP: // PIP: MCF plus a procedure interrupt we do not serve
		s.answered()
		s.t5End = time.Time{}
		s.blockDone()
	case FCFPPR:
		s.answered()
		s.t5End = time.Time{}
		m, err := ParsePPR(f)
		if err != nil {
			return
		}
		var want FrameMap
		for i := 0; i < s.blockN; i++ {
			if m.Has(i) {
				want.Set(i)
			}
		}
		if want.Count() == 0 {
			s.blockDone()
			return
		}
		s.stats.PPRs++
		s.ppr++
		if s.ppr == 1 {
			s.pprFirst = want.Count()
		}
		s.resend = want
		if s.ppr < 4 {
			s.enter(stTxPage)
			return
		}
		// The fourth PPR (T.30 A.4.4): continue to correct (CTC) or give
		// the block up (EOR). A block that is converging (the receiver
		// misses fewer frames now than at the first of these four PPRs,
		// and than at the last such decision) is worth
		// correcting at the same speed: a lower one would only make each
		// frame longer on a line whose trouble is loss, not noise. One
		// that is not converging falls back a speed, and at the lowest
		// speed ends with EOR, as before.
		if miss := want.Count(); miss < s.pprFirst && miss < s.converge {
			s.converge = miss
			s.stats.CTCs++
			s.sendCmd(stWaitCTR, CTCFrame(s.mode.Speed, s.disReceived))
			return
		}
		if next := NextSpeed(s.common, s.mode.Speed); next != SpeedNone {
			s.stats.CTCs++
			s.mode.Speed = next
			s.stats.Speed = next
			s.sendCmd(stWaitCTR, CTCFrame(next, s.disReceived))
			return
		}
		fcf2 := FCFNull
		if s.lastBlock() {
			fcf2 = s.postCmd
		}
		s.sendCmd(stWaitERR, EORFrame(fcf2, s.disReceived))
	case FCFRNR:
		s.onRNR(stWaitPostResp)
	case FCFPIN:
		// A procedure interrupt we cannot serve (no operator): libspandsp
		// also ends the call here.
		s.disconnect(ResultPageRejected)
	case FCFCRP:
		s.retry()
	}
}

// onRNR answers RNR with RR until T5 runs out (T.30 A.4.2), waiting in
// wait for the response to the RR.
func (s *Session) onRNR(wait state) {
	s.answered()
	if s.t5End.IsZero() {
		s.t5End = s.now.Add(s.cfg.T5)
	}
	if !s.now.Before(s.t5End) {
		s.disconnect(ResultReceiverNotReady)
		return
	}
	s.sendCmd(wait, NewFrame(FCFRR, s.disReceived, true))
}

// blockDone moves past an ECM block that was confirmed (or abandoned).
func (s *Session) blockDone() {
	if !s.lastBlock() {
		s.blockOff += s.blockN * s.mode.ECMFrameSize
		s.block++
		s.newBlock()
		s.enter(stTxPage)
		return
	}
	s.pageConfirmed()
}

// pageConfirmed moves on after the receiver accepted the current page.
func (s *Session) pageConfirmed() {
	s.stats.Pages++
	s.record(Record{Kind: RecordPageSent, Page: s.page + 1})
	s.pageData = nil
	s.pageTries = 0
	s.page++
	switch s.postCmd {
	case FCFEOP, FCFPRIEOP:
		r := ResultOK
		if s.ecmFailed {
			r = ResultECMFailure
		}
		s.disconnect(r)
		s.pending = r
	case FCFEOM, FCFPRIEOM:
		s.setPhase(PhaseB)
		s.t1End = s.now.Add(s.cfg.T1)
		s.enter(stWaitDIS)
	default:
		if s.retrain {
			s.sendDCS()
			return
		}
		s.enter(stTxPage)
	}
}

// ---- receiver ----

func (s *Session) sendDIS() {
	s.setPhase(PhaseB)
	var frames []Frame
	if len(s.cfg.NSF) > 0 {
		frames = append(frames, Frame{FCF: FCFNSF, Info: s.cfg.NSF})
	}
	if s.cfg.LocalIdent != "" {
		frames = append(frames, IdentFrame(FCFCSI, s.cfg.LocalIdent, false))
	}
	d := s.caps.DIS()
	if s.cfg.Transmit {
		d.ReadyToReceive = false
		d.ReadyToTransmit = true
	}
	frames = append(frames, d.Frame(false))
	s.repeatDIS = true
	s.sendCmd(stWaitCmd, frames...)
}

func (s *Session) respond(after state, fcf FCF) {
	s.lastResp = fcf
	s.sendCmd(after, NewFrame(fcf, s.disReceived, true))
}

func (s *Session) rxFrame(f Frame) {
	switch f.FCF {
	case FCFDIS:
		if s.cfg.Calling && (s.st == stWaitDIS || s.st == stWaitCmd) {
			s.onDIS(f) // calling receiver: poll
		}
	case FCFDCS:
		c, err := ParseDCS(f)
		if err != nil {
			return
		}
		m := ModeFromDCS(c)
		if err := m.Acceptable(s.caps); err != nil {
			s.disconnect(ResultIncompatible)
			return
		}
		s.mode = m
		s.haveMode = true
		s.repeatDIS = false
		s.stats.Speed, s.stats.ECM, s.stats.ECMFrameSize = m.Speed, m.ECM, m.ECMFrameSize
		s.stats.Compression, s.stats.Resolution, s.stats.Width = m.Compression, m.Resolution, m.Width
		s.tcfTotal, s.tcfRun, s.tcfLongest = 0, 0, 0
		// PPS counters may start afresh after EOM; a repeat of the last
		// PPS cannot come after a DCS.
		s.rxExpect, s.rxCommit, s.rxPPSAt = [2]int{-1, -1}, [2]int{-1, -1}, [2]int{-1, -1}
		s.setPhase(PhaseB)
		s.enter(stWaitTCF)
	case FCFMPS, FCFEOM, FCFEOP, FCFPRIMPS, FCFPRIEOM, FCFPRIEOP:
		if !s.haveMode || s.mode.ECM {
			return
		}
		s.rxPostPage(f.FCF.WithoutPRI())
	case FCFPPS:
		if !s.haveMode || !s.mode.ECM {
			return
		}
		p, err := ParsePPS(f)
		if err != nil {
			return
		}
		s.rxPPS(p)
	case FCFFCD:
		if !s.haveMode || !s.mode.ECM || len(f.Info) < 2 || len(f.Info)-1 > 256 {
			return
		}
		n := int(f.Info[0])
		if !s.rxHave.Has(n) {
			s.rxBlock[n] = append(s.rxBlock[n][:0], f.Info[1:]...)
			s.rxHave.Set(n)
		}
		s.pageSeen = true
		if s.st == stWaitPage || s.st == stWaitPost {
			s.setPhase(PhaseC)
			s.deadline = s.now.Add(s.cfg.T2)
		}
	case FCFRCP:
		if s.st == stWaitPage {
			s.enter(stWaitPost)
		}
	case FCFCTC:
		if !s.haveMode || !s.mode.ECM {
			return
		}
		if sp, err := ParseCTC(f); err == nil && s.caps.Modems.Has(sp) {
			s.mode.Speed = sp
			s.stats.Speed = sp
		}
		s.stats.CTCs++
		s.respond(stWaitPage, FCFCTR)
	case FCFEOR:
		if !s.haveMode || !s.mode.ECM {
			return
		}
		fcf2, err := ParseEOR(f)
		if err != nil {
			return
		}
		if s.rxCommit == s.rxPPSAt {
			// We answered this block's EOR already. If the ERR was lost,
			// answer again, but do not deliver the page a second time;
			// if frames came since, they are the old block's (see
			// rxPPS): drop them and stay silent.
			if s.rxHave.Count() == 0 {
				s.rxFollowBlock(fcf2.WithoutPRI(), FCFERR)
			} else {
				s.clearBlock()
			}
			return
		}
		s.stats.EORs++
		s.rxCommit = s.rxPPSAt
		s.rxExpect = nextBlock(s.rxPPSAt, fcf2)
		s.rxPartial = true
		s.commitBlock()
		s.rxAfterBlock(fcf2.WithoutPRI(), FCFERR)
	case FCFRR, FCFCRP:
		s.rxRepeat(f.FCF)
	}
}

// rxRepeat answers CRP (T.30 5.3.6.1.7) and RR (A.4.2: the transmitter
// asks again for the response to its last PPS) with our last response,
// frame map and all. MaxTries CRPs in a row, or RRs for longer than T5
// (the transmitter's own limit), with nothing else from the transmitter,
// end the call: it is not hearing us.
func (s *Session) rxRepeat(fcf FCF) {
	if len(s.lastSent) == 0 {
		return
	}
	if s.rxRepeats == 0 {
		s.rxRepeatFrom = s.now
	}
	s.rxRepeats++
	if fcf == FCFCRP && s.rxRepeats > s.cfg.MaxTries || s.now.Sub(s.rxRepeatFrom) > s.cfg.T5 {
		s.disconnect(ResultNoResponse)
		return
	}
	s.sendCmd(s.afterOrSelf(), s.lastSent...)
}

func (s *Session) afterOrSelf() state {
	if s.st == stSending {
		return s.after
	}
	return s.st
}

// flagsSeen restarts T4 when V.21 flags begin while we wait for a response
// (T.30 5.4.3.1: "T4 is reset when an HDLC flag is received"), and the
// answering receiver's DIS-repeat timer likewise: an answer that began in
// time is waited for, not talked over by a repeated command. Once per wait,
// so a line that brings only preambles still times out.
func (s *Session) flagsSeen() {
	switch s.st {
	case stWaitCFR, stWaitPostResp, stWaitCTR, stWaitERR:
	case stWaitCmd:
		if !s.repeatDIS {
			return
		}
	default:
		return
	}
	if s.flagged {
		return
	}
	s.flagged = true
	s.deadline = s.now.Add(s.cfg.T4)
}

// rxAlive restarts T2 while phase C signals keep arriving, so a long page
// at a low speed is not mistaken for silence.
func (s *Session) rxAlive() {
	if !s.cfg.Transmit && (s.st == stWaitPage || s.st == stRxPage || s.st == stWaitPost) {
		s.deadline = s.now.Add(s.cfg.T2)
	}
}

// onData handles non-ECM image data and TCF.
func (s *Session) onData(p []byte) {
	st := s.st
	if st == stSending && s.after == stWaitPage {
		st = stWaitPage // our CFR/MCF is still going out; the page may already come
	}
	switch st {
	case stWaitTCF:
		for _, b := range p {
			if b == 0 {
				s.tcfRun++
				if s.tcfRun > s.tcfLongest {
					s.tcfLongest = s.tcfRun
				}
			} else {
				s.tcfRun = 0
			}
		}
		s.tcfTotal += len(p)
	case stWaitPage, stRxPage, stWaitPost:
		if !s.haveMode || s.mode.ECM || s.lastCmd == FCFEOP && !s.pageSeen && s.allDone {
			return
		}
		s.pageSeen = true
		if len(s.rxData)+len(p) > s.cfg.MaxPageBytes {
			s.rxOverflow = true
		} else {
			s.rxData = append(s.rxData, p...)
		}
		if s.st != stRxPage {
			s.setPhase(PhaseC)
			s.st = stRxPage
		}
		s.deadline = s.now.Add(s.cfg.T2)
	}
}

func (s *Session) onCarrierDown() {
	switch s.st {
	case stWaitTCF:
		if s.tcfTotal > 0 {
			s.judgeTCF()
		}
	case stRxPage:
		s.enter(stWaitPost)
	}
}

// judgeTCF answers CFR when the TCF held an unbroken run of zero octets of
// at least Config.TCFMinZeros at the commanded rate, else FTT.
func (s *Session) judgeTCF() {
	need := int(int64(s.mode.Speed.BitRate()/8) * int64(s.cfg.TCFMinZeros) / int64(time.Second))
	if s.tcfLongest >= need {
		s.rxData, s.rxOverflow, s.pageSeen = s.rxData[:0], false, false
		s.clearBlock()
		s.lastCmd, s.lastResp = 0, FCFCFR
		s.respond(stWaitPage, FCFCFR)
		return
	}
	s.stats.FTTs++
	s.lastResp = FCFFTT
	s.repeatDIS = false
	s.respond(stWaitCmd, FCFFTT)
}

// rxPostPage answers a non-ECM post-page command (T.30 5.3.6.1.8). A
// command repeated because our answer was lost gets the same answer.
func (s *Session) rxPostPage(cmd FCF) {
	if !s.pageSeen && cmd == s.lastCmd && s.lastResp != 0 {
		s.rxFollow(cmd, s.lastResp)
		return
	}
	s.lastCmd = cmd
	data := s.rxData
	s.rxData, s.pageSeen = nil, false
	q := PageQuality{}
	var resp FCF = FCFRTN
	if !s.rxOverflow && len(data) > 0 {
		var err error
		q, err = s.cfg.CheckPage(data, s.mode)
		if err != nil && q.Rows == 0 {
			resp = FCFRTN
		} else {
			resp = s.cfg.Quality.Judge(q)
		}
	}
	s.rxOverflow = false
	if resp == FCFRTN {
		s.stats.PagesRejected++
	} else if !s.deliver(data, q, resp, false) {
		return
	}
	s.rxFollow(cmd, resp)
}

func (s *Session) deliver(data []byte, q PageQuality, resp FCF, partial bool) bool {
	s.stats.Pages++
	s.stats.BadRows += q.BadRows
	s.stats.LongestBadRun = max(s.stats.LongestBadRun, q.LongestBadRun)
	s.record(Record{Kind: RecordPageReceived, Page: s.stats.Pages, Quality: q})
	if s.cfg.OnPage != nil {
		p := ReceivedPage{Number: s.stats.Pages, Mode: s.mode, Data: data, Quality: q, Response: resp, Partial: partial}
		if err := s.cfg.OnPage(p); err != nil {
			s.disconnect(ResultDocumentError)
			return false
		}
	}
	return true
}

// rxFollow sends resp to cmd and moves to what follows (T.30 Figure 5-2c).
func (s *Session) rxFollow(cmd, resp FCF) {
	s.setPhase(PhaseD)
	switch {
	case cmd == FCFEOP && resp != FCFRTN && resp != FCFPPR:
		s.allDone = true
		s.respond(stWaitDCN, resp)
	case resp == FCFRTN || resp == FCFRTP:
		s.repeatDIS = false
		s.respond(stWaitCmd, resp) // a DCS and TCF come next
	case cmd == FCFEOM:
		s.respond(stRxDIS, resp) // back to phase B
		s.t1End = s.now.Add(s.cfg.T1)
	default: // MPS, PPS-NULL
		s.respond(stWaitPage, resp)
	}
}

func (s *Session) clearBlock() {
	s.rxHave = FrameMap{}
	s.rxFrames = 0
	for i := range s.rxBlock {
		s.rxBlock[i] = s.rxBlock[i][:0]
	}
}

// rxPPS answers a partial page signal (T.30 A.4): MCF when every frame of
// the block arrived, else PPR with the missing ones.
func (s *Session) rxPPS(p PPS) {
	id := [2]int{int(p.Page), int(p.Block)}
	if s.rxCommit == id {
		if s.rxHave.Count() == 0 {
			// we answered MCF already and it was lost
			s.rxFollowBlock(p.FCF2.WithoutPRI(), FCFMCF)
			return
		}
		// Frames came since we committed this block: the transmitter
		// went on retransmitting it because our MCF was late or lost,
		// so those frames are the old block's, not the next one's
		// (frames arrive in order). Drop them, as libspandsp does. Do
		// not answer: a transmitter that has moved on would take the
		// answer for the next block's, one that has not will repeat
		// this PPS and get MCF.
		s.clearBlock()
		return
	}
	if s.rxExpect[0] >= 0 && id != s.rxExpect {
		// The transmitter has moved past a block we never confirmed:
		// it took a late answer of ours for the answer to a PPS we
		// have not seen, and the frames we hold are not the ones it
		// means. Nothing truthful can follow; libspandsp also ends the
		// call on a page/block mismatch.
		s.disconnect(ResultProtocolError)
		return
	}
	s.rxExpect = id
	s.rxPPSAt = id
	// T.30 leaves it unclear whether the PPS frame count is the size of the
	// partial page or of the burst just sent: after a PPR, libspandsp sends
	// the number of frames it retransmitted. The largest count seen for the
	// block is its size.
	s.rxFrames = max(s.rxFrames, p.Frames)
	var miss FrameMap
	for i := 0; i < s.rxFrames; i++ {
		if !s.rxHave.Has(i) {
			miss.Set(i)
		}
	}
	if miss.Count() > 0 {
		s.stats.PPRs++
		s.lastResp = FCFPPR
		s.lastSent = []Frame{miss.Frame(s.disReceived)}
		s.sendFrames(stWaitPage, SpeedNone, s.lastSent...)
		return
	}
	s.rxCommit = id
	s.rxExpect = nextBlock(id, p.FCF2)
	s.commitBlockN(s.rxFrames)
	s.rxAfterBlock(p.FCF2.WithoutPRI(), FCFMCF)
}

// nextBlock returns the PPS page and block counters (T.30 A.4.1, modulo
// 256) that follow block id when its PPS or EOR carried fcf2.
func nextBlock(id [2]int, fcf2 FCF) [2]int {
	if fcf2.WithoutPRI() == FCFNull {
		return [2]int{id[0], (id[1] + 1) & 0xFF}
	}
	return [2]int{(id[0] + 1) & 0xFF, 0}
}

func (s *Session) commitBlock() {
	n := 0
	for i := 0; i < 256; i++ {
		if s.rxHave.Has(i) {
			n = i + 1
		}
	}
	s.commitBlockN(n)
}

func (s *Session) commitBlockN(n int) {
	for i := 0; i < n; i++ {
		if len(s.rxData)+len(s.rxBlock[i]) > s.cfg.MaxPageBytes {
			s.rxOverflow = true
			break
		}
		s.rxData = append(s.rxData, s.rxBlock[i]...)
	}
	s.clearBlock()
}

// rxAfterBlock finishes the page when the PPS/EOR carried a post-page
// command, then answers.
func (s *Session) rxAfterBlock(fcf2, resp FCF) {
	if fcf2 == FCFNull {
		s.rxFollowBlock(fcf2, resp)
		return
	}
	data := s.rxData
	s.rxData = nil
	s.pageSeen = false
	q, err := s.cfg.CheckPage(data, s.mode)
	if err != nil && q.Rows == 0 && !s.rxPartial {
		q.BadRows = max(q.BadRows, 1)
	}
	partial := s.rxPartial || s.rxOverflow
	s.rxPartial, s.rxOverflow = false, false
	if !s.deliver(data, q, resp, partial) {
		return
	}
	s.lastCmd = fcf2
	s.rxFollowBlock(fcf2, resp)
}

func (s *Session) rxFollowBlock(fcf2, resp FCF) {
	if fcf2 == FCFNull {
		s.lastResp = resp
		s.respond(stWaitPage, resp)
		return
	}
	s.rxFollow(fcf2, resp)
}

// ---- defaults ----

// DefaultPageChecker is the Config.CheckPage used when none is set:
// CheckPageT4, which decodes with package t4.
var DefaultPageChecker PageChecker
