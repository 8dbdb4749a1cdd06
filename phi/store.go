package phi

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/faxkit/faxkit/internal/clock"
	"github.com/faxkit/faxkit/phi/audit"
	"github.com/faxkit/faxkit/phi/internal/fileutil"
	"github.com/faxkit/faxkit/phi/redact"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tink-crypto/tink-go/v2/tink"
)

// StoreConfig configures a Store. The zero value is not usable: Dir and Keys
// are required; every other field has a working default.
type StoreConfig struct {
	// Dir is the store's root directory (created with mode 0700).
	Dir string
	// Keys wraps per-document data keys. Required. Usually a *LocalKeyFile
	// or a *KMSKeyProvider.
	Keys KeyProvider
	// Clock supplies creation times and drives retention. Nil: the system clock.
	Clock clock.Clock
	// Segment selects the streaming AEAD segment size. Default: Segment4KB.
	Segment SegmentSize
	// DefaultRetention is added to the creation time to give each new
	// document's retention date. Default 0: kept until deleted.
	DefaultRetention time.Duration
	// Logger receives operational events (never PHI). Default: discard.
	Logger *slog.Logger

	// Audit and Operator enable the Store's own content methods (Create,
	// Put, Open, Get, Metadata): the unguarded, maintenance path for a
	// custodian holding the keys (a CLI, a migration). Each such call is
	// written to Audit as Operator, with the detail "unguarded". Without
	// them those methods fail with ErrUnguarded, and document content is
	// reachable only through a Guard. A Guard needs neither: it audits
	// through its Policy. *audit.Log implements Audit.
	Audit interface {
		Append(ctx context.Context, e audit.Event) (uint64, error)
	}
	Operator string

	fs fsOps // tests inject crashes here; nil = the real filesystem
}

// Store keeps sealed fax documents: each document is a sequence of pages
// (opaque byte streams, typically one TIFF Class F page each) encrypted with
// its own data key. See the package documentation for the on-disk layout.
//
// A Store is safe for concurrent use.
type Store struct {
	dir       string
	keys      KeyProvider
	clock     clock.Clock
	seg       SegmentSize
	retention time.Duration
	fs        fsOps
	log       *slog.Logger
	mu        sync.Mutex // serializes record rewrites and deletions
	audit     interface {
		Append(ctx context.Context, e audit.Event) (uint64, error)
	}
	operator string
}

// DocInfo is the clear (non-PHI) part of a document's record.
type DocInfo struct {
	ID          string
	Created     time.Time
	RetainUntil time.Time // zero: no retention limit
	LegalHold   bool
	KeyID       string // KEK that wraps the data key
	Pages       int
	Size        int64 // plaintext bytes in all pages
	SealedSize  int64 // bytes of the sealed body on disk
}

// Direction says whether a fax was sent or received.
type Direction int

const (
	DirectionUnknown Direction = iota
	Inbound
	Outbound
)

func (d Direction) String() string {
	switch d {
	case DirectionUnknown:
		return "unknown"
	case Inbound:
		return "inbound"
	case Outbound:
		return "outbound"
	}
	return fmt.Sprintf("Direction(%d)", int(d))
}

// Metadata describes a document. It is PHI: it is stored sealed with the
// document's data key and bound (by SHA-256) into the body's associated
// data, and it redacts itself when logged.
type Metadata struct {
	Direction   Direction         `json:"direction,omitempty"`
	Remote      redact.FaxNumber  `json:"remote,omitempty"`
	RemoteIdent redact.StationID  `json:"remote_ident,omitempty"`
	Contact     redact.Name       `json:"contact,omitempty"`
	FileName    redact.FileName   `json:"file_name,omitempty"`
	ContentType string            `json:"content_type,omitempty"` // e.g. "image/tiff"
	Labels      map[string]string `json:"labels,omitempty"`
}

// LogValue implements slog.LogValuer: metadata never reaches a log in clear.
func (m Metadata) LogValue() slog.Value { return slog.StringValue(redact.Redacted) }

// record is the per-document file <id>.rec. It holds no PHI in clear.
type record struct {
	Version     int       `json:"v"`
	ID          string    `json:"id"`
	Created     time.Time `json:"created"`
	RetainUntil time.Time `json:"retain_until,omitzero"`
	LegalHold   bool      `json:"legal_hold,omitempty"`
	KeyID       string    `json:"kek_id"`
	WrappedKey  []byte    `json:"wrapped_key"`
	SealedMeta  []byte    `json:"sealed_meta"`
	Pages       int       `json:"pages"`
	Size        int64     `json:"size"`
	SealedSize  int64     `json:"sealed_size"`
	Segment     string    `json:"segment"`
}

