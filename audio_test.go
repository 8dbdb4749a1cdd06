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
	"github.com/faxkit/faxkit/internal/audiopeer"
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

// skipRealTime skips a test of real-time audio calls under the race
// detector or -short.
func skipRealTime(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs on the line's clock (scaled)")
	}
	if raceEnabled {
		t.Skip("real-time audio calls: too slow under the race detector (scripts/test.sh runs them without it)")
	}
}

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
	// toRx, when set, impairs what the receiver hears (the call goes
	// through an audiopeer.Relay).
	toRx *audiopeer.Impairment
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
	speedup := audioSpeedup
	if c.toRx != nil {
		// Through the relay, whose jitter and the ends' buffers are
		// scaled too: a busy machine's delays must stay below them.
		speedup = min(speedup, 2)
	}
	clk := newScaledClock(speedup)
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(float64(4*time.Minute)/speedup))
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
	toB, toA := b.LocalAddr(), a.LocalAddr()
	if c.toRx != nil {
		codec := faxkit.PCMU
		if c.opts != nil {
			codec = c.opts.Codec
		}
		relay := audiopeer.NewRelay(t, audiopeer.RelayConfig{AtoB: *c.toRx, PCMA: codec == faxkit.PCMA,
			Speedup: speedup, Seed: uint64(len(t.Name()))})
		toB, toA = relay.AddrA(), relay.AddrB()
	}
	require.NoError(t, receiver.Start(ctx, faxkit.AudioMedia(b, toA, c.opts)))
	require.NoError(t, sender.Start(ctx, faxkit.AudioMedia(a, toB, c.opts)))
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
			samePageLossy(t, p, sink.pages[i], rrep.PageStats[i].BadRows, rrep.PageStats[i].RowsUncertain)
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

// samePageLossy compares a page received without ECM with the page sent.
// A lost RTP packet takes its 20 ms of bits with it: the receiver marks
// the gap as rows reported bad, as many as it estimates the bits held
// (PageStats.RowsUncertain says the count is a guess). When the count is
// certain, row y must be sent row y or a row reported bad; otherwise the
// received rows are aligned with the sent ones (the longest common
// subsequence of rows, within 64 rows of the diagonal) and every received
// row left out must be one reported bad; no more than a tenth of the
// rows may vanish or appear. badRows < 0 (a peer that does not say)
// checks the count of rows only.
func samePageLossy(t *testing.T, want, got *t4.Bitmap, badRows int, uncertain bool) {
	t.Helper()
	require.Equal(t, want.Width, got.Width)
	bad := 0
	if !uncertain {
		require.Equal(t, want.Height, got.Height, "rows (the count is certain)")
		for y := 0; y < got.Height; y++ {
			if !bytes.Equal(got.Row(y), want.Row(y)) {
				bad++
			}
		}
	} else {
		bad = got.Height - alignedRows(want, got, 64)
		require.InDelta(t, want.Height, got.Height, float64(want.Height)/10, "too many rows lost or added")
	}
	t.Logf("%d of %d rows received (uncertain %v), %d not the sent rows, %d reported bad", got.Height, want.Height, uncertain, bad, badRows)
	if badRows >= 0 {
		require.LessOrEqual(t, bad, badRows, "rows that were never sent and not reported bad")
	}
}

