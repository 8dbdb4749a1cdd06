package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

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

	resp, page := do("GET", "/console/", nil, nil)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Equal(t, "/console/signin", resp.Header.Get("Location"))
	resp, page = do("GET", "/console/signin", nil, nil)
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
