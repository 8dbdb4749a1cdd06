package t38

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"runtime"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit/internal/clock"
	"github.com/faxkit/faxkit/t30"
	"github.com/faxkit/faxkit/t4"
	"github.com/faxkit/faxkit/transport"
)

// scaledClock runs k times faster than the system clock, so that T.30's
// timers (T4 = 3 s) and real-time pacing cost 1/k of their wall time.
type scaledClock struct {
	start time.Time
	k     float64
}

func newScaledClock(k float64) *scaledClock { return &scaledClock{start: time.Now(), k: k} }

func (c *scaledClock) Now() time.Time {
	return c.start.Add(time.Duration(float64(time.Since(c.start)) * c.k))
}

func (c *scaledClock) NewTimer(d time.Duration) clock.Timer {
	return realTimer{time.NewTimer(time.Duration(float64(d) / c.k))}
}

type realTimer struct{ t *time.Timer }

func (t realTimer) C() <-chan time.Time { return t.t.C }
func (t realTimer) Stop() bool          { return t.t.Stop() }

// testPage draws a deterministic page with text-like strokes that differ by n.
func testPage(n, width, height int) *t4.Bitmap {
	b := t4.NewBitmap(width, height)
	for y := 0; y < height; y++ {
		if (y/12)%3 == 2 {
			continue
		}
		row := b.Row(y)
		for x := 0; x < width; x++ {
			v := (x*7 + y*3 + n*131) % 97
			if (x/9+y/12+n)%5 == 0 && v < 40 {
				row[x/8] |= 0x80 >> (x % 8)
			}
		}
	}
	for y := 5; y < 30 && y < height; y++ {
		for x := 40 + n*20; x < 50+n*20 && x < width; x++ {
			b.Row(y)[x/8] |= 0x80 >> (x % 8)
		}
	}
	return b
}

func testDoc(pages, height int, res t30.Resolution) *t30.BitmapDocument {
	d := &t30.BitmapDocument{Resolution: res, Width: t30.WidthA4}
	for i := 0; i < pages; i++ {
		d.Pages = append(d.Pages, testPage(i, 1728, height))
	}
	return d
}

// callSpec describes a faxkit-to-faxkit call over two Terminals.
type callSpec struct {
	pages, height int
	ecm           bool
	comp          t30.Compression // the best coding the sender offers
	term          TerminalConfig  // both terminals (Clock is set by the call)
	imp           [2]transport.Impairment
	udp           bool    // real UDP sockets on loopback instead of a pipe
	rtp           bool    // IFP over RTP (transport.RTPConn) instead of UDPTL
	speed         float64 // clock speed-up; 0 means 20
	timeout       time.Duration
}

type callOutcome struct {
	tx, rx           t30.Result
	txStats, rxStats t30.Stats
	got              []t30.ReceivedPage
	doc              *t30.BitmapDocument
	term             [2]TerminalStats
	wall             time.Duration
}

func capsFor(ecm bool, comp t30.Compression) *t30.Capabilities {
	c := t30.DefaultCapabilities()
	c.ECM = ecm
	c.MR = comp >= t30.MR
	c.MMR = comp >= t30.MMR
	return &c
}

// endpoints returns a connected pair: an impaired in-memory pipe, or two
// UDP sockets on 127.0.0.1 wrapped in the impairment.
func endpoints(t testing.TB, spec callSpec) (a, b transport.Endpoint) {
	t.Helper()
	if !spec.udp {
		pa, pb := transport.PipeEndpoints(&transport.PipeConfig{AToB: spec.imp[0], BToA: spec.imp[1], QueueLen: 4096})
		return pa, pb
	}
	ca, err := net.ListenPacket("udp4", "127.0.0.1:0")
	require.NoError(t, err)
	cb, err := net.ListenPacket("udp4", "127.0.0.1:0")
	require.NoError(t, err)
	ia := transport.Impair(ca, &transport.ImpairConfig{Send: spec.imp[0]})
	ib := transport.Impair(cb, &transport.ImpairConfig{Send: spec.imp[1]})
	return transport.NewConn(ia, cb.LocalAddr(), nil), transport.NewConn(ib, ca.LocalAddr(), nil)
}

