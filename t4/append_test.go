package t4

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"
)

var appendCodecs = []EncodeOptions{
	{},
	{Compression: MR, K: 4},
	{Compression: MMR},
	{Compression: MH, BitOrder: LSBFirst, AlignEOL: true},
	{Compression: MMR, BitOrder: LSBFirst},
}

// TestEncoderAppendPage checks that Encoder.AppendPage codes exactly what
// the io.Writer path codes, appends after the caller's bytes, and leaves
// the Encoder usable with its own writer.
func TestEncoderAppendPage(t *testing.T) {
	for _, o := range appendCodecs {
		for _, kind := range []pageKind{pageText, pageBlank, pageHalftone} {
			t.Run(fmt.Sprintf("%v-%v-%s", o.Compression, o.BitOrder, kind), func(t *testing.T) {
				p := genPage(kind, 1728, 97, 5)
				var want bytes.Buffer
				if err := EncodePage(&want, p, &o); err != nil {
					t.Fatal(err)
				}
				var sink bytes.Buffer
				e, err := NewEncoder(&sink, p.Width, &o)
				if err != nil {
					t.Fatal(err)
				}
				prefix := []byte("hdr")
				got, err := e.AppendPage(prefix, p)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got[:3], prefix) || !bytes.Equal(got[3:], want.Bytes()) {
					t.Fatalf("AppendPage coded %d bytes, want %d identical to EncodePage", len(got)-3, want.Len())
				}
				if sink.Len() != 0 {
					t.Fatalf("AppendPage wrote %d bytes to the encoder's writer", sink.Len())
				}
				keep := bytes.Clone(got)
				e.Reset(&sink)
				for y := range p.Height {
					if err := e.WriteRow(p.Row(y)); err != nil {
						t.Fatal(err)
					}
				}
				if err := e.Close(); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(sink.Bytes(), want.Bytes()) || !bytes.Equal(got, keep) {
					t.Fatal("the encoder's writer path changed after AppendPage, or it wrote into the appended slice")
				}
				if _, err := e.AppendPage(nil, NewBitmap(100, 1)); !errors.Is(err, ErrWidth) {
					t.Fatalf("width mismatch: %v, want ErrWidth", err)
				}
			})
		}
		// A near-blank page: long stretches of white rows around text.
		t.Run(fmt.Sprintf("%v-%v-nearblank", o.Compression, o.BitOrder), func(t *testing.T) {
			p := nearBlankPage()
			var want bytes.Buffer
			if err := EncodePage(&want, p, &o); err != nil {
				t.Fatal(err)
			}
			got, err := AppendPage(nil, p, &o)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want.Bytes()) {
				t.Fatalf("AppendPage coded %d bytes, want %d identical to EncodePage", len(got), want.Len())
			}
		})
	}
}

// TestDecodeInto decodes pages from bytes into a caller's bitmap and checks
// the pixels, the row count, the limit and that the data is not written.
func TestDecodeInto(t *testing.T) {
	for _, o := range appendCodecs {
		for _, kind := range []pageKind{pageText, pageBlank, pageNoise} {
			t.Run(fmt.Sprintf("%v-%v-%s", o.Compression, o.BitOrder, kind), func(t *testing.T) {
				p := genPage(kind, 1728, 61, 9)
				data, err := AppendPage(nil, p, &o)
				if err != nil {
					t.Fatal(err)
				}
				orig := bytes.Clone(data)
				dopt := &DecodeOptions{Compression: o.Compression, BitOrder: o.BitOrder}

				dst := NewBitmap(1728, 80) // taller than the page
				st, err := DecodeInto(dst, data, dopt)
				if err != nil || st.Rows != p.Height || st.BadRows != 0 {
					t.Fatalf("DecodeInto: %+v, %v; want %d good rows", st, err, p.Height)
				}
				requireSamePixels(t, p, &Bitmap{Width: 1728, Height: p.Height, Stride: dst.Stride, Pix: dst.Pix[:p.Height*dst.Stride]})
				if !bytes.Equal(data, orig) {
					t.Fatal("DecodeInto wrote into the coded data")
				}

				short := NewBitmap(1728, p.Height-1)
				if _, err := DecodeInto(short, data, dopt); !errors.Is(err, ErrTooLarge) {
					t.Fatalf("page one row taller than the bitmap: %v, want ErrTooLarge", err)
				}

				// A Decoder alternating between a reader and bytes.
				d, err := NewDecoder(bytes.NewReader(data), 1728, dopt)
				if err != nil {
					t.Fatal(err)
				}
				for i := range 3 {
					clear(dst.Pix)
					if i == 1 {
						d.Reset(bytes.NewReader(data))
					} else {
						d.ResetBytes(data)
					}
					st, err := d.ReadPage(dst)
					if err != nil || st.Rows != p.Height || st.BadRows != 0 || d.Err() != nil {
						t.Fatalf("round %d: %+v, %v, %v", i, st, err, d.Err())
					}
					if !bytes.Equal(dst.Pix[:len(p.Pix)], p.Pix) || !bytes.Equal(data, orig) {
						t.Fatalf("round %d: pixels differ or data changed", i)
					}
				}
			})
		}
	}
}

