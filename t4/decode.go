package t4

import (
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"sync"
)

// DefaultMaxRows is the number of rows a Decoder delivers at most when
// DecodeOptions.MaxRows is 0: more than a 1 m long page at 1200 lines/inch.
const DefaultMaxRows = 1 << 16

// MaxPageBytes bounds the packed size (Stride*Height) of a page that
// DecodePage builds.
const MaxPageBytes = 256 << 20

// DecodeOptions configures a Decoder. The zero value (or nil) decodes MH,
// MSB first, until RTC or the end of the data.
type DecodeOptions struct {
	Compression Compression // zero value means MH; MR rows are told apart by their tag bit
	BitOrder    BitOrder
	Rows        int  // rows expected (TIFF ImageLength); 0 = until RTC/EOFB/end of data
	MaxRows     int  // safety cap; 0 means DefaultMaxRows
	NoEOL       bool // MH only: TIFF Compression 2
	// Strict makes ReadRow return a *DecodeError at the first corrupt row
	// instead of concealing it.
	Strict bool
}

// Stats summarises the damage a Decoder met. T.30 uses it to answer a page
// with MCF, RTP or RTN.
type Stats struct {
	Rows          int // rows delivered
	BadRows       int // rows that were corrupt and replaced (concealed), incl. rows lost whole
	LongestBadRun int // longest run of consecutive bad rows
}

// Decoder decodes the rows of one coded page from an io.Reader.
//
// Damage is concealed the way fax receivers do it (T.4 Appendix I; T.30
// copy quality): in MH and MR a row that does not decode to exactly the
// width, or is not followed by an EOL, is replaced by the previous good row,
// and decoding resumes after the next EOL. In MR the 2-D rows that follow a
// bad row are replaced too, up to the next 1-D row, because their reference
// is lost. In MMR, and MH without EOLs, there is no way to resynchronise: a
// corrupt code ends the page; if Rows is known the remaining rows are the
// last good row repeated, all counted bad; otherwise the corrupt row is
// delivered concealed and ReadRow then returns io.EOF. When the data ends
// (or RTC/EOFB comes) before Rows rows, the missing rows are concealed and
// counted bad too.
//
// A Decoder makes its input buffer at its first read from an io.Reader
// (never for data given with ResetBytes) and allocates nothing after that.
type Decoder struct {
	br       bitReader
	width    int
	opt      DecodeOptions
	cur, ref []int32 // changing elements: row being decoded, last good row
	// Rows that repeat the row two above them (a line screen: rows
	// alternating between two patterns; see twoBackNext). old is the
	// changing-element list of the row before the reference, rows the
	// coding of the last four rows.
	old []int32
	// lists holds cur, ref and old (newLists); code2D indexes it.
	lists []int32
	// The next 2-D row is decoded by code2DDense when dense, else by
	// code2D; odd counts code2D's steps of b1 that went against the
	// common case (nextB1Branches).
	dense   bool
	odd     int
	rows    rowRecords
	spare   []byte // ReadPage: where a row past the bitmap would go (never filled)
	stats   Stats
	badRun  int
	lastBad bool // the row last delivered was concealed
	started bool // the optional leading EOL has been looked for
	haveEOL bool // the EOL (and MR tag) before the next row has been consumed
	next2D  bool // MR: the next row's tag says 2-D
	refBad  bool // MR: the 2-D reference is lost until a good 1-D row
	dead    bool // MMR / NoEOL: no good rows can follow
	done    bool // no more coded rows
	err     error
	first   *DecodeError
	// The coded bits of the row last delivered, when it was a good 1-D
	// row followed by an EOL (rowEOL): from its first code to the end of
	// that EOL, span its stream offset in bits and spanLen their number
	// (0 when they are not known). A row coded the same is the same row.
	span    int64
	spanLen int
	// ReadRow's copy of the reference row's pixels, when lastOK: a row
	// that repeats the previous one is copied from it, not filled from
	// the reference list; and of the row before it, when last2OK, for a
	// row that repeats that one (twoBackNext). ReadPage, which copies
	// from the bitmap instead, sets inPage: no copy is kept.
	// lasts[lastAt] is the copy of the last row, the other one of the row
	// before it (swapped by flipping lastAt: swapping two slices was a
	// tenth of a line screen's row).
	lasts           [2][]byte
	lastAt          int
	lastOK, last2OK bool
	inPage          bool
	// The row count after ReadRow's last row that repeated the row two
	// above (-1: none); see twoBackAgain.
	tbAt int
	// The row count after the last row recorded (rows) when it equals
	// the row two above it, else -1: twoBackNext's first test. Through
	// rows.back(0) that test took twoBackNext over the inlining budget
	// (a call for every row that is not white).
	eqAt int
	// MR and MMR rows that repeat a row up to maxPeriod above (farNext) are
	// compared with the rows delivered: ReadPage's bitmap, page, whose
	// row 0 is row pageBase; or, from ReadRow, the copies in hist of the
	// last rows (hist[y%farRing] holds row y when histAt[y%farRing] is
	// y+1), kept while histOn, from row histBegin up to row histEnd (see
	// rowAt). far records the coding of the last rows decoded in full or
	// taken that way, by row count; farP is the distance of the last row
	// farNext took.
	page      *Bitmap
	pageBase  int
	hist      [farRing][]byte
	histAt    [farRing]int
	histOn    bool
	histBegin int
	histEnd   int
	far       farRecords
	farP      int
	farKey    uint64 // listKey of the reference of row farKeyAt
	farKeyAt  int
}

func checkDecodeOptions(width int, opts *DecodeOptions) (DecodeOptions, error) {
	var o DecodeOptions
	if opts != nil {
		o = *opts
	}
	if width < 1 || width > MaxWidth {
		return o, fmt.Errorf("%w: %d", ErrWidth, width)
	}
	if o.Compression == 0 {
		o.Compression = MH
	}
	if o.Compression > MMR || o.BitOrder > LSBFirst || o.Rows < 0 || o.MaxRows < 0 {
		return o, fmt.Errorf("%w: compression %v, bit order %v, rows %d, max rows %d",
			ErrOptions, o.Compression, o.BitOrder, o.Rows, o.MaxRows)
	}
	if o.NoEOL && o.Compression != MH {
		return o, fmt.Errorf("%w: NoEOL needs MH", ErrOptions)
	}
	if o.MaxRows == 0 {
		o.MaxRows = DefaultMaxRows
	}
	if o.Rows > o.MaxRows {
		return o, fmt.Errorf("%w: %d rows (MaxRows %d)", ErrTooLarge, o.Rows, o.MaxRows)
	}
	return o, nil
}

// NewDecoder returns a Decoder for rows of width pixels (1..MaxWidth) read
// from r. opts may be nil.
func NewDecoder(r io.Reader, width int, opts *DecodeOptions) (*Decoder, error) {
	o, err := checkDecodeOptions(width, opts)
	if err != nil {
		return nil, err
	}
	d := new(Decoder)
	d.setup(width, o)
	d.Reset(r)
	return d, nil
}

// setup prepares d for rows of width pixels with checked options, keeping
// its buffers when they are large enough.
func (d *Decoder) setup(width int, o DecodeOptions) {
	d.width, d.opt = width, o
	if len(d.lists) < 3*listStride(width) {
		d.lists, d.cur, d.ref, d.old = newLists(width)
	}
	markLists(d.lists)
	if cap(d.spare) < (width+7)/8 {
		d.spare = make([]byte, (width+7)/8)
		d.lasts[0] = make([]byte, (width+7)/8)
		d.lasts[1] = make([]byte, (width+7)/8)
	}
	d.spare = d.spare[:(width+7)/8]
	d.lasts[0] = d.lasts[0][:(width+7)/8]
	d.lasts[1] = d.lasts[1][:(width+7)/8]
}

// decoders keeps the Decoders of the one-call functions (DecodeInto,
// DecodePage) for the next call: a page's set-up (two changing-element
// lists of the width, about 14 KB at A4) cost a blank page half its
// decode time.
var decoders sync.Pool

func getDecoder(width int, o DecodeOptions) *Decoder {
	d, _ := decoders.Get().(*Decoder)
	if d == nil {
		d = new(Decoder)
	}
	d.setup(width, o)
	return d
}

// putDecoder returns d to the pool with nothing of the page in it: not
// the caller's reader or data, nor d's copies of them (the read buffer
// and the changing elements are cleared, the bit-reversed copy of
// LSBFirst data is dropped). Coded pages are PHI; a pool outlives the
// call.
func putDecoder(d *Decoder) {
	d.scrub()
	decoders.Put(d)
}

func (d *Decoder) scrub() {
	clear(d.br.own)
	clear(d.lists)
	markLists(d.lists)
	clear(d.lasts[0])
	clear(d.lasts[1])
	d.last2OK = false
	d.rows, d.eqAt = rowRecords{}, -1
	d.far = farRecords{}
	d.page = nil
	for _, h := range d.hist {
		clear(h)
	}
	d.histAt = [farRing]int{}
	d.histOn = false
	d.lastOK = false
	d.br = bitReader{own: d.br.own}
	d.err, d.first = nil, nil
}

// Reset prepares d to decode a new page from r with the same width and
// options.
func (d *Decoder) Reset(r io.Reader) {
	d.br.reset(r, d.opt.BitOrder == LSBFirst)
	d.ref = endList(d.ref[:cap(d.ref)], 0, int32(d.width))
	d.cur = d.cur[:0]
	d.stats = Stats{}
	d.badRun, d.lastBad = 0, false
	d.started, d.haveEOL, d.next2D, d.refBad, d.dead, d.done = false, false, false, false, false, false
	d.err = nil
	d.first = nil
	d.spanLen = 0
	d.lastOK, d.last2OK = false, false
	d.rows = rowRecords{}
	d.eqAt = -1
	d.tbAt = -1
	d.dense = false
	d.far = farRecords{}
	d.farP = 0
	d.farKeyAt = -1
	d.histAt = [farRing]int{}
	d.histOn, d.histBegin, d.histEnd = false, 0, 0
}

