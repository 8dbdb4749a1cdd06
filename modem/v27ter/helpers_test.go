package v27ter

import (
	"testing"

	"github.com/faxkit/faxkit/modem/internal/ber"
)

// transmit returns faxkit's V.29 transmission of bits.
func transmit(t testing.TB, rate int, bits []byte) []int16 {
	t.Helper()
	i := 0
	tx, err := NewTx(TxConfig{Rate: rate, Level: -10, GetBit: func() int {
		if i >= len(bits) {
			return EndOfData
		}
		i++
		return int(bits[i-1])
	}})
	if err != nil {
		t.Fatal(err)
	}
	var out []int16
	buf := make([]int16, 160)
	for !tx.Done() {
		n := tx.Modulate(buf)
		out = append(out, buf[:n]...)
	}
	return append(out, make([]int16, 1600)...)
}

// receive runs faxkit's V.29 receiver over audio and returns its bits.
func receive(t testing.TB, rate int, audio []int16) ([]byte, *Rx) {
	t.Helper()
	var got []byte
	rx, err := NewRx(RxConfig{Rate: rate, PutBit: func(b int) { got = append(got, byte(b)) }})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(audio); i += 160 {
		rx.Process(audio[i:min(i+160, len(audio))])
	}
	return got, rx
}

var _ = ber.Bits
