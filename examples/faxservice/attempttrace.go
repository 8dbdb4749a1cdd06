package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/faxkit/faxkit"
	"github.com/faxkit/faxkit/phi"
	"github.com/faxkit/faxkit/phi/audit"
)

// Call detail for operators: each call's T.30/T.38 trace and media
// statistics, kept in the database (table attempt_traces, migration
// 0005): each outbound attempt's, and each received fax's (its one
// attempt, n = 1: T.38 over UDPTL, SIP with T.38 or audio), shown to
// admins on the console's call page and served to them by
// GET /v1/faxes/{id}/attempts/{n}/trace. Deleting a fax deletes its
// traces (forgetDoc).
//
// The trace is the library's debug stream (the slog records faxkit.Send,
// faxkit.Receive and a faxkit.Call emit through their Logger), which faxkit passes through phi/redact
// and in which frames carrying PHI (TSI, CSI, SUB, SID, PWD...) print as
// "[N octets redacted]"; this capture redacts such frames once more (the
// record's phi attribute) and keeps only the fields it knows. The
// statistics are counters, modes and sizes: no idents, no numbers. So
// neither carries PHI and both live in the database as JSON, readable by
// admins only (consoleBackend.CallTrace, getAttemptTrace).
//
// Bounded: consecutive identical frames (ECM's FCD) and T.38 data
// packets of one kind are folded into one record (count and octets), and
// only the last maxTraceRecords records
// are kept (dropped counts the rest).

const maxTraceRecords = 600

// traceRecord is one step of a call, as stored.
type traceRecord struct {
	AtMS  float64 `json:"t_ms"`            // since the attempt started
	Layer string  `json:"layer"`           // "t30", "t38", "call"
	Dir   string  `json:"dir,omitempty"`   // "tx", "rx" or ""
	Kind  string  `json:"kind"`            // phase, frame, page, result; t38: tone, indicator, data, image, tcf, lost; call: heard, media
	Phase string  `json:"phase,omitempty"` // the T.30 phase
	Name  string  `json:"name,omitempty"`  // the frame's FCF, the indicator or the data type
	Text  string  `json:"text,omitempty"`  // the frame as printed (PHI redacted), or details
	Count int     `json:"count,omitempty"` // folded T.38 packets
	Bytes int     `json:"octets,omitempty"`
}

// attemptTrace collects one attempt's records; its handler is safe for
// the call's goroutines.
type attemptTrace struct {
	start time.Time

	mu      sync.Mutex
	recs    []traceRecord // ring once full
	head    int           // oldest record's index when full
	dropped int
}

type attemptTraceKey struct{}

// withAttemptTrace returns ctx carrying a new trace for the attempt
// starting now.
func withAttemptTrace(ctx context.Context, now time.Time) (context.Context, *attemptTrace) {
	tr := &attemptTrace{start: now}
	return context.WithValue(ctx, attemptTraceKey{}, tr), tr
}

// attemptLogger returns the logger for the call: next (the service's
// logger, at its own level) plus the attempt's trace, when ctx has one.
func attemptLogger(ctx context.Context, next *slog.Logger) *slog.Logger {
	tr, _ := ctx.Value(attemptTraceKey{}).(*attemptTrace)
	if tr == nil {
		return next
	}
	if next == nil {
		next = slog.New(slog.DiscardHandler)
	}
	return slog.New(&traceHandler{tr: tr, next: next.Handler()})
}

// traceHandler tees records to the trace (every level) and to next.
type traceHandler struct {
	tr    *attemptTrace
	next  slog.Handler
	attrs []slog.Attr // from WithAttrs (groups are flattened)
}

func (h *traceHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *traceHandler) Handle(ctx context.Context, r slog.Record) error {
	attrs := map[string]string{}
	var flat func(prefix string, a slog.Attr)
	flat = func(prefix string, a slog.Attr) {
		v := a.Value.Resolve()
		if v.Kind() == slog.KindGroup {
			for _, g := range v.Group() {
				flat(prefix+a.Key+".", g)
			}
			return
		}
		attrs[prefix+a.Key] = v.String()
	}
	for _, a := range h.attrs {
		flat("", a)
	}
	r.Attrs(func(a slog.Attr) bool { flat("", a); return true })
	h.tr.add(r.Time, r.Message, attrs)
	if h.next.Enabled(ctx, r.Level) {
		return h.next.Handle(ctx, r)
	}
	return nil
}

func (h *traceHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &traceHandler{tr: h.tr, next: h.next.WithAttrs(as), attrs: append(append([]slog.Attr{}, h.attrs...), as...)}
}