// TestDecodeIntoDamage: damage in bytes is concealed and counted as it is
// from a reader.
func TestDecodeIntoDamage(t *testing.T) {
	p := genPage(pageText, 1728, 120, 2)
	data, err := AppendPage(nil, p, &EncodeOptions{Compression: MR, K: 4})
	if err != nil {
		t.Fatal(err)
	}
	for i := len(data) / 3; i < len(data)/3+40; i++ {
		data[i] ^= 0x5a
	}
	opt := &DecodeOptions{Compression: MR, Rows: p.Height}
	want, wst, err := DecodePage(bytes.NewReader(data), 1728, opt)
	if err != nil {
		t.Fatal(err)
	}
	got := NewBitmap(1728, p.Height)
	st, err := DecodeInto(got, data, opt)
	if err != nil || st != wst || st.BadRows == 0 {
		t.Fatalf("DecodeInto %+v, %v; DecodePage %+v", st, err, wst)
	}
	requireSamePixels(t, want, got)
}

func TestAppendDecodeNoAllocs(t *testing.T) {
	p := genPage(pageText, 1728, 200, 4)
	for _, o := range appendCodecs {
		e, err := NewEncoder(nil, 1728, &o)
		if err != nil {
			t.Fatal(err)
		}
		buf, err := e.AppendPage(nil, p)
		if err != nil {
			t.Fatal(err)
		}
		d, err := NewDecoder(nil, 1728, &DecodeOptions{Compression: o.Compression, BitOrder: o.BitOrder})
		if err != nil {
			t.Fatal(err)
		}
		dst := NewBitmap(1728, p.Height)
		d.ResetBytes(buf) // LSBFirst scratch is sized here
		if _, err := d.ReadPage(dst); err != nil {
			t.Fatal(err)
		}
		n := testing.AllocsPerRun(5, func() {
			buf, _ = e.AppendPage(buf[:0], p)
			d.ResetBytes(buf)
			if _, err := d.ReadPage(dst); err != nil {
				t.Fatal(err)
			}
		})
		if n != 0 {
			t.Errorf("%v %v: %v allocations per page, want 0", o.Compression, o.BitOrder, n)
		}
		if !bytes.Equal(dst.Pix, p.Pix) {
			t.Errorf("%v %v: round trip differs", o.Compression, o.BitOrder)
		}
	}
}

// TestReadPageMatchesReadRow: on white and nearly white pages, clean and
// damaged, with and without Rows, ReadPage (with its white-row fast paths)
// delivers the pixels, Stats and Err of the plain ReadRow path.
func TestReadPageMatchesReadRow(t *testing.T) {
	pages := map[string]*Bitmap{"blank": NewBitmap(1728, 300), "nearblank": NewBitmap(1728, 300), "text": genPage(pageText, 1728, 300, 3)}
	copy(pages["nearblank"].Pix[100*216:], genPage(pageText, 1728, 40, 1).Pix)
	for name, p := range pages {
		for _, o := range appendCodecs {
			clean, err := AppendPage(nil, p, &o)
			if err != nil {
				t.Fatal(err)
			}
			for dmg := range 4 {
				for _, rows := range []int{0, p.Height} {
					data := bytes.Clone(clean)
					if dmg > 0 {
						for i := range 6 * dmg {
							data[(len(data)*(i+1)/(6*dmg+1)+dmg*7)%len(data)] ^= byte(0x11 << uint(i%4))
						}
					}
					opt := &DecodeOptions{Compression: o.Compression, BitOrder: o.BitOrder, Rows: rows}
					ref, err := NewDecoder(bytes.NewReader(data), 1728, opt)
					if err != nil {
						t.Fatal(err)
					}
					want := NewBitmap(1728, 400)
					var werr error
					y := 0
					for ; y < want.Height; y++ {
						if werr = ref.ReadRow(want.Row(y)); werr != nil {
							break
						}
					}
					if werr == io.EOF {
						werr = nil
					}
					got := NewBitmap(1728, 400)
					d, _ := NewDecoder(nil, 1728, opt)
					d.ResetBytes(data)
					st, err := d.ReadPage(got)
					label := fmt.Sprintf("%s %v %v damage %d rows %d", name, o.Compression, o.BitOrder, dmg, rows)
					if st != ref.Stats() || (err == nil) != (werr == nil) || fmt.Sprint(d.Err()) != fmt.Sprint(ref.Err()) {
						t.Fatalf("%s: ReadPage %+v %v %v; ReadRow %+v %v %v", label, st, err, d.Err(), ref.Stats(), werr, ref.Err())
					}
					if !bytes.Equal(got.Pix, want.Pix) {
						t.Fatalf("%s: pixels differ", label)
					}
				}
			}
		}
	}
}
