package t38

import (
	"log/slog"
	"time"

	"github.com/faxkit/faxkit/t30"
)

// core is the T.38 terminal's protocol state: the transmit schedule
// (indicators, HDLC chunking, pacing, end-of-signal repetition, the
// turnaround after the far end's signal) and receive reassembly. It is a
// deterministic state machine: it takes signals to send, received
// datagrams and the time, and leaves datagrams to write (out), events
// for the T.30 session (events) and its next deadline. It does no I/O,
// starts no goroutine and reads no clock; the Terminal's owner goroutine
// drives it, and tests can drive it directly.
//
//	c.enqueue(now, job)      // a signal from the session
//	c.receive(now, datagram) // a datagram from the far end
//	c.step(now)              // release what is due; then
//	c.out, c.events          // write these, deliver those, and
//	c.deadline()             // call step again by then
type core struct {
	cfg    *TerminalConfig
	log    *slog.Logger
	stats  TerminalStats
	tx     txState
	rx     rxState
	out    outBatch
	events []t30.Event
	hungup bool // the session hung up: no more events for it
}

// outBatch is a run of datagrams in one buffer: datagram i is
// buf[end[i-1]:end[i]].
type outBatch struct {
	buf []byte
	end []int
}

func (b *outBatch) add(p []byte) {
	b.buf = append(b.buf, p...)
	b.end = append(b.end, len(b.buf))
}

// Len is the number of datagrams.
func (b *outBatch) Len() int { return len(b.end) }

// At returns datagram i.
func (b *outBatch) At(i int) []byte {
	lo := 0
	if i > 0 {
		lo = b.end[i-1]
	}
	return b.buf[lo:b.end[i]]
}

func (b *outBatch) reset() { b.buf, b.end = b.buf[:0], b.end[:0] }

// maxBatch bounds the datagrams one step releases, so that an unpaced
// page (thousands of packets due at once) leaves the owner room to read
// between batches.
const maxBatch = 64

func newCore(cfg *TerminalConfig) (*core, error) {
	c := &core{cfg: cfg, log: cfg.Logger}
	if err := c.tx.init(cfg); err != nil {
		return nil, err
	}
	if err := c.rx.init(c); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *core) emit(ev t30.Event) {
	if c.hungup {
		return
	}
	c.events = append(c.events, ev)
}

// enqueue takes a signal from the session (or the hangup).
func (c *core) enqueue(now time.Time, j txJob) {
	if c.hungup {
		return
	}
	if j.kind == jobHangup {
		c.hungup = true
		c.events = c.events[:0]
	}
	c.tx.enqueue(j)
}

// receive takes a datagram from the far end.
func (c *core) receive(now time.Time, b []byte) { c.rx.push(now, b) }

// endpointGone: the endpoint failed for good (reading or writing).
func (c *core) endpointGone(now time.Time) {
	if c.tx.dead {
		return
	}
	c.tx.dead = true
	c.rx.hangup(now)
}

// step releases everything due at now: the quiet flush, the start of the
// next signal, its packets (at most maxBatch datagrams; more is reported
// by deadline being now) and EventSendDone when a signal is over.
func (c *core) step(now time.Time) {
	if t := c.rx.flushAt(); !t.IsZero() && !now.Before(t) {
		c.rx.flush(now)
	}
	x := &c.tx
	for c.out.Len() < maxBatch {
		if !x.active {
			if len(x.queue) == 0 || x.done {
				return
			}
			if x.queue[0].kind == jobHangup {
				x.done = true
				return
			}
			if !x.waiting {
				x.waiting, x.waitFrom = true, now
			}
			if now.Before(x.readyAt(&c.rx)) {
				return
			}
			x.begin(now, c)
		}
		for x.next < len(x.sched) && c.out.Len() < maxBatch {
			if x.paced && now.Before(x.due()) {
				return
			}
			x.release(now, c)
		}
		if x.next < len(x.sched) {
			return
		}
		x.finish()
		c.emit(t30.Event{Kind: t30.EventSendDone})
	}
}

// deadline is when step has something to do next; ok is false when it
// waits only for input.
func (c *core) deadline() (t time.Time, ok bool) {
	set := func(d time.Time) {
		if !ok || d.Before(t) {
			t, ok = d, true
		}
	}
	if d := c.rx.flushAt(); !d.IsZero() {
		set(d)
	}
	x := &c.tx
	switch {
	case x.active && x.next < len(x.sched):
		if x.paced {
			set(x.due())
		} else {
			set(time.Time{}) // at once
		}
	case x.active:
		set(time.Time{})
	case len(x.queue) > 0 && !x.done:
		if !x.waiting {
			set(time.Time{})
		} else {
			set(x.readyAt(&c.rx))
		}
	}
	return t, ok
}

// idle reports that everything queued before the hangup has been sent.
func (c *core) idle() bool { return c.tx.done || (c.hungup && len(c.tx.queue) == 0) }

// paced records how late a paced packet went out against its schedule.
func (c *core) paced(late time.Duration) {
	late = max(late, 0)
	s := &c.stats
	s.Paced++
	s.PacingTotal += late
	s.PacingMax = max(s.PacingMax, late)
	i := 0
	for i < len(PacingBuckets) && late > PacingBuckets[i] {
		i++
	}
	s.PacingLate[i]++
	if late > 20*time.Millisecond {
		s.PacingErrors++
	}
}
