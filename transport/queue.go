package transport

import (
	"context"
	"net"
	"os"
	"sync"
	"time"

	"github.com/pion/transport/v5/deadline"
)

// packetQueue is a bounded FIFO of datagrams. When it is full the oldest
// datagram is dropped: for a real-time fax stream the newest data is the
// useful data. Slots keep their backing arrays, so a queue in steady state
// allocates nothing; its memory is bounded by capacity × the largest
// datagram pushed.
type packetQueue struct {
	mu      sync.Mutex
	slots   []queued
	head, n int
	closed  bool
	err     error // returned by pop once closed and drained
	dropped uint64
	notify  chan struct{} // capacity 1: "something changed"
	done    chan struct{} // closed by close
}

type queued struct {
	b    []byte
	addr net.Addr
}

func newPacketQueue(capacity int) *packetQueue {
	return &packetQueue{
		slots:  make([]queued, capacity),
		notify: make(chan struct{}, 1),
		done:   make(chan struct{}),
	}
}

// push copies p into the queue. It reports false if the queue is closed.
func (q *packetQueue) push(p []byte, addr net.Addr) bool {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return false
	}
	if q.n == len(q.slots) {
		q.slots[q.head].addr = nil
		q.head = (q.head + 1) % len(q.slots)
		q.n--
		q.dropped++
	}
	i := (q.head + q.n) % len(q.slots)
	q.slots[i].b = append(q.slots[i].b[:0], p...)
	q.slots[i].addr = addr
	q.n++
	q.mu.Unlock()
	select {
	case q.notify <- struct{}{}:
	default:
	}
	return true
}

// tryPop copies the oldest datagram into p. ok is false when the queue is
// empty; err is set when it is empty and closed.
func (q *packetQueue) tryPop(p []byte) (n int, addr net.Addr, truncated, ok bool, err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.n == 0 {
		if q.closed {
			return 0, nil, false, false, q.err
		}
		return 0, nil, false, false, nil
	}
	s := &q.slots[q.head]
	n = copy(p, s.b)
	truncated = n < len(s.b)
	addr = s.addr
	s.addr = nil
	q.head = (q.head + 1) % len(q.slots)
	q.n--
	return n, addr, truncated, true, nil
}

// pop waits for a datagram, the context, the deadline or close.
func (q *packetQueue) pop(ctx context.Context, dl *deadline.Deadline, p []byte) (int, net.Addr, error) {
	for {
		n, addr, trunc, ok, err := q.tryPop(p)
		if ok {
			if trunc {
				return n, addr, ErrTruncated
			}
			return n, addr, nil
		}
		if err != nil {
			return 0, nil, err
		}
		var dlDone <-chan struct{}
		if dl != nil {
			dlDone = dl.Done()
		}
		select {
		case <-q.notify:
		case <-q.done:
			// Drain what is left before reporting the close.
		case <-ctx.Done():
			return 0, nil, ctx.Err()
		case <-dlDone:
			return 0, nil, errTimeout
		}
	}
}

// close makes pop return err once the queue is drained. Only the first
// close sets the error.
func (q *packetQueue) close(err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	q.closed = true
	q.err = err
	close(q.done)
}

// discard empties the queue and releases its buffers.
func (q *packetQueue) discard() {
	q.mu.Lock()
	defer q.mu.Unlock()
	clear(q.slots)
	q.head, q.n = 0, 0
}

func (q *packetQueue) droppedCount() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.dropped
}

// errTimeout is what a read returns when a net.Conn style deadline passes;
// it is a net.Error whose Timeout method reports true.
var errTimeout = os.ErrDeadlineExceeded

// earlier returns the earlier of two deadlines, zero meaning none.
func earlier(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero():
		return a
	case a.Before(b):
		return a
	}
	return b
}