// manifest is sealed inside record.SealedMeta.
type manifest struct {
	Meta  []byte     `json:"meta"` // the document's metadata (JSON)
	Pages []PageInfo `json:"pages"`
	// BodyMeta is the metadata bound into the body's AD when it differs
	// from Meta (completed with UpdateMetadata before commit); absent,
	// Meta is. The manifest is sealed under the data key, so both are
	// authenticated.
	BodyMeta []byte `json:"body_meta,omitempty"`
}

// bodyMeta is the metadata JSON the body's AD binds.
func (m *manifest) bodyMeta() []byte {
	if m.BodyMeta != nil {
		return m.BodyMeta
	}
	return m.Meta
}

// keyAD is the associated data of the wrapped data key: the document ID and
// every clear field that governs the document's life (creation, retention,
// legal hold). Editing any of them on disk makes the key unwrap fail, so a
// tampered record can neither be read nor purged.
func (r *record) keyAD() []byte {
	ad := append([]byte(adDataKey), r.ID...)
	ad = binary.BigEndian.AppendUint64(ad, uint64(r.Created.UnixNano()))
	var ret int64
	if !r.RetainUntil.IsZero() {
		ret = r.RetainUntil.UnixNano()
	}
	ad = binary.BigEndian.AppendUint64(ad, uint64(ret))
	if r.LegalHold {
		ad = append(ad, 1)
	} else {
		ad = append(ad, 0)
	}
	return ad
}

func (r *record) info() DocInfo {
	return DocInfo{ID: r.ID, Created: r.Created, RetainUntil: r.RetainUntil, LegalHold: r.LegalHold,
		KeyID: r.KeyID, Pages: r.Pages, Size: r.Size, SealedSize: r.SealedSize}
}

const (
	docsDir   = "docs"
	sealExt   = ".seal"
	recExt    = ".rec"
	recordVer = 1
)

