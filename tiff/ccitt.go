package tiff

import (
	"bufio"
	"errors"
	"io"
	"math"

	"github.com/faxkit/faxkit/t4"
)

// readCCITT decodes one strip of CCITT data (compressions 2, 3 and 4) with
// the t4 codec. Each strip is coded on its own (TIFF 6.0 section 11: a
// strip starts on a byte boundary, and 2-D coding starts from a white
// reference row). Rows the data lacks or codes wrongly are concealed by the
// codec and counted in the page's Stats; with ReaderConfig.Strict they are
// an ErrCorrupt error instead.
//
// One decoder serves all the strips (or tiles, each decoded into a bitmap
// of the tile's size) of a page (Reset), so that a page cut into a great
// many strips does not allocate a decoder for each.
func (p *Page) readCCITT(cs *ccittState, b *t4.Bitmap, y0, y1 int, sr *io.SectionReader) error {
	if cs.d != nil {
		cs.br.Reset(sr)
		cs.d.Reset(cs.br)
		return p.ccittRows(cs.d, b, y0, y1, sr)
	}
	in := &p.Info
	rows := in.RowsPerStrip
	if in.Tiled {
		rows = p.tileH
	}
	opts := p.ccittOptions(cs)
	// Rows stays 0: the decoder then ends at the end of the data instead
	// of repeating the last row down the rest of the page (ccittRows).
	opts.MaxRows, opts.Strict = rows, p.r.strict
	cs.br = bufio.NewReaderSize(sr, 8192)
	d, err := t4.NewDecoder(cs.br, b.Width, &opts)
	if err != nil {
		return p.errf(-1, ErrUnsupported, "CCITT strip: %v", err)
	}
	cs.d = d
	return p.ccittRows(d, b, y0, y1, sr)
}

// ccittOptions returns the t4 options that read the page's coding as cs
// says; the caller sets the rows.
func (p *Page) ccittOptions(cs *ccittState) t4.DecodeOptions {
	in := &p.Info
	var opts t4.DecodeOptions
	if (in.FillOrder == LSBFirst) != cs.flipFill {
		opts.BitOrder = t4.LSBFirst
	}
	switch in.Compression {
	case CompressionCCITTRLE:
		opts.Compression = t4.MH
		opts.NoEOL = true
	case CompressionGroup3:
		// T4Options and T6Options bit 1 only allow uncompressed mode; the
		// codec reads such codes, if the data has any, as corrupt rows
		// (libtiff likewise reads the page and fails at those rows).
		opts.Compression = t4.MH
		if (in.T4Options&T4Option2D != 0) != cs.flip2D {
			opts.Compression = t4.MR
		}
	case CompressionGroup4:
		opts.Compression = t4.MMR
	}
	return opts
}

// countRows returns the number of rows the page's one strip codes, up to
// RTC, EOFB or the end of the data: the height of a page whose ImageLength
// is missing or 0, as some streaming fax writers leave it.
func (p *Page) countRows() (int, error) {
	lim := p.r.limits
	opts := p.ccittOptions(&ccittState{})
	opts.MaxRows = min(lim.MaxHeight, int(min(lim.MaxPixels/int64(p.Info.Width), math.MaxInt32)))
	sr, err := p.strip(0)
	if err != nil {
		return 0, err
	}
	d, err := t4.NewDecoder(bufio.NewReaderSize(sr, 8192), p.Info.Width, &opts)
	if err != nil {
		return 0, p.errf(-1, ErrUnsupported, "CCITT strip: %v", err)
	}
	row := make([]byte, (p.Info.Width+7)/8)
	for n := 0; ; n++ {
		switch err := d.ReadRow(row); {
		case err == io.EOF:
			if n == 0 {
				return 0, p.errf(p.ifdOff, ErrCorrupt, "no ImageLength and no rows in the data")
			}
			return n, nil
		case errors.Is(err, t4.ErrTooLarge):
			return 0, p.errf(p.ifdOff, ErrTooLarge, "no ImageLength and more than %d rows in the data", opts.MaxRows)
		case err != nil:
			return 0, &FormatError{Page: p.index, Offset: -1, Msg: "counting CCITT rows", Err: corruptErr{err}}
		}
	}
}

// ccittState is the decoder shared by the strips of a page, and how it
// reads them: with the bit order or the 1-D/2-D coding opposite to what the
// tags say when flipFill or flip2D is set.
type ccittState struct {
	d                *t4.Decoder
	br               *bufio.Reader
	flipFill, flip2D bool
}

// ccittRows decodes rows y0..y1-1 of b from d.
func (p *Page) ccittRows(d *t4.Decoder, b *t4.Bitmap, y0, y1 int, sr *io.SectionReader) error {
	y, run := y0, 0 // run: bad rows at the end so far
	for ; y < y1; y++ {
		bad := d.Stats().BadRows
		err := d.ReadRow(b.Row(y))
		if err == io.EOF {
			break
		}
		if err != nil {
			return &FormatError{Page: p.index, Offset: sr.Size(), Msg: "CCITT strip", Err: corruptErr{err}}
		}
		if d.Stats().BadRows > bad {
			run++
		} else {
			run = 0
		}
	}
	// Rows the data lacks (a fax cut short, an ImageLength larger than
	// what was received) stay white and count as bad, after the codec's
	// own bad rows at the end of the strip.
	s := d.Stats()
	lost := y1 - y
	if lost > 0 && p.r.strict {
		return p.errf(sr.Size(), ErrCorrupt, "CCITT strip ends after %d of its %d rows", y-y0, y1-y0)
	}
	p.stats.Rows += s.Rows + lost
	p.stats.BadRows += s.BadRows + lost
	p.stats.LongestBadRun = max(p.stats.LongestBadRun, s.LongestBadRun, run+lost)
	return nil
}

// corruptErr makes a codec error match ErrCorrupt as well as its own
// sentinel (t4.ErrCorrupt, t4.ErrTooLarge).
type corruptErr struct{ err error }

func (c corruptErr) Error() string   { return c.err.Error() }
func (c corruptErr) Unwrap() []error { return []error{ErrCorrupt, c.err} }
