package phi

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/tink-crypto/tink-go/v2/keyset"
	tinkpb "github.com/tink-crypto/tink-go/v2/proto/tink_go_proto"
	"github.com/tink-crypto/tink-go/v2/streamingaead"
	"github.com/tink-crypto/tink-go/v2/tink"
)

// SegmentSize selects the Tink streaming AEAD ciphertext segment size.
type SegmentSize int

const (
	// Segment4KB is AES256_GCM_HKDF_4KB: 4 KiB segments, 0.4% ciphertext
	// overhead. Default: its buffers stay in cache, and it measured faster
	// than the 1 MiB variant here for both sealing and opening (see
	// BenchmarkSeal/BenchmarkOpen), with ~1 MiB less memory per stream.
	Segment4KB SegmentSize = iota
	// Segment1MB is AES256_GCM_HKDF_1MB: the reader buffers one 1 MiB
	// segment.
	Segment1MB
)

func (s SegmentSize) String() string {
	switch s {
	case Segment1MB:
		return "AES256_GCM_HKDF_1MB"
	case Segment4KB:
		return "AES256_GCM_HKDF_4KB"
	}
	return fmt.Sprintf("SegmentSize(%d)", int(s))
}

func (s SegmentSize) template() (*tinkpb.KeyTemplate, error) {
	switch s {
	case Segment1MB:
		return streamingaead.AES256GCMHKDF1MBKeyTemplate(), nil
	case Segment4KB:
		return streamingaead.AES256GCMHKDF4KBKeyTemplate(), nil
	}
	return nil, fmt.Errorf("phi: unknown %v", s)
}

// Associated-data domains. Each binds the document ID so that no wrapped
// key, metadata blob or ciphertext can be moved to another document.
const (
	adDataKey  = "faxkit/phi data-key v1\x00"
	adMetadata = "faxkit/phi metadata v1\x00"
	adDocument = "faxkit/phi document v1\x00"
)

func metadataAD(id string) []byte { return append([]byte(adMetadata), id...) }

// documentAD binds the document ID and the digest of its immutable,
// serialized metadata to every segment of the sealed stream.
func documentAD(id string, metaJSON []byte) []byte {
	sum := sha256.Sum256(metaJSON)
	ad := append([]byte(adDocument), id...)
	ad = append(ad, 0)
	return append(ad, sum[:]...)
}

// dataKey is one document's streaming-AEAD keyset.
type dataKey struct {
	h *keyset.Handle
	p tink.StreamingAEAD
}

func newDataKey(seg SegmentSize) (*dataKey, error) {
	t, err := seg.template()
	if err != nil {
		return nil, err
	}
	h, err := keyset.NewHandle(t)
	if err != nil {
		return nil, err
	}
	return dataKeyFromHandle(h)
}

func dataKeyFromHandle(h *keyset.Handle) (*dataKey, error) {
	p, err := streamingaead.New(h)
	if err != nil {
		return nil, err
	}
	return &dataKey{h: h, p: p}, nil
}

// wrap encrypts the data keyset with the KEK (Tink keyset encryption), bound
// to ad (record.keyAD: the document ID and the record's clear fields).
func (k *dataKey) wrap(kek tink.AEAD, ad []byte) ([]byte, error) {
	var buf bytes.Buffer
	if err := k.h.WriteWithAssociatedData(keyset.NewBinaryWriter(&buf), kek, ad); err != nil {
		return nil, fmt.Errorf("phi: wrapping data key: %w", err)
	}
	return buf.Bytes(), nil
}

func unwrapDataKey(kek tink.AEAD, ad, wrapped []byte) (*dataKey, error) {
	h, err := keyset.ReadWithAssociatedData(keyset.NewBinaryReader(bytes.NewReader(wrapped)), kek, ad)
	if err != nil {
		return nil, fmt.Errorf("%w: unwrapping data key", ErrDecrypt)
	}
	return dataKeyFromHandle(h)
}

