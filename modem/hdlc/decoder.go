package hdlc

// Result is what a received bit completed.
type Result uint8

const (
	None      Result = iota // nothing completed
	FramingOK               // the configured number of consecutive flags: a preamble
	FrameOK                 // a frame with a good FCS: see Frame
	FrameBad                // a frame with a bad FCS or not a whole number of octets: see Frame
	Abort                   // a frame in progress was aborted (seven ones)
	TooLong                 // a frame longer than MaxFrame was dropped
)

var resultNames = [...]string{"none", "framing-ok", "frame-ok", "frame-bad", "abort", "too-long"}

// String names the result.
func (r Result) String() string {
	if int(r) < len(resultNames) {
		return resultNames[r]
	}
	return "Result(" + itoa(int(r)) + ")"
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

// DecoderConfig configures a Decoder. The zero value works.
type DecoderConfig struct {
	// FramingFlags is the number of consecutive flags reported as
	// FramingOK (a preamble). 0 means 4 (107 ms at 300 bit/s; noise
	// imitates four back-to-back flags about once in 2^32 bits).
	FramingFlags int
	// MaxFrame is the longest frame kept, FCS excluded; 0 means MaxFrame.
	MaxFrame int
}

// Stats counts what a Decoder has seen.
type Stats struct {
	FramesOK, FramesBad, Aborts, TooLong int
}

// Decoder finds flags, frames and aborts in a bit stream. It allocates
// only in NewDecoder.
type Decoder struct {
	cfg       DecoderConfig
	buf       []byte // cfg.MaxFrame + 2 (FCS)
	n         int    // octets in buf
	octet     uint8  // bits of the octet in progress, LSB first
	nbits     int
	ones      int  // consecutive ones
	synced    bool // a flag was seen since the last abort or reset
	tooLong   bool
	flagRun   int // consecutive flags with nothing between
	framingOK bool
	frame     []byte
	stats     Stats
}

// NewDecoder returns a decoder configured by c.
func NewDecoder(c DecoderConfig) *Decoder {
	if c.FramingFlags <= 0 {
		c.FramingFlags = 4
	}
	if c.MaxFrame <= 0 {
		c.MaxFrame = MaxFrame
	}
	return &Decoder{cfg: c, buf: make([]byte, c.MaxFrame+2)}
}

// Reset forgets everything received, keeping the configuration.
func (d *Decoder) Reset() {
	*d = Decoder{cfg: d.cfg, buf: d.buf}
}

// Frame returns the last frame reported by FrameOK or FrameBad, without
// its FCS. It aliases the decoder's buffer: it is valid until the next
// PutBit.
func (d *Decoder) Frame() []byte { return d.frame }

// Stats returns the counts so far.
func (d *Decoder) Stats() Stats { return d.stats }

// Framing reports whether a preamble has been seen since the last Reset.
func (d *Decoder) Framing() bool { return d.framingOK }

// PutBit takes the next received bit (only its low bit counts) and
// returns what it completed.
func (d *Decoder) PutBit(bit int) Result {
	if bit&1 == 1 {
		d.ones++
		if d.ones == 7 {
			// Abort (or idle ones): whatever was in progress is lost.
			// The run's first six ones went in as data: a frame was in
			// progress only if more than the run (and the zero before
			// it) had been received since the last flag.
			wasFrame := d.synced && d.n*8+d.nbits-6 > 1
			d.synced, d.flagRun = false, 0
			d.n, d.nbits, d.tooLong = 0, 0, false
			if wasFrame {
				d.stats.Aborts++
				return Abort
			}
			return None
		}
		if d.ones > 7 {
			return None
		}
		return d.data(1)
	}
	ones := d.ones
	d.ones = 0
	switch {
	case ones == 6:
		return d.flag()
	case ones == 5:
		return None // an inserted zero
	case ones > 6:
		return None // the end of an abort or of idle ones
	}
	return d.data(0)
}

// data takes a data bit (the bits of a flag also pass here first; flag()
// takes them back out).
func (d *Decoder) data(b uint8) Result {
	if !d.synced {
		return None
	}
	d.octet = d.octet>>1 | b<<7
	d.nbits++
	if d.nbits == 8 {
		d.nbits = 0
		if d.n < len(d.buf) {
			d.buf[d.n] = d.octet
			d.n++
		} else {
			d.tooLong = true
		}
	}
	return None
}

// flag is called on the last bit of 01111110. Its first seven bits have
// already gone to data(): 0 and six ones, i.e. seven bits.
func (d *Decoder) flag() Result {
	res := None
	if d.synced {
		// Take back the flag's first seven bits: 0111111.
		bits := d.n*8 + d.nbits - 7
		if bits > 0 || d.n > 0 {
			res = d.endFrame(bits)
		} else {
			d.flagRun++
		}
	} else {
		d.flagRun = 1
	}
	if res != None {
		d.flagRun = 1
	}
	d.synced = true
	d.n, d.nbits, d.tooLong = 0, 0, false
	if res == None && !d.framingOK && d.flagRun >= d.cfg.FramingFlags {
		d.framingOK = true
		return FramingOK
	}
	return res
}

func (d *Decoder) endFrame(bits int) Result {
	if d.tooLong {
		d.stats.TooLong++
		return TooLong
	}
	if bits < 8*3 {
		// Shorter than an FCS and one octet: flag fill noise or a
		// shared flag's stray bits; not a frame.
		if bits <= 0 {
			d.flagRun++
			return None
		}
		d.stats.FramesBad++
		d.frame = d.buf[:0]
		return FrameBad
	}
	n := bits / 8
	d.frame = d.buf[:n-2]
	if bits%8 != 0 || !CheckFCS(d.buf[:n]) {
		d.stats.FramesBad++
		return FrameBad
	}
	d.stats.FramesOK++
	return FrameOK
}