// OpenStore opens (creating if needed) the store in cfg.Dir and recovers
// from any interrupted write: temporary files and bodies whose record was
// never committed are removed, and half-finished deletions are completed.
// While a DocumentWriter is open on the same directory, in this process or
// another, temporary files and bodies are left for a later open: they may
// be its work in progress. Several processes may use one store at once
// where the OS has flock (see writersLock and recordsLock).
func OpenStore(ctx context.Context, cfg StoreConfig) (*Store, error) {
	if cfg.Dir == "" {
		return nil, errors.New("phi: StoreConfig.Dir is required")
	}
	if cfg.Keys == nil {
		return nil, errors.New("phi: StoreConfig.Keys is required")
	}
	if _, err := cfg.Segment.template(); err != nil {
		return nil, err
	}
	s := &Store{
		dir:       filepath.Join(cfg.Dir, docsDir),
		keys:      cfg.Keys,
		clock:     clockOr(cfg.Clock),
		seg:       cfg.Segment,
		retention: cfg.DefaultRetention,
		fs:        cfg.fs,
		log:       cfg.Logger,
		audit:     cfg.Audit,
		operator:  cfg.Operator,
	}
	if s.fs == nil {
		s.fs = osFS{}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if err := s.fs.MkdirAll(s.dir, 0o700); err != nil {
		return nil, err
	}
	if err := s.recover(); err != nil {
		return nil, err
	}
	return s, nil
}

// Cross-process locks (flock, in the docs directory). Store.mu only
// serializes one Store's own calls.
const (
	// writersLock is held shared by every DocumentWriter from Create to
	// Commit or Abort, and exclusively by recovery: another process's
	// OpenStore must not take a document being written for the leftovers
	// of a crash (its temporary body, or its body renamed but not yet
	// given a record) and delete it.
	writersLock = ".lock-writers"
	// recordsLock is held exclusively around every read-modify-write of a
	// record (retention, hold, key rotation, deletion), so that a record
	// rewritten by one process cannot resurrect one another process has
	// just shredded.
	recordsLock = ".lock-records"
)

func (s *Store) lockRecords() (release func(), err error) {
	f, err := fileutil.Lock(filepath.Join(s.dir, recordsLock), true, true)
	if err != nil {
		return nil, err
	}
	return func() { f.Close() }, nil
}

func (s *Store) recover() error {
	// If a writer is active elsewhere, temporary files and bodies without
	// a record may be its work in progress: leave them to a later open.
	wl, err := fileutil.Lock(filepath.Join(s.dir, writersLock), true, false)
	writing := errors.Is(err, fileutil.ErrLockBusy)
	if err != nil && !writing {
		return err
	}
	if wl != nil {
		defer wl.Close()
	}
	release, err := s.lockRecords()
	if err != nil {
		return err
	}
	defer release()
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for _, e := range entries {
		have[e.Name()] = true
	}
	removed := 0
	rm := func(name string) error {
		if err := s.fs.Remove(filepath.Join(s.dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		removed++
		return nil
	}
	for _, e := range entries {
		name := e.Name()
		switch {
		case strings.HasPrefix(name, tmpPrefix) && !writing:
			if err := rm(name); err != nil {
				return err
			}
		case strings.HasSuffix(name, sealExt) && !writing:
			id := strings.TrimSuffix(name, sealExt)
			if !have[id+recExt] {
				if err := rm(name); err != nil { // uncommitted or deleted
					return err
				}
			}
		case strings.HasSuffix(name, recExt):
			data, err := os.ReadFile(filepath.Join(s.dir, name))
			if err != nil {
				return err
			}
			if shredStarted(data) { // crypto-shred was interrupted: finish it
				id := strings.TrimSuffix(name, recExt)
				if have[id+sealExt] {
					if err := rm(id + sealExt); err != nil {
						return err
					}
				}
				if err := rm(name); err != nil {
					return err
				}
			}
		}
	}
	if removed > 0 {
		s.log.Info("phi: store recovered interrupted writes", "removed_files", removed)
		return s.fs.SyncDir(s.dir)
	}
	return nil
}

// shredStarted reports whether a record file is being (or was) shredded:
// Delete overwrites it with zeros from the start, and a JSON record never
// starts with a zero byte. A record only partly zeroed (power lost during
// the overwrite) is therefore recognised too, instead of staying behind as
// a corrupt record that blocks RotateKeys and cannot be deleted.
func shredStarted(b []byte) bool { return len(b) == 0 || b[0] == 0 }

func newDocID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b[:])
}

// ValidID reports whether id has the form of a store document ID
// (32 lower-case hex digits). IDs are random and carry no PHI.
func ValidID(id string) bool {
	if len(id) != 32 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func (s *Store) path(id, ext string) string { return filepath.Join(s.dir, id+ext) }

func (s *Store) readRecord(id string) (*record, error) {
	if !ValidID(id) {
		return nil, ErrInvalidID
	}
	data, err := os.ReadFile(s.path(id, recExt))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if shredStarted(data) {
		return nil, ErrNotFound // shredded, or its shredding was interrupted
	}
	if len(data) > maxRecordSize {
		return nil, corrupt("record too large")
	}
	var r record
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, corrupt("record: %v", err)
	}
	if r.Version != recordVer || r.ID != id {
		return nil, corrupt("record header")
	}
	return &r, nil
}

func (s *Store) writeRecord(r *record) error {
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return writeFileAtomic(s.fs, s.dir, r.ID+recExt, data)
}

func (s *Store) unwrap(ctx context.Context, r *record) (*dataKey, error) {
	kek, err := s.keys.KeyEncryptionAEAD(ctx, r.KeyID)
	if err != nil {
		return nil, err
	}
	dk, err := unwrapDataKey(kek, r.keyAD(), r.WrappedKey)
	if err != nil {
		return nil, fmt.Errorf("%w (record of %s fails authentication)", err, r.ID)
	}
	return dk, nil
}

// DocumentWriter streams the pages of one new document into a sealed
// temporary file. Nothing is visible in the store until Commit returns.
type DocumentWriter struct {
	s           *Store
	id          string
	metaJSON    []byte
	dk          *dataKey
	kekID       string
	kek         tink.AEAD
	f           fsFile
	cw          countingWriter
	enc         io.WriteCloser
	ps          *pageStreamWriter
	created     time.Time
	retainUntil time.Time
	done        bool
	lock        *os.File // writersLock, shared, until Commit or Abort ends
	finalMeta   []byte   // metadata completed by UpdateMetadata; nil: metaJSON
	meta        Metadata // the metadata as it stands
	// committed runs at the end of Commit (the Guard grants the creator
	// and audits the commit there).
	committed func(DocInfo, error)
}

// UpdateMetadata completes the document's sealed metadata before Commit:
// f changes a copy of the metadata given to Create (a receiving
// application sets RemoteIdent once the call has told it). It returns
// ErrClosed after Commit or Abort.
func (w *DocumentWriter) UpdateMetadata(f func(*Metadata)) error {
	if w.done {
		return ErrClosed
	}
	m := w.meta
	m.Labels = maps.Clone(m.Labels)
	f(&m)
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	w.meta, w.finalMeta = m, b
	return nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

// create starts a new document. Write each page through NewPage, then call
// Commit (or Abort).
func (s *Store) create(ctx context.Context, meta Metadata) (*DocumentWriter, error) {
	metaJSON, err := json.Marshal(meta)
	if err != nil {
		return nil, err
	}
	kekID, err := s.keys.PrimaryKeyID(ctx)
	if err != nil {
		return nil, err
	}
	kek, err := s.keys.KeyEncryptionAEAD(ctx, kekID)
	if err != nil {
		return nil, err
	}
	dk, err := newDataKey(s.seg)
	if err != nil {
		return nil, err
	}
	id := newDocID()
	lock, err := fileutil.Lock(filepath.Join(s.dir, writersLock), false, true)
	if err != nil {
		return nil, err
	}
	f, err := s.fs.CreateTemp(s.dir, tmpPrefix+"*")
	if err != nil {
		lock.Close()
		return nil, err
	}
	w := &DocumentWriter{s: s, id: id, metaJSON: metaJSON, meta: meta, dk: dk, kekID: kekID, kek: kek, f: f, lock: lock}
	w.cw.w = f
	w.created = s.clock.Now().UTC().Round(0)
	if s.retention > 0 {
		w.retainUntil = w.created.Add(s.retention)
	}
	w.enc, err = dk.p.NewEncryptingWriter(&w.cw, documentAD(id, metaJSON))
	if err == nil {
		w.ps, err = newPageStreamWriter(w.enc)
	}
	if err != nil {
		w.Abort()
		return nil, err
	}
	return w, nil
}

// ID returns the new document's ID (valid once Commit succeeds).
func (w *DocumentWriter) ID() string { return w.id }

// SetRetainUntil sets the document's retention date (zero: none).
func (w *DocumentWriter) SetRetainUntil(t time.Time) { w.retainUntil = normTime(t) }

// normTime drops the monotonic reading and location so a time survives the
// JSON round trip of the record unchanged (it is bound into keyAD).
func normTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Round(0)
}

// NewPage starts the next page. Close the returned writer to end the page;
// its SHA-256 is recorded and checked on every read.
func (w *DocumentWriter) NewPage() (io.WriteCloser, error) {
	if w.done {
		return nil, ErrClosed
	}
	return w.ps.newPage()
}

// Abort discards the document.
func (w *DocumentWriter) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	defer w.unlock()
	if w.ps != nil && w.ps.cur != nil {
		w.ps.cur.h.stop()
	}
	w.f.Close()
	return w.s.fs.Remove(w.f.Name())
}

