package phi

import "github.com/faxkit/faxkit/internal/clock"

// Time comes from faxkit's one clock interface (internal/clock), as in the
// rest of the module: StoreConfig.Clock, AuditConfig.Clock,
// auth.Config.Clock and NewPolicy take a clock.Clock, nil meaning the
// system clock; tests pass a *clock.Fake.

func clockOr(c clock.Clock) clock.Clock {
	if c == nil {
		return clock.Real()
	}
	return c
}
