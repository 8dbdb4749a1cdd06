package v29

import (
	"testing"

	"github.com/faxkit/faxkit/modem/internal/ber"
	"github.com/faxkit/faxkit/modem/internal/qamref"
)

func TestTxToSpandspClean(t *testing.T) {
	for _, rate := range []int{9600, 7200, 4800} {
		bits := ber.Bits(20000, 1)
		audio := transmit(t, rate, bits)
		got, status := qamref.Rx(t, "v29", rate, audio)
		errs, off := ber.Compare(bits, got)
		t.Logf("%d: %d bits out, offset %d, %d errors\n%s", rate, len(got), off, errs, status)
		if errs != 0 {
			t.Errorf("%d: %d errors", rate, errs)
		}
	}
}