func (h *traceHandler) WithGroup(name string) slog.Handler {
	// The library logs no groups this way; the trace keeps the flat
	// attributes and next gets the group.
	return &traceHandler{tr: h.tr, next: h.next.WithGroup(name), attrs: h.attrs}
}

// add turns a library record into a trace record.
func (tr *attemptTrace) add(t time.Time, msg string, a map[string]string) {
	rec := traceRecord{AtMS: float64(t.Sub(tr.start).Microseconds()) / 1000}
	switch {
	case msg == "t30":
		rec.Layer, rec.Kind, rec.Phase = "t30", a["event.kind"], a["event.phase"]
		switch rec.Kind {
		case "frame-sent", "frame-received":
			rec.Dir = map[bool]string{true: "tx", false: "rx"}[rec.Kind == "frame-sent"]
			rec.Kind, rec.Name, rec.Text = "frame", a["event.fcf"], a["event.frame"]
			if a["event.phi"] == "true" {
				rec.Text = rec.Name + " [redacted]"
			}
		case "page-sent", "page-received":
			rec.Dir = map[bool]string{true: "tx", false: "rx"}[rec.Kind == "page-sent"]
			rec.Kind, rec.Text = "page", "page "+a["event.page"]
			if n := a["event.bad_rows"]; n != "" && n != "0" {
				rec.Text += ", " + n + " bad rows"
			}
		case "page-rejected":
			rec.Dir, rec.Kind = "rx", "page"
			rec.Text = "page " + a["event.page"] + " rejected: " + a["event.bad_rows"] + " of " + a["event.rows"] +
				" rows bad, longest run " + a["event.longest_bad_run"]
			if a["event.truncated"] == "true" {
				rec.Text += ", its end lost"
			}
		case "result":
			rec.Text = a["event.result"]
		case "phase":
			rec.Text = "phase " + rec.Phase
		}
	case strings.HasPrefix(msg, "t38 send"), strings.HasPrefix(msg, "t38 receive"):
		rec.Layer, rec.Dir = "t38", "tx"
		if strings.HasPrefix(msg, "t38 receive") {
			rec.Dir = "rx"
		}
		switch {
		case a["tone"] != "":
			rec.Kind, rec.Name = "indicator", a["tone"]
		case a["indicator"] != "":
			rec.Kind, rec.Name = "indicator", a["indicator"]
		case a["image"] != "":
			rec.Kind, rec.Name = "image", a["image"]
			fmt.Sscan(a["octets"], &rec.Bytes)
		case a["tcf"] != "":
			rec.Kind, rec.Name = "tcf", a["tcf"]
		case a["n"] != "":
			rec.Kind, rec.Text = "lost", a["n"]+" packets lost"
		case a["data"] != "":
			rec.Kind, rec.Name = "data", a["data"]
			if f := a["field"]; f != "" {
				rec.Text = f
			} else if f := a["frames"]; f != "" {
				rec.Text = f + " HDLC frames"
			}
		case a["err"] != "":
			rec.Kind, rec.Text = "error", "send error"
		default:
			rec.Kind, rec.Text = "other", strings.TrimPrefix(strings.TrimPrefix(msg, "t38 send"), "t38 receive")
		}
		if strings.Contains(msg, "frame bad") {
			rec.Kind, rec.Text = "bad-frame", "HDLC frame bad"
		}
	case msg == "faxkit: heard":
		rec.Layer, rec.Kind, rec.Name = "call", "heard", a["signal"]
		if sp := a["speed"]; sp != "" && sp != "none" && sp != "0" {
			rec.Text = sp
		}
	case msg == "faxkit: media swapped":
		rec.Layer, rec.Kind, rec.Name = "call", "media", a["to"]
	default:
		return // the call's report (kept as statistics) and anything unknown
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if n := len(tr.recs); n > 0 && (rec.Kind == "image" || rec.Kind == "data" || rec.Kind == "frame") {
		// ECM blocks: hundreds of FCD frames, and the T.38 packets
		// carrying them, fold into one record each.
		last := &tr.recs[(tr.head+n-1)%n]
		if last.Layer == rec.Layer && last.Dir == rec.Dir && last.Kind == rec.Kind && last.Name == rec.Name && last.Text == rec.Text {
			if last.Count == 0 {
				last.Count = 1
			}
			last.Count++
			last.Bytes += rec.Bytes
			return
		}
	}
	if len(tr.recs) < maxTraceRecords {
		tr.recs = append(tr.recs, rec)
		return
	}
	tr.recs[tr.head] = rec
	tr.head = (tr.head + 1) % len(tr.recs)
	tr.dropped++
}

// records returns the kept records in order.
func (tr *attemptTrace) records() ([]traceRecord, int) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	out := make([]traceRecord, 0, len(tr.recs))
	out = append(out, tr.recs[tr.head:]...)
	out = append(out, tr.recs[:tr.head]...)
	return out, tr.dropped
}

