package faxkit_test

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit"
	"github.com/faxkit/faxkit/internal/clock"
	"github.com/faxkit/faxkit/t30"
	"github.com/faxkit/faxkit/t4"
)

// audioSpeedup is how much faster than real time the audio calls of these
// tests run: both ends' T.30 timers and RTP pacing run on one scaled
// clock, so a call of 30 s of line time takes 30/speedup s. The modems
// see the same samples at any speed; only the tolerance to scheduling
// delays (the jitter buffer's 60 ms of line are 60/speedup ms of wall
// time) shrinks. FAXKIT_AUDIO_SPEEDUP overrides it (1: real time).
var audioSpeedup = func() float64 {
	if v, err := strconv.ParseFloat(os.Getenv("FAXKIT_AUDIO_SPEEDUP"), 64); err == nil && v >= 1 {
		return v
	}
	if raceEnabled {
		return 1.5
	}
	return 3
}()

// testDepth is the jitter buffer of the tests' calls: 400 ms of line
// time, so that a busy test machine's scheduling delays (tens of ms) are
// not RTP loss.
const testDepth = 20

// scaledClock runs k times faster than the system clock.
type scaledClock struct {
	base time.Time
	k    float64
}

func newScaledClock(k float64) *scaledClock { return &scaledClock{base: time.Now(), k: k} }

func (c *scaledClock) Now() time.Time {
	return c.base.Add(time.Duration(float64(time.Since(c.base)) * c.k))
}

func (c *scaledClock) NewTimer(d time.Duration) clock.Timer {
	return scaledTimer{time.NewTimer(time.Duration(float64(d) / c.k)), c}
}

type scaledTimer struct {
	t *time.Timer
	c *scaledClock
}

func (t scaledTimer) C() <-chan time.Time { return t.t.C }
func (t scaledTimer) Stop() bool          { return t.t.Stop() }

// audioCall holds one faxkit-to-faxkit call over AudioMedia on
// 127.0.0.1 and returns both reports and the received pages.
type audioCall struct {
	fax    faxkit.FaxOptions
	opts   *faxkit.AudioOptions
	pages  int
	rows   int  // crop each page to its first rows (0: whole letter pages)
	swapTo bool // move both ends to T.38 once the sender has the DIS
}

// cropped returns the first rows of each page.
func cropped(ps []*t4.Bitmap, rows int) []*t4.Bitmap {
	out := make([]*t4.Bitmap, len(ps))
	for i, p := range ps {
		n := min(rows, p.Height)
		b := t4.NewBitmap(p.Width, n)
		for y := range n {
			copy(b.Row(y), p.Row(y))
		}
		out[i] = b
	}
	return out
}

func runAudioCall(t *testing.T, c audioCall) (srep, rrep faxkit.Report, sink *memSink) {
	t.Helper()
	ps := pages(t, c.pages)
	if c.rows > 0 {
		ps = cropped(ps, c.rows)
	}
	a, b := udpPair(t)
	clk := newScaledClock(audioSpeedup)
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(float64(4*time.Minute)/audioSpeedup))
	defer cancel()
	gotDIS := make(chan struct{})
	var once sync.Once
	var evMu sync.Mutex
	var media []string
	trace := func(who string) func(faxkit.Event) {
		return func(e faxkit.Event) {
			if os.Getenv("FAX_TRACE") != "" && e.Heard == nil && e.Media == "" {
				t.Logf("%s %s %v", who, e.Record.Time.Format("04:05.000"), e.Record)
			}
			if os.Getenv("FAX_TRACE") != "" && e.Heard != nil {
				t.Logf("%s heard %v %v", who, e.Heard.Kind, e.Heard.Speed)
			}
		}
	}
	st, rt := trace("A"), trace("B")
	onEvent := func(e faxkit.Event) {
		st(e)
		if e.Record.Kind == t30.RecordFrameReceived && e.Record.Frame.FCF == t30.FCFDIS {
			once.Do(func() { close(gotDIS) })
		}
		if e.Media != "" {
			evMu.Lock()
			media = append(media, e.Media)
			evMu.Unlock()
		}
	}
	sender, err := faxkit.NewCall(faxkit.CallConfig{Document: &t30.BitmapDocument{Pages: ps, Resolution: t30.ResFine},
		Fax: c.fax, Clock: clk, OnEvent: onEvent})
	require.NoError(t, err)
	sink = &memSink{}
	receiver, err := faxkit.NewCall(faxkit.CallConfig{Sink: sink, Fax: c.fax, Clock: clk, OnEvent: rt})
	require.NoError(t, err)
	require.NoError(t, receiver.Start(ctx, faxkit.AudioMedia(b, a.LocalAddr(), c.opts)))
	require.NoError(t, sender.Start(ctx, faxkit.AudioMedia(a, b.LocalAddr(), c.opts)))
	if c.swapTo {
		a2, b2 := udpPair(t)
		select {
		case <-gotDIS:
		case <-ctx.Done():
			t.Fatal("no DIS")
		}
		// What a re-INVITE to T.38 does: both ends move to T.38 on new
		// ports; each SwapMedia returns once the new path is in use.
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			require.NoError(t, receiver.SwapMedia(faxkit.T38Media(b2, a2.LocalAddr(), nil)))
		}()
		require.NoError(t, sender.SwapMedia(faxkit.T38Media(a2, b2.LocalAddr(), nil)))
		wg.Wait()
	}
	srep, serr := sender.Wait()
	rrep, rerr := receiver.Wait()
	t.Logf("sender: %v", srep)
	t.Logf("receiver: %v", rrep)
	for _, m := range append(srep.Media, rrep.Media...) {
		if m.Audio != nil {
			t.Logf("%s %v..%v: net %+v audio %+v", m.Kind, m.From, m.To, m.Network, *m.Audio)
		}
	}
	for _, p := range rrep.PageStats {
		if p.Signal != nil {
			t.Logf("rx page %d: %s %d bit/s bad rows %d PPRs %d signal %+v", p.Number, p.Modem, p.BitRate, p.BadRows, p.PPRs, *p.Signal)
		}
	}
	require.NoError(t, serr)
	require.NoError(t, rerr)
	require.Len(t, sink.pages, c.pages)
	for i, p := range ps {
		if c.fax.DisableECM {
			bad := rrep.PageStats[i].BadRows
			if a := rrep.Media[0].Audio; a != nil && a.Missing+a.Late > 0 {
				t.Logf("the test machine lost %d packets on a clean path", a.Missing+a.Late)
				bad = -1
			}
			samePageLossy(t, p, sink.pages[i], bad)
			continue
		}
		require.True(t, p.Equal(sink.pages[i]), "page %d differs", i+1)
	}
	if c.swapTo {
		evMu.Lock()
		require.Equal(t, []string{"t38"}, media)
		evMu.Unlock()
	}
	return srep, rrep, sink
}

