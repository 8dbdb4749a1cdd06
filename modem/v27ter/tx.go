package v27ter

import (
	"math"

	"github.com/faxkit/faxkit/modem/internal/qam"
)

// TxConfig configures a transmitter. The zero value sends 4800 bit/s at
// -10 dBm0 without talker echo protection, all data bits ones.
type TxConfig struct {
	Rate   int     // 2400 or 4800; 0 means 4800
	Level  float64 // dBm0; 0 means -10
	TEP    bool    // send the unmodulated-carrier segment first
	GetBit func() int
}

// Tx is a V.27ter transmitter (long training sequence).
type Tx struct {
	cfg   TxConfig
	mod   *qam.Modulator
	scr   scrambler
	step  int
	state int
	ended int
	done  bool
}

// NewTx returns a transmitter.
func NewTx(cfg TxConfig) (*Tx, error) {
	if cfg.Rate == 0 {
		cfg.Rate = 4800
	}
	if cfg.Level == 0 {
		cfg.Level = -10
	}
	if !validRate(cfg.Rate) {
		return nil, ErrRate
	}
	t := &Tx{cfg: cfg, mod: qam.NewModulator(baud(cfg.Rate), carrier, beta, 6)}
	t.mod.SetLevel(cfg.Level, symPower)
	t.Reset()
	return t, nil
}

// Reset restarts the transmitter from the beginning of training.
func (t *Tx) Reset() {
	t.mod.Reset()
	t.scr = scrambler{reg: 0x3c}
	t.step = 0
	if !t.cfg.TEP {
		t.step = tepLen
	}
	t.state = 0
	t.ended = -1
	t.done = false
}

// Done reports whether the transmitter has sent everything.
func (t *Tx) Done() bool { return t.done }

func (t *Tx) bit(data bool) int {
	b := 1
	if data && t.ended < 0 && t.cfg.GetBit != nil {
		if b = t.cfg.GetBit(); b == EndOfData {
			t.ended, b = 0, 1
		}
	}
	return t.scr.scramble(b & 1)
}

func (t *Tx) symbol() complex128 {
	s := t.step
	t.step++
	const s3, s4, s5 = tepLen + seg2Len, tepLen + seg2Len + seg3Len, tepLen + seg2Len + seg3Len + seg4Len
	switch {
	case s < tepLen:
		return points[0]
	case s < s3:
		return 0
	case s < s4:
		t.state = (t.state + 4) & 7
		return points[t.state]
	case s < s5:
		// One scrambled bit in three sets 0° or 180°.
		b := t.bit(false)
		t.bit(false)
		t.bit(false)
		t.state = (t.state + 4*b) & 7
		return points[t.state]
	}
	if t.ended >= 0 {
		t.ended++
		if t.ended > endLen {
			if t.ended > endLen+14 {
				t.done = true
			}
			return 0
		}
	}
	data := s >= s5+seg5Len
	var step int
	if t.cfg.Rate == 4800 {
		q := t.bit(data)<<2 | t.bit(data)<<1
		q |= t.bit(data)
		step = phaseStep[q]
	} else {
		q := t.bit(data) << 1
		q |= t.bit(data)
		step = phaseStep2400[q]
	}
	t.state = (t.state + step) & 7
	return points[t.state]
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