// attemptStats is what the call page's statistics table shows: the
// negotiated mode, the T.30 counters, each media path's counters and the
// pages. No PHI (the report's remote ident is left out).
type attemptStats struct {
	Result      string      `json:"result"`
	DurationMS  int64       `json:"duration_ms"`
	Pages       int         `json:"pages"`
	Rejected    int         `json:"pages_rejected"`
	BitRate     int         `json:"bit_rate"`
	Compression string      `json:"compression"`
	Resolution  string      `json:"resolution"`
	ECM         bool        `json:"ecm"`
	T30         t30Counters `json:"t30"`
	Network     faxkit.NetStats
	Media       []mediaStats `json:"media"`
	PageStats   []pageStat   `json:"page_stats"`
}

type t30Counters struct {
	Retrains, FTTs, PPRs, CTCs, EORs                    int
	FramesSent, FramesReceived, BadFrames, FramesResent int
	DamagedResponses                                    int
	ECMFrameSize                                        int
	RemoteVendor                                        string // T.35 country and provider code (hex), not an ident
}

type mediaStats struct {
	Kind         string
	FromMS, ToMS int64
	Network      faxkit.NetStats
	T38          *t38Counters `json:",omitempty"`
	Audio        *faxkit.AudioStats
}

type t38Counters struct {
	IFPSent, IFPReceived, IFPMalformed, Repeats, FramesReceived, FramesBad, DataLost uint64
	ImageOctets, RowsMarked, Paced, PacingErrors                                     uint64
	PacingMaxMS                                                                      float64
}

type pageStat struct {
	Number                  int
	Compression, Resolution string
	ECM                     bool
	BitRate, Width, Rows    int
	Bytes, BadRows, PPRs    int
	AtMS                    int64
	Modem                   string
}

func statsOf(rep faxkit.Report) attemptStats {
	st := attemptStats{Result: rep.Result.String(), DurationMS: rep.Duration.Milliseconds(), Pages: rep.Pages, Rejected: rep.PagesRejected,
		BitRate: rep.BitRate, ECM: rep.ECM, Network: rep.Network, Media: []mediaStats{}, PageStats: []pageStat{}}
	if rep.BitRate > 0 {
		st.Compression, st.Resolution = rep.Compression.String(), rep.Resolution.String()
	}
	s := rep.T30
	st.T30 = t30Counters{Retrains: s.Retrains, FTTs: s.FTTs, PPRs: s.PPRs, CTCs: s.CTCs, EORs: s.EORs, FramesSent: s.FramesSent,
		FramesReceived: s.FramesReceived, BadFrames: s.BadFrames, FramesResent: s.FramesResent, DamagedResponses: s.DamagedResponses,
		ECMFrameSize: s.ECMFrameSize, RemoteVendor: s.RemoteVendor}
	for _, m := range rep.Media {
		ms := mediaStats{Kind: m.Kind, FromMS: m.From.Milliseconds(), ToMS: m.To.Milliseconds(), Network: m.Network, Audio: m.Audio}
		if t := m.T38; t != nil {
			ms.T38 = &t38Counters{IFPSent: t.IFPSent, IFPReceived: t.IFPReceived, IFPMalformed: t.IFPMalformed, Repeats: t.Repeats,
				FramesReceived: t.FramesReceived, FramesBad: t.FramesBad, DataLost: t.DataLost, ImageOctets: t.ImageOctets,
				RowsMarked: t.RowsMarked, Paced: t.Paced, PacingErrors: t.PacingErrors, PacingMaxMS: float64(t.PacingMax.Microseconds()) / 1000}
		}
		st.Media = append(st.Media, ms)
	}
	for _, p := range rep.PageStats {
		st.PageStats = append(st.PageStats, pageStat{Number: p.Number, Compression: p.Compression.String(), Resolution: p.Resolution.String(),
			ECM: p.ECM, BitRate: p.BitRate, Width: p.Width, Rows: p.Rows, Bytes: p.Bytes, BadRows: p.BadRows, PPRs: p.PPRs,
			AtMS: p.At.Milliseconds(), Modem: p.Modem})
	}
	return st
}

// saveAttemptTrace stores the attempt's trace and statistics (also when
// the service is shutting down: the call is over either way).
func (s *Service) saveAttemptTrace(ctx context.Context, c claim, tr *attemptTrace, rep faxkit.Report) {
	if err := s.storeTrace(context.WithoutCancel(ctx), s.db, c.fax, c.attempt, tr, rep); err != nil {
		s.logger.Warn("queue: attempt trace not stored", "err", err)
	}
}

// execer is a DB or a Tx.
type execer interface {
	exec(ctx context.Context, q string, args ...any) (sql.Result, error)
}

