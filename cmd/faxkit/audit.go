package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/faxkit/faxkit/phi/audit"
	"os"
	"time"
)

var auditCmd = &command{
	name:    "audit",
	summary: "audit log: verify, export, checkpoint",
	usage: `usage: faxkit audit <subcommand> -dir DIR [flags]

  verify [-checkpoint FILE]...
        check every record (sequence, HMAC chain, encryption) and every
        signed checkpoint; a checkpoint FILE kept elsewhere also proves the
        log was not truncated. Exit status 1 names the first bad record.
  export [-from RFC3339] [-to RFC3339]
        verify and print the records as JSON lines for review
  checkpoint
        sign the current tree head and print it; keep it off this machine

Flags: -dir (or $FAXKIT_DIR), -auditdir (default <dir>/audit),
-auditkey (default <dir>/audit.key or $FAXKIT_AUDITKEY).
`,
	run: func(ctx context.Context, e *env, args []string) error {
		return dispatch(ctx, e, args, []subcommand{
			{"verify", auditVerify}, {"export", auditExport}, {"checkpoint", auditCheckpoint},
		})
	},
}

func auditVerify(ctx context.Context, e *env, args []string) error {
	var l local
	fs := newFlags(e, "audit verify")
	l.register(fs, e)
	var cps multiFlag
	fs.Var(&cps, "checkpoint", "trusted signed checkpoint file (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := l.resolve(); err != nil {
		return err
	}
	keys, err := l.auditKeys()
	if err != nil {
		return err
	}
	var trusted [][]byte
	for _, name := range cps {
		b, err := os.ReadFile(name)
		if err != nil {
			return err
		}
		trusted = append(trusted, b)
	}
	rep, err := audit.Verify(l.auditDir, keys, trusted...)
	if err != nil {
		if errors.Is(err, audit.ErrTampered) && wrongAuditKey(&l) {
			err = auditOpenErr(&l, err)
		}
		return &exitError{code: 1, err: fmt.Errorf("FAILED: %w", err)}
	}
	fmt.Fprintf(e.stdout, "OK: %d records in %d segments; %d signed checkpoints verified", rep.Records, rep.Segments, rep.Checkpoints)
	if rep.Checkpoints > 0 {
		fmt.Fprintf(e.stdout, "; latest covers %d records (%s)", rep.Latest.Size, rep.Latest.Time.Format(time.RFC3339))
	}
	fmt.Fprintln(e.stdout)
	if rep.Latest.Size < rep.Records {
		fmt.Fprintf(e.stdout, "note: %d records after the latest checkpoint are covered by the HMAC chain only\n", rep.Records-rep.Latest.Size)
	}
	return nil
}

func auditExport(ctx context.Context, e *env, args []string) error {
	var l local
	fs := newFlags(e, "audit export")
	l.register(fs, e)
	fromS := fs.String("from", "", "first time to include (RFC 3339)")
	toS := fs.String("to", "", "end time, exclusive (RFC 3339)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var from, to time.Time
	var err error
	if *fromS != "" {
		if from, err = time.Parse(time.RFC3339, *fromS); err != nil {
			return err
		}
	}
	if *toS != "" {
		if to, err = time.Parse(time.RFC3339, *toS); err != nil {
			return err
		}
	}
	if err := l.resolve(); err != nil {
		return err
	}
	keys, err := l.auditKeys()
	if err != nil {
		return err
	}
	// The export is itself an audited access: record it before any record
	// leaves, and refuse if it cannot be recorded. A log that fails
	// verification cannot be appended to; its good prefix is still
	// exported for review (and the command fails).
	log, err := openAuditWait(ctx, &l)
	switch {
	case err == nil:
		if err := errors.Join(audited(ctx, e, log, audit.ActionAuditRead, "", nil), log.Close()); err != nil {
			return err
		}
	case errors.Is(err, audit.ErrTampered) && wrongAuditKey(&l):
		return auditOpenErr(&l, err)
	case errors.Is(err, audit.ErrTampered), errors.Is(err, audit.ErrTruncated):
	default:
		return auditOpenErr(&l, err)
	}
	if _, err := audit.Export(l.auditDir, keys, e.stdout, from, to); err != nil {
		return &exitError{code: 1, err: err}
	}
	return nil
}

func auditCheckpoint(ctx context.Context, e *env, args []string) error {
	var l local
	fs := newFlags(e, "audit checkpoint")
	l.register(fs, e)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := l.resolve(); err != nil {
		return err
	}
	log, err := openAuditWait(ctx, &l)
	if err != nil {
		return auditOpenErr(&l, err)
	}
	cp, err := log.Checkpoint()
	if err != nil {
		log.Close()
		return err
	}
	if err := log.Close(); err != nil {
		return err
	}
	_, err = e.stdout.Write(cp)
	return err
}
