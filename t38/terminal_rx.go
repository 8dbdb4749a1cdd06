package t38

import (
	"bytes"
	"math/bits"
	"strings"
	"time"

	"github.com/faxkit/faxkit/t30"
)

// rxState turns received IFP packets into t30 events (T.38 clause 5.3 and
// 7): indicators start and end carriers, HDLC data is assembled into
// frames closed by fcs-OK/BAD, non-ECM data passes through, and
// end-of-signal fields drop the carrier.
//
// What peers actually send is accepted: repeated indicators and repeated
// end-of-signal fields (each in its own datagram) are ignored as repeats,
// as spandsp does by comparing each field with the previous one; HDLC or
// image data with no preceding preamble or training indicator starts the
// carrier implicitly; data inside fcs-OK belongs to the frame it ends; a
// stray sig-end with no carrier up is ignored; TCF may end with
// hdlc-sig-end instead of t4-non-ecm-sig-end. A frame any of whose packets
// was lost in the network is reported bad, never glued together.
type rxState struct {
	c    *core
	recv *Receiver
	ifp  IFP
	rev  []byte

	// busy: the far end is sending a signal (since an indicator or data,
	// until its no-signal); quietAt: when it last went quiet. The
	// transmitter's turnaround reads them.
	busy    bool
	quietAt time.Time
	lastRx  time.Time
	now     time.Time // of the datagram or flush being handled
	dirty   bool      // packets received since the last quiet flush
	heard   bool      // a packet has come from the far end

	carrier bool
	speed   t30.Speed // SpeedNone: V.21
	asm     *t30.FrameAssembler
	inFrame bool // a frame's data has started arriving
	damaged bool // data of the frame in progress was lost
	suspect bool // packets were lost since the last frame ended
	pageEnd pageEndScanner
	pkts    int    // non-ECM data packets received in this signal
	recent  [8]int // EOLs in each of the last non-ECM packets (a ring)
	recentN int
	recentI int
	owed    float64 // rows estimated lost but not yet marked
	// Whole-row packets (rows.go): rowR EOLs in each of rowPkts packets,
	// each ending with its last EOL, until rowBroke. rowGaps: gaps filled
	// with rowR rows per packet lost. lostEarly: packets were lost before
	// the first EOL (TCF, or the start of a page).
	rowR      int
	rowPkts   int
	rowBroke  bool
	rowGaps   int
	lostEarly bool

	indValid     bool
	lastInd      Indicator
	dataSinceInd bool

	endValid bool // the previous field was an end-of-signal field
	endDT    DataType
	endFT    FieldType
	endData  []byte
}

func (r *rxState) init(c *core) error {
	r.c = c
	r.ifp.Version = c.cfg.Version
	r.asm = t30.NewFrameAssembler(0)
	if c.cfg.Encapsulation == EncapUDPTL {
		rc, err := NewReceiver(ReceiverConfig{Version: c.cfg.Version, Window: c.cfg.ReorderWindow})
		if err != nil {
			return err
		}
		r.recv = rc
	}
	return nil
}

// push takes one received datagram.
func (r *rxState) push(now time.Time, b []byte) {
	r.now = now
	r.lastRx = now
	r.dirty = true
	if r.recv == nil {
		r.handle(b)
		return
	}
	_ = r.recv.Push(b)
	r.drain(now)
	r.c.stats.Receiver = r.recv.Stats()
}

// flushAt is when the quiet flush is due (zero: none): when nothing has
// arrived for QuietFlush, packets still missing are declared lost so
// that what did arrive is delivered.
func (r *rxState) flushAt() time.Time {
	if !r.dirty || r.recv == nil {
		return time.Time{}
	}
	return r.lastRx.Add(r.c.cfg.QuietFlush)
}

func (r *rxState) flush(now time.Time) {
	r.now = now
	r.dirty = false
	if r.recv != nil {
		r.recv.Flush()
		r.drain(now)
		r.c.stats.Receiver = r.recv.Stats()
	}
}

// hangup: the endpoint is gone.
func (r *rxState) hangup(now time.Time) {
	r.flush(now)
	r.c.emit(t30.Event{Kind: t30.EventHangup})
}

