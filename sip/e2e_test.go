package sip_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit"
	"github.com/faxkit/faxkit/internal/sample"
	"github.com/faxkit/faxkit/sdp"
	"github.com/faxkit/faxkit/sip"
	"github.com/faxkit/faxkit/t30"
	"github.com/faxkit/faxkit/t38"
	"github.com/faxkit/faxkit/t4"
	"github.com/faxkit/faxkit/tiff"
)

var letters = sync.OnceValues(func() ([]*t4.Bitmap, error) { return sample.Letters(1, sample.Fine) })

type memSink struct{ pages []*t4.Bitmap }

func (m *memSink) WritePage(b *t4.Bitmap, _ *tiff.PageOptions) error {
	m.pages = append(m.pages, b.Clone())
	return nil
}

func endpoint(t testing.TB, cfg sip.Config) *sip.Endpoint {
	t.Helper()
	e, err := sip.NewEndpoint(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { e.Close() })
	return e
}

// faxOptions maps the negotiated T.38 parameters onto faxkit's options, as
// the CLI does.
func faxOptions(p *sdp.T38Params) *faxkit.Options {
	o := &faxkit.Options{T38: faxT38Options(p), Timeout: 60 * time.Second}
	if p.MaxBitRate > 0 && p.MaxBitRate < 14400 {
		o.Fax.MaxBitRate = p.MaxBitRate
	}
	return o
}

func faxT38Options(p *sdp.T38Params) faxkit.T38Options {
	o := faxkit.T38Options{Version: int(p.Version), MaxDatagram: sdp.NormalizeMaxDatagram(p.MaxDatagram), Pacing: faxkit.Unpaced}
	switch p.EC {
	case t38.ECFEC:
		o.ErrorCorrection = faxkit.FEC
	case t38.ECNone:
		o.ErrorCorrection = faxkit.NoEC
	}
	return o
}

// awaitT38 reads media changes until T.38.
func awaitT38(ctx context.Context, c *sip.Call) (sip.Media, error) {
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

type faxResult struct {
	rep faxkit.Report
	err error
	sw  time.Duration
	res sip.Result
}

// sendFax runs the application side of a SIP fax call: wait for T.38, run
// the fax on the call's media socket, then FaxDone.
func runFax(ctx context.Context, c *sip.Call, send bool, doc faxkit.Document, sink faxkit.PageSink) faxResult {
	m, err := awaitT38(ctx, c)
	if err != nil {
		return faxResult{err: err, res: c.Result()}
	}
	var r faxResult
	if send {
		r.rep, r.err = faxkit.Send(ctx, m.Conn, m.Remote, doc, faxOptions(m.T38))
	} else {
		r.rep, r.err = faxkit.Receive(ctx, m.Conn, m.Remote, sink, faxOptions(m.T38))
	}
	c.FaxDone(ctx)
	r.sw, _ = c.SwitchDelay()
	r.res = c.Result()
	return r
}

func TestFaxOverSIP(t *testing.T) {
	pages, err := letters()
	require.NoError(t, err)
	for _, tc := range []struct {
		name           string
		caller, callee sip.Policy
	}{
		{"answerer requests", sip.PolicyAwait, sip.PolicyRequest},
		{"caller requests", sip.PolicyRequest, sip.PolicyAwait},
		{"auto both", sip.PolicyAuto, sip.PolicyAuto},
		{"offer in INVITE", sip.PolicyOffer, sip.PolicyAwait},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			a := endpoint(t, sip.Config{Policy: tc.caller})
			b := endpoint(t, sip.Config{Policy: tc.callee})
			doc := &t30.BitmapDocument{Pages: pages[:1], Resolution: t30.ResFine}
			sink := &memSink{}
			recv := make(chan faxResult, 1)
			go func() {
				c, err := b.Accept(ctx)
				if err != nil {
					recv <- faxResult{err: err}
					return
				}
				if c.To().User() != "5551234" {
					recv <- faxResult{err: errors.New("dialed number not handed over")}
					return
				}
				recv <- runFax(ctx, c, false, nil, sink)
			}()
			c, err := a.Dial(ctx, b.URI("5551234"), nil)
			require.NoError(t, err)
			require.Equal(t, 200, c.Status())
			s := runFax(ctx, c, true, doc, nil)
			r := <-recv
			require.NoError(t, s.err)
			require.NoError(t, r.err)
			require.True(t, s.rep.OK)
			require.True(t, r.rep.OK)
			require.Equal(t, sip.ResultFaxDone, s.res)
			require.Equal(t, sip.ResultFaxDone, r.res)
			require.Len(t, sink.pages, 1)
			require.True(t, pages[0].Equal(sink.pages[0]), "page not pixel-exact")
			t.Logf("t38_switch_ms caller %.1f answerer %.1f", float64(s.sw)/1e6, float64(r.sw)/1e6)
		})
	}
}

