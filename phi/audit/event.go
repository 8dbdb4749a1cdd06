// Package audit is faxkit's tamper-evident audit log of access to PHI
// (HIPAA audit controls, 45 CFR 164.312(b)): who did what to which
// document, when, from where, with what outcome. Package phi's access
// policy writes every decision to it; applications add their own events.
//
// Log appends one line per Event (principal, action, document, time,
// source, outcome, detail) to rotating segment files. Each payload is
// AEAD-encrypted (associated data: its sequence number), and each line
// carries HMAC-SHA256(key, previous MAC || seq || ciphertext), so editing,
// inserting, deleting or reordering records breaks the chain;
// Verify returns an *Error naming the first bad record.
// Every Config.CheckpointEvery records and on Close, the RFC 6962 tree
// head (golang.org/x/mod/sumdb/tlog) is signed as a note
// (golang.org/x/mod/sumdb/note, Ed25519) and appended to <dir>/checkpoints.
// A log shorter than any checkpoint fails with ErrTruncated. Records
// after the newest checkpoint are covered by the HMAC chain only, and a
// chain has no end marker: cutting them off (down to deleting the newest
// segment) is not detected (TestAuditTailAfterLastCheckpointIsUncovered).
// Close always writes a checkpoint, so what is exposed is at most
// CheckpointEvery-1 records appended since the last checkpoint before a
// crash or kill; Report.Latest.Size < Report.Records says how
// many (faxkit audit verify prints it). An attacker who can rewrite the
// disk can cut the checkpoints file too, so export checkpoints (faxkit
// audit checkpoint) to another system and pass them to Verify as
// trusted. A torn last checkpoint line left by a crash is ignored by the
// verifier and removed by Open.
//
// Durability: with SyncEveryRecord (default) Append returns after fsync of
// the record, so an acknowledged event survives power loss; concurrent
// appenders share one fsync (group commit); rotation fsyncs the old segment
// and the directory; checkpoints are written only over fsynced records and
// are fsynced themselves. After a failed write or fsync the log refuses
// further appends until reopened. SyncAtCheckpoint trades this for
// speed and can lose up to CheckpointEvery acknowledged records. A torn
// final line left by a crash is discarded by Open.
//
// # Limitations
//
//   - The key file (CreateKeyFile) holds keys in clear, protected only by
//     file mode 0600; an application can build Keys from a KMS or HSM.
//   - Only one Log may be open per directory (ErrBusy), across processes
//     where the OS has flock.
//   - The verifier, and an open Log, keep two tree hashes per record in
//     memory (about 64 bytes per record, 64 MB per million).
//   - Export checks the records and the HMAC chain but not the
//     checkpoints: run Verify for truncation.
package audit

import (
	"errors"
	"fmt"

	"github.com/faxkit/faxkit/internal/clock"
)

// Action is an audited operation.
type Action int

const (
	ActionUnknown      Action = iota
	ActionCreate              // store a new document
	ActionList                // list documents (records only)
	ActionReadMetadata        // decrypt a document's metadata
	ActionReadContent         // read a document's pages
	ActionDelete              // crypto-shred a document
	ActionSetRetention        // change a retention date
	ActionLegalHold           // place or lift a legal hold
	ActionPurge               // delete everything past retention
	ActionRotateKeys          // re-wrap data keys under a new KEK
	ActionGrant               // grant or revoke per-document access
	ActionAuditRead           // verify or export the audit log
	ActionLogin               // authenticate
	ActionLogout              // end a session (explicit or idle timeout)
	ActionSend                // transmit a fax
	ActionReceive             // accept a received fax
	ActionBackup              // write an encrypted backup
	ActionRestore             // restore from a backup
	ActionAlert               // suspicious activity detected (no access made)
	// ActionIntegrityFailure: a sealed document failed verification
	// (authentication tag, framing or page SHA-256) while a reader
	// handed out by an audited read was reading it. Outcome failure; it
	// follows the read-content record of the opening, which stays.
	ActionIntegrityFailure
)

var actionNames = [...]string{"unknown", "create", "list", "read-metadata", "read-content", "delete",
	"set-retention", "legal-hold", "purge", "rotate-keys", "grant", "audit-read", "login", "logout",
	"send", "receive", "backup", "restore", "alert", "integrity-failure"}

// Every action has a name: this fails to compile if one is missing.
var _ = actionNames[ActionIntegrityFailure]

func (a Action) String() string {
	if a >= 0 && int(a) < len(actionNames) {
		return actionNames[a]
	}
	return fmt.Sprintf("Action(%d)", int(a))
}

// Sentinel errors. Compare with errors.Is. Messages never contain PHI.
var (
	ErrTampered  = errors.New("audit: log verification failed")
	ErrTruncated = errors.New("audit: log truncated (shorter than a signed checkpoint)")
	ErrBusy      = errors.New("audit: log is open elsewhere (one writer at a time)")
	ErrClosed    = errors.New("audit: log closed")
)

// Error names the first audit record that failed verification.
type Error struct {
	Seq     uint64 // sequence number (0-based) of the first bad record
	Segment string // segment file base name, if known
	Line    int    // 1-based line within the segment, if known
	Reason  string
	Err     error // ErrTampered or ErrTruncated
}

func (e *Error) Error() string {
	loc := ""
	if e.Segment != "" {
		loc = fmt.Sprintf(" (%s line %d)", e.Segment, e.Line)
	}
	return fmt.Sprintf("audit: record %d%s: %s", e.Seq, loc, e.Reason)
}

func (e *Error) Unwrap() error { return e.Err }

func clockOr(c clock.Clock) clock.Clock {
	if c == nil {
		return clock.Real()
	}
	return c
}
