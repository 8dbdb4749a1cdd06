package t38

import (
	"errors"
	"net"
	"runtime"
	"time"

	"github.com/faxkit/faxkit/t30"
)

type jobKind uint8

const (
	jobTone jobKind = iota
	jobFrames
	jobTCF
	jobImage
	jobHangup
)

type txJob struct {
	kind   jobKind
	tone   t30.Tone
	speed  t30.Speed
	frames [][]byte
	data   []byte
	dur    time.Duration
	dcn    bool
}

// packet categories: control packets get ControlDepth redundancy.
type category uint8

const (
	catControl category = iota
	catImage
)

// Line times of the start of each signal (T.30 and T.38 practice, as
// spandsp's t38_core tables them): the gap between signals, the V.21
// preamble, and each image modem's training plus its 200 ms of flags.
const (
	signalGap  = 75 * time.Millisecond
	v21Flags   = time.Second
	cedTime    = 3 * time.Second
	cngTime    = 500 * time.Millisecond
	flagsAfter = 200 * time.Millisecond
)

type txState struct {
	t       *Terminal
	sender  *Sender
	depth   int
	ifp     IFP
	fields  [1]Field
	ifpBuf  []byte
	dgram   []byte
	rev     []byte
	budget  [2]int // per category: data octets per packet that keep full EC
	paced   bool
	cursor  time.Time // paced: when the next packet is due
	lastEnd time.Time // paced: when the previous signal ended
	dead    bool      // the endpoint is gone
	burst   int       // unpaced: datagrams since the last yield
}

