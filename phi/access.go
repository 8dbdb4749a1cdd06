package phi

import (
	"context"
	"errors"
	"fmt"
	"github.com/faxkit/faxkit/internal/clock"
	"github.com/faxkit/faxkit/phi/audit"
	"io"
	"slices"
	"strings"
	"sync"
	"time"
)

// Role is a named set of permissions.
type Role int

const (
	RoleAdmin    Role = iota + 1 // manages keys, retention, holds, grants; metadata only
	RoleSender                   // sends faxes; reads what it sent
	RoleReceiver                 // reads faxes routed to it
	RoleAuditor                  // reads the audit log; no document content
)

var roleNames = map[Role]string{RoleAdmin: "admin", RoleSender: "sender", RoleReceiver: "receiver", RoleAuditor: "auditor"}

func (r Role) String() string {
	if n, ok := roleNames[r]; ok {
		return n
	}
	return fmt.Sprintf("Role(%d)", int(r))
}

// ParseRole parses a role name.
func ParseRole(s string) (Role, error) {
	for r, n := range roleNames {
		if n == s {
			return r, nil
		}
	}
	return 0, fmt.Errorf("phi: unknown role %q", s)
}

// Permission is a bit set. Metadata and content are separate permissions:
// seeing that a fax exists, and who it was from, is not reading it.
type Permission uint32

const (
	PermCreate       Permission = 1 << iota // store new documents
	PermList                                // list records (no PHI)
	PermReadMetadata                        // decrypt metadata
	PermReadContent                         // read page images
	PermDelete                              // delete / force-expire
	PermRetention                           // set retention dates and legal holds, purge
	PermManageKeys                          // rotate KEKs
	PermGrant                               // grant per-document access
	PermAuditRead                           // verify/export the audit log
	PermSend                                // transmit faxes
	PermReceive                             // accept received faxes into the store
)

var permNames = []string{"create", "list", "read-metadata", "read-content", "delete", "retention",
	"manage-keys", "grant", "audit-read", "send", "receive"}

func (p Permission) String() string {
	if p == 0 {
		return "none"
	}
	var parts []string
	for i, n := range permNames {
		if p&(1<<i) != 0 {
			parts = append(parts, n)
		}
	}
	if rest := p &^ (1<<len(permNames) - 1); rest != 0 {
		parts = append(parts, fmt.Sprintf("0x%x", uint32(rest)))
	}
	return strings.Join(parts, "|")
}

// Role permissions split in two: Global applies to every document;
// PerDocument is the ceiling of what a per-document grant can give. No role
// reads content globally; content needs a grant (minimum necessary).
type rolePerms struct{ Global, PerDocument Permission }

var defaultRoles = map[Role]rolePerms{
	RoleAdmin: {Global: PermList | PermReadMetadata | PermDelete | PermRetention | PermManageKeys | PermGrant,
		PerDocument: PermReadMetadata | PermReadContent | PermDelete},
	RoleSender:   {Global: PermCreate | PermSend, PerDocument: PermReadMetadata | PermReadContent | PermDelete},
	RoleReceiver: {Global: PermReceive | PermCreate, PerDocument: PermReadMetadata | PermReadContent | PermDelete},
	RoleAuditor:  {Global: PermAuditRead | PermList},
}

// Principal is an authenticated user or system (a service account, a fax
// gateway). ID is unique and must not be PHI.
type Principal struct {
	ID    string
	Roles []Role
}

// Has reports whether p has role r.
func (p Principal) Has(r Role) bool { return slices.Contains(p.Roles, r) }

// Policy is a default-deny access policy: a request is allowed only when a
// role grants the permission globally, or a per-document grant gives it and
// one of the principal's roles allows that permission per document. Every
// decision, allowed or denied, is written to the audit log.
type Policy struct {
	mu     sync.RWMutex
	grants map[string]map[string]Permission // document -> principal -> perms
	audit  *audit.Log
	clock  clock.Clock
}

// NewPolicy returns an empty (deny-all) policy that audits to log, which
// is required: an unaudited decision is not a decision phi makes.
func NewPolicy(log *audit.Log, clk clock.Clock) *Policy {
	return &Policy{grants: map[string]map[string]Permission{}, audit: log, clock: clockOr(clk)}
}

// Grant gives principal perms on document (adds to existing grants).
func (p *Policy) Grant(doc, principal string, perms Permission) {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := p.grants[doc]
	if m == nil {
		m = map[string]Permission{}
		p.grants[doc] = m
	}
	m[principal] |= perms
}

