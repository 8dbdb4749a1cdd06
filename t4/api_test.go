package t4

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"
)

func TestOptionErrors(t *testing.T) {
	for _, c := range []struct {
		name  string
		width int
		enc   *EncodeOptions
		dec   *DecodeOptions
		want  error
	}{
		{"width0", 0, nil, nil, ErrWidth},
		{"negative", -5, nil, nil, ErrWidth},
		{"too wide", MaxWidth + 1, nil, nil, ErrWidth},
		{"compression", 1728, &EncodeOptions{Compression: 4}, &DecodeOptions{Compression: 4}, ErrOptions},
		{"bit order", 1728, &EncodeOptions{BitOrder: 2}, &DecodeOptions{BitOrder: 2}, ErrOptions},
		{"noeol MR", 1728, &EncodeOptions{Compression: MR, NoEOL: true}, &DecodeOptions{Compression: MR, NoEOL: true}, ErrOptions},
		{"noeol MMR", 1728, &EncodeOptions{Compression: MMR, NoEOL: true}, &DecodeOptions{Compression: MMR, NoEOL: true}, ErrOptions},
		{"K", 1728, &EncodeOptions{Compression: MR, K: -1}, nil, ErrOptions},
		{"fill", 1728, &EncodeOptions{MinRowBits: -1}, nil, ErrOptions},
		{"rows", 1728, nil, &DecodeOptions{Rows: DefaultMaxRows + 1}, ErrTooLarge},
		{"rows vs max", 1728, nil, &DecodeOptions{Rows: 11, MaxRows: 10}, ErrTooLarge},
		{"negative rows", 1728, nil, &DecodeOptions{Rows: -1}, ErrOptions},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.enc != nil || c.dec == nil {
				if _, err := NewEncoder(io.Discard, c.width, c.enc); !errors.Is(err, c.want) {
					t.Errorf("NewEncoder: %v, want %v", err, c.want)
				}
			}
			if c.dec != nil || c.enc == nil {
				if _, err := NewDecoder(strings.NewReader(""), c.width, c.dec); !errors.Is(err, c.want) {
					t.Errorf("NewDecoder: %v, want %v", err, c.want)
				}
			}
		})
	}
	// DecodePage refuses a page larger than MaxPageBytes before allocating.
	_, _, err := DecodePage(strings.NewReader(""), MaxWidth, &DecodeOptions{Rows: DefaultMaxRows})
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("DecodePage of %d rows of width %d: %v", DefaultMaxRows, MaxWidth, err)
	}
}

