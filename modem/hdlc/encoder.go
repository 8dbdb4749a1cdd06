package hdlc

// item kinds in the encoder's queue.
const (
	itemFlags = iota // n flags
	itemFrame        // a frame's octets in buf, FCS appended
	itemAbort        // an abort sequence
	itemEnd          // a closing flag if needed, then the end
)

type item struct {
	kind  uint8
	n     int // flags: count; frame: length with FCS
	start int // frame: offset in buf
}

const (
	queueItems = 16
	queueBytes = 4 * (MaxFrame + 2)
)

// Encoder turns queued flags, frames and aborts into the bit stream of
// T.30's HDLC: each frame is preceded by a flag unless one was just sent,
// followed by its FCS and a closing flag, with zero bits inserted after
// five consecutive ones inside frames. The zero value is ready to use.
// When its queue is empty it sends flags (idle between frames) until End
// has been called, after which NextBit reports the end with −1.
type Encoder struct {
	q          [queueItems]item
	head, n    int
	buf        [queueBytes]byte
	bufHead    int // start of the oldest frame's octets
	bufUsed    int
	cur        item
	active     bool
	pos        int  // octet index in the current item (frame), or flags sent
	bit        int  // next bit of the current octet
	ones       int  // consecutive ones sent inside a frame
	lastFlag   bool // the last complete thing sent was a flag
	ended      bool
	Underflows int // idle flags sent because the queue ran empty
}

// Reset empties the queue and forgets everything sent.
func (e *Encoder) Reset() { *e = Encoder{} }

func (e *Encoder) push(it item) error {
	if e.n == queueItems {
		return ErrQueueFull
	}
	e.q[(e.head+e.n)%queueItems] = it
	e.n++
	return nil
}

// Flags queues n flags (a preamble, or spacing between frames).
func (e *Encoder) Flags(n int) error {
	if n <= 0 {
		return nil
	}
	return e.push(item{kind: itemFlags, n: n})
}

// Frame queues a copy of frame (address, control and information octets;
// the encoder appends the FCS).
func (e *Encoder) Frame(frame []byte) error {
	if len(frame) > MaxFrame {
		return ErrTooLong
	}
	n := len(frame) + 2
	if e.bufUsed+n > queueBytes || e.n == queueItems {
		return ErrQueueFull
	}
	start := (e.bufHead + e.bufUsed) % queueBytes
	for i, b := range frame {
		e.buf[(start+i)%queueBytes] = b
	}
	f := FCS(frame)
	e.buf[(start+len(frame))%queueBytes] = byte(f)
	e.buf[(start+len(frame)+1)%queueBytes] = byte(f >> 8)
	e.bufUsed += n
	return e.push(item{kind: itemFrame, n: n, start: start})
}

// Abort queues an abort: the frame in progress, if any, is cut short by
// it, and the next frame starts with a flag.
func (e *Encoder) Abort() error { return e.push(item{kind: itemAbort}) }

// End queues the end of the transmission: once everything queued before
// it is sent, with a closing flag, NextBit returns −1.
func (e *Encoder) End() error { return e.push(item{kind: itemEnd}) }

// Pending reports the number of queued items not yet started.
func (e *Encoder) Pending() int { return e.n }

// Idle reports whether the queue is empty and nothing is being sent.
func (e *Encoder) Idle() bool { return e.n == 0 && !e.active }

func (e *Encoder) next() bool {
	if e.n == 0 {
		return false
	}
	e.cur = e.q[e.head]
	e.head = (e.head + 1) % queueItems
	e.n--
	e.active, e.pos, e.bit = true, 0, 0
	if (e.cur.kind == itemFrame || e.cur.kind == itemEnd) && !e.lastFlag {
		// A frame opens, and the transmission closes, with a flag: send
		// one first and put the item back.
		e.head = (e.head + queueItems - 1) % queueItems
		e.q[e.head] = e.cur
		e.n++
		e.cur = item{kind: itemFlags, n: 1}
	}
	return true
}

// NextBit returns the next bit to send (0 or 1), or −1 once End's point
// is reached.
func (e *Encoder) NextBit() int {
	for {
		if e.ended {
			return -1
		}
		if !e.active && !e.next() {
			// Idle: flags until there is something to send.
			e.Underflows++
			e.cur, e.active, e.pos, e.bit = item{kind: itemFlags, n: 1}, true, 0, 0
		}
		switch e.cur.kind {
		case itemFlags:
			b := Flag >> e.bit & 1
			e.bit++
			if e.bit == 8 {
				e.bit = 0
				e.pos++
				e.lastFlag = true
				if e.pos == e.cur.n {
					e.active = false
				}
			}
			return b
		case itemFrame:
			if e.ones == 5 {
				e.ones = 0
				return 0 // inserted zero
			}
			if e.pos == e.cur.n {
				// Release the octets; the closing flag follows.
				e.bufHead = (e.bufHead + e.cur.n) % queueBytes
				e.bufUsed -= e.cur.n
				e.cur, e.pos, e.bit, e.ones = item{kind: itemFlags, n: 1}, 0, 0, 0
				continue
			}
			e.lastFlag = false
			octet := e.buf[(e.cur.start+e.pos)%queueBytes]
			b := int(octet>>e.bit) & 1
			if b == 1 {
				e.ones++
			} else {
				e.ones = 0
			}
			e.bit++
			if e.bit == 8 {
				e.bit = 0
				e.pos++
			}
			return b
		case itemAbort:
			// Seven ones. An abort is not a flag: what follows opens
			// with its own.
			e.lastFlag = false
			e.ones = 0
			e.pos++
			if e.pos == 7 {
				e.active = false
			}
			return 1
		case itemEnd:
			e.ended, e.active = true, false
			return -1
		}
	}
}
