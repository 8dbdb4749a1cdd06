package tiff

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"sort"
	"time"

	"github.com/faxkit/faxkit/t4"
)

// Writer errors.
var (
	// ErrNoPages: Close was called before any page was written.
	ErrNoPages = errors.New("tiff: no pages written")
	// ErrClosed: the Writer or PageWriter was used after Close.
	ErrClosed = errors.New("tiff: writer closed")
)

// DefaultSoftware is the Software tag written when WriterConfig.Software
// is empty.
const DefaultSoftware = "faxkit"

// WriterConfig configures a Writer. The zero value writes TIFF Class F as
// HylaFAX and spandsp do: Group 3 1-D (MH), FillOrder 2, little-endian.
type WriterConfig struct {
	// Compression is CompressionGroup3 (default), CompressionGroup4,
	// CompressionCCITTRLE, CompressionNone or CompressionPackBits.
	Compression Compression
	// TwoD selects MR (2-D) coding for Group 3 (T4Options bit 0).
	TwoD bool
	// K is the MR K parameter: one 1-D row then K-1 2-D rows. Zero
	// selects T.4's values: 2 at standard resolution, 4 above.
	K int
	// AlignEOL pads Group 3 data so that every EOL ends on a byte
	// boundary (T4Options bit 2), which some fax boards want.
	AlignEOL bool
	// FillOrder defaults to LSBFirst (2): the bit order of the fax line,
	// which spandsp's t4_rx and HylaFAX write and every fax reader
	// expects. MSBFirst (1) is TIFF's baseline and what most image tools
	// write; both are read by libtiff and ImageMagick.
	FillOrder FillOrder
	// BigEndian writes an "MM" file instead of the default "II".
	BigEndian bool
	// Software is written in every page's Software tag; default
	// DefaultSoftware.
	Software string
	// PageCount is the number of pages the document will have, written
	// as the second value of every PageNumber tag. Zero means unknown
	// (TIFF 6.0 allows 0 there).
	PageCount int
}

// FaxQuality is what a receiver knows about the rows of a received page:
// TIFF Class F's BadFaxLines, CleanFaxData and ConsecutiveBadFaxLines.
type FaxQuality struct {
	BadLines            int
	Clean               CleanFaxData
	ConsecutiveBadLines int
}

// QualityFromStats turns the t4 decoder's statistics into fax tags: a page
// with concealed rows is "regenerated".
func QualityFromStats(s t4.Stats) *FaxQuality {
	q := &FaxQuality{BadLines: s.BadRows, ConsecutiveBadLines: s.LongestBadRun}
	if s.BadRows > 0 {
		q.Clean = FaxRegenerated
	}
	return q
}

// PageOptions describe one page written. A nil *PageOptions means fine
// resolution and no optional tags.
type PageOptions struct {
	// Resolution is the page's fax resolution; the zero value
	// (ResUnknown) means ResFine unless XDPI and YDPI are set.
	Resolution Resolution
	// XDPI and YDPI, when both positive, override Resolution.
	XDPI, YDPI float64
	// DateTime is written in the DateTime tag (as local time in the
	// value's location) unless it is zero. Pass the time explicitly:
	// the writer never reads the clock.
	DateTime time.Time
	// Description is written in the ImageDescription tag when set.
	// Mind PHI: it is stored in clear in the file.
	Description string
	// Quality, when known (received pages), is written as the Class F
	// fax tags (with CCITT compressions only: libtiff knows these tags
	// only for them).
	Quality *FaxQuality
}