func (k *dataKey) sealBytes(plain, ad []byte) ([]byte, error) {
	var buf bytes.Buffer
	w, err := k.p.NewEncryptingWriter(&buf, ad)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(plain); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (k *dataKey) openBytes(sealed, ad []byte, max int64) ([]byte, error) {
	r, err := k.p.NewDecryptingReader(bytes.NewReader(sealed), ad)
	if err != nil {
		return nil, ErrDecrypt
	}
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, ErrDecrypt
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%w: blob too large", ErrCorrupt)
	}
	return b, nil
}

// Plaintext framing inside the sealed stream (all of it is encrypted and
// authenticated by the streaming AEAD):
//
//	stream = magic *page end
//	magic  = "FXKD" version(1)
//	page   = 'P' *frame uvarint(0) sha256(32)      ; digest of the page bytes
//	frame  = uvarint(n) n*byte                     ; 1 <= n <= maxFrame
//	end    = 'E' uvarint(pageCount)
//
// Frames let a page of unknown length stream through in constant memory.
const (
	streamMagic   = "FXKD\x01"
	tagPage       = 'P'
	tagEnd        = 'E'
	maxFrame      = 1 << 20
	pageBufSize   = 64 << 10
	maxPages      = 1 << 20
	maxMetaBytes  = 1 << 20
	maxRecordSize = 4 << 20
)

// pageStreamWriter writes the framing into an underlying (sealing) writer.
type pageStreamWriter struct {
	w      io.Writer
	pages  []PageInfo
	cur    *pageWriter
	closed bool
	err    error
	size   int64
}

func newPageStreamWriter(w io.Writer) (*pageStreamWriter, error) {
	if _, err := io.WriteString(w, streamMagic); err != nil {
		return nil, err
	}
	return &pageStreamWriter{w: w}, nil
}

// PageInfo describes one stored page.
type PageInfo struct {
	Size   int64    `json:"size"`
	SHA256 [32]byte `json:"sha256"`
}

func (s *pageStreamWriter) newPage() (*pageWriter, error) {
	if s.err != nil {
		return nil, s.err
	}
	if s.closed {
		return nil, ErrClosed
	}
	if s.cur != nil {
		return nil, ErrPageOpen
	}
	if len(s.pages) >= maxPages {
		return nil, fmt.Errorf("phi: more than %d pages", maxPages)
	}
	if _, err := s.w.Write([]byte{tagPage}); err != nil {
		s.err = err
		return nil, err
	}
	s.cur = &pageWriter{s: s, h: newPageHasher(), buf: make([]byte, 0, pageBufSize)}
	return s.cur, nil
}

func (s *pageStreamWriter) finish() error {
	if s.err != nil {
		return s.err
	}
	if s.cur != nil {
		return ErrPageOpen
	}
	s.closed = true
	b := append([]byte{tagEnd}, binary.AppendUvarint(nil, uint64(len(s.pages)))...)
	_, err := s.w.Write(b)
	return err
}

type pageWriter struct {
	s      *pageStreamWriter
	h      *pageHasher
	buf    []byte
	n      int64
	closed bool
	hdr    [binary.MaxVarintLen64]byte
}

func (p *pageWriter) Write(b []byte) (int, error) {
	if p.closed {
		return 0, ErrClosed
	}
	if p.s.err != nil {
		return 0, p.s.err
	}
	total := len(b)
	p.h.Write(b)
	p.n += int64(total)
	for len(b) > 0 {
		n := copy(p.buf[len(p.buf):cap(p.buf)], b)
		p.buf = p.buf[:len(p.buf)+n]
		b = b[n:]
		if len(p.buf) == cap(p.buf) {
			if err := p.flush(); err != nil {
				return total - len(b), err
			}
		}
	}
	return total, nil
}

func (p *pageWriter) flush() error {
	if len(p.buf) == 0 {
		return nil
	}
	n := binary.PutUvarint(p.hdr[:], uint64(len(p.buf)))
	if _, err := p.s.w.Write(p.hdr[:n]); err != nil {
		p.s.err = err
		return err
	}
	if _, err := p.s.w.Write(p.buf); err != nil {
		p.s.err = err
		return err
	}
	p.buf = p.buf[:0]
	return nil
}

