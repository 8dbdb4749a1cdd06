package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/faxkit/faxkit/phi"
	"github.com/faxkit/faxkit/phi/audit"
	"github.com/faxkit/faxkit/phi/redact"
	"github.com/faxkit/faxkit/tiff"
)

// The HTTP API. openapi.json is its contract (TestOpenAPIMatchesRoutes).
// Errors are JSON {"error": "..."} with no PHI, and every refusal is
// audited with the requester, the source address and the outcome.

type route struct {
	pattern string
	h       http.HandlerFunc
}

func (s *Service) routes() []route {
	return []route{
		{"GET /healthz", s.healthz},
		{"GET /readyz", s.readyz},
		{"GET /openapi.json", serveOpenAPI},
		{"GET /metrics", s.metrics},
		{"POST /v1/sessions", s.postSession},
		{"DELETE /v1/sessions/current", s.authed(s.deleteSession)},
		{"POST /v1/faxes", s.authed(s.postFax)},
		{"GET /v1/faxes", s.authed(s.listFaxes)},
		{"GET /v1/faxes/{id}", s.authed(s.getFax)},
		{"DELETE /v1/faxes/{id}", s.authed(s.deleteFax)},
		{"GET /v1/faxes/{id}/metadata", s.authed(s.getMetadata)},
		{"GET /v1/faxes/{id}/content", s.authed(s.getContent)},
		{"GET /v1/faxes/{id}/pages/{n}", s.authed(s.getPage)},
		{"GET /v1/faxes/{id}/events", s.authed(s.getEvents)},
		{"GET /v1/faxes/{id}/attempts/{n}/trace", s.authed(s.getAttemptTrace)},
		{"POST /v1/faxes/{id}/cancel", s.authed(s.cancelFax)},
		{"POST /v1/faxes/{id}/resend", s.authed(s.resendFax)},
		{"PUT /v1/faxes/{id}/read", s.authed(s.putRead)},
		{"DELETE /v1/faxes/{id}/read", s.authed(s.deleteRead)},
		{"PUT /v1/faxes/{id}/hold", s.authed(s.admin(s.putHold))},
		{"PUT /v1/faxes/{id}/retention", s.authed(s.admin(s.putRetention))},
		{"POST /v1/faxes/{id}/emergency-access", s.authed(s.admin(s.emergencyAccess))},
		{"POST /v1/webhooks", s.authed(s.postWebhook)},
		{"GET /v1/webhooks", s.authed(s.listWebhooks)},
		{"DELETE /v1/webhooks/{id}", s.authed(s.deleteWebhook)},
		{"GET /v1/users", s.authed(s.admin(s.listUsers))},
		{"POST /v1/users", s.authed(s.admin(s.postUser))},
		{"POST /v1/users/{id}/tokens", s.authed(s.admin(s.postToken))},
		{"DELETE /v1/tokens/{id}", s.authed(s.admin(s.deleteToken))},
		{"POST /v1/backups", s.authed(s.admin(s.postBackup))},
		{"GET /v1/alerts", s.authed(s.listAlerts)},
		{"GET /v1/groups", s.authed(s.admin(s.listGroups))},
		{"POST /v1/groups", s.authed(s.admin(s.postGroup))},
		{"PUT /v1/groups/{id}/members", s.authed(s.admin(s.putGroupMembers))},
		{"DELETE /v1/groups/{id}", s.authed(s.admin(s.deleteGroup))},
		{"GET /v1/routes", s.authed(s.admin(s.listRoutes))},
		{"PUT /v1/routes/{did}", s.authed(s.admin(s.putRoute))},
		{"DELETE /v1/routes/{did}", s.authed(s.admin(s.deleteRoute))},
	}
}

// Handler returns the API with HSTS and no-store on every response and
// an access log without PHI (method, route pattern, status, duration).
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, r := range s.routes() {
		mux.HandleFunc(r.pattern, r.h)
	}
	s.mountConsole(mux)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		h := w.Header()
		h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		rw := &statusWriter{ResponseWriter: w, code: 200}
		_, pattern := mux.Handler(r)
		mux.ServeHTTP(rw, r)
		// The pattern, not the path: IDs stay out of the access log too.
		httpRequests.WithLabelValues(pattern, strconv.Itoa(rw.code)).Inc()
		s.logger.Info("http", "route", pattern, "status", rw.code, "ms", time.Since(start).Milliseconds())
	})
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(c int) { w.code = c; w.ResponseWriter.WriteHeader(c) }

type ctxKey struct{}

type reqInfo struct {
	who     phi.Principal
	tokenID string
}

type authedHandler func(w http.ResponseWriter, r *http.Request, who phi.Principal, src string)

func source(r *http.Request) string { return r.RemoteAddr }

func (s *Service) authed(h authedHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		src := source(r)
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			s.auditAuth(r.Context(), "anonymous", src, audit.OutcomeDenied, "no bearer token")
			httpError(w, http.StatusUnauthorized, "missing bearer token")
			return
		}
		who, tid, err := s.authenticate(r.Context(), tok, src)
		if errors.Is(err, errLocked) {
			httpError(w, http.StatusUnauthorized, "account locked; try again later")
			return
		}
		if err != nil {
			httpError(w, http.StatusUnauthorized, "authentication failed")
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, reqInfo{who: who, tokenID: tid}))
		h(w, r, who, src)
	}
}

func (s *Service) admin(h authedHandler) authedHandler {
	return func(w http.ResponseWriter, r *http.Request, who phi.Principal, src string) {
		if !who.Has(phi.RoleAdmin) {
			s.refuse(w, r, who, audit.ActionGrant, "", http.StatusForbidden, "admin role required")
			return
		}
		h(w, r, who, src)
	}
}

