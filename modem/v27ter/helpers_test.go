package v27ter

import (
	"testing"

	"github.com/faxkit/faxkit/modem/internal/modemtest"
)

// transmit returns faxkit's V.27ter transmission of bits.
func transmit(t testing.TB, rate int, bits []byte) []int16 {
	t.Helper()
	tx, err := NewTx(TxConfig{Rate: rate, Level: -10, GetBit: modemtest.Bits(bits, EndOfData)})
	if err != nil {
		t.Fatal(err)
	}
	return modemtest.Transmit(tx)
}

// receive runs faxkit's V.27ter receiver over audio and returns its bits.
func receive(t testing.TB, rate int, audio []int16) ([]byte, *Rx) {
	t.Helper()
	var got []byte
	rx, err := NewRx(RxConfig{Rate: rate, PutBit: func(b int) { got = append(got, byte(b)) }})
	if err != nil {
		t.Fatal(err)
	}
	modemtest.Feed(rx, audio)
	return got, rx
}
