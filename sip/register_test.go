package sip_test

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"log/slog"
	"net"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	siplib "github.com/emiago/sipgo/sip"
	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit/sip"
)

func md5hex(s string) string {
	h := md5.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

// registrar is a minimal digest-checking registrar (RFC 2617 MD5 without
// qop, computed here independently of the client's digest code).
type registrar struct {
	mu       sync.Mutex
	expires  []string // Expires of each accepted REGISTER
	rejected int
}

func startRegistrar(t *testing.T, user, pass string) (addr string, r *registrar) {
	t.Helper()
	ua, err := sipgo.NewUA()
	require.NoError(t, err)
	srv, err := sipgo.NewServer(ua)
	require.NoError(t, err)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	r = &registrar{}
	const realm, nonce = "faxkit.test", "5e1f00d5"
	param := func(h, name string) string {
		m := regexp.MustCompile(name + `="?([^",]*)"?`).FindStringSubmatch(h)
		if m == nil {
			return ""
		}
		return m[1]
	}
	srv.OnRegister(func(req *siplib.Request, tx siplib.ServerTransaction) {
		auth := req.GetHeader("Authorization")
		if auth == nil {
			res := siplib.NewResponseFromRequest(req, 401, "Unauthorized", nil)
			res.AppendHeader(siplib.NewHeader("WWW-Authenticate", `Digest realm="`+realm+`", nonce="`+nonce+`", algorithm=MD5`))
			_ = tx.Respond(res)
			return
		}
		v := auth.Value()
		want := md5hex(md5hex(user+":"+realm+":"+pass) + ":" + nonce + ":" + md5hex("REGISTER:"+param(v, "uri")))
		r.mu.Lock()
		defer r.mu.Unlock()
		if param(v, "username") != user || param(v, "response") != want {
			r.rejected++
			_ = tx.Respond(siplib.NewResponseFromRequest(req, 403, "Forbidden", nil))
			return
		}
		exp := req.GetHeader("Expires").Value()
		r.expires = append(r.expires, exp)
		res := siplib.NewResponseFromRequest(req, 200, "OK", nil)
		if exp != "0" {
			res.AppendHeader(siplib.NewHeader("Expires", "2"))
		}
		_ = tx.Respond(res)
	})
	go srv.ServeUDP(pc)
	t.Cleanup(func() { pc.Close(); srv.Close(); ua.Close() })
	return pc.LocalAddr().String(), r
}

func (r *registrar) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.expires)
}

func TestRegisterDigestAndRefresh(t *testing.T) {
	addr, reg := startRegistrar(t, "fax1", "s3cret")
	e := endpoint(t, sip.Config{Register: "sip:fax1@" + addr, User: "fax1", Password: "s3cret", RegisterExpiry: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	_, err := e.Register(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, reg.count())
	// The registrar granted 2 s: the binding is refreshed after 1 s.
	require.Eventually(t, func() bool { return reg.count() >= 2 }, 5*time.Second, 50*time.Millisecond)
	cancel()
	require.Eventually(t, func() bool {
		reg.mu.Lock()
		defer reg.mu.Unlock()
		return reg.expires[len(reg.expires)-1] == "0"
	}, 5*time.Second, 50*time.Millisecond, "unregistered on cancel")
	require.Equal(t, "60", reg.expires[0])

	// Wrong password: refused with the registrar's status.
	bad := endpoint(t, sip.Config{Register: "sip:fax1@" + addr, User: "fax1", Password: "wrong"})
	_, err = bad.Register(context.Background())
	var se *sip.StatusError
	require.ErrorAs(t, err, &se)
	require.Equal(t, 403, se.Code)
}

// sipgo's package-global logger keeps only errors once an endpoint exists
// (its warnings are noise in a fax application's log); the endpoint's own
// logging is Config.Logger, untouched.
func TestSipgoWarningsQuiet(t *testing.T) {
	e, err := sip.NewEndpoint(sip.Config{})
	require.NoError(t, err)
	defer e.Close()
	ctx := context.Background()
	require.False(t, siplib.DefaultLogger().Enabled(ctx, slog.LevelWarn))
	require.Equal(t, slog.Default().Enabled(ctx, slog.LevelError), siplib.DefaultLogger().Enabled(ctx, slog.LevelError))
}