func httpError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// refuse answers an error and audits it (requester, source, outcome).
func (s *Service) refuse(w http.ResponseWriter, r *http.Request, who phi.Principal, act audit.Action, doc string, code int, msg string) {
	out := audit.OutcomeFailure
	if code == http.StatusForbidden || code == http.StatusUnauthorized {
		out = audit.OutcomeDenied
	}
	id := who.ID
	if id == "" {
		id = "anonymous"
	}
	if !phi.ValidID(doc) {
		doc = ""
	}
	s.audit(r.Context(), audit.Event{Principal: id, Action: act, Document: doc, Source: source(r), Outcome: out,
		Detail: fmt.Sprintf("%d %s", code, msg)})
	httpError(w, code, msg)
}

// phiError maps phi errors to HTTP statuses without echoing details (the
// guard has audited the decision already). Another user's fax and a fax
// that does not exist look the same: 404.
func phiError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, phi.ErrLegalHold):
		httpError(w, http.StatusConflict, "the fax is under legal hold")
	case errors.Is(err, phi.ErrDenied), errors.Is(err, phi.ErrNotFound), errors.Is(err, phi.ErrInvalidID):
		httpError(w, http.StatusNotFound, "fax not found")
	default:
		httpError(w, http.StatusInternalServerError, "internal error")
	}
}

// metrics serves Prometheus metrics (no PHI, no IDs). Expose it on a
// trusted network only, as with any scrape endpoint.
func (s *Service) metrics(w http.ResponseWriter, r *http.Request) {
	s.metricsOnce.Do(func() { s.metricsH = s.metricsHandler() })
	s.metricsH.ServeHTTP(w, r)
}

func (s *Service) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, 200, map[string]string{"status": "ok"})
}

func (s *Service) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.db.PingContext(ctx); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "database unavailable"})
		return
	}
	writeJSON(w, 200, map[string]string{"status": "ready"})
}

// --- sessions --------------------------------------------------------------

