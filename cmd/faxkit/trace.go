package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"
)

// traceHelp documents -trace and -trace-json (shared by send and receive).
const traceHelp = `  -trace              print what happens in the call on stderr: T.30 phases and
                      frames, T.38 indicators and data, with their times (PHI redacted)
  -trace-json FILE    write the same trace to FILE, one JSON object per line:
                        time     RFC 3339 time of the step
                        level    "INFO" for the command's opening record, "DEBUG" for the rest
                        msg      what reports the step: "call" (the command's opening
                                 record: role, pages, file_type, local, remote), "t30" (the session), "t38 send", "t38 receive"
                                 (the T.38 terminal), "faxkit: heard" (a sign of the far
                                 end: signal, speed), "faxkit: media swapped" (to),
                                 "faxkit: call ended" (report.*)
                        call     the call ID (also in -json output as call_id)
                        t_ms     milliseconds since the command started the call
                      t30 steps carry event.kind (phase, frame-sent, frame-received,
                      page-sent, page-received, page-rejected, result), event.phase,
                      event.fcf, event.frame (frames with PHI show "[N octets
                      redacted]"), event.page, event.bad_rows, event.result (a
                      page answered RTN also event.rows, event.longest_bad_run and
                      event.truncated); t38 steps carry indicator, tone,
                      frames, data (the data type, e.g. v17-14400), tcf, image, octets,
                      or n (packets lost)
`

// tracer is the -trace/-trace-json output of one call.
type tracer struct {
	id    string
	start time.Time
	file  *os.File
	log   *slog.Logger // nil when tracing is off
}

// newCallID returns a random call ID: 16 hex digits, no PHI.
func newCallID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// newTracer opens the trace outputs the flags ask for.
func newTracer(stderr io.Writer, human bool, jsonPath string) (*tracer, error) {
	t := &tracer{id: newCallID(), start: time.Now()}
	var hs []slog.Handler
	if human {
		hs = append(hs, slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug,
			ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
				if len(groups) == 0 && (a.Key == slog.TimeKey || a.Key == slog.LevelKey) {
					return slog.Attr{}
				}
				return a
			}}))
	}
	if jsonPath != "" {
		f, err := os.OpenFile(jsonPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			return nil, err
		}
		t.file = f
		hs = append(hs, slog.NewJSONHandler(f, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if len(hs) > 0 {
		t.log = slog.New(&callHandler{next: slog.NewMultiHandler(hs...), id: t.id, start: t.start})
	}
	return t, nil
}

// logger returns the call's logger, or nil when tracing is off.
func (t *tracer) logger() *slog.Logger { return t.log }

func (t *tracer) info(msg string, args ...any) {
	if t.log != nil {
		t.log.Info(msg, args...)
	}
}

func (t *tracer) close() error {
	if t.file != nil {
		return t.file.Close()
	}
	return nil
}

// callHandler puts the call ID and the time since the call started in
// front of every record.
type callHandler struct {
	next  slog.Handler
	id    string
	start time.Time
}

func (h *callHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h *callHandler) Handle(ctx context.Context, r slog.Record) error {
	nr := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	ms := float64(r.Time.Sub(h.start).Microseconds()) / 1000
	nr.AddAttrs(slog.String("call", h.id), slog.Float64("t_ms", ms))
	r.Attrs(func(a slog.Attr) bool { nr.AddAttrs(named(a)); return true })
	return h.next.Handle(ctx, nr)
}

// named turns values that have a name (fmt.Stringer: indicators, data
// types, phases) into that name, so that the JSON trace says "ced" where
// a JSON encoder would write the indicator's number.
func named(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindGroup:
		as := v.Group()
		out := make([]slog.Attr, len(as))
		for i, g := range as {
			out[i] = named(g)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(out...)}
	case slog.KindAny:
		if st, ok := v.Any().(fmt.Stringer); ok {
			if _, isErr := v.Any().(error); !isErr {
				return slog.String(a.Key, st.String())
			}
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}

func (h *callHandler) WithAttrs(as []slog.Attr) slog.Handler {
	// Attributes given With come after call and t_ms: keep them in a
	// handler below this one.
	return &callHandler{next: h.next.WithAttrs(as), id: h.id, start: h.start}
}

func (h *callHandler) WithGroup(name string) slog.Handler {
	return &callHandler{next: h.next.WithGroup(name), id: h.id, start: h.start}
}
