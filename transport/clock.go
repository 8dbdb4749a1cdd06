package transport

import (
	"container/heap"
	"sync"
	"sync/atomic"
	"time"
)

// Clock is the time source of everything in this package that waits: the
// impairment delay line, reorder hold-back, idle timeouts and RTP timestamps.
// The zero value of every Config uses the system clock; tests pass a
// [ManualClock] so that delays cost no wall time and runs are deterministic.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// AfterFunc calls f in its own goroutine (or, for a ManualClock, in the
	// goroutine that advances the clock) once d has elapsed.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc call.
type Timer interface {
	// Stop prevents the call if it has not started; it reports whether it
	// did so.
	Stop() bool
}

// SystemClock is the wall clock: time.Now and time.AfterFunc.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// AfterFunc is time.AfterFunc.
func (SystemClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

func clockOrSystem(c Clock) Clock {
	if c == nil {
		return SystemClock{}
	}
	return c
}

// ManualClock is a Clock that moves only when told to. Timer functions run
// synchronously inside Advance, in deadline order (FIFO for equal
// deadlines), so they must not call Advance themselves. It is safe for
// concurrent use.
type ManualClock struct {
	mu     sync.Mutex
	now    time.Time
	seq    uint64
	timers manualHeap
}

// NewManualClock returns a clock reading start.
func NewManualClock(start time.Time) *ManualClock {
	return &ManualClock{now: start}
}

// Now returns the clock's current reading.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc schedules f to run when the clock has been advanced by d.
// A d <= 0 runs at the next Advance (even Advance(0)).
func (c *ManualClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &manualTimer{c: c, when: c.now.Add(d), seq: c.seq, f: f, index: -1}
	c.seq++
	heap.Push(&c.timers, t)
	return t
}

// Advance moves the clock forward by d, running every timer that falls due
// on the way at its own deadline (Now reads that deadline while it runs).
func (c *ManualClock) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	for len(c.timers) > 0 && !c.timers[0].when.After(end) {
		t := heap.Pop(&c.timers).(*manualTimer)
		if t.when.After(c.now) {
			c.now = t.when
		}
		c.mu.Unlock()
		t.f()
		c.mu.Lock()
	}
	c.now = end
	c.mu.Unlock()
}

// Pending returns the number of timers not yet fired or stopped.
func (c *ManualClock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

type manualTimer struct {
	c     *ManualClock
	when  time.Time
	seq   uint64
	f     func()
	index int
}

func (t *manualTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	if t.index < 0 {
		return false
	}
	heap.Remove(&t.c.timers, t.index)
	return true
}

type manualHeap []*manualTimer

func (h manualHeap) Len() int { return len(h) }
func (h manualHeap) Less(i, j int) bool {
	if h[i].when.Equal(h[j].when) {
		return h[i].seq < h[j].seq
	}
	return h[i].when.Before(h[j].when)
}
func (h manualHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *manualHeap) Push(x any) {
	t := x.(*manualTimer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *manualHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	t.index = -1
	*h = old[:len(old)-1]
	return t
}

// ChannelClock adapts a clock whose timers deliver on a channel (such as
// time.NewTimer, or the fake clock a whole-call test runs on) to Clock, so
// that impairment delays and idle timeouts follow the same time as the rest
// of a call. newTimer returns the timer's channel and its Stop function.
// Each pending AfterFunc holds one goroutine until it fires or is stopped.
func ChannelClock(now func() time.Time, newTimer func(d time.Duration) (<-chan time.Time, func() bool)) Clock {
	return channelClock{now: now, newTimer: newTimer}
}

type channelClock struct {
	now      func() time.Time
	newTimer func(time.Duration) (<-chan time.Time, func() bool)
}

func (c channelClock) Now() time.Time { return c.now() }

func (c channelClock) AfterFunc(d time.Duration, f func()) Timer {
	ch, stop := c.newTimer(d)
	t := &channelTimer{stop: stop, done: make(chan struct{})}
	go func() {
		select {
		case <-ch:
			if t.fired.CompareAndSwap(false, true) {
				f()
			}
		case <-t.done:
		}
	}()
	return t
}

type channelTimer struct {
	stop  func() bool
	done  chan struct{}
	fired atomic.Bool
	once  sync.Once
}

func (t *channelTimer) Stop() bool {
	if !t.fired.CompareAndSwap(false, true) {
		return false
	}
	t.stop()
	t.once.Do(func() { close(t.done) })
	return true
}
