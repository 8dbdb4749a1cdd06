package t30

import (
	"context"
	"sync"
	"time"

	"github.com/faxkit/faxkit/internal/clock"
)

// Clock is what Run reads the time from; nil means the system clock.
// It is internal/clock.Clock, so faxkit's other packages and tests can pass
// their fake clocks.
type Clock = clock.Clock

// Timer is a Clock's timer.
type Timer = clock.Timer

// Run drives session s over modem m until the call ends and returns its
// result: NewDriver(s, m, &DriverConfig{Clock: clk}).Run(ctx). Cancelling
// ctx aborts the call (DCN, then ResultLocalAbort); a modem error or a
// closed event channel ends it as a hang-up. Run always returns once the
// session is done: the session's timers end every call.
func Run(ctx context.Context, s *Session, m Modem, clk Clock) Result {
	return NewDriver(s, m, &DriverConfig{Clock: clk}).Run(ctx)
}

// DriverConfig configures a Driver. The zero value (or nil) works.
type DriverConfig struct {
	// Clock is read for every event and timer; nil means the system clock.
	Clock Clock
	// OnSignal receives what the modem heard of the far end: EventCNG,
	// EventCED, EventSignal and EventCarrierUp (Speed SpeedNone: V.21
	// flags, a preamble; else the image modem's training). Call control
	// uses it to decide a media change (an audio call that hears CED or
	// V.21 flags moves to T.38). It is called on the driver goroutine
	// before the session sees the event and must not block; it may call
	// Driver.Handover. Nil discards.
	OnSignal func(Event)
	// OnHandover is called on the driver goroutine once the driver has
	// switched from old to new (see Driver.Handover). The old modem is no
	// longer used: closing it is the caller's business. Nil does nothing.
	OnHandover func(old, new Modem)
}

// A Driver carries out one Session over a Modem: the one goroutine (Run)
// that owns the session, selecting on the modem's events, the session's
// deadline, hand-over requests and the context (T.30 has no opinion on
// this; it is the x/net/quic shape). Its modem can be replaced mid-call
// (Handover), for a SIP re-INVITE that moves a call from audio to T.38.
type Driver struct {
	s   *Session
	m   Modem
	cfg DriverConfig

	mu      sync.Mutex
	next    Modem         // requested replacement, nil if none
	wake    chan struct{} // signalled (cap 1) when next is set
	sending int           // Send* given to m and not yet answered by EventSendDone
	listen  Speed         // the last Receive, repeated to a new modem
}

// NewDriver returns a driver for s over m; cfg may be nil.
func NewDriver(s *Session, m Modem, cfg *DriverConfig) *Driver {
	d := &Driver{s: s, m: m, wake: make(chan struct{}, 1)}
	if cfg != nil {
		d.cfg = *cfg
	}
	if d.cfg.Clock == nil {
		d.cfg.Clock = clock.Real()
	}
	return d
}

