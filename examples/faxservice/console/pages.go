package console

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/faxkit/faxkit/phi/audit"
)

func (c *Console) routes() {
	m := c.mux
	static, _ := fsSub(staticFS, "static")
	m.Handle("GET "+Prefix+"/static/", http.StripPrefix(Prefix+"/static/", http.FileServerFS(static)))
	m.HandleFunc("GET "+Prefix+"/{$}", c.authed(c.home))
	m.HandleFunc("GET "+Prefix, func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, Prefix+"/", http.StatusSeeOther) })
	m.HandleFunc("GET "+Prefix+"/signin", c.signInPage)
	m.HandleFunc("POST "+Prefix+"/signin", c.signIn)
	m.HandleFunc("POST "+Prefix+"/signout", c.authed(c.signOut))
	m.HandleFunc("GET "+Prefix+"/send", c.authed(c.sendPage))
	m.HandleFunc("POST "+Prefix+"/send", c.authed(c.sendForm))
	m.HandleFunc("GET "+Prefix+"/drafts/{id}/pages/{n}", c.authed(c.draftPage))
	m.HandleFunc("POST "+Prefix+"/drafts/{id}/send", c.authed(c.draftSend))
	m.HandleFunc("POST "+Prefix+"/drafts/{id}/discard", c.authed(c.draftDiscard))
	m.HandleFunc("GET "+Prefix+"/outbox", c.authed(c.box("outbound")))
	m.HandleFunc("GET "+Prefix+"/inbox", c.authed(c.box("inbound")))
	m.HandleFunc("GET "+Prefix+"/faxes/{id}", c.authed(c.faxPage))
	m.HandleFunc("GET "+Prefix+"/faxes/{id}/pages/{n}", c.authed(c.pagePNG))
	m.HandleFunc("GET "+Prefix+"/faxes/{id}/view/{n}", c.authed(c.viewer))
	m.HandleFunc("GET "+Prefix+"/faxes/{id}/download", c.authed(c.download))
	m.HandleFunc("POST "+Prefix+"/faxes/{id}/cancel", c.authed(c.cancel))
	m.HandleFunc("POST "+Prefix+"/faxes/{id}/resend", c.authed(c.resend))
	m.HandleFunc("POST "+Prefix+"/faxes/{id}/read", c.authed(c.markRead(true)))
	m.HandleFunc("POST "+Prefix+"/faxes/{id}/unread", c.authed(c.markRead(false)))
	m.HandleFunc("GET "+Prefix+"/faxes/{id}/delete", c.authed(c.deletePage))
	m.HandleFunc("POST "+Prefix+"/faxes/{id}/delete", c.authed(c.deleteFax))
	m.HandleFunc("GET "+Prefix+"/faxes/{id}/calls/{n}", c.authed(c.callPage))
	m.HandleFunc("GET "+Prefix+"/audit", c.authed(c.auditPage))
	m.HandleFunc("POST "+Prefix+"/audit/verify", c.authed(c.auditVerify))
	m.HandleFunc("GET "+Prefix+"/audit/export", c.authed(c.auditExport))
	m.HandleFunc("GET "+Prefix+"/admin", c.authed(c.adminPage))
	m.HandleFunc("POST "+Prefix+"/admin/{what}", c.authed(c.adminPost))
}

func (c *Console) home(w http.ResponseWriter, r *http.Request, st *reqState) {
	to := "/inbox"
	switch {
	case st.user.Has("sender"):
		to = "/outbox"
	case st.user.Has("inbox"):
		to = "/inbox"
	case st.user.Has("auditor"):
		to = "/audit"
	case st.user.Has("admin"):
		to = "/admin"
	}
	http.Redirect(w, r, Prefix+to, http.StatusSeeOther)
}

// --- sign in / out -----------------------------------------------------------

