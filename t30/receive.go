package t30

// The receiving terminal: DIS, TCF judgement, pages and their answers
// (T.30 Figure 5-2 c, Annex A for ECM).

import (
	"time"
)

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
	s.disHeard = s.callerSeen || s.farHeard
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
		s.tcfTotal, s.tcfRun, s.tcfLongest, s.tcfCarrier = 0, 0, 0, false
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
	if len(s.ex.cmd) == 0 {
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
	s.sendCmd(s.afterOrSelf(), s.ex.cmd...)
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
	s.earlyDIS = false // the caller is answering the DIS it heard
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
		s.rxLast, s.rxPostAt = s.now, time.Time{}
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
		// An image carrier that brought no data (its training failed, as
		// on a line too noisy for the commanded rate) is a failed TCF:
		// FTT at once steps the transmitter down, where silence would
		// have it repeat the same DCS and TCF until it gives up.
		if s.tcfTotal > 0 || s.tcfCarrier {
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
		s.rxData, s.rxOverflow, s.pageSeen, s.rxUncertain = s.rxData[:0], false, false, false
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

// PageEndGap is the longest time from a non-ECM page's last data to the
// flags of the post-page command for a page without RTC/EOFB to count as
// one that ran to its end with its end marker lost (PageQuality.EndLost)
// rather than a truncated one. T.30 (5.3.2.2) sends the command 75 ± 20 ms
// after the page, and four flags (0.1 s) tell a V.21 preamble: at most half
// a second of the page can have been lost. When the flags went unheard,
// the command's first frame, good or bad, may come frameGapExtra later (the
// rest of a 1 s ± 15 % preamble and the frame). A command lost whole is
// repeated after T4 (3 s): too late.
const PageEndGap = 600 * time.Millisecond

const frameGapExtra = 1400 * time.Millisecond

// postHeard notes the first V.21 signal after non-ECM page data: flags, or
// a frame.
func (s *Session) postHeard(flags bool) {
	if s.pageSeen && s.rxPostAt.IsZero() && (s.st == stRxPage || s.st == stWaitPost) {
		s.rxPostAt, s.rxPostFlags = s.now, flags
	}
}

// endLost reports whether a page that ended without RTC/EOFB ran to its
// end (PageEndGap).
func (s *Session) endLost() bool {
	gap := PageEndGap
	if !s.rxPostFlags {
		gap += frameGapExtra
	}
	return !s.rxPostAt.IsZero() && s.rxPostAt.Sub(s.rxLast) <= gap
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
			if q.Truncated && s.endLost() {
				q.Truncated, q.EndLost, q.RowsUncertain = false, true, true
			}
			resp = s.cfg.Quality.Judge(q)
		}
	}
	q.RowsUncertain = q.RowsUncertain || s.rxUncertain
	s.rxOverflow, s.rxUncertain, s.rxPostAt = false, false, time.Time{}
	if resp == FCFRTN {
		s.stats.PagesRejected++
		s.record(Record{Kind: RecordPageRejected, Page: s.stats.Pages + 1, Quality: q})
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
		s.ex.start([]Frame{miss.Frame(s.disReceived)})
		s.sendFrames(stWaitPage, SpeedNone, s.ex.cmd...)
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
