package main

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/faxkit/faxkit/phi"
	"github.com/faxkit/faxkit/phi/audit"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/faxkit/faxkit/examples/faxservice/webhook"
)

// Webhooks: each user may register HTTPS endpoints for fax events of the
// faxes they may see. An event is written with its fax's change, in the
// same transaction, and so is one delivery row per subscribed endpoint;
// the delivery loop POSTs them signed (package webhook), in seq order per
// fax and endpoint, retrying with exponential back-off (10 s doubling, at
// most an hour apart) for WebhookRetryFor (default 72 h, at least 24 h).
// Payloads carry IDs, types, statuses and counts: never PHI.

var webhookEvents = []string{"fax.queued", "fax.sending", "fax.delivered", "fax.failed", "fax.cancelled", "fax.received"}

// enqueueDeliveries adds a delivery of event evID for every endpoint
// whose owner holds a grant on the fax and subscribed to typ.
func (s *Service) enqueueDeliveries(ctx context.Context, tx *Tx, evID, faxID string, seq int, typ string, now int64) error {
	rows, err := tx.query(ctx, `SELECT w.id, w.events FROM webhooks w JOIN grants g ON g.principal = w.owner
		WHERE g.document = ? AND w.disabled = 0`, faxID)
	if err != nil {
		return err
	}
	var hooks []string
	for rows.Next() {
		var id, evs string
		if rows.Scan(&id, &evs) == nil && (evs == "*" || strings.Contains(","+evs+",", ","+typ+",")) {
			hooks = append(hooks, id)
		}
	}
	rows.Close()
	for _, h := range hooks {
		if _, err := tx.exec(ctx, `INSERT INTO deliveries (id, webhook_id, event_id, fax_id, seq, state, next_at, created) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)`,
			"dlv_"+randomHex(12), h, evID, faxID, seq, now, now); err != nil {
			return err
		}
	}
	return nil
}

// Event is a webhook payload.
type Event struct {
	ID      string    `json:"id"`
	Type    string    `json:"type"`
	Created time.Time `json:"created"`
	FaxID   string    `json:"fax_id"`
	Seq     int       `json:"seq"`
	Status  string    `json:"status"`
	Result  string    `json:"result,omitempty"`
	Pages   int       `json:"pages"`
}

type delivery struct {
	id, hook, url, secret, event string
	attempts                     int
	created                      int64
}

// claimDelivery takes the oldest due delivery whose earlier events (same
// endpoint and fax) are all delivered or abandoned.
func (s *Service) claimDelivery(ctx context.Context) (delivery, bool) {
	now := s.now().UnixNano()
	var d delivery
	err := s.db.tx(ctx, func(tx *Tx) error {
		sel := `SELECT d.id FROM deliveries d WHERE d.state = 'pending' AND d.next_at <= ? AND d.lease_until < ?
			AND NOT EXISTS (SELECT 1 FROM deliveries e WHERE e.webhook_id = d.webhook_id AND e.fax_id = d.fax_id AND e.seq < d.seq AND e.state = 'pending')
			ORDER BY d.next_at, d.seq LIMIT 1`
		if s.db.driver == "pgx" {
			sel += ` FOR UPDATE SKIP LOCKED`
		}
		if err := tx.queryRow(ctx, sel, now, now).Scan(&d.id); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `UPDATE deliveries SET lease_until = ? WHERE id = ?`, now+int64(time.Minute), d.id); err != nil {
			return err
		}
		return tx.queryRow(ctx, `SELECT d.webhook_id, w.url, w.secret, d.event_id, d.attempts, d.created FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id WHERE d.id = ?`, d.id).
			Scan(&d.hook, &d.url, &d.secret, &d.event, &d.attempts, &d.created)
	})
	return d, err == nil
}

func (s *Service) eventPayload(ctx context.Context, evID string) ([]byte, error) {
	var typ string
	if err := s.db.queryRow(ctx, `SELECT type FROM events WHERE id = ?`, evID).Scan(&typ); err != nil {
		return nil, err
	}
	if strings.HasPrefix(typ, "alert.") {
		return s.alertPayload(ctx, evID)
	}
	var e Event
	var created int64
	err := s.db.queryRow(ctx, `SELECT e.id, e.type, e.created, e.fax_id, e.seq, f.status, f.result, f.pages FROM events e JOIN faxes f ON f.id = e.fax_id WHERE e.id = ?`, evID).
		Scan(&e.ID, &e.Type, &created, &e.FaxID, &e.Seq, &e.Status, &e.Result, &e.Pages)
	if err != nil {
		return nil, err
	}
	e.Created = time.Unix(0, created).UTC()
	return json.Marshal(e)
}

// webhookBackoff is the delay after the n-th failed attempt.
func webhookBackoff(n int) time.Duration {
	d := 10 * time.Second
	for i := 1; i < n && d < time.Hour; i++ {
		d *= 2
	}
	return min(d, time.Hour)
}

func (s *Service) deliverLoop(ctx context.Context) {
	for ctx.Err() == nil {
		d, ok := s.claimDelivery(ctx)
		if !ok {
			t := time.NewTimer(time.Duration(s.cfg.PollInterval))
			select {
			case <-ctx.Done():
			case <-t.C:
			}
			t.Stop()
			continue
		}
		s.deliver(ctx, d)
	}
}

