package sip_test

// Interop of faxkit's sip package with sipfaxpeer, an independent SIP + T.38
// fax endpoint on sofia-sip (the SIP stack FreeSWITCH grew from) and
// libspandsp's T.38 terminal (internal/sippeer), on 127.0.0.1. spandsp's T.30
// runs on its accelerated clock and faxkit's on a clock sped up to match;
// SIP timers run in real time on both sides. Every received page is
// compared pixel for pixel with the sent one through libtiff.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit"
	"github.com/faxkit/faxkit/internal/clock"
	"github.com/faxkit/faxkit/internal/peertest"
	"github.com/faxkit/faxkit/internal/sippeer"
	"github.com/faxkit/faxkit/sdp"
	"github.com/faxkit/faxkit/sip"
	"github.com/faxkit/faxkit/t38"
	"github.com/faxkit/faxkit/tiff"
)

// interopSpeedup is how much faster than real time T.30 runs on both
// sides of an interop call: 10, or 4 under the race detector.
var interopSpeedup = func() float64 {
	if interopRace {
		return 4
	}
	return 10
}()

// callSlots bounds how many interop fax calls run at once, so that
// T.30's accelerated timing holds on a loaded two-core machine.
var callSlots = make(chan struct{}, func() int {
	if interopRace {
		return 2
	}
	return 4
}())

// callSlot takes a slot for the rest of the test.
func callSlot(t testing.TB) {
	t.Helper()
	callSlots <- struct{}{}
	t.Cleanup(func() { <-callSlots })
}

// fullInterop says whether every interop case runs: always without the
// race detector, under it only with FAXKIT_SIP_FULL=1.
func fullInterop() bool { return !interopRace || os.Getenv("FAXKIT_SIP_FULL") == "1" }

// scaledClock runs k times faster than the system clock.
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

// interopSource is the page every interop call sends: ITU-T test chart 1
// from the shared reference data.
func interopSource(t testing.TB) string {
	t.Helper()
	return filepath.Join(peertest.SharedTestdata(t), "ccitt", "itu1.tif")
}

// fkOptions maps the negotiated T.38 parameters onto faxkit's options, as
// an application does.
func fkOptions(p *sdp.T38Params) *faxkit.Options {
	o := &faxkit.Options{
		T38:   faxkit.T38Options{Version: int(p.Version), MaxDatagram: sdp.NormalizeMaxDatagram(p.MaxDatagram)},
		Clock: newScaledClock(interopSpeedup), Timeout: 300 * time.Second,
	}
	switch p.EC {
	case t38.ECFEC:
		o.T38.ErrorCorrection = faxkit.FEC
	case t38.ECNone:
		o.T38.ErrorCorrection = faxkit.NoEC
	}
	if p.MaxBitRate > 0 && p.MaxBitRate < 14400 {
		o.Fax.MaxBitRate = p.MaxBitRate
	}
	return o
}

// fkOutcome is how a faxkit SIP fax call ended.
type fkOutcome struct {
	rep    faxkit.Report
	err    error
	result sip.Result
	sw     time.Duration
	t38    bool
}

func (o fkOutcome) String() string {
	return fmt.Sprintf("fax ok=%v err=%v sip=%s switch=%v", o.rep.OK, o.err, o.result, o.sw)
}

// fkAwaitT38 reads a call's media changes until T.38.
func fkAwaitT38(ctx context.Context, c *sip.Call) (sip.Media, error) {
	for {
		select {
		case m, ok := <-c.Media():
			if !ok {
				return sip.Media{}, errors.New("call ended before T.38: " + c.Result().String())
			}
			if m.Kind == sdp.KindT38 {
				return m, nil
			}
		case <-ctx.Done():
			return sip.Media{}, ctx.Err()
		}
	}
}

