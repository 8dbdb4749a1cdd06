package v17

import (
	"fmt"
	"testing"

	"github.com/faxkit/faxkit/modem/internal/ber"
	"github.com/faxkit/faxkit/modem/internal/qamref"
)

// splitAt returns where a second transmission begins in clean audio: the
// middle of the first run of 1600 silent samples after the first one.
func splitAt(audio []int16) int {
	run := 0
	for i, v := range audio {
		if v != 0 {
			if run >= 1600 {
				return i - run/2
			}
			run = 0
			continue
		}
		if i > 0 {
			run++
		}
	}
	return -1
}

// TestCleanCross connects faxkit's and libspandsp's V.17 modems both ways
// without noise, with the long and the short training, at every rate.
func TestCleanCross(t *testing.T) {
	for _, rate := range []int{14400, 12000, 9600, 7200} {
		for _, short := range []bool{false, true} {
			name := fmt.Sprintf("%d/long", rate)
			if short {
				name = fmt.Sprintf("%d/short", rate)
			}
			t.Run(name+"/faxkit-spandsp", func(t *testing.T) {
				bits := ber.Bits(ber.Preamble+20000, 1)
				var audio []int16
				if short {
					audio, _ = transmitShort(t, rate, bits)
				} else {
					audio = transmit(t, rate, bits)
				}
				got, status := qamref.Rx(t, "v17", rate, audio)
				if short {
					// spandsp delivers the first transmission's ones too.
					got = got[min(len(got), shortPrefix-ber.Preamble):]
				}
				errs, off := ber.Compare(bits, got)
				if errs != 0 {
					t.Errorf("%d errors (offset %d, %d bits)\n%s", errs, off, len(got), status)
				}
			})
			t.Run(name+"/spandsp-faxkit", func(t *testing.T) {
				bits := ber.Bits(ber.Preamble+20000, 2)
				var audio []int16
				split := 0
				if short {
					audio = qamref.TxShort(t, rate, -10, bits)
					split = splitAt(audio)
				} else {
					audio = qamref.Tx(t, "v17", rate, -10, bits)
				}
				audio = append(audio, make([]int16, 800)...)
				got, _ := receive(t, rate, audio, split)
				errs, off := ber.Compare(bits, got)
				if errs != 0 {
					t.Errorf("%d errors (offset %d, %d bits, split %d)", errs, off, len(got), split)
				}
			})
		}
	}
}
