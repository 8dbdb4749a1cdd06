package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/faxkit/faxkit/examples/faxservice/console"
	"github.com/faxkit/faxkit/phi"
	"github.com/faxkit/faxkit/phi/audit"
	"github.com/faxkit/faxkit/tiff"
)

// The web console (package console) runs on this service's listener and
// service layer. consoleBackend gives it the service: sign-in, sessions
// and lockout are auth.go's; document operations call the API's own
// handler methods in process (no HTTP, no JSON over the network), so each
// guard decision, refusal and audit record is exactly the API's; the
// audit view reads and verifies this instance's audit log.

// mountConsole serves the console under /console/ on mux.
func (s *Service) mountConsole(mux *http.ServeMux) {
	c := console.New(&consoleBackend{s: s}, console.Options{Logger: s.logger, MaxUploadBytes: s.cfg.MaxUploadBytes, Now: s.now})
	mux.Handle(console.Prefix+"/", c)
	mux.Handle(console.Prefix, c)
}

type consoleBackend struct {
	s *Service

	keysOnce sync.Once
	keys     audit.Keys
	keysErr  error
}

var _ console.Backend = (*consoleBackend)(nil)

func (b *consoleBackend) principal(u console.User) phi.Principal {
	return principalOf(u.ID, strings.Join(u.Roles, ","))
}

// refuse audits a refusal decided here and returns it for the console.
func (b *consoleBackend) refuse(ctx context.Context, who, src string, act audit.Action, doc string, code int, msg string) error {
	out := audit.OutcomeFailure
	if code == http.StatusForbidden || code == http.StatusUnauthorized {
		out = audit.OutcomeDenied
	}
	if who == "" {
		who = "anonymous"
	}
	b.s.audit(ctx, audit.Event{Principal: who, Action: act, Document: doc, Source: src, Outcome: out, Detail: fmt.Sprintf("console: %d %s", code, msg)})
	return &console.Error{Status: code, Msg: msg}
}

// memResponse collects a handler's response in memory.
type memResponse struct {
	h    http.Header
	code int
	buf  bytes.Buffer
}

func (m *memResponse) Header() http.Header         { return m.h }
func (m *memResponse) Write(p []byte) (int, error) { return m.buf.Write(p) }
func (m *memResponse) WriteHeader(c int)           { m.code = c }

// call runs one of the API's handlers for u in process and returns its
// body, or a *console.Error with the API's own (PHI-free) message.
func (b *consoleBackend) call(ctx context.Context, h authedHandler, u console.User, src, method string, pv map[string]string, query string, body any) ([]byte, error) {
	var rd io.Reader = http.NoBody
	var n int64
	if body != nil {
		j, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd, n = bytes.NewReader(j), int64(len(j))
	}
	req, err := http.NewRequestWithContext(ctx, method, "/?"+query, rd)
	if err != nil {
		return nil, err
	}
	req.ContentLength = n
	req.RemoteAddr = src
	for k, v := range pv {
		req.SetPathValue(k, v)
	}
	rec := &memResponse{h: http.Header{}, code: http.StatusOK}
	h(rec, req, b.principal(u), src)
	if rec.code >= 300 {
		var e struct{ Error string }
		json.Unmarshal(rec.buf.Bytes(), &e)
		if e.Error == "" {
			e.Error = http.StatusText(rec.code)
		}
		return nil, &console.Error{Status: rec.code, Msg: e.Error}
	}
	return rec.buf.Bytes(), nil
}

// --- sessions ---------------------------------------------------------------

func (b *consoleBackend) SignIn(ctx context.Context, name, password, src string) (string, error) {
	tok, err := b.s.login(ctx, name, password, src)
	switch {
	case errors.Is(err, errLocked):
		return "", console.ErrLocked
	case errors.Is(err, errAuth):
		return "", console.ErrAuth
	}
	return tok, err
}

