package fax

import (
	"errors"
	"time"

	"github.com/faxkit/faxkit/modem/hdlc"
	"github.com/faxkit/faxkit/modem/tone"
	"github.com/faxkit/faxkit/modem/v17"
	"github.com/faxkit/faxkit/modem/v21"
	"github.com/faxkit/faxkit/modem/v27ter"
	"github.com/faxkit/faxkit/modem/v29"
	"github.com/faxkit/faxkit/t30"
)

// SampleRate is the line's sample rate (8 kHz, G.711's).
const SampleRate = 8000

// BlockSize is the usual block: 20 ms, one G.711 RTP packet.
const BlockSize = 160

// Errors.
var (
	ErrClosed = errors.New("fax: modem hung up")
	ErrSpeed  = errors.New("fax: not an image modem speed")
)

// Config configures a Core. The zero value works.
type Config struct {
	// TxLevel is the image modems' and V.21's sending level in dBm0; 0
	// means −10 dBm0 for the image modems and −13 dBm0 for V.21.
	TxLevel float64
	// CEDDelay is the silence before CED; 0 means t30.CEDDelay.
	CEDDelay time.Duration
	// ANSam makes the answer tone ANSam with phase reversals (/ANSam,
	// V.8 clause 7.1 and T.30 Annex F: 2100 Hz amplitude-modulated at
	// 15 Hz, its phase reversed every 450 ms) instead of plain CED, as
	// V.34-capable fax machines answer; a T.30 caller takes it as CED
	// (this Core reports any of them as t30.EventCED). The V.8 CM/JM
	// exchange that may follow is not made: the call goes on in T.30.
	ANSam bool
}

func samples(d time.Duration) int { return int(int64(d) * SampleRate / int64(time.Second)) }

type jobKind uint8

const (
	jobTone jobKind = iota
	jobFrames
	jobTCF
	jobImage
)

type job struct {
	kind   jobKind
	tone   t30.Tone
	speed  t30.Speed
	frames [][]byte
	data   []byte
	dur    time.Duration
}

// imageTx is what v17.Tx, v29.Tx and v27ter.Tx have in common.
type imageTx interface {
	Modulate(dst []int16) int
	Done() bool
}

// Stats counts what a Core has done since it was made.
type Stats struct {
	Samples        int64 // samples processed
	FramesOK       int   // V.21 and image-modem HDLC frames received with a good FCS
	FramesBad      int   // and with a bad one
	Trainings      int   // image-modem trainings heard
	TrainingFailed int   // image-modem trainings that failed
	// GapsMarked counts the blocks lost (Process with a nil rx) in the
	// middle of non-ECM page data, and RowsMarked the rows put in their
	// place (see Core.Process).
	GapsMarked, RowsMarked int
	// FramesRepeated counts the ECM frames (FCD) received with a good FCS
	// in the image bursts that answered this end's PPR (or its CTR after
	// a CTC): the frames it asked for again.
	FramesRepeated int
	// The image receiver's last measurements while it was trained.
	Level         float64 // receive level, dBm0
	SNR           float64 // signal quality: signal-to-error at the decision point, dB
	CarrierOffset float64 // carrier frequency offset, Hz
	// TimingOffset is the far end's symbol clock against ours in ppm
	// (positive: it runs fast) as the image receiver's timing loop
	// tracked it, when the receiver measures it (TimingKnown).
	TimingOffset float64
	TimingKnown  bool
	LastSpeed    t30.Speed // the image modem last trained
}

