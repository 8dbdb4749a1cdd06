package t4

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
	"strconv"
	"sync"
)

// Compression selects the coding scheme.
type Compression uint8

const (
	MH  Compression = 1 // T.4 one-dimensional coding, Modified Huffman (4.1)
	MR  Compression = 2 // T.4 two-dimensional coding, Modified READ (4.2)
	MMR Compression = 3 // T.6 coding, Modified Modified READ
)

func (c Compression) String() string {
	switch c {
	case MH:
		return "MH"
	case MR:
		return "MR"
	case MMR:
		return "MMR"
	}
	return "Compression(" + strconv.Itoa(int(c)) + ")"
}

// BitOrder is the order of coded bits within an octet.
type BitOrder uint8

const (
	// MSBFirst puts the first coded bit in bit 7 of each octet (TIFF
	// FillOrder 1, the default).
	MSBFirst BitOrder = 0
	// LSBFirst puts the first coded bit in bit 0 (the order on the fax line,
	// TIFF FillOrder 2, T.30 image data).
	LSBFirst BitOrder = 1
)

func (o BitOrder) String() string {
	switch o {
	case MSBFirst:
		return "MSBFirst"
	case LSBFirst:
		return "LSBFirst"
	}
	return "BitOrder(" + strconv.Itoa(int(o)) + ")"
}

// EncodeOptions configures an Encoder. The zero value (or nil) means MH,
// MSB first, EOLs not aligned, no fill, RTC at the end.
type EncodeOptions struct {
	Compression Compression // zero value means MH
	K           int         // MR only: one 1-D row then K-1 2-D rows; 0 means 2; any K >= 1
	BitOrder    BitOrder
	AlignEOL    bool // pad with 0 bits so every EOL ends on an octet boundary (TIFF T4Options bit 2)
	// MinRowBits is the T.4 minimum scan line time (4.1.2) in bits: fill
	// bits (zeros) are inserted after a row's data, before the next EOL, so
	// that the coded row including its EOL is at least this long. See
	// MinRowBits(ms, bitRate). Ignored for MMR and NoEOL.
	MinRowBits int
	NoRTC      bool // don't write RTC (MH/MR) or EOFB (MMR) at Close: TIFF strips
	NoEOL      bool // MH only: TIFF Compression 2 "CCITT RLE" (no EOLs, rows byte aligned)
}

// MinRowBits returns the number of bits a coded row must have to last at
// least ms milliseconds at bitRate bits/s (T.4 4.1.2, the minimum
// transmission time of a total coded scan line; T.30 DIS bits 21-23 offer
// 0, 5, 10, 20 and 40 ms). It rounds up.
func MinRowBits(ms, bitRate int) int {
	if ms <= 0 || bitRate <= 0 {
		return 0
	}
	return (ms*bitRate + 999) / 1000
}

// flushThreshold is the buffered output size at which an Encoder writes to
// its io.Writer.
const flushThreshold = 16 << 10

// bitWriter packs codes MSB first into buf[:o]. Between calls acc holds
// n < 32 pending bits, left aligned. Callers reserve room with grow: put
// stores without checking capacity beyond what the slice bounds check does.
type bitWriter struct {
	buf []byte // len(buf) is the capacity in use
	o   int
	acc uint64
	n   uint
}

// put appends the low n bits of v (n <= 32; no other bits set).
func (w *bitWriter) put(v uint32, n uint) {
	w.acc |= uint64(v) << ((64 - w.n - n) & 63)
	w.n += n
	if w.n >= 32 {
		binary.BigEndian.PutUint32(w.buf[w.o:], uint32(w.acc>>32))
		w.o += 4
		w.acc <<= 32
		w.n -= 32
	}
}

// grow makes room for k more octets.
func (w *bitWriter) grow(k int) {
	if len(w.buf)-w.o >= k+8 {
		return
	}
	nb := make([]byte, max(2*len(w.buf), w.o+k+8, 4096))
	copy(nb, w.buf[:w.o])
	w.buf = nb
}

// zeros appends k zero bits.
func (w *bitWriter) zeros(k int) {
	for k > 0 {
		c := min(k, 32)
		w.put(0, uint(c))
		k -= c
	}
}

// pos is the number of bits written so far.
func (w *bitWriter) pos() int { return w.o*8 + int(w.n) }

// flush pads to an octet boundary with zeros and moves all bits to buf.
func (w *bitWriter) flush() {
	for w.n > 0 {
		w.buf[w.o] = byte(w.acc >> 56)
		w.o++
		w.acc <<= 8
		w.n -= min(w.n, 8)
	}
	w.acc = 0
}

// alignByte pads with zeros to an octet boundary.
func (w *bitWriter) alignByte() {
	if r := w.n & 7; r != 0 {
		w.put(0, 8-r)
	}
}

