package t4

// Rows that repeat a row a few rows above, with the row between equal
// too (an ECG strip's dotted grid, a pattern of period 3 to 8), are coded
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