// runCall holds the call. Over the in-memory pipe it runs in a synctest
// bubble, on virtual time: T.30's timers and pacing cost no wall time,
// and a loaded machine cannot make a side miss its timers. Over UDP it
// runs on a clock spec.speed times faster than real time.
func runCall(t *testing.T, spec callSpec) callOutcome {
	t.Helper()
	if spec.udp {
		if spec.speed == 0 {
			spec.speed = 20
		}
		return runCallOn(t, spec, newScaledClock(spec.speed))
	}
	if spec.timeout == 0 {
		spec.timeout = 20 * time.Minute // of virtual time
	}
	var out callOutcome
	synctest.Test(t, func(t *testing.T) { out = runCallOn(t, spec, clock.Real()) })
	return out
}

func runCallOn(t testing.TB, spec callSpec, clk clock.Clock) callOutcome {
	t.Helper()
	if spec.height == 0 {
		spec.height = 300
	}
	if spec.pages == 0 {
		spec.pages = 1
	}
	if spec.comp == 0 {
		spec.comp = t30.MR
	}
	if spec.speed == 0 {
		spec.speed = 20
	}
	if spec.timeout == 0 {
		spec.timeout = 60 * time.Second
	}
	out := callOutcome{doc: testDoc(spec.pages, spec.height, t30.ResFine)}
	epA, epB := endpoints(t, spec)
	if spec.rtp {
		epA = transport.NewRTPConn(epA, nil)
		epB = transport.NewRTPConn(epB, nil)
	}
	defer epA.Close()
	defer epB.Close()
	cfg := spec.term
	cfg.Clock = clk
	ta, err := NewTerminal(epA, cfg)
	require.NoError(t, err)
	cfg.FirstSeq = 40000
	tb, err := NewTerminal(epB, cfg)
	require.NoError(t, err)

	txs, err := t30.NewSession(t30.Config{Calling: true, Transmit: true, Document: out.doc,
		Capabilities: capsFor(spec.ecm, spec.comp), LocalIdent: "+1 555 0100"})
	require.NoError(t, err)
	var mu sync.Mutex
	rxs, err := t30.NewSession(t30.Config{LocalIdent: "+1 555 0199", Capabilities: capsFor(spec.ecm, t30.MMR),
		OnPage: func(p t30.ReceivedPage) error {
			mu.Lock()
			out.got = append(out.got, p)
			mu.Unlock()
			return nil
		}})
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), spec.timeout)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		out.rx = t30.Run(ctx, rxs, tb, clk)
	}()
	out.tx = t30.Run(ctx, txs, ta, clk)
	wg.Wait()
	out.wall = time.Since(start)
	require.NoError(t, ta.Close())
	require.NoError(t, tb.Close())
	out.txStats, out.rxStats = txs.Stats(), rxs.Stats()
	out.term = [2]TerminalStats{ta.Stats(), tb.Stats()}
	if ctx.Err() != nil {
		t.Fatalf("call did not end within %v of wall time (tx %v, rx %v)", spec.timeout, out.tx, out.rx)
	}
	return out
}

// checkPages compares every received page with the sent one, pixel for
// pixel; rows may differ only as far as the receiver reported bad rows.
func checkPages(t testing.TB, o callOutcome) {
	t.Helper()
	require.Len(t, o.got, len(o.doc.Pages), "pages received")
	for i, rp := range o.got {
		want := o.doc.Pages[i]
		b, st, err := t4.DecodePage(bytes.NewReader(rp.Data), want.Width, &t4.DecodeOptions{
			Compression: t30.T4Compression(rp.Mode.Compression), BitOrder: t4.LSBFirst})
		require.NoError(t, err, "page %d", i+1)
		diff := 0
		for y := 0; y < max(b.Height, want.Height); y++ {
			if y >= b.Height || y >= want.Height || !bytes.Equal(b.Row(y), want.Row(y)) {
				diff++
			}
		}
		if rp.Mode.ECM {
			require.Zero(t, diff, "page %d: ECM page differs in %d rows", i+1, diff)
			require.Zero(t, st.BadRows, "page %d", i+1)
			continue
		}
		require.LessOrEqual(t, diff, rp.Quality.BadRows, "page %d: %d rows differ, %d reported bad", i+1, diff, rp.Quality.BadRows)
	}
}

