package t30

import (
	"fmt"
	"time"
)

// EventKind says what happened on the line (an input to the Session).
type EventKind uint8

// Event kinds. A Modem produces all but EventTimer and EventAbort.
const (
	EventNone        EventKind = iota
	EventFrame                 // an HDLC frame arrived with a good FCS (Data: frame without FCS)
	EventFrameBad              // an HDLC frame arrived with a bad FCS, or was abandoned mid-way
	EventCarrierUp             // a carrier (Speed: image modem, or SpeedNone for V.21) started
	EventCarrierDown           // the carrier stopped (end of TCF, page data, or HDLC burst)
	EventData                  // non-ECM image or TCF data (Data), in line bit order
	EventSendDone              // the modem finished the last Send* it was given
	EventHangup                // the remote end or the transport went away
	EventTimer                 // the session deadline passed (drivers may use Session.Tick)
	EventAbort                 // the local application wants to stop the call

	// What the modem heard that is not a frame or a carrier (optional: a
	// modem that cannot tell reports nothing). The driver passes them to
	// DriverConfig.OnSignal too, so call control can act on them (switch
	// an audio call to T.38 on CED or V.21 flags, for instance).
	EventCNG    // the calling tone (CNG) from the far end
	EventCED    // the answer tone (CED, ANS or ANSam) from the far end
	EventSignal // some other sign of the far end (a T.38 packet, energy on the line)
)

var eventNames = [...]string{"none", "frame", "frame-bad", "carrier-up", "carrier-down", "data",
	"send-done", "hangup", "timer", "abort", "CNG", "CED", "signal"}

func (k EventKind) String() string {
	if int(k) < len(eventNames) {
		return eventNames[k]
	}
	return fmt.Sprintf("EventKind(%d)", uint8(k))
}

// Event is one input to a Session. Data is only read during Handle and
// copied if kept.
type Event struct {
	Kind  EventKind
	Data  []byte
	Speed Speed // EventCarrierUp: the image modem, SpeedNone for V.21
	// Uncertain (EventData, non-ECM page data): page data was lost on
	// the way and the rows in its place are a guess, so the page's row
	// count is uncertain (PageQuality.RowsUncertain).
	Uncertain bool
}

// ActionKind says what the session wants the physical layer to do.
type ActionKind uint8

// Action kinds. Every Send* action is answered by exactly one EventSendDone.
const (
	ActionNone       ActionKind = iota
	ActionSendTone              // Tone: CNG (calling) or CED (answering)
	ActionSendFrames            // Frames at V.21 (Speed == SpeedNone) or, for ECM, at the image modem
	ActionSendTCF               // 1.5 s of zeros at Speed (Duration)
	ActionSendImage             // non-ECM page data at Speed (Data, already filled to the minimum scan line time)
	ActionReceive               // listen for V.21 frames and the image modem at Speed
	ActionHangup                // the call is over; release the line
)

var actionNames = [...]string{"none", "send-tone", "send-frames", "send-tcf", "send-image", "receive", "hangup"}

func (k ActionKind) String() string {
	if int(k) < len(actionNames) {
		return actionNames[k]
	}
	return fmt.Sprintf("ActionKind(%d)", uint8(k))
}

// Tone is a T.30 call tone.
type Tone uint8

// Tones.
const (
	ToneNone Tone = iota
	ToneCNG       // calling tone, 1100 Hz
	ToneCED       // called terminal identification, 2100 Hz
)

func (t Tone) String() string {
	switch t {
	case ToneNone:
		return "none"
	case ToneCNG:
		return "CNG"
	case ToneCED:
		return "CED"
	}
	return fmt.Sprintf("Tone(%d)", uint8(t))
}

// Action is one output of a Session.
type Action struct {
	Kind     ActionKind
	Frames   []Frame // ActionSendFrames: sent as one burst, the last with Final set
	Speed    Speed
	Data     []byte // ActionSendImage; owned by the receiver of the action
	Duration time.Duration
	Tone     Tone
	// Preempt marks a send that must not wait behind a signal still going
	// out (the DCN of an aborted call): the driver asks a Preempter modem
	// to cut that signal short first. Modems need not look into frames to
	// find it.
	Preempt bool
}

