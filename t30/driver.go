package t30

import (
	"context"
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
// result. It owns s and m for the duration: one goroutine, selecting on the
// modem's events, the session's deadline and ctx. Cancelling ctx aborts the
// call (DCN, then ResultLocalAbort); a modem error or a closed event channel
// ends it as a hang-up. Run always returns once the session is done: the
// session's timers end every call.
func Run(ctx context.Context, s *Session, m Modem, clk Clock) Result {
	if clk == nil {
		clk = clock.Real()
	}
	events := m.Events()
	done := ctx.Done()
	acts := s.Start(clk.Now())
	for {
		for len(acts) > 0 {
			var err error
			for _, a := range acts {
				if err = execute(m, a); err != nil {
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
		if d, ok := s.Deadline(); ok {
			timer = clk.NewTimer(d.Sub(clk.Now()))
			tc = timer.C()
		}
		select {
		case ev, ok := <-events:
			if !ok {
				events = nil
				ev = Event{Kind: EventHangup}
			}
			acts = s.Handle(clk.Now(), ev)
		case <-tc:
			acts = s.Tick(clk.Now())
		case <-done:
			done = nil
			acts = s.Handle(clk.Now(), Event{Kind: EventAbort})
		}
		if timer != nil {
			timer.Stop()
		}
	}
}

func execute(m Modem, a Action) error {
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
	case ActionReceive:
		return m.Receive(a.Speed)
	case ActionHangup:
		return m.Hangup()
	}
	return nil
}
