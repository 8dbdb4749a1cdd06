package t30

import (
	"testing"
	"time"
)

// quietEnd lets s run with nothing more from the peer: every send
// completes, every deadline passes. It fails when the session stops making
// progress (a deadline that does not move: a driver would spin) or does
// not end.
func quietEnd(t *testing.T, s *Session, now time.Time, sends int) time.Time {
	t.Helper()
	count := func(acts []Action) {
		for _, a := range acts {
			switch a.Kind {
			case ActionSendFrames, ActionSendTCF, ActionSendImage, ActionSendTone:
				sends++
			}
		}
	}
	stuck := 0
	for i := 0; i < 1000 && !s.Done(); i++ {
		if sends > 0 {
			sends--
			count(s.Handle(now, Event{Kind: EventSendDone}))
			continue
		}
		d, ok := s.Deadline()
		if !ok {
			t.Fatalf("state %v has no deadline", s.st)
		}
		if d.After(now) {
			now, stuck = d, 0
		} else if stuck++; stuck > 10 {
			t.Fatalf("state %v: deadline %v does not move past now", s.st, d.Sub(t0))
		}
		count(s.Tick(now))
	}
	if !s.Done() {
		t.Fatalf("session did not end: state %v", s.st)
	}
	return now
}

func frameEvent(t *testing.T, f Frame) Event {
	t.Helper()
	b, err := f.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return Event{Kind: EventFrame, Data: b}
}

// trainedReceiver is an answering receiver that has sent CFR to a DCS and
// good TCF; the CFR is still going out (no EventSendDone yet).
func trainedReceiver(t *testing.T, ecm bool) (*Session, time.Time) {
	t.Helper()
	s, err := NewSession(Config{})
	if err != nil {
		t.Fatal(err)
	}
	now := t0
	s.Start(now)
	now = now.Add(time.Second)
	s.Handle(now, Event{Kind: EventSendDone}) // CED
	now = now.Add(2 * time.Second)
	s.Handle(now, Event{Kind: EventSendDone}) // DIS
	m := Mode{Speed: V17_14400, Compression: MR, Resolution: ResFine}
	if ecm {
		m.Compression, m.ECM, m.ECMFrameSize = MMR, true, 256
	}
	f, err := m.DCS().Frame()
	if err != nil {
		t.Fatal(err)
	}
	s.Handle(now, frameEvent(t, f))
	s.Handle(now, Event{Kind: EventCarrierUp, Speed: V17_14400})
	s.Handle(now.Add(1500*time.Millisecond), Event{Kind: EventData, Data: make([]byte, 2700)})
	now = now.Add(1500 * time.Millisecond)
	acts := s.Handle(now, Event{Kind: EventCarrierDown})
	if len(acts) != 1 || acts[0].Kind != ActionSendFrames || acts[0].Frames[0].FCF != FCFCFR {
		t.Fatalf("after TCF: %v", acts)
	}
	return s, now
}

// TestRRWhileSending: an RR that arrives while our response is still
// going out must not leave the session waiting for its own send forever.
func TestRRWhileSending(t *testing.T) {
	s, now := trainedReceiver(t, true)
	acts := s.Handle(now, frameEvent(t, NewFrame(FCFRR, false, true)))
	for _, a := range acts {
		if a.Kind == ActionSendFrames {
			for _, f := range a.Frames {
				if len(f.Info) == 0 && f.FCF == FCFPPR {
					t.Fatalf("RR answered with a PPR without its frame map")
				}
			}
		}
	}
	quietEnd(t, s, now, 2)
}

// TestRRRepeatsPPR: RR asks for the response to the last PPS again; after a
// PPR that is the PPR with its frame map, not a bare PPR.
func TestRRRepeatsPPR(t *testing.T) {
	s, now := trainedReceiver(t, true)
	s.Handle(now, Event{Kind: EventSendDone}) // CFR
	s.Handle(now, Event{Kind: EventCarrierUp, Speed: V17_14400})
	for _, i := range []uint8{0, 2} {
		s.Handle(now, frameEvent(t, FCDFrame(i, make([]byte, 256))))
	}
	s.Handle(now, frameEvent(t, RCPFrame()))
	s.Handle(now, Event{Kind: EventCarrierDown})
	acts := s.Handle(now, frameEvent(t, PPS{FCF2: FCFNull, Frames: 3}.Frame(false)))
	if len(acts) == 0 || len(acts[0].Frames) != 1 || acts[0].Frames[0].FCF != FCFPPR {
		t.Fatalf("PPS answered %v", acts)
	}
	ppr := acts[0].Frames[0]
	s.Handle(now, Event{Kind: EventSendDone})
	acts = s.Handle(now, frameEvent(t, NewFrame(FCFRR, false, true)))
	if len(acts) == 0 || len(acts[0].Frames) != 1 || acts[0].Frames[0].FCF != FCFPPR ||
		string(acts[0].Frames[0].Info) != string(ppr.Info) {
		t.Fatalf("RR after PPR answered %v", acts)
	}
}

