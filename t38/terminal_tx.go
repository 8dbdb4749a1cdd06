package t38

import (
	"time"

	"github.com/faxkit/faxkit/t30"
)

// The transmit half of the terminal's core: each signal the session asks
// for (T.38 clause 5.3 and 6: indicators, data fields, end-of-signal) is
// built into a schedule of IFP packets with their line-time offsets, then
// released packet by packet as the clock reaches them. Nothing here
// blocks or reads a clock: the owner goroutine passes now.

type jobKind uint8

const (
	jobTone jobKind = iota
	jobFrames
	jobTCF
	jobImage
	jobHangup
	jobPreempt // not a signal: cut short the signals queued so far
)

type txJob struct {
	kind   jobKind
	tone   t30.Tone
	speed  t30.Speed
	frames [][]byte
	data   []byte
	dur    time.Duration
	cut    bool // pre-empted before it began: send no data, only its ends
}

// packet categories: control packets get ControlDepth redundancy.
type category uint8

const (
	catControl category = iota
	catImage
)

// scheduled is one IFP packet of the signal being sent: due at the
// signal's start plus off, sent copies times, each copy in its own
// datagram.
type scheduled struct {
	off    time.Duration
	lo, hi int // the IFP's octets in txState.arena
	cat    category
	copies int
	cut    bool // dropped when a later DCN pre-empts the signal
}

type txState struct {
	cfg    *TerminalConfig
	sender *Sender
	depth  int
	ifp    IFP
	fields [2]Field
	rev    []byte
	rows   rowCutter
	cuts   []int
	budget [2]int // per category: data octets per packet that keep full EC
	paced  bool

	queue    []txJob // signals not yet finished; queue[0] is sent first
	waiting  bool    // queue[0] waits for the turnaround since waitFrom
	waitFrom time.Time
	active   bool // queue[0] is being sent, from start on
	start    time.Time
	sched    []scheduled
	next     int // the next entry of sched to send
	arena    []byte
	off      time.Duration // build cursor
	lastEnd  time.Time     // paced: when the previous signal ended
	done     bool          // a hangup reached the head of the queue
	dead     bool          // the endpoint is gone: packets are discarded
}

func (x *txState) init(cfg *TerminalConfig) error {
	x.cfg = cfg
	x.paced = cfg.Pacing == PacingRealTime
	x.ifp.Version = cfg.Version
	const overhead = 8 // type, field count, field header and length, with slack
	if cfg.Encapsulation == EncapIFP {
		x.budget = [2]int{cfg.MaxDatagram - overhead, cfg.MaxDatagram - overhead}
		return nil
	}
	s, err := NewSender(SenderConfig{EC: cfg.EC, Depth: cfg.ControlDepth, FECSpan: cfg.FECSpan,
		FECEntries: cfg.FECEntries, MaxDatagram: cfg.MaxDatagram, FirstSeq: cfg.FirstSeq})
	if err != nil {
		return err
	}
	x.sender = s
	x.budget[catControl] = s.IFPBudget() - overhead
	if cfg.EC == ECRedundancy {
		if err := s.SetDepth(cfg.Depth); err != nil {
			return err
		}
		x.budget[catImage] = s.IFPBudget() - overhead
		_ = s.SetDepth(cfg.ControlDepth)
	} else {
		x.budget[catImage] = x.budget[catControl]
	}
	x.depth = cfg.ControlDepth
	for i := range x.budget {
		x.budget[i] = max(x.budget[i], 16)
		x.budget[i] = min(x.budget[i], s.MaxIFP()-overhead)
	}
	return nil
}

// enqueue queues a signal. jobPreempt (t30.Preempter: the DCN of an
// aborted call follows) cuts the signals queued so far short: their
// remaining data is not sent, their end-of-signal packets are.
func (x *txState) enqueue(j txJob) {
	if j.kind == jobPreempt {
		for i := range x.queue {
			x.queue[i].cut = true
		}
		x.preempt()
		return
	}
	x.queue = append(x.queue, j)
}

