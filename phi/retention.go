package phi

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// SetRetention sets a document's retention date (zero: none). Purge deletes
// documents whose date has passed.
func (s *Store) SetRetention(ctx context.Context, id string, until time.Time) error {
	return s.updateRecord(ctx, id, nil, func(r *record) error {
		r.RetainUntil = normTime(until)
		return nil
	})
}

// SetLegalHold places or lifts a legal hold. A held document is never
// deleted, purged or force-expired.
func (s *Store) SetLegalHold(ctx context.Context, id string, hold bool) error {
	return s.updateRecord(ctx, id, nil, func(r *record) error {
		r.LegalHold = hold
		return nil
	})
}

// ForceExpire ends a document's retention now and crypto-shreds it at once,
// unless it is under legal hold (ErrLegalHold).
func (s *Store) ForceExpire(ctx context.Context, id string) error {
	return s.Delete(ctx, id)
}

// Expired reports whether a document is past its retention date at now.
func (d DocInfo) Expired(now time.Time) bool {
	return !d.RetainUntil.IsZero() && !now.Before(d.RetainUntil)
}

// Purge crypto-shreds every document whose retention date has passed
// (per the store's Clock) and that is not under legal hold. Each record is
// authenticated first, so a retention date or hold edited on disk cannot
// trigger a deletion; such documents are skipped and reported in the
// error. It returns the IDs deleted.
func (s *Store) Purge(ctx context.Context) ([]string, error) {
	now := s.clock.Now()
	docs, err := s.List(ctx)
	var purged []string
	var errs []error
	if err != nil {
		errs = append(errs, err) // damaged records; purge the rest
	}
	for _, d := range docs {
		if !d.Expired(now) || d.LegalHold {
			continue
		}
		err := s.Delete(ctx, d.ID)
		switch {
		case err == nil:
			purged = append(purged, d.ID)
		case errors.Is(err, ErrNotFound), errors.Is(err, ErrLegalHold):
			// raced with another deletion or a new hold
		default:
			errs = append(errs, fmt.Errorf("document %s: %w", d.ID, err))
		}
	}
	return purged, errors.Join(errs...)
}
