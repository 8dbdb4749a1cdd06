package sippeer

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit/internal/peertest"
)

// TestKamailio proves the Kamailio launcher and config with sipfaxpeers: a
// receiver registers with digest auth and is called through the proxy, a
// caller authenticates its INVITE, and calls to the dispatcher are spread
// over two receivers, each fax delivered once.
func TestKamailio(t *testing.T) {
	t.Parallel()
	src := filepath.Join(peertest.SharedTestdata(t), "ccitt", "itu1.tif")
	want := PagePixels(t, src)
	users := map[string]string{"alice": "alice-secret", "bob": "bob-secret"}

	t.Run("register-and-call", func(t *testing.T) {
		t.Parallel()
		k := StartKamailio(t, KamailioConfig{Users: users})
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		rx := filepath.Join(t.TempDir(), "rx.tif")
		b := Start(ctx, t, Config{Role: UAS, File: rx, T38: Await, Speedup: speedup,
			Register: k.URI("bob"), User: "bob", Password: "bob-secret"})
		// The caller is no known user: Kamailio lets it through unchallenged.
		a := Start(ctx, t, Config{Role: UAC, Send: true, File: src, To: k.URI("bob"), T38: Request, Speedup: speedup})
		ra, err := a.Wait()
		require.NoError(t, err)
		rb, err := b.Wait()
		require.NoError(t, err)
		requireFaxOK(t, ra, rb)
		assert.Equal(t, 200, rb.RegisterStatus)
		assert.Equal(t, want, PagePixels(t, rx))
		log := k.Log()
		assert.True(t, k.WaitLog("faxkit-kamailio: registered", 2*time.Second), "kamailio never logged %q", "faxkit-kamailio: registered")
		// Record-Route kept Kamailio in the dialog.
		assert.True(t, k.WaitLog("faxkit-kamailio: in-dialog INVITE loose-routed", 2*time.Second), "the T.38 re-INVITE bypassed the proxy")
		assert.True(t, k.WaitLog("faxkit-kamailio: in-dialog BYE loose-routed", 2*time.Second), "kamailio never logged %q", "faxkit-kamailio: in-dialog BYE loose-routed")
		assert.NotContains(t, log, "INVITE authenticated")
	})

	t.Run("authenticated-caller-through-outbound-proxy", func(t *testing.T) {
		t.Parallel()
		k := StartKamailio(t, KamailioConfig{Users: users})
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		rx := filepath.Join(t.TempDir(), "rx.tif")
		b := Start(ctx, t, Config{Role: UAS, File: rx, T38: Request, Speedup: speedup,
			Register: k.URI("bob"), User: "bob", Password: "bob-secret"})
		a := Start(ctx, t, Config{Role: UAC, Send: true, File: src, To: k.URI("bob"), T38: Await, Speedup: speedup,
			Proxy: k.ProxyURI(), Register: k.URI("alice"), User: "alice", Password: "alice-secret"})
		ra, err := a.Wait()
		require.NoError(t, err)
		rb, err := b.Wait()
		require.NoError(t, err)
		requireFaxOK(t, ra, rb)
		assert.Equal(t, 200, ra.RegisterStatus)
		assert.Equal(t, want, PagePixels(t, rx))
		assert.True(t, k.WaitLog("faxkit-kamailio: INVITE authenticated", 2*time.Second), "kamailio never logged %q", "faxkit-kamailio: INVITE authenticated")
	})

	t.Run("wrong-password", func(t *testing.T) {
		t.Parallel()
		k := StartKamailio(t, KamailioConfig{Users: users})
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cfg := Config{Role: UAS, File: filepath.Join(t.TempDir(), "rx.tif"), SIP: FreeUDP(t),
			Register: k.URI("bob"), User: "bob", Password: "wrong", Timeout: 10 * time.Second}
		// The peer never becomes ready: it ends with a SIP failure.
		r, err := Run(ctx, t, cfg)
		require.NoError(t, err)
		assert.Equal(t, ExitSIP, r.Exit, "%+v", r)
		// 401 again, or sofia's 904 "No matching challenge" once it has
		// no new challenge to answer.
		assert.Contains(t, []int{401, 904}, r.RegisterStatus)
		assert.NotContains(t, k.Log(), "faxkit-kamailio: registered")
	})

	t.Run("dispatcher-spreads-calls", func(t *testing.T) {
		t.Parallel()
		recv := []string{FreeUDP(t), FreeUDP(t)}
		k := StartKamailio(t, KamailioConfig{Dispatch: []string{"sip:" + recv[0], "sip:" + recv[1]}})
		// Two rounds of two simultaneous calls; each sipfaxpeer receiver
		// answers one call, so a round needs one of each.
		got := map[string]int{}
		for round := range 2 {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			var rxs [2]string
			var bs [2]*Call
			for i := range recv {
				rxs[i] = filepath.Join(t.TempDir(), fmt.Sprintf("rx%d.tif", i))
				bs[i] = Start(ctx, t, Config{Role: UAS, SIP: recv[i], File: rxs[i], T38: Await, Speedup: speedup})
			}
			var wg sync.WaitGroup
			res := make([]Result, 2)
			errs := make([]error, 2)
			for i := range 2 {
				a := Start(ctx, t, Config{Role: UAC, Send: true, File: src, To: k.URI("dispatch"), T38: Request,
					Speedup: speedup, Ident: fmt.Sprintf("caller %d", i)})
				wg.Add(1)
				go func() {
					defer wg.Done()
					res[i], errs[i] = a.Wait()
				}()
			}
			wg.Wait()
			for i := range 2 {
				require.NoError(t, errs[i])
				assert.True(t, res[i].OK, "round %d caller %d: %s", round, i, res[i].Result)
			}
			for i, b := range bs {
				rb, err := b.Wait()
				require.NoError(t, err)
				assert.True(t, rb.Delivered(1), "round %d receiver %d: %s", round, i, rb.Result)
				assert.Equal(t, want, PagePixels(t, rxs[i]), "round %d receiver %d", round, i)
				got[rb.RemoteIdent]++
			}
		}
		assert.Equal(t, map[string]int{"caller 0": 2, "caller 1": 2}, got, "every fax delivered once")
		assert.Equal(t, 2, strings.Count(k.Log(), "dispatched to sip:"+recv[0]))
		assert.Equal(t, 2, strings.Count(k.Log(), "dispatched to sip:"+recv[1]))
	})
}