func (w *DocumentWriter) unlock() {
	if w.lock != nil {
		w.lock.Close()
		w.lock = nil
	}
}

// Commit seals the document and makes it visible atomically:
//
//	1 finish the sealed stream, fsync and close the temporary body
//	2 rename it to <id>.seal and fsync the directory
//	3 write <id>.rec (wrapped data key, sealed metadata) to a temporary
//	  file, fsync, rename, fsync the directory  <- commit point
//
// A crash before step 3's rename leaves an orphan body that OpenStore
// removes; after it, the whole document is present.
func (w *DocumentWriter) Commit() (DocInfo, error) {
	if w.done {
		return DocInfo{}, ErrClosed
	}
	if w.committed != nil {
		info, err := w.commit()
		w.committed(info, err)
		return info, err
	}
	return w.commit()
}

func (w *DocumentWriter) commit() (DocInfo, error) {
	defer w.unlock()
	s := w.s
	fail := func(err error) (DocInfo, error) {
		w.Abort()
		return DocInfo{}, err
	}
	if err := w.ps.finish(); err != nil {
		return fail(err)
	}
	if err := w.enc.Close(); err != nil {
		return fail(err)
	}
	if err := w.f.Sync(); err != nil {
		return fail(err)
	}
	if err := w.f.Close(); err != nil {
		return fail(err)
	}
	m := manifest{Meta: w.metaJSON, Pages: w.ps.pages}
	if w.finalMeta != nil {
		m.Meta, m.BodyMeta = w.finalMeta, w.metaJSON
	}
	man, err := json.Marshal(m)
	if err != nil {
		return fail(err)
	}
	sealedMeta, err := w.dk.sealBytes(man, metadataAD(w.id))
	if err != nil {
		return fail(err)
	}
	if err := s.fs.Rename(w.f.Name(), s.path(w.id, sealExt)); err != nil {
		return fail(err)
	}
	w.done = true
	if err := s.fs.SyncDir(s.dir); err != nil {
		return DocInfo{}, err // orphan body is removed by the next OpenStore
	}
	r := &record{
		Version: recordVer, ID: w.id, Created: w.created, RetainUntil: w.retainUntil,
		KeyID: w.kekID, SealedMeta: sealedMeta,
		Pages: len(w.ps.pages), Size: w.ps.size, SealedSize: w.cw.n, Segment: s.seg.String(),
	}
	if r.WrappedKey, err = w.dk.wrap(w.kek, r.keyAD()); err != nil {
		return DocInfo{}, err
	}
	if err := s.writeRecord(r); err != nil {
		return DocInfo{}, err
	}
	return r.info(), nil
}

