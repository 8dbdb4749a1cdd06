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

// TestPooledCodersKeepNoPage: what the one-call functions put back in
// their pools holds nothing of the page (coded pages and images are PHI):
// no reference to the caller's reader, data or output, and the coders'
// own copies (read buffer, changing elements, code words) zeroed.
func TestPooledCodersKeepNoPage(t *testing.T) {
	page := genPage(pageText, 1728, 60, 3)
	for _, c := range []Compression{MH, MR, MMR} {
		for _, bo := range []BitOrder{MSBFirst, LSBFirst} {
			eopt := &EncodeOptions{Compression: c, BitOrder: bo}
			o, err := checkEncodeOptions(page.Width, eopt)
			if err != nil {
				t.Fatal(err)
			}
			e := &Encoder{width: page.Width, opt: o}
			e.alloc()
			data, err := e.AppendPage(nil, page)
			if err != nil {
				t.Fatal(err)
			}
			e.scrub()
			if e.bw.buf != nil || e.w != nil || e.page != nil || !allZero(e.cur[:cap(e.cur)]) || !allZero(e.ref[:cap(e.ref)]) ||
				!allZero(e.old[:cap(e.old)]) || !allZero(e.codes) || !allZero(e.line) {
				t.Errorf("%v %v: the scrubbed Encoder still holds page data", c, bo)
			}

			dopt, err := checkDecodeOptions(page.Width, &DecodeOptions{Compression: c, BitOrder: bo})
			if err != nil {
				t.Fatal(err)
			}
			for _, fromReader := range []bool{false, true} {
				d := getDecoder(page.Width, dopt)
				if fromReader {
					d.Reset(bytes.NewReader(data))
				} else {
					d.ResetBytes(data)
				}
				dst := NewBitmap(page.Width, page.Height)
				if _, err := d.ReadPage(dst); err != nil || !dst.Equal(page) {
					t.Fatalf("%v %v: decode failed (%v)", c, bo, err)
				}
				// ReadRow keeps copies of the two rows it decoded last.
				d.Reset(bytes.NewReader(data))
				for y := 0; !d.lastOK || !d.last2OK; y++ {
					if err := d.ReadRow(dst.Row(y)); err != nil {
						t.Fatalf("%v %v: ReadRow kept no row (%v)", c, bo, err)
					}
				}
				d.scrub()
				if d.br.r != nil || d.br.buf != nil || d.br.rev != nil || !allZero(d.br.own) ||
					!onlyMarks(d.lists) ||
					!allZero(d.lasts[0]) || !allZero(d.lasts[1]) {
					t.Errorf("%v %v reader %v: the scrubbed Decoder still holds page data", c, bo, fromReader)
				}
			}
		}
	}
}

func allZero[T int32 | uint32 | byte](s []T) bool {
	for _, v := range s {
		if v != 0 {
			return false
		}
	}
	return true
}

// onlyMarks reports whether the changing-element lists of all (newLists)
// hold nothing but the -1 before each list.
func onlyMarks(all []int32) bool {
	s := len(all) / 3
	for i, v := range all {
		if (i%s < 2) != (v == -1) || v != -1 && v != 0 {
			return false
		}
	}
	return true
}
