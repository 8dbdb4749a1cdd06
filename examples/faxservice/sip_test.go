package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit"
	"github.com/faxkit/faxkit/sdp"
	"github.com/faxkit/faxkit/sip"
	"github.com/faxkit/faxkit/t30"
	"github.com/faxkit/faxkit/t4"
	"github.com/faxkit/faxkit/tiff"
)

type sinkPages struct {
	mu    sync.Mutex
	pages []*t4.Bitmap
}

func (s *sinkPages) WritePage(b *t4.Bitmap, _ *tiff.PageOptions) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pages = append(s.pages, b.Clone())
	return nil
}

// peerFax runs the far end of a SIP fax call with the sip package alone,
// as an independent terminal would.
func peerFax(ctx context.Context, c *sip.Call, doc faxkit.Document, sink faxkit.PageSink) (faxkit.Report, error) {
	for {
		select {
		case m, ok := <-c.Media():
			if !ok {
				return faxkit.Report{}, errors.New("call ended before T.38: " + c.Result().String())
			}
			if m.Kind != sdp.KindT38 {
				continue
			}
			o := &faxkit.Options{T38: t38Options(m.T38, faxkit.T38Options{Pacing: faxkit.Unpaced}), Timeout: time.Minute}
			var rep faxkit.Report
			var err error
			if doc != nil {
				rep, err = faxkit.Send(ctx, m.Conn, m.Remote, doc, o)
			} else {
				rep, err = faxkit.Receive(ctx, m.Conn, m.Remote, sink, o)
			}
			c.FaxDone(ctx)
			return rep, err
		case <-ctx.Done():
			return faxkit.Report{}, ctx.Err()
		}
	}
}

