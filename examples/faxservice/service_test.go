package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit"
	"github.com/faxkit/faxkit/internal/sample"
	"github.com/faxkit/faxkit/phi"
	"github.com/faxkit/faxkit/tiff"
)

func TestFaxService(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	svc, err := open(ctx, dir, 0)
	require.NoError(t, err)
	svc.FaxOptions = faxkit.Options{T38: faxkit.T38Options{Pacing: faxkit.Unpaced}, Timeout: time.Minute}
	faxAddr, err := svc.Start(ctx, 2, "127.0.0.1:0")
	require.NoError(t, err)
	ts := httptest.NewTLSServer(svc.Handler())
	defer ts.Close()
	client := ts.Client()

	sender := svc.Auth.Issue(phi.Principal{ID: "sender-user", Roles: []phi.Role{phi.RoleSender}})
	inbox := svc.Auth.Issue(phi.Principal{ID: svc.Inbox, Roles: []phi.Role{phi.RoleReceiver}})
	auditor := svc.Auth.Issue(phi.Principal{ID: "auditor-user", Roles: []phi.Role{phi.RoleAuditor}})

	do := func(method, path, token string, body []byte) (int, []byte) {
		t.Helper()
		req, err := http.NewRequest(method, ts.URL+path, bytes.NewReader(body))
		require.NoError(t, err)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, b
	}

	pages, err := sample.Letters(2, sample.Fine)
	require.NoError(t, err)
	var doc bytes.Buffer
	w, err := tiff.NewWriter(&doc, nil)
	require.NoError(t, err)
	for _, p := range pages {
		require.NoError(t, w.WritePage(p, &tiff.PageOptions{Resolution: tiff.ResFine}))
	}
	require.NoError(t, w.Close())
	post := "/v1/faxes?to=" + faxAddr.String()

	code, _ := do("POST", post, "", doc.Bytes())
	require.Equal(t, http.StatusUnauthorized, code)
	code, _ = do("POST", post, "fxk_bogus_token", doc.Bytes())
	require.Equal(t, http.StatusUnauthorized, code)
	code, _ = do("POST", post, auditor, doc.Bytes())
	require.Equal(t, http.StatusForbidden, code, "auditors may not send")
	code, _ = do("POST", "/v1/faxes?to=nowhere", sender, doc.Bytes())
	require.Equal(t, http.StatusBadRequest, code)
	code, _ = do("POST", post, sender, []byte("not a tiff"))
	require.Equal(t, http.StatusBadRequest, code)

	// The service sends the fax to its own T.38 port.
	code, body := do("POST", post, sender, doc.Bytes())
	require.Equal(t, http.StatusAccepted, code, "%s", body)
	var st faxStatus
	require.NoError(t, json.Unmarshal(body, &st))
	require.Equal(t, "queued", st.Status)
	require.Equal(t, 2, st.Pages)
	deadline := time.Now().Add(60 * time.Second)
	for st.Status == "queued" || st.Status == "sending" {
		require.True(t, time.Now().Before(deadline), "fax still %s", st.Status)
		time.Sleep(50 * time.Millisecond)
		code, body = do("GET", "/v1/faxes/"+st.ID, sender, nil)
		require.Equal(t, http.StatusOK, code, "%s", body)
		require.NoError(t, json.Unmarshal(body, &st))
	}
	require.Equal(t, "sent", st.Status, "%+v", st)
	require.Equal(t, "ok", st.Result)

	// The inbox sees the inbound copy (the receiving side may finish a
	// moment after the sender).
	var list []faxStatus
	for range 100 {
		code, body = do("GET", "/v1/faxes", inbox, nil)
		require.Equal(t, http.StatusOK, code)
		require.NoError(t, json.Unmarshal(body, &list))
		if len(list) > 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	require.Len(t, list, 1)
	in := list[0]
	require.Equal(t, "inbound", in.Direction)
	require.Equal(t, "received", in.Status)
	require.Equal(t, 2, in.Pages)

	code, body = do("GET", "/v1/faxes/"+in.ID+"/content", inbox, nil)
	require.Equal(t, http.StatusOK, code, "%s", body)
	r, err := tiff.NewReader(bytes.NewReader(body), int64(len(body)), nil)
	require.NoError(t, err)
	i := 0
	for p, err := range r.Pages() {
		require.NoError(t, err)
		bm, err := p.Bitmap()
		require.NoError(t, err)
		require.True(t, pages[i].Equal(bm), "page %d differs", i+1)
		i++
	}
	require.Equal(t, 2, i)

	// Default deny: neither the auditor nor the sender may read the
	// inbound fax; nobody but its sender may read the outbound one.
	for _, tok := range []string{auditor, sender} {
		code, _ = do("GET", "/v1/faxes/"+in.ID+"/content", tok, nil)
		require.Equal(t, http.StatusForbidden, code)
	}
	code, _ = do("GET", "/v1/faxes/"+st.ID+"/content", inbox, nil)
	require.Equal(t, http.StatusForbidden, code)
	code, _ = do("GET", "/v1/faxes/"+st.ID+"/content", sender, nil)
	require.Equal(t, http.StatusOK, code)
	code, _ = do("GET", "/v1/faxes/0123456789abcdef0123456789abcdef", inbox, nil)
	require.Contains(t, []int{http.StatusForbidden, http.StatusNotFound}, code)

	// Nothing is stored in clear: no TIFF header in any file on disk.
	require.NoError(t, filepath.Walk(filepath.Join(dir, "store"), func(path string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		require.False(t, bytes.Contains(b, []byte("II*\x00")), "%s holds a clear TIFF", path)
		return nil
	}))

	// The audit log verifies and records the send, the receive, and the
	// denials, without PHI.
	cancel()
	require.NoError(t, svc.Audit.Close())
	ak, err := phi.OpenAuditKeyFile(filepath.Join(dir, "audit.key"))
	require.NoError(t, err)
	_, err = phi.VerifyAuditLog(filepath.Join(dir, "audit"), ak)
	require.NoError(t, err)
	var exp bytes.Buffer
	_, err = phi.ExportAuditLog(filepath.Join(dir, "audit"), ak, &exp, time.Time{}, time.Time{})
	require.NoError(t, err)
	log := exp.String()
	for _, want := range []string{`"principal":"svc-gateway"`, `"principal":"sender-user"`, `"principal":"svc-router"`} {
		require.Contains(t, log, want)
	}
	require.Contains(t, log, fmt.Sprintf(`"action":%d`, int(phi.ActionSend)))
	require.Contains(t, log, fmt.Sprintf(`"action":%d`, int(phi.ActionReceive)))
	require.True(t, strings.Count(log, "denied") >= 4, "denials are audited")
}
