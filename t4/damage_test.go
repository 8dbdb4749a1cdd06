package t4

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// rowStarts encodes page with opts (MSB first) and returns the data and the
// bit offset where each row's code begins (after its EOL and tag bit).
func rowStarts(t *testing.T, page *Bitmap, opts EncodeOptions) ([]byte, []int) {
	t.Helper()
	o, err := checkEncodeOptions(page.Width, &opts)
	if err != nil {
		t.Fatal(err)
	}
	e := &Encoder{width: page.Width, opt: o}
	e.alloc()
	var starts []int
	for y := range page.Height {
		p := e.bw.pos()
		if e.eolMode() {
			if o.AlignEOL {
				p += int((4 - e.bw.n) & 7)
			}
			p += 12
			if o.Compression == MR {
				p++
			}
		}
		starts = append(starts, p)
		if err := e.WriteRow(page.Row(y)); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	return e.bw.buf[:e.bw.o], starts
}

// putBits overwrites data at bit offset p (MSB first) with the bit string s.
func putBits(data []byte, p int, s string) {
	for i, c := range s {
		q := p + i
		m := byte(0x80) >> uint(q&7)
		if c == '1' {
			data[q>>3] |= m
		} else {
			data[q>>3] &^= m
		}
	}
}

// badCode is no code in any table: eight zeros then a one is neither a run
// code, a mode code nor an EOL.
const badCode = "000000001"

type damageWant struct {
	bad, longest int
	// source[y] is the original row that output row y must equal.
	source []int
}

func checkDamage(t *testing.T, page *Bitmap, got *Bitmap, st Stats, want damageWant) {
	t.Helper()
	if diff := cmp.Diff(Stats{Rows: len(want.source), BadRows: want.bad, LongestBadRun: want.longest}, st); diff != "" {
		t.Fatalf("stats (-want +got):\n%s", diff)
	}
	if got.Height != len(want.source) {
		t.Fatalf("%d rows, want %d", got.Height, len(want.source))
	}
	for y, src := range want.source {
		var wantRow []byte
		if src >= 0 {
			wantRow = page.Row(src)
		} else {
			wantRow = make([]byte, page.Stride)
		}
		if !bytes.Equal(got.Row(y), wantRow) {
			t.Fatalf("row %d is not original row %d", y, src)
		}
	}
}

// concealed returns the row mapping of a page whose rows bad are replaced
// by the last good row before them (-1: white).
func concealed(h int, bad ...int) []int {
	src := make([]int, h)
	isBad := map[int]bool{}
	for _, b := range bad {
		isBad[b] = true
	}
	last := -1
	for y := range h {
		if isBad[y] {
			src[y] = last
		} else {
			src[y] = y
			last = y
		}
	}
	return src
}

func TestDamageMHRows(t *testing.T) {
	page := genPage(pageText, 1728, 120, 5)
	for _, align := range []bool{false, true} {
		t.Run(fmt.Sprint("align=", align), func(t *testing.T) {
			data, starts := rowStarts(t, page, EncodeOptions{AlignEOL: align})
			for _, y := range []int{0, 10, 11, 12, 50, 119} {
				putBits(data, starts[y], badCode)
			}
			for _, rows := range []int{0, 120} {
				got, st, err := DecodePage(bytes.NewReader(data), 1728, &DecodeOptions{Rows: rows})
				if err != nil {
					t.Fatal(err)
				}
				checkDamage(t, page, got, st, damageWant{6, 3, concealed(120, 0, 10, 11, 12, 50, 119)})
			}
			_, _, err := DecodePage(bytes.NewReader(data), 1728, &DecodeOptions{Strict: true})
			var de *DecodeError
			if !asDecodeError(err, &de) || de.Row != 0 || de.Bit < int64(starts[0]) || de.Bit >= int64(starts[1]) || !errors.Is(err, ErrCorrupt) {
				t.Fatalf("strict: %v, want ErrCorrupt at row 0, bits %d..%d", err, starts[0], starts[1])
			}
		})
	}
}

// A destroyed EOL merges two rows: the first is bad, the second is lost
// whole and, with Rows known, made up for at the end of the page.
func TestDamageMHLostEOL(t *testing.T) {
	const h = 60
	page := genPage(pageText, 1728, h, 6)
	data, starts := rowStarts(t, page, EncodeOptions{})
	putBits(data, starts[20]-5, "1") // inside the EOL before row 20
	got, st, err := DecodePage(bytes.NewReader(data), 1728, &DecodeOptions{Rows: h})
	if err != nil {
		t.Fatal(err)
	}
	src := concealed(h, 19)
	for y := 20; y < h-1; y++ {
		src[y] = y + 1
	}
	src[h-1] = h - 1 // the lost row, concealed by the last good row
	checkDamage(t, page, got, st, damageWant{2, 1, src})
	// Without Rows the page is one row short and only the merged row is bad.
	got, st, err = DecodePage(bytes.NewReader(data), 1728, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkDamage(t, page, got, st, damageWant{1, 1, src[:h-1]})
}

func TestDamageMR(t *testing.T) {
	const h = 40
	page := genPage(pageText, 1728, h, 7)
	data, starts := rowStarts(t, page, EncodeOptions{Compression: MR, K: 4})
	// Row 9 is 2-D: rows 9..11 are lost (their reference is gone) up to the
	// 1-D row 12. Row 20 is 1-D: rows 20..23 are lost.
	putBits(data, starts[9], badCode)
	putBits(data, starts[20], badCode)
	got, st, err := DecodePage(bytes.NewReader(data), 1728, &DecodeOptions{Compression: MR})
	if err != nil {
		t.Fatal(err)
	}
	checkDamage(t, page, got, st, damageWant{7, 4, concealed(h, 9, 10, 11, 20, 21, 22, 23)})
}

func TestDamageMMR(t *testing.T) {
	const h = 50
	page := genPage(pageText, 1728, h, 8)
	for _, y := range []int{0, 1, 30, h - 1} {
		data, starts := rowStarts(t, page, EncodeOptions{Compression: MMR})
		putBits(data, starts[y], badCode)
		// Rows known: the rest of the page is the last good row.
		bad := make([]int, 0, h)
		for b := y; b < h; b++ {
			bad = append(bad, b)
		}
		got, st, err := DecodePage(bytes.NewReader(data), 1728, &DecodeOptions{Compression: MMR, Rows: h})
		if err != nil {
			t.Fatal(err)
		}
		checkDamage(t, page, got, st, damageWant{h - y, h - y, concealed(h, bad...)})
		// Rows unknown: the corrupt row is concealed and the page ends.
		got, st, err = DecodePage(bytes.NewReader(data), 1728, &DecodeOptions{Compression: MMR})
		if err != nil {
			t.Fatal(err)
		}
		checkDamage(t, page, got, st, damageWant{1, 1, concealed(y+1, y)})
	}
}

func TestDamageTruncated(t *testing.T) {
	const h = 30
	page := genPage(pageText, 1728, h, 9)
	for _, comp := range []Compression{MH, MR, MMR} {
		t.Run(comp.String(), func(t *testing.T) {
			data, starts := rowStarts(t, page, EncodeOptions{Compression: comp})
			cut := data[:(starts[17]+20)/8] // inside row 17
			got, st, err := DecodePage(bytes.NewReader(cut), 1728, &DecodeOptions{Compression: comp, Rows: h})
			if err != nil {
				t.Fatal(err)
			}
			bad := []int{}
			for y := 17; y < h; y++ {
				bad = append(bad, y)
			}
			checkDamage(t, page, got, st, damageWant{h - 17, h - 17, concealed(h, bad...)})
		})
	}
}

// Random bit errors: the decoder must not fail, must deliver exactly Rows
// rows when told, and its counts must be consistent.
func TestDamageRandomFlips(t *testing.T) {
	const h = 64
	page := genPage(pageText, 1728, h, 10)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, cc := range codecCases() {
		enc, err := AppendPage(nil, page, &cc.enc)
		if err != nil {
			t.Fatal(err)
		}
		for trial := range 40 {
			data := flipBits(rng, enc, 1+trial%5)
			dopt := decodeOptionsFor(cc.enc)
			dopt.Rows = h
			got, st, err := DecodePage(bytes.NewReader(data), 1728, dopt)
			if err != nil || got.Height != h || st.Rows != h || st.BadRows > h || st.LongestBadRun > st.BadRows {
				t.Fatalf("%s trial %d: %v, stats %+v", cc.name, trial, err, st)
			}
			dopt.Rows = 0
			if _, st, err = DecodePage(bytes.NewReader(data), 1728, dopt); err != nil || st.Rows > 2*h {
				t.Fatalf("%s trial %d, rows unknown: %v, stats %+v", cc.name, trial, err, st)
			}
		}
	}
}

// flipBits returns a copy of data with n bits, chosen by rng, inverted.
func flipBits(rng *rand.Rand, data []byte, n int) []byte {
	data = bytes.Clone(data)
	for range n {
		i := rng.IntN(len(data) * 8)
		data[i>>3] ^= 0x80 >> uint(i&7)
	}
	return data
}

// shiftBits returns data without its first k bits (MSB first), padded with
// zero bits at the end.
func shiftBits(data []byte, k int) []byte {
	out := make([]byte, len(data))
	for i := range (len(data) * 8) - k {
		q := i + k
		if data[q>>3]&(0x80>>uint(q&7)) != 0 {
			out[i>>3] |= 0x80 >> uint(i&7)
		}
	}
	return out
}

// Streams without the leading EOL (rows terminated by EOLs instead, as some
// TIFF writers do) and with extra fill before the first EOL decode the same.
func TestLeadingEOLOptional(t *testing.T) {
	page := genPage(pageText, 1728, 30, 11)
	for _, comp := range []Compression{MH, MR} {
		data, starts := rowStarts(t, page, EncodeOptions{Compression: comp, K: 4})
		// Drop the EOL (and tag) before row 0.
		noEOL := shiftBits(data, starts[0])
		got, st, err := DecodePage(bytes.NewReader(noEOL), 1728, &DecodeOptions{Compression: comp})
		if err != nil || st.BadRows != 0 {
			t.Fatalf("%v without leading EOL: %v %+v", comp, err, st)
		}
		requireSamePixels(t, page, got)
		// 21 zero bits of fill before the first EOL.
		filled := make([]byte, len(data)+3)
		for i := range len(data) * 8 {
			if data[i>>3]&(0x80>>uint(i&7)) != 0 {
				q := i + 21
				filled[q>>3] |= 0x80 >> uint(q&7)
			}
		}
		got, st, err = DecodePage(bytes.NewReader(filled), 1728, &DecodeOptions{Compression: comp})
		if err != nil || st.BadRows != 0 {
			t.Fatalf("%v with leading fill: %v %+v", comp, err, st)
		}
		requireSamePixels(t, page, got)
	}
}

// eolMode reports whether the encoder writes EOLs (MH and MR, not
// Compression 2 or MMR).
func (e *Encoder) eolMode() bool { return e.opt.Compression != MMR && !e.opt.NoEOL }