func (s *Service) postSession(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name     string `json:"name"`
		Password string `json:"password"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&req); err != nil {
		s.refuse(w, r, phi.Principal{}, audit.ActionLogin, "", http.StatusBadRequest, "body must be JSON {name, password}")
		return
	}
	tok, err := s.login(r.Context(), req.Name, req.Password, source(r))
	if errors.Is(err, errLocked) {
		httpError(w, http.StatusUnauthorized, "account locked; try again later")
		return
	}
	if err != nil {
		httpError(w, http.StatusUnauthorized, "authentication failed")
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"token": tok, "idle_timeout_seconds": int(time.Duration(s.cfg.SessionIdle).Seconds())})
}

func (s *Service) deleteSession(w http.ResponseWriter, r *http.Request, who phi.Principal, src string) {
	ri := r.Context().Value(ctxKey{}).(reqInfo)
	s.db.exec(r.Context(), `UPDATE tokens SET revoked = ? WHERE id = ? AND kind = 'session'`, s.now().UnixNano(), ri.tokenID)
	s.audit(r.Context(), audit.Event{Principal: who.ID, Action: audit.ActionLogout, Source: src, Outcome: audit.OutcomeSuccess, Detail: "signed out"})
	w.WriteHeader(http.StatusNoContent)
}

// --- faxes -----------------------------------------------------------------

// FaxStatus is what the API reports about a fax: no PHI (numbers, idents
// and cover fields stay sealed; see /metadata).
type FaxStatus struct {
	ID        string    `json:"id"`
	Direction string    `json:"direction"`
	Status    string    `json:"status"`
	Result    string    `json:"result,omitempty"`
	Pages     int       `json:"pages"`
	PagesSent int       `json:"pages_sent"`
	Attempts  []Attempt `json:"attempts"`
	ResendOf  string    `json:"resend_of,omitempty"`
	Created   time.Time `json:"created"`
	Updated   time.Time `json:"updated"`
	Finished  time.Time `json:"finished,omitzero"`
	// RetainUntil is when the retention purge shreds the fax (unless
	// LegalHold).
	RetainUntil time.Time `json:"retain_until,omitzero"`
	LegalHold   bool      `json:"legal_hold"`
	// Read is the caller's read state of an inbound fax (readstate.go).
	Read *bool `json:"read,omitempty"`
}

// Attempt is one call. The remote CSI is sealed (see /metadata).
type Attempt struct {
	N          int       `json:"n"`
	Started    time.Time `json:"started"`
	Finished   time.Time `json:"finished,omitzero"`
	Result     string    `json:"result,omitempty"`
	ResultCode int       `json:"result_code"`
	ResultText string    `json:"result_text,omitempty"`
	Pages      int       `json:"pages"`
	BitRate    int       `json:"bit_rate"`
	Coding     string    `json:"coding,omitempty"`
	ECM        bool      `json:"ecm"`
	DurationMS int64     `json:"duration_ms"`
	// FirstPage, MaxBitRate and ECMDisabled are the retry ladder's plan
	// for the attempt: the page it started from (a partial delivery is
	// resent from the first page not confirmed), the bit rate cap after
	// a training failure, ECM turned off after an ECM failure.
	FirstPage   int  `json:"first_page"`
	MaxBitRate  int  `json:"max_bit_rate,omitempty"`
	ECMDisabled bool `json:"ecm_disabled,omitempty"`
	// Media is what the fax ran on last: "t38" or "audio" (a SIP call
	// whose switch to T.38 was refused, or with the policy off); absent
	// when no fax media ran.
	Media     string `json:"media,omitempty"`
	recordDoc string
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// peerFor maps an E.164 number to a T.38 peer by the longest prefix.
func (s *Service) peerFor(num string) string {
	best, peer := -1, ""
	for p, a := range s.cfg.Peers {
		if strings.HasPrefix(num, p) && len(p) > best {
			best, peer = len(p), a
		}
	}
	if peer == "" && s.cfg.SIP != nil && s.cfg.SIP.Trunk != "" {
		return peerSIPTrunk
	}
	return peer
}

const maxFiles = 20

func (s *Service) postFax(w http.ResponseWriter, r *http.Request, who phi.Principal, src string) {
	ctx := r.Context()
	if !who.Has(phi.RoleSender) {
		s.refuse(w, r, who, audit.ActionCreate, "", http.StatusForbidden, "sender role required")
		return
	}
	idem := r.Header.Get("Idempotency-Key")
	if idem != "" {
		if len(idem) > 255 {
			s.refuse(w, r, who, audit.ActionCreate, "", http.StatusBadRequest, "Idempotency-Key longer than 255 characters")
			return
		}
		if id, ok := s.idempotent(ctx, who.ID, idem); ok {
			st, err := s.status(ctx, id)
			if err == nil {
				w.Header().Set("Idempotent-Replayed", "true")
				writeJSON(w, http.StatusOK, st)
				return
			}
		}
	}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		s.refuse(w, r, who, audit.ActionCreate, "", http.StatusUnsupportedMediaType, "body must be multipart/form-data")
		return
	}
	body := http.MaxBytesReader(w, r.Body, s.cfg.MaxUploadBytes)
	mr := multipart.NewReader(body, params["boundary"])
	var (
		to    string
		cover Cover
		files [][]byte
	)
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			s.refuse(w, r, who, audit.ActionCreate, "", http.StatusRequestEntityTooLarge, "upload too large")
			return
		}
		if err != nil {
			s.refuse(w, r, who, audit.ActionCreate, "", http.StatusBadRequest, "malformed multipart body")
			return
		}
		// Everything is read into memory: a clear upload never touches
		// the disk (the request as a whole is bounded).
		b, err := io.ReadAll(p)
		if errors.As(err, &mbe) {
			s.refuse(w, r, who, audit.ActionCreate, "", http.StatusRequestEntityTooLarge, "upload too large")
			return
		}
		if err != nil {
			s.refuse(w, r, who, audit.ActionCreate, "", http.StatusBadRequest, "malformed multipart body")
			return
		}
		switch p.FormName() {
		case "to":
			to = strings.TrimSpace(string(b))
		case "file":
			if len(files) == maxFiles {
				s.refuse(w, r, who, audit.ActionCreate, "", http.StatusBadRequest, "too many files")
				return
			}
			files = append(files, b)
		case "cover_to":
			cover.To = string(b)
		case "cover_from":
			cover.From = string(b)
		case "cover_subject":
			cover.Subject = string(b)
		case "cover_note":
			cover.Note = string(b)
		default:
			s.refuse(w, r, who, audit.ActionCreate, "", http.StatusBadRequest, "unknown form field")
			return
		}
	}
	if !e164.MatchString(to) {
		s.refuse(w, r, who, audit.ActionCreate, "", http.StatusBadRequest, "to must be a phone number in E.164 form (+15551234567)")
		return
	}
	peer := s.peerFor(to)
	if peer == "" {
		s.refuse(w, r, who, audit.ActionCreate, "", http.StatusUnprocessableEntity, "no route to the destination's country or area")
		return
	}
	if len(files) == 0 {
		s.refuse(w, r, who, audit.ActionCreate, "", http.StatusBadRequest, "at least one file is required")
		return
	}
	var doc bytes.Buffer
	tw, err := tiff.NewWriter(&doc, nil)
	if err != nil {
		s.refuse(w, r, who, audit.ActionCreate, "", http.StatusInternalServerError, "internal error")
		return
	}
	pages := 0
	for i, f := range files {
		n, err := appendFile(ctx, tw, f)
		var fe *formatError
		if errors.As(err, &fe) {
			s.refuse(w, r, who, audit.ActionCreate, "", http.StatusUnprocessableEntity, fmt.Sprintf("file %d: %s", i+1, fe.msg))
			return
		}
		if err != nil || n == 0 {
			s.refuse(w, r, who, audit.ActionCreate, "", http.StatusUnprocessableEntity, fmt.Sprintf("file %d: no pages could be converted", i+1))
			return
		}
		pages += n
	}
	if err := tw.Close(); err != nil {
		s.refuse(w, r, who, audit.ActionCreate, "", http.StatusInternalServerError, "internal error")
		return
	}
	if !cover.empty() {
		// The cover goes first: re-write with it in front.
		var withCover bytes.Buffer
		cw, _ := tiff.NewWriter(&withCover, nil)
		cw.WritePage(coverPage(cover, pages), &tiff.PageOptions{Resolution: tiff.ResFine})
		rd, err := tiff.NewReader(bytes.NewReader(doc.Bytes()), int64(doc.Len()), nil)
		if err == nil {
			_, err = tiff.ConvertDocument(cw, rd, nil)
		}
		if err == nil {
			err = cw.Close()
		}
		if err != nil {
			s.refuse(w, r, who, audit.ActionCreate, "", http.StatusInternalServerError, "internal error")
			return
		}
		doc, pages = withCover, pages+1
	}
	id, err := s.sealAndQueue(ctx, who, src, to, peer, doc.Bytes(), pages, "", idem)
	if errors.Is(err, errConflict) && idem != "" {
		if id, ok := s.idempotent(ctx, who.ID, idem); ok {
			st, _ := s.status(ctx, id)
			w.Header().Set("Idempotent-Replayed", "true")
			writeJSON(w, http.StatusOK, st)
			return
		}
	}
	if err != nil {
		phiError(w, err)
		return
	}
	writeJSON(w, http.StatusAccepted, s.acceptedStatus(ctx, id, pages, ""))
}

// acceptedStatus is the status of a fax that sealAndQueue has just
// queued, as it was accepted: the 202 describes the fax the request
// created, not how far an idle worker, woken at once by the enqueue, has
// got since (GET /v1/faxes/{id} tells that).
func (s *Service) acceptedStatus(ctx context.Context, id string, pages int, resendOf string) FaxStatus {
	st := FaxStatus{ID: id, Direction: "outbound", Status: statusQueued, Pages: pages, ResendOf: resendOf, Attempts: []Attempt{}}
	var created int64
	if err := s.db.queryRow(ctx, `SELECT created FROM faxes WHERE id = ?`, id).Scan(&created); err == nil {
		st.Created = time.Unix(0, created).UTC()
		st.Updated = st.Created
	}
	if info, err := s.store.Stat(ctx, id); err == nil {
		st.RetainUntil, st.LegalHold = info.RetainUntil, info.LegalHold
	}
	return st
}

// sealAndQueue seals a TIFF as who, and records the fax, its job, its
// first event and its idempotency key in one transaction.
func (s *Service) sealAndQueue(ctx context.Context, who phi.Principal, src, to, peer string, tiffDoc []byte, pages int, resendOf, idem string) (string, error) {
	dw, err := s.guard.Create(ctx, who, src, phi.Metadata{Direction: phi.Outbound, Remote: redact.FaxNumber(to), ContentType: "image/tiff"})
	if err != nil {
		return "", err
	}
	n, err := phi.SealTIFF(dw, bytes.NewReader(tiffDoc), int64(len(tiffDoc)), nil)
	if err != nil || n != pages {
		dw.Abort()
		return "", fmt.Errorf("sealing: %d of %d pages: %w", n, pages, err)
	}
	info, err := s.commitDoc(ctx, who, src, dw)
	if err != nil {
		return "", err
	}
	now := s.now().UnixNano()
	err = s.db.tx(ctx, func(tx *Tx) error {
		if idem != "" {
			tx.exec(ctx, `DELETE FROM idempotency WHERE owner = ? AND key = ? AND created < ?`, who.ID, idem, now-int64(s.cfg.IdempotencyTTL))
			if _, err := tx.exec(ctx, `INSERT INTO idempotency (owner, key, fax_id, created) VALUES (?, ?, ?, ?)`, who.ID, idem, info.ID, now); err != nil {
				return errConflict
			}
		}
		if _, err := tx.exec(ctx, `INSERT INTO faxes (id, owner, direction, status, pages, peer, resend_of, created, updated) VALUES (?, ?, 'outbound', ?, ?, ?, ?, ?, ?)`,
			info.ID, who.ID, statusQueued, pages, peer, resendOf, now, now); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `INSERT INTO jobs (fax_id, state, run_at) VALUES (?, 'queued', ?)`, info.ID, now); err != nil {
			return err
		}
		if err := s.notifyJobs(ctx, tx); err != nil {
			return err
		}
		return s.addEvent(ctx, tx, info.ID, "fax.queued")
	})
	if err != nil {
		// The sealed document must not outlive a fax that was never
		// queued: shred it.
		s.guard.Delete(ctx, who, src, info.ID)
		s.db.exec(ctx, `DELETE FROM grants WHERE document = ?`, info.ID)
		return "", err
	}
	s.jobsChanged()
	return info.ID, nil
}

func (s *Service) idempotent(ctx context.Context, owner, key string) (string, bool) {
	var id string
	err := s.db.queryRow(ctx, `SELECT fax_id FROM idempotency WHERE owner = ? AND key = ? AND created >= ?`,
		owner, key, s.now().Add(-time.Duration(s.cfg.IdempotencyTTL)).UnixNano()).Scan(&id)
	return id, err == nil
}

func (s *Service) status(ctx context.Context, id string) (FaxStatus, error) {
	var st FaxStatus
	var created, updated, finished int64
	var deleted int
	err := s.db.queryRow(ctx, `SELECT id, direction, status, result, pages, pages_sent, resend_of, created, updated, finished, deleted FROM faxes WHERE id = ?`, id).
		Scan(&st.ID, &st.Direction, &st.Status, &st.Result, &st.Pages, &st.PagesSent, &st.ResendOf, &created, &updated, &finished, &deleted)
	if err != nil || deleted != 0 {
		return st, phi.ErrNotFound
	}
	st.Created, st.Updated = time.Unix(0, created).UTC(), time.Unix(0, updated).UTC()
	if finished != 0 {
		st.Finished = time.Unix(0, finished).UTC()
	}
	if info, err := s.store.Stat(ctx, id); err == nil {
		st.RetainUntil, st.LegalHold = info.RetainUntil, info.LegalHold
	}
	st.Attempts, err = s.attempts(ctx, id)
	return st, err
}

func (s *Service) attempts(ctx context.Context, id string) ([]Attempt, error) {
	rows, err := s.db.query(ctx, `SELECT n, started, finished, result, code, pages, bit_rate, coding, ecm, duration_ms, record_doc, first_page, max_rate, ecm_off, media FROM attempts WHERE fax_id = ? ORDER BY n`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Attempt{}
	for rows.Next() {
		var a Attempt
		var st, fin int64
		var ecm, ecmOff int
		if err := rows.Scan(&a.N, &st, &fin, &a.Result, &a.ResultCode, &a.Pages, &a.BitRate, &a.Coding, &ecm, &a.DurationMS, &a.recordDoc,
			&a.FirstPage, &a.MaxBitRate, &ecmOff, &a.Media); err != nil {
			return nil, err
		}
		a.Started, a.ECM, a.ECMDisabled = time.Unix(0, st).UTC(), ecm != 0, ecmOff != 0
		if fin != 0 {
			a.Finished = time.Unix(0, fin).UTC()
			a.ResultText = resultText(a.ResultCode, a.Result)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// checkFax runs the guard's metadata check on id (audited) and loads the
// fax's status; any refusal or absence is 404.
func (s *Service) checkFax(w http.ResponseWriter, r *http.Request, who phi.Principal, src string) (FaxStatus, bool) {
	id := r.PathValue("id")
	if !phi.ValidID(id) {
		s.refuse(w, r, who, audit.ActionReadMetadata, "", http.StatusNotFound, "fax not found")
		return FaxStatus{}, false
	}
	s.loadGrants(r.Context(), id)
	if !s.policy.Allowed(who, phi.PermReadMetadata, id) {
		// Audit the denial through the guard's own check.
		s.policy.Check(r.Context(), phi.Request{Who: who, Action: audit.ActionReadMetadata, Perm: phi.PermReadMetadata, Document: id, Source: src})
		httpError(w, http.StatusNotFound, "fax not found")
		return FaxStatus{}, false
	}
	st, err := s.status(r.Context(), id)
	if err != nil {
		s.refuse(w, r, who, audit.ActionReadMetadata, id, http.StatusNotFound, "fax not found")
		return st, false
	}
	return st, true
}

func (s *Service) getFax(w http.ResponseWriter, r *http.Request, who phi.Principal, src string) {
	st, ok := s.checkFax(w, r, who, src)
	if !ok {
		return
	}
	s.audit(r.Context(), audit.Event{Principal: who.ID, Action: audit.ActionReadMetadata, Document: st.ID, Source: src, Outcome: audit.OutcomeSuccess, Detail: "status"})
	sts := []FaxStatus{st}
	s.fillRead(r.Context(), who.ID, sts)
	writeJSON(w, http.StatusOK, sts[0])
}

// getMetadata returns the sealed fields: the number, and each attempt's
// remote ident. This is the only response carrying PHI besides content.
func (s *Service) getMetadata(w http.ResponseWriter, r *http.Request, who phi.Principal, src string) {
	st, ok := s.checkFax(w, r, who, src)
	if !ok {
		return
	}
	m, err := s.guard.Metadata(r.Context(), who, src, st.ID)
	if err != nil {
		phiError(w, err)
		return
	}
	s.noteRead(r.Context(), who, src, st.ID)
	type att struct {
		N           int    `json:"n"`
		RemoteIdent string `json:"remote_ident,omitempty"`
	}
	out := struct {
		Remote   string `json:"remote,omitempty"`
		DID      string `json:"did,omitempty"`
		Attempts []att  `json:"attempts"`
	}{Remote: m.Remote.Reveal(), DID: m.Labels["did"], Attempts: []att{}}
	for _, a := range st.Attempts {
		x := att{N: a.N}
		if st.Direction == "inbound" {
			x.RemoteIdent = m.RemoteIdent.Reveal() // sealed with the fax
		}
		if a.recordDoc != "" {
			s.loadGrants(r.Context(), a.recordDoc)
			if rm, err := s.guard.Metadata(r.Context(), who, src, a.recordDoc); err == nil {
				x.RemoteIdent = rm.RemoteIdent.Reveal()
			}
		}
		out.Attempts = append(out.Attempts, x)
	}
	writeJSON(w, http.StatusOK, out)
}

// openDoc opens a fax's content through the guard (audited).
func (s *Service) openDoc(w http.ResponseWriter, r *http.Request, who phi.Principal, src string) (*tiff.Reader, bool) {
	st, ok := s.checkFax(w, r, who, src)
	if !ok {
		return nil, false
	}
	rd, err := s.guard.Open(r.Context(), who, src, st.ID)
	if err != nil {
		phiError(w, err)
		return nil, false
	}
	defer rd.Close()
	s.noteRead(r.Context(), who, src, st.ID)
	var buf bytes.Buffer
	if _, err := rd.WriteTIFF(&buf, &tiff.WriterConfig{Compression: tiff.CompressionGroup4}); err != nil {
		phiError(w, err)
		return nil, false
	}
	tr, err := tiff.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()), nil)
	if err != nil {
		phiError(w, err)
		return nil, false
	}
	return tr, true
}

func (s *Service) getContent(w http.ResponseWriter, r *http.Request, who phi.Principal, src string) {
	format := r.URL.Query().Get("format")
	if format != "" && format != "tiff" && format != "pdf" {
		s.refuse(w, r, who, audit.ActionReadContent, "", http.StatusBadRequest, "format must be tiff or pdf")
		return
	}
	tr, ok := s.openDoc(w, r, who, src)
	if !ok {
		return
	}
	var out bytes.Buffer
	ct := "image/tiff"
	var err error
	if format == "pdf" {
		ct, err = "application/pdf", writePDF(&out, tr)
	} else {
		var tw *tiff.Writer
		tw, err = tiff.NewWriter(&out, &tiff.WriterConfig{Compression: tiff.CompressionGroup4})
		if err == nil {
			_, err = tiff.ConvertDocument(tw, tr, nil)
		}
		if err == nil {
			err = tw.Close()
		}
	}
	if err != nil {
		httpError(w, http.StatusInternalServerError, "internal error")
		return
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Disposition", "attachment; filename=fax."+map[string]string{"image/tiff": "tif", "application/pdf": "pdf"}[ct])
	w.Write(out.Bytes())
}

func (s *Service) getPage(w http.ResponseWriter, r *http.Request, who phi.Principal, src string) {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 1 || n > 10000 {
		s.refuse(w, r, who, audit.ActionReadContent, "", http.StatusBadRequest, "page must be a number from 1")
		return
	}
	tr, ok := s.openDoc(w, r, who, src)
	if !ok {
		return
	}
	i := 0
	for p, err := range tr.Pages() {
		if err != nil {
			break
		}
		i++
		if i < n {
			continue
		}
		img, err := p.Image()
		if err != nil {
			break
		}
		var out bytes.Buffer
		if err := png.Encode(&out, img); err != nil {
			break
		}
		w.Header().Set("Content-Type", "image/png")
		w.Write(out.Bytes())
		return
	}
	httpError(w, http.StatusNotFound, "no such page")
}

func (s *Service) getEvents(w http.ResponseWriter, r *http.Request, who phi.Principal, src string) {
	st, ok := s.checkFax(w, r, who, src)
	if !ok {
		return
	}
	rows, err := s.db.query(r.Context(), `SELECT id, seq, type, created FROM events WHERE fax_id = ? ORDER BY seq`, st.ID)
	if err != nil {
		httpError(w, http.StatusInternalServerError, "internal error")
		return
	}
	defer rows.Close()
	type ev struct {
		ID      string    `json:"id"`
		Seq     int       `json:"seq"`
		Type    string    `json:"type"`
		Created time.Time `json:"created"`
	}
	out := []ev{}
	for rows.Next() {
		var e ev
		var c int64
		if rows.Scan(&e.ID, &e.Seq, &e.Type, &c) == nil {
			e.Created = time.Unix(0, c).UTC()
			out = append(out, e)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": out})
}

func (s *Service) deleteFax(w http.ResponseWriter, r *http.Request, who phi.Principal, src string) {
	st, ok := s.checkFax(w, r, who, src)
	if !ok {
		return
	}
	if st.Status == statusQueued || st.Status == statusSending {
		s.refuse(w, r, who, audit.ActionDelete, st.ID, http.StatusConflict, "cancel the fax before deleting it")
		return
	}
	err := s.guard.Delete(r.Context(), who, src, st.ID)
	if errors.Is(err, phi.ErrNotFound) {
		// Shredded by an earlier delete whose database transaction
		// failed: the fax is still listed, so finish forgetting it.
		err = nil
	}
	if err != nil {
		phiError(w, err)
		return
	}
	if err := s.forgetDoc(r.Context(), st.ID); err != nil {
		httpError(w, http.StatusInternalServerError, "internal error")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Service) cancelFax(w http.ResponseWriter, r *http.Request, who phi.Principal, src string) {
	st, ok := s.checkFax(w, r, who, src)
	if !ok {
		return
	}
	if st.Direction != "outbound" || !s.policy.Allowed(who, phi.PermDelete, st.ID) {
		s.refuse(w, r, who, audit.ActionSend, st.ID, http.StatusConflict, "only an outbound fax can be cancelled, by its sender")
		return
	}
	now := s.now().UnixNano()
	var state string
	err := s.db.tx(r.Context(), func(tx *Tx) error {
		if err := tx.queryRow(r.Context(), `SELECT state FROM jobs WHERE fax_id = ?`, st.ID).Scan(&state); err != nil {
			return err
		}
		switch state {
		case "queued":
			tx.exec(r.Context(), `UPDATE jobs SET state = 'done', cancel = 1 WHERE fax_id = ?`, st.ID)
			tx.exec(r.Context(), `UPDATE faxes SET status = ?, updated = ?, finished = ? WHERE id = ?`, statusCancelled, now, now, st.ID)
			return s.addEvent(r.Context(), tx, st.ID, "fax.cancelled")
		case "leased":
			// The worker's heartbeat sees the flag and ends the call.
			_, err := tx.exec(r.Context(), `UPDATE jobs SET cancel = 1 WHERE fax_id = ?`, st.ID)
			return err
		}
		return errConflict
	})
	if err != nil {
		s.refuse(w, r, who, audit.ActionSend, st.ID, http.StatusConflict, "the fax has already finished")
		return
	}
	s.audit(r.Context(), audit.Event{Principal: who.ID, Action: audit.ActionSend, Document: st.ID, Source: src, Outcome: audit.OutcomeSuccess, Detail: "cancel requested"})
	st, _ = s.status(r.Context(), st.ID)
	writeJSON(w, http.StatusAccepted, st)
}

func (s *Service) resendFax(w http.ResponseWriter, r *http.Request, who phi.Principal, src string) {
	st, ok := s.checkFax(w, r, who, src)
	if !ok {
		return
	}
	if st.Direction != "outbound" || !who.Has(phi.RoleSender) {
		s.refuse(w, r, who, audit.ActionSend, st.ID, http.StatusConflict, "only an outbound fax can be resent, by a sender")
		return
	}
	if st.Status == statusQueued || st.Status == statusSending {
		s.refuse(w, r, who, audit.ActionSend, st.ID, http.StatusConflict, "the fax is still queued or sending")
		return
	}
	m, err := s.guard.Metadata(r.Context(), who, src, st.ID)
	if err != nil {
		phiError(w, err)
		return
	}
	rd, err := s.guard.Open(r.Context(), who, src, st.ID)
	if err != nil {
		phiError(w, err)
		return
	}
	var buf bytes.Buffer
	_, err = rd.WriteTIFF(&buf, nil)
	rd.Close()
	if err != nil {
		phiError(w, err)
		return
	}
	to := m.Remote.Reveal()
	peer := s.peerFor(to)
	if peer == "" {
		s.refuse(w, r, who, audit.ActionSend, st.ID, http.StatusUnprocessableEntity, "no route to the destination's country or area")
		return
	}
	id, err := s.sealAndQueue(r.Context(), who, src, to, peer, buf.Bytes(), st.Pages, st.ID, "")
	if err != nil {
		phiError(w, err)
		return
	}
	writeJSON(w, http.StatusAccepted, s.acceptedStatus(r.Context(), id, st.Pages, st.ID))
}

// listFaxes lists the faxes the caller may see (a metadata grant), newest
// first, with an opaque cursor and direction/status filters.
func (s *Service) listFaxes(w http.ResponseWriter, r *http.Request, who phi.Principal, src string) {
	q := r.URL.Query()
	limit := 50
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			s.refuse(w, r, who, audit.ActionList, "", http.StatusBadRequest, "limit must be 1 to 200")
			return
		}
		limit = n
	}
	where := []string{"f.deleted = 0", "g.principal = ?", "(g.perms & ?) <> 0"}
	args := []any{who.ID, int64(phi.PermReadMetadata)}
	if d := q.Get("direction"); d != "" {
		if d != "inbound" && d != "outbound" {
			s.refuse(w, r, who, audit.ActionList, "", http.StatusBadRequest, "direction must be inbound or outbound")
			return
		}
		where, args = append(where, "f.direction = ?"), append(args, d)
	}
	if st := q.Get("status"); st != "" {
		switch st {
		case statusQueued, statusSending, statusDelivered, statusFailed, statusCancelled, statusReceived, statusPartial:
		default:
			s.refuse(w, r, who, audit.ActionList, "", http.StatusBadRequest, "unknown status")
			return
		}
		where, args = append(where, "f.status = ?"), append(args, st)
	}
	if c := q.Get("cursor"); c != "" {
		b, err := base64.RawURLEncoding.DecodeString(c)
		created, id, ok := strings.Cut(string(b), ":")
		n, err2 := strconv.ParseInt(created, 10, 64)
		if err != nil || !ok || err2 != nil || !phi.ValidID(id) {
			s.refuse(w, r, who, audit.ActionList, "", http.StatusBadRequest, "bad cursor")
			return
		}
		where, args = append(where, "(f.created < ? OR (f.created = ? AND f.id < ?))"), append(args, n, n, id)
	}
	rows, err := s.db.query(r.Context(), `SELECT f.id FROM faxes f JOIN grants g ON g.document = f.id WHERE `+strings.Join(where, " AND ")+
		` ORDER BY f.created DESC, f.id DESC LIMIT `+strconv.Itoa(limit+1), args...)
	if err != nil {
		httpError(w, http.StatusInternalServerError, "internal error")
		return
	}
	var ids []string
	for rows.Next() {
		var id string
		rows.Scan(&id)
		ids = append(ids, id)
	}
	rows.Close()
	out := struct {
		Faxes      []FaxStatus `json:"faxes"`
		NextCursor string      `json:"next_cursor,omitempty"`
	}{Faxes: []FaxStatus{}}
	more := len(ids) > limit
	if more {
		ids = ids[:limit]
	}
	for _, id := range ids {
		st, err := s.status(r.Context(), id)
		if err == nil {
			out.Faxes = append(out.Faxes, st)
		}
	}
	s.fillRead(r.Context(), who.ID, out.Faxes)
	if more && len(out.Faxes) > 0 {
		last := out.Faxes[len(out.Faxes)-1]
		out.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("%d:%s", last.Created.UnixNano(), last.ID)))
	}
	s.audit(r.Context(), audit.Event{Principal: who.ID, Action: audit.ActionList, Source: src, Outcome: audit.OutcomeSuccess, Detail: fmt.Sprintf("%d faxes", len(out.Faxes))})
	writeJSON(w, http.StatusOK, out)
}

// --- admin -----------------------------------------------------------------

func (s *Service) listUsers(w http.ResponseWriter, r *http.Request, who phi.Principal, src string) {
	rows, err := s.db.query(r.Context(), `SELECT id, name, roles, disabled, created FROM users ORDER BY name`)
	if err != nil {
		httpError(w, http.StatusInternalServerError, "internal error")
		return
	}
	defer rows.Close()
	out := []User{}
	for rows.Next() {
		var u User
		var roles string
		var dis int
		var c int64
		if rows.Scan(&u.ID, &u.Name, &roles, &dis, &c) == nil {
			u.Roles, u.Disabled, u.Created = strings.Split(roles, ","), dis != 0, time.Unix(0, c).UTC()
			out = append(out, u)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": out})
}

func (s *Service) postUser(w http.ResponseWriter, r *http.Request, who phi.Principal, src string) {
	var req struct {
		Name     string   `json:"name"`
		Roles    []string `json:"roles"`
		Password string   `json:"password"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&req); err != nil {
		s.refuse(w, r, who, audit.ActionGrant, "", http.StatusBadRequest, "body must be JSON {name, roles, password}")
		return
	}
	u, err := s.createUser(r.Context(), req.Name, req.Roles, req.Password)
	if errors.Is(err, errConflict) {
		s.refuse(w, r, who, audit.ActionGrant, "", http.StatusConflict, "a user with that name exists")
		return
	}
	if err != nil {
		s.refuse(w, r, who, audit.ActionGrant, "", http.StatusBadRequest, err.Error())
		return
	}
	s.audit(r.Context(), audit.Event{Principal: who.ID, Action: audit.ActionGrant, Source: src, Outcome: audit.OutcomeSuccess,
		Detail: "created user " + u.ID + " roles " + strings.Join(u.Roles, ",")})
	writeJSON(w, http.StatusCreated, u)
}

