package phi

import (
	"errors"
	"fmt"
	"github.com/faxkit/faxkit/phi/audit"
)

// Sentinel errors. Compare with errors.Is. Messages never contain PHI.
var (
	ErrNotFound    = errors.New("phi: document not found")
	ErrInvalidID   = errors.New("phi: invalid document id")
	ErrKeyNotFound = errors.New("phi: key not found")
	ErrDecrypt     = errors.New("phi: decryption failed (wrong key, tampered or truncated data)")
	ErrPageDigest  = errors.New("phi: page SHA-256 mismatch")
	ErrCorrupt     = errors.New("phi: corrupt sealed document")
	ErrLegalHold   = errors.New("phi: document is under legal hold")
	ErrClosed      = errors.New("phi: closed")
	ErrPageOpen    = errors.New("phi: previous page still open")
	ErrDenied      = errors.New("phi: access denied")
)

// DeniedError is returned when the access policy refuses a request.
type DeniedError struct {
	Principal string
	Action    audit.Action
	Document  string
}

func (e *DeniedError) Error() string {
	return fmt.Sprintf("phi: access denied: principal %q may not %s document %q", e.Principal, e.Action, e.Document)
}

func (e *DeniedError) Unwrap() error { return ErrDenied }
