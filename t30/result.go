package t30

import (
	"fmt"
	"log/slog"
	"time"
)

// Result is how a call ended. Its String is stable: operators and tests
// match on it.
type Result uint8

// Results.
const (
	ResultInProgress       Result = iota // the call has not ended
	ResultOK                             // every page was confirmed and the call released normally
	ResultNoAnswer                       // T1 expired: the called terminal never sent DIS
	ResultNoCommand                      // T1 expired: the calling terminal never sent a command after our DIS
	ResultIncompatible                   // no common modem, coding, width or resolution
	ResultNoDocument                     // polling asked, but nothing to poll on either side
	ResultTrainingFailed                 // TCF failed at every speed
	ResultRemoteDisconnect               // the remote sent DCN before the procedure ended
	ResultPageRejected                   // the receiver kept answering RTN
	ResultNoResponse                     // three commands got no valid response (T4)
	ResultTimeout                        // T2 expired waiting for the remote
	ResultECMFailure                     // ECM retransmission abandoned (EOR) or impossible
	ResultReceiverNotReady               // T5 expired while the receiver kept answering RNR
	ResultLocalAbort                     // the application aborted the call
	ResultCallDropped                    // the line went away before the procedure ended
	ResultProtocolError                  // the remote sent a frame that T.30 does not allow here
	ResultDocumentError                  // the page source or sink failed
)

// Deprecated names, kept because packages outside t30 (t38 and root
// tests) still use them: the identifiers now say what their strings say.
const (
	// Deprecated: use ResultRemoteDisconnect ("remote-disconnect").
	ResultRemoteDCN = ResultRemoteDisconnect
	// Deprecated: use ResultCallDropped ("call-dropped").
	ResultHangup = ResultCallDropped
)

var resultNames = [...]string{
	"in-progress", "ok", "no-answer", "no-command", "incompatible", "no-document",
	"training-failed", "remote-disconnect", "page-rejected", "no-response",
	"timeout", "ecm-failure", "receiver-not-ready", "local-abort", "call-dropped",
	"protocol-error", "document-error",
}

var resultText = [...]string{
	"call in progress",
	"call completed",
	"no answer: T1 expired waiting for DIS",
	"no command: T1 expired waiting for the caller",
	"remote terminal is not compatible",
	"no document to poll",
	"training failed at every speed",
	"remote terminal disconnected",
	"page rejected by the receiver (RTN)",
	"no response after three tries",
	"timed out waiting for the remote terminal (T2)",
	"ECM error correction failed",
	"receiver not ready: T5 expired",
	"aborted locally",
	"call dropped",
	"protocol error: unexpected frame",
	"page source or sink failed",
}

func (r Result) String() string {
	if int(r) < len(resultNames) {
		return resultNames[r]
	}
	return fmt.Sprintf("result(%d)", uint8(r))
}

// Text is a one-line human description.
func (r Result) Text() string {
	if int(r) < len(resultText) {
		return resultText[r]
	}
	return r.String()
}

// OK reports whether the call succeeded.
func (r Result) OK() bool { return r == ResultOK }

// Err returns nil for ResultOK and ResultInProgress, else a *ResultError.
func (r Result) Err() error {
	if r == ResultOK || r == ResultInProgress {
		return nil
	}
	return &ResultError{Result: r}
}

// ResultError is a failed T.30 result as an error.
type ResultError struct{ Result Result }

func (e *ResultError) Error() string { return "t30: " + e.Result.String() + ": " + e.Result.Text() }

// Is makes errors.Is(err, &ResultError{Result: x}) match on the result.
func (e *ResultError) Is(target error) bool {
	t, ok := target.(*ResultError)
	return ok && t.Result == e.Result
}

// Phase is a T.30 phase (T.30 2.2).
type Phase uint8

// Phases.
const (
	PhaseIdle Phase = iota
	PhaseA          // call establishment
	PhaseB          // pre-message procedure: identification, capabilities, training
	PhaseC          // message transmission
	PhaseD          // post-message procedure
	PhaseE          // call release
	PhaseDone       // the session has ended
)

func (p Phase) String() string {
	return [...]string{"idle", "A", "B", "C", "D", "E", "done", "?"}[min(int(p), 7)]
}