// Core is the audio fax modem's pure state machine: the t30.Modem
// operations (SendTone, SendFrames, ...) queue signals, and Process turns
// one block of received samples into events and fills one block of
// samples to send. It has no goroutine, no clock and no locks: time is
// the count of samples processed. Modem wraps it for real time.
type Core struct {
	cfg Config

	// transmit
	queue   []job
	cur     *job
	gap     int // silence samples still to send before cur's signal
	started bool
	toneGen *tone.Generator
	v21tx   *v21.Transmitter
	img     imageTx
	enc     hdlc.Encoder
	frameQ  [][]byte
	bits    []byte
	bitPos  int
	zeros   int
	sending bool      // a signal (not silence) went out in the last block
	v17TCF  t30.Speed // the V.17 speed of the last TCF sent: pages after it use the short training
	asked   bool      // our last V.21 response was PPR or CTR: the next ECM frames are repeats

	// receive
	listen  t30.Speed
	v21rx   *v21.Receiver
	det     *tone.Detector
	v21Pre  bool // preamble reported for this V.21 carrier
	rx      imageRx
	rxSpeed t30.Speed
	trained bool
	hdlcDec *hdlc.Decoder
	rxMode  int // 0 undecided, 1 raw data (TCF, non-ECM page), 2 HDLC (ECM), 3 after the data
	rxBits  int // zeros in a row while undecided
	held    int // ones held back in raw mode
	// raw mode's end detection: only zeros so far (TCF), a page's RTC
	// seen; the EOLs in a row, with the zeros and bits since the last
	eols, zrun, eolGap int
	onlyZeros, rtc     bool
	// lost page data (Core.lost): the bits since the last EOL, the
	// rows' average length, whether the next row's length is unknown
	// (it ran into a gap); the bits of a gap still to drop, the bits
	// dropped so far, the rows owed (fractions carried from gap to gap);
	// whether the data delivered next carries a guess.
	rowBits   int
	avgRow    float64
	rowSkewed bool
	drop      int
	dropped   int
	owed      float64
	uncertain bool
	// an image carrier whose training failed (failedUp): how long it has
	// lasted without V.21 flags, when to say it is there again, whether
	// it was said (keptUp).
	failedUp  bool
	failedFor int
	keepAt    int
	keptUp    bool
	octet     byte
	nbit      int
	data      []byte // octets of this block

	events []t30.Event
	hung   bool
	stats  Stats
}

type imageRx interface {
	Process(samples []int16)
	Reset()
	Trained() bool
	SignalQuality() float64
	Power() float64
	CarrierOffset() float64
}

// NewCore returns a modem core; cfg may be nil.
func NewCore(cfg *Config) *Core {
	c := &Core{}
	if cfg != nil {
		c.cfg = *cfg
	}
	if c.cfg.CEDDelay == 0 {
		c.cfg.CEDDelay = t30.CEDDelay
	}
	v21Level := c.cfg.TxLevel
	if v21Level == 0 {
		v21Level = -13
	}
	c.v21tx = v21.NewTransmitter(v21.TxConfig{Level: v21Level})
	c.v21rx = v21.NewReceiver()
	c.det = tone.NewDetector(tone.DetConfig{})
	c.hdlcDec = hdlc.NewDecoder(hdlc.DecoderConfig{})
	return c
}

// Stats returns the counts and the last receive measurements.
func (c *Core) Stats() Stats { return c.stats }

func checkSpeed(s t30.Speed) error {
	switch s.Modulation() {
	case t30.V27ter, t30.V29, t30.V17:
		return nil
	}
	return ErrSpeed
}

func (c *Core) push(j job) error {
	if c.hung {
		return ErrClosed
	}
	c.queue = append(c.queue, j)
	return nil
}

// SendTone queues CNG (0.5 s of 1100 Hz; the session repeats it) or CED
// (after CEDDelay of silence, 3 s of 2100 Hz).
func (c *Core) SendTone(t t30.Tone) error { return c.push(job{kind: jobTone, tone: t}) }

// SendFrames queues an HDLC burst: at V.21 with the 1 s preamble when s is
// SpeedNone, else at the image modem after its training and 200 ms of
// flags (ECM phase C).
func (c *Core) SendFrames(s t30.Speed, frames [][]byte) error {
	if s != t30.SpeedNone {
		if err := checkSpeed(s); err != nil {
			return err
		}
	}
	fs := make([][]byte, len(frames))
	for i, f := range frames {
		fs[i] = append([]byte(nil), f...)
		if s != t30.SpeedNone || len(f) < 3 {
			continue
		}
		switch t30.FCF(f[2] & 0xfe) {
		case t30.FCFCTC:
			// After CTC the image modem trains long again (T.30 Annex A).
			c.v17TCF = t30.SpeedNone
		case t30.FCFPPR, t30.FCFCTR:
			c.asked = true
		case t30.FCFRNR:
		default:
			c.asked = false
		}
	}
	return c.push(job{kind: jobFrames, speed: s, frames: fs})
}