func TestRowLengthErrors(t *testing.T) {
	e, err := NewEncoder(io.Discard, 1728, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.WriteRow(make([]byte, 215)); !errors.Is(err, ErrWidth) {
		t.Errorf("short row: %v", err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.WriteRow(make([]byte, 216)); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
	d, err := NewDecoder(strings.NewReader(""), 1728, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.ReadRow(make([]byte, 10)); !errors.Is(err, ErrWidth) {
		t.Errorf("short dst: %v", err)
	}
}

func TestStrings(t *testing.T) {
	for v, want := range map[interface{ String() string }]string{
		MH: "MH", MR: "MR", MMR: "MMR", Compression(9): "Compression(9)",
		MSBFirst: "MSBFirst", LSBFirst: "LSBFirst", BitOrder(7): "BitOrder(7)",
	} {
		if got := v.String(); got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
	}
}

func TestMinRowBits(t *testing.T) {
	for _, c := range []struct{ ms, rate, want int }{
		{0, 9600, 0}, {5, 2400, 12}, {10, 4800, 48}, {10, 9600, 96}, {20, 14400, 288}, {40, 9600, 384}, {5, 7200, 36}, {20, -1, 0},
	} {
		if got := MinRowBits(c.ms, c.rate); got != c.want {
			t.Errorf("MinRowBits(%d, %d) = %d, want %d", c.ms, c.rate, got, c.want)
		}
	}
	// Every coded row, EOL to EOL, is at least MinRowBits long.
	page := genPage(pageBlank, 1728, 20, 1)
	for _, comp := range []Compression{MH, MR} {
		for _, align := range []bool{false, true} {
			_, starts := rowStarts(t, page, EncodeOptions{Compression: comp, MinRowBits: 288, AlignEOL: align})
			for y := 1; y < len(starts); y++ {
				if d := starts[y] - starts[y-1]; d < 288 || d > 288+8 {
					t.Fatalf("%v align=%v: row %d is %d bits", comp, align, y-1, d)
				}
			}
		}
	}
}

// eolEnds returns the bit offsets of the last bit of every EOL (eleven or
// more zeros and a one) in MSB-first data.
func eolEnds(data []byte) []int {
	var ends []int
	zeros := 0
	for i := range len(data) * 8 {
		if data[i>>3]&(0x80>>uint(i&7)) == 0 {
			zeros++
			continue
		}
		if zeros >= 11 {
			ends = append(ends, i)
		}
		zeros = 0
	}
	return ends
}

func TestAlignEOLAndRTC(t *testing.T) {
	page := genPage(pageText, 1728, 30, 3)
	for _, comp := range []Compression{MH, MR} {
		data, err := AppendPage(nil, page, &EncodeOptions{Compression: comp, K: 3, AlignEOL: true})
		if err != nil {
			t.Fatal(err)
		}
		ends := eolEnds(data)
		if len(ends) != 30+6 {
			t.Fatalf("%v: %d EOLs, want 36 (30 rows + RTC)", comp, len(ends))
		}
		for _, e := range ends {
			if e%8 != 7 {
				t.Fatalf("%v: EOL ends at bit %d, not on an octet boundary", comp, e)
			}
		}
		noRTC, err := AppendPage(nil, page, &EncodeOptions{Compression: comp, K: 3, AlignEOL: true, NoRTC: true})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(eolEnds(noRTC)); n != 30 {
			t.Fatalf("%v NoRTC: %d EOLs, want 30", comp, n)
		}
	}
	// MMR: EOFB is the only EOL pair.
	data, _ := AppendPage(nil, page, &EncodeOptions{Compression: MMR})
	if n := len(eolEnds(data)); n != 2 {
		t.Fatalf("MMR: %d EOLs, want the 2 of EOFB", n)
	}
	data, _ = AppendPage(nil, page, &EncodeOptions{Compression: MMR, NoRTC: true})
	if n := len(eolEnds(data)); n != 0 {
		t.Fatalf("MMR without EOFB: %d EOLs", n)
	}
}

func TestBitOrderIsReversal(t *testing.T) {
	page := genPage(pageText, 2048, 25, 4)
	for _, comp := range []Compression{MH, MR, MMR} {
		msb, _ := AppendPage(nil, page, &EncodeOptions{Compression: comp})
		lsb, _ := AppendPage(nil, page, &EncodeOptions{Compression: comp, BitOrder: LSBFirst})
		if len(msb) != len(lsb) {
			t.Fatalf("%v: lengths differ", comp)
		}
		for i := range msb {
			if reverseBits[msb[i]] != lsb[i] {
				t.Fatalf("%v: octet %d: %#x vs %#x", comp, i, msb[i], lsb[i])
			}
		}
	}
}

// A page long enough to make the Encoder write to its io.Writer several
// times, and Reset reuse, give the same bytes as AppendPage.
func TestStreamingAndReset(t *testing.T) {
	page := genPage(pageNoise, 1728, 300, 5)
	for _, cc := range codecCases() {
		want, err := AppendPage(nil, page, &cc.enc)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		e, err := NewEncoder(&buf, page.Width, &cc.enc)
		if err != nil {
			t.Fatal(err)
		}
		d, err := NewDecoder(nil, page.Width, decodeOptionsFor(cc.enc))
		if err != nil {
			t.Fatal(err)
		}
		row := make([]byte, page.Stride)
		for pass := range 2 {
			buf.Reset()
			e.Reset(&buf)
			for y := range page.Height {
				if err := e.WriteRow(page.Row(y)); err != nil {
					t.Fatal(err)
				}
				if pass == 0 && y == 100 {
					break // an abandoned page; Reset must forget it
				}
			}
			if pass == 0 {
				continue
			}
			if err := e.Close(); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Fatalf("%s: streamed output differs from AppendPage", cc.name)
			}
		}
		for pass := range 2 {
			d.Reset(iotest.HalfReader(bytes.NewReader(want)))
			for y := range page.Height {
				if pass == 0 && y == 50 {
					break
				}
				if err := d.ReadRow(row); err != nil {
					t.Fatalf("%s: row %d: %v", cc.name, y, err)
				}
				if !bytes.Equal(row, page.Row(y)) {
					t.Fatalf("%s: row %d differs", cc.name, y)
				}
			}
			if pass == 1 {
				if err := d.ReadRow(row); err != io.EOF && !(cc.enc.NoRTC || cc.enc.NoEOL) {
					t.Fatalf("%s: after the last row: %v", cc.name, err)
				}
			}
		}
	}
}

func TestMaxRows(t *testing.T) {
	page := genPage(pageText, 64, 100, 6)
	for _, comp := range []Compression{MH, MR, MMR} {
		data, _ := AppendPage(nil, page, &EncodeOptions{Compression: comp})
		_, _, err := DecodePage(bytes.NewReader(data), 64, &DecodeOptions{Compression: comp, MaxRows: 50})
		var de *DecodeError
		if !errors.As(err, &de) || !errors.Is(err, ErrTooLarge) || de.Row != 50 {
			t.Fatalf("%v: %v, want ErrTooLarge at row 50", comp, err)
		}
	}
}

type failReader struct{ err error }

func (r failReader) Read([]byte) (int, error) { return 0, r.err }

func TestReaderErrors(t *testing.T) {
	boom := errors.New("boom")
	page := genPage(pageText, 1728, 40, 7)
	data, _ := AppendPage(nil, page, nil)
	r := io.MultiReader(bytes.NewReader(data[:len(data)/2]), failReader{boom})
	d, _ := NewDecoder(r, 1728, nil)
	row := make([]byte, 216)
	var err error
	for range 100 {
		if err = d.ReadRow(row); err != nil {
			break
		}
	}
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want the reader's error", err)
	}
	if err2 := d.ReadRow(row); !errors.Is(err2, boom) {
		t.Fatalf("error not sticky: %v", err2)
	}
	d.Reset(failReader{nil}) // (0, nil) forever
	if err := d.ReadRow(row); !errors.Is(err, io.ErrNoProgress) {
		t.Fatalf("empty reads: %v", err)
	}
	// Encoder: the writer's error is returned and sticky.
	e, _ := NewEncoder(errWriter{boom}, 1728, nil)
	for y := range 40 {
		if err = e.WriteRow(page.Row(y)); err != nil {
			break
		}
	}
	if err == nil {
		err = e.Close()
	}
	if !errors.Is(err, boom) || !errors.Is(e.Close(), boom) {
		t.Fatalf("writer error: %v", err)
	}
}

type errWriter struct{ err error }

func (w errWriter) Write([]byte) (int, error) { return 0, w.err }

// Garbage of every kind: decoding ends without panic, with bounded rows and
// consistent counts.
func TestHostileInput(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	inputs := map[string][]byte{
		"empty": {},
		"zeros": make([]byte, 5000),
		"ones":  bytes.Repeat([]byte{0xff}, 5000),
		"eols":  bytes.Repeat([]byte{0x00, 0x10, 0x01}, 1000),
		"v0":    bytes.Repeat([]byte{0xff}, 100000), // MMR: 800000 V0 rows
		"random": func() []byte {
			b := make([]byte, 20000)
			for i := range b {
				b[i] = byte(rng.Uint32())
			}
			return b
		}(),
		"ext": bytes.Repeat([]byte{0x02, 0x04, 0x08}, 100),
	}
	for name, data := range inputs {
		for _, comp := range []Compression{MH, MR, MMR} {
			for _, rows := range []int{0, 500} {
				for _, w := range []int{1, 1728, MaxWidth} {
					got, st, err := DecodePage(bytes.NewReader(data), w, &DecodeOptions{Compression: comp, Rows: rows, MaxRows: 2000})
					if err != nil {
						if !errors.Is(err, ErrTooLarge) {
							t.Fatalf("%s %v rows=%d w=%d: %v", name, comp, rows, w, err)
						}
						continue
					}
					if (rows > 0 && got.Height != rows) || st.Rows != got.Height || st.BadRows > st.Rows {
						t.Fatalf("%s %v rows=%d w=%d: height %d stats %+v", name, comp, rows, w, got.Height, st)
					}
				}
			}
		}
	}
}

// After setup, coding and decoding rows does not allocate.
func TestNoAllocationPerRow(t *testing.T) {
	page := genPage(pageText, 1728, 200, 8)
	for _, comp := range []Compression{MH, MR, MMR} {
		opt := &EncodeOptions{Compression: comp, K: 4, BitOrder: LSBFirst}
		data, _ := AppendPage(nil, page, opt)
		e, _ := NewEncoder(io.Discard, 1728, opt)
		d, _ := NewDecoder(nil, 1728, &DecodeOptions{Compression: comp, BitOrder: LSBFirst})
		r := bytes.NewReader(data)
		row := make([]byte, page.Stride)
		allocs := testing.AllocsPerRun(5, func() {
			e.Reset(io.Discard)
			for y := range page.Height {
				if err := e.WriteRow(page.Row(y)); err != nil {
					t.Fatal(err)
				}
			}
			if err := e.Close(); err != nil {
				t.Fatal(err)
			}
			r.Reset(data)
			d.Reset(r)
			for {
				if err := d.ReadRow(row); err != nil {
					break
				}
			}
		})
		if allocs != 0 {
			t.Errorf("%v: %v allocations per page", comp, allocs)
		}
	}
}

// A page of exactly MaxRows rows ends cleanly; one row more is an error.
func TestMaxRowsExact(t *testing.T) {
	page := genPage(pageText, 64, 40, 9)
	for _, comp := range []Compression{MH, MR, MMR} {
		data, _ := AppendPage(nil, page, &EncodeOptions{Compression: comp})
		got, _, err := DecodePage(bytes.NewReader(data), 64, &DecodeOptions{Compression: comp, MaxRows: 40})
		if err != nil || got.Height != 40 {
			t.Fatalf("%v: %v", comp, err)
		}
		if _, _, err := DecodePage(bytes.NewReader(data), 64, &DecodeOptions{Compression: comp, MaxRows: 39}); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("%v: %v, want ErrTooLarge", comp, err)
		}
	}
}

// Data cut inside the last row's codes never yields that row as good, even
// when the zeros past the end would complete a code.
func TestTruncatedLastRow(t *testing.T) {
	page := genPage(pageText, 1728, 12, 10)
	for _, comp := range []Compression{MH, MR, MMR} {
		data, starts := rowStarts(t, page, EncodeOptions{Compression: comp, NoRTC: true})
		for cut := starts[11] + 1; cut < len(data)*8; cut++ {
			if cut%8 != 0 {
				continue
			}
			got, st, err := DecodePage(bytes.NewReader(data[:cut/8]), 1728, &DecodeOptions{Compression: comp})
			if err != nil {
				t.Fatal(err)
			}
			if got.Height == 12 && st.BadRows == 0 && !bytes.Equal(got.Row(11), page.Row(11)) {
				t.Fatalf("%v cut at bit %d: a wrong last row passed as good", comp, cut)
			}
		}
	}
}