func (b *consoleBackend) Authenticate(ctx context.Context, session, src string) (console.User, error) {
	who, _, err := b.s.authenticate(ctx, session, src)
	if errors.Is(err, errLocked) {
		return console.User{}, console.ErrLocked
	}
	if err != nil {
		return console.User{}, console.ErrAuth
	}
	u := console.User{ID: who.ID}
	var roles string
	if err := b.s.db.queryRow(ctx, `SELECT name, roles FROM users WHERE id = ?`, who.ID).Scan(&u.Name, &roles); err != nil {
		return console.User{}, console.ErrAuth
	}
	u.Roles = strings.Split(roles, ",")
	return u, nil
}

func (b *consoleBackend) SignOut(ctx context.Context, u console.User, session, src string) {
	id, _, ok := parseToken(session)
	if !ok {
		return
	}
	ctx = context.WithValue(ctx, ctxKey{}, reqInfo{who: b.principal(u), tokenID: id})
	b.call(ctx, b.s.deleteSession, u, src, http.MethodDelete, nil, "", nil)
}

func (b *consoleBackend) Refused(ctx context.Context, principal, src, detail string) {
	if principal == "" {
		principal = "anonymous"
	}
	b.s.audit(ctx, audit.Event{Principal: principal, Action: audit.ActionLogin, Source: src, Outcome: audit.OutcomeDenied, Detail: detail})
}

func (b *consoleBackend) IdleTimeout() time.Duration { return time.Duration(b.s.cfg.SessionIdle) }

// --- faxes ------------------------------------------------------------------

// Convert converts the uploads as POST /v1/faxes does (sniffed, fine A4,
// cover first), in memory.
func (b *consoleBackend) Convert(ctx context.Context, u console.User, src string, files [][]byte, c console.Cover) ([]byte, int, error) {
	if !u.Has("sender") {
		return nil, 0, b.refuse(ctx, u.ID, src, audit.ActionCreate, "", http.StatusForbidden, "sender role required")
	}
	var doc bytes.Buffer
	tw, err := tiff.NewWriter(&doc, nil)
	if err != nil {
		return nil, 0, err
	}
	pages := 0
	for i, f := range files {
		n, err := appendFile(ctx, tw, f)
		var fe *formatError
		if errors.As(err, &fe) {
			return nil, 0, &console.Error{Status: http.StatusUnprocessableEntity, Msg: fmt.Sprintf("File %d: %s.", i+1, fe.msg)}
		}
		if err != nil || n == 0 {
			return nil, 0, &console.Error{Status: http.StatusUnprocessableEntity, Msg: fmt.Sprintf("File %d: no pages could be converted.", i+1)}
		}
		pages += n
	}
	if err := tw.Close(); err != nil {
		return nil, 0, err
	}
	cover := Cover(c)
	if cover.empty() {
		return doc.Bytes(), pages, nil
	}
	var withCover bytes.Buffer
	cw, err := tiff.NewWriter(&withCover, nil)
	if err != nil {
		return nil, 0, err
	}
	if err := cw.WritePage(coverPage(cover, pages), &tiff.PageOptions{Resolution: tiff.ResFine}); err != nil {
		return nil, 0, err
	}
	rd, err := tiff.NewReader(bytes.NewReader(doc.Bytes()), int64(doc.Len()), nil)
	if err == nil {
		_, err = tiff.ConvertDocument(cw, rd, nil)
	}
	if err == nil {
		err = cw.Close()
	}
	if err != nil {
		return nil, 0, err
	}
	return withCover.Bytes(), pages + 1, nil
}

func (b *consoleBackend) Send(ctx context.Context, u console.User, src, to string, doc []byte, pages int) (string, error) {
	who := b.principal(u)
	if !who.Has(phi.RoleSender) {
		return "", b.refuse(ctx, u.ID, src, audit.ActionCreate, "", http.StatusForbidden, "sender role required")
	}
	if !e164.MatchString(to) {
		return "", b.refuse(ctx, u.ID, src, audit.ActionCreate, "", http.StatusBadRequest, "the number must be in E.164 form (+15551234567)")
	}
	peer := b.s.peerFor(to)
	if peer == "" {
		return "", b.refuse(ctx, u.ID, src, audit.ActionCreate, "", http.StatusUnprocessableEntity, "no route to the destination's country or area")
	}
	id, err := b.s.sealAndQueue(ctx, who, src, to, peer, doc, pages, "", "")
	if err != nil {
		return "", err
	}
	return id, nil
}

