package v29

import (
	"testing"

	"github.com/faxkit/faxkit/modem/internal/modemtest"
)

// TestAfterV21: the V.29 receiver, running all the time as an audio fax
// terminal runs it, must not train on the V.21 flags and frame before its
// training, and must then receive the data without error
// (modemtest.AfterV21).
func TestAfterV21(t *testing.T) {
	modemtest.AfterV21(t, "V.29", 9600, func(bits []byte) []int16 { return transmit(t, 9600, bits) },
		func(put func(int), trained func()) (interface{ Process([]int16) }, error) {
			return NewRx(RxConfig{PutBit: put, Status: func(s Status) {
				if s == TrainingSucceeded {
					trained()
				}
			}})
		})
}