func (r *rxState) drain(now time.Time) {
	for d, ok := r.recv.Next(); ok; d, ok = r.recv.Next() {
		if d.Lost > 0 {
			r.gap(d.Lost)
			continue
		}
		r.handle(d.IFP)
	}
}

// gap: packets were lost for good. The HDLC frame in progress, if any,
// is bad. Between frames, what was lost may have been indicator or
// end-of-signal repeats, whole frames (which T.30 notices as missing) or
// the start of the next frame: that frame is suspect, and is accepted
// only if it begins as an HDLC frame does (address 0xFF, control 0x03 or
// 0x13). A packet of a frame already started can only be lost inside it,
// so the frame is then bad for sure. Judging every frame after a gap bad,
// as before, threw away good frames after a lost indicator repeat: at 5%
// loss a sender's PPS-EOP was judged damaged four times in a row.
func (r *rxState) gap(n int) {
	if r.inFrame {
		r.damaged = true
	} else {
		r.suspect = true
	}
	r.endValid = false
	r.c.stats.DataLost += uint64(n)
	r.c.log.Debug("t38 receive: packets lost", "n", n)
	r.markLoss(n)
}

// markLoss marks non-ECM page data lost in the network. The rows it
// carried would otherwise vanish without trace (the decoder resynchronises
// at the next EOL, and the page is merely shorter), and the receiver would
// accept a page missing lines as clean. Instead the lost rows are replaced
// by rows that no decoder accepts, so that the page keeps its length and
// the copy-quality check counts the damage.
//
// When the sender cuts its data in whole rows, R EOLs to a packet (as
// faxkit does, rows.go; seen here as packets of exactly R EOLs each
// ending with an EOL), n lost packets held exactly R*n rows, and the gap
// starts and ends on row boundaries: the data that follows starts a row
// whose EOL was lost. The gap becomes R*n marked rows and an EOL:
//
//	(0000000001 0000000 00000000000 1) × R*n
//
// 0000000001 (an MR tag of 0 and eight zeros before a one) is no MH or MR
// code and no EOL; the seven fill zeros keep the EOL whole however far
// into them a decoder read before giving up on the code; the rows after
// the gap stay in place, and the page is as long as it was sent.
//
// Otherwise as many rows as the lost packets probably held (the EOLs per
// packet of the last packets received) are marked, and the page's row
// count is uncertain (t30.Event.Uncertain):
//
//	1 0000000001 (0000000 EOL 0000000001) × k
//
// The leading 1 ends any run of zeros the last packet ended with, so that
// no EOL forms across the gap, and ends the row in progress as bad; the
// last marked row runs into the data after the gap up to its first EOL.
// (The first marker began with an EOL: after a packet that ended on an
// EOL, as byte-aligned EOLs often do, the two made an RTC, and the page
// ended there: 268 of 2292 rows.) TCF (no EOLs) and data after the page
// end are left alone.
func (r *rxState) markLoss(n int) {
	if !r.carrier || r.speed == t30.SpeedNone || r.pageEnd.done {
		return
	}
	if r.pageEnd.total == 0 {
		r.lostEarly = true // TCF, or the first rows of a page
		return
	}
	const junk, fill, eol = "0000000001", "0000000", "000000000001"
	var k int
	certain := r.rowPkts >= 2 && !r.rowBroke
	if certain {
		k = min(r.rowR*n, 4096)
		r.rowGaps++
	} else {
		// The rows owed carry their fraction from gap to gap: where rows
		// are longer than a packet, rounding each gap's estimate would
		// mark none.
		perPkt := 1.0
		if r.recentN > 0 {
			sum := 0
			for _, e := range r.recent[:r.recentN] {
				sum += e
			}
			perPkt = float64(sum) / float64(r.recentN)
		}
		r.owed += float64(n) * perPkt
		k = min(int(r.owed+0.5), 4096)
		r.owed -= float64(k)
	}
	// The marker is whole octets: the zeros that round it up go into its
	// last fill, so that it ends with its last bit.
	var m strings.Builder
	pad := func(bits int) string { return strings.Repeat("0", (8-bits%8)%8) }
	if certain {
		for i := 0; i < k; i++ {
			m.WriteString(junk + fill)
			if i == k-1 {
				m.WriteString(pad(k * len(junk+fill+eol)))
			}
			m.WriteString(eol)
		}
	} else {
		m.WriteString("1" + junk)
		for i := 0; i < k; i++ {
			m.WriteString(fill)
			if i == k-1 {
				m.WriteString(pad(11 + k*len(fill+eol+junk)))
			}
			m.WriteString(eol + junk)
		}
	}
	bits := m.String()
	d := make([]byte, (len(bits)+7)/8)
	for i := 0; i < len(bits); i++ {
		if bits[i] == '1' {
			d[i/8] |= 1 << (i % 8)
		}
	}
	r.pageEnd.midRow()
	r.c.stats.RowsMarked += uint64(k)
	if !certain {
		r.c.stats.RowsEstimated += uint64(k)
	}
	r.c.emit(t30.Event{Kind: t30.EventData, Data: d, Uncertain: !certain})
}