func (x *txState) init(t *Terminal) error {
	x.t = t
	cfg := &t.cfg
	x.paced = cfg.Pacing == PacingRealTime
	x.ifp.Version = cfg.Version
	x.ifpBuf = make([]byte, 0, cfg.MaxDatagram+16)
	x.dgram = make([]byte, 0, cfg.MaxDatagram+16)
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

func (t *Terminal) txLoop() {
	defer t.wg.Done()
	for {
		select {
		case <-t.ctx.Done():
			return
		case j := <-t.jobs:
			if j.kind == jobHangup {
				close(t.txIdle)
				<-t.ctx.Done()
				return
			}
			if !t.tx.run(j) {
				return
			}
			t.emit(t30.Event{Kind: t30.EventSendDone})
		}
	}
}

// run sends one signal; false means the terminal is closing.
func (x *txState) run(j txJob) bool {
	if j.dcn {
		x.t.cut.Store(false)
	}
	x.begin()
	rep := x.t.cfg.IndicatorRepeat
	switch j.kind {
	case jobTone:
		ind, d := IndCNG, cngTime
		if j.tone == t30.ToneCED {
			ind, d = IndCED, cedTime
		}
		x.t.log.Debug("t38 send", "tone", ind)
		x.indicator(ind, rep)
		x.advance(d)
	case jobFrames:
		rate, dt, cat := 300, DataV21, catControl
		if j.speed == t30.SpeedNone {
			x.indicator(IndV21Preamble, rep)
			x.advance(v21Flags)
		} else {
			rate, dt, cat = j.speed.BitRate(), dataTypeFor(j.speed), catImage
			x.indicator(trainingFor(j.speed, false), rep)
			x.advance(trainingTime(j.speed, false) + flagsAfter)
		}
		x.t.log.Debug("t38 send", "frames", len(j.frames), "data", dt)
		for _, f := range j.frames {
			if x.t.cut.Load() {
				break
			}
			x.rev = append(x.rev[:0], f...)
			BitReverse(x.rev, x.rev)
			x.data(dt, FieldHDLCData, x.rev, rate, cat)
			if x.t.cut.Load() {
				break // no fcs-OK: the sig-end makes the far end drop the partial frame
			}
			x.field(dt, FieldHDLCFCSOK, nil, cat, 1)
			x.advance(octetTime(3, rate)) // FCS and a flag
		}
		x.field(dt, FieldHDLCSigEnd, nil, catControl, rep)
	case jobTCF:
		rate, dt := j.speed.BitRate(), dataTypeFor(j.speed)
		x.t.log.Debug("t38 send", "tcf", dt)
		x.indicator(trainingFor(j.speed, true), rep)
		x.advance(trainingTime(j.speed, true))
		n := int(int64(rate/8) * int64(j.dur) / int64(time.Second))
		x.rev = append(x.rev[:0], make([]byte, n)...)
		x.data(dt, FieldT4NonECMData, x.rev, rate, catImage)
		x.field(dt, FieldT4NonECMSigEnd, nil, catControl, rep)
	case jobImage:
		rate, dt := j.speed.BitRate(), dataTypeFor(j.speed)
		x.t.log.Debug("t38 send", "image", dt, "octets", len(j.data))
		x.indicator(trainingFor(j.speed, false), rep)
		x.advance(trainingTime(j.speed, false) + flagsAfter)
		if x.t.cfg.FillBitRemoval {
			x.rev = removeFillBits(x.rev[:0], j.data)
		} else {
			x.rev = append(x.rev[:0], j.data...)
		}
		BitReverse(x.rev, x.rev)
		x.data(dt, FieldT4NonECMData, x.rev, rate, catImage)
		x.field(dt, FieldT4NonECMSigEnd, nil, catControl, rep)
	}
	x.indicator(IndNoSignal, rep)
	x.lastEnd = x.cursor
	x.wait()
	return x.t.ctx.Err() == nil
}

// begin starts a signal: paced, no earlier than the gap after the last.
func (x *txState) begin() {
	x.turnaround()
	if !x.paced {
		return
	}
	now := x.t.clk.Now()
	x.cursor = now
	if !x.lastEnd.IsZero() {
		if g := x.lastEnd.Add(signalGap); g.After(now) {
			x.cursor = g
		}
	}
}

// turnaround waits, before a signal, until the far end has finished its
// own: T.30 is half duplex, and a terminal such as spandsp's only listens
// for our next signal once it has sent its no-signal, so a response sent
// on its fcs-OK (as an unpaced terminal would) can arrive while it is still
// transmitting and be lost. It waits for the far end's no-signal (at most
// TurnaroundMax) and then Turnaround more.
func (x *txState) turnaround() {
	t := x.t
	if t.cfg.Turnaround < 0 {
		return
	}
	start := t.clk.Now()
	for t.ctx.Err() == nil {
		now := t.clk.Now()
		var until time.Time
		if t.rx.busy.Load() {
			until = start.Add(t.cfg.TurnaroundMax)
		} else {
			until = time.Unix(0, t.rx.quietAt.Load()).Add(t.cfg.Turnaround)
		}
		d := until.Sub(now)
		if d <= 0 {
			return
		}
		tm := t.clk.NewTimer(d)
		select {
		case <-tm.C():
			if t.rx.busy.Load() && !t.clk.Now().Before(start.Add(t.cfg.TurnaroundMax)) {
				return // the far end never said no-signal: go anyway
			}
		case <-t.rx.quiet:
		case <-t.ctx.Done():
		}
		tm.Stop()
	}
}

func (x *txState) advance(d time.Duration) {
	if x.paced {
		x.cursor = x.cursor.Add(d)
	}
}

func octetTime(n, rate int) time.Duration {
	return time.Duration(int64(n) * 8 * int64(time.Second) / int64(rate))
}

// wait sleeps until the cursor (paced) and records how late we woke.
func (x *txState) wait() {
	if !x.paced || x.t.ctx.Err() != nil {
		return
	}
	t := x.t
	if d := x.cursor.Sub(t.clk.Now()); d > 0 {
		tm := t.clk.NewTimer(d)
		select {
		case <-tm.C():
		case <-t.ctx.Done():
			tm.Stop()
			return
		}
	}
	late := max(t.clk.Now().Sub(x.cursor), 0)
	t.count(func(s *TerminalStats) {
		s.Paced++
		s.PacingTotal += late
		s.PacingMax = max(s.PacingMax, late)
		i := 0
		for i < len(PacingBuckets) && late > PacingBuckets[i] {
			i++
		}
		s.PacingLate[i]++
		if late > 20*time.Millisecond {
			s.PacingErrors++
		}
	})
}

func (x *txState) indicator(ind Indicator, copies int) {
	x.ifp.Type, x.ifp.Indicator, x.ifp.Fields = TypeIndicator, ind, nil
	x.send(catControl, copies)
}

func (x *txState) field(dt DataType, ft FieldType, data []byte, cat category, copies int) {
	x.fields[0] = Field{Type: ft, Data: data}
	x.ifp.Type, x.ifp.DataType, x.ifp.Fields = TypeData, dt, x.fields[:]
	x.send(cat, copies)
}

// data sends b as fields of type ft, chunked to the datagram budget (and,
// paced, to the packet interval), each packet due when the line would
// have carried the previous one.
func (x *txState) data(dt DataType, ft FieldType, b []byte, rate int, cat category) {
	chunk := x.budget[cat]
	if x.paced {
		chunk = min(chunk, max(1, int(int64(rate)*int64(x.t.cfg.PacketInterval)/int64(8*time.Second))))
	}
	for len(b) > 0 && x.t.ctx.Err() == nil && !x.t.cut.Load() {
		n := min(chunk, len(b))
		x.field(dt, ft, b[:n], cat, 1)
		x.advance(octetTime(n, rate))
		b = b[n:]
	}
}

// send marshals x.ifp and sends it copies times, each copy in its own
// datagram.
func (x *txState) send(cat category, copies int) {
	t := x.t
	if x.dead || t.ctx.Err() != nil {
		return
	}
	x.wait()
	var err error
	x.ifpBuf, err = x.ifp.AppendBinary(x.ifpBuf[:0])
	if err != nil {
		// Only a misconfiguration (a version 0 extension value) gets here.
		t.log.Debug("t38 send", "err", err)
		return
	}
	if x.sender != nil && t.cfg.EC == ECRedundancy {
		d := t.cfg.ControlDepth
		if cat == catImage {
			d = t.cfg.Depth
		}
		if d != x.depth {
			_ = x.sender.SetDepth(d)
			x.depth = d
		}
	}
	for i := 0; i < copies; i++ {
		out := x.ifpBuf
		if x.sender != nil {
			x.dgram, err = x.sender.Append(x.dgram[:0], x.ifpBuf)
			if err != nil {
				t.log.Debug("t38 send", "err", err)
				return
			}
			out = x.dgram
		}
		if !x.paced {
			// Unpaced: let a reader in this process (the far end of a
			// test, or a receiving call on the same machine) keep up.
			if x.burst++; x.burst >= 64 {
				x.burst = 0
				runtime.Gosched()
			}
		}
		if err := t.ep.WritePacket(t.ctx, out); err != nil {
			if t.ctx.Err() != nil {
				return
			}
			if errors.Is(err, net.ErrClosed) {
				x.dead = true
				t.emit(t30.Event{Kind: t30.EventHangup})
				return
			}
			t.count(func(s *TerminalStats) { s.WriteErrors++ })
			continue
		}
		t.count(func(s *TerminalStats) {
			s.IFPSent++
			if x.sender != nil {
				s.Sender = x.sender.Stats()
			}
		})
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

// trainingTime is the modem's training time (ITU-T V.27ter, V.29, V.17).
func trainingTime(s t30.Speed, long bool) time.Duration {
	switch s.Modulation() {
	case t30.V27ter:
		if s == t30.V27ter2400 {
			return 943 * time.Millisecond
		}
		return 708 * time.Millisecond
	case t30.V29:
		return 234 * time.Millisecond
	case t30.V17:
		if long {
			return 1393 * time.Millisecond
		}
		return 142 * time.Millisecond
	}
	return 0
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
