package t30

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/faxkit/faxkit/internal/clock"
)

// chanModem is one end of an in-memory modem pair: what it sends arrives at
// once on the peer's event channel.
type chanModem struct {
	ev   chan Event
	peer *chanModem
	once sync.Once
	sent []FCF // control fields of the frames sent, in order
}

func modemPair() (*chanModem, *chanModem) {
	a := &chanModem{ev: make(chan Event, 1<<16)}
	b := &chanModem{ev: make(chan Event, 1<<16)}
	a.peer, b.peer = b, a
	return a, b
}

func (m *chanModem) toPeer(ev Event) {
	if m.peer == nil {
		return
	}
	select {
	case m.peer.ev <- ev:
	default:
	}
}

func (m *chanModem) done() { m.ev <- Event{Kind: EventSendDone} }
func (m *chanModem) SendTone(t Tone) error {
	// EventSendDone first: a test that waits for the tone at the peer
	// knows the sender's own done is queued before any answer.
	m.done()
	switch t {
	case ToneCNG:
		m.toPeer(Event{Kind: EventCNG})
	case ToneCED:
		m.toPeer(Event{Kind: EventCED})
	}
	return nil
}
func (m *chanModem) Receive(Speed) error  { return nil }
func (m *chanModem) Events() <-chan Event { return m.ev }
func (m *chanModem) Hangup() error {
	m.once.Do(func() { m.toPeer(Event{Kind: EventHangup}) })
	return nil
}
func (m *chanModem) SendTCF(s Speed, d time.Duration) error {
	m.toPeer(Event{Kind: EventCarrierUp, Speed: s})
	m.toPeer(Event{Kind: EventData, Data: make([]byte, s.BitRate()/8*int(d/time.Millisecond)/1000)})
	m.toPeer(Event{Kind: EventCarrierDown})
	m.done()
	return nil
}
func (m *chanModem) SendImage(s Speed, data []byte) error {
	m.toPeer(Event{Kind: EventCarrierUp, Speed: s})
	for i := 0; i < len(data); i += 512 {
		m.toPeer(Event{Kind: EventData, Data: data[i:min(i+512, len(data))]})
	}
	m.toPeer(Event{Kind: EventCarrierDown})
	m.done()
	return nil
}
func (m *chanModem) SendFrames(s Speed, frames [][]byte) error {
	if s != SpeedNone {
		m.toPeer(Event{Kind: EventCarrierUp, Speed: s})
	}
	for _, f := range frames {
		if fr, err := ParseFrame(f); err == nil {
			m.sent = append(m.sent, fr.FCF)
		}
		m.toPeer(Event{Kind: EventFrame, Data: f})
	}
	m.toPeer(Event{Kind: EventCarrierDown})
	m.done()
	return nil
}

func TestRunPair(t *testing.T) {
	for _, ecm := range []bool{false, true} {
		p := newPair(t, testDoc(3, 200, ResFine), withCaps(func(c *Capabilities) { c.ECM = ecm }, nil))
		a, b := modemPair()
		var wg sync.WaitGroup
		var rx Result
		wg.Add(1)
		go func() { defer wg.Done(); rx = Run(context.Background(), p.rx, b, nil) }()
		start := time.Now()
		tx := Run(context.Background(), p.tx, a, nil)
		wg.Wait()
		if tx != ResultOK || rx != ResultOK {
			t.Fatalf("ecm=%v: tx %v rx %v", ecm, tx, rx)
		}
		p.checkPages(t)
		if el := time.Since(start); el > 5*time.Second {
			t.Errorf("call took %v", el)
		}
	}
}

// TestRunFakeClock: a caller whose peer never answers ends on T1, read from
// a fake clock that the test moves straight to each deadline.
func TestRunFakeClock(t *testing.T) {
	tx, err := NewSession(Config{Calling: true, Transmit: true, Document: testDoc(1, 10, ResFine)})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := modemPair()
	a.peer = nil
	fc := clock.NewFake(t0)
	res := make(chan Result)
	go func() { res <- Run(context.Background(), tx, a, fc) }()
	for {
		select {
		case r := <-res:
			if r != ResultNoAnswer || fc.Now().Sub(t0) != 35*time.Second {
				t.Fatalf("result %v at %v", r, fc.Now().Sub(t0))
			}
			return
		case <-time.After(time.Millisecond):
			if fc.Pending() > 0 {
				fc.Set(fc.Next())
			}
		}
	}
}

func TestRunAbort(t *testing.T) {
	rx, _ := NewSession(Config{})
	_, b := modemPair()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if r := Run(ctx, rx, b, nil); r != ResultLocalAbort {
		t.Fatalf("result %v", r)
	}
}
