package faxkit_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	xtiff "golang.org/x/image/tiff"

	"github.com/faxkit/faxkit"
	"github.com/faxkit/faxkit/internal/clock"
	"github.com/faxkit/faxkit/internal/sample"
	"github.com/faxkit/faxkit/t30"
	"github.com/faxkit/faxkit/t4"
	"github.com/faxkit/faxkit/tiff"
)

// letters caches the synthetic pages (rendering costs ~100 ms a page).
var letters = sync.OnceValues(func() ([]*t4.Bitmap, error) { return sample.Letters(3, sample.Fine) })

func pages(t testing.TB, n int) []*t4.Bitmap {
	t.Helper()
	ps, err := letters()
	require.NoError(t, err)
	return ps[:n]
}

// memSink collects received pages.
type memSink struct {
	pages []*t4.Bitmap
	opts  []tiff.PageOptions
}

func (m *memSink) WritePage(b *t4.Bitmap, o *tiff.PageOptions) error {
	m.pages = append(m.pages, b.Clone())
	m.opts = append(m.opts, *o)
	return nil
}

func udpPair(t testing.TB) (a, b net.PacketConn) {
	t.Helper()
	a, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	b, err = net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

type callResult struct {
	rep faxkit.Report
	err error
}

// call runs Send on one socket and Receive on the other.
func call(t testing.TB, doc faxkit.Document, sink faxkit.PageSink, so, ro *faxkit.Options, recvPeer bool) (send, recv callResult) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a, b := udpPair(t)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var peer net.Addr
		if recvPeer {
			peer = a.LocalAddr()
		}
		recv.rep, recv.err = faxkit.Receive(ctx, b, peer, sink, ro)
	}()
	send.rep, send.err = faxkit.Send(ctx, a, b.LocalAddr(), doc, so)
	wg.Wait()
	return send, recv
}

func TestSendReceiveLoopback(t *testing.T) {
	ps := pages(t, 2)
	for _, tc := range []struct {
		name     string
		opts     faxkit.Options
		comp     t30.Compression
		ecm      bool
		recvPeer bool
	}{
		{"ECM MMR, answer first sender", faxkit.Options{}, t30.MMR, true, false},
		{"non-ECM MR", faxkit.Options{Fax: faxkit.FaxOptions{DisableECM: true}}, t30.MR, false, true},
		{"ECM MH only, v3 FEC", faxkit.Options{Fax: faxkit.FaxOptions{Compressions: []t30.Compression{t30.MH}}, T38: faxkit.T38Options{Version: 3, ErrorCorrection: faxkit.FEC}}, t30.MH, true, true},
		{"ECM MMR over RTP", faxkit.Options{T38: faxkit.T38Options{RTP: true}}, t30.MMR, true, true},
		{"non-ECM MR over RTP, payload type 100", faxkit.Options{Fax: faxkit.FaxOptions{DisableECM: true}, T38: faxkit.T38Options{RTP: true, RTPPayloadType: 100}}, t30.MR, false, true},
		{"non-ECM MH, no EC, 9600", faxkit.Options{Fax: faxkit.FaxOptions{DisableECM: true, Compressions: []t30.Compression{t30.MH}, MaxBitRate: 9600}, T38: faxkit.T38Options{ErrorCorrection: faxkit.NoEC}}, t30.MH, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			so, ro := tc.opts, tc.opts
			so.T38.Pacing, ro.T38.Pacing = faxkit.Unpaced, faxkit.Unpaced
			so.Fax.LocalIdent, ro.Fax.LocalIdent = "+1 555 0100", "+1 555 0199"
			var events []faxkit.Event
			so.OnEvent = func(e faxkit.Event) { events = append(events, e) }
			sink := &memSink{}
			doc := &t30.BitmapDocument{Pages: ps, Resolution: t30.ResFine}
			s, r := call(t, doc, sink, &so, &ro, tc.recvPeer)
			require.NoError(t, s.err)
			require.NoError(t, r.err)
			for _, rep := range []faxkit.Report{s.rep, r.rep} {
				require.True(t, rep.OK)
				require.Equal(t, "ok", rep.Result.String())
				require.Equal(t, 2, rep.Pages)
				require.Equal(t, tc.comp, rep.Compression)
				require.Equal(t, tc.ecm, rep.ECM)
				require.Equal(t, t30.ResFine, rep.Resolution)
				require.Len(t, rep.PageStats, 2)
				require.Positive(t, rep.Duration)
				require.Positive(t, rep.Network.PacketsIn)
				require.Positive(t, rep.Network.PacketsOut)
				require.Len(t, rep.Media, 1)
				m := rep.Media[0]
				require.Equal(t, rep.Network, m.Network, "one media path carried the call")
				require.NotNil(t, m.T38)
				require.Positive(t, m.T38.IFPSent)
				if tc.opts.T38.RTP { // IFP over RTP: no UDPTL datagrams built
					require.Equal(t, "t38-rtp", m.Kind)
					require.Zero(t, m.T38.Sender.Packets)
				} else {
					require.Equal(t, "t38", m.Kind)
					require.Positive(t, m.T38.Sender.Packets)
				}
				require.Positive(t, m.To)
			}
			wantRate := 14400
			if tc.opts.Fax.MaxBitRate != 0 {
				wantRate = tc.opts.Fax.MaxBitRate
			}
			require.Equal(t, wantRate, s.rep.BitRate)
			require.Equal(t, "+1 555 0199", s.rep.RemoteIdent.Reveal())
			require.Equal(t, "+1 555 0100", r.rep.RemoteIdent.Reveal())
			require.Zero(t, r.rep.BadRows)
			require.Len(t, sink.pages, 2)
			for i := range ps {
				require.True(t, ps[i].Equal(sink.pages[i]), "page %d differs", i+1)
				require.Equal(t, tiff.ResFine, sink.opts[i].Resolution)
				require.Equal(t, i+1, s.rep.PageStats[i].Number)
				require.Positive(t, s.rep.PageStats[i].Bytes)
				require.Equal(t, ps[i].Height, r.rep.PageStats[i].Rows)
			}
			var pageEvents int
			for _, e := range events {
				if e.Page != nil {
					pageEvents++
					require.Equal(t, t30.RecordPageSent, e.Record.Kind)
				}
			}
			require.Equal(t, 2, pageEvents)
			require.Equal(t, t30.RecordResult, events[len(events)-1].Record.Kind)
		})
	}
}

