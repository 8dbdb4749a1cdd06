package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit/examples/faxservice/console"
	"github.com/faxkit/faxkit/internal/peertest"
	"github.com/faxkit/faxkit/t4"
	"github.com/faxkit/faxkit/tiff"
)

// The web console driven by Debian's chromium, headless, over HTTPS on the
// service's own handler: sign-in, a fax sent to the loopback receiver
// followed live to "delivered", the received copy's page checked pixel by
// pixel in the browser, refusals visible in the audit view, CSRF refusal,
// lockout, idle timeout, and no PHI in any URL or title the browser saw.

const (
	consoleNumberTyped = "+1 555 010 0100" // as a person types it
	consoleNumber      = "+15550100100"
	consoleIdent       = "+1 555 0199" // both stations' TSI/CSI
	consolePassword    = "Correct-Horse-42"
)

// consoleEnv is newEnv with the stations' ident set before the workers
// start, and a server that records every URL it is asked for.
type consoleEnv struct {
	svc   *Service
	base  string
	admin *remote
	tok   string

	mu   sync.Mutex
	urls []string
}

func newConsoleEnv(t *testing.T) *consoleEnv {
	// Idle workers poll the database: rarely here (an enqueue wakes them
	// at once), since SQLite under -race is what slows this test most.
	cfg := Config{Dir: t.TempDir(), Inbound: []Inbound{{Addr: "127.0.0.1:0", DID: testDID}}, Unpaced: true,
		PasswordIterations: 1000, PollInterval: Duration(2 * time.Second), Workers: 1, Instance: "test",
		RetryDelays: []Duration{Duration(100 * time.Millisecond)}, CallTimeout: Duration(time.Minute)}
	svc, err := openService(context.Background(), cfg, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	svc.fax.Fax.LocalIdent = consoleIdent
	ctx, cancel := context.WithCancel(context.Background())
	addrs, err := svc.Start(ctx)
	require.NoError(t, err)
	svc.cfg.Peers = map[string]string{"+1555": addrs[0].String()}
	tok, err := svc.bootstrap(ctx)
	require.NoError(t, err)
	e := &consoleEnv{svc: svc, tok: tok}
	h := svc.Handler()
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.urls = append(e.urls, r.URL.String())
		e.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	e.base = ts.URL
	e.admin = &remote{t: t, base: ts.URL, client: ts.Client()}
	t.Cleanup(func() {
		ts.Close()
		cancel()
		svc.Close()
	})
	return e
}

// person creates a user with a password and returns its ID.
func (e *consoleEnv) person(t *testing.T, name string, roles ...string) string {
	var u User
	require.Equal(t, http.StatusCreated, e.admin.json("POST", "/v1/users", e.tok, map[string]any{"name": name, "roles": roles, "password": consolePassword}, &u))
	return u.ID
}

// browser is one headless chromium tab on the console.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string
	arts string

	mu     sync.Mutex
	urls   []string
	titles []string
}

func newBrowser(t *testing.T, parent context.Context, base string) *browser {
	exe := peertest.Program(t, "chromium", "apt-get install chromium")
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.Headless, chromedp.DisableGPU,
		chromedp.Flag("ignore-certificate-errors", true), chromedp.WindowSize(1280, 900))
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // CI runs chromium as root in a container
	}
	actx, cancelA := chromedp.NewExecAllocator(parent, opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelB()
		cancelA() // kills the browser
	})
	arts := os.Getenv("FAXKIT_ARTIFACTS")
	if arts == "" {
		arts = t.TempDir()
	}
	arts = filepath.Join(arts, "console")
	require.NoError(t, os.MkdirAll(arts, 0o755))
	b := &browser{t: t, ctx: ctx, base: base, arts: arts}
	require.NoError(t, chromedp.Listen(ctx, func(ev any) {
		var u string
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			u = e.Request.URL
		case network.EventRequestWillBeSent:
			u = e.Request.URL
		case *page.EventFrameNavigated:
			u = e.Frame.URL
		case page.EventFrameNavigated:
			u = e.Frame.URL
		default:
			return
		}
		b.mu.Lock()
		b.urls = append(b.urls, u)
		b.mu.Unlock()
	}))
	b.do(chromedp.Navigate("about:blank"))
	return b
}

func (b *browser) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	require.NoError(b.t, chromedp.Do(b.ctx, steps...))
}

