package v17

import (
	"testing"
	"time"

	"github.com/faxkit/faxkit/modem/internal/ber"
	"github.com/faxkit/faxkit/modem/v21"
)

// TestAfterV21 plays the T.30 sequence the receiver meets in a real call:
// V.21 flags and a frame (DCS), 75 ms of silence, then the V.17 training
// and TCF-like data, all at 25 dB SNR. The V.17 receiver, running all the
// time as an audio fax terminal runs it, must not train on the V.21
// signal and must then receive the V.17 data without error.
func TestAfterV21(t *testing.T) {
	fsk := v21.NewTransmitter(v21.TxConfig{})
	if err := fsk.Preamble(time.Second); err != nil {
		t.Fatal(err)
	}
	if err := fsk.Frame([]byte{0xff, 0x13, 0x83, 0x00, 0x46, 0x1f}); err != nil {
		t.Fatal(err)
	}
	if err := fsk.End(); err != nil {
		t.Fatal(err)
	}
	var audio []int16
	buf := make([]int16, 160)
	for !fsk.Done() {
		n := fsk.Process(buf)
		audio = append(audio, buf[:n]...)
		if n == 0 {
			break
		}
	}
	v21End := len(audio)
	audio = append(audio, make([]int16, 600)...) // 75 ms
	bits := ber.Bits(ber.Preamble+14400, 21)
	audio = append(audio, transmit(t, 14400, bits)...)
	audio = ber.Channel{Signal: -20, SNR: 25, Codec: ber.ULaw, Seed: 2}.Apply(audio)

	var got []byte
	var events []Status
	var trainedAt int
	pos := 0
	rx, err := NewRx(RxConfig{
		PutBit: func(b int) { got = append(got, byte(b)) },
		Status: func(s Status) {
			events = append(events, s)
			if s == TrainingSucceeded {
				trainedAt = pos
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	for ; pos < len(audio); pos += 160 {
		rx.Process(audio[pos:min(pos+160, len(audio))])
	}
	t.Logf("V.21 ends at sample %d, trained at %d, events %v", v21End, trainedAt, events)
	if trainedAt < v21End {
		t.Errorf("trained at sample %d, inside the V.21 signal (ends at %d); events %v", trainedAt, v21End, events)
	}
	if e, _ := ber.Compare(bits, got); e != 0 {
		t.Errorf("%d bit errors in the V.17 data after V.21; events %v", e, events)
	}
}
