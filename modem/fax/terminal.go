package fax

import (
	"time"

	"github.com/faxkit/faxkit/t30"
)

// Terminal runs a t30.Session over a Core in lockstep with the samples:
// each Process call is one block of line time, and the session sees the
// time as the sample count (Start plus samples / 8 kHz). It is the pure,
// deterministic way to hold an audio fax call: a test, a simulation or a
// media loop that already runs on the sample clock drives it directly,
// with no goroutine and no timer. (Modem is the t30.Modem for a
// t30.Driver on real time.)
type Terminal struct {
	s     *t30.Session
	c     *Core
	start time.Time
	now   time.Time
	began bool
	// OnSignal, if set, sees the events a t30.DriverConfig.OnSignal would.
	OnSignal func(t30.Event)
}

// NewTerminal returns a terminal running s over c from start.
func NewTerminal(s *t30.Session, c *Core, start time.Time) *Terminal {
	return &Terminal{s: s, c: c, start: start, now: start}
}

// Core returns the modem core.
func (t *Terminal) Core() *Core { return t.c }

// Session returns the session.
func (t *Terminal) Session() *t30.Session { return t.s }

// Now returns the terminal's line time.
func (t *Terminal) Now() time.Time { return t.now }

// Done reports whether the session has ended.
func (t *Terminal) Done() bool { return t.s.Done() }

// Process runs one block: the session's due timers, the modem on rx and
// tx (rx nil: the block was lost, see Core.Process), and the session on
// what the modem heard or finished. After the call ends it sends silence.
func (t *Terminal) Process(rx, tx []int16) {
	if !t.began {
		t.began = true
		t.exec(t.s.Start(t.now))
	}
	if dl, ok := t.s.Deadline(); ok && !t.now.Before(dl) {
		t.exec(t.s.Tick(t.now))
	}
	t.c.Process(rx, tx)
	t.now = t.start.Add(time.Duration(t.c.stats.Samples) * time.Second / SampleRate)
	for _, ev := range t.c.Poll() {
		if t.s.Done() {
			break
		}
		switch ev.Kind {
		case t30.EventCNG, t30.EventCED, t30.EventSignal, t30.EventCarrierUp:
			if t.OnSignal != nil {
				t.OnSignal(ev)
			}
		}
		t.exec(t.s.Handle(t.now, ev))
	}
}

// exec carries out the session's actions on the core. An error from the
// core (a hang-up, an unavailable speed) is reported to the session as
// the line going away, as t30.Driver does.
func (t *Terminal) exec(acts []t30.Action) {
	for len(acts) > 0 {
		var err error
		for _, a := range acts {
			if err = t.do(a); err != nil {
				break
			}
		}
		acts = nil
		if err != nil && !t.s.Done() {
			acts = t.s.Handle(t.now, t30.Event{Kind: t30.EventHangup})
		}
	}
}

func (t *Terminal) do(a t30.Action) error {
	c := t.c
	switch a.Kind {
	case t30.ActionSendTone:
		if a.Preempt {
			_ = c.Preempt()
		}
		return c.SendTone(a.Tone)
	case t30.ActionSendFrames:
		if a.Preempt {
			_ = c.Preempt()
		}
		frames := make([][]byte, len(a.Frames))
		for i, f := range a.Frames {
			b, err := f.MarshalBinary()
			if err != nil {
				return err
			}
			frames[i] = b
		}
		return c.SendFrames(a.Speed, frames)
	case t30.ActionSendTCF:
		return c.SendTCF(a.Speed, a.Duration)
	case t30.ActionSendImage:
		return c.SendImage(a.Speed, a.Data)
	case t30.ActionReceive:
		return c.Receive(a.Speed)
	case t30.ActionHangup:
		return c.Hangup()
	}
	return nil
}