// put stores r as a one-page document.
func (s *Store) put(ctx context.Context, meta Metadata, r io.Reader) (DocInfo, error) {
	w, err := s.create(ctx, meta)
	if err != nil {
		return DocInfo{}, err
	}
	p, err := w.NewPage()
	if err == nil {
		_, err = io.Copy(p, r)
	}
	if err == nil {
		err = p.Close()
	}
	if err != nil {
		w.Abort()
		return DocInfo{}, err
	}
	return w.Commit()
}

// Stat returns a document's clear record without decrypting anything.
func (s *Store) Stat(_ context.Context, id string) (DocInfo, error) {
	r, err := s.readRecord(id)
	if err != nil {
		return DocInfo{}, err
	}
	return r.info(), nil
}

func (s *Store) openManifest(ctx context.Context, r *record) (*dataKey, *manifest, Metadata, error) {
	dk, err := s.unwrap(ctx, r)
	if err != nil {
		return nil, nil, Metadata{}, err
	}
	plain, err := dk.openBytes(r.SealedMeta, metadataAD(r.ID), maxMetaBytes+int64(r.Pages)*128)
	if err != nil {
		return nil, nil, Metadata{}, err
	}
	var m manifest
	if err := json.Unmarshal(plain, &m); err != nil {
		return nil, nil, Metadata{}, corrupt("manifest")
	}
	var meta Metadata
	if err := json.Unmarshal(m.Meta, &meta); err != nil {
		return nil, nil, Metadata{}, corrupt("metadata")
	}
	if len(m.Pages) != r.Pages {
		return nil, nil, Metadata{}, corrupt("page count")
	}
	return dk, &m, meta, nil
}

// metadata decrypts a document's metadata without touching its pages.
func (s *Store) metadata(ctx context.Context, id string) (Metadata, error) {
	r, err := s.readRecord(id)
	if err != nil {
		return Metadata{}, err
	}
	_, _, meta, err := s.openManifest(ctx, r)
	return meta, err
}

// DocumentReader streams a sealed document's pages back. Every page's
// SHA-256 is checked when its end is reached; any tampering, truncation,
// reordering or wrong key surfaces as an error wrapping ErrDecrypt,
// ErrCorrupt or ErrPageDigest, never as silently wrong data. The first
// such error is sticky: every later read returns it.
//
// A reader from an audited read (Guard.Open, and Store.Open and Store.Get
// on the custodian path; also Store.Verify on a Store with an audit sink)
// records that first verification failure itself: one audit record,
// action integrity-failure, outcome failure, for the document and the
// principal (or operator) that opened it, detail e.g. "integrity check
// failed on page N: <error class>" (no PHI). The caller
// need not, and the error it sees is the same (errors.Is on the sentinels
// holds; if the record cannot be appended, the audit error is joined to
// it). An error reading the sealed file itself, a read after Close, or
// the caller's own writer failing during io.Copy is not recorded.
//
// A DocumentReader is not safe for concurrent use; Close it from the
// goroutine that reads it.
type DocumentReader struct {
	info   DocInfo
	meta   Metadata
	pages  []PageInfo
	f      *os.File
	ps     *pageStreamReader
	cur    io.Reader // for whole-document Read
	closed bool
}

