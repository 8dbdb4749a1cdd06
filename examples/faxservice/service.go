package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/faxkit/faxkit"
	"github.com/faxkit/faxkit/phi"
	"github.com/faxkit/faxkit/tiff"
	"github.com/faxkit/faxkit/transport"
)

// Service is a small HIPAA-minded fax service: an HTTPS API to send and
// fetch faxes, an outbound queue, a T.38 listener for inbound calls, a
// sealed store behind a default-deny guard, an audit log, and a retention
// purge. Everything a request touches is authenticated and audited.
type Service struct {
	Guard *phi.Guard
	Auth  *phi.TokenAuthenticator
	Audit *phi.AuditLog
	// Inbox is the principal inbound faxes are routed to (granted read
	// access to each one).
	Inbox string
	// FaxOptions configure every call (pacing, ECM, ident ...).
	FaxOptions faxkit.Options
	Logger     *slog.Logger

	queue chan job
	mu    sync.Mutex
	faxes map[string]*faxStatus // by document ID
}

// The service's own principals. IDs are opaque, never PHI.
var (
	gateway = phi.Principal{ID: "svc-gateway", Roles: []phi.Role{phi.RoleReceiver}}
	router  = phi.Principal{ID: "svc-router", Roles: []phi.Role{phi.RoleAdmin}}
)

type job struct {
	id  string
	who phi.Principal
	to  string
}

// faxStatus is what the API reports about a fax: no PHI (the remote number
// and ident stay sealed in the document's metadata).
type faxStatus struct {
	ID        string    `json:"id"`
	Direction string    `json:"direction"`
	Status    string    `json:"status"` // queued, sending, sent, failed, received
	Result    string    `json:"result,omitempty"`
	Pages     int       `json:"pages"`
	Created   time.Time `json:"created"`
	Finished  time.Time `json:"finished,omitzero"`
	owner     string    // principal who may see this status
}

// Start starts the outbound workers and the inbound T.38 listener on
// t38Addr ("" for none); both stop when ctx ends.
func (s *Service) Start(ctx context.Context, workers int, t38Addr string) (net.Addr, error) {
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	s.queue = make(chan job, 1024)
	s.faxes = map[string]*faxStatus{}
	for range workers {
		go s.worker(ctx)
	}
	if t38Addr == "" {
		return nil, nil
	}
	l, err := transport.Listen("udp", t38Addr, &transport.ListenConfig{QueueLen: 1024})
	if err != nil {
		return nil, err
	}
	go func() {
		<-ctx.Done()
		l.Close()
	}()
	go func() {
		for {
			c, err := l.Accept(ctx)
			if err != nil {
				return
			}
			go s.receive(ctx, c)
		}
	}()
	return l.Addr(), nil
}

// Purge deletes the documents past their retention date, as the router.
func (s *Service) Purge(ctx context.Context) ([]string, error) {
	ids, err := s.Guard.Purge(ctx, router, "retention-job")
	s.mu.Lock()
	for _, id := range ids {
		delete(s.faxes, id)
	}
	s.mu.Unlock()
	return ids, err
}

// receive answers one inbound call, sealing the pages as they arrive.
func (s *Service) receive(ctx context.Context, c *transport.Conn) {
	defer c.Close()
	src := "t38:" + c.RemoteAddr().String()
	doc, err := s.Guard.Create(ctx, gateway, src, phi.Metadata{Direction: phi.Inbound, ContentType: "image/tiff"})
	if err != nil {
		s.Logger.Error("inbound: cannot create document", "err", err)
		return
	}
	rep, err := faxkit.Receive(ctx, c, c.RemoteAddr(), phi.NewTIFFWriter(doc, nil), &s.FaxOptions)
	s.Audit.Append(ctx, phi.Event{Principal: gateway.ID, Action: phi.ActionReceive, Document: doc.ID(), Source: src,
		Outcome: outcome(err), Detail: fmt.Sprintf("t30 result %s, %d pages", rep.Result, rep.Pages)})
	if rep.Pages == 0 {
		doc.Abort()
		return
	}
	// Pages received before a failure are kept: a partial fax is still
	// patient data that someone must see. (The remote ident is not kept:
	// a document's metadata is fixed when it is created, before the call
	// has identified the remote.)
	info, err := doc.Commit()
	s.Guard.Committed(ctx, gateway, src, info, err)
	if err != nil {
		s.Logger.Error("inbound: commit failed", "err", err)
		return
	}
	if err := s.Guard.GrantAccess(ctx, router, "router", info.ID, s.Inbox, phi.PermReadMetadata|phi.PermReadContent); err != nil {
		s.Logger.Error("inbound: routing failed", "err", err)
	}
	st := &faxStatus{ID: info.ID, Direction: "inbound", Status: "received", Result: rep.Result.String(), Pages: rep.Pages,
		Created: info.Created, Finished: time.Now(), owner: s.Inbox}
	if !rep.OK {
		st.Status = "partial"
	}
	s.mu.Lock()
	s.faxes[info.ID] = st
	s.mu.Unlock()
	s.Logger.Info("fax received", "id", info.ID, "result", rep.Result.String(), "pages", rep.Pages)
}

