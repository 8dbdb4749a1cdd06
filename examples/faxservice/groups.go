package main

import (
	"context"
	"encoding/json"
	"errors"
	"github.com/faxkit/faxkit/phi"
	"github.com/faxkit/faxkit/phi/audit"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Groups and inbound routing. A route maps a dialled number (DID, E.164)
// or "default" to targets: user IDs (u_…) and group IDs (g_…). A fax
// received for a DID goes to the DID's route, or to the default route
// when the DID has none; a group target is expanded to its members when
// the fax arrives, and each of them is granted the fax (content,
// metadata, delete). Someone who joins a group later sees the faxes that
// arrive from then on, not earlier ones; removing a member does not
// revoke grants already made (delete them with the fax, or by
// retention). A route naming no one who exists any more (all targets
// deleted) falls back to the default route, and a fax with no route at
// all is kept by the service's gateway principal for an admin to
// re-route.

// Group is a named set of users, usable as an inbound route target.
type Group struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Members []string  `json:"members"`
	Created time.Time `json:"created"`
}

func isGroupID(s string) bool { return strings.HasPrefix(s, "g_") }

// routeFor returns the users a fax to did goes to, expanded from the
// DID's route, or the default route.
func (s *Service) routeFor(ctx context.Context, did string) ([]string, error) {
	for _, key := range []string{did, "default"} {
		var t string
		err := s.db.queryRow(ctx, `SELECT targets FROM routes WHERE did = ?`, key).Scan(&t)
		if isNoRows(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		users, err := s.expandTargets(ctx, strings.Split(t, ","))
		if err != nil {
			return nil, err
		}
		if len(users) > 0 {
			return users, nil
		}
	}
	return nil, errNoRoute
}

var errNoRoute = errors.New("no route for the dialled number and no default route")

// expandTargets turns user and group IDs into the distinct enabled users
// they name, in order.
func (s *Service) expandTargets(ctx context.Context, targets []string) ([]string, error) {
	var out []string
	add := func(u string) {
		if !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	for _, t := range targets {
		if isGroupID(t) {
			rows, err := s.db.query(ctx, `SELECT m.user_id FROM group_members m JOIN users u ON u.id = m.user_id WHERE m.group_id = ? AND u.disabled = 0 ORDER BY m.user_id`, t)
			if err != nil {
				return nil, err
			}
			for rows.Next() {
				var u string
				if rows.Scan(&u) == nil {
					add(u)
				}
			}
			rows.Close()
			continue
		}
		var n int
		if err := s.db.queryRow(ctx, `SELECT COUNT(*) FROM users WHERE id = ? AND disabled = 0`, t).Scan(&n); err != nil {
			return nil, err
		}
		if n > 0 {
			add(t)
		}
	}
	return out, nil
}

// checkTargets reports whether every target is an existing user or group.
func (s *Service) checkTargets(ctx context.Context, targets []string) bool {
	for _, t := range targets {
		q := `SELECT COUNT(*) FROM users WHERE id = ?`
		if isGroupID(t) {
			q = `SELECT COUNT(*) FROM groups WHERE id = ?`
		}
		var n int
		if s.db.queryRow(ctx, q, t).Scan(&n) != nil || n == 0 {
			return false
		}
	}
	return true
}

func (s *Service) group(ctx context.Context, id string) (Group, error) {
	var g Group
	var c int64
	if err := s.db.queryRow(ctx, `SELECT id, name, created FROM groups WHERE id = ?`, id).Scan(&g.ID, &g.Name, &c); err != nil {
		return g, err
	}
	g.Created = time.Unix(0, c).UTC()
	g.Members = []string{}
	rows, err := s.db.query(ctx, `SELECT user_id FROM group_members WHERE group_id = ? ORDER BY user_id`, id)
	if err != nil {
		return g, err
	}
	defer rows.Close()
	for rows.Next() {
		var u string
		if rows.Scan(&u) == nil {
			g.Members = append(g.Members, u)
		}
	}
	return g, rows.Err()
}

// setMembers replaces a group's members; every member must be a user.
func (s *Service) setMembers(ctx context.Context, tx *Tx, id string, members []string) error {
	if _, err := tx.exec(ctx, `DELETE FROM group_members WHERE group_id = ?`, id); err != nil {
		return err
	}
	for _, m := range members {
		if isGroupID(m) {
			return errBadMember
		}
		var n int
		if err := tx.queryRow(ctx, `SELECT COUNT(*) FROM users WHERE id = ?`, m).Scan(&n); err != nil || n == 0 {
			return errBadMember
		}
		if _, err := tx.exec(ctx, `INSERT INTO group_members (group_id, user_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, id, m); err != nil {
			return err
		}
	}
	return nil
}

var errBadMember = errors.New("members must be existing user IDs")

type groupRequest struct {
	Name    string   `json:"name"`
	Members []string `json:"members"`
}

func (s *Service) postGroup(w http.ResponseWriter, r *http.Request, who phi.Principal, src string) {
	var req groupRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16384)).Decode(&req); err != nil || !validName(req.Name) {
		s.refuse(w, r, who, audit.ActionGrant, "", http.StatusBadRequest, "body must be JSON {name (letters, digits, . - _), members: [user IDs]}")
		return
	}
	id, now := "g_"+randomHex(8), s.now().UnixNano()
	err := s.db.tx(r.Context(), func(tx *Tx) error {
		var n int
		tx.queryRow(r.Context(), `SELECT COUNT(*) FROM groups WHERE name = ?`, req.Name).Scan(&n)
		if n > 0 {
			return errConflict
		}
		if _, err := tx.exec(r.Context(), `INSERT INTO groups (id, name, created) VALUES (?, ?, ?)`, id, req.Name, now); err != nil {
			return err
		}
		return s.setMembers(r.Context(), tx, id, req.Members)
	})
	if s.groupError(w, r, who, err) {
		return
	}
	s.audit(r.Context(), audit.Event{Principal: who.ID, Action: audit.ActionGrant, Source: src, Outcome: audit.OutcomeSuccess,
		Detail: "created group " + id + " members " + strings.Join(req.Members, ",")})
	g, _ := s.group(r.Context(), id)
	writeJSON(w, http.StatusCreated, g)
}

func (s *Service) groupError(w http.ResponseWriter, r *http.Request, who phi.Principal, err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, errConflict):
		s.refuse(w, r, who, audit.ActionGrant, "", http.StatusConflict, "a group with that name exists")
	case errors.Is(err, errBadMember):
		s.refuse(w, r, who, audit.ActionGrant, "", http.StatusBadRequest, errBadMember.Error())
	case isNoRows(err):
		s.refuse(w, r, who, audit.ActionGrant, "", http.StatusNotFound, "no such group")
	default:
		httpError(w, http.StatusInternalServerError, "internal error")
	}
	return true
}

func (s *Service) listGroups(w http.ResponseWriter, r *http.Request, who phi.Principal, src string) {
	rows, err := s.db.query(r.Context(), `SELECT id FROM groups ORDER BY name`)
	if err != nil {
		httpError(w, http.StatusInternalServerError, "internal error")
		return
	}
	var ids []string
	for rows.Next() {
		var id string
		if rows.Scan(&id) == nil {
			ids = append(ids, id)
		}
	}
	rows.Close()
	out := []Group{}
	for _, id := range ids {
		if g, err := s.group(r.Context(), id); err == nil {
			out = append(out, g)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"groups": out})
}

// putGroupMembers replaces a group's members.
func (s *Service) putGroupMembers(w http.ResponseWriter, r *http.Request, who phi.Principal, src string) {
	var req groupRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16384)).Decode(&req); err != nil {
		s.refuse(w, r, who, audit.ActionGrant, "", http.StatusBadRequest, "body must be JSON {members: [user IDs]}")
		return
	}
	id := r.PathValue("id")
	err := s.db.tx(r.Context(), func(tx *Tx) error {
		var x string
		if err := tx.queryRow(r.Context(), `SELECT id FROM groups WHERE id = ?`, id).Scan(&x); err != nil {
			return err
		}
		return s.setMembers(r.Context(), tx, id, req.Members)
	})
	if s.groupError(w, r, who, err) {
		return
	}
	s.audit(r.Context(), audit.Event{Principal: who.ID, Action: audit.ActionGrant, Source: src, Outcome: audit.OutcomeSuccess,
		Detail: "group " + id + " members " + strings.Join(req.Members, ",")})
	g, _ := s.group(r.Context(), id)
	writeJSON(w, http.StatusOK, g)
}

// deleteGroup deletes a group that no route names (409 otherwise).
func (s *Service) deleteGroup(w http.ResponseWriter, r *http.Request, who phi.Principal, src string) {
	id := r.PathValue("id")
	var used int
	s.db.queryRow(r.Context(), `SELECT COUNT(*) FROM routes WHERE ',' || targets || ',' LIKE ?`, "%,"+id+",%").Scan(&used)
	if used > 0 {
		s.refuse(w, r, who, audit.ActionGrant, "", http.StatusConflict, "a route names the group; change the route first")
		return
	}
	err := s.db.tx(r.Context(), func(tx *Tx) error {
		tx.exec(r.Context(), `DELETE FROM group_members WHERE group_id = ?`, id)
		res, err := tx.exec(r.Context(), `DELETE FROM groups WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errNotFoundGroup
		}
		return nil
	})
	if errors.Is(err, errNotFoundGroup) {
		s.refuse(w, r, who, audit.ActionGrant, "", http.StatusNotFound, "no such group")
		return
	}
	if s.groupError(w, r, who, err) {
		return
	}
	s.audit(r.Context(), audit.Event{Principal: who.ID, Action: audit.ActionGrant, Source: src, Outcome: audit.OutcomeSuccess, Detail: "deleted group " + id})
	w.WriteHeader(http.StatusNoContent)
}

var errNotFoundGroup = errors.New("no such group")
