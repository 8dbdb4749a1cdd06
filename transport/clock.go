package transport

import (
	"time"

	"github.com/faxkit/faxkit/internal/clock"
)

// Everything in this package that waits (the impairment delay line, the
// reorder hold-back, idle timeouts) or stamps (RTP timestamps) reads a
// clock.Clock, faxkit's one clock interface (t30.Clock is its name outside
// this module). Config fields default to the system clock; tests pass a
// *clock.Fake so that delays cost no wall time and runs are deterministic:
// a Fake runs the callbacks of this package in the goroutine that advances
// it, in deadline order.

func clockOrReal(c clock.Clock) clock.Clock {
	if c == nil {
		return clock.Real()
	}
	return c
}

// afterFunc calls f once d has passed on c, never from inside this call:
// a Fake runs an AfterFunc of d <= 0 at once, and the callers here hold a
// lock that f takes.
func afterFunc(c clock.Clock, d time.Duration, f func()) clock.Timer {
	return clock.AfterFunc(c, max(d, time.Nanosecond), f)
}
