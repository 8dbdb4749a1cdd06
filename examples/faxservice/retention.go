package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/faxkit/faxkit/phi"
	"github.com/faxkit/faxkit/phi/audit"
)

// Retention (45 CFR 164.316(b)(2)(i), 164.530(j)). Every sealed document
// gets a retention date when it is committed (Config.Retention after its
// creation; the store's clock is the service's). The purge job
// crypto-shreds each document past its date, unless it is under legal
// hold, with its call records, grants and queue entry, and marks its fax
// deleted; each deletion is audited. An admin can move a fax's date
// (PUT /v1/faxes/{id}/retention {"retain_until": …}) or end it now
// (force-expiry: {"expire_now": true}, shredded at once); a legal hold
// blocks both the purge and the force-expiry (409).

// purgeExpired runs one retention pass and returns the documents shredded.
func (s *Service) purgeExpired(ctx context.Context) ([]string, error) {
	ids, err := s.guard.Purge(ctx, router, "retention-job")
	for _, id := range ids {
		if ferr := s.forgetDoc(ctx, id); err == nil {
			err = ferr
		}
	}
	if err != nil || len(ids) > 0 {
		s.logger.Info("retention purge", "deleted", len(ids), "err", err)
	}
	return ids, err
}

// forgetDoc removes what the database knows of a shredded document: its
// call records (shredded too: the remote ident must not outlive the fax),
// and, in one transaction, the grants of both, a queued job, the
// per-user read state and the call traces, and the fax itself (marked
// deleted). An error leaves the database as it was (the sealed document
// is gone already: a later delete finishes the job, see deleteFax).
func (s *Service) forgetDoc(ctx context.Context, id string) error {
	s.policy.Forget(id)
	docs := []any{id}
	for _, r := range s.callRecords(ctx, id) {
		if err := s.store.Delete(ctx, r); err != nil && !errors.Is(err, phi.ErrNotFound) {
			s.logger.Error("call record not shredded", "err", err)
			continue
		}
		s.policy.Forget(r)
		docs = append(docs, r)
		s.audit(ctx, audit.Event{Principal: router.ID, Action: audit.ActionDelete, Document: r, Source: "retention-job", Outcome: audit.OutcomeSuccess,
			Detail: "call record of a shredded fax"})
	}
	now := s.now().UnixNano()
	err := s.db.tx(ctx, func(tx *Tx) error {
		for _, st := range []struct {
			q    string
			args []any
		}{
			{`DELETE FROM grants WHERE document IN (?` + strings.Repeat(", ?", len(docs)-1) + `)`, docs},
			{`UPDATE jobs SET state = 'done' WHERE fax_id = ? AND state = 'queued'`, []any{id}},
			{`DELETE FROM fax_reads WHERE fax_id = ?`, []any{id}},
			{`DELETE FROM attempt_traces WHERE fax_id = ?`, []any{id}},
			{`UPDATE faxes SET deleted = 1, updated = ? WHERE id = ?`, []any{now, id}},
		} {
			if _, err := tx.exec(ctx, st.q, st.args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		s.logger.Error("deleted fax not forgotten", "err", err)
	}
	return err
}

// callRecords lists the sealed call records (remote idents) of a fax's
// attempts: they share its retention and hold.
func (s *Service) callRecords(ctx context.Context, id string) []string {
	rows, err := s.db.query(ctx, `SELECT record_doc FROM attempts WHERE fax_id = ? AND record_doc <> ''`, id)
	if err != nil {
		return nil
	}
	defer rows.Close()
	var recs []string
	for rows.Next() {
		var r string
		if rows.Scan(&r) == nil {
			recs = append(recs, r)
		}
	}
	return recs
}

// purgeLoop runs the retention purge every interval until ctx ends.
func (s *Service) purgeLoop(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		s.purgeExpired(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// putRetention moves a fax's retention date, or ends it now (admin).
func (s *Service) putRetention(w http.ResponseWriter, r *http.Request, who phi.Principal, src string) {
	var req struct {
		RetainUntil *time.Time `json:"retain_until"`
		ExpireNow   bool       `json:"expire_now"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1024)).Decode(&req); err != nil || (req.RetainUntil == nil) == !req.ExpireNow {
		s.refuse(w, r, who, audit.ActionSetRetention, "", http.StatusBadRequest, "body must be JSON {retain_until: RFC 3339 time} or {expire_now: true}")
		return
	}
	st, ok := s.checkFax(w, r, who, src)
	if !ok {
		return
	}
	if st.Status == statusQueued || st.Status == statusSending {
		s.refuse(w, r, who, audit.ActionSetRetention, st.ID, http.StatusConflict, "cancel the fax before changing its retention")
		return
	}
	info, err := s.store.Stat(r.Context(), st.ID)
	if err != nil {
		phiError(w, err)
		return
	}
	if info.LegalHold {
		s.refuse(w, r, who, audit.ActionSetRetention, st.ID, http.StatusConflict, "the fax is under legal hold")
		return
	}
	until := s.now()
	if !req.ExpireNow {
		until = *req.RetainUntil
	}
	if err := s.guard.SetRetention(r.Context(), who, src, st.ID, until); err != nil {
		phiError(w, err)
		return
	}
	for _, rec := range s.callRecords(r.Context(), st.ID) {
		s.store.SetRetention(r.Context(), rec, until)
	}
	if req.ExpireNow {
		// Force-expiry: shred at once, audited as this admin's deletion.
		if err := s.guard.Delete(r.Context(), who, src, st.ID); err != nil {
			phiError(w, err)
			return
		}
		if err := s.forgetDoc(r.Context(), st.ID); err != nil {
			httpError(w, http.StatusInternalServerError, "internal error")
			return
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": st.ID, "retain_until": until.UTC()})
}
