package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestBadInput sends hostile and mistaken requests; each gets a clear
// HTTP error (JSON, no PHI) and leaves an audit record.
func TestBadInput(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxUploadBytes = 256 << 10 })
	_, alice := e.user("alice", "sender")
	_, mallory := e.user("mallory", "sender")
	_, auditor := e.user("audrey", "auditor")
	carolID, carol := e.user("carol", "inbox")

	doc, _ := letterTIFF(t, 1)
	code, aliceFax, body := e.send(alice, nil, part{name: "to", data: []byte("+15550199")}, part{name: "file", file: "a.tif", data: doc})
	require.Equal(t, http.StatusAccepted, code, "%s", body)

	// Tokens that are revoked, expired or belong to an idle session.
	var revoked, expiring struct{ ID, Token string }
	require.Equal(t, http.StatusCreated, e.json("POST", "/v1/users/"+carolID+"/tokens", e.admin, nil, &revoked))
	require.Equal(t, http.StatusNoContent, e.json("DELETE", "/v1/tokens/"+revoked.ID, e.admin, nil, nil))
	require.Equal(t, http.StatusCreated, e.json("POST", "/v1/users/"+carolID+"/tokens", e.admin, map[string]int{"ttl_hours": 1}, &expiring))
	var u User
	require.Equal(t, http.StatusCreated, e.json("POST", "/v1/users", e.admin, map[string]any{"name": "dave", "roles": []string{"inbox"}, "password": "Correct-Horse-42"}, &u))
	var sess struct{ Token string }
	require.Equal(t, http.StatusCreated, e.json("POST", "/v1/sessions", "", map[string]string{"name": "dave", "password": "Correct-Horse-42"}, &sess))
	wellFormedUnknown := tokenPrefix + strings.Repeat("ab", 16) + "." + strings.Repeat("A", 43)
	id, _, _ := parseToken(carol)
	wrongSecret := tokenPrefix + id + "." + strings.Repeat("B", 43)

	mp := func(parts ...part) (*bytes.Buffer, map[string]string) {
		b, ct := multipartBody(t, parts...)
		return b, map[string]string{"Content-Type": ct}
	}
	to := part{name: "to", data: []byte("+15550199")}
	big := bytes.Repeat([]byte{0}, 300<<10)

	type tc struct {
		name   string
		method string
		path   string
		token  string
		body   func() (*bytes.Buffer, map[string]string)
		skew   time.Duration
		want   int
	}
	none := func() (*bytes.Buffer, map[string]string) { return &bytes.Buffer{}, nil }
	cases := []tc{
		{"no token", "GET", "/v1/faxes", "", none, 0, 401},
		{"malformed token", "GET", "/v1/faxes", "fxk_bogus", none, 0, 401},
		{"unknown token", "GET", "/v1/faxes", wellFormedUnknown, none, 0, 401},
		{"wrong secret", "GET", "/v1/faxes", wrongSecret, none, 0, 401},
		{"revoked token", "GET", "/v1/faxes", revoked.Token, none, 0, 401},
		{"expired token", "GET", "/v1/faxes", expiring.Token, none, 2 * time.Hour, 401},
		{"idle session", "GET", "/v1/faxes", sess.Token, none, 31 * time.Minute, 401},
		{"auditor may not send", "POST", "/v1/faxes", auditor, func() (*bytes.Buffer, map[string]string) {
			return mp(to, part{name: "file", file: "a.tif", data: doc})
		}, 0, 403},
		{"inbox user may not send", "POST", "/v1/faxes", carol, func() (*bytes.Buffer, map[string]string) {
			return mp(to, part{name: "file", file: "a.tif", data: doc})
		}, 0, 403},
		{"not multipart", "POST", "/v1/faxes", alice, func() (*bytes.Buffer, map[string]string) {
			return bytes.NewBuffer(doc), map[string]string{"Content-Type": "image/tiff"}
		}, 0, 415},
		{"malformed multipart", "POST", "/v1/faxes", alice, func() (*bytes.Buffer, map[string]string) {
			return bytes.NewBufferString("--xyz\r\nContent-Disposition: form-data; name=\"to\"\r\n\r\n+1555"), map[string]string{"Content-Type": "multipart/form-data; boundary=xyz"}
		}, 0, 400},
		{"oversized upload", "POST", "/v1/faxes", alice, func() (*bytes.Buffer, map[string]string) {
			return mp(to, part{name: "file", file: "a.tif", data: big})
		}, 0, 413},
		{"unsupported file", "POST", "/v1/faxes", alice, func() (*bytes.Buffer, map[string]string) {
			return mp(to, part{name: "file", file: "a.txt", data: []byte("hello, this is text")})
		}, 0, 422},
		{"corrupt PNG", "POST", "/v1/faxes", alice, func() (*bytes.Buffer, map[string]string) {
			return mp(to, part{name: "file", file: "a.png", data: append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{7}, 100)...)})
		}, 0, 422},
		{"corrupt TIFF", "POST", "/v1/faxes", alice, func() (*bytes.Buffer, map[string]string) {
			return mp(to, part{name: "file", file: "a.tif", data: append([]byte("II*\x00\xff\xff\xff\x7f"), bytes.Repeat([]byte{9}, 100)...)})
		}, 0, 422},
		{"corrupt PDF", "POST", "/v1/faxes", alice, func() (*bytes.Buffer, map[string]string) {
			return mp(to, part{name: "file", file: "a.pdf", data: []byte("%PDF-1.4\nthis is not a pdf\n")})
		}, 0, 422},
		{"no file", "POST", "/v1/faxes", alice, func() (*bytes.Buffer, map[string]string) { return mp(to) }, 0, 400},
		{"not E.164", "POST", "/v1/faxes", alice, func() (*bytes.Buffer, map[string]string) {
			return mp(part{name: "to", data: []byte("555-0199")}, part{name: "file", file: "a.tif", data: doc})
		}, 0, 400},
		{"no route", "POST", "/v1/faxes", alice, func() (*bytes.Buffer, map[string]string) {
			return mp(part{name: "to", data: []byte("+442071234567")}, part{name: "file", file: "a.tif", data: doc})
		}, 0, 422},
		{"unknown field", "POST", "/v1/faxes", alice, func() (*bytes.Buffer, map[string]string) {
			return mp(to, part{name: "evil", data: []byte("x")})
		}, 0, 400},
		{"another user's fax", "GET", "/v1/faxes/" + aliceFax.ID, mallory, none, 0, 404},
		{"another user's content", "GET", "/v1/faxes/" + aliceFax.ID + "/content", mallory, none, 0, 404},
		{"another user's delete", "DELETE", "/v1/faxes/" + aliceFax.ID, mallory, none, 0, 404},
		{"another user's cancel", "POST", "/v1/faxes/" + aliceFax.ID + "/cancel", mallory, none, 0, 404},
		{"path trick dot-dot", "GET", "/v1/faxes/..%2f..%2fkek.json", alice, none, 0, 404},
		{"path trick NUL", "GET", "/v1/faxes/" + aliceFax.ID + "%00", alice, none, 0, 404},
		{"path trick upper case", "GET", "/v1/faxes/" + strings.ToUpper(aliceFax.ID), alice, none, 0, 404},
		{"bad page number", "GET", "/v1/faxes/" + aliceFax.ID + "/pages/-1", alice, none, 0, 400},
		{"bad format", "GET", "/v1/faxes/" + aliceFax.ID + "/content?format=exe", alice, none, 0, 400},
		{"bad cursor", "GET", "/v1/faxes?cursor=bm90LWEtY3Vyc29y", alice, none, 0, 400},
		{"bad limit", "GET", "/v1/faxes?limit=100000", alice, none, 0, 400},
		{"non-admin creates user", "POST", "/v1/users", alice, func() (*bytes.Buffer, map[string]string) {
			return bytes.NewBufferString(`{"name":"eve","roles":["admin"]}`), nil
		}, 0, 403},
		{"weak password", "POST", "/v1/users", e.admin, func() (*bytes.Buffer, map[string]string) {
			return bytes.NewBufferString(`{"name":"erin","roles":["sender"],"password":"password"}`), nil
		}, 0, 400},
		{"bad route DID", "PUT", "/v1/routes/..%2fx", e.admin, func() (*bytes.Buffer, map[string]string) {
			return bytes.NewBufferString(`{"targets":["x"]}`), nil
		}, 0, 400},
		{"route to unknown user", "PUT", "/v1/routes/default", e.admin, func() (*bytes.Buffer, map[string]string) {
			return bytes.NewBufferString(`{"targets":["u_nobody"]}`), nil
		}, 0, 400},
		{"bad login", "POST", "/v1/sessions", "", func() (*bytes.Buffer, map[string]string) {
			return bytes.NewBufferString(`{"name":"dave","password":"Wrong-Horse-42"}`), nil
		}, 0, 401},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.svc.skew.Store(int64(c.skew))
			defer e.svc.skew.Store(0)
			before := e.svc.log.Len()
			b, h := c.body()
			code, resp, hdr := e.do(c.method, c.path, c.token, b, h)
			require.Equal(t, c.want, code, "%s", resp)
			require.Equal(t, "application/json", hdr.Get("Content-Type"))
			var msg struct{ Error string }
			require.NoError(t, json.Unmarshal(resp, &msg))
			require.NotEmpty(t, msg.Error)
			require.Greater(t, e.svc.log.Len(), before, "refusal audited")
		})
	}

	// Lockout: five wrong secrets against carol's account lock all of its
	// credentials, the right token included.
	for range 5 {
		code, _, _ := e.do("GET", "/v1/faxes", wrongSecret, nil, nil)
		require.Equal(t, 401, code)
	}
	code, resp, _ := e.do("GET", "/v1/faxes", carol, nil, nil)
	require.Equal(t, 401, code)
	require.Contains(t, string(resp), "locked")
	require.Contains(t, e.logs.String(), "ALERT alert.failed_signins")
	e.svc.skew.Store(int64(16 * time.Minute))
	code, _, _ = e.do("GET", "/v1/faxes", carol, nil, nil)
	e.svc.skew.Store(0)
	require.Equal(t, 200, code, "the lock ends")

	// Password lockout likewise.
	for range 5 {
		require.Equal(t, 401, e.json("POST", "/v1/sessions", "", map[string]string{"name": "dave", "password": "Wrong-Horse-42"}, nil))
	}
	require.Equal(t, 401, e.json("POST", "/v1/sessions", "", map[string]string{"name": "dave", "password": "Correct-Horse-42"}, nil))
}

