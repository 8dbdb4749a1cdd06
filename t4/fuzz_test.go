package t4

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

var writeSeeds = flag.Bool("fuzzseeds", false, "rewrite the seed corpora in testdata/fuzz")

// fuzzMaxRows bounds the work and memory of one fuzz input.
const fuzzMaxRows = 3000

// fuzzDecode decodes data and checks the invariants every input must keep:
// no panic, no error but ErrTooLarge (which needs many rows), consistent
// counts, exactly Rows rows when Rows is given.
func fuzzDecode(t *testing.T, comp Compression, data []byte, width uint16, flags uint8) {
	w := 1 + int(width)%2500
	opt := &DecodeOptions{
		Compression: comp,
		BitOrder:    BitOrder(flags & 1),
		MaxRows:     fuzzMaxRows,
		NoEOL:       comp == MH && flags&2 != 0,
	}
	if flags&4 != 0 {
		opt.Rows = 1 + int(flags>>3)
	}
	d, err := NewDecoder(bytes.NewReader(data), w, opt)
	if err != nil {
		t.Fatal(err)
	}
	stride := (w + 7) / 8
	var pix []byte // the rows ReadRow delivered
	rows := 0
	tooLarge := false
	for {
		pix = append(pix, make([]byte, stride)...)
		row := pix[len(pix)-stride:]
		err := d.ReadRow(row)
		if err == io.EOF {
			break
		}
		if err != nil {
			if !errors.Is(err, ErrTooLarge) || rows != fuzzMaxRows {
				t.Fatalf("row %d: %v", rows, err)
			}
			tooLarge = true
			break
		}
		if r := w & 7; r != 0 && row[len(row)-1]&(0xff>>uint(r)) != 0 {
			t.Fatalf("row %d: padding bits set", rows)
		}
		rows++
	}
	pix = pix[:rows*stride]

	// ReadPage from bytes (with its fast paths for white and repeated
	// rows) must deliver the same rows, counts and first error as ReadRow
	// from a reader.
	d2, err := NewDecoder(nil, w, opt)
	if err != nil {
		t.Fatal(err)
	}
	d2.ResetBytes(data)
	page := NewBitmap(w, fuzzMaxRows)
	st2, err := d2.ReadPage(page)
	if (err != nil) != tooLarge || err != nil && !errors.Is(err, ErrTooLarge) {
		t.Fatalf("ReadPage: %v; ReadRow ended at the row limit: %v", err, tooLarge)
	}
	if st2 != d.Stats() {
		t.Fatalf("ReadPage stats %+v, ReadRow %+v", st2, d.Stats())
	}
	if !bytes.Equal(page.Pix[:len(pix)], pix) {
		t.Fatal("ReadPage rows differ from ReadRow's")
	}
	if e1, e2 := d.Err(), d2.Err(); (e1 == nil) != (e2 == nil) || e1 != nil && e1.Error() != e2.Error() {
		t.Fatalf("ReadPage Err() = %v, ReadRow Err() = %v", e2, e1)
	}
	// Without the shortcuts for rows that repeat the previous one, the
	// general path must give the same.
	var st3 Stats
	var err3 error
	page3 := NewBitmap(w, fuzzMaxRows)
	withRepeats(false, func() {
		d2.ResetBytes(data)
		st3, err3 = d2.ReadPage(page3)
	})
	if st3 != st2 || (err3 == nil) != (err == nil) || !bytes.Equal(page3.Pix, page.Pix) {
		t.Fatalf("without repeat shortcuts: stats %+v, %v; with: %+v, %v (or rows differ)", st3, err3, st2, err)
	}
	if e1, e3 := d.Err(), d2.Err(); (e1 == nil) != (e3 == nil) || e1 != nil && e1.Error() != e3.Error() {
		t.Fatalf("without repeat shortcuts Err() = %v, with %v", e3, e1)
	}
	// Every 2-D row decoded by code2DDense, then every one by code2D,
	// must give the same rows, counts and error as the decoder's choice.
	for _, as := range []rowKind{denseRows, sparseRows} {
		if comp == MH {
			break
		}
		var st4 Stats
		var err4 error
		page4 := NewBitmap(w, fuzzMaxRows)
		func() {
			defer func() { rowsAs = anyRows }()
			rowsAs = as
			d2.ResetBytes(data)
			st4, err4 = d2.ReadPage(page4)
		}()
		if st4 != st2 || (err4 == nil) != (err == nil) || !bytes.Equal(page4.Pix, page.Pix) {
			t.Fatalf("rows decoded as %d: stats %+v, %v; as chosen: %+v, %v (or rows differ)", as, st4, err4, st2, err)
		}
		if e1, e4 := d.Err(), d2.Err(); (e1 == nil) != (e4 == nil) || e1 != nil && e1.Error() != e4.Error() {
			t.Fatalf("rows decoded as %d: Err() = %v, as chosen %v", as, e4, e1)
		}
	}
	st := d.Stats()
	if st.Rows != rows || st.BadRows > rows || st.LongestBadRun > st.BadRows {
		t.Fatalf("stats %+v after %d rows", st, rows)
	}
	if opt.Rows > 0 && rows != opt.Rows {
		t.Fatalf("%d rows, want %d", rows, opt.Rows)
	}
	if (st.BadRows > 0) != (d.Err() != nil) && !(st.BadRows > 0 && opt.Rows > 0) {
		t.Fatalf("stats %+v but Err() = %v", st, d.Err())
	}
}