func outcome(err error) phi.Outcome {
	if err != nil {
		return phi.OutcomeFailure
	}
	return phi.OutcomeSuccess
}

// worker sends queued faxes.
func (s *Service) worker(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case j := <-s.queue:
			s.send(ctx, j)
		}
	}
}

func (s *Service) setStatus(id string, f func(st *faxStatus)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.faxes[id]; st != nil {
		f(st)
	}
}

func (s *Service) send(ctx context.Context, j job) {
	s.setStatus(j.id, func(st *faxStatus) { st.Status = "sending" })
	rep, err := s.sendDoc(ctx, j)
	s.Audit.Append(ctx, phi.Event{Principal: j.who.ID, Action: phi.ActionSend, Document: j.id, Source: "worker",
		Outcome: outcome(err), Detail: fmt.Sprintf("t30 result %s, %d pages", rep.Result, rep.Pages)})
	s.setStatus(j.id, func(st *faxStatus) {
		st.Status, st.Result, st.Finished = "sent", rep.Result.String(), time.Now()
		if err != nil {
			st.Status = "failed"
			if st.Result == "in-progress" {
				st.Result = "error"
			}
		}
	})
}

func (s *Service) sendDoc(ctx context.Context, j job) (faxkit.Report, error) {
	rd, err := s.Guard.Open(ctx, j.who, "worker", j.id)
	if err != nil {
		return faxkit.Report{}, err
	}
	var buf bytes.Buffer // plaintext only in memory
	_, err = rd.WriteTIFF(&buf, nil)
	rd.Close()
	if err != nil {
		return faxkit.Report{}, err
	}
	r, err := tiff.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()), nil)
	if err != nil {
		return faxkit.Report{}, err
	}
	doc, err := faxkit.TIFF(r)
	if err != nil {
		return faxkit.Report{}, err
	}
	peer, err := net.ResolveUDPAddr("udp", j.to)
	if err != nil {
		return faxkit.Report{}, err
	}
	conn, err := net.ListenPacket("udp", ":0")
	if err != nil {
		return faxkit.Report{}, err
	}
	defer conn.Close()
	return faxkit.Send(ctx, conn, peer, doc, &s.FaxOptions)
}

// Handler returns the HTTP API:
//
//	POST /v1/faxes?to=HOST:PORT   body: a TIFF; queues it (sender role)
//	GET  /v1/faxes                the caller's faxes (status only)
//	GET  /v1/faxes/{id}           one fax's status
//	GET  /v1/faxes/{id}/content   the fax as TIFF (needs read-content)
//
// Requests carry "Authorization: Bearer <token>".
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/faxes", s.authed(s.postFax))
	mux.HandleFunc("GET /v1/faxes", s.authed(s.listFaxes))
	mux.HandleFunc("GET /v1/faxes/{id}", s.authed(s.getFax))
	mux.HandleFunc("GET /v1/faxes/{id}/content", s.authed(s.getContent))
	return mux
}

type authedHandler func(w http.ResponseWriter, r *http.Request, who phi.Principal, src string)

