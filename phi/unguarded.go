package phi

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/faxkit/faxkit/phi/audit"
)

// ErrUnguarded is returned by a Store's content methods when the Store was
// opened without StoreConfig.Audit and Operator: document content is then
// reachable only through a Guard.
var ErrUnguarded = errors.New("phi: the Store's content methods need StoreConfig.Audit and Operator; applications read and write documents through a Guard")

// The Store's content methods are its unguarded, maintenance path: no
// access policy, but every call audited as the configured operator. A
// Guard calls the unexported methods and audits through its Policy.

func (s *Store) unguarded() error {
	if s.audit == nil || s.operator == "" {
		return ErrUnguarded
	}
	return nil
}

// unguardedSource is the source of the unguarded path's audit records.
const unguardedSource = "unguarded store"

// record audits one unguarded call; its error is the audit failure.
func (s *Store) record(ctx context.Context, act audit.Action, doc string, opErr error) error {
	e := audit.Event{Time: s.clock.Now(), Principal: s.operator, Action: act, Document: doc, Source: unguardedSource,
		Outcome: audit.OutcomeSuccess, Detail: "unguarded"}
	if opErr != nil {
		e.Outcome, e.Detail = audit.OutcomeFailure, "unguarded: "+errorClass(opErr)
	}
	if _, err := s.audit.Append(context.WithoutCancel(ctx), e); err != nil {
		return fmt.Errorf("phi: audit unavailable: %w", err)
	}
	return nil
}

// Create starts a new document on the unguarded path (see
// StoreConfig.Audit): write each page through NewPage, then Commit (or
// Abort). The creation is audited when it is committed. Applications use
// Guard.Create.
func (s *Store) Create(ctx context.Context, meta Metadata) (*DocumentWriter, error) {
	if err := s.unguarded(); err != nil {
		return nil, err
	}
	w, err := s.create(ctx, meta)
	if err != nil {
		return nil, errors.Join(err, s.record(ctx, audit.ActionCreate, "", err))
	}
	w.committed = func(info DocInfo, err error) { s.record(ctx, audit.ActionCreate, info.ID, err) }
	return w, nil
}

// Put stores r as a one-page document on the unguarded path (see
// StoreConfig.Audit). Applications use Guard.Put.
func (s *Store) Put(ctx context.Context, meta Metadata, r io.Reader) (DocInfo, error) {
	if err := s.unguarded(); err != nil {
		return DocInfo{}, err
	}
	info, err := s.put(ctx, meta, r)
	return info, errors.Join(err, s.record(ctx, audit.ActionCreate, info.ID, err))
}

// Open opens a document for reading on the unguarded path (see
// StoreConfig.Audit); nothing is returned unless the read is audited. A
// verification failure while d is read is recorded by d (see
// DocumentReader), as the operator with the detail "unguarded:
// integrity check failed ...". Applications use Guard.Open.
func (s *Store) Open(ctx context.Context, id string) (*DocumentReader, error) {
	if err := s.unguarded(); err != nil {
		return nil, err
	}
	d, err := s.open(ctx, id)
	if d != nil {
		d.auditIntegrity(ctx, s.audit, s.clock, s.operator, id, unguardedSource, "unguarded: ")
	}
	if aerr := s.record(ctx, audit.ActionReadContent, id, err); aerr != nil {
		if d != nil {
			d.Close()
		}
		return nil, errors.Join(err, aerr)
	}
	return d, err
}

// Get reads a whole document into w, verifying every page, on the
// unguarded path (see StoreConfig.Audit). The read is audited before it
// starts, and a verification failure during it is recorded as Open's
// reader records it.
func (s *Store) Get(ctx context.Context, id string, w io.Writer) (int64, error) {
	if err := s.unguarded(); err != nil {
		return 0, err
	}
	d, err := s.Open(ctx, id)
	if err != nil {
		return 0, err
	}
	defer d.Close()
	return io.Copy(w, d)
}

// Metadata decrypts a document's metadata on the unguarded path (see
// StoreConfig.Audit). Applications use Guard.Metadata.
func (s *Store) Metadata(ctx context.Context, id string) (Metadata, error) {
	if err := s.unguarded(); err != nil {
		return Metadata{}, err
	}
	m, err := s.metadata(ctx, id)
	if aerr := s.record(ctx, audit.ActionReadMetadata, id, err); aerr != nil {
		return Metadata{}, errors.Join(err, aerr)
	}
	return m, err
}