// open opens a document for reading.
func (s *Store) open(ctx context.Context, id string) (*DocumentReader, error) {
	r, err := s.readRecord(id)
	if err != nil {
		return nil, err
	}
	dk, man, meta, err := s.openManifest(ctx, r)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(s.path(id, sealExt))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, corrupt("body missing")
	}
	if err != nil {
		return nil, err
	}
	src := &sourceReader{r: f}
	dr, err := dk.p.NewDecryptingReader(src, documentAD(id, man.bodyMeta()))
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%w", ErrDecrypt)
	}
	ps := newPageStreamReader(dr, man.Pages)
	ps.src = src
	return &DocumentReader{info: r.info(), meta: meta, pages: man.Pages, f: f, ps: ps}, nil
}

// auditIntegrity makes d append one audit record through a, as principal
// on document from source, when it first fails verification (see
// DocumentReader). detailPrefix ("", "unguarded: " or "verify: ")
// starts the detail.
// Appending does not wait on ctx's cancellation: the failure is recorded
// even when the request that opened d has ended.
func (d *DocumentReader) auditIntegrity(ctx context.Context, a interface {
	Append(context.Context, audit.Event) (uint64, error)
}, clk clock.Clock, principal, document, source, detailPrefix string) {
	ctx = context.WithoutCancel(ctx)
	d.ps.integrityFailed = func(where string, err error) error {
		_, aerr := a.Append(ctx, audit.Event{Time: clk.Now(), Principal: principal, Action: audit.ActionIntegrityFailure,
			Document: document, Source: source, Outcome: audit.OutcomeFailure,
			Detail: detailPrefix + "integrity check failed " + where + ": " + errorClass(err)})
		if aerr != nil {
			return fmt.Errorf("phi: audit unavailable, integrity failure not recorded: %w", aerr)
		}
		return nil
	}
}

// Info returns the document's record.
func (d *DocumentReader) Info() DocInfo { return d.info }

// Metadata returns the decrypted metadata.
func (d *DocumentReader) Metadata() Metadata { return d.meta }

// Pages returns the recorded size and SHA-256 of every page.
func (d *DocumentReader) Pages() []PageInfo { return slices.Clone(d.pages) }

// NextPage returns a reader for the next page, or io.EOF after the last.
// The page reader returns an error wrapping ErrPageDigest instead of io.EOF
// if the page's bytes do not match its SHA-256. Advancing skips (and still
// verifies) the unread rest of the previous page.
func (d *DocumentReader) NextPage() (io.Reader, error) {
	p, err := d.ps.next()
	if err != nil {
		return nil, err
	}
	return p, nil
}

// Read reads the whole document: all pages, concatenated.
func (d *DocumentReader) Read(b []byte) (int, error) {
	for {
		if d.cur == nil {
			p, err := d.NextPage()
			if err != nil {
				return 0, err
			}
			d.cur = p
		}
		n, err := d.cur.Read(b)
		if err == io.EOF {
			d.cur = nil
			if n > 0 {
				return n, nil
			}
			continue
		}
		return n, err
	}
}

// Close releases the file. Reads after Close return ErrClosed; a second
// Close does nothing (a deferred Close after an explicit one is safe).
func (d *DocumentReader) Close() error {
	if d.closed {
		return nil
	}
	d.closed = true
	d.ps.close()
	return d.f.Close()
}

// List returns the records of all committed documents, oldest first. A
// record that cannot be parsed is left out and reported in the error (the
// list of the others is still returned), so one damaged file cannot stop
// retention from running.
func (s *Store) List(_ context.Context) ([]DocInfo, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, err
	}
	var out []DocInfo
	var errs []error
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), recExt)
		if !ok || !ValidID(id) {
			continue
		}
		r, err := s.readRecord(id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("document %s: %w", id, err))
			continue
		}
		out = append(out, r.info())
	}
	slices.SortFunc(out, func(a, b DocInfo) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, errors.Join(errs...)
}