// storeTrace writes call n of fax's trace and statistics through ex (a
// received fax's in the transaction that records the fax).
func (s *Service) storeTrace(ctx context.Context, ex execer, fax string, n int, tr *attemptTrace, rep faxkit.Report) error {
	recs, dropped := tr.records()
	tj, err := json.Marshal(recs)
	if err != nil {
		return err
	}
	sj, err := json.Marshal(statsOf(rep))
	if err != nil {
		return err
	}
	_, err = ex.exec(ctx, `INSERT INTO attempt_traces (fax_id, n, trace, stats, dropped) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (fax_id, n) DO UPDATE SET trace = excluded.trace, stats = excluded.stats, dropped = excluded.dropped`,
		fax, n, string(tj), string(sj), dropped)
	return err
}

// attemptTraceOf loads an attempt's trace and statistics; ok is false
// when none was stored (a call before migration 0005, or still running).
func (s *Service) attemptTraceOf(ctx context.Context, fax string, n int) (recs []traceRecord, st attemptStats, dropped int, ok bool, err error) {
	var tj, sj string
	err = s.db.queryRow(ctx, `SELECT trace, stats, dropped FROM attempt_traces WHERE fax_id = ? AND n = ?`, fax, n).Scan(&tj, &sj, &dropped)
	if isNoRows(err) {
		return nil, st, 0, false, nil
	}
	if err != nil {
		return nil, st, 0, false, err
	}
	if err := json.Unmarshal([]byte(tj), &recs); err != nil {
		return nil, st, 0, false, err
	}
	if err := json.Unmarshal([]byte(sj), &st); err != nil {
		return nil, st, 0, false, err
	}
	return recs, st, dropped, true, nil
}

// AttemptTrace is the answer of GET /v1/faxes/{id}/attempts/{n}/trace:
// call n's trace records, oldest first (Dropped earlier ones not kept),
// and its statistics, both as stored. No PHI.
type AttemptTrace struct {
	FaxID     string          `json:"fax_id"`
	N         int             `json:"n"`
	Direction string          `json:"direction"`
	Media     string          `json:"media"`
	Dropped   int             `json:"dropped"`
	Records   []traceRecord   `json:"records"`
	Stats     json.RawMessage `json:"stats"`
}

// getAttemptTrace serves call n of a fax (an outbound attempt, or a
// received fax's call: n = 1) to admins, the service's operators, as the
// console's call page shows it. Anyone else is refused 403 (audited)
// before the fax is looked up, so the answer is the same whether or not
// the fax exists. For an admin an unknown or deleted fax is 404 as in
// every other fax route, and so is an attempt with no stored trace (still
// running, or made before traces were kept).
func (s *Service) getAttemptTrace(w http.ResponseWriter, r *http.Request, who phi.Principal, src string) {
	if !who.Has(phi.RoleAdmin) {
		s.refuse(w, r, who, audit.ActionReadMetadata, r.PathValue("id"), http.StatusForbidden, "admin role required")
		return
	}
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 1 || n > 10000 {
		s.refuse(w, r, who, audit.ActionReadMetadata, r.PathValue("id"), http.StatusBadRequest, "attempt must be a number from 1")
		return
	}
	st, ok := s.checkFax(w, r, who, src)
	if !ok {
		return
	}
	if n > len(st.Attempts) {
		s.refuse(w, r, who, audit.ActionReadMetadata, st.ID, http.StatusNotFound, "no such attempt")
		return
	}
	var tj, sj string
	out := AttemptTrace{FaxID: st.ID, N: n, Direction: st.Direction, Media: st.Attempts[n-1].Media}
	err = s.db.queryRow(r.Context(), `SELECT trace, stats, dropped FROM attempt_traces WHERE fax_id = ? AND n = ?`, st.ID, n).Scan(&tj, &sj, &out.Dropped)
	if isNoRows(err) {
		s.refuse(w, r, who, audit.ActionReadMetadata, st.ID, http.StatusNotFound, "no trace was recorded for this attempt")
		return
	}
	if err == nil {
		err = json.Unmarshal([]byte(tj), &out.Records)
	}
	if err != nil || !json.Valid([]byte(sj)) {
		httpError(w, http.StatusInternalServerError, "internal error")
		return
	}
	out.Stats = json.RawMessage(sj)
	if out.Records == nil {
		out.Records = []traceRecord{}
	}
	s.audit(r.Context(), audit.Event{Principal: who.ID, Action: audit.ActionReadMetadata, Document: st.ID, Source: src, Outcome: audit.OutcomeSuccess,
		Detail: fmt.Sprintf("call %d trace", n)})
	writeJSON(w, http.StatusOK, out)
}
