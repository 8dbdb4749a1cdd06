package modemtest

import (
	"testing"
	"time"

	"github.com/faxkit/faxkit/modem/internal/ber"
	"github.com/faxkit/faxkit/modem/v21"
)

// AfterV21 plays the T.30 sequence an image receiver meets in a real call:
// V.21 flags and a frame (DCS), 75 ms of silence, then the modem's training
// and n TCF-like data bits sent by transmit, all at 25 dB SNR through
// µ-law. The receiver (newRx, given where to put bits and what to call when
// it trains), running all the time as an audio fax terminal runs it, must
// not train on the V.21 signal and must then receive the data without
// error. name names the modem in failures.
func AfterV21(t *testing.T, name string, n int, transmit func(bits []byte) []int16,
	newRx func(put func(int), trained func()) (interface{ Process([]int16) }, error)) {
	t.Helper()
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
		k := fsk.Process(buf)
		audio = append(audio, buf[:k]...)
		if k == 0 {
			break
		}
	}
	v21End := len(audio)
	audio = append(audio, make([]int16, 600)...) // 75 ms
	bits := ber.Bits(ber.Preamble+n, 21)
	audio = append(audio, transmit(bits)...)
	audio = ber.Channel{Signal: -20, SNR: 25, Codec: ber.ULaw, Seed: 2}.Apply(audio)

	var got []byte
	trainedAt, pos := 0, 0
	rx, err := newRx(func(b int) { got = append(got, byte(b)) }, func() { trainedAt = pos })
	if err != nil {
		t.Fatal(err)
	}
	for ; pos < len(audio); pos += 160 {
		rx.Process(audio[pos:min(pos+160, len(audio))])
	}
	t.Logf("V.21 ends at sample %d, %s trained at %d", v21End, name, trainedAt)
	if trainedAt < v21End {
		t.Errorf("%s trained at sample %d, inside the V.21 signal (ends at %d)", name, trainedAt, v21End)
	}
	if e, _ := ber.Compare(bits, got); e != 0 {
		t.Errorf("%d bit errors in the %s data after V.21", e, name)
	}
}