// TestCRPStorm: a peer that answers everything with CRP (T.30 5.3.6.1.7:
// repeat your last command) must not hold the call forever. A CRP counts as
// a try, as in libspandsp, so the call ends after MaxTries.
func TestCRPStorm(t *testing.T) {
	for _, ecm := range []bool{false, true} {
		// the receiver answers every post-page command with CRP
		p := newPair(t, testDoc(2, 100, ResFine), withCaps(func(c *Capabilities) { c.ECM = ecm }, nil))
		p.sim.replace = func(side int, f Frame, n int) (Frame, bool) {
			if side == 1 && f.FCF == FCFMCF {
				return NewFrame(FCFCRP, false, true), true
			}
			return f, false
		}
		runPair(t, p)
		wantResults(t, p, ResultNoResponse, ResultRemoteDisconnect)
		if n := p.sim.count[1][FCFMCF]; n != 3 { // every MCF became CRP
			t.Errorf("ecm=%v: %d CRPs before giving up, want 3", ecm, n)
		}
		// the transmitter answers every response with CRP
		p = newPair(t, testDoc(2, 100, ResFine), withCaps(func(c *Capabilities) { c.ECM = ecm }, nil))
		p.sim.replace = func(side int, f Frame, n int) (Frame, bool) {
			if side == 0 && (f.FCF == FCFMPS || f.FCF == FCFPPS) {
				return NewFrame(FCFCRP, false, true), true
			}
			return f, false
		}
		runPair(t, p)
		if p.tx.Result() != ResultNoResponse || p.rx.Result() == ResultOK {
			t.Fatalf("ecm=%v: tx %v rx %v\n%s", ecm, p.tx.Result(), p.rx.Result(), p.sim.tail())
		}
	}
}

// TestRRFlood: a transmitter that sends nothing but RR is answered for as
// long as its own T5 allows, then the receiver gives up.
func TestRRFlood(t *testing.T) {
	s, now := trainedReceiver(t, true)
	s.Handle(now, Event{Kind: EventSendDone}) // CFR
	start := now
	for i := 0; i < 100 && !s.Done(); i++ {
		now = now.Add(2 * time.Second)
		for _, a := range s.Handle(now, frameEvent(t, NewFrame(FCFRR, false, true))) {
			if a.Kind == ActionSendFrames {
				s.Handle(now, Event{Kind: EventSendDone})
			}
		}
	}
	quietEnd(t, s, now, 0)
	if s.Result() != ResultNoResponse || now.Sub(start) > 70*time.Second {
		t.Fatalf("%v after %v", s.Result(), now.Sub(start))
	}
}

// TestECMInterrupts: in ECM, PIP is MCF with an interrupt request we do
// not serve (libspandsp: the same), PIN ends the call at once rather than
// after three unanswered PPS, and a receiver may answer EOR with RNR.
func TestECMInterrupts(t *testing.T) {
	turn := func(from, to FCF, nth int) func(int, Frame, int) (Frame, bool) {
		return func(side int, f Frame, n int) (Frame, bool) {
			if side == 1 && f.FCF == from && (nth == 0 || n == nth) {
				return NewFrame(to, false, true), true
			}
			return f, false
		}
	}
	p := newPair(t, testDoc(2, 100, ResFine))
	p.sim.replace = turn(FCFMCF, FCFPIP, 0)
	runPair(t, p)
	wantResults(t, p, ResultOK, ResultOK)
	p.checkPages(t)

	p = newPair(t, testDoc(2, 100, ResFine))
	p.sim.replace = turn(FCFMCF, FCFPIN, 1)
	runPair(t, p)
	wantResults(t, p, ResultPageRejected, ResultRemoteDisconnect)
	if n := p.sim.count[0][FCFPPS]; n != 1 {
		t.Errorf("PPS sent %d times after PIN", n)
	}

	p = newPair(t, testDoc(2, 120, ResFine), withCaps(func(c *Capabilities) { c.Modems = ModemsV27terFallback }, nil))
	p.sim.frameFault = func(side int, f Frame, n int) fault {
		if side == 0 && f.FCF == FCFFCD && f.Info[0] == 1 && p.tx.page == 0 {
			return drop
		}
		return deliver
	}
	p.sim.replace = turn(FCFERR, FCFRNR, 1)
	runPair(t, p)
	wantResults(t, p, ResultECMFailure, ResultOK)
	if n := p.sim.count[0][FCFRR]; n != 1 {
		t.Errorf("RR sent %d times after RNR to EOR", n)
	}
}

