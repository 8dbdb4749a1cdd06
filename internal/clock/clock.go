// Package clock is faxkit's one time source interface: the injectable
// clock that call drivers, pacers, transports and timers read, so that
// tests can run whole calls on virtual time. Protocol engines (t30's
// Session) take the time as a parameter and need no clock at all.
//
// Clock has two ways to wait: NewTimer, a channel for a goroutine that
// selects (the call drivers), and AfterFunc (the package function), a
// callback for code without a goroutine of its own (delay lines, idle
// timeouts). Real is the system clock; Fake moves only when a test says
// so and fires both kinds of timer in deadline order.
package clock

import (
	"sort"
	"sync"
	"time"
)

// Timer is a one-shot timer.
type Timer interface {
	// C delivers the time the timer fired; nil for an AfterFunc timer.
	C() <-chan time.Time
	// Stop prevents the timer from firing; it reports whether it was pending.
	Stop() bool
}

// Clock tells the time and makes timers.
type Clock interface {
	Now() time.Time
	NewTimer(d time.Duration) Timer
}

// AfterFuncClock is a Clock that can also call a function when a time
// has passed, without a goroutine waiting for it. Real and *Fake are.
type AfterFuncClock interface {
	Clock
	AfterFunc(d time.Duration, f func()) Timer
}

// AfterFunc calls f once d has passed on c: through c's own AfterFunc
// when it has one (on a Fake, f runs inside Advance or Set, in deadline
// order), otherwise in a goroutine waiting on c.NewTimer. Stopping the
// returned Timer before then prevents the call.
func AfterFunc(c Clock, d time.Duration, f func()) Timer {
	if a, ok := c.(AfterFuncClock); ok {
		return a.AfterFunc(d, f)
	}
	t := c.NewTimer(d)
	w := &waitTimer{t: t, stop: make(chan struct{})}
	go func() {
		select {
		case <-t.C():
			f()
		case <-w.stop:
		}
	}()
	return w
}

// waitTimer is AfterFunc on a clock without one of its own.
type waitTimer struct {
	t       Timer
	stop    chan struct{}
	stopped bool
}

func (w *waitTimer) C() <-chan time.Time { return nil }

func (w *waitTimer) Stop() bool {
	ok := w.t.Stop()
	if ok && !w.stopped {
		w.stopped = true
		close(w.stop)
	}
	return ok
}

// Real returns the system clock.
func Real() AfterFuncClock { return realClock{} }

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

func (realClock) AfterFunc(d time.Duration, f func()) Timer {
	return realTimer{time.AfterFunc(d, f)}
}

type realTimer struct{ t *time.Timer }

func (t realTimer) C() <-chan time.Time { return t.t.C }
func (t realTimer) Stop() bool          { return t.t.Stop() }

// Fake is a manual clock for tests: time moves only when Advance or Set is
// called, firing the timers that come due in deadline order (in creation
// order for equal deadlines): a NewTimer timer by sending on its channel,
// an AfterFunc timer by calling its function in the goroutine that moved
// the clock, without the clock's lock held (so the function may make new
// timers, but must not move the clock). It is safe for concurrent use.
type Fake struct {
	mu     sync.Mutex
	now    time.Time
	seq    uint64
	timers []*fakeTimer
	cond   *sync.Cond
}

// NewFake returns a fake clock reading start.
func NewFake(start time.Time) *Fake {
	f := &Fake{now: start}
	f.cond = sync.NewCond(&f.mu)
	return f
}

type fakeTimer struct {
	f    *Fake
	at   time.Time
	seq  uint64
	c    chan time.Time // nil for AfterFunc
	fn   func()
	done bool
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Stop() bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	was := !t.done
	t.done = true
	t.f.remove(t)
	return was
}

// Now returns the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// NewTimer returns a timer firing when the fake time reaches now+d.
func (f *Fake) NewTimer(d time.Duration) Timer {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := &fakeTimer{f: f, at: f.now.Add(d), c: make(chan time.Time, 1)}
	if d <= 0 {
		t.done = true
		t.c <- f.now
		return t
	}
	f.add(t)
	return t
}

// AfterFunc calls fn once the fake time reaches now+d, from the goroutine
// that moves the clock there (at once, from this one, if d <= 0).
func (f *Fake) AfterFunc(d time.Duration, fn func()) Timer {
	f.mu.Lock()
	t := &fakeTimer{f: f, at: f.now.Add(d), fn: fn}
	if d <= 0 {
		t.done = true
		f.mu.Unlock()
		fn()
		return t
	}
	f.add(t)
	f.mu.Unlock()
	return t
}

func (f *Fake) add(t *fakeTimer) {
	f.seq++
	t.seq = f.seq
	f.timers = append(f.timers, t)
	f.cond.Broadcast()
}

func (f *Fake) remove(t *fakeTimer) {
	for i, x := range f.timers {
		if x == t {
			f.timers = append(f.timers[:i], f.timers[i+1:]...)
			return
		}
	}
}

// Advance moves the time forward by d, firing due timers in order.
func (f *Fake) Advance(d time.Duration) { f.Set(f.Now().Add(d)) }

// Set moves the time to t (never backwards), firing due timers in order.
func (f *Fake) Set(t time.Time) {
	f.mu.Lock()
	for {
		sort.Slice(f.timers, func(i, j int) bool {
			a, b := f.timers[i], f.timers[j]
			return a.at.Before(b.at) || a.at.Equal(b.at) && a.seq < b.seq
		})
		if len(f.timers) == 0 || f.timers[0].at.After(t) {
			break
		}
		x := f.timers[0]
		f.timers = f.timers[1:]
		x.done = true
		// The time reads each timer's deadline as it fires, so that a
		// callback's new timers count from then.
		if x.at.After(f.now) {
			f.now = x.at
		}
		if x.c != nil {
			x.c <- x.at
			continue
		}
		f.mu.Unlock()
		x.fn()
		f.mu.Lock()
	}
	if t.After(f.now) {
		f.now = t
	}
	f.mu.Unlock()
}

// Next blocks until at least one timer is pending and returns the earliest
// deadline. Tests use it to jump straight to the next thing that happens.
func (f *Fake) Next() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	for len(f.timers) == 0 {
		f.cond.Wait()
	}
	at := f.timers[0].at
	for _, t := range f.timers[1:] {
		if t.at.Before(at) {
			at = t.at
		}
	}
	return at
}

// Pending returns the number of pending timers.
func (f *Fake) Pending() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.timers)
}