func (c *Console) signInPage(w http.ResponseWriter, r *http.Request) {
	pre := ""
	if ck, err := r.Cookie(preCookie); err == nil && len(ck.Value) == 32 {
		pre = ck.Value
	} else {
		pre = randomID()
		setCookie(w, preCookie, pre, 3600)
	}
	msg := ""
	switch r.URL.Query().Get("m") {
	case "ended":
		msg = "Your session has ended (signed out after inactivity, or elsewhere). Please sign in again."
	case "out":
		msg = "You are signed out."
	case "idle":
		msg = "You were signed out after a period without activity, to protect the faxes on screen. Please sign in again."
	}
	c.render(w, r, http.StatusOK, "signin", nil, map[string]any{"Title": "Sign in", "CSRF": csrfFor(pre), "Notice": msg})
}

func (c *Console) signIn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	ck, err := r.Cookie(preCookie)
	if err != nil || !validCSRF(r, r.PostFormValue("csrf"), csrfFor(ck.Value)) {
		c.csrfRefused(w, r, "")
		return
	}
	name := strings.TrimSpace(r.PostFormValue("name"))
	tok, err := c.b.SignIn(r.Context(), name, r.PostFormValue("password"), source(r))
	if err != nil {
		msg := "The user name or password is wrong. After 5 failed attempts the account is locked for 15 minutes."
		if errors.Is(err, ErrLocked) {
			msg = "This account is locked after too many failed attempts. Try again later or ask your administrator."
		} else if !errors.Is(err, ErrAuth) {
			msg = "Sign-in is not possible right now. Try again."
			c.opt.Logger.Error("console: sign-in", "err", err)
		}
		c.render(w, r, http.StatusUnauthorized, "signin", nil, map[string]any{"Title": "Sign in", "CSRF": csrfFor(ck.Value), "Error": msg, "Name": name})
		return
	}
	setCookie(w, preCookie, "", -1)
	setCookie(w, sessionCookie, tok, 0)
	http.Redirect(w, r, Prefix+"/", http.StatusSeeOther)
}

func (c *Console) signOut(w http.ResponseWriter, r *http.Request, st *reqState) {
	c.b.SignOut(r.Context(), st.user, st.session, source(r))
	c.b.DiscardDrafts(r.Context(), st.user, source(r))
	setCookie(w, sessionCookie, "", -1)
	// Nothing of the session stays in the browser.
	w.Header().Set("Clear-Site-Data", `"cache", "storage"`)
	m := "out"
	if r.PostFormValue("why") == "idle" { // the page's idle sign-out
		m = "idle"
	}
	http.Redirect(w, r, Prefix+"/signin?m="+m, http.StatusSeeOther)
}

// --- send --------------------------------------------------------------------