// SendTCF queues the training check: the image modem's training, then d
// of zeros.
func (c *Core) SendTCF(s t30.Speed, d time.Duration) error {
	if err := checkSpeed(s); err != nil {
		return err
	}
	return c.push(job{kind: jobTCF, speed: s, dur: d})
}

// SendImage queues non-ECM page data (line bit order: the first bit on
// the line is the least significant bit of the first octet).
func (c *Core) SendImage(s t30.Speed, data []byte) error {
	if err := checkSpeed(s); err != nil {
		return err
	}
	return c.push(job{kind: jobImage, speed: s, data: data})
}

// Receive sets what to listen for: V.21 always, and the image modem at s
// unless s is SpeedNone.
func (c *Core) Receive(s t30.Speed) error {
	if c.hung {
		return ErrClosed
	}
	if s != t30.SpeedNone {
		if err := checkSpeed(s); err != nil {
			return err
		}
	}
	c.listen = s
	return nil
}

// Preempt cuts the signal being sent short; its EventSendDone follows at
// the next Process.
func (c *Core) Preempt() error {
	if c.cur != nil {
		c.finishJob()
	}
	return nil
}

// Hangup stops sending and receiving.
func (c *Core) Hangup() error {
	c.hung = true
	c.queue, c.cur = nil, nil
	return nil
}

// Hungup reports whether Hangup was called.
func (c *Core) Hungup() bool { return c.hung }

// Busy reports whether a signal is queued or being sent.
func (c *Core) Busy() bool { return c.cur != nil || len(c.queue) > 0 }

// Poll returns the events of the last Process calls and forgets them. The
// slice is valid until the next Process.
func (c *Core) Poll() []t30.Event {
	ev := c.events
	c.events = c.events[:0]
	return ev
}

func (c *Core) emit(e t30.Event) { c.events = append(c.events, e) }

// Process handles one block: rx is what the line brought (any length),
// tx is filled with what to send (the same length or another). A nil rx
// says the block was lost (a missing RTP packet): the receivers skip it
// rather than hear silence. 20 ms is a whole number of symbols and carrier
// cycles of every fax modem (V.29: 48 symbols of 1700 Hz, 34 cycles;
// V.27ter 4800: 32 symbols of 1800 Hz, 36 cycles; V.21: 6 bits), so a
// trained receiver keeps its timing and phase and loses only the block's
// bits (one ECM frame, a few non-ECM rows) instead of its carrier.
func (c *Core) Process(rx, tx []int16) {
	c.stats.Samples += int64(len(tx))
	wasSending := c.sending
	c.transmit(tx)
	if c.hung {
		return
	}
	// Half duplex, as fax machines are: while we talk we do not listen
	// (what comes back is our own echo).
	if c.sending || wasSending {
		if !wasSending {
			c.resetRx()
		}
		return
	}
	if rx != nil {
		c.receive(rx)
	} else {
		c.lost(len(tx))
	}
}

// ---- transmit ----

func (c *Core) transmit(out []int16) {
	c.sending = false
	for len(out) > 0 {
		if c.hung {
			clear(out)
			return
		}
		if c.cur == nil {
			if len(c.queue) == 0 {
				clear(out)
				return
			}
			j := c.queue[0]
			c.queue = c.queue[1:]
			c.cur = &j
			c.started = false
			c.gap = samples(t30.SignalGap)
			if j.kind == jobTone && j.tone == t30.ToneCED {
				c.gap = samples(c.cfg.CEDDelay)
			} else if j.kind == jobTone {
				c.gap = 0
			}
		}
		if c.gap > 0 {
			n := min(c.gap, len(out))
			clear(out[:n])
			c.gap -= n
			out = out[n:]
			continue
		}
		if !c.started {
			c.startJob()
		}
		n := c.produce(out)
		if n > 0 {
			c.sending = true
		}
		out = out[n:]
		if c.cur != nil && len(out) > 0 {
			// The signal ended inside this block.
			c.finishJob()
		}
	}
}