func addDecodeSeeds(f *testing.F, comp Compression) {
	for i, s := range decodeSeeds(comp) {
		f.Add(s.data, s.width, s.flags)
		if *writeSeeds {
			writeSeed(f, fmt.Sprintf("FuzzDecode%v", comp), i, s)
		}
	}
}

type seed struct {
	data  []byte
	width uint16
	flags uint8
}

// decodeSeeds are small pages of each kind, coded by this package.
func decodeSeeds(comp Compression) []seed {
	var seeds []seed
	for i, kind := range pageKinds {
		w := []int{1, 7, 64, 100, 203, 333}[i]
		page := genPage(kind, w, 6, uint64(i))
		o := EncodeOptions{Compression: comp, BitOrder: BitOrder(i & 1), K: 1 + i%3, AlignEOL: i == 2}
		data, err := AppendPage(nil, page, &o)
		if err != nil {
			panic(err)
		}
		flags := uint8(i & 1)
		if i%2 == 0 {
			flags |= 4 | 5<<3 // Rows = 6
		}
		seeds = append(seeds, seed{data, uint16(w - 1), flags})
	}
	// Rows repeating with periods of 2 to 9 rows (Decoder.farNext).
	page := periodPage(100, 40, 1)
	data, err := AppendPage(nil, page, &EncodeOptions{Compression: comp})
	if err != nil {
		panic(err)
	}
	return append(seeds, seed{data, 99, 0})
}

func writeSeed(f *testing.F, target string, i int, s seed) {
	dir := filepath.Join("testdata", "fuzz", target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		f.Fatal(err)
	}
	body := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\nuint16(%d)\nbyte(%s)\n", strconv.Quote(string(s.data)), s.width, strconv.QuoteRune(rune(s.flags)))
	if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed%d", i)), []byte(body), 0o644); err != nil {
		f.Fatal(err)
	}
}

func FuzzDecodeMH(f *testing.F) {
	addDecodeSeeds(f, MH)
	f.Fuzz(func(t *testing.T, data []byte, width uint16, flags uint8) {
		fuzzDecode(t, MH, data, width, flags)
	})
}

func FuzzDecodeMR(f *testing.F) {
	addDecodeSeeds(f, MR)
	f.Fuzz(func(t *testing.T, data []byte, width uint16, flags uint8) {
		fuzzDecode(t, MR, data, width, flags)
	})
}

func FuzzDecodeMMR(f *testing.F) {
	addDecodeSeeds(f, MMR)
	f.Fuzz(func(t *testing.T, data []byte, width uint16, flags uint8) {
		fuzzDecode(t, MMR, data, width, flags)
	})
}

// FuzzRoundTrip encodes a page made of the fuzz bytes with options chosen
// by flags, through AppendPage and WriteRow (the same bits), and requires
// the decoder to give it back exactly.
func FuzzRoundTrip(f *testing.F) {
	for i, s := range decodeSeeds(MH) {
		s.flags = uint8(i * 37)
		f.Add(s.data, s.width, s.flags)
		if *writeSeeds {
			writeSeed(f, "FuzzRoundTrip", i, s)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, width uint16, flags uint8) {
		w := 1 + int(width)%3000
		stride := (w + 7) / 8
		h := min(len(data)/stride, 200)
		page := NewBitmap(w, h)
		copy(page.Pix, data)
		if r := w & 7; r != 0 {
			for y := range h {
				page.Pix[y*stride+stride-1] &= 0xff << (8 - r)
			}
		}
		o := EncodeOptions{
			Compression: Compression(1 + flags%3),
			BitOrder:    BitOrder(flags >> 2 & 1),
			AlignEOL:    flags&8 != 0,
			NoRTC:       flags&16 != 0,
			K:           int(flags >> 5),
		}
		if o.Compression == MH && flags&128 != 0 {
			o.NoEOL = true
		}
		if flags&64 != 0 {
			o.MinRowBits = 200
		}
		enc, err := AppendPage(nil, page, &o)
		if err != nil {
			t.Fatal(err)
		}
		var general []byte
		withRepeats(false, func() { general, err = AppendPage(nil, page, &o) })
		if err != nil || !bytes.Equal(general, enc) {
			t.Fatalf("%+v: the coding differs without the repeat shortcuts (%v)", o, err)
		}
		if rows := encodeRows(t, page, o); !bytes.Equal(rows, enc) {
			t.Fatalf("%+v: WriteRow's coding differs from AppendPage's", o)
		}
		dopt := decodeOptionsFor(o)
		dopt.Strict = true
		if o.NoRTC || o.NoEOL {
			dopt.Rows = h
		}
		got, st, err := DecodePage(bytes.NewReader(enc), w, dopt)
		if h == 0 && (o.NoRTC || o.NoEOL) {
			return // nothing to check: Rows 0 means "until the end"
		}
		if err != nil || st.BadRows != 0 {
			t.Fatalf("decode %+v: %v %+v", o, err, st)
		}
		if !bytes.Equal(got.Pix, page.Pix) || got.Height != h {
			t.Fatalf("round trip %+v: pixels differ", o)
		}
	})
}