// preempt drops the cuttable packets not yet sent from the active
// schedule; what remains (end of signal, no-signal) moves up to where the
// first dropped packet was due.
func (x *txState) preempt() {
	if !x.active {
		return
	}
	k, cutAt, cut := x.next, time.Duration(0), false
	for i := x.next; i < len(x.sched); i++ {
		s := x.sched[i]
		if s.cut {
			if !cut {
				cut, cutAt = true, s.off
			}
			continue
		}
		if cut && s.off > cutAt {
			s.off = cutAt
		}
		x.sched[k] = s
		k++
	}
	x.sched = x.sched[:k]
}

// readyAt is when the head of the queue may start: T.30 is half duplex,
// and a terminal such as spandsp's only listens for our next signal once
// it has sent its no-signal, so a response sent on its fcs-OK (as an
// unpaced terminal would) can arrive while it is still transmitting and
// be lost. We wait for the far end's no-signal (at most TurnaroundMax
// from when we began waiting) and then Turnaround more.
func (x *txState) readyAt(rx *rxState) time.Time {
	if x.cfg.Turnaround < 0 {
		return x.waitFrom
	}
	if rx.busy {
		return x.waitFrom.Add(x.cfg.TurnaroundMax)
	}
	if rx.quietAt.IsZero() {
		return x.waitFrom
	}
	return rx.quietAt.Add(x.cfg.Turnaround)
}

// begin builds the head job's schedule, starting at now (paced: no
// earlier than the gap after the previous signal).
func (x *txState) begin(now time.Time, c *core) {
	j := &x.queue[0]
	x.waiting = false
	x.active = true
	x.next = 0
	x.start = now
	if x.paced && !x.lastEnd.IsZero() {
		if g := x.lastEnd.Add(t30.SignalGap); g.After(now) {
			x.start = g
		}
	}
	x.build(j, c)
}

func (x *txState) advance(d time.Duration) {
	if x.paced {
		x.off += d
	}
}

func octetTime(n, rate int) time.Duration {
	return time.Duration(int64(n) * 8 * int64(time.Second) / int64(rate))
}

// build lays out one signal's packets.
func (x *txState) build(j *txJob, c *core) {
	x.sched, x.arena, x.off = x.sched[:0], x.arena[:0], 0
	rep := x.cfg.IndicatorRepeat
	switch j.kind {
	case jobTone:
		ind, d := IndCNG, t30.CNGOn
		if j.tone == t30.ToneCED {
			ind, d = IndCED, t30.CEDDuration
		}
		c.log.Debug("t38 send", "tone", ind.String())
		x.indicator(ind, rep)
		x.advance(d)
	case jobFrames:
		rate, dt, cat := 300, DataV21, catControl
		if j.speed == t30.SpeedNone {
			x.indicator(IndV21Preamble, rep)
			x.advance(t30.V21Preamble)
		} else {
			rate, dt, cat = j.speed.BitRate(), dataTypeFor(j.speed), catImage
			x.indicator(trainingFor(j.speed, false), rep)
			x.advance(t30.TrainingTime(j.speed, false) + t30.ECMFlags)
		}
		c.log.Debug("t38 send", "frames", len(j.frames), "data", dt.String())
		if !j.cut {
			for _, f := range j.frames {
				x.rev = append(x.rev[:0], f...)
				BitReverse(x.rev, x.rev)
				x.frame(dt, x.rev, rate, cat)
			}
		}
		x.field(dt, FieldHDLCSigEnd, nil, catControl, rep, false)
	case jobTCF:
		rate, dt := j.speed.BitRate(), dataTypeFor(j.speed)
		c.log.Debug("t38 send", "tcf", dt.String())
		x.indicator(trainingFor(j.speed, true), rep)
		x.advance(t30.TrainingTime(j.speed, true))
		if !j.cut {
			n := int(int64(rate/8) * int64(j.dur) / int64(time.Second))
			x.rev = append(x.rev[:0], make([]byte, n)...)
			x.data(dt, FieldT4NonECMData, x.rev, rate, catImage)
		}
		x.field(dt, FieldT4NonECMSigEnd, nil, catControl, rep, false)
	case jobImage:
		rate, dt := j.speed.BitRate(), dataTypeFor(j.speed)
		c.log.Debug("t38 send", "image", dt.String(), "octets", len(j.data))
		x.indicator(trainingFor(j.speed, false), rep)
		x.advance(t30.TrainingTime(j.speed, false) + t30.ECMFlags)
		if !j.cut {
			if x.cfg.FillBitRemoval {
				x.rev = removeFillBits(x.rev[:0], j.data)
				BitReverse(x.rev, x.rev)
				x.data(dt, FieldT4NonECMData, x.rev, rate, catImage)
			} else {
				x.image(dt, j.data, rate)
			}
		}
		x.field(dt, FieldT4NonECMSigEnd, nil, catControl, rep, false)
	}
	x.indicator(IndNoSignal, rep)
}