// Stats describe a call. RemoteIdent is PHI: LogValue redacts it.
type Stats struct {
	Pages            int // pages transferred and confirmed (MCF/RTP, or PPS-x answered MCF)
	PagesRejected    int // pages answered RTN (sent or received)
	Speed            Speed
	Compression      Compression
	Resolution       Resolution
	Width            PaperWidth
	ECM              bool
	ECMFrameSize     int
	BadRows          int // receive: bad rows over all accepted pages
	LongestBadRun    int // receive: longest run of bad rows on any page
	RemoteIdent      string
	RemoteVendor     string // T.35 country and provider code of the remote NSF, hex
	Retrains         int    // DCS/TCF sequences after the first
	FTTs             int
	PPRs             int
	CTCs             int
	EORs             int
	FramesResent     int // ECM frames retransmitted
	FramesSent       int
	FramesReceived   int
	BadFrames        int // frames received with a bad FCS
	EarlyDIS         int // answering: DIS repeated at once on hearing the caller (CNG) instead of after T4
	DamagedResponses int // commands repeated because their response arrived damaged
	Start, End       time.Time
}

// Duration is End - Start.
func (s Stats) Duration() time.Duration { return s.End.Sub(s.Start) }

// LogValue redacts the remote ident.
func (s Stats) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Int("pages", s.Pages), slog.Int("pages_rejected", s.PagesRejected),
		slog.String("speed", s.Speed.String()), slog.String("compression", s.Compression.String()),
		slog.String("resolution", s.Resolution.String()), slog.Bool("ecm", s.ECM),
		slog.Int("bad_rows", s.BadRows), slog.String("remote_ident", redacted(s.RemoteIdent)),
		slog.String("remote_vendor", s.RemoteVendor), slog.Int("ppr", s.PPRs),
		slog.Duration("duration", s.Duration()))
}

func redacted(s string) string {
	if s == "" {
		return ""
	}
	return "[REDACTED]"
}

// RecordKind says what a Record reports.
type RecordKind uint8

// Record kinds.
const (
	RecordPhase         RecordKind = iota // Phase changed
	RecordFrameSent                       // Frame was sent
	RecordFrameReceived                   // Frame was received (Bad: with a bad FCS)
	RecordPageSent                        // Page was confirmed by the receiver
	RecordPageReceived                    // Page was accepted (Quality set)
	RecordResult                          // the call ended with Result
	RecordPageRejected                    // a received page was answered RTN (Quality says why)
)

func (k RecordKind) String() string {
	return [...]string{"phase", "frame-sent", "frame-received", "page-sent", "page-received", "result", "page-rejected",
		"?"}[min(int(k), 7)]
}

// Record is one entry of the audit-friendly event stream a Session emits
// through Config.OnRecord. Frames whose FIF identifies a person or terminal
// (idents, passwords, sub-addresses, vendor data, image data) have PHI set;
// String and LogValue never print such an FIF.
type Record struct {
	Time    time.Time
	Kind    RecordKind
	Phase   Phase
	Frame   Frame
	Bad     bool
	PHI     bool
	Page    int // 1-based page number for page records
	Quality PageQuality
	Result  Result
}

func (r Record) String() string {
	switch r.Kind {
	case RecordPhase:
		return "phase " + r.Phase.String()
	case RecordFrameSent:
		return "tx " + r.Frame.String()
	case RecordFrameReceived:
		if r.Bad {
			return "rx bad frame"
		}
		return "rx " + r.Frame.String()
	case RecordPageSent:
		return fmt.Sprintf("page %d sent", r.Page)
	case RecordPageReceived:
		return fmt.Sprintf("page %d received rows=%d bad=%d", r.Page, r.Quality.Rows, r.Quality.BadRows)
	case RecordPageRejected:
		return fmt.Sprintf("page %d rejected rows=%d bad=%d longest-bad-run=%d truncated=%v", r.Page, r.Quality.Rows,
			r.Quality.BadRows, r.Quality.LongestBadRun, r.Quality.Truncated)
	case RecordResult:
		return "result " + r.Result.String()
	}
	return r.Kind.String()
}

// LogValue implements slog.LogValuer without revealing PHI.
func (r Record) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("kind", r.Kind.String()), slog.String("phase", r.Phase.String())}
	switch r.Kind {
	case RecordFrameSent, RecordFrameReceived:
		attrs = append(attrs, slog.String("fcf", r.Frame.FCF.String()), slog.Bool("phi", r.PHI),
			slog.String("frame", r.Frame.String()))
	case RecordPageSent, RecordPageReceived, RecordPageRejected:
		attrs = append(attrs, slog.Int("page", r.Page), slog.Int("bad_rows", r.Quality.BadRows))
		if r.Kind == RecordPageRejected {
			attrs = append(attrs, slog.Int("rows", r.Quality.Rows), slog.Int("longest_bad_run", r.Quality.LongestBadRun),
				slog.Bool("truncated", r.Quality.Truncated))
		}
	case RecordResult:
		attrs = append(attrs, slog.String("result", r.Result.String()))
	}
	return slog.GroupValue(attrs...)
}
