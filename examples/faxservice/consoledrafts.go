package main

import (
	"bytes"
	"context"
	"errors"
	"image/png"
	"net/http"
	"time"

	"github.com/faxkit/faxkit/examples/faxservice/console"
	"github.com/faxkit/faxkit/phi"
	"github.com/faxkit/faxkit/phi/audit"
	"github.com/faxkit/faxkit/phi/redact"
	"github.com/faxkit/faxkit/tiff"
)

// The console's drafts: a converted fax waiting for its sender to check
// the previews and confirm. The pages and the number are PHI, so a draft
// is a sealed document in the phi store (created by the sender, guarded
// and audited like any other) and a row in the drafts table (migration
// 0005) naming it, with no PHI: any instance serves the preview and the
// send, so the console needs no sticky sessions. A draft is crypto-shredded
// when it is sent (its pages are sealed again as the fax), discarded,
// expired, or when its owner signs out.

// maxDrafts is how many drafts a user keeps; the oldest make room.
const maxDrafts = 4

type draftRow struct {
	doc   string
	pages int
}

func (b *consoleBackend) SaveDraft(ctx context.Context, u console.User, src, to string, doc []byte, pages int, ttl time.Duration) (string, error) {
	who := b.principal(u)
	if !who.Has(phi.RoleSender) {
		return "", b.refuse(ctx, u.ID, src, audit.ActionCreate, "", http.StatusForbidden, "sender role required")
	}
	now := b.s.now()
	b.sweepDrafts(ctx, src, now)
	// The user's oldest drafts make room.
	ids, err := b.s.db.queryStrings(ctx, `SELECT id FROM drafts WHERE owner = ? ORDER BY created DESC, id`, u.ID)
	if err != nil {
		return "", err
	}
	var old []string
	if len(ids) >= maxDrafts {
		old = ids[maxDrafts-1:]
	}
	for _, id := range old {
		b.dropDraft(ctx, who, src, id)
	}

	dw, err := b.s.guard.Create(ctx, who, src, phi.Metadata{Direction: phi.Outbound, Remote: redact.FaxNumber(to), ContentType: "image/tiff",
		Labels: map[string]string{"kind": "console-draft"}})
	if err != nil {
		return "", err
	}
	if n, err := phi.SealTIFF(dw, bytes.NewReader(doc), int64(len(doc)), nil); err != nil || n != pages {
		dw.Abort()
		return "", errors.Join(errors.New("faxservice: draft not sealed"), err)
	}
	info, err := b.s.commitDoc(ctx, who, src, dw)
	if err != nil {
		return "", err
	}
	id := randomHex(16)
	if _, err := b.s.db.exec(ctx, `INSERT INTO drafts (id, owner, doc, pages, created, expires) VALUES (?, ?, ?, ?, ?, ?)`,
		id, u.ID, info.ID, pages, now.UnixNano(), now.Add(ttl).UnixNano()); err != nil {
		b.shred(ctx, who, src, info.ID)
		return "", err
	}
	return id, nil
}

// draft finds u's live draft id.
func (b *consoleBackend) draft(ctx context.Context, u console.User, id string) (draftRow, error) {
	var d draftRow
	if !phi.ValidID(id) {
		return d, &console.Error{Status: http.StatusNotFound, Msg: "no such draft"}
	}
	err := b.s.db.queryRow(ctx, `SELECT doc, pages FROM drafts WHERE id = ? AND owner = ? AND expires > ?`, id, u.ID, b.s.now().UnixNano()).
		Scan(&d.doc, &d.pages)
	if isNoRows(err) {
		return d, &console.Error{Status: http.StatusGone, Msg: "This draft has expired (drafts are kept 15 minutes) or was already sent. Choose the files again."}
	}
	return d, err
}