// TestLegalHoldAndBreakGlass: a held fax cannot be deleted by its owner;
// an admin sees no content until break-glass, which is audited.
func TestLegalHoldAndBreakGlass(t *testing.T) {
	e := newEnv(t, nil)
	_, alice := e.user("alice", "sender")
	doc, _ := letterTIFF(t, 1)
	code, st, _ := e.send(alice, nil, part{name: "to", data: []byte("+15550199")}, part{name: "file", file: "a.tif", data: doc})
	require.Equal(t, http.StatusAccepted, code)
	e.wait(alice, st.ID, func(s FaxStatus) bool { return s.Status == statusDelivered })

	require.Equal(t, http.StatusForbidden, e.json("PUT", "/v1/faxes/"+st.ID+"/hold", alice, map[string]bool{"hold": true}, nil))
	require.Equal(t, http.StatusOK, e.json("PUT", "/v1/faxes/"+st.ID+"/hold", e.admin, map[string]bool{"hold": true}, nil))
	require.Equal(t, http.StatusConflict, e.json("DELETE", "/v1/faxes/"+st.ID, alice, nil, nil))

	require.Equal(t, http.StatusNotFound, e.json("GET", "/v1/faxes/"+st.ID+"/content", e.admin, nil, nil), "admins see metadata, not content")
	require.Equal(t, http.StatusBadRequest, e.json("POST", "/v1/faxes/"+st.ID+"/emergency-access", e.admin, map[string]string{"reason": "patient Jane Doe"}, nil))
	require.Equal(t, http.StatusOK, e.json("POST", "/v1/faxes/"+st.ID+"/emergency-access", e.admin, map[string]string{"reason": "INC-1234"}, nil))
	code, _, _ = e.do("GET", "/v1/faxes/"+st.ID+"/content", e.admin, nil, nil)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, e.logs.String(), "ALERT alert.break_glass")

	require.Equal(t, http.StatusOK, e.json("PUT", "/v1/faxes/"+st.ID+"/hold", e.admin, map[string]bool{"hold": false}, nil))
	require.Equal(t, http.StatusNoContent, e.json("DELETE", "/v1/faxes/"+st.ID, alice, nil, nil))
}