// ResetBytes prepares d to decode a new page held in data, with the same
// width and options. data is read in place, not copied (except to reverse
// LSBFirst bits, into scratch that is kept) and must not change until the
// page is decoded.
func (d *Decoder) ResetBytes(data []byte) {
	d.Reset(nil)
	d.br.resetBytes(data, d.opt.BitOrder == LSBFirst)
}

// DecodeInto decodes the page in data into dst, whose Width is the page
// width, and returns the counts (Stats.Rows rows of dst were written; the
// rest are left as they were). opts.Rows, if set, must fit in dst; a page
// with more rows than dst.Height fails with ErrTooLarge. See DecodePage
// for the handling of damage. To decode many pages without allocating, use
// a Decoder with ResetBytes and ReadPage.
func DecodeInto(dst *Bitmap, data []byte, opts *DecodeOptions) (Stats, error) {
	o := DecodeOptions{}
	if opts != nil {
		o = *opts
	}
	if o.MaxRows == 0 || o.MaxRows > dst.Height {
		o.MaxRows = max(dst.Height, 1)
	}
	o, err := checkDecodeOptions(dst.Width, &o)
	if err != nil {
		return Stats{}, err
	}
	d := getDecoder(dst.Width, o)
	defer putDecoder(d)
	d.ResetBytes(data)
	return d.ReadPage(dst)
}

// ReadPage decodes the page into dst from its first row: it calls ReadRow
// until io.EOF and returns Stats (Stats.Rows rows of dst were written).
// dst.Width must be the decoder's width; a page with more rows than
// dst.Height fails with ErrTooLarge, as past MaxRows.
func (d *Decoder) ReadPage(dst *Bitmap) (Stats, error) {
	if dst.Width != d.width || dst.Stride < (d.width+7)/8 || len(dst.Pix) < dst.Stride*dst.Height {
		return d.stats, fmt.Errorf("%w: bitmap width %d for decoder width %d", ErrWidth, dst.Width, d.width)
	}
	if d.opt.Rows > dst.Height {
		return d.stats, fmt.Errorf("%w: %d rows for a bitmap of %d", ErrTooLarge, d.opt.Rows, dst.Height)
	}
	if limit := d.stats.Rows + dst.Height; limit < d.opt.MaxRows {
		save := d.opt.MaxRows
		d.opt.MaxRows = limit
		defer func() { d.opt.MaxRows = save }()
	}
	if d.opt.Compression != MH {
		// farNext reads the rows already decoded; the decoder does not
		// keep the caller's bitmap past the call.
		d.page, d.pageBase = dst, d.stats.Rows
		defer func() { d.page = nil }()
	}
	for y := 0; ; y++ {
		if y > 0 && y < dst.Height {
			y = d.quickRows(dst, y)
		}
		row := d.spare
		if y < dst.Height {
			row = dst.Row(y)
		}
		d.inPage = true
		err := d.ReadRow(row)
		d.inPage = false
		if err == io.EOF {
			return d.stats, nil
		}
		if err != nil {
			return d.stats, err
		}
	}
}

// quickRows decodes, from row y of dst on, the rows that follow a good
// row and are coded as its repeat, without the per-row bookkeeping of
// ReadRow, as long as each is coded the usual way: white rows under a
// white reference (see whiteEOLRow; in MMR a V0 bit), and rows equal to
// the previous one (see sameNext), which are copied from it. It stops
// before any other row and at every limit, and returns the next row.
func (d *Decoder) quickRows(dst *Bitmap, y int) int {
	if d.err != nil || d.done || d.dead || !d.started && d.opt.Compression != MMR ||
		d.badRun != 0 {
		return y
	}
	limit := d.opt.MaxRows
	if d.opt.Rows > 0 {
		limit = min(limit, d.opt.Rows)
	}
	n := (d.width + 7) / 8
	br := &d.br
	for {
		switch {
		case d.ref[0] < int32(d.width):
			// Each row read here leaves the reference as it was.
			for y < dst.Height && d.stats.Rows < limit && d.sameNext() {
				copy(dst.Row(y)[:n], dst.Row(y - 1)[:n])
				d.stats.Rows++
				y++
			}
		case d.opt.Compression == MMR:
			// A white row under a white reference is the single bit of V0.
			for y < dst.Height && d.stats.Rows < limit {
				if br.n < 1 {
					br.refill()
				}
				if br.n < 1 || br.acc>>63 == 0 {
					break
				}
				br.consume(1)
				clear(dst.Row(y)[:n])
				d.stats.Rows++
				y++
			}
		case d.opt.NoEOL || !d.haveEOL:
			return y
		default:
			y = d.whiteEOLRows(dst, y, limit)
		}
		k := y
		if y = d.twoBackRows(dst, y, limit); y == k {
			return y
		}
	}
}

// sameNext consumes the next row when, under a reference row that is not
// white, it is coded as a repeat of the previous row (the reference), and
// reports whether it did. A 2-D row equal to its reference is one V0 per
// changing element of the reference and one for the row's end: k+1 one
// bits (then, in MR, EOL and the tag). A 1-D row coded with the same bits
// as the previous 1-D row, up to the EOL after them, is that row again.
// Rows equal to the previous one are common (ruled lines, borders, black
// bars, the rows of a glyph drawn at fine resolution), and each costs a
// comparison of bits here instead of a decode and a fill. The caller has
// checked what ReadRow checks before a row (limits, a good previous row).
func (d *Decoder) sameNext() bool {
	if d.ref[0] >= int32(d.width) || noRepeats {
		return false // whiteNext's
	}
	switch {
	case d.opt.Compression == MMR:
		if d.dead {
			return false
		}
		// sameV0's test when the bits are in hand, written out (the call
		// was a tenth of a black page's row through ReadRow).
		if l, br := len(d.ref)-listPad+1, &d.br; l <= 56 && br.n >= l {
			if br.acc>>uint(64-l) != 1<<uint(l)-1 {
				return false
			}
			br.consume(l)
			return true
		}
		return d.sameV0(false)
	case d.opt.NoEOL || !d.started || !d.haveEOL:
		return false
	case d.next2D && d.opt.Compression == MR:
		if d.refBad || !d.sameV0(true) {
			return false
		}
		// The row's pixels are the previous row's: the span, when known,
		// is still their 1-D coding, for the next 1-D row.
	default:
		if !d.sameSpan() {
			return false
		}
	}
	d.readTag()
	return true
}

// noRepeats turns off the coders' handling of rows equal to the previous
// one (Decoder.sameNext, Encoder.writeRow), for tests that compare it with
// the general path.
var noRepeats bool

// sameV0 consumes the coding of a 2-D row equal to its reference when it
// comes next: k+1 V0 codes (one bits), for the reference's k changing
// elements, then, with eol, an EOL. It reports whether it did. Up to 56
// bits are tested in the bit buffer, more in the read buffer (when it
// holds them and 8 octets after them).
func (d *Decoder) sameV0(eol bool) bool {
	k := len(d.ref) - listPad
	l := k + 1
	pat := uint64(1)<<l - 1
	if eol {
		l += 12
		pat = pat<<12 | 1
	}
	br := &d.br
	if l > 56 {
		// A longer row, from the read buffer, 56 bits at a time.
		if br.n < 0 {
			return false
		}
		// cur < 0: the bits in hand came before the buffer's start
		// (bitReader.fill moved what was left to the front).
		cur := int64(br.pos)*8 - int64(br.n)
		if cur < 0 || (cur+int64(l))>>3+8 > int64(br.end) {
			return false
		}
		off := int64(0)
		for ; off+56 <= int64(k+1); off += 56 {
			if bitsAt(br.buf, cur+off)>>8 != 1<<56-1 {
				return false
			}
		}
		if r := uint(int64(k+1) - off); r > 0 && bitsAt(br.buf, cur+off)>>(64-r) != 1<<r-1 {
			return false
		}
		if eol && bitsAt(br.buf, cur+int64(k+1))>>52 != 1 {
			return false
		}
		br.skipTo(cur + int64(l))
		return true
	}
	if br.n < l {
		br.refill()
	}
	if br.n < l || br.acc>>uint(64-l) != pat {
		return false
	}
	br.consume(l)
	return true
}

// sameSpan consumes the next d.spanLen bits when they are those of the
// previous row (see Decoder.span) and reports whether they were
// (bitReader.repeat says when it can tell). Otherwise the row takes the
// general path.
func (d *Decoder) sameSpan() bool {
	if d.spanLen == 0 {
		return false
	}
	at, ok := d.br.repeat(d.span, d.spanLen)
	if ok {
		d.span = at
	}
	return ok
}