func (s *Service) deliver(ctx context.Context, d delivery) {
	body, err := s.eventPayload(ctx, d.event)
	status := 0
	if err == nil {
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		req, _ := http.NewRequestWithContext(rctx, "POST", d.url, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "faxservice-webhooks/1")
		req.Header.Set(webhook.Header, webhook.Sign(d.secret, s.now(), body))
		resp, err := s.hookClient.Do(req)
		if err == nil {
			status = resp.StatusCode
			resp.Body.Close()
		}
		cancel()
	}
	now := s.now()
	n := d.attempts + 1
	switch {
	case status >= 200 && status < 300:
		s.db.exec(ctx, `UPDATE deliveries SET state = 'delivered', attempts = ?, last_status = ?, delivered = ?, lease_until = 0 WHERE id = ?`, n, status, now.UnixNano(), d.id)
		webhookDeliveries.WithLabelValues("delivered").Inc()
	case now.Sub(time.Unix(0, d.created)) > time.Duration(s.cfg.WebhookRetryFor):
		s.db.exec(ctx, `UPDATE deliveries SET state = 'abandoned', attempts = ?, last_status = ?, lease_until = 0 WHERE id = ?`, n, status, d.id)
		webhookDeliveries.WithLabelValues("abandoned").Inc()
		s.logger.Warn("webhook delivery abandoned", "delivery", d.id, "attempts", n)
	default:
		s.db.exec(ctx, `UPDATE deliveries SET attempts = ?, last_status = ?, next_at = ?, lease_until = 0 WHERE id = ?`, n, status, now.Add(webhookBackoff(n)).UnixNano(), d.id)
		webhookDeliveries.WithLabelValues("retry").Inc()
	}
}

// --- API -------------------------------------------------------------------

func (s *Service) postWebhook(w http.ResponseWriter, r *http.Request, who phi.Principal, src string) {
	var req struct {
		URL    string   `json:"url"`
		Events []string `json:"events"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&req); err != nil {
		s.refuse(w, r, who, audit.ActionGrant, "", http.StatusBadRequest, "body must be JSON {url, events}")
		return
	}
	u, err := url.Parse(req.URL)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || len(req.URL) > 2048 {
		s.refuse(w, r, who, audit.ActionGrant, "", http.StatusBadRequest, "url must be an https URL without credentials")
		return
	}
	evs := "*"
	if len(req.Events) > 0 {
		for _, e := range req.Events {
			ok := false
			for _, k := range webhookEvents {
				ok = ok || e == k
			}
			for _, k := range alertKinds {
				if e == k && !who.Has(phi.RoleAdmin) && !who.Has(phi.RoleAuditor) {
					s.refuse(w, r, who, audit.ActionGrant, "", http.StatusForbidden, "alert events are for admins and auditors")
					return
				}
				ok = ok || e == k
			}
			if !ok {
				s.refuse(w, r, who, audit.ActionGrant, "", http.StatusBadRequest, "unknown event type")
				return
			}
		}
		evs = strings.Join(req.Events, ",")
	}
	id, secret := "wh_"+randomHex(8), "whsec_"+randomHex(24)
	if _, err := s.db.exec(r.Context(), `INSERT INTO webhooks (id, owner, url, secret, events, created) VALUES (?, ?, ?, ?, ?, ?)`,
		id, who.ID, req.URL, secret, evs, s.now().UnixNano()); err != nil {
		httpError(w, http.StatusInternalServerError, "internal error")
		return
	}
	s.audit(r.Context(), audit.Event{Principal: who.ID, Action: audit.ActionGrant, Source: src, Outcome: audit.OutcomeSuccess, Detail: "webhook " + id + " created"})
	writeJSON(w, http.StatusCreated, map[string]any{"id": id, "url": req.URL, "events": strings.Split(evs, ","), "secret": secret})
}

func (s *Service) listWebhooks(w http.ResponseWriter, r *http.Request, who phi.Principal, src string) {
	rows, err := s.db.query(r.Context(), `SELECT id, url, events FROM webhooks WHERE owner = ? AND disabled = 0 ORDER BY created`, who.ID)
	if err != nil {
		httpError(w, http.StatusInternalServerError, "internal error")
		return
	}
	defer rows.Close()
	type hook struct {
		ID     string   `json:"id"`
		URL    string   `json:"url"`
		Events []string `json:"events"`
	}
	out := []hook{}
	for rows.Next() {
		var h hook
		var evs string
		if rows.Scan(&h.ID, &h.URL, &evs) == nil {
			h.Events = strings.Split(evs, ",")
			out = append(out, h)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"webhooks": out})
}

func (s *Service) deleteWebhook(w http.ResponseWriter, r *http.Request, who phi.Principal, src string) {
	res, err := s.db.exec(r.Context(), `UPDATE webhooks SET disabled = 1 WHERE id = ? AND owner = ? AND disabled = 0`, r.PathValue("id"), who.ID)
	if n, _ := res.RowsAffected(); err != nil || n == 0 {
		s.refuse(w, r, who, audit.ActionGrant, "", http.StatusNotFound, "no such webhook")
		return
	}
	s.db.exec(r.Context(), `UPDATE deliveries SET state = 'abandoned' WHERE webhook_id = ? AND state = 'pending'`, r.PathValue("id"))
	s.audit(r.Context(), audit.Event{Principal: who.ID, Action: audit.ActionGrant, Source: src, Outcome: audit.OutcomeSuccess, Detail: "webhook deleted"})
	w.WriteHeader(http.StatusNoContent)
}
