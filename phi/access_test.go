package phi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"github.com/faxkit/faxkit/internal/clock"
	"github.com/faxkit/faxkit/phi/audit"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type guardFixture struct {
	g     *Guard
	store *Store
	pol   *Policy
	dir   string
	keys  audit.Keys
	log   *audit.Log
	clock *clock.Fake
}

func newGuardFixture(t *testing.T) *guardFixture {
	clk := newFakeClock()
	dir := t.TempDir()
	keys := testAuditKeys(t)
	log, err := audit.Open(audit.Config{Dir: dir, Keys: keys, Clock: clk, CheckpointEvery: 5})
	require.NoError(t, err)
	t.Cleanup(func() { log.Close() })
	s, err := OpenStore(context.Background(), StoreConfig{Dir: t.TempDir(), Keys: newMemKeys(t, "k1"), Segment: Segment4KB, Clock: clk})
	require.NoError(t, err)
	pol := NewPolicy(log, clk)
	return &guardFixture{g: NewGuard(s, pol), store: s, pol: pol, dir: dir, keys: keys, log: log, clock: clk}
}

func (f *guardFixture) events(t *testing.T) []audit.Event {
	require.NoError(t, f.log.Sync())
	var buf bytes.Buffer
	_, err := audit.Export(f.dir, f.keys, &buf, time.Time{}, time.Time{})
	require.NoError(t, err)
	var evs []audit.Event
	for dec := json.NewDecoder(&buf); dec.More(); {
		var e audit.Event
		require.NoError(t, dec.Decode(&e))
		evs = append(evs, e)
	}
	return evs
}

var (
	alice   = Principal{ID: "alice", Roles: []Role{RoleSender}}
	bob     = Principal{ID: "bob", Roles: []Role{RoleReceiver}}
	admin   = Principal{ID: "root", Roles: []Role{RoleAdmin}}
	auditor = Principal{ID: "audit", Roles: []Role{RoleAuditor}}
	nobody  = Principal{ID: "mallory"}
)

func TestAccessDefaultDenyAndEveryDecisionAudited(t *testing.T) {
	ctx := context.Background()
	f := newGuardFixture(t)
	g := f.g
	info, err := g.Put(ctx, alice, "10.0.0.1", testMeta, strings.NewReader("page"))
	require.NoError(t, err)

	// A principal with no roles can do nothing.
	_, err = g.Put(ctx, nobody, "10.0.0.9", testMeta, strings.NewReader("x"))
	require.ErrorIs(t, err, ErrDenied)

	cases := []struct {
		name string
		who  Principal
		op   func(Principal) error
		ok   bool
	}{
		{"creator reads content", alice, func(p Principal) error { d, err := g.Open(ctx, p, "s", info.ID); closeDoc(d); return err }, true},
		{"creator reads metadata", alice, func(p Principal) error { _, err := g.Metadata(ctx, p, "s", info.ID); return err }, true},
		{"other receiver denied content", bob, func(p Principal) error { d, err := g.Open(ctx, p, "s", info.ID); closeDoc(d); return err }, false},
		{"other receiver denied metadata", bob, func(p Principal) error { _, err := g.Metadata(ctx, p, "s", info.ID); return err }, false},
		{"admin reads metadata", admin, func(p Principal) error { _, err := g.Metadata(ctx, p, "s", info.ID); return err }, true},
		{"admin denied content without grant", admin, func(p Principal) error { d, err := g.Open(ctx, p, "s", info.ID); closeDoc(d); return err }, false},
		{"auditor denied content", auditor, func(p Principal) error { d, err := g.Open(ctx, p, "s", info.ID); closeDoc(d); return err }, false},
		{"auditor denied metadata", auditor, func(p Principal) error { _, err := g.Metadata(ctx, p, "s", info.ID); return err }, false},
		{"auditor lists", auditor, func(p Principal) error { _, err := g.List(ctx, p, "s"); return err }, true},
		{"sender cannot purge", alice, func(p Principal) error { _, err := g.Purge(ctx, p, "s"); return err }, false},
		{"sender cannot rotate keys", alice, func(p Principal) error { _, _, err := g.RotateKeys(ctx, p, "s"); return err }, false},
		{"receiver cannot set legal hold", bob, func(p Principal) error { return g.SetLegalHold(ctx, p, "s", info.ID, true) }, false},
		{"sender cannot grant", alice, func(p Principal) error { return g.GrantAccess(ctx, p, "s", info.ID, "bob", PermReadContent) }, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := len(f.events(t))
			err := c.op(c.who)
			if c.ok {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, ErrDenied)
				var de *DeniedError
				require.True(t, errors.As(err, &de))
			}
			evs := f.events(t)[before:]
			require.NotEmpty(t, evs, "decision not audited")
			require.Equal(t, c.who.ID, evs[0].Principal)
			if c.ok {
				require.Equal(t, audit.OutcomeSuccess, evs[0].Outcome)
			} else {
				require.Equal(t, audit.OutcomeDenied, evs[0].Outcome, "denied access must be audited as denied")
				require.Len(t, evs, 1, "a denied request must not run")
			}
		})
	}

	// Admin grants bob read access; bob can now read.
	require.NoError(t, g.GrantAccess(ctx, admin, "s", info.ID, "bob", PermReadContent))
	d, err := g.Open(ctx, bob, "s", info.ID)
	require.NoError(t, err)
	b, err := io.ReadAll(d)
	require.NoError(t, err)
	require.Equal(t, "page", string(b))
	d.Close()
	// A grant never exceeds what the role allows per document: an auditor
	// granted content still cannot read it.
	require.NoError(t, g.GrantAccess(ctx, admin, "s", info.ID, "audit", PermReadContent))
	_, err = g.Open(ctx, auditor, "s", info.ID)
	require.ErrorIs(t, err, ErrDenied)
}