// A re-INVITE to T.38 answered 488 ends the call truthfully, at once, on
// both sides (no audio fax yet): never a hang.
func TestT38RefusedEndsCall(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a := endpoint(t, sip.Config{Policy: sip.PolicyRequest})
	b := endpoint(t, sip.Config{Policy: sip.PolicyOff})
	got := make(chan *sip.Call, 1)
	go func() {
		c, err := b.Accept(ctx)
		if err != nil {
			close(got)
			return
		}
		got <- c
	}()
	c, err := a.Dial(ctx, b.URI("5551234"), nil)
	require.NoError(t, err)
	start := time.Now()
	require.Equal(t, sip.ResultT38Refused, c.Wait(ctx))
	require.Less(t, time.Since(start), 3*time.Second)
	_, err = awaitT38(ctx, c)
	require.Error(t, err, "media channel closed without T.38")
	bc := <-got
	require.NotNil(t, bc)
	require.Equal(t, sip.ResultRemoteHangup, bc.Wait(ctx))
}

// BYE from the answerer while the caller is still in audio.
func TestByeFromAnswerer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a := endpoint(t, sip.Config{Policy: sip.PolicyAwait})
	b := endpoint(t, sip.Config{Policy: sip.PolicyAwait})
	go func() {
		if c, err := b.Accept(ctx); err == nil {
			<-c.Media() // audio is up
			c.Hangup()
		}
	}()
	c, err := a.Dial(ctx, b.URI("5551234"), nil)
	require.NoError(t, err)
	require.Equal(t, sip.ResultRemoteHangup, c.Wait(ctx))
}

// A call to a user agent that rejects it reports the status.
func TestDialRejected(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a := endpoint(t, sip.Config{})
	b := endpoint(t, sip.Config{})
	// An INVITE offering only G.722 cannot be answered: 488.
	_, err := a.Dial(ctx, b.URI("5551234"), nil)
	require.NoError(t, err, "sanity: a normal call works")
	a2 := endpoint(t, sip.Config{Codecs: []sdp.Codec{{PT: 9, Name: "G722", Rate: 8000}}})
	_, err = a2.Dial(ctx, b.URI("5551234"), nil)
	var se *sip.StatusError
	require.ErrorAs(t, err, &se)
	require.Equal(t, 488, se.Code)
	require.ErrorIs(t, err, sip.ErrRejected)
}

// RFC 4028 between two faxkit ends: an INVITE asking for a 90 s session
// timer of a side whose MinSE is 1800 s draws 422 Min-SE: 1800 and is
// sent again asking for 1800 s, and the call is up.
func TestDial422Retried(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a := endpoint(t, sip.Config{Policy: sip.PolicyAwait, SessionExpires: 90 * time.Second})
	b := endpoint(t, sip.Config{Policy: sip.PolicyAwait, MinSE: 1800 * time.Second})
	accepted := make(chan *sip.Call, 1)
	go func() {
		c, err := b.Accept(ctx)
		if err == nil {
			accepted <- c
		}
		close(accepted)
	}()
	c, err := a.Dial(ctx, b.URI("5551234"), nil)
	require.NoError(t, err, "the 422 must be retried with the answerer's Min-SE")
	require.Equal(t, 200, c.Status())
	bc := <-accepted
	require.NotNil(t, bc)
	c.Hangup()
	require.Equal(t, sip.ResultRemoteHangup, bc.Wait(ctx))
}