// fkFax runs the application side of a faxkit SIP fax call: wait for T.38,
// send src or receive into rx (a TIFF file) on the call's media socket,
// then FaxDone. The fax is abandoned when the call ends first.
func fkFax(ctx context.Context, c *sip.Call, src, rx string) fkOutcome {
	var o fkOutcome
	m, err := fkAwaitT38(ctx, c)
	if err != nil {
		o.err = err
		o.result = c.Wait(ctx)
		return o
	}
	o.t38 = true
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-c.Done():
			// A peer that hangs up on our last T.30 message (DCN) may
			// be quicker than our own phase E: let the fax end on its
			// own for a moment before abandoning it.
			select {
			case <-time.After(2 * time.Second):
				cancel()
			case <-fctx.Done():
			}
		case <-fctx.Done():
		}
	}()
	if src != "" {
		o.rep, o.err = fkSend(fctx, m, src)
	} else {
		o.rep, o.err = fkReceive(fctx, m, rx)
	}
	c.FaxDone(ctx)
	o.sw, _ = c.SwitchDelay()
	o.result = c.Result()
	return o
}

func fkSend(ctx context.Context, m sip.Media, src string) (faxkit.Report, error) {
	f, err := os.Open(src)
	if err != nil {
		return faxkit.Report{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return faxkit.Report{}, err
	}
	r, err := tiff.NewReader(f, st.Size(), nil)
	if err != nil {
		return faxkit.Report{}, err
	}
	doc, err := faxkit.TIFF(r)
	if err != nil {
		return faxkit.Report{}, err
	}
	return faxkit.Send(ctx, m.Conn, m.Remote, doc, fkOptions(m.T38))
}

func fkReceive(ctx context.Context, m sip.Media, rx string) (faxkit.Report, error) {
	f, err := os.Create(rx)
	if err != nil {
		return faxkit.Report{}, err
	}
	defer f.Close()
	bw := bufio.NewWriter(f)
	w, err := tiff.NewWriter(bw, nil)
	if err != nil {
		return faxkit.Report{}, err
	}
	rep, ferr := faxkit.Receive(ctx, m.Conn, m.Remote, w, fkOptions(m.T38))
	if w.Pages() > 0 {
		if err := w.Close(); err != nil {
			return rep, err
		}
		if err := bw.Flush(); err != nil {
			return rep, err
		}
	}
	return rep, ferr
}

func newEndpoint(t testing.TB, cfg sip.Config) *sip.Endpoint {
	t.Helper()
	e, err := sip.NewEndpoint(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { e.Close() })
	return e
}

// samePages asserts that rx holds src's pages pixel for pixel.
func samePages(t testing.TB, src, rx string) {
	t.Helper()
	if _, err := os.Stat(rx); err != nil {
		t.Errorf("no pages received: %v", err)
		return
	}
	assert.Equal(t, sippeer.PagePixels(t, src), sippeer.PagePixels(t, rx), "received pages differ from the sent ones")
}

// sofiaCase is one call between faxkit and sipfaxpeer.
type sofiaCase struct {
	name      string
	core      bool // runs under the race detector too
	fkCalls   bool // faxkit is the UAC; otherwise sipfaxpeer calls faxkit
	fkSends   bool // faxkit sends the fax; otherwise it receives
	policy    sip.Policy
	peer      sippeer.Config // Role, Send, File, To are filled in
	wantFax   bool           // the fax must get through
	fkResults []sip.Result   // acceptable faxkit call results
	peerExit  int            // sipfaxpeer's exit status when !wantFax
	fkConfig  func(*sip.Config)
	skip      string // why the case is skipped (a known open failure)
	check     func(t *testing.T, fk fkOutcome, peer sippeer.Result)
}

func runSofiaCase(t *testing.T, tc sofiaCase) (fkOutcome, sippeer.Result) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	src := interopSource(t)
	rx := filepath.Join(t.TempDir(), "rx.tif")
	pc := tc.peer
	pc.Speedup = interopSpeedup
	if pc.Timeout == 0 {
		pc.Timeout = 45 * time.Second
	}
	pc.Send = !tc.fkSends
	fkSrc, fkRx := "", rx
	if tc.fkSends {
		fkSrc, pc.File = src, rx
	} else {
		pc.File = src
	}
	cfg := sip.Config{Policy: tc.policy}
	if tc.fkConfig != nil {
		tc.fkConfig(&cfg)
	}
	e := newEndpoint(t, cfg)
	var fk fkOutcome
	var peer *sippeer.Call
	if tc.fkCalls {
		pc.Role = sippeer.UAS
		peer = sippeer.Start(ctx, t, pc)
		logOnFailure(t, peer)
		c, err := e.Dial(ctx, peer.URI("5551234"), nil)
		require.NoError(t, err, "peer log:\n%s", peer.Log())
		assert.Equal(t, 200, c.Status())
		fk = fkFax(ctx, c, fkSrc, fkRx)
	} else {
		pc.Role = sippeer.UAC
		pc.To = e.URI("5551234")
		out := make(chan fkOutcome, 1)
		go func() {
			c, err := e.Accept(ctx)
			if err != nil {
				out <- fkOutcome{err: err}
				return
			}
			if c.To().User() != "5551234" {
				out <- fkOutcome{err: errors.New("dialed number not handed to the application")}
				return
			}
			out <- fkFax(ctx, c, fkSrc, fkRx)
		}()
		peer = sippeer.Start(ctx, t, pc)
		logOnFailure(t, peer)
		fk = <-out
	}
	pr, err := peer.Wait()
	require.NoError(t, err)
	t.Logf("faxkit: %v", fk)
	t.Logf("sipfaxpeer: %+v", pr)
	if tc.wantFax {
		assert.NoError(t, fk.err)
		assert.True(t, fk.rep.OK, "faxkit's fax failed")
		assert.True(t, pr.Delivered(1), "sipfaxpeer: %s", pr.Result)
		assert.Equal(t, "t38", pr.Media)
		assert.Equal(t, 1, pr.Pages)
		samePages(t, src, rx)
		assert.True(t, fk.sw > 0, "no T.38 switch delay measured")
	} else {
		assert.Equal(t, tc.peerExit, pr.Exit, "sipfaxpeer: %s", pr.Result)
	}
	if len(tc.fkResults) > 0 {
		assert.Contains(t, tc.fkResults, fk.result)
	}
	if tc.check != nil {
		tc.check(t, fk, pr)
	}
	return fk, pr
}