// Revoke removes perms from principal on document.
func (p *Policy) Revoke(doc, principal string, perms Permission) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if m := p.grants[doc]; m != nil {
		m[principal] &^= perms
		if m[principal] == 0 {
			delete(m, principal)
		}
	}
}

// Forget drops all grants on a deleted document.
func (p *Policy) Forget(doc string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.grants, doc)
}

// Allowed reports the decision without auditing it. Use Check in request
// paths. A principal without an ID is denied everything, whatever its
// roles: every decision must name a unique user (164.312(a)(2)(i)), and
// per-document grants are keyed by ID.
func (p *Policy) Allowed(who Principal, perm Permission, doc string) bool {
	if perm == 0 || who.ID == "" {
		return false
	}
	var global, perDoc Permission
	for _, r := range who.Roles {
		rp := defaultRoles[r]
		global |= rp.Global
		perDoc |= rp.PerDocument
	}
	if global&perm == perm {
		return true
	}
	if doc == "" {
		return false
	}
	p.mu.RLock()
	g := p.grants[doc][who.ID]
	p.mu.RUnlock()
	return (g&perDoc)&perm == perm
}

// Request describes one access decision.
type Request struct {
	Who      Principal
	Action   audit.Action
	Perm     Permission
	Document string
	Source   string // client address or "cli"; not PHI
}

// Check decides req, writes the decision to the audit log, and returns nil
// or a *DeniedError (errors.Is ErrDenied). If the decision cannot be
// audited (including a Policy built without an AuditLog) the request is
// refused.
func (p *Policy) Check(ctx context.Context, req Request) error {
	if p.audit == nil {
		return errNoAuditLog
	}
	ok := p.Allowed(req.Who, req.Perm, req.Document)
	out := audit.OutcomeSuccess
	detail := "allowed " + req.Perm.String()
	if !ok {
		out = audit.OutcomeDenied
		detail = "denied " + req.Perm.String()
	}
	if _, err := p.audit.Append(ctx, audit.Event{Time: p.clock.Now(), Principal: req.Who.ID, Action: req.Action,
		Document: req.Document, Source: req.Source, Outcome: out, Detail: detail}); err != nil {
		return fmt.Errorf("phi: audit unavailable, request refused: %w", err)
	}
	if !ok {
		return &DeniedError{Principal: req.Who.ID, Action: req.Action, Document: req.Document}
	}
	return nil
}

var errNoAuditLog = fmt.Errorf("phi: audit unavailable, request refused: %w", errors.New("phi: Policy has no audit.Log"))

// record appends the outcome of an allowed operation that failed or
// succeeded after its access check.
func (p *Policy) record(ctx context.Context, req Request, err error) {
	p.recordDetail(ctx, req, err, "done")
}

// recordDetail is record with the success detail given (no PHI).
func (p *Policy) recordDetail(ctx context.Context, req Request, err error, detail string) {
	out := audit.OutcomeSuccess
	if err != nil {
		out, detail = audit.OutcomeFailure, errorClass(err)
	}
	p.audit.Append(ctx, audit.Event{Time: p.clock.Now(), Principal: req.Who.ID, Action: req.Action,
		Document: req.Document, Source: req.Source, Outcome: out, Detail: detail})
}

// errorClass reduces an error to a PHI-free description for the audit log.
func errorClass(err error) string {
	for _, e := range []error{ErrNotFound, ErrInvalidID, ErrDecrypt, ErrPageDigest, ErrCorrupt, ErrLegalHold, ErrKeyNotFound} {
		if errors.Is(err, e) {
			return e.Error()
		}
	}
	return "error"
}

// Guard is the access-controlled, audited face of a Store: each method
// checks the policy (auditing the decision), performs the operation and
// audits its outcome. The creator of a document is granted metadata,
// content and delete on it when it is committed. A Guard does not hand
// out its Store: code given a Guard reaches documents only through it.
type Guard struct {
	store  *Store
	policy *Policy
}

// NewGuard guards store with policy.
func NewGuard(store *Store, policy *Policy) *Guard {
	return &Guard{store: store, policy: policy}
}

func (g *Guard) do(ctx context.Context, req Request, op func() error) error {
	if err := g.policy.Check(ctx, req); err != nil {
		return err
	}
	err := op()
	g.policy.record(ctx, req, err)
	return err
}

