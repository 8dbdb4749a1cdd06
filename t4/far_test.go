package t4

import (
	"bytes"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Rows that repeat a row 2 to maxPeriod rows above (Decoder.farNext, MMR
// through ReadPage): these tests hold the shortcut to the general path and
// check that it takes the rows it should.

// periodPage is a page of stretches of rows repeating with a period of 2
// to 9 rows: each stretch's rows are random (a few or a few hundred
// changing elements), white, or a copy of the one before (so that some of
// them repeat the row above, as an ECG grid's plain rows do); a stretch
// may end with a row that differs from the one a period above in one
// pixel. Between stretches come rows of random pixels.
func periodPage(width, height int, seed uint64) *Bitmap {
	b := NewBitmap(width, height)
	rng := rand.New(rand.NewPCG(seed, uint64(width)))
	random := func(row []byte, k int) {
		clear(row)
		for range k {
			x := rng.IntN(width)
			row[x>>3] |= 0x80 >> uint(x&7)
		}
	}
	for y := 0; y < height; {
		if rng.IntN(4) == 0 {
			random(b.Row(y), 1+rng.IntN(60))
			y++
			continue
		}
		p := 2 + rng.IntN(8)
		base := make([][]byte, p)
		for i := range base {
			base[i] = make([]byte, b.Stride)
			switch rng.IntN(4) {
			case 0: // white
			case 1:
				if i > 0 {
					copy(base[i], base[i-1])
					break
				}
				fallthrough
			default:
				random(base[i], []int{2, 5, 40, 300}[rng.IntN(4)])
			}
		}
		for r := p * (2 + rng.IntN(5)); r > 0 && y < height; r-- {
			copy(b.Row(y), base[y%p])
			y++
		}
		if y < height && rng.IntN(3) == 0 {
			copy(b.Row(y), b.Row(y-p))
			x := rng.IntN(width)
			b.Row(y)[x>>3] ^= 0x80 >> uint(x&7)
			y++
		}
	}
	if r := width & 7; r != 0 {
		for y := range height {
			b.Row(y)[width>>3] &= 0xff << uint(8-r)
		}
	}
	return b
}

// ReadPage (and DecodeInto) with the shortcuts gives what the general path
// gives, at widths that do and do not fill the last octet, from readers
// that return little at a time; and the page comes back.
func TestFarRowsDecodeLikeTheGeneralPath(t *testing.T) {
	for _, w := range []int{13, 1725, 1728} {
		page := periodPage(w, 400, 7)
		for _, o := range farCodings {
			data, err := AppendPage(nil, page, &o)
			if err != nil {
				t.Fatal(err)
			}
			dopt := decodeOptionsFor(o)
			var want, got []string
			withRepeats(false, func() { want = decodeAll(t, data, w, page.Height, dopt) })
			withRepeats(true, func() { got = decodeAll(t, data, w, page.Height, dopt) })
			if d := cmp.Diff(want, got); d != "" {
				t.Fatalf("width %d %+v: the decoded rows differ from the general path's (-want +got):\n%s", w, o, d)
			}
			b := NewBitmap(w, page.Height)
			if st, err := DecodeInto(b, data, dopt); err != nil || st.BadRows != 0 {
				t.Fatalf("width %d: %v %+v", w, err, st)
			}
			requireSamePixels(t, page, b)
		}
	}
}

// Damaged data: wherever the bits are flipped, the shortcut gives what
// the general path gives, with Rows known and not.
func TestFarRowsDamageLikeTheGeneralPath(t *testing.T) {
	const w, h = 1725, 200
	page := periodPage(w, h, 8)
	for _, o := range []EncodeOptions{{Compression: MMR}, {Compression: MR, K: 4}} {
		enc, err := AppendPage(nil, page, &o)
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(9, 10))
		for trial := range 40 {
			data := flipBits(rng, enc, 1+trial%3)
			for _, rows := range []int{0, h} {
				dopt := decodeOptionsFor(o)
				dopt.Rows = rows
				var want, got []string
				withRepeats(false, func() { want = decodeAll(t, data, w, h, dopt) })
				withRepeats(true, func() { got = decodeAll(t, data, w, h, dopt) })
				if d := cmp.Diff(want, got); d != "" {
					t.Fatalf("%v trial %d rows %d: the shortcut differs from the general path (-want +got):\n%s", o.Compression, trial, rows, d)
				}
			}
		}
	}
}

// farCodings are the codings the decoder's shortcut applies to: MMR, and
// MR with the K that put rows of the same kind four apart or not.
var farCodings = []EncodeOptions{
	{Compression: MMR}, {Compression: MMR, BitOrder: LSBFirst},
	{Compression: MR, K: 4}, {Compression: MR, K: 2}, {Compression: MR, K: 3},
	{Compression: MR, K: 4, AlignEOL: true, MinRowBits: 300},
}

// farDecode decodes data (MMR unless dopt says) into a bitmap of height
// rows, trying farNext before every row, and returns the bitmap and the
// rows farNext took: with inPage, the way ReadPage does (the bitmap's rows
// are the rows above); else with ReadRow into one buffer, copied out
// (ReadRow's copies of the rows above are its own).
func farDecode(t *testing.T, inPage bool, data []byte, width, height int, dopt ...*DecodeOptions) (*Bitmap, int) {
	t.Helper()
	d, err := NewDecoder(nil, width, append(dopt, &DecodeOptions{Compression: MMR})[0])
	if err != nil {
		t.Fatal(err)
	}
	d.ResetBytes(data)
	b := NewBitmap(width, height)
	if inPage {
		d.page, d.pageBase, d.inPage = b, 0, true
	}
	row := make([]byte, b.Stride)
	hits := 0
	for y := range height {
		if inPage {
			row = b.Row(y)
		}
		clear(row)
		if d.farNext(row) {
			hits++
		} else if err := d.ReadRow(row); err != nil {
			t.Fatalf("row %d: %v", y, err)
		}
		copy(b.Row(y), row)
	}
	return b, hits
}

// farRows is farDecode the way ReadPage decodes.
func farRows(t *testing.T, data []byte, width, height int, dopt ...*DecodeOptions) (*Bitmap, int) {
	t.Helper()
	return farDecode(t, true, data, width, height, dopt...)
}

// readRowsFar is farDecode through ReadRow into one buffer.
func readRowsFar(t *testing.T, data []byte, width, height int, dopt ...*DecodeOptions) (*Bitmap, int) {
	t.Helper()
	return farDecode(t, false, data, width, height, dopt...)
}

// On an ECG strip's grid, rows repeat rows four and eight above; farNext
// takes most of them, and they are the page's rows: in ReadPage, and in
// ReadRow, which starts keeping copies of its rows at the grid.
func TestFarTakesGridRows(t *testing.T) {
	page := ecgPage()
	data, err := AppendPage(nil, page, &EncodeOptions{Compression: MMR})
	if err != nil {
		t.Fatal(err)
	}
	got, hits := farRows(t, data, page.Width, page.Height)
	requireSamePixels(t, page, got)
	// 757 rows when counted; their references must be equal and
	// their rows decoded in full or taken here, which rules out rows
	// after the grid's plain rows that sameNext would have taken.
	if hits < 700 {
		t.Errorf("ReadPage: farNext took %d rows of the ECG strip, want 700 or more", hits)
	}
	got, hits = readRowsFar(t, data, page.Width, page.Height)
	requireSamePixels(t, page, got)
	if hits < 700 {
		t.Errorf("ReadRow: farNext took %d rows of the ECG strip, want 700 or more", hits)
	}

	// MR with K = 4: a row four or eight above is of the same kind.
	o := EncodeOptions{Compression: MR, K: 4}
	if data, err = AppendPage(nil, page, &o); err != nil {
		t.Fatal(err)
	}
	for i, decode := range []func(*testing.T, []byte, int, int, ...*DecodeOptions) (*Bitmap, int){farRows, readRowsFar} {
		got, hits := decode(t, data, page.Width, page.Height, decodeOptionsFor(o))
		requireSamePixels(t, page, got)
		if hits < 600 {
			t.Errorf("MR K=4 (%d): farNext took %d rows of the ECG strip, want 600 or more", i, hits)
		}
	}
}

// ReadRow into one buffer, rows a page of periods gives: the copies it
// compares are its own, and it stops keeping them where rows stop
// repeating rows further up.
func TestFarReadRowOneBuffer(t *testing.T) {
	for _, w := range []int{13, 1725, 1728} {
		page := periodPage(w, 600, 12)
		data, err := AppendPage(nil, page, &EncodeOptions{Compression: MMR})
		if err != nil {
			t.Fatal(err)
		}
		got, hits := readRowsFar(t, data, w, page.Height)
		requireSamePixels(t, page, got)
		if hits == 0 {
			t.Errorf("width %d: farNext took no rows", w)
		}
	}
}

// A row coded like the row p above is that row only if their references
// are equal. Here row 5 (X under R) is coded like row 1 (Q under P): both
// rows are their reference moved one pixel left, and P and R have the
// same key (listKey), so only the comparison of the references' pixels
// tells them apart.
func TestFarNeedsTheSameReference(t *testing.T) {
	const w = 1728
	row := func(ch ...int) []byte {
		r := make([]byte, w/8)
		for i := 0; i < len(ch); i += 2 {
			for x := ch[i]; x < ch[i+1]; x++ {
				r[x>>3] |= 0x80 >> uint(x&7)
			}
		}
		return r
	}
	// Eight runs: P's and R's first differ in length, at an element
	// listKey does not look at.
	runs := func(first, shift int) []byte {
		ch := []int{100 - shift, first - shift}
		for x := 300; x < 1700; x += 200 {
			ch = append(ch, x-shift, x+50-shift)
		}
		return row(ch...)
	}
	p, r := runs(200, 0), runs(250, 0)
	q, x := runs(200, 1), runs(250, 1)
	var tmp [8]byte
	if lp, lr := changes(tmp[:], p, w, make([]int32, w+8)), changes(tmp[:], r, w, make([]int32, w+8)); listKey(lp) != listKey(lr) {
		t.Fatal("P and R have different keys: the test does not test")
	}
	page := NewBitmap(w, 8)
	for y, b := range [][]byte{p, q, row(0, 10), row(20, 30), r, x, x, row(5, 6)} {
		copy(page.Row(y), b)
	}
	data, err := AppendPage(nil, page, &EncodeOptions{Compression: MMR})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := farRows(t, data, w, page.Height)
	requireSamePixels(t, page, got)
	b := NewBitmap(w, page.Height)
	if _, err := DecodeInto(b, data, &DecodeOptions{Compression: MMR}); err != nil {
		t.Fatal(err)
	}
	requireSamePixels(t, page, b)
}

// The coding of a row farNext took is recorded like a decoded row's: a
// period that holds for many rows is taken from its second period on.
func TestFarTakesRowsAfterTakenRows(t *testing.T) {
	const w, h = 1728, 200
	page := NewBitmap(w, h)
	rng := rand.New(rand.NewPCG(1, 2))
	var base [5][]byte
	for i := range base {
		base[i] = make([]byte, page.Stride)
		for range 50 {
			x := rng.IntN(w)
			base[i][x>>3] |= 0x80 >> uint(x&7)
		}
	}
	for y := range h {
		copy(page.Row(y), base[y%5])
	}
	data, err := AppendPage(nil, page, &EncodeOptions{Compression: MMR})
	if err != nil {
		t.Fatal(err)
	}
	got, hits := farRows(t, data, w, h)
	requireSamePixels(t, page, got)
	// Rows 0-5 are decoded: row 5's reference, row 4, has no row five
	// above it in the page (row 0's reference is the white row above
	// the page). From row 6 on every row repeats the row five above,
	// apart from the last: bitReader.repeat compares bits only with
	// eight octets after them, and EOFB is three.
	if hits != h-7 {
		t.Errorf("farNext took %d rows, want %d", hits, h-7)
	}
}

// The pooled decoder does not keep the caller's bitmap, nor the records,
// nor ReadRow's copies of rows.
func TestFarScrub(t *testing.T) {
	page := periodPage(1728, 60, 3)
	data, err := AppendPage(nil, page, &EncodeOptions{Compression: MMR})
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewDecoder(nil, page.Width, &DecodeOptions{Compression: MMR})
	if err != nil {
		t.Fatal(err)
	}
	d.ResetBytes(data)
	b := NewBitmap(page.Width, page.Height)
	if _, err := d.ReadPage(b); err != nil {
		t.Fatal(err)
	}
	if d.page != nil {
		t.Error("the Decoder keeps ReadPage's bitmap")
	}
	if d.far == (farRecords{}) {
		t.Fatal("no records (the test does not test)")
	}
	d.scrub()
	if d.far != (farRecords{}) {
		t.Error("scrub left the records")
	}
	requireSamePixels(t, page, b)

	// ReadRow's copies of the rows.
	got, hits := readRowsFar(t, data, page.Width, page.Height)
	requireSamePixels(t, page, got)
	d.ResetBytes(data)
	row := make([]byte, page.Stride)
	for d.ReadRow(row) == nil {
	}
	kept := false
	for _, h := range d.hist {
		kept = kept || !allZero(h)
	}
	if !kept || hits == 0 {
		t.Fatal("ReadRow kept no rows (the test does not test)")
	}
	d.scrub()
	for i, h := range d.hist {
		if !allZero(h) || d.histAt[i] != 0 {
			t.Fatal("scrub left ReadRow's copies of rows")
		}
	}
}

// ReadPage after rows read with ReadRow puts the next row in the bitmap's
// first row; the rows farNext compares are the bitmap's, never above it.
func TestFarAfterReadRow(t *testing.T) {
	page := periodPage(1728, 300, 11)
	data, err := AppendPage(nil, page, &EncodeOptions{Compression: MMR})
	if err != nil {
		t.Fatal(err)
	}
	for _, first := range []int{1, 5, 37} {
		d, err := NewDecoder(nil, page.Width, &DecodeOptions{Compression: MMR})
		if err != nil {
			t.Fatal(err)
		}
		d.ResetBytes(data)
		row := make([]byte, page.Stride)
		for y := range first {
			if err := d.ReadRow(row); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(row, page.Row(y)) {
				t.Fatalf("row %d differs", y)
			}
		}
		rest := NewBitmap(page.Width, page.Height-first)
		if st, err := d.ReadPage(rest); err != nil || st.Rows != page.Height || st.BadRows != 0 {
			t.Fatalf("after %d rows: %v %+v", first, err, st)
		}
		want := &Bitmap{Width: page.Width, Height: rest.Height, Stride: page.Stride, Pix: page.Pix[first*page.Stride:]}
		requireSamePixels(t, want, rest)
	}
}

// The encoder codes MMR rows that repeat a row further up with that row's
// bits (farBack) in AppendPage and EncodePage: the output is the general
// path's, and WriteRow's (which does not look), byte for byte.
func TestFarRowsEncodeLikeTheGeneralPath(t *testing.T) {
	pages := []*Bitmap{ecgPage()}
	for _, w := range []int{13, 1725, 1728} {
		pages = append(pages, periodPage(w, 400, 13))
	}
	for i, page := range pages {
		for _, o := range append([]EncodeOptions{{Compression: MMR, NoRTC: true}}, farCodings...) {
			got, err := AppendPage(nil, page, &o)
			if err != nil {
				t.Fatal(err)
			}
			var want []byte
			withRepeats(false, func() { want, err = AppendPage(nil, page, &o) })
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("page %d %+v: the coding differs from the general path's", i, o)
			}
			if !bytes.Equal(encodeRows(t, page, o), want) {
				t.Fatalf("page %d %+v: WriteRow's coding differs", i, o)
			}
			var buf bytes.Buffer
			if err := EncodePage(&buf, page, &o); err != nil || !bytes.Equal(buf.Bytes(), want) {
				t.Fatalf("page %d %+v: EncodePage's coding differs (%v)", i, o, err)
			}
		}
	}
}

