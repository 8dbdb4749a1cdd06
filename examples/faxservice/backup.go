package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/streamingaead"

	"github.com/faxkit/faxkit/phi"
	"github.com/faxkit/faxkit/phi/audit"
)

// Encrypted backups (45 CFR 164.308(a)(7)(ii)(A), 164.312(a)(2)(iv)).
//
// A backup is one file holding the database (every table, as JSON rows),
// the sealed store (records and bodies as they are on disk: the bodies
// stay sealed under their own data keys) and every audit directory with
// its checkpoints, plus the audit key file, as a tar stream encrypted
// under a fresh streaming-AEAD data key (Tink AES256_GCM_HKDF_1MB). That
// data key is wrapped by the customer's key: the primary KEK of the
// service's phi.KeyProvider (key_file, or a KMS), exactly as phi wraps a
// document's data key. The KEK itself is never in the backup, so a backup
// is useless without the customer's key, and a key destroyed by the
// customer makes every backup unreadable at once.
//
// File layout:
//
//	"FAXKIT-BACKUP 1\n"
//	header JSON line: {"version":1,"kek_id":…,"wrapped_key":base64,"created":…,"schema":N}\n
//	Tink streaming AEAD ciphertext of the tar stream
//
// The tar stream holds, in order: db/<table>.<n>.jsonl (each table's rows
// in entries of at most about backupChunk bytes, in foreign-key order),
// store/docs/<id>.rec and .seal, audit/<dir>/<file>, keys/audit.key.
//
// Both directions stream with bounded memory, whatever the number and
// size of documents and rows: the backup reads the database in one
// snapshot and copies files from disk to the encrypting writer; the
// restore decrypts segment by segment (1 MiB) into one database
// transaction and a staging directory.
//
// The ciphertext's associated data is the magic and the header line, so
// changing any byte of the file (header, body, truncation, a segment
// moved) makes the restore fail with errBackupTampered before anything is
// committed: the database rows go in one transaction committed only after
// the last segment authenticated and the staged documents and audit logs
// verified; the staged files are renamed into place only then.

const backupMagic = "FAXKIT-BACKUP 1\n"

var (
	errBackupTampered = errors.New("faxservice: backup refused: it was altered, truncated or made under another key (authentication failed)")
	errBackupFormat   = errors.New("faxservice: backup refused: not a faxservice backup")
	errRestoreTarget  = errors.New("faxservice: restore refused: the target already holds a store, an audit log or database rows; restore into an empty directory and database")
)

type backupHeader struct {
	Version    int    `json:"version"`
	KEKID      string `json:"kek_id"`
	WrappedKey string `json:"wrapped_key"`
	Created    int64  `json:"created"`
	Schema     int    `json:"schema"`
}

// backupTables are the service's tables in an order that satisfies the
// foreign keys on restore. TestBackupCoversEveryTable checks the list
// against the schema.
var backupTables = []string{"users", "tokens", "grants", "routes", "faxes", "jobs", "attempts", "events",
	"idempotency", "webhooks", "deliveries", "alerts", "groups", "group_members", "fax_reads", "attempt_traces", "drafts", "read_log", "alert_state"}

// BackupReport counts what a backup or restore holds.
type BackupReport struct {
	Rows         int `json:"rows"`
	Documents    int `json:"documents"`
	AuditRecords int `json:"audit_records"`
	Bytes        int64
}