// The same fax over SIP on TCP.
func TestFaxOverSIPTCP(t *testing.T) {
	pages, err := letters()
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a := endpoint(t, sip.Config{Transport: "tcp", Policy: sip.PolicyAuto})
	b := endpoint(t, sip.Config{Transport: "tcp", Policy: sip.PolicyAuto})
	sink := &memSink{}
	recv := make(chan faxResult, 1)
	go func() {
		c, err := b.Accept(ctx)
		if err != nil {
			recv <- faxResult{err: err}
			return
		}
		recv <- runFax(ctx, c, false, nil, sink)
	}()
	c, err := a.Dial(ctx, b.URI("5551234"), nil)
	require.NoError(t, err)
	s := runFax(ctx, c, true, &t30.BitmapDocument{Pages: pages[:1], Resolution: t30.ResFine}, nil)
	r := <-recv
	require.NoError(t, s.err)
	require.NoError(t, r.err)
	require.Len(t, sink.pages, 1)
	require.True(t, pages[0].Equal(sink.pages[0]), "page not pixel-exact")
}

func selfSignedTLS(t *testing.T) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}, IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, RootCAs: pool, MinVersion: tls.VersionTLS12}
}

// Call set-up and the switch to T.38 over SIP on TLS.
func TestSwitchOverTLS(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := selfSignedTLS(t)
	a := endpoint(t, sip.Config{Transport: "tls", TLS: cfg, ByeWait: time.Millisecond})
	b := endpoint(t, sip.Config{Transport: "tls", TLS: cfg})
	got := make(chan *sip.Call, 1)
	go func() {
		c, err := b.Accept(ctx)
		if err == nil {
			got <- c
		}
	}()
	c, err := a.Dial(ctx, b.URI("5551234"), nil)
	require.NoError(t, err)
	_, err = awaitT38(ctx, c)
	require.NoError(t, err)
	c.FaxDone(ctx)
	require.Equal(t, sip.ResultFaxDone, c.Result())
	require.Equal(t, sip.ResultRemoteHangup, (<-got).Wait(ctx))
}

func TestUnspecifiedListenNeedsMediaAddr(t *testing.T) {
	_, err := sip.NewEndpoint(sip.Config{Listen: "0.0.0.0:0"})
	require.ErrorIs(t, err, sip.ErrConfig)
	_, err = sip.NewEndpoint(sip.Config{Transport: "sctp"})
	require.ErrorIs(t, err, sip.ErrConfig)
}

// A peer that hangs up the moment it has the ACK of its 200 to our T.38
// re-INVITE: the switch to T.38 must still be delivered before the call
// ends, however late the goroutine that sent the ACK runs next (SIPp's
// uac_invite_min_se.xml did this under load).
func TestByeRightAfterReinviteAck(t *testing.T) {
	restore := sip.SetAckWritten(func() { time.Sleep(300 * time.Millisecond) })
	defer restore()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a := endpoint(t, sip.Config{Policy: sip.PolicyRequest})
	b := endpoint(t, sip.Config{Policy: sip.PolicyAwait})
	go func() {
		c, err := b.Accept(ctx)
		if err != nil {
			return
		}
		if _, err := awaitT38(ctx, c); err == nil {
			c.Hangup()
		}
	}()
	c, err := a.Dial(ctx, b.URI("5551234"), nil)
	require.NoError(t, err)
	_, err = awaitT38(ctx, c)
	require.NoError(t, err, "T.38 delivered before the call ended")
	require.Equal(t, sip.ResultRemoteHangup, c.Wait(ctx))
}
