package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/faxkit/faxkit/phi"
	"github.com/faxkit/faxkit/phi/audit"
	"github.com/faxkit/faxkit/phi/redact"
)

var storeCmd = &command{
	name:    "store",
	summary: "sealed (encrypted) document store: put, get, info, list, purge, rotate-key",
	usage: `usage: faxkit store <subcommand> -dir DIR [flags] [args]

  init  create a new store's key-encryption key file and audit key file
        (never overwriting one). No other command creates keys: a missing
        key file is an error, not a reason to start a fresh key
  put [-retain DUR] [-content-type T] [-tiff] FILE...
        seal the FILEs as the pages of one new document; prints its ID.
        With -tiff, every page of each TIFF FILE becomes a sealed
        single-page TIFF
  get [-o OUT] [-page N] [-tiff] ID
        decrypt a document (all pages concatenated, or page N from 1) to
        OUT or stdout; every page's SHA-256 is verified before any of it
        is written (to stdout: the whole document is checked first, then
        read again as it is written). With -tiff, write a document
        stored with put -tiff (or received with "receive -store") as one
        multi-page TIFF. One read-content audit record per get, with its
        outcome, appended before any content leaves
  info [-json] ID
        show a document's record and its sealed metadata: direction,
        content type, the remote station's ident and number (PHI: this is
        the way to see them), file name, labels. Audited as read-metadata
  list  list documents (no PHI: IDs, dates, holds, sizes, key IDs)
  verify [ID]...
        decrypt and check every segment and page SHA-256 of the named
        documents (default: all) without writing their content
  purge [-force ID]...
        crypto-shred every document past its retention date (never one under
        legal hold); -force expires the named documents now
  hold ID on|off
        place or lift a legal hold
  rotate-key [-retire]
        add a new key-encryption key, re-wrap every data key with it, and
        with -retire destroy the old KEKs

Common flags: -dir, -keyfile, -auditdir, -auditkey (see "faxkit help audit").
-dir names an existing store: only init creates the directory. A key file
or audit key file that is not the store's is refused with a message saying
so. Every operation is written to the audit log.
`,
	run: func(ctx context.Context, e *env, args []string) error {
		return dispatch(ctx, e, args, []subcommand{
			{"init", storeInit}, {"put", storePut}, {"get", storeGet}, {"info", storeInfo}, {"list", storeList},
			{"verify", storeVerify}, {"purge", storePurge}, {"hold", storeHold}, {"rotate-key", storeRotate},
		})
	},
}

// storeSession opens the store and audit log for one subcommand.
type storeSession struct {
	s    *phi.Store
	kf   *phi.LocalKeyFile
	log  *audit.Log
	held *heldLog // the store's audit sink (log)
	l    *local
}

func openSession(ctx context.Context, e *env, l *local) (*storeSession, error) {
	if err := l.resolve(); err != nil {
		return nil, err
	}
	if err := checkKeyFile(l); err != nil {
		return nil, err
	}
	if _, err := l.auditKeys(); err != nil {
		return nil, err
	}
	if _, err := os.Stat(l.keyfile); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("key file %s not found: %w", l.keyfile, errNoKeys)
	}
	log, err := openAuditWait(ctx, l)
	if err != nil {
		return nil, auditOpenErr(l, err)
	}
	held := &heldLog{log: log}
	s, kf, err := l.openStore(ctx, e, held)
	if err == nil {
		err = checkKEK(ctx, l, s, kf)
	}
	if err != nil {
		return nil, errors.Join(err, log.Close())
	}
	return &storeSession{s: s, kf: kf, log: log, held: held, l: l}, nil
}