// repeat consumes the next l bits when they are the l bits at stream
// offset src and returns the stream offset where they began. It needs
// both in the read buffer, with 8 octets after them; otherwise, or when
// they differ, it consumes nothing and reports false.
func (br *bitReader) repeat(src int64, l int) (int64, bool) {
	if br.n < 0 {
		return 0, false
	}
	src -= br.base * 8
	if l <= 56 && src >= 0 && src>>3+8 <= int64(len(br.buf)) {
		// A short span, against the bits in hand.
		if br.n < l {
			// refill's fast path, written out (a call was a tenth of a
			// line screen's row).
			if br.end-br.pos >= 8 {
				v := binary.BigEndian.Uint64(br.buf[br.pos:])
				br.acc |= v >> (uint(br.n) & 63)
				k := (64 - br.n) >> 3
				br.pos += k
				br.n += k << 3
			} else {
				br.slowRefill()
			}
		}
		at := br.bitPos()
		if br.n < l || (br.acc^bitsAt(br.buf, src))>>uint(64-l) != 0 {
			return 0, false
		}
		br.consume(l)
		return at, true
	}
	cur := int64(br.pos)*8 - int64(br.n)
	if src < 0 || cur < 0 || (cur+int64(l))>>3+8 > int64(br.end) {
		return 0, false
	}
	for off := 0; off < l; off += 56 {
		c := uint(min(56, l-off))
		a := bitsAt(br.buf, src+int64(off)) >> (64 - c)
		b := bitsAt(br.buf, cur+int64(off)) >> (64 - c)
		if a != b {
			return 0, false
		}
	}
	br.skipTo(cur + int64(l))
	return cur + br.base*8, true
}

// bitsAt returns the 64 bits of buf from bit offset off, MSB first; the
// top 57 are buf's (off>>3 + 8 <= len(buf)).
func bitsAt(buf []byte, off int64) uint64 {
	return binary.BigEndian.Uint64(buf[off>>3:]) << uint(off&7)
}

// whiteEOLRows is quickRows for MH and MR rows framed by EOLs: the test
// of whiteEOLRow, row after row, with the bit buffer and the counts in
// local variables (a blank page is nothing but such rows: the per-row cost
// is the page's cost). The reference row stays white throughout.
func (d *Decoder) whiteEOLRows(dst *Bitmap, y, limit int) int {
	// The two patterns: a 1-D row (the full-width white run, then EOL) and
	// a 2-D row under a white reference (V0, then EOL); l1 == 0 when the
	// width takes more than one combined run code.
	var pat1 uint64
	l1 := 0
	if d.width <= maxCombinedRun {
		c := whiteRun[d.width]
		pat1, l1 = uint64(c>>5)<<12|1, int(c&31)+12
	}
	const pat2, l2 = 1<<12 | 1, 13
	mr := d.opt.Compression == MR
	n := (d.width + 7) / 8
	br := &d.br
	acc, bn := br.acc, br.n
	rows, next2D := d.stats.Rows, d.next2D
	y0 := y
	for y < dst.Height && rows < limit {
		pat, l := pat1, l1
		if next2D && mr {
			pat, l = pat2, l2
		}
		if bn <= l { // the row and the tag bit
			br.acc, br.n = acc, bn
			br.refill()
			acc, bn = br.acc, br.n
		}
		if l == 0 || bn < l || acc>>uint(64-l) != pat {
			break
		}
		acc <<= uint(l)
		bn -= l
		if mr { // readTag
			if bn < 1 {
				br.acc, br.n = acc, bn
				br.refill()
				acc, bn = br.acc, br.n
			}
			next2D = acc>>63 == 0
			acc <<= 1
			bn--
		}
		clear(dst.Row(y)[:n])
		rows++
		y++
	}
	br.acc, br.n = acc, bn
	if y > y0 {
		d.stats.Rows, d.next2D, d.refBad = rows, next2D, false
		d.cur = endList(d.cur[:cap(d.cur)], 0, int32(d.width))
		d.spanLen = 0
	}
	return y
}

// whiteNext consumes the next row when it is white and coded the usual
// way under a white reference row (quickRows' test, one row), and reports
// whether it did; the reference stays white, so the row's changing
// elements need not be written. Inlined into ReadRow, which then makes one
// call for a white row: on a blank page the calls were a good part of a
// row's cost.
func (d *Decoder) whiteNext() bool {
	return d.ref[0] >= int32(d.width) && d.whiteBits()
}

// Stats returns the counts so far.
func (d *Decoder) Stats() Stats { return d.stats }

// Err returns the first corruption met (a *DecodeError), or nil for clean
// data. Concealed damage is not an error of ReadRow; this tells where it was.
func (d *Decoder) Err() error {
	if d.first == nil {
		return nil
	}
	return d.first
}

type rowStatus uint8

const (
	rowGood rowStatus = iota
	rowBad
	rowEnd
)

// ReadRow decodes the next row into dst (Bitmap's packed format; len(dst)
// >= (width+7)/8). It returns io.EOF after the last row: at RTC or EOFB,
// after Rows rows, or at the end of the data. A corrupt row is concealed
// (see Decoder) and is not an error unless Strict is set. Errors other than
// io.EOF are sticky: the reader's error, ErrTooLarge past MaxRows.
func (d *Decoder) ReadRow(dst []byte) error {
	if d.err != nil {
		return d.err
	}
	if len(dst) < (d.width+7)/8 {
		return fmt.Errorf("%w: row of %d bytes for width %d", ErrWidth, len(dst), d.width)
	}
	if d.opt.Rows > 0 && d.stats.Rows >= d.opt.Rows {
		return io.EOF
	}
	if d.badRun == 0 && !d.done && d.stats.Rows < d.opt.MaxRows {
		if d.tbAt == d.stats.Rows && d.twoBackAgain() {
			// After a row that repeated the row two above, the next is
			// likely to as well (a line screen): tried first, and alone.
			return d.twoBackDone(dst)
		}
		switch {
		case d.whiteNext():
			// A white row coded the usual way, after a good row: no
			// changing elements to list and fill (see quickRows).
			if d.br.err != nil {
				d.err = d.br.err
				return d.err
			}
			clear(dst[:(d.width+7)/8])
			d.stats.Rows++
			d.spanLen = 0
			d.last2OK = false
			return nil
		case d.twoBackNext():
			// A repeat of the row two above (tried before a repeat of the
			// row above: where the rows above repeat the ones two above
			// them, the next one is likely to; after the test for a white
			// row, which a blank page could not afford to wait for): the
			// reference is its list now.
			return d.twoBackDone(dst)
		case d.sameNext():
			// A repeat of the previous row: the reference stays.
			if d.br.err != nil {
				d.err = d.br.err
				return d.err
			}
			if d.lastOK {
				copy(dst, d.lasts[d.lastAt])
			} else {
				fillRow(dst, d.ref, d.width)
			}
			d.stats.Rows++
			d.last2OK = false
			return nil
		case d.opt.Compression != MH && d.farNext(dst):
			// A repeat of a row further up (MR, MMR).
			if d.br.err != nil {
				d.err = d.br.err
				return d.err
			}
			return nil
		}
	}
	return d.readRow(dst)
}

// twoBackDone delivers a row that repeats the row two above
// (twoBackNext, twoBackAgain), whose list is the reference now, and lets
// ReadRow try twoBackAgain first for the next row.
func (d *Decoder) twoBackDone(dst []byte) error {
	if d.br.err != nil {
		d.err = d.br.err
		return d.err
	}
	if d.last2OK && !d.inPage {
		// The copy of the row two above is this row's now.
		d.lastAt ^= 1
		copy(dst, d.lasts[d.lastAt])
		d.lastOK, d.last2OK = true, d.lastOK
		d.stats.Rows++
	} else {
		d.rowDone(dst)
	}
	d.tbAt = d.stats.Rows
	return nil
}

// twoBackAgain is twoBackNext for the row after one that twoBackNext or
// twoBackAgain took, with nothing between (tbAt): the row above repeats
// the row three above, so a row two above of this row's kind (always, but
// in MR) has this row's reference, and its bits are the only test. In MR, where the row of this kind may be four above, it is
// the one twoBackNext finds.
func (d *Decoder) twoBackAgain() bool {
	b := d.rows.back(1)
	if d.opt.Compression == MR {
		if b = d.rows.twoAbove(d.stats.Rows, d.next2D); b == nil || d.next2D && d.refBad {
			return false
		}
	}
	if b.n == 0 {
		return false
	}
	at, ok := d.br.repeat(b.off, b.n)
	if !ok {
		return false
	}
	d.ref, d.old = d.old, d.ref
	d.rows.push(at, b.n, d.stats.Rows+1, b.twoD, false, true)
	d.eqAt = d.stats.Rows + 1
	if d.opt.Compression == MR {
		d.readTag()
	}
	return true
}

// readRow is ReadRow's general path: the row decoded in full, or
// concealed, or the page's end.
func (d *Decoder) readRow(dst []byte) error {
	st := rowEnd
	first := d.first
	// Where the row's coding starts, when it starts a row cleanly (after
	// the EOL and tag of the row before): see track.
	start, twoD := int64(-1), d.opt.Compression == MMR || d.opt.Compression == MR && d.next2D
	if d.opt.Compression == MMR || !d.opt.NoEOL && d.started && d.haveEOL {
		start = d.br.bitPos()
	}
	if !d.done {
		st = d.decodeRow()
		if d.br.err != nil {
			d.err = d.br.err
			return d.err
		}
	}
	if st != rowEnd && d.stats.Rows >= d.opt.MaxRows {
		// The row past the limit is not part of the page: whatever its
		// coding, it is neither counted in Stats nor reported by Err, so
		// the two always describe the same rows.
		d.first = first
		d.err = &DecodeError{Row: d.stats.Rows, Bit: d.br.bitPos(), Err: ErrTooLarge}
		return d.err
	}
	if st == rowEnd {
		d.done = true
		if d.opt.Rows == 0 {
			return io.EOF
		}
		st = rowBad // a row lost whole
	}
	if st == rowBad {
		if d.opt.Strict {
			d.err = d.first
			if d.err == nil {
				d.err = &DecodeError{Row: d.stats.Rows, Bit: d.br.bitPos(), Err: errTruncated}
			}
			return d.err
		}
		fillRow(dst, d.ref, d.width)
		d.last2OK = false
		d.stats.Rows++
		d.stats.BadRows++
		d.lastBad = true
		d.badRun++
		d.stats.LongestBadRun = max(d.stats.LongestBadRun, d.badRun)
		if d.histOn {
			d.keep(dst)
		}
		return nil
	}
	if d.opt.Compression != MMR && !d.haveEOL {
		start = -1 // no EOL after the row: its end is not known
	}
	d.track(start, twoD)
	d.rowDone(dst)
	if d.histOn {
		d.keep(dst)
	}
	return nil
}