func TestSendTIFFDocument(t *testing.T) {
	ps := pages(t, 2)
	var buf bytes.Buffer
	w, err := tiff.NewWriter(&buf, &tiff.WriterConfig{Compression: tiff.CompressionGroup4})
	require.NoError(t, err)
	for _, p := range ps {
		require.NoError(t, w.WritePage(p, &tiff.PageOptions{Resolution: tiff.ResFine}))
	}
	require.NoError(t, w.Close())
	r, err := tiff.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()), nil)
	require.NoError(t, err)
	doc, err := faxkit.TIFF(r)
	require.NoError(t, err)
	require.Equal(t, 2, doc.NumPages())

	var out bytes.Buffer
	tw, err := tiff.NewWriter(&out, nil)
	require.NoError(t, err)
	o := &faxkit.Options{T38: faxkit.T38Options{Pacing: faxkit.Unpaced}}
	s, rc := call(t, doc, tw, o, o, true)
	require.NoError(t, s.err)
	require.NoError(t, rc.err)
	require.NoError(t, tw.Close())

	rr, err := tiff.NewReader(bytes.NewReader(out.Bytes()), int64(out.Len()), nil)
	require.NoError(t, err)
	i := 0
	for p, err := range rr.Pages() {
		require.NoError(t, err)
		bm, err := p.Bitmap()
		require.NoError(t, err)
		require.True(t, ps[i].Equal(bm), "page %d differs", i+1)
		require.Equal(t, tiff.ResFine, p.Info.Resolution())
		i++
	}
	require.Equal(t, 2, i)
}

func TestSendNoAnswerEndsWithResult(t *testing.T) {
	a, b := udpPair(t) // b never answers
	o := &faxkit.Options{Fax: faxkit.FaxOptions{T1: 300 * time.Millisecond}, T38: faxkit.T38Options{Pacing: faxkit.Unpaced}}
	rep, err := faxkit.Send(context.Background(), a, b.LocalAddr(), &t30.BitmapDocument{Pages: pages(t, 1), Resolution: t30.ResFine}, o)
	require.Error(t, err)
	require.ErrorIs(t, err, &t30.ResultError{Result: t30.ResultNoAnswer})
	require.False(t, rep.OK)
	require.Equal(t, "no-answer", rep.Result.String())
}

