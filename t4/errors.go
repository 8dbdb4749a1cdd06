package t4

import (
	"errors"
	"fmt"
)

// Sentinel errors. Errors returned by this package wrap one of them; compare
// with errors.Is.
var (
	// ErrCorrupt means the coded data is not valid T.4/T.6: an unknown code,
	// a row whose runs do not add up to the width, a missing EOL.
	ErrCorrupt = errors.New("t4: corrupt coded data")
	// ErrTooLarge means a page exceeds a documented limit (MaxRows,
	// MaxPageBytes).
	ErrTooLarge = errors.New("t4: page too large")
	// ErrWidth means a width outside 1..MaxWidth, or a row shorter than the
	// width.
	ErrWidth = errors.New("t4: bad width")
	// ErrOptions means an invalid option value (unknown compression, K < 0,
	// NoEOL with MR/MMR, ...).
	ErrOptions = errors.New("t4: bad options")
	// ErrClosed means WriteRow after Close.
	ErrClosed = errors.New("t4: encoder closed")
)

// DecodeError locates the first problem in coded data: the row being
// decoded (0-based, counting delivered rows) and the bit offset in the stream.
// It never carries pixel data.
type DecodeError struct {
	Row int   // index of the row being decoded
	Bit int64 // offset of the offending bit from the start of the data
	Err error // ErrCorrupt or ErrTooLarge, possibly wrapping more detail
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("%v (row %d, bit %d)", e.Err, e.Row, e.Bit)
}

func (e *DecodeError) Unwrap() error { return e.Err }

// corruption reasons, wrapped in ErrCorrupt.
var (
	errBadCode   = fmt.Errorf("%w: invalid code", ErrCorrupt)
	errLongRow   = fmt.Errorf("%w: row longer than the width", ErrCorrupt)
	errShortRow  = fmt.Errorf("%w: row ends before the width", ErrCorrupt)
	errNoEOL     = fmt.Errorf("%w: row not followed by EOL", ErrCorrupt)
	errBadVert   = fmt.Errorf("%w: vertical mode outside the row", ErrCorrupt)
	errExtension = fmt.Errorf("%w: uncompressed mode or extension not supported", ErrCorrupt)
	errTruncated = fmt.Errorf("%w: data ends inside a row", ErrCorrupt)
)
