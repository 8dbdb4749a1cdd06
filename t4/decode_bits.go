package t4

import (
	"encoding/binary"
	"io"
)

// readBufSize is the size of a Decoder's input buffer.
const readBufSize = 16 << 10

// bitReader reads coded bits MSB first from an io.Reader. LSBFirst input is
// bit-reversed octet by octet as it enters the buffer. acc holds n valid
// bits, left aligned; bits below them are either zero or copies of the bits
// that follow (the refill loads whole words), so peeking past n is harmless.
// Past the end of the data n goes negative and the peeked bits are zero,
// which no code consists of.
type bitReader struct {
	r    io.Reader
	buf  []byte
	pos  int // next octet of buf to load into acc
	end  int // valid octets in buf
	acc  uint64
	n    int
	base int64 // stream offset of buf[0]
	eof  bool  // r has reported an error or io.EOF
	err  error // r's error, if not io.EOF
	lsb  bool
	own  []byte // the reader's own buffer (buf may be the caller's data)
	rev  []byte // resetBytes: LSBFirst data bit-reversed
}

func (b *bitReader) reset(r io.Reader, lsb bool) {
	*b = bitReader{r: r, buf: b.own, lsb: lsb, own: b.own, rev: b.rev}
}

// resetBytes makes data, read in place and never written, the whole input.
// LSBFirst data is bit-reversed into a scratch copy kept for the next page.
func (b *bitReader) resetBytes(data []byte, lsb bool) {
	if lsb {
		if cap(b.rev) < len(data) {
			b.rev = make([]byte, len(data))
		}
		rev := b.rev[:len(data)]
		copy(rev, data)
		reverseBytes(rev)
		data = rev
	}
	*b = bitReader{buf: data, end: len(data), eof: true, lsb: lsb, own: b.own, rev: b.rev}
}

// bitPos is the stream offset, in bits, of the next unread bit.
func (b *bitReader) bitPos() int64 { return (b.base+int64(b.pos))*8 - int64(b.n) }

// refill makes n >= 57 unless the data ends first.
func (b *bitReader) refill() {
	if b.end-b.pos >= 8 && b.n >= 0 {
		v := binary.BigEndian.Uint64(b.buf[b.pos:])
		b.acc |= v >> (uint(b.n) & 63)
		k := (64 - b.n) >> 3
		b.pos += k
		b.n += k << 3
		return
	}
	b.slowRefill()
}

func (b *bitReader) slowRefill() {
	for b.n <= 56 && b.n >= 0 {
		if b.pos == b.end {
			if !b.fill() {
				return
			}
			if b.end-b.pos >= 8 {
				b.refill()
				return
			}
		}
		b.acc |= uint64(b.buf[b.pos]) << uint(56-b.n)
		b.pos++
		b.n += 8
	}
}

// fill reads more octets into buf; it reports whether any are available.
func (b *bitReader) fill() bool {
	if b.eof || b.r == nil {
		return false
	}
	if b.own == nil {
		// Made at the first read, not in reset: a decoder given its data
		// in memory (ResetBytes, DecodeInto) never needs it.
		b.own = make([]byte, readBufSize)
		b.buf = b.own
	}
	copy(b.buf, b.buf[b.pos:b.end])
	b.base += int64(b.pos)
	b.end -= b.pos
	b.pos = 0
	for empty := 0; b.end < len(b.buf); {
		m, err := b.r.Read(b.buf[b.end:])
		if b.lsb {
			reverseBytes(b.buf[b.end : b.end+m])
		}
		b.end += m
		if err != nil {
			b.eof = true
			if err != io.EOF {
				b.err = err
			}
			break
		}
		if m > 0 {
			break
		}
		if empty++; empty >= 100 {
			b.eof = true
			b.err = io.ErrNoProgress
			break
		}
	}
	return b.end > b.pos
}

// skipTo moves on to bit off of buf (the position now or after it, with
// 8 octets of buf[:end] after it), dropping the bits before it.
func (b *bitReader) skipTo(off int64) {
	b.pos = int(off >> 3)
	b.acc, b.n = 0, 0
	b.refill()
	b.consume(int(off & 7))
}

// consume drops k bits (k <= 64).
func (b *bitReader) consume(k int) {
	b.acc <<= uint(k)
	b.n -= k
}

// atEnd reports whether no data bits remain.
func (b *bitReader) atEnd() bool {
	if b.n < 57 {
		b.refill()
	}
	return b.n <= 0
}

// restIsZero reports whether the data ends within the next 57 bits and those
// bits are all zero (padding at the end of a strip).
func (b *bitReader) restIsZero() bool {
	if b.n < 57 {
		b.refill()
	}
	if b.n <= 0 {
		return true
	}
	if b.pos == b.end && !b.eof {
		// A reader that has delivered every octet need not have said
		// io.EOF yet (bytes.Reader says it on the next Read): ask, so that
		// a stream and the same data in memory end the page alike.
		b.fill()
	}
	if b.pos < b.end || !b.eof || b.n > 64 {
		return false
	}
	return b.acc>>uint(64-b.n) == 0
}

// skipEOL consumes fill bits and an EOL (at least 11 zeros and a 1) if they
// come next, and reports whether it did. If only zero bits remain it
// consumes them and reports end. Otherwise it consumes nothing.
func (b *bitReader) skipEOL() (found, end bool) {
	zeros := 0
	for {
		if b.n < 57 {
			b.refill()
		}
		if b.n <= 0 {
			return false, true
		}
		lz := leadingZeros(b.acc)
		if lz >= b.n {
			zeros += b.n
			b.consume(b.n)
			continue
		}
		zeros += lz
		if zeros < 11 {
			return false, false
		}
		b.consume(lz + 1)
		return true, false
	}
}

// syncEOL discards bits up to and including the next EOL (T.4 resynchronisation
// after an error) and reports whether it found one.
func (b *bitReader) syncEOL() bool {
	zeros := 0
	for {
		if b.n < 57 {
			b.refill()
		}
		if b.n <= 0 {
			return false
		}
		lz := leadingZeros(b.acc)
		if lz >= b.n {
			zeros += b.n
			b.consume(b.n)
			continue
		}
		zeros += lz
		b.consume(lz + 1)
		if zeros >= 11 {
			return true
		}
		zeros = 0
	}
}

// alignByte skips to the next octet boundary of the stream.
func (b *bitReader) alignByte() {
	if r := int(b.bitPos() & 7); r != 0 {
		if b.n < 8 {
			b.refill()
		}
		b.consume(8 - r)
	}
}
