package t4

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

// Rows equal to the previous row take shortcuts in both coders (the
// encoder reuses the previous row's changing elements, the decoder
// recognises the repeat's coding and copies the row). These tests hold the
// shortcuts to the general path: the same bytes out of the encoder, the
// same rows, counts and errors out of the decoder, damaged data included.

// repeatPage is a page of rows repeated 1 to 6 times: ruled lines, black
// bars, black rows, rows of 2 to about 300 changing elements (below and
// above what one bit-pattern test covers), white rows between them, rows
// that differ from the previous one only in the first or the last pixel,
// stretches of two rows alternating (see Decoder.twoBackNext), and, with
// pad, rows whose bits past the width differ from the previous
// row's (they are not part of the row).
func repeatPage(width, height int, seed uint64, pad bool) *Bitmap {
	b := NewBitmap(width, height)
	rng := rand.New(rand.NewPCG(seed, uint64(width)))
	row := make([]byte, b.Stride)
	alt := make([]byte, b.Stride)
	for y := 0; y < height; {
		clear(row)
		if rng.IntN(8) == 0 {
			// Two rows alternating (a line screen, hatching): the row
			// before the stretch, a black row, a white one or a random
			// one, and the row after it that differs in one pixel.
			copy(alt, row)
			if y > 0 {
				copy(alt, b.Row(y-1))
			}
			for i, p := range [][]byte{row, alt} {
				switch rng.IntN(4) {
				case 0:
					clear(p)
				case 1:
					for x := range width {
						p[x>>3] |= 0x80 >> uint(x&7)
					}
				case 2:
					if i == 0 {
						for range 1 + rng.IntN(40) {
							x := rng.IntN(width)
							p[x>>3] |= 0x80 >> uint(x&7)
						}
					}
				}
			}
			for r := 3 + rng.IntN(10); r > 0 && y < height; r-- {
				copy(b.Row(y), [][]byte{row, alt}[r&1])
				y++
			}
			if y < height && rng.IntN(2) == 0 {
				copy(b.Row(y), b.Row(y-2))
				x := rng.IntN(width)
				b.Row(y)[x>>3] ^= 0x80 >> uint(x&7)
				y++
			}
			continue
		}
		switch rng.IntN(7) {
		case 0: // white
		case 1: // black
			for x := range width {
				row[x>>3] |= 0x80 >> uint(x&7)
			}
		case 2: // a ruled box's sides, or a rule
			for x := range width {
				if x%200 < 2 || rng.IntN(30) == 0 && x < 4 {
					row[x>>3] |= 0x80 >> uint(x&7)
				}
			}
		case 3: // a black bar
			a := rng.IntN(width)
			for x := a; x < min(width, a+1+rng.IntN(width)); x++ {
				row[x>>3] |= 0x80 >> uint(x&7)
			}
		default: // k changing elements, up to about 300
			k := []int{3, 20, 41, 42, 43, 55, 56, 57, 120, 300}[rng.IntN(10)]
			for range k / 2 {
				x := rng.IntN(width)
				row[x>>3] |= 0x80 >> uint(x&7)
			}
		}
		for r := 1 + rng.IntN(6); r > 0 && y < height; r-- {
			copy(b.Row(y), row)
			if pad && width&7 != 0 {
				b.Row(y)[width>>3] |= byte(rng.Uint32()) >> uint(width&7)
			}
			y++
		}
		if y < height && rng.IntN(5) == 0 {
			// Differs from the previous row in one end pixel.
			copy(b.Row(y), row)
			x := 0
			if rng.IntN(2) == 0 {
				x = width - 1
			}
			b.Row(y)[x>>3] ^= 0x80 >> uint(x&7)
			y++
		}
	}
	return b
}

// masked returns b with the bits past the width cleared.
func masked(b *Bitmap) *Bitmap {
	c := &Bitmap{Width: b.Width, Height: b.Height, Stride: b.Stride, Pix: bytes.Clone(b.Pix)}
	if r := b.Width & 7; r != 0 {
		for y := range c.Height {
			c.Row(y)[b.Width>>3] &= 0xff << uint(8-r)
		}
	}
	return c
}

// withRepeats runs f with the repeat shortcuts on (true) or off.
func withRepeats(on bool, f func()) {
	noRepeats = !on
	defer func() { noRepeats = false }()
	f()
}

