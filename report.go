package faxkit

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/faxkit/faxkit/phi/redact"
	"github.com/faxkit/faxkit/t30"
)

// Report describes a finished call. It holds no page images; RemoteIdent
// (the other terminal's CSI or TSI, usually its fax number) is PHI-typed and
// redacts itself when logged or printed with fmt; use RemoteIdent.Reveal()
// where showing it is intended.
type Report struct {
	// OK is true exactly when the T.30 session succeeded (Result.OK()).
	OK bool
	// Result is how the call ended; its String is stable ("ok",
	// "no-answer", ...).
	Result t30.Result
	// Pages is the number of pages confirmed by the receiver (sending) or
	// accepted (receiving).
	Pages int
	// PagesRejected counts pages answered RTN.
	PagesRejected int
	// BitRate is the image modem rate last used, in bit/s (0 if no page
	// phase was reached).
	BitRate int
	// Compression, Resolution and ECM are the negotiated mode.
	Compression t30.Compression
	Resolution  t30.Resolution
	ECM         bool
	// BadRows is the number of rows received damaged (concealed) over all
	// pages; 0 when sending.
	BadRows int
	// RemoteIdent is the other terminal's ident (PHI).
	RemoteIdent redact.StationID
	// Start and Duration cover the T.30 session, from the first signal to
	// the release of the line.
	Start    time.Time
	Duration time.Duration
	// PageStats has one entry per page confirmed or accepted, in order.
	PageStats []PageStats
	// T30 has the session's full statistics (retrains, PPRs, frames ...).
	// Its RemoteIdent is left empty: the ident is in RemoteIdent, typed.
	T30 t30.Stats
	// Network counts the call's datagrams over every media path.
	Network NetStats
	// Media has the statistics of each media path the call used, in
	// order: one for Send and Receive, more when call control swapped the
	// path (Call.SwapMedia).
	Media []MediaStats
}

// PageStats describe one page of a call.
type PageStats struct {
	// Number is the page number, from 1.
	Number int
	// Compression, Resolution, ECM and BitRate are the mode the page was
	// sent in.
	Compression t30.Compression
	Resolution  t30.Resolution
	ECM         bool
	BitRate     int
	// Width and Rows are the page's size in pixels (Rows is 0 for a sent
	// page whose rows were not counted).
	Width, Rows int
	// Bytes is the size of the coded page data.
	Bytes int
	// BadRows and LongestBadRun count damaged rows (receiving).
	BadRows, LongestBadRun int
	// RowsUncertain (receiving, non-ECM) is set when page data was lost
	// on the way without a way to tell how many rows it held: Rows may
	// differ from what was sent, and the rows after the loss may be out
	// of place (t30.PageQuality.RowsUncertain). A sender that cuts its
	// data in whole rows per packet, as faxkit does, lets the receiver
	// keep the count.
	RowsUncertain bool
	// EndLost (receiving, non-ECM) is set when the page's end marker was
	// lost with at most its last half second, and the page was kept
	// (t30.PageQuality.EndLost): its last rows may be missing.
	EndLost bool
	// At is when the page was confirmed (sending) or accepted
	// (receiving), from the start of the call.
	At time.Duration
	// Modem is the image modem the page went at ("V.29", "V.27ter",
	// "V.17").
	Modem string
	// PPRs counts the partial page requests of this page (ECM: each asks
	// for the damaged frames again): received when sending, sent when
	// receiving. FramesResent counts the ECM frames sent again (sending).
	PPRs, FramesResent int
	// FramesRepeated counts the ECM frames received again (receiving on
	// an audio path): those that arrived in the bursts answering this
	// end's PPRs. On a T.38 path it stays 0.
	FramesRepeated int
	// Signal is what an audio path's receiver measured of the page
	// (receiving on audio); nil otherwise.
	Signal *SignalStats
}

// LogValue implements slog.LogValuer without revealing PHI.
func (r Report) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Bool("ok", r.OK),
		slog.String("result", r.Result.String()),
		slog.Int("pages", r.Pages),
		slog.Int("bit_rate", r.BitRate),
		slog.String("compression", r.Compression.String()),
		slog.Bool("ecm", r.ECM),
		slog.Int("bad_rows", r.BadRows),
		slog.Any("remote_ident", r.RemoteIdent),
		slog.Duration("duration", r.Duration),
	)
}

// String summarises the report without PHI.
func (r Report) String() string {
	return fmt.Sprintf("result=%s ok=%v pages=%d rejected=%d bit_rate=%d compression=%s resolution=%s ecm=%v bad_rows=%d remote_ident=%v duration=%v",
		r.Result, r.OK, r.Pages, r.PagesRejected, r.BitRate, r.Compression, r.Resolution, r.ECM, r.BadRows, r.RemoteIdent, r.Duration)
}

// Format prints String for every verb (%v, %+v, %#v, %s), so that a Report
// printed whole never shows PHI.
func (r Report) Format(f fmt.State, _ rune) { fmt.Fprint(f, r.String()) }

// Event is one step of a call, passed to Options.OnEvent: a T.30 record,
// or (Media set) a change of media path.
type Event struct {
	// Record is the T.30 event: a phase change, a frame sent or received,
	// a page confirmed or accepted, or the result. Frames that carry PHI
	// have Record.PHI set; Record's String and LogValue never show it.
	Record t30.Record
	// Page is set for RecordPageSent and RecordPageReceived.
	Page *PageStats
	// Media is set, and Record is zero, when the call moved to another
	// media path (Call.SwapMedia): the new path's Kind.
	Media string
	// Heard is set, and Record is zero, when the media path heard a sign
	// of the far end: t30.EventCNG, EventCED, EventSignal, or
	// EventCarrierUp (Speed SpeedNone: V.21 flags; otherwise the image
	// modem's training). Call control uses it to decide a media change.
	Heard *t30.Event
}
