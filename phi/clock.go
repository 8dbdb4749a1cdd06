package phi

import "time"

// Clock supplies the current time. Every retention, expiry, lockout and
// audit timestamp in phi reads a Clock so tests are deterministic.
type Clock interface {
	Now() time.Time
}

// ClockFunc adapts a function to Clock.
type ClockFunc func() time.Time

// Now returns f().
func (f ClockFunc) Now() time.Time { return f() }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// SystemClock is the wall clock.
var SystemClock Clock = systemClock{}

func clockOr(c Clock) Clock {
	if c == nil {
		return SystemClock
	}
	return c
}