// Handover asks the driver to continue the call on m. It is safe to call
// from any goroutine, returns at once, and takes effect at the next clean
// point: when no signal is being sent on the current modem (every Send*
// answered by its EventSendDone), i.e. between one burst and the next. If
// the current modem closes its event channel first, the switch happens
// then (the signals it never finished count as sent). From then on the
// driver reads only m's events and tells m what the session listens for;
// what the old modem still receives is dropped, which T.30's repetitions
// cover as they cover any loss. A later Handover replaces an earlier one
// that has not taken effect.
func (d *Driver) Handover(m Modem) {
	d.mu.Lock()
	d.next = m
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Modem returns the modem the driver is using now.
func (d *Driver) Modem() Modem {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.m
}

// Run drives the session until the call ends and returns its result.
// Cancelling ctx aborts the call (DCN, sent preempting, then
// ResultLocalAbort); a modem error or a closed event channel (with no
// hand-over pending) ends it as a hang-up. Call Run once.
func (d *Driver) Run(ctx context.Context) Result {
	clk := d.cfg.Clock
	s := d.s
	events := d.m.Events()
	done := ctx.Done()
	acts := s.Start(clk.Now())
	for {
		var more []Action
		events, more = d.maybeHandover(events, false)
		acts = append(acts, more...)
		for len(acts) > 0 {
			var err error
			for _, a := range acts {
				if err = d.execute(a); err != nil {
					break
				}
			}
			acts = nil
			if err != nil {
				acts = s.Handle(clk.Now(), Event{Kind: EventHangup})
			}
		}
		if s.Done() {
			return s.Result()
		}
		var tc <-chan time.Time
		var timer Timer
		if dl, ok := s.Deadline(); ok {
			timer = clk.NewTimer(dl.Sub(clk.Now()))
			tc = timer.C()
		}
		select {
		case ev, ok := <-events:
			if ok {
				acts = d.handle(ev)
				break
			}
			if events, acts = d.maybeHandover(events, true); events == nil {
				acts = s.Handle(clk.Now(), Event{Kind: EventHangup})
			}
		case <-tc:
			acts = s.Tick(clk.Now())
		case <-d.wake:
		case <-done:
			done = nil
			acts = s.Handle(clk.Now(), Event{Kind: EventAbort})
		}
		if timer != nil {
			timer.Stop()
		}
	}
}

// handle passes one modem event to the session (and OnSignal).
func (d *Driver) handle(ev Event) []Action {
	switch ev.Kind {
	case EventSendDone:
		if d.sending > 0 {
			d.sending--
		}
	case EventCNG, EventCED, EventSignal, EventCarrierUp:
		if d.cfg.OnSignal != nil {
			d.cfg.OnSignal(ev)
		}
	}
	return d.s.Handle(d.cfg.Clock.Now(), ev)
}

// maybeHandover switches to a requested modem at a clean point (nothing
// being sent) or, when forced (the current modem's events ended), at once.
// It returns the event channel to read from (nil when forced with no
// replacement requested) and the session's actions, to carry out on the
// new modem.
func (d *Driver) maybeHandover(events <-chan Event, forced bool) (<-chan Event, []Action) {
	d.mu.Lock()
	next := d.next
	if next == nil || d.sending > 0 && !forced {
		d.mu.Unlock()
		if forced {
			return nil, nil
		}
		return events, nil
	}
	old := d.m
	d.m, d.next = next, nil
	d.mu.Unlock()
	var acts []Action
	// The old modem will never finish what it was sending: let the
	// session carry on as if it had.
	for ; d.sending > 0; d.sending-- {
		acts = append(acts, d.s.Handle(d.cfg.Clock.Now(), Event{Kind: EventSendDone})...)
	}
	if err := next.Receive(d.listen); err != nil {
		acts = append(acts, d.s.Handle(d.cfg.Clock.Now(), Event{Kind: EventHangup})...)
	}
	if d.cfg.OnHandover != nil {
		d.cfg.OnHandover(old, next)
	}
	return next.Events(), acts
}

func (d *Driver) execute(a Action) error {
	m := d.m
	switch a.Kind {
	case ActionSendTone, ActionSendFrames, ActionSendTCF, ActionSendImage:
		if p, ok := m.(Preempter); ok && a.Preempt && d.sending > 0 {
			if err := p.Preempt(); err != nil {
				return err
			}
		}
		if err := send(m, a); err != nil {
			return err
		}
		d.sending++
		return nil
	case ActionReceive:
		d.listen = a.Speed
		return m.Receive(a.Speed)
	case ActionHangup:
		return m.Hangup()
	}
	return nil
}

func send(m Modem, a Action) error {
	switch a.Kind {
	case ActionSendTone:
		return m.SendTone(a.Tone)
	case ActionSendFrames:
		frames := make([][]byte, len(a.Frames))
		for i, f := range a.Frames {
			b, err := f.MarshalBinary()
			if err != nil {
				return err
			}
			frames[i] = b
		}
		return m.SendFrames(a.Speed, frames)
	case ActionSendTCF:
		return m.SendTCF(a.Speed, a.Duration)
	case ActionSendImage:
		return m.SendImage(a.Speed, a.Data)
	}
	return nil
}