// rowDone delivers a good row whose changing elements are d.ref, and
// keeps copies of it and of the row before (ReadRow).
func (d *Decoder) rowDone(dst []byte) {
	fillRow(dst, d.ref, d.width)
	d.lastAt ^= 1
	d.last2OK = d.lastOK
	d.lastOK = !d.inPage
	if d.lastOK {
		copy(d.lasts[d.lastAt], dst)
	}
	d.stats.Rows++
	d.badRun, d.lastBad = 0, false
}

// twoBackRows is quickRows for rows that repeat the row two above them
// (twoBackNext); once a row has, the next ones are tried by twoBackAgain.
func (d *Decoder) twoBackRows(dst *Bitmap, y, limit int) int {
	n := (d.width + 7) / 8
	for y >= 2 && y < dst.Height && d.stats.Rows < limit && d.twoBackNext() {
		copy(dst.Row(y)[:n], dst.Row(y - 2)[:n])
		d.stats.Rows++
		y++
		for y < dst.Height && d.stats.Rows < limit && d.twoBackAgain() {
			copy(dst.Row(y)[:n], dst.Row(y - 2)[:n])
			d.stats.Rows++
			y++
		}
	}
	return y
}

// track makes the row just decoded in full, d.cur, the reference, and
// records its coding (from start, or -1 when not known) and whether it
// equals the row two above it, for twoBackNext.
func (d *Decoder) track(start int64, twoD bool) {
	y := d.stats.Rows
	// old is the list of row y-2 when the last two rows were tracked.
	eq := y >= 2 && d.rows.back(0).after == y && d.rows.back(1).after == y-1 && slices.Equal(d.cur, d.old)
	n := 0
	if start >= 0 {
		n = int(d.br.bitPos() - start)
		if d.opt.Compression == MR {
			n-- // the next row's tag
		}
	}
	if n > 0 && d.farKeyAt == y {
		d.far.push(y, start, n, d.farKey, twoD)
	}
	d.cur, d.ref, d.old = d.old, d.cur, d.ref
	d.rows.push(start, n, y+1, twoD, false, eq)
	d.eqAt = -1
	if eq {
		d.eqAt = y + 1
	}
}

// twoBackNext consumes the next row when it is coded exactly as the row
// two above it was, in the same state (a 1-D row, or a 2-D row whose
// reference equals that row's reference), and so is that row again; it
// reports whether it did. It looks only when the row above equals the
// row three above (which a 2-D row needs anyway): on other pages the
// test is a few comparisons of the records of the rows above. Its
// changing elements, d.old, become the reference. Rows that alternate
// between two patterns (a horizontal line screen, hatching) then cost a
// comparison of bits each instead of a decode. In MR, where K = 4 puts
// 1-D and 2-D rows two apart, a row may match the row four above instead
// (in the same state, and the row two above equal to that one).
func (d *Decoder) twoBackNext() bool {
	// The test that fails on most pages, inlined: the row above was
	// recorded, and equals the row three above.
	return d.eqAt == d.stats.Rows && d.twoBackBits()
}

// twoBackBits is twoBackNext past its first test.
func (d *Decoder) twoBackBits() bool {
	if noRepeats || d.dead || d.opt.Compression != MMR && (d.opt.NoEOL || !d.haveEOL) {
		return false
	}
	twoD := d.opt.Compression == MMR || d.opt.Compression == MR && d.next2D
	if d.rows.twoAbove(d.stats.Rows, twoD) == nil || twoD && d.refBad {
		return false
	}
	// The rows above are as twoBackAgain needs them: it takes the row
	// twoAbove found, in MH and MMR the row two above.
	if !d.twoBackAgain() {
		return false
	}
	d.spanLen = 0 // sameSpan's row is no longer the row above
	if d.histOn {
		// ReadRow does not copy the rows it takes this way (see rowAt),
		// nor the rows twoBackAgain takes after this one: none from here
		// on are known to farNext. Stopped here, once for a stretch of
		// them, not in twoBackDone for each (a line screen's row costs
		// about 40 cycles).
		d.histOn, d.histEnd = false, d.stats.Rows
	}
	return true
}

// RowBad reports whether the row last delivered by ReadRow was corrupt or
// lost, and concealed (counted in Stats.BadRows).
func (d *Decoder) RowBad() bool { return d.lastBad }

// fail records the first error and reports a bad row.
func (d *Decoder) fail(err error) rowStatus {
	if d.first == nil {
		d.first = &DecodeError{Row: d.stats.Rows, Bit: d.br.bitPos(), Err: err}
	}
	return rowBad
}

func (d *Decoder) decodeRow() rowStatus {
	switch {
	case d.opt.Compression == MMR:
		return d.rowMMR()
	case d.opt.NoEOL:
		return d.rowNoEOL()
	}
	return d.rowEOL()
}

// rowMMR decodes one T.6 row (T.6 2.2): 2-D coded against the previous row,
// no EOLs; the page ends with EOFB (two EOLs) or with the data.
func (d *Decoder) rowMMR() rowStatus {
	if d.dead {
		if d.opt.Rows == 0 {
			return rowEnd
		}
		return rowBad
	}
	br := &d.br
	if br.atEnd() {
		return rowEnd
	}
	if br.acc>>57 == 0 { // seven zeros: EOFB, padding or garbage
		if br.acc>>52 == 1 || br.restIsZero() {
			return rowEnd
		}
	}
	err := d.decode2D()
	if err == nil && br.n < 0 {
		err = errTruncated
	}
	if err != nil {
		d.dead = true
		return d.fail(err)
	}
	return rowGood
}

// rowNoEOL decodes one row of TIFF Compression 2: MH codes without EOLs,
// each row starting on an octet boundary.
func (d *Decoder) rowNoEOL() rowStatus {
	if d.dead {
		if d.opt.Rows == 0 {
			return rowEnd
		}
		return rowBad
	}
	br := &d.br
	br.alignByte()
	if br.restIsZero() {
		return rowEnd
	}
	err := d.decode1D()
	if err == nil && br.n < 0 {
		err = errTruncated
	}
	if err != nil {
		d.dead = true
		return d.fail(err)
	}
	return rowGood
}

// readTag reads the MR tag bit that follows an EOL (T.4 4.2.2): 1 means the
// next row is 1-D coded.
func (d *Decoder) readTag() {
	if d.opt.Compression != MR {
		return
	}
	br := &d.br
	if br.n < 1 {
		br.refill()
	}
	d.next2D = br.acc>>63 == 0
	br.consume(1)
}

// rowEOL decodes one MH or MR row framed by EOLs (T.4 4.1, 4.2): EOL, [tag,]
// data, [fill]. The page ends with RTC (an EOL right after an EOL) or with
// the data.
func (d *Decoder) rowEOL() rowStatus {
	br := &d.br
	d.spanLen = 0
	if !d.started {
		d.started = true
		found, end := br.skipEOL()
		if end {
			return rowEnd
		}
		d.haveEOL = found
		if found {
			d.readTag()
		}
	} else if !d.haveEOL {
		return rowEnd
	}
	if d.haveEOL && !d.opt.NoEOL {
		if st, ok := d.whiteEOLRow(); ok {
			return st
		}
	}
	if d.haveEOL {
		// RTC: a second EOL with no row between.
		if found, end := br.skipEOL(); found || end {
			return rowEnd
		}
	}
	var err error
	start := int64(-1) // a 1-D row's first bit
	if d.next2D && d.opt.Compression == MR {
		if d.refBad {
			d.resync()
			return rowBad
		}
		err = d.decode2D()
	} else {
		start = br.bitPos()
		err = d.decode1D()
	}
	if err == nil && br.n < 0 {
		err = errTruncated
	}
	if err == nil {
		found, end := br.skipEOL()
		switch {
		case found:
			if start >= 0 {
				d.span, d.spanLen = start, int(br.bitPos()-start)
			}
			d.haveEOL = true
			d.readTag()
			d.refBad = false // a good row is a good reference
			return rowGood
		case end:
			d.haveEOL = false
			d.refBad = false
			return rowGood
		}
		err = errNoEOL
	}
	d.refBad = true
	st := d.fail(err)
	d.resync()
	return st
}

// whiteEOLRow decodes, when it comes next, a white row coded the way
// every encoder codes it and followed at once by an EOL: the white run
// of the full width then EOL in 1-D rows, V0 then EOL in 2-D rows under a
// white reference. It compares the bits with that fixed pattern instead of
// going through the code tables. A white row with fill bits, or any other
// row, takes the general path (ok false, nothing consumed).
func (d *Decoder) whiteEOLRow() (rowStatus, bool) {
	if !d.whiteBits() {
		return rowGood, false
	}
	d.cur = endList(d.cur[:cap(d.cur)], 0, int32(d.width))
	return rowGood, true
}

