package v17_test

import (
	"fmt"

	"github.com/faxkit/faxkit/modem/v17"
)

// A transmitter and a receiver back to back: the receiver trains on the
// transmitter's long training, decodes the trellis code and delivers the
// data bits; a second transmission with the short training (as T.30 sends
// a page after TCF) is received from the saved training.
func Example() {
	data := []int{1, 0, 1, 1, 0, 0, 1, 0}
	var rx *v17.Rx
	send := func(short bool) {
		i := 0
		tx, err := v17.NewTx(v17.TxConfig{Rate: 14400, Level: -13, ShortTrain: short, GetBit: func() int {
			if i == 64*len(data) {
				return v17.EndOfData
			}
			i++
			return data[i%len(data)]
		}})
		if err != nil {
			panic(err)
		}
		block := make([]int16, 160) // 20 ms
		for !tx.Done() {
			n := tx.Modulate(block)
			rx.Process(block[:n])
		}
		rx.Process(make([]int16, 800)) // silence: the carrier drops
	}
	n := 0
	var err error
	rx, err = v17.NewRx(v17.RxConfig{
		Rate:   14400,
		PutBit: func(int) { n++ },
		Status: func(s v17.Status) { fmt.Println(s) },
	})
	if err != nil {
		panic(err)
	}
	send(false)
	fmt.Println(n >= 64*len(data))
	rx.Restart(true)
	n = 0
	send(true)
	fmt.Println(n >= 64*len(data))
	// Output:
	// carrier up
	// training succeeded
	// carrier down
	// true
	// carrier up
	// training succeeded
	// carrier down
	// true
}
