package v17

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/faxkit/faxkit/modem/internal/ber"
	"github.com/faxkit/faxkit/modem/internal/modemtest"
	"github.com/faxkit/faxkit/modem/internal/qamref"
)

func TestBadRate(t *testing.T) {
	if _, err := NewTx(TxConfig{Rate: 4800}); !errors.Is(err, ErrRate) {
		t.Errorf("NewTx(4800) = %v, want ErrRate", err)
	}
	if _, err := NewRx(RxConfig{Rate: 2400}); !errors.Is(err, ErrRate) {
		t.Errorf("NewRx(2400) = %v, want ErrRate", err)
	}
}

// TestConstellations checks the signal-space tables: the point counts,
// the mean powers (V.17 keeps them near the training points' 40), and
// that each rate's points are distinct and each subset Y2Y1Y0 holds the
// same number of points.
func TestConstellations(t *testing.T) {
	want := map[int]struct {
		n   int
		pow float64
	}{14400: {128, 41}, 12000: {64, 42}, 9600: {32, 40}, 7200: {16, 40}}
	for rate, w := range want {
		ri := rates[rate]
		if len(ri.pts) != w.n || ri.pow != w.pow {
			t.Errorf("%d: %d points of mean power %v, want %d and %v", rate, len(ri.pts), ri.pow, w.n, w.pow)
		}
		seen := map[complex128]bool{}
		for _, p := range ri.pts {
			if seen[p] {
				t.Errorf("%d: point %v twice", rate, p)
			}
			seen[p] = true
		}
		if 1<<ri.bits != w.n/2 {
			t.Errorf("%d: %d bits per symbol for %d points", rate, ri.bits, w.n)
		}
	}
	// The trellis: every state has four ways in, and Y0 of a branch is
	// bit 2 of the state it enters.
	for ns, ps := range preds {
		for _, b := range ps {
			if nextState(int(b.s), int(b.y)) != ns {
				t.Errorf("branch %v does not enter %d", b, ns)
			}
		}
	}
}

// run feeds audio to rx in 20 ms blocks.
func run(rx *Rx, audio []int16) { modemtest.Feed(rx, audio) }

func TestStatusAndQuality(t *testing.T) {
	for _, off := range []float64{0, 7, -7} {
		bits := ber.Bits(ber.Preamble+14400, 3)
		audio := append(transmit(t, 14400, bits), make([]int16, 800)...)
		audio = ber.Channel{Signal: -30, SNR: 30, Codec: ber.ULaw, CarrierOffset: off, Seed: 3}.Apply(audio)
		var st []Status
		var got []byte
		var q, fo float64
		rx, err := NewRx(RxConfig{PutBit: func(b int) { got = append(got, byte(b)) }, Status: func(s Status) { st = append(st, s) }})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < len(audio); i += 160 {
			rx.Process(audio[i:min(i+160, len(audio))])
			if rx.Trained() && i/160 == len(audio)*3/4/160 {
				q, fo = rx.SignalQuality(), rx.CarrierOffset()
				if p := rx.Power(); math.Abs(p+30) > 1.5 {
					t.Errorf("Power() = %.1f dBm0, want -30±1.5", p)
				}
			}
		}
		want := []Status{CarrierUp, TrainingSucceeded, CarrierDown}
		if fmt.Sprint(st) != fmt.Sprint(want) {
			t.Errorf("offset %v: statuses %v, want %v", off, st, want)
		}
		// 30 dB over 0-4 kHz is 32.2 dB at the decision point (2400 baud);
		// µ-law's own noise at -30 dBm0 takes a little off.
		if q < 29 || q > 34 {
			t.Errorf("offset %v: SignalQuality() = %.1f dB, want about 32", off, q)
		}
		if math.Abs(fo-off) > 1 {
			t.Errorf("CarrierOffset() = %.2f Hz, want %v", fo, off)
		}
		if e, _ := ber.Compare(bits, got); e != 0 {
			t.Errorf("offset %v: %d bit errors", off, e)
		}
	}
}