// Writer writes a multi-page TIFF Class F file to an io.Writer, page by
// page, without seeking.
//
// How it avoids seeking: every IFD must hold the offset of the next IFD,
// and the file header the offset of the first. The Writer keeps one
// page of lookahead: a page's coded data is buffered until the page is
// complete (a fax page codes to tens of kilobytes), then the previous
// page's IFD is written with its next-IFD offset pointing just past this
// page's data, followed by the data. The header goes out with the first
// page, when its data size is known; the last IFD is written by Close with
// a next offset of 0. So the file reads data1 IFD1 data2 IFD2 ... and only
// one coded page and one IFD are ever held in memory.
type Writer struct {
	w       io.Writer
	cfg     WriterConfig
	order   byteOrder
	off     int64 // bytes written so far
	pages   int
	pending *pendingIFD
	page    *PageWriter // page being written, if any
	buf     bytes.Buffer
	enc     *t4.Encoder
	closed  bool
	err     error // sticky
}

// byteOrder is what binary.LittleEndian and binary.BigEndian both are.
type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// pendingIFD is a page whose data has been written but whose IFD waits for
// the offset of the next one.
type pendingIFD struct {
	entries []ifdEntry
}

// NewWriter returns a Writer writing to w. Nothing is written until the
// first page is complete.
func NewWriter(w io.Writer, cfg *WriterConfig) (*Writer, error) {
	var c WriterConfig
	if cfg != nil {
		c = *cfg
	}
	switch c.Compression {
	case 0:
		c.Compression = CompressionGroup3
	case CompressionGroup3, CompressionGroup4, CompressionCCITTRLE, CompressionNone, CompressionPackBits:
	default:
		return nil, fmt.Errorf("%w: writing compression %s", ErrUnsupported, c.Compression)
	}
	switch c.FillOrder {
	case 0:
		c.FillOrder = LSBFirst
	case MSBFirst, LSBFirst:
	default:
		return nil, fmt.Errorf("%w: %s", ErrUnsupported, c.FillOrder)
	}
	if c.K < 0 || c.PageCount < 0 || c.PageCount > math.MaxUint16 {
		return nil, errors.New("tiff: bad WriterConfig (negative K or PageCount out of range)")
	}
	if c.Software == "" {
		c.Software = DefaultSoftware
	}
	wr := &Writer{w: w, cfg: c, order: binary.LittleEndian}
	if c.BigEndian {
		wr.order = binary.BigEndian
	}
	return wr, nil
}

// WritePage codes and writes one page.
func (w *Writer) WritePage(b *t4.Bitmap, opts *PageOptions) error {
	pw, err := w.NewPage(b.Width, opts)
	if err != nil {
		return err
	}
	for y := 0; y < b.Height; y++ {
		if err := pw.WriteRow(b.Row(y)); err != nil {
			return err
		}
	}
	return pw.Close()
}

// PageWriter receives one page row by row (the receive path writes rows as
// the t4 decoder delivers them). Its height is the number of rows written.
type PageWriter struct {
	w      *Writer
	width  int
	stride int
	rows   int
	opts   PageOptions
	res    [2]float64
	tmp    []byte
	done   bool
}

// NewPage starts a page of the given width. Only one page may be open at a
// time; Close it before starting the next.
func (w *Writer) NewPage(width int, opts *PageOptions) (*PageWriter, error) {
	if w.err != nil {
		return nil, w.err
	}
	if w.closed {
		return nil, ErrClosed
	}
	if w.page != nil {
		return nil, errors.New("tiff: previous page not closed")
	}
	if width <= 0 || width > t4.MaxWidth {
		return nil, fmt.Errorf("%w: page width %d", ErrUnsupported, width)
	}
	pw := &PageWriter{w: w, width: width, stride: (width + 7) / 8}
	if opts != nil {
		pw.opts = *opts
	}
	o := &pw.opts
	if o.XDPI > 0 && o.YDPI > 0 {
		pw.res = [2]float64{o.XDPI, o.YDPI}
	} else {
		r := o.Resolution
		if !r.Known() {
			r = ResFine
		}
		x, y := r.DPI()
		pw.res = [2]float64{x, y}
	}
	w.buf.Reset()
	c := w.cfg
	switch c.Compression {
	case CompressionGroup3, CompressionGroup4, CompressionCCITTRLE:
		eo := &t4.EncodeOptions{NoRTC: true, AlignEOL: c.AlignEOL && c.Compression == CompressionGroup3}
		if c.FillOrder == LSBFirst {
			eo.BitOrder = t4.LSBFirst
		}
		switch {
		case c.Compression == CompressionGroup4:
			eo.Compression = t4.MMR
		case c.Compression == CompressionCCITTRLE:
			eo.Compression = t4.MH
			eo.NoEOL = true
		case c.TwoD:
			eo.Compression = t4.MR
			eo.K = c.K
			if eo.K == 0 {
				eo.K = 4
				if t4.ResolutionFromDPI(pw.res[0], pw.res[1]) == ResStandard {
					eo.K = 2
				}
			}
		}
		enc, err := t4.NewEncoder(&w.buf, width, eo)
		if err != nil {
			return nil, fmt.Errorf("tiff: %w", err)
		}
		w.enc = enc
	default:
		w.enc = nil
		pw.tmp = make([]byte, pw.stride)
	}
	w.page = pw
	return pw, nil
}

