package t4_test

import (
	"bytes"
	"fmt"
	"io"
	"log"

	"github.com/faxkit/faxkit/t4"
)

// examplePage is a small page with a black bar.
func examplePage() *t4.Bitmap {
	page := t4.NewBitmap(t4.WidthA4R8, 20)
	for y := 5; y < 15; y++ {
		for x := 100; x < 400; x++ {
			page.SetBlack(x, y, true)
		}
	}
	return page
}

func ExampleAppendPage() {
	page := examplePage()
	data, err := t4.AppendPage(nil, page, &t4.EncodeOptions{Compression: t4.MMR})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d rows of %d bytes coded in %d bytes\n", page.Height, page.Stride, len(data))
	// Output: 20 rows of 216 bytes coded in 14 bytes
}

func ExampleDecodePage() {
	data, _ := t4.AppendPage(nil, examplePage(), &t4.EncodeOptions{Compression: t4.MR, K: 4, BitOrder: t4.LSBFirst})
	page, stats, err := t4.DecodePage(bytes.NewReader(data), t4.WidthA4R8,
		&t4.DecodeOptions{Compression: t4.MR, BitOrder: t4.LSBFirst})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(page.Height, "rows,", page.Black(), "black pixels,", stats.BadRows, "bad rows")
	// Output: 20 rows, 3000 black pixels, 0 bad rows
}

// Encoding a page row by row for a T.30 session at 9600 bit/s with a 10 ms
// minimum scan line time.
func ExampleNewEncoder() {
	var out bytes.Buffer
	enc, err := t4.NewEncoder(&out, t4.WidthA4R8, &t4.EncodeOptions{
		Compression: t4.MR,
		K:           2,
		BitOrder:    t4.LSBFirst,
		MinRowBits:  t4.MinRowBits(10, 9600),
	})
	if err != nil {
		log.Fatal(err)
	}
	page := examplePage()
	for y := range page.Height {
		if err := enc.WriteRow(page.Row(y)); err != nil {
			log.Fatal(err)
		}
	}
	if err := enc.Close(); err != nil {
		log.Fatal(err)
	}
	fmt.Println(out.Len(), "bytes")
	// Output: 250 bytes
}

// Decoding a received page row by row; the statistics decide the T.30
// post-page response.
func ExampleNewDecoder() {
	data, _ := t4.AppendPage(nil, examplePage(), nil)
	data[20] ^= 0x10 // a transmission error
	dec, err := t4.NewDecoder(bytes.NewReader(data), t4.WidthA4R8, nil)
	if err != nil {
		log.Fatal(err)
	}
	row := make([]byte, (t4.WidthA4R8+7)/8)
	for {
		err := dec.ReadRow(row)
		if err == io.EOF {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
	}
	st := dec.Stats()
	fmt.Printf("rows %d, bad %d, longest bad run %d\n", st.Rows, st.BadRows, st.LongestBadRun)
	// Output: rows 20, bad 1, longest bad run 1
}

func ExampleMinRowBits() {
	fmt.Println(t4.MinRowBits(20, 14400))
	// Output: 288
}
