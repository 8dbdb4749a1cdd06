package t38

import (
	"fmt"
	"hash"
	"hash/fnv"
	"math/rand/v2"
	"time"

	"github.com/faxkit/faxkit/t30"
)

// A simulated call: two T.30 sessions, each over a terminal core, joined
// by a seeded lossy link, all on one virtual clock and in one goroutine.
// It is a discrete-event simulation of the pure cores: it jumps from one
// deadline to the next, so a paced call costs CPU time only, and it paces
// exactly like real time (every packet leaves when the core schedules it,
// never late). The same seed gives the same packets.

// simLoss is one direction's loss: independent loss and/or the
// Gilbert-Elliott two-state model (lossless good state, lossy bad state).
type simLoss struct {
	P          float64 // independent loss probability
	GEp, GEr   float64 // Gilbert-Elliott: good→bad and bad→good per datagram
	Seed       uint64
	Latency    time.Duration // one-way delay; default 10 ms
	rng        *rand.Rand
	bad        bool
	sent, lost int
}

func (l *simLoss) drop() bool {
	if l.rng == nil {
		l.rng = rand.New(rand.NewPCG(l.Seed, 0x7438))
	}
	l.sent++
	lost := false
	if l.GEp > 0 {
		if l.bad {
			if l.rng.Float64() < l.GEr {
				l.bad = false
			}
		} else if l.rng.Float64() < l.GEp {
			l.bad = true
		}
		lost = l.bad
	}
	if l.P > 0 && l.rng.Float64() < l.P {
		lost = true
	}
	if lost {
		l.lost++
	}
	return lost
}

type simPacket struct {
	at time.Time
	b  []byte
}

// simEnd is one side: a session on a core.
type simEnd struct {
	name  string
	sess  *t30.Session
	core  *core
	cfg   TerminalConfig
	res   t30.Result
	done  bool
	link  *simLoss    // the direction this end sends into
	queue []simPacket // in flight towards the other end
	hash  hash.Hash64 // of every datagram this end sent, with its time
}

func newSimEnd(name string, sc t30.Config, tc TerminalConfig, link *simLoss) (*simEnd, error) {
	if tc.Clock == nil {
		tc.Clock = nil // the core reads no clock
	}
	if err := tc.fill(); err != nil {
		return nil, err
	}
	sess, err := t30.NewSession(sc)
	if err != nil {
		return nil, err
	}
	e := &simEnd{name: name, sess: sess, cfg: tc, link: link, hash: fnv.New64a()}
	e.core, err = newCore(&e.cfg)
	if err != nil {
		return nil, err
	}
	if link.Latency == 0 {
		link.Latency = 10 * time.Millisecond
	}
	return e, nil
}

// act carries out the session's actions on the core, as t30.Run does on
// a Terminal.
func (e *simEnd) act(now time.Time, acts []t30.Action) {
	for len(acts) > 0 {
		a := acts[0]
		acts = acts[1:]
		var j txJob
		if a.Preempt {
			e.core.enqueue(now, txJob{kind: jobPreempt})
		}
		switch a.Kind {
		case t30.ActionSendTone:
			j = txJob{kind: jobTone, tone: a.Tone}
		case t30.ActionSendFrames:
			frames := make([][]byte, len(a.Frames))
			for i, f := range a.Frames {
				b, err := f.MarshalBinary()
				if err != nil {
					acts = append(acts, e.sess.Handle(now, t30.Event{Kind: t30.EventHangup})...)
					continue
				}
				frames[i] = b
			}
			var err error
			if j, err = framesJob(a.Speed, frames); err != nil {
				acts = append(acts, e.sess.Handle(now, t30.Event{Kind: t30.EventHangup})...)
				continue
			}
		case t30.ActionSendTCF:
			j = txJob{kind: jobTCF, speed: a.Speed, dur: a.Duration}
		case t30.ActionSendImage:
			j = txJob{kind: jobImage, speed: a.Speed, data: a.Data}
		case t30.ActionHangup:
			j = txJob{kind: jobHangup}
		default:
			continue
		}
		e.core.enqueue(now, j)
	}
	if !e.done && e.sess.Done() {
		e.done, e.res = true, e.sess.Result()
	}
}

// step runs the core at now, puts what it sent on the link and hands its
// events to the session.
func (e *simEnd) step(now time.Time) {
	e.core.step(now)
	out := &e.core.out
	for i := 0; i < out.Len(); i++ {
		p := out.At(i)
		fmt.Fprintf(e.hash, "%d:%x;", now.UnixNano(), p)
		e.core.stats.IFPSent++
		if e.link.drop() {
			continue
		}
		e.queue = append(e.queue, simPacket{at: now.Add(e.link.Latency), b: append([]byte(nil), p...)})
	}
	out.reset()
	if e.core.tx.sender != nil {
		e.core.stats.Sender = e.core.tx.sender.Stats()
	}
	for len(e.core.events) > 0 {
		evs := e.core.events
		e.core.events = nil
		for _, ev := range evs {
			if e.done {
				break
			}
			e.act(now, e.sess.Handle(now, ev))
		}
	}
	if d, ok := e.sess.Deadline(); ok && !e.done && !now.Before(d) {
		e.act(now, e.sess.Tick(now))
	}
}

// next is the earliest time this end has something to do.
func (e *simEnd) next() (t time.Time, ok bool) {
	set := func(d time.Time) {
		if !ok || d.Before(t) {
			t, ok = d, true
		}
	}
	if d, k := e.core.deadline(); k {
		set(d)
	}
	if d, k := e.sess.Deadline(); k && !e.done {
		set(d)
	}
	if len(e.queue) > 0 {
		set(e.queue[0].at)
	}
	return t, ok
}

// simCall runs a and b (a calls) until both sessions are done and both
// cores have sent what they queued, or until limit of call time.
func simCall(a, b *simEnd, limit time.Duration) time.Duration {
	start := time.Unix(1_700_000_000, 0)
	now := start
	a.act(now, a.sess.Start(now))
	b.act(now, b.sess.Start(now))
	ends := [2]*simEnd{a, b}
	for now.Sub(start) < limit {
		for i, e := range ends {
			other := ends[1-i]
			for len(e.queue) > 0 && !e.queue[0].at.After(now) {
				other.core.receive(now, e.queue[0].b)
				e.queue = e.queue[1:]
			}
		}
		for _, e := range ends {
			e.step(now)
		}
		if a.done && b.done && a.core.idle() && b.core.idle() && len(a.queue) == 0 && len(b.queue) == 0 {
			break
		}
		var t time.Time
		ok := false
		for _, e := range ends {
			if d, k := e.next(); k && (!ok || d.Before(t)) {
				t, ok = d, true
			}
		}
		if !ok {
			break // nothing will ever happen again
		}
		if t.After(now) {
			now = t
		}
	}
	return now.Sub(start)
}