// WriteRow appends a row in t4.Bitmap's packed format (1 = black, bit 7
// leftmost); row must hold at least (width+7)/8 bytes.
func (pw *PageWriter) WriteRow(row []byte) error {
	w := pw.w
	if pw.done {
		return ErrClosed
	}
	if w.err != nil {
		return w.err
	}
	if len(row) < pw.stride {
		return fmt.Errorf("tiff: row of %d bytes for width %d", len(row), pw.width)
	}
	if pw.rows >= math.MaxUint32 {
		return fmt.Errorf("%w: too many rows", ErrTooLarge)
	}
	pw.rows++
	if w.enc != nil {
		if err := w.enc.WriteRow(row); err != nil {
			w.err = fmt.Errorf("tiff: coding row %d: %w", pw.rows-1, err)
			return w.err
		}
		return nil
	}
	copy(pw.tmp, row[:pw.stride])
	if r := pw.width & 7; r != 0 {
		pw.tmp[pw.stride-1] &= 0xff << uint(8-r)
	}
	if w.cfg.Compression == CompressionPackBits {
		packBits(&w.buf, pw.tmp)
	} else {
		w.buf.Write(pw.tmp)
	}
	return nil
}

// Close finishes the page: its data is written, and the IFD of the page
// before it. The page's own IFD is written with the next page or by
// Writer.Close.
func (pw *PageWriter) Close() error {
	w := pw.w
	if pw.done {
		return ErrClosed
	}
	pw.done = true
	w.page = nil
	if w.err != nil {
		return w.err
	}
	if pw.rows == 0 {
		return errors.New("tiff: page has no rows")
	}
	if w.enc != nil {
		if err := w.enc.Close(); err != nil {
			w.err = fmt.Errorf("tiff: %w", err)
			return w.err
		}
	}
	data := w.buf.Bytes()
	if w.enc == nil && w.cfg.FillOrder == LSBFirst {
		for i, v := range data { // libtiff's convention: FillOrder applies to all data
			data[i] = bits.Reverse8(v)
		}
	}
	if len(data)&1 == 1 {
		w.buf.WriteByte(0) // keep the next IFD word aligned
		data = w.buf.Bytes()
	}
	var dataOff int64
	if w.pending == nil {
		// First page: the header, then the data; the IFD follows the data.
		var h [8]byte
		if w.cfg.BigEndian {
			copy(h[:], "MM\x00*")
		} else {
			copy(h[:], "II*\x00")
		}
		if err := w.checkOffset(8 + int64(len(data))); err != nil {
			return err
		}
		w.order.PutUint32(h[4:], uint32(8+len(data)))
		if err := w.write(h[:]); err != nil {
			return err
		}
		dataOff = 8
	} else {
		// Later pages: the previous page's IFD, pointing past this data.
		ifdSize := w.ifdSize(w.pending.entries)
		next := w.off + ifdSize + int64(len(data))
		if err := w.checkOffset(next); err != nil {
			return err
		}
		if err := w.writeIFD(w.pending.entries, next); err != nil {
			return err
		}
		dataOff = w.off
	}
	if err := w.write(data); err != nil {
		return err
	}
	w.pending = &pendingIFD{entries: w.pageEntries(pw, dataOff, int64(len(data)))}
	w.pages++
	return nil
}

