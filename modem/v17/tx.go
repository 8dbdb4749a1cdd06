package v17

import (
	"math"

	"github.com/faxkit/faxkit/modem/internal/qam"
)

// TxConfig configures a transmitter. The zero value sends 14 400 bit/s at
// -10 dBm0 with the long training and no talker echo protection, with all
// data bits ones.
type TxConfig struct {
	Rate  int     // 7200, 9600, 12000 or 14400; 0 means 14400
	Level float64 // dBm0; 0 means -10
	TEP   bool    // send the talker echo protection tone first
	// ShortTrain sends the short (resynchronising) training of V.17 §7.3,
	// used by T.30 for the pages that follow a long-trained TCF: segment 2
	// is 38 symbols and the bridge is left out.
	ShortTrain bool
	// GetBit returns the next data bit (0 or 1), or EndOfData. nil sends
	// ones until the caller stops asking for samples.
	GetBit func() int
}

// Tx is a V.17 transmitter: training (§7), scrambler (§5), differential
// and trellis encoding (§4) and the 1800 Hz carrier at 2400 baud.
type Tx struct {
	cfg   TxConfig
	ri    *rateInfo
	mod   *qam.Modulator
	reg   uint32 // scrambler
	step  int    // symbols sent since the start (TEP included)
	diff  int    // differential encoder: last Y2Y1
	conv  int    // convolutional encoder state
	ended int    // symbols since end of data, or -1
	done  bool
}

// Sequence boundaries, in symbols from the start of segment 1.
const (
	seg2Start = seg1Len
	seg3Start = seg2Start + seg2Len
	seg4Start = seg3Start + seg3Len
)

// NewTx returns a transmitter.
func NewTx(cfg TxConfig) (*Tx, error) {
	if cfg.Rate == 0 {
		cfg.Rate = 14400
	}
	if cfg.Level == 0 {
		cfg.Level = -10
	}
	ri, err := rateOf(cfg.Rate)
	if err != nil {
		return nil, err
	}
	t := &Tx{cfg: cfg, ri: ri, mod: qam.NewModulator(baud, carrier, beta, 6)}
	t.mod.SetLevel(cfg.Level, ri.pow)
	t.Reset()
	return t, nil
}

// Reset restarts the transmitter from the beginning of its training.
func (t *Tx) Reset() {
	t.mod.Reset()
	t.reg = scramblerInit
	t.step = -tepLen - tepGap
	if !t.cfg.TEP {
		t.step = 0
	}
	// The differential encoder starts from Y2Y1 = 01 after a long
	// training and 00 after a short one, as libspandsp's does; the
	// receiver does not depend on it (the first symbol's two bits fall in
	// segment 4's ones).
	t.diff = 1
	if t.cfg.ShortTrain {
		t.diff = 0
	}
	t.conv = 0
	t.ended = -1
	t.done = false
}

// Done reports whether the transmitter has sent everything.
func (t *Tx) Done() bool { return t.done }

func (t *Tx) symbol() complex128 {
	s := t.step
	t.step++
	switch {
	case s < -tepGap:
		return abcd[0]
	case s < 0:
		return 0
	case s < seg2Start:
		return abcd[s&1]
	}
	s -= seg2Start
	if t.cfg.ShortTrain {
		if s < seg2ShortLen {
			scramble(&t.reg, 1)
			scramble(&t.reg, 1)
			return abcd[training.seg2[s]]
		}
		s += seg2Len + seg3Len - seg2ShortLen
	} else if s < seg2Len+seg3Len {
		// Keep the scrambler in step: two bits per symbol.
		if s < seg2Len {
			scramble(&t.reg, 1)
			scramble(&t.reg, 1)
			return abcd[training.seg2[s]]
		}
		sh := uint(s-seg2Len) & 7 << 1
		scramble(&t.reg, bridgeWord>>sh)
		scramble(&t.reg, bridgeWord>>(sh+1))
		return abcd[training.bridge[s-seg2Len]]
	}
	s -= seg2Len + seg3Len // symbols since the start of segment 4
	if t.ended >= 0 {
		t.ended++
		if t.ended > endOnes {
			if t.ended > endOnes+endGap {
				t.done = true
			}
			return 0
		}
	}
	var q int
	for i := range t.ri.bits {
		b := 1
		if s >= seg4Len && t.ended < 0 && t.cfg.GetBit != nil {
			if b = t.cfg.GetBit(); b == EndOfData {
				t.ended = 0
				b = 1
			}
		}
		q |= scramble(&t.reg, b&1) << i
	}
	return t.ri.pts[t.encode(q)]
}

// encode differentially encodes Q1Q2 (V.17 Table 1: Y2Y1 advances by
// Q2Q1, modulo 4), adds the convolutional encoder's redundant bit Y0 and
// returns the signal point index Q..Q3 Y2 Y1 Y0.
func (t *Tx) encode(q int) int {
	t.diff = (t.diff + q) & 3
	t.conv = nextState(t.conv, t.diff)
	return (q>>2)<<3 | t.diff<<1 | t.conv>>2
}

// Modulate fills dst with line samples and returns how many it wrote; it
// writes fewer than len(dst) only once the transmission has ended.
func (t *Tx) Modulate(dst []int16) int {
	for i := range dst {
		if t.done {
			return i
		}
		if t.mod.Advance() {
			t.mod.Push(t.symbol())
		}
		v := math.Round(t.mod.Sample())
		dst[i] = int16(max(-32768, min(32767, v)))
	}
	return len(dst)
}
