package clock

import (
	"strings"
	"testing"
	"time"
)

func TestFake(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f := NewFake(t0)
	a := f.NewTimer(2 * time.Second)
	b := f.NewTimer(time.Second)
	c := f.NewTimer(3 * time.Second)
	if !c.Stop() || c.Stop() {
		t.Fatal("Stop")
	}
	if got := f.Next(); !got.Equal(t0.Add(time.Second)) {
		t.Fatalf("Next %v", got)
	}
	f.Advance(1500 * time.Millisecond)
	select {
	case at := <-b.C():
		if !at.Equal(t0.Add(time.Second)) {
			t.Fatalf("b fired at %v", at)
		}
	default:
		t.Fatal("b did not fire")
	}
	select {
	case <-a.C():
		t.Fatal("a fired early")
	default:
	}
	f.Advance(time.Second)
	<-a.C()
	if f.Pending() != 0 || !f.Now().Equal(t0.Add(2500*time.Millisecond)) {
		t.Fatalf("pending %d now %v", f.Pending(), f.Now())
	}
	z := f.NewTimer(0)
	<-z.C()
	r := Real()
	rt := r.NewTimer(time.Millisecond)
	<-rt.C()
	if r.Now().IsZero() {
		t.Fatal("real clock")
	}
}

func TestFakeAfterFunc(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f := NewFake(t0)
	var got []string
	f.AfterFunc(2*time.Second, func() { got = append(got, "b") })
	f.AfterFunc(time.Second, func() {
		got = append(got, "a")
		// A timer made from a callback, due within the same Advance,
		// fires in that Advance, after the ones due earlier.
		f.AfterFunc(1500*time.Millisecond, func() { got = append(got, "c") })
	})
	f.AfterFunc(2*time.Second, func() { got = append(got, "b2") })
	stopped := f.AfterFunc(time.Second, func() { got = append(got, "never") })
	if !stopped.Stop() {
		t.Fatal("Stop")
	}
	ch := f.NewTimer(2 * time.Second)
	f.Advance(3 * time.Second)
	if want := "a b b2 c"; strings.Join(got, " ") != want {
		t.Fatalf("fired %q, want %q", got, want)
	}
	if at := <-ch.C(); !at.Equal(t0.Add(2 * time.Second)) {
		t.Fatalf("channel timer at %v", at)
	}
	ran := false
	f.AfterFunc(0, func() { ran = true })
	if !ran || f.Pending() != 0 {
		t.Fatal("AfterFunc(0)")
	}
}

// onlyTimers is a Clock without AfterFunc of its own.
type onlyTimers struct{ *Fake }

func (o onlyTimers) NewTimer(d time.Duration) Timer { return o.Fake.NewTimer(d) }

func TestAfterFuncOnAnyClock(t *testing.T) {
	f := NewFake(time.Unix(0, 0))
	c := onlyTimers{f}
	var _ Clock = c
	done := make(chan struct{})
	AfterFunc(struct{ Clock }{c}, time.Second, func() { close(done) })
	stopped := AfterFunc(struct{ Clock }{c}, time.Second, func() { t.Error("stopped timer ran") })
	if !stopped.Stop() {
		t.Fatal("Stop")
	}
	for f.Pending() < 1 {
		time.Sleep(time.Millisecond)
	}
	f.Advance(time.Second)
	<-done
	r := make(chan struct{})
	AfterFunc(Real(), time.Millisecond, func() { close(r) })
	<-r
}