// Encoder codes rows of a page as MH, MR or MMR and writes them to an
// io.Writer. It buffers its output: call Close at the end of the page.
// It makes the list of a 2-D row's code words at its first 2-D row that
// is not white under white, and does not allocate per row.
type Encoder struct {
	w      io.Writer
	width  int
	opt    EncodeOptions
	bw     bitWriter
	start  int    // where this page's bytes begin in bw.out (AppendPage)
	line   []byte // the last word of the row being coded, masked
	rowMax int    // octets one row can take at most
	cur    []int32
	ref    []int32
	codes  []uint32 // a 2-D row's code words (modes2D); made at the first such row
	// The most elements of cur (and so of ref) and codes ever written:
	// what scrub clears.
	curHigh, codesHigh int
	zero               []byte // width/8 zero octets, to compare rows with
	row                int
	kpos               int // MR: rows since the last 1-D row (row % K, without dividing)
	err                error
	closed             bool
	// A white row under a white reference (or any white row in MH) is
	// always coded the same way: its whole coding, EOL and tag included,
	// precomputed (white1: a 1-D row, white2: a 2-D or MMR row). whiteN is
	// 0 when rows cannot take the shortcut (AlignEOL, NoEOL, a width over
	// one combined white code).
	white1, white2   uint32
	white1N, white2N uint
	// WriteRow's copies of the last two rows (AppendPage compares with
	// the bitmap's rows): a row equal to the last is coded from ref
	// without finding its changing elements again, and one equal to the
	// row before it may repeat that row's bits (see twoBack).
	rows   [2]rowCopy // rows[lastAt] the last, the other the one before
	lastAt int
	twins  bool    // the two copies hold the same row
	page   *Bitmap // AppendPage's page
	blank  []byte  // a white row, for rowCopy.white
	// Rows that repeat the row two above them: old is the
	// changing-element list of the row before the reference, recs where
	// the last four rows' bits are, and flushed the number of bits handed
	// to w before bw.buf.
	old      []int32
	recs     rowRecords
	flushed  int
	refStale bool // MH: ref is not the list of the row above (twoBack)
	// MMR rows in AppendPage and EncodePage that repeat a row up to
	// maxPeriod above (farBack): far records where the last rows' bits are and the key
	// of their reference's list, by row; farKey is the key of the
	// reference of row farKeyAt.
	far      farRecords
	farKey   uint64
	farKeyAt int
	// WriteRow has no page to compare with: once a record passes
	// farBack's key test, it keeps copies of the rows it is given (hist,
	// farRing rows; histAt[y%farRing] = y+1 for row y's) until row
	// histUntil, histRows after the last record that passed it.
	hist      []byte
	histAt    [farRing]int
	histUntil int
}

// rowCopy is a copy of a row the Encoder was given, when ok: buf, or a
// white row.
type rowCopy struct {
	buf       []byte
	ok, white bool
}

func checkEncodeOptions(width int, opts *EncodeOptions) (EncodeOptions, error) {
	var o EncodeOptions
	if opts != nil {
		o = *opts
	}
	if width < 1 || width > MaxWidth {
		return o, fmt.Errorf("%w: %d", ErrWidth, width)
	}
	if o.Compression == 0 {
		o.Compression = MH
	}
	if o.Compression > MMR {
		return o, fmt.Errorf("%w: compression %v", ErrOptions, o.Compression)
	}
	if o.BitOrder > LSBFirst {
		return o, fmt.Errorf("%w: bit order %v", ErrOptions, o.BitOrder)
	}
	if o.K < 0 {
		return o, fmt.Errorf("%w: K %d", ErrOptions, o.K)
	}
	if o.K == 0 {
		o.K = 2
	}
	if o.NoEOL && o.Compression != MH {
		return o, fmt.Errorf("%w: NoEOL needs MH", ErrOptions)
	}
	if o.MinRowBits < 0 {
		return o, fmt.Errorf("%w: MinRowBits %d", ErrOptions, o.MinRowBits)
	}
	return o, nil
}

// NewEncoder returns an Encoder for rows of width pixels (1..MaxWidth)
// written to w. opts may be nil.
func NewEncoder(w io.Writer, width int, opts *EncodeOptions) (*Encoder, error) {
	o, err := checkEncodeOptions(width, opts)
	if err != nil {
		return nil, err
	}
	e := &Encoder{w: w, width: width, opt: o}
	e.alloc()
	return e, nil
}

func (e *Encoder) alloc() {
	e.line = make([]byte, 8)
	e.zero = make([]byte, e.width>>3)
	for i := range e.rows {
		e.rows[i].buf = make([]byte, (e.width+7)/8)
	}
	e.blank = make([]byte, (e.width+7)/8)
	e.cur = make([]int32, e.width+8)
	e.ref = make([]int32, 0, e.width+8)
	e.old = make([]int32, 0, e.width+8)
	// A run costs at most 25 bits, plus 3 for horizontal mode per pair.
	e.rowMax = (e.width+2)*4 + e.opt.MinRowBits/8 + 64
	if e.w != nil {
		e.bw.buf = make([]byte, flushThreshold+e.rowMax+64)
	}
	e.resetRef()
	e.white1N, e.white2N = 0, 0
	if !e.opt.AlignEOL && !e.opt.NoEOL && e.width <= maxCombinedRun {
		c := whiteRun[e.width]
		code, l := c>>5, uint(c&31)
		switch e.opt.Compression {
		case MMR:
			e.white2, e.white2N = 1, 1 // V0
		case MR:
			if 13+l <= 32 {
				e.white1, e.white1N = (2|1)<<l|code, 13+l // EOL, tag 1, the white run
				e.white2, e.white2N = 2<<1|1, 14          // EOL, tag 0, V0
			}
		default:
			if 12+l <= 32 {
				e.white1, e.white1N = 1<<l|code, 12+l // EOL, the white run
			}
		}
	}
}

