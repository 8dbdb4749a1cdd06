package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/faxkit/faxkit/phi"
	"github.com/faxkit/faxkit/phi/audit"
)

// Groups and inbound routing. A route maps a dialled number (DID, E.164)
// or "default" to targets: user IDs (u_…) and group IDs (g_…). A fax
// received for a DID goes to the DID's route, or to the default route
// when the DID has none. A route naming no one who exists any more (all
// targets deleted, or groups without members) falls back to the default
// route, and a fax with no route at all is kept by the service's gateway
// principal for an admin to re-route.
//
// A group is a shared inbox, as a clinic expects of a ward's or a
// practice's fax line: access follows membership. A fax routed to a
// group is granted to the group itself (a grant whose principal is the
// group ID, audited like any grant) and to each of its members. A user
// who joins the group is granted every fax the group holds (one audited
// grant per fax, and a record naming the admin who changed the group); a
// user who leaves loses them (one audited revocation per fax), except the
// faxes they hold another way: sent by them, named to them directly by
// the DID's current route, or held by another group of theirs. Deleting
// a group removes every member that way and drops the group's grants.

// Group is a named set of users, usable as an inbound route target.
type Group struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Members []string  `json:"members"`
	Created time.Time `json:"created"`
}

func isGroupID(s string) bool { return strings.HasPrefix(s, "g_") }

