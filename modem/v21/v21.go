package v21

import (
	"time"

	"github.com/faxkit/faxkit/modem/hdlc"
)

// EventKind is what the receiver reports.
type EventKind uint8

const (
	CarrierUp   EventKind = iota + 1 // a V.21 channel 2 carrier started
	CarrierDown                      // it stopped
	Preamble                         // consecutive HDLC flags: a T.30 preamble
	FrameOK                          // a frame with a good FCS
	FrameBad                         // a frame with a bad FCS
	Abort                            // a frame was aborted
)

var kindNames = [...]string{"", "carrier-up", "carrier-down", "preamble", "frame-ok", "frame-bad", "abort"}

// String names the event kind.
func (k EventKind) String() string {
	if k > 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "EventKind(" + itoa(int(k)) + ")"
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

// Event is one thing the receiver found.
type Event struct {
	Kind EventKind
	// At is the index, counted from the last Reset, of the sample at which
	// the event was recognised.
	At int64
	// Frame is the frame's octets without FCS, for FrameOK and FrameBad.
	// It aliases the receiver's memory: valid until the next Process.
	Frame []byte
}

// maxEvents bounds the events of one Process call: a frame takes at least
// 48 bits (160 ms), so only blocks longer than about a second could fill
// it; events beyond it are counted in Stats.Dropped.
const maxEvents = 16

// RxStats counts what the receiver has seen since Reset.
type RxStats struct {
	FramesOK, FramesBad, Aborts, Dropped int
}

// Receiver is V.21 channel 2's receiver with HDLC deframing: T.30's
// control-frame receiver. It allocates only in NewReceiver.
type Receiver struct {
	demod  *Demodulator
	dec    *hdlc.Decoder
	events [maxEvents]Event
	frames [maxEvents][hdlc.MaxFrame]byte
	nev    int
	stats  RxStats
}

// NewReceiver returns a receiver.
func NewReceiver() *Receiver {
	return &Receiver{demod: NewDemodulator(), dec: hdlc.NewDecoder(hdlc.DecoderConfig{})}
}

// Reset makes the receiver ready for a new call.
func (r *Receiver) Reset() {
	r.demod.Reset()
	r.dec.Reset()
	r.nev, r.stats = 0, RxStats{}
}

// Carrier reports whether a carrier is present.
func (r *Receiver) Carrier() bool { return r.demod.Carrier() }

// Level returns the received signal level in dBm0.
func (r *Receiver) Level() float64 { return r.demod.Level() }

// Stats returns the counts since Reset.
func (r *Receiver) Stats() RxStats { return r.stats }

// Process takes a block of 8 kHz samples and returns what it found. The
// slice and the frames in it are valid until the next call.
func (r *Receiver) Process(in []int16) []Event {
	r.nev = 0
	r.demod.Process(in, (*sink)(r))
	return r.events[:r.nev]
}

func (r *Receiver) add(k EventKind, frame []byte) {
	if r.nev == maxEvents {
		r.stats.Dropped++
		return
	}
	e := Event{Kind: k, At: r.demod.Samples() - 1}
	if frame != nil {
		n := copy(r.frames[r.nev][:], frame)
		e.Frame = r.frames[r.nev][:n]
	}
	r.events[r.nev] = e
	r.nev++
}

// sink adapts the Receiver to BitSink without exporting the methods.
type sink Receiver

func (s *sink) PutBit(bit int) {
	r := (*Receiver)(s)
	switch r.dec.PutBit(bit) {
	case hdlc.FramingOK:
		r.add(Preamble, nil)
	case hdlc.FrameOK:
		r.stats.FramesOK++
		r.add(FrameOK, r.dec.Frame())
	case hdlc.FrameBad:
		r.stats.FramesBad++
		r.add(FrameBad, r.dec.Frame())
	case hdlc.Abort:
		r.stats.Aborts++
		r.add(Abort, nil)
	}
}

func (s *sink) Carrier(up bool) {
	r := (*Receiver)(s)
	if up {
		r.dec.Reset()
		r.add(CarrierUp, nil)
	} else {
		r.add(CarrierDown, nil)
	}
}

// TxConfig configures a Transmitter. The zero value works.
type TxConfig struct {
	// Level is the transmit level in dBm0; 0 means −13 dBm0 (fax machines
	// send between −9 and −15; spandsp's default is −14).
	Level float64
}

// Transmitter is V.21 channel 2's transmitter with HDLC framing. Queue a
// preamble and frames, then End; Process produces the signal, starting
// the carrier with the first queued bit and stopping it after End's
// closing flag. It allocates only in NewTransmitter.
type Transmitter struct {
	mod Modulator
	enc hdlc.Encoder
}

// NewTransmitter returns a transmitter configured by c.
func NewTransmitter(c TxConfig) *Transmitter {
	if c.Level == 0 {
		c.Level = -13
	}
	return &Transmitter{mod: NewModulator(c.Level)}
}

// Reset drops anything queued and stops the carrier.
func (t *Transmitter) Reset() {
	t.mod.Reset()
	t.enc.Reset()
}

// again starts a new transmission when queuing after the last one ended.
func (t *Transmitter) again() {
	if t.mod.Ended() {
		t.Reset()
	}
}

// Preamble queues flags lasting d: T.30 clause 5.3.1 sends 1 s ± 15 % of
// flags before the first frame of a transmission at V.21.
func (t *Transmitter) Preamble(d time.Duration) error {
	t.again()
	n := int((d*BitRate/time.Second + 7) / 8)
	return t.enc.Flags(n)
}

// Frame queues a frame (without FCS; the transmitter appends it).
func (t *Transmitter) Frame(f []byte) error {
	t.again()
	return t.enc.Frame(f)
}

// Abort queues an HDLC abort.
func (t *Transmitter) Abort() error {
	t.again()
	return t.enc.Abort()
}

// End queues the end of the transmission: after the queued frames and a
// closing flag the carrier stops. Queuing anything after Done starts a
// new transmission.
func (t *Transmitter) End() error { return t.enc.End() }

// Active reports whether the transmitter has something to send or is
// sending.
func (t *Transmitter) Active() bool {
	return !t.mod.Ended() && (t.mod.on || !t.enc.Idle())
}

// Done reports whether the transmission has ended (End reached).
func (t *Transmitter) Done() bool { return t.mod.Ended() }

// Process fills out with the signal and returns the number of samples of
// signal in it; the rest is silence (nothing queued, or the end).
func (t *Transmitter) Process(out []int16) int {
	if !t.mod.on && t.enc.Idle() {
		clear(out)
		return 0
	}
	return t.mod.Modulate(out, &t.enc)
}