func TestCancelEndsCallWithDCN(t *testing.T) {
	ps := pages(t, 3)
	a, b := udpPair(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var recvRep faxkit.Report
	var recvErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		recvRep, recvErr = faxkit.Receive(context.Background(), b, a.LocalAddr(), &memSink{}, &faxkit.Options{T38: faxkit.T38Options{Pacing: faxkit.Unpaced}})
	}()
	// Cancel once the first of three pages is confirmed. (The sender is
	// unpaced: a paced terminal sends the DCN only after the signal in
	// progress, which for a page is many seconds.)
	o := &faxkit.Options{T38: faxkit.T38Options{Pacing: faxkit.Unpaced}, OnEvent: func(e faxkit.Event) {
		if e.Record.Kind == t30.RecordPageSent {
			cancel()
		}
	}}
	start := time.Now()
	rep, err := faxkit.Send(ctx, a, b.LocalAddr(), &t30.BitmapDocument{Pages: ps, Resolution: t30.ResFine}, o)
	require.ErrorIs(t, err, &t30.ResultError{Result: t30.ResultLocalAbort})
	require.Equal(t, "local-abort", rep.Result.String())
	require.False(t, rep.OK)
	require.Less(t, rep.Pages, 3)
	<-done
	require.Error(t, recvErr)
	// The receiver heard our DCN (rather than timing out on T2 after 6 s).
	require.Equal(t, t30.ResultRemoteDisconnect, recvRep.Result, "receiver result %v", recvRep.Result)
	require.Less(t, time.Since(start), 20*time.Second)
}

func TestReceiveNoCallTimesOut(t *testing.T) {
	_, b := udpPair(t)
	start := time.Now()
	rep, err := faxkit.Receive(context.Background(), b, nil, &memSink{}, &faxkit.Options{Timeout: 200 * time.Millisecond})
	require.Error(t, err)
	require.False(t, rep.OK)
	require.Equal(t, t30.ResultNoCommand, rep.Result)
	require.Less(t, time.Since(start), 5*time.Second)
	// The socket is usable afterwards: no read deadline left behind.
	require.NoError(t, b.SetReadDeadline(time.Now().Add(50*time.Millisecond)))
	_, _, err = b.ReadFrom(make([]byte, 10))
	require.True(t, errors.Is(err, errTimeout(err)))
}

func errTimeout(err error) error {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return err
	}
	return errors.New("not a timeout")
}

func TestOptionsRejected(t *testing.T) {
	a, b := udpPair(t)
	doc := &t30.BitmapDocument{Pages: pages(t, 1), Resolution: t30.ResFine}
	for _, o := range []faxkit.Options{
		{T38: faxkit.T38Options{Version: 4}}, {Fax: faxkit.FaxOptions{MaxBitRate: 5000}}, {T38: faxkit.T38Options{ECDepth: 16}},
		{T38: faxkit.T38Options{ErrorCorrection: faxkit.FEC, ECDepth: 6}}, {T38: faxkit.T38Options{MaxDatagram: 10}},
		{Fax: faxkit.FaxOptions{Compressions: []t30.Compression{t30.CompressionNone}}}, {Timeout: -1},
	} {
		_, err := faxkit.Send(context.Background(), a, b.LocalAddr(), doc, &o)
		require.ErrorIs(t, err, faxkit.ErrOptions, "%+v", o)
	}
	_, err := faxkit.Send(context.Background(), a, nil, doc, nil)
	require.ErrorIs(t, err, faxkit.ErrNoPeer)
}

func TestParseCompressions(t *testing.T) {
	c, err := faxkit.ParseCompressions("mh,mmr,MH")
	require.NoError(t, err)
	require.Equal(t, []t30.Compression{t30.MH, t30.MMR}, c)
	_, err = faxkit.ParseCompressions("mh,,mr")
	require.ErrorIs(t, err, faxkit.ErrOptions)
	_, err = faxkit.ParseCompressions("jbig")
	require.ErrorIs(t, err, faxkit.ErrOptions)
}

func TestLoggingRedactsPHI(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	// Idents that cannot occur in timestamps or counters by chance.
	so := &faxkit.Options{Fax: faxkit.FaxOptions{LocalIdent: "CLINIC ZETA"}, T38: faxkit.T38Options{Pacing: faxkit.Unpaced}, Logger: logger}
	ro := &faxkit.Options{Fax: faxkit.FaxOptions{LocalIdent: "WARD OMEGA"}, T38: faxkit.T38Options{Pacing: faxkit.Unpaced}, Logger: logger}
	s, r := call(t, &t30.BitmapDocument{Pages: pages(t, 1), Resolution: t30.ResFine}, &memSink{}, so, ro, true)
	require.NoError(t, s.err)
	require.NoError(t, r.err)
	require.Contains(t, logs.String(), "call ended")
	require.Contains(t, logs.String(), "REDACTED")
	require.False(t, strings.Contains(logs.String(), "ZETA") || strings.Contains(logs.String(), "OMEGA"), "an ident reached the log")

	// The Report redacts its ident in logs and fmt, not in Reveal.
	logs.Reset()
	logger.Info("report", "report", s.rep)
	require.Contains(t, logs.String(), `"result":"ok"`)
	require.NotContains(t, logs.String(), "OMEGA")
	require.NotContains(t, fmt.Sprintf("%v %+v %#v %s", s.rep.RemoteIdent, s.rep, s.rep, s.rep), "OMEGA")
	require.Equal(t, "WARD OMEGA", s.rep.RemoteIdent.Reveal())
}

