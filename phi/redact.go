package phi

import (
	"log/slog"

	"github.com/faxkit/faxkit/phi/redact"
)

const redacted = redact.Redacted

// PHI-bearing string types, defined in the leaf package phi/redact so that
// packages which log but do not store faxes (t30, t38, transport) can use
// them without importing phi. They redact themselves in slog and fmt
// output; Reveal returns the clear value.
type (
	FaxNumber = redact.FaxNumber // a telephone number
	StationID = redact.StationID // a T.30 TSI/CSI/CIG station identifier
	Name      = redact.Name      // a person's or organisation's name
	FileName  = redact.FileName  // a document's original file name
)

// RedactOptions configures NewRedactingHandler.
type RedactOptions = redact.Options

// RedactingHandler is a slog.Handler that redacts PHI (see phi/redact).
type RedactingHandler = redact.Handler

// DefaultPHIKeys are attribute keys treated as PHI by default.
var DefaultPHIKeys = redact.DefaultPHIKeys

// NewRedactingHandler wraps next so that PHI never reaches it: values of
// the PHI types, Metadata, and attributes whose keys are marked PHI (nil
// opts: DefaultPHIKeys) are redacted. Every faxkit package that logs should
// be handed a logger built on it.
func NewRedactingHandler(next slog.Handler, opts *RedactOptions) *RedactingHandler {
	return redact.NewHandler(next, opts)
}
