package v29_test

import (
	"fmt"

	"github.com/faxkit/faxkit/modem/v29"
)

// A transmitter and a receiver back to back: the receiver trains on the
// transmitter's synchronising signal and delivers the data bits.
func Example() {
	data := []int{1, 0, 1, 1, 0, 0, 1, 0}
	i := 0
	tx, err := v29.NewTx(v29.TxConfig{Rate: 9600, Level: -13, GetBit: func() int {
		if i == 64*len(data) {
			return v29.EndOfData
		}
		i++
		return data[i%len(data)]
	}})
	if err != nil {
		panic(err)
	}
	var got []int
	rx, err := v29.NewRx(v29.RxConfig{
		Rate:   9600,
		PutBit: func(b int) { got = append(got, b) },
		Status: func(s v29.Status) { fmt.Println(s) },
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