// rowCheck follows whether the far end sends whole rows per packet (see
// markLoss): eols EOLs in a packet that ended on one or not. A packet cut
// elsewhere after a gap was filled as whole rows makes that fill a guess.
func (r *rxState) rowCheck(eols int, ends bool) (uncertain bool) {
	if r.rowBroke {
		return false
	}
	if eols > 0 && ends && (r.rowR == 0 || eols == r.rowR) {
		r.rowR = eols
		r.rowPkts++
		return false
	}
	r.rowBroke = true
	return r.rowGaps > 0
}

func (r *rxState) handle(b []byte) {
	if err := r.ifp.Unmarshal(b); err != nil {
		r.c.stats.IFPMalformed++
		return
	}
	r.c.stats.IFPReceived++
	if !r.heard {
		// The far end's first packet: a sign of it whatever it carries
		// (an answering session repeats its DIS at once on hearing the
		// caller).
		r.heard = true
		r.c.emit(t30.Event{Kind: t30.EventSignal})
	}
	switch r.ifp.Type {
	case TypeIndicator:
		r.indicator(r.ifp.Indicator)
	case TypeData:
		r.data(r.ifp.DataType, r.ifp.Fields)
	}
}

func (r *rxState) indicator(ind Indicator) {
	if r.indValid && ind == r.lastInd && !r.dataSinceInd {
		r.c.stats.Repeats++
		return
	}
	r.indValid, r.lastInd, r.dataSinceInd = true, ind, false
	r.endValid = false
	switch ind {
	case IndNoSignal, IndCNG, IndCED:
		// A calling or answering tone: the far end listens meanwhile.
		r.setBusy(false)
	default:
		r.setBusy(true)
	}
	r.c.log.Debug("t38 receive", "indicator", ind.String())
	switch ind {
	case IndCNG:
		r.c.emit(t30.Event{Kind: t30.EventCNG})
	case IndCED:
		r.c.emit(t30.Event{Kind: t30.EventCED})
	}
	if ind == IndV21Preamble {
		r.endCarrier()
		r.damaged, r.suspect = false, false
		r.startCarrier(t30.SpeedNone)
		return
	}
	if sp, ok := speedForTraining(ind); ok {
		r.endCarrier()
		r.damaged, r.suspect = false, false
		r.startCarrier(sp)
		return
	}
	// no-signal, CNG, CED, and the V.8/V.34/V.33 signals we do not
	// support: whatever carrier was up has ended.
	r.endCarrier()
}

func (r *rxState) setBusy(b bool) {
	if r.busy == b {
		return
	}
	if !b {
		r.quietAt = r.now
	}
	r.busy = b
}

func (r *rxState) startCarrier(sp t30.Speed) {
	r.carrier, r.speed = true, sp
	r.pageEnd = pageEndScanner{}
	r.pkts = 0
	r.recentN, r.recentI, r.owed = 0, 0, 0
	r.rowR, r.rowPkts, r.rowBroke, r.rowGaps, r.lostEarly = 0, 0, false, 0, false
	r.c.emit(t30.Event{Kind: t30.EventCarrierUp, Speed: sp})
}

