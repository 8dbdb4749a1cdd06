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

// decodePage decodes received page data into a bitmap sized for an A4
// page at the mode's resolution up front (t4.DecodePage grows from 1024
// rows, copying a fine page twice). Damage is concealed and counted; a
// non-nil result comes with a nil error or the decoder's last error (a
// page that decoded only in part), as t30.CheckPageT4 reports it.
func decodePage(data []byte, m t30.Mode) (*decoded, error) {
	width := m.RowPels()
	dec, err := t4.NewDecoder(bytes.NewReader(data), width, &t4.DecodeOptions{
		Compression: t30.T4Compression(m.Compression), BitOrder: t4.LSBFirst})
	if err != nil {
		return nil, err
	}
	stride := (width + 7) / 8
	// Room for an A4 page (297 mm) plus a little; longer pages grow.
	rows := int(300 * m.Resolution.LinesPerMM())
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
