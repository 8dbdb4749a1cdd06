package main

import (
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"

	"github.com/faxkit/faxkit/phi"
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

func (l *local) openStore(ctx context.Context) (*phi.Store, *phi.LocalKeyFile, error) {
	kf, err := phi.OpenOrCreateLocalKeyFile(l.keyfile)
	if err != nil {
		return nil, nil, err
	}
	s, err := phi.OpenStore(ctx, phi.StoreConfig{Dir: l.dir, Keys: kf})
	return s, kf, err
}

func (l *local) auditKeys() (phi.AuditKeys, error) {
	return phi.OpenOrCreateAuditKeyFile(l.auditKey, "faxkit-audit")
}

func (l *local) openAudit() (*phi.AuditLog, error) {
	k, err := l.auditKeys()
	if err != nil {
		return nil, err
	}
	return phi.OpenAuditLog(phi.AuditConfig{Dir: l.auditDir, Keys: k})
}

// cliPrincipal identifies the operator in audit records.
func cliPrincipal(e *env) string {
	u := e.getenv("USER")
	if u == "" {
		u = "unknown"
	}
	return "cli:" + u
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
func audited(ctx context.Context, e *env, log *phi.AuditLog, act phi.Action, doc string, opErr error) error {
	out, detail := phi.OutcomeSuccess, ""
	if opErr != nil {
		out, detail = phi.OutcomeFailure, "error"
		if errors.Is(opErr, phi.ErrLegalHold) {
			out, detail = phi.OutcomeDenied, phi.ErrLegalHold.Error()
		}
	}
	_, err := log.Append(ctx, phi.Event{Principal: cliPrincipal(e), Action: act, Document: doc, Source: cliSource(), Outcome: out, Detail: detail})
	if opErr != nil {
		return opErr
	}
	return err
}
