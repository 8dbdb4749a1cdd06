package g711_test

import (
	"fmt"

	"github.com/faxkit/faxkit/modem/g711"
)

func Example() {
	samples := []int16{0, 1000, -1000, 32767}
	var pcmu [4]byte
	g711.Encode(g711.ULaw, pcmu[:], samples)
	back := make([]int16, 4)
	g711.Decode(g711.ULaw, back, pcmu[:])
	fmt.Printf("% x\n%v\n", pcmu, back)
	// Output:
	// ff ce 4e 80
	// [0 988 -988 32124]
}