func (c *Core) startJob() {
	c.started = true
	j := c.cur
	lvl := c.cfg.TxLevel
	switch j.kind {
	case jobTone:
		k, d := tone.CNG, t30.CNGOn
		if j.tone == t30.ToneCED {
			k, d = tone.CED, t30.CEDDuration
			if c.cfg.ANSam {
				k = tone.ANSamPR
			}
		}
		c.toneGen = tone.NewGenerator(k, tone.GenConfig{Duration: d})
	case jobFrames:
		if j.speed == t30.SpeedNone {
			c.v21tx.Reset()
			_ = c.v21tx.Preamble(t30.V21Preamble)
			for _, f := range j.frames {
				_ = c.v21tx.Frame(f)
			}
			_ = c.v21tx.End()
			return
		}
		c.enc.Reset()
		_ = c.enc.Flags(int(int64(j.speed.BitRate()) * int64(t30.ECMFlags) / int64(time.Second) / 8))
		c.frameQ = j.frames
		c.img = newImageTx(j.speed, lvl, c.v17TCF == j.speed, c.hdlcBit)
	case jobTCF:
		c.zeros = int(int64(j.speed.BitRate()) * int64(j.dur) / int64(time.Second))
		// TCF always has the long training, the pages after it the short one.
		c.v17TCF = t30.SpeedNone
		if j.speed.Modulation() == t30.V17 {
			c.v17TCF = j.speed
		}
		c.img = newImageTx(j.speed, lvl, false, func() int {
			if c.zeros == 0 {
				return v29.EndOfData
			}
			c.zeros--
			return 0
		})
	case jobImage:
		c.bits, c.bitPos = j.data, 0
		c.img = newImageTx(j.speed, lvl, c.v17TCF == j.speed, func() int {
			if c.bitPos >= 8*len(c.bits) {
				return v29.EndOfData
			}
			b := int(c.bits[c.bitPos>>3]>>(c.bitPos&7)) & 1
			c.bitPos++
			return b
		})
	}
}

// hdlcBit feeds the image modem from the HDLC encoder, queuing frames as
// the encoder makes room.
func (c *Core) hdlcBit() int {
	for len(c.frameQ) > 0 && c.enc.Pending() < 4 {
		if c.enc.Frame(c.frameQ[0]) != nil {
			break
		}
		c.frameQ = c.frameQ[1:]
		if len(c.frameQ) == 0 {
			_ = c.enc.End()
		}
	}
	if c.frameQ == nil && c.enc.Idle() {
		// No frames at all.
		_ = c.enc.End()
	}
	b := c.enc.NextBit()
	if b < 0 {
		return v29.EndOfData
	}
	return b
}

// newImageTx returns the image modem's transmitter; short asks V.17 for
// its short training (the pages after a long-trained TCF at that speed).
func newImageTx(s t30.Speed, level float64, short bool, get func() int) imageTx {
	if s.Modulation() == t30.V17 {
		t, err := v17.NewTx(v17.TxConfig{Rate: s.BitRate(), Level: level, ShortTrain: short, GetBit: get})
		if err != nil {
			panic(err) // checkSpeed let only valid rates in
		}
		return t
	}
	if s.Modulation() == t30.V29 {
		t, err := v29.NewTx(v29.TxConfig{Rate: s.BitRate(), Level: level, GetBit: get})
		if err != nil {
			panic(err) // checkSpeed let only valid rates in
		}
		return t
	}
	t, err := v27ter.NewTx(v27ter.TxConfig{Rate: s.BitRate(), Level: level, GetBit: func() int {
		b := get()
		if b == v29.EndOfData {
			return v27ter.EndOfData
		}
		return b
	}})
	if err != nil {
		panic(err)
	}
	return t
}

// produce writes the current signal into out and returns how many
// samples it wrote; fewer than len(out) means the signal ended.
func (c *Core) produce(out []int16) int {
	j := c.cur
	switch {
	case j.kind == jobTone:
		n := c.toneGen.Process(out)
		if c.toneGen.Done() {
			return n
		}
		return len(out)
	case j.kind == jobFrames && j.speed == t30.SpeedNone:
		n := c.v21tx.Process(out)
		if c.v21tx.Done() {
			return n
		}
		return len(out)
	default:
		return c.img.Modulate(out)
	}
}

func (c *Core) finishJob() {
	c.cur, c.img, c.toneGen, c.frameQ, c.bits = nil, nil, nil, nil, nil
	c.v21tx.Reset()
	c.emit(t30.Event{Kind: t30.EventSendDone})
}

// ---- receive ----