// goroutines waits for the goroutine count to fall back to n.
func checkGoroutines(t testing.TB, n int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("goroutines leaked: %d > %d\n%s", runtime.NumGoroutine(), n, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestTerminalCall(t *testing.T) {
	type tc struct {
		name string
		spec callSpec
	}
	var cases []tc
	for _, v := range []Version{0, 3} {
		for _, ecm := range []bool{false, true} {
			for _, comp := range []t30.Compression{t30.MH, t30.MR, t30.MMR} {
				if comp == t30.MMR && !ecm {
					continue
				}
				for _, pages := range []int{1, 3} {
					cases = append(cases, tc{fmt.Sprintf("v%d/ecm=%v/%v/%dp", v, ecm, comp, pages), callSpec{
						pages: pages, ecm: ecm, comp: comp,
						term: TerminalConfig{Version: v, EC: ECRedundancy, Pacing: PacingNone}}})
				}
			}
		}
	}
	cases = append(cases,
		tc{"udp/v0/ecm/mmr/3p", callSpec{pages: 3, ecm: true, comp: t30.MMR, udp: true,
			term: TerminalConfig{EC: ECRedundancy, Pacing: PacingNone}}},
		tc{"udp/v3/non-ecm/mr/1p/fec", callSpec{pages: 1, ecm: false, comp: t30.MR, udp: true,
			term: TerminalConfig{Version: 3, EC: ECFEC, Pacing: PacingNone}}},
		tc{"pipe/ifp-encapsulation", callSpec{pages: 1, ecm: true, comp: t30.MMR,
			term: TerminalConfig{Encapsulation: EncapIFP, Pacing: PacingNone}}},
		tc{"udp/rtp/v3/ecm/mmr/2p", callSpec{pages: 2, ecm: true, comp: t30.MMR, udp: true, rtp: true,
			term: TerminalConfig{Version: 3, Encapsulation: EncapIFP, Pacing: PacingNone}}},
		tc{"pipe/fill-bit-removal", callSpec{pages: 2, ecm: false, comp: t30.MR,
			term: TerminalConfig{FillBitRemoval: true, Pacing: PacingNone}}},
	)
	base := runtime.NumGoroutine()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := runCall(t, c.spec)
			require.Equal(t, t30.ResultOK, o.tx, "sender result (receiver %v)", o.rx)
			require.Equal(t, t30.ResultOK, o.rx, "receiver result")
			require.Equal(t, c.spec.ecm, o.rxStats.ECM)
			require.Equal(t, c.spec.comp, o.rxStats.Compression)
			require.Equal(t, c.spec.pages, o.txStats.Pages)
			checkPages(t, o)
		})
	}
	checkGoroutines(t, base)
}

// TestRemoveFillBits: pages coded with fill for a 20 ms minimum scan line
// time shrink when the fill is removed and decode to the same pixels.
func TestRemoveFillBits(t *testing.T) {
	p := testPage(1, 1728, 200)
	for _, c := range []t4.Compression{t4.MH, t4.MR} {
		for _, align := range []bool{false, true} {
			filled, err := t4.AppendPage(nil, p, &t4.EncodeOptions{Compression: c, K: 4, BitOrder: t4.LSBFirst,
				MinRowBits: 14400 * 40 / 1000, AlignEOL: align})
			require.NoError(t, err)
			plain, err := t4.AppendPage(nil, p, &t4.EncodeOptions{Compression: c, K: 4, BitOrder: t4.LSBFirst})
			require.NoError(t, err)
			out := removeFillBits(nil, filled)
			require.Less(t, len(out), len(filled)*3/4, "%v align=%v", c, align)
			require.LessOrEqual(t, len(out), len(plain)+len(plain)/20+8)
			b, st, err := t4.DecodePage(bytes.NewReader(out), 1728, &t4.DecodeOptions{Compression: c, BitOrder: t4.LSBFirst})
			require.NoError(t, err)
			require.Zero(t, st.BadRows)
			require.True(t, b.Equal(p), "%v align=%v: pixels differ after fill-bit removal", c, align)
		}
	}
}