func (b *browser) open(path string) {
	b.t.Helper()
	b.do(chromedp.Navigate(b.base + path))
	b.noteTitle()
}

func (b *browser) noteTitle() {
	b.t.Helper()
	title, err := chromedp.Run(b.ctx, chromedp.Title())
	require.NoError(b.t, err)
	b.mu.Lock()
	b.titles = append(b.titles, title)
	b.mu.Unlock()
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	require.NoError(b.t, err, "text of %s", sel)
	return s
}

// submit clicks sel and waits for want on the next page.
func (b *browser) submit(sel, want string) {
	b.t.Helper()
	// A mark on the old document tells the next one apart.
	// Every image loaded first: a thumbnail arriving between the click's
	// hit test and the press would move the button from under the mouse.
	b.waitFor(fmt.Sprintf(`document.readyState === "complete" && !!document.querySelector(%q) && [...document.images].every(i => i.complete)`, sel), "before "+sel)
	_, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`window.faxkitOld = true`))
	require.NoError(b.t, err)
	b.do(chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.Click(chromedp.CSS(sel)))
	b.waitFor(fmt.Sprintf(`!window.faxkitOld && document.readyState === "complete" && !!document.querySelector(%q)`, want), "after "+sel+", "+want)
	b.noteTitle()
}

// waitFor evaluates cond until it is true; evaluation errors while a
// navigation replaces the document are retried.
func (b *browser) waitFor(cond, what string) {
	b.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](cond))
		if err == nil && ok {
			return
		}
		if !time.Now().Before(deadline) || b.ctx.Err() != nil {
			// Say where the browser is: the page's path and heading (no
			// PHI: IDs are opaque), not only that the wait ran out.
			where, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`location.pathname + " | " + document.title + " | " + ((document.querySelector("h1, .error, [role=alert]") || {}).textContent || "").trim().slice(0, 200)`))
			require.Fail(b.t, "browser wait", "%s: %v (at %s)", what, err, where)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (b *browser) location() string {
	b.t.Helper()
	u, err := chromedp.Run(b.ctx, chromedp.Location())
	require.NoError(b.t, err)
	return u
}

// shot checks the page's accessibility basics and takes a screenshot.
func (b *browser) shot(name string) {
	b.t.Helper()
	b.a11y(name)
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	require.NoError(b.t, err)
	require.NoError(b.t, os.WriteFile(filepath.Join(b.arts, name+".png"), png, 0o644))
}

// a11y checks what a screen reader and a keyboard need: every form
// control has a label, every image a text alternative, every button and
// link a name, one h1, and the page's language; and that scripts see no
// cookie (the session cookie is HttpOnly) and nothing in web storage.
func (b *browser) a11y(name string) {
	b.t.Helper()
	problems, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](`(() => {
		const p = [];
		for (const el of document.querySelectorAll("input, select, textarea")) {
			if (el.type === "hidden" || el.type === "submit") continue;
			if (!(el.labels && el.labels.length) && !el.getAttribute("aria-label")) p.push("unlabelled " + el.tagName + " " + (el.name || el.id));
		}
		for (const el of document.querySelectorAll("img")) if (!el.getAttribute("alt")) p.push("image without alt");
		for (const el of document.querySelectorAll("button, a")) if (!el.textContent.trim() && !el.getAttribute("aria-label") && !el.querySelector("img[alt]")) p.push("unnamed " + el.tagName);
		if (document.querySelectorAll("h1").length !== 1) p.push("h1 count " + document.querySelectorAll("h1").length);
		if (!document.documentElement.lang) p.push("no lang");
		if (document.cookie !== "") p.push("cookie visible to scripts");
		if (localStorage.length || sessionStorage.length) p.push("web storage used");
		return p;
	})()`))
	require.NoError(b.t, err)
	require.Empty(b.t, problems, "page %s", name)
}