// encodeRows codes page row by row with WriteRow.
func encodeRows(t *testing.T, page *Bitmap, opt EncodeOptions) []byte {
	t.Helper()
	var buf bytes.Buffer
	e, err := NewEncoder(&buf, page.Width, &opt)
	if err != nil {
		t.Fatal(err)
	}
	for y := range page.Height {
		if err := e.WriteRow(page.Row(y)); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRepeatRowsEncodeLikeTheGeneralPath(t *testing.T) {
	for _, w := range []int{13, 1725, 1728, 4864} {
		page := repeatPage(w, 300, 1, true)
		for _, cc := range codecCases() {
			var want []byte
			withRepeats(false, func() { want = encodeRows(t, page, cc.enc) })
			var page1, rows []byte
			withRepeats(true, func() {
				var err error
				if page1, err = AppendPage(nil, page, &cc.enc); err != nil {
					t.Fatal(err)
				}
				rows = encodeRows(t, page, cc.enc)
			})
			if !bytes.Equal(page1, want) || !bytes.Equal(rows, want) {
				t.Errorf("width %d %s: the coding differs from the general path's (AppendPage %v, WriteRow %v)",
					w, cc.name, bytes.Equal(page1, want), bytes.Equal(rows, want))
			}
		}
	}
}

// chunkReader returns its data in reads of 1 to 300 octets: the read
// buffer is refilled, and what it held moved to its front, at every
// alignment of a row.
type chunkReader struct {
	data []byte
	rng  *rand.Rand
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), 1+r.rng.IntN(300))], r.data)
	r.data = r.data[n:]
	return n, nil
}

// decodeAll decodes data five ways (DecodeInto, ReadPage from a reader
// that returns one octet per read, from one that returns half of what is
// asked and from one of random reads, ReadRow) and returns what each
// gave.
func decodeAll(t *testing.T, data []byte, width, height int, dopt *DecodeOptions) []string {
	t.Helper()
	var out []string
	show := func(b *Bitmap, st Stats, err error) {
		out = append(out, fmt.Sprintf("%x %+v %v", b.Pix, st, err))
	}
	b := NewBitmap(width, height)
	st, err := DecodeInto(b, data, dopt)
	show(b, st, err)
	for _, r := range []io.Reader{iotest.OneByteReader(bytes.NewReader(data)), iotest.HalfReader(bytes.NewReader(data)),
		&chunkReader{data, rand.New(rand.NewPCG(uint64(len(data)), 1))}} {
		d, derr := NewDecoder(r, width, dopt)
		if derr != nil {
			t.Fatal(derr)
		}
		b := NewBitmap(width, height)
		st, err := d.ReadPage(b)
		show(b, st, err)
	}
	d, derr := NewDecoder(bytes.NewReader(data), width, dopt)
	if derr != nil {
		t.Fatal(derr)
	}
	b = NewBitmap(width, height)
	for y := 0; y < height; y++ {
		if err = d.ReadRow(b.Row(y)); err != nil {
			break
		}
	}
	show(b, d.Stats(), d.Err())
	return out
}

func TestRepeatRowsDecodeLikeTheGeneralPath(t *testing.T) {
	for _, w := range []int{13, 1725, 1728, 4864} {
		page := repeatPage(w, 300, 2, false)
		for _, cc := range codecCases() {
			data, err := AppendPage(nil, page, &cc.enc)
			if err != nil {
				t.Fatal(err)
			}
			dopt := decodeOptionsFor(cc.enc)
			var want, got []string
			withRepeats(false, func() { want = decodeAll(t, data, w, page.Height, dopt) })
			withRepeats(true, func() { got = decodeAll(t, data, w, page.Height, dopt) })
			if d := cmp.Diff(want, got); d != "" {
				t.Fatalf("width %d %s: the decoded rows differ from the general path's (-want +got):\n%s", w, cc.name, d)
			}
			b := NewBitmap(w, page.Height)
			if st, err := DecodeInto(b, data, dopt); err != nil || st.BadRows != 0 {
				t.Fatalf("width %d %s: %v %+v", w, cc.name, err, st)
			}
			requireSamePixels(t, masked(page), b)
		}
	}
}

// Damaged data: wherever the bits are flipped, including inside rows that
// repeat the previous one and inside their EOLs, the shortcuts give what
// the general path gives.
func TestRepeatRowsDamageLikeTheGeneralPath(t *testing.T) {
	const w, h = 1725, 160
	page := repeatPage(w, h, 3, false)
	rng := rand.New(rand.NewPCG(5, 6))
	for _, cc := range codecCases() {
		enc, err := AppendPage(nil, page, &cc.enc)
		if err != nil {
			t.Fatal(err)
		}
		for trial := range 25 {
			data := flipBits(rng, enc, 1+trial%4)
			for _, rows := range []int{0, h} {
				dopt := decodeOptionsFor(cc.enc)
				dopt.Rows = rows
				var want, got []string
				withRepeats(false, func() { want = decodeAll(t, data, w, h, dopt) })
				withRepeats(true, func() { got = decodeAll(t, data, w, h, dopt) })
				if d := cmp.Diff(want, got); d != "" {
					t.Fatalf("%s trial %d rows %d: the shortcuts differ from the general path (-want +got):\n%s", cc.name, trial, rows, d)
				}
			}
		}
	}
}