// Put stores r as a one-page document (see Store.Put).
func (g *Guard) Put(ctx context.Context, who Principal, source string, meta Metadata, r io.Reader) (DocInfo, error) {
	var info DocInfo
	req := Request{Who: who, Action: audit.ActionCreate, Perm: PermCreate, Source: source}
	if err := g.policy.Check(ctx, req); err != nil {
		return info, err
	}
	info, err := g.store.put(ctx, meta, r)
	req.Document = info.ID
	if err == nil {
		g.policy.Grant(info.ID, who.ID, PermReadMetadata|PermReadContent|PermDelete)
	}
	g.policy.record(ctx, req, err)
	return info, err
}

// Create starts a multi-page document. Its Commit grants the creator
// metadata, content and delete on it and audits the outcome; nothing else
// is needed (an Abort is not a creation and is not audited).
func (g *Guard) Create(ctx context.Context, who Principal, source string, meta Metadata) (*DocumentWriter, error) {
	req := Request{Who: who, Action: audit.ActionCreate, Perm: PermCreate, Source: source}
	if err := g.policy.Check(ctx, req); err != nil {
		return nil, err
	}
	w, err := g.store.create(ctx, meta)
	if err != nil {
		return nil, err
	}
	w.committed = func(info DocInfo, err error) {
		if err == nil {
			g.policy.Grant(info.ID, who.ID, PermReadMetadata|PermReadContent|PermDelete)
		}
		g.policy.record(context.WithoutCancel(ctx), Request{Who: who, Action: audit.ActionCreate, Document: info.ID, Source: source}, err)
	}
	return w, nil
}

// Open opens a document's content for reading. The opening is audited
// (read-content); if the document then fails verification while d is
// read, d itself appends an integrity-failure record for who and id (see
// DocumentReader), so the trail tells a tampered or truncated document
// from a good read without the application's help.
func (g *Guard) Open(ctx context.Context, who Principal, source, id string) (*DocumentReader, error) {
	var d *DocumentReader
	err := g.do(ctx, Request{Who: who, Action: audit.ActionReadContent, Perm: PermReadContent, Document: id, Source: source},
		func() (err error) {
			if d, err = g.store.open(ctx, id); err == nil {
				d.auditIntegrity(ctx, g.policy.audit, g.policy.clock, who.ID, id, source, "")
			}
			return err
		})
	return d, err
}

// Metadata decrypts a document's metadata.
func (g *Guard) Metadata(ctx context.Context, who Principal, source, id string) (Metadata, error) {
	var m Metadata
	err := g.do(ctx, Request{Who: who, Action: audit.ActionReadMetadata, Perm: PermReadMetadata, Document: id, Source: source},
		func() (err error) { m, err = g.store.metadata(ctx, id); return err })
	return m, err
}

// List lists document records.
func (g *Guard) List(ctx context.Context, who Principal, source string) ([]DocInfo, error) {
	var l []DocInfo
	err := g.do(ctx, Request{Who: who, Action: audit.ActionList, Perm: PermList, Source: source},
		func() (err error) { l, err = g.store.List(ctx); return err })
	return l, err
}

// Delete crypto-shreds a document.
func (g *Guard) Delete(ctx context.Context, who Principal, source, id string) error {
	return g.do(ctx, Request{Who: who, Action: audit.ActionDelete, Perm: PermDelete, Document: id, Source: source},
		func() error {
			err := g.store.Delete(ctx, id)
			if err == nil {
				g.policy.Forget(id)
			}
			return err
		})
}

// SetRetention changes a retention date.
func (g *Guard) SetRetention(ctx context.Context, who Principal, source, id string, until time.Time) error {
	return g.do(ctx, Request{Who: who, Action: audit.ActionSetRetention, Perm: PermRetention, Document: id, Source: source},
		func() error { return g.store.SetRetention(ctx, id, until) })
}

// SetLegalHold places or lifts a legal hold.
func (g *Guard) SetLegalHold(ctx context.Context, who Principal, source, id string, hold bool) error {
	return g.do(ctx, Request{Who: who, Action: audit.ActionLegalHold, Perm: PermRetention, Document: id, Source: source},
		func() error { return g.store.SetLegalHold(ctx, id, hold) })
}

// Purge deletes expired documents; each deletion is audited.
func (g *Guard) Purge(ctx context.Context, who Principal, source string) ([]string, error) {
	var ids []string
	err := g.do(ctx, Request{Who: who, Action: audit.ActionPurge, Perm: PermRetention, Source: source},
		func() (err error) { ids, err = g.store.Purge(ctx); return err })
	for _, id := range ids {
		g.policy.Forget(id)
		g.policy.record(ctx, Request{Who: who, Action: audit.ActionDelete, Document: id, Source: source}, nil)
	}
	return ids, err
}

