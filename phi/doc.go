// Package phi gives an application that handles faxes the technical
// safeguards of the HIPAA Security Rule (45 CFR 164.312) as small,
// composable, tested pieces: a sealed (encrypted, integrity-checked,
// crash-safe) document store with retention and crypto-shredding, an
// append-only encrypted audit log with signed checkpoints (phi/audit), a
// default-deny access policy with roles and per-document grants, API-token
// authentication (phi/auth), and a slog handler that keeps PHI out of logs
// (phi/redact).
//
// phi implements no ITU-T clause; it stores what the fax packages produce
// (typically one TIFF Class F page per page, see package tiff).
//
// # Use
//
// Documents are written and read through a Guard, which checks the access
// policy and audits every decision:
//
//	kek, _ := phi.OpenLocalKeyFile("kek.json")           // or a KMSKeyProvider
//	ak, _ := audit.OpenKeyFile("audit.key")
//	log, _ := audit.Open(audit.Config{Dir: "audit", Keys: ak})
//	store, _ := phi.OpenStore(ctx, phi.StoreConfig{Dir: "store", Keys: kek})
//	guard := phi.NewGuard(store, phi.NewPolicy(log, nil))
//
//	w, _ := guard.Create(ctx, who, source, phi.Metadata{Direction: phi.Inbound})
//	rep, err := faxkit.Receive(ctx, conn, nil, phi.NewTIFFWriter(w, nil), nil)
//	w.UpdateMetadata(func(m *phi.Metadata) { m.RemoteIdent = rep.RemoteIdent })
//	info, _ := w.Commit()                                // granted to who, audited
//	d, _ := guard.Open(ctx, who, source, info.ID)        // checked, audited
//
// The Store itself is the maintenance face: List, Stat, Verify,
// SetRetention, SetLegalHold, Delete, ForceExpire, Purge and RotateKeys
// (retention jobs, backups, key rotation), none of which returns a
// document's metadata or pages. Its content methods (Create, Put, Open,
// Get, Metadata) are the unguarded custodian path, for a tool that holds
// the keys anyway (the faxkit CLI): they work only on a Store opened with
// StoreConfig.Audit and Operator, and each call is audited as that
// operator with the detail "unguarded"; otherwise they return
// ErrUnguarded. So an application that opens a Store and forgets the Guard
// gets an error, not unaudited PHI.
//
// The audit log is package phi/audit; the PHI string types and the
// redacting slog handler are package phi/redact.
//
// # HIPAA technical safeguards
//
//	45 CFR 164.312                  | phi feature                                   | test(s)
//	--------------------------------+-----------------------------------------------+------------------------------------------------
//	(a)(1)   Access control          | Policy (default deny, roles, metadata vs     | TestAccessDefaultDenyAndEveryDecisionAudited
//	                                 | content permissions, per-document grants),   | TestAccessRefusedWhenAuditUnavailable
//	                                 | Guard (every Store call checked and audited; | TestGrantAccessAuditsGranteeAndPermissions
//	                                 | grants name grantee and permissions)         |
//	(a)(2)(i)  Unique user ident.    | Principal.ID in every decision and record;   | TestAccessDefaultDenyAndEveryDecisionAudited
//	                                 | no ID, no access; tokens bound to one        | TestAccessDeniedWithoutPrincipalID
//	                                 | principal                                    | TestTokenAuthentication
//	(a)(2)(ii) Emergency access      | Guard.EmergencyAccess: admin break-glass,    | TestEmergencyAccessIsAuditedBreakGlass
//	                                 | audited as "EMERGENCY ACCESS"                |
//	(a)(2)(iii) Automatic logoff     | auth.Config.IdleTimeout, TTL (phi/auth)      | TestTokenAuthentication/idle_timeout, /expiry
//	(a)(2)(iv) Encryption/decryption | Store: per-document data key (Tink AES-256-  | TestStoreRoundTrip, TestAttackWrongKey,
//	                                 | GCM-HKDF streaming AEAD), KEK envelope via   | TestKeyRotationRewrapsWithoutReencrypting,
//	                                 | KeyProvider, rotation, crypto-shredding      | TestRetentionPurgeAndCryptoShred,
//	                                 |                                              | TestKMSKeyProviderRotation
//	(b)      Audit controls          | audit.Log (package phi/audit): encrypted,    |
//	                                 | HMAC-chained records;                        | TestAuditAppendVerifyExport (phi/audit),
//	                                 | signed tlog checkpoints; audit.Verify;       | TestAuditTamperDetection (edit, delete,
//	                                 | audit.Export (164.308(a)(1)(ii)(D));         | reorder, insert, truncation), TestAudit-
//	                                 | denied requests audited too; one writer per  | PayloadEncryptedAtRest, TestAuthenticationAudited
//	                                 | directory; torn lines repaired after a crash | TestAuditOneWriterAtATime,
//	                                 |                                              | TestAuditTornCheckpointRepairedOnOpen
//	(c)(1)   Integrity               | AEAD per 4 KiB segment bound to document ID  | TestAttackFlippedByteInEveryChunk,
//	                                 | and metadata; SHA-256 per page; crash-safe   | TestAttackTruncation, TestAttackChunkReordering,
//	                                 | commit; retention, legal hold and purge with | TestCrashBetweenEveryWriteStep,
//	                                 | authenticated record fields; safe to share   | TestAttackTamperedRetentionOrHold,
//	                                 | between processes                            | TestOpenStoreLeavesActiveWritersAlone
//	(c)(2)   Authenticate ePHI       | per-page SHA-256 in the sealed stream and in | TestPageDigestChecked,
//	                                 | the sealed manifest, checked on every read;  | TestAttackReplayAcrossDocuments,
//	                                 | cross-document replay rejected; a failed     | FuzzSealedReader, FuzzPageStream,
//	                                 | check during an audited read is recorded by  | TestGuardOpenRecordsIntegrityFailure,
//	                                 | the reader (integrity-failure)               | TestUnguardedReadRecordsIntegrityFailure
//	(d)      Person/entity authent.  | auth.Authenticator (phi/auth): hashed        | TestTokenAuthentication/lockout...,
//	                                 | tokens, constant-time compare, expiry,       | TestAuthenticationAudited
//	                                 | lockout, audited                             |
//	(e)(1)   Transmission security   | outside phi: T.38/RTP carry no encryption;   | (none in phi)
//	                                 | run them over a VPN/SRTP and APIs over TLS.  |
//	                                 | Sealed files and audit exports can be moved  |
//	                                 | between hosts without exposing PHI.          |
//	(e)(2)(i)  Integrity controls    | sealed documents stay authenticated in       | TestAttack* (any copy is verified on read)
//	                                 | transit as files; audit chain + checkpoints  | TestAuditTamperDetection
//	(e)(2)(ii) Encryption            | at rest as (a)(2)(iv); in transit: see (e)(1)| as (a)(2)(iv)
//
// # Sealed store
//
// A Store keeps each document as two files in <dir>/docs, named by a random
// 128-bit ID (never by anything PHI):
//
//	<id>.seal  Tink streaming AEAD ciphertext of the page stream, associated
//	           data = domain || ID || SHA-256(serialized metadata)
//	<id>.rec   JSON record: creation and retention dates, legal hold, KEK ID,
//	           the data keyset encrypted with the KEK (Tink keyset encryption,
//	           associated data = domain || ID || created || retain-until ||
//	           hold, so editing those fields on disk makes the record fail
//	           authentication), and the sealed manifest (metadata and every
//	           page's size and SHA-256)
//
// Why this construction: Tink's AES256_GCM_HKDF streaming AEAD is a reviewed
// online-AE scheme (per-stream HKDF subkey and nonce prefix, segment number
// and last-segment flag in every nonce), so reordering, truncation,
// extension and splicing are detected without a home-made format. Tink's
// KMS envelope AEAD wraps only one-shot AEAD ciphertexts, so the streaming
// data key is instead a Tink keyset encrypted with the KEK through Tink's
// own keyset encryption, which any Tink KMS client (KMSKeyProvider) or the
// local key file (LocalKeyFile) can serve. The KEK ID is kept beside the
// wrapped key, so Store.RotateKeys re-wraps data keys without touching
// bodies, and LocalKeyFile.Retire then destroys old KEKs.
//
// Writes: Guard.Create, NewPage (an io.WriteCloser per page, streamed straight
// into the sealing writer in constant memory: plaintext never reaches disk),
// then Commit: body to a temp file, fsync, rename, directory fsync; then the
// record likewise. The record's rename is the commit point; OpenStore
// removes temp files and bodies without a record, so a crash at any step
// leaves the whole document or nothing.
//
// Reads: Guard.Open returns a DocumentReader with NextPage (one io.Reader per
// page) and Read (the whole document). A page's SHA-256 is checked against
// the stream and the sealed manifest before its io.EOF is returned.
//
// Integrity failures are audited by the reader. Guard.Open audits the
// opening (read-content, outcome success, detail "done") before any content
// is read, so it cannot know whether the body will verify. When a reader
// from an audited read (Guard.Open; Store.Open and Store.Get on the
// custodian path) first fails verification (a segment's authentication
// tag, the framing, or a page's SHA-256: errors wrapping ErrDecrypt,
// ErrCorrupt or ErrPageDigest), it appends one more record itself:
//
//	action    integrity-failure (audit.ActionIntegrityFailure)
//	outcome   failure
//	principal, document, source: those of the opening (the custodian
//	          path: its operator and "unguarded store")
//	detail    "integrity check failed on page N: <sentinel>" (or "at the
//	          start of the document", "after page N"; custodian path
//	          prefixed "unguarded: "); no PHI
//
// once per reader, whatever the caller reads afterwards; the error the
// caller gets is unchanged (errors.Is on the sentinels holds; if the
// record cannot be appended, the audit error is joined to it). The opening
// record stays: the access did happen, and an auditor reads the pair as
// "opened, then found altered". Not recorded: a reader closed early (reads
// after Close return ErrClosed), the caller's own writer failing, and an
// I/O error reading the sealed file (still reported as ErrDecrypt: the
// data could not be verified, but was not shown to be altered). A
// document whose record or sealed manifest fails authentication fails the
// Open itself, and the opening's own record then has outcome failure.
// Store.Verify, the scrub, audits no access, but on a Store with an audit
// sink (StoreConfig.Audit and Operator) it records a failed verification
// the same way, detail prefixed "verify: "; without one it records
// nothing. An application that already audits the outcome of a read may
// keep doing so: its record and the reader's are distinct actions, and
// the one-read-content-record-per-read shape of its trail is unchanged.
//
// TIFF: NewTIFFWriter seals each fax page, row by row from the t4 decoder,
// as its own single-page TIFF Class F file; DocumentReader.NextTIFFPage
// returns tiff.Pages and WriteTIFF exports one multi-page TIFF. SealTIFF
// imports an existing TIFF file page by page.
//
// Deletion is crypto-shredding: the record (the only copy of the wrapped
// data key) is overwritten with zeros and fsynced, then body and record are
// removed. A copy of the body is useless without it. Purge deletes what has
// passed its retention date; legal hold blocks deletion; ForceExpire deletes
// at once. Time comes from StoreConfig.Clock.
//
// # Audit log
//
// The audit log is package phi/audit: encrypted, HMAC-chained records with
// signed RFC 6962 checkpoints, verification and export. A Policy writes
// every decision to an *audit.Log; an application writes its own events
// (sends, logins, alerts) to the same log.
//
// # Access control and authentication
//
// Policy is default deny. Roles: admin (keys, retention, holds, grants,
// metadata; content only by grant or EmergencyAccess), sender and receiver
// (create; read what they are granted, which includes what they created),
// auditor (audit log and listing; never metadata or content). Policy.Check
// audits every decision, allowed or denied, and refuses the request if it
// cannot be audited. NewGuard wraps a Store with these checks, and the
// Guard does not hand its Store out: code given a Guard reaches documents
// only through it, and a Store without StoreConfig.Audit has no content
// methods that work (ErrUnguarded). A document written through Guard.Create is granted to
// its creator, and its creation audited, by its own Commit: there is
// nothing else to call. DocumentWriter.UpdateMetadata completes the sealed
// metadata before Commit (a receiver learns the remote ident during the
// call); the body stays bound to the metadata it was created with, which
// the sealed manifest records beside the final one.
//
// Time comes from faxkit's clock interface (internal/clock): the Clock
// fields and NewPolicy take nil for the system clock.
//
// Package phi/auth issues 256-bit API tokens, keeps only their SHA-256,
// compares in constant time, and enforces TTL, idle timeout and lockout.
//
// # Logging without PHI
//
// redact.FaxNumber, StationID, Name and FileName (and Metadata) redact
// themselves in slog and fmt output. redact.NewHandler wraps any
// slog.Handler and also redacts attributes whose keys are marked PHI
// (redact.DefaultPHIKeys). The
// types and the handler live in the leaf package phi/redact (standard
// library only), which t30, t38, transport and the root package can import
// without pulling in storage and crypto.
//
// # Limitations
//
//   - LocalKeyFile and the audit key file hold keys in clear, protected only
//     by file mode 0600; use a KMS (KMSKeyProvider) in production and keep
//     key files off the data volume. Creating them is safe against racing
//     processes, but LocalKeyFile.Rotate and Retire are not: run one key
//     rotation at a time per key file. Crypto-shredding assumes no backup
//     holds both an old record and the KEK; zero-overwrite before unlink is
//     best effort on SSDs and copy-on-write filesystems.
//   - List and Stat report a record's clear fields without authenticating
//     them; Open, Metadata, Delete, Purge and every change do authenticate
//     them (a tampered hold or retention date cannot cause a deletion).
//   - Several processes may share a store and an audit directory where
//     the OS has flock (Linux, macOS, BSDs); elsewhere use one process.
//     Only one audit.Log may be open per directory (audit.ErrBusy). A
//     DocumentWriter neither committed nor aborted keeps OpenStore from
//     cleaning up crash leftovers until it is.
//   - Policy grants live in memory; the embedding application persists them.
//   - The audit verifier, and an open audit.Log, keep two tree hashes per
//     record in memory (about 64 bytes per record, 64 MB per million).
//   - audit.Export checks the records and the HMAC chain but not the
//     checkpoints: run audit.Verify for truncation.
//   - The crash tests model a process crash (operations after the crash
//     point do not happen); they do not model a disk losing unsynced data.
//   - Throughput misses the target of 80% of raw AES-256-GCM. On
//     this project's 2-core AMD EPYC (Turin) test VM, shared and loaded,
//     medians of -count 5 over 8 MiB (go test -run XXX -bench
//     '^Benchmark(Seal|Open|SealedVsRaw)$' -count 5 -benchtime 20x ./phi):
//     raw AES-256-GCM seals at 4684 MB/s and opens at 4575 MB/s; SHA-256
//     alone runs at about 1.3 GB/s (SHA-NI), so raw AES-GCM plus the
//     per-page SHA-256 the issue requires manages 1027/1189 MB/s; the
//     sealed path (4 KiB segments) seals at 855 MB/s and opens at 918
//     MB/s. Interleaved in the same iterations (BenchmarkSealedVsRaw): Tink
//     streaming AEAD alone is 79% of raw; the full sealed path is 19%
//     (write) and 18% (read) of raw AES-GCM, and 76% / 73% of raw AES-GCM
//     plus SHA-256. The digest, not the construction, is the cost; a fax
//     page is tens of KiB, so a 100-page fax seals in milliseconds.
//   - A TIFF page is read back into memory (up to 64 MiB) because
//     tiff.Reader needs an io.ReaderAt; documents still stream page by page.
package phi
