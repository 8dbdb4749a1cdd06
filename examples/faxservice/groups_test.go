package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit/phi/audit"
)

// TestInboundRoutingToGroups routes one DID to a group and leaves another
// unrouted: the first fax reaches every member of the group and no one
// else, the second the default route's user; bad routes and groups are
// refused.
func TestInboundRoutingToGroups(t *testing.T) {
	t.Parallel()
	const otherDID = "+15550200"
	e := newEnv(t, func(c *Config) {
		c.Inbound = append(c.Inbound, Inbound{Addr: "127.0.0.1:0", DID: otherDID})
	})
	e.svc.cfg.Peers = map[string]string{"+1555": e.addrs[0].String(), otherDID: e.addrs[1].String()}
	_, alice := e.user("alice", "sender")
	bobID, bob := e.user("bob", "inbox")
	carolID, carol := e.user("carol", "inbox")
	daveID, dave := e.user("dave", "inbox")

	var g Group
	require.Equal(t, http.StatusBadRequest, e.json("POST", "/v1/groups", e.admin, map[string]any{"name": "ward-3", "members": []string{bobID, "u_nobody"}}, nil))
	require.Equal(t, http.StatusBadRequest, e.json("POST", "/v1/groups", e.admin, map[string]any{"name": "../ward", "members": []string{bobID}}, nil))
	require.Equal(t, http.StatusForbidden, e.json("POST", "/v1/groups", alice, map[string]any{"name": "ward-3", "members": []string{bobID}}, nil))
	require.Equal(t, http.StatusCreated, e.json("POST", "/v1/groups", e.admin, map[string]any{"name": "ward-3", "members": []string{bobID}}, &g))
	require.Equal(t, http.StatusConflict, e.json("POST", "/v1/groups", e.admin, map[string]any{"name": "ward-3"}, nil))
	require.Equal(t, http.StatusBadRequest, e.json("PUT", "/v1/groups/"+g.ID+"/members", e.admin, map[string]any{"members": []string{g.ID}}, nil), "no nested groups")
	require.Equal(t, http.StatusOK, e.json("PUT", "/v1/groups/"+g.ID+"/members", e.admin, map[string]any{"members": []string{bobID, carolID}}, &g))
	require.ElementsMatch(t, []string{bobID, carolID}, g.Members)
	require.Equal(t, http.StatusNotFound, e.json("PUT", "/v1/groups/g_0000/members", e.admin, map[string]any{"members": []string{}}, nil))

	require.Equal(t, http.StatusBadRequest, e.json("PUT", "/v1/routes/"+testDID, e.admin, map[string]any{"targets": []string{"g_unknown"}}, nil))
	require.Equal(t, http.StatusOK, e.json("PUT", "/v1/routes/"+testDID, e.admin, map[string]any{"targets": []string{g.ID}}, nil))
	require.Equal(t, http.StatusOK, e.json("PUT", "/v1/routes/default", e.admin, map[string]any{"targets": []string{daveID}}, nil))
	require.Equal(t, http.StatusConflict, e.json("DELETE", "/v1/groups/"+g.ID, e.admin, nil, nil), "a route names it")

	doc, pages := letterTIFF(t, 1)
	for _, to := range []string{testDID, otherDID} {
		code, st, body := e.send(alice, nil, part{name: "to", data: []byte(to)}, part{name: "file", file: "a.tif", data: doc})
		require.Equal(t, http.StatusAccepted, code, "%s", body)
		st = e.wait(alice, st.ID, func(s FaxStatus) bool { return s.Status == statusDelivered || s.Status == statusFailed })
		require.Equal(t, statusDelivered, st.Status)
	}
	inbox := func(tok string, want int) []FaxStatus {
		var l struct{ Faxes []FaxStatus }
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			require.Equal(t, http.StatusOK, e.json("GET", "/v1/faxes?direction=inbound", tok, nil, &l))
			if len(l.Faxes) >= want {
				return l.Faxes
			}
			require.True(t, time.Now().Before(deadline), "inbox has %d faxes, want %d", len(l.Faxes), want)
		}
	}
	// Wait until each inbox has its fax, then look again a moment later:
	// a fax routed twice would show up as a second entry.
	inbox(bob, 1)
	inbox(carol, 1)
	inbox(dave, 1)
	time.Sleep(200 * time.Millisecond)
	b, c, d := inbox(bob, 1), inbox(carol, 1), inbox(dave, 1)
	require.Len(t, b, 1)
	require.Len(t, c, 1)
	require.Len(t, d, 1)
	require.Equal(t, b[0].ID, c[0].ID, "both members got the DID's fax")
	require.NotEqual(t, b[0].ID, d[0].ID, "the unrouted DID's fax went to the default route")
	for _, tok := range []string{bob, carol} {
		code, got, _ := e.do("GET", "/v1/faxes/"+b[0].ID+"/content", tok, nil, nil)
		require.Equal(t, http.StatusOK, code)
		require.True(t, pages[0].Equal(tiffPages(t, got)[0]))
		require.Equal(t, http.StatusNotFound, e.json("GET", "/v1/faxes/"+d[0].ID, tok, nil, nil), "a group member does not see the default route's fax")
	}
	require.Equal(t, http.StatusNotFound, e.json("GET", "/v1/faxes/"+b[0].ID, dave, nil, nil))
	var md struct{ DID string }
	require.Equal(t, http.StatusOK, e.json("GET", "/v1/faxes/"+d[0].ID+"/metadata", dave, nil, &md))
	require.Equal(t, otherDID, md.DID)

	// The route changed to no one: deleting the group is then allowed.
	require.Equal(t, http.StatusOK, e.json("PUT", "/v1/routes/"+testDID, e.admin, map[string]any{"targets": []string{daveID}}, nil))
	require.Equal(t, http.StatusNoContent, e.json("DELETE", "/v1/groups/"+g.ID, e.admin, nil, nil))
	require.Equal(t, http.StatusNotFound, e.json("DELETE", "/v1/groups/"+g.ID, e.admin, nil, nil))
}