// draftDoc opens a draft's sealed pages as its owner (a guarded,
// audited content read).
func (b *consoleBackend) draftDoc(ctx context.Context, u console.User, src string, d draftRow) ([]byte, error) {
	b.s.loadGrants(ctx, d.doc) // granted on the instance that sealed it
	rd, err := b.s.guard.Open(ctx, b.principal(u), src, d.doc)
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	var buf bytes.Buffer
	if _, err := rd.WriteTIFF(&buf, nil); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (b *consoleBackend) DraftPage(ctx context.Context, u console.User, src, id string, n int) ([]byte, error) {
	d, err := b.draft(ctx, u, id)
	if err != nil {
		return nil, err
	}
	if n < 1 || n > d.pages {
		return nil, &console.Error{Status: http.StatusNotFound, Msg: "no such page"}
	}
	doc, err := b.draftDoc(ctx, u, src, d)
	if err != nil {
		return nil, err
	}
	rd, err := tiff.NewReader(bytes.NewReader(doc), int64(len(doc)), nil)
	if err != nil {
		return nil, err
	}
	i := 0
	for p, err := range rd.Pages() {
		if err != nil {
			return nil, err
		}
		if i++; i < n {
			continue
		}
		img, err := p.Image()
		if err != nil {
			return nil, err
		}
		var out bytes.Buffer
		if err := png.Encode(&out, img); err != nil {
			return nil, err
		}
		return out.Bytes(), nil
	}
	return nil, &console.Error{Status: http.StatusNotFound, Msg: "no such page"}
}

// SendDraft queues the draft as a fax (sealed again, as the API's send
// does) and shreds the draft. Claiming the row first makes a double
// submit, on one instance or two, send once.
func (b *consoleBackend) SendDraft(ctx context.Context, u console.User, src, id string) (string, error) {
	d, err := b.draft(ctx, u, id)
	if err != nil {
		return "", err
	}
	res, err := b.s.db.exec(ctx, `DELETE FROM drafts WHERE id = ? AND owner = ?`, id, u.ID)
	if err != nil {
		return "", err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return "", &console.Error{Status: http.StatusGone, Msg: "This draft was already sent."}
	}
	who := b.principal(u)
	defer b.shred(context.WithoutCancel(ctx), who, src, d.doc)
	b.s.loadGrants(ctx, d.doc)
	m, err := b.s.guard.Metadata(ctx, who, src, d.doc)
	if err != nil {
		return "", err
	}
	doc, err := b.draftDoc(ctx, u, src, d)
	if err != nil {
		return "", err
	}
	return b.Send(ctx, u, src, m.Remote.Reveal(), doc, d.pages)
}

func (b *consoleBackend) DiscardDraft(ctx context.Context, u console.User, src, id string) error {
	if !phi.ValidID(id) {
		return nil
	}
	b.dropDraft(ctx, b.principal(u), src, id)
	return nil
}

// DiscardDrafts shreds all of u's drafts (at sign-out).
func (b *consoleBackend) DiscardDrafts(ctx context.Context, u console.User, src string) {
	ids, err := b.s.db.queryStrings(ctx, `SELECT id FROM drafts WHERE owner = ?`, u.ID)
	if err != nil {
		return
	}
	for _, id := range ids {
		b.dropDraft(ctx, b.principal(u), src, id)
	}
}

// sweepDrafts shreds every expired draft, as its owner.
func (b *consoleBackend) sweepDrafts(ctx context.Context, src string, now time.Time) {
	rows, err := b.s.db.query(ctx, `SELECT d.id, d.owner, u.roles FROM drafts d JOIN users u ON u.id = d.owner WHERE d.expires <= ?`, now.UnixNano())
	if err != nil {
		return
	}
	type exp struct{ id, owner, roles string }
	var es []exp
	for rows.Next() {
		var e exp
		if rows.Scan(&e.id, &e.owner, &e.roles) == nil {
			es = append(es, e)
		}
	}
	rows.Close()
	for _, e := range es {
		b.dropDraft(ctx, principalOf(e.owner, e.roles), "console:draft-expiry", e.id)
	}
}

// dropDraft deletes a draft's row (if it is still there: one instance
// wins) and shreds its sealed document.
func (b *consoleBackend) dropDraft(ctx context.Context, who phi.Principal, src, id string) {
	var doc string
	if err := b.s.db.queryRow(ctx, `SELECT doc FROM drafts WHERE id = ? AND owner = ?`, id, who.ID).Scan(&doc); err != nil {
		return
	}
	res, err := b.s.db.exec(ctx, `DELETE FROM drafts WHERE id = ? AND owner = ?`, id, who.ID)
	if err != nil {
		return
	}
	if n, _ := res.RowsAffected(); n == 1 {
		b.shred(ctx, who, src, doc)
	}
}

// shred crypto-shreds a draft's sealed document and forgets its grants.
func (b *consoleBackend) shred(ctx context.Context, who phi.Principal, src, doc string) {
	b.s.loadGrants(ctx, doc)
	if err := b.s.guard.Delete(ctx, who, src, doc); err != nil {
		b.s.logger.Warn("console: draft not shredded", "err", err)
		return
	}
	b.s.db.exec(ctx, `DELETE FROM grants WHERE document = ?`, doc)
}