// Backup writes an encrypted backup of the service's state to w. It runs
// beside normal work: the database is read in one transaction, then the
// store's committed documents (a fax row always follows its document's
// commit), then each audit directory up to a checkpoint taken first.
func (s *Service) Backup(ctx context.Context, w io.Writer) (BackupReport, error) {
	var rep BackupReport
	kekID, err := s.keys.PrimaryKeyID(ctx)
	if err != nil {
		return rep, err
	}
	kek, err := s.keys.KeyEncryptionAEAD(ctx, kekID)
	if err != nil {
		return rep, err
	}
	h, err := keyset.NewHandle(streamingaead.AES256GCMHKDF1MBKeyTemplate())
	if err != nil {
		return rep, err
	}
	var wrapped bytes.Buffer
	if err := h.WriteWithAssociatedData(keyset.NewBinaryWriter(&wrapped), kek, []byte("faxservice-backup/"+kekID)); err != nil {
		return rep, err
	}
	schema, err := s.db.schemaVersion(ctx)
	if err != nil {
		return rep, err
	}
	hdr, _ := json.Marshal(backupHeader{Version: 1, KEKID: kekID, WrappedKey: base64.StdEncoding.EncodeToString(wrapped.Bytes()),
		Created: s.now().UnixNano(), Schema: schema})
	ad := append([]byte(backupMagic), append(hdr, '\n')...)
	if _, err := w.Write(ad); err != nil {
		return rep, err
	}
	p, err := streamingaead.New(h)
	if err != nil {
		return rep, err
	}
	enc, err := p.NewEncryptingWriter(w, ad)
	if err != nil {
		return rep, err
	}
	tw := tar.NewWriter(enc)
	add := func(name string, b []byte) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: int64(len(b)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err := tw.Write(b)
		rep.Bytes += int64(len(b))
		return err
	}

	// 1. The database, read in one snapshot (a read-only transaction
	// on a connection of its own, so the service keeps working while a
	// slow reader takes the backup) and streamed table by table in
	// entries of at most backupChunk bytes.
	err = s.db.snapshot(ctx, func(tx *Tx) error {
		for _, t := range backupTables {
			n, err := dumpTable(ctx, tx, t, tw, &rep.Bytes)
			if err != nil {
				return err
			}
			rep.Rows += n
		}
		return nil
	})
	if err != nil {
		return rep, fmt.Errorf("faxservice: backup: database: %w", err)
	}
	// 2. The sealed store: every committed document (record and body),
	// copied from the file to the stream.
	docs := filepath.Join(s.cfg.Dir, "store", "docs")
	ents, err := os.ReadDir(docs)
	if err != nil {
		return rep, err
	}
	for _, e := range ents {
		id, ok := strings.CutSuffix(e.Name(), ".rec")
		if !ok || !phi.ValidID(id) {
			continue
		}
		// The body is opened first: a shred overwrites the record and
		// unlinks the body, so an open body is whole, and a record read
		// afterwards shows whether the document still exists.
		body, err := os.Open(filepath.Join(docs, id+".seal"))
		if err != nil {
			continue // shredded while we looked
		}
		rec, err := readSmallFile(filepath.Join(docs, id+".rec"), 1<<20)
		if err != nil || len(rec) == 0 || rec[0] == 0 {
			body.Close()
			continue
		}
		err = add("store/docs/"+id+".rec", rec)
		if err == nil {
			err = addFile(tw, "store/docs/"+id+".seal", body, &rep.Bytes)
		}
		body.Close()
		if err != nil {
			return rep, err
		}
		rep.Documents++
	}
	// 3. The audit logs: a checkpoint first, so that the copy verifies.
	if _, err := s.log.Checkpoint(); err != nil {
		return rep, fmt.Errorf("faxservice: backup: audit checkpoint: %w", err)
	}
	dirs, _ := filepath.Glob(filepath.Join(s.cfg.Dir, "audit-*"))
	for _, d := range dirs {
		files, err := os.ReadDir(d)
		if err != nil {
			return rep, err
		}
		for _, f := range files {
			if f.Name() == "lock" || !f.Type().IsRegular() {
				continue
			}
			fh, err := os.Open(filepath.Join(d, f.Name()))
			if err != nil {
				return rep, err
			}
			err = addFile(tw, "audit/"+filepath.Base(d)+"/"+f.Name(), fh, &rep.Bytes)
			fh.Close()
			if err != nil {
				return rep, err
			}
		}
	}
	rep.AuditRecords = int(s.log.Len())
	ak, err := readSmallFile(s.cfg.AuditKeyFile, 1<<20)
	if err != nil {
		return rep, err
	}
	if err := add("keys/audit.key", ak); err != nil {
		return rep, err
	}
	if err := tw.Close(); err != nil {
		return rep, err
	}
	if err := enc.Close(); err != nil {
		return rep, err
	}
	s.audit(ctx, audit.Event{Principal: router.ID, Action: audit.ActionBackup, Source: "backup", Outcome: audit.OutcomeSuccess,
		Detail: fmt.Sprintf("encrypted backup under %s: %d rows, %d documents", kekID, rep.Rows, rep.Documents)})
	return rep, nil
}

