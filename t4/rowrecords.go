package t4

// rowRecord is where a row's coding lies in the coded stream, for the
// coders' shortcuts for rows that repeat the row two above (see
// Decoder.twoBackNext, Encoder.twoBack): off is the stream offset of its
// first bit and n the number of its bits (from its first code to the end
// of the EOL after it in the decoder, after its EOL and tag and with its
// fill in the encoder; 0 when not known); after is the row count once the
// row was delivered or coded (0: no row); twoD is whether it was 2-D
// coded, white whether it was white (encoder), and eq whether it equals
// the row two above it.
type rowRecord struct {
	off             int64
	n, after        int
	twoD, white, eq bool
}

// rowRecords holds the records of the last four rows, a ring.
type rowRecords struct {
	r    [4]rowRecord
	head int
}

// back returns the record of the row i+1 rows above the next one (0: the
// row above).
func (rs *rowRecords) back(i int) *rowRecord { return &rs.r[(rs.head+i)&3] }

// push records the row that made the row count after. It sets the fields
// one by one: a rowRecord built whole went through the stack, and its
// copy's wide load, waiting on the narrow stores before it, stalled (a
// fifth of a repeated row's time).
func (rs *rowRecords) push(off int64, n, after int, twoD, white, eq bool) {
	rs.head = (rs.head - 1) & 3
	r := &rs.r[rs.head]
	r.off, r.n, r.after, r.twoD, r.white, r.eq = off, n, after, twoD, white, eq
}

// twoAbove returns the record of the row a row y of kind twoD may repeat
// with the same coding, or nil: the row two above, or, when that one is of
// the other kind (MR with K = 4 puts 1-D and 2-D rows two apart), the row
// four above, equal to the row two above. A 2-D row's reference must
// equal that row's: the row above must repeat the row three above (and,
// four above, the row three above the row five above). The caller has
// checked that the row above repeats the row three above: rows equal, or
// both white.
func (rs *rowRecords) twoAbove(y int, twoD bool) *rowRecord {
	b1, b2 := rs.back(1), rs.back(2)
	if y < 2 || rs.back(0).after != y || b1.after != y-1 {
		return nil
	}
	b := b1
	if b.twoD != twoD {
		b = rs.back(3)
		if y < 4 || b2.after != y-2 || b.after != y-3 || b.twoD != twoD || !b1.eq || twoD && !b2.eq {
			return nil
		}
	}
	if b.n == 0 {
		return nil
	}
	return b
}