// samePageLossy compares a page received without ECM with the page sent:
// a lost RTP packet takes its 20 ms of bits, and the rows in them, with
// it (the receiver skips the block to keep its carrier), so the page can
// be shorter and have rows concealed. Every received row must be a sent
// row, in order, or one of the rows the receiver reported bad, and no
// more than a tenth of the rows may vanish.
//
// badRows < 0 says the path lost packets it should not have (a loaded
// test machine): rows damaged by a lost block are not always reported
// bad (the receiver does not yet mark the gap in the page data), so only
// the row count is checked then.
func samePageLossy(t *testing.T, want, got *t4.Bitmap, badRows int) {
	t.Helper()
	require.Equal(t, want.Width, got.Width)
	j, bad := 0, 0
	for y := 0; y < got.Height; y++ {
		k := j
		for k < want.Height && k < j+64 && !bytes.Equal(got.Row(y), want.Row(k)) {
			k++
		}
		if k < want.Height && k < j+64 {
			j = k + 1
		} else {
			bad++
		}
	}
	t.Logf("%d of %d rows received, %d not sent, %d reported bad", got.Height, want.Height, bad, badRows)
	if badRows >= 0 {
		require.LessOrEqual(t, bad, badRows, "rows that were never sent and not reported bad")
	}
	require.GreaterOrEqual(t, got.Height, want.Height*9/10, "too many rows lost")
}