func (e *Encoder) resetRef() {
	e.ref = append(e.ref[:0], int32(e.width), int32(e.width), int32(e.width), int32(e.width))
}

// Reset discards any unwritten output and prepares e to code a new page
// with the same width and options to w.
func (e *Encoder) Reset(w io.Writer) {
	e.w = w
	e.bw.o = 0
	e.bw.acc, e.bw.n = 0, 0
	e.start = 0
	e.row, e.kpos = 0, 0
	e.err = nil
	e.closed = false
	e.rows[0].ok, e.rows[1].ok = false, false
	e.twins = false
	e.recs, e.flushed, e.refStale = rowRecords{}, 0, false
	e.far, e.farKeyAt = farRecords{}, -1
	e.histAt, e.histUntil = [farRing]int{}, 0
	e.resetRef()
}

// putEOL writes an EOL (with the MR tag bit tag when tag >= 0), padded
// first so that the EOL ends on an octet boundary when AlignEOL is set.
func (e *Encoder) putEOL(tag int) {
	if e.opt.AlignEOL {
		if pad := (4 - e.bw.n) & 7; pad != 0 {
			e.bw.put(0, pad)
		}
	}
	if tag < 0 {
		e.bw.put(1, 12)
	} else {
		e.bw.put(uint32(2|tag), 13)
	}
}

// WriteRow codes one row, given in Bitmap's packed format (1 = black, bit 7
// leftmost); len(row) must be at least (width+7)/8. Bits beyond the width
// are ignored.
func (e *Encoder) WriteRow(row []byte) error {
	if e.err != nil {
		return e.err
	}
	if e.closed {
		return ErrClosed
	}
	if len(row) < (e.width+7)/8 {
		return fmt.Errorf("%w: row of %d bytes for width %d", ErrWidth, len(row), e.width)
	}
	white := e.whiteRow(row)
	same, err := e.writeRow(row, e.rows[e.lastAt].row(e.blank), white)
	if same && e.twins {
		// Both copies hold this row already (a run of equal rows).
		return err
	}
	// The copy of the row before the last becomes the copy of this row.
	e.lastAt ^= 1
	r := &e.rows[e.lastAt]
	r.ok, r.white = true, white
	if !white {
		copy(r.buf, row)
	}
	e.twins = same
	return err
}

// row returns the row copied (nil when there is none).
func (r *rowCopy) row(blank []byte) []byte {
	switch {
	case !r.ok:
		return nil
	case r.white:
		return blank
	}
	return r.buf
}

// writeRow codes one row (WriteRow's checks done); white is whether it is
// white. prev is the row before it when the caller has it (else nil);
// rowTwoAbove gives the one before that. It reports whether the row (not
// white) equals prev.
func (e *Encoder) writeRow(row, prev []byte, white bool) (same bool, err error) {
	if white && e.putWhite() {
		e.pushWhite()
		return false, e.rowDone()
	}
	if e.row < e.histUntil {
		e.keep(e.row, row) // WriteRow's copy for farBack
	}
	e.bw.grow(e.rowMax)
	// A row equal to the previous one (not white: those took the white
	// paths) has the previous row's changing elements, which are ref:
	// they are not looked for again, and ref stays the reference. In 2-D
	// it is one V0 per element and one for the row's end.
	same = !white && prev != nil && !noRepeats && !e.refStale && sameRow(row, prev, e.width)
	var tb *rowRecord // the row two (or four) above, coded as this one is
	if b0 := e.recs.back(0); !same && (b0.eq || b0.white) && b0.after == e.row {
		// The test that fails on most pages, before the call.
		tb = e.twoBack(row)
	}
	var far *farRec // a row further up, coded as this one is
	if e.opt.Compression != MH && !same && tb == nil && !white && !noRepeats {
		far = e.farBack(row)
	}
	ch := e.ref
	if white && tb == nil {
		// No transitions to look for: the changing element list is the
		// sentinels alone.
		w := int32(e.width)
		e.cur = append(e.cur[:0], w, w, w, w)
		ch = e.cur
	} else if !same && tb == nil {
		e.cur = changes(e.line, row, e.width, e.cur[:cap(e.cur)])
		e.curHigh = max(e.curHigh, len(e.cur))
		ch = e.cur
	}
	start := e.bw.pos() // where the row's codes begin
	twoD := e.opt.Compression == MMR
	switch {
	case e.opt.NoEOL:
		e.code1D(ch)
		e.bw.alignByte()
	case e.opt.Compression == MMR:
		switch {
		case white && e.ref[0] >= int32(e.width):
			e.bw.put(1, 1) // white under white: a single V0
		case same:
			e.putV0(len(e.ref) - 3)
		case tb != nil:
			e.copyBits(tb.off, tb.n)
		case far != nil:
			e.copyBits(far.off, far.n)
		default:
			e.code2D(e.cur, e.ref)
		}
	default:
		tag := -1
		if e.opt.Compression == MR {
			twoD = e.kpos != 0
			tag = 1
			if twoD {
				tag = 0
			}
		}
		e.putEOL(tag)
		eolAt := e.bw.pos() - 12
		if tag >= 0 {
			eolAt--
		}
		start = e.bw.pos()
		switch {
		case tb != nil:
			e.copyBits(tb.off, tb.n)
		case far != nil:
			e.copyBits(far.off, far.n)
		case twoD && white && e.ref[0] >= int32(e.width):
			e.bw.put(1, 1) // white under white: a single V0
		case twoD && same:
			e.putV0(len(e.ref) - 3)
		case twoD:
			e.code2D(e.cur, e.ref)
		case white && e.width <= maxCombinedRun:
			c := whiteRun[e.width] // the whole row is one white run
			e.bw.put(c>>5, uint(c&31))
		case same && e.opt.Compression == MH && e.recs.back(0).after == e.row &&
			e.recs.back(0).n > 0 && e.recs.back(0).off >= int64(e.flushed):
			// The row above again, in 1-D: its bits again.
			e.copyBits(e.recs.back(0).off, e.recs.back(0).n)
		default:
			e.code1D(ch)
		}
		if fill := e.opt.MinRowBits - (e.bw.pos() - eolAt); fill > 0 {
			e.bw.zeros(fill)
		}
	}
	switch {
	case same && e.opt.Compression == MH && !e.opt.NoEOL:
		// Recorded, for the next row's copy of its bits.
		e.push(start, e.bw.pos()-start, false, false, false)
	case same:
		// The reference stays; the row is not recorded for twoBack.
	case tb != nil && e.opt.Compression == MH:
		// MH keeps no lists for white rows (putWhite), so old may not be
		// the list of the row two above: ref no longer describes the row
		// above until a row is coded in full.
		e.refStale = true
		e.push(start, e.bw.pos()-start, twoD, false, true)
	case tb != nil:
		// The row two above again: its list is old.
		e.ref, e.old = e.old, e.ref
		e.push(start, e.bw.pos()-start, twoD, false, true)
	default:
		y := e.row
		b1 := e.recs.back(1) // row y-2
		n := e.bw.pos() - start
		eq := e.recs.back(0).after == y && b1.after == y-1 && !noRepeats
		if white {
			eq = eq && b1.white
		} else if eq {
			// Rows that repeat the row two above are coded alike once
			// the rows above them do: the length, against the row two
			// or four above of the same kind (MR), is the cheap test.
			b := b1
			if b.twoD != twoD {
				if b = e.recs.back(3); b.after != y-3 || b.twoD != twoD {
					b = nil // neither (MR with an odd K): compare
				}
			}
			if eq = b == nil || b.n == n; eq {
				prev2 := e.rowTwoAbove()
				eq = prev2 != nil && sameRow(row, prev2, e.width)
			}
		}
		if e.opt.NoEOL {
			n = 0
		}
		if e.farKeyAt == y {
			// Coded in full or as far: recorded for farBack.
			e.far.push(y, int64(e.flushed+start), n, e.farKey, twoD)
		}
		e.cur, e.ref, e.old = e.old, e.cur, e.ref
		e.refStale = false
		e.push(start, n, twoD, white, eq)
	}
	return same, e.rowDone()
}

