package phi

import (
	"errors"
	"fmt"
)

// Sentinel errors. Compare with errors.Is. Messages never contain PHI.
var (
	ErrNotFound        = errors.New("phi: document not found")
	ErrInvalidID       = errors.New("phi: invalid document id")
	ErrKeyNotFound     = errors.New("phi: key not found")
	ErrDecrypt         = errors.New("phi: decryption failed (wrong key, tampered or truncated data)")
	ErrPageDigest      = errors.New("phi: page SHA-256 mismatch")
	ErrCorrupt         = errors.New("phi: corrupt sealed document")
	ErrLegalHold       = errors.New("phi: document is under legal hold")
	ErrClosed          = errors.New("phi: closed")
	ErrPageOpen        = errors.New("phi: previous page still open")
	ErrDenied          = errors.New("phi: access denied")
	ErrUnauthenticated = errors.New("phi: authentication failed")
	ErrTokenExpired    = errors.New("phi: token expired")
	ErrIdleTimeout     = errors.New("phi: session idle timeout")
	ErrLockedOut       = errors.New("phi: principal locked out after repeated failures")
	ErrAuditTampered   = errors.New("phi: audit log verification failed")
	ErrAuditTruncated  = errors.New("phi: audit log truncated (shorter than a signed checkpoint)")
	ErrAuditBusy       = errors.New("phi: audit log is open elsewhere (one writer at a time)")
)

// AuditError names the first audit record that failed verification.
type AuditError struct {
	Seq     uint64 // sequence number (0-based) of the first bad record
	Segment string // segment file base name, if known
	Line    int    // 1-based line within the segment, if known
	Reason  string
	Err     error // ErrAuditTampered or ErrAuditTruncated
}

func (e *AuditError) Error() string {
	loc := ""
	if e.Segment != "" {
		loc = fmt.Sprintf(" (%s line %d)", e.Segment, e.Line)
	}
	return fmt.Sprintf("phi: audit record %d%s: %s", e.Seq, loc, e.Reason)
}

func (e *AuditError) Unwrap() error { return e.Err }

// DeniedError is returned when the access policy refuses a request.
type DeniedError struct {
	Principal string
	Action    Action
	Document  string
}

func (e *DeniedError) Error() string {
	return fmt.Sprintf("phi: access denied: principal %q may not %s document %q", e.Principal, e.Action, e.Document)
}

func (e *DeniedError) Unwrap() error { return ErrDenied }