func (a Action) String() string {
	switch a.Kind {
	case ActionSendFrames:
		s := "send"
		if a.Speed != SpeedNone {
			s += " @" + a.Speed.String()
		}
		for _, f := range a.Frames {
			s += " " + f.FCF.String()
		}
		if a.Preempt {
			s += " (preempting)"
		}
		return s
	case ActionSendTCF:
		return fmt.Sprintf("send TCF @%s %v", a.Speed, a.Duration)
	case ActionSendImage:
		return fmt.Sprintf("send image @%s %d octets", a.Speed, len(a.Data))
	case ActionReceive:
		return fmt.Sprintf("receive @%s", a.Speed)
	case ActionSendTone:
		return "send " + a.Tone.String()
	}
	return a.Kind.String()
}

// Modem is the physical layer a Session runs over: a T.38 terminal
// (package t38), or one day audio modems. All methods are called from the
// driver goroutine only; received signals are delivered on Events.
//
// A Modem must:
//   - answer every Send* with exactly one EventSendDone, in order, after the
//     signal has been fully handed to the line (T.30 timers start then);
//   - insert the T.30 gaps (SignalGap between signals) and the V.21
//     preamble (V21Preamble of flags) itself, with the times in timing.go;
//   - deliver each received HDLC frame whole with its FCS verdict: a frame
//     whose end never arrived (carrier lost, a new preamble, fcs-BAD) is
//     reported as EventFrameBad and its octets are never joined to the next
//     frame (FrameAssembler does this for modems that receive octets);
//   - report image data and carrier changes as they happen: EventCarrierUp
//     with SpeedNone when V.21 flags (a preamble) begin, with the image
//     modem's speed when its training is heard;
//   - optionally, report tones and other signs of the far end (EventCNG,
//     EventCED, EventSignal): the answering session repeats DIS at once
//     when it hears the caller, and call control learns what is on the line.
//
// Optional interfaces add to it without changing it: Preempter (cut a
// signal short for a preempting action).
type Modem interface {
	SendTone(t Tone) error
	// SendFrames sends frames (encoded, without FCS) in one HDLC burst, at
	// V.21 when s is SpeedNone or at the image modem s (ECM phase C).
	SendFrames(s Speed, frames [][]byte) error
	// SendTCF sends the training check: d of zeros at s.
	SendTCF(s Speed, d time.Duration) error
	// SendImage sends non-ECM page data at s.
	SendImage(s Speed, data []byte) error
	// Receive tells the modem what to listen for next: V.21 frames always,
	// and the image modem at s when s is not SpeedNone.
	Receive(s Speed) error
	// Events delivers what the modem received or finished.
	Events() <-chan Event
	// Hangup ends the call.
	Hangup() error
}

// Preempter is an optional Modem interface. Preempt cuts short the signal
// being sent, if any: its remaining data is dropped, its end is signalled
// as usual (and its EventSendDone still comes), and the next Send* starts
// at once. The driver calls it before carrying out an Action with Preempt
// set. A Modem without it sends the preempting action after the signals
// queued before it.
type Preempter interface {
	Preempt() error
}

// FrameAssembler turns a stream of received HDLC octets and frame-end
// verdicts into whole frames, discarding any frame that did not end with a
// good FCS. Modems (such as a T.38 terminal receiving hdlc-data,
// hdlc-fcs-OK/BAD and hdlc-sig-end) use it so that a frame abandoned
// mid-transmission is never glued onto the next one.
type FrameAssembler struct {
	buf []byte
	max int
}

// NewFrameAssembler returns an assembler that drops frames longer than max
// octets (0 means 2 + 3 + 260 octets).
func NewFrameAssembler(max int) *FrameAssembler {
	if max <= 0 {
		max = 3 + maxFIF + 2
	}
	return &FrameAssembler{max: max}
}

// Write adds received octets to the frame in progress.
func (a *FrameAssembler) Write(p []byte) {
	if len(a.buf) > a.max {
		return
	}
	a.buf = append(a.buf, p...)
}

// End closes the frame in progress with the FCS verdict and returns the
// event to deliver. An empty frame yields EventNone.
func (a *FrameAssembler) End(fcsOK bool) Event {
	defer a.Abandon()
	if len(a.buf) == 0 {
		return Event{}
	}
	if !fcsOK || len(a.buf) > a.max {
		return Event{Kind: EventFrameBad}
	}
	return Event{Kind: EventFrame, Data: append([]byte(nil), a.buf...)}
}

// Abandon discards the frame in progress (carrier loss, a new preamble,
// sig-end without FCS). It reports whether there was one.
func (a *FrameAssembler) Abandon() bool {
	had := len(a.buf) > 0
	a.buf = a.buf[:0]
	return had
}
