package t4

import "bytes"

// Rows that repeat a row a few rows above, with the row between equal
// too (an ECG strip's dotted grid, a pattern of period 2 to 8), are coded
// alike, and the coders copy them instead (Decoder.farNext,
// Encoder.farBack): the decoder compares the next bits with the coding of
// the row p above, the encoder copies that coding. Both need to know
// where the last rows' codings are and which reference each had.

// maxPeriod is the furthest row above that the coders look for a row to
// repeat, and farRing the size of the ring of records (a power of two
// above maxPeriod).
const (
	maxPeriod = 8
	farRing   = 16
)

// farRec is the coding of a row y: n bits (0: none) from stream offset
// off (in MR to the end of the EOL after it), against a reference whose
// listKey is ref, 2-D coded or not; after is y+1 (the row count once the
// row was delivered or coded; 0: no row).
type farRec struct {
	off   int64
	n     int
	ref   uint64
	after int
	twoD  bool
}

// farRecords holds the records of the last rows coded in full, or copied
// from a row further up, by row number (r[y%farRing] is row y's when its
// after is y+1).
type farRecords struct {
	r [farRing]farRec
}

// push records the coding of row y. The fields are set one by one (see
// rowRecords.push).
func (f *farRecords) push(y int, off int64, n int, ref uint64, twoD bool) {
	r := &f.r[y&(farRing-1)]
	r.off, r.n, r.ref, r.after, r.twoD = off, n, ref, y+1, twoD
}

// listKey sums up a changing-element list (with its listPad sentinels) in
// a word that equal lists share: its length and five of its elements,
// from the first to the last. farNext compares rows whose lists have equal
// keys. Rows inside a ruled frame have the frame's elements first and
// last, and often the same length: those alone left a CCITT drawing with
// a comparison of rows for most rows.
func listKey(l []int32) uint64 {
	k := len(l) - listPad
	h, q := k>>1, k>>2
	return uint64(k)<<50 ^ uint64(l[0])<<40 ^ uint64(l[q])<<30 ^ uint64(l[h])<<20 ^
		uint64(l[h+q])<<10 ^ uint64(l[max(k-1, 0)])
}

// farNext consumes the next MR or MMR row when it repeats a row p rows
// above (2 <= p <= maxPeriod) decoded in full or taken here: when the row
// above equals the row p+1 above, a row coded with the same bits as the
// row p above, of the same kind (1-D or 2-D) and against an equal
// reference, is that row again. It copies that row's pixels into dst,
// makes its changing elements the reference and reports whether it did.
// In MR a row p above is of the same kind whenever p is a multiple of K;
// the bits compared run to the end of the EOL after the row.
//
// Pages with a grid or a pattern of a period longer than two rows repeat
// their rows that way: an ECG strip's dotted millimetre grid (every
// fourth row dotted, a line every 7.7 rows) repeats rows four and eight
// above, and half of its decoding time was in those rows. On other pages
// the test is a comparison of a key of the reference's list (listKey)
// with the records', a few nanoseconds a row. The rows compared are the
// ones delivered (rowAt): in ReadPage its bitmap's; ReadRow keeps copies
// of them, but only after a row whose reference and bits looked like a
// repeat's, and while such rows come (keep).
func (d *Decoder) farNext(dst []byte) bool {
	if noRepeats || d.dead || d.opt.Compression == MR && (!d.haveEOL || d.next2D && d.refBad) {
		return false
	}
	y := d.stats.Rows
	k := listKey(d.ref)
	// track records it, when the row is decoded in full.
	d.farKey, d.farKeyAt = k, y
	if p := d.farP; p != 0 && d.far.r[(y-p)&(farRing-1)].ref == k && d.farTry(dst, y, p) {
		return true
	}
	for p := 2; p <= maxPeriod; p++ {
		if d.far.r[(y-p)&(farRing-1)].ref == k && p != d.farP && d.farTry(dst, y, p) {
			d.farP = p
			return true
		}
	}
	return false
}

// histRows is how many rows ReadRow keeps copies of after a row that
// looked like a repeat of a row further up (farTry), or was one.
const histRows = 64

