package t4

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
)

// TestOneCallReuse runs AppendPage, DecodeInto and DecodePage, whose
// Encoders and Decoders are kept for the next call, from several
// goroutines at once with widths, schemes, bit orders, row counts and
// damaged data changing from call to call, and checks every result
// against a new Encoder and Decoder: nothing of one call (options, the
// reference row, an error, a larger width's buffers) leaks into the next.
func TestOneCallReuse(t *testing.T) {
	type job struct {
		page *Bitmap
		eopt EncodeOptions
		cut  bool // decode a truncated copy
	}
	var jobs []job
	for i, w := range []int{1728, 64, 2432, 1, 1728, 333, 2048, 1728} {
		page := genPage(pageText, w, 40+i*7, uint64(i))
		for _, c := range []Compression{MH, MR, MMR} {
			for _, bo := range []BitOrder{MSBFirst, LSBFirst} {
				jobs = append(jobs, job{page, EncodeOptions{Compression: c, K: 1 + i%4, BitOrder: bo}, i%3 == 1})
			}
		}
	}
	want := make([][]byte, len(jobs))
	wantPage := make([]*Bitmap, len(jobs))
	wantStats := make([]Stats, len(jobs))
	for i, j := range jobs {
		var buf bytes.Buffer
		if err := EncodePage(&buf, j.page, &j.eopt); err != nil {
			t.Fatal(err)
		}
		want[i] = buf.Bytes()
		data := want[i]
		if j.cut {
			data = data[:len(data)/2]
		}
		d, err := NewDecoder(bytes.NewReader(data), j.page.Width, &DecodeOptions{Compression: j.eopt.Compression, BitOrder: j.eopt.BitOrder, Rows: j.page.Height})
		if err != nil {
			t.Fatal(err)
		}
		dst := NewBitmap(j.page.Width, j.page.Height)
		wantStats[i], err = d.ReadPage(dst)
		if err != nil {
			t.Fatal(err)
		}
		wantPage[i] = dst
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4*len(jobs))
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range 3 * len(jobs) {
				i := (r*7 + g*5) % len(jobs)
				j := jobs[i]
				got, err := AppendPage([]byte("prefix"), j.page, &j.eopt)
				if err != nil || !bytes.Equal(got[6:], want[i]) || string(got[:6]) != "prefix" {
					errs <- fmt.Errorf("job %d: AppendPage differs (%v)", i, err)
					return
				}
				data := got[6:]
				if j.cut {
					data = data[:len(data)/2]
				}
				dopt := &DecodeOptions{Compression: j.eopt.Compression, BitOrder: j.eopt.BitOrder, Rows: j.page.Height}
				dst := NewBitmap(j.page.Width, j.page.Height)
				st, err := DecodeInto(dst, data, dopt)
				if err != nil || st != wantStats[i] || !dst.Equal(wantPage[i]) {
					errs <- fmt.Errorf("job %d: DecodeInto %+v, %v; want %+v", i, st, err, wantStats[i])
					return
				}
				pg, st, err := DecodePage(bytes.NewReader(data), j.page.Width, dopt)
				if err != nil || st != wantStats[i] || !pg.Equal(wantPage[i]) {
					errs <- fmt.Errorf("job %d: DecodePage %+v, %v; want %+v", i, st, err, wantStats[i])
					return
				}
				clear(got) // a kept reference to the caller's bytes would show in a later call
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
