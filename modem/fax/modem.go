package fax

import (
	"context"
	"sync"
	"time"

	"github.com/faxkit/faxkit/t30"
)

// Line is the audio path of a real-time call, one block at a time: an RTP
// stream (a jitter buffer's output and a packetiser), a sound card, a
// test's pipe. ReadBlock blocks until the next block is due and sets the
// call's pace; it reports whether the block was heard (false: lost, as a
// missing RTP packet, and rx is silence).
type Line interface {
	ReadBlock(rx []int16) (bool, error)
	WriteBlock(tx []int16) error
}

// Modem is the audio fax modem for a t30.Driver on real time: a Core
// behind a lock, whose events go out on a channel. Something must run its
// sample clock: Run over a Line, or the owner of the media calling
// Process every block.
//
// It implements t30.Modem and t30.Preempter.
type Modem struct {
	mu      sync.Mutex
	core    *Core
	pending []t30.Event
	wake    chan struct{}
	events  chan t30.Event
	done    chan struct{}
	once    sync.Once
}

var (
	_ t30.Modem     = (*Modem)(nil)
	_ t30.Preempter = (*Modem)(nil)
)

// NewModem returns a modem; cfg may be nil. Close it when the call is
// over (it has one goroutine, which forwards events).
func NewModem(cfg *Config) *Modem {
	m := &Modem{core: NewCore(cfg), wake: make(chan struct{}, 1), events: make(chan t30.Event), done: make(chan struct{})}
	go m.forward()
	return m
}

// forward moves queued events to the events channel in order, so that
// Process (on the media path) never waits for the driver.
func (m *Modem) forward() {
	defer close(m.events)
	for {
		m.mu.Lock()
		q := m.pending
		m.pending = nil
		m.mu.Unlock()
		for _, e := range q {
			select {
			case m.events <- e:
			case <-m.done:
				return
			}
		}
		select {
		case <-m.wake:
		case <-m.done:
			return
		}
	}
}

// Process runs one block: rx received (nil: lost), tx filled with what
// to send.
func (m *Modem) Process(rx, tx []int16) {
	m.mu.Lock()
	m.core.Process(rx, tx)
	ev := m.core.Poll()
	if len(ev) > 0 {
		for _, e := range ev {
			if e.Data != nil {
				e.Data = append([]byte(nil), e.Data...)
			}
			m.pending = append(m.pending, e)
		}
	}
	m.mu.Unlock()
	if len(ev) > 0 {
		select {
		case m.wake <- struct{}{}:
		default:
		}
	}
}

// BlockLener is a Line whose blocks are not BlockSize samples long (an
// RTPLine with a packet time other than 20 ms).
type BlockLener interface {
	BlockLen() int
}

// Run exchanges blocks with l until ctx ends, the modem is closed, or l
// fails; it returns the reason. The blocks are BlockSize samples, or
// l.BlockLen() if l has that method.
func (m *Modem) Run(ctx context.Context, l Line) error {
	n := BlockSize
	if b, ok := l.(BlockLener); ok && b.BlockLen() > 0 {
		n = b.BlockLen()
	}
	rx, tx := make([]int16, n), make([]int16, n)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-m.done:
			return ErrClosed
		default:
		}
		ok, err := l.ReadBlock(rx[:])
		if err != nil {
			return err
		}
		if ok {
			m.Process(rx[:], tx[:])
		} else {
			m.Process(nil, tx[:])
		}
		if err := l.WriteBlock(tx[:]); err != nil {
			return err
		}
	}
}

// Close stops the modem; its events channel closes (the driver treats
// that as a hang-up).
func (m *Modem) Close() error {
	m.once.Do(func() { close(m.done) })
	return nil
}

// Stats returns the core's counts and measurements.
func (m *Modem) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.core.Stats()
}

// LineTime is the time the modem has processed (samples / 8 kHz).
func (m *Modem) LineTime() time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	return time.Duration(m.core.stats.Samples) * time.Second / SampleRate
}

func (m *Modem) locked(f func(*Core) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	select {
	case <-m.done:
		return ErrClosed
	default:
	}
	return f(m.core)
}

// SendTone implements t30.Modem.
func (m *Modem) SendTone(t t30.Tone) error {
	return m.locked(func(c *Core) error { return c.SendTone(t) })
}

// SendFrames implements t30.Modem.
func (m *Modem) SendFrames(s t30.Speed, frames [][]byte) error {
	return m.locked(func(c *Core) error { return c.SendFrames(s, frames) })
}

// SendTCF implements t30.Modem.
func (m *Modem) SendTCF(s t30.Speed, d time.Duration) error {
	return m.locked(func(c *Core) error { return c.SendTCF(s, d) })
}

// SendImage implements t30.Modem.
func (m *Modem) SendImage(s t30.Speed, data []byte) error {
	return m.locked(func(c *Core) error { return c.SendImage(s, data) })
}

// Receive implements t30.Modem.
func (m *Modem) Receive(s t30.Speed) error {
	return m.locked(func(c *Core) error { return c.Receive(s) })
}

// Preempt implements t30.Preempter.
func (m *Modem) Preempt() error {
	return m.locked(func(c *Core) error { return c.Preempt() })
}

// Hangup implements t30.Modem: sending and receiving stop; the line stays
// open until Close.
func (m *Modem) Hangup() error {
	return m.locked(func(c *Core) error { return c.Hangup() })
}

// Events implements t30.Modem.
func (m *Modem) Events() <-chan t30.Event { return m.events }