// TestFakeClock runs a call's timers on a fake clock: T1 (35 s) passes
// without the test waiting for it.
func TestFakeClock(t *testing.T) {
	a, b := udpPair(t) // b never answers
	fake := clock.NewFake(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	done := make(chan struct{})
	var rep faxkit.Report
	var err error
	go func() {
		defer close(done)
		rep, err = faxkit.Send(context.Background(), a, b.LocalAddr(), &t30.BitmapDocument{Pages: pages(t, 1), Resolution: t30.ResFine},
			&faxkit.Options{Clock: fake})
	}()
	start := time.Now()
	for running := true; running; {
		select {
		case <-done:
			running = false
		case <-time.After(time.Millisecond):
			if fake.Pending() > 0 {
				fake.Set(fake.Next())
			}
		}
	}
	require.ErrorIs(t, err, &t30.ResultError{Result: t30.ResultNoAnswer})
	require.GreaterOrEqual(t, rep.Duration, 35*time.Second, "T1 on the fake clock")
	require.Less(t, time.Since(start), 20*time.Second)
}

// TestTIFFConvertsOtherPages: a grey page, and a bilevel page of no fax
// width, become fine A4 fax pages; fax pages keep their own resolution.
func TestTIFFConvertsOtherPages(t *testing.T) {
	g := image.NewGray(image.Rect(0, 0, 300, 400))
	for i := range g.Pix {
		g.Pix[i] = 255
	}
	for y := 100; y < 200; y++ {
		for x := 50; x < 250; x++ {
			g.Pix[y*300+x] = 0
		}
	}
	var buf bytes.Buffer
	require.NoError(t, xtiff.Encode(&buf, g, nil))
	r, err := tiff.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()), nil)
	require.NoError(t, err)
	doc, err := faxkit.TIFF(r)
	require.NoError(t, err)
	require.Equal(t, 1, doc.NumPages())
	f := doc.Format(0)
	require.Equal(t, t30.PageFormat{Resolution: t30.ResFine, Width: t30.WidthA4, Length: t30.LengthA4}, f)
	data, err := doc.Encode(0, t30.Mode{Compression: t30.MMR, ECM: true, Resolution: f.Resolution, Width: f.Width})
	require.NoError(t, err)
	bm, _, err := t4.DecodePage(bytes.NewReader(data), 1728, &t4.DecodeOptions{Compression: t4.MMR, BitOrder: t4.LSBFirst})
	require.NoError(t, err)
	require.Equal(t, 1728, bm.Width)
	require.Positive(t, bm.Black(), "the black box survived")

	// A standard-resolution fax page stays standard.
	buf.Reset()
	w, err := tiff.NewWriter(&buf, nil)
	require.NoError(t, err)
	require.NoError(t, w.WritePage(t4.NewBitmap(1728, 1100), &tiff.PageOptions{Resolution: tiff.ResStandard}))
	require.NoError(t, w.Close())
	r, err = tiff.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()), nil)
	require.NoError(t, err)
	doc, err = faxkit.TIFF(r)
	require.NoError(t, err)
	require.Equal(t, t30.ResStandard, doc.Format(0).Resolution)
	_, err = doc.Encode(1, t30.Mode{})
	require.Error(t, err)
}

// TestCancelPacedMidPage cancels a real-time paced call while its page is
// on the line: the DCN still reaches the receiver within seconds (rather
// than after the page's 17 s, or the receiver's T2).
func TestCancelPacedMidPage(t *testing.T) {
	if testing.Short() {
		t.Skip("a paced call takes real time")
	}
	ps := pages(t, 1)
	a, b := udpPair(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan faxkit.Report, 1)
	go func() {
		r, _ := faxkit.Receive(context.Background(), b, a.LocalAddr(), &memSink{}, nil)
		done <- r
	}()
	var cancelled time.Time
	o := &faxkit.Options{OnEvent: func(e faxkit.Event) {
		if e.Record.Kind == t30.RecordPhase && e.Record.Phase == t30.PhaseC && cancelled.IsZero() {
			time.AfterFunc(500*time.Millisecond, cancel)
			cancelled = time.Now().Add(500 * time.Millisecond)
		}
	}}
	rep, err := faxkit.Send(ctx, a, b.LocalAddr(), &t30.BitmapDocument{Pages: ps, Resolution: t30.ResFine}, o)
	require.ErrorIs(t, err, &t30.ResultError{Result: t30.ResultLocalAbort})
	require.Zero(t, rep.Pages)
	r := <-done
	require.Equal(t, t30.ResultRemoteDisconnect, r.Result)
	require.Less(t, time.Since(cancelled), 5*time.Second, "DCN sent promptly after the cancellation")
}
