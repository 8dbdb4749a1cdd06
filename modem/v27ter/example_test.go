package v27ter_test

import (
	"fmt"

	"github.com/faxkit/faxkit/modem/v27ter"
)

// A transmitter and a receiver back to back: the receiver trains on the
// transmitter's synchronising signal and delivers the data bits.
func Example() {
	data := []int{1, 0, 1, 1, 0, 0, 1, 0}
	i := 0
	tx, err := v27ter.NewTx(v27ter.TxConfig{Rate: 4800, Level: -13, GetBit: func() int {
		if i == 64*len(data) {
			return v27ter.EndOfData
		}
		i++
		return data[i%len(data)]
	}})
	if err != nil {
		panic(err)
	}
	var got []int
	rx, err := v27ter.NewRx(v27ter.RxConfig{
		Rate:   4800,
		PutBit: func(b int) { got = append(got, b) },
		Status: func(s v27ter.Status) { fmt.Println(s) },
	})
	if err != nil {
		panic(err)
	}
	block := make([]int16, 160) // 20 ms
	for !tx.Done() {
		n := tx.Modulate(block)
		rx.Process(block[:n])
	}
	rx.Process(make([]int16, 800)) // silence: the carrier drops
	// The receiver also delivers segment 4's ones before the data.
	fmt.Println(len(got) >= 64*len(data))
	// Output:
	// carrier up
	// training succeeded
	// carrier down
	// true
}
