package audit

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/faxkit/faxkit/internal/clock"
	"github.com/faxkit/faxkit/phi/internal/fileutil"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tink-crypto/tink-go/v2/tink"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Outcome is the result of an audited event.
type Outcome int

const (
	OutcomeSuccess Outcome = iota
	OutcomeDenied          // refused by access policy or authentication
	OutcomeFailure         // attempted but failed (I/O, integrity, not found)
)

var outcomeNames = [...]string{"success", "denied", "failure"}

func (o Outcome) String() string {
	if o >= 0 && int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// Event is one audit record: who did what to which document, when, from
// where, and with what outcome. Fields must not contain PHI: principals and
// documents are opaque IDs; Detail is free text that the caller keeps free
// of PHI (it is encrypted at rest regardless).
type Event struct {
	Seq       uint64    `json:"seq"`
	Time      time.Time `json:"time"`
	Principal string    `json:"principal"`
	Action    Action    `json:"action"`
	Document  string    `json:"document,omitempty"`
	Source    string    `json:"source,omitempty"`
	Outcome   Outcome   `json:"outcome"`
	Detail    string    `json:"detail,omitempty"`
}

// Keys are the secrets of an audit log.
type Keys struct {
	// MAC keys the HMAC-SHA256 hash chain (at least 32 bytes).
	MAC []byte
	// AEAD encrypts each record's payload at rest.
	AEAD tink.AEAD
	// Signer signs checkpoints (needed to append; nil for verify-only).
	Signer note.Signer
	// Verifier checks checkpoint signatures.
	Verifier note.Verifier
}

// SyncPolicy says when the audit log calls fsync.
type SyncPolicy int

const (
	// SyncEveryRecord fsyncs each record before Append returns: an
	// acknowledged event survives a crash or power loss. Default.
	SyncEveryRecord SyncPolicy = iota
	// SyncAtCheckpoint fsyncs only at checkpoints, segment rotation, Sync
	// and Close: faster, but a crash can lose up to CheckpointEvery
	// acknowledged records (a torn final line is discarded on reopen).
	SyncAtCheckpoint
)

func (p SyncPolicy) String() string {
	switch p {
	case SyncEveryRecord:
		return "sync-every-record"
	case SyncAtCheckpoint:
		return "sync-at-checkpoint"
	}
	return fmt.Sprintf("SyncPolicy(%d)", int(p))
}

// Config configures an Log. Dir and Keys are required.
type Config struct {
	Dir  string
	Keys Keys
	// Clock stamps events whose Time is zero. Nil: the system clock.
	Clock clock.Clock
	// Sync is the fsync policy. Default SyncEveryRecord.
	Sync SyncPolicy
	// SegmentRecords rotates to a new segment file after this many
	// records. Default 100000.
	SegmentRecords int
	// CheckpointEvery writes a signed checkpoint after this many records.
	// Default 1000. A checkpoint is also written by Checkpoint and Close.
	CheckpointEvery int
}

// Log is an append-only, hash-chained, HMAC-keyed, encrypted audit log
// in rotating segment files, with signed RFC 6962 tree-head checkpoints.
// It is safe for concurrent use.
//
// On-disk line format (one record per line, in audit-<firstseq>.log):
//
//	<seq> SP base64url(AEAD(json(Event), ad=domain||seq)) SP hex(mac) LF
//	mac(seq) = HMAC-SHA256(K, domain || mac(seq-1) || seq || ciphertext)
//
// The RFC 6962 leaf for record seq is the line without its LF.
type Log struct {
	mu      sync.Mutex
	cfg     Config
	clock   clock.Clock
	f       *os.File
	segRecs int
	n       uint64 // records so far = next seq
	prevMAC [32]byte
	hashes  treeHashes
	sinceCP int
	synced  uint64     // records known to be on stable storage
	syncMu  sync.Mutex // one group-commit fsync at a time
	closed  bool
	broken  error    // sticky: a failed write may have left a torn line
	lock    *os.File // flock on <dir>/lock while open
}

const (
	auditDomain     = "faxkit/phi audit v1\x00"
	segPrefix       = "audit-"
	segSuffix       = ".log"
	checkpointsFile = "checkpoints"
	auditLockFile   = "lock"
	checkpointHdr   = "faxkit audit log v1"
	maxAuditLine    = 64 << 10
)

func segName(first uint64) string { return fmt.Sprintf("%s%016d%s", segPrefix, first, segSuffix) }

func auditAD(seq uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte(auditDomain), seq)
}

