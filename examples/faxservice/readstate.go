package main

import (
	"context"
	"net/http"
	"strings"

	"github.com/faxkit/faxkit/phi"
	"github.com/faxkit/faxkit/phi/audit"
)

// Per-user read state of received faxes ("mark as read"), kept in the
// database (table fax_reads, migration 0005) so that every instance and
// both the console and the API see the same state. It is the caller's
// own state: marking a fax read says nothing to other inbox users.
//
//	PUT    /v1/faxes/{id}/read   mark read (idempotent)
//	DELETE /v1/faxes/{id}/read   mark unread (idempotent)
//
// Both answer the fax's status with "read" set; list and status answers
// carry "read" on inbound faxes.

func (s *Service) putRead(w http.ResponseWriter, r *http.Request, who phi.Principal, src string) {
	s.setRead(w, r, who, src, true)
}

func (s *Service) deleteRead(w http.ResponseWriter, r *http.Request, who phi.Principal, src string) {
	s.setRead(w, r, who, src, false)
}

func (s *Service) setRead(w http.ResponseWriter, r *http.Request, who phi.Principal, src string, read bool) {
	st, ok := s.checkFax(w, r, who, src)
	if !ok {
		return
	}
	if err := s.markRead(r.Context(), who.ID, st.ID, read); err != nil {
		httpError(w, http.StatusInternalServerError, "internal error")
		return
	}
	detail := "marked unread"
	if read {
		detail = "marked read"
	}
	s.audit(r.Context(), audit.Event{Principal: who.ID, Action: audit.ActionReadMetadata, Document: st.ID, Source: src, Outcome: audit.OutcomeSuccess, Detail: detail})
	st.Read = &read
	writeJSON(w, http.StatusOK, st)
}

// markRead sets user's read state of fax.
func (s *Service) markRead(ctx context.Context, user, fax string, read bool) error {
	if !read {
		_, err := s.db.exec(ctx, `DELETE FROM fax_reads WHERE fax_id = ? AND user_id = ?`, fax, user)
		return err
	}
	// ON CONFLICT ... DO NOTHING: SQLite 3.24+ and PostgreSQL alike.
	_, err := s.db.exec(ctx, `INSERT INTO fax_reads (fax_id, user_id, read_at) VALUES (?, ?, ?) ON CONFLICT (fax_id, user_id) DO NOTHING`,
		fax, user, s.now().UnixNano())
	return err
}

// fillRead sets Read on the inbound faxes of fs for user, in one query.
func (s *Service) fillRead(ctx context.Context, user string, fs []FaxStatus) {
	var ids []any
	for _, f := range fs {
		if f.Direction == "inbound" {
			ids = append(ids, f.ID)
		}
	}
	if len(ids) == 0 {
		return
	}
	seen := map[string]bool{}
	got, err := s.db.queryStrings(ctx, `SELECT fax_id FROM fax_reads WHERE user_id = ? AND fax_id IN (?`+strings.Repeat(", ?", len(ids)-1)+`)`,
		append([]any{user}, ids...)...)
	if err == nil {
		for _, id := range got {
			seen[id] = true
		}
	}
	for i := range fs {
		if fs[i].Direction == "inbound" {
			read := seen[fs[i].ID]
			fs[i].Read = &read
		}
	}
}

// unreadCount counts the inbound faxes user may see and has not read.
func (s *Service) unreadCount(ctx context.Context, user string) (int, error) {
	var n int
	err := s.db.queryRow(ctx, `SELECT COUNT(*) FROM faxes f JOIN grants g ON g.document = f.id
		WHERE f.deleted = 0 AND f.direction = 'inbound' AND g.principal = ? AND (g.perms & ?) <> 0
		AND NOT EXISTS (SELECT 1 FROM fax_reads r WHERE r.fax_id = f.id AND r.user_id = ?)`,
		user, int64(phi.PermReadMetadata), user).Scan(&n)
	return n, err
}