func (c *Console) sendPage(w http.ResponseWriter, r *http.Request, st *reqState) {
	c.render(w, r, http.StatusOK, "send", st, map[string]any{"Title": "Send a fax", "Nav": "send"})
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// normalizeNumber accepts what people type (+1 555-010 0100, (555)…)
// and keeps digits and a leading +.
func normalizeNumber(s string) string {
	var b strings.Builder
	for i, r := range strings.TrimSpace(s) {
		if r == '+' && i == 0 || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

const maxFiles = 20

// sendForm reads the upload into memory (never a temporary file), checks
// the CSRF part, converts the files and shows the previews.
func (c *Console) sendForm(w http.ResponseWriter, r *http.Request, st *reqState) {
	if !st.user.Has("sender") {
		c.b.Refused(r.Context(), st.user.ID, source(r), "console: send without the sender role")
		c.fail(w, r, st, &Error{http.StatusForbidden, "Sending faxes needs the sender role."})
		return
	}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		c.csrfRefused(w, r, st.user.ID)
		return
	}
	mr := multipart.NewReader(http.MaxBytesReader(w, r.Body, c.opt.MaxUploadBytes), params["boundary"])
	var (
		csrf, to string
		cover    Cover
		files    [][]byte
	)
	again := func(code int, msg string) {
		c.render(w, r, code, "send", st, map[string]any{"Title": "Send a fax", "Nav": "send", "Error": msg, "Cover": cover})
	}
	// The form's first part must be its CSRF token (browsers send fields
	// in document order): nothing of a forged request is read further.
	p, err := mr.NextPart()
	if err == nil && p.FormName() == "csrf" {
		b, _ := io.ReadAll(io.LimitReader(p, 128))
		csrf = string(b)
	}
	if !validCSRF(r, csrf, st.csrf) {
		c.csrfRefused(w, r, st.user.ID)
		return
	}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			again(http.StatusRequestEntityTooLarge, "The files are too large together.")
			return
		}
		if err != nil {
			again(http.StatusBadRequest, "The form could not be read. Try again.")
			return
		}
		b, err := io.ReadAll(p)
		if errors.As(err, &mbe) {
			again(http.StatusRequestEntityTooLarge, "The files are too large together.")
			return
		}
		if err != nil {
			again(http.StatusBadRequest, "The form could not be read. Try again.")
			return
		}
		switch p.FormName() {
		case "to":
			to = string(b)
		case "file":
			if len(b) == 0 && p.FileName() == "" {
				continue // an empty file input
			}
			if len(files) == maxFiles {
				again(http.StatusBadRequest, fmt.Sprintf("At most %d files per fax.", maxFiles))
				return
			}
			files = append(files, b)
		case "cover_to":
			cover.To = clip(string(b), 200)
		case "cover_from":
			cover.From = clip(string(b), 200)
		case "cover_subject":
			cover.Subject = clip(string(b), 200)
		case "cover_note":
			cover.Note = clip(string(b), 2000)
		}
	}
	to = normalizeNumber(to)
	if !e164.MatchString(to) {
		again(http.StatusBadRequest, "Enter the fax number with its country code, for example +1 555 010 0100.")
		return
	}
	if len(files) == 0 {
		again(http.StatusBadRequest, "Choose at least one file (PDF, TIFF, PNG or JPEG).")
		return
	}
	doc, pages, err := c.b.Convert(r.Context(), st.user, source(r), files, cover)
	var e *Error
	if errors.As(err, &e) {
		again(e.Status, e.Msg)
		return
	}
	if err != nil {
		c.fail(w, r, st, err)
		return
	}
	id, err := c.b.SaveDraft(r.Context(), st.user, source(r), to, doc, pages, c.opt.DraftTTL)
	if err != nil {
		c.fail(w, r, st, err)
		return
	}
	c.render(w, r, http.StatusOK, "preview", st, map[string]any{"Title": "Check and send", "Nav": "send",
		"Draft": id, "To": to, "Pages": seq(pages), "N": pages})
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i + 1
	}
	return out
}

