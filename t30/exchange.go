package t30

import "fmt"

// An exchange is one command/response exchange (T.30 5.4.3.1, Figure
// 5-2): the burst we sent, the responses that answer it and what each of
// them does, and how it has fared, the way pion/dtls keeps a flight. The
// transmitter repeats its command until an accepted response comes
// (MaxTries in silence, MaxDamagedTries when the answers come damaged);
// the receiver keeps its last response in cmd to repeat it on CRP or RR.
type exchange struct {
	cmd     []Frame // the burst, repeated as is (a DCS is followed by TCF again)
	replies []reply // the responses that answer cmd, and what each does
	tries   int     // sent and met by silence (T4 expired, nothing heard)
	damaged int     // answered, but only with damaged frames or bare flags

	// In the current wait for the response:
	heardBad  bool // a frame with a bad FCS came
	heardGood bool // a valid frame came (an answer or not)
}

// A reply is one response a command accepts and what it does.
type reply struct {
	fcf  FCF
	does answer
}

// answer is what a response does to the transmitter (Session.onAnswer
// carries it out).
type answer uint8

const (
	notAnswer        answer = iota // no answer to the command: ignored, T4 runs on
	answerRepeat                   // CRP: send the command again (a try)
	answerDCSLost                  // DIS after our DCS: the DCS was lost (5.3.6.1.2); again (a try)
	answerTrained                  // CFR: the receiver trained; phase C
	answerTrainAgain               // FTT: DCS and TCF again one speed lower
	answerPageGood                 // MCF, RTP, PIP (non-ECM): the page is confirmed (RTP: retrain first)
	answerPageBad                  // RTN, PIN (non-ECM): retrain and send the page again
	answerBlockGood                // MCF, PIP (ECM): the partial page is confirmed
	answerCorrect                  // PPR: send the frames it lists again (A.4.4)
	answerNotReady                 // RNR: ask again with RR until T5 (A.4.2)
	answerInterrupt                // PIN (ECM): a procedure interrupt we cannot serve: end
	answerCorrecting               // CTR: go on correcting the block
	answerGiveUp                   // ERR: the block is given up (EOR accepted)
)

var answerNames = [...]string{"not an answer", "repeat", "DCS lost", "trained", "train again",
	"page good", "page bad", "block good", "correct", "not ready", "interrupt", "correcting", "give up"}

func (a answer) String() string {
	if int(a) < len(answerNames) {
		return answerNames[a]
	}
	return fmt.Sprintf("answer(%d)", uint8(a))
}

// replies lists, for each command of a transmitter, the responses that
// answer it and what each does (T.30 Figure 5-2 a/b, Table 5, Annex A).
// Any other frame in the wait is no answer: it is ignored, and T4 runs
// on. RR is not listed: it asks again for the response to the PPS or EOR
// before it and accepts what that command accepts (exchange.start).
var replies = map[FCF][]reply{
	FCFDCS: {{FCFCFR, answerTrained}, {FCFFTT, answerTrainAgain}, {FCFDIS, answerDCSLost}, {FCFCRP, answerRepeat}},
	FCFMPS: postPageReplies,
	FCFEOM: postPageReplies,
	FCFEOP: postPageReplies,
	FCFPPS: {{FCFMCF, answerBlockGood}, {FCFPPR, answerCorrect}, {FCFRNR, answerNotReady},
		{FCFPIP, answerBlockGood}, {FCFPIN, answerInterrupt}, {FCFCRP, answerRepeat}},
	FCFCTC: {{FCFCTR, answerCorrecting}, {FCFCRP, answerRepeat}},
	FCFEOR: {{FCFERR, answerGiveUp}, {FCFRNR, answerNotReady}, {FCFPIN, answerInterrupt}, {FCFCRP, answerRepeat}},
}

// postPageReplies answer a non-ECM post-message command (MPS, EOM, EOP).
var postPageReplies = []reply{{FCFMCF, answerPageGood}, {FCFRTP, answerPageGood}, {FCFRTN, answerPageBad},
	{FCFPIP, answerPageGood}, {FCFPIN, answerPageBad}, {FCFCRP, answerRepeat}}

// start makes cmd the exchange's command. Its tries go on (a repeated or
// corrected command is the same exchange) until a response answers it
// (Session.answered). An RR keeps the replies of the command it asks
// about.
func (e *exchange) start(cmd []Frame) {
	e.cmd = cmd
	if len(cmd) > 0 && cmd[len(cmd)-1].FCF == FCFRR {
		return
	}
	e.replies = nil
	if len(cmd) > 0 {
		e.replies = replies[cmd[len(cmd)-1].FCF]
	}
}

// answer returns what f does to the command: notAnswer when f does not
// answer it.
func (e *exchange) answer(f FCF) answer {
	for _, r := range e.replies {
		if r.fcf == f {
			return r.does
		}
	}
	return notAnswer
}

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