func chainMAC(key []byte, prev [32]byte, seq uint64, ct []byte) [32]byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(auditDomain))
	m.Write(prev[:])
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], seq)
	m.Write(b[:])
	m.Write(ct)
	var out [32]byte
	m.Sum(out[:0])
	return out
}

func (c *Config) fill() error {
	if c.Dir == "" {
		return errors.New("audit: Config.Dir is required")
	}
	if len(c.Keys.MAC) < 32 || c.Keys.AEAD == nil {
		return errors.New("audit: Config.Keys needs a 32-byte MAC key and an AEAD")
	}
	if c.SegmentRecords <= 0 {
		c.SegmentRecords = 100000
	}
	if c.CheckpointEvery <= 0 {
		c.CheckpointEvery = 1000
	}
	return nil
}

// Open opens (creating if needed) the log in cfg.Dir. The existing
// log is verified first (records, and checkpoints when Keys.Verifier is
// set); a torn final line left by a crash is discarded (it was never
// acknowledged under SyncEveryRecord). A log that fails verification is
// not appended to: the error is an *Error. Only one Log may be
// open on a directory at a time, in any process (an flock on <dir>/lock
// where the OS has flock): another open fails with ErrBusy until
// the first is closed.
func Open(cfg Config) (*Log, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	if cfg.Keys.Signer == nil {
		return nil, errors.New("audit: Config.Keys.Signer is required to append")
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, err
	}
	// One writer at a time: two Logs appending to one directory
	// would both number from the same sequence and break the chain for
	// good.
	lock, err := fileutil.Lock(filepath.Join(cfg.Dir, auditLockFile), true, false)
	if errors.Is(err, fileutil.ErrLockBusy) {
		err = ErrBusy
	}
	if err != nil {
		return nil, err
	}
	l, err := openAuditLocked(cfg)
	if err != nil {
		lock.Close()
		return nil, err
	}
	l.lock = lock
	return l, nil
}

func openAuditLocked(cfg Config) (*Log, error) {
	if err := repairTornTail(cfg.Dir); err != nil {
		return nil, err
	}
	v := newAuditVerifier(cfg.Keys, nil)
	if err := v.verifyDir(cfg.Dir); err != nil {
		return nil, err
	}
	// Appending to a truncated log would paper over the cut: check the
	// signed checkpoints too.
	if cfg.Keys.Verifier != nil {
		if err := v.checkCheckpoints(cfg.Dir, cfg.Keys.Verifier, nil, &Report{}); err != nil {
			return nil, err
		}
	}
	l := &Log{cfg: cfg, clock: clockOr(cfg.Clock), n: v.n, synced: v.n, prevMAC: v.prevMAC, hashes: v.hashes}
	segs, _ := listSegments(cfg.Dir)
	if len(segs) > 0 {
		last := segs[len(segs)-1]
		f, err := os.OpenFile(filepath.Join(cfg.Dir, last.name), os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return nil, err
		}
		l.f = f
		l.segRecs = int(l.n - last.first)
	}
	return l, nil
}

type segment struct {
	name  string
	first uint64
}