// push records where the bits of the row just coded are (see rowRecord).
func (e *Encoder) push(start, n int, twoD, white, eq bool) {
	e.recs.push(int64(e.flushed+start), n, e.row+1, twoD, white, eq)
}

// pushWhite records, in MH, a white row that putWhite coded after a row
// that was not white: twoBack needs to know it was white (a line screen
// of white and black rows), not where its bits are. The rows of a white
// stretch after its first are not recorded (a blank page pays a test a
// row). In 2-D the rows putWhite codes keep a white reference, and no
// row repeats them but a white one.
func (e *Encoder) pushWhite() {
	if b0 := e.recs.back(0); e.opt.Compression == MH && b0.after == e.row && !b0.white {
		e.recs.push(0, 0, e.row+1, false, true, false)
	}
}

// twoBack returns the record of the row two above this one (or, in MR
// where K = 4 puts 1-D and 2-D rows two apart, four above) when this row
// repeats it and would be coded as it was: of the same kind, and for a
// 2-D row under a reference equal to that row's. Its bits are then
// copied, without finding the row's changing elements or coding them.
// Like Decoder.twoBackNext it looks only when the row above repeats the
// row three above, and it needs the bits still in the output buffer. nil
// otherwise.
func (e *Encoder) twoBack(row []byte) *rowRecord {
	y := e.row
	b0, b2 := e.recs.back(0), e.recs.back(2) // rows y-1, y-3
	if !b0.eq && !(b0.white && b2.white && b2.after == y-2) || noRepeats || e.opt.NoEOL {
		return nil
	}
	twoD := e.next2D()
	b := e.recs.twoAbove(y, twoD)
	if b == nil || b.off < int64(e.flushed) {
		return nil
	}
	if prev2 := e.rowTwoAbove(); prev2 == nil || !sameRow(row, prev2, e.width) {
		return nil
	}
	return b
}