// backupChunk bounds the size of one database entry of a backup (rows
// are buffered up to it, then written), and so the memory a backup of
// any number of rows takes.
var backupChunk = 1 << 20

// readSmallFile reads a file expected to be small, refusing one larger
// than limit.
func readSmallFile(name string, limit int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err == nil && int64(len(b)) > limit {
		err = fmt.Errorf("faxservice: backup: %s is larger than %d bytes", filepath.Base(name), limit)
	}
	return b, err
}

// addFile copies f into the tar stream as name: as many bytes as it held
// when opened (a log appended to meanwhile is copied up to that point).
func addFile(tw *tar.Writer, name string, f *os.File, total *int64) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: st.Size(), Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	n, err := io.CopyN(tw, f, st.Size())
	*total += n
	if err != nil {
		return fmt.Errorf("faxservice: backup: %s changed while it was copied: %w", path.Base(name), err)
	}
	return nil
}

// dumpTable writes every row of table into the tar stream as entries
// db/<table>.<n>.jsonl of at most about backupChunk bytes, each one JSON
// array per line, its first line naming the columns. Values are integers
// or strings.
func dumpTable(ctx context.Context, tx *Tx, table string, tw *tar.Writer, total *int64) (int, error) {
	rows, err := tx.query(ctx, `SELECT * FROM `+table)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return 0, err
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	part := 0
	flush := func() error {
		part++
		if err := tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("db/%s.%d.jsonl", table, part), Mode: 0o600, Size: int64(b.Len()), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		*total += int64(b.Len())
		_, err := b.WriteTo(tw)
		b.Reset()
		return err
	}
	enc.Encode(cols)
	n := 0
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return n, err
		}
		for i, v := range vals {
			if bs, ok := v.([]byte); ok {
				vals[i] = string(bs)
			}
		}
		if err := enc.Encode(vals); err != nil {
			return n, err
		}
		n++
		if b.Len() >= backupChunk {
			if err := flush(); err != nil {
				return n, err
			}
			enc.Encode(cols)
		}
	}
	if err := rows.Err(); err != nil {
		return n, err
	}
	return n, flush()
}