func (s *Service) postToken(w http.ResponseWriter, r *http.Request, who phi.Principal, src string) {
	uid := r.PathValue("id")
	var req struct {
		TTLHours int `json:"ttl_hours"`
	}
	if r.ContentLength != 0 {
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&req); err != nil || req.TTLHours < 0 {
			s.refuse(w, r, who, audit.ActionGrant, "", http.StatusBadRequest, "body must be JSON {ttl_hours}")
			return
		}
	}
	var n int
	s.db.queryRow(r.Context(), `SELECT COUNT(*) FROM users WHERE id = ?`, uid).Scan(&n)
	if n == 0 {
		s.refuse(w, r, who, audit.ActionGrant, "", http.StatusNotFound, "no such user")
		return
	}
	id, tok, err := s.issueToken(r.Context(), uid, "api", time.Duration(req.TTLHours)*time.Hour)
	if err != nil {
		httpError(w, http.StatusInternalServerError, "internal error")
		return
	}
	s.audit(r.Context(), audit.Event{Principal: who.ID, Action: audit.ActionGrant, Source: src, Outcome: audit.OutcomeSuccess, Detail: "issued token " + id + " to " + uid})
	writeJSON(w, http.StatusCreated, map[string]string{"id": id, "token": tok})
}

func (s *Service) deleteToken(w http.ResponseWriter, r *http.Request, who phi.Principal, src string) {
	id := r.PathValue("id")
	res, err := s.db.exec(r.Context(), `UPDATE tokens SET revoked = ? WHERE id = ? AND revoked = 0`, s.now().UnixNano(), id)
	if n, _ := res.RowsAffected(); err != nil || n == 0 {
		s.refuse(w, r, who, audit.ActionGrant, "", http.StatusNotFound, "no such active token")
		return
	}
	s.audit(r.Context(), audit.Event{Principal: who.ID, Action: audit.ActionGrant, Source: src, Outcome: audit.OutcomeSuccess, Detail: "revoked token " + id})
	w.WriteHeader(http.StatusNoContent)
}

