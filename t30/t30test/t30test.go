// Package t30test scripts conversations with a t30.Session, so that tests
// read like the flow diagrams of T.30 (Figure 5-2): the test plays the far
// terminal and the clock, the session plays itself.
//
//	c := t30test.New(t, t30.Config{})                // an answering receiver
//	c.WantTone("answers with CED", t30.ToneCED)
//	c.Want("offers its capabilities", t30.FCFDIS)
//	c.Recv(c.DCS(mode))                              // the caller commands a mode
//	c.RecvTCF(mode.Speed, t30.TCFDuration)           // and trains
//	c.Want("confirms the training", t30.FCFCFR)
//	c.Advance(t30.T2)                                // nothing comes ...
//
// Every Want checks the next thing the session sends (ActionReceive, which
// only says what to listen for, is skipped) and then completes it as a
// modem would (EventSendDone), so the session moves on. Time stands still
// unless Advance moves it; every session deadline reached on the way fires
// in order, as it would under a real clock.
package t30test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/faxkit/faxkit/t30"
)

// T.30 timer values (5.4.3.1) for Advance, as t30.Config's defaults.
const (
	T1 = 35 * time.Second
	T2 = 6 * time.Second
	T4 = 3 * time.Second // a calling terminal's, or a manual answerer's
	// T4Auto is T4 of an automatically answering terminal (4.5 s).
	T4Auto = 4500 * time.Millisecond
	T5     = 60 * time.Second
)

// Start is the virtual time a Conversation starts at.
var Start = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// A Conversation is one session under test and the script around it. It
// is not safe for concurrent use.
type Conversation struct {
	t   testing.TB
	S   *t30.Session
	now time.Time
	out []t30.Action // sent by the session, not yet checked
	log []string
}

// New starts a session with cfg at Start. It fails the test if cfg is
// invalid.
func New(t testing.TB, cfg t30.Config) *Conversation {
	t.Helper()
	s, err := t30.NewSession(cfg)
	if err != nil {
		t.Fatalf("t30test: %v", err)
	}
	c := &Conversation{t: t, S: s, now: Start}
	c.take(s.Start(c.now))
	return c
}

// Now is the conversation's virtual time.
func (c *Conversation) Now() time.Time { return c.now }

// Elapsed is the virtual time since Start.
func (c *Conversation) Elapsed() time.Duration { return c.now.Sub(Start) }

func (c *Conversation) take(acts []t30.Action) {
	for _, a := range acts {
		if a.Kind == t30.ActionReceive {
			continue
		}
		c.log = append(c.log, fmt.Sprintf("%7.3fs sends %s", c.Elapsed().Seconds(), a))
		c.out = append(c.out, a)
	}
}

// Handle feeds one event at the current time.
func (c *Conversation) Handle(ev t30.Event) {
	c.log = append(c.log, fmt.Sprintf("%7.3fs hears %s", c.Elapsed().Seconds(), ev.Kind))
	c.take(c.S.Handle(c.now, ev))
}

// Recv delivers frames as one V.21 burst from the far end: flags, each
// frame (the last one marked final), the carrier's end.
func (c *Conversation) Recv(frames ...t30.Frame) {
	c.t.Helper()
	c.Handle(t30.Event{Kind: t30.EventCarrierUp})
	for i, f := range frames {
		f.Final = i == len(frames)-1
		b, err := f.MarshalBinary()
		if err != nil {
			c.t.Fatalf("t30test: marshal %v: %v", f.FCF, err)
		}
		c.Handle(t30.Event{Kind: t30.EventFrame, Data: b})
	}
	c.Handle(t30.Event{Kind: t30.EventCarrierDown})
}

// RecvDamaged delivers a V.21 burst whose only frame arrives with a bad
// FCS (or abandoned mid-way).
func (c *Conversation) RecvDamaged() {
	c.Handle(t30.Event{Kind: t30.EventCarrierUp})
	c.Handle(t30.Event{Kind: t30.EventFrameBad})
	c.Handle(t30.Event{Kind: t30.EventCarrierDown})
}

// Hear delivers a signal that is not a frame: t30.EventCNG, EventCED,
// EventSignal.
func (c *Conversation) Hear(kind t30.EventKind) { c.Handle(t30.Event{Kind: kind}) }

// RecvTCF delivers a training check of d zeros at s, as the image modem
// hands it over: carrier, data, end of carrier.
func (c *Conversation) RecvTCF(s t30.Speed, d time.Duration) {
	c.Handle(t30.Event{Kind: t30.EventCarrierUp, Speed: s})
	c.Handle(t30.Event{Kind: t30.EventData, Data: make([]byte, int64(s.BitRate()/8)*int64(d)/int64(time.Second))})
	c.Handle(t30.Event{Kind: t30.EventCarrierDown})
}

// RecvPage delivers non-ECM page data at the image modem s: carrier,
// data, end of carrier.
func (c *Conversation) RecvPage(s t30.Speed, data []byte) {
	c.Handle(t30.Event{Kind: t30.EventCarrierUp, Speed: s})
	c.Handle(t30.Event{Kind: t30.EventData, Data: data})
	c.Handle(t30.Event{Kind: t30.EventCarrierDown})
}

