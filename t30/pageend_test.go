package t30

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit/t4"
)

// A page that ends with RTC/EOFB followed by many zero fill octets (spandsp
// pads 180+) is complete; the same page cut before its RTC/EOFB is not.
func TestHasPageEndAfterZeroFill(t *testing.T) {
	page := t4.NewBitmap(1728, 40)
	for y := 0; y < 40; y += 3 {
		page.SetBlack(y*40, y, true)
	}
	for _, c := range []Compression{MH, MR, MMR} {
		var buf bytes.Buffer
		require.NoError(t, t4.EncodePage(&buf, page, &t4.EncodeOptions{
			Compression: T4Compression(c), K: 2, BitOrder: t4.LSBFirst}))
		data := buf.Bytes()
		require.True(t, HasPageEnd(data, c), "%v", c)
		padded := append(append([]byte(nil), data...), make([]byte, 300)...)
		require.True(t, HasPageEnd(padded, c), "%v with 300 zero octets after the end", c)
		require.False(t, HasPageEnd(data[:len(data)-8], c), "%v cut before its end", c)
	}
}