// farBack returns the record of a row p above (2 <= p <= maxPeriod) that
// this row repeats, coded under a reference equal to this row's, whose
// bits are still in the output buffer: the row is then coded with its
// bits (Decoder.farNext takes them the same way). MMR and MR, where the
// row p above must be of the same kind, 1-D or 2-D. A key of the
// reference's list (listKey), compared with the records', screens the
// rows: other pages pay a few nanoseconds a row. The rows compared are
// the page's in AppendPage and EncodePage; WriteRow keeps copies of the
// rows it is given from the first record that passes the key's test
// until histRows rows after the last, so its first repeats are coded in
// full. nil when there is none.
func (e *Encoder) farBack(row []byte) *farRec {
	y := e.row
	k := listKey(e.ref)
	e.farKey, e.farKeyAt = k, y
	twoD := e.next2D()
	for p := 2; p <= maxPeriod; p++ {
		r := &e.far.r[(y-p)&(farRing-1)]
		if r.ref != k || r.after != y-p+1 || r.n == 0 || y-1-p < 0 || r.off < int64(e.flushed) || r.twoD != twoD {
			continue
		}
		if e.page == nil {
			e.histUntil = y + histRows
		}
		above, back, backAbove := e.rowAt(y-p), e.rowAt(y-1), e.rowAt(y-1-p)
		if above != nil && back != nil && backAbove != nil &&
			sameRow(row, above, e.width) && sameRow(back, backAbove, e.width) {
			return r
		}
	}
	return nil
}

// next2D reports whether the row about to be coded is a 2-D one.
func (e *Encoder) next2D() bool {
	return e.opt.Compression == MMR || e.opt.Compression == MR && e.kpos != 0
}

// rowAt returns row y as the Encoder was given it: the page's row, or
// WriteRow's copy (nil when it has none).
func (e *Encoder) rowAt(y int) []byte {
	if e.page != nil {
		return e.page.Row(y)
	}
	i := y & (farRing - 1)
	if e.histAt[i] != y+1 {
		return nil
	}
	s := (e.width + 7) / 8
	return e.hist[i*s : (i+1)*s]
}

// keep copies row y, given to WriteRow, for farBack.
func (e *Encoder) keep(y int, row []byte) {
	s := (e.width + 7) / 8
	if e.hist == nil {
		e.hist = make([]byte, farRing*s)
	}
	i := y & (farRing - 1)
	copy(e.hist[i*s:(i+1)*s], row)
	e.histAt[i] = y + 1
}

// rowTwoAbove returns the row two above the one being coded: the page's
// in AppendPage, WriteRow's copy, or nil.
func (e *Encoder) rowTwoAbove() []byte {
	if e.page != nil {
		if e.row < 2 {
			return nil
		}
		return e.page.Row(e.row - 2)
	}
	return e.rows[e.lastAt^1].row(e.blank)
}

// copyBits writes again the n bits written from output bit off (not
// flushed). The bits not yet stored, in bw.acc, are stored past bw.o
// first: later stores there write the same bits.
func (e *Encoder) copyBits(off int64, n int) {
	w := &e.bw
	binary.BigEndian.PutUint64(w.buf[w.o:], w.acc)
	src := off - int64(e.flushed)
	for n > 0 {
		c := min(n, 32)
		w.put(uint32(bitsAt(w.buf, src)>>(64-c)), uint(c))
		src += int64(c)
		n -= c
	}
}

// putV0 writes k V0 codes: a 2-D row equal to its reference with k-1
// changing elements.
func (e *Encoder) putV0(k int) {
	for ; k > 0; k -= 32 {
		c := uint(min(k, 32))
		e.bw.put(^uint32(0)>>(32-c), c)
	}
}

// sameRow reports whether the packed rows a and b have the same pixels
// in the first width.
func sameRow(a, b []byte, width int) bool {
	n := width >> 3
	if !bytes.Equal(a[:n], b[:n]) {
		return false
	}
	if r := width & 7; r != 0 {
		return (a[n]^b[n])&(0xff<<uint(8-r)) == 0
	}
	return true
}

// rowDone counts a row coded and flushes when enough output is buffered.
func (e *Encoder) rowDone() error {
	e.row++
	if e.kpos++; e.kpos == e.opt.K {
		e.kpos = 0
	}
	if e.w != nil && e.bw.o >= flushThreshold {
		return e.write()
	}
	return nil
}

// putWhite codes a white row by its precomputed coding when it can (see
// Encoder.white1): in MH always, in MR and MMR under a white reference
// row, which stays the reference. It reports whether it did.
func (e *Encoder) putWhite() bool {
	v, l := e.white1, e.white1N
	if e.opt.Compression != MH {
		if e.ref[0] < int32(e.width) {
			return false
		}
		if e.opt.Compression == MMR || e.kpos != 0 {
			v, l = e.white2, e.white2N
		}
	}
	if l == 0 {
		return false
	}
	w := &e.bw
	if len(w.buf)-w.o < 16+e.opt.MinRowBits/8 {
		w.grow(e.rowMax)
	}
	w.put(v, l)
	if fill := e.opt.MinRowBits - int(l); fill > 0 && e.opt.Compression != MMR {
		w.zeros(fill)
	}
	return true
}

// write hands the complete octets in bw.out to w.
func (e *Encoder) write() error {
	p := e.bw.buf[:e.bw.o]
	if e.opt.BitOrder == LSBFirst {
		reverseBytes(p)
	}
	_, err := e.w.Write(p)
	e.flushed += e.bw.o * 8
	e.bw.o = 0
	if err != nil {
		e.err = err
	}
	return err
}