// Close ends the page and writes its SHA-256.
func (p *pageWriter) Close() error {
	if p.closed {
		return nil
	}
	p.closed = true
	if err := p.flush(); err != nil {
		p.h.stop()
		return err
	}
	var info PageInfo
	info.Size = p.n
	info.SHA256 = p.h.sum()
	trailer := append([]byte{0}, info.SHA256[:]...)
	if _, err := p.s.w.Write(trailer); err != nil {
		p.s.err = err
		return err
	}
	p.s.pages = append(p.s.pages, info)
	p.s.size += p.n
	p.s.cur = nil
	return nil
}

// pageStreamReader parses the framing from decrypted plaintext. It is the
// parser exposed to hostile input (after authentication) and fuzzed.
type pageStreamReader struct {
	r        *bufio.Reader
	started  bool
	done     bool
	err      error
	cur      *pageReader
	pages    int
	want     []PageInfo // expected digests from the record, may be nil
	maxPages int
	// src reads the sealed file under the decryption, to tell the file's
	// own I/O errors (including reads after Close) from data that fails
	// verification; nil when the stream does not come from a file.
	src *sourceReader
	// integrityFailed, if set, is called once, with the stream's first
	// error, when that error is an integrity failure (see
	// integrityFailure); what it returns is joined to the error.
	integrityFailed func(where string, err error) error
}

func newPageStreamReader(r io.Reader, want []PageInfo) *pageStreamReader {
	// A small buffer: page reads of at least its size bypass it, saving a
	// copy of the bulk data.
	return &pageStreamReader{r: bufio.NewReaderSize(r, 16<<10), want: want, maxPages: maxPages}
}

func (s *pageStreamReader) fail(err error) error {
	if s.err == nil {
		s.err = err
		if s.integrityFailed != nil && s.integrityFailure(err) {
			if aerr := s.integrityFailed(s.where(), err); aerr != nil {
				s.err = errors.Join(err, aerr)
			}
		}
	}
	s.stop()
	return s.err
}

// integrityFailure reports whether err, the stream's first error, says
// the sealed data failed verification: an authentication tag, the
// framing, or a page's SHA-256. An error reading the sealed file itself
// (reported as ErrDecrypt too, since the stream cannot be verified) is
// not one, nor is a read after Close.
func (s *pageStreamReader) integrityFailure(err error) bool {
	if s.src != nil && s.src.err != nil {
		return false
	}
	return errors.Is(err, ErrDecrypt) || errors.Is(err, ErrCorrupt) || errors.Is(err, ErrPageDigest)
}

// where says, without PHI, where in the document the stream failed: the
// page being read, or the position between pages.
func (s *pageStreamReader) where() string {
	switch {
	case s.cur != nil:
		return fmt.Sprintf("on page %d", s.cur.idx+1)
	case s.pages == 0:
		return "at the start of the document"
	}
	return fmt.Sprintf("after page %d", s.pages)
}

// close makes every later read of the stream, and of its pages, fail
// with ErrClosed (not a verification failure), and releases the current
// page's hasher.
func (s *pageStreamReader) close() {
	if s.err == nil {
		s.err = ErrClosed
	}
	s.stop()
}

// sourceReader passes the sealed file through, keeping its first error
// other than io.EOF.
type sourceReader struct {
	r   io.Reader
	err error
}

func (r *sourceReader) Read(b []byte) (int, error) {
	n, err := r.r.Read(b)
	if err != nil && err != io.EOF && r.err == nil {
		r.err = err
	}
	return n, err
}

// stop releases the current page's hasher goroutine, if any.
func (s *pageStreamReader) stop() {
	if s.cur != nil {
		s.cur.h.stop()
	}
}

func corrupt(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, a...))
}

// mapReadErr turns errors of the decrypting reader into phi errors.
func mapReadErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return corrupt("stream ends early")
	case errors.Is(err, ErrCorrupt), errors.Is(err, ErrPageDigest), errors.Is(err, ErrDecrypt):
		return err
	}
	return fmt.Errorf("%w", ErrDecrypt)
}