// Pages returns the number of pages completed.
func (w *Writer) Pages() int { return w.pages }

// Close writes the last page's IFD. It does not close the underlying
// io.Writer. A Writer with no pages returns ErrNoPages (a TIFF file needs
// at least one IFD) and writes nothing.
func (w *Writer) Close() error {
	if w.closed {
		return ErrClosed
	}
	w.closed = true
	if w.err != nil {
		return w.err
	}
	if w.page != nil {
		return errors.New("tiff: Close with a page still open")
	}
	if w.pending == nil {
		return ErrNoPages
	}
	return w.writeIFD(w.pending.entries, 0)
}

func (w *Writer) checkOffset(off int64) error {
	if off > math.MaxUint32 {
		w.err = fmt.Errorf("%w: file beyond 4 GiB (classic TIFF)", ErrTooLarge)
		return w.err
	}
	return nil
}

func (w *Writer) write(p []byte) error {
	n, err := w.w.Write(p)
	w.off += int64(n)
	if err != nil {
		w.err = err
		return err
	}
	return nil
}

// ifdEntry is an entry to write; val holds the value bytes in file order.
type ifdEntry struct {
	tag, typ uint16
	count    uint32
	val      []byte
}

func (w *Writer) short(tag uint16, v ...uint16) ifdEntry {
	b := make([]byte, 2*len(v))
	for i, x := range v {
		w.order.PutUint16(b[2*i:], x)
	}
	return ifdEntry{tag: tag, typ: typeShort, count: uint32(len(v)), val: b}
}

func (w *Writer) long(tag uint16, v uint32) ifdEntry {
	b := make([]byte, 4)
	w.order.PutUint32(b, v)
	return ifdEntry{tag: tag, typ: typeLong, count: 1, val: b}
}

func (w *Writer) rational(tag uint16, v float64) ifdEntry {
	num, den := uint32(math.Round(v)), uint32(1)
	if math.Abs(v-math.Round(v)) > 1e-6 {
		num, den = uint32(math.Round(v*100)), 100
	}
	b := make([]byte, 8)
	w.order.PutUint32(b, num)
	w.order.PutUint32(b[4:], den)
	return ifdEntry{tag: tag, typ: typeRational, count: 1, val: b}
}

func ascii(tag uint16, s string) ifdEntry {
	b := append([]byte(s), 0)
	return ifdEntry{tag: tag, typ: typeASCII, count: uint32(len(b)), val: b}
}