// whiteBits consumes the next row when it is white and coded the usual
// way, and reports whether it did, without writing the row's changing
// elements: in MMR the single bit of V0 (the caller has checked that the
// reference is white), else whiteEOLRow's pattern and the tag.
func (d *Decoder) whiteBits() bool {
	br := &d.br
	if d.opt.Compression == MMR {
		if d.dead {
			return false
		}
		if br.n < 1 {
			br.refill()
		}
		if br.n < 1 || br.acc>>63 == 0 {
			return false
		}
		br.consume(1)
		return true
	}
	if d.opt.NoEOL || !d.started || !d.haveEOL {
		return false
	}
	if br.n < 57 {
		br.refill()
	}
	var pat uint64
	var l int
	mr := d.opt.Compression == MR
	if d.next2D && mr {
		if d.refBad || d.ref[0] < int32(d.width) {
			return false
		}
		pat, l = 1<<12|1, 13
	} else {
		if d.width > maxCombinedRun {
			return false
		}
		c := whiteRun[d.width]
		pat, l = uint64(c>>5)<<12|1, int(c&31)+12
	}
	if br.n < l || br.acc>>uint(64-l) != pat {
		return false
	}
	br.consume(l)
	if mr { // readTag, with its test of the compression done
		if br.n < 1 {
			br.refill()
		}
		d.next2D = br.acc>>63 == 0
		br.consume(1)
	}
	d.refBad = false
	return true
}

// resync skips to the next EOL and reads its tag.
func (d *Decoder) resync() {
	d.haveEOL = d.br.syncEOL()
	if d.haveEOL {
		d.readTag()
	}
}

// readWhite decodes the make-up and terminating codes of one white run
// (T.4 4.1.1) from the bits acc (n valid), refilling from br; it returns
// the run (at most limit), the remaining bits and an error.
func readWhite(br *bitReader, acc uint64, n, limit int) (int, uint64, int, error) {
	run := 0
	for {
		if n < 16 {
			br.acc, br.n = acc, n
			br.refill()
			acc, n = br.acc, br.n
		}
		e := whiteDecode[acc>>52]
		l := int(e & 15)
		if l == 0 {
			return 0, acc, n, codeError(e)
		}
		acc <<= uint(l) & 63
		n -= l
		r := int(e >> 4)
		run += r
		if run > limit {
			return 0, acc, n, errLongRow
		}
		if r < 64 {
			return run, acc, n, nil
		}
	}
}

// readBlack is readWhite for a black run.
func readBlack(br *bitReader, acc uint64, n, limit int) (int, uint64, int, error) {
	run := 0
	for {
		if n < 16 {
			br.acc, br.n = acc, n
			br.refill()
			acc, n = br.acc, br.n
		}
		e := blackDecode[acc>>51]
		l := int(e & 15)
		if l == 0 {
			return 0, acc, n, codeError(e)
		}
		acc <<= uint(l) & 63
		n -= l
		r := int(e >> 4)
		run += r
		if run > limit {
			return 0, acc, n, errLongRow
		}
		if r < 64 {
			return run, acc, n, nil
		}
	}
}

func codeError(e uint16) error {
	if e == decEOL {
		return errShortRow
	}
	return errBadCode
}

// decode1D decodes a one-dimensional row (T.4 4.1) into d.cur.
func (d *Decoder) decode1D() error {
	acc, n, err := d.code1D(d.br.acc, d.br.n)
	d.br.acc, d.br.n = acc, n
	return err
}

func (d *Decoder) code1D(acc uint64, n int) (_ uint64, _ int, err error) {
	br := &d.br
	width := d.width
	cur := d.cur[:cap(d.cur)]
	k := 0
	a0 := 0
	off := 0 // the next run's colour (0 white, 1 black) << runsBits
row:
	for {
		// A refill, then four lookups of at most 13 bits from the 57 or
		// more bits it leaves (as in code2D: a count is predicted, a
		// test of n before each lookup was not). Make-up codes refill
		// as they are read and start the count again.
		if n < 57 {
			// bitReader.refill's fast path, written out (see code2D).
			if br.end-br.pos >= 8 && n >= 0 {
				v := binary.BigEndian.Uint64(br.buf[br.pos:])
				acc |= v >> (uint(n) & 63)
				k := (64 - n) >> 3
				br.pos += k
				n += k << 3
			} else {
				br.acc, br.n = acc, n
				br.slowRefill()
				acc, n = br.acc, br.n
			}
		}
		for range 4 {
			// Up to three short runs at once (runs1D); the row's last
			// runs, make-up codes, zero runs and long codes go one at
			// a time.
			e := runs1D[(off|int(acc>>(64-runsBits)))&(2<<runsBits-1)]
			if a := a0 + int(e>>32&255); e != 0 && a < width {
				acc <<= e & 15
				n -= int(e & 15)
				off = int(e & (1 << runsBits))
				c := (*[3]int32)(cur[k : k+3])
				c[0] = int32(a0 + int(e>>16&255))
				c[1] = int32(a0 + int(e>>24&255))
				c[2] = int32(a)
				k += int(e >> 4 & 3)
				a0 = a
				continue
			}
			var r int
			slow := false
			if off == 0 {
				e := whiteDecode[acc>>52]
				if r = int(e >> 4); e&15 != 0 && r < 64 {
					acc <<= uint(e & 15)
					n -= int(e & 15)
				} else if r, acc, n, err = readWhite(br, acc, n, width-a0); err != nil {
					return acc, n, err
				} else {
					slow = true
				}
			} else {
				e := blackDecode[acc>>51]
				if r = int(e >> 4); e&15 != 0 && r < 64 {
					acc <<= uint(e & 15)
					n -= int(e & 15)
				} else if r, acc, n, err = readBlack(br, acc, n, width-a0); err != nil {
					return acc, n, err
				} else {
					slow = true
				}
			}
			a0 += r
			if a0 >= width {
				if a0 > width {
					return acc, n, errLongRow
				}
				break row
			}
			if k > 0 && cur[k-1] == int32(a0) {
				k--
			} else {
				cur[k] = int32(a0)
				k++
			}
			off ^= 1 << runsBits
			if slow {
				continue row
			}
		}
	}
	d.cur = endList(cur, k, int32(width))
	return acc, n, nil
}

// runsBits is the number of coded bits that index runs1D.
const runsBits = 11

// runs1D[colour<<runsBits | next runsBits bits] decodes up to three
// terminating codes of runs of 1 to 63 pixels that lie wholly in those
// bits, the first of the given colour (0 white), the colours alternating.
// An entry holds the bits used (bits 0-3), the number of runs (bits 4-5),
// the colour of the run after them, in place (bit runsBits, so that it is
// the next lookup's table offset), and the pixels from the first run's
// start to the end of the first, second and third runs (bits 16-23, 24-31,
// 32-39; past the number of runs, the last again). 0 means no such run
// starts here: a make-up code, a run of 0 (which a changing-element list
// does not show), a code longer than the bits left, an EOL or no code. On
// dense pages (a dithered photograph: runs of 1 to 4 pixels, 4 bits a run)
// one lookup decodes two or three runs, and the chain from one lookup to
// the next (a load and a shift) is paid once for them.
var runs1D = func() (t [2 << runsBits]uint64) {
	for colour := range 2 {
		for idx := range 1 << runsBits {
			var runs, used [3]int
			cnt := windowRuns(colour, idx, runs[:], used[:])
			for i := range cnt {
				if runs[i] == 0 { // a run of 0 ends the entry
					cnt = i
					break
				}
			}
			if cnt == 0 {
				continue
			}
			var ends [3]int
			for i := range ends {
				ends[i] = ends[max(i-1, 0)]
				if i < cnt {
					ends[i] += runs[i]
				}
			}
			t[colour<<runsBits|idx] = uint64(used[cnt-1]) | uint64(cnt)<<4 |
				uint64(colour^cnt&1)<<runsBits |
				uint64(ends[0])<<16 | uint64(ends[1])<<24 | uint64(ends[2])<<32
		}
	}
	return t
}()

// windowRuns decodes, from the runsBits bits idx, up to len(runs)
// terminating codes (runs of 0 to 63 pixels) that lie wholly in those
// bits, the colours alternating from colour (0 white). It stores each run
// and the bits used up to its end, and returns how many it found. It
// builds the lookup tables runs1D and horizRuns.
func windowRuns(colour, idx int, runs, used []int) int {
	bits := uint64(idx) << (64 - runsBits)
	n, u := 0, 0
	for c := colour; n < len(runs); c ^= 1 {
		var e uint16
		if c == 0 {
			e = whiteDecode[bits>>52]
		} else {
			e = blackDecode[bits>>51]
		}
		l, r := int(e&15), int(e>>4)
		if l == 0 || u+l > runsBits || r >= 64 {
			break
		}
		bits <<= uint(l)
		u += l
		runs[n], used[n] = r, u
		n++
	}
	return n
}

// horizRuns[colour<<runsBits | next runsBits bits] decodes the two runs of
// a horizontal mode, the first of the given colour (0 white), when both are
// terminating codes (0 to 63 pixels) within those bits: the bits used
// (bits 0-3), the first run (bits 4-9) and the second (bits 10-15); 0 when
// they are not. Pages of ruled lines and traces (an ECG strip) code a
// quarter of their changing elements in horizontal mode, mostly with short
// runs; longer ones go through readWhite and readBlack.
var horizRuns = func() (t [2 << runsBits]uint16) {
	for colour := range 2 {
		for idx := range 1 << runsBits {
			var runs, used [2]int
			if windowRuns(colour, idx, runs[:], used[:]) == 2 {
				t[colour<<runsBits|idx] = uint16(used[1] | runs[0]<<4 | runs[1]<<10)
			}
		}
	}
	return t
}()

