package main

import (
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/faxkit/faxkit/phi"
	"github.com/faxkit/faxkit/phi/audit"
	"golang.org/x/mod/sumdb/note"
)

// local describes an on-disk faxkit installation used by the store and
// audit commands:
//
//	<dir>/docs/        sealed documents (phi.Store)
//	<dir>/kek.json     local key-encryption keys (default; -keyfile moves it)
//	<dir>/audit/       audit log segments and checkpoints
//	<dir>/audit.key    audit log keys (-auditkey moves it)
//
// Keep key files off the data volume in production (or use a KMS through
// the Go API): whoever holds kek.json and docs/ can read every fax.
type local struct {
	dir, keyfile, auditDir, auditKey string
}

func (l *local) register(fs *flag.FlagSet, e *env) {
	fs.StringVar(&l.dir, "dir", e.getenv("FAXKIT_DIR"), "store directory (default $FAXKIT_DIR)")
	l.registerKeys(fs, e)
}

// registerKeys registers the key and audit flags without -dir (receive
// names the store with -store).
func (l *local) registerKeys(fs *flag.FlagSet, e *env) {
	fs.StringVar(&l.keyfile, "keyfile", e.getenv("FAXKIT_KEYFILE"), "KEK file (default <dir>/kek.json or $FAXKIT_KEYFILE)")
	fs.StringVar(&l.auditDir, "auditdir", "", "audit log directory (default <dir>/audit)")
	fs.StringVar(&l.auditKey, "auditkey", e.getenv("FAXKIT_AUDITKEY"), "audit key file (default <dir>/audit.key or $FAXKIT_AUDITKEY)")
}

// resolve fills in the default key and audit paths. The store directory
// must exist: only "store init" creates it (see resolveNew), so a
// mistyped -dir is an error, not a new empty store.
func (l *local) resolve() error {
	if err := l.defaults(); err != nil {
		return err
	}
	st, err := os.Stat(l.dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("store directory %s does not exist: %w", l.dir, errNoStore)
	case err != nil:
		return fmt.Errorf("store directory: %w", err)
	case !st.IsDir():
		return fmt.Errorf("store directory %s is not a directory", l.dir)
	}
	return nil
}

// errNoStore: a store command was pointed at a directory with no store.
var errNoStore = errors.New("create the store first with 'faxkit store init -dir DIR', or name an existing one")

// resolveNew is resolve for "store init": it creates the directory.
func (l *local) resolveNew() error {
	if err := l.defaults(); err != nil {
		return err
	}
	if err := os.MkdirAll(l.dir, 0o700); err != nil {
		return fmt.Errorf("store directory: %w", err)
	}
	return nil
}

func (l *local) defaults() error {
	if l.dir == "" {
		return errors.New("-dir (or $FAXKIT_DIR) is required")
	}
	if l.keyfile == "" {
		l.keyfile = filepath.Join(l.dir, "kek.json")
	}
	if l.auditDir == "" {
		l.auditDir = filepath.Join(l.dir, "audit")
	}
	if l.auditKey == "" {
		l.auditKey = filepath.Join(l.dir, "audit.key")
	}
	return nil
}

// errNoKeys: a missing key file is never replaced silently by a fresh
// key, which could not read what the store or log already holds.
var errNoKeys = errors.New("create a new store's keys with 'faxkit store init -dir DIR', or point -keyfile/-auditkey (or $FAXKIT_KEYFILE/$FAXKIT_AUDITKEY) at the existing ones")

// heldLog is a store's audit sink: the audit log the command holds at the
// moment (receive holds it only at the start and the end of a call).
type heldLog struct {
	log *audit.Log
	// holdFor, when set, is the document whose read-content record from
	// the store is kept back in held instead of appended: "store get"
	// appends it once, with the outcome of the whole read, before any of
	// the content leaves (see getDoc).
	holdFor string
	held    *audit.Event
}

var errAuditNotHeld = errors.New("audit log not open")

func (h *heldLog) Append(ctx context.Context, e audit.Event) (uint64, error) {
	if h.log == nil {
		return 0, errAuditNotHeld
	}
	if h.holdFor != "" && h.held == nil && e.Action == audit.ActionReadContent && e.Document == h.holdFor {
		h.held = &e
		return 0, nil
	}
	return h.log.Append(ctx, e)
}

// openStore opens the store as the custodian path of phi (the Store's own
// content methods), each content access audited to log under the
// operating-system user.
func (l *local) openStore(ctx context.Context, e *env, log *heldLog) (*phi.Store, *phi.LocalKeyFile, error) {
	kf, err := phi.OpenLocalKeyFile(l.keyfile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("key file %s not found: %w", l.keyfile, errNoKeys)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("key file %s cannot be used (is it a KEK file made by 'faxkit store init'?): %w", l.keyfile, err)
	}
	s, err := phi.OpenStore(ctx, phi.StoreConfig{Dir: l.dir, Keys: kf, Audit: log, Operator: cliPrincipal(e)})
	return s, kf, err
}

func (l *local) auditKeys() (audit.Keys, error) {
	k, err := audit.OpenKeyFile(l.auditKey)
	if errors.Is(err, fs.ErrNotExist) {
		return k, fmt.Errorf("audit key file %s not found: %w", l.auditKey, errNoKeys)
	}
	if err != nil {
		return k, fmt.Errorf("audit key file %s cannot be used (is it an audit key file made by 'faxkit store init'?): %w", l.auditKey, err)
	}
	return k, nil
}