func closeDoc(d *DocumentReader) {
	if d != nil {
		d.Close()
	}
}

func TestAccessFailureAfterAllowIsAudited(t *testing.T) {
	ctx := context.Background()
	f := newGuardFixture(t)
	info, err := f.g.Put(ctx, alice, "s", testMeta, strings.NewReader("p"))
	require.NoError(t, err)
	require.NoError(t, f.store.Delete(ctx, info.ID)) // behind the guard's back
	_, err = f.g.Open(ctx, alice, "s", info.ID)
	require.ErrorIs(t, err, ErrNotFound)
	evs := f.events(t)
	last := evs[len(evs)-1]
	require.Equal(t, audit.OutcomeFailure, last.Outcome)
	require.Equal(t, ErrNotFound.Error(), last.Detail)
}

func TestAccessRefusedWhenAuditUnavailable(t *testing.T) {
	ctx := context.Background()
	f := newGuardFixture(t)
	info, err := f.g.Put(ctx, alice, "s", testMeta, strings.NewReader("p"))
	require.NoError(t, err)
	require.NoError(t, f.log.Close())
	_, err = f.g.Open(ctx, alice, "s", info.ID)
	require.ErrorIs(t, err, audit.ErrClosed)
}

func TestGuardPurgeAuditsEachDeletion(t *testing.T) {
	ctx := context.Background()
	f := newGuardFixture(t)
	info, err := f.g.Put(ctx, alice, "s", testMeta, bytes.NewReader([]byte("p")))
	require.NoError(t, err)
	require.NoError(t, f.g.SetRetention(ctx, admin, "s", info.ID, f.clock.Now().Add(1)))
	f.clock.Advance(2)
	ids, err := f.g.Purge(ctx, admin, "s")
	require.NoError(t, err)
	require.Equal(t, []string{info.ID}, ids)
	evs := f.events(t)
	last := evs[len(evs)-1]
	require.Equal(t, audit.ActionDelete, last.Action)
	require.Equal(t, info.ID, last.Document)
}

func TestPermissionAndEnumStrings(t *testing.T) {
	require.Equal(t, "read-metadata|read-content", (PermReadMetadata | PermReadContent).String())
	require.Equal(t, "none", Permission(0).String())
	require.Equal(t, "Action(99)", audit.Action(99).String())
	require.Equal(t, "Role(9)", Role(9).String())
	require.Equal(t, "Outcome(-1)", audit.Outcome(-1).String())
	r, err := ParseRole("auditor")
	require.NoError(t, err)
	require.Equal(t, RoleAuditor, r)
	_, err = ParseRole("root")
	require.Error(t, err)
}