// The encoder's copies of the last rows are page data: scrub clears them.
func TestEncoderScrubsLastRow(t *testing.T) {
	page := repeatPage(1728, 40, 4, false)
	for _, c := range []Compression{MH, MR, MMR} {
		o, err := checkEncodeOptions(page.Width, &EncodeOptions{Compression: c})
		if err != nil {
			t.Fatal(err)
		}
		e := &Encoder{w: io.Discard, width: page.Width, opt: o}
		e.alloc()
		for y := range page.Height {
			if err := e.WriteRow(page.Row(y)); err != nil {
				t.Fatal(err)
			}
		}
		if !e.rows[0].ok || !e.rows[1].ok || allZero(e.rows[0].buf) || allZero(e.rows[1].buf) {
			t.Fatalf("%v: no last rows kept (the test does not test)", c)
		}
		e.scrub()
		if e.rows[0].ok || e.rows[1].ok || !allZero(e.rows[0].buf) || !allZero(e.rows[1].buf) {
			t.Errorf("%v: the scrubbed Encoder still holds the last rows", c)
		}
	}

	// And the copies WriteRow keeps for farBack (an ECG strip's grid).
	ecg := ecgPage()
	e, err := NewEncoder(io.Discard, ecg.Width, &EncodeOptions{Compression: MMR})
	if err != nil {
		t.Fatal(err)
	}
	for y := range ecg.Height {
		if err := e.WriteRow(ecg.Row(y)); err != nil {
			t.Fatal(err)
		}
	}
	if allZero(e.hist) || e.histAt == [farRing]int{} {
		t.Fatal("WriteRow kept no copies for farBack (the test does not test)")
	}
	e.scrub()
	if !allZero(e.hist) || e.histAt != [farRing]int{} || e.histUntil != 0 {
		t.Error("the scrubbed Encoder still holds WriteRow's copies")
	}
}

// lineScreen is a page of rows alternating between two patterns: a hatched
// bar inside a ruled box, then white and black rows.
func lineScreen(width, height int) *Bitmap {
	b := NewBitmap(width, height)
	for y := range height {
		for x := range width {
			frame := x == 40 || x == width-41
			bar := y%2 == 0 && x > 100 && x < width/2
			if y >= height/2 {
				frame, bar = false, y%2 == 1
			}
			b.SetBlack(x, y, frame || bar)
		}
	}
	return b
}

// lineScreenDecoder is a Decoder reading a page coded as cc says.
type lineScreenDecoder struct {
	cc codecCase
	d  *Decoder
}

// lineScreenDecoders returns Decoders reading page coded in every scheme
// and MR's K (with EOLs).
func lineScreenDecoders(t *testing.T, page *Bitmap) []lineScreenDecoder {
	t.Helper()
	var ds []lineScreenDecoder
	for _, cc := range codecCases() {
		if cc.enc.NoEOL {
			continue
		}
		data, err := AppendPage(nil, page, &cc.enc)
		if err != nil {
			t.Fatal(err)
		}
		d, err := NewDecoder(bytes.NewReader(data), page.Width, decodeOptionsFor(cc.enc))
		if err != nil {
			t.Fatal(err)
		}
		ds = append(ds, lineScreenDecoder{cc, d})
	}
	return ds
}

// The decoder takes rows that repeat the row two above from their bits
// (twoBackNext) in every scheme and MR's K, and they are the page's rows.
func TestTwoBackTakesLineScreens(t *testing.T) {
	const w, h = 1728, 80
	page := lineScreen(w, h)
	for _, c := range lineScreenDecoders(t, page) {
		cc, d := c.cc, c.d
		row := make([]byte, page.Stride)
		hits, could := 0, 0
		for y := range h {
			// From row 5 on, the rows repeat the rows two above them,
			// apart from where the pattern changes (and the coding of the
			// first row, after the leading EOL, and of a last row with no
			// EOL after it are not known). MR needs the row two or four
			// above to be coded like this one.
			if y >= 5 && (y < h/2 || y > h/2+2) && y < h-1 {
				could++
			}
			if d.twoBackNext() {
				d.rowDone(row)
				hits++
			} else if err := d.ReadRow(row); err != nil {
				t.Fatalf("%s row %d: %v", cc.name, y, err)
			}
			if !bytes.Equal(row, page.Row(y)) {
				t.Fatalf("%s: row %d differs", cc.name, y)
			}
		}
		want := could
		if cc.enc.Compression == MR && cc.enc.K%2 == 1 && cc.enc.K > 1 {
			want = could / 3 // odd K: some rows have neither
		}
		if hits < want {
			t.Errorf("%s: %d of %d rows taken as repeats of the row two above, want %d", cc.name, hits, could, want)
		}
	}
}