func toConsoleFax(st FaxStatus) console.Fax {
	f := console.Fax{ID: st.ID, Direction: st.Direction, Status: st.Status, Result: st.Result, Pages: st.Pages, PagesSent: st.PagesSent,
		ResendOf: st.ResendOf, Created: st.Created, Updated: st.Updated, Finished: st.Finished, Read: st.Read != nil && *st.Read}
	for _, a := range st.Attempts {
		f.Attempts = append(f.Attempts, console.Attempt{N: a.N, Started: a.Started, Finished: a.Finished, Result: a.Result, ResultCode: a.ResultCode,
			ResultText: a.ResultText, Pages: a.Pages, BitRate: a.BitRate, Coding: a.Coding, ECM: a.ECM, Duration: time.Duration(a.DurationMS) * time.Millisecond,
			Media: a.Media})
	}
	return f
}

// consolePage is the console's list page size: each row's sealed number
// or ident is an audited metadata read, and the outbox refreshes itself
// while a fax is in flight.
const consolePage = 25

func (b *consoleBackend) List(ctx context.Context, u console.User, src, direction, cursor string) ([]console.Fax, string, error) {
	q := url.Values{"limit": {strconv.Itoa(consolePage)}, "direction": {direction}}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	body, err := b.call(ctx, b.s.listFaxes, u, src, http.MethodGet, nil, q.Encode(), nil)
	if err != nil {
		return nil, "", err
	}
	var out struct {
		Faxes      []FaxStatus
		NextCursor string `json:"next_cursor"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, "", err
	}
	var fs []console.Fax
	for _, st := range out.Faxes {
		f := toConsoleFax(st)
		b.meta(ctx, u, src, &f) // the number, or the sender's ident (audited)
		fs = append(fs, f)
	}
	return fs, out.NextCursor, nil
}

// meta fills the sealed fields (an audited metadata read).
func (b *consoleBackend) meta(ctx context.Context, u console.User, src string, f *console.Fax) error {
	body, err := b.call(ctx, b.s.getMetadata, u, src, http.MethodGet, map[string]string{"id": f.ID}, "", nil)
	if err != nil {
		return err
	}
	var m struct {
		Remote, DID string
		Attempts    []struct {
			N           int
			RemoteIdent string `json:"remote_ident"`
		}
	}
	if err := json.Unmarshal(body, &m); err != nil {
		return err
	}
	f.Remote, f.DID, f.MetaLoaded = m.Remote, m.DID, true
	for _, a := range m.Attempts {
		if a.N >= 1 && a.N <= len(f.Attempts) {
			f.Attempts[a.N-1].RemoteIdent = a.RemoteIdent
		}
	}
	return nil
}

func (b *consoleBackend) Fax(ctx context.Context, u console.User, src, id string, meta bool) (console.Fax, error) {
	body, err := b.call(ctx, b.s.getFax, u, src, http.MethodGet, map[string]string{"id": id}, "", nil)
	if err != nil {
		return console.Fax{}, err
	}
	var st FaxStatus
	if err := json.Unmarshal(body, &st); err != nil {
		return console.Fax{}, err
	}
	f := toConsoleFax(st)
	if meta {
		b.meta(ctx, u, src, &f)
	}
	return f, nil
}

// contentCheck refuses a content read up front, audited as a content
// read (the API's handlers check metadata access first, so an auditor's
// refused page would otherwise be recorded as a metadata read).
func (b *consoleBackend) contentCheck(ctx context.Context, u console.User, src, id string) error {
	if !phi.ValidID(id) {
		return b.refuse(ctx, u.ID, src, audit.ActionReadContent, "", http.StatusNotFound, "fax not found")
	}
	who := b.principal(u)
	b.s.loadGrants(ctx, id)
	if b.s.policy.Allowed(who, phi.PermReadContent, id) {
		return nil
	}
	b.s.policy.Check(ctx, phi.Request{Who: who, Action: audit.ActionReadContent, Perm: phi.PermReadContent, Document: id, Source: src})
	return &console.Error{Status: http.StatusNotFound, Msg: "fax not found"}
}

func (b *consoleBackend) Page(ctx context.Context, u console.User, src, id string, n int) ([]byte, error) {
	if err := b.contentCheck(ctx, u, src, id); err != nil {
		return nil, err
	}
	return b.call(ctx, b.s.getPage, u, src, http.MethodGet, map[string]string{"id": id, "n": strconv.Itoa(n)}, "", nil)
}

func (b *consoleBackend) Content(ctx context.Context, u console.User, src, id, format string) ([]byte, error) {
	if err := b.contentCheck(ctx, u, src, id); err != nil {
		return nil, err
	}
	return b.call(ctx, b.s.getContent, u, src, http.MethodGet, map[string]string{"id": id}, "format="+format, nil)
}

func (b *consoleBackend) Cancel(ctx context.Context, u console.User, src, id string) error {
	_, err := b.call(ctx, b.s.cancelFax, u, src, http.MethodPost, map[string]string{"id": id}, "", nil)
	return err
}

func (b *consoleBackend) Resend(ctx context.Context, u console.User, src, id string) (string, error) {
	body, err := b.call(ctx, b.s.resendFax, u, src, http.MethodPost, map[string]string{"id": id}, "", nil)
	if err != nil {
		return "", err
	}
	var st FaxStatus
	return st.ID, json.Unmarshal(body, &st)
}

func (b *consoleBackend) MarkRead(ctx context.Context, u console.User, src, id string, read bool) error {
	h := b.s.putRead
	if !read {
		h = b.s.deleteRead
	}
	_, err := b.call(ctx, h, u, src, http.MethodPut, map[string]string{"id": id}, "", nil)
	return err
}

func (b *consoleBackend) Unread(ctx context.Context, u console.User) (int, error) {
	return b.s.unreadCount(ctx, u.ID)
}

func (b *consoleBackend) Delete(ctx context.Context, u console.User, src, id string) error {
	_, err := b.call(ctx, b.s.deleteFax, u, src, http.MethodDelete, map[string]string{"id": id}, "", nil)
	return err
}

// --- audit ------------------------------------------------------------------

func (b *consoleBackend) auditKeys() (audit.Keys, error) {
	b.keysOnce.Do(func() {
		b.keys, b.keysErr = audit.OpenKeyFile(b.s.cfg.AuditKeyFile)
	})
	return b.keys, b.keysErr
}

func (b *consoleBackend) auditDir() string {
	return filepath.Join(b.s.cfg.Dir, "audit-"+safeName(b.s.cfg.Instance))
}

// auditCheck lets auditors only read the trail; the decision is audited.
func (b *consoleBackend) auditCheck(ctx context.Context, u console.User, src string) error {
	err := b.s.policy.Check(ctx, phi.Request{Who: b.principal(u), Action: audit.ActionAuditRead, Perm: phi.PermAuditRead, Source: src})
	if errors.Is(err, phi.ErrDenied) {
		return &console.Error{Status: http.StatusForbidden, Msg: "The audit trail is for auditors."}
	}
	return err
}

// userNames maps user IDs to names (staff accounts, not PHI) for the
// auditor, who may not list users through the admin API.
func (b *consoleBackend) userNames(ctx context.Context) map[string]string {
	names := map[string]string{}
	rows, err := b.s.db.query(ctx, `SELECT id, name FROM users`)
	if err != nil {
		return names
	}
	defer rows.Close()
	for rows.Next() {
		var id, name string
		if rows.Scan(&id, &name) == nil {
			names[id] = name
		}
	}
	return names
}

// byName lets the user filter name a user instead of giving its ID.
func (b *consoleBackend) byName(flt console.AuditFilter, names map[string]string) console.AuditFilter {
	if _, isID := names[flt.Principal]; !isID && flt.Principal != "" {
		for id, n := range names {
			if n == flt.Principal {
				flt.Principal = id
			}
		}
	}
	return flt
}

type exportedEvent struct {
	audit.Event
	ActionName  string `json:"action_name"`
	OutcomeName string `json:"outcome_name"`
}

func (f exportedEvent) matches(flt console.AuditFilter) bool {
	return (flt.Principal == "" || f.Principal == flt.Principal) && (flt.Document == "" || f.Document == flt.Document) &&
		(flt.Action == "" || f.ActionName == flt.Action) && (flt.Outcome == "" || f.OutcomeName == flt.Outcome)
}

// events reads the log through audit.Export (which verifies as it
// reads). A record being appended while we read can look torn: the
// events before it are kept and the read is tried once more.
func (b *consoleBackend) events(flt console.AuditFilter, each func(line []byte, e exportedEvent)) error {
	keys, err := b.auditKeys()
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	for try := 0; ; try++ {
		buf.Reset()
		_, err = audit.Export(b.auditDir(), keys, &buf, flt.From, flt.To)
		if err == nil || try == 1 {
			break
		}
	}
	sc := bufio.NewScanner(&buf)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e exportedEvent
		if json.Unmarshal(sc.Bytes(), &e) == nil && e.matches(flt) {
			each(sc.Bytes(), e)
		}
	}
	return err
}

func (b *consoleBackend) Audit(ctx context.Context, u console.User, src string, flt console.AuditFilter, limit int) ([]console.AuditEvent, error) {
	if err := b.auditCheck(ctx, u, src); err != nil {
		return nil, err
	}
	names := b.userNames(ctx)
	var out []console.AuditEvent
	err := b.events(b.byName(flt, names), func(_ []byte, e exportedEvent) {
		out = append(out, console.AuditEvent{Seq: e.Seq, Time: e.Time, Principal: e.Principal, Name: names[e.Principal], Action: e.ActionName,
			Document: e.Document, Source: e.Source, Outcome: e.OutcomeName, Detail: e.Detail})
	})
	slices.Reverse(out)
	if len(out) > limit {
		out = out[:limit]
	}
	if err != nil && len(out) == 0 {
		return nil, err
	}
	return out, nil
}

func (b *consoleBackend) VerifyAudit(ctx context.Context, u console.User, src string) (console.AuditCheck, error) {
	if err := b.auditCheck(ctx, u, src); err != nil {
		return console.AuditCheck{}, err
	}
	keys, err := b.auditKeys()
	if err != nil {
		return console.AuditCheck{}, err
	}
	if err := b.s.log.Sync(); err != nil {
		return console.AuditCheck{}, err
	}
	rep, err := audit.Verify(b.auditDir(), keys)
	chk := console.AuditCheck{OK: err == nil, Records: rep.Records, Segments: rep.Segments, Checkpoints: rep.Checkpoints, At: b.s.now()}
	if err != nil {
		chk.Problem = err.Error()
	}
	detail := "console: audit chain verified"
	if err != nil {
		detail = "console: audit chain verification FAILED"
	}
	b.s.audit(ctx, audit.Event{Principal: u.ID, Action: audit.ActionAuditRead, Source: src, Outcome: outcome(err), Detail: detail})
	return chk, nil
}

func (b *consoleBackend) ExportAudit(ctx context.Context, u console.User, src string, flt console.AuditFilter, w io.Writer) (int, error) {
	if err := b.auditCheck(ctx, u, src); err != nil {
		return 0, err
	}
	n := 0
	err := b.events(b.byName(flt, b.userNames(ctx)), func(line []byte, _ exportedEvent) {
		w.Write(line)
		w.Write([]byte{'\n'})
		n++
	})
	b.s.audit(ctx, audit.Event{Principal: u.ID, Action: audit.ActionAuditRead, Source: src, Outcome: outcome(err), Detail: fmt.Sprintf("console: exported %d events", n)})
	return n, err
}

// --- admin ------------------------------------------------------------------

func (b *consoleBackend) Users(ctx context.Context, u console.User, src string) ([]console.User, error) {
	body, err := b.call(ctx, b.s.admin(b.s.listUsers), u, src, http.MethodGet, nil, "", nil)
	if err != nil {
		return nil, err
	}
	var out struct{ Users []User }
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, err
	}
	var us []console.User
	for _, x := range out.Users {
		us = append(us, console.User{ID: x.ID, Name: x.Name, Roles: x.Roles, Disabled: x.Disabled, Created: x.Created})
	}
	return us, nil
}

func (b *consoleBackend) CreateUser(ctx context.Context, u console.User, src, name string, roles []string, password string) (console.User, error) {
	body, err := b.call(ctx, b.s.admin(b.s.postUser), u, src, http.MethodPost, nil, "", map[string]any{"name": name, "roles": roles, "password": password})
	if err != nil {
		return console.User{}, err
	}
	var x User
	err = json.Unmarshal(body, &x)
	return console.User{ID: x.ID, Name: x.Name, Roles: x.Roles, Created: x.Created}, err
}

func (b *consoleBackend) IssueToken(ctx context.Context, u console.User, src, userID string, ttlHours int) (string, string, error) {
	body, err := b.call(ctx, b.s.admin(b.s.postToken), u, src, http.MethodPost, map[string]string{"id": userID}, "", map[string]int{"ttl_hours": ttlHours})
	if err != nil {
		return "", "", err
	}
	var t struct{ ID, Token string }
	err = json.Unmarshal(body, &t)
	return t.ID, t.Token, err
}

func (b *consoleBackend) RevokeToken(ctx context.Context, u console.User, src, id string) error {
	_, err := b.call(ctx, b.s.admin(b.s.deleteToken), u, src, http.MethodDelete, map[string]string{"id": id}, "", nil)
	return err
}

func (b *consoleBackend) Routes(ctx context.Context, u console.User, src string) ([]console.Route, error) {
	body, err := b.call(ctx, b.s.admin(b.s.listRoutes), u, src, http.MethodGet, nil, "", nil)
	if err != nil {
		return nil, err
	}
	var out struct{ Routes []console.Route }
	return out.Routes, json.Unmarshal(body, &out)
}

func (b *consoleBackend) SetRoute(ctx context.Context, u console.User, src, did string, targets []string) error {
	_, err := b.call(ctx, b.s.admin(b.s.putRoute), u, src, http.MethodPut, map[string]string{"did": did}, "", map[string]any{"targets": targets})
	return err
}

func (b *consoleBackend) DeleteRoute(ctx context.Context, u console.User, src, did string) error {
	_, err := b.call(ctx, b.s.admin(b.s.deleteRoute), u, src, http.MethodDelete, map[string]string{"did": did}, "", nil)
	return err
}

func (b *consoleBackend) Webhooks(ctx context.Context, u console.User, src string) ([]console.Webhook, error) {
	body, err := b.call(ctx, b.s.listWebhooks, u, src, http.MethodGet, nil, "", nil)
	if err != nil {
		return nil, err
	}
	var out struct{ Webhooks []console.Webhook }
	return out.Webhooks, json.Unmarshal(body, &out)
}

func (b *consoleBackend) AddWebhook(ctx context.Context, u console.User, src, url string, events []string) (console.Webhook, error) {
	body, err := b.call(ctx, b.s.postWebhook, u, src, http.MethodPost, nil, "", map[string]any{"url": url, "events": events})
	if err != nil {
		return console.Webhook{}, err
	}
	var h console.Webhook
	return h, json.Unmarshal(body, &h)
}

func (b *consoleBackend) DeleteWebhook(ctx context.Context, u console.User, src, id string) error {
	_, err := b.call(ctx, b.s.deleteWebhook, u, src, http.MethodDelete, map[string]string{"id": id}, "", nil)
	return err
}

func (b *consoleBackend) Settings() []console.Setting {
	c := b.s.cfg
	var ladder []string
	for _, d := range c.RetryDelays {
		ladder = append(ladder, human(time.Duration(d)))
	}
	return []console.Setting{
		{Name: "Retention", Value: human(time.Duration(c.Retention)), Help: "documents are crypto-shredded after this (legal holds excepted)"},
		{Name: "Session idle timeout", Value: human(time.Duration(c.SessionIdle)), Help: ""},
		{Name: "Lockout", Value: fmt.Sprintf("%d failures lock an account for %s", c.LockoutAfter, human(time.Duration(c.LockoutFor))), Help: ""},
		{Name: "Retry delays", Value: strings.Join(ladder, ", "), Help: "the last one repeats"},
		{Name: "Maximum attempts", Value: strconv.Itoa(c.MaxAttempts), Help: "per fax"},
		{Name: "Idempotency window", Value: human(time.Duration(c.IdempotencyTTL)), Help: ""},
	}
}

// human writes a setting's duration the way an administrator reads it.
func human(d time.Duration) string {
	if d >= 24*time.Hour && d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	}
	s := d.String()
	for _, z := range []string{"m0s", "h0m"} {
		s = strings.Replace(s, z, z[:1], 1)
	}
	return s
}

// --- call detail -------------------------------------------------------------

// CallTrace gives admins (the service's operators) an attempt's trace
// and statistics (attempttrace.go). The caller has already read the
// fax's status through the API's guarded check; this read is audited
// too.
func (b *consoleBackend) CallTrace(ctx context.Context, u console.User, src, id string, n int) (*console.CallTrace, error) {
	if !u.Has("admin") || !phi.ValidID(id) {
		return nil, nil
	}
	recs, st, dropped, ok, err := b.s.attemptTraceOf(ctx, id, n)
	if err != nil || !ok {
		return nil, err
	}
	b.s.audit(ctx, audit.Event{Principal: u.ID, Action: audit.ActionReadMetadata, Document: id, Source: src, Outcome: audit.OutcomeSuccess,
		Detail: fmt.Sprintf("call %d trace", n)})
	tr := &console.CallTrace{Dropped: dropped}
	for _, r := range recs {
		tr.Records = append(tr.Records, console.TraceRecord{At: time.Duration(r.AtMS * float64(time.Millisecond)), Layer: r.Layer, Dir: r.Dir,
			Kind: r.Kind, Phase: r.Phase, Name: r.Name, Text: r.Text, Count: r.Count, Octets: r.Bytes})
	}
	yes := map[bool]string{true: "yes", false: "no"}
	num := func(v any) string { return fmt.Sprint(v) }
	mode := console.StatGroup{Title: "Negotiated mode", Rows: []console.Setting{
		{Name: "Result", Value: st.Result},
		{Name: "Pages confirmed", Value: num(st.Pages)},
		{Name: "Pages rejected (RTN)", Value: num(st.Rejected)},
		{Name: "Duration", Value: (time.Duration(st.DurationMS) * time.Millisecond).String()},
	}}
	if st.BitRate > 0 {
		mode.Rows = append(mode.Rows, console.Setting{Name: "Bit rate", Value: fmt.Sprintf("%d bit/s", st.BitRate)},
			console.Setting{Name: "Coding", Value: st.Compression}, console.Setting{Name: "Resolution", Value: st.Resolution},
			console.Setting{Name: "ECM", Value: yes[st.ECM]})
		if st.ECM && st.T30.ECMFrameSize > 0 {
			mode.Rows = append(mode.Rows, console.Setting{Name: "ECM frame size", Value: fmt.Sprintf("%d octets", st.T30.ECMFrameSize)})
		}
	}
	c := st.T30
	t30g := console.StatGroup{Title: "T.30", Rows: []console.Setting{
		{Name: "Frames sent", Value: num(c.FramesSent)}, {Name: "Frames received", Value: num(c.FramesReceived)},
		{Name: "Frames received bad", Value: num(c.BadFrames)}, {Name: "Retrains", Value: num(c.Retrains)},
		{Name: "FTT (training failed)", Value: num(c.FTTs)}, {Name: "PPR (partial page requests)", Value: num(c.PPRs)},
		{Name: "ECM frames resent", Value: num(c.FramesResent)}, {Name: "CTC / EOR", Value: fmt.Sprintf("%d / %d", c.CTCs, c.EORs)},
		{Name: "Commands repeated (damaged response)", Value: num(c.DamagedResponses)},
	}}
	if c.RemoteVendor != "" {
		t30g.Rows = append(t30g.Rows, console.Setting{Name: "Remote vendor (T.35)", Value: c.RemoteVendor})
	}
	tr.Stats = append(tr.Stats, mode, t30g)
	var kinds []string
	for i, m := range st.Media {
		g := console.StatGroup{Title: fmt.Sprintf("Media %d: %s", i+1, mediaName(m.Kind)), Rows: []console.Setting{
			{Name: "In use", Value: fmt.Sprintf("%.1f s to %.1f s", float64(m.FromMS)/1000, float64(m.ToMS)/1000)},
			{Name: "Datagrams in / out", Value: fmt.Sprintf("%d / %d", m.Network.PacketsIn, m.Network.PacketsOut)},
			{Name: "Octets in / out", Value: fmt.Sprintf("%d / %d", m.Network.BytesIn, m.Network.BytesOut)},
		}}
		kinds = append(kinds, mediaName(m.Kind))
		if t := m.T38; t != nil {
			g.Rows = append(g.Rows,
				console.Setting{Name: "IFP packets sent / received", Value: fmt.Sprintf("%d / %d", t.IFPSent, t.IFPReceived)},
				console.Setting{Name: "IFP packets malformed", Value: num(t.IFPMalformed)},
				console.Setting{Name: "Repeats ignored", Value: num(t.Repeats)},
				console.Setting{Name: "HDLC frames good / bad", Value: fmt.Sprintf("%d / %d", t.FramesReceived, t.FramesBad)},
				console.Setting{Name: "Packets lost for good", Value: num(t.DataLost)},
				console.Setting{Name: "Image octets received", Value: num(t.ImageOctets)},
				console.Setting{Name: "Rows marked bad (loss)", Value: num(t.RowsMarked)},
				console.Setting{Name: "Paced packets", Value: num(t.Paced)},
				console.Setting{Name: "Pacing: latest / over 20 ms", Value: fmt.Sprintf("%.1f ms / %d", t.PacingMaxMS, t.PacingErrors)})
		}
		if a := m.Audio; a != nil {
			g.Rows = append(g.Rows,
				console.Setting{Name: "Codec", Value: a.Codec},
				console.Setting{Name: "RTP missing / late / duplicate", Value: fmt.Sprintf("%d / %d / %d", a.Missing, a.Late, a.Duplicate)},
				console.Setting{Name: "RTP overflow / foreign", Value: fmt.Sprintf("%d / %d", a.Overflow, a.Foreign)},
				console.Setting{Name: "Blocks skipped (overload)", Value: num(a.Skipped)},
				console.Setting{Name: "Far clock offset", Value: fmt.Sprintf("%.1f ppm", a.ClockOffset)},
				console.Setting{Name: "HDLC frames good / bad", Value: fmt.Sprintf("%d / %d", a.FramesOK, a.FramesBad)},
				console.Setting{Name: "Trainings / failed", Value: fmt.Sprintf("%d / %d", a.Trainings, a.TrainingFailed)})
		}
		tr.Stats = append(tr.Stats, g)
	}
	tr.Transport = strings.Join(kinds, ", then ")
	for _, p := range st.PageStats {
		m := fmt.Sprintf("%s, %s, %d bit/s", p.Compression, p.Resolution, p.BitRate)
		if p.Modem != "" {
			m += " (" + p.Modem + ")"
		}
		if p.ECM {
			m += ", ECM"
		}
		tr.Pages = append(tr.Pages, console.PageStat{Number: p.Number, Mode: m, Width: p.Width, Rows: p.Rows, Bytes: p.Bytes,
			BadRows: p.BadRows, PPRs: p.PPRs, At: time.Duration(p.AtMS) * time.Millisecond})
	}
	return tr, nil
}

func mediaName(kind string) string {
	switch kind {
	case "t38":
		return "T.38 over UDPTL"
	case "t38-rtp":
		return "T.38 over RTP"
	case "audio":
		return "audio (G.711)"
	}
	return kind
}
