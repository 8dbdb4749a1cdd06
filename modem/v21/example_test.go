package v21_test

import (
	"fmt"
	"time"

	"github.com/faxkit/faxkit/modem/v21"
)

func Example() {
	tx := v21.NewTransmitter(v21.TxConfig{Level: -20})
	tx.Preamble(time.Second)
	tx.Frame([]byte{0xFF, 0x13, 0x80, 0x00, 0x46})
	tx.End()
	rx := v21.NewReceiver()
	var block [160]int16 // 20 ms
	for range 200 {
		tx.Process(block[:]) // silence once done
		for _, e := range rx.Process(block[:]) {
			if e.Kind == v21.FrameOK {
				fmt.Printf("%v % x\n", e.Kind, e.Frame)
			} else {
				fmt.Println(e.Kind)
			}
		}
	}
	// Output:
	// carrier-up
	// preamble
	// frame-ok ff 13 80 00 46
	// carrier-down
}