// RotateKeys re-wraps data keys under the primary KEK.
func (g *Guard) RotateKeys(ctx context.Context, who Principal, source string) (int, map[string]int, error) {
	var n int
	var inUse map[string]int
	err := g.do(ctx, Request{Who: who, Action: audit.ActionRotateKeys, Perm: PermManageKeys, Source: source},
		func() (err error) { n, inUse, err = g.store.RotateKeys(ctx); return err })
	return n, inUse, err
}

// GrantAccess gives another principal perms on a document. The audit
// record names the grantee and the permissions, so that a review can see
// who was given access (an admin granting itself content is visible).
func (g *Guard) GrantAccess(ctx context.Context, who Principal, source, id, grantee string, perms Permission) error {
	req := Request{Who: who, Action: audit.ActionGrant, Perm: PermGrant, Document: id, Source: source}
	if err := g.policy.Check(ctx, req); err != nil {
		return err
	}
	_, err := g.store.Stat(ctx, id)
	if err == nil && grantee == "" {
		err = errors.New("phi: grant to a principal without an ID")
	}
	if err == nil {
		g.policy.Grant(id, grantee, perms)
	}
	g.policy.recordDetail(ctx, req, err, fmt.Sprintf("granted %v to principal %q", perms, grantee))
	return err
}

// EmergencyAccess is the break-glass procedure (164.312(a)(2)(ii)): an
// admin, who normally sees metadata only, takes metadata and content access
// to one document at once. The grant is audited as an emergency with the
// given reason code (keep it free of PHI, e.g. a ticket number), so that
// every use can be reviewed afterwards.
func (g *Guard) EmergencyAccess(ctx context.Context, who Principal, source, id, reason string) error {
	req := Request{Who: who, Action: audit.ActionGrant, Perm: PermGrant, Document: id, Source: source}
	if err := g.policy.Check(ctx, req); err != nil {
		return err
	}
	if _, err := g.store.Stat(ctx, id); err != nil {
		g.policy.record(ctx, req, err)
		return err
	}
	g.policy.Grant(id, who.ID, PermReadMetadata|PermReadContent)
	const maxReason = 200
	if len(reason) > maxReason {
		reason = reason[:maxReason]
	}
	_, err := g.policy.audit.Append(ctx, audit.Event{Time: g.policy.clock.Now(), Principal: who.ID, Action: audit.ActionGrant,
		Document: id, Source: source, Outcome: audit.OutcomeSuccess, Detail: "EMERGENCY ACCESS: " + reason})
	return err
}

// Grant is one per-document grant, for persisting a Policy. It holds no
// PHI: document and principal IDs are opaque.
type Grant struct {
	Document  string     `json:"document"`
	Principal string     `json:"principal"`
	Perms     Permission `json:"perms"`
}

// Grants returns every per-document grant, sorted, so the embedding
// application can persist them (Policy itself keeps them in memory).
func (p *Policy) Grants() []Grant {
	p.mu.RLock()
	defer p.mu.RUnlock()
	var out []Grant
	for doc, m := range p.grants {
		for who, perms := range m {
			out = append(out, Grant{Document: doc, Principal: who, Perms: perms})
		}
	}
	slices.SortFunc(out, func(a, b Grant) int {
		if c := strings.Compare(a.Document, b.Document); c != 0 {
			return c
		}
		return strings.Compare(a.Principal, b.Principal)
	})
	return out
}

// ReplaceGrants makes gs (those for doc) the document's only grants, in
// one step: a decision made meanwhile sees the old grants or the new ones,
// never none (Forget then LoadGrants left a moment in which an
// application reloading a document's grants from its database denied a
// user who held them throughout).
func (p *Policy) ReplaceGrants(doc string, gs []Grant) {
	m := map[string]Permission{}
	for _, g := range gs {
		if g.Document == doc && g.Perms != 0 {
			m[g.Principal] |= g.Perms
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(m) == 0 {
		delete(p.grants, doc)
		return
	}
	p.grants[doc] = m
}

// LoadGrants adds saved grants to the policy.
func (p *Policy) LoadGrants(gs []Grant) {
	for _, g := range gs {
		p.Grant(g.Document, g.Principal, g.Perms)
	}
}
