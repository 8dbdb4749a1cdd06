package clock

import (
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