func (s *Service) authed(h authedHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		src := r.RemoteAddr
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			httpError(w, http.StatusUnauthorized, "missing bearer token")
			return
		}
		who, err := s.Auth.Authenticate(r.Context(), tok, src)
		if err != nil {
			httpError(w, http.StatusUnauthorized, "authentication failed")
			return
		}
		h(w, r, who, src)
	}
}

func httpError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// phiError maps phi errors to HTTP statuses without echoing details.
func phiError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, phi.ErrDenied):
		httpError(w, http.StatusForbidden, "access denied")
	case errors.Is(err, phi.ErrNotFound), errors.Is(err, phi.ErrInvalidID):
		httpError(w, http.StatusNotFound, "not found")
	default:
		httpError(w, http.StatusInternalServerError, "internal error")
	}
}

const maxUpload = 64 << 20

func (s *Service) postFax(w http.ResponseWriter, r *http.Request, who phi.Principal, src string) {
	to := r.URL.Query().Get("to")
	if _, _, err := net.SplitHostPort(to); err != nil {
		httpError(w, http.StatusBadRequest, "to must be the peer's HOST:PORT")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxUpload))
	if err != nil {
		httpError(w, http.StatusRequestEntityTooLarge, "document too large")
		return
	}
	dw, err := s.Guard.Create(r.Context(), who, src, phi.Metadata{Direction: phi.Outbound, Remote: phi.FaxNumber(to), ContentType: "image/tiff"})
	if err != nil {
		phiError(w, err)
		return
	}
	n, err := phi.SealTIFF(dw, bytes.NewReader(body), int64(len(body)), nil)
	if err != nil || n == 0 {
		dw.Abort()
		httpError(w, http.StatusBadRequest, "not a readable TIFF")
		return
	}
	info, err := dw.Commit()
	s.Guard.Committed(r.Context(), who, src, info, err)
	if err != nil {
		phiError(w, err)
		return
	}
	st := &faxStatus{ID: info.ID, Direction: "outbound", Status: "queued", Pages: n, Created: info.Created, owner: who.ID}
	s.mu.Lock()
	s.faxes[info.ID] = st
	s.mu.Unlock()
	resp := s.status(info.ID) // as queued, before a worker takes it
	select {
	case s.queue <- job{id: info.ID, who: who, to: to}:
	default:
		s.setStatus(info.ID, func(st *faxStatus) { st.Status = "failed"; st.Result = "queue-full" })
		resp = s.status(info.ID)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	json.NewEncoder(w).Encode(resp)
}

func (s *Service) status(id string) *faxStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.faxes[id]
	if st == nil {
		return nil
	}
	c := *st
	return &c
}

func (s *Service) listFaxes(w http.ResponseWriter, r *http.Request, who phi.Principal, src string) {
	s.mu.Lock()
	out := []faxStatus{}
	for _, st := range s.faxes {
		if st.owner == who.ID {
			out = append(out, *st)
		}
	}
	s.mu.Unlock()
	s.Audit.Append(r.Context(), phi.Event{Principal: who.ID, Action: phi.ActionList, Source: src, Outcome: phi.OutcomeSuccess,
		Detail: fmt.Sprintf("%d faxes", len(out))})
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out)
}

func (s *Service) getFax(w http.ResponseWriter, r *http.Request, who phi.Principal, src string) {
	id := r.PathValue("id")
	// Status is metadata: the guard decides (and audits) whether the
	// caller may see it.
	if _, err := s.Guard.Metadata(r.Context(), who, src, id); err != nil {
		phiError(w, err)
		return
	}
	st := s.status(id)
	if st == nil {
		httpError(w, http.StatusNotFound, "not found")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(st)
}

func (s *Service) getContent(w http.ResponseWriter, r *http.Request, who phi.Principal, src string) {
	rd, err := s.Guard.Open(r.Context(), who, src, r.PathValue("id"))
	if err != nil {
		phiError(w, err)
		return
	}
	defer rd.Close()
	var buf bytes.Buffer
	if _, err := rd.WriteTIFF(&buf, &tiff.WriterConfig{Compression: tiff.CompressionGroup4}); err != nil {
		phiError(w, err)
		return
	}
	w.Header().Set("Content-Type", "image/tiff")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(buf.Bytes())
}