// RecvImage delivers ECM frames (FCD, RCP) at the image modem s.
func (c *Conversation) RecvImage(s t30.Speed, frames ...t30.Frame) {
	c.t.Helper()
	c.Handle(t30.Event{Kind: t30.EventCarrierUp, Speed: s})
	for _, f := range frames {
		b, err := f.MarshalBinary()
		if err != nil {
			c.t.Fatalf("t30test: marshal %v: %v", f.FCF, err)
		}
		c.Handle(t30.Event{Kind: t30.EventFrame, Data: b})
	}
	c.Handle(t30.Event{Kind: t30.EventCarrierDown})
}

// Advance moves the clock d forward. Each session deadline reached on the
// way fires at its own time, in order.
func (c *Conversation) Advance(d time.Duration) {
	c.t.Helper()
	end := c.now.Add(d)
	for i := 0; ; i++ {
		dl, ok := c.S.Deadline()
		if !ok || dl.After(end) {
			break
		}
		if i > 10000 {
			c.t.Fatalf("t30test: deadlines do not advance\n%s", c.Trace())
		}
		c.now = dl
		c.log = append(c.log, fmt.Sprintf("%7.3fs timer", c.Elapsed().Seconds()))
		c.take(c.S.Tick(c.now))
	}
	c.now = end
}

func (c *Conversation) next(what string) t30.Action {
	c.t.Helper()
	if len(c.out) == 0 {
		c.t.Fatalf("%s: the session sent nothing (at %v)\n%s", what, c.Elapsed(), c.Trace())
	}
	a := c.out[0]
	c.out = c.out[1:]
	return a
}

// done completes a send as the modem would.
func (c *Conversation) done(a t30.Action) {
	if a.Kind != t30.ActionHangup {
		c.Handle(t30.Event{Kind: t30.EventSendDone})
	}
}

// Want checks that the session's next send is a burst of frames with
// exactly these control fields, in order, completes it and returns the
// frames (to feed another Conversation, say). what says in words what the
// step means (it is in the failure message).
func (c *Conversation) Want(what string, fcfs ...t30.FCF) []t30.Frame {
	c.t.Helper()
	a := c.next(what)
	var got []t30.FCF
	for _, f := range a.Frames {
		got = append(got, f.FCF)
	}
	if a.Kind != t30.ActionSendFrames || !slices.Equal(got, fcfs) {
		c.t.Fatalf("%s: sent %s, want frames %v (at %v)\n%s", what, a, fcfs, c.Elapsed(), c.Trace())
	}
	c.done(a)
	return a.Frames
}

// WantAction checks that the next send is of kind k, completes it and
// returns it.
func (c *Conversation) WantAction(what string, k t30.ActionKind) t30.Action {
	c.t.Helper()
	a := c.next(what)
	if a.Kind != k {
		c.t.Fatalf("%s: sent %s, want %s (at %v)\n%s", what, a, k, c.Elapsed(), c.Trace())
	}
	c.done(a)
	return a
}

// WantTone checks that the next send is the tone.
func (c *Conversation) WantTone(what string, tone t30.Tone) {
	c.t.Helper()
	if a := c.WantAction(what, t30.ActionSendTone); a.Tone != tone {
		c.t.Fatalf("%s: sent %s, want %s\n%s", what, a, tone, c.Trace())
	}
}

// WantQuiet checks that the session has sent nothing unchecked.
func (c *Conversation) WantQuiet(what string) {
	c.t.Helper()
	if len(c.out) > 0 {
		c.t.Fatalf("%s: sent %s, want nothing (at %v)\n%s", what, c.out[0], c.Elapsed(), c.Trace())
	}
}

// WantEnd checks that the session has ended (after any DCN, which it
// checks and completes, and its hang-up) with result r.
func (c *Conversation) WantEnd(what string, r t30.Result) {
	c.t.Helper()
	for len(c.out) > 0 {
		a := c.next(what)
		switch {
		case a.Kind == t30.ActionHangup:
		case a.Kind == t30.ActionSendFrames && len(a.Frames) == 1 && a.Frames[0].FCF == t30.FCFDCN:
			c.done(a)
		default:
			c.t.Fatalf("%s: sent %s, want DCN or the end (at %v)\n%s", what, a, c.Elapsed(), c.Trace())
		}
	}
	if !c.S.Done() || c.S.Result() != r {
		c.t.Fatalf("%s: done %v result %v, want %v (at %v)\n%s", what, c.S.Done(), c.S.Result(), r, c.Elapsed(), c.Trace())
	}
}

// Trace is what happened so far, one line a step, for failure messages.
func (c *Conversation) Trace() string { return strings.Join(c.log, "\n") }

// DCS returns the DCS burst a transmitter sends to command mode m.
func DCS(m t30.Mode) t30.Frame {
	f, err := m.DCS().Frame()
	if err != nil {
		panic(fmt.Sprintf("t30test: DCS for %v: %v", m, err))
	}
	return f
}

// DIS returns the DIS frame of capabilities caps.
func DIS(caps t30.Capabilities) t30.Frame { return caps.DIS().Frame(false) }

// Frame returns a frame with no FIF (CFR, MCF, MPS, EOP, DCN ...).
func Frame(fcf t30.FCF) t30.Frame { return t30.NewFrame(fcf, false, true) }
