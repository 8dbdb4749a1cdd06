package fax

// unitSize is the jitter buffer's unit: 10 ms (80 samples), the packet
// time that every G.711 ptime in use (10, 20, 30, 40 ms...) is a whole
// number of.
const unitSize = 80

// JitterBuffer is a fixed-delay playout buffer for G.711 RTP packets,
// sized for fax: the delay never adapts (an adaptive buffer stretches or
// squeezes the audio, which a modem's symbol clock does not survive) and
// nothing is concealed: a block that is missing when its time comes is
// played as silence and counted, and a packet that arrives after its
// block was played is dropped and counted late. The delay is a time, not
// a number of packets: packets of any length that is a multiple of 10 ms
// are stored in 10 ms units by RTP timestamp, and blocks of any multiple
// of 10 ms are played from them (a sender whose ptime differs from ours,
// or changes, is played alike). It is a pure data structure: the caller
// puts packets as they arrive and takes one block per tick.
type JitterBuffer struct {
	delay   int // samples of delay (a multiple of unitSize)
	units   []jbUnit
	started bool
	next    uint32 // RTP timestamp of the next unit to play
	first   uint32 // the first packet's timestamp: units before it are the delay, not loss
	base    uint32 // unit indices count from here (wrap-safe)
	off     int    // packets in a row too far ahead or late: a timestamp jump
	stats   JitterStats
}

// resync is how many packets in a row too far ahead of the playout point
// (or too far behind it: more than the buffer holds) are taken as a jump of the stream's timestamps (a
// far end that skipped time, or restarted its stream): the buffer starts
// again from the next packet, as from the first.
const resync = 4

type jbUnit struct {
	ts   uint32
	full bool
	pcm  [unitSize]int16
}

// JitterStats counts what the buffer saw.
type JitterStats struct {
	Received  uint64 // packets put
	Played    uint64 // blocks played whole from packets
	Missing   uint64 // blocks played as silence, all or in part (lost, or not yet arrived)
	Late      uint64 // packets that came after their block was played
	Duplicate uint64
	Overflow  uint64 // packets too far ahead of the playout point
}

// NewJitterBuffer returns a buffer that plays each block depth × 20 ms
// after the first packet arrived; depth < 1 means 3 (60 ms).
func NewJitterBuffer(depth int) *JitterBuffer {
	if depth < 1 {
		depth = 3
	}
	return NewJitterBufferSamples(depth * BlockSize)
}

// NewJitterBufferSamples returns a buffer that plays each block delay
// samples after the first packet arrived (rounded up to 10 ms; less than
// 10 ms means 60 ms). It holds four times the delay plus 80 ms.
func NewJitterBufferSamples(delay int) *JitterBuffer {
	if delay < unitSize {
		delay = 3 * BlockSize
	}
	delay = (delay + unitSize - 1) / unitSize * unitSize
	return &JitterBuffer{delay: delay, units: make([]jbUnit, 4*delay/unitSize+8)}
}

// Stats returns the counts.
func (j *JitterBuffer) Stats() JitterStats { return j.stats }

// Put stores the samples of the packet with RTP timestamp ts (8 kHz
// units). A packet is stored in 10 ms units from ts; a last part shorter
// than 10 ms is padded with silence, and a timestamp off the 10 ms grid
// of the first packet is taken as the unit it falls in.
func (j *JitterBuffer) Put(ts uint32, pcm []int16) {
	j.stats.Received++
	if !j.started {
		j.start(ts)
	}
	ahead := int32(ts - j.next)
	n := (len(pcm) + unitSize - 1) / unitSize
	switch {
	case ahead+int32(n*unitSize) <= 0:
		// Late. Far later than the buffer holds is a jump back of the
		// far end's timestamps (a restarted stream); a little late is
		// jitter beyond the delay, and the packets after it come in
		// time again.
		if ahead > -int32(len(j.units)*unitSize) || !j.jumped() {
			if ahead > -int32(len(j.units)*unitSize) {
				j.off = 0
			}
			j.stats.Late++
			return
		}
		j.start(ts)
	case ahead+int32(n*unitSize) > int32(len(j.units)*unitSize):
		if !j.jumped() {
			j.stats.Overflow++
			return
		}
		j.start(ts)
	default:
		j.off = 0
	}
	ts -= uint32(int32(ts-j.base) % unitSize) // onto the grid
	dup := true
	for k := 0; k < n; k++ {
		uts := ts + uint32(k*unitSize)
		if int32(uts-j.next) < 0 {
			continue // this part is late; the rest may not be
		}
		u := j.unit(uts)
		if u.full && u.ts == uts {
			continue
		}
		dup = false
		u.ts, u.full = uts, true
		c := copy(u.pcm[:], pcm[min(k*unitSize, len(pcm)):])
		clear(u.pcm[c:])
	}
	if dup {
		j.stats.Duplicate++
	}
}

// start begins playing the stream from the packet at ts, after the
// buffer's delay: the blocks until then are silence, not loss.
func (j *JitterBuffer) start(ts uint32) {
	j.started, j.off = true, 0
	j.next = ts - uint32(j.delay)
	j.base = j.next
	j.first = ts
	for i := range j.units {
		j.units[i].full = false
	}
}

// jumped notes a packet outside the buffer's window and reports whether
// it is the resync-th in a row: the stream's timestamps jumped, and the
// buffer starts again from this packet. A lone late packet (jitter beyond
// the delay) changes nothing.
func (j *JitterBuffer) jumped() bool {
	j.off++
	return j.off >= resync
}

// Get fills out (a multiple of 10 ms of samples) with the next block to
// play and reports whether all of it came from packets: before the first
// packet, and where a packet is missing, it is silence, and Get returns
// false if any part of the block is missing (a modem receiver does better
// skipping the block than hearing the silence; see Core.Process).
func (j *JitterBuffer) Get(out []int16) bool {
	if !j.started {
		clear(out)
		return true
	}
	whole, heard := true, false
	for k := 0; k < len(out); k += unitSize {
		part := out[k:min(k+unitSize, len(out))]
		u := j.unit(j.next)
		switch {
		case u.full && u.ts == j.next:
			copy(part, u.pcm[:])
			u.full, heard = false, true
		case int32(j.next-j.first) < 0:
			// The buffer's delay before the first packet: silence, as
			// before the stream began.
			clear(part)
		default:
			clear(part)
			whole = false
		}
		j.next += unitSize
	}
	switch {
	case !whole:
		j.stats.Missing++
	case heard:
		j.stats.Played++
	}
	return whole
}

// skip passes over n blocks of size samples (the line missed their
// time), counting them missing and dropping what they held.
func (j *JitterBuffer) skip(n, size int) {
	if !j.started {
		return
	}
	units := n * ((size + unitSize - 1) / unitSize)
	for range min(units, len(j.units)) {
		if u := j.unit(j.next); u.ts == j.next {
			u.full = false
		}
		j.next += unitSize
	}
	if units > len(j.units) {
		j.next += uint32(units-len(j.units)) * unitSize
	}
	j.stats.Missing += uint64(n)
}

func (j *JitterBuffer) unit(ts uint32) *jbUnit {
	return &j.units[((ts-j.base)/unitSize)%uint32(len(j.units))]
}
