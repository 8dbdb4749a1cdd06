package fax

// JitterBuffer is a fixed-delay playout buffer for 20 ms G.711 RTP
// packets, sized for fax: the delay never adapts (an adaptive buffer
// stretches or squeezes the audio, which a modem's symbol clock does not
// survive) and nothing is concealed: a block that is missing when its
// time comes is played as silence and counted, and a packet that arrives
// after its block was played is dropped and counted late. It is a pure
// data structure: the caller puts packets as they arrive and takes one
// block per 20 ms tick.
type JitterBuffer struct {
	depth   int // blocks of delay
	slots   []jbSlot
	started bool
	next    uint32 // RTP timestamp of the next block to play
	first   uint32 // the first packet's timestamp: blocks before it are the delay, not loss
	base    uint32 // slot indices count blocks from here (wrap-safe)
	stats   JitterStats
}

type jbSlot struct {
	ts   uint32
	full bool
	pcm  [BlockSize]int16
}

// JitterStats counts what the buffer saw.
type JitterStats struct {
	Received  uint64 // packets put
	Played    uint64 // blocks played from a packet
	Missing   uint64 // blocks played as silence (lost, or not yet arrived)
	Late      uint64 // packets that came after their block was played
	Duplicate uint64
	Overflow  uint64 // packets too far ahead of the playout point
}

// NewJitterBuffer returns a buffer that plays each block depth blocks
// (depth × 20 ms) after the first packet arrived; depth < 1 means 3.
func NewJitterBuffer(depth int) *JitterBuffer {
	if depth < 1 {
		depth = 3
	}
	return &JitterBuffer{depth: depth, slots: make([]jbSlot, 4*depth+4)}
}

// Stats returns the counts.
func (j *JitterBuffer) Stats() JitterStats { return j.stats }

// Put stores the samples of the packet with RTP timestamp ts (8 kHz
// units); pcm must hold BlockSize samples (shorter is padded with silence).
func (j *JitterBuffer) Put(ts uint32, pcm []int16) {
	j.stats.Received++
	if !j.started {
		j.started = true
		j.next = ts - uint32(j.depth*BlockSize)
		j.base = j.next
		j.first = ts
	}
	ahead := int32(ts - j.next)
	switch {
	case ahead < 0:
		j.stats.Late++
		return
	case ahead >= int32(len(j.slots)*BlockSize):
		j.stats.Overflow++
		return
	}
	s := j.slot(ts)
	if s.full && s.ts == ts {
		j.stats.Duplicate++
		return
	}
	s.ts, s.full = ts, true
	n := copy(s.pcm[:], pcm)
	clear(s.pcm[n:])
}

// Get fills out (BlockSize samples) with the next block to play and
// reports whether it came from a packet: before the first packet and
// where a packet is missing it is silence and Get returns false (a modem
// receiver does better skipping the block than hearing the silence; see
// Core.Process).
func (j *JitterBuffer) Get(out []int16) bool {
	if !j.started {
		clear(out)
		return true
	}
	s := j.slot(j.next)
	if s.full && s.ts == j.next {
		copy(out, s.pcm[:])
		s.full = false
		j.stats.Played++
		j.next += BlockSize
		return true
	}
	clear(out)
	lead := int32(j.next-j.first) < 0
	j.next += BlockSize
	if lead {
		// The buffer's delay before the first packet: silence, as
		// before the stream began.
		return true
	}
	j.stats.Missing++
	return false
}

// skip passes over n blocks (the line missed their time), counting them
// missing and dropping what they held.
func (j *JitterBuffer) skip(n int) {
	if !j.started {
		return
	}
	for range min(n, len(j.slots)) {
		if s := j.slot(j.next); s.ts == j.next {
			s.full = false
		}
		j.next += BlockSize
		j.stats.Missing++
	}
	if n > len(j.slots) {
		j.next += uint32(n-len(j.slots)) * BlockSize
		j.stats.Missing += uint64(n - len(j.slots))
	}
}

func (j *JitterBuffer) slot(ts uint32) *jbSlot {
	return &j.slots[((ts-j.base)/BlockSize)%uint32(len(j.slots))]
}
