package v27ter

import (
	"errors"
	"math"
	"testing"

	"github.com/faxkit/faxkit/modem/internal/ber"
	"github.com/faxkit/faxkit/modem/internal/modemtest"
	"github.com/faxkit/faxkit/modem/internal/qamref"
)

func TestBadRate(t *testing.T) {
	if _, err := NewTx(TxConfig{Rate: 9600}); !errors.Is(err, ErrRate) {
		t.Errorf("NewTx(9600) = %v, want ErrRate", err)
	}
	if _, err := NewRx(RxConfig{Rate: 7200}); !errors.Is(err, ErrRate) {
		t.Errorf("NewRx(7200) = %v, want ErrRate", err)
	}
}

// run feeds audio to rx in 20 ms blocks.
func run(rx *Rx, audio []int16) { modemtest.Feed(rx, audio) }

func TestStatusAndQuality(t *testing.T) {
	for _, off := range []float64{0, 7, -7} {
		bits := ber.Bits(ber.Preamble+9600, 3)
		audio := append(transmit(t, 4800, bits), make([]int16, 800)...)
		audio = ber.Channel{Signal: -30, SNR: 25, Codec: ber.ULaw, CarrierOffset: off, Seed: 3}.Apply(audio)
		var st []Status
		var got []byte
		var q, fo float64
		rx, err := NewRx(RxConfig{PutBit: func(b int) { got = append(got, byte(b)) }, Status: func(s Status) { st = append(st, s) }})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < len(audio); i += 160 {
			rx.Process(audio[i:min(i+160, len(audio))])
			if rx.Trained() && i/160 == len(audio)/320 {
				q, fo = rx.SignalQuality(), rx.CarrierOffset()
				if p := rx.Power(); math.Abs(p+30) > 1.5 {
					t.Errorf("Power() = %.1f dBm0, want -30±1.5", p)
				}
			}
		}
		want := []Status{CarrierUp, TrainingSucceeded, CarrierDown}
		if len(st) != len(want) || st[0] != want[0] || st[1] != want[1] || st[2] != want[2] {
			t.Errorf("offset %v: statuses %v, want %v", off, st, want)
		}
		// 25 dB over 0-4 kHz is 29 dB at the decision point (1600 baud).
		if q < 27 || q > 31 {
			t.Errorf("offset %v: SignalQuality() = %.1f dB, want about 29", off, q)
		}
		if math.Abs(fo-off) > 1 {
			t.Errorf("CarrierOffset() = %.2f Hz, want %v", fo, off)
		}
		if e, _ := ber.Compare(bits, got); e != 0 {
			t.Errorf("offset %v: %d bit errors", off, e)
		}
	}
}

// TestResetReuse receives two calls with one receiver, with and without
// Reset between them, and one call with a long transmission after noise.
func TestResetReuse(t *testing.T) {
	bits := ber.Bits(ber.Preamble+4800, 9)
	audio := append(transmit(t, 2400, bits), make([]int16, 800)...)
	var got []byte
	rx, err := NewRx(RxConfig{Rate: 2400, PutBit: func(b int) { got = append(got, byte(b)) }})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		got = got[:0]
		if i == 1 {
			rx.Reset()
		}
		run(rx, audio)
		if e, _ := ber.Compare(bits, got); e != 0 {
			t.Errorf("call %d: %d bit errors", i, e)
		}
	}
}

func TestNoAllocsPerBlock(t *testing.T) {
	audio := transmit(t, 4800, ber.Bits(4000, 1))
	rx, err := NewRx(RxConfig{PutBit: func(int) {}})
	if err != nil {
		t.Fatal(err)
	}
	tx, err := NewTx(TxConfig{GetBit: func() int { return 0 }})
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]int16, 160)
	pos := 0
	allocs := testing.AllocsPerRun(200, func() {
		rx.Process(audio[pos : pos+160])
		pos = (pos + 160) % (len(audio) / 160 * 160)
		tx.Modulate(buf)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per block, want 0", allocs)
	}
}

// FuzzRx: arbitrary audio never makes the receiver panic, and it
// receives a real transmission afterwards (modemtest.FuzzReceiver).
func FuzzRx(f *testing.F) {
	modemtest.FuzzReceiver(f, modemtest.Fuzz{
		Tone: 1700, Split: 2,
		Tx: func(bits []byte) []int16 { return transmit(f, 4800, bits) },
		NewRx: func(put func(int)) (interface{ Process([]int16) }, error) {
			return NewRx(RxConfig{Rate: 4800, PutBit: put})
		},
	})
}

// TestTEP receives a transmission that starts with the optional talker
// echo protection tone.
func TestTEP(t *testing.T) {
	bits := ber.Bits(ber.Preamble+4000, 12)
	i := 0
	tx, err := NewTx(TxConfig{Rate: 2400, TEP: true, GetBit: func() int {
		if i == len(bits) {
			return EndOfData
		}
		i++
		return int(bits[i-1])
	}})
	if err != nil {
		t.Fatal(err)
	}
	var audio []int16
	buf := make([]int16, 160)
	for !tx.Done() {
		audio = append(audio, buf[:tx.Modulate(buf)]...)
	}
	got, _ := receive(t, 2400, append(audio, make([]int16, 800)...))
	if e, _ := ber.Compare(bits, got); e != 0 {
		t.Errorf("%d bit errors after TEP", e)
	}
}

// TestBelowThreshold: a transmission 4 dB under the carrier-detect level
// raises no carrier.
func TestBelowThreshold(t *testing.T) {
	audio := ber.Channel{Signal: -49.5, SNR: ber.NoNoise}.Apply(transmit(t, 4800, ber.Bits(2000, 1)))
	_, rx := receive(t, 4800, audio)
	var up bool
	rx.cfg.Status = func(s Status) { up = up || s == CarrierUp }
	rx.Reset()
	run(rx, audio)
	if up {
		t.Error("carrier detected at -49.5 dBm0")
	}
}

// TestSpandspTEP receives libspandsp's transmission with its talker echo
// protection tone.
func TestSpandspTEP(t *testing.T) {
	bits := ber.Bits(ber.Preamble+4000, 13)
	audio := append(qamref.TxTEP(t, "v27ter", 2400, -20, bits), make([]int16, 800)...)
	got, _ := receive(t, 2400, audio)
	if e, _ := ber.Compare(bits, got); e != 0 {
		t.Errorf("%d bit errors after spandsp's TEP", e)
	}
}

// TestWrongRate: a receiver set for one rate must not deliver data from a
// transmission at the other (the baud rates differ, so segment 3's
// reversals are not found).
func TestWrongRate(t *testing.T) {
	for _, c := range []struct{ tx, rx int }{{2400, 4800}, {4800, 2400}} {
		audio := append(transmit(t, c.tx, ber.Bits(4000, 1)), make([]int16, 800)...)
		var st []Status
		n := 0
		rx, err := NewRx(RxConfig{Rate: c.rx, PutBit: func(int) { n++ }, Status: func(s Status) { st = append(st, s) }})
		if err != nil {
			t.Fatal(err)
		}
		run(rx, audio)
		trained := false
		for _, s := range st {
			trained = trained || s == TrainingSucceeded
		}
		if trained || n != 0 {
			t.Errorf("%d bit/s signal into a %d receiver: statuses %v, %d bits", c.tx, c.rx, st, n)
		}
	}
}