// alignedRows returns the length of the longest common subsequence of the
// rows of a and b, with rows i of a and j of b paired only when |i-j| <=
// band.
func alignedRows(a, b *t4.Bitmap, band int) int {
	hash := func(m *t4.Bitmap) []string {
		h := make([]string, m.Height)
		for y := range h {
			h[y] = string(m.Row(y))
		}
		return h
	}
	ra, rb := hash(a), hash(b)
	w := 2*band + 1
	// dp[i][k] is the LCS of a[:i] and b[:j] with j = i+k-band.
	prev, cur := make([]int, w), make([]int, w)
	at := func(row []int, i, j int) int {
		k := j - i + band
		if j < 0 || i < 0 || k < 0 || k >= w {
			return -1
		}
		if i == 0 || j == 0 {
			return 0
		}
		return row[k]
	}
	best := 0
	for i := 1; i <= len(ra); i++ {
		for k := range w {
			j := i + k - band
			if j < 1 || j > len(rb) {
				cur[k] = 0
				continue
			}
			v := max(0, at(prev, i-1, j), at(cur, i, j-1))
			if ra[i-1] == rb[j-1] {
				v = max(v, at(prev, i-1, j-1)+1)
			}
			cur[k] = v
			best = max(best, v)
		}
		prev, cur = cur, prev
	}
	return best
}