func (c *Core) resetRx() {
	c.failedUp, c.keptUp = false, false
	c.v21rx.Reset()
	c.det.Reset()
	c.v21Pre = false
	if c.rx != nil {
		c.rx.Reset()
	}
	c.endImage(false)
}

func (c *Core) receive(in []int16) {
	for _, e := range c.det.Process(in) {
		if !e.On {
			continue
		}
		switch e.Tone {
		case tone.CNG:
			c.emit(t30.Event{Kind: t30.EventCNG})
		case tone.CED, tone.ANSPR, tone.ANSam, tone.ANSamPR:
			c.emit(t30.Event{Kind: t30.EventCED})
		}
	}
	if c.listen != c.rxSpeed {
		c.endFailed()
		c.rxSpeed = c.listen
		c.rx = nil
		c.endImage(false)
		if c.listen != t30.SpeedNone {
			c.rx = c.newImageRx(c.listen)
		}
	}
	if c.rx != nil {
		c.data = c.data[:0]
		c.rx.Process(in)
		c.keepFailed(len(in))
		if c.trained && (c.rxMode == 1 || c.rxMode == 2) {
			c.measure()
		}
		c.flushData()
	}
	imageBusy := c.trained
	for _, e := range c.v21rx.Process(in) {
		if imageBusy {
			continue // a V.29 or V.27ter signal can look like V.21 in part
		}
		switch e.Kind {
		case v21.Preamble:
			c.endFailed() // V.21, not an image signal
			if !c.v21Pre {
				c.v21Pre = true
				c.emit(t30.Event{Kind: t30.EventCarrierUp, Speed: t30.SpeedNone})
			}
		case v21.FrameOK:
			c.stats.FramesOK++
			c.emit(t30.Event{Kind: t30.EventFrame, Data: append([]byte(nil), e.Frame...)})
		case v21.FrameBad, v21.Abort:
			// A damaged frame counts only inside a V.21 burst (after its
			// preamble): other signals (an image modem's training) can
			// make the V.21 receiver find "frames" of noise.
			if !c.v21Pre || e.Kind == v21.FrameBad && len(e.Frame) == 0 {
				continue
			}
			c.stats.FramesBad++
			c.emit(t30.Event{Kind: t30.EventFrameBad})
		case v21.CarrierDown:
			if c.v21Pre {
				c.v21Pre = false
				c.emit(t30.Event{Kind: t30.EventCarrierDown})
			}
		}
	}
}

// An image carrier whose training failed (a packet lost in the training,
// or a line too poor) still carries a page or an ECM block the far end
// thinks sent; the session, hearing nothing, would end the call when T2
// (6 s) ran out in the middle of a long one, and never hear the PPS or
// post-page command after it. So once such a carrier has lasted
// keepFirst without V.21 flags (a V.21 command's 1 s preamble shows its
// flags within 0.1 s), the Core reports it with EventCarrierUp at the
// image speed, again every keepEvery while it lasts (for keepMax at
// most), and EventCarrierDown when it drops or V.21 flags come: the
// session waits, and answers the command after the burst (PPR for all of
// an ECM block, RTN for a non-ECM page that brought no data).
const (
	keepFirst = 1500 * time.Millisecond
	keepEvery = 3 * time.Second
	keepMax   = 60 * time.Second
)

// keepFailed follows a failed image carrier for n more samples.
func (c *Core) keepFailed(n int) {
	if !c.failedUp || c.trained {
		return
	}
	c.failedFor += n
	if c.failedFor >= c.keepAt && c.failedFor <= samples(keepMax) {
		c.keepAt += samples(keepEvery)
		c.keptUp = true
		c.emit(t30.Event{Kind: t30.EventCarrierUp, Speed: c.rxSpeed})
	}
}

// endFailed ends a failed image carrier.
func (c *Core) endFailed() {
	if c.failedUp && c.keptUp {
		c.emit(t30.Event{Kind: t30.EventCarrierDown})
	}
	c.failedUp, c.keptUp = false, false
}

// carrierOn is the image receivers' carrier threshold, dBm0 (off 3 dB
// below): T.30 receivers work down to −43 dBm0, and a line's noise floor
// must stay below the off threshold or the receiver never sees a carrier
// start.
const carrierOn = -43

