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

// TestFakeClockDrivesDelay runs an impairment's delay line on faxkit's
// fake clock, as a whole-call test does: datagrams come out when the
// clock passes their due time, in the goroutine that moves it.
func TestFakeClockDrivesDelay(t *testing.T) {
	checkGoroutines(t)
	fake := clock.NewFake(time.Unix(0, 0))
	var mu sync.Mutex
	var got []byte
	s := newStage(Impairment{Delay: 40 * time.Millisecond}, fake, func(p []byte, _ net.Addr) {
		mu.Lock()
		got = append(got, p...)
		mu.Unlock()
	})
	s.submit([]byte{1}, nil)
	fake.Advance(20 * time.Millisecond)
	s.submit([]byte{2}, nil)
	fake.Advance(19 * time.Millisecond)
	assert.Empty(t, got)
	fake.Advance(time.Millisecond)
	assert.Equal(t, []byte{1}, got)
	fake.Advance(20 * time.Millisecond)
	assert.Equal(t, []byte{1, 2}, got)
	s.close()
	assert.Zero(t, fake.Pending())
}

// onlyTimers is a clock without AfterFunc of its own (a user's clock with
// channel timers): the delay line still runs on it, a goroutine per
// pending timer.
type onlyTimers struct{ f *clock.Fake }

func (o onlyTimers) Now() time.Time                       { return o.f.Now() }
func (o onlyTimers) NewTimer(d time.Duration) clock.Timer { return o.f.NewTimer(d) }

func TestChannelTimerClockDrivesDelay(t *testing.T) {
	checkGoroutines(t)
	fake := clock.NewFake(time.Unix(0, 0))
	var mu sync.Mutex
	var got []byte
	s := newStage(Impairment{Delay: 40 * time.Millisecond}, onlyTimers{fake}, func(p []byte, _ net.Addr) {
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
	for fake.Pending() == 0 { // the re-armed timer for datagram 2
		time.Sleep(time.Millisecond)
	}
	fake.Advance(20 * time.Millisecond)
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 2 },
		5*time.Second, time.Millisecond)
	assert.Equal(t, []byte{1, 2}, got)
	s.close()
}
