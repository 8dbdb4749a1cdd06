package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/faxkit/faxkit/phi"
	"github.com/faxkit/faxkit/phi/audit"
)

// Alerts on suspicious activity (45 CFR 164.308(a)(1)(ii)(D),
// 164.308(a)(6)(ii)). Each alert is three things at once: an audit record
// (action "alert", the principal concerned, the source address, a fixed
// text with counts), a row in the alerts table (GET /v1/alerts for admins
// and auditors), and a webhook event "alert.<kind>" signed and retried like
// the fax events, delivered to the endpoints of admins and auditors that
// subscribed to it. Kinds:
//
//   - alert.failed_signins: an account was locked after LockoutAfter
//     failed sign-ins or token secrets in a row.
//   - alert.bulk_reads: one principal read the content or sealed metadata
//     of more than AlertReads distinct faxes within AlertWindow (once per
//     window per principal). Counted in the database: instances on one
//     database share the window.
//   - alert.break_glass: an admin used emergency access.
//
// Payloads name IDs, never PHI.

const (
	alertFailedSignins = "alert.failed_signins"
	alertBulkReads     = "alert.bulk_reads"
	alertBreakGlass    = "alert.break_glass"
)

var alertKinds = []string{alertFailedSignins, alertBulkReads, alertBreakGlass}

var alertsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
	Namespace: "faxservice", Name: "alerts_total", Help: "Security alerts raised, by kind.",
}, []string{"kind"})

// Alert is an alert as the API and webhooks show it.
type Alert struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	Created   time.Time `json:"created"`
	Principal string    `json:"principal"`
	Count     int       `json:"count,omitempty"`
	Detail    string    `json:"detail"`
}