// next returns the next page, or io.EOF after the last page once the end
// marker and page count have been verified.
func (s *pageStreamReader) next() (*pageReader, error) {
	if s.err != nil {
		return nil, s.err
	}
	if s.done {
		return nil, io.EOF
	}
	if s.cur != nil {
		// Drain (and thereby verify) the unread rest of the current page.
		if _, err := io.Copy(io.Discard, s.cur); err != nil {
			return nil, s.fail(err)
		}
	}
	if !s.started {
		var m [len(streamMagic)]byte
		if _, err := io.ReadFull(s.r, m[:]); err != nil {
			return nil, s.fail(mapReadErr(err))
		}
		if string(m[:]) != streamMagic {
			return nil, s.fail(corrupt("bad magic"))
		}
		s.started = true
	}
	tag, err := s.r.ReadByte()
	if err != nil {
		return nil, s.fail(mapReadErr(err))
	}
	switch tag {
	case tagPage:
		if s.pages >= s.maxPages {
			return nil, s.fail(corrupt("too many pages"))
		}
		s.cur = &pageReader{s: s, idx: s.pages, h: newPageHasher()}
		s.pages++
		return s.cur, nil
	case tagEnd:
		n, err := binary.ReadUvarint(s.r)
		if err != nil {
			return nil, s.fail(mapReadErr(err))
		}
		if n != uint64(s.pages) {
			return nil, s.fail(corrupt("page count %d, end marker says %d", s.pages, n))
		}
		if s.want != nil && len(s.want) != s.pages {
			return nil, s.fail(corrupt("record lists %d pages, stream has %d", len(s.want), s.pages))
		}
		// Nothing may follow the end marker.
		if _, err := s.r.ReadByte(); err != io.EOF {
			if err == nil {
				return nil, s.fail(corrupt("data after end marker"))
			}
			return nil, s.fail(mapReadErr(err))
		}
		s.done = true
		s.cur = nil
		return nil, io.EOF
	}
	return nil, s.fail(corrupt("bad tag 0x%02x", tag))
}

type pageReader struct {
	s    *pageStreamReader
	idx  int
	h    *pageHasher
	left uint64 // bytes left in current frame
	n    int64
	eof  bool
}

func (p *pageReader) Read(b []byte) (int, error) {
	s := p.s
	if p.eof {
		return 0, io.EOF
	}
	if s.err != nil {
		return 0, s.err
	}
	if s.cur != p {
		return 0, ErrClosed
	}
	for p.left == 0 {
		n, err := binary.ReadUvarint(s.r)
		if err != nil {
			return 0, s.fail(mapReadErr(err))
		}
		if n == 0 {
			var sum [32]byte
			if _, err := io.ReadFull(s.r, sum[:]); err != nil {
				return 0, s.fail(mapReadErr(err))
			}
			if got := p.h.sum(); got != sum {
				return 0, s.fail(fmt.Errorf("%w: page %d", ErrPageDigest, p.idx+1))
			}
			if s.want != nil {
				if p.idx >= len(s.want) || s.want[p.idx].SHA256 != sum || s.want[p.idx].Size != p.n {
					return 0, s.fail(fmt.Errorf("%w: page %d differs from record", ErrPageDigest, p.idx+1))
				}
			}
			p.eof = true
			s.cur = nil
			return 0, io.EOF
		}
		if n > maxFrame {
			return 0, s.fail(corrupt("frame of %d bytes", n))
		}
		p.left = n
	}
	if uint64(len(b)) > p.left {
		b = b[:p.left]
	}
	n, err := s.r.Read(b)
	p.h.Write(b[:n])
	p.left -= uint64(n)
	p.n += int64(n)
	if err != nil {
		if n > 0 && err == io.EOF && p.left == 0 {
			return n, nil
		}
		if n > 0 {
			s.fail(mapReadErr(err))
			return n, nil
		}
		return 0, s.fail(mapReadErr(err))
	}
	return n, nil
}