// Close ends the page: it writes RTC (MH, MR) or EOFB (MMR) unless NoRTC,
// pads the last octet with zeros and flushes. The Encoder can be reused
// with Reset.
func (e *Encoder) Close() error {
	if e.err != nil {
		return e.err
	}
	if e.closed {
		return nil
	}
	e.closed = true
	e.bw.grow(64)
	if !e.opt.NoRTC && !e.opt.NoEOL {
		switch e.opt.Compression {
		case MMR:
			e.bw.put(1, 12) // EOFB (T.6 2.4.1.1): two EOLs
			e.bw.put(1, 12)
		case MR:
			for range 6 { // RTC (T.4 4.2.4): six EOL+1
				e.putEOL(1)
			}
		default:
			for range 6 { // RTC (T.4 4.1.4): six EOLs
				e.putEOL(-1)
			}
		}
	}
	e.bw.flush()
	if e.w != nil {
		return e.write()
	}
	if e.opt.BitOrder == LSBFirst {
		reverseBytes(e.bw.buf[e.start:e.bw.o])
	}
	return nil
}

// whiteRow reports whether the first width pixels of a packed row are all
// white: by comparing its whole octets with a row of zeros (memequal, in
// vector registers where the machine has them: twice as fast on a blank
// page as the word loop below), then the last partial octet.
func (e *Encoder) whiteRow(row []byte) bool {
	n := e.width >> 3
	if !bytes.Equal(row[:n], e.zero) {
		return false
	}
	if r := e.width & 7; r != 0 {
		return row[n]&(0xff<<uint(8-r)) == 0
	}
	return true
}

// changes finds the changing elements of a packed row (T.4 4.2.1.3.1): the
// positions of the pixels whose colour differs from the pixel to their left
// (the pixel left of the row is white). It works 64 pixels at a time and
// ends the list with four sentinels equal to width. dst must have room for
// width+8 elements; tail is 8 octets of scratch.
func changes(tail, row []byte, width int, dst []int32) []int32 {
	n := (width + 7) / 8
	row = row[:n]
	full := width / 64 // whole words inside the row
	k := 0
	var prev uint64 // the last pixel of the previous word
	for i := range full {
		w := binary.BigEndian.Uint64(row[i*8:])
		t := w ^ (w>>1 | prev<<63)
		prev = w & 1
		if t != 0 {
			k = appendChanges(dst, k, t, int32(i*64))
		}
	}
	if rest := width - full*64; rest > 0 {
		clear(tail)
		copy(tail, row[full*8:])
		w := binary.BigEndian.Uint64(tail) &^ (^uint64(0) >> uint(rest))
		t := w ^ (w>>1 | prev<<63)
		t &^= ^uint64(0) >> uint(rest) // no change at or past the width
		if t != 0 {
			k = appendChanges(dst, k, t, int32(full*64))
		}
	}
	w := int32(width)
	dst[k], dst[k+1], dst[k+2], dst[k+3] = w, w, w, w
	return dst[:k+4]
}

// appendChanges stores at dst[k:] the positions base+p of the set bits of t,
// p counted from the most significant bit, in increasing order, and returns
// the new length. It walks the bits from the least significant end, where
// clearing the lowest set bit (t &= t-1) is the only dependency between
// iterations, and fills dst backwards.
func appendChanges(dst []int32, k int, t uint64, base int32) int {
	cnt := bits.OnesCount64(t)
	p := k + cnt
	base += 63
	for t != 0 {
		p--
		dst[p] = base - int32(bits.TrailingZeros64(t))
		t &= t - 1
	}
	return k + cnt
}

// emitBits is bitWriter.put on a writer held in registers: it appends the
// low l bits of v to acc, which has free bits free below its pending bits
// (free > 32), storing 32 bits at buf[o:] when no more than 32 are free.
// Counting the free bits, not the pending ones, makes the shift count the
// new state itself: with the pending count the compiler kept it on the
// stack, and its store and reload sat between one code and the next.
func emitBits(acc uint64, free uint, o int, buf []byte, v uint32, l uint) (uint64, uint, int) {
	free -= l
	acc |= uint64(v) << (free & 63)
	if free <= 32 {
		binary.BigEndian.PutUint32(buf[o:], uint32(acc>>32))
		o += 4
		acc <<= 32
		free += 32
	}
	return acc, free, o
}

// code1D codes a row as alternating white and black runs (T.4 4.1), from
// its changing elements.
func (e *Encoder) code1D(ch []int32) {
	width := e.width
	acc, free, o, buf := e.bw.acc, 64-e.bw.n, e.bw.o, e.bw.buf
	a0 := 0
	for i := 0; i+1 < len(ch); i += 2 {
		a1 := int(ch[i])
		if a2 := int(ch[i+1]); uint((a1-a0)|(a2-a1)) < 64 && a2 < width {
			// Two terminating codes, white and black, as one word: on
			// dense rows most runs are short, and each word written
			// costs a load, a shift and a test for a full buffer. When
			// the next two runs are short as well and the two words fit
			// in 32 bits (on a dithered photograph most pairs take 6 to
			// 12 bits), one write for the four.
			c := pairRun[(a1-a0)<<6|(a2-a1)]
			if i+3 < len(ch) {
				a3, a4 := int(ch[i+2]), int(ch[i+3])
				if uint((a3-a2)|(a4-a3)) < 64 && a4 < width {
					c2 := pairRun[(a3-a2)<<6|(a4-a3)]
					if l1, l2 := uint(c&31), uint(c2&31); l1+l2 <= 32 {
						acc, free, o = emitBits(acc, free, o, buf, c>>5<<l2|c2>>5, l1+l2)
						a0 = a4
						i += 2
						continue
					}
				}
			}
			acc, free, o = emitBits(acc, free, o, buf, c>>5, uint(c&31))
			a0 = a2
			continue
		}
		run := a1 - a0
		for run > maxCombinedRun {
			acc, free, o = emitBits(acc, free, o, buf, 0b000000011111, 12) // make-up 2560
			run -= 2560
		}
		c := whiteRun[run]
		acc, free, o = emitBits(acc, free, o, buf, c>>5, uint(c&31))
		if a1 >= width {
			break
		}
		a2 := int(ch[i+1])
		run = a2 - a1
		for run > maxCombinedRun {
			acc, free, o = emitBits(acc, free, o, buf, 0b000000011111, 12)
			run -= 2560
		}
		c = blackRun[run]
		acc, free, o = emitBits(acc, free, o, buf, c>>5, uint(c&31))
		if a2 >= width {
			break
		}
		a0 = a2
	}
	e.bw.acc, e.bw.n, e.bw.o = acc, 64-free, o
}