// restoreBackup restores a backup read from r into the empty state
// directory and database of cfg, with keys (the customer's key) to unwrap
// it. It streams: database rows go into one transaction as they are
// read, files into a staging directory. Nothing is committed unless the
// whole backup authenticates and what it holds verifies: every document
// opens with its pages' digests checked and every audit chain and
// checkpoint verifies, in the staging directory, before the transaction
// commits and the staged files are renamed into place.
func restoreBackup(ctx context.Context, cfg Config, keys phi.KeyProvider, r io.Reader) (BackupReport, error) {
	var rep BackupReport
	cfg, err := cfg.withDefaults()
	if err != nil {
		return rep, err
	}
	br := bufio.NewReader(r)
	magic := make([]byte, len(backupMagic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != backupMagic {
		return rep, errBackupFormat
	}
	line, err := readLine(br, 1<<16)
	if err != nil {
		return rep, errBackupFormat
	}
	var hdr backupHeader
	if err := json.Unmarshal(line, &hdr); err != nil || hdr.Version != 1 {
		return rep, errBackupFormat
	}
	ad := append([]byte(backupMagic), line...)
	kek, err := keys.KeyEncryptionAEAD(ctx, hdr.KEKID)
	if err != nil {
		return rep, fmt.Errorf("faxservice: restore refused: the backup's key is not available: %w", err)
	}
	wrapped, err := base64.StdEncoding.DecodeString(hdr.WrappedKey)
	if err != nil {
		return rep, errBackupTampered
	}
	h, err := keyset.ReadWithAssociatedData(keyset.NewBinaryReader(bytes.NewReader(wrapped)), kek, []byte("faxservice-backup/"+hdr.KEKID))
	if err != nil {
		return rep, errBackupTampered
	}
	p, err := streamingaead.New(h)
	if err != nil {
		return rep, errBackupTampered
	}
	dec, err := p.NewDecryptingReader(br, ad)
	if err != nil {
		return rep, errBackupTampered
	}

	// The target must be empty.
	for _, pat := range []string{"store", "audit-*", "staging-restore"} {
		if m, _ := filepath.Glob(filepath.Join(cfg.Dir, pat)); len(m) > 0 {
			return rep, errRestoreTarget
		}
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return rep, err
	}
	if cfg.DSN == "" && cfg.DBDriver == "sqlite" {
		cfg.DSN = filepath.Join(cfg.Dir, "faxservice.db")
	}
	db, err := openDBAt(ctx, cfg.DBDriver, cfg.DSN, hdr.Schema)
	if err != nil {
		return rep, err
	}
	defer db.Close()
	var users int
	if err := db.queryRow(ctx, `SELECT COUNT(*) FROM users`).Scan(&users); err != nil || users > 0 {
		return rep, errRestoreTarget
	}
	staging := filepath.Join(cfg.Dir, "staging-restore")
	defer os.RemoveAll(staging)
	stagedKey := filepath.Join(staging, "keys", "audit.key")
	var auditDirs []os.DirEntry
	err = db.tx(ctx, func(tx *Tx) error {
		tr := tar.NewReader(dec)
		for {
			th, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return errBackupTampered
			}
			name := path.Clean(th.Name)
			if th.Typeflag != tar.TypeReg || strings.HasPrefix(name, "../") || strings.HasPrefix(name, "/") || th.Size > 1<<40 {
				return errBackupFormat
			}
			switch dir, rest, _ := strings.Cut(name, "/"); dir {
			case "db":
				// db/<table>.jsonl (one entry per table) or
				// db/<table>.<n>.jsonl (chunked).
				table, _, _ := strings.Cut(strings.TrimSuffix(rest, ".jsonl"), ".")
				n, err := loadTable(ctx, tx, table, tr)
				if err != nil {
					return err
				}
				rep.Rows += n
			case "store", "audit", "keys":
				if dir == "keys" && (rest != "audit.key" || th.Size > 1<<20) {
					return errBackupFormat
				}
				if err := stageFile(filepath.Join(staging, filepath.FromSlash(name)), tr); err != nil {
					return err
				}
				if dir == "store" && strings.HasSuffix(name, ".rec") {
					rep.Documents++
				}
			default:
				return errBackupFormat
			}
		}
		// Only a stream that authenticates to its last segment counts.
		if _, err := io.Copy(io.Discard, dec); err != nil {
			return errBackupTampered
		}
		// The drill's checks, on the staged copy: every document opens
		// with its digests checked, every audit chain verifies.
		ak, err := audit.OpenKeyFile(stagedKey)
		if err != nil {
			return errBackupFormat
		}
		if err := os.MkdirAll(filepath.Join(staging, "store"), 0o700); err != nil {
			return err
		}
		store, err := phi.OpenStore(ctx, phi.StoreConfig{Dir: filepath.Join(staging, "store"), Keys: keys})
		if err != nil {
			return err
		}
		infos, err := store.List(ctx)
		if err != nil {
			return err
		}
		for _, in := range infos {
			if err := store.Verify(ctx, in.ID); err != nil {
				return fmt.Errorf("faxservice: restore refused: document %s does not verify: %w", in.ID, err)
			}
		}
		auditDirs, _ = os.ReadDir(filepath.Join(staging, "audit"))
		for _, d := range auditDirs {
			ar, err := audit.Verify(filepath.Join(staging, "audit", d.Name()), ak)
			if err != nil {
				return fmt.Errorf("faxservice: restore refused: audit log %s does not verify: %w", d.Name(), err)
			}
			rep.AuditRecords += int(ar.Records)
		}
		auditKey, err := os.ReadFile(stagedKey)
		if err != nil {
			return err
		}
		if cur, err := os.ReadFile(cfg.AuditKeyFile); err == nil {
			if !bytes.Equal(cur, auditKey) {
				return fmt.Errorf("faxservice: restore refused: %s exists and differs from the backup's audit key", cfg.AuditKeyFile)
			}
		} else if err := os.WriteFile(cfg.AuditKeyFile, auditKey, 0o600); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return rep, err
	}
	// Committed: move the staged files into place.
	if err := os.Rename(filepath.Join(staging, "store"), filepath.Join(cfg.Dir, "store")); err != nil {
		return rep, err
	}
	for _, d := range auditDirs {
		if err := os.Rename(filepath.Join(staging, "audit", d.Name()), filepath.Join(cfg.Dir, d.Name())); err != nil {
			return rep, err
		}
	}
	if err := db.migrate(ctx); err != nil { // the backup may be older than this binary
		return rep, err
	}
	return rep, nil
}

// readLine reads a line of at most limit bytes.
func readLine(br *bufio.Reader, limit int) ([]byte, error) {
	var line []byte
	for {
		frag, err := br.ReadSlice('\n')
		line = append(line, frag...)
		if len(line) > limit {
			return nil, errBackupFormat
		}
		if err != bufio.ErrBufferFull {
			return line, err
		}
	}
}

// stageFile writes one file of a backup being restored.
func stageFile(dst string, r io.Reader) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return errBackupFormat // a name given twice
	}
	_, err = io.Copy(f, r)
	if err == nil {
		err = f.Sync()
	}
	if e := f.Close(); err == nil {
		err = e
	}
	if err != nil {
		return errBackupTampered
	}
	return nil
}