// endCarrier drops the carrier; a frame in progress is reported bad.
func (r *rxState) endCarrier() {
	if !r.carrier {
		return
	}
	if r.asm.Abandon() {
		r.frameBad()
	}
	r.damaged, r.inFrame = false, false
	r.carrier = false
	r.c.emit(t30.Event{Kind: t30.EventCarrierDown})
}

func (r *rxState) frameBad() {
	r.c.stats.FramesBad++
	r.c.emit(t30.Event{Kind: t30.EventFrameBad})
}

func isEndField(f FieldType) bool {
	switch f {
	case FieldHDLCSigEnd, FieldHDLCFCSOK, FieldHDLCFCSBad, FieldHDLCFCSOKSigEnd, FieldHDLCFCSBadSigEnd, FieldT4NonECMSigEnd:
		return true
	}
	return false
}

func (r *rxState) data(dt DataType, fields []Field) {
	r.dataSinceInd = true
	r.setBusy(true)
	want, ok := speedForData(dt)
	if !ok && dt != DataV21 {
		return // V.8, V.34, V.33: not supported, ignored
	}
	for _, f := range fields {
		end := isEndField(f.Type)
		if end && r.endValid && r.endDT == dt && r.endFT == f.Type && bytes.Equal(r.endData, f.Data) {
			r.c.stats.Repeats++
			continue
		}
		if end {
			r.endValid, r.endDT, r.endFT = true, dt, f.Type
			r.endData = append(r.endData[:0], f.Data...)
		} else {
			r.endValid = false
		}
		if !f.Type.Known() || f.Type > FieldT4NonECMSigEnd {
			continue // V.34 fields
		}
		if !r.carrier || r.speed != want {
			if end && len(f.Data) == 0 {
				continue // a stray end of a signal that is already over
			}
			// Data without its preamble or training indicator.
			r.c.log.Debug("t38 receive: data without its indicator", "data", dt.String(), "field", f.Type.String())
			r.endCarrier()
			r.startCarrier(want)
		}
		if end {
			r.c.log.Debug("t38 receive", "data", dt.String(), "field", f.Type.String())
		}
		switch f.Type {
		case FieldHDLCData:
			r.hdlc(f.Data)
		case FieldHDLCFCSOK, FieldHDLCFCSOKSigEnd, FieldHDLCFCSBad, FieldHDLCFCSBadSigEnd:
			r.hdlc(f.Data)
			r.frameEnd(f.Type == FieldHDLCFCSOK || f.Type == FieldHDLCFCSOKSigEnd)
			if f.Type == FieldHDLCFCSOKSigEnd || f.Type == FieldHDLCFCSBadSigEnd {
				r.endCarrier()
			}
		case FieldHDLCSigEnd:
			// Some peers end TCF (non-ECM data) with hdlc-sig-end, some put
			// the last octets in it.
			if len(f.Data) > 0 {
				r.image(f.Data)
			}
			r.endCarrier()
		case FieldT4NonECMData:
			r.image(f.Data)
		case FieldT4NonECMSigEnd:
			r.image(f.Data)
			r.endCarrier()
		}
	}
}

func (r *rxState) hdlc(b []byte) {
	if len(b) == 0 {
		return
	}
	r.rev = append(r.rev[:0], b...)
	BitReverse(r.rev, r.rev)
	if !r.inFrame && r.suspect {
		r.suspect = false
		if !frameStart(r.rev) {
			r.damaged = true // its start was lost
		}
	}
	r.inFrame = true
	r.asm.Write(r.rev)
}

// frameStart reports whether b can be the start of a T.30 HDLC frame
// (T.30 5.3.4: address 0xFF, control 0x03 or, final, 0x13).
func frameStart(b []byte) bool {
	return b[0] == 0xFF && (len(b) < 2 || b[1]&^0x10 == 0x03)
}

