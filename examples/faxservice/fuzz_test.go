package main

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/faxkit/faxkit/t4"
	"github.com/faxkit/faxkit/tiff"
)

// fuzzImagePixels keeps the upload fuzzer's PNG/JPEG inputs small: the
// service's own bound (maxImagePixels) is checked by TestBadInput, and a
// 30-octet PNG header claiming 100 M pixels would make every execution
// allocate hundreds of megabytes.
const fuzzImagePixels = 1 << 20

// FuzzUpload feeds arbitrary files to the upload converter: it never
// panics, refuses what it cannot read with a formatError (a clear 4xx in
// the API), and what it accepts is a readable fax document. PDF input is
// left out: ghostscript renders it, and its parser is not ours.
func FuzzUpload(f *testing.F) {
	for _, seed := range uploadSeeds(f) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		kind := sniff(b)
		if kind == "pdf" {
			t.Skip()
		}
		if kind == "png" || kind == "jpeg" {
			cfg, _, err := image.DecodeConfig(bytes.NewReader(b))
			if err == nil && int64(cfg.Width)*int64(cfg.Height) > fuzzImagePixels {
				t.Skip()
			}
		}
		var buf bytes.Buffer
		w, err := tiff.NewWriter(&buf, nil)
		if err != nil {
			t.Fatal(err)
		}
		n, err := appendFile(context.Background(), w, b)
		if err != nil {
			if _, ok := err.(*formatError); !ok {
				t.Fatalf("upload refused without a format error: %v", err)
			}
			return
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if n <= 0 {
			t.Fatalf("accepted an upload with %d pages", n)
		}
		r, err := tiff.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()), nil)
		if err != nil {
			t.Fatalf("converted document does not read back: %v", err)
		}
		got := 0
		for _, err := range r.Pages() {
			if err != nil {
				t.Fatalf("converted page %d does not read back: %v", got+1, err)
			}
			got++
		}
		if got != n {
			t.Fatalf("converter reported %d pages, document has %d", n, got)
		}
	})
}

// uploadSeeds are one small file of each accepted kind, and each with
// its tail cut off.
func uploadSeeds(f *testing.F) [][]byte {
	f.Helper()
	page := t4.NewBitmap(1728, 40)
	for y := 10; y < 30; y++ {
		for x := 100; x < 600; x += 3 {
			page.SetBlack(x, y, true)
		}
	}
	var tf bytes.Buffer
	w, err := tiff.NewWriter(&tf, nil)
	if err != nil {
		f.Fatal(err)
	}
	if err := w.WritePage(page, &tiff.PageOptions{Resolution: tiff.ResFine}); err != nil {
		f.Fatal(err)
	}
	if err := w.Close(); err != nil {
		f.Fatal(err)
	}
	img := image.NewGray(image.Rect(0, 0, 64, 48))
	for y := 0; y < 48; y++ {
		for x := 0; x < 64; x++ {
			img.SetGray(x, y, color.Gray{Y: uint8(x * y)})
		}
	}
	var pb, jb bytes.Buffer
	if err := png.Encode(&pb, img); err != nil {
		f.Fatal(err)
	}
	if err := jpeg.Encode(&jb, img, nil); err != nil {
		f.Fatal(err)
	}
	seeds := [][]byte{tf.Bytes(), pb.Bytes(), jb.Bytes(), []byte("plain text, not a fax")}
	for _, s := range seeds[:3] {
		seeds = append(seeds, s[:len(s)/2])
	}
	return seeds
}

// FuzzAPI sends arbitrary requests to every route of the API as the
// admin: whatever the method, path parameter, content type and body, the
// service answers (no panic, no hang) with a status below 500, and never
// echoes the body's text into an error.
func FuzzAPI(f *testing.F) {
	cfg := Config{Dir: f.TempDir(), PasswordIterations: 1000, PollInterval: Duration(time.Hour), Instance: "fuzz",
		RetryDelays: []Duration{Duration(time.Hour)}, CallTimeout: Duration(time.Minute)}
	svc, err := openService(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { svc.Close() })
	admin, err := svc.bootstrap(context.Background())
	if err != nil {
		f.Fatal(err)
	}
	// The workers are not started: nothing is dialled, no webhook leaves.
	h := svc.Handler()
	routes := svc.routes()

	f.Add(uint8(6), "", "application/json", []byte(`{}`))
	f.Add(uint8(14), "", "application/json", []byte(`{"url":"https://127.0.0.1:1/hook","events":["fax.received"]}`))
	f.Add(uint8(16), "", "application/json", []byte(`{"name":"fuzz-user","roles":["sender"],"password":"correct horse battery staple 1"}`))
	f.Add(uint8(7), "", "multipart/form-data; boundary=x", []byte("--x\r\nContent-Disposition: form-data; name=\"to\"\r\n\r\n+15550100\r\n--x--\r\n"))
	f.Add(uint8(4), "", "application/json", []byte(`{"user":"admin","password":"x"}`))
	f.Add(uint8(29), "+15550100", "application/json", []byte(`{"targets":[{"user":"admin"}]}`))
	f.Add(uint8(9), "../../etc/passwd", "", []byte(nil))
	f.Add(uint8(12), "%00", "", []byte(nil))
	f.Fuzz(func(t *testing.T, ri uint8, param, ctype string, body []byte) {
		rt := routes[int(ri)%len(routes)]
		method, pattern, _ := strings.Cut(rt.pattern, " ")
		if pattern == "/v1/backups" {
			t.Skip() // a whole backup per execution; its refusals are in backup_test.go
		}
		path := pattern
		for _, wild := range []string{"{id}", "{did}", "{n}"} {
			path = strings.ReplaceAll(path, wild, url.PathEscape(param))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		req := httptest.NewRequestWithContext(ctx, method, "https://faxservice.test"+path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+admin)
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s: status %d: %s", method, pattern, rec.Code, rec.Body.String())
		}
		if rec.Code >= 400 && len(body) >= 12 && bytes.Contains(rec.Body.Bytes(), body) {
			t.Fatalf("%s %s: the error echoes the request body", method, pattern)
		}
	})
}