// farTry is farNext for the row p above, whose record's reference has
// the key of the next row's reference.
func (d *Decoder) farTry(dst []byte, y, p int) bool {
	r := &d.far.r[(y-p)&(farRing-1)]
	if r.after != y-p+1 || r.n == 0 || y-1-p < 0 || r.twoD != (d.opt.Compression == MMR || d.next2D) {
		return false
	}
	// The first bits first: they differ for most rows whose reference
	// only has the key of the other's (a row crossing a diagonal line
	// inside a frame). Nothing is consumed.
	if br := &d.br; br.n >= 0 {
		if src := r.off - br.base*8; src >= 0 && src>>3+8 <= int64(len(br.buf)) {
			if br.n < 56 {
				br.refill()
			}
			if c := min(r.n, 56, br.n); c > 0 && (br.acc^bitsAt(br.buf, src))>>uint(64-c) != 0 {
				return false
			}
		}
	}
	// The rows delivered are the page's, and the reference of a good
	// row is the row delivered above it.
	above, refAbove, src := d.rowAt(y-1), d.rowAt(y-1-p), d.rowAt(y-p)
	if above == nil || refAbove == nil || src == nil {
		if d.page == nil && !d.histOn {
			d.histStart(y)
		}
		return false
	}
	if !bytes.Equal(above, refAbove) {
		return false
	}
	at, ok := d.br.repeat(r.off, r.n)
	if !ok {
		return false
	}
	copy(dst, src)
	// The row's changing elements, from its pixels, into the list the
	// next row would have been decoded into.
	var tail [8]byte
	ref := changes(tail[:], dst, d.width, d.cur[:cap(d.cur)])
	d.cur, d.ref, d.old = d.old, ref, d.ref
	d.rows.push(at, r.n, y+1, r.twoD, false, false)
	d.eqAt = -1
	d.far.push(y, at, r.n, r.ref, r.twoD)
	d.stats.Rows++
	d.spanLen = 0
	// In MR: the row and its reference are known good now (a 1-D row
	// needs no reference to be taken), and the next row's tag follows
	// the EOL the bits ended with.
	d.refBad = false
	d.readTag()
	// ReadRow's copies of the last two rows, as rowDone keeps them.
	d.lastAt ^= 1
	d.last2OK = d.lastOK
	d.lastOK = !d.inPage
	if d.lastOK {
		copy(d.lasts[d.lastAt], dst)
	}
	if d.page == nil {
		// ReadRow is still keeping its rows: rowAt found the rows above
		// only below histEnd, and keep stops at the first row past it.
		d.histEnd = y + histRows
		d.keep(dst)
	}
	return true
}

// rowAt returns the pixels of row y as delivered (ReadPage's bitmap, or
// ReadRow's copy), or nil.
//
// ReadRow copies the rows it decodes in full or takes as repeats of rows
// further up (keep), not the white rows and the repeats of the row above,
// whose paths a blank or black page is made of. Those equal the row
// before them: a white row is taken as one only under a white reference,
// a repeat only under another. So a row since histBegin that has no copy
// is the last row before it that has one. Rows that repeat the row two
// above stop the copies (twoBackBits).
func (d *Decoder) rowAt(y int) []byte {
	n := (d.width + 7) / 8
	if d.page != nil && y >= d.pageBase {
		return d.page.Row(y - d.pageBase)[:n]
	}
	if y >= d.histEnd {
		return nil // delivered after keep stopped, or not yet kept
	}
	for r := y; r >= max(d.histBegin, y-farRing+1, 0); r-- {
		if i := r & (farRing - 1); d.histAt[i] == r+1 {
			return d.hist[i]
		}
	}
	return nil
}

// histStart has ReadRow keep copies of the rows it delivers from row y
// on, for histRows rows (see keep).
func (d *Decoder) histStart(y int) {
	n := (d.width + 7) / 8
	if len(d.hist[0]) != n {
		all := make([]byte, farRing*n)
		for i := range d.hist {
			d.hist[i] = all[i*n : (i+1)*n : (i+1)*n]
		}
		d.histAt = [farRing]int{}
	}
	d.histOn, d.histBegin, d.histEnd = true, y, y+histRows
}

// keep copies the row ReadRow just decoded in full or took as a repeat,
// row stats.Rows-1, into hist, until row histEnd: a page whose rows
// repeat rows further up extends it with each (farTry), others stop
// paying for the copies.
func (d *Decoder) keep(row []byte) {
	y := d.stats.Rows - 1
	if y >= d.histEnd {
		d.histOn = false
		return
	}
	i := y & (farRing - 1)
	copy(d.hist[i], row)
	d.histAt[i] = y + 1
}