// farBack finds the ECG grid's rows that repeat rows four and eight above
// as AppendPage codes the page.
func TestEncoderFarBackTakesGridRows(t *testing.T) {
	page := ecgPage()
	for i := range 4 {
		rows, mr := i&1 != 0, i >= 2
		opt, want := EncodeOptions{Compression: MMR}, 700
		if mr {
			// MR with K = 4: rows four and eight above are of the same kind.
			opt, want = EncodeOptions{Compression: MR, K: 4}, 680
		}
		o, err := checkEncodeOptions(page.Width, &opt)
		if err != nil {
			t.Fatal(err)
		}
		e := &Encoder{width: page.Width, opt: o, w: io.Discard}
		e.alloc()
		e.Reset(io.Discard)
		if !rows {
			e.bw.buf = make([]byte, 1<<20)
			e.w, e.page = nil, page
		}
		hits := 0
		for y := range page.Height {
			row := page.Row(y)
			var prev []byte
			if y > 0 {
				prev = page.Row(y - 1)
			}
			white := e.whiteRow(row)
			if b0 := e.recs.back(0); !white && !(prev != nil && sameRow(row, prev, e.width)) &&
				!((b0.eq || b0.white) && b0.after == e.row && e.twoBack(row) != nil) && e.farBack(row) != nil {
				hits++
			}
			if rows {
				err = e.WriteRow(row)
			} else {
				_, err = e.writeRow(row, prev, white)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		// 757 rows in AppendPage's MMR; WriteRow codes the first few in
		// full, before it has copies of the rows above.
		if hits < want {
			t.Errorf("%v, WriteRow %v: farBack found %d rows of the ECG strip, want %d or more", opt.Compression, rows, hits, want)
		}
	}
}

// rowAt from ReadRow's copies: a row kept is its copy; a row since
// histBegin without one (a white row or a repeat of the row above, which
// keep does not copy) is the last row before it that has one; rows before
// histBegin, at or past histEnd, or more than farRing rows past the last
// copy are not known.
func TestFarRowAt(t *testing.T) {
	d, err := NewDecoder(nil, 16, &DecodeOptions{Compression: MMR})
	if err != nil {
		t.Fatal(err)
	}
	// An earlier stretch of copies, then the one tested.
	d.histStart(80)
	d.stats.Rows = 91
	d.keep([]byte{90, 0})
	d.histStart(100)
	kept := map[int]bool{100: true, 103: true, 104: true, 109: true, 160: true}
	for y := 100; y < 164; y++ {
		d.stats.Rows = y + 1
		if kept[y] {
			d.keep([]byte{byte(y), 0})
		}
	}
	for _, c := range []struct{ y, want int }{
		{99, -1}, {100, 100}, {101, 100}, {102, 100}, {103, 103}, {104, 104}, {108, 104},
		{109, 109}, {124, 109}, {125, -1}, {159, -1}, {160, 160}, {163, 160}, {164, -1},
	} {
		got := -1
		if r := d.rowAt(c.y); r != nil {
			got = int(r[0])
		}
		if got != c.want {
			t.Errorf("rowAt(%d) is row %d's, want %d's (-1: none)", c.y, got, c.want)
		}
	}
	// keep stops at histEnd; the rows from there on are not known.
	d.stats.Rows = d.histEnd + 1
	d.keep([]byte{1, 0})
	if d.histOn {
		t.Error("keep did not stop at histEnd")
	}
	if r := d.rowAt(d.histEnd); r != nil {
		t.Errorf("rowAt knows row %d, past histEnd", d.histEnd)
	}
}
