package t4

import (
	"bytes"
	"fmt"
	"testing"
	"testing/iotest"
)

type codecCase struct {
	name string
	enc  EncodeOptions
}

func codecCases() []codecCase {
	var cs []codecCase
	for _, order := range []BitOrder{MSBFirst, LSBFirst} {
		add := func(name string, o EncodeOptions) {
			o.BitOrder = order
			cs = append(cs, codecCase{name + "/" + order.String(), o})
		}
		add("MH", EncodeOptions{})
		add("MH-align", EncodeOptions{AlignEOL: true})
		add("MH-fill", EncodeOptions{MinRowBits: MinRowBits(20, 9600)})
		add("MH-fill-align-nortc", EncodeOptions{MinRowBits: 100, AlignEOL: true, NoRTC: true})
		add("MH-nortc", EncodeOptions{NoRTC: true})
		add("MH-noeol", EncodeOptions{NoEOL: true})
		for _, k := range []int{0, 1, 2, 4, 7} {
			add(fmt.Sprintf("MR-K%d", k), EncodeOptions{Compression: MR, K: k})
		}
		add("MR-K4-align-fill", EncodeOptions{Compression: MR, K: 4, AlignEOL: true, MinRowBits: 400})
		add("MR-K3-nortc", EncodeOptions{Compression: MR, K: 3, NoRTC: true})
		add("MMR", EncodeOptions{Compression: MMR})
		add("MMR-noeofb", EncodeOptions{Compression: MMR, NoRTC: true})
	}
	return cs
}

func decodeOptionsFor(o EncodeOptions) *DecodeOptions {
	c := o.Compression
	if c == 0 {
		c = MH
	}
	return &DecodeOptions{Compression: c, BitOrder: o.BitOrder, NoEOL: o.NoEOL}
}

func TestRoundTrip(t *testing.T) {
	widths := []int{1, 7, 9, 63, 64, 65, 1728, 2048, 2432, 4864}
	for _, cc := range codecCases() {
		t.Run(cc.name, func(t *testing.T) {
			for _, w := range widths {
				for _, kind := range pageKinds {
					h := 41
					if w > 2500 {
						h = 23
					}
					page := genPage(kind, w, h, 1)
					var buf bytes.Buffer
					if err := EncodePage(&buf, page, &cc.enc); err != nil {
						t.Fatalf("%s w=%d: encode: %v", kind, w, err)
					}
					app, err := AppendPage([]byte("xy"), page, &cc.enc)
					if err != nil || !bytes.Equal(app[2:], buf.Bytes()) || string(app[:2]) != "xy" {
						t.Fatalf("%s w=%d: AppendPage differs from EncodePage (err %v)", kind, w, err)
					}
					dopt := decodeOptionsFor(cc.enc)
					got, st, err := DecodePage(bytes.NewReader(buf.Bytes()), w, dopt)
					if err != nil {
						t.Fatalf("%s w=%d: decode: %v", kind, w, err)
					}
					if st.BadRows != 0 || st.Rows != h {
						t.Fatalf("%s w=%d: stats %+v, want %d clean rows", kind, w, st, h)
					}
					requireSamePixels(t, page, got)
					// Byte-at-a-time reader, known row count.
					dopt.Rows = h
					got, st, err = DecodePage(iotest.OneByteReader(bytes.NewReader(buf.Bytes())), w, dopt)
					if err != nil || st.BadRows != 0 {
						t.Fatalf("%s w=%d: one-byte decode: %v %+v", kind, w, err, st)
					}
					requireSamePixels(t, page, got)
				}
			}
		})
	}
}
