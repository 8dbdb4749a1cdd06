package t30

import "slices"

// An exchange is one command/response exchange (T.30 5.4.3.1, Figure
// 5-2): the burst we sent, the responses that answer it, and how it has
// fared, the way pion/dtls keeps a flight. The transmitter repeats its
// command until an accepted response comes (MaxTries in silence,
// MaxDamagedTries when the answers come damaged); the receiver keeps its
// last response in cmd to repeat it on CRP or RR.
type exchange struct {
	cmd     []Frame // the burst, repeated as is (a DCS is followed by TCF again)
	accepts []FCF   // the responses that answer cmd (responses[cmd's FCF])
	tries   int     // sent and met by silence (T4 expired, nothing heard)
	damaged int     // answered, but only with damaged frames or bare flags

	// In the current wait for the response:
	heardBad  bool // a frame with a bad FCS came
	heardGood bool // a valid frame came (an answer or not)
}

// responses lists the responses that answer each command of a
// transmitter (T.30 Figure 5-2 a/b, Table 5, Annex A). CRP asks for the
// command again. A DIS after our DCS says the DCS was lost (5.3.6.1.2).
// Any other frame in the wait is no answer: it is ignored, and T4 runs on.
var responses = map[FCF][]FCF{
	FCFDCS: {FCFCFR, FCFFTT, FCFDIS, FCFCRP},
	FCFMPS: {FCFMCF, FCFRTP, FCFRTN, FCFPIP, FCFPIN, FCFCRP},
	FCFEOM: {FCFMCF, FCFRTP, FCFRTN, FCFPIP, FCFPIN, FCFCRP},
	FCFEOP: {FCFMCF, FCFRTP, FCFRTN, FCFPIP, FCFPIN, FCFCRP},
	FCFPPS: {FCFMCF, FCFPPR, FCFRNR, FCFPIP, FCFPIN, FCFCRP},
	FCFCTC: {FCFCTR, FCFCRP},
	FCFEOR: {FCFERR, FCFRNR, FCFPIN, FCFCRP},
	// RR asks again for the response to the PPS or EOR before it.
	FCFRR: {FCFMCF, FCFPPR, FCFRNR, FCFPIP, FCFPIN, FCFERR, FCFCRP},
}

// start makes cmd the exchange's command. Its tries go on (a repeated or
// corrected command is the same exchange) until a response answers it
// (Session.answered).
func (e *exchange) start(cmd []Frame) {
	e.cmd = cmd
	e.accepts = nil
	if len(cmd) > 0 {
		e.accepts = responses[cmd[len(cmd)-1].FCF]
	}
}

// answers reports whether f answers the command.
func (e *exchange) answers(f FCF) bool { return slices.Contains(e.accepts, f) }

// newWait forgets what the last wait heard.
func (e *exchange) newWait() { e.heardBad, e.heardGood = false, false }

// answered notes a valid response to the command in progress: the next
// command starts with all its tries.
func (s *Session) answered() {
	s.ex.tries = 0
	s.ex.damaged = 0
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
		s.ex.heardBad = true
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
	s.ex.damaged++
	if s.ex.damaged > s.cfg.MaxDamagedTries {
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
	s.ex.tries++
	if s.ex.tries >= s.cfg.MaxTries {
		s.disconnect(ResultNoResponse)
		return
	}
	s.repeatCmd()
}

// repeatCmd resends the last command burst and waits again for its
// response. A repeated DCS is followed by TCF again.
func (s *Session) repeatCmd() {
	if len(s.ex.cmd) == 0 {
		return
	}
	frames := append([]Frame(nil), s.ex.cmd...)
	after := s.st
	if frames[len(frames)-1].FCF == FCFDCS {
		after = stTxTCF
	}
	s.sendCmd(after, frames...)
}