// TestShortTrain: a long-trained TCF-like transmission, then a page with
// the short training, at every rate, from faxkit's and spandsp's
// transmitters through noise 2 dB above faxkit's goal.
func TestShortTrain(t *testing.T) {
	for _, rate := range []int{14400, 12000, 9600, 7200} {
		for _, sp := range []bool{false, true} {
			t.Run(fmt.Sprintf("%d/spandsp=%v", rate, sp), func(t *testing.T) {
				bits := ber.Bits(ber.Preamble+20000, 5)
				var audio []int16
				var split int
				if sp {
					audio = qamref.TxShort(t, rate, -10, bits)
					split = splitAt(audio)
				} else {
					audio, split = transmitShort(t, rate, bits)
				}
				audio = append(audio, make([]int16, 800)...)
				audio = ber.Channel{Signal: -42, SNR: goalSNR[rate] + 2, Codec: ber.ULaw, Seed: 5}.Apply(audio)
				got, _ := receive(t, rate, audio, split)
				if e, off := ber.Compare(bits, got); e != 0 {
					t.Errorf("%d bit errors after the short training (offset %d)", e, off)
				}
			})
		}
	}
}

// TestShortTrainToSpandsp: spandsp's receiver, which expects the short
// training after a successful long one, receives faxkit's.
func TestShortTrainToSpandsp(t *testing.T) {
	for _, rate := range []int{14400, 12000, 9600, 7200} {
		bits := ber.Bits(ber.Preamble+20000, 6)
		audio, _ := transmitShort(t, rate, bits)
		audio = ber.Channel{Signal: -42, SNR: refSNR[rate] + 2, Codec: ber.ULaw, Seed: 6}.Apply(audio)
		got, status := qamref.Rx(t, "v17", rate, audio)
		got = got[min(len(got), shortPrefix-ber.Preamble):]
		if e, off := ber.Compare(bits, got); e != 0 {
			t.Errorf("%d: spandsp received faxkit's short-trained page with %d bit errors (offset %d)\n%s", rate, e, off, status)
		}
	}
}

// TestShortWithoutLong: a receiver asked for a short training without a
// previous one expects the long training (and so fails on a short one
// rather than delivering noise).
func TestShortWithoutLong(t *testing.T) {
	audio := transmitCfg(t, TxConfig{Rate: 9600, ShortTrain: true}, ber.Bits(4000, 1))
	var st []Status
	n := 0
	rx, err := NewRx(RxConfig{Rate: 9600, PutBit: func(int) { n++ }, Status: func(s Status) { st = append(st, s) }})
	if err != nil {
		t.Fatal(err)
	}
	rx.Restart(true)
	run(rx, append(audio, make([]int16, 800)...))
	want := []Status{CarrierUp, TrainingFailed, CarrierDown}
	if n != 0 || fmt.Sprint(st) != fmt.Sprint(want) {
		t.Errorf("statuses %v, %d bits; want %v and no bits", st, n, want)
	}
}

// TestResetReuse receives three calls with one receiver, with and without
// Reset between them.
func TestResetReuse(t *testing.T) {
	bits := ber.Bits(ber.Preamble+4800, 9)
	audio := append(transmit(t, 12000, bits), make([]int16, 800)...)
	var got []byte
	rx, err := NewRx(RxConfig{Rate: 12000, PutBit: func(b int) { got = append(got, byte(b)) }})
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
	audio := transmit(t, 14400, ber.Bits(40000, 1))
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
	allocs := testing.AllocsPerRun(400, func() {
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
		Tone: 1800, Split: 3,
		Tx: func(bits []byte) []int16 { return transmit(f, 14400, bits) },
		NewRx: func(put func(int)) (interface{ Process([]int16) }, error) {
			return NewRx(RxConfig{PutBit: put})
		},
	})
}

// TestTEP receives transmissions that start with the talker echo
// protection tone, faxkit's and spandsp's.
func TestTEP(t *testing.T) {
	bits := ber.Bits(ber.Preamble+4000, 12)
	audio := transmitCfg(t, TxConfig{Rate: 9600, TEP: true}, bits)
	got, _ := receive(t, 9600, append(audio, make([]int16, 800)...), 0)
	if e, _ := ber.Compare(bits, got); e != 0 {
		t.Errorf("%d bit errors after TEP", e)
	}
	audio = qamref.TxTEP(t, "v17", 9600, -20, bits)
	got, _ = receive(t, 9600, append(audio, make([]int16, 800)...), 0)
	if e, _ := ber.Compare(bits, got); e != 0 {
		t.Errorf("%d bit errors after spandsp's TEP", e)
	}
}