// TestAudioCall holds faxkit-to-faxkit calls over AudioMedia (G.711 RTP on
// 127.0.0.1, faxkit's modems at both ends) through NewCall: the pages
// arrive pixel-exact, and the reports carry the audio path's statistics
// and the receiver's per-page signal measurements.
func TestAudioCall(t *testing.T) {
	skipRealTime(t)
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
		{"PCMU-ECM-9600-ptime10", audioCall{fax: faxkit.FaxOptions{MaxBitRate: 9600}, opts: &faxkit.AudioOptions{JitterDepth: testDepth, PTime: 10 * time.Millisecond,
			Stream: &faxkit.RTPStream{SSRC: 0x99, Seq: 1, Timestamp: 0xfffffe00}}, pages: 1, rows: 500}, "V.17", 9600},
		{"PCMA-nonECM-V17-ptime30", audioCall{fax: faxkit.FaxOptions{DisableECM: true}, opts: &faxkit.AudioOptions{Codec: faxkit.PCMA, JitterDepth: testDepth, PTime: 30 * time.Millisecond},
			pages: 1, rows: 500}, "V.17", 14400},
		{"PCMU-ECM-V17-ptime40-ANSam", audioCall{opts: &faxkit.AudioOptions{JitterDepth: testDepth, PTime: 40 * time.Millisecond, ANSam: true}, pages: 1, rows: 500}, "V.17", 14400},
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
				// One packet per packet time of the path's time, each 12
				// octets of header and 8 of payload a millisecond.
				ptime := c.call.opts.PTime
				if ptime == 0 {
					ptime = 20 * time.Millisecond
				}
				size := uint64(12 + 8*ptime/time.Millisecond)
				require.Equal(t, size*m.Network.PacketsOut, m.Network.BytesOut)
				require.Equal(t, size*m.Network.PacketsIn, m.Network.BytesIn)
				require.InDelta(t, float64(m.To-m.From)/float64(ptime), float64(m.Network.PacketsOut), 0.05*float64(m.Network.PacketsOut))
				require.Len(t, rep.PageStats, c.call.pages)
				for _, p := range rep.PageStats {
					require.Equal(t, c.modem, p.Modem)
					require.Equal(t, c.rate, p.BitRate)
				}
			}
			if st := c.call.opts.Stream; st != nil {
				// The stream continued from where it was given, one
				// sequence number and a packet's samples of timestamp a
				// packet.
				a := srep.Media[0]
				per := uint32(160)
				if p := c.call.opts.PTime; p != 0 {
					per = uint32(p / (time.Second / 8000))
				}
				require.Equal(t, st.SSRC, a.Audio.Stream.SSRC)
				require.Equal(t, st.Seq+uint16(a.Network.PacketsOut), a.Audio.Stream.Seq)
				require.Equal(t, st.Timestamp+per*uint32(a.Network.PacketsOut), a.Audio.Stream.Timestamp)
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

// TestAudioCallLoss holds faxkit-to-faxkit calls through a relay that
// loses packets toward the receiver: without ECM, one packet in the middle
// of the page and 0.5 % with 20 ms of jitter, the pages compared with the
// sent ones row by row (runAudioCall: rows not reported bad are the sent
// rows); with ECM, the pages exact and the receiver's count of frames it
// asked for again matching the sender's.
func TestAudioCallLoss(t *testing.T) {
	skipRealTime(t)
	t.Parallel()
	var wg sync.WaitGroup
	defer wg.Wait()
	// The loss spares the first 1.5 s of each signal: a packet lost in
	// an image modem's training (V.17's long one, before TCF, is 1.4 s)
	// costs the training, which no receiver here rides through (modem/fax
	// doc, Not yet); the ECM call's seed hit it in its first TCF.
	lossy := audiopeer.Impairment{Loss: 0.005, Jitter: 20 * time.Millisecond, Spare: 1500 * time.Millisecond}
	for _, c := range []struct {
		name string
		call audioCall
	}{
		{"nonECM-V17-one-packet-lost", audioCall{fax: faxkit.FaxOptions{DisableECM: true}, rows: 1200, pages: 1,
			opts: &faxkit.AudioOptions{JitterDepth: testDepth}, toRx: &audiopeer.Impairment{DropOnce: 4 * time.Second}}},
		{"nonECM-9600-loss", audioCall{fax: faxkit.FaxOptions{DisableECM: true, MaxBitRate: 9600}, pages: 1,
			opts: &faxkit.AudioOptions{Codec: faxkit.PCMA, JitterDepth: testDepth}, toRx: &lossy}},
		{"ECM-9600-loss", audioCall{fax: faxkit.FaxOptions{MaxBitRate: 9600}, pages: 2,
			opts: &faxkit.AudioOptions{JitterDepth: testDepth}, toRx: &lossy}},
	} {
		concurrently(&wg, t, c.name, func(t *testing.T) {
			srep, rrep, _ := runAudioCall(t, c.call)
			a := rrep.Media[0].Audio
			require.Positive(t, a.Missing, "nothing was lost: the test tests nothing")
			if c.call.toRx.DropOnce > 0 && a.Missing == 1 {
				// The one packet was lost 4 s into the page burst (after its
				// training and TCF, 2.9 s at V.17), in the page data.
				require.Positive(t, rrep.PageStats[0].BadRows)
				require.True(t, rrep.PageStats[0].RowsUncertain)
			}
			if !c.call.fax.DisableECM {
				resent, repeated := 0, 0
				for i, p := range rrep.PageStats {
					require.Equal(t, srep.PageStats[i].PPRs, p.PPRs, "PPRs the receiver sent and the sender heard")
					require.GreaterOrEqual(t, p.FramesRepeated, p.PPRs)
					resent += srep.PageStats[i].FramesResent
					repeated += p.FramesRepeated
				}
				t.Logf("frames resent %d, received again %d", resent, repeated)
				require.LessOrEqual(t, repeated, resent)
				require.Equal(t, repeated, a.FramesRepeated)
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
	skipRealTime(t)
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
		{PTime: 25 * time.Millisecond},
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

// TestAlignedRows checks the page comparison of the lossy audio tests:
// rows lost, rows added, rows changed.
func TestAlignedRows(t *testing.T) {
	page := func(rows ...byte) *t4.Bitmap {
		b := t4.NewBitmap(8, len(rows))
		for y, v := range rows {
			b.Row(y)[0] = v
		}
		return b
	}
	sent := page(1, 2, 3, 4, 5, 6, 7, 8)
	for _, c := range []struct {
		got  *t4.Bitmap
		want int
	}{
		{page(1, 2, 3, 4, 5, 6, 7, 8), 8},
		{page(1, 2, 9, 9, 9, 6, 7, 8), 5},    // three rows lost, three bad in their place
		{page(1, 2, 9, 6, 7, 8), 5},          // three lost, one bad
		{page(1, 2, 3, 9, 9, 4, 5, 6, 7), 7}, // two bad added
		{page(8, 7, 6, 5), 1},                // out of order
	} {
		require.Equal(t, c.want, alignedRows(sent, c.got, 2))
	}
}
