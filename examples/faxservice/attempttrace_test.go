package main

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit/t30"
)

// The attempt trace as the library feeds it: T.30 records (slog.LogValuer
// groups), T.38 packets, folding of repeated frames and packets, the
// bound, and the second redaction of frames flagged PHI.
func TestAttemptTrace(t *testing.T) {
	start := time.Now()
	ctx, tr := withAttemptTrace(context.Background(), start)
	log := attemptLogger(ctx, slog.New(slog.DiscardHandler))
	dis := t30.Frame{FCF: t30.FCFDIS, Info: []byte{0x00, 0xee}}
	log.Debug("t30", "event", t30.Record{Kind: t30.RecordPhase, Phase: t30.PhaseB})
	log.Debug("t30", "event", t30.Record{Kind: t30.RecordFrameReceived, Phase: t30.PhaseB, Frame: dis})
	// A frame the library flags as PHI is shown by name only, whatever
	// its printed form.
	log.Debug("t30", "event", t30.Record{Kind: t30.RecordFrameSent, Phase: t30.PhaseB, Frame: t30.Frame{FCF: t30.FCFTSI, Info: []byte("5550199")}, PHI: true})
	for range 3 {
		log.Debug("t38 send", "image", "v17-14400", "octets", 100)
	}
	log.Debug("t38 receive", "indicator", "v21-preamble")
	log.Debug("t38 receive: packets lost", "n", 2)
	log.Debug("t30", "event", t30.Record{Kind: t30.RecordPageSent, Phase: t30.PhaseD, Page: 1})
	log.Debug("t30", "event", t30.Record{Kind: t30.RecordPageRejected, Phase: t30.PhaseD, Page: 2,
		Quality: t30.PageQuality{Rows: 1200, BadRows: 130, LongestBadRun: 42, Truncated: true}})
	log.Debug("faxkit: call ended", "report", "ignored")
	log.Info("something else")

	recs, dropped := tr.records()
	require.Zero(t, dropped)
	for i := range recs {
		recs[i].AtMS = 0
	}
	want := []traceRecord{
		{Layer: "t30", Kind: "phase", Phase: "B", Text: "phase B"},
		{Layer: "t30", Dir: "rx", Kind: "frame", Phase: "B", Name: "DIS", Text: dis.String()},
		{Layer: "t30", Dir: "tx", Kind: "frame", Phase: "B", Name: "TSI", Text: "TSI [redacted]"},
		{Layer: "t38", Dir: "tx", Kind: "image", Name: "v17-14400", Count: 3, Bytes: 300},
		{Layer: "t38", Dir: "rx", Kind: "indicator", Name: "v21-preamble"},
		{Layer: "t38", Dir: "rx", Kind: "lost", Text: "2 packets lost"},
		{Layer: "t30", Dir: "tx", Kind: "page", Phase: "D", Text: "page 1"},
		{Layer: "t30", Dir: "rx", Kind: "page", Phase: "D", Text: "page 2 rejected: 130 of 1200 rows bad, longest run 42, its end lost"},
	}
	if diff := cmp.Diff(want, recs); diff != "" {
		t.Errorf("trace (-want +got):\n%s", diff)
	}

	// Bounded: the last maxTraceRecords records are kept, in order.
	_, tr = withAttemptTrace(context.Background(), start)
	for i := range maxTraceRecords + 50 {
		tr.add(start, "t38 receive", map[string]string{"indicator": fmt.Sprint(i)})
	}
	recs, dropped = tr.records()
	require.Equal(t, 50, dropped)
	require.Len(t, recs, maxTraceRecords)
	require.Equal(t, "50", recs[0].Name)
	require.Equal(t, fmt.Sprint(maxTraceRecords+49), recs[len(recs)-1].Name)

	// No trace in the context: the logger is the service's own.
	base := slog.New(slog.DiscardHandler)
	require.Same(t, base, attemptLogger(context.Background(), base))
}

// BenchmarkAttemptTrace is the cost the trace adds to each T.38 packet
// of a call (the library's debug record, flattened and folded).
func BenchmarkAttemptTrace(b *testing.B) {
	ctx, _ := withAttemptTrace(context.Background(), time.Now())
	log := attemptLogger(ctx, slog.New(slog.DiscardHandler))
	b.ReportAllocs()
	for b.Loop() {
		log.Debug("t38 send", "image", "v17-14400", "octets", 140)
	}
}
