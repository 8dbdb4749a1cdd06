package main

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/png"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit/internal/sample"
	"github.com/faxkit/faxkit/t4"
	"github.com/faxkit/faxkit/tiff"
)

// syncBuffer collects logs from many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// remote is an API client for tests, keeping every response body for
// the PHI grep.
type remote struct {
	t      *testing.T
	base   string
	client *http.Client
	mu     sync.Mutex
	bodies []response
}

type response struct {
	path string
	body []byte
}

type testEnv struct {
	*remote
	svc    *Service
	ts     *httptest.Server
	logs   *syncBuffer
	admin  string
	cancel context.CancelFunc
	addrs  []net.Addr // inbound listeners, in cfg.Inbound's order
}

const testDID = "+15550100"

// newEnv starts a service on a temp dir whose +1555 numbers route to its
// own inbound port (DID +15550100).
func newEnv(t *testing.T, tweak func(*Config)) *testEnv {
	t.Helper()
	// PollInterval: the webhook delivery loop's (queue workers sleep
	// until a job is due or enqueued: queuewake.go). The delivery loop
	// polling every 50 ms was dozens of SQL transactions a second per
	// idle service: a quarter of the package's CPU under -race.
	cfg := Config{Dir: t.TempDir(), Inbound: []Inbound{{Addr: "127.0.0.1:0", DID: testDID}}, Unpaced: true,
		PasswordIterations: 1000, PollInterval: Duration(250 * time.Millisecond), Instance: "test",
		RetryDelays: []Duration{Duration(100 * time.Millisecond)}, CallTimeout: Duration(time.Minute)}
	if pgDSN != "" {
		cfg.DBDriver, cfg.DSN = "pgx", pgDSN
	}
	if tweak != nil {
		tweak(&cfg)
	}
	return startEnv(t, cfg)
}

// startEnv starts a service on cfg, and the bootstrap admin if the
// database has none.
func startEnv(t *testing.T, cfg Config) *testEnv {
	t.Helper()
	logs := &syncBuffer{}
	svc, err := openService(context.Background(), cfg, slog.New(slog.NewTextHandler(logs, nil)))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	addrs, err := svc.Start(ctx)
	require.NoError(t, err)
	if svc.cfg.Peers == nil {
		svc.cfg.Peers = map[string]string{"+1555": addrs[0].String()}
	}
	tok, err := svc.bootstrap(ctx)
	require.NoError(t, err)
	ts := httptest.NewTLSServer(svc.Handler())
	e := &testEnv{remote: &remote{t: t, base: ts.URL, client: ts.Client()}, svc: svc, ts: ts, logs: logs, admin: tok, cancel: cancel, addrs: addrs}
	t.Cleanup(func() {
		ts.Close()
		cancel()
		svc.Close()
	})
	return e
}

func (e *remote) do(method, path, token string, body io.Reader, hdr map[string]string) (int, []byte, http.Header) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.base+path, body)
	require.NoError(e.t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := e.client.Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	e.mu.Lock()
	e.bodies = append(e.bodies, response{path, b})
	e.mu.Unlock()
	return resp.StatusCode, b, resp.Header
}

func (e *remote) json(method, path, token string, in any, out any) int {
	e.t.Helper()
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	code, b, _ := e.do(method, path, token, body, map[string]string{"Content-Type": "application/json"})
	if out != nil && code < 300 {
		require.NoError(e.t, json.Unmarshal(b, out), "%s", b)
	}
	return code
}

// user creates a user with roles and returns its ID and an API token.
func (e *remote) user(admin, name string, roles ...string) (string, string) {
	e.t.Helper()
	var u User
	require.Equal(e.t, http.StatusCreated, e.json("POST", "/v1/users", admin, map[string]any{"name": name, "roles": roles}, &u))
	var tok struct{ ID, Token string }
	require.Equal(e.t, http.StatusCreated, e.json("POST", "/v1/users/"+u.ID+"/tokens", admin, nil, &tok))
	return u.ID, tok.Token
}

func (e *testEnv) user(name string, roles ...string) (string, string) {
	e.t.Helper()
	return e.remote.user(e.admin, name, roles...)
}

type part struct {
	name, file string
	data       []byte
}

func multipartBody(t *testing.T, parts ...part) (*bytes.Buffer, string) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, p := range parts {
		var w io.Writer
		var err error
		if p.file != "" {
			w, err = mw.CreateFormFile(p.name, p.file)
		} else {
			w, err = mw.CreateFormField(p.name)
		}
		require.NoError(t, err)
		w.Write(p.data)
	}
	require.NoError(t, mw.Close())
	return &b, mw.FormDataContentType()
}

func (e *remote) send(token string, hdr map[string]string, parts ...part) (int, FaxStatus, []byte) {
	e.t.Helper()
	body, ct := multipartBody(e.t, parts...)
	h := map[string]string{"Content-Type": ct}
	for k, v := range hdr {
		h[k] = v
	}
	code, b, _ := e.do("POST", "/v1/faxes", token, body, h)
	var st FaxStatus
	if code < 300 {
		require.NoError(e.t, json.Unmarshal(b, &st))
	}
	return code, st, b
}

func (e *remote) wait(token, id string, done func(FaxStatus) bool) FaxStatus {
	e.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var st FaxStatus
		require.Equal(e.t, http.StatusOK, e.json("GET", "/v1/faxes/"+id, token, nil, &st))
		if done(st) {
			return st
		}
		require.True(e.t, time.Now().Before(deadline), "fax still %s", st.Status)
		time.Sleep(50 * time.Millisecond)
	}
}

// letters caches sample.Letters: rendering the synthetic letters is the
// slowest step of many tests under -race.
var letters = struct {
	sync.Mutex
	m map[int][]*t4.Bitmap
}{m: map[int][]*t4.Bitmap{}}

// letterTIFF is a synthetic n-page fine letter as TIFF, and its pages.
func letterTIFF(t *testing.T, n int) ([]byte, []*t4.Bitmap) {
	letters.Lock()
	pages, ok := letters.m[n]
	if !ok {
		var err error
		pages, err = sample.Letters(n, sample.Fine)
		require.NoError(t, err)
		letters.m[n] = pages
	}
	letters.Unlock()
	var doc bytes.Buffer
	w, err := tiff.NewWriter(&doc, nil)
	require.NoError(t, err)
	for _, p := range pages {
		require.NoError(t, w.WritePage(p, &tiff.PageOptions{Resolution: tiff.ResFine}))
	}
	require.NoError(t, w.Close())
	return doc.Bytes(), pages
}

// pngOf encodes a bitmap as PNG (an upload in another format).
func pngOf(t *testing.T, b *t4.Bitmap) []byte {
	g := image.NewGray(b.Bounds())
	for y := range b.Height {
		for x := range b.Width {
			if b.ColorIndexAt(x, y) == 1 {
				g.Pix[y*g.Stride+x] = 0
			} else {
				g.Pix[y*g.Stride+x] = 255
			}
		}
	}
	var out bytes.Buffer
	require.NoError(t, png.Encode(&out, g))
	return out.Bytes()
}

func tiffPages(t *testing.T, b []byte) []*t4.Bitmap {
	r, err := tiff.NewReader(bytes.NewReader(b), int64(len(b)), nil)
	require.NoError(t, err)
	var out []*t4.Bitmap
	for p, err := range r.Pages() {
		require.NoError(t, err)
		bm, err := p.Bitmap()
		require.NoError(t, err)
		out = append(out, bm)
	}
	return out
}