// docErr says what went wrong with document id in words an operator can
// act on, keeping err for errors.Is. An ID that is not a valid one is
// not repeated: it could be anything typed in its place.
func (ss *storeSession) docErr(ctx context.Context, id string, err error) error {
	var msg string
	switch {
	case err == nil:
		return nil
	case errors.Is(err, phi.ErrInvalidID):
		msg = "invalid document ID: want the 32 hex digits that 'faxkit store put' or 'faxkit store list' prints"
	case errors.Is(err, phi.ErrNotFound):
		msg = fmt.Sprintf("document %s not found in store %s (purged, or a mistyped ID: 'faxkit store list' shows the IDs)", id, ss.l.dir)
	case errors.Is(err, phi.ErrKeyNotFound):
		kek := "its key"
		if info, serr := ss.s.Stat(ctx, id); serr == nil {
			kek = "key " + info.KeyID
		}
		msg = fmt.Sprintf("document %s is sealed under %s, which key file %s does not hold (a retired key, or the wrong -keyfile)", id, kek, ss.l.keyfile)
	case errors.Is(err, phi.ErrDecrypt), errors.Is(err, phi.ErrPageDigest), errors.Is(err, phi.ErrCorrupt):
		msg = fmt.Sprintf("document %s failed verification: %v", id, err)
	case phi.ValidID(id): // an ID is random: no PHI
		return fmt.Errorf("document %s: %w", id, err)
	default:
		return err
	}
	return &docError{msg: msg, err: err}
}

// docError is a phi error about one document, explained.
type docError struct {
	msg string
	err error
}

func (e *docError) Error() string { return e.msg }
func (e *docError) Unwrap() error { return e.err }

func storeInit(ctx context.Context, e *env, args []string) error {
	var l local
	fs := newFlags(e, "store init")
	l.register(fs, e)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return errUsage
	}
	if err := l.resolveNew(); err != nil {
		return err
	}
	created, err := l.initKeys()
	if err != nil {
		return err
	}
	log, err := openAuditWait(ctx, &l)
	if err != nil {
		return auditOpenErr(&l, err)
	}
	err = audited(ctx, e, log, audit.ActionRotateKeys, "", nil)
	err = errors.Join(err, log.Close())
	for _, c := range created {
		fmt.Fprintf(e.stdout, "created %s (mode 0600; keep a copy off the data volume: without it nothing sealed can be read)\n", c)
	}
	return err
}

// errKeyMissing refuses to create a fresh key for a store that already
// holds documents: their data keys are wrapped by the missing key, and a
// new one would only make later documents unreadable alongside them.
var errKeyMissing = errors.New("the key file is missing but the store holds documents; point -keyfile (or $FAXKIT_KEYFILE) at its KEK file (a new key cannot read them)")

// checkKeyFile lets the store commands create a key only for a new, empty
// store, never silently for one that has documents.
func checkKeyFile(l *local) error {
	if _, err := os.Stat(l.keyfile); !errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	ents, err := os.ReadDir(filepath.Join(l.dir, "docs"))
	if err != nil {
		return nil // no docs directory: a new store
	}
	for _, e := range ents {
		if filepath.Ext(e.Name()) == ".rec" || filepath.Ext(e.Name()) == ".seal" {
			return errKeyMissing
		}
	}
	return nil
}

// auditWait is how long a command waits for another faxkit process to
// release the audit log (each command holds it for a moment).
const auditWait = 10 * time.Second