func listSegments(dir string) ([]segment, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var segs []segment
	for _, e := range entries {
		s, ok := strings.CutPrefix(e.Name(), segPrefix)
		if !ok {
			continue
		}
		s, ok = strings.CutSuffix(s, segSuffix)
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			continue
		}
		segs = append(segs, segment{e.Name(), n})
	}
	slices.SortFunc(segs, func(a, b segment) int { return cmpU64(a.first, b.first) })
	return segs, nil
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// repairTornTail drops an unterminated last line of the newest segment and
// of the checkpoints file: a crash in the middle of an append leaves one,
// and appending after it would glue the next line to the torn one.
func repairTornTail(dir string) error {
	segs, err := listSegments(dir)
	if err != nil {
		return err
	}
	if len(segs) > 0 {
		if err := truncateTornLine(filepath.Join(dir, segs[len(segs)-1].name)); err != nil {
			return err
		}
	}
	err = truncateTornLine(filepath.Join(dir, checkpointsFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// truncateTornLine cuts an unterminated last line off the file at p. It
// reads only the file's tail, not the whole segment or checkpoints file.
func truncateTornLine(p string) error {
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	end := st.Size()
	var buf [4096]byte
	keep := int64(0)
	for off := end; off > 0; {
		n := min(off, int64(len(buf)))
		off -= n
		if _, err := f.ReadAt(buf[:n], off); err != nil {
			return err
		}
		if off+n == end && buf[n-1] == '\n' {
			return nil // not torn
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			keep = off + int64(i) + 1
			break
		}
	}
	if end == 0 {
		return nil
	}
	if err := f.Truncate(keep); err != nil {
		return err
	}
	return f.Sync()
}

// Append writes one event, assigning its sequence number (and its time, if
// zero). Under SyncEveryRecord the record is on stable storage on return;
// concurrent appends share fsyncs (group commit). An error after the write
// means the record may or may not have reached the disk.
func (l *Log) Append(_ context.Context, e Event) (uint64, error) {
	seq, err := l.append(e)
	if err != nil || l.cfg.Sync != SyncEveryRecord {
		return seq, err
	}
	return seq, l.syncThrough(seq)
}

func (l *Log) append(e Event) (uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return 0, ErrClosed
	}
	if l.broken != nil {
		return 0, fmt.Errorf("audit: log unusable after a failed write (reopen to repair): %w", l.broken)
	}
	if e.Time.IsZero() {
		e.Time = l.clock.Now()
	}
	e.Time = e.Time.UTC()
	e.Seq = l.n
	plain, err := json.Marshal(e)
	if err != nil {
		return 0, err
	}
	ct, err := l.cfg.Keys.AEAD.Encrypt(plain, auditAD(e.Seq))
	if err != nil {
		return 0, err
	}
	mac := chainMAC(l.cfg.Keys.MAC, l.prevMAC, e.Seq, ct)
	line := []byte(formatAuditLine(e.Seq, ct, mac))
	if len(line) >= maxAuditLine {
		return 0, errors.New("audit: event too large")
	}
	if l.f == nil || l.segRecs >= l.cfg.SegmentRecords {
		if err := l.rotate(); err != nil {
			return 0, err
		}
	}
	hs, err := tlog.StoredHashes(int64(l.n), line, l.hashes)
	if err != nil {
		return 0, err
	}
	if _, err := l.f.Write(append(line, '\n')); err != nil {
		l.broken = err
		return 0, err
	}
	l.hashes = append(l.hashes, hs...)
	l.prevMAC = mac
	l.n++
	l.segRecs++
	l.sinceCP++
	if l.sinceCP >= l.cfg.CheckpointEvery {
		if _, err := l.checkpointLocked(); err != nil {
			return e.Seq, err
		}
	}
	return e.Seq, nil
}

// treeHashes are the stored hashes of the log's RFC 6962 tree, in tlog's
// storage order.
type treeHashes []tlog.Hash

func (h treeHashes) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		if x < 0 || x >= int64(len(h)) {
			return nil, errors.New("audit: tree index out of range")
		}
		out[i] = h[x]
	}
	return out, nil
}

