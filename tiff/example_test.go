package tiff_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"log"
	"os"
	"time"

	"github.com/faxkit/faxkit/t4"
	"github.com/faxkit/faxkit/tiff"
)

func ExampleNewWriter() {
	page := t4.NewBitmap(1728, 100)
	for x := 100; x < 1628; x++ {
		page.SetBlack(x, 50, true) // a rule across the page
	}
	var buf bytes.Buffer
	w, err := tiff.NewWriter(&buf, &tiff.WriterConfig{Compression: tiff.CompressionGroup4, PageCount: 2})
	if err != nil {
		log.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		err := w.WritePage(page, &tiff.PageOptions{
			Resolution: tiff.ResFine,
			DateTime:   time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		})
		if err != nil {
			log.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}
	fmt.Println(w.Pages(), "pages")
	// Output: 2 pages
}

func ExampleNewReader() {
	// A document to read: two pages written by our Writer.
	var buf bytes.Buffer
	w, _ := tiff.NewWriter(&buf, nil)
	_ = w.WritePage(t4.NewBitmap(1728, 1146), &tiff.PageOptions{Resolution: tiff.ResStandard})
	_ = w.WritePage(t4.NewBitmap(1728, 2292), &tiff.PageOptions{Resolution: tiff.ResFine})
	_ = w.Close()

	r, err := tiff.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()), nil)
	if err != nil {
		log.Fatal(err)
	}
	for page, err := range r.Pages() {
		if err != nil {
			log.Fatal(err)
		}
		bm, err := page.Bitmap()
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("page %d: %dx%d %s, %s, fill order %d\n", page.Index()+1, bm.Width, bm.Height,
			page.Info.Resolution(), page.Info.Compression, page.Info.FillOrder)
	}
	// Output:
	// page 1: 1728x1146 standard, CCITT Group 3, fill order 2
	// page 2: 1728x2292 fine, CCITT Group 3, fill order 2
}

func ExampleWriter_NewPage() {
	// Rows arriving one at a time, e.g. from a t4.Decoder during a call.
	var buf bytes.Buffer
	w, _ := tiff.NewWriter(&buf, &tiff.WriterConfig{Compression: tiff.CompressionGroup4})
	pw, err := w.NewPage(1728, &tiff.PageOptions{
		Resolution: tiff.ResFine,
		Quality:    tiff.QualityFromStats(t4.Stats{Rows: 500, BadRows: 2, LongestBadRun: 1}),
	})
	if err != nil {
		log.Fatal(err)
	}
	row := make([]byte, 1728/8)
	for y := 0; y < 500; y++ {
		if err := pw.WriteRow(row); err != nil {
			log.Fatal(err)
		}
	}
	if err := pw.Close(); err != nil {
		log.Fatal(err)
	}
	_ = w.Close()
	r, _ := tiff.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()), nil)
	p, _ := r.Next()
	fmt.Println(p.Info.Height, "rows,", p.Info.BadFaxLines, "bad,", p.Info.CleanFaxData)
	// Output: 500 rows, 2 bad, regenerated
}

func ExampleToFax() {
	// A grey 800x600 picture: dark left half, light right half.
	img := image.NewGray(image.Rect(0, 0, 800, 600))
	for y := 0; y < 600; y++ {
		for x := 0; x < 800; x++ {
			v := uint8(40)
			if x >= 400 {
				v = 220
			}
			img.SetGray(x, y, color.Gray{Y: v})
		}
	}
	pages, err := tiff.ToFax(img, &tiff.ConvertConfig{
		Resolution: tiff.ResFine,
		Paper:      tiff.A4,
		AutoRotate: true,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d page of %dx%d\n", len(pages), pages[0].Width, pages[0].Height)
	// Output: 1 page of 1728x2292
}

func ExampleConvertDocument() {
	// Any TIFF (scans, grey, colour, other resolutions) to a Class F file.
	in, err := os.Open("testdata/peers/grey-lzw.tif")
	if err != nil {
		log.Fatal(err)
	}
	defer in.Close()
	st, _ := in.Stat()
	r, err := tiff.NewReader(in, st.Size(), nil)
	if err != nil {
		log.Fatal(err)
	}
	var out bytes.Buffer
	w, _ := tiff.NewWriter(&out, &tiff.WriterConfig{Compression: tiff.CompressionGroup4})
	n, err := tiff.ConvertDocument(w, r, &tiff.ConvertConfig{Resolution: tiff.ResFine, Dither: t4.FloydSteinberg})
	if err != nil {
		log.Fatal(err)
	}
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}
	fmt.Println(n, "fax page")
	// Output: 1 fax page
}

func ExamplePDFToFax() {
	pdf, err := os.Open("document.pdf")
	if err != nil {
		return // no PDF here: this example only shows the calls
	}
	defer pdf.Close()
	out, _ := os.Create("document.tif")
	defer out.Close()
	w, _ := tiff.NewWriter(out, nil)
	n, err := tiff.PDFToFax(context.Background(), w, pdf, nil, &tiff.ConvertConfig{Resolution: tiff.ResFine})
	if err != nil {
		log.Fatal(err) // errors.Is(err, tiff.ErrNoRenderer) when gs and pdftoppm are missing
	}
	_ = w.Close()
	fmt.Println(n, "pages")
}

func ExampleNewStreamReader() {
	var file bytes.Buffer
	w, _ := tiff.NewWriter(&file, &tiff.WriterConfig{Compression: tiff.CompressionGroup4})
	for i := 0; i < 3; i++ {
		_ = w.WritePage(t4.NewBitmap(1728, 200), nil)
	}
	_ = w.Close()

	// Any io.Reader: here a buffer, in practice a decrypting stream.
	r, err := tiff.NewStreamReader(&file, nil)
	if err != nil {
		log.Fatal(err)
	}
	for page, err := range r.Pages() {
		if err != nil {
			log.Fatal(err)
		}
		bm, err := page.Bitmap() // before the next page: the stream moves on
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(page.Index()+1, bm.Width, bm.Height)
	}
	// Output:
	// 1 1728 200
	// 2 1728 200
	// 3 1728 200
}