// raiseAlert records an alert (audit, table, webhook deliveries, log).
// principal is the user concerned; detail is a fixed text without PHI.
func (s *Service) raiseAlert(ctx context.Context, kind, principal, src string, count int, detail string) {
	ctx = context.WithoutCancel(ctx)
	s.audit(ctx, audit.Event{Principal: principal, Action: audit.ActionAlert, Source: src, Outcome: audit.OutcomeSuccess,
		Detail: fmt.Sprintf("ALERT %s: %s", kind, detail)})
	id, now := "alr_"+randomHex(12), s.now().UnixNano()
	err := s.db.tx(ctx, func(tx *Tx) error {
		if _, err := tx.exec(ctx, `INSERT INTO alerts (id, kind, principal, source, count, detail, created) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			id, kind, principal, src, count, detail, now); err != nil {
			return err
		}
		evID := "evt_" + randomHex(12)
		if _, err := tx.exec(ctx, `INSERT INTO events (id, fax_id, seq, type, created) VALUES (?, ?, 1, ?, ?)`, evID, id, kind, now); err != nil {
			return err
		}
		rows, err := tx.query(ctx, `SELECT w.id, w.events, u.roles FROM webhooks w JOIN users u ON u.id = w.owner WHERE w.disabled = 0`)
		if err != nil {
			return err
		}
		var hooks []string
		for rows.Next() {
			var hid, evs, roles string
			if rows.Scan(&hid, &evs, &roles) != nil {
				continue
			}
			p := principalOf("", roles)
			if (p.Has(phi.RoleAdmin) || p.Has(phi.RoleAuditor)) && (evs == "*" || strings.Contains(","+evs+",", ","+kind+",")) {
				hooks = append(hooks, hid)
			}
		}
		rows.Close()
		for _, h := range hooks {
			if _, err := tx.exec(ctx, `INSERT INTO deliveries (id, webhook_id, event_id, fax_id, seq, state, next_at, created) VALUES (?, ?, ?, ?, 1, 'pending', ?, ?)`,
				"dlv_"+randomHex(12), h, evID, id, now, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		s.logger.Error("alert not recorded", "kind", kind, "err", err)
	}
	alertsTotal.WithLabelValues(kind).Inc()
	s.logger.Warn("ALERT "+kind, "alert", id, "principal", principal, "count", count)
}

// alertPayload is the webhook body of an alert event.
func (s *Service) alertPayload(ctx context.Context, evID string) ([]byte, error) {
	var a Alert
	var created int64
	err := s.db.queryRow(ctx, `SELECT a.id, a.kind, a.created, a.principal, a.count, a.detail FROM events e JOIN alerts a ON a.id = e.fax_id WHERE e.id = ?`, evID).
		Scan(&a.ID, &a.Type, &created, &a.Principal, &a.Count, &a.Detail)
	if err != nil {
		return nil, err
	}
	a.Created = time.Unix(0, created).UTC()
	return json.Marshal(struct {
		EventID string `json:"id"`
		Alert
		AlertID string `json:"alert_id"`
		Seq     int    `json:"seq"`
	}{EventID: evID, Alert: a, AlertID: a.ID, Seq: 1})
}

// readMonitor prunes the read window's table (read_log) of reads older
// than the window, at most once per window per instance; the counts
// themselves live in the database (noteRead), shared by every instance.
type readMonitor struct {
	mu     sync.Mutex
	pruned time.Time
}

// due reports whether a prune is due at now.
func (m *readMonitor) due(now time.Time, window time.Duration) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if now.Sub(m.pruned) < window {
		return false
	}
	m.pruned = now
	return true
}

// noteRead counts a successful read of a fax's content or sealed
// metadata by an API principal, in the database: every instance on one
// database sees the same distinct faxes per principal in the window, and
// the principal's alert_state row, locked for the transaction,
// serializes concurrent reads of one principal across instances, so that
// more than AlertReads distinct faxes within AlertWindow raise exactly
// one alert per window.
func (s *Service) noteRead(ctx context.Context, who phi.Principal, src, doc string) {
	win := time.Duration(s.cfg.AlertWindow)
	now := s.now()
	n, alert, err := s.countRead(context.WithoutCancel(ctx), who.ID, doc, now, win, s.cfg.AlertReads)
	if err != nil {
		s.logger.Error("bulk-read window not updated", "err", err)
		return
	}
	if alert {
		s.raiseAlert(ctx, alertBulkReads, who.ID, src, n,
			fmt.Sprintf("%d distinct faxes read within %s (threshold %d)", n, win, s.cfg.AlertReads))
	}
	if s.reads.due(now, win) {
		s.db.exec(context.WithoutCancel(ctx), `DELETE FROM read_log WHERE last_read < ?`, now.Add(-win).UnixNano())
	}
}

// countRead records that who read doc at now and returns the number of
// distinct faxes who read within window, and whether that is more than
// limit with no alert for who within the window (the alert is then
// recorded as raised at now).
func (s *Service) countRead(ctx context.Context, who, doc string, now time.Time, window time.Duration, limit int) (int, bool, error) {
	var n int
	alert := false
	err := s.db.tx(ctx, func(tx *Tx) error {
		// Lock the principal's row: PostgreSQL holds the row lock to the
		// end of the transaction; SQLite has one writer anyway.
		if _, err := tx.exec(ctx, `INSERT INTO alert_state (principal, kind, alerted) VALUES (?, ?, 0) ON CONFLICT DO NOTHING`, who, alertBulkReads); err != nil {
			return err
		}
		var last int64
		if err := tx.queryRow(ctx, `UPDATE alert_state SET alerted = alerted WHERE principal = ? AND kind = ? RETURNING alerted`, who, alertBulkReads).Scan(&last); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `INSERT INTO read_log (principal, document, last_read) VALUES (?, ?, ?)
			ON CONFLICT (principal, document) DO UPDATE SET last_read = excluded.last_read`, who, doc, now.UnixNano()); err != nil {
			return err
		}
		if err := tx.queryRow(ctx, `SELECT COUNT(*) FROM read_log WHERE principal = ? AND last_read >= ?`, who, now.Add(-window).UnixNano()).Scan(&n); err != nil {
			return err
		}
		if n <= limit || now.Sub(time.Unix(0, last)) <= window {
			return nil
		}
		alert = true
		_, err := tx.exec(ctx, `UPDATE alert_state SET alerted = ? WHERE principal = ? AND kind = ?`, now.UnixNano(), who, alertBulkReads)
		return err
	})
	return n, alert, err
}

// listAlerts lists alerts, newest first (admins and auditors).
func (s *Service) listAlerts(w http.ResponseWriter, r *http.Request, who phi.Principal, src string) {
	if !who.Has(phi.RoleAdmin) && !who.Has(phi.RoleAuditor) {
		s.refuse(w, r, who, audit.ActionAuditRead, "", http.StatusForbidden, "admin or auditor role required")
		return
	}
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			s.refuse(w, r, who, audit.ActionAuditRead, "", http.StatusBadRequest, "limit must be 1 to 1000")
			return
		}
		limit = n
	}
	rows, err := s.db.query(r.Context(), `SELECT id, kind, created, principal, count, detail FROM alerts ORDER BY created DESC, id DESC LIMIT `+strconv.Itoa(limit))
	if err != nil {
		httpError(w, http.StatusInternalServerError, "internal error")
		return
	}
	defer rows.Close()
	out := []Alert{}
	for rows.Next() {
		var a Alert
		var c int64
		if rows.Scan(&a.ID, &a.Type, &c, &a.Principal, &a.Count, &a.Detail) == nil {
			a.Created = time.Unix(0, c).UTC()
			out = append(out, a)
		}
	}
	s.audit(r.Context(), audit.Event{Principal: who.ID, Action: audit.ActionAuditRead, Source: src, Outcome: audit.OutcomeSuccess, Detail: fmt.Sprintf("%d alerts listed", len(out))})
	writeJSON(w, http.StatusOK, map[string]any{"alerts": out})
}
