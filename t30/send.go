package t30

// Sending: every signal the session puts on the line goes through here,
// with the watchdog that keeps a silent modem from hanging the call.

import (
	"time"
)

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

// sendCmd sends a control burst at V.21 as the exchange in progress:
// remembered for repetition (T4, CRP, RR) with the responses it accepts.
func (s *Session) sendCmd(after state, frames ...Frame) {
	s.ex.start(frames)
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

// heard notes a frame or carrier from the far end; it stops CNG: the far
// end has answered.
func (s *Session) heard() {
	s.cngNext = time.Time{}
	s.farHeard = true
}

// callerHeard repeats DIS early when an answering terminal waiting for a
// command hears the caller's CNG, instead of sitting out T4: a caller still
// sending CNG may not have heard our DIS, typically because it was not
// listening yet when it went out. The repeat waits EarlyDISDelay first: a
// CNG that crossed our DIS on the way is followed at once by the caller's
// answer to it, whose V.21 flags cancel the repeat (flagsSeen). A caller
// whose V.21 flags began in this wait is answering: nothing is repeated
// over it.
//
// Only a DIS that may have gone to nobody is repeated early: one sent
// after the caller was already heard reached a listening caller, or is
// crossing its next CNG burst (or a repeated CNG indicator) on the way; a
// DIS sent over the caller's DCS is "unexpected" to it (libspandsp ends
// the call). T4 repeats such a DIS as usual.
//
// Only the caller's CNG (a caller still in phase A) draws the early
// repeat. Any other first sign of the caller does not: a T.38 terminal
// sends no-signal as it starts, whether or not it has heard our DIS, and
// libspandsp, having heard it, takes a second DIS over its own DCS for an
// unexpected message and ends the call.
func (s *Session) callerHeard(cng bool) {
	seenBefore := s.callerSeen || s.farHeard
	s.callerSeen = true
	if !cng || s.st != stWaitCmd || !s.repeatDIS || s.flagged {
		return
	}
	if seenBefore && s.disHeard {
		return
	}
	if !s.now.Before(s.t1End) || s.earlyDIS {
		return
	}
	s.earlyDIS = true
	if d := s.now.Add(EarlyDISDelay); d.Before(s.deadline) {
		s.deadline = d // timeout repeats the DIS (and counts it early)
	}
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
