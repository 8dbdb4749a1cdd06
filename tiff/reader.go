package tiff

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"strings"
)

// Sentinel errors. Every error the reader returns for a bad file wraps one
// of them; compare with errors.Is.
var (
	// ErrCorrupt: the file breaks the TIFF format (bad header, offsets
	// past the end, an IFD loop, inconsistent tags, bad coded data).
	ErrCorrupt = errors.New("tiff: corrupt file")
	// ErrUnsupported: a valid TIFF feature this package does not read.
	ErrUnsupported = errors.New("tiff: unsupported feature")
	// ErrTooLarge: the file exceeds one of the reader's Limits.
	ErrTooLarge = errors.New("tiff: exceeds limit")
)

// FormatError is a reader error with the file offset and page where it was
// found. It wraps ErrCorrupt, ErrUnsupported or ErrTooLarge (or an error of
// the codec or the underlying reader).
type FormatError struct {
	Page   int   // zero-based page (IFD) index, -1 for the header
	Offset int64 // file offset concerned, -1 when not applicable
	Msg    string
	Err    error
}

func (e *FormatError) Error() string {
	var b strings.Builder
	b.WriteString(e.Err.Error())
	b.WriteString(": ")
	b.WriteString(e.Msg)
	if e.Page >= 0 {
		fmt.Fprintf(&b, " (page %d", e.Page+1)
		if e.Offset >= 0 {
			fmt.Fprintf(&b, ", offset %d", e.Offset)
		}
		b.WriteString(")")
	} else if e.Offset >= 0 {
		fmt.Fprintf(&b, " (offset %d)", e.Offset)
	}
	return b.String()
}

func (e *FormatError) Unwrap() error { return e.Err }

// Limits bound what a file can make the reader do. The zero value of each
// field selects its default; a negative value is invalid.
type Limits struct {
	// MaxPages is the most IFDs (pages) followed. Default 10000.
	MaxPages int
	// MaxIFDEntries is the most entries one IFD may have. Default 4096.
	MaxIFDEntries int
	// MaxWidth and MaxHeight bound a page's dimensions in pixels.
	// Defaults 65536 (t4.MaxWidth) and 1<<20.
	MaxWidth, MaxHeight int
	// MaxPixels bounds width*height of one page. Default 1<<28 (a
	// bilevel page of 32 MiB; an A3 page at 1200 dpi is 2.8e8 pixels).
	MaxPixels int64
	// MaxImageBytes bounds the memory one decoded non-bilevel (grey,
	// palette, colour) page may take. Default 256 MiB (an A4 colour
	// scan at 600 dpi takes 139 MiB).
	MaxImageBytes int64
	// MaxStrips bounds the strips (or tiles) of a page. Default 1<<20.
	MaxStrips int
	// MaxValueBytes bounds the bytes of one tag value read (strings, colour
	// maps, JPEG tables). Strip tables are bounded by MaxStrips. Default 1 MiB.
	MaxValueBytes int
	// MaxStreamBuffer bounds the bytes a NewStreamReader holds at once
	// (about one page). Default 64 MiB.
	MaxStreamBuffer int64
}

// Default limits (documented on each Limits field).
const (
	defaultMaxPages      = 10000
	defaultMaxIFDEntries = 4096
	defaultMaxWidth      = 1 << 16
	defaultMaxHeight     = 1 << 20
	defaultMaxPixels     = 1 << 28
	defaultMaxImageBytes = 256 << 20
	defaultMaxStrips     = 1 << 20
	defaultMaxValueBytes = 1 << 20
	defaultMaxStream     = 64 << 20
)

func (l Limits) withDefaults() (Limits, error) {
	for _, v := range []int64{int64(l.MaxPages), int64(l.MaxIFDEntries), int64(l.MaxWidth), int64(l.MaxHeight),
		l.MaxPixels, l.MaxImageBytes, int64(l.MaxStrips), int64(l.MaxValueBytes), l.MaxStreamBuffer} {
		if v < 0 {
			return l, errors.New("tiff: negative limit")
		}
	}
	def := func(p *int, d int) {
		if *p == 0 {
			*p = d
		}
	}
	def(&l.MaxPages, defaultMaxPages)
	def(&l.MaxIFDEntries, defaultMaxIFDEntries)
	def(&l.MaxWidth, defaultMaxWidth)
	def(&l.MaxHeight, defaultMaxHeight)
	def(&l.MaxStrips, defaultMaxStrips)
	def(&l.MaxValueBytes, defaultMaxValueBytes)
	if l.MaxPixels == 0 {
		l.MaxPixels = defaultMaxPixels
	}
	if l.MaxImageBytes == 0 {
		l.MaxImageBytes = defaultMaxImageBytes
	}
	if l.MaxStreamBuffer == 0 {
		l.MaxStreamBuffer = defaultMaxStream
	}
	return l, nil
}

