package sip_test

// Interop with Kamailio (registrar, digest authentication, record-routing
// proxy, dispatcher) in the call path, from the config in
// testdata/kamailio, started and stopped by internal/sippeer on 127.0.0.1.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit/internal/sippeer"
	"github.com/faxkit/faxkit/sip"
)

var kamailioUsers = map[string]string{"faxkit": "faxkit-secret", "peer": "peer-secret"}

// TestInteropKamailio puts Kamailio between faxkit and sipfaxpeer, and
// between faxkit endpoints: faxkit registers and is called through it,
// calls out through it as an authenticated outbound-proxy client, and two
// faxkit receivers behind its dispatcher share a batch of calls, every fax
// delivered once and pixel-exact.
func TestInteropKamailio(t *testing.T) {
	t.Parallel()

	t.Run("faxkit-registers-and-is-called", func(t *testing.T) {
		t.Parallel()
		callSlot(t)
		k := sippeer.StartKamailio(t, sippeer.KamailioConfig{Users: kamailioUsers})
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		src := interopSource(t)
		rx := filepath.Join(t.TempDir(), "rx.tif")
		e := newEndpoint(t, sip.Config{Policy: sip.PolicyRequest, Register: k.URI("faxkit"),
			User: "faxkit", Password: "faxkit-secret"})
		rctx, rcancel := context.WithCancel(ctx)
		defer rcancel()
		_, err := e.Register(rctx)
		require.NoError(t, err, "kamailio log:\n%s", k.Log())
		require.True(t, k.WaitLog("faxkit-kamailio: registered", 2*time.Second), "kamailio never logged %q", "faxkit-kamailio: registered")

		out := make(chan fkOutcome, 1)
		go func() {
			c, err := e.Accept(ctx)
			if err != nil {
				out <- fkOutcome{err: err}
				return
			}
			out <- fkFax(ctx, c, "", rx)
		}()
		p := sippeer.Start(ctx, t, sippeer.Config{Role: sippeer.UAC, Send: true, File: src, To: k.URI("faxkit"),
			T38: sippeer.Await, Speedup: interopSpeedup, Timeout: 45 * time.Second})
		logOnFailure(t, p)
		fk := <-out
		pr, err := p.Wait()
		require.NoError(t, err)
		require.NoError(t, fk.err)
		assert.True(t, fk.rep.OK)
		assert.True(t, pr.Delivered(1), "sipfaxpeer: %s", pr.Result)
		samePages(t, src, rx)
		assert.True(t, k.WaitLog("faxkit-kamailio: in-dialog INVITE loose-routed", 2*time.Second), "faxkit's re-INVITE bypassed the proxy's Record-Route")
		assert.True(t, k.WaitLog("faxkit-kamailio: in-dialog BYE loose-routed", 2*time.Second), "kamailio never logged %q", "faxkit-kamailio: in-dialog BYE loose-routed")
	})

	t.Run("faxkit-calls-out-authenticated", func(t *testing.T) {
		t.Parallel()
		callSlot(t)
		k := sippeer.StartKamailio(t, sippeer.KamailioConfig{Users: kamailioUsers})
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		src := interopSource(t)
		rx := filepath.Join(t.TempDir(), "rx.tif")
		p := sippeer.Start(ctx, t, sippeer.Config{Role: sippeer.UAS, File: rx, T38: sippeer.Await,
			Speedup: interopSpeedup, Timeout: 45 * time.Second,
			Register: k.URI("peer"), User: "peer", Password: "peer-secret"})
		logOnFailure(t, p)
		e := newEndpoint(t, sip.Config{Policy: sip.PolicyRequest, Proxy: k.ProxyURI(),
			User: "faxkit", Password: "faxkit-secret"})
		c, err := e.Dial(ctx, k.URI("peer"), nil)
		require.NoError(t, err, "kamailio log:\n%s", k.Log())
		fk := fkFax(ctx, c, src, "")
		pr, err := p.Wait()
		require.NoError(t, err)
		require.NoError(t, fk.err)
		assert.True(t, fk.rep.OK)
		assert.True(t, pr.Delivered(1), "sipfaxpeer: %s", pr.Result)
		samePages(t, src, rx)
		assert.True(t, k.WaitLog("faxkit-kamailio: INVITE authenticated", 2*time.Second), "faxkit's INVITE was not challenged and proven")
	})

	t.Run("faxkit-wrong-password-is-refused", func(t *testing.T) {
		t.Parallel()
		k := sippeer.StartKamailio(t, sippeer.KamailioConfig{Users: kamailioUsers})
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		e := newEndpoint(t, sip.Config{Register: k.URI("faxkit"), User: "faxkit", Password: "wrong"})
		_, err := e.Register(ctx)
		var se *sip.StatusError
		require.ErrorAs(t, err, &se)
		assert.Equal(t, 401, se.Code)
		assert.NotContains(t, k.Log(), "faxkit-kamailio: registered")
	})

	t.Run("faxkit-to-faxkit", func(t *testing.T) {
		t.Parallel()
		callSlot(t)
		k := sippeer.StartKamailio(t, sippeer.KamailioConfig{Users: kamailioUsers})
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		src := interopSource(t)
		rx := filepath.Join(t.TempDir(), "rx.tif")
		b := newEndpoint(t, sip.Config{Register: k.URI("faxkit"), User: "faxkit", Password: "faxkit-secret"})
		rctx, rcancel := context.WithCancel(ctx)
		defer rcancel()
		_, err := b.Register(rctx)
		require.NoError(t, err)
		out := make(chan fkOutcome, 1)
		go func() {
			c, err := b.Accept(ctx)
			if err != nil {
				out <- fkOutcome{err: err}
				return
			}
			out <- fkFax(ctx, c, "", rx)
		}()
		a := newEndpoint(t, sip.Config{Proxy: k.ProxyURI(), User: "peer", Password: "peer-secret"})
		c, err := a.Dial(ctx, k.URI("faxkit"), nil)
		require.NoError(t, err)
		s := fkFax(ctx, c, src, "")
		r := <-out
		require.NoError(t, s.err)
		require.NoError(t, r.err)
		assert.True(t, s.rep.OK)
		assert.True(t, r.rep.OK)
		samePages(t, src, rx)
		assert.True(t, k.WaitLog("faxkit-kamailio: INVITE authenticated", 2*time.Second), "kamailio never logged %q", "faxkit-kamailio: INVITE authenticated")
		assert.True(t, k.WaitLog("faxkit-kamailio: in-dialog INVITE loose-routed", 2*time.Second), "kamailio never logged %q", "faxkit-kamailio: in-dialog INVITE loose-routed")
	})

	t.Run("dispatcher-two-faxkit-receivers", func(t *testing.T) {
		t.Parallel()
		// Two faxkit receivers on known ports behind the dispatcher (set 1,
		// round robin); a batch of calls from sipfaxpeers, two at a time.
		callSlot(t)
		callSlot(t)
		calls := 6
		if !fullInterop() {
			calls = 4
		}
		src := interopSource(t)
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		var recv [2]*sip.Endpoint
		var uris []string
		for i := range recv {
			recv[i] = newEndpoint(t, sip.Config{Policy: sip.PolicyRequest})
			uris = append(uris, "sip:"+recv[i].Addr().String())
		}
		k := sippeer.StartKamailio(t, sippeer.KamailioConfig{Dispatch: uris})
		dir := t.TempDir()
		var mu sync.Mutex
		got := map[string][]string{} // caller ident -> receivers
		var wg sync.WaitGroup
		for i, e := range recv {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := 0; ; n++ {
					c, err := e.Accept(ctx)
					if err != nil {
						return // ctx ended: the batch is over
					}
					wg.Add(1)
					go func() {
						defer wg.Done()
						rx := filepath.Join(dir, fmt.Sprintf("r%d-%d.tif", i, n))
						o := fkFax(ctx, c, "", rx)
						if o.err != nil || !o.rep.OK {
							t.Errorf("receiver %d call %d: %v", i, n, o)
							return
						}
						mu.Lock()
						id := o.rep.RemoteIdent.Reveal()
						got[id] = append(got[id], rx)
						mu.Unlock()
					}()
				}
			}()
		}
		for batch := 0; batch < calls; batch += 2 {
			var pw sync.WaitGroup
			for j := batch; j < batch+2 && j < calls; j++ {
				p := sippeer.Start(ctx, t, sippeer.Config{Role: sippeer.UAC, Send: true, File: src, To: k.URI("dispatch"),
					T38: sippeer.Await, Speedup: interopSpeedup, Timeout: 45 * time.Second, Ident: fmt.Sprintf("caller %d", j)})
				pw.Add(1)
				go func() {
					defer pw.Done()
					r, err := p.Wait()
					if err != nil || !r.Delivered(1) {
						t.Errorf("caller %d: %v %s\n%s", j, err, r.Result, p.Log())
					}
				}()
			}
			pw.Wait()
		}
		// Let the receivers' last calls end, then stop accepting.
		time.Sleep(500 * time.Millisecond)
		cancel()
		wg.Wait()
		want := sippeer.PagePixels(t, src)
		perReceiver := map[string]int{}
		for j := range calls {
			files := got[fmt.Sprintf("caller %d", j)]
			if !assert.Len(t, files, 1, "caller %d's fax must arrive exactly once", j) {
				continue
			}
			assert.Equal(t, want, sippeer.PagePixels(t, files[0]), "caller %d", j)
			perReceiver[strings.SplitN(filepath.Base(files[0]), "-", 2)[0]]++
		}
		assert.Equal(t, map[string]int{"r0": calls / 2, "r1": calls / 2}, perReceiver, "round robin over both receivers")
		for _, u := range uris {
			assert.Equal(t, calls/2, strings.Count(k.Log(), "dispatched to "+u))
		}
		if t.Failed() {
			entries, _ := os.ReadDir(dir)
			t.Logf("%d files received; kamailio log:\n%s", len(entries), k.Log())
		}
	})
}