func (c *Core) newImageRx(s t30.Speed) imageRx {
	status := func(up, down, ok, failed bool) {
		switch {
		case ok:
			c.trained = true
			c.stats.Trainings++
			c.stats.LastSpeed = c.rxSpeed
			c.rxMode, c.rxBits, c.held, c.nbit, c.octet = 0, 0, 0, 0, 0
			c.drop, c.dropped, c.uncertain = 0, 0, false
			c.failedUp, c.keptUp = false, false
			c.hdlcDec.Reset()
			c.measure()
			c.emit(t30.Event{Kind: t30.EventCarrierUp, Speed: c.rxSpeed})
		case failed:
			c.stats.TrainingFailed++
			c.failedUp, c.failedFor, c.keepAt, c.keptUp = true, 0, samples(keepFirst), false
		case down:
			c.endFailed()
			c.endImage(true)
		}
	}
	if s.Modulation() == t30.V17 {
		r, _ := v17.NewRx(v17.RxConfig{Rate: s.BitRate(), CarrierOn: carrierOn, PutBit: c.putBit, Status: func(st v17.Status) {
			status(st == v17.CarrierUp, st == v17.CarrierDown, st == v17.TrainingSucceeded, st == v17.TrainingFailed)
		}})
		return v17Rx{r}
	}
	if s.Modulation() == t30.V29 {
		r, _ := v29.NewRx(v29.RxConfig{Rate: s.BitRate(), CarrierOn: carrierOn, PutBit: c.putBit, Status: func(st v29.Status) {
			status(st == v29.CarrierUp, st == v29.CarrierDown, st == v29.TrainingSucceeded, st == v29.TrainingFailed)
		}})
		return r
	}
	r, _ := v27ter.NewRx(v27ter.RxConfig{Rate: s.BitRate(), CarrierOn: carrierOn, PutBit: c.putBit, Status: func(st v27ter.Status) {
		status(st == v27ter.CarrierUp, st == v27ter.CarrierDown, st == v27ter.TrainingSucceeded, st == v27ter.TrainingFailed)
	}})
	return r
}

// v17Rx is the V.17 receiver between T.30 signals: after a successful
// training it expects the short training of the pages that follow TCF
// (and still takes a long one: a new TCF, or spandsp after CTC).
type v17Rx struct{ *v17.Rx }

func (r v17Rx) Reset() { r.Restart(true) }

// What follows an image modem's training is told apart by its first bits:
// ECM's 200 ms of HDLC flags (four in a row make the decoder report
// framing), or a run of eight zeros, which TCF (all zeros) and a non-ECM
// page (it opens with an EOL, eleven zeros and a one) begin with and flags
// never contain. The bits before either (V.27ter delivers the end of its
// training's scrambled ones) are dropped, so that TCF and page data arrive
// aligned as they were sent.
const zeroRun = 8

// tailOnes is the run of ones taken as the end of TCF or page data: T.4
// MH and MR code words never make one, and the shortest closing run (32
// V.27ter 2400 symbols) has 64.
const tailOnes = 40