// ReaderConfig configures a Reader. The zero value (or nil) works.
type ReaderConfig struct {
	// Limits bound the resources a file can claim; zero fields take
	// their defaults.
	Limits Limits
	// Strict makes corrupt CCITT rows an error (wrapping ErrCorrupt)
	// instead of concealing them, as receivers do, by repeating the row
	// above.
	Strict bool
}

// limits returns the configured limits, defaults filled in; cfg may be nil.
func (cfg *ReaderConfig) limits() (Limits, error) {
	if cfg == nil {
		return Limits{}.withDefaults()
	}
	return cfg.Limits.withDefaults()
}

// Reader reads the pages of a TIFF file one at a time. Only the IFD of the
// current page and the metadata needed to decode it are held in memory; a
// page's pixels are read from the io.ReaderAt when asked for.
//
// A Reader is not safe for concurrent use, but distinct Pages may be
// decoded concurrently when the underlying io.ReaderAt allows it.
type Reader struct {
	r       io.ReaderAt
	size    int64
	order   binary.ByteOrder
	big     bool // BigTIFF
	limits  Limits
	strict  bool
	next    int64 // offset of the next IFD, 0 at the end
	index   int   // pages returned so far
	visited map[int64]struct{}
	stream  *forwardReader // set by NewStreamReader
	err     error          // sticky
}

// NewReader reads the TIFF header of the size-byte file r.
func NewReader(r io.ReaderAt, size int64, cfg *ReaderConfig) (*Reader, error) {
	lim, err := cfg.limits()
	if err != nil {
		return nil, err
	}
	rd := &Reader{r: r, size: size, limits: lim, strict: cfg != nil && cfg.Strict, visited: make(map[int64]struct{})}
	var h [16]byte
	n := 8
	if size < 8 {
		return nil, rd.errf(-1, 0, ErrCorrupt, "file too short for a TIFF header")
	}
	if size >= 16 {
		n = 16
	}
	if err := rd.readAt(h[:n], 0); err != nil {
		return nil, err
	}
	switch string(h[:2]) {
	case "II":
		rd.order = binary.LittleEndian
	case "MM":
		rd.order = binary.BigEndian
	default:
		return nil, rd.errf(-1, 0, ErrCorrupt, "not a TIFF file")
	}
	switch rd.order.Uint16(h[2:]) {
	case 42:
		rd.next = int64(rd.order.Uint32(h[4:]))
	case 43:
		if n < 16 || rd.order.Uint16(h[4:]) != 8 || rd.order.Uint16(h[6:]) != 0 {
			return nil, rd.errf(-1, 0, ErrCorrupt, "bad BigTIFF header")
		}
		rd.big = true
		off := rd.order.Uint64(h[8:])
		if off > math.MaxInt64 {
			return nil, rd.errf(-1, 8, ErrCorrupt, "first IFD offset out of range")
		}
		rd.next = int64(off)
	default:
		return nil, rd.errf(-1, 2, ErrCorrupt, "not a TIFF file (bad version)")
	}
	if rd.next == 0 {
		return nil, rd.errf(-1, 4, ErrCorrupt, "no IFD")
	}
	return rd, nil
}

// BigTIFF reports whether the file is a BigTIFF (64-bit offsets).
func (r *Reader) BigTIFF() bool { return r.big }

// ByteOrder returns the file's byte order.
func (r *Reader) ByteOrder() binary.ByteOrder { return r.order }

func (r *Reader) errf(page int, off int64, sentinel error, format string, args ...any) error {
	return &FormatError{Page: page, Offset: off, Msg: fmt.Sprintf(format, args...), Err: sentinel}
}

// readAt fills p from offset off, failing with ErrCorrupt when the range is
// not inside the file.
func (r *Reader) readAt(p []byte, off int64) error {
	if off < 0 || off > r.size || int64(len(p)) > r.size-off {
		return r.errf(r.index, off, ErrCorrupt, "%d bytes at offset past the end of the file", len(p))
	}
	n, err := r.r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = ErrCorrupt
	}
	return &FormatError{Page: r.index, Offset: off, Msg: "short read", Err: err}
}

