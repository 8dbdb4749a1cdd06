package v29

import (
	"math"

	"github.com/faxkit/faxkit/modem/internal/qam"
)

// TxConfig configures a transmitter. The zero value sends 9600 bit/s at
// -10 dBm0 without talker echo protection, with all data bits ones.
type TxConfig struct {
	Rate  int     // 4800, 7200 or 9600; 0 means 9600
	Level float64 // dBm0; 0 means -10
	TEP   bool    // send the 480-symbol talker echo protection tone first
	// GetBit returns the next data bit (0 or 1), or EndOfData. nil sends
	// ones until the caller stops asking for samples.
	GetBit func() int
}

// Tx is a V.29 transmitter: training (§6), scrambler (§4), differential
// encoding (§3) and 1700 Hz carrier at 2400 baud.
type Tx struct {
	cfg   TxConfig
	mod   *qam.Modulator
	scr   qam.Scrambler
	step  int // symbols sent
	prbs  uint8
	phase int
	ended int // symbols since end of data, or -1
	done  bool
	a, b  complex128
	c, d  complex128
}

// NewTx returns a transmitter.
func NewTx(cfg TxConfig) (*Tx, error) {
	if cfg.Rate == 0 {
		cfg.Rate = 9600
	}
	if cfg.Level == 0 {
		cfg.Level = -10
	}
	if !validRate(cfg.Rate) {
		return nil, ErrRate
	}
	t := &Tx{cfg: cfg, mod: qam.NewModulator(baud, carrier, beta, 6)}
	t.mod.SetLevel(cfg.Level, symPower(cfg.Rate))
	t.a, t.b, t.c, t.d = trainPoints(cfg.Rate)
	t.Reset()
	return t, nil
}

// Reset restarts the transmitter from the beginning of training.
func (t *Tx) Reset() {
	t.mod.Reset()
	t.scr = qam.Scrambler{A: 18, B: 23}
	t.step = 0
	if !t.cfg.TEP {
		t.step = tepLen
	}
	t.prbs = prbsInit
	t.phase = 0
	t.ended = -1
	t.done = false
}

// Done reports whether the transmitter has sent everything.
func (t *Tx) Done() bool { return t.done }

func (t *Tx) bit() int {
	b := 1
	if t.ended < 0 && t.step > tepLen+seg1Len+seg2Len+seg3Len+seg4Len && t.cfg.GetBit != nil {
		b = t.cfg.GetBit()
		if b == EndOfData {
			t.ended = 0
			b = 1
		}
	}
	return t.scr.Scramble(b & 1)
}

func (t *Tx) symbol() complex128 {
	s := t.step
	t.step++
	switch {
	case s < tepLen:
		return points[0]
	case s < tepLen+seg1Len:
		return 0
	case s < tepLen+seg1Len+seg2Len:
		if (s-tepLen-seg1Len)&1 == 0 {
			return t.b
		}
		return t.a
	case s < tepLen+seg1Len+seg2Len+seg3Len:
		if trainPRBS(&t.prbs) == 0 {
			return t.c
		}
		return t.d
	}
	if t.ended >= 0 {
		t.ended++
		if t.ended > endLen {
			// Let the pulse shaper's tail out before stopping.
			if t.ended > endLen+14 {
				t.done = true
			}
			return 0
		}
	}
	amp := 0
	if t.cfg.Rate == 9600 && t.bit() == 1 {
		amp = 8
	}
	q := t.bit()<<1 | t.bit()
	var step int
	if t.cfg.Rate == 4800 {
		// Dibits use Table 1 with Q4 = not(Q2 xor Q3).
		q = q<<1 | (1 ^ (q>>1 ^ q&1))
		step = phaseStep[q]
	} else {
		step = phaseStep[q<<1|t.bit()]
	}
	t.phase = (t.phase + step) & 7
	return points[amp|t.phase]
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
