package faxkit

import (
	"bytes"
	"io"

	"github.com/faxkit/faxkit/t30"
	"github.com/faxkit/faxkit/t4"
)

// decoded is a received page decoded once: its bitmap for the sink, and
// the statistics T.30 judges it by.
type decoded struct {
	bitmap    *t4.Bitmap
	stats     t4.Stats
	truncated bool
}

func (d *decoded) quality() t30.PageQuality {
	return t30.PageQuality{Rows: d.stats.Rows, BadRows: d.stats.BadRows, LongestBadRun: d.stats.LongestBadRun,
		Truncated: d.truncated}
}

// linesPerMM is each resolution's vertical density (T.4 Table 1).
var linesPerMM = map[t30.Resolution]float64{t30.ResStandard: 3.85, t30.ResFine: 7.7, t30.ResSuperfine: 15.4,
	t30.Res300: 11.81, t30.ResR16: 15.75, t30.Res600: 23.62, t30.Res1200: 47.24, t30.Res300x600: 23.62,
	t30.Res400x800: 31.5, t30.Res600x1200: 47.24}

// decodePage decodes received page data into a bitmap sized for an A4
// page at the mode's resolution up front (t4.DecodePage grows from 1024
// rows, copying a fine page twice). Damage is concealed and counted; a
// non-nil result comes with a nil error or the decoder's last error (a
// page that decoded only in part), as t30.CheckPageT4 reports it.
func decodePage(data []byte, m t30.Mode) (*decoded, error) {
	width := m.Resolution.RowPels(m.Width)
	dec, err := t4.NewDecoder(bytes.NewReader(data), width, &t4.DecodeOptions{
		Compression: t30.T4Compression(m.Compression), BitOrder: t4.LSBFirst})
	if err != nil {
		return nil, err
	}
	stride := (width + 7) / 8
	// Room for an A4 page (297 mm) plus a little; longer pages grow.
	rows := int(300 * linesPerMM[m.Resolution])
	if rows == 0 {
		rows = 1200
	}
	pix := make([]byte, 0, rows*stride)
	for {
		if len(pix)+stride > cap(pix) {
			pix = append(pix, make([]byte, stride)...)[:len(pix)]
		}
		err = dec.ReadRow(pix[len(pix) : len(pix)+stride])
		if err != nil {
			break
		}
		pix = pix[:len(pix)+stride]
	}
	if err == io.EOF {
		err = nil
	}
	return &decoded{
		bitmap:    &t4.Bitmap{Width: width, Height: len(pix) / stride, Stride: stride, Pix: pix},
		stats:     dec.Stats(),
		truncated: !t30.HasPageEnd(data, m.Compression),
	}, err
}
