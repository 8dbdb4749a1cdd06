package v17

import (
	"testing"

	"github.com/faxkit/faxkit/modem/internal/modemtest"
)

// transmit returns faxkit's V.17 transmission of bits with a long
// training.
func transmit(t testing.TB, rate int, bits []byte) []int16 {
	t.Helper()
	return transmitCfg(t, TxConfig{Rate: rate, Level: -10}, bits)
}

func transmitCfg(t testing.TB, cfg TxConfig, bits []byte) []int16 {
	t.Helper()
	cfg.GetBit = modemtest.Bits(bits, EndOfData)
	tx, err := NewTx(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return modemtest.Transmit(tx)
}

// shortPrefix is the long-trained transmission that precedes a
// short-trained one in the tests (as TCF precedes a page): ones for 0.1 s.
const shortPrefix = 1440

// transmitShort returns a long-trained transmission of shortPrefix ones,
// silence, then a short-trained transmission of bits, and the sample
// where the second begins.
func transmitShort(t testing.TB, rate int, bits []byte) ([]int16, int) {
	t.Helper()
	ones := make([]byte, shortPrefix)
	for i := range ones {
		ones[i] = 1
	}
	first := transmitCfg(t, TxConfig{Rate: rate, Level: -10}, ones)
	second := transmitCfg(t, TxConfig{Rate: rate, Level: -10, ShortTrain: true}, bits)
	return append(first, second...), len(first)
}

// receive runs faxkit's V.17 receiver over audio and returns its bits.
// With split > 0 the receiver is restarted for a short training at
// sample split.
func receive(t testing.TB, rate int, audio []int16, split int) ([]byte, *Rx) {
	t.Helper()
	var got []byte
	rx, err := NewRx(RxConfig{Rate: rate, PutBit: func(b int) { got = append(got, byte(b)) }})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(audio); i += 160 {
		if split > 0 && i <= split && split < i+160 {
			rx.Process(audio[i:split])
			rx.Restart(true)
			got = got[:0]
			rx.Process(audio[split:min(i+160, len(audio))])
			continue
		}
		rx.Process(audio[i:min(i+160, len(audio))])
	}
	return got, rx
}