// tablet lays the page out at a tablet's width (820 px, portrait),
// checks that nothing overflows sideways, takes a screenshot and goes back
// to the laptop width.
func (b *browser) tablet(name string) {
	b.t.Helper()
	b.do(chromedp.EmulateViewport(820, 1180))
	over, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth - window.innerWidth`))
	require.NoError(b.t, err)
	require.LessOrEqual(b.t, over, 0, "%s overflows a tablet's width by %d px", name, over)
	b.shot(name + "-tablet")
	b.do(chromedp.EmulateViewport(1280, 900))
}

func (b *browser) signIn(name, password, want string) {
	b.t.Helper()
	b.open("/console/signin")
	b.do(chromedp.SetValue(chromedp.CSS("#name"), name), chromedp.SetValue(chromedp.CSS("#password"), password))
	b.submit("#signin", want)
}

func (b *browser) signOut() {
	b.t.Helper()
	b.submit("#signout", "#signin")
	require.Contains(b.t, b.text(".notice"), "signed out")
}

// imageBits reads an <img>'s pixels through a canvas in the page and
// returns them as a bitmap (dark pixels set).
func (b *browser) imageBits(sel string) (int, int, []byte) {
	b.t.Helper()
	_, err := chromedp.Run(b.ctx, chromedp.Poll[bool](fmt.Sprintf(`(() => { const i = document.querySelector(%q); return !!i && i.complete && i.naturalWidth > 0 })()`, sel),
		chromedp.WithPollingTimeout(20*time.Second)))
	require.NoError(b.t, err, "image %s loads", sel)
	type res struct {
		W    int    `json:"w"`
		H    int    `json:"h"`
		Bits string `json:"bits"`
	}
	r, err := chromedp.Run(b.ctx, chromedp.Evaluate[res](fmt.Sprintf(`(() => {
		const img = document.querySelector(%q);
		const c = document.createElement("canvas");
		c.width = img.naturalWidth; c.height = img.naturalHeight;
		const g = c.getContext("2d");
		g.drawImage(img, 0, 0);
		const d = g.getImageData(0, 0, c.width, c.height).data;
		const n = c.width * c.height, out = new Uint8Array((n + 7) >> 3);
		for (let i = 0; i < n; i++) if (d[i * 4] < 128) out[i >> 3] |= 0x80 >> (i & 7);
		let s = "";
		for (let i = 0; i < out.length; i += 0x8000) s += String.fromCharCode.apply(null, out.subarray(i, i + 0x8000));
		return { w: c.width, h: c.height, bits: btoa(s) };
	})()`, sel)))
	require.NoError(b.t, err)
	bits, err := base64.StdEncoding.DecodeString(r.Bits)
	require.NoError(b.t, err)
	return r.W, r.H, bits
}

func onePageTIFF(t *testing.T, p *t4.Bitmap) []byte {
	var b bytes.Buffer
	w, err := tiff.NewWriter(&b, nil)
	require.NoError(t, err)
	require.NoError(t, w.WritePage(p, &tiff.PageOptions{Resolution: tiff.ResFine}))
	require.NoError(t, w.Close())
	return b.Bytes()
}

// samePixels compares a browser bitmap with a page as sent.
func samePixels(t *testing.T, want *t4.Bitmap, w, h int, bits []byte) {
	t.Helper()
	require.Equal(t, want.Width, w)
	require.Equal(t, want.Height, h)
	diff := 0
	for y := range h {
		for x := range w {
			i := y*w + x
			got := bits[i>>3]&(0x80>>(i&7)) != 0
			if got != (want.ColorIndexAt(x, y) == 1) {
				diff++
			}
		}
	}
	require.Zero(t, diff, "pixels differ from the page sent")
}

// scanImage is a synthetic grey "scan" (a frame, text-like bars, a
// gradient that conversion must dither), the kind of photo or scanner
// output that arrives as PNG or JPEG; seed varies it.
func scanImage(seed int) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, 1000, 1300))
	for y := range 1300 {
		for x := range 1000 {
			v := uint8(255)
			switch {
			case x < 20 || x >= 980 || y < 20 || y >= 1280:
				v = 0
			case y >= 100+40*seed && y < 700 && (y/30)%2 == 0 && x >= 80 && x < 80+((y*37+seed*101)%800):
				v = 30
			case y >= 800 && y < 1200 && x >= 100 && x < 900:
				v = uint8((x - 100) * 255 / 800)
			}
			img.Pix[y*img.Stride+x] = v
		}
	}
	return img
}

// convertedAlone converts one upload as the service does (convert.go),
// for comparison with what the browser shows.
func convertedAlone(t *testing.T, data []byte) []*t4.Bitmap {
	var b bytes.Buffer
	w, err := tiff.NewWriter(&b, nil)
	require.NoError(t, err)
	n, err := appendFile(context.Background(), w, data)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	pages := tiffPages(t, b.Bytes())
	require.Len(t, pages, n)
	return pages
}

// browserBits is an image as the browser decoded it (imageBits).
type browserBits struct {
	w, h int
	bits []byte
}

func (b *browser) bitsOf(sel string) browserBits {
	b.t.Helper()
	w, h, bits := b.imageBits(sel)
	return browserBits{w, h, bits}
}

// cookie returns the browser's cookie name for the page's site (the
// session cookie is HttpOnly: scripts cannot read it, the DevTools
// protocol can).
func (b *browser) cookie(name string) string {
	b.t.Helper()
	cs, err := chromedp.Run(b.ctx, func(ctx context.Context, t *chromedp.Target) ([]*network.Cookie, error) {
		r, err := cdp.Call(ctx, t, network.GetCookies, network.GetCookiesParams{})
		return r.Cookies, err
	})
	require.NoError(b.t, err)
	for _, c := range cs {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

func TestConsoleInBrowser(t *testing.T) {
	peertest.Program(t, "chromium", "apt-get install chromium")
	e := newConsoleEnv(t)
	aliceID := e.person(t, "alice", "sender")
	bobID := e.person(t, "bob", "inbox")
	carolID := e.person(t, "carol", "inbox")
	audreyID := e.person(t, "audrey", "auditor")
	e.person(t, "ada", "admin")
	e.person(t, "dave", "sender")
	require.Equal(t, http.StatusOK, e.admin.json("PUT", "/v1/routes/default", e.tok, map[string]any{"targets": []string{bobID}}, nil))

	// Bounded: the whole conversation, browser start included.
	ctx, cancel := context.WithTimeout(context.Background(), 420*time.Second)
	defer cancel()
	start := time.Now()
	step := func(name string) { t.Logf("%6.1fs %s", time.Since(start).Seconds(), name) }
	b := newBrowser(t, ctx, e.base)
	step("browser started")

	// Synthetic letters: two one-page TIFF files (their pages arrive
	// pixel for pixel), a grey PNG and a JPEG "scan" (scaled and dithered
	// by the service: the preview must be exactly the service's own
	// conversion of the file, and the page delivered exactly the preview).
	_, pages := letterTIFF(t, 2)
	dir := t.TempDir()
	tifPath, tif2Path := filepath.Join(dir, "letter-1.tif"), filepath.Join(dir, "letter-2.tif")
	require.NoError(t, os.WriteFile(tifPath, onePageTIFF(t, pages[0]), 0o600))
	require.NoError(t, os.WriteFile(tif2Path, onePageTIFF(t, pages[1]), 0o600))
	var pngData, jpgData bytes.Buffer
	require.NoError(t, png.Encode(&pngData, scanImage(1)))
	require.NoError(t, jpeg.Encode(&jpgData, scanImage(2), &jpeg.Options{Quality: 85}))
	pngPath, jpgPath := filepath.Join(dir, "scan.png"), filepath.Join(dir, "photo.jpg")
	require.NoError(t, os.WriteFile(pngPath, pngData.Bytes(), 0o600))
	require.NoError(t, os.WriteFile(jpgPath, jpgData.Bytes(), 0o600))
	pngPages, jpgPages := convertedAlone(t, pngData.Bytes()), convertedAlone(t, jpgData.Bytes())
	require.Len(t, pngPages, 1)
	require.Len(t, jpgPages, 1)

	// Not signed in: the console sends the browser to the sign-in page.
	b.open("/console/")
	require.True(t, strings.HasSuffix(b.location(), "/console/signin"), b.location())
	b.shot("signin")

	step("signed-out redirect")
	// Sign in as the sender, with the keyboard only (the name field has
	// the focus; Tab; Enter submits), and send: a cover and two files.
	b.open("/console/signin")
	_, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`window.faxkitOld = true`))
	require.NoError(t, err)
	b.do(chromedp.KeyEvent("alice"), chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent(consolePassword+kb.Enter))
	b.waitFor(`!window.faxkitOld && document.readyState === "complete" && !!document.querySelector("#outbox")`, "keyboard sign-in")
	b.open("/console/send")
	b.do(chromedp.SetValue(chromedp.CSS("#to"), consoleNumberTyped),
		chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{tifPath, tif2Path, pngPath, jpgPath}),
		chromedp.SetValue(chromedp.CSS("#cover_subject"), "Lab results"),
		chromedp.SetValue(chromedp.CSS("#cover_to"), "Dr. Synthetic Example"))
	b.shot("send")
	b.tablet("send")
	b.submit("#preview", "#send")
	require.Equal(t, consoleNumber, b.text("#preview-to"))
	thumbs, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll("img.thumb").length`))
	require.NoError(t, err)
	require.Equal(t, 5, thumbs, "cover + 2 TIFF pages + PNG + JPEG")
	w, h, bits := b.imageBits(`ol.thumbs li:nth-child(2) img`)
	samePixels(t, pages[0], w, h, bits) // the preview shows the page as it will be sent
	pngPreview, jpgPreview := b.bitsOf(`ol.thumbs li:nth-child(4) img`), b.bitsOf(`ol.thumbs li:nth-child(5) img`)
	samePixels(t, pngPages[0], pngPreview.w, pngPreview.h, pngPreview.bits) // the service's conversion of the PNG
	samePixels(t, jpgPages[0], jpgPreview.w, jpgPreview.h, jpgPreview.bits) // and of the JPEG
	b.shot("preview")

	step("preview checked")
	// Send, and watch the status page reach "delivered" without reloading
	// (the script refreshes the status region).
	b.submit("#send", "#status-badge")
	faxURL := b.location()
	outID := faxURL[strings.LastIndex(faxURL, "/")+1:]
	_, err = chromedp.Run(b.ctx, chromedp.Poll[bool](`document.getElementById("status-badge").textContent === "delivered"`,
		chromedp.WithPollingTimeout(60*time.Second), chromedp.WithPollingInterval(100*time.Millisecond)))
	require.NoError(t, err, "the fax reaches delivered; last status %q", b.text("#status-badge"))
	require.Equal(t, faxURL, b.location(), "no reload")
	require.Contains(t, b.text("#status-words"), "all 5 pages confirmed")
	require.Equal(t, consoleNumber, b.text("#fax-to"))
	b.shot("fax-delivered")
	// Send again: a new fax with the same pages and number.
	b.submit("#resend", "#status-badge")
	require.NotEqual(t, faxURL, b.location())
	require.Contains(t, b.text("main"), "Resend of") // queued; it is delivered while the test goes on
	require.Equal(t, consoleNumber, b.text("#fax-to"))
	step("delivered")
	b.open("/console/outbox")
	require.Contains(t, b.text("#outbox"), consoleNumber)
	b.shot("outbox")
	b.tablet("outbox")
	b.signOut()

	step("sender done")
	// The inbox user: the routed fax, its thumbnails and the page viewer,
	// whose PNG (rendered on the server from the sealed document) is the
	// page sent, pixel for pixel.
	b.signIn("bob", consolePassword, "#inbox")
	// Both copies (the fax and its resend) arrive, unread: bold, with a
	// "New" badge, counted in the navigation.
	var inIDs []string
	for deadline := time.Now().Add(90 * time.Second); ; {
		b.open("/console/inbox")
		ids, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#inbox tbody tr[data-id]"), r => r.dataset.id)`))
		require.NoError(t, err)
		if inIDs = ids; len(inIDs) == 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	require.Len(t, inIDs, 2, "the received fax and the resend appear in the inbox")
	inID := inIDs[1] // the older: the first fax
	step("inbox listed")
	unread := func() string {
		t.Helper()
		n, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`(document.getElementById("unread-count") || {dataset: {n: "0"}}).dataset.n`))
		require.NoError(t, err)
		return n
	}
	require.Equal(t, "2", unread())
	bold, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#inbox tbody tr[data-id] td:nth-child(2)"), td => getComputedStyle(td).fontWeight + (td.querySelector(".badge.new") ? " new" : ""))`))
	require.NoError(t, err)
	require.Equal(t, []string{"700 new", "700 new"}, bold)
	b.shot("inbox")
	b.tablet("inbox")
	// Opening the fax marks it read; "Mark as unread" makes it new again.
	b.open("/console/faxes/" + inID)
	require.Equal(t, "1", unread())
	b.submit("#mark-unread", "#inbox")
	require.Equal(t, "2", unread())
	row, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector('#inbox tr[data-id="`+inID+`"]').dataset.read`))
	require.NoError(t, err)
	require.Equal(t, "false", row)
	// The page viewer marks it read too; its PNG (rendered on the server
	// from the sealed document) is the page sent, and the PNG and JPEG
	// pages arrived exactly as previewed.
	b.open("/console/faxes/" + inID + "/view/2")
	w, h, bits = b.imageBits("#page-image")
	samePixels(t, pages[0], w, h, bits)
	b.shot("viewer")
	for n, want := range map[int]browserBits{4: pngPreview, 5: jpgPreview} {
		b.open(fmt.Sprintf("/console/faxes/%s/view/%d", inID, n))
		got := b.bitsOf("#page-image")
		require.Equal(t, want.w, got.w, "page %d", n)
		require.Equal(t, want.h, got.h, "page %d", n)
		require.True(t, bytes.Equal(want.bits, got.bits), "page %d delivered differs from its preview", n)
	}
	b.open("/console/inbox")
	require.Equal(t, "1", unread())
	pdfHead, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`fetch("/console/faxes/`+inID+`/download?format=pdf").then(r => r.text()).then(t => t.slice(0, 8))`,
		chromedp.EvalAwaitPromise))
	require.NoError(t, err)
	require.Equal(t, "%PDF-1.4", pdfHead)
	// The call detail shows the remote station (sealed, for the owner).
	b.open("/console/faxes/" + inID + "/calls/1")
	require.Contains(t, b.text("main"), consoleIdent)
	require.Contains(t, b.text("main"), "14.4 kbit/s")
	b.shot("call")
	// The sender's outbound copy is not the inbox user's.
	b.open("/console/faxes/" + outID)
	require.Contains(t, b.text("#error-message"), "does not exist or you may not see it")
	b.signOut()

	step("viewer and call detail checked")
	// Another inbox user is refused bob's fax, and the auditor its content.
	b.signIn("carol", consolePassword, "#inbox")
	b.open("/console/faxes/" + inID)
	require.Contains(t, b.text("#error-message"), "does not exist or you may not see it")
	b.signOut()
	b.signIn("audrey", consolePassword, "#audit-filter")
	b.open("/console/faxes/" + inID + "/view/1")
	require.Contains(t, b.text("#error-message"), "does not exist or you may not see it")
	status, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`fetch("/console/faxes/`+inID+`/pages/1").then(r => r.status)`, chromedp.EvalAwaitPromise))
	require.NoError(t, err)
	require.Equal(t, http.StatusNotFound, status)
	// Both refusals are in the audit view.
	b.open("/console/audit")
	b.do(chromedp.SetValue(chromedp.CSS("#f-doc"), inID), chromedp.SetValue(chromedp.CSS("#f-outcome"), "denied"))
	b.submit("#filter", "#audit-events")
	rows := b.text("#audit-events tbody")
	require.Contains(t, rows, carolID)
	require.Contains(t, rows, audreyID)
	require.Contains(t, rows, "read-content", "the auditor's content refusal")
	require.Contains(t, rows, "read-metadata", "the other inbox user's refusal")
	b.shot("audit")
	b.tablet("audit")
	b.submit("#verify", "#verify-result")
	require.Contains(t, b.text("#verify-result"), "Verified")

	step("refusals audited")
	// CSRF: a form whose token was tampered with is refused, and audited.
	b.do(chromedp.SetValue(chromedp.CSS(`form[action$="/audit/verify"] input[name=csrf]`), "forged"))
	b.submit("#verify", "#error-message")
	require.Contains(t, b.text("h1"), "Request refused")
	b.open("/console/audit?outcome=denied&user=" + audreyID)
	require.Contains(t, b.text("#audit-events tbody"), "CSRF")
	b.signOut()

	step("CSRF refused")
	// Lockout: five wrong passwords lock the account; then even the right
	// one is refused.
	for i := range 5 {
		b.signIn("dave", fmt.Sprintf("Wrong-Password-%d", i), "#signin-error")
	}
	b.signIn("dave", consolePassword, "#signin-error")
	require.Contains(t, b.text("#signin-error"), "locked")

	step("lockout")
	// Admin page.
	b.signIn("ada", consolePassword, "#users")
	require.Contains(t, b.text("#routes"), "bob")
	b.shot("admin")
	b.tablet("admin")
	// The operator's call detail of the delivered fax: its T.30 frames on
	// the timeline (PHI redacted) and its statistics.
	b.open("/console/faxes/" + outID + "/calls/1")
	frames, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](`Array.from(new Set(Array.from(document.querySelectorAll('#trace tr[data-kind="frame"]'), r => r.dataset.name)))`))
	require.NoError(t, err)
	for _, fcf := range []string{"DIS", "DCS", "CFR", "MCF"} {
		require.Contains(t, frames, fcf)
	}
	phases, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll("#phases .phase").length`))
	require.NoError(t, err)
	require.GreaterOrEqual(t, phases, 4, "phases on the timeline")
	confirmed, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`Array.from(document.querySelectorAll("#call-stats th")).find(th => th.textContent === "Pages confirmed").nextElementSibling.textContent`))
	require.NoError(t, err)
	require.Equal(t, "5", confirmed)
	require.Contains(t, b.text("#call-stats"), "T.38 over UDPTL")
	require.Contains(t, b.text("#trace"), "TSI [redacted]")
	b.shot("call-trace")
	b.tablet("call-trace")
	b.signOut()

	step("admin")
	// The inbox user deletes the fax, after a confirmation page: its
	// pages are gone for good.
	b.signIn("bob", consolePassword, "#inbox")
	b.open("/console/faxes/" + inID)
	b.submit("#delete", "#confirm-delete")
	b.shot("delete")
	b.do(chromedp.Click(chromedp.CSS("#confirm")))
	b.submit("#confirm-delete", "#inbox")
	gone, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`!document.querySelector('#inbox tr[data-id="`+inID+`"]')`))
	require.NoError(t, err)
	require.True(t, gone, "the deleted fax left the inbox")
	status, err = chromedp.Run(b.ctx, chromedp.Evaluate[int](`fetch("/console/faxes/`+inID+`/pages/1").then(r => r.status)`, chromedp.EvalAwaitPromise))
	require.NoError(t, err)
	require.Equal(t, http.StatusNotFound, status)
	b.signOut()
	// Back after sign-out shows nothing of the session: the page was
	// not stored (no-store) and is asked for again, without a session.
	b.do(chromedp.NavigateBack())
	b.waitFor(`document.readyState === "complete" && !!document.querySelector("#signin")`, "back after sign-out lands on sign-in")
	step("deleted")

	// Idle timeout: 31 minutes pass on the service's clock (the browser's
	// own timer is not involved); the next page is the sign-in page.
	b.signIn("alice", consolePassword, "#outbox")
	e.svc.skew.Add(int64(31 * time.Minute))
	b.open("/console/outbox")
	require.Contains(t, b.location(), "/console/signin")
	require.Contains(t, b.text(".notice"), "session has ended")

	step("idle timeout")
	// The page's own idle sign-out (console.js), its timeout set short
	// by the server (data-idle): with no input the page signs itself
	// out, and the session is dead on the server, not only in the tab.
	idle := console.New(&consoleBackend{s: e.svc}, console.Options{ClientIdle: 5 * time.Second, Now: e.svc.now})
	its := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.urls = append(e.urls, r.URL.String())
		e.mu.Unlock()
		idle.ServeHTTP(w, r)
	}))
	defer its.Close()
	b.base = its.URL
	b.signIn("alice", consolePassword, "#outbox")
	session := b.cookie("__Host-faxkit-session")
	require.NotEmpty(t, session)
	dataIdle, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body.dataset.idle`))
	require.NoError(t, err)
	require.Equal(t, "5", dataIdle)
	b.waitFor(`location.pathname === "/console/signin" && document.readyState === "complete" && !!document.querySelector(".notice")`, "idle sign-out")
	require.Contains(t, b.text(".notice"), "without activity")
	require.Empty(t, b.cookie("__Host-faxkit-session"))
	req, err := http.NewRequest("GET", e.base+"/console/outbox", nil)
	require.NoError(t, err)
	req.AddCookie(&http.Cookie{Name: "__Host-faxkit-session", Value: session})
	client := &http.Client{Transport: e.admin.client.Transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Equal(t, "/console/signin?m=ended", resp.Header.Get("Location"), "the old session cookie is refused")
	step("idle sign-out in the page")
	// No PHI in any URL the browser asked for or any page title.
	b.mu.Lock()
	seen := append(append([]string{}, b.urls...), b.titles...)
	b.mu.Unlock()
	e.mu.Lock()
	seen = append(seen, e.urls...)
	e.mu.Unlock()
	require.Greater(t, len(seen), 40)
	for _, s := range seen {
		for _, phi := range []string{consoleNumber, "5550100100", "555 010", "555%20010", consoleIdent, "5550199", "555 0199", "Lab results", "Synthetic"} {
			require.NotContains(t, s, phi, "PHI in a URL or title")
		}
	}
	_ = aliceID // alice's own refusals are not part of this test
}