// After a row that repeated the row two above, ReadRow tries the next
// row's bits alone (twoBackAgain). It finds every row twoBackNext would,
// and the rows are the page's.
func TestTwoBackAgainTakesLineScreens(t *testing.T) {
	const w, h = 1728, 80
	page := lineScreen(w, h)
	for _, c := range lineScreenDecoders(t, page) {
		cc, d := c.cc, c.d
		row := make([]byte, page.Stride)
		hits, misses := 0, 0
		for y := range h {
			again := d.tbAt == d.stats.Rows
			if again && d.twoBackAgain() {
				if err := d.twoBackDone(row); err != nil {
					t.Fatal(err)
				}
				hits++
			} else {
				if err := d.ReadRow(row); err != nil {
					t.Fatalf("%s row %d: %v", cc.name, y, err)
				}
				if again && d.tbAt == d.stats.Rows {
					misses++ // twoBackNext took it
				}
			}
			if !bytes.Equal(row, page.Row(y)) {
				t.Fatalf("%s: row %d differs", cc.name, y)
			}
		}
		// Each half of the page has rows 2..39 of a line screen; the
		// first repeats are twoBackNext's, the last row's coding (no EOL
		// after it) is not known.
		want := 70
		if cc.enc.Compression == MR && cc.enc.K%2 == 1 && cc.enc.K > 1 {
			want = 20 // odd K: some rows have neither
		}
		if hits < want || misses > 0 {
			t.Errorf("%s: twoBackAgain took %d rows (want %d), missed %d", cc.name, hits, want, misses)
		}
	}
}

// A 2-D row coded like the row four above it is that row only if their
// references are equal too. In MR with K = 4, row 10 here (X under R) is
// coded like row 6 (Q under P): both rows are their reference moved one
// pixel left. Rows 8 and 9 repeat rows 6 and 7, so everything else
// twoBackNext looks at holds; X must not come out as Q, nor be coded as
// Q was.
func TestTwoBackNeedsTheSameReference(t *testing.T) {
	const w = 1728
	bar := func(a int) []byte {
		r := make([]byte, w/8)
		for x := a; x < a+100; x++ {
			r[x>>3] |= 0x80 >> uint(x&7)
		}
		return r
	}
	p, q, r, x := bar(100), bar(99), bar(300), bar(299)
	page := NewBitmap(w, 14)
	for y, row := range [][]byte{5: p, 6: q, 7: r, 8: q, 9: r, 10: x, 11: x, 12: r} {
		copy(page.Row(y), row)
	}
	for _, k := range []int{4, 2} {
		opt := EncodeOptions{Compression: MR, K: k}
		data, err := AppendPage(nil, page, &opt)
		if err != nil {
			t.Fatal(err)
		}
		var want []byte
		withRepeats(false, func() { want, _ = AppendPage(nil, page, &opt) })
		if !bytes.Equal(data, want) || !bytes.Equal(encodeRows(t, page, opt), want) {
			t.Errorf("K %d: the coding differs from the general path's", k)
		}
		got := NewBitmap(w, page.Height)
		if _, err := DecodeInto(got, data, decodeOptionsFor(opt)); err != nil {
			t.Fatal(err)
		}
		requireSamePixels(t, page, got)
	}
}

// The encoder copies the bits of the row two above for rows that repeat
// it (twoBack) in every scheme and MR's K, through WriteRow, and the page
// decodes to itself.
func TestEncoderTwoBackTakesLineScreens(t *testing.T) {
	const w, h = 1728, 80
	page := lineScreen(w, h)
	for _, cc := range codecCases() {
		if cc.enc.NoEOL {
			continue
		}
		var buf bytes.Buffer
		e, err := NewEncoder(&buf, w, &cc.enc)
		if err != nil {
			t.Fatal(err)
		}
		hits, could := 0, 0
		for y := range h {
			// White rows that putWhite codes in MH are not recorded.
			putWhite := cc.enc.Compression <= MH && e.white1N != 0 && e.whiteRow(page.Row(y))
			if y >= 5 && (y < h/2 || y > h/2+2) && !putWhite {
				could++
			}
			if !putWhite && e.twoBack(page.Row(y)) != nil {
				hits++
			}
			if err := e.WriteRow(page.Row(y)); err != nil {
				t.Fatal(err)
			}
		}
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
		want := could
		if cc.enc.Compression == MR && cc.enc.K%2 == 1 && cc.enc.K > 1 {
			want = could / 3 // odd K: some rows have neither
		}
		if hits < want {
			t.Errorf("%s: %d of %d rows coded as the row two above, want %d", cc.name, hits, could, want)
		}
		got := NewBitmap(w, h)
		if _, err := DecodeInto(got, buf.Bytes(), decodeOptionsFor(cc.enc)); err != nil {
			t.Fatal(err)
		}
		requireSamePixels(t, page, got)
	}
}
