package t30

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/faxkit/faxkit/t4"
)

func init() { DefaultPageChecker = CheckPageT4 }

// T4Compression converts c to the t4 package's coding.
func T4Compression(c Compression) t4.Compression {
	switch c {
	case MR:
		return t4.MR
	case MMR:
		return t4.MMR
	}
	return t4.MH
}

// MRK returns the T.4 K parameter for MR at resolution r (T.4 4.2.1.3.3:
// 2 at standard, 4 at fine, more at higher resolutions as T.30 bit 122
// allows; faxkit uses 4 above standard for compatibility).
func MRK(r Resolution) int {
	if r == ResStandard {
		return 2
	}
	return 4
}

// CheckPageT4 decodes page data received in mode m with package t4
// (LSB-first line order) and returns its row statistics. It is the default
// Config.CheckPage.
func CheckPageT4(data []byte, m Mode) (PageQuality, error) {
	width := m.RowPels()
	dec, err := t4.NewDecoder(bytes.NewReader(data), width, &t4.DecodeOptions{
		Compression: T4Compression(m.Compression), BitOrder: t4.LSBFirst})
	if err != nil {
		return PageQuality{}, err
	}
	row := make([]byte, (width+7)/8)
	for {
		err = dec.ReadRow(row)
		if err != nil {
			break
		}
	}
	st := dec.Stats()
	q := PageQuality{Rows: st.Rows, BadRows: st.BadRows, LongestBadRun: st.LongestBadRun,
		Truncated: !HasPageEnd(data, m.Compression)}
	if errors.Is(err, io.EOF) {
		err = nil
	}
	return q, err
}

// BitmapDocument is a Document of t4 bitmaps, all at one resolution and
// width. Pages are encoded when the session asks, in the negotiated coding.
type BitmapDocument struct {
	Pages      []*t4.Bitmap
	Resolution Resolution
	Width      PaperWidth
}

// NumPages implements Document.
func (d *BitmapDocument) NumPages() int { return len(d.Pages) }

// Format implements Document.
func (d *BitmapDocument) Format(i int) PageFormat {
	f := PageFormat{Resolution: d.Resolution, Width: d.Width}
	if i >= 0 && i < len(d.Pages) {
		// A page a little longer than A4 (297 mm) needs B4 length (364
		// mm); longer still, unlimited. An unknown resolution has no
		// length: unlimited.
		mm := float64(d.Pages[i].Height) / d.Resolution.LinesPerMM()
		switch {
		case mm > t4.PaperB4.LengthMM()+10:
			f.Length = LengthUnlimited
		case mm > t4.PaperA4.LengthMM()+10:
			f.Length = LengthB4
		}
	}
	return f
}

// Encode implements Document.
func (d *BitmapDocument) Encode(i int, m Mode) ([]byte, error) {
	if i < 0 || i >= len(d.Pages) {
		return nil, fmt.Errorf("t30: no page %d", i)
	}
	want := m.RowPels()
	if d.Pages[i].Width != want {
		return nil, fmt.Errorf("t30: page %d is %d pels wide, the mode needs %d", i, d.Pages[i].Width, want)
	}
	return t4.AppendPage(nil, d.Pages[i], &t4.EncodeOptions{
		Compression: T4Compression(m.Compression), K: MRK(m.Resolution),
		BitOrder: t4.LSBFirst, MinRowBits: m.MinRowBits()})
}

// HasPageEnd reports whether LSB-first page data contains, near its end,
// two consecutive EOLs: the start of RTC for MH/MR (EOL+1 for MR) or EOFB
// for MMR. Senders may add fill or a few stray bits after it (libspandsp
// does), so the last 64 octets are searched rather than the very end.
func HasPageEnd(data []byte, c Compression) bool {
	// RTC/EOFB ends on a 1 bit; zero octets after it are fill (spandsp
	// pads 180 or more), so look back from the last non-zero octet.
	for len(data) > 0 && data[len(data)-1] == 0 {
		data = data[:len(data)-1]
	}
	start := max(0, len(data)-64)
	zeros, run := 0, 0
	n := len(data) * 8
	for i := start * 8; i < n; i++ {
		if data[i>>3]>>(i&7)&1 == 0 {
			zeros++
			continue
		}
		if zeros >= 11 {
			tag := true
			if c == MR {
				i++
				tag = i < n && data[i>>3]>>(i&7)&1 == 1
			}
			if tag {
				run++
			} else {
				run = 0
			}
			if run >= 2 {
				return true
			}
		} else {
			run = 0
		}
		zeros = 0
	}
	return false
}