// TestBelowThreshold: a transmission 4 dB under the carrier-detect level
// raises no carrier.
func TestBelowThreshold(t *testing.T) {
	audio := ber.Channel{Signal: -49.5, SNR: ber.NoNoise}.Apply(transmit(t, 14400, ber.Bits(2000, 1)))
	up := false
	rx, err := NewRx(RxConfig{Status: func(s Status) { up = up || s == CarrierUp }})
	if err != nil {
		t.Fatal(err)
	}
	run(rx, audio)
	if up {
		t.Error("carrier detected at -49.5 dBm0")
	}
}

// TestWrongRate: a receiver set for one rate must not deliver data from
// another rate's transmission (the training is the same at every rate:
// segment 4's ones tell them apart, and T.30 then sees the TCF fail).
func TestWrongRate(t *testing.T) {
	for _, c := range [][2]int{{14400, 12000}, {14400, 7200}, {9600, 14400}, {7200, 9600}} {
		audio := append(transmit(t, c[1], ber.Bits(4000, 1)), make([]int16, 800)...)
		var st []Status
		n := 0
		rx, err := NewRx(RxConfig{Rate: c[0], PutBit: func(int) { n++ }, Status: func(s Status) { st = append(st, s) }})
		if err != nil {
			t.Fatal(err)
		}
		run(rx, audio)
		want := []Status{CarrierUp, TrainingFailed, CarrierDown}
		if n != 0 || fmt.Sprint(st) != fmt.Sprint(want) {
			t.Errorf("%d bit/s signal into a %d receiver: statuses %v, %d bits; want %v and no bits", c[1], c[0], st, n, want)
		}
	}
}

// TestLongAfterShortExpected: a receiver restarted for the short
// training takes a long one too (T.30 sends a long TCF again after FTT or
// RTN at the same rate), and then a short one again.
func TestLongAfterShortExpected(t *testing.T) {
	for _, rate := range []int{14400, 7200} {
		bits := ber.Bits(ber.Preamble+8000, 8)
		long := append(transmit(t, rate, bits), make([]int16, 800)...)
		short := append(transmitCfg(t, TxConfig{Rate: rate, ShortTrain: true}, bits), make([]int16, 800)...)
		var got []byte
		var st []Status
		rx, err := NewRx(RxConfig{Rate: rate, PutBit: func(b int) { got = append(got, byte(b)) }, Status: func(s Status) { st = append(st, s) }})
		if err != nil {
			t.Fatal(err)
		}
		for i, audio := range [][]int16{long, long, short, long, short} {
			got, st = got[:0], st[:0]
			rx.Restart(true)
			run(rx, ber.Channel{Signal: -30, SNR: goalSNR[rate] + 3, Codec: ber.ULaw, Seed: uint64(i)}.Apply(audio))
			if e, _ := ber.Compare(bits, got); e != 0 {
				t.Errorf("%d: transmission %d: %d bit errors; statuses %v", rate, i, e, st)
			}
		}
	}
}

// TestSubsets checks the subset slicer against comparing every point,
// inside and outside its grid.
func TestSubsets(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for rate, ri := range rates {
		s := newSubsets(ri.pts)
		var near [8]uint8
		var dist [8]float64
		for range 20000 {
			z := complex(r.NormFloat64()*6, r.NormFloat64()*6)
			s.nearest(z, &near, &dist)
			for sub := range 8 {
				best := math.Inf(1)
				for i := sub; i < len(ri.pts); i += 8 {
					best = min(best, sq(z-ri.pts[i]))
				}
				if int(near[sub])%8 != sub || math.Abs(dist[sub]-best) > 1e-9 || math.Abs(sq(z-ri.pts[near[sub]])-best) > 1e-9 {
					t.Fatalf("%d: subset %d of %v: point %d at %v, want distance %v", rate, sub, z, near[sub], dist[sub], best)
				}
			}
		}
	}
}