// decode2D decodes a two-dimensional row (T.4 4.2.1.3, T.6 2.2.3) against
// d.ref into d.cur. Rows are alike from one to the next: a row after one
// whose steps of b1 went against the common case more than an eighth of
// the time (code2D) or that had more changing elements than an eighth of
// its width (code2DDense) is decoded by code2DDense, where b1 is stepped
// without branches; the steps go either way at random mainly where the
// page is dithered.
func (d *Decoder) decode2D() error {
	if d.dense && rowsAs != sparseRows || rowsAs == denseRows {
		acc, n, err := d.code2DDense(d.br.acc, d.br.n)
		d.br.acc, d.br.n = acc, n
		return err
	}
	acc, n, err := d.code2D(d.br.acc, d.br.n)
	d.br.acc, d.br.n = acc, n
	return err
}

// rowsAs, when set, makes decode2D decode every row with code2DDense
// (denseRows) or code2D (sparseRows): the tests hold the two to each other
// and to an independent decoder.
var rowsAs rowKind

type rowKind uint8

const (
	anyRows rowKind = iota
	denseRows
	sparseRows
)

// code2D decodes a row whose steps of b1 are expected to go the common
// way (nextB1Branches).
func (d *Decoder) code2D(acc uint64, n int) (_ uint64, _ int, err error) {
	br := &d.br
	width := int32(d.width)
	// ref and cur are lists, with the rows' first elements at the even
	// offsets ro and co after two elements of -1: b1's left neighbour
	// and the changing element before a1 can be read at the row's start
	// too. One slice for both leaves a register free in the loop.
	ls := d.lists
	ro, co := listAt(ls, d.ref), listAt(ls, d.cur)
	ref, cur := ls, ls
	if ref[ro] >= width {
		// Under a white reference row a white row is a single V0.
		if n < 1 {
			br.acc, br.n = acc, n
			br.refill()
			acc, n = br.acc, br.n
		}
		if n >= 1 && acc>>63 == 1 {
			d.cur = endList(cur[co:], 0, width)
			return acc << 1, n - 1, nil
		}
	}
	k := co
	a0 := int32(-1)
	// j is the index of b1 in ref: the first changing element right of
	// a0 whose colour is opposite to a0's (index parity = a0's colour,
	// k&1; ro and co are even). Each mode moves it on from where it was,
	// mostly by a fixed step, so that the common modes (V0, VL1) take no
	// search (nextB1Branches, nextB1Arith).
	j := ro
	d.odd = 0
row:
	for {
		// bitReader.refill's fast path, written out (a call here made
		// the compiler save and restore the loop's state around it),
		// then four lookups of at most 12 bits (two vertical mode codes,
		// or one code of at most 7) from the 57 or more bits it leaves.
		// A test of n before each code came out true at irregular
		// intervals (every 8 to 30 codes) and was mispredicted about
		// once a refill; the count is predicted. The refill is skipped
		// only at the row's start and after horizontal mode, which
		// refills as it reads its runs and starts the count again.
		if n < 57 {
			if br.end-br.pos >= 8 && n >= 0 {
				v := binary.BigEndian.Uint64(br.buf[br.pos:])
				acc |= v >> (uint(n) & 63)
				k := (64 - n) >> 3
				br.pos += k
				n += k << 3
			} else {
				br.acc, br.n = acc, n
				br.slowRefill()
				acc, n = br.acc, br.n
			}
		}
		for range 4 {
			if e := vertPairs[acc>>(64-pairBits)]; e != 0 {
				// Two vertical modes in one lookup (most of a dense
				// page's codes): one load and one shift in the chain
				// from one lookup to the next instead of two, and one
				// test of the mode. If the first ends the row, the
				// second is the next row's and stays unread. The step
				// is written out twice, and again for a single code
				// below: one loop over one or two steps (a table for
				// single codes too) made every page 1.09-1.29x as slow.
				b1 := ref[j]
				a1 := b1 + int32(int8(e>>16))
				if a1 >= width || a1 <= a0 {
					acc <<= e >> 8 & 15
					n -= int(e >> 8 & 15)
					if a1 == width {
						break row
					}
					return acc, n, errBadVert
				}
				cur[k] = a1
				k++
				a0 = a1
				j = nextB1Branches(ref, j, a1, &d.odd)
				b1 = ref[j]
				a1 = b1 + int32(int8(e>>24))
				acc <<= e & 15
				n -= int(e & 15)
				if a1 >= width || a1 <= a0 {
					if a1 == width {
						break row
					}
					return acc, n, errBadVert
				}
				cur[k] = a1
				k++
				a0 = a1
				j = nextB1Branches(ref, j, a1, &d.odd)
				continue
			}
			idx := acc >> 57
			l := modeLen[idx]
			n -= int(l)
			acc <<= l & 63
			mode := modeOf[idx]
			if mode >= modeV0 {
				if mode > modeVL3 {
					return acc, n, errExtension
				}
				b1 := ref[j]
				a1 := b1 + vertDelta[mode]
				if a1 >= width || a1 <= a0 {
					if a1 == width {
						break row
					}
					return acc, n, errBadVert
				}
				cur[k] = a1
				k++
				a0 = a1
				j = nextB1Branches(ref, j, a1, &d.odd)
				continue
			}
			switch mode {
			case modePass:
				// a0 moves to b2; the colour stays, and the element after
				// b2 is right of it.
				a0 = ref[j+1]
				j += 2
				if a0 >= width {
					break row
				}
				continue
			case modeHoriz:
				start := max(a0, 0)
				var r1, r2 int
				if h := horizRuns[(k&1)<<runsBits|int(acc>>(64-runsBits))]; h != 0 && n >= runsBits &&
					int(start)+int(h>>4&63)+int(h>>10) <= int(width) {
					// Both runs' terminating codes in the next bits.
					r1, r2 = int(h>>4&63), int(h>>10)
					acc <<= h & 15
					n -= int(h & 15)
				} else if k&1 == 0 {
					r1, acc, n, err = readWhite(br, acc, n, int(width-start))
					if err == nil {
						r2, acc, n, err = readBlack(br, acc, n, int(width-start)-r1)
					}
				} else {
					r1, acc, n, err = readBlack(br, acc, n, int(width-start))
					if err == nil {
						r2, acc, n, err = readWhite(br, acc, n, int(width-start)-r1)
					}
				}
				if err != nil {
					return acc, n, err
				}
				a1 := start + int32(r1)
				a2 := a1 + int32(r2)
				if a1 < width {
					if cur[k-1] == a1 {
						k--
					} else {
						cur[k] = a1
						k++
					}
					if a2 < width {
						if cur[k-1] == a2 {
							k--
						} else {
							cur[k] = a2
							k++
						}
					}
				}
				a0 = a2
				if a0 >= width {
					break row
				}
				// The colour is a0's again, or the other one if a run
				// of 0 cancelled a changing element: b1's parity
				// follows k. Elements of b1's parity left of it are
				// at most the old a0.
				if j > ro && (j^k)&1 != 0 {
					j--
				}
				j += (j ^ k) & 1
				for ref[j] <= a0 {
					j += 2
				}
				continue row
			default:
				if acc>>52 == 1 {
					return acc, n, errShortRow
				}
				return acc, n, errBadCode
			}
		}
	}
	d.dense = d.odd*8 > k-co
	d.cur = endList(cur[co:], k-co, width)
	return acc, n, nil
}

