package main

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit"
	"github.com/faxkit/faxkit/t30"
	"github.com/faxkit/faxkit/t4"
	"github.com/faxkit/faxkit/tiff"
	"github.com/faxkit/faxkit/transport"
)

func TestNextPlan(t *testing.T) {
	res := func(r t30.Result, rate int, ecm bool) attemptResult {
		return attemptResult{Result: r.String(), BitRate: rate, ECM: ecm}
	}
	for _, c := range []struct {
		name    string
		prev    attemptPlan
		res     attemptResult
		through int
		want    attemptPlan
	}{
		{"busy keeps the plan", attemptPlan{FirstPage: 1}, res(t30.ResultNoAnswer, 0, false), 0, attemptPlan{FirstPage: 1}},
		{"partial: from the first unconfirmed page", attemptPlan{FirstPage: 1}, res(t30.ResultRemoteDisconnect, 14400, true), 2, attemptPlan{FirstPage: 3}},
		{"partial twice", attemptPlan{FirstPage: 3}, res(t30.ResultCallDropped, 14400, true), 4, attemptPlan{FirstPage: 5}},
		{"training failure at 14400: 12000", attemptPlan{FirstPage: 1}, res(t30.ResultTrainingFailed, 14400, false), 0, attemptPlan{FirstPage: 1, MaxRate: 12000}},
		{"training failure at 9600: 7200", attemptPlan{FirstPage: 1, MaxRate: 9600}, res(t30.ResultTrainingFailed, 9600, false), 0, attemptPlan{FirstPage: 1, MaxRate: 7200}},
		{"training failure before any rate: below the cap", attemptPlan{FirstPage: 1, MaxRate: 12000}, res(t30.ResultTrainingFailed, 0, false), 0, attemptPlan{FirstPage: 1, MaxRate: 9600}},
		{"2400 is the floor", attemptPlan{FirstPage: 1, MaxRate: 2400}, res(t30.ResultTrainingFailed, 2400, false), 0, attemptPlan{FirstPage: 1, MaxRate: 2400}},
		{"ECM failure: ECM off", attemptPlan{FirstPage: 1}, res(t30.ResultECMFailure, 14400, true), 1, attemptPlan{FirstPage: 2, ECMOff: true}},
		{"ECM failure without ECM: ECM back on", attemptPlan{FirstPage: 1, ECMOff: true}, res(t30.ResultECMFailure, 9600, false), 0, attemptPlan{FirstPage: 1}},
		{"rejected pages without ECM: ECM on", attemptPlan{FirstPage: 1, ECMOff: true}, res(t30.ResultPageRejected, 14400, false), 0, attemptPlan{FirstPage: 1}},
		{"rejected pages, ECM allowed but absent: slower", attemptPlan{FirstPage: 1}, res(t30.ResultPageRejected, 14400, false), 0, attemptPlan{FirstPage: 1, MaxRate: 12000}},
		{"the cap carries over a later busy", attemptPlan{FirstPage: 1, MaxRate: 9600, ECMOff: true}, res(t30.ResultNoAnswer, 0, false), 0, attemptPlan{FirstPage: 1, MaxRate: 9600, ECMOff: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if d := cmp.Diff(c.want, nextPlan(c.prev, c.res, c.through)); d != "" {
				t.Errorf("(-want +got)\n%s", d)
			}
		})
	}
}

// flakyReceiver answers T.38 calls on loopback: the first call ends with
// DCN right after the receiver confirms page cutAfter; later calls are
// received whole. It keeps the pages of each call.
type flakyReceiver struct {
	mu    sync.Mutex
	calls [][]*t4.Bitmap
}

type pageList struct {
	mu    *sync.Mutex
	pages *[]*t4.Bitmap
}

func (p pageList) WritePage(b *t4.Bitmap, _ *tiff.PageOptions) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	*p.pages = append(*p.pages, b)
	return nil
}

func startFlakyReceiver(t *testing.T, cutAfter int) (*flakyReceiver, string) {
	l, err := transport.Listen("udp", "127.0.0.1:0", nil)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	fr := &flakyReceiver{}
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for n := 0; ; n++ {
			c, err := l.Accept(ctx)
			if err != nil {
				return
			}
			fr.mu.Lock()
			fr.calls = append(fr.calls, nil)
			idx := len(fr.calls) - 1
			fr.mu.Unlock()
			callCtx, cut := context.WithTimeout(ctx, time.Minute)
			opts := &faxkit.Options{}
			opts.Fax.LocalIdent = "+1 555 0142"
			opts.T38.Pacing = faxkit.Unpaced
			if n == 0 {
				mcf := 0
				opts.OnEvent = func(e faxkit.Event) {
					if e.Record.Kind == t30.RecordFrameSent && e.Record.Frame.FCF == t30.FCFMCF {
						if mcf++; mcf == cutAfter {
							cut() // the receiver hangs up (DCN) after confirming
						}
					}
				}
			}
			var pages []*t4.Bitmap
			faxkit.Receive(callCtx, c, c.RemoteAddr(), pageList{&fr.mu, &pages}, opts)
			cut()
			c.Close()
			fr.mu.Lock()
			fr.calls[idx] = pages
			fr.mu.Unlock()
		}
	}()
	return fr, l.Addr().String()
}

// TestPartialDeliveryResentFromFirstUnconfirmedPage: a receiver hangs up
// after confirming page 2 of 4; the retry sends only the pages the sender
// did not see confirmed, and the fax is delivered with every page
// confirmed once.
func TestPartialDeliveryResentFromFirstUnconfirmedPage(t *testing.T) {
	t.Parallel()
	fr, addr := startFlakyReceiver(t, 2)
	e := newEnv(t, func(c *Config) { c.Peers = map[string]string{"+1555": addr} })
	_, alice := e.user("alice", "sender")
	doc, pages := letterTIFF(t, 4)
	code, st, body := e.send(alice, nil, part{name: "to", data: []byte("+15550142")}, part{name: "file", file: "a.tif", data: doc})
	require.Equal(t, http.StatusAccepted, code, "%s", body)
	st = e.wait(alice, st.ID, func(s FaxStatus) bool { return s.Status == statusDelivered || s.Status == statusFailed })
	require.Equal(t, statusDelivered, st.Status, "%+v", st.Attempts)
	require.Len(t, st.Attempts, 2)
	// The receiver hangs up once it has sent MCF for page 2; whether
	// that MCF reached the sender before the DCN depends on timing (on a
	// loaded machine it may not), so the confirmed count k is 1 or 2.
	k := st.Attempts[0].Pages
	require.Equal(t, 1, st.Attempts[0].FirstPage)
	require.Contains(t, []int{1, 2}, k, "pages confirmed before the hang-up")
	require.NotEqual(t, "ok", st.Attempts[0].Result)
	require.Equal(t, k+1, st.Attempts[1].FirstPage, "resent from the first unconfirmed page")
	require.Equal(t, 4-k, st.Attempts[1].Pages)
	require.Equal(t, 4, st.PagesSent)

	fr.mu.Lock()
	defer fr.mu.Unlock()
	require.Len(t, fr.calls, 2)
	require.GreaterOrEqual(t, len(fr.calls[0]), k)
	require.Len(t, fr.calls[1], 4-k, "the second call carried the unconfirmed pages only")
	for i, p := range fr.calls[1] {
		require.True(t, pages[k+i].Equal(p), "page %d", k+1+i)
	}
	for i := range k {
		require.True(t, pages[i].Equal(fr.calls[0][i]), "page %d", 1+i)
	}
}
