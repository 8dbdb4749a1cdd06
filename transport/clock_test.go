package transport

import (
	"net"
	"sync"
	"testing"
	"time"

	"github.com/faxkit/faxkit/internal/clock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestManualClockOrder(t *testing.T) {
	clk := NewManualClock(time.Unix(0, 0))
	var got []string
	var at []time.Duration
	add := func(name string, d time.Duration) Timer {
		return clk.AfterFunc(d, func() {
			got = append(got, name)
			at = append(at, clk.Now().Sub(time.Unix(0, 0)))
		})
	}
	add("c", 30*time.Millisecond)
	add("a", 10*time.Millisecond)
	add("b1", 20*time.Millisecond)
	add("b2", 20*time.Millisecond)
	stopped := add("x", 15*time.Millisecond)
	require.True(t, stopped.Stop())
	require.False(t, stopped.Stop())
	clk.Advance(25 * time.Millisecond)
	assert.Equal(t, []string{"a", "b1", "b2"}, got, "deadline order, FIFO on ties")
	assert.Equal(t, []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 20 * time.Millisecond}, at,
		"Now reads each timer's deadline while it runs")
	assert.Equal(t, 1, clk.Pending())
	clk.Advance(5 * time.Millisecond)
	assert.Equal(t, []string{"a", "b1", "b2", "c"}, got)
	assert.Equal(t, time.Unix(0, 0).Add(30*time.Millisecond), clk.Now())
}

// TestChannelClock drives an impairment delay from faxkit's internal fake
// clock, as a whole-call test would.
func TestChannelClock(t *testing.T) {
	checkGoroutines(t)
	fake := clock.NewFake(time.Unix(0, 0))
	clk := ChannelClock(fake.Now, func(d time.Duration) (<-chan time.Time, func() bool) {
		tm := fake.NewTimer(d)
		return tm.C(), tm.Stop
	})
	var mu sync.Mutex
	var got []byte
	s := newStage(Impairment{Delay: 40 * time.Millisecond}, clk, func(p []byte, _ net.Addr) {
		mu.Lock()
		got = append(got, p...)
		mu.Unlock()
	})
	s.submit([]byte{1}, nil)
	fake.Advance(20 * time.Millisecond)
	s.submit([]byte{2}, nil)
	fake.Advance(20 * time.Millisecond)
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 1 },
		5*time.Second, time.Millisecond)
	fake.Advance(20 * time.Millisecond)
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 2 },
		5*time.Second, time.Millisecond)
	assert.Equal(t, []byte{1, 2}, got)

	// A stopped timer's goroutine exits.
	tm := clk.AfterFunc(time.Hour, func() { t.Error("stopped timer fired") })
	assert.True(t, tm.Stop())
	assert.False(t, tm.Stop())
	s.close()
}