// code2DDense is code2D for rows where the steps of b1 go either way at
// random: each is computed without branches (nextB1Arith), which puts it
// in the chain from one code to the next, where the decode of the
// dithered photo spent its time. V0 and VL1 always step b1 to its right
// neighbour (a third and two fifths of that page's codes): up to three of
// them are read with the vertical code after them in one lookup and cost
// that chain one addition, where each cost it an arithmetic step (ReadPage
// MMR photo 0.90-0.92, Bayer 0.94-0.96; ID card 1.04-1.06). code2D's loop,
// copied: with the groups in code2D's loop, behind a test of the row's
// kind, pages without dense rows decoded 1.02-1.05x as slowly (text,
// halftone), and with groups in every row the ECG, the near-blank page and
// the ID card 1.07-1.11x.
func (d *Decoder) code2DDense(acc uint64, n int) (_ uint64, _ int, err error) {
	br := &d.br
	width := int32(d.width)
	// As in code2D.
	ls := d.lists
	ro, co := listAt(ls, d.ref), listAt(ls, d.cur)
	ref, cur := ls, ls
	if ref[ro] >= width {
		// Under a white reference row a white row is a single V0.
		if n < 1 {
			br.acc, br.n = acc, n
			br.refill()
			acc, n = br.acc, br.n
		}
		if n >= 1 && acc>>63 == 1 {
			d.cur = endList(cur[co:], 0, width)
			return acc << 1, n - 1, nil
		}
	}
	k := co
	a0 := int32(-1)
	// As in code2D.
	j := ro
row:
	for {
		// As in code2D.
		if n < 57 {
			if br.end-br.pos >= 8 && n >= 0 {
				v := binary.BigEndian.Uint64(br.buf[br.pos:])
				acc |= v >> (uint(n) & 63)
				k := (64 - n) >> 3
				br.pos += k
				n += k << 3
			} else {
				br.acc, br.n = acc, n
				br.slowRefill()
				acc, n = br.acc, br.n
			}
		}
		for range 4 {
			// Up to three V0 and VL1 codes and the vertical code after
			// them (fixGroups), taken when each a1 is right of the one
			// before and the last is left of the row's end; otherwise
			// (at the row's end, or on bad data) the codes are read
			// again below, one or two at a time. The three elements are
			// written whatever the group's size: those past it are
			// written over by the next codes or left past the row's end.
			if g := fixGroups[acc>>(64-groupBits)]; g != 0 {
				x0 := ref[j] + int32(int8(g>>16))
				x1 := ref[j+1] + int32(int8(g>>24))
				x2 := ref[j+2] + int32(int8(g>>32))
				cur[k], cur[k+1], cur[k+2] = x0, x1, x2
				m := int(g >> 8 & 3)
				a1 := ref[j+m] + int32(int8(g>>40))
				if (x0+^a0)|(a1+^a0)|(a1+^cur[k+m-1])|(width-1-a1) >= 0 {
					cur[k+m] = a1
					k += m + 1
					a0 = a1
					j = nextB1Arith(ref, j+m, a1)
					acc <<= g & 15
					n -= int(g & 15)
					continue
				}
			}
			if e := vertPairs[acc>>(64-pairBits)]; e != 0 {
				// As in code2D.
				b1 := ref[j]
				a1 := b1 + int32(int8(e>>16))
				if a1 >= width || a1 <= a0 {
					acc <<= e >> 8 & 15
					n -= int(e >> 8 & 15)
					if a1 == width {
						break row
					}
					return acc, n, errBadVert
				}
				cur[k] = a1
				k++
				a0 = a1
				j = nextB1Arith(ref, j, a1)
				b1 = ref[j]
				a1 = b1 + int32(int8(e>>24))
				acc <<= e & 15
				n -= int(e & 15)
				if a1 >= width || a1 <= a0 {
					if a1 == width {
						break row
					}
					return acc, n, errBadVert
				}
				cur[k] = a1
				k++
				a0 = a1
				j = nextB1Arith(ref, j, a1)
				continue
			}
			idx := acc >> 57
			l := modeLen[idx]
			n -= int(l)
			acc <<= l & 63
			mode := modeOf[idx]
			if mode >= modeV0 {
				if mode > modeVL3 {
					return acc, n, errExtension
				}
				b1 := ref[j]
				a1 := b1 + vertDelta[mode]
				if a1 >= width || a1 <= a0 {
					if a1 == width {
						break row
					}
					return acc, n, errBadVert
				}
				cur[k] = a1
				k++
				a0 = a1
				j = nextB1Arith(ref, j, a1)
				continue
			}
			switch mode {
			case modePass:
				// As in code2D.
				a0 = ref[j+1]
				j += 2
				if a0 >= width {
					break row
				}
				continue
			case modeHoriz:
				start := max(a0, 0)
				var r1, r2 int
				if h := horizRuns[(k&1)<<runsBits|int(acc>>(64-runsBits))]; h != 0 && n >= runsBits &&
					int(start)+int(h>>4&63)+int(h>>10) <= int(width) {
					// Both runs' terminating codes in the next bits.
					r1, r2 = int(h>>4&63), int(h>>10)
					acc <<= h & 15
					n -= int(h & 15)
				} else if k&1 == 0 {
					r1, acc, n, err = readWhite(br, acc, n, int(width-start))
					if err == nil {
						r2, acc, n, err = readBlack(br, acc, n, int(width-start)-r1)
					}
				} else {
					r1, acc, n, err = readBlack(br, acc, n, int(width-start))
					if err == nil {
						r2, acc, n, err = readWhite(br, acc, n, int(width-start)-r1)
					}
				}
				if err != nil {
					return acc, n, err
				}
				a1 := start + int32(r1)
				a2 := a1 + int32(r2)
				if a1 < width {
					if cur[k-1] == a1 {
						k--
					} else {
						cur[k] = a1
						k++
					}
					if a2 < width {
						if cur[k-1] == a2 {
							k--
						} else {
							cur[k] = a2
							k++
						}
					}
				}
				a0 = a2
				if a0 >= width {
					break row
				}
				// As in code2D.
				if j > ro && (j^k)&1 != 0 {
					j--
				}
				j += (j ^ k) & 1
				for ref[j] <= a0 {
					j += 2
				}
				continue row
			default:
				if acc>>52 == 1 {
					return acc, n, errShortRow
				}
				return acc, n, errBadCode
			}
		}
	}
	d.dense = (k-co)*8 > int(width)
	d.cur = endList(cur[co:], k-co, width)
	return acc, n, nil
}

// pairBits is the number of coded bits that index vertPairs.
const pairBits = 12

// vertPairs[next pairBits bits] describes two vertical mode codes that lie
// wholly in those bits: their total length (bits 0-3), the first one's
// (bits 8-11), and a1 - b1 of each (bits 16-23, 24-31, as int8). 0 where
// the next two codes are not both vertical. 12 bits hold every pair but
// those with VL3 or VR3 and a code of 6 or 7 bits; the table is 16 KB.
var vertPairs = func() (t [1 << pairBits]uint32) {
	for i := range t {
		i1 := i >> (pairBits - 7)
		m1, l1 := modeOf[i1], int(modeLen[i1])
		if m1 < modeV0 || m1 > modeVL3 {
			continue
		}
		i2 := (i << l1) & (1<<pairBits - 1) >> (pairBits - 7)
		m2, l2 := modeOf[i2], int(modeLen[i2])
		if m2 < modeV0 || m2 > modeVL3 || l1+l2 > pairBits {
			continue
		}
		t[i] = uint32(l1+l2) | uint32(l1)<<8 | uint32(uint8(int8(vertDelta[m1])))<<16 | uint32(uint8(int8(vertDelta[m2])))<<24
	}
	return t
}()

// groupBits is the number of coded bits that index fixGroups.
const groupBits = 12

// fixGroups[next groupBits bits] describes the next codes when they are
// up to three V0 or VL1 codes, whose b1 step is always to b1's right
// neighbour, then one vertical code, in octets: their total length (bits
// 0-7; 0: the next code is not vertical), the number m of V0 and VL1
// codes (bits 8-15), a1 - b1 of each (0 or -1, 0 past m; bits 16-39, as
// int8) and of the vertical code after them (bits 40-47).
var fixGroups = func() (t [1 << groupBits]uint64) {
	for i := range t {
		var modes [4]uint8
		var lens [4]int
		q, used := 0, 0
		for q < 4 {
			c := (i << used) & (1<<groupBits - 1) >> (groupBits - 7)
			m, l := modeOf[c], int(modeLen[c])
			if m < modeV0 || m > modeVL3 || used+l > groupBits {
				break
			}
			modes[q], lens[q] = m, l
			used += l
			q++
		}
		if q == 0 {
			continue
		}
		// V0 and VL1 codes in the order VL1... V0...: only the first
		// can put a1 at or left of a0 (a VL1 right after a V0 could put
		// a1 on the V0's, where the reference has a run of one pixel).
		f := 0
		for f < q && (modes[f] == modeVL1 && (f == 0 || modes[f-1] == modeVL1) || modes[f] == modeV0) {
			f++
		}
		m := min(f, 3, q-1)
		total := lens[m]
		for c := range m {
			t[i] |= uint64(uint8(int8(vertDelta[modes[c]]))) << (16 + 8*c)
			total += lens[c]
		}
		t[i] |= uint64(total) | uint64(m)<<8 | uint64(uint8(int8(vertDelta[modes[m]])))<<40
	}
	return t
}()

// nextB1 returns the index in ref of b1 after a vertical mode put a1 near
// b1 = ref[j] (a1 < width): the first changing element right of a1 with
// the other parity. Elements left of b1 are at most a1 except, after VL2
// or VL3, its left neighbour; right of b1, only after VR can elements be
// at most a1. After V0 and VL1 (most modes on a dense page) it is b1's
// right neighbour, with no search. The encoder steps b1 with it; the
// decoder, whose lists have elements of -1 before them, with
// nextB1Branches or nextB1Arith.
func nextB1(ref []int32, j int, a1 int32) int {
	if j > 0 && ref[j-1] > a1 {
		return j - 1
	}
	j++
	for ref[j] <= a1 {
		j += 2
	}
	return j
}

// The decoder's two ways to step b1 after a vertical mode, chosen per row
// (Decoder.code2D): they return nextB1's answer for lists with elements
// of -1 before their first (Decoder.lists), so neither tests j.
//
// nextB1Branches is nextB1: its tests go one way on most pages (V0 and VL1
// move b1 to its right neighbour), and the branch predictor lets the next
// code's b1 be loaded before a1 is known. It counts the steps that go the
// other way in *odd.
func nextB1Branches(ref []int32, j int, a1 int32, odd *int) int {
	if ref[j-1] > a1 {
		*odd++
		return j - 1
	}
	j++
	if ref[j] <= a1 {
		*odd++
		j += 2
		for ref[j] <= a1 {
			j += 2
		}
	}
	return j
}

// nextB1Arith is nextB1 for rows where its tests go either way at random
// (an error-diffused photo: a quarter of its steps go left or right past a
// run of one pixel, which no branch predictor learns). It computes the
// step from the two neighbours of b1 with no branch: the next code's b1
// then waits for this code's a1 (about ten cycles a code by its
// instructions), which costs the photo less than the mispredictions did
// (0.87-0.90 of its decode time) but other dense pages more than predicted
// branches do (a halftone stepped this way took 1.17x as long). VR3 can
// leave one more step to the loop.
func nextB1Arith(ref []int32, j int, a1 int32) int {
	r, l := ref[j+1]-1, ref[j-1]
	right := int(uint32(r-a1) >> 31) // ref[j+1] <= a1
	left := int(uint32(a1-l) >> 31)  // ref[j-1] > a1
	u := j + 1 - 2*left
	j = u + 2*right
	for ref[j] <= a1 {
		j += 2
	}
	return j
}

// listStride is the size of the thirds of a newLists slice for rows of
// width pixels, even: two elements of -1, then a list of at most width
// changing elements, listPad more and one to spare.
func listStride(width int) int {
	return (width + 2 + listPad + 5) &^ 1
}

