package t30

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestHandoverMidPhaseB: a call starts on one modem pair (the audio path)
// and, once the caller has the answerer's DIS, both ends are handed to a
// second pair (T.38 after a re-INVITE). DCS, TCF, the pages and the end
// of the call go over the second pair only, and every page arrives intact.
func TestHandoverMidPhaseB(t *testing.T) {
	for _, ecm := range []bool{false, true} {
		t.Run(map[bool]string{false: "non-ECM", true: "ECM"}[ecm], func(t *testing.T) {
			var txd, rxd *Driver
			a1, b1 := modemPair()
			a2, b2 := modemPair()
			var once sync.Once
			var swapped []string
			var mu sync.Mutex
			onHand := func(side string) func(old, new Modem) {
				return func(old, new Modem) {
					mu.Lock()
					swapped = append(swapped, side)
					mu.Unlock()
				}
			}
			var txSignals []EventKind
			p := newPair(t, testDoc(2, 200, ResFine),
				withCaps(func(c *Capabilities) { c.ECM = ecm }, nil),
				func(p *pair) {
					rec := p.txCfg.OnRecord
					p.txCfg.OnRecord = func(r Record) {
						rec(r)
						if r.Kind == RecordFrameReceived && r.Frame.FCF == FCFDIS {
							once.Do(func() {
								// call control: the re-INVITE succeeded
								txd.Handover(a2)
								rxd.Handover(b2)
							})
						}
					}
				})
			txd = NewDriver(p.tx, a1, &DriverConfig{
				OnHandover: onHand("tx"),
				OnSignal:   func(ev Event) { txSignals = append(txSignals, ev.Kind) },
			})
			rxd = NewDriver(p.rx, b1, &DriverConfig{OnHandover: onHand("rx")})
			// The caller starts first: its CNG is out (and done) before
			// the answerer's DIS can arrive, so the caller is between
			// signals when it asks for the hand-over.
			var wg sync.WaitGroup
			var tx, rx Result
			wg.Add(2)
			go func() { defer wg.Done(); tx = txd.Run(context.Background()) }()
			for i := 0; len(b1.ev) == 0; i++ {
				if i > 5000 {
					t.Fatal("caller sent no CNG")
				}
				time.Sleep(time.Millisecond)
			}
			go func() { defer wg.Done(); rx = rxd.Run(context.Background()) }()
			wg.Wait()
			if tx != ResultOK || rx != ResultOK {
				t.Fatalf("tx %v rx %v", tx, rx)
			}
			p.checkPages(t)
			slices.Sort(swapped)
			if !slices.Equal(swapped, []string{"rx", "tx"}) {
				t.Fatalf("hand-overs %v", swapped)
			}
			if txd.Modem() != a2 || rxd.Modem() != b2 {
				t.Fatal("drivers did not end on the second pair")
			}
			// The first pair carried phase A and the DIS only.
			if slices.Contains(a1.sent, FCFDCS) || !slices.Contains(b1.sent, FCFDIS) {
				t.Errorf("first pair: caller sent %v, answerer %v", a1.sent, b1.sent)
			}
			if !slices.Contains(a2.sent, FCFDCS) || !slices.Contains(a2.sent, FCFDCN) || !slices.Contains(b2.sent, FCFCFR) {
				t.Errorf("second pair: caller sent %v, answerer %v", a2.sent, b2.sent)
			}
			if !slices.Contains(txSignals, EventCED) {
				t.Errorf("caller's OnSignal saw %v, want CED", txSignals)
			}
		})
	}
}