// routeFor returns the principals a fax to did goes to, from the DID's
// route or the default route: the distinct enabled users it names
// (group members expanded) first, then the groups it names, which hold
// the fax as a shared inbox. A route is used only when it reaches at
// least one user.
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
		targets := strings.Split(t, ",")
		users, err := s.expandTargets(ctx, targets)
		if err != nil {
			return nil, err
		}
		if len(users) == 0 {
			continue
		}
		for _, g := range targets {
			if isGroupID(g) && !slices.Contains(users, g) && s.checkTargets(ctx, []string{g}) {
				users = append(users, g)
			}
		}
		return users, nil
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
// It returns the users who joined and those who left.
func (s *Service) setMembers(ctx context.Context, tx *Tx, id string, members []string) (joined, left []string, err error) {
	var old []string
	rows, err := tx.query(ctx, `SELECT user_id FROM group_members WHERE group_id = ?`, id)
	if err != nil {
		return nil, nil, err
	}
	for rows.Next() {
		var u string
		if rows.Scan(&u) == nil {
			old = append(old, u)
		}
	}
	rows.Close()
	if _, err := tx.exec(ctx, `DELETE FROM group_members WHERE group_id = ?`, id); err != nil {
		return nil, nil, err
	}
	for _, m := range members {
		if isGroupID(m) {
			return nil, nil, errBadMember
		}
		var n int
		if err := tx.queryRow(ctx, `SELECT COUNT(*) FROM users WHERE id = ?`, m).Scan(&n); err != nil || n == 0 {
			return nil, nil, errBadMember
		}
		if _, err := tx.exec(ctx, `INSERT INTO group_members (group_id, user_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, id, m); err != nil {
			return nil, nil, err
		}
		if !slices.Contains(old, m) && !slices.Contains(joined, m) {
			joined = append(joined, m)
		}
	}
	for _, u := range old {
		if !slices.Contains(members, u) {
			left = append(left, u)
		}
	}
	return joined, left, nil
}

// groupDocs lists the faxes a group holds (its grants) with their
// permissions.
func (s *Service) groupDocs(ctx context.Context, group string) (map[string]phi.Permission, error) {
	rows, err := s.db.query(ctx, `SELECT document, perms FROM grants WHERE principal = ?`, group)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]phi.Permission{}
	for rows.Next() {
		var doc string
		var p int64
		if err := rows.Scan(&doc, &p); err != nil {
			return nil, err
		}
		out[doc] = phi.Permission(p)
	}
	return out, rows.Err()
}

// syncGroupAccess makes access follow a membership change: each user who
// joined is granted the group's faxes, each who left loses those not held
// another way. Every grant and revocation is audited, with a record per
// user naming the admin who changed the group.
func (s *Service) syncGroupAccess(ctx context.Context, who phi.Principal, src, group string, joined, left []string) error {
	ctx = context.WithoutCancel(ctx) // a change half applied is worse than a slow one
	docs, err := s.groupDocs(ctx, group)
	if err != nil {
		return err
	}
	ids := slices.Sorted(maps.Keys(docs))
	var errs []error
	for _, u := range joined {
		n := 0
		for _, d := range ids {
			if err := s.grant(ctx, src, d, u, docs[d]); err != nil {
				if errors.Is(err, phi.ErrNotFound) {
					continue // shredded meanwhile
				}
				errs = append(errs, err)
				continue
			}
			n++
		}
		s.audit(ctx, audit.Event{Principal: who.ID, Action: audit.ActionGrant, Source: src, Outcome: outcome(errors.Join(errs...)),
			Detail: fmt.Sprintf("principal %q joined group %s: granted its %d faxes", u, group, n)})
	}
	for _, u := range left {
		n := 0
		for _, d := range ids {
			keep, err := s.keepsAccess(ctx, u, d, group)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if keep {
				continue
			}
			_, err = s.db.exec(ctx, `DELETE FROM grants WHERE document = ? AND principal = ?`, d, u)
			if err == nil {
				s.policy.Revoke(d, u, ^phi.Permission(0))
				n++
			}
			errs = append(errs, err)
			s.audit(ctx, audit.Event{Principal: router.ID, Action: audit.ActionGrant, Document: d, Source: src, Outcome: outcome(err),
				Detail: fmt.Sprintf("revoked all from principal %q (left group %s)", u, group)})
		}
		s.audit(ctx, audit.Event{Principal: who.ID, Action: audit.ActionGrant, Source: src, Outcome: outcome(errors.Join(errs...)),
			Detail: fmt.Sprintf("principal %q left group %s: revoked %d of its %d faxes", u, group, n, len(ids))})
	}
	return errors.Join(errs...)
}

// keepsAccess reports whether user u holds doc other than through group:
// u sent it, the DID's current route names u directly, or another group
// of u's holds it.
func (s *Service) keepsAccess(ctx context.Context, u, doc, group string) (bool, error) {
	var owner, dir, did string
	err := s.db.queryRow(ctx, `SELECT owner, direction, did FROM faxes WHERE id = ?`, doc).Scan(&owner, &dir, &did)
	if isNoRows(err) {
		return false, nil // a call record or a document without a fax: group access only
	}
	if err != nil {
		return false, err
	}
	if dir == "outbound" && owner == u {
		return true, nil
	}
	var n int
	if err := s.db.queryRow(ctx, `SELECT COUNT(*) FROM grants g JOIN group_members m ON m.group_id = g.principal
		WHERE g.document = ? AND m.user_id = ? AND g.principal <> ?`, doc, u, group).Scan(&n); err != nil {
		return false, err
	}
	if n > 0 {
		return true, nil
	}
	if dir != "inbound" {
		return false, nil
	}
	for _, key := range []string{did, "default"} {
		var t string
		err := s.db.queryRow(ctx, `SELECT targets FROM routes WHERE did = ?`, key).Scan(&t)
		if isNoRows(err) {
			continue
		}
		if err != nil {
			return false, err
		}
		return slices.Contains(strings.Split(t, ","), u), nil
	}
	return false, nil
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
		_, _, err := s.setMembers(r.Context(), tx, id, req.Members)
		return err
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
	ids, err := s.db.queryStrings(r.Context(), `SELECT id FROM groups ORDER BY name`)
	if err != nil {
		httpError(w, http.StatusInternalServerError, "internal error")
		return
	}
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
	var joined, left []string
	err := s.db.tx(r.Context(), func(tx *Tx) error {
		var x string
		if err := tx.queryRow(r.Context(), `SELECT id FROM groups WHERE id = ?`, id).Scan(&x); err != nil {
			return err
		}
		var err error
		joined, left, err = s.setMembers(r.Context(), tx, id, req.Members)
		return err
	})
	if s.groupError(w, r, who, err) {
		return
	}
	s.audit(r.Context(), audit.Event{Principal: who.ID, Action: audit.ActionGrant, Source: src, Outcome: audit.OutcomeSuccess,
		Detail: "group " + id + " members " + strings.Join(req.Members, ",")})
	if err := s.syncGroupAccess(r.Context(), who, src, id, joined, left); err != nil {
		s.logger.Error("group access not fully applied", "err", err)
		httpError(w, http.StatusInternalServerError, "internal error: the members changed but access was not fully updated; repeat the request")
		return
	}
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
	var left []string
	err := s.db.tx(r.Context(), func(tx *Tx) error {
		var x string
		if err := tx.queryRow(r.Context(), `SELECT id FROM groups WHERE id = ?`, id).Scan(&x); err != nil {
			if isNoRows(err) {
				return errNotFoundGroup
			}
			return err
		}
		var err error
		_, left, err = s.setMembers(r.Context(), tx, id, nil)
		return err
	})
	if errors.Is(err, errNotFoundGroup) {
		s.refuse(w, r, who, audit.ActionGrant, "", http.StatusNotFound, "no such group")
		return
	}
	if s.groupError(w, r, who, err) {
		return
	}
	// The members leave first (their access follows), then the group's
	// own grants and the group go.
	err = s.syncGroupAccess(r.Context(), who, src, id, nil, left)
	if err == nil {
		var docs map[string]phi.Permission
		if docs, err = s.groupDocs(r.Context(), id); err == nil {
			for d := range docs {
				s.policy.Revoke(d, id, ^phi.Permission(0))
			}
			_, err = s.db.exec(r.Context(), `DELETE FROM grants WHERE principal = ?`, id)
		}
	}
	if err == nil {
		_, err = s.db.exec(r.Context(), `DELETE FROM groups WHERE id = ?`, id)
	}
	if err != nil {
		s.logger.Error("group not deleted", "err", err)
		httpError(w, http.StatusInternalServerError, "internal error")
		return
	}
	s.audit(r.Context(), audit.Event{Principal: who.ID, Action: audit.ActionGrant, Source: src, Outcome: audit.OutcomeSuccess, Detail: "deleted group " + id})
	w.WriteHeader(http.StatusNoContent)
}

var errNotFoundGroup = errors.New("no such group")
