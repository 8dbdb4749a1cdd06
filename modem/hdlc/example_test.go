package hdlc_test

import (
	"fmt"

	"github.com/faxkit/faxkit/modem/hdlc"
)

func Example() {
	var e hdlc.Encoder
	e.Flags(4)
	e.Frame([]byte{0xFF, 0x13, 0x80}) // a DCN-like frame
	e.End()
	d := hdlc.NewDecoder(hdlc.DecoderConfig{})
	for b := e.NextBit(); b >= 0; b = e.NextBit() {
		switch r := d.PutBit(b); r {
		case hdlc.FramingOK:
			fmt.Println(r)
		case hdlc.FrameOK:
			fmt.Printf("%v % x\n", r, d.Frame())
		}
	}
	// Output:
	// framing-ok
	// frame-ok ff 13 80
}