func (l *Log) rotate() error {
	if l.f != nil {
		if err := l.syncLocked(); err != nil {
			return err
		}
		if err := l.f.Close(); err != nil {
			return err
		}
		l.f = nil
	}
	f, err := os.OpenFile(filepath.Join(l.cfg.Dir, segName(l.n)), os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	l.f = f
	l.segRecs = 0
	return fileutil.SyncDir(l.cfg.Dir)
}

// Sync flushes buffered records to stable storage.
func (l *Log) Sync() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.syncLocked()
}

func (l *Log) syncLocked() error {
	if l.f == nil || l.synced == l.n {
		return nil
	}
	if err := l.f.Sync(); err != nil {
		l.broken = err
		return err
	}
	l.synced = l.n
	return nil
}

// syncThrough returns once record seq is on stable storage. Appenders queue
// on syncMu; the first fsync covers every record written before it, so the
// others usually find their record already synced.
func (l *Log) syncThrough(seq uint64) error {
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	l.mu.Lock()
	if l.synced > seq {
		l.mu.Unlock()
		return nil
	}
	if l.broken != nil {
		err := l.broken
		l.mu.Unlock()
		return err
	}
	f, target := l.f, l.n
	l.mu.Unlock()
	err := f.Sync() // outside mu: appends continue during the fsync
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.synced > seq {
		return nil // a rotation, checkpoint or Close synced it meanwhile
	}
	if err != nil {
		l.broken = err
		return err
	}
	l.synced = max(l.synced, target)
	return nil
}

// Checkpoint signs the current tree head, appends it to the checkpoints
// file and returns the signed note. Give copies to a separate system (a
// witness, an operator's mailbox): a checkpoint held elsewhere is what
// proves that records after it were not cut off.
func (l *Log) Checkpoint() ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.checkpointLocked()
}