// TestStaleRetransmission: the transmitter retransmits a frame of a block
// we have just confirmed (our MCF crossed its PPR-driven retransmission)
// and repeats that block's PPS. Those frames belong to the old block: they
// must not fill the next page, and the old PPS gets no answer that could be
// taken for the next block's.
func TestStaleRetransmission(t *testing.T) {
	_, got, feed := ecmReceiver(t)
	fill := func(b byte) []byte { d := make([]byte, 256); d[0] = b; return d }
	// page 1: frames 0-2, PPS-MPS -> MCF
	for i := uint8(0); i < 3; i++ {
		feed(FCDFrame(i, fill(0x10+i)))
	}
	if a := feed(PPS{FCF2: FCFMPS, Page: 0, Block: 0, Frames: 3}.Frame(false)); a != FCFMCF {
		t.Fatalf("page 1 answered %v", a)
	}
	// a stale retransmission of page 1's frame 1 and its PPS
	feed(FCDFrame(1, fill(0x11)))
	if a := feed(PPS{FCF2: FCFMPS, Page: 0, Block: 0, Frames: 1}.Frame(false)); a != 0 {
		t.Fatalf("stale PPS answered %v", a)
	}
	// page 2
	for i := uint8(0); i < 3; i++ {
		feed(FCDFrame(i, fill(0x20+i)))
	}
	if a := feed(PPS{FCF2: FCFEOP, Page: 1, Block: 0, Frames: 3}.Frame(false)); a != FCFMCF {
		t.Fatalf("page 2 answered %v", a)
	}
	if len(*got) != 2 || len((*got)[1].Data) != 3*256 || (*got)[1].Data[256] != 0x21 {
		t.Fatalf("pages %d; page 2 frame 1 starts %#x, want 0x21", len(*got), (*got)[len(*got)-1].Data[256])
	}
}

// ecmReceiver is an answering ECM receiver ready for phase C, and a helper
// that feeds it one frame and completes whatever it sends.
func ecmReceiver(t *testing.T) (s *Session, got *[]ReceivedPage, feed func(Frame) FCF) {
	t.Helper()
	got = new([]ReceivedPage)
	s, err := NewSession(Config{OnPage: func(p ReceivedPage) error { *got = append(*got, p); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	now := t0
	s.Start(now)
	s.Handle(now, Event{Kind: EventSendDone}) // CED
	s.Handle(now, Event{Kind: EventSendDone}) // DIS
	feed = func(f Frame) FCF {
		now = now.Add(100 * time.Millisecond)
		var last FCF
		for _, a := range s.Handle(now, frameEvent(t, f)) {
			if a.Kind == ActionSendFrames {
				last = a.Frames[len(a.Frames)-1].FCF
				s.Handle(now, Event{Kind: EventSendDone})
			}
		}
		if f.FCF == FCFDCS {
			s.Handle(now, Event{Kind: EventData, Data: make([]byte, 2700)})
			for _, a := range s.Handle(now, Event{Kind: EventCarrierDown}) {
				if a.Kind == ActionSendFrames {
					last = a.Frames[len(a.Frames)-1].FCF
					s.Handle(now, Event{Kind: EventSendDone})
				}
			}
		}
		return last
	}
	m := Mode{Speed: V17_14400, Compression: MMR, Resolution: ResFine, ECM: true, ECMFrameSize: 256}
	dcs, _ := m.DCS().Frame()
	if a := feed(dcs); a != FCFCFR {
		t.Fatalf("DCS+TCF answered %v", a)
	}
	return s, got, feed
}

// TestPPSCounters: a PPS whose page/block counters skip a block we never
// confirmed means the transmitter took a late answer for another: the call
// ends (as in libspandsp) rather than filing these frames under the wrong
// page. After EOM and a new DCS the counters may start again.
func TestPPSCounters(t *testing.T) {
	block := func(feed func(Frame) FCF, b byte) {
		for i := uint8(0); i < 2; i++ {
			d := make([]byte, 256)
			d[0] = b + i
			feed(FCDFrame(i, d))
		}
	}
	s, got, feed := ecmReceiver(t)
	block(feed, 0x10)
	if a := feed(PPS{FCF2: FCFMPS, Page: 0, Block: 0, Frames: 2}.Frame(false)); a != FCFMCF {
		t.Fatalf("page 1: %v", a)
	}
	block(feed, 0x30)
	if a := feed(PPS{FCF2: FCFEOP, Page: 2, Block: 0, Frames: 2}.Frame(false)); a != FCFDCN {
		t.Fatalf("PPS for page 3 after page 1 answered %v, want DCN", a)
	}
	if s.Result() != ResultInProgress && s.Result() != ResultProtocolError || len(*got) != 1 {
		t.Fatalf("result %v, %d pages", s.Result(), len(*got))
	}

	s, got, feed = ecmReceiver(t)
	block(feed, 0x10)
	if a := feed(PPS{FCF2: FCFEOM, Page: 0, Block: 0, Frames: 2}.Frame(false)); a != FCFMCF {
		t.Fatalf("page 1: %v", a)
	}
	m := Mode{Speed: V17_14400, Compression: MMR, Resolution: ResStandard, ECM: true, ECMFrameSize: 256}
	dcs, _ := m.DCS().Frame()
	if a := feed(dcs); a != FCFCFR {
		t.Fatalf("DCS after EOM answered %v", a)
	}
	block(feed, 0x20)
	if a := feed(PPS{FCF2: FCFEOP, Page: 0, Block: 0, Frames: 2}.Frame(false)); a != FCFMCF {
		t.Fatalf("page 2 numbered afresh after EOM answered %v", a)
	}
	if len(*got) != 2 || (*got)[1].Data[0] != 0x20 || s.Done() {
		t.Fatalf("%d pages, done %v", len(*got), s.Done())
	}
}