func (c *Core) putBit(b int) {
	if !c.trained {
		return
	}
	switch c.rxMode {
	case 0:
		if c.hdlcDec.PutBit(b) == hdlc.FramingOK {
			c.rxMode = 2
			return
		}
		if b != 0 {
			c.rxBits = 0
			return
		}
		if c.rxBits++; c.rxBits == zeroRun {
			c.rxMode = 1
			c.onlyZeros, c.rtc, c.eols, c.zrun, c.eolGap = true, false, 0, zeroRun, 0
			c.rowBits, c.avgRow, c.rowSkewed, c.drop, c.dropped, c.owed = zeroRun, 0, false, 0, 0, 0
			for range zeroRun {
				c.rawBit(0)
			}
		}
	case 1:
		if c.drop > 0 {
			// The bits after a gap that the receiver had not yet decided
			// or decoded wrongly: dropped, and the gap's marker follows.
			c.dropped++
			if c.drop--; c.drop == 0 {
				c.markGap()
			}
			return
		}
		c.trackEOL(b)
		// Once the data can have ended (TCF: nothing but zeros so far; a
		// page: its RTC has gone by), ones are held back: a run of
		// tailOnes of them is the transmitter's closing ones (V.29 and
		// V.27ter send 32 symbols of scrambled ones after the data), and
		// what follows until the carrier is seen to drop is the noise of
		// the dying signal, which is not delivered. Before that, ones are
		// page data: T.4 MR codes a row like the one above it as a "1"
		// per changing element (V0), so a page has runs of ones as long
		// as a row has changes.
		if b != 0 && (c.onlyZeros || c.rtc) {
			if c.held++; c.held == tailOnes {
				c.rxMode = 3
				c.endImage(true)
			}
			return
		}
		if c.held > 0 || b != 0 {
			c.onlyZeros = false
		}
		for ; c.held > 0; c.held-- {
			c.rawBit(1)
		}
		c.rawBit(b)
	case 2:
		// Fifteen ones in a row are no frame and no flag: the closing
		// ones of the image modem; the dying carrier after them would
		// only make bad frames.
		if b != 0 {
			if c.held++; c.held == 15 {
				c.rxMode = 3
				c.endImage(true)
				return
			}
		} else {
			c.held = 0
		}
		switch c.hdlcDec.PutBit(b) {
		case hdlc.FrameOK:
			c.stats.FramesOK++
			if f := c.hdlcDec.Frame(); c.asked && len(f) > 2 && t30.FCF(f[2]&0xfe) == t30.FCFFCD {
				c.stats.FramesRepeated++
			}
			c.flushData()
			c.emit(t30.Event{Kind: t30.EventFrame, Data: append([]byte(nil), c.hdlcDec.Frame()...)})
		case hdlc.FrameBad, hdlc.TooLong:
			c.stats.FramesBad++
			c.flushData()
			c.emit(t30.Event{Kind: t30.EventFrameBad})
		}
	}
}

// A block lost on the way (Process with a nil rx) in the middle of
// non-ECM page data takes bitrate × 20 ms of bits with it, and the rows
// in them: the receiver skips the block and keeps its carrier, so the
// bits after it arrive as if they followed the ones before, and the T.4
// decoder, resynchronising at the next EOL, would deliver a page shorter
// by rows nobody counted (or splice two rows into one that decodes). So
// the gap is marked in the data, as a T.38 receiver marks lost packets
// (t38's markLoss, whose marker this is):
//
//	1 0000000001 (0000000 000000000001 0000000001) × k
//
// The leading 1 ends any run of zeros before the gap so that no EOL forms
// across it; 0000000001 (an MR tag of 0 and eight zeros before a one) is
// no MH or MR code, so the row in progress is bad; each fill and EOL
// starts one more bad row, the last of which runs into the data after the
// gap up to its first EOL. In MR the 2-D rows after it are bad too (the
// decoder conceals them up to the next 1-D row: their reference is lost).
//
// k is the number of EOLs the lost bits held, which nothing on the line
// tells: it is estimated from the rows' average length before the gap
// (fractions carried from gap to gap), and the data that carries the
// marker says so (t30.Event.Uncertain: the page's row count is a guess).
//
// The receiver's first decisions after the gap are wrong (its filters and
// equaliser still hold samples from before it, the V.17 trellis decoder
// decides 20 symbols late, and the descrambler needs 23 good bits), so
// those bits are dropped with the gap and the marker follows them.
// In TCF (nothing but zeros so far) they are dropped too, so that a lost
// packet does not fail the training check; after a page's RTC nothing is
// done.

// The parts of a gap's marker (see above).
const (
	gapJunk = "0000000001"
	gapFill = "0000000"
	gapEOL  = "000000000001"
)

// lost handles a block of n samples that never arrived.
func (c *Core) lost(n int) {
	if !c.trained || c.rxMode == 3 || c.rxMode == 2 {
		return // nothing heard, or ECM (the frame check finds the damage)
	}
	if c.rxMode == 0 {
		// The start of the data: whether TCF or a page, its first rows
		// may be gone without trace.
		c.uncertain = true
		return
	}
	if c.rtc {
		return
	}
	rate := c.rxSpeed.BitRate()
	g := int(int64(rate) * int64(n) / SampleRate)
	c.dropped += g
	c.drop = settleBits(c.rxSpeed)
	if !c.onlyZeros {
		c.stats.GapsMarked++
	}
}