func (x *txState) indicator(ind Indicator, copies int) {
	x.ifp.Type, x.ifp.Indicator, x.ifp.Fields = TypeIndicator, ind, nil
	x.add(catControl, copies, false)
}

func (x *txState) field(dt DataType, ft FieldType, data []byte, cat category, copies int, cut bool) {
	x.fields[0] = Field{Type: ft, Data: data}
	x.ifp.Type, x.ifp.DataType, x.ifp.Fields = TypeData, dt, x.fields[:1]
	x.add(cat, copies, cut)
}

// frame lays out one HDLC frame (T.38 clause 6.2: hdlc-data fields, then
// hdlc-fcs-OK), in as few packets as keep the full error correction: the
// whole frame and its fcs-OK in one packet when it fits, else chunks of
// the budget with the fcs-OK beside the last. Every packet lost in the
// network costs the whole frame, so fewer packets per frame means fewer
// frames lost: at 5% loss a 256-octet ECM frame cut into 30 ms chunks at
// 14400 bit/s (6 packets) is lost 26% of the time, whole 5%; a V.21 frame
// cut into 30 ms chunks (1 octet each) is almost always lost. The packet
// leaves when the frame starts on the line, and the next after the
// frame's line time, so the signal keeps its real-time length.
// (TerminalConfig.splitFrames restores the 30 ms chunking, to measure.)
func (x *txState) frame(dt DataType, b []byte, rate int, cat category) {
	const fieldOverhead = 4 // a second field's header and length
	chunk := x.budget[cat] - fieldOverhead
	if x.paced && x.cfg.splitFrames {
		chunk = min(chunk, max(1, int(int64(rate)*int64(x.cfg.PacketInterval)/int64(8*time.Second))))
	}
	chunk = max(chunk, 1)
	for {
		n := min(chunk, len(b))
		if n == len(b) {
			x.fields[0] = Field{Type: FieldHDLCData, Data: b}
			x.fields[1] = Field{Type: FieldHDLCFCSOK}
			x.ifp.Type, x.ifp.DataType, x.ifp.Fields = TypeData, dt, x.fields[:2]
			if n == 0 {
				x.ifp.Fields = x.fields[1:2]
			}
			x.add(cat, 1, true)
			x.advance(octetTime(n+3, rate)) // the data, FCS and a flag
			return
		}
		x.field(dt, FieldHDLCData, b[:n], cat, 1, true)
		x.advance(octetTime(n, rate))
		b = b[n:]
	}
}

// data lays out b as fields of type ft, chunked to the datagram budget
// (and, paced, to the packet interval), each packet due when the line
// would have carried the previous one.
func (x *txState) data(dt DataType, ft FieldType, b []byte, rate int, cat category) {
	chunk := x.budget[cat]
	if x.paced {
		chunk = min(chunk, max(1, int(int64(rate)*int64(x.cfg.PacketInterval)/int64(8*time.Second))))
	}
	for len(b) > 0 {
		n := min(chunk, len(b))
		x.field(dt, ft, b[:n], cat, 1, true)
		x.advance(octetTime(n, rate))
		b = b[n:]
	}
}