// code2D codes a row against the reference row (T.4 4.2.1.3, T.6 2.2.3):
// pass, vertical or horizontal mode at each step. cur and ref are changing
// element lists ending in sentinels. The modes are chosen first, into a
// list of code words, which pack then writes out: one loop doing both
// needed more registers than there are, and the compiler kept the row
// indexes and the output position on the stack, with a store and a reload
// between one code and the next.
func (e *Encoder) code2D(cur, ref []int32) {
	if e.codes == nil { // the first row that is not white under white
		e.codes = make([]uint32, codesMax(e.width))
	}
	codes := modes2D(cur, ref, int32(e.width), e.codes)
	e.codesHigh = max(e.codesHigh, len(codes))
	e.pack(codes)
}

// modes2D chooses the codes of a 2-D row and returns them as code words
// (code<<5 | length) in codes, which must have room for codesMax(width).
func modes2D(cur, ref []int32, width int32, codes []uint32) []uint32 {
	k := 0
	a0 := int32(-1)
	// cur[i] = a1, the first changing element right of a0 (each mode
	// leaves a0 left of the next one); ref[j] = b1, moved on by each mode
	// from where it was, as the decoder does (Decoder.code2D): after V0
	// and VL1 to its right neighbour without a search.
	i, j := 0, 0
	for a0 < width {
		a1 := cur[i]
		b1, b2 := ref[j], ref[j+1]
		if b2 < a1 {
			codes[k] = codePass<<5 | 4
			k++
			a0 = b2
			j += 2
			continue
		}
		if d := a1 - b1; d >= -3 && d <= 3 {
			codes[k] = vertWord[d+3]
			k++
			a0 = a1
			i++
			if a1 >= width {
				break
			}
			j = nextB1(ref, j, a1)
			continue
		}
		a2 := cur[i+1]
		start := max(a0, 0)
		codes[k] = codeHoriz<<5 | 3
		k++
		first, second := whiteRun, blackRun
		if i&1 != 0 {
			first, second = blackRun, whiteRun
		}
		r := int(a1 - start)
		for ; r > maxCombinedRun; r -= 2560 {
			codes[k] = 0b000000011111<<5 | 12 // make-up 2560
			k++
		}
		codes[k] = first[r]
		k++
		r = int(a2 - a1)
		for ; r > maxCombinedRun; r -= 2560 {
			codes[k] = 0b000000011111<<5 | 12
			k++
		}
		codes[k] = second[r]
		k++
		a0 = a2
		i += 2
		for a2 < width && ref[j] <= a2 {
			j += 2
		}
	}
	return codes[:k]
}

// codesMax is the room modes2D needs for a row of width pixels: with C
// changing elements on the row and R on the reference, at most C vertical
// codes or 3 codes per 2 elements in horizontal mode (the sentinel may
// end the last pair), one pass per 2 reference elements, and a make-up
// code per 2560 pixels of run.
func codesMax(width int) int { return 2*width + width/2560 + 16 }

// pairRun[w<<6 | b] is the code word of a white run of w pixels followed
// by a black run of b (w, b < 64: two terminating codes, at most 20 bits),
// packed as bits<<5 | length.
var pairRun = func() (t [64 * 64]uint32) {
	for w := range 64 {
		for b := range 64 {
			cw, cb := whiteTerm[w], blackTerm[b]
			t[w<<6|b] = (uint32(cw.bits)<<cb.n|uint32(cb.bits))<<5 | uint32(cw.n+cb.n)
		}
	}
	return t
}()

// vertWord[a1-b1+3] is the code word of a vertical mode.
var vertWord = func() (t [7]uint32) {
	for i, c := range vertCode {
		t[i] = uint32(c.bits)<<5 | uint32(c.n)
	}
	return t
}()