// TestGroupInboxFollowsMembership checks that a group is a shared inbox
// whose access follows membership: a user who joins sees the faxes the
// group received before, a user who leaves loses them (except those the
// DID's route names them for directly), each grant and revocation
// audited; deleting the group removes every member's group access.
func TestGroupInboxFollowsMembership(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	_, alice := e.user("alice", "sender")
	bobID, bob := e.user("bob", "inbox")
	carolID, carol := e.user("carol", "inbox")
	daveID, dave := e.user("dave", "inbox")
	var g Group
	require.Equal(t, http.StatusCreated, e.json("POST", "/v1/groups", e.admin, map[string]any{"name": "ward-5", "members": []string{bobID}}, &g))
	require.Equal(t, http.StatusOK, e.json("PUT", "/v1/routes/"+testDID, e.admin, map[string]any{"targets": []string{g.ID}}, nil))

	doc, pages := letterTIFF(t, 1)
	// receive sends a fax to the group's DID and returns its inbound ID,
	// as the first member (bob) sees it.
	seen := map[string]bool{}
	receive := func() string {
		code, st, body := e.send(alice, nil, part{name: "to", data: []byte(testDID)}, part{name: "file", file: "a.tif", data: doc})
		require.Equal(t, http.StatusAccepted, code, "%s", body)
		st = e.wait(alice, st.ID, func(s FaxStatus) bool { return s.Status == statusDelivered || s.Status == statusFailed })
		require.Equal(t, statusDelivered, st.Status)
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			var l struct{ Faxes []FaxStatus }
			require.Equal(t, http.StatusOK, e.json("GET", "/v1/faxes?direction=inbound", bob, nil, &l))
			for _, f := range l.Faxes {
				if !seen[f.ID] {
					seen[f.ID] = true
					return f.ID
				}
			}
			require.True(t, time.Now().Before(deadline), "inbound fax not routed")
		}
	}
	inbox := func(tok string) []string {
		var l struct{ Faxes []FaxStatus }
		require.Equal(t, http.StatusOK, e.json("GET", "/v1/faxes?direction=inbound", tok, nil, &l))
		var ids []string
		for _, f := range l.Faxes {
			ids = append(ids, f.ID)
		}
		return ids
	}
	canRead := func(tok, id string) bool {
		code, got, _ := e.do("GET", "/v1/faxes/"+id+"/content", tok, nil, nil)
		if code != http.StatusOK {
			require.Equal(t, http.StatusNotFound, code)
			return false
		}
		require.True(t, pages[0].Equal(tiffPages(t, got)[0]))
		return true
	}

	first := receive()
	require.Empty(t, inbox(carol))
	require.False(t, canRead(carol, first))

	// Carol and dave join: they see the fax received before they joined.
	require.Equal(t, http.StatusOK, e.json("PUT", "/v1/groups/"+g.ID+"/members", e.admin, map[string]any{"members": []string{bobID, carolID, daveID}}, nil))
	require.Equal(t, []string{first}, inbox(carol))
	require.True(t, canRead(carol, first))
	require.True(t, canRead(dave, first))

	// The route also names dave directly; a second fax reaches all three.
	require.Equal(t, http.StatusOK, e.json("PUT", "/v1/routes/"+testDID, e.admin, map[string]any{"targets": []string{g.ID, daveID}}, nil))
	second := receive()
	require.ElementsMatch(t, []string{first, second}, inbox(carol))

	// Carol and dave leave: carol loses both; dave keeps both, as the
	// DID's route now names him directly; bob keeps both.
	require.Equal(t, http.StatusOK, e.json("PUT", "/v1/groups/"+g.ID+"/members", e.admin, map[string]any{"members": []string{bobID}}, nil))
	require.Empty(t, inbox(carol))
	require.False(t, canRead(carol, first))
	require.False(t, canRead(carol, second))
	require.Equal(t, http.StatusNotFound, e.json("GET", "/v1/faxes/"+second, carol, nil, nil))
	require.True(t, canRead(dave, first))
	require.True(t, canRead(dave, second))
	require.ElementsMatch(t, []string{first, second}, inbox(bob))

	// Deleting the group (once no route names it) ends bob's group access.
	require.Equal(t, http.StatusOK, e.json("PUT", "/v1/routes/"+testDID, e.admin, map[string]any{"targets": []string{daveID}}, nil))
	require.Equal(t, http.StatusNoContent, e.json("DELETE", "/v1/groups/"+g.ID, e.admin, nil, nil))
	require.Empty(t, inbox(bob))
	require.False(t, canRead(bob, first))
	require.True(t, canRead(dave, second))

	// Every grant and revocation is in the audit log.
	ak, err := audit.OpenKeyFile(e.svc.cfg.AuditKeyFile)
	require.NoError(t, err)
	require.NoError(t, e.svc.log.Sync())
	var exp bytes.Buffer
	_, err = audit.Export(filepath.Join(e.svc.cfg.Dir, "audit-test"), ak, &exp, time.Time{}, time.Time{})
	require.NoError(t, err)
	type rec struct{ Document, Detail string }
	has := func(doc, detail string) bool {
		for _, line := range strings.Split(strings.TrimSpace(exp.String()), "\n") {
			var r rec
			require.NoError(t, json.Unmarshal([]byte(line), &r))
			if r.Document == doc && strings.Contains(r.Detail, detail) {
				return true
			}
		}
		return false
	}
	q := func(id string) string { return fmt.Sprintf("%q", id) }
	for _, c := range []struct {
		doc, detail string
		want        bool
	}{
		{first, "to principal " + q(carolID), true},
		{first, "to principal " + q(daveID), true},
		{first, "to principal " + q(g.ID), true},
		{first, "revoked all from principal " + q(carolID) + " (left group " + g.ID, true},
		{second, "revoked all from principal " + q(carolID) + " (left group " + g.ID, true},
		{first, "revoked all from principal " + q(daveID), false},
		{second, "revoked all from principal " + q(daveID), false},
		{first, "revoked all from principal " + q(bobID) + " (left group " + g.ID, true},
		{"", "principal " + q(carolID) + " joined group " + g.ID + ": granted its 1 faxes", true},
		{"", "principal " + q(carolID) + " left group " + g.ID + ": revoked 2 of its 2 faxes", true},
		{"", "principal " + q(daveID) + " left group " + g.ID + ": revoked 0 of its 2 faxes", true},
	} {
		require.Equal(t, c.want, has(c.doc, c.detail), "audit record %q on %q", c.detail, c.doc)
	}
}