// image lays out non-ECM page data in packets of whole rows (rows.go),
// or, when a row is too long for a datagram, as data.
func (x *txState) image(dt DataType, b []byte, rate int) {
	target := x.budget[catImage]
	if x.paced {
		target = min(target, max(1, int(int64(rate)*int64(x.cfg.PacketInterval)/int64(8*time.Second))))
	}
	x.rows.scan(b)
	r := x.rows.choose(target, x.budget[catImage])
	if r == 0 {
		x.rev = append(x.rev[:0], b...)
		BitReverse(x.rev, x.rev)
		x.data(dt, FieldT4NonECMData, x.rev, rate, catImage)
		return
	}
	x.rev, x.cuts = x.rows.cut(x.rev[:0], x.cuts[:0], b, r)
	BitReverse(x.rev, x.rev)
	lo := 0
	for i := 0; i <= len(x.cuts); i++ {
		hi := len(x.rev)
		if i < len(x.cuts) {
			hi = x.cuts[i]
		}
		if hi > lo {
			x.field(dt, FieldT4NonECMData, x.rev[lo:hi], catImage, 1, true)
			x.advance(octetTime(hi-lo, rate))
		}
		lo = hi
	}
}

// add marshals x.ifp into the arena as the next scheduled packet.
func (x *txState) add(cat category, copies int, cut bool) {
	lo := len(x.arena)
	var err error
	x.arena, err = x.ifp.AppendBinary(x.arena)
	if err != nil {
		// Only a misconfiguration (a version 0 extension value) gets here.
		x.arena = x.arena[:lo]
		return
	}
	x.sched = append(x.sched, scheduled{off: x.off, lo: lo, hi: len(x.arena), cat: cat, copies: copies, cut: cut})
}

// due is when the next packet of the active signal is due.
func (x *txState) due() time.Time { return x.start.Add(x.sched[x.next].off) }

// release sends the next scheduled packet (all its copies) through c.
func (x *txState) release(now time.Time, c *core) {
	s := x.sched[x.next]
	x.next++
	if x.paced {
		c.paced(now.Sub(x.start.Add(s.off)))
	}
	if x.dead {
		return
	}
	ifp := x.arena[s.lo:s.hi]
	if x.sender != nil && x.cfg.EC == ECRedundancy {
		d := x.cfg.ControlDepth
		if s.cat == catImage {
			d = x.cfg.Depth
		}
		if d != x.depth {
			_ = x.sender.SetDepth(d)
			x.depth = d
		}
	}
	for range s.copies {
		if x.sender == nil {
			c.out.add(ifp)
			continue
		}
		var err error
		c.out.buf, err = x.sender.Append(c.out.buf, ifp)
		if err != nil {
			c.log.Debug("t38 send", "err", err)
			return
		}
		c.out.end = append(c.out.end, len(c.out.buf))
	}
}

// finish ends the active signal.
func (x *txState) finish() {
	if len(x.sched) > 0 {
		x.lastEnd = x.start.Add(x.sched[len(x.sched)-1].off)
	} else {
		x.lastEnd = x.start
	}
	x.active = false
	x.queue[0] = txJob{}
	x.queue = x.queue[1:]
	if len(x.queue) == 0 {
		x.queue = x.queue[:0:0]
	}
}

// dataTypeFor maps an image modem speed to its T30-data value (0 for
// SpeedNone: V.21).
func dataTypeFor(s t30.Speed) DataType {
	switch s {
	case t30.V27ter2400:
		return DataV27_2400
	case t30.V27ter4800:
		return DataV27_4800
	case t30.V29_7200:
		return DataV29_7200
	case t30.V29_9600:
		return DataV29_9600
	case t30.V17_7200:
		return DataV17_7200
	case t30.V17_9600:
		return DataV17_9600
	case t30.V17_12000:
		return DataV17_12000
	case t30.V17_14400:
		return DataV17_14400
	}
	return DataV21
}