// openAuditWait opens the audit log, waiting while another process has it
// open (audit.ErrBusy) rather than failing a command that merely
// overlapped with another, e.g. a scheduled purge.
func openAuditWait(ctx context.Context, l *local) (*audit.Log, error) {
	deadline := time.Now().Add(auditWait)
	for {
		log, err := l.openAudit()
		if !errors.Is(err, audit.ErrBusy) || time.Now().After(deadline) {
			return log, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (ss *storeSession) close(err error) error {
	return errors.Join(err, ss.log.Close())
}

func storePut(ctx context.Context, e *env, args []string) (err error) {
	var l local
	fs := newFlags(e, "store put")
	l.register(fs, e)
	retain := fs.Duration("retain", 0, "retention period (e.g. 52560h = 6 years; 0 = until deleted)")
	ctype := fs.String("content-type", "image/tiff", "content type recorded in the sealed metadata")
	asTIFF := fs.Bool("tiff", false, "split TIFF files into sealed single-page TIFFs")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errUsage
	}
	ss, err := openSession(ctx, e, &l)
	if err != nil {
		return err
	}
	defer func() { err = ss.close(err) }()
	meta := phi.Metadata{Direction: phi.Outbound, ContentType: *ctype, FileName: redact.FileName(filepath.Base(fs.Arg(0)))}
	w, err := ss.s.Create(ctx, meta) // a failure is audited by the store
	if err != nil {
		return err
	}
	if *retain > 0 {
		w.SetRetainUntil(time.Now().Add(*retain))
	}
	for _, name := range fs.Args() {
		copyFn := copyPage
		if *asTIFF {
			copyFn = copyTIFF
		}
		if err := copyFn(w, name); err != nil {
			w.Abort()
			return audited(ctx, e, ss.log, audit.ActionCreate, "", err)
		}
	}
	info, err := w.Commit() // audited by the store as this operator
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, info.ID)
	return nil
}

func copyPage(w *phi.DocumentWriter, name string) error {
	f, err := os.Open(name)
	if err != nil {
		return errors.New("cannot open an input file") // its name may be PHI
	}
	defer f.Close()
	p, err := w.NewPage()
	if err != nil {
		return err
	}
	if _, err := io.Copy(p, f); err != nil {
		return err
	}
	return p.Close()
}

func copyTIFF(w *phi.DocumentWriter, name string) error {
	f, err := os.Open(name)
	if err != nil {
		return errors.New("cannot open an input file") // its name may be PHI
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	_, err = phi.SealTIFF(w, f, st.Size(), nil)
	return err
}

func storeGet(ctx context.Context, e *env, args []string) (err error) {
	var l local
	fs := newFlags(e, "store get")
	l.register(fs, e)
	out := fs.String("o", "", "output file (default stdout); created with mode 0600")
	page := fs.Int("page", 0, "write only this page (1-based)")
	asTIFF := fs.Bool("tiff", false, "write the pages as one multi-page TIFF")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errUsage
	}
	id := fs.Arg(0)
	ss, err := openSession(ctx, e, &l)
	if err != nil {
		return err
	}
	defer func() { err = ss.close(err) }()
	return ss.docErr(ctx, id, getDoc(ctx, ss, e, id, *out, *page, *asTIFF, e.stdout))
}

// getDoc writes document id to out (stdout when out is "") and leaves
// one read-content record for it, with the outcome, appended before any
// content leaves: the store's record of the opening is held back (see
// heldLog) until the outcome is known. OUT is written to a temporary
// file beside it and renamed into place only after every page has
// verified and the record is appended. stdout receives pages as they
// are read, so the whole document is verified first (Store.Verify
// returns no content); only if the sealed file changes between that
// check and the read is the failure recorded by a second record.
func getDoc(ctx context.Context, ss *storeSession, e *env, id, out string, page int, asTIFF bool, stdout io.Writer) error {
	h := ss.held
	h.holdFor, h.held = id, nil
	defer func() { h.holdFor, h.held = "", nil }()
	recorded := false
	// record appends the read's record once, with opErr's outcome
	// (detail: its class, or class when given); it returns opErr, or the
	// audit failure.
	record := func(opErr error, class string) error {
		if recorded {
			return opErr
		}
		recorded = true
		ev := audit.Event{Principal: cliPrincipal(e), Action: audit.ActionReadContent, Document: id, Source: cliSource()}
		if h.held != nil {
			ev = *h.held // the store's record: its time, operator and source
		}
		ev.Outcome, ev.Detail = audit.OutcomeSuccess, "unguarded"
		if opErr != nil {
			if class == "" {
				class = errorClass(opErr)
			}
			ev.Outcome, ev.Detail = audit.OutcomeFailure, "unguarded: "+class
		}
		if _, err := ss.log.Append(ctx, ev); err != nil {
			return errors.Join(opErr, fmt.Errorf("audit log: %w (nothing was written)", err))
		}
		return opErr
	}
	if out == "" {
		if err := ss.s.Verify(ctx, id); err != nil {
			return record(err, "")
		}
	}
	d, err := ss.s.Open(ctx, id)
	if err != nil {
		return record(err, "")
	}
	defer d.Close()
	if n := d.Info().Pages; page > n {
		return record(fmt.Errorf("-page %d: the document has %d page(s)", page, n), "no such page")
	}
	if out == "" {
		if err := record(nil, ""); err != nil {
			return err
		}
		err := writeDoc(d, page, asTIFF, stdout)
		if errors.Is(err, phi.ErrDecrypt) || errors.Is(err, phi.ErrPageDigest) || errors.Is(err, phi.ErrCorrupt) {
			// Verified a moment ago: the sealed file changed under us.
			audited(ctx, e, ss.log, audit.ActionReadContent, id, err)
		}
		return err
	}
	// A tampered document must not leave a partial, unverified
	// plaintext behind (or clobber an older OUT).
	f, err := os.CreateTemp(filepath.Dir(out), ".faxkit-get-*") // mode 0600
	if err != nil {
		return record(fmt.Errorf("cannot create the output file: %w", withoutPath(err)), "cannot write the output") // its name may be PHI
	}
	ow := &outputWriter{w: f}
	err = writeDoc(d, page, asTIFF, ow)
	class := ""
	if ow.err != nil {
		class = "cannot write the output"
	}
	if cerr := f.Close(); err == nil && cerr != nil {
		err, class = withoutPath(cerr), "cannot write the output"
	}
	if err = record(err, class); err == nil {
		err = withoutPath(os.Rename(f.Name(), out))
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// outputWriter remembers its writer's error, to tell the output's
// failures from the document's.
type outputWriter struct {
	w   io.Writer
	err error
}

func (o *outputWriter) Write(b []byte) (int, error) {
	n, err := o.w.Write(b)
	if err != nil && o.err == nil {
		o.err = err
	}
	return n, err
}

// withoutPath strips the file name from an *fs.PathError or
// *os.LinkError: a user's file names may be PHI.
func withoutPath(err error) error {
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	case errors.As(err, &le):
		return fmt.Errorf("%s: %w", le.Op, le.Err)
	}
	return err
}

// writeDoc writes d's pages, or page number page (from 1), to w, or as
// one multi-page TIFF.
func writeDoc(d *phi.DocumentReader, page int, asTIFF bool, w io.Writer) error {
	var err error
	if asTIFF {
		_, err = d.WriteTIFF(w, nil)
		return err
	}
	if page <= 0 {
		_, err = io.Copy(w, d)
		return err
	}
	for i := 1; ; i++ {
		p, err := d.NextPage()
		if err == io.EOF {
			return fmt.Errorf("document has %d pages", i-1)
		}
		if err != nil {
			return err
		}
		if i == page {
			_, err = io.Copy(w, p)
			return err
		}
	}
}

// docInfoJSON is "store info -json": the record's clear fields and the
// sealed metadata (PHI: remote_ident, remote, contact, file_name,
// labels).
type docInfoJSON struct {
	ID          string            `json:"id"`
	Created     time.Time         `json:"created"`
	RetainUntil *time.Time        `json:"retain_until,omitempty"`
	LegalHold   bool              `json:"legal_hold"`
	Pages       int               `json:"pages"`
	Bytes       int64             `json:"bytes"`
	KEK         string            `json:"kek"`
	Direction   string            `json:"direction"`
	ContentType string            `json:"content_type,omitempty"`
	RemoteIdent string            `json:"remote_ident,omitempty"`
	Remote      string            `json:"remote,omitempty"`
	Contact     string            `json:"contact,omitempty"`
	FileName    string            `json:"file_name,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
}

// storeInfo shows one document's record and sealed metadata: the way to
// see a received fax's remote ident, read through the store's audited
// custodian path (one read-metadata record).
func storeInfo(ctx context.Context, e *env, args []string) (err error) {
	var l local
	fs := newFlags(e, "store info")
	l.register(fs, e)
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errUsage
	}
	id := fs.Arg(0)
	ss, err := openSession(ctx, e, &l)
	if err != nil {
		return err
	}
	defer func() { err = ss.close(err) }()
	m, err := ss.s.Metadata(ctx, id) // audited by the store as this operator
	if err != nil {
		return ss.docErr(ctx, id, err)
	}
	info, err := ss.s.Stat(ctx, id)
	if err != nil {
		return ss.docErr(ctx, id, err)
	}
	j := docInfoJSON{ID: info.ID, Created: info.Created, LegalHold: info.LegalHold, Pages: info.Pages, Bytes: info.Size,
		KEK: info.KeyID, Direction: m.Direction.String(), ContentType: m.ContentType, RemoteIdent: m.RemoteIdent.Reveal(),
		Remote: m.Remote.Reveal(), Contact: m.Contact.Reveal(), FileName: m.FileName.Reveal(), Labels: m.Labels}
	if !info.RetainUntil.IsZero() {
		j.RetainUntil = &info.RetainUntil
	}
	if *asJSON {
		return json.NewEncoder(e.stdout).Encode(j)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s\t%s\n", k, v)
		}
	}
	row("id", j.ID)
	row("created", j.Created.Format(time.RFC3339))
	ret := "- (until deleted)"
	if j.RetainUntil != nil {
		ret = j.RetainUntil.Format(time.RFC3339)
	}
	row("retain until", ret)
	row("legal hold", map[bool]string{true: "yes", false: "no"}[j.LegalHold])
	row("pages", strconv.Itoa(j.Pages))
	row("bytes", strconv.FormatInt(j.Bytes, 10))
	row("kek", j.KEK)
	row("direction", j.Direction)
	row("content type", j.ContentType)
	row("remote ident", j.RemoteIdent)
	row("remote", j.Remote)
	row("contact", j.Contact)
	row("file name", j.FileName)
	for _, k := range slices.Sorted(maps.Keys(j.Labels)) {
		row("label "+k, j.Labels[k])
	}
	return tw.Flush()
}

func storeList(ctx context.Context, e *env, args []string) (err error) {
	var l local
	fs := newFlags(e, "store list")
	l.register(fs, e)
	if err := fs.Parse(args); err != nil {
		return err
	}
	ss, err := openSession(ctx, e, &l)
	if err != nil {
		return err
	}
	defer func() { err = ss.close(err) }()
	docs, listErr := ss.s.List(ctx) // damaged records are reported after the list
	if err := audited(ctx, e, ss.log, audit.ActionList, "", listErr); err != nil && listErr == nil {
		return err
	}
	defer func() { err = errors.Join(err, listErr) }()
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCREATED\tRETAIN UNTIL\tHOLD\tPAGES\tBYTES\tKEK")
	for _, d := range docs {
		ret := "-"
		if !d.RetainUntil.IsZero() {
			ret = d.RetainUntil.Format(time.RFC3339)
		}
		hold := ""
		if d.LegalHold {
			hold = "hold"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s\n", d.ID, d.Created.Format(time.RFC3339), ret, hold, d.Pages, d.Size, d.KeyID)
	}
	return tw.Flush()
}

func storeVerify(ctx context.Context, e *env, args []string) (err error) {
	var l local
	fs := newFlags(e, "store verify")
	l.register(fs, e)
	if err := fs.Parse(args); err != nil {
		return err
	}
	ss, err := openSession(ctx, e, &l)
	if err != nil {
		return err
	}
	defer func() { err = ss.close(err) }()
	ids := fs.Args()
	var errs []error
	if len(ids) == 0 {
		docs, err := ss.s.List(ctx)
		if err != nil {
			errs = append(errs, err)
		}
		for _, d := range docs {
			ids = append(ids, d.ID)
		}
	}
	bad := 0
	for _, id := range ids {
		err := ss.s.Verify(ctx, id)
		if err := audited(ctx, e, ss.log, audit.ActionReadContent, id, err); err != nil {
			bad++
			errs = append(errs, ss.docErr(ctx, id, err))
			continue
		}
		fmt.Fprintf(e.stdout, "ok %s\n", id)
	}
	if len(errs) > 0 {
		return &exitError{code: 1, err: fmt.Errorf("%d of %d documents failed: %w", bad, len(ids), errors.Join(errs...))}
	}
	return nil
}

type multiFlag []string

func (m *multiFlag) String() string     { return fmt.Sprint(*m) }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

func storePurge(ctx context.Context, e *env, args []string) (err error) {
	var l local
	fs := newFlags(e, "store purge")
	l.register(fs, e)
	var force multiFlag
	fs.Var(&force, "force", "force-expire this document now (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ss, err := openSession(ctx, e, &l)
	if err != nil {
		return err
	}
	defer func() { err = ss.close(err) }()
	var errs []error
	for _, id := range force {
		err := ss.s.ForceExpire(ctx, id)
		if err := audited(ctx, e, ss.log, audit.ActionDelete, id, err); err != nil {
			errs = append(errs, ss.docErr(ctx, id, err))
			continue
		}
		fmt.Fprintf(e.stdout, "expired %s\n", id)
	}
	ids, err := ss.s.Purge(ctx)
	for _, id := range ids {
		audited(ctx, e, ss.log, audit.ActionDelete, id, nil)
		fmt.Fprintf(e.stdout, "purged %s\n", id)
	}
	if err := audited(ctx, e, ss.log, audit.ActionPurge, "", err); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func storeHold(ctx context.Context, e *env, args []string) (err error) {
	var l local
	fs := newFlags(e, "store hold")
	l.register(fs, e)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 || (fs.Arg(1) != "on" && fs.Arg(1) != "off") {
		return errUsage
	}
	ss, err := openSession(ctx, e, &l)
	if err != nil {
		return err
	}
	defer func() { err = ss.close(err) }()
	err = ss.s.SetLegalHold(ctx, fs.Arg(0), fs.Arg(1) == "on")
	return ss.docErr(ctx, fs.Arg(0), audited(ctx, e, ss.log, audit.ActionLegalHold, fs.Arg(0), err))
}

func storeRotate(ctx context.Context, e *env, args []string) (err error) {
	var l local
	fs := newFlags(e, "store rotate-key")
	l.register(fs, e)
	retire := fs.Bool("retire", false, "destroy KEKs no longer used after re-wrapping")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ss, err := openSession(ctx, e, &l)
	if err != nil {
		return err
	}
	defer func() { err = ss.close(err) }()
	newID, err := ss.kf.Rotate()
	if err != nil {
		return audited(ctx, e, ss.log, audit.ActionRotateKeys, "", err)
	}
	n, inUse, err := ss.s.RotateKeys(ctx)
	if err := audited(ctx, e, ss.log, audit.ActionRotateKeys, "", err); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "new primary KEK %s; re-wrapped %d data keys\n", newID, n)
	if *retire {
		keep := map[string]bool{}
		for id := range inUse {
			keep[id] = true
		}
		retired, err := ss.kf.Retire(keep)
		if err := audited(ctx, e, ss.log, audit.ActionRotateKeys, "", err); err != nil {
			return err
		}
		for _, id := range retired {
			fmt.Fprintf(e.stdout, "retired KEK %s\n", id)
		}
	}
	return nil
}