func (r *rxState) frameEnd(ok bool) {
	ev := r.asm.End(ok && !r.damaged)
	if (r.damaged || r.suspect) && ev.Kind == t30.EventNone {
		ev.Kind = t30.EventFrameBad
	}
	if ev.Kind == t30.EventFrameBad {
		r.c.log.Debug("t38 receive: frame bad", "fcs-ok", ok, "data-lost", r.damaged || r.suspect)
	}
	r.damaged, r.suspect, r.inFrame = false, false, false
	switch ev.Kind {
	case t30.EventFrame:
		r.c.stats.FramesReceived++
		r.c.emit(ev)
	case t30.EventFrameBad:
		r.frameBad()
	}
}

// image delivers non-ECM data (page or TCF). Zero octets after the end
// of a page (RTC: two EOLs in a row) are dropped: senders pad the end of
// page data with zeros (spandsp sends a few hundred octets of them), which
// carry nothing and would push the RTC away from the end of the data.
func (r *rxState) image(b []byte) {
	if len(b) == 0 {
		return
	}
	r.c.stats.ImageOctets += uint64(len(b))
	if r.pageEnd.done && allZero(b) {
		return
	}
	d := make([]byte, len(b))
	BitReverse(d, b)
	r.pkts++
	before := r.pageEnd.total
	r.pageEnd.scan(d)
	eols := r.pageEnd.total - before
	r.recent[r.recentI] = eols
	r.recentI = (r.recentI + 1) % len(r.recent)
	r.recentN = min(r.recentN+1, len(r.recent))
	uncertain := false
	if r.lostEarly && r.pageEnd.total > 0 {
		// Packets were lost before the first EOL. If this packet starts
		// with the page's leading EOL, they were indicator repeats or
		// fill; otherwise page data was lost and how many rows is not
		// known.
		r.lostEarly = false
		if before > 0 || leadingZeros(d) < 11 {
			uncertain, r.rowBroke = true, true
		}
	}
	if !r.pageEnd.done && r.rowCheck(eols, r.pageEnd.endEOL) {
		uncertain = true
	}
	r.c.emit(t30.Event{Kind: t30.EventData, Data: d, Uncertain: uncertain})
}

// leadingZeros counts the zero bits LSB-first data starts with.
func leadingZeros(b []byte) int {
	for i, o := range b {
		if o != 0 {
			return 8*i + bits.TrailingZeros8(o)
		}
	}
	return 8 * len(b)
}

func allZero(b []byte) bool {
	for _, o := range b {
		if o != 0 {
			return false
		}
	}
	return true
}

// pageEndScanner looks for two consecutive EOLs (the start of RTC, T.4
// 4.1.4 and 4.2.4; an MR EOL's tag bit is allowed) in LSB-first data.
type pageEndScanner struct {
	zeros   int
	eols    int
	total   int  // EOLs seen
	prevEOL bool // the last 1 bit ended an EOL (or was its MR tag)
	tagOK   bool // the next 1 bit may be an MR tag
	done    bool
	endEOL  bool // the last bit scanned ended an EOL
}

// midRow: data that ends no EOL and starts no run of zeros was inserted.
func (p *pageEndScanner) midRow() {
	p.zeros, p.eols, p.prevEOL, p.tagOK = 0, 0, false, false
}

func (p *pageEndScanner) scan(b []byte) {
	for _, o := range b {
		if p.done {
			return
		}
		p.endEOL = false
		if o == 0 {
			p.zeros += 8
			p.tagOK = false
			continue
		}
		for i := 0; i < 8; i++ {
			if o>>i&1 == 0 {
				p.zeros++
				p.tagOK, p.endEOL = false, false
				continue
			}
			p.endEOL = false
			switch {
			case p.zeros >= 11:
				p.total++
				p.endEOL = true
				if p.prevEOL {
					p.eols++
				} else {
					p.eols = 1
				}
				p.prevEOL, p.tagOK = true, true
				if p.eols >= 2 {
					p.done = true
				}
			case p.zeros == 0 && p.tagOK:
				p.tagOK = false
			default:
				p.prevEOL, p.tagOK, p.eols = false, false, 0
			}
			p.zeros = 0
		}
	}
}
