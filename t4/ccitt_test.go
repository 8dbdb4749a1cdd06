package t4

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"golang.org/x/image/tiff"

	"github.com/faxkit/faxkit/internal/peertest"
)

// The eight CCITT test documents (testdata/ccitt at the repository root, see its
// README.md): 1728x2376 G4 TIFFs. ituSHA holds the first 16 hex digits of
// the SHA-256 of each page's packed rows, from that README (computed from
// the source PBM files, independently of this package).
var ituSHA = [8]string{
	"b4de070c35e376e8", "36bef714ea315e8c", "fc06f13146d3b7d7", "c86239c32c27bede",
	"0ec3a75089bb5234", "bb69e36efdaa54f5", "04aba43b3f0d5aed", "30af73b241a6c02b",
}

type ituDoc struct {
	name  string
	page  *Bitmap // pixels, decoded by golang.org/x/image/tiff
	strip []byte  // the G4 strip as stored (FillOrder 1)
}

var (
	ituOnce sync.Once
	ituDocs []ituDoc
	ituErr  error
)

// loadITU returns the eight pages, or skips (fails under CI) when the
// shared data is absent.
func loadITU(tb testing.TB) []ituDoc {
	tb.Helper()
	dir := filepath.Join(peertest.SharedTestdata(tb), "ccitt")
	ituOnce.Do(func() {
		for i := 1; i <= 8; i++ {
			name := fmt.Sprintf("itu%d", i)
			data, err := os.ReadFile(filepath.Join(dir, name+".tif"))
			if err != nil {
				ituErr = err
				return
			}
			img, err := tiff.Decode(bytes.NewReader(data))
			if err != nil {
				ituErr = fmt.Errorf("%s: x/image/tiff: %w", name, err)
				return
			}
			strip, err := tiffStrip(data)
			if err != nil {
				ituErr = fmt.Errorf("%s: %w", name, err)
				return
			}
			ituDocs = append(ituDocs, ituDoc{name, bitmapFromImage(img), strip})
		}
	})
	if ituErr != nil {
		tb.Fatal(ituErr)
	}
	return ituDocs
}

func bitmapFromImage(img image.Image) *Bitmap {
	r := img.Bounds()
	b := NewBitmap(r.Dx(), r.Dy())
	for y := range b.Height {
		for x := range b.Width {
			g, _, _, _ := img.At(r.Min.X+x, r.Min.Y+y).RGBA()
			if g < 0x8000 {
				b.Pix[y*b.Stride+x>>3] |= 0x80 >> uint(x&7)
			}
		}
	}
	return b
}

// tiffStrip is a test-only reader of the single strip of a little- or
// big-endian baseline TIFF (tags StripOffsets and StripByteCounts).
func tiffStrip(data []byte) ([]byte, error) {
	if len(data) < 8 {
		return nil, fmt.Errorf("short TIFF")
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if string(data[:2]) == "MM" {
		bo = binary.BigEndian
	}
	ifd := int(bo.Uint32(data[4:]))
	if ifd+2 > len(data) {
		return nil, fmt.Errorf("bad IFD offset")
	}
	n := int(bo.Uint16(data[ifd:]))
	var off, count []int
	for i := range n {
		e := ifd + 2 + 12*i
		if e+12 > len(data) {
			return nil, fmt.Errorf("short IFD")
		}
		tag, typ, cnt := bo.Uint16(data[e:]), bo.Uint16(data[e+2:]), int(bo.Uint32(data[e+4:]))
		if tag != 273 && tag != 279 {
			continue
		}
		vals := make([]int, cnt)
		size := 4
		if typ == 3 {
			size = 2
		}
		p := e + 8
		if cnt*size > 4 {
			p = int(bo.Uint32(data[e+8:]))
		}
		for k := range vals {
			if typ == 3 {
				vals[k] = int(bo.Uint16(data[p+2*k:]))
			} else {
				vals[k] = int(bo.Uint32(data[p+4*k:]))
			}
		}
		if tag == 273 {
			off = vals
		} else {
			count = vals
		}
	}
	if len(off) != 1 || len(count) != 1 || off[0]+count[0] > len(data) {
		return nil, fmt.Errorf("want one strip, have offsets %v counts %v", off, count)
	}
	return data[off[0] : off[0]+count[0]], nil
}

func pageSHA(b *Bitmap) string {
	s := sha256.Sum256(b.Pix)
	return hex.EncodeToString(s[:8])
}

func TestITUDocuments(t *testing.T) {
	docs := loadITU(t)
	for i, doc := range docs {
		t.Run(doc.name, func(t *testing.T) {
			if got := pageSHA(doc.page); got != ituSHA[i] {
				t.Fatalf("x/image/tiff pixels sha256 %s, want %s", got, ituSHA[i])
			}
			// Our MMR decoder on the G4 strip as written by the converter.
			got, st, err := DecodePage(bytes.NewReader(doc.strip), 1728, &DecodeOptions{Compression: MMR, Strict: true})
			if err != nil || st.BadRows != 0 {
				t.Fatalf("decode strip: %v %+v", err, st)
			}
			if sha := pageSHA(got); sha != ituSHA[i] {
				t.Fatalf("decoded strip sha256 %s, want %s", sha, ituSHA[i])
			}
			// Round trips through every scheme.
			for _, cc := range []codecCase{
				{"MH", EncodeOptions{}},
				{"MR-K4-LSB", EncodeOptions{Compression: MR, K: 4, BitOrder: LSBFirst}},
				{"MR-K2-align", EncodeOptions{Compression: MR, AlignEOL: true}},
				{"MMR", EncodeOptions{Compression: MMR}},
				{"MH-noeol", EncodeOptions{NoEOL: true}},
			} {
				enc, err := AppendPage(nil, doc.page, &cc.enc)
				if err != nil {
					t.Fatal(err)
				}
				dopt := decodeOptionsFor(cc.enc)
				dopt.Strict = true
				got, st, err := DecodePage(bytes.NewReader(enc), 1728, dopt)
				if err != nil || st.BadRows != 0 || st.Rows != 2376 {
					t.Fatalf("%s: %v %+v", cc.name, err, st)
				}
				if sha := pageSHA(got); sha != ituSHA[i] {
					t.Fatalf("%s: round trip sha256 %s, want %s", cc.name, sha, ituSHA[i])
				}
				if cc.name == "MMR" && !bytes.Equal(enc[:len(enc)-3], doc.strip[:len(enc)-3]) {
					t.Logf("%s: MMR output (%d bytes) differs from the reference strip (%d bytes)", doc.name, len(enc), len(doc.strip))
				}
			}
		})
	}
}