// pageEntries builds the IFD of a TIFF Class F page (RFC 2306 section 3).
func (w *Writer) pageEntries(pw *PageWriter, dataOff, dataLen int64) []ifdEntry {
	c := &w.cfg
	e := []ifdEntry{
		w.long(tagNewSubfileType, 2), // a page of a multi-page document
		w.long(tagImageWidth, uint32(pw.width)),
		w.long(tagImageLength, uint32(pw.rows)),
		w.short(tagBitsPerSample, 1),
		w.short(tagCompression, uint16(c.Compression)),
		w.short(tagPhotometric, uint16(WhiteIsZero)),
		w.short(tagFillOrder, uint16(c.FillOrder)),
		w.long(tagStripOffsets, uint32(dataOff)),
		w.short(tagOrientation, 1),
		w.short(tagSamplesPerPixel, 1),
		w.long(tagRowsPerStrip, uint32(pw.rows)),
		w.long(tagStripByteCounts, uint32(dataLen)),
		w.rational(tagXResolution, pw.res[0]),
		w.rational(tagYResolution, pw.res[1]),
		w.short(tagPlanarConfig, 1),
		w.short(tagResolutionUnit, uint16(UnitInch)),
		w.short(tagPageNumber, uint16(min(w.pages, math.MaxUint16)), uint16(c.PageCount)),
		ascii(tagSoftware, c.Software),
	}
	switch c.Compression {
	case CompressionGroup3:
		var o uint32
		if c.TwoD {
			o |= T4Option2D
		}
		if c.AlignEOL {
			o |= T4OptionFillBits
		}
		e = append(e, w.long(tagT4Options, o))
	case CompressionGroup4:
		e = append(e, w.long(tagT6Options, 0))
	}
	o := &pw.opts
	if o.Description != "" {
		e = append(e, ascii(tagImageDescription, o.Description))
	}
	if !o.DateTime.IsZero() {
		e = append(e, ascii(tagDateTime, o.DateTime.Format("2006:01:02 15:04:05")))
	}
	// libtiff registers the fax tags with its CCITT codecs only: with other
	// compressions they are "unknown fields" and it warns.
	ccitt := c.Compression == CompressionGroup3 || c.Compression == CompressionGroup4 || c.Compression == CompressionCCITTRLE
	if q := o.Quality; q != nil && ccitt {
		e = append(e,
			w.long(tagBadFaxLines, uint32(max(q.BadLines, 0))),
			w.short(tagCleanFaxData, uint16(q.Clean)),
			w.long(tagConsecutiveBadFaxLines, uint32(max(q.ConsecutiveBadLines, 0))))
	}
	sort.Slice(e, func(i, j int) bool { return e[i].tag < e[j].tag })
	return e
}

// ifdSize is the size of an IFD and the values stored after it.
func (w *Writer) ifdSize(e []ifdEntry) int64 {
	n := int64(2 + 12*len(e) + 4)
	for _, x := range e {
		if len(x.val) > 4 {
			n += int64(len(x.val)+1) &^ 1
		}
	}
	return n
}

// writeIFD writes an IFD at the current offset, its long values after it.
func (w *Writer) writeIFD(e []ifdEntry, next int64) error {
	start := w.off
	if start&1 != 0 {
		return errors.New("tiff: internal error: odd IFD offset")
	}
	b := make([]byte, 0, w.ifdSize(e))
	b = w.order.AppendUint16(b, uint16(len(e)))
	extra := start + int64(2+12*len(e)+4)
	var tail []byte
	for _, x := range e {
		b = w.order.AppendUint16(b, x.tag)
		b = w.order.AppendUint16(b, x.typ)
		b = w.order.AppendUint32(b, x.count)
		if len(x.val) <= 4 {
			var v [4]byte
			copy(v[:], x.val)
			b = append(b, v[:]...)
			continue
		}
		b = w.order.AppendUint32(b, uint32(extra+int64(len(tail))))
		tail = append(tail, x.val...)
		if len(tail)&1 == 1 {
			tail = append(tail, 0)
		}
	}
	b = w.order.AppendUint32(b, uint32(next))
	b = append(b, tail...)
	return w.write(b)
}

// packBits codes one row with PackBits (TIFF 6.0 section 9): runs of 3 or
// more equal bytes as a repeat, the rest as literals. Rows are coded
// separately, as the TIFF spec asks.
func packBits(dst *bytes.Buffer, row []byte) {
	for i := 0; i < len(row); {
		// Find a run at i.
		j := i + 1
		for j < len(row) && row[j] == row[i] && j-i < 128 {
			j++
		}
		if j-i >= 3 {
			dst.WriteByte(byte(int8(1 - (j - i))))
			dst.WriteByte(row[i])
			i = j
			continue
		}
		// Literal up to the next run of 3 or 128 bytes.
		k := i
		for k < len(row) && k-i < 128 {
			if k+2 < len(row) && row[k] == row[k+1] && row[k] == row[k+2] {
				break
			}
			k++
		}
		dst.WriteByte(byte(k - i - 1))
		dst.Write(row[i:k])
		i = k
	}
}