// newLists makes room for three changing-element lists of rows of width
// pixels in one slice, all: each list starts two elements into a third
// of all (two elements of -1, see markLists) and has the rest of all as
// its capacity, so that listAt finds where it is. The 2-D decoder indexes
// all instead of two lists (one slice, one register fewer) and reads left
// of a list's first element without testing for it.
func newLists(width int) (all, a, b, c []int32) {
	s := listStride(width)
	all = make([]int32, 3*s)
	markLists(all)
	return all, all[2:2], all[s+2 : s+2], all[2*s+2 : 2*s+2]
}

// markLists sets the two elements before each list of all to -1.
func markLists(all []int32) {
	s := len(all) / 3
	for i := range 3 {
		all[i*s], all[i*s+1] = -1, -1
	}
}

// listAt returns the offset in all of a list of newLists (even).
func listAt(all, l []int32) int { return len(all) - cap(l) }

// endList ends the changing-element list cur[:k] of a row of width w with
// listPad elements of w, and returns it: the decoders look past the last
// changing element (b1 and b2 beyond the row's end, the 2-D decoder's
// steps from b1 to the next) without checking for the list's end.
func endList(cur []int32, k int, w int32) []int32 {
	t := (*[listPad]int32)(cur[k : k+listPad])
	for i := range t {
		t[i] = w
	}
	return cur[:k+listPad]
}

// listPad is the number of elements of the row's width that end a
// changing-element list. The 2-D decoder's b1 index stays within the
// first two of them while a0 < width (a vertical mode that leaves b1 on
// the second steps back: the first is right of a1), and a pass mode reads
// b2 one further: three suffice.
const listPad = 4

// modeLen and modeOf split modeDecode's entries (indexed by the next 7
// bits) into the code length, as a shift count, and the mode. With one
// byte holding both, the compiler kept that byte on the stack between
// the shift and the switch, and the store and reload sat in the chain
// from one code to the next (about 8 % of a dense page's decode time).
var modeLen, modeOf = func() (l [128]uint64, m [128]uint8) {
	for i, e := range modeDecode {
		l[i] = uint64(e & 15)
		m[i] = e >> 4
	}
	return l, m
}()

// vertDelta[mode] is a1 - b1 for the vertical modes.
var vertDelta = [16]int32{modeV0: 0, modeVR1: 1, modeVR2: 2, modeVR3: 3, modeVL1: -1, modeVL2: -2, modeVL3: -3}

// fillRow writes the pixels of a row from its changing elements straight
// into dst, one 64-pixel word at a time, in order: each changing element
// toggles one bit of the word being built (a transition), and a prefix
// XOR over the word (six constant shifts) turns the transitions into
// pixels, carrying the colour from the previous word. The cost is a shift
// and an XOR per changing element and a few operations per word, without
// the per-run masks and branches of building runs; words with no
// transition are stores of one colour. No clear first, and no load of a
// word just stored. A white row is the stores of zero words alone.
//
// Rows with few changing elements (text, line art) go to fillRuns, which
// builds each run with two masks: cheaper when most words hold no or one
// run, and the dense rows' branch on a run crossing a word is predictable.
func fillRow(dst []byte, ch []int32, width int) {
	n := (width + 7) / 8
	dst = dst[:n]
	if int(ch[0]) >= width {
		clear(dst)
		return
	}
	if len(ch) < denseRow {
		fillRuns(dst, ch, width)
		return
	}
	// A word at a time: the transitions of the changing elements in it,
	// found by comparing each with the word's end (the list's sentinels,
	// equal to width, end the last word), then one prefix XOR. One
	// branch per element, taken the same way until the word's end. A
	// loop over the elements testing each for the row's end and for the
	// next word made the dithered photo's whole MH decode 1.08x as long.
	w32 := int32(width)
	var col uint64 // colour before word wi: 0 or all ones
	i := 0
	end := int32(0)
	for wi := range n / 8 {
		end = min(end+64, w32)
		var t uint64
		for ch[i+3] < end {
			t ^= pixelBit[ch[i]&63] ^ pixelBit[ch[i+1]&63] ^ pixelBit[ch[i+2]&63] ^ pixelBit[ch[i+3]&63]
			i += 4
		}
		for ; ch[i] < end; i++ {
			t ^= pixelBit[ch[i]&63]
		}
		x := prefixXOR(t) ^ col
		binary.BigEndian.PutUint64(dst[wi*8:], x)
		col = -(x & 1)
	}
	if k := n &^ 7; k < n {
		// The last octets, less than a word.
		var t uint64
		for ; ch[i] < w32; i++ {
			t ^= pixelBit[ch[i]&63]
		}
		x := prefixXOR(t) ^ col
		for ; k < n; k++ {
			dst[k] = byte(x >> 56)
			x <<= 8
		}
	}
	if r := width & 7; r != 0 {
		dst[n-1] &= 0xff << uint(8-r) // pad bits stay white
	}
}

// denseRow is the length of a changing-element list (with its listPad
// terminators) from which fillRow builds words by prefix XOR.
const denseRow = 128 + listPad

// fillRuns is fillRow for sparse rows that are not white (dst is the
// row's (width+7)/8 octets): each 64-pixel word is built in a register, a
// run at a time, and stored once, in order.
func fillRuns(dst []byte, ch []int32, width int) {
	n := len(dst)
	// Words before the one holding pixel width-1 are whole (index < nw);
	// only the last flush can meet the partial word at the end.
	nw := n / 8
	var acc uint64
	wi := 0 // the word being built
	for i := 0; ; i += 2 {
		a := int(ch[i])
		if a >= width {
			break
		}
		b := min(int(ch[i+1]), width)
		if aw := a >> 6; wi < aw {
			binary.BigEndian.PutUint64(dst[wi*8:], acc)
			acc = 0
			wi++
			if aw-wi >= spanWords {
				clear(dst[wi*8 : aw*8])
				wi = aw
			}
			for ; wi < aw; wi++ {
				binary.BigEndian.PutUint64(dst[wi*8:], 0)
			}
		}
		bw := (b - 1) >> 6
		if bw == wi {
			acc |= ^uint64(0) >> uint(a&63) &^ (^uint64(0) >> uint((b-1)&63+1))
			continue
		}
		binary.BigEndian.PutUint64(dst[wi*8:], acc|^uint64(0)>>uint(a&63))
		wi++
		if bw-wi >= spanWords {
			for s := dst[wi*8 : bw*8]; len(s) > 0; {
				s = s[copy(s, blackOctets[:]):]
			}
			wi = bw
		}
		for ; wi < bw; wi++ {
			binary.BigEndian.PutUint64(dst[wi*8:], ^uint64(0))
		}
		acc = ^(^uint64(0) >> uint((b-1)&63+1))
	}
	if wi < nw {
		binary.BigEndian.PutUint64(dst[wi*8:], acc)
		clear(dst[wi*8+8:])
		return
	}
	for k := wi * 8; k < n; k++ {
		dst[k] = byte(acc >> 56)
		acc <<= 8
	}
}

// spanWords is the number of whole white or black words from which
// fillRuns clears or copies them (the runtime's memclr and memmove, which
// use vector stores) instead of storing a word at a time.
const spanWords = 4

// blackOctets is the source of fillRuns' copies of black.
var blackOctets = func() (b [1024]byte) {
	for i := range b {
		b[i] = 0xff
	}
	return b
}()

// pixelBit[x] is the bit of pixel x in a word, MSB first: a load instead
// of a variable shift, whose count would have to pass through CX.
var pixelBit = func() (t [64]uint64) {
	for i := range t {
		t[i] = 1 << 63 >> i
	}
	return t
}()

// prefixXOR returns x with each bit replaced by the XOR of itself and the
// bits above it: transitions (MSB first) to colours.
func prefixXOR(x uint64) uint64 {
	x ^= x >> 1
	x ^= x >> 2
	x ^= x >> 4
	x ^= x >> 8
	x ^= x >> 16
	x ^= x >> 32
	return x
}

// DecodePage decodes a whole page. If opts.Rows is 0 the page ends at
// RTC/EOFB or the end of the data. Damage is concealed and counted in Stats
// (see Decoder); the error is for I/O errors, bad arguments and pages past
// the limits (MaxRows, MaxPageBytes), or the first corruption when Strict.
func DecodePage(r io.Reader, width int, opts *DecodeOptions) (*Bitmap, Stats, error) {
	o, err := checkDecodeOptions(width, opts)
	if err != nil {
		return nil, Stats{}, err
	}
	d := getDecoder(width, o)
	defer putDecoder(d)
	d.Reset(r)
	stride := (width + 7) / 8
	maxRows := min(d.opt.MaxRows, MaxPageBytes/stride)
	if d.opt.Rows > maxRows {
		return nil, Stats{}, fmt.Errorf("%w: %d rows of %d bytes", ErrTooLarge, d.opt.Rows, stride)
	}
	d.opt.MaxRows = maxRows
	var pix []byte
	if d.opt.Rows > 0 {
		pix = make([]byte, 0, d.opt.Rows*stride)
	} else {
		pix = make([]byte, 0, 1024*stride)
	}
	rows := 0
	for {
		if len(pix)+stride > cap(pix) {
			pix = append(pix, make([]byte, stride)...)[:len(pix)]
		}
		err := d.ReadRow(pix[len(pix) : len(pix)+stride])
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, d.Stats(), err
		}
		pix = pix[:len(pix)+stride]
		rows++
	}
	return &Bitmap{Width: width, Height: rows, Stride: stride, Pix: pix}, d.Stats(), nil
}