// settleBits is how many bits a receiver at s decides wrongly after a
// gap: its filters' and equaliser's span (about 20 symbols), the V.17
// Viterbi decoder's decision depth (20 symbols), and the descrambler's 23
// bits.
func settleBits(s t30.Speed) int {
	syms := 20
	if s.Modulation() == t30.V17 {
		syms += 20
	}
	perSym := s.BitRate() / 2400 // V.17, V.29
	if s.Modulation() == t30.V27ter {
		perSym = 2
		if s.BitRate() == 4800 {
			perSym = 3
		}
	}
	return syms*perSym + 24
}

// markGap puts the marker of the bits dropped since the gap began into
// the data (see lost).
func (c *Core) markGap() {
	c.drop = 0
	dropped := c.dropped
	c.dropped = 0
	if c.onlyZeros {
		// TCF, or a page's first zeros: no rows yet, but a page's first
		// EOL may have gone.
		c.uncertain = true
		return
	}
	k := 0
	if c.avgRow > 0 {
		c.owed += float64(dropped) / c.avgRow
		k = min(int(c.owed+0.5), 4096)
		c.owed -= float64(k)
	}
	put := func(bits string) {
		for i := 0; i < len(bits); i++ {
			c.rawBit(int(bits[i] - '0'))
		}
	}
	put("1" + gapJunk)
	for range k {
		put(gapFill + gapEOL + gapJunk)
	}
	c.stats.RowsMarked += k
	c.uncertain = true
	// The marker ends with a one and no EOL of its own in a row; the row
	// after it has an unknown length.
	c.zrun, c.eols, c.eolGap, c.rowBits, c.rowSkewed = 0, 0, 2, 0, true
}

// rtcEOLs is how many EOLs in a row are taken as a page's RTC (T.4
// 4.1.4: six; allowing for damage to some of them). No two EOLs follow
// each other elsewhere: every coded row has at least one code word.
const rtcEOLs = 3

// trackEOL counts consecutive EOLs (eleven or more zeros, then a one; in
// MR each followed by its one-bit tag) in raw data.
func (c *Core) trackEOL(b int) {
	c.rowBits++
	if b == 0 {
		c.zrun++
		return
	}
	if c.zrun >= 11 {
		// A row ended: learn its length (not across a gap's marker).
		if !c.rowSkewed {
			if c.avgRow == 0 {
				c.avgRow = float64(c.rowBits)
			} else {
				c.avgRow += (float64(c.rowBits) - c.avgRow) / 8
			}
		}
		c.rowBits, c.rowSkewed = 0, false
		// An EOL: consecutive with the last one if at most a tag bit lay
		// between them.
		if c.eolGap <= 1 && c.eols > 0 {
			c.eols++
		} else {
			c.eols = 1
		}
		c.eolGap = 0
		if c.eols >= rtcEOLs {
			c.rtc = true
		}
	} else {
		c.eolGap += c.zrun + 1
		if c.eolGap > 1 {
			c.eols = 0
		}
	}
	c.zrun = 0
}

func (c *Core) rawBit(b int) {
	c.octet |= byte(b&1) << c.nbit
	c.nbit++
	if c.nbit == 8 {
		c.data = append(c.data, c.octet)
		c.octet, c.nbit = 0, 0
	}
}

func (c *Core) flushData() {
	if len(c.data) > 0 {
		c.emit(t30.Event{Kind: t30.EventData, Data: append([]byte(nil), c.data...), Uncertain: c.uncertain})
		c.data = c.data[:0]
		c.uncertain = false
	}
}

// timer is an image receiver that measures the far end's symbol clock.
type timer interface {
	TimingOffset() float64
}

func (c *Core) measure() {
	c.stats.SNR = c.rx.SignalQuality()
	c.stats.Level = c.rx.Power()
	c.stats.CarrierOffset = c.rx.CarrierOffset()
	if t, ok := c.rx.(timer); ok {
		c.stats.TimingOffset, c.stats.TimingKnown = t.TimingOffset(), true
	}
}

// endImage closes an image-modem reception: the carrier dropped (report)
// or the receiver was reset.
func (c *Core) endImage(report bool) {
	if !c.trained {
		return
	}
	if c.drop > 0 {
		c.markGap()
	}
	c.trained = false
	c.flushData()
	if report {
		c.emit(t30.Event{Kind: t30.EventCarrierDown})
	}
}