func (l *Log) checkpointLocked() ([]byte, error) {
	if err := l.syncLocked(); err != nil {
		return nil, err
	}
	th, err := tlog.TreeHash(int64(l.n), l.hashes)
	if err != nil {
		return nil, err
	}
	text := fmt.Sprintf("%s\n%d\n%s\n%s\n", checkpointHdr, l.n, th, l.clock.Now().UTC().Format(time.RFC3339))
	signed, err := note.Sign(&note.Note{Text: text}, l.cfg.Keys.Signer)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(l.cfg.Dir, checkpointsFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	_, err = f.Write(append([]byte(base64.StdEncoding.EncodeToString(signed)), '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	l.sinceCP = 0
	return signed, nil
}

// Len returns the number of records in the log.
func (l *Log) Len() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}

// Close writes a final checkpoint, fsyncs and closes the log.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	var err error
	if l.n > 0 && l.sinceCP > 0 {
		_, err = l.checkpointLocked()
	}
	l.closed = true
	if l.f != nil {
		if serr := l.syncLocked(); err == nil {
			err = serr
		}
		if cerr := l.f.Close(); err == nil {
			err = cerr
		}
	}
	if l.lock != nil {
		l.lock.Close() // releases the flock
	}
	return err
}

// Checkpoint is a verified, parsed tree-head note.
type Checkpoint struct {
	Size uint64
	Hash tlog.Hash
	Time time.Time
}

// ParseCheckpoint verifies a signed checkpoint note with v and parses it.
func ParseCheckpoint(signed []byte, v note.Verifier) (Checkpoint, error) {
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("%w: checkpoint signature: %v", ErrTampered, err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) != 5 || lines[0] != checkpointHdr || lines[4] != "" {
		return Checkpoint{}, fmt.Errorf("%w: malformed checkpoint", ErrTampered)
	}
	size, err1 := strconv.ParseUint(lines[1], 10, 64)
	h, err2 := tlog.ParseHash(lines[2])
	t, err3 := time.Parse(time.RFC3339, lines[3])
	if err := errors.Join(err1, err2, err3); err != nil {
		return Checkpoint{}, fmt.Errorf("%w: malformed checkpoint", ErrTampered)
	}
	return Checkpoint{Size: size, Hash: h, Time: t}, nil
}

// Report summarises a successful verification.
type Report struct {
	Records     uint64
	Segments    int
	Checkpoints int // checkpoints verified against the log
	Latest      Checkpoint
}

// Verify checks every record of the log in dir: sequence numbers,
// the HMAC chain (detects edits, insertions, deletions and reordering), that
// each payload decrypts and names its own sequence number, and every signed
// checkpoint in the log's checkpoints file and in trusted (detects
// truncation and any rewrite of the tree). The first failure is returned as
// an *Error naming the record.
func Verify(dir string, keys Keys, trusted ...[]byte) (Report, error) {
	if keys.Verifier == nil {
		return Report{}, errors.New("audit: Keys.Verifier is required")
	}
	v := newAuditVerifier(keys, nil)
	if err := v.verifyDir(dir); err != nil {
		return Report{}, err
	}
	rep := Report{Records: v.n, Segments: v.segments}
	err := v.checkCheckpoints(dir, keys.Verifier, trusted, &rep)
	return rep, err
}

// checkCheckpoints verifies the log's own checkpoints and trusted ones
// against the records v has read.
func (v *auditVerifier) checkCheckpoints(dir string, verifier note.Verifier, trusted [][]byte, rep *Report) error {
	var cps [][]byte
	data, err := os.ReadFile(filepath.Join(dir, checkpointsFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	// An unterminated last line is a checkpoint whose write a crash cut
	// short (it was never returned to anyone); Open removes it.
	if i := bytes.LastIndexByte(data, '\n'); i+1 < len(data) {
		data = data[:i+1]
	}
	for i, line := range strings.Split(string(data), "\n") {
		if line == "" {
			continue
		}
		b, err := base64.StdEncoding.DecodeString(line)
		if err != nil {
			return &Error{Seq: v.n, Segment: checkpointsFile, Line: i + 1, Reason: "malformed checkpoint line", Err: ErrTampered}
		}
		cps = append(cps, b)
	}
	cps = append(cps, trusted...)
	for _, signed := range cps {
		cp, err := ParseCheckpoint(signed, verifier)
		if err != nil {
			return &Error{Seq: v.n, Segment: checkpointsFile, Reason: err.Error(), Err: ErrTampered}
		}
		if err := v.checkCheckpoint(cp); err != nil {
			return err
		}
		rep.Checkpoints++
		if cp.Size >= rep.Latest.Size {
			rep.Latest = cp
		}
	}
	return nil
}

func (v *auditVerifier) checkCheckpoint(cp Checkpoint) error {
	if cp.Size > v.n {
		return &Error{Seq: v.n, Reason: fmt.Sprintf("log truncated: it has %d records, but the signed checkpoint of %s covers %d", v.n, cp.Time.Format(time.RFC3339), cp.Size), Err: ErrTruncated}
	}
	th, err := tlog.TreeHash(int64(cp.Size), v.hashes)
	if err != nil {
		return err
	}
	if th != cp.Hash {
		seq := uint64(0)
		if cp.Size > 0 {
			seq = cp.Size - 1
		}
		return &Error{Seq: seq, Reason: fmt.Sprintf("tree head of first %d records differs from signed checkpoint", cp.Size), Err: ErrTampered}
	}
	return nil
}

// auditVerifier walks records in order, keeping chain and tree state.
type auditVerifier struct {
	keys     Keys
	n        uint64
	prevMAC  [32]byte
	hashes   treeHashes
	segments int
	emit     func(Event) error // optional: receives each decrypted event
}

func newAuditVerifier(keys Keys, emit func(Event) error) *auditVerifier {
	return &auditVerifier{keys: keys, emit: emit}
}

func (v *auditVerifier) verifyDir(dir string) error {
	segs, err := listSegments(dir)
	if err != nil {
		return err
	}
	for _, s := range segs {
		if s.first != v.n {
			return &Error{Seq: v.n, Segment: s.name, Line: 1, Reason: fmt.Sprintf("segment starts at record %d, want %d (records missing or reordered)", s.first, v.n), Err: ErrTampered}
		}
		f, err := os.Open(filepath.Join(dir, s.name))
		if err != nil {
			return err
		}
		err = v.verifySegment(f, s.name)
		f.Close()
		if err != nil {
			return err
		}
		v.segments++
	}
	return nil
}

// verifySegment reads one segment. It is the parser exposed to hostile
// input: lines are capped at maxAuditLine bytes.
func (v *auditVerifier) verifySegment(r io.Reader, name string) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxAuditLine)
	lineNo := 0
	bad := func(reason string) error {
		return &Error{Seq: v.n, Segment: name, Line: lineNo, Reason: reason, Err: ErrTampered}
	}
	for sc.Scan() {
		lineNo++
		line := sc.Bytes()
		f := bytes.Split(line, []byte{' '})
		if len(f) != 3 {
			return bad("malformed record")
		}
		seq, err := strconv.ParseUint(string(f[0]), 10, 64)
		if err != nil {
			return bad("malformed sequence number")
		}
		if seq != v.n {
			return bad(fmt.Sprintf("sequence number %d, want %d (record deleted, inserted or reordered)", seq, v.n))
		}
		ct, err := base64.RawURLEncoding.DecodeString(string(f[1]))
		if err != nil {
			return bad("malformed payload")
		}
		var mac [32]byte
		if len(f[2]) != 2*len(mac) {
			return bad("malformed MAC")
		}
		if n, err := hex.Decode(mac[:], f[2]); err != nil || n != len(mac) {
			return bad("malformed MAC")
		}
		want := chainMAC(v.keys.MAC, v.prevMAC, seq, ct)
		if !hmac.Equal(want[:], mac[:]) {
			return bad("HMAC chain broken (record edited, or a preceding record deleted or reordered)")
		}
		plain, err := v.keys.AEAD.Decrypt(ct, auditAD(seq))
		if err != nil {
			return bad("payload does not decrypt")
		}
		var e Event
		if err := json.Unmarshal(plain, &e); err != nil || e.Seq != seq {
			return bad("payload malformed")
		}
		hs, err := tlog.StoredHashes(int64(v.n), line, v.hashes)
		if err != nil {
			return err
		}
		if v.emit != nil {
			if err := v.emit(e); err != nil {
				return err
			}
		}
		v.hashes = append(v.hashes, hs...)
		v.prevMAC = mac
		v.n++
	}
	if err := sc.Err(); err != nil {
		lineNo++
		return bad("unreadable record: " + err.Error())
	}
	return nil
}

// Export verifies the log in dir and writes every event with
// from <= Time < to (zero bounds are open) to w as JSON lines, for review
// under 45 CFR 164.308(a)(1)(ii)(D). Events contain no PHI. Nothing is
// written past the first record that fails verification.
func Export(dir string, keys Keys, w io.Writer, from, to time.Time) (int, error) {
	enc := json.NewEncoder(w)
	count := 0
	v := newAuditVerifier(keys, func(e Event) error {
		if (!from.IsZero() && e.Time.Before(from)) || (!to.IsZero() && !e.Time.Before(to)) {
			return nil
		}
		count++
		return enc.Encode(exportEvent{e, e.Action.String(), e.Outcome.String()})
	})
	return count, v.verifyDir(dir)
}

type exportEvent struct {
	Event
	ActionName  string `json:"action_name"`
	OutcomeName string `json:"outcome_name"`
}

func formatAuditLine(seq uint64, ct []byte, mac [32]byte) string {
	return fmt.Sprintf("%d %s %s", seq, base64.RawURLEncoding.EncodeToString(ct), hex.EncodeToString(mac[:]))
}
