package main

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit/examples/faxservice/console"
)

// The console's safeguards at the HTTP level (no browser needed): headers
// on every page, cookie attributes, CSRF on sign-in and on forms, a
// cross-site POST refused even with a valid token, and sign-out revoking
// the session on the server.
func TestConsoleHTTPSafeguards(t *testing.T) {
	e := newEnv(t, nil)
	require.Equal(t, http.StatusCreated, e.json("POST", "/v1/users", e.admin, map[string]any{"name": "alice", "roles": []string{"sender"}, "password": consolePassword}, nil))
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	c := e.ts.Client()
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	do := func(method, path string, form url.Values, hdr map[string]string) (*http.Response, string) {
		t.Helper()
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, err := http.NewRequest(method, e.ts.URL+path, body)
		require.NoError(t, err)
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := c.Do(req)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		h := resp.Header
		require.Equal(t, console.CSP, h.Get("Content-Security-Policy"), path)
		require.Equal(t, "no-store", h.Get("Cache-Control"), path)
		require.Equal(t, "DENY", h.Get("X-Frame-Options"), path)
		require.NotEmpty(t, h.Get("Strict-Transport-Security"), path)
		for _, ck := range h.Values("Set-Cookie") {
			for _, attr := range []string{"Path=/", "Secure", "HttpOnly", "SameSite=Strict"} {
				require.Contains(t, ck, attr, "cookie %s", strings.SplitN(ck, "=", 2)[0])
			}
			require.True(t, strings.HasPrefix(ck, "__Host-"), "cookie %s", strings.SplitN(ck, "=", 2)[0])
		}
		return resp, string(b)
	}
	csrfRE := regexp.MustCompile(`name="csrf" value="([0-9a-f]{64})"`)
	csrf := func(page string) string {
		m := csrfRE.FindStringSubmatch(page)
		require.NotNil(t, m, "a CSRF field")
		return m[1]
	}

	resp, _ := do("GET", "/console/", nil, nil)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Equal(t, "/console/signin", resp.Header.Get("Location"))
	resp, page := do("GET", "/console/signin", nil, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	pre := csrf(page)

	// Sign-in without the token, or with another one, is refused.
	resp, _ = do("POST", "/console/signin", url.Values{"name": {"alice"}, "password": {consolePassword}}, nil)
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	resp, _ = do("POST", "/console/signin", url.Values{"name": {"alice"}, "password": {consolePassword}, "csrf": {strings.Repeat("0", 64)}}, nil)
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	resp, _ = do("POST", "/console/signin", url.Values{"name": {"alice"}, "password": {consolePassword}, "csrf": {pre}}, nil)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	var session string
	for _, ck := range jar.Cookies(mustURL(t, e.ts.URL)) {
		if ck.Name == "__Host-faxkit-session" {
			session = ck.Value
		}
	}
	require.True(t, strings.HasPrefix(session, "fxk_"), "a session cookie")

	resp, page = do("GET", "/console/outbox", nil, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	tok := csrf(page)
	require.NotEqual(t, pre, tok, "the form token is bound to the session")

	// A form post with the token but sent cross-site is refused; without
	// the token too.
	resp, _ = do("POST", "/console/signout", url.Values{"csrf": {tok}}, map[string]string{"Sec-Fetch-Site": "cross-site"})
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	resp, _ = do("POST", "/console/signout", url.Values{}, nil)
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	resp, _ = do("POST", "/console/send", nil, map[string]string{"Content-Type": "multipart/form-data; boundary=x"})
	require.Equal(t, http.StatusForbidden, resp.StatusCode)

	// Sign-out revokes the session on the server and clears the browser.
	resp, _ = do("POST", "/console/signout", url.Values{"csrf": {tok}}, nil)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Equal(t, "/console/signin?m=out", resp.Header.Get("Location"))
	require.Contains(t, resp.Header.Get("Clear-Site-Data"), `"cache"`)
	code, _, _ := e.do("GET", "/v1/faxes", session, nil, nil)
	require.Equal(t, http.StatusUnauthorized, code, "the session is revoked")
	resp, _ = do("GET", "/console/outbox", nil, map[string]string{"Cookie": "__Host-faxkit-session=" + session})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)

	// The assets are embedded and served with the same headers.
	resp, page = do("GET", "/console/static/console.js", nil, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, page, "use strict")
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	require.NoError(t, err)
	return u
}

// consoleClient is a cookie-keeping HTTPS client signed in to the console.
type consoleClient struct {
	t    *testing.T
	base string
	c    *http.Client
	csrf string
}

func newConsoleClient(t *testing.T, e *testEnv, name string) *consoleClient {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	// A client of its own (e.ts.Client() is one shared client): its own
	// cookie jar, the server's TLS transport.
	c := &http.Client{Transport: e.ts.Client().Transport, Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	cc := &consoleClient{t: t, base: e.ts.URL, c: c}
	_, page := cc.get("/console/signin")
	cc.csrf = csrfOf(t, page)
	resp, _ := cc.post("/console/signin", url.Values{"name": {name}, "password": {consolePassword}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	_, page = cc.get("/console/outbox")
	cc.csrf = csrfOf(t, page)
	return cc
}

func csrfOf(t *testing.T, page string) string {
	m := regexp.MustCompile(`name="csrf" value="([0-9a-f]{64})"`).FindStringSubmatch(page)
	require.NotNil(t, m, "a CSRF field")
	return m[1]
}

func (cc *consoleClient) get(path string) (*http.Response, string) {
	cc.t.Helper()
	resp, err := cc.c.Get(cc.base + path)
	require.NoError(cc.t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func (cc *consoleClient) post(path string, form url.Values) (*http.Response, string) {
	cc.t.Helper()
	if cc.csrf != "" {
		form.Set("csrf", cc.csrf)
	}
	resp, err := cc.c.PostForm(cc.base+path, form)
	require.NoError(cc.t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

// Cancel from the console: a fax to a machine that never answers shows
// "Sending: 0 of 2 pages confirmed"; the console's Cancel ends the call
// (the worker's heartbeat sees the request) and the fax says Cancelled.
func TestConsoleCancelSending(t *testing.T) {
	silent, err := net.ListenPacket("udp", "127.0.0.1:0") // a peer that never answers
	require.NoError(t, err)
	defer silent.Close()
	e := newEnv(t, func(c *Config) {
		c.Peers = map[string]string{"+1666": silent.LocalAddr().String()}
		c.LeaseTTL = Duration(900 * time.Millisecond)
	})
	require.Equal(t, http.StatusCreated, e.json("POST", "/v1/users", e.admin, map[string]any{"name": "alice", "roles": []string{"sender"}, "password": consolePassword}, nil))
	cc := newConsoleClient(t, e, "alice")

	// Through the console's own send form and preview.
	doc, _ := letterTIFF(t, 2)
	body, ct := multipartBody(t, part{name: "csrf", data: []byte(cc.csrf)}, part{name: "to", data: []byte("+1 666 555 0100")},
		part{name: "file", file: "a.tif", data: doc})
	resp, err := cc.c.Post(cc.base+"/console/send", ct, body)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", b)
	draft := regexp.MustCompile(`/console/drafts/([0-9a-f]{32})/send`).FindStringSubmatch(string(b))
	require.NotNil(t, draft)
	resp, _ = cc.post("/console/drafts/"+draft[1]+"/send", url.Values{})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	faxPath := resp.Header.Get("Location")
	require.Regexp(t, `^/console/faxes/[0-9a-f]+$`, faxPath)

	var page string
	for deadline := time.Now().Add(20 * time.Second); ; {
		_, page = cc.get(faxPath)
		if strings.Contains(page, "Sending: 0 of 2 pages confirmed") || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	require.Contains(t, page, "Sending: 0 of 2 pages confirmed")
	require.Contains(t, page, `id="cancel"`)
	resp, _ = cc.post(faxPath+"/cancel", url.Values{})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	for deadline := time.Now().Add(20 * time.Second); ; {
		_, page = cc.get(faxPath)
		if strings.Contains(page, `data-status="cancelled"`) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	require.Contains(t, page, `data-status="cancelled"`)
	require.Contains(t, page, `id="resend"`, "a cancelled fax can be sent again")
}

// Admin and audit pages over HTTP: an admin creates a user, a token and a
// route with the console's forms; a sender is refused the admin page; the
// auditor exports the trail (JSON lines, verified as read) and sees the
// sender's refusal in it; the sender is refused the audit trail.
func TestConsoleAdminAndAuditForms(t *testing.T) {
	e := newEnv(t, nil)
	for _, u := range []struct{ name, role string }{{"ada", "admin"}, {"alice", "sender"}, {"audrey", "auditor"}} {
		require.Equal(t, http.StatusCreated, e.json("POST", "/v1/users", e.admin, map[string]any{"name": u.name, "roles": []string{u.role}, "password": consolePassword}, nil))
	}
	ada := newConsoleClient(t, e, "ada")
	resp, page := ada.post("/console/admin/users", url.Values{"name": {"bob"}, "roles": {"inbox"}, "password": {consolePassword}})
	require.Equal(t, http.StatusOK, resp.StatusCode, page)
	require.Contains(t, page, "User bob created.")
	bobID := regexp.MustCompile(`<td>bob</td><td><code>(u_[0-9a-f]+)</code>`).FindStringSubmatch(page)
	require.NotNil(t, bobID)
	resp, page = ada.post("/console/admin/users", url.Values{"name": {"weak"}, "roles": {"inbox"}, "password": {"short"}})
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Contains(t, page, "at least 12 characters")
	resp, page = ada.post("/console/admin/tokens", url.Values{"user": {bobID[1]}, "ttl_hours": {"1"}})
	require.Equal(t, http.StatusOK, resp.StatusCode)
	tok := regexp.MustCompile(`value="(fxk_[^"]+)"`).FindStringSubmatch(page)
	require.NotNil(t, tok, "the new token is shown once")
	code, _, _ := e.do("GET", "/v1/faxes", tok[1], nil, nil)
	require.Equal(t, http.StatusOK, code, "the token works")
	resp, page = ada.post("/console/admin/routes", url.Values{"did": {"+1 555 0100"}, "targets": {bobID[1]}})
	require.Equal(t, http.StatusOK, resp.StatusCode, page)
	require.Contains(t, page, "<td>&#43;15550100</td><td>bob</td>") // html/template writes + as &#43;
	require.Contains(t, page, "Retention")

	alice := newConsoleClient(t, e, "alice")
	resp, _ = alice.get("/console/admin")
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	resp, _ = alice.post("/console/admin/users", url.Values{"name": {"mallory"}, "roles": {"admin"}})
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	resp, _ = alice.get("/console/audit")
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	resp, _ = alice.get("/console/audit/export")
	require.Equal(t, http.StatusForbidden, resp.StatusCode)

	audrey := newConsoleClient(t, e, "audrey")
	resp, page = audrey.get("/console/audit?user=alice&outcome=denied")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, page, "admin page without the admin role")
	resp, page = audrey.get("/console/audit/export?outcome=denied")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "application/x-ndjson", resp.Header.Get("Content-Type"))
	lines := strings.Split(strings.TrimSpace(page), "\n")
	require.GreaterOrEqual(t, len(lines), 3)
	for _, l := range lines {
		require.Contains(t, l, `"outcome_name":"denied"`)
	}
	resp, page = audrey.post("/console/audit/verify", url.Values{})
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, page, "Verified:")
}

// The outbox shows 25 faxes a page; "Older faxes" follows the API's
// cursor to the rest. (Rows are written straight into the database: only
// the listing is under test.)
func TestConsoleOutboxPages(t *testing.T) {
	e := newEnv(t, nil)
	var u User
	require.Equal(t, http.StatusCreated, e.json("POST", "/v1/users", e.admin, map[string]any{"name": "alice", "roles": []string{"sender"}, "password": consolePassword}, &u))
	ctx := context.Background()
	for i := range 30 {
		id := randomHex(16)
		_, err := e.svc.db.exec(ctx, `INSERT INTO faxes (id, owner, direction, status, pages, peer, resend_of, created, updated) VALUES (?, ?, 'outbound', ?, 1, '', '', ?, ?)`,
			id, u.ID, statusDelivered, int64(i+1)*1e9, int64(i+1)*1e9)
		require.NoError(t, err)
		require.NoError(t, e.svc.saveGrant(ctx, id, u.ID, ownerPerms))
	}
	cc := newConsoleClient(t, e, "alice")
	rows := regexp.MustCompile(`<tr data-id="`)
	_, page := cc.get("/console/outbox")
	require.Len(t, rows.FindAllString(page, -1), 25)
	older := regexp.MustCompile(`href="(/console/outbox\?cursor=[^"]+)" id="older"`).FindStringSubmatch(page)
	require.NotNil(t, older, "a link to older faxes")
	_, page = cc.get(strings.ReplaceAll(older[1], "&#43;", "+"))
	require.Len(t, rows.FindAllString(page, -1), 5)
	require.NotContains(t, page, `id="older"`)
	require.Contains(t, page, `href="/console/outbox">Newest</a>`)
}

// Read state, per user, through the API and the console: two inbox users
// share a received fax; bob opening it (or PUT /read) marks it read for
// him only, the navigation counts what is unread, and "Mark as unread"
// (or DELETE /read) brings it back. (Rows are written straight into the
// database: only the read state is under test.)
func TestConsoleReadState(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	var bob, carol User
	require.Equal(t, http.StatusCreated, e.json("POST", "/v1/users", e.admin, map[string]any{"name": "bob", "roles": []string{"inbox"}, "password": consolePassword}, &bob))
	require.Equal(t, http.StatusCreated, e.json("POST", "/v1/users", e.admin, map[string]any{"name": "carol", "roles": []string{"inbox"}, "password": consolePassword}, &carol))
	var ids []string
	for i := range 2 {
		id := randomHex(16)
		_, err := e.svc.db.exec(ctx, `INSERT INTO faxes (id, owner, direction, status, pages, did, created, updated) VALUES (?, ?, 'inbound', ?, 1, ?, ?, ?)`,
			id, bob.ID, statusReceived, testDID, int64(i+1)*1e9, int64(i+1)*1e9)
		require.NoError(t, err)
		require.NoError(t, e.svc.saveGrant(ctx, id, bob.ID, ownerPerms))
		require.NoError(t, e.svc.saveGrant(ctx, id, carol.ID, ownerPerms))
		ids = append(ids, id)
	}
	_, bobTok := e.user("bob-api", "inbox") // a token of another user: sees neither fax
	readOf := func(tok string) map[string]bool {
		t.Helper()
		var l struct{ Faxes []FaxStatus }
		require.Equal(t, http.StatusOK, e.json("GET", "/v1/faxes?direction=inbound", tok, nil, &l))
		out := map[string]bool{}
		for _, f := range l.Faxes {
			require.NotNil(t, f.Read, "inbound items carry read")
			out[f.ID] = *f.Read
		}
		return out
	}
	require.Empty(t, readOf(bobTok))

	bb := newConsoleClient(t, e, "bob")
	cc := newConsoleClient(t, e, "carol")
	count := regexp.MustCompile(`id="unread-count" data-n="(\d+)"`)
	_, page := bb.get("/console/inbox")
	require.Equal(t, []string{`id="unread-count" data-n="2"`, "2"}, count.FindStringSubmatch(page))
	require.Len(t, regexp.MustCompile(`class="unread"`).FindAllString(page, -1), 2)
	// Opening the fax marks it read for bob.
	resp, page := bb.get("/console/faxes/" + ids[0])
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, page, `id="mark-unread"`)
	require.Equal(t, "1", count.FindStringSubmatch(page)[1])
	_, page = cc.get("/console/inbox")
	require.Equal(t, "2", count.FindStringSubmatch(page)[1], "carol's state is her own")

	// The API: bob's token sees bob's state through a session of his.
	var sess struct{ Token string }
	require.Equal(t, http.StatusCreated, e.json("POST", "/v1/sessions", "", map[string]any{"name": "bob", "password": consolePassword}, &sess))
	require.Equal(t, map[string]bool{ids[0]: true, ids[1]: false}, readOf(sess.Token))
	var st FaxStatus
	require.Equal(t, http.StatusOK, e.json("PUT", "/v1/faxes/"+ids[1]+"/read", sess.Token, nil, &st))
	require.True(t, *st.Read)
	require.Equal(t, http.StatusOK, e.json("PUT", "/v1/faxes/"+ids[1]+"/read", sess.Token, nil, &st), "idempotent")
	require.Equal(t, http.StatusOK, e.json("GET", "/v1/faxes/"+ids[1], sess.Token, nil, &st))
	require.True(t, *st.Read)
	require.Equal(t, http.StatusOK, e.json("DELETE", "/v1/faxes/"+ids[0]+"/read", sess.Token, nil, &st))
	require.False(t, *st.Read)
	require.Equal(t, map[string]bool{ids[0]: false, ids[1]: true}, readOf(sess.Token))
	// Someone who may not see the fax may not mark it either.
	require.Equal(t, http.StatusNotFound, e.json("PUT", "/v1/faxes/"+ids[0]+"/read", bobTok, nil, nil))

	// The console's buttons.
	resp, _ = bb.post("/console/faxes/"+ids[1]+"/unread", url.Values{})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Equal(t, "/console/inbox", resp.Header.Get("Location"))
	_, page = bb.get("/console/inbox")
	require.Equal(t, "2", count.FindStringSubmatch(page)[1])
	resp, _ = bb.post("/console/faxes/"+ids[1]+"/read", url.Values{})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	_, page = bb.get("/console/inbox")
	require.Equal(t, "1", count.FindStringSubmatch(page)[1])
	resp, err := bb.c.PostForm(bb.base+"/console/faxes/"+ids[0]+"/read", url.Values{"csrf": {"forged"}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
}

// The call detail's trace: a delivered fax's attempt has its T.30 frames
// (DIS, DCS, CFR, MCF...), phases and page statistics recorded in the
// database, with the stations' idents (PHI) nowhere in it; admins see it
// on the call page, the sender sees the summary only.
func TestConsoleCallTrace(t *testing.T) {
	e := newEnv(t, nil)
	e.svc.fax.Fax.LocalIdent = consoleIdent // before the first job: the enqueue orders it
	for _, u := range []struct{ name, role string }{{"ada", "admin"}, {"alice", "sender"}} {
		require.Equal(t, http.StatusCreated, e.json("POST", "/v1/users", e.admin, map[string]any{"name": u.name, "roles": []string{u.role}, "password": consolePassword}, nil))
	}
	var sess struct{ Token string }
	require.Equal(t, http.StatusCreated, e.json("POST", "/v1/sessions", "", map[string]any{"name": "alice", "password": consolePassword}, &sess))
	doc, _ := letterTIFF(t, 2)
	code, st, body := e.send(sess.Token, nil, part{name: "to", data: []byte(consoleNumber)}, part{name: "file", file: "a.tif", data: doc})
	require.Equal(t, http.StatusAccepted, code, "%s", body)
	st = e.wait(sess.Token, st.ID, func(s FaxStatus) bool { return s.Status == statusDelivered })

	var tj, sj string
	require.NoError(t, e.svc.db.queryRow(context.Background(), `SELECT trace, stats FROM attempt_traces WHERE fax_id = ? AND n = 1`, st.ID).Scan(&tj, &sj))
	for _, phi := range []string{consoleIdent, "5550199", consoleNumber, "5550100100"} {
		require.NotContains(t, tj+sj, phi, "PHI in the stored trace")
	}
	require.Contains(t, sj, `"pages":2`)

	ada := newConsoleClient(t, e, "ada")
	resp, page := ada.get("/console/faxes/" + st.ID + "/calls/1")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	for _, fcf := range []string{"DIS", "DCS", "CFR", "MCF", "DCN"} {
		require.Contains(t, page, `data-kind="frame" data-name="`+fcf+`"`, fcf)
	}
	require.Contains(t, page, `class="phase ph-B`)
	require.Contains(t, page, `class="phase ph-C`)
	require.Regexp(t, `Pages confirmed</th><td>2</td>`, page)
	require.Contains(t, page, "T.38 over UDPTL")
	require.Equal(t, 2, strings.Count(regexp.MustCompile(`(?s)id="page-stats">.*?</table>`).FindString(page), "<tr><td>"), "a row per page")
	require.Regexp(t, `data-name="FCD">(?s:.*?)<strong>FCD</strong> ×\d+</td>\s*<td>FCD \[redacted\]</td>`, page, "ECM frames folded, page data redacted")
	require.Less(t, strings.Count(page, "<tr class=\"k-"), 150, "the trace is folded")

	// The received side of the same call: its trace too, the idents
	// redacted alike.
	var in string
	for deadline := time.Now().Add(30 * time.Second); in == ""; time.Sleep(50 * time.Millisecond) {
		require.True(t, time.Now().Before(deadline), "the fax was not received")
		ids, err := e.svc.db.queryStrings(context.Background(), `SELECT id FROM faxes WHERE direction = 'inbound'`)
		require.NoError(t, err)
		if len(ids) > 0 {
			in = ids[0]
		}
	}
	resp, page = ada.get("/console/faxes/" + in + "/calls/1")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	for _, fcf := range []string{"DIS", "DCS", "CFR", "MCF", "DCN"} {
		require.Contains(t, page, `data-kind="frame" data-name="`+fcf+`"`, fcf)
	}
	require.Regexp(t, `data-name="TSI">(?s:.*?)<td>TSI \[redacted\]</td>`, page)
	require.Contains(t, page, "T.38 over UDPTL")
	require.NotContains(t, page, consoleIdent)

	alice := newConsoleClient(t, e, "alice")
	resp, page = alice.get("/console/faxes/" + st.ID + "/calls/1")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, page, `id="no-trace"`)
	require.Contains(t, page, `<dd id="transport">T.38</dd>`, "the media, from the attempt")
	require.NotContains(t, page, `data-name="DIS"`)
}

// Drafts live in the database and the sealed store, not in one
// instance's memory: two service instances on one database and one
// sealed store, no sticky sessions. The sender converts on A, B serves
// the preview (the same pixels) and sends the fax once; A refuses the
// second submit; the draft's sealed pages are shredded. A draft made on
// A is discarded at sign-out on B. SQLite here; PostgreSQL too unless
// -short.
func TestConsoleDraftsTwoInstances(t *testing.T) {
	dbs := map[string]func(*testing.T) (string, string){"sqlite": func(*testing.T) (string, string) { return "", "" }}
	if !testing.Short() {
		dbs["postgres"] = func(t *testing.T) (string, string) { return "pgx", newDatabase(t, startPostgres(t), "drafts") }
	}
	for name, db := range dbs {
		t.Run(name, func(t *testing.T) {
			driver, dsn := db(t)
			dir := t.TempDir()
			instance := func(id string) *testEnv {
				return startEnv(t, Config{Dir: dir, DBDriver: driver, DSN: dsn, Inbound: []Inbound{{Addr: "127.0.0.1:0", DID: testDID}}, Unpaced: true,
					PasswordIterations: 1000, PollInterval: Duration(2 * time.Second), Instance: id, // an enqueue wakes the local worker
					RetryDelays: []Duration{Duration(100 * time.Millisecond)}, CallTimeout: Duration(time.Minute)})
			}
			a, b := instance("A"), instance("B")
			require.Empty(t, b.admin, "one database: one bootstrap admin")
			require.Equal(t, http.StatusCreated, a.json("POST", "/v1/users", a.admin, map[string]any{"name": "alice", "roles": []string{"sender"}, "password": consolePassword}, nil))
			cc := newConsoleClient(t, a, "alice")
			// The same session on B (cookies are per host, not per port):
			// a client whose requests go to B.
			onB := func(method, path string, form url.Values) (*http.Response, []byte) {
				t.Helper()
				var resp *http.Response
				var err error
				if method == "GET" {
					resp, err = cc.c.Get(b.ts.URL + path)
				} else {
					form.Set("csrf", cc.csrf)
					resp, err = cc.c.PostForm(b.ts.URL+path, form)
				}
				require.NoError(t, err)
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				return resp, body
			}
			draftOn := func(e *testEnv) string {
				t.Helper()
				doc, _ := letterTIFF(t, 2)
				body, ct := multipartBody(t, part{name: "csrf", data: []byte(cc.csrf)}, part{name: "to", data: []byte(consoleNumberTyped)},
					part{name: "file", file: "a.tif", data: doc})
				resp, err := cc.c.Post(e.ts.URL+"/console/send", ct, body)
				require.NoError(t, err)
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				require.Equal(t, http.StatusOK, resp.StatusCode, "%s", b)
				m := regexp.MustCompile(`/console/drafts/([0-9a-f]{32})/send`).FindStringSubmatch(string(b))
				require.NotNil(t, m)
				return m[1]
			}
			id := draftOn(a)
			var sealed string
			require.NoError(t, a.svc.db.queryRow(context.Background(), `SELECT doc FROM drafts WHERE id = ?`, id).Scan(&sealed))
			_, err := b.svc.store.Stat(context.Background(), sealed)
			require.NoError(t, err, "the draft is sealed in the shared store")

			_, pages := letterTIFF(t, 2)
			for n, want := range pages {
				resp, body := onB("GET", fmt.Sprintf("/console/drafts/%s/pages/%d", id, n+1), nil)
				require.Equal(t, http.StatusOK, resp.StatusCode)
				require.Equal(t, "image/png", resp.Header.Get("Content-Type"))
				img, err := png.Decode(bytes.NewReader(body))
				require.NoError(t, err)
				require.Equal(t, want.Bounds(), img.Bounds())
				diff := 0
				for y := range want.Height {
					for x := range want.Width {
						r, _, _, _ := img.At(x, y).RGBA()
						if (r < 0x8000) != (want.ColorIndexAt(x, y) == 1) {
							diff++
						}
					}
				}
				require.Zero(t, diff, "page %d as B renders it", n+1)
			}
			resp, _ := onB("POST", "/console/drafts/"+id+"/send", url.Values{})
			require.Equal(t, http.StatusSeeOther, resp.StatusCode)
			faxPath := resp.Header.Get("Location")
			require.Regexp(t, `^/console/faxes/[0-9a-f]{32}$`, faxPath)
			resp, page := cc.post("/console/drafts/"+id+"/send", url.Values{}) // on A
			require.Equal(t, http.StatusGone, resp.StatusCode, "sent once")
			require.Contains(t, page, "already sent")
			var st FaxStatus
			var sess struct{ Token string }
			require.Equal(t, http.StatusCreated, a.json("POST", "/v1/sessions", "", map[string]any{"name": "alice", "password": consolePassword}, &sess))
			st = a.wait(sess.Token, faxPath[len("/console/faxes/"):], func(s FaxStatus) bool { return s.Status == statusDelivered || s.Status == statusFailed })
			require.Equal(t, statusDelivered, st.Status)
			require.Equal(t, 2, st.Pages)
			var n int
			require.NoError(t, a.svc.db.queryRow(context.Background(), `SELECT COUNT(*) FROM faxes WHERE direction = 'outbound'`).Scan(&n))
			require.Equal(t, 1, n, "one fax")
			_, err = a.svc.store.Stat(context.Background(), sealed)
			require.Error(t, err, "the draft's sealed pages are shredded")

			// A draft made on A, signed out on B: gone.
			id = draftOn(a)
			require.NoError(t, a.svc.db.queryRow(context.Background(), `SELECT doc FROM drafts WHERE id = ?`, id).Scan(&sealed))
			resp, _ = onB("POST", "/console/signout", url.Values{})
			require.Equal(t, http.StatusSeeOther, resp.StatusCode)
			require.NoError(t, a.svc.db.queryRow(context.Background(), `SELECT COUNT(*) FROM drafts`).Scan(&n))
			require.Zero(t, n)
			_, err = a.svc.store.Stat(context.Background(), sealed)
			require.Error(t, err, "shredded at sign-out")
		})
	}
}
