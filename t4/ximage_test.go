package t4

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	"golang.org/x/image/ccitt"
)

// TestXImageDecodesOurOutput has golang.org/x/image/ccitt, an independent
// decoder, decode our MH (Group3) and MMR (Group4) output.
func TestXImageDecodesOurOutput(t *testing.T) {
	for _, w := range []int{1, 7, 1728, 2048, 2432, 4864} {
		for _, kind := range pageKinds {
			page := genPage(kind, w, 37, 2)
			for _, c := range []struct {
				name  string
				opt   EncodeOptions
				sf    ccitt.SubFormat
				order ccitt.Order
			}{
				{"MH", EncodeOptions{}, ccitt.Group3, ccitt.MSB},
				{"MH-LSB", EncodeOptions{BitOrder: LSBFirst}, ccitt.Group3, ccitt.LSB},
				{"MMR", EncodeOptions{Compression: MMR}, ccitt.Group4, ccitt.MSB},
				{"MMR-LSB", EncodeOptions{Compression: MMR, BitOrder: LSBFirst}, ccitt.Group4, ccitt.LSB},
			} {
				t.Run(fmt.Sprintf("%s/%d/%s", c.name, w, kind), func(t *testing.T) {
					enc, err := AppendPage(nil, page, &c.opt)
					if err != nil {
						t.Fatal(err)
					}
					r := ccitt.NewReader(bytes.NewReader(enc), c.order, c.sf, w, page.Height, &ccitt.Options{Invert: true})
					got, err := io.ReadAll(r)
					if err != nil {
						t.Fatalf("x/image/ccitt: %v", err)
					}
					requireSamePixels(t, page, &Bitmap{Width: w, Height: page.Height, Stride: page.Stride, Pix: got})
				})
			}
		}
	}
}