// checkKEK refuses a key file that is not the store's: one that holds
// none of the KEKs sealing the first few documents ("rotate-key -retire"
// keeps every KEK in use, so the store's own file holds them all).
// Sealing a new document under another store's key would split the
// store; reading would fail document by document.
func checkKEK(ctx context.Context, l *local, st *phi.Store, kf *phi.LocalKeyFile) error {
	ents, err := os.ReadDir(filepath.Join(l.dir, "docs"))
	if err != nil {
		return nil // no documents yet
	}
	have := kf.KeyIDs()
	var first phi.DocInfo
	checked := 0
	for _, e := range ents {
		if checked == 8 {
			break
		}
		id, ok := strings.CutSuffix(e.Name(), ".rec")
		if !ok {
			continue
		}
		info, err := st.Stat(ctx, id)
		if err != nil {
			continue // a damaged record is reported where it is used
		}
		if slices.Contains(have, info.KeyID) {
			return nil
		}
		if checked == 0 {
			first = info
		}
		checked++
	}
	if checked == 0 {
		return nil
	}
	return fmt.Errorf("key file %s is not this store's: it does not hold key %s, which seals document %s; point -keyfile (or $FAXKIT_KEYFILE) at the store's own KEK file", l.keyfile, first.KeyID, first.ID)
}

// auditOpenErr says why the audit log could not be opened: in
// particular, an audit key file that is not the log's makes its first
// record fail verification, which would otherwise read as tampering.
func auditOpenErr(l *local, err error) error {
	switch {
	case errors.Is(err, audit.ErrTampered) && wrongAuditKey(l):
		return fmt.Errorf("audit log %s: audit key file %s is not this log's (its checkpoints are signed by another key); point -auditkey (or $FAXKIT_AUDITKEY) at the log's own key file", l.auditDir, l.auditKey)
	case errors.Is(err, audit.ErrBusy):
		return fmt.Errorf("audit log %s: another faxkit process held it for more than %v: %w", l.auditDir, auditWait, err)
	}
	return fmt.Errorf("audit log: %w", err)
}

// wrongAuditKey reports whether the log in l.auditDir has signed
// checkpoints and the audit key verifies none of them: the key file is
// not the log's (tampering alone leaves the signatures good).
func wrongAuditKey(l *local) bool {
	keys, err := l.auditKeys()
	if err != nil || keys.Verifier == nil {
		return false
	}
	data, err := os.ReadFile(filepath.Join(l.auditDir, "checkpoints"))
	if err != nil {
		return false
	}
	seen := false
	for _, line := range strings.Split(string(data), "\n") {
		b, err := base64.StdEncoding.DecodeString(line)
		if line == "" || err != nil {
			continue
		}
		_, err = note.Open(b, note.VerifierList(keys.Verifier))
		var unknown *note.UnverifiedNoteError
		switch {
		case err == nil:
			return false
		case errors.As(err, &unknown):
			seen = true
		}
	}
	return seen
}

// initKeys creates the KEK file and the audit key file of a new store;
// an existing key file is never overwritten, and a store holding
// documents without its key file is refused.
func (l *local) initKeys() (created []string, err error) {
	if err := checkKeyFile(l); err != nil {
		return nil, err
	}
	if _, err := os.Stat(l.keyfile); errors.Is(err, fs.ErrNotExist) {
		if _, err := phi.CreateLocalKeyFile(l.keyfile); err != nil {
			return nil, err
		}
		created = append(created, l.keyfile)
	}
	if _, err := os.Stat(l.auditKey); errors.Is(err, fs.ErrNotExist) {
		if _, err := audit.CreateKeyFile(l.auditKey, "faxkit-audit"); err != nil {
			return created, err
		}
		created = append(created, l.auditKey)
	}
	if len(created) == 0 {
		return nil, fmt.Errorf("%s and %s exist already: the store is initialised", l.keyfile, l.auditKey)
	}
	return created, nil
}

func (l *local) openAudit() (*audit.Log, error) {
	k, err := l.auditKeys()
	if err != nil {
		return nil, err
	}
	return audit.Open(audit.Config{Dir: l.auditDir, Keys: k})
}

// cliPrincipal identifies the operator in audit records from the
// operating system's account (user name and uid), never from $USER,
// which any caller can set.
func cliPrincipal(*env) string {
	uid := strconv.Itoa(os.Getuid())
	if u, err := user.Current(); err == nil {
		return "cli:" + u.Username + "(uid " + u.Uid + ")"
	}
	return "cli:uid " + uid
}

func cliSource() string {
	h, err := os.Hostname()
	if err != nil {
		return "cli"
	}
	return "cli@" + h
}

// audited appends one event for a CLI operation and returns opErr, or the
// audit failure if the operation succeeded but could not be recorded.
func audited(ctx context.Context, e *env, log *audit.Log, act audit.Action, doc string, opErr error) error {
	out, detail := audit.OutcomeSuccess, ""
	if opErr != nil {
		out, detail = audit.OutcomeFailure, errorClass(opErr)
		if errors.Is(opErr, phi.ErrLegalHold) {
			out, detail = audit.OutcomeDenied, phi.ErrLegalHold.Error()
		}
	}
	_, err := log.Append(ctx, audit.Event{Principal: cliPrincipal(e), Action: act, Document: doc, Source: cliSource(), Outcome: out, Detail: detail})
	if opErr != nil {
		return opErr
	}
	return err
}

// errorClass reduces an error to a PHI-free description for the audit
// log: the phi sentinel it wraps, or "error".
func errorClass(err error) string {
	for _, e := range []error{phi.ErrNotFound, phi.ErrInvalidID, phi.ErrDecrypt, phi.ErrPageDigest, phi.ErrCorrupt, phi.ErrLegalHold, phi.ErrKeyNotFound} {
		if errors.Is(err, e) {
			return e.Error()
		}
	}
	return "error"
}
