package t30

// The transmitting terminal: phase B from DIS to CFR, phase C, phase D
// (T.30 Figure 5-2 a/b, Annex A for ECM).

import (
	"time"
)

// txFrame handles a frame from the receiver. In the wait for DIS it
// opens phase B. While we wait for a response, the exchange says what the
// frame does (exchange.go): a frame that does not answer our command is
// ignored and T4 runs on; one that does ends the exchange's tries, except
// CRP (send it again) and a DIS after DCS (the DCS was lost), which are
// requests to repeat and count as tries.
func (s *Session) txFrame(f Frame) {
	if s.st == stWaitDIS {
		if f.FCF == FCFDIS {
			s.onDIS(f)
		}
		return
	}
	if !isResponseWait(s.st) {
		return
	}
	a := s.ex.answer(f.FCF)
	switch a {
	case notAnswer:
		return
	case answerRepeat, answerDCSLost:
	default:
		s.answered()
	}
	s.onAnswer(a, f)
}

// onAnswer does what response f to our command does (its answer).
func (s *Session) onAnswer(a answer, f Frame) {
	switch a {
	case answerRepeat:
		s.retry()
	case answerDCSLost:
		// our DCS was lost and the receiver repeated DIS
		s.ex.tries++
		if s.ex.tries >= s.cfg.MaxTries {
			s.disconnect(ResultNoResponse)
			return
		}
		s.sendDCS()
	case answerTrained:
		s.retrain = false
		s.enter(stTxPage)
	case answerTrainAgain:
		s.stats.FTTs++
		next := NextSpeed(s.common, s.mode.Speed)
		if next == SpeedNone {
			s.disconnect(ResultTrainingFailed)
			return
		}
		s.mode.Speed = next
		s.sendDCS()
	case answerPageGood:
		s.retrain = f.FCF == FCFRTP
		s.pageConfirmed()
	case answerPageBad:
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
	case answerBlockGood:
		s.t5End = time.Time{}
		s.blockDone()
	case answerCorrect:
		s.t5End = time.Time{}
		s.onPPR(f)
	case answerNotReady:
		s.onRNR(s.st)
	case answerInterrupt:
		// A procedure interrupt we cannot serve (no operator): libspandsp
		// also ends the call here.
		s.disconnect(ResultPageRejected)
	case answerCorrecting:
		s.ppr = 0
		s.enter(stTxPage)
	case answerGiveUp:
		s.t5End = time.Time{}
		s.ecmFailed = true
		s.stats.EORs++
		s.blockDone()
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

// onPPR sends again the frames of the block that a PPR lists, and at the
// fourth PPR decides between correcting on (CTC) and giving up (EOR).
func (s *Session) onPPR(f Frame) {
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
}

// onRNR answers RNR with RR until T5 runs out (T.30 A.4.2), waiting in
// wait for the response to the RR.
func (s *Session) onRNR(wait state) {
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
