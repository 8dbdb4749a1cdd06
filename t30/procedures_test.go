package t30

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/faxkit/faxkit/t4"
)

func TestPolling(t *testing.T) {
	doc := testDoc(2, 100, ResFine)
	var got []ReceivedPage
	poller, err := NewSession(Config{Calling: true, OnPage: func(p ReceivedPage) error { got = append(got, p); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	polled, err := NewSession(Config{Transmit: true, Document: doc})
	if err != nil {
		t.Fatal(err)
	}
	l := newSim(t, poller, polled)
	l.run(10 * time.Minute)
	if poller.Result() != ResultOK || polled.Result() != ResultOK || len(got) != 2 {
		t.Fatalf("poller %v polled %v pages %d\n%s", poller.Result(), polled.Result(), len(got), l.tail())
	}
	if l.count[0][FCFDTC] != 1 || l.count[1][FCFDCS] != 1 {
		t.Errorf("DTC %d DCS %d", l.count[0][FCFDTC], l.count[1][FCFDCS])
	}
	// nothing to poll
	poller, _ = NewSession(Config{Calling: true})
	other, _ := NewSession(Config{})
	l = newSim(t, poller, other)
	l.run(10 * time.Minute)
	if poller.Result() != ResultNoDocument {
		t.Fatalf("poller %v", poller.Result())
	}
}

// mixedDoc has a fine page, then a standard one, then a fine one.
type mixedDoc struct{ pages []*t4.Bitmap }

func (d mixedDoc) NumPages() int { return len(d.pages) }
func (d mixedDoc) Format(i int) PageFormat {
	if i == 1 {
		return PageFormat{Resolution: ResStandard}
	}
	return PageFormat{Resolution: ResFine}
}
func (d mixedDoc) Encode(i int, m Mode) ([]byte, error) {
	if m.Resolution != d.Format(i).Resolution {
		return nil, errors.New("wrong resolution")
	}
	return (&BitmapDocument{Pages: d.pages, Resolution: m.Resolution}).Encode(i, m)
}

func TestEOMChangesResolution(t *testing.T) {
	doc := mixedDoc{pages: []*t4.Bitmap{testPage(0, 1728, 60), testPage(1, 1728, 60), testPage(2, 1728, 60)}}
	for _, ecm := range []bool{false, true} {
		var got []ReceivedPage
		c := DefaultCapabilities()
		c.ECM = ecm
		tx, _ := NewSession(Config{Calling: true, Transmit: true, Document: doc, Capabilities: &c})
		rx, _ := NewSession(Config{OnPage: func(p ReceivedPage) error { got = append(got, p); return nil }})
		l := newSim(t, tx, rx)
		l.run(10 * time.Minute)
		if tx.Result() != ResultOK || rx.Result() != ResultOK || len(got) != 3 {
			t.Fatalf("ecm=%v: %v %v %d\n%s", ecm, tx.Result(), rx.Result(), len(got), l.tail())
		}
		for i, want := range []Resolution{ResFine, ResStandard, ResFine} {
			if got[i].Mode.Resolution != want {
				t.Errorf("page %d at %s", i+1, got[i].Mode.Resolution)
			}
		}
		if l.count[0][FCFDCS] != 3 || l.count[1][FCFDIS] != 3 {
			t.Errorf("DCS %d DIS %d, want 3 each", l.count[0][FCFDCS], l.count[1][FCFDIS])
		}
	}
}

func TestRNRAndRR(t *testing.T) {
	p := newPair(t, testDoc(2, 200, ResFine))
	p.sim.replace = func(side int, f Frame, n int) (Frame, bool) {
		if side == 1 && f.FCF == FCFMCF && n <= 2 {
			return NewFrame(FCFRNR, false, true), true
		}
		return f, false
	}
	runPair(t, p)
	wantResults(t, p, ResultOK, ResultOK)
	p.checkPages(t)
	if p.sim.count[0][FCFRR] != 2 {
		t.Errorf("RR sent %d times, want 2", p.sim.count[0][FCFRR])
	}
	// a receiver that is never ready: T5
	p = newPair(t, testDoc(1, 100, ResFine))
	p.sim.replace = func(side int, f Frame, n int) (Frame, bool) {
		if side == 1 && f.FCF == FCFMCF {
			return NewFrame(FCFRNR, false, true), true
		}
		return f, false
	}
	runPair(t, p)
	if p.tx.Result() != ResultReceiverNotReady {
		t.Fatalf("tx %v", p.tx.Result())
	}
}

func TestCRP(t *testing.T) {
	p := newPair(t, testDoc(2, 100, ResFine), withCaps(nonECM, nil))
	p.sim.replace = func(side int, f Frame, n int) (Frame, bool) {
		if side == 1 && (f.FCF == FCFMCF && n == 1 || f.FCF == FCFCFR && n == 1) {
			return NewFrame(FCFCRP, false, true), true
		}
		return f, false
	}
	runPair(t, p)
	wantResults(t, p, ResultOK, ResultOK)
	p.checkPages(t)
	if p.sim.count[0][FCFMPS] != 2 || p.sim.count[0][FCFDCS] != 2 {
		t.Errorf("MPS %d DCS %d, want 2 each", p.sim.count[0][FCFMPS], p.sim.count[0][FCFDCS])
	}
}

func TestRTPPolicy(t *testing.T) {
	calls := 0
	p := newPair(t, testDoc(2, 100, ResFine), withCaps(nonECM, nil), func(p *pair) {
		p.rxCfg.CheckPage = func(data []byte, m Mode) (PageQuality, error) {
			q, err := CheckPageT4(data, m)
			calls++
			if calls == 1 {
				q.BadRows, q.LongestBadRun = 8, 4 // 8% bad: RTP
			}
			return q, err
		}
	})
	runPair(t, p)
	wantResults(t, p, ResultOK, ResultOK)
	if p.sim.count[1][FCFRTP] != 1 || p.sim.count[0][FCFDCS] != 2 {
		t.Errorf("RTP %d DCS %d", p.sim.count[1][FCFRTP], p.sim.count[0][FCFDCS])
	}
	if st := p.rx.Stats(); st.BadRows != 8 || st.LongestBadRun != 4 || st.Pages != 2 {
		t.Errorf("rx stats %+v", st)
	}
	q := CopyQuality{}
	for _, c := range []struct {
		q    PageQuality
		want FCF
	}{
		{PageQuality{Rows: 100}, FCFMCF},
		{PageQuality{Rows: 100, BadRows: 5, LongestBadRun: 10}, FCFMCF},
		{PageQuality{Rows: 100, BadRows: 5, LongestBadRun: 11}, FCFRTP},
		{PageQuality{Rows: 100, BadRows: 15, LongestBadRun: 30}, FCFRTP},
		{PageQuality{Rows: 100, BadRows: 16}, FCFRTN},
		{PageQuality{Rows: 100, Truncated: true}, FCFRTN},
		{PageQuality{Rows: 100, EndLost: true, RowsUncertain: true}, FCFRTP},
		{PageQuality{Rows: 100, BadRows: 15, LongestBadRun: 30, EndLost: true}, FCFRTP},
		{PageQuality{Rows: 100, BadRows: 16, EndLost: true}, FCFRTN},
		{PageQuality{}, FCFRTN},
	} {
		if got := q.Judge(c.q); got != c.want {
			t.Errorf("%+v: %s, want %s", c.q, got, c.want)
		}
	}
}

func TestECM64(t *testing.T) {
	p := newPair(t, testDoc(2, 300, ResFine), withCaps(func(c *Capabilities) { c.ECM64 = true }, nil))
	runPair(t, p)
	wantResults(t, p, ResultOK, ResultOK)
	p.checkPages(t)
	if p.tx.Stats().ECMFrameSize != 64 || p.rx.Stats().ECMFrameSize != 64 {
		t.Errorf("frame size %d/%d", p.tx.Stats().ECMFrameSize, p.rx.Stats().ECMFrameSize)
	}
}

func TestIncompatible(t *testing.T) {
	doc := &BitmapDocument{Resolution: ResFine, Width: WidthB4, Pages: []*t4.Bitmap{testPage(0, 2048, 50)}}
	p := newPair(t, doc, withCaps(nil, func(c *Capabilities) { c.Width = WidthA4 }))
	runPair(t, p)
	wantResults(t, p, ResultIncompatible, ResultRemoteDisconnect)
}

func TestAbortAndRemoteDCN(t *testing.T) {
	p := newPair(t, testDoc(3, 100, ResFine), withCaps(nonECM, nil))
	p.sim.push(t0.Add(12*time.Second), 0, Event{Kind: EventAbort})
	runPair(t, p)
	wantResults(t, p, ResultLocalAbort, ResultRemoteDisconnect)
	p = newPair(t, testDoc(3, 100, ResFine))
	p.sim.push(t0.Add(12*time.Second), 1, Event{Kind: EventAbort})
	runPair(t, p)
	wantResults(t, p, ResultRemoteDisconnect, ResultLocalAbort)
}

func TestLostPPR(t *testing.T) {
	p := newPair(t, testDoc(1, 300, ResFine))
	p.sim.frameFault = func(side int, f Frame, n int) fault {
		if side == 0 && f.FCF == FCFFCD && f.Info[0] == 1 && p.tx.ppr == 0 || side == 1 && f.FCF == FCFPPR && n == 1 {
			return drop
		}
		return deliver
	}
	runPair(t, p)
	wantResults(t, p, ResultOK, ResultOK)
	p.checkPages(t)
	if p.sim.count[1][FCFPPR] != 2 || p.tx.Stats().PPRs != 1 {
		t.Errorf("PPR sent %d, seen %d", p.sim.count[1][FCFPPR], p.tx.Stats().PPRs)
	}
}

func TestRecords(t *testing.T) {
	p := newPair(t, testDoc(1, 50, ResFine), withCaps(nonECM, nil))
	runPair(t, p)
	wantResults(t, p, ResultOK, ResultOK)
	var phases []Phase
	phi := map[FCF]bool{}
	results := 0
	for _, r := range p.txRec {
		switch r.Kind {
		case RecordPhase:
			phases = append(phases, r.Phase)
		case RecordFrameSent, RecordFrameReceived:
			if r.PHI {
				phi[r.Frame.FCF] = true
			}
		case RecordResult:
			results++
			if r.Result != ResultOK {
				t.Errorf("result record %v", r.Result)
			}
		}
	}
	want := []Phase{PhaseA, PhaseB, PhaseC, PhaseD, PhaseE, PhaseDone}
	if len(phases) != len(want) {
		t.Fatalf("phases %v, want %v", phases, want)
	}
	for i := range want {
		if phases[i] != want[i] {
			t.Fatalf("phases %v, want %v", phases, want)
		}
	}
	if !phi[FCFTSI] || !phi[FCFCSI] || !phi[FCFNSS] || phi[FCFDCS] || results != 1 {
		t.Errorf("PHI marks %v, results %d", phi, results)
	}
	pages := 0
	for _, r := range p.rxRec {
		if r.Kind == RecordPageReceived {
			pages++
			if r.Quality.Rows != 50 || r.Quality.BadRows != 0 {
				t.Errorf("page record %+v", r.Quality)
			}
		}
	}
	if pages != 1 {
		t.Errorf("page records %d", pages)
	}
}

// TestMinScanLineTime: a receiver that needs 20 ms per row at standard
// resolution (10 ms at fine) gets rows filled to that time at the
// negotiated rate, and the page still decodes exactly.
func TestMinScanLineTime(t *testing.T) {
	doc := testDoc(1, 200, ResFine)
	p := newPair(t, doc, withCaps(func(c *Capabilities) { c.ECM = false; c.MaxSpeed = V29_9600 },
		func(c *Capabilities) { c.MinScanMs = 20; c.ScanHalfFine = true }))
	runPair(t, p)
	wantResults(t, p, ResultOK, ResultOK)
	p.checkPages(t)
	m, _ := p.tx.Mode()
	if m.ScanTimeMs != 10 || m.Speed != V17_9600 || m.MinRowBits() != 96 {
		t.Fatalf("mode %+v, min row bits %d", m, m.MinRowBits())
	}
	rm, _ := p.rx.Mode()
	if rm.ScanTimeMs != 10 {
		t.Errorf("receiver read %d ms from the DCS", rm.ScanTimeMs)
	}
	if bits := len(p.got[0].Data) * 8; bits < 200*96 {
		t.Errorf("page of %d bits for 200 rows, want >= %d", bits, 200*96)
	}
}

// TestLateSendDone: the modem reports the end of each burst 1.5 s after
// the peer has it, longer than the answer takes; answers that arrive
// before EventSendDone must not be lost.
func TestLateSendDone(t *testing.T) {
	for _, ecm := range []bool{false, true} {
		p := newPair(t, testDoc(3, 150, ResFine), withCaps(func(c *Capabilities) { c.ECM = ecm }, nil))
		p.sim.doneLag = 1500 * time.Millisecond
		runPair(t, p)
		wantResults(t, p, ResultOK, ResultOK)
		p.checkPages(t)
		for _, fcf := range []FCF{FCFDCS, FCFMPS, FCFEOP, FCFPPS} {
			if n := p.sim.count[0][fcf]; n > 3 {
				t.Errorf("ecm=%v: %s sent %d times: answers were missed", ecm, fcf, n)
			}
		}
		if p.sim.count[0][FCFDCS] != 1 {
			t.Errorf("ecm=%v: DCS sent %d times", ecm, p.sim.count[0][FCFDCS])
		}
	}
}

// TestLoggerRedacts: the debug log of a whole call never shows an ident.
func TestLoggerRedacts(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	p := newPair(t, testDoc(1, 50, ResFine), func(p *pair) {
		p.txCfg.Logger, p.rxCfg.Logger = log, log
		p.txCfg.LocalIdent, p.rxCfg.LocalIdent = "+1 555 867 5309", "+44 20 7946 0018"
	})
	runPair(t, p)
	wantResults(t, p, ResultOK, ResultOK)
	out := buf.String()
	if !strings.Contains(out, "fcf=TSI") || !strings.Contains(out, "phi=true") {
		t.Fatalf("log lacks frame records:\n%s", out)
	}
	for _, leak := range []string{"5309", "9035", "0018", "8100", "867", "7946"} {
		if strings.Contains(out, leak) {
			t.Fatalf("log leaks %q", leak)
		}
	}
	st := slog.New(slog.NewTextHandler(&buf, nil))
	buf.Reset()
	st.Info("stats", "stats", p.rx.Stats())
	if strings.Contains(buf.String(), "5309") || !strings.Contains(buf.String(), "REDACTED") {
		t.Fatalf("stats log: %s", buf.String())
	}
}

// TestPPSBurstCount: after a PPR, libspandsp's PPS counts the frames it
// resent rather than the block; our receiver must still see the whole block.
func TestPPSBurstCount(t *testing.T) {
	p := newPair(t, testDoc(1, 300, ResFine))
	p.sim.frameFault = func(side int, f Frame, n int) fault {
		if side == 0 && f.FCF == FCFFCD && p.tx.ppr == 0 && (f.Info[0] == 1 || f.Info[0] == 4) {
			return drop
		}
		return deliver
	}
	p.sim.replace = func(side int, f Frame, n int) (Frame, bool) {
		if side == 0 && f.FCF == FCFPPS && p.tx.ppr > 0 {
			pps, _ := ParsePPS(f)
			pps.Frames = p.tx.resend.Count()
			return pps.Frame(f.X), true
		}
		return f, false
	}
	runPair(t, p)
	wantResults(t, p, ResultOK, ResultOK)
	p.checkPages(t)
}

func TestHandleBeforeStart(t *testing.T) {
	s, _ := NewSession(Config{})
	acts := s.Handle(t0, Event{Kind: EventCarrierDown})
	if len(acts) == 0 || acts[0].Kind != ActionSendTone || acts[0].Tone != ToneCED {
		t.Fatalf("actions %v", acts)
	}
	if _, err := NewSession(Config{Transmit: true}); err == nil {
		t.Fatal("Transmit without a Document accepted")
	}
}