// logOnFailure prints the peer's log when the test has failed.
func logOnFailure(t testing.TB, c *sippeer.Call) {
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("sipfaxpeer log:\n%s", c.Log())
		}
	})
}

var ended = []sip.Result{sip.ResultFaxDone, sip.ResultRemoteHangup}

// TestInteropSofia holds SIP fax calls between faxkit and sipfaxpeer both
// ways, with each side in turn sending the re-INVITE to T.38, T.38 in the
// initial INVITE, 488 refusals each way, glare, a refresh re-INVITE with
// identical SDP mid-page, and loss on the UDPTL leg.
func TestInteropSofia(t *testing.T) {
	t.Parallel()
	for _, tc := range []sofiaCase{
		{name: "faxkit-calls-sends-requests", core: true, fkCalls: true, fkSends: true, policy: sip.PolicyRequest,
			peer: sippeer.Config{T38: sippeer.Await}, wantFax: true, fkResults: ended,
			check: func(t *testing.T, fk fkOutcome, p sippeer.Result) {
				assert.Equal(t, 1, p.ReinvitesReceived)
				assert.Zero(t, p.ReinvitesSent)
			}},
		{name: "faxkit-calls-sends-peer-requests", fkCalls: true, fkSends: true, policy: sip.PolicyAwait,
			peer: sippeer.Config{T38: sippeer.Request}, wantFax: true, fkResults: ended,
			check: func(t *testing.T, fk fkOutcome, p sippeer.Result) {
				assert.Equal(t, 1, p.ReinvitesSent)
				assert.Equal(t, 200, p.ReinviteStatus)
			}},
		{name: "faxkit-calls-receives-auto", fkCalls: true, policy: sip.PolicyAuto,
			peer: sippeer.Config{T38: sippeer.Request}, wantFax: true, fkResults: ended},
		{name: "peer-calls-faxkit-receives-requests", core: true, policy: sip.PolicyRequest,
			peer: sippeer.Config{T38: sippeer.Await}, wantFax: true, fkResults: ended,
			check: func(t *testing.T, fk fkOutcome, p sippeer.Result) {
				assert.Equal(t, 1, p.ReinvitesReceived)
			}},
		{name: "peer-calls-and-requests-faxkit-receives", policy: sip.PolicyAwait,
			peer: sippeer.Config{T38: sippeer.Request}, wantFax: true, fkResults: ended,
			check: func(t *testing.T, fk fkOutcome, p sippeer.Result) {
				assert.Equal(t, 200, p.ReinviteStatus)
			}},
		{name: "peer-calls-rfc3264-style-faxkit-sends", fkSends: true, policy: sip.PolicyAwait,
			peer: sippeer.Config{T38: sippeer.Request, SDPBoth: true}, wantFax: true, fkResults: ended},
		{name: "peer-offers-t38-in-invite", core: true, policy: sip.PolicyAuto,
			peer: sippeer.Config{T38: sippeer.Offer}, wantFax: true, fkResults: ended,
			check: func(t *testing.T, fk fkOutcome, p sippeer.Result) {
				assert.Zero(t, p.ReinvitesSent+p.ReinvitesReceived, "T.38 from the start needs no re-INVITE")
			}},
		{name: "faxkit-offers-t38-in-invite", fkCalls: true, fkSends: true, policy: sip.PolicyOffer,
			peer: sippeer.Config{T38: sippeer.Await}, wantFax: true, fkResults: ended,
			check: func(t *testing.T, fk fkOutcome, p sippeer.Result) {
				assert.Zero(t, p.ReinvitesReceived)
			}},
		{name: "peer-refuses-488", core: true, fkCalls: true, fkSends: true, policy: sip.PolicyRequest,
			peer: sippeer.Config{T38: sippeer.Reject}, peerExit: sippeer.ExitRefused,
			fkResults: []sip.Result{sip.ResultT38Refused},
			check: func(t *testing.T, fk fkOutcome, p sippeer.Result) {
				assert.Equal(t, 1, p.ReinvitesRejected)
				assert.True(t, p.ByeReceived, "faxkit must hang up a refused call")
			}},
		{name: "faxkit-refuses-488", core: true, policy: sip.PolicyOff,
			peer: sippeer.Config{T38: sippeer.Request}, peerExit: sippeer.ExitRefused,
			check: func(t *testing.T, fk fkOutcome, p sippeer.Result) {
				assert.Equal(t, 488, p.ReinviteStatus)
			}},
		{name: "glare-faxkit-calls", core: true, fkCalls: true, fkSends: true, policy: sip.PolicyRequest,
			peer: sippeer.Config{T38: sippeer.Request}, wantFax: true, fkResults: ended,
			check: func(t *testing.T, fk fkOutcome, p sippeer.Result) {
				t.Logf("491s: peer received %d", p.Glare491Received)
			}},
		{name: "glare-peer-calls", policy: sip.PolicyRequest,
			peer: sippeer.Config{T38: sippeer.Request}, wantFax: true, fkResults: ended,
			check: func(t *testing.T, fk fkOutcome, p sippeer.Result) {
				t.Logf("491s: peer received %d", p.Glare491Received)
			}},
		{name: "refresh-mid-page-peer-sends", core: true, policy: sip.PolicyAwait,
			peer: sippeer.Config{T38: sippeer.Request, RefreshAfter: 40}, wantFax: true, fkResults: ended,
			check: func(t *testing.T, fk fkOutcome, p sippeer.Result) {
				assert.Equal(t, 1, p.RefreshSent)
				assert.Equal(t, 200, p.RefreshStatus, "faxkit must answer an identical-SDP re-INVITE with 200")
			}},
		{name: "refresh-mid-page-faxkit-sends", fkCalls: true, fkSends: true, policy: sip.PolicyRequest,
			peer: sippeer.Config{T38: sippeer.Await, RefreshAfter: 40}, wantFax: true, fkResults: ended,
			check: func(t *testing.T, fk fkOutcome, p sippeer.Result) {
				assert.Equal(t, 1, p.RefreshSent)
				assert.Equal(t, 200, p.RefreshStatus)
			}},
		// SIP over TCP both ways.
		{name: "tcp-faxkit-calls-sends", fkCalls: true, fkSends: true, policy: sip.PolicyRequest,
			fkConfig: func(c *sip.Config) { c.Transport = "tcp" },
			peer:     sippeer.Config{T38: sippeer.Await, TCP: true}, wantFax: true, fkResults: ended},
		{name: "tcp-peer-calls-faxkit-receives", policy: sip.PolicyAuto,
			fkConfig: func(c *sip.Config) { c.Transport = "tcp" },
			peer:     sippeer.Config{T38: sippeer.Request, TCP: true}, wantFax: true, fkResults: ended},
		// RFC 4028 with faxkit as refresher: sofia's nua negotiates a 2 s
		// session (it hangs up when a refresh it awaits does not come);
		// faxkit refreshes by UPDATE every second, mid-page too.
		{name: "session-timer-faxkit-refreshes", fkCalls: true, fkSends: true, policy: sip.PolicyRequest,
			fkConfig: func(c *sip.Config) { c.SessionExpires, c.MinSE = 2*time.Second, time.Second },
			peer:     sippeer.Config{T38: sippeer.Await, MinSE: 1, Refresher: "remote"}, wantFax: true, fkResults: ended,
			check: func(t *testing.T, fk fkOutcome, p sippeer.Result) {
				assert.GreaterOrEqual(t, p.UpdatesReceived, 2, "faxkit refreshes at half the interval")
				t.Logf("refreshes received %d, %d of them while T.30 ran", p.RefreshReceived, p.RefreshMidFax)
			}},
		// ...and with sofia as refresher: faxkit answers its refresh
		// re-INVITEs without touching the fax (sofia refreshes with the
		// call's first, audio, description at its old o= version: a
		// refresh by RFC 3264's rule, which faxkit once took for a move
		// back to audio mid-fax), and its own T.38 re-INVITE keeps sofia
		// the refresher.
		{name: "session-timer-peer-refreshes", policy: sip.PolicyRequest,
			fkConfig: func(c *sip.Config) { c.MinSE = time.Second },
			peer:     sippeer.Config{T38: sippeer.Await, SessionExpires: 2, MinSE: 1, Refresher: "local"}, wantFax: true,
			fkResults: ended,
			check: func(t *testing.T, fk fkOutcome, p sippeer.Result) {
				assert.GreaterOrEqual(t, p.SessionRefreshOK, 2, "sofia refreshes, faxkit answers 200")
				assert.Zero(t, p.UpdatesReceived, "faxkit's T.38 re-INVITE kept sofia the refresher")
			}},
		// RFC 4028 422 from an independent implementation: sofia's nua,
		// with a Min-SE of 1800 s, answers faxkit's INVITE asking for
		// 90 s with 422 Min-SE: 1800; faxkit sends it again asking for
		// 1800 s, and the fax goes through.
		{name: "session-timer-peer-422", fkCalls: true, fkSends: true, policy: sip.PolicyRequest,
			fkConfig: func(c *sip.Config) { c.SessionExpires = 90 * time.Second },
			peer:     sippeer.Config{T38: sippeer.Await, MinSE: 1800}, wantFax: true, fkResults: ended},
		{name: "udptl-loss-10pct-faxkit-receives", core: true, policy: sip.PolicyRequest,
			peer: sippeer.Config{T38: sippeer.Await, Loss: 10, Seed: 3}, wantFax: true, fkResults: ended,
			check: func(t *testing.T, fk fkOutcome, p sippeer.Result) {
				assert.Positive(t, p.PacketsDropped)
			}},
		{name: "udptl-loss-10pct-faxkit-sends", fkCalls: true, fkSends: true, policy: sip.PolicyRequest,
			peer: sippeer.Config{T38: sippeer.Await, Loss: 10, Seed: 4}, wantFax: true, fkResults: ended,
			check: func(t *testing.T, fk fkOutcome, p sippeer.Result) {
				assert.Positive(t, p.PacketsDropped)
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.skip != "" {
				t.Skip(tc.skip)
			}
			if !tc.core && !fullInterop() {
				t.Skip("not a core case: under -race set FAXKIT_SIP_FULL=1 to run it")
			}
			callSlot(t)
			runSofiaCase(t, tc)
		})
	}
}