// loadTable inserts the rows dumped by dumpTable.
func loadTable(ctx context.Context, tx *Tx, table string, r io.Reader) (int, error) {
	known := false
	for _, t := range backupTables {
		known = known || t == table
	}
	if !known {
		return 0, errBackupFormat
	}
	dec := json.NewDecoder(r)
	dec.UseNumber()
	var cols []string
	if err := dec.Decode(&cols); err != nil || len(cols) == 0 {
		return 0, errBackupTampered
	}
	for _, c := range cols {
		if strings.Trim(c, "abcdefghijklmnopqrstuvwxyz_") != "" {
			return 0, errBackupFormat
		}
	}
	q := `INSERT INTO ` + table + ` (` + strings.Join(cols, ", ") + `) VALUES (` + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + `)`
	stmt, err := tx.PrepareContext(ctx, tx.db.rebind(q))
	if err != nil {
		return 0, fmt.Errorf("faxservice: restore: table %s: %w", table, err)
	}
	defer stmt.Close()
	n := 0
	for {
		var vals []any
		err := dec.Decode(&vals)
		if err == io.EOF {
			return n, nil
		}
		if err != nil || len(vals) != len(cols) {
			return n, errBackupTampered
		}
		for i, v := range vals {
			if num, ok := v.(json.Number); ok {
				x, err := num.Int64()
				if err != nil {
					return n, errBackupFormat
				}
				vals[i] = x
			}
		}
		if _, err := stmt.ExecContext(ctx, vals...); err != nil {
			return n, fmt.Errorf("faxservice: restore: table %s: %w", table, err)
		}
		n++
	}
}

// backupFileName is a default name for a backup made now.
func backupFileName(now time.Time) string {
	return "faxservice-" + now.UTC().Format("20060102T150405Z") + ".fxbackup"
}

// postBackup streams an encrypted backup to an admin. The body is
// ciphertext under the customer's key: no PHI crosses in clear, and the
// admin, who may read no content, can restore it only with that key.
func (s *Service) postBackup(w http.ResponseWriter, r *http.Request, who phi.Principal, src string) {
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", "attachment; filename="+backupFileName(s.now()))
	w.WriteHeader(http.StatusOK)
	rep, err := s.Backup(r.Context(), w)
	s.audit(r.Context(), audit.Event{Principal: who.ID, Action: audit.ActionBackup, Source: src, Outcome: outcome(err),
		Detail: fmt.Sprintf("backup downloaded: %d rows, %d documents", rep.Rows, rep.Documents)})
	if err != nil {
		// The status is sent: cut the stream so the client sees a
		// truncated (and so unauthenticated) backup, never a short one
		// that looks whole.
		s.logger.Error("backup failed", "err", err)
		panic(http.ErrAbortHandler)
	}
}