var didRE = regexp.MustCompile(`^(default|\+[1-9][0-9]{3,14})$`)

func (s *Service) listRoutes(w http.ResponseWriter, r *http.Request, who phi.Principal, src string) {
	rows, err := s.db.query(r.Context(), `SELECT did, targets FROM routes ORDER BY did`)
	if err != nil {
		httpError(w, http.StatusInternalServerError, "internal error")
		return
	}
	defer rows.Close()
	type rt struct {
		DID     string   `json:"did"`
		Targets []string `json:"targets"`
	}
	out := []rt{}
	for rows.Next() {
		var x rt
		var t string
		if rows.Scan(&x.DID, &t) == nil {
			x.Targets = strings.Split(t, ",")
			out = append(out, x)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"routes": out})
}

func (s *Service) putRoute(w http.ResponseWriter, r *http.Request, who phi.Principal, src string) {
	did := r.PathValue("did")
	if !didRE.MatchString(did) {
		s.refuse(w, r, who, audit.ActionGrant, "", http.StatusBadRequest, "did must be an E.164 number or default")
		return
	}
	var req struct {
		Targets []string `json:"targets"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 8192)).Decode(&req); err != nil || len(req.Targets) == 0 {
		s.refuse(w, r, who, audit.ActionGrant, "", http.StatusBadRequest, "body must be JSON {targets: [user or group IDs]}")
		return
	}
	if !s.checkTargets(r.Context(), req.Targets) {
		s.refuse(w, r, who, audit.ActionGrant, "", http.StatusBadRequest, "unknown user or group in targets")
		return
	}
	_, err := s.db.exec(r.Context(), `INSERT INTO routes (did, targets, updated) VALUES (?, ?, ?) ON CONFLICT (did) DO UPDATE SET targets = excluded.targets, updated = excluded.updated`,
		did, strings.Join(req.Targets, ","), s.now().UnixNano())
	if err != nil {
		httpError(w, http.StatusInternalServerError, "internal error")
		return
	}
	s.audit(r.Context(), audit.Event{Principal: who.ID, Action: audit.ActionGrant, Source: src, Outcome: audit.OutcomeSuccess, Detail: "route set"})
	writeJSON(w, http.StatusOK, map[string]any{"did": did, "targets": req.Targets})
}

func (s *Service) deleteRoute(w http.ResponseWriter, r *http.Request, who phi.Principal, src string) {
	res, err := s.db.exec(r.Context(), `DELETE FROM routes WHERE did = ?`, r.PathValue("did"))
	if n, _ := res.RowsAffected(); err != nil || n == 0 {
		s.refuse(w, r, who, audit.ActionGrant, "", http.StatusNotFound, "no such route")
		return
	}
	s.audit(r.Context(), audit.Event{Principal: who.ID, Action: audit.ActionGrant, Source: src, Outcome: audit.OutcomeSuccess, Detail: "route deleted"})
	w.WriteHeader(http.StatusNoContent)
}

// putHold places or lifts a legal hold (admin): a held fax cannot be
// deleted, by its owner, an admin or the retention purge.
func (s *Service) putHold(w http.ResponseWriter, r *http.Request, who phi.Principal, src string) {
	var req struct {
		Hold *bool `json:"hold"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1024)).Decode(&req); err != nil || req.Hold == nil {
		s.refuse(w, r, who, audit.ActionLegalHold, "", http.StatusBadRequest, "body must be JSON {hold: true|false}")
		return
	}
	st, ok := s.checkFax(w, r, who, src)
	if !ok {
		return
	}
	if err := s.guard.SetLegalHold(r.Context(), who, src, st.ID, *req.Hold); err != nil {
		phiError(w, err)
		return
	}
	// The fax's call records (remote idents) are held with it.
	for _, rec := range s.callRecords(r.Context(), st.ID) {
		if err := s.store.SetLegalHold(r.Context(), rec, *req.Hold); err != nil && !errors.Is(err, phi.ErrNotFound) {
			phiError(w, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": st.ID, "hold": *req.Hold})
}

var reasonRE = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

// emergencyAccess is break-glass (164.312(a)(2)(ii)): an admin takes
// content access to one fax, with a reason code (a ticket number, never
// PHI). The guard audits it as an emergency; the service also logs a
// warning so that monitoring sees every use at once.
func (s *Service) emergencyAccess(w http.ResponseWriter, r *http.Request, who phi.Principal, src string) {
	var req struct {
		Reason string `json:"reason"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1024)).Decode(&req); err != nil || !reasonRE.MatchString(req.Reason) {
		s.refuse(w, r, who, audit.ActionGrant, "", http.StatusBadRequest, "body must be JSON {reason: ticket reference (letters, digits, . _ : -)}")
		return
	}
	st, ok := s.checkFax(w, r, who, src)
	if !ok {
		return
	}
	if err := s.guard.EmergencyAccess(r.Context(), who, src, st.ID, req.Reason); err != nil {
		phiError(w, err)
		return
	}
	s.saveGrant(r.Context(), st.ID, who.ID, phi.PermReadMetadata|phi.PermReadContent)
	s.raiseAlert(r.Context(), alertBreakGlass, who.ID, src, 1, "emergency access to fax "+st.ID+" with reason code "+req.Reason)
	writeJSON(w, http.StatusOK, map[string]any{"id": st.ID, "granted": []string{"read-metadata", "read-content"}})
}
