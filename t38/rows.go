package t38

// Non-ECM page data in whole rows per packet.
//
// Without ECM a receiver that loses a packet of page data knows from the
// UDPTL sequence numbers how many packets it lost, not how many rows they
// held: the decoder resynchronises at the next EOL, and the page comes
// out shorter or longer than it was sent, every row after the gap out of
// place. So the sender cuts page data only after an EOL, with the same
// number of EOLs (R) in every packet, and pads with fill (T.4 4.1.2:
// zeros before an EOL, which every decoder skips) so that each cut EOL
// ends on an octet boundary: no EOL is split between packets. A receiver
// that sees packets of exactly R EOLs each, each ending with its last EOL,
// knows that n lost packets held R*n rows, puts that many marked rows in
// their place, and the page keeps its length (terminal_rx.go markLoss).
// Other receivers see ordinary page data with a little more fill (on
// average 3.5 bits per R rows).
//
// R is chosen per page so that the average packet carries about one
// packet interval of line time, and no packet exceeds the datagram
// budget; a page with a row too long for a datagram is cut by size, as
// before, and its receiver estimates.

// maxRowsPerPacket bounds R: a blank fine page has 16-bit rows, and 64 of
// them are 128 octets, about 100 ms at 9600 bit/s.
const maxRowsPerPacket = 64

// rowCutter lays out page data (LSB-first line order) in whole-row packets.
type rowCutter struct {
	eols []int // bit offset of each cut candidate EOL's final 1 bit
	bits int   // length of the data in bits
}

// scan finds the EOLs of data that end a row (EOLs before RTC: an EOL
// directly followed by another, an MR tag allowed between them, starts
// RTC and ends the candidates).
func (c *rowCutter) scan(data []byte) {
	c.eols = c.eols[:0]
	c.bits = 8 * len(data)
	zeros := 0
	prevEOL := false // the last 1 was an EOL's (or its MR tag)
	tagOK := false
	for i, o := range data {
		if o == 0 {
			zeros += 8
			tagOK = false
			continue
		}
		for b := 0; b < 8; b++ {
			if o>>b&1 == 0 {
				zeros++
				tagOK = false
				continue
			}
			switch {
			case zeros >= 11:
				if prevEOL {
					// RTC: the EOL before this one started it.
					c.eols = c.eols[:len(c.eols)-1]
					return
				}
				c.eols = append(c.eols, 8*i+b)
				prevEOL, tagOK = true, true
			case zeros == 0 && tagOK:
				tagOK = false
			default:
				prevEOL, tagOK = false, false
			}
			zeros = 0
		}
	}
}

// largest returns the size in octets of the largest packet that cutting
// after every r-th EOL gives (fill included), or 0 when there are fewer
// than two cuts.
func (c *rowCutter) largest(r int) int {
	ins, prev, big, cuts := 0, 0, 0, 0
	for i := r - 1; i < len(c.eols); i += r {
		p := c.eols[i] + ins
		z := (7 - p%8 + 8) % 8
		ins += z
		end := p + z + 1
		big = max(big, (end-prev)/8)
		prev = end
		cuts++
	}
	if cuts < 2 {
		return 0
	}
	big = max(big, (c.bits+ins-prev+7)/8)
	return big
}

// choose returns R for packets of about target octets and at most budget,
// or 0 when the data cannot be cut in whole rows.
func (c *rowCutter) choose(target, budget int) int {
	if len(c.eols) < 4 {
		return 0
	}
	r := int(float64(target)*float64(len(c.eols))/float64(c.bits/8+1) + 0.5)
	r = min(max(r, 1), maxRowsPerPacket)
	for ; r >= 1; r-- {
		if n := c.largest(r); n > 0 && n <= budget {
			return r
		}
	}
	return 0
}

// cut appends data to dst with fill before every r-th EOL so that it ends
// on an octet boundary, and appends to cuts the end offset (in octets of
// dst, from dst's start) of each packet but the last.
func (c *rowCutter) cut(dst []byte, cuts []int, data []byte, r int) ([]byte, []int) {
	base := len(dst)
	var w bitAppender
	w.dst = dst
	from := 0 // next source bit to copy
	for i := r - 1; i < len(c.eols); i += r {
		p := c.eols[i]
		w.copy(data, from, p)
		w.put(0, (7-w.n%8+8)%8) // fill
		w.put(1, 1)
		from = p + 1
		cuts = append(cuts, len(w.dst)-base)
	}
	w.copy(data, from, c.bits)
	return w.flush(), cuts
}

// bitAppender appends bits in LSB-first order.
type bitAppender struct {
	dst []byte
	acc uint64
	n   int // bits in acc
}

// put appends k (0..8) bits of v.
func (w *bitAppender) put(v byte, k int) {
	w.acc |= uint64(v&byte(1<<k-1)) << w.n
	w.n += k
	if w.n >= 8 {
		w.dst = append(w.dst, byte(w.acc))
		w.acc >>= 8
		w.n -= 8
	}
}

// copy appends bits [from, to) of src.
func (w *bitAppender) copy(src []byte, from, to int) {
	for from < to {
		k := min(8-from%8, to-from)
		w.put(src[from/8]>>(from%8), k)
		from += k
	}
}

func (w *bitAppender) flush() []byte {
	if w.n > 0 {
		w.dst = append(w.dst, byte(w.acc))
		w.acc, w.n = 0, 0
	}
	return w.dst
}