func TestEmergencyAccessIsAuditedBreakGlass(t *testing.T) {
	ctx := context.Background()
	f := newGuardFixture(t)
	info, err := f.g.Put(ctx, alice, "s", testMeta, strings.NewReader("urgent page"))
	require.NoError(t, err)
	_, err = f.g.Open(ctx, admin, "s", info.ID)
	require.ErrorIs(t, err, ErrDenied)
	require.ErrorIs(t, f.g.EmergencyAccess(ctx, bob, "s", info.ID, "INC-1"), ErrDenied, "only admins break glass")
	require.NoError(t, f.g.EmergencyAccess(ctx, admin, "s", info.ID, "INC-42"))
	d, err := f.g.Open(ctx, admin, "s", info.ID)
	require.NoError(t, err)
	b, _ := io.ReadAll(d)
	d.Close()
	require.Equal(t, "urgent page", string(b))
	var found bool
	for _, e := range f.events(t) {
		if e.Detail == "EMERGENCY ACCESS: INC-42" && e.Principal == admin.ID && e.Document == info.ID {
			found = true
		}
	}
	require.True(t, found, "emergency access must leave an audit record")
}

func TestPolicyGrantsPersist(t *testing.T) {
	f := newGuardFixture(t)
	f.pol.Grant("d2", "bob", PermReadContent)
	f.pol.Grant("d1", "alice", PermReadMetadata|PermDelete)
	saved := f.pol.Grants()
	require.Equal(t, []Grant{{"d1", "alice", PermReadMetadata | PermDelete}, {"d2", "bob", PermReadContent}}, saved)
	p2 := NewPolicy(f.log, f.clock)
	require.False(t, p2.Allowed(bob, PermReadContent, "d2"))
	p2.LoadGrants(saved)
	require.True(t, p2.Allowed(bob, PermReadContent, "d2"))
	require.False(t, p2.Allowed(bob, PermReadContent, "d1"))
}

// ReplaceGrants sets one document's grants exactly (a revoked grant is
// gone, other documents untouched), and a decision made while they are
// replaced never finds the document without its grants.
func TestPolicyReplaceGrants(t *testing.T) {
	f := newGuardFixture(t)
	f.pol.Grant("d1", alice.ID, PermReadContent)
	f.pol.Grant("d1", bob.ID, PermReadContent)
	f.pol.Grant("d2", bob.ID, PermReadContent)
	f.pol.ReplaceGrants("d1", []Grant{{"d1", alice.ID, PermReadContent | PermDelete}, {"d2", alice.ID, PermReadContent}})
	require.True(t, f.pol.Allowed(alice, PermDelete, "d1"))
	require.False(t, f.pol.Allowed(bob, PermReadContent, "d1"), "bob's grant is no longer in the saved set")
	require.True(t, f.pol.Allowed(bob, PermReadContent, "d2"), "another document is untouched")
	require.False(t, f.pol.Allowed(alice, PermReadContent, "d2"), "grants for other documents are ignored")

	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 20000 {
			f.pol.ReplaceGrants("d1", []Grant{{"d1", alice.ID, PermReadContent}})
		}
	}()
	denied := 0
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
		}
		if !f.pol.Allowed(alice, PermReadContent, "d1") {
			denied++
		}
	}
	require.Zero(t, denied, "alice held the grant throughout")
	f.pol.ReplaceGrants("d1", nil)
	require.False(t, f.pol.Allowed(alice, PermReadContent, "d1"))
}

// Default deny holds for a principal without an ID even when it carries
// roles or a grant has (by mistake) been keyed by the empty ID.
func TestAccessDeniedWithoutPrincipalID(t *testing.T) {
	ctx := context.Background()
	f := newGuardFixture(t)
	info, err := f.g.Put(ctx, alice, "s", testMeta, strings.NewReader("p"))
	require.NoError(t, err)
	f.pol.Grant(info.ID, "", PermReadContent)
	anon := Principal{Roles: []Role{RoleAdmin, RoleReceiver}}
	for _, perm := range []Permission{PermList, PermReadMetadata, PermReadContent, PermGrant} {
		require.False(t, f.pol.Allowed(anon, perm, info.ID), "%v", perm)
	}
	_, err = f.g.Open(ctx, anon, "s", info.ID)
	require.ErrorIs(t, err, ErrDenied)
	require.Error(t, f.g.GrantAccess(ctx, admin, "s", info.ID, "", PermReadContent))
}

func TestPolicyWithoutAuditLogRefuses(t *testing.T) {
	p := NewPolicy(nil, nil)
	p.Grant("d", alice.ID, PermReadContent)
	err := p.Check(context.Background(), Request{Who: alice, Action: audit.ActionReadContent, Perm: PermReadContent, Document: "d"})
	require.Error(t, err)
	require.NotErrorIs(t, err, ErrDenied)
}