func (c *Console) draftPage(w http.ResponseWriter, r *http.Request, st *reqState) {
	n, ok := pageNum(r)
	if !ok {
		http.NotFound(w, r)
		return
	}
	b, err := c.b.DraftPage(r.Context(), st.user, source(r), r.PathValue("id"), n)
	if err != nil {
		var e *Error
		code := http.StatusInternalServerError
		if errors.As(err, &e) {
			code = e.Status
		}
		http.Error(w, http.StatusText(code), code)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Write(b)
}

func (c *Console) draftSend(w http.ResponseWriter, r *http.Request, st *reqState) {
	id, err := c.b.SendDraft(r.Context(), st.user, source(r), r.PathValue("id"))
	var e *Error
	if errors.As(err, &e) && e.Status == http.StatusGone {
		c.render(w, r, http.StatusGone, "send", st, map[string]any{"Title": "Send a fax", "Nav": "send", "Error": e.Msg})
		return
	}
	if err != nil {
		c.fail(w, r, st, err)
		return
	}
	http.Redirect(w, r, Prefix+"/faxes/"+id, http.StatusSeeOther)
}

func (c *Console) draftDiscard(w http.ResponseWriter, r *http.Request, st *reqState) {
	c.b.DiscardDraft(r.Context(), st.user, source(r), r.PathValue("id"))
	http.Redirect(w, r, Prefix+"/send", http.StatusSeeOther)
}

// --- outbox and inbox --------------------------------------------------------

func (c *Console) box(direction string) func(w http.ResponseWriter, r *http.Request, st *reqState) {
	return func(w http.ResponseWriter, r *http.Request, st *reqState) {
		cursor := r.URL.Query().Get("cursor")
		faxes, next, err := c.b.List(r.Context(), st.user, source(r), direction, cursor)
		if err != nil {
			c.fail(w, r, st, err)
			return
		}
		active := false
		for _, f := range faxes {
			active = active || f.Status == "queued" || f.Status == "sending"
		}
		name, title := "outbox", "Outbox"
		if direction == "inbound" {
			name, title = "inbox", "Inbox"
		}
		data := map[string]any{"Title": title, "Nav": name, "Faxes": faxes, "Active": active, "Cursor": cursor, "Next": next}
		if r.URL.Query().Get("fragment") == "1" {
			// The live-status script swaps this table in.
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			c.tmpl[name].ExecuteTemplate(w, "table", page{Data: data, CSRF: st.csrf})
			return
		}
		c.render(w, r, http.StatusOK, name, st, data)
	}
}

func (c *Console) faxPage(w http.ResponseWriter, r *http.Request, st *reqState) {
	f, err := c.b.Fax(r.Context(), st.user, source(r), r.PathValue("id"), true)
	if err != nil {
		c.fail(w, r, st, err)
		return
	}
	nav := "outbox"
	if f.Direction == "inbound" {
		nav = "inbox"
	}
	data := map[string]any{"Title": "Fax " + shortID(f.ID), "Nav": nav, "Fax": f, "PageList": seq(f.Pages)}
	if r.URL.Query().Get("fragment") == "1" {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		c.tmpl["fax"].ExecuteTemplate(w, "status", page{Data: data, CSRF: st.csrf})
		return
	}
	if f.Direction == "inbound" && !f.Read {
		// Opening a received fax marks it read.
		if err := c.b.MarkRead(r.Context(), st.user, source(r), f.ID, true); err == nil {
			f.Read = true
			data["Fax"] = f
		}
	}
	c.render(w, r, http.StatusOK, "fax", st, data)
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

func pageNum(r *http.Request) (int, bool) {
	n, err := strconv.Atoi(r.PathValue("n"))
	return n, err == nil && n >= 1 && n <= 10000
}

func (c *Console) pagePNG(w http.ResponseWriter, r *http.Request, st *reqState) {
	n, ok := pageNum(r)
	if !ok {
		http.NotFound(w, r)
		return
	}
	b, err := c.b.Page(r.Context(), st.user, source(r), r.PathValue("id"), n)
	if err != nil {
		var e *Error
		code := http.StatusInternalServerError
		if errors.As(err, &e) {
			code = e.Status
		}
		http.Error(w, http.StatusText(code), code)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Write(b)
}

func (c *Console) viewer(w http.ResponseWriter, r *http.Request, st *reqState) {
	n, ok := pageNum(r)
	if !ok {
		http.NotFound(w, r)
		return
	}
	f, err := c.b.Fax(r.Context(), st.user, source(r), r.PathValue("id"), false)
	if err != nil {
		c.fail(w, r, st, err)
		return
	}
	if n > f.Pages {
		c.fail(w, r, st, &Error{http.StatusNotFound, "no such page"})
		return
	}
	if f.Direction == "inbound" && !f.Read {
		c.b.MarkRead(r.Context(), st.user, source(r), f.ID, true)
	}
	nav := "outbox"
	if f.Direction == "inbound" {
		nav = "inbox"
	}
	c.render(w, r, http.StatusOK, "viewer", st, map[string]any{"Title": fmt.Sprintf("Fax %s, page %d of %d", shortID(f.ID), n, f.Pages),
		"Nav": nav, "Fax": f, "Page": n, "Prev": n - 1, "Next": next(n, f.Pages)})
}

func next(n, max int) int {
	if n < max {
		return n + 1
	}
	return 0
}

func (c *Console) download(w http.ResponseWriter, r *http.Request, st *reqState) {
	format := r.URL.Query().Get("format")
	if format != "pdf" && format != "tiff" {
		http.Error(w, "format must be pdf or tiff", http.StatusBadRequest)
		return
	}
	b, err := c.b.Content(r.Context(), st.user, source(r), r.PathValue("id"), format)
	if err != nil {
		c.fail(w, r, st, err)
		return
	}
	ct, ext := "application/pdf", "pdf"
	if format == "tiff" {
		ct, ext = "image/tiff", "tif"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Disposition", "attachment; filename=fax-"+shortID(r.PathValue("id"))+"."+ext)
	w.Write(b)
}

func (c *Console) cancel(w http.ResponseWriter, r *http.Request, st *reqState) {
	id := r.PathValue("id")
	if err := c.b.Cancel(r.Context(), st.user, source(r), id); err != nil {
		c.fail(w, r, st, err)
		return
	}
	http.Redirect(w, r, Prefix+"/faxes/"+id, http.StatusSeeOther)
}

// markRead marks a fax read or unread for the user and goes back to it
// (marked unread: to the inbox, where it shows as new again).
func (c *Console) markRead(read bool) func(w http.ResponseWriter, r *http.Request, st *reqState) {
	return func(w http.ResponseWriter, r *http.Request, st *reqState) {
		id := r.PathValue("id")
		if err := c.b.MarkRead(r.Context(), st.user, source(r), id, read); err != nil {
			c.fail(w, r, st, err)
			return
		}
		to := Prefix + "/faxes/" + id
		if !read {
			to = Prefix + "/inbox"
		}
		http.Redirect(w, r, to, http.StatusSeeOther)
	}
}

func (c *Console) resend(w http.ResponseWriter, r *http.Request, st *reqState) {
	id, err := c.b.Resend(r.Context(), st.user, source(r), r.PathValue("id"))
	if err != nil {
		c.fail(w, r, st, err)
		return
	}
	http.Redirect(w, r, Prefix+"/faxes/"+id, http.StatusSeeOther)
}

func (c *Console) deletePage(w http.ResponseWriter, r *http.Request, st *reqState) {
	f, err := c.b.Fax(r.Context(), st.user, source(r), r.PathValue("id"), false)
	if err != nil {
		c.fail(w, r, st, err)
		return
	}
	c.render(w, r, http.StatusOK, "delete", st, map[string]any{"Title": "Delete fax " + shortID(f.ID) + "?", "Fax": f})
}

func (c *Console) deleteFax(w http.ResponseWriter, r *http.Request, st *reqState) {
	if r.PostFormValue("confirm") != "yes" {
		c.fail(w, r, st, &Error{http.StatusBadRequest, "Tick the box to confirm that the fax is to be destroyed."})
		return
	}
	f, err := c.b.Fax(r.Context(), st.user, source(r), r.PathValue("id"), false)
	if err == nil {
		err = c.b.Delete(r.Context(), st.user, source(r), f.ID)
	}
	if err != nil {
		c.fail(w, r, st, err)
		return
	}
	to := "/outbox"
	if f.Direction == "inbound" {
		to = "/inbox"
	}
	http.Redirect(w, r, Prefix+to, http.StatusSeeOther)
}

func (c *Console) callPage(w http.ResponseWriter, r *http.Request, st *reqState) {
	n, ok := pageNum(r)
	f, err := c.b.Fax(r.Context(), st.user, source(r), r.PathValue("id"), true)
	if err != nil {
		c.fail(w, r, st, err)
		return
	}
	if !ok || n > len(f.Attempts) {
		c.fail(w, r, st, &Error{http.StatusNotFound, "no such call"})
		return
	}
	tr, err := c.b.CallTrace(r.Context(), st.user, source(r), f.ID, n)
	if err != nil {
		c.fail(w, r, st, err)
		return
	}
	layoutTrace(tr)
	c.render(w, r, http.StatusOK, "call", st, map[string]any{"Title": fmt.Sprintf("Call %d of fax %s", n, shortID(f.ID)),
		"Nav": map[bool]string{true: "inbox", false: "outbox"}[f.Direction == "inbound"], "Fax": f, "A": f.Attempts[n-1], "Trace": tr})
}

// layoutTrace places a trace's records and T.30 phases on the timeline
// (percent of the call, for the CSS classes at-N and w-N: the CSP allows
// no inline style).
func layoutTrace(tr *CallTrace) {
	if tr == nil {
		return
	}
	span := time.Millisecond
	for _, r := range tr.Records {
		span = max(span, r.At)
	}
	tr.Span = span
	pct := func(d time.Duration) int { return int(min(max(d*100/span, 0), 100)) }
	tr.Phases = tr.Phases[:0]
	for i := range tr.Records {
		r := &tr.Records[i]
		r.Pos = pct(r.At)
		if r.Layer != "t30" || r.Kind != "phase" {
			continue
		}
		if k := len(tr.Phases); k > 0 {
			p := &tr.Phases[k-1]
			p.Len = r.At - p.At
		}
		tr.Phases = append(tr.Phases, TracePhase{Name: r.Phase, At: r.At})
	}
	for i := range tr.Phases {
		p := &tr.Phases[i]
		if i == len(tr.Phases)-1 {
			p.Len = span - p.At
		}
		p.From, p.Width = pct(p.At), max(pct(p.At+p.Len)-pct(p.At), 1)
	}
}

// --- audit ---------------------------------------------------------------------

// actions are the audit filter's choices: every action the audit log
// records, from its own names, so that one added to phi/audit (backup,
// restore, alert, integrity-failure were missing from a written list) is
// offered at once.
var actions = func() (names []string) {
	for a := audit.ActionCreate; !strings.HasPrefix(a.String(), "Action("); a++ {
		names = append(names, a.String())
	}
	return names
}()

func (c *Console) auditFilter(r *http.Request) (AuditFilter, string) {
	q := r.URL.Query()
	f := AuditFilter{Principal: strings.TrimSpace(q.Get("user")), Document: strings.TrimSpace(q.Get("document")),
		Action: q.Get("action"), Outcome: q.Get("outcome")}
	for _, x := range []struct {
		name string
		t    *time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		if v := q.Get(x.name); v != "" {
			t, err := time.ParseInLocation("2006-01-02T15:04", v, time.UTC)
			if err != nil {
				if t, err = time.ParseInLocation("2006-01-02", v, time.UTC); err != nil {
					return f, "Dates are YYYY-MM-DD or YYYY-MM-DDTHH:MM (UTC)."
				}
			}
			*x.t = t
		}
	}
	return f, ""
}

func (c *Console) auditPage(w http.ResponseWriter, r *http.Request, st *reqState) {
	f, msg := c.auditFilter(r)
	data := map[string]any{"Title": "Audit trail", "Nav": "audit", "F": f, "Q": r.URL.Query(), "Actions": actions,
		"Export": Prefix + "/audit/export?" + r.URL.RawQuery}
	if msg != "" {
		data["Error"] = msg
		c.render(w, r, http.StatusBadRequest, "audit", st, data)
		return
	}
	evs, err := c.b.Audit(r.Context(), st.user, source(r), f, 500)
	if err != nil {
		c.fail(w, r, st, err)
		return
	}
	data["Events"] = evs
	c.render(w, r, http.StatusOK, "audit", st, data)
}

func (c *Console) auditVerify(w http.ResponseWriter, r *http.Request, st *reqState) {
	chk, err := c.b.VerifyAudit(r.Context(), st.user, source(r))
	if err != nil {
		c.fail(w, r, st, err)
		return
	}
	c.render(w, r, http.StatusOK, "audit", st, map[string]any{"Title": "Audit trail", "Nav": "audit", "Check": chk,
		"Actions": actions, "Export": Prefix + "/audit/export"})
}

func (c *Console) auditExport(w http.ResponseWriter, r *http.Request, st *reqState) {
	f, msg := c.auditFilter(r)
	if msg != "" {
		http.Error(w, msg, http.StatusBadRequest)
		return
	}
	var buf bytes.Buffer
	if _, err := c.b.ExportAudit(r.Context(), st.user, source(r), f, &buf); err != nil {
		c.fail(w, r, st, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Content-Disposition", "attachment; filename=audit-"+c.opt.Now().UTC().Format("20060102T150405Z")+".jsonl")
	w.Write(buf.Bytes())
}

// --- admin ---------------------------------------------------------------------

func (c *Console) adminPage(w http.ResponseWriter, r *http.Request, st *reqState) {
	c.adminRender(w, r, st, http.StatusOK, map[string]any{})
}

func (c *Console) adminRender(w http.ResponseWriter, r *http.Request, st *reqState, code int, data map[string]any) {
	if !st.user.Has("admin") {
		c.b.Refused(r.Context(), st.user.ID, source(r), "console: admin page without the admin role")
		c.fail(w, r, st, &Error{http.StatusForbidden, "Administration needs the admin role."})
		return
	}
	ctx, src := r.Context(), source(r)
	users, err := c.b.Users(ctx, st.user, src)
	if err != nil {
		c.fail(w, r, st, err)
		return
	}
	routes, err := c.b.Routes(ctx, st.user, src)
	if err != nil {
		c.fail(w, r, st, err)
		return
	}
	hooks, err := c.b.Webhooks(ctx, st.user, src)
	if err != nil {
		c.fail(w, r, st, err)
		return
	}
	names := map[string]string{}
	for _, u := range users {
		names[u.ID] = u.Name
	}
	data["Title"], data["Nav"] = "Administration", "admin"
	data["Users"], data["Routes"], data["Hooks"], data["Names"] = users, routes, hooks, names
	data["Settings"] = c.b.Settings()
	c.render(w, r, code, "admin", st, data)
}

func (c *Console) adminPost(w http.ResponseWriter, r *http.Request, st *reqState) {
	if !st.user.Has("admin") {
		c.adminRender(w, r, st, http.StatusForbidden, nil)
		return
	}
	ctx, src := r.Context(), source(r)
	data := map[string]any{}
	var err error
	switch r.PathValue("what") {
	case "users":
		var u User
		u, err = c.b.CreateUser(ctx, st.user, src, strings.TrimSpace(r.PostFormValue("name")), r.PostForm["roles"], r.PostFormValue("password"))
		if err == nil {
			data["Notice"] = "User " + u.Name + " created."
		}
	case "tokens":
		ttl, _ := strconv.Atoi(r.PostFormValue("ttl_hours"))
		var id, tok string
		id, tok, err = c.b.IssueToken(ctx, st.user, src, r.PostFormValue("user"), ttl)
		if err == nil {
			data["Notice"] = "Token " + id + " issued. Copy it now: it is shown only once."
			data["Token"] = tok
		}
	case "revoke":
		err = c.b.RevokeToken(ctx, st.user, src, strings.TrimSpace(r.PostFormValue("token")))
		if err == nil {
			data["Notice"] = "Token revoked."
		}
	case "routes":
		var targets []string
		for _, t := range r.PostForm["targets"] {
			if t = strings.TrimSpace(t); t != "" {
				targets = append(targets, t)
			}
		}
		did := strings.TrimSpace(r.PostFormValue("did"))
		if did != "default" {
			did = normalizeNumber(did)
		}
		err = c.b.SetRoute(ctx, st.user, src, did, targets)
		if err == nil {
			data["Notice"] = "Route saved."
		}
	case "routes-delete":
		err = c.b.DeleteRoute(ctx, st.user, src, r.PostFormValue("did"))
		if err == nil {
			data["Notice"] = "Route deleted."
		}
	case "webhooks":
		var h Webhook
		h, err = c.b.AddWebhook(ctx, st.user, src, strings.TrimSpace(r.PostFormValue("url")), r.PostForm["events"])
		if err == nil {
			data["Notice"] = "Webhook " + h.ID + " added. Its signing secret is shown only once."
			data["Token"] = h.Secret
		}
	case "webhooks-delete":
		err = c.b.DeleteWebhook(ctx, st.user, src, r.PostFormValue("id"))
		if err == nil {
			data["Notice"] = "Webhook deleted."
		}
	default:
		http.NotFound(w, r)
		return
	}
	code := http.StatusOK
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			c.fail(w, r, st, err)
			return
		}
		code, data["Error"] = e.Status, e.Msg
	}
	c.adminRender(w, r, st, code, data)
}