// speedForData is the inverse of dataTypeFor; ok is false for V.21 and
// data types no t30.Speed has (V.8, V.34, V.33).
func speedForData(d DataType) (t30.Speed, bool) {
	switch d {
	case DataV27_2400:
		return t30.V27ter2400, true
	case DataV27_4800:
		return t30.V27ter4800, true
	case DataV29_7200:
		return t30.V29_7200, true
	case DataV29_9600:
		return t30.V29_9600, true
	case DataV17_7200:
		return t30.V17_7200, true
	case DataV17_9600:
		return t30.V17_9600, true
	case DataV17_12000:
		return t30.V17_12000, true
	case DataV17_14400:
		return t30.V17_14400, true
	}
	return t30.SpeedNone, false
}

// trainingFor returns the training indicator of s: V.17 long training
// before TCF, short training before page data.
func trainingFor(s t30.Speed, long bool) Indicator {
	switch s {
	case t30.V27ter2400:
		return IndV27_2400Training
	case t30.V27ter4800:
		return IndV27_4800Training
	case t30.V29_7200:
		return IndV29_7200Training
	case t30.V29_9600:
		return IndV29_9600Training
	case t30.V17_7200:
		return pick(long, IndV17_7200LongTraining, IndV17_7200ShortTraining)
	case t30.V17_9600:
		return pick(long, IndV17_9600LongTraining, IndV17_9600ShortTraining)
	case t30.V17_12000:
		return pick(long, IndV17_12000LongTraining, IndV17_12000ShortTraining)
	case t30.V17_14400:
		return pick(long, IndV17_14400LongTraining, IndV17_14400ShortTraining)
	}
	return IndNoSignal
}

func pick(c bool, a, b Indicator) Indicator {
	if c {
		return a
	}
	return b
}

// speedForTraining maps a training indicator to its speed.
func speedForTraining(i Indicator) (t30.Speed, bool) {
	switch i {
	case IndV27_2400Training:
		return t30.V27ter2400, true
	case IndV27_4800Training:
		return t30.V27ter4800, true
	case IndV29_7200Training:
		return t30.V29_7200, true
	case IndV29_9600Training:
		return t30.V29_9600, true
	case IndV17_7200ShortTraining, IndV17_7200LongTraining:
		return t30.V17_7200, true
	case IndV17_9600ShortTraining, IndV17_9600LongTraining:
		return t30.V17_9600, true
	case IndV17_12000ShortTraining, IndV17_12000LongTraining:
		return t30.V17_12000, true
	case IndV17_14400ShortTraining, IndV17_14400LongTraining:
		return t30.V17_14400, true
	}
	return t30.SpeedNone, false
}

// removeFillBits appends src (T.4 MH/MR data, first line bit in bit 0 of
// each octet) to dst with the fill bits removed (T.4 4.1.3 fill before
// an EOL, T.38 fill-bit removal): every run of zero bits is cut to 14, the
// EOL's 11 zeros plus the at most 3 zeros that end a code before it (as
// spandsp's gateway does it). The last octet is padded with zeros.
func removeFillBits(dst, src []byte) []byte {
	const maxZeroRun = 14
	var cur byte
	nbits := 0
	put := func(bit byte) {
		cur |= bit << nbits
		nbits++
		if nbits == 8 {
			dst = append(dst, cur)
			cur, nbits = 0, 0
		}
	}
	zeros := 0
	for _, o := range src {
		if o == 0 {
			zeros += 8
			continue
		}
		for i := 0; i < 8; i++ {
			if o>>i&1 == 0 {
				zeros++
				continue
			}
			for z := min(zeros, maxZeroRun); z > 0; z-- {
				put(0)
			}
			zeros = 0
			put(1)
		}
	}
	for z := min(zeros, maxZeroRun); z > 0; z-- {
		put(0)
	}
	if nbits > 0 {
		dst = append(dst, cur)
	}
	return dst
}
