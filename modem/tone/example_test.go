package tone_test

import (
	"fmt"

	"github.com/faxkit/faxkit/modem/tone"
)

func Example() {
	g := tone.NewGenerator(tone.ANSamPR, tone.GenConfig{})
	d := tone.NewDetector(tone.DetConfig{})
	var block [160]int16
	for range 250 { // 5 s
		g.Process(block[:])
		for _, e := range d.Process(block[:]) {
			if e.On {
				fmt.Printf("%v at %d ms, %.0f dBm0\n", e.Tone, e.At/8, e.Level)
			} else {
				fmt.Printf("%v ended at %d ms\n", e.Tone, e.At/8)
			}
		}
	}
	// Output:
	// ANSam at 400 ms, -11 dBm0
	// ANSam/PR at 464 ms, -11 dBm0
	// ANSam/PR ended at 3312 ms
}