// TestAudioCall holds faxkit-to-faxkit calls over AudioMedia (G.711 RTP on
// 127.0.0.1, faxkit's modems at both ends) through NewCall: the pages
// arrive pixel-exact, and the reports carry the audio path's statistics
// and the receiver's per-page signal measurements.
func TestAudioCall(t *testing.T) {
	if testing.Short() {
		t.Skip("runs on the line's clock (scaled)")
	}
	t.Parallel()
	var wg sync.WaitGroup
	defer wg.Wait()
	for _, c := range []struct {
		name  string
		call  audioCall
		modem string
		rate  int
	}{
		{"PCMA-ECM-V17", audioCall{opts: &faxkit.AudioOptions{Codec: faxkit.PCMA, JitterDepth: testDepth}, pages: 2, rows: 600}, "V.17", 14400},
		{"PCMU-nonECM-V27ter", audioCall{fax: faxkit.FaxOptions{DisableECM: true, MaxBitRate: 4800},
			opts: &faxkit.AudioOptions{JitterDepth: testDepth, Stream: &faxkit.RTPStream{SSRC: 0x1234, Seq: 65530, Timestamp: 0xffffff00}}, pages: 1, rows: 500}, "V.27ter", 4800},
	} {
		concurrently(&wg, t, c.name, func(t *testing.T) {
			srep, rrep, _ := runAudioCall(t, c.call)
			for _, rep := range []faxkit.Report{srep, rrep} {
				require.Equal(t, c.call.pages, rep.Pages)
				require.Equal(t, c.rate, rep.BitRate)
				require.Len(t, rep.Media, 1)
				m := rep.Media[0]
				require.Equal(t, "audio", m.Kind)
				require.NotNil(t, m.Audio)
				require.Nil(t, m.T38)
				require.Positive(t, m.Network.PacketsIn)
				require.Positive(t, m.Network.PacketsOut)
				// One packet per 20 ms of the path's time, each 12 + 160
				// octets.
				require.Equal(t, 172*m.Network.PacketsOut, m.Network.BytesOut)
				require.InDelta(t, float64(m.To-m.From)/float64(20*time.Millisecond), float64(m.Network.PacketsOut), 0.05*float64(m.Network.PacketsOut))
				require.Len(t, rep.PageStats, c.call.pages)
				for _, p := range rep.PageStats {
					require.Equal(t, c.modem, p.Modem)
					require.Equal(t, c.rate, p.BitRate)
				}
			}
			if st := c.call.opts.Stream; st != nil {
				// The stream continued from where it was given, one
				// sequence number and 160 timestamp units a packet.
				a := srep.Media[0]
				require.Equal(t, st.SSRC, a.Audio.Stream.SSRC)
				require.Equal(t, st.Seq+uint16(a.Network.PacketsOut), a.Audio.Stream.Seq)
				require.Equal(t, st.Timestamp+160*uint32(a.Network.PacketsOut), a.Audio.Stream.Timestamp)
			}
			require.Positive(t, rrep.Media[0].Audio.Trainings)
			for _, p := range rrep.PageStats {
				require.NotNil(t, p.Signal, "received on audio: measured")
				// Sent at −10 dBm0; the path is G.711 only.
				require.InDelta(t, -10, p.Signal.Level, 2)
				require.Greater(t, p.Signal.SNR, 20.0)
				require.InDelta(t, 0, p.Signal.CarrierOffset, 2)
			}
			for _, p := range srep.PageStats {
				require.Nil(t, p.Signal, "sent pages are measured by the far end")
			}
		})
	}
}

// concurrently runs the subtest f in a goroutine of its own: the audio
// calls run in real time and mostly wait, so all of a test's calls run
// at once (t.Parallel would hold them to -parallel, GOMAXPROCS, at a
// time).
func concurrently(wg *sync.WaitGroup, t *testing.T, name string, f func(t *testing.T)) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		t.Run(name, f)
	}()
}

// TestAudioSwapToT38 starts a call on audio at both ends and moves it to
// T.38 in phase B, as a re-INVITE to T.38 after the fax tones does: the
// call completes on T.38 with the pages intact and both paths in the
// reports.
func TestAudioSwapToT38(t *testing.T) {
	if testing.Short() {
		t.Skip("runs on the line's clock (scaled)")
	}
	t.Parallel()
	srep, rrep, _ := runAudioCall(t, audioCall{pages: 1, rows: 900, swapTo: true, opts: &faxkit.AudioOptions{JitterDepth: testDepth}})
	for _, rep := range []faxkit.Report{srep, rrep} {
		require.Len(t, rep.Media, 2)
		require.Equal(t, "audio", rep.Media[0].Kind)
		require.Equal(t, "t38", rep.Media[1].Kind)
		require.NotNil(t, rep.Media[0].Audio)
		require.Positive(t, rep.Media[0].Network.PacketsOut, "phase A/B went over audio")
		require.Positive(t, rep.Media[1].T38.IFPSent+rep.Media[1].T38.IFPReceived)
		require.Equal(t, 1, rep.Pages)
		require.Nil(t, rep.PageStats[0].Signal, "the page came over T.38")
	}
}

// TestAudioOptionsRejected: bad audio settings keep the call from starting.
func TestAudioOptionsRejected(t *testing.T) {
	a, b := udpPair(t)
	for _, o := range []faxkit.AudioOptions{
		{Codec: 7},
		{PayloadType: 128},
		{JitterDepth: 26},
		{Modems: t30.ModemSet(1 << 7)}, // no modem of ours
	} {
		c, err := faxkit.NewCall(faxkit.CallConfig{Sink: &memSink{}})
		require.NoError(t, err)
		require.ErrorIs(t, c.Start(context.Background(), faxkit.AudioMedia(a, b.LocalAddr(), &o)), faxkit.ErrOptions, "%+v", o)
	}
	c, err := faxkit.NewCall(faxkit.CallConfig{Sink: &memSink{}})
	require.NoError(t, err)
	require.ErrorIs(t, c.Start(context.Background(), faxkit.AudioMedia(a, nil, nil)), faxkit.ErrNoPeer)
	for s, want := range map[string]faxkit.AudioCodec{"pcmu": faxkit.PCMU, "PCMA": faxkit.PCMA} {
		got, err := faxkit.ParseAudioCodec(s)
		require.NoError(t, err)
		require.Equal(t, want, got)
		require.Equal(t, want.String(), got.String())
	}
	_, err = faxkit.ParseAudioCodec("g729")
	require.ErrorIs(t, err, faxkit.ErrOptions)
}