// pack appends code words (code<<5 | length, at most 25 bits each) to the
// output.
func (e *Encoder) pack(codes []uint32) {
	acc, free, o, buf := e.bw.acc, 64-e.bw.n, e.bw.o, e.bw.buf
	i := 0
	for i+3 < len(codes) {
		// Four words at a time, as one when they fit in 32 bits (four
		// mode codes do: at most 7 bits each), else two, as one when
		// they fit: fewer tests for a full buffer, which come out true
		// at irregular intervals. After a pair the next four start two
		// words on, so that a horizontal mode's runs (up to 25 bits
		// each) split no more than their own group.
		q := (*[4]uint32)(codes[i : i+4])
		c1, c2, c3, c4 := q[0], q[1], q[2], q[3]
		l1, l2, l3, l4 := uint(c1&31), uint(c2&31), uint(c3&31), uint(c4&31)
		if l1+l2+l3+l4 <= 32 {
			v := (c1>>5<<l2|c2>>5)<<(l3+l4) | c3>>5<<l4 | c4>>5
			acc, free, o = emitBits(acc, free, o, buf, v, l1+l2+l3+l4)
			i += 4
			continue
		}
		if l1+l2 <= 32 {
			acc, free, o = emitBits(acc, free, o, buf, c1>>5<<l2|c2>>5, l1+l2)
		} else {
			acc, free, o = emitBits(acc, free, o, buf, c1>>5, l1)
			acc, free, o = emitBits(acc, free, o, buf, c2>>5, l2)
		}
		i += 2
	}
	for ; i < len(codes); i++ {
		c := codes[i]
		acc, free, o = emitBits(acc, free, o, buf, c>>5, uint(c&31))
	}
	e.bw.acc, e.bw.n, e.bw.o = acc, 64-free, o
}

// EncodePage codes a whole page to w and closes it (RTC/EOFB unless NoRTC).
func EncodePage(w io.Writer, b *Bitmap, opts *EncodeOptions) error {
	e, err := NewEncoder(w, b.Width, opts)
	if err != nil {
		return err
	}
	// The rows above are the page's: rows that repeat a row further up
	// are coded with its bits (farBack), as in AppendPage.
	e.page = b
	for y := range b.Height {
		if err := e.WriteRow(b.Row(y)); err != nil {
			return err
		}
	}
	e.page = nil
	return e.Close()
}

// AppendPage codes a whole page and appends it to dst. To code many pages
// without allocating, reuse an Encoder's AppendPage.
func AppendPage(dst []byte, b *Bitmap, opts *EncodeOptions) ([]byte, error) {
	o, err := checkEncodeOptions(b.Width, opts)
	if err != nil {
		return dst, err
	}
	e, _ := encoders.Get().(*Encoder)
	if e == nil || e.width != b.Width || e.opt != o {
		e = &Encoder{width: b.Width, opt: o}
		e.alloc()
	}
	defer putEncoder(e)
	return e.AppendPage(dst, b)
}

// encoders keeps AppendPage's Encoders for the next call with the same
// width and options (its set-up, about 14 KB of lists at A4, cost a blank
// page a third of its coding time).
var encoders sync.Pool

// putEncoder returns e to the pool with nothing of the page in it:
// Encoder.AppendPage leaves no reference to the caller's bytes, and the
// changing elements, code words and last word of the rows are cleared
// (page images are PHI; a pool outlives the call).
func putEncoder(e *Encoder) {
	e.scrub()
	encoders.Put(e)
}

func (e *Encoder) scrub() {
	clear(e.cur[:e.curHigh])
	clear(e.ref[:e.curHigh])
	clear(e.old[:e.curHigh])
	clear(e.codes[:e.codesHigh])
	clear(e.line)
	for i := range e.rows {
		clear(e.rows[i].buf)
		e.rows[i].ok = false
	}
	clear(e.hist)
	e.histAt, e.histUntil = [farRing]int{}, 0
	e.curHigh, e.codesHigh = 0, 0
}

// AppendPage codes the whole page b (its Width must be e's width) with e's
// options, RTC/EOFB included unless NoRTC, and appends it to dst, growing
// dst only when its capacity runs out: no copy through an io.Writer. It
// resets e first and leaves it closed; e's io.Writer is not used and is
// kept for a later Reset.
func (e *Encoder) AppendPage(dst []byte, b *Bitmap) ([]byte, error) {
	if b.Width != e.width {
		return dst, fmt.Errorf("%w: bitmap width %d for encoder width %d", ErrWidth, b.Width, e.width)
	}
	own, w := e.bw.buf, e.w
	e.Reset(nil)
	e.page = b
	e.bw.buf = dst[:cap(dst)]
	e.bw.o = len(dst)
	e.start = len(dst)
	var err error
	fast := e.white1N|e.white2N != 0
	for y := 0; y < b.Height && err == nil; y++ {
		row := b.Row(y)
		if fast && e.opt.Compression == MMR && e.ref[0] >= int32(e.width) && e.whiteRow(row) {
			// MMR white rows under a white row: one V0 bit each, so a
			// stretch of them is that many one bits, written 32 at a time.
			k := 1
			for y+k < b.Height && e.whiteRow(b.Row(y+k)) {
				k++
			}
			e.bw.grow(k/8 + 8)
			for r := k; r > 0; r -= 32 {
				c := uint(min(r, 32))
				e.bw.put(^uint32(0)>>(32-c), c)
			}
			e.row += k
			e.kpos = (e.kpos + k) % e.opt.K
			y += k - 1
			continue
		}
		white := e.whiteRow(row)
		if fast && white && e.putWhite() {
			e.pushWhite()
			err = e.rowDone()
			continue
		}
		var prev []byte
		if y > 0 {
			prev = b.Row(y - 1)
		}
		_, err = e.writeRow(row, prev, white)
	}
	if err == nil {
		err = e.Close()
	}
	out := e.bw.buf[:e.bw.o]
	e.bw.buf, e.bw.o, e.start, e.w = own, 0, 0, w
	e.page = nil
	e.closed = true
	if err != nil {
		return dst, err
	}
	return out, nil
}
