package console

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Prefix is where the console is mounted.
const Prefix = "/console"

const (
	sessionCookie = "__Host-faxkit-session"
	preCookie     = "__Host-faxkit-pre"
)

// CSP is the console's Content-Security-Policy: same-origin script, style
// and images only, nothing inline, no framing, forms post only here.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// Options configure a console. The zero value works.
type Options struct {
	// Logger receives errors (no PHI, no IDs of documents); default none.
	Logger *slog.Logger
	// MaxUploadBytes bounds a send form; default 64 MiB.
	MaxUploadBytes int64
	// DraftTTL is how long a converted, unsent fax waits for
	// confirmation; default 15 minutes.
	DraftTTL time.Duration
	// Now is the clock of the audit export's file name; default
	// time.Now.
	Now func() time.Time
	// ClientIdle is the browser-side idle sign-out's timeout (the page's
	// data-idle attribute); default the sessions' idle timeout. Tests set
	// it short to watch the script sign out.
	ClientIdle time.Duration
}

// Console serves the web console.
type Console struct {
	b    Backend
	opt  Options
	mux  *http.ServeMux
	tmpl map[string]*template.Template
}

// New returns the console on b.
func New(b Backend, opt Options) *Console {
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.MaxUploadBytes == 0 {
		opt.MaxUploadBytes = 64 << 20
	}
	if opt.DraftTTL == 0 {
		opt.DraftTTL = 15 * time.Minute
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	c := &Console{b: b, opt: opt, mux: http.NewServeMux()}
	c.tmpl = parseTemplates()
	c.routes()
	return c
}

func parseTemplates() map[string]*template.Template {
	base := template.Must(template.New("").Funcs(funcs).ParseFS(templateFS, "templates/layout.html"))
	out := map[string]*template.Template{}
	pages, _ := fs.Glob(templateFS, "templates/*.html")
	for _, p := range pages {
		name := strings.TrimSuffix(strings.TrimPrefix(p, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		out[name] = template.Must(template.Must(base.Clone()).ParseFS(templateFS, p))
	}
	return out
}

// ServeHTTP sets the console's security headers and serves the page.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", CSP)
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
	c.mux.ServeHTTP(w, r)
}

// --- sessions and CSRF -------------------------------------------------------

type ctxKey struct{}

type reqState struct {
	user    User
	session string
	csrf    string
}

func source(r *http.Request) string { return r.RemoteAddr }

// csrfFor derives a form token from a secret the attacker's page cannot
// read (the HttpOnly session or pre-session cookie).
func csrfFor(secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("faxkit-console-csrf-v1"))
	return hex.EncodeToString(m.Sum(nil))
}

func setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
}

// authed wraps a page that needs a signed-in user. A missing or ended
// session goes to the sign-in page (scripts and images get a 401).
func (c *Console) authed(h func(w http.ResponseWriter, r *http.Request, st *reqState)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ck, err := r.Cookie(sessionCookie)
		if err != nil || ck.Value == "" {
			c.toSignIn(w, r, "")
			return
		}
		u, err := c.b.Authenticate(r.Context(), ck.Value, source(r))
		if err != nil {
			setCookie(w, sessionCookie, "", -1)
			c.toSignIn(w, r, "ended")
			return
		}
		st := &reqState{user: u, session: ck.Value, csrf: csrfFor(ck.Value)}
		if r.Method == http.MethodPost && !c.checkCSRF(w, r, st.csrf, u.ID) {
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, st)), st)
	}
}

func (c *Console) toSignIn(w http.ResponseWriter, r *http.Request, why string) {
	// Scripts and images get a status; a page or a form post goes to the
	// sign-in page.
	if r.Header.Get("X-Console-Fetch") != "" || strings.Contains(r.URL.Path, "/pages/") {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte("signed out\n"))
		return
	}
	u := Prefix + "/signin"
	if why != "" {
		u += "?m=" + why
	}
	http.Redirect(w, r, u, http.StatusSeeOther)
}

// checkCSRF compares the form's csrf field with want. The form must be
// parsed already for multipart bodies (see formValue).
func (c *Console) checkCSRF(w http.ResponseWriter, r *http.Request, want, principal string) bool {
	if isMultipart(r) {
		return true // the send form checks its csrf part as it reads the body
	}
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		got = r.PostFormValue("csrf")
	}
	if validCSRF(r, got, want) {
		return true
	}
	c.csrfRefused(w, r, principal)
	return false
}

func isMultipart(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/")
}

func validCSRF(r *http.Request, got, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1 && sameOrigin(r)
}

// sameOrigin refuses cross-site requests outright when the browser says
// so (Sec-Fetch-Site), a second line behind the token.
func sameOrigin(r *http.Request) bool {
	s := r.Header.Get("Sec-Fetch-Site")
	return s == "" || s == "same-origin" || s == "none"
}

func (c *Console) csrfRefused(w http.ResponseWriter, r *http.Request, principal string) {
	c.b.Refused(r.Context(), principal, source(r), "console: CSRF token missing or wrong")
	c.render(w, r, http.StatusForbidden, "error", nil, map[string]any{
		"Title":   "Request refused",
		"Message": "This form was not accepted: it had expired or did not come from this console. Go back, reload the page and try again.",
	})
}

func randomID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// --- rendering ----------------------------------------------------------------

type page struct {
	Title string
	User  *User
	CSRF  string
	Nav   string
	Data  map[string]any
	Idle  int // seconds, for the client-side sign-out
	// Unread counts the user's unread received faxes (navigation badge).
	Unread int
}

func (c *Console) render(w http.ResponseWriter, r *http.Request, code int, name string, st *reqState, data map[string]any) {
	p := page{Data: data}
	if t, ok := data["Title"].(string); ok {
		p.Title = t
	}
	if n, ok := data["Nav"].(string); ok {
		p.Nav = n
	}
	if st != nil {
		p.User, p.CSRF = &st.user, st.csrf
		p.Idle = int(c.b.IdleTimeout().Seconds())
		if c.opt.ClientIdle > 0 {
			p.Idle = max(int(c.opt.ClientIdle.Seconds()), 1)
		}
		if st.user.Has("inbox") || st.user.Has("admin") {
			p.Unread, _ = c.b.Unread(r.Context(), st.user)
		}
	} else if v, ok := data["CSRF"].(string); ok {
		p.CSRF = v
	}
	t := c.tmpl[name]
	if t == nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	if err := t.ExecuteTemplate(w, "layout", p); err != nil {
		c.opt.Logger.Error("console: template", "page", name, "err", err)
	}
}

// fail shows a backend error: its own message when it is an *Error.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, st *reqState, err error) {
	var e *Error
	code, msg := http.StatusInternalServerError, "Something went wrong on the server. Try again; if it persists, tell your administrator."
	if errors.As(err, &e) {
		code, msg = e.Status, e.Msg
		if code == http.StatusNotFound {
			msg = "This fax does not exist or you may not see it."
		}
	} else {
		c.opt.Logger.Error("console: backend", "err", err)
	}
	title := "Not possible"
	switch code {
	case http.StatusNotFound:
		title = "Not found"
	case http.StatusForbidden:
		title = "Not allowed"
	}
	c.render(w, r, code, "error", st, map[string]any{"Title": title, "Message": msg})
}
