package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"

	"github.com/faxkit/faxkit/phi"
	"github.com/faxkit/faxkit/phi/audit"
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

func (l *local) resolve() error {
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
	return os.MkdirAll(l.dir, 0o700)
}

// errNoKeys: a missing key file is never replaced silently by a fresh
// key, which could not read what the store or log already holds.
var errNoKeys = errors.New("create a new store's keys with 'faxkit store init -dir DIR', or point -keyfile/-auditkey (or $FAXKIT_KEYFILE/$FAXKIT_AUDITKEY) at the existing ones")

// heldLog is a store's audit sink: the audit log the command holds at the
// moment (receive holds it only at the start and the end of a call).
type heldLog struct{ log *audit.Log }

var errAuditNotHeld = errors.New("audit log not open")

func (h *heldLog) Append(ctx context.Context, e audit.Event) (uint64, error) {
	if h.log == nil {
		return 0, errAuditNotHeld
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
		return nil, nil, err
	}
	s, err := phi.OpenStore(ctx, phi.StoreConfig{Dir: l.dir, Keys: kf, Audit: log, Operator: cliPrincipal(e)})
	return s, kf, err
}

func (l *local) auditKeys() (audit.Keys, error) {
	k, err := audit.OpenKeyFile(l.auditKey)
	if errors.Is(err, fs.ErrNotExist) {
		return k, fmt.Errorf("audit key file %s not found: %w", l.auditKey, errNoKeys)
	}
	return k, err
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
		out, detail = audit.OutcomeFailure, "error"
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