func TestGrantAccessAuditsGranteeAndPermissions(t *testing.T) {
	ctx := context.Background()
	f := newGuardFixture(t)
	info, err := f.g.Put(ctx, alice, "s", testMeta, strings.NewReader("p"))
	require.NoError(t, err)
	require.NoError(t, f.g.GrantAccess(ctx, admin, "s", info.ID, bob.ID, PermReadContent))
	require.True(t, f.pol.Allowed(bob, PermReadContent, info.ID))
	evs := f.events(t)
	last := evs[len(evs)-1]
	require.Equal(t, audit.ActionGrant, last.Action)
	require.Equal(t, admin.ID, last.Principal)
	require.Equal(t, info.ID, last.Document)
	require.Equal(t, audit.OutcomeSuccess, last.Outcome)
	require.Equal(t, `granted read-content to principal "bob"`, last.Detail)
}

// TestGuardCommitGrantsCreator: a document written through Guard.Create
// and committed is readable by its creator with nothing more to call,
// and its creation is audited; an aborted one is not audited as created.
func TestGuardCommitGrantsCreator(t *testing.T) {
	f := newGuardFixture(t)
	ctx := context.Background()
	alice := Principal{ID: "alice", Roles: []Role{RoleReceiver}}
	w, err := f.g.Create(ctx, alice, "test", Metadata{Direction: Inbound})
	require.NoError(t, err)
	p, err := w.NewPage()
	require.NoError(t, err)
	_, err = p.Write([]byte("page one"))
	require.NoError(t, err)
	require.NoError(t, p.Close())
	info, err := w.Commit()
	require.NoError(t, err)
	d, err := f.g.Open(ctx, alice, "test", info.ID)
	require.NoError(t, err, "the creator is not locked out")
	d.Close()
	bob := Principal{ID: "bob", Roles: []Role{RoleReceiver}}
	_, err = f.g.Open(ctx, bob, "test", info.ID)
	require.ErrorIs(t, err, ErrDenied, "nobody else is granted")

	w2, err := f.g.Create(ctx, alice, "test", Metadata{})
	require.NoError(t, err)
	require.NoError(t, w2.Abort())
	created := 0
	for _, e := range f.events(t) {
		if e.Action == audit.ActionCreate && e.Outcome == audit.OutcomeSuccess && e.Document != "" {
			require.Equal(t, info.ID, e.Document)
			created++
		}
	}
	require.Equal(t, 1, created, "one audited creation")
}

// TestMetadataCompletedBeforeCommit: metadata learned while the pages
// arrive (the remote ident) is sealed with the document; the body still
// authenticates, and nothing can change after Commit.
func TestMetadataCompletedBeforeCommit(t *testing.T) {
	f := newGuardFixture(t)
	ctx := context.Background()
	gw := Principal{ID: "gateway", Roles: []Role{RoleReceiver}}
	w, err := f.g.Create(ctx, gw, "t38", Metadata{Direction: Inbound, Labels: map[string]string{"did": "+15550100"}})
	require.NoError(t, err)
	p, err := w.NewPage()
	require.NoError(t, err)
	_, err = p.Write([]byte("synthetic page"))
	require.NoError(t, err)
	require.NoError(t, p.Close())
	require.NoError(t, w.UpdateMetadata(func(m *Metadata) {
		m.RemoteIdent = "+1 555 0199"
		m.Labels["pages"] = "1"
	}))
	info, err := w.Commit()
	require.NoError(t, err)
	require.ErrorIs(t, w.UpdateMetadata(func(m *Metadata) { m.RemoteIdent = "x" }), ErrClosed)

	m, err := f.g.Metadata(ctx, gw, "t38", info.ID)
	require.NoError(t, err)
	require.Equal(t, "+1 555 0199", m.RemoteIdent.Reveal())
	require.Equal(t, map[string]string{"did": "+15550100", "pages": "1"}, m.Labels)
	require.Equal(t, Inbound, m.Direction)
	d, err := f.g.Open(ctx, gw, "t38", info.ID)
	require.NoError(t, err)
	b, err := io.ReadAll(d)
	require.NoError(t, err)
	d.Close()
	require.Equal(t, "synthetic page", string(b))
	require.NoError(t, f.store.Verify(ctx, info.ID))
}