// TestSIPTrunkSendAndReceive: the service sends an E.164 number through
// its SIP trunk (a sip-package endpoint on loopback standing in for the
// carrier's receiver) and answers a call from a sip-package caller
// itself, routing it by the dialled number.
func TestSIPTrunkSendAndReceive(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	far, err := sip.NewEndpoint(sip.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { far.Close() })

	creds := filepath.Join(t.TempDir(), "trunk.json")
	require.NoError(t, os.WriteFile(creds, []byte(`{"user": "faxsvc", "password": "s3cret-trunk"}`), 0o600))
	e := newEnv(t, func(c *Config) {
		c.Peers = map[string]string{} // everything through the trunk
		c.SIP = &SIPConfig{Listen: "127.0.0.1:0", Trunk: "sip:" + far.Addr().String(), CredentialsFile: creds}
		c.StationID = "+1 555 0100"
	})
	_, alice := e.user("alice", "sender")
	bobID, bob := e.user("bob", "inbox")
	require.Equal(t, http.StatusOK, e.json("PUT", "/v1/routes/+15550177", e.admin, map[string]any{"targets": []string{bobID}}, nil))

	// Outbound: through the trunk to the far end.
	got := &sinkPages{}
	farDone := make(chan error, 1)
	dialled := make(chan string, 1)
	go func() {
		c, err := far.Accept(ctx)
		if err != nil {
			farDone <- err
			return
		}
		dialled <- c.To().User()
		rep, err := peerFax(ctx, c, nil, got)
		if err == nil && !rep.OK {
			err = errors.New("far end: " + rep.Result.String())
		}
		farDone <- err
	}()
	doc, pages := letterTIFF(t, 2)
	code, st, body := e.send(alice, nil, part{name: "to", data: []byte("+15550142")}, part{name: "file", file: "a.tif", data: doc})
	require.Equal(t, http.StatusAccepted, code, "%s", body)
	st = e.wait(alice, st.ID, func(s FaxStatus) bool { return s.Status == statusDelivered || s.Status == statusFailed })
	require.Equal(t, statusDelivered, st.Status, "%+v", st.Attempts)
	require.Equal(t, "t38", st.Attempts[0].Media, "the far end took the T.38 re-INVITE")
	require.NoError(t, <-farDone)
	require.Equal(t, "+15550142", <-dialled, "the E.164 number is the Request-URI's user part")
	got.mu.Lock()
	require.Len(t, got.pages, 2)
	for i := range pages {
		require.True(t, pages[i].Equal(got.pages[i]), "page %d", i+1)
	}
	got.mu.Unlock()
	var md struct {
		Attempts []struct {
			RemoteIdent string `json:"remote_ident"`
		}
	}
	require.Equal(t, http.StatusOK, e.json("GET", "/v1/faxes/"+st.ID+"/metadata", alice, nil, &md))
	require.Empty(t, md.Attempts[0].RemoteIdent, "the far end sent no CSI")

	// Inbound: a sip-package caller dials the service's DID.
	caller, err := sip.NewEndpoint(sip.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { caller.Close() })
	c, err := caller.Dial(ctx, "sip:+15550177@"+e.svc.sip.Addr().String(), &sip.DialOptions{From: "+15550199"})
	require.NoError(t, err)
	one, _ := letterTIFF(t, 1)
	tr, err := tiff.NewReader(bytesReader(one), int64(len(one)), nil)
	require.NoError(t, err)
	fd, err := faxkit.TIFF(tr)
	require.NoError(t, err)
	rep, err := peerFax(ctx, c, fd, nil)
	require.NoError(t, err)
	require.True(t, rep.OK, "%v", rep)
	require.Equal(t, t30.ResultOK, rep.Result)
	var l struct{ Faxes []FaxStatus }
	for deadline := time.Now().Add(30 * time.Second); len(l.Faxes) == 0; time.Sleep(50 * time.Millisecond) {
		require.True(t, time.Now().Before(deadline), "the inbound SIP fax did not reach the DID's route")
		require.Equal(t, http.StatusOK, e.json("GET", "/v1/faxes?direction=inbound", bob, nil, &l))
	}
	require.Equal(t, statusReceived, l.Faxes[0].Status)
	var in FaxStatus
	require.Equal(t, http.StatusOK, e.json("GET", "/v1/faxes/"+l.Faxes[0].ID, bob, nil, &in))
	require.Equal(t, "t38", in.Attempts[0].Media)
	var meta struct{ Remote, DID string }
	require.Equal(t, http.StatusOK, e.json("GET", "/v1/faxes/"+l.Faxes[0].ID+"/metadata", bob, nil, &meta))
	require.Equal(t, "+15550177", meta.DID)
	require.Equal(t, "+15550199", meta.Remote, "the caller's number is sealed with the fax")
	// The received call's T.30 trace, as an outbound attempt's.
	receivedTrace(t, e.remote, e.admin, l.Faxes[0].ID, "t38", "15550199", "15550177", "555 0100")
	require.NotContains(t, e.logs.String(), "15550142")
	require.NotContains(t, e.logs.String(), "15550199")
}

// TestSIPCredentialsFileRefused: a credentials file others can read, or
// a malformed one, keeps the service from starting, with a clear error.
func TestSIPCredentialsFileRefused(t *testing.T) {
	dir := t.TempDir()
	open := filepath.Join(dir, "open.json")
	require.NoError(t, os.WriteFile(open, []byte(`{"user": "a", "password": "b"}`), 0o644))
	bad := filepath.Join(dir, "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(`user=a`), 0o600))
	for _, c := range []struct{ file, want string }{{open, "chmod 600"}, {bad, "must be JSON"}, {filepath.Join(dir, "none.json"), "credentials_file"}} {
		s := &Service{cfg: Config{SIP: &SIPConfig{Listen: "127.0.0.1:0", Trunk: "sip:127.0.0.1:9", CredentialsFile: c.file}}, logger: slog.New(slog.DiscardHandler)}
		err := s.openSIP()
		require.ErrorContains(t, err, c.want)
		require.NotContains(t, err.Error(), `"b"`, "no secret in the error")
	}
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