// Delete crypto-shreds a document: the record holding its wrapped data key
// is overwritten with zeros and fsynced, then the body and the record are
// removed. Legal hold blocks deletion. A record that fails authentication
// (ErrDecrypt: its hold or retention may have been edited on disk) is not
// deleted.
func (s *Store) Delete(ctx context.Context, id string) error {
	return s.withRecord(ctx, id, func(r *record, _ *dataKey) error {
		if r.LegalHold {
			return ErrLegalHold
		}
		return s.shred(id)
	})
}

// withRecord reads and authenticates id's record (unwrapping its data key)
// and runs f on it, holding s.mu and the cross-process records lock, so
// that no other change to the record can come between the check and f.
func (s *Store) withRecord(ctx context.Context, id string, f func(*record, *dataKey) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	release, err := s.lockRecords()
	if err != nil {
		return err
	}
	defer release()
	r, err := s.readRecord(id)
	if err != nil {
		return err
	}
	dk, err := s.unwrap(ctx, r)
	if err != nil {
		return err
	}
	return f(r, dk)
}

func (s *Store) shred(id string) error {
	rec := s.path(id, recExt)
	st, err := os.Stat(rec)
	if err != nil {
		return err
	}
	f, err := s.fs.OpenWrite(rec)
	if err != nil {
		return err
	}
	if _, err := f.Write(make([]byte, st.Size())); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := s.fs.Remove(s.path(id, sealExt)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := s.fs.Remove(rec); err != nil {
		return err
	}
	return s.fs.SyncDir(s.dir)
}

// updateRecord authenticates a record, lets f change it, re-wraps the data
// key over the new clear fields with kek (nil: the record's own KEK), and
// replaces the record atomically.
func (s *Store) updateRecord(ctx context.Context, id string, kek tink.AEAD, f func(*record) error) error {
	return s.withRecord(ctx, id, func(r *record, dk *dataKey) error {
		if err := f(r); err != nil {
			return err
		}
		var err error
		if kek == nil {
			if kek, err = s.keys.KeyEncryptionAEAD(ctx, r.KeyID); err != nil {
				return err
			}
		}
		if r.WrappedKey, err = dk.wrap(kek, r.keyAD()); err != nil {
			return err
		}
		return s.writeRecord(r)
	})
}

// RotateKeys re-wraps every data key that is not wrapped by the provider's
// current primary KEK. Document bodies are not touched. It returns how many
// records were re-wrapped and the set of KEK IDs still in use afterwards.
func (s *Store) RotateKeys(ctx context.Context) (int, map[string]int, error) {
	primary, err := s.keys.PrimaryKeyID(ctx)
	if err != nil {
		return 0, nil, err
	}
	kek, err := s.keys.KeyEncryptionAEAD(ctx, primary)
	if err != nil {
		return 0, nil, err
	}
	docs, err := s.List(ctx)
	if err != nil {
		return 0, nil, err // re-wrap nothing until every record is readable
	}
	n := 0
	inUse := map[string]int{}
	for _, d := range docs {
		if d.KeyID == primary {
			inUse[primary]++
			continue
		}
		err := s.updateRecord(ctx, d.ID, kek, func(r *record) error {
			r.KeyID = primary
			return nil
		})
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			inUse[d.KeyID]++
			return n, inUse, fmt.Errorf("re-wrapping document %s: %w", d.ID, err)
		}
		inUse[primary]++
		n++
	}
	return n, inUse, nil
}

// Verify reads a whole document, checking every segment's authentication
// tag and every page's SHA-256, without returning its content: a scrub for
// integrity monitoring. It needs no operator and audits no access; but on
// a Store opened with StoreConfig.Audit and Operator, a document that
// fails verification is recorded as a reader records it (see
// DocumentReader), as the operator, with the detail "verify: integrity
// check failed ...": a scrub that finds an altered document leaves that in
// the audit trail whatever its caller does.
func (s *Store) Verify(ctx context.Context, id string) error {
	d, err := s.open(ctx, id)
	if err != nil {
		return err
	}
	defer d.Close()
	if s.unguarded() == nil {
		d.auditIntegrity(ctx, s.audit, s.clock, s.operator, id, unguardedSource, "verify: ")
	}
	_, err = io.Copy(io.Discard, d)
	return err
}