// TestHandoverWaitsForSend: a hand-over requested while a signal is going
// out takes effect only after its EventSendDone; the modem that takes over
// is told what to listen for.
func TestHandoverWaitsForSend(t *testing.T) {
	rx, err := NewSession(Config{})
	if err != nil {
		t.Fatal(err)
	}
	old := newSlowModem()
	next := newSlowModem()
	d := NewDriver(rx, old, nil)
	res := make(chan Result, 1)
	go func() { res <- d.Run(context.Background()) }()
	// CED is being sent: the driver must stay on old.
	<-old.sends
	d.Handover(next)
	time.Sleep(20 * time.Millisecond)
	if d.Modem() != old || next.receives.Load() != 0 {
		t.Fatal("switched while CED was being sent")
	}
	old.ev <- Event{Kind: EventSendDone} // CED done: the session sends DIS on the new modem
	<-next.sends
	if d.Modem() != next || next.receives.Load() == 0 {
		t.Fatal("DIS not sent on the new modem, or it was not told to listen")
	}
	next.ev <- Event{Kind: EventHangup}
	if r := <-res; r != ResultCallDropped {
		t.Fatalf("result %v", r)
	}
}

// TestHandoverOnClosedModem: when the old modem's events end with a
// hand-over pending, the call continues on the new modem rather than ending
// as a hang-up, and the unfinished send counts as done.
func TestHandoverOnClosedModem(t *testing.T) {
	rx, err := NewSession(Config{})
	if err != nil {
		t.Fatal(err)
	}
	old := newSlowModem()
	next := newSlowModem()
	d := NewDriver(rx, old, nil)
	res := make(chan Result, 1)
	go func() { res <- d.Run(context.Background()) }()
	<-old.sends // CED, never finished
	d.Handover(next)
	close(old.ev)
	<-next.sends // the DIS
	next.ev <- Event{Kind: EventHangup}
	if r := <-res; r != ResultCallDropped {
		t.Fatalf("result %v", r)
	}
}

// TestPreemptingDCN: cancelling a call while a page is going out sends a
// DCN marked Preempt, and the driver asks a Preempter modem to cut the page
// short before the DCN.
func TestPreemptingDCN(t *testing.T) {
	rx, err := NewSession(Config{Calling: true, Transmit: true, Document: testDoc(1, 50, ResFine)})
	if err != nil {
		t.Fatal(err)
	}
	m := newSlowModem()
	ctx, cancel := context.WithCancel(context.Background())
	d := NewDriver(rx, m, nil)
	res := make(chan Result, 1)
	go func() { res <- d.Run(ctx) }()
	<-m.sends // CNG, still sounding
	cancel()
	<-m.sends // the DCN
	if m.preempts.Load() != 1 {
		t.Fatalf("Preempt called %d times", m.preempts.Load())
	}
	m.ev <- Event{Kind: EventSendDone}
	m.ev <- Event{Kind: EventSendDone}
	if r := <-res; r != ResultLocalAbort {
		t.Fatalf("result %v", r)
	}
}

func TestDisconnectActionPreempts(t *testing.T) {
	s, err := NewSession(Config{})
	if err != nil {
		t.Fatal(err)
	}
	s.Start(t0)
	acts := s.Handle(t0, Event{Kind: EventAbort})
	i := slices.IndexFunc(acts, func(a Action) bool { return a.Kind == ActionSendFrames })
	if i < 0 || acts[i].Frames[0].FCF != FCFDCN || !acts[i].Preempt {
		t.Fatalf("actions %v", acts)
	}
}

// slowModem finishes nothing by itself: the test answers each Send* with
// an EventSendDone when it chooses.
type slowModem struct {
	ev       chan Event
	sends    chan struct{}
	receives atomic.Int32
	preempts atomic.Int32
}

func newSlowModem() *slowModem {
	return &slowModem{ev: make(chan Event, 16), sends: make(chan struct{}, 16)}
}

func (m *slowModem) sent() error                        { m.sends <- struct{}{}; return nil }
func (m *slowModem) SendTone(Tone) error                { return m.sent() }
func (m *slowModem) SendFrames(Speed, [][]byte) error   { return m.sent() }
func (m *slowModem) SendTCF(Speed, time.Duration) error { return m.sent() }
func (m *slowModem) SendImage(Speed, []byte) error      { return m.sent() }
func (m *slowModem) Receive(Speed) error                { m.receives.Add(1); return nil }
func (m *slowModem) Events() <-chan Event               { return m.ev }
func (m *slowModem) Hangup() error                      { return nil }
func (m *slowModem) Preempt() error                     { m.preempts.Add(1); return nil }