// Next returns the next page, or io.EOF after the last one. After an error
// other than a page's own decoding error, Next keeps returning it.
func (r *Reader) Next() (*Page, error) {
	if r.err != nil {
		return nil, r.err
	}
	if r.next == 0 {
		return nil, io.EOF
	}
	if _, seen := r.visited[r.next]; seen {
		// The last IFD points back to one already read (writers that
		// reuse the first offset do): every page has been read, and the
		// loop ends the file, as libtiff warns and stops.
		r.next = 0
		return nil, io.EOF
	}
	p, err := r.readIFD(r.next)
	if err != nil {
		r.err = err
		return nil, err
	}
	r.index++
	r.release(p)
	return p, nil
}

// Pages iterates over the remaining pages. The iteration stops after the
// first error, which is yielded with a nil page.
func (r *Reader) Pages() iter.Seq2[*Page, error] {
	return func(yield func(*Page, error) bool) {
		for {
			p, err := r.Next()
			if err == io.EOF {
				return
			}
			if !yield(p, err) || err != nil {
				return
			}
		}
	}
}

// entry is one IFD entry; its value is either inline (val holds the raw
// bytes) or at offset off.
type entry struct {
	tag, typ uint16
	count    uint64
	inline   []byte // raw value bytes when they fit in the entry
	off      int64  // value offset when not inline
}

func (e *entry) size() (uint64, bool) {
	s := uint64(sizeOfType(e.typ))
	if s == 0 || e.count > math.MaxInt64/s {
		return 0, false
	}
	return s * e.count, true
}

// readIFD parses the IFD at off (TIFF 6.0 section 2, "Image File
// Directory"; BigTIFF uses 8-byte counts and offsets):
//
//	classic: count(2) { tag(2) type(2) count(4) value-or-offset(4) }... next(4)
//	BigTIFF: count(8) { tag(2) type(2) count(8) value-or-offset(8) }... next(8)
func (r *Reader) readIFD(off int64) (*Page, error) {
	page := r.index
	if page >= r.limits.MaxPages {
		return nil, r.errf(page, off, ErrTooLarge, "more than %d pages", r.limits.MaxPages)
	}
	r.visited[off] = struct{}{}
	// TIFF asks for word-aligned IFDs, but libtiff accepts odd offsets; so
	// do we.
	countSize, entrySize, valSize := 2, 12, 4
	if r.big {
		countSize, entrySize, valSize = 8, 20, 8
	}
	var cb [8]byte
	if err := r.readAt(cb[:countSize], off); err != nil {
		return nil, err
	}
	var n uint64
	if r.big {
		n = r.order.Uint64(cb[:])
	} else {
		n = uint64(r.order.Uint16(cb[:]))
	}
	if n == 0 {
		return nil, r.errf(page, off, ErrCorrupt, "empty IFD")
	}
	if n > uint64(r.limits.MaxIFDEntries) {
		return nil, r.errf(page, off, ErrTooLarge, "IFD has %d entries (limit %d)", n, r.limits.MaxIFDEntries)
	}
	buf := make([]byte, int(n)*entrySize+valSize)
	if err := r.readAt(buf, off+int64(countSize)); err != nil {
		return nil, err
	}
	entries := make([]entry, 0, n)
	for i := 0; i < int(n); i++ {
		b := buf[i*entrySize : (i+1)*entrySize]
		e := entry{tag: r.order.Uint16(b), typ: r.order.Uint16(b[2:])}
		var v []byte
		if r.big {
			e.count = r.order.Uint64(b[4:])
			v = b[12:20]
		} else {
			e.count = uint64(r.order.Uint32(b[4:]))
			v = b[8:12]
		}
		sz, ok := e.size()
		if !ok {
			continue // unknown type or absurd count: skip, as TIFF 6.0 says
		}
		if sz <= uint64(valSize) {
			e.inline = v[:sz]
		} else {
			var o uint64
			if r.big {
				o = r.order.Uint64(v)
			} else {
				o = uint64(r.order.Uint32(v))
			}
			if o > math.MaxInt64 {
				o = math.MaxInt64
			}
			e.off = int64(o)
		}
		entries = append(entries, e)
	}
	nb := buf[int(n)*entrySize:]
	var next uint64
	if r.big {
		next = r.order.Uint64(nb)
	} else {
		next = uint64(r.order.Uint32(nb))
	}
	if next > math.MaxInt64 || int64(next) >= r.size {
		// A next offset past the end: libtiff warns and stops; so do we,
		// keeping this page.
		next = 0
	}
	p := &Page{r: r, index: page, ifdOff: off}
	if err := p.parse(entries); err != nil {
		return nil, err
	}
	r.next = int64(next)
	return p, nil
}

// uints reads an integer-typed entry (BYTE, SHORT, LONG, LONG8, IFD) as
// uint64s, reading at most max values.
func (r *Reader) uints(e *entry, max int) ([]uint64, error) {
	switch e.typ {
	case typeByte, typeShort, typeLong, typeLong8, typeIFD, typeIFD8, typeUndefined:
	default:
		return nil, r.errf(r.index, -1, ErrCorrupt, "tag %d has type %d, want an integer", e.tag, e.typ)
	}
	if e.count > uint64(max) {
		return nil, r.errf(r.index, e.off, ErrTooLarge, "tag %d has %d values (limit %d)", e.tag, e.count, max)
	}
	raw, err := r.raw(e, math.MaxInt)
	if err != nil {
		return nil, err
	}
	s := sizeOfType(e.typ)
	out := make([]uint64, e.count)
	for i := range out {
		b := raw[i*s:]
		switch s {
		case 1:
			out[i] = uint64(b[0])
		case 2:
			out[i] = uint64(r.order.Uint16(b))
		case 4:
			out[i] = uint64(r.order.Uint32(b))
		case 8:
			out[i] = r.order.Uint64(b)
		}
	}
	return out, nil
}

// raw returns an entry's value bytes, refusing more than max bytes.
func (r *Reader) raw(e *entry, max int) ([]byte, error) {
	if e.inline != nil {
		return e.inline, nil
	}
	sz, _ := e.size()
	if sz > uint64(max) {
		return nil, r.errf(r.index, e.off, ErrTooLarge, "tag %d value of %d bytes (limit %d)", e.tag, sz, max)
	}
	if sz > uint64(r.size) {
		return nil, r.errf(r.index, e.off, ErrCorrupt, "tag %d value past the end of the file", e.tag)
	}
	b := make([]byte, sz)
	if err := r.readAt(b, e.off); err != nil {
		return nil, err
	}
	return b, nil
}

// first returns the first integer value of e.
func (r *Reader) first(e *entry) (uint64, error) {
	if e.count == 0 {
		return 0, r.errf(r.index, -1, ErrCorrupt, "tag %d has no value", e.tag)
	}
	c := *e
	c.count = 1
	if c.inline != nil {
		c.inline = c.inline[:sizeOfType(c.typ)]
	}
	v, err := r.uints(&c, 1)
	if err != nil {
		return 0, err
	}
	return v[0], nil
}

// rational returns the first value of a RATIONAL (or integer) entry.
func (r *Reader) rational(e *entry) (float64, error) {
	switch e.typ {
	case typeRational, typeSRational:
		if e.count == 0 {
			return 0, nil
		}
		c := *e
		c.count = 1
		b, err := r.raw(&c, 8)
		if err != nil {
			return 0, err
		}
		num, den := r.order.Uint32(b), r.order.Uint32(b[4:])
		if den == 0 {
			return 0, nil
		}
		if e.typ == typeSRational {
			return float64(int32(num)) / float64(int32(den)), nil
		}
		return float64(num) / float64(den), nil
	case typeFloat, typeDouble:
		c := *e
		c.count = 1
		b, err := r.raw(&c, 8)
		if err != nil {
			return 0, err
		}
		if e.typ == typeFloat {
			return float64(math.Float32frombits(r.order.Uint32(b))), nil
		}
		return math.Float64frombits(r.order.Uint64(b)), nil
	}
	v, err := r.first(e)
	return float64(v), err
}

// maxString caps ASCII tags kept in PageInfo.
const maxString = 4096

// ascii returns an ASCII entry up to its first NUL, at most maxString bytes.
func (r *Reader) ascii(e *entry) (string, error) {
	if e.typ != typeASCII && e.typ != typeByte && e.typ != typeUndefined {
		return "", nil
	}
	c := *e
	if c.count > maxString {
		c.count = maxString
		if c.inline != nil {
			c.inline = c.inline[:maxString]
		}
	}
	b, err := r.raw(&c, maxString)
	if err != nil {
		return "", err
	}
	if i := strings.IndexByte(string(b), 0); i >= 0 {
		b = b[:i]
	}
	return strings.ToValidUTF8(string(b), "\uFFFD"), nil
}
