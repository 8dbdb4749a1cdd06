package phi

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/faxkit/faxkit/phi/audit"
	"github.com/faxkit/faxkit/t4"
	"github.com/stretchr/testify/require"
)

// integrityPage is the size of each page of integrityDoc: with 4 KiB
// segments each page spans about five segments, so a byte flipped in the
// middle of the second page's ciphertext lies well inside it, away from
// the read-ahead at page boundaries.
const integrityPage = 20_000

// integrityDoc stores a two-page document through the guard as alice and
// returns its ID, its sealed file's path and the file's bytes.
func integrityDoc(t *testing.T, f *guardFixture) (string, string, []byte) {
	t.Helper()
	ctx := context.Background()
	w, err := f.g.Create(ctx, alice, "10.0.0.1", testMeta)
	require.NoError(t, err)
	for range 2 {
		p, err := w.NewPage()
		require.NoError(t, err)
		_, err = p.Write(randBytes(t, integrityPage))
		require.NoError(t, err)
		require.NoError(t, p.Close())
	}
	info, err := w.Commit()
	require.NoError(t, err)
	path := f.store.path(info.ID, sealExt)
	body, err := os.ReadFile(path)
	require.NoError(t, err)
	return info.ID, path, body
}

// tamperPage2 flips a byte in the middle of the second page's ciphertext.
func tamperPage2(t *testing.T, path string, body []byte) {
	t.Helper()
	b := bytes.Clone(body)
	b[len(b)*3/4] ^= 0x01
	require.NoError(t, os.WriteFile(path, b, 0o600))
}

// readAllPages reads every page of d and returns the first error.
func readAllPages(d *DocumentReader) error {
	for {
		p, err := d.NextPage()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := io.Copy(io.Discard, p); err != nil {
			return err
		}
	}
}

// integrityEvents returns the integrity-failure records, and the
// read-content records, for document id.
func integrityEvents(t *testing.T, f *guardFixture, id string) (failures, reads []audit.Event) {
	t.Helper()
	for _, e := range f.events(t) {
		if e.Document != id {
			continue
		}
		switch e.Action {
		case audit.ActionIntegrityFailure:
			failures = append(failures, e)
		case audit.ActionReadContent:
			reads = append(reads, e)
		}
	}
	return failures, reads
}

// TestGuardOpenRecordsIntegrityFailure: a document that fails
// verification while a reader from Guard.Open reads it leaves, besides
// the opening's read-content record (the access happened), exactly one
// integrity-failure record for that reader, naming the principal, the
// document, the source and the page, without PHI; the reader's error is
// unchanged in kind, later reads do not add records, and the audit log
// still verifies. A clean read, a reader closed early and a caller's
// failing writer leave no such record.
func TestGuardOpenRecordsIntegrityFailure(t *testing.T) {
	ctx := context.Background()
	errSink := errors.New("sink full")
	for _, tc := range []struct {
		name   string
		tamper bool
		read   func(d *DocumentReader) error
		// wantErr is what the read returns; detail, if set, the one
		// integrity-failure record's detail (none if empty).
		wantErr error
		detail  string
	}{
		{name: "tampered page, page by page", tamper: true, read: readAllPages, wantErr: ErrDecrypt,
			detail: "integrity check failed on page 2: " + ErrDecrypt.Error()},
		{name: "tampered page, whole document", tamper: true,
			read: func(d *DocumentReader) error { _, err := io.Copy(io.Discard, d); return err }, wantErr: ErrDecrypt,
			detail: "integrity check failed on page 2: " + ErrDecrypt.Error()},
		{name: "tampered page, read again after the failure", tamper: true,
			read: func(d *DocumentReader) error {
				err := readAllPages(d)
				_, err2 := d.NextPage()
				_, err3 := d.Read(make([]byte, 10))
				return errors.Join(err, err2, err3)
			},
			wantErr: ErrDecrypt, detail: "integrity check failed on page 2: " + ErrDecrypt.Error()},
		{name: "clean read", read: readAllPages},
		{name: "tampered, closed early by the caller", tamper: true,
			read: func(d *DocumentReader) error {
				p, err := d.NextPage()
				if err != nil {
					return err
				}
				if _, err := io.ReadFull(p, make([]byte, 100)); err != nil {
					return err
				}
				if err := d.Close(); err != nil {
					return err
				}
				// Reads after Close fail as closed, not as tampering.
				_, err = io.Copy(io.Discard, p)
				_, err2 := d.NextPage()
				return errors.Join(err, err2)
			},
			wantErr: ErrClosed},
		{name: "tampered, caller's writer fails first", tamper: true,
			read: func(d *DocumentReader) error {
				_, err := io.Copy(failingWriter{after: 1000, err: errSink}, d)
				return err
			},
			wantErr: errSink},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newGuardFixture(t)
			id, path, body := integrityDoc(t, f)
			require.NoError(t, f.g.GrantAccess(ctx, admin, "s", id, bob.ID, PermReadContent))
			if tc.tamper {
				tamperPage2(t, path, body)
			}
			d, err := f.g.Open(ctx, bob, "10.0.0.2", id)
			require.NoError(t, err)
			err = tc.read(d)
			if tc.wantErr == nil {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, tc.wantErr)
			}
			require.NoError(t, d.Close())

			failures, reads := integrityEvents(t, f, id)
			// The opening stays recorded: the access did happen.
			var opened int
			for _, e := range reads {
				if e.Principal == bob.ID && e.Outcome == audit.OutcomeSuccess && e.Detail == "done" {
					opened++
				}
			}
			require.Equal(t, 1, opened, "read-content records: %+v", reads)
			if tc.detail == "" {
				require.Empty(t, failures)
			} else {
				require.Len(t, failures, 1, "one integrity-failure record per reader: %+v", failures)
				e := failures[0]
				require.Equal(t, bob.ID, e.Principal)
				require.Equal(t, id, e.Document)
				require.Equal(t, "10.0.0.2", e.Source)
				require.Equal(t, audit.OutcomeFailure, e.Outcome)
				require.Equal(t, tc.detail, e.Detail)
				require.NotContains(t, e.Detail, string(testMeta.Remote))
				require.NotContains(t, e.Detail, string(testMeta.Contact))
			}
			require.NoError(t, f.log.Close())
			_, err = audit.Verify(f.dir, f.keys)
			require.NoError(t, err)
		})
	}
}

// failingWriter accepts after bytes, then fails with err.
type failingWriter struct {
	after int
	err   error
}

func (w failingWriter) Write(b []byte) (int, error) {
	if len(b) > w.after {
		return w.after, w.err
	}
	return len(b), nil
}

// TestIntegrityFailureOncePerReader: each reader records its own
// failure, once; a second opening of the same tampered document is a
// second reader and a second record.
func TestIntegrityFailureOncePerReader(t *testing.T) {
	ctx := context.Background()
	f := newGuardFixture(t)
	id, path, body := integrityDoc(t, f)
	b := bytes.Clone(body)
	b = b[:len(b)-100] // truncated: the last segment is cut
	require.NoError(t, os.WriteFile(path, b, 0o600))
	for range 2 {
		d, err := f.g.Open(ctx, alice, "s", id)
		require.NoError(t, err)
		err = readAllPages(d)
		require.True(t, errors.Is(err, ErrDecrypt) || errors.Is(err, ErrCorrupt), "err = %v", err)
		require.Error(t, readAllPages(d))
		require.NoError(t, d.Close())
	}
	failures, _ := integrityEvents(t, f, id)
	require.Len(t, failures, 2)
	for _, e := range failures {
		require.Equal(t, alice.ID, e.Principal)
		require.True(t, strings.HasPrefix(e.Detail, "integrity check failed on page 2: "), e.Detail)
	}
}

// TestIntegrityFailureNotRecordedIsReported: if the audit log cannot take
// the integrity-failure record, the reader's error says so, and is still
// the verification error for errors.Is.
func TestIntegrityFailureNotRecordedIsReported(t *testing.T) {
	ctx := context.Background()
	f := newGuardFixture(t)
	id, path, body := integrityDoc(t, f)
	tamperPage2(t, path, body)
	d, err := f.g.Open(ctx, alice, "s", id)
	require.NoError(t, err)
	defer d.Close()
	require.NoError(t, f.log.Close())
	err = readAllPages(d)
	require.ErrorIs(t, err, ErrDecrypt)
	require.ErrorIs(t, err, audit.ErrClosed)
	require.Contains(t, err.Error(), "integrity failure not recorded")
}

// TestIntegritySourceErrorNotRecorded: an error reading the sealed file
// itself (here injected under the decryption) is reported as before, as
// ErrDecrypt, but is not recorded as an integrity failure: the data was
// not shown to be altered.
func TestIntegritySourceErrorNotRecorded(t *testing.T) {
	ctx := context.Background()
	f := newGuardFixture(t)
	id, _, _ := integrityDoc(t, f)
	d, err := f.g.Open(ctx, alice, "s", id)
	require.NoError(t, err)
	defer d.Close()
	p, err := d.NextPage()
	require.NoError(t, err)
	_, err = io.ReadFull(p, make([]byte, 100))
	require.NoError(t, err)
	d.ps.src.r = iotest.ErrReader(errors.New("input/output error"))
	err = readAllPages(d)
	require.ErrorIs(t, err, ErrDecrypt)
	failures, _ := integrityEvents(t, f, id)
	require.Empty(t, failures)
}

// TestUnguardedReadRecordsIntegrityFailure: the Store's custodian path
// (Open, Get) shares the reader and so records a verification failure as
// its operator; so does Verify on such a Store (a scrub's finding), but
// not on a Store without an audit sink.
func TestUnguardedReadRecordsIntegrityFailure(t *testing.T) {
	ctx := context.Background()
	f := newGuardFixture(t)
	id, path, body := integrityDoc(t, f)
	tamperPage2(t, path, body)
	op, err := OpenStore(ctx, StoreConfig{Dir: f.store.dir[:len(f.store.dir)-len(docsDir)-1], Keys: f.store.keys, Clock: f.clock,
		Audit: f.log, Operator: "custodian"})
	require.NoError(t, err)

	_, err = op.Get(ctx, id, io.Discard)
	require.ErrorIs(t, err, ErrDecrypt)
	d, err := op.Open(ctx, id)
	require.NoError(t, err)
	require.ErrorIs(t, readAllPages(d), ErrDecrypt)
	require.NoError(t, d.Close())
	require.ErrorIs(t, f.store.Verify(ctx, id), ErrDecrypt)
	require.ErrorIs(t, op.Verify(ctx, id), ErrDecrypt)

	failures, reads := integrityEvents(t, f, id)
	require.Len(t, failures, 3, "one per reader: Get's, Open's and the audited Verify's: %+v", failures)
	for i, e := range failures {
		require.Equal(t, "custodian", e.Principal)
		require.Equal(t, unguardedSource, e.Source)
		require.Equal(t, audit.OutcomeFailure, e.Outcome)
		prefix := "unguarded: "
		if i == 2 {
			prefix = "verify: "
		}
		require.Equal(t, prefix+"integrity check failed on page 2: "+ErrDecrypt.Error(), e.Detail)
	}
	var custodianReads int
	for _, e := range reads {
		if e.Principal == "custodian" {
			require.Equal(t, "unguarded", e.Detail, "the openings stay recorded as done")
			custodianReads++
		}
	}
	require.Equal(t, 2, custodianReads, "Get and Open are audited reads; Verify is not")
}

// TestIntegrityFailurePosition: the detail names where the stream
// failed: the page whose SHA-256 is wrong, or the position between
// pages for framing after a page.
func TestIntegrityFailurePosition(t *testing.T) {
	var buf bytes.Buffer
	w, err := newPageStreamWriter(&buf)
	require.NoError(t, err)
	for _, s := range []string{"page one bytes", "page two bytes"} {
		p, err := w.newPage()
		require.NoError(t, err)
		io.WriteString(p, s)
		require.NoError(t, p.Close())
	}
	require.NoError(t, w.finish())
	good := buf.Bytes()
	for _, tc := range []struct {
		name  string
		edit  func([]byte) []byte
		want  error
		where string
	}{
		{"page byte", func(b []byte) []byte { b[bytes.Index(b, []byte("two"))] = 'T'; return b }, ErrPageDigest, "on page 2"},
		{"bad magic", func(b []byte) []byte { b[0] = 'X'; return b }, ErrCorrupt, "at the start of the document"},
		{"end marker count", func(b []byte) []byte { b[len(b)-1] = 3; return b }, ErrCorrupt, "after page 2"},
		{"cut inside page 1", func(b []byte) []byte { return b[:len(streamMagic)+5] }, ErrCorrupt, "on page 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newPageStreamReader(bytes.NewReader(tc.edit(bytes.Clone(good))), nil)
			var calls int
			var where string
			r.integrityFailed = func(w string, err error) error {
				calls++
				where = w
				require.ErrorIs(t, err, tc.want)
				return nil
			}
			var err error
			for err == nil {
				var p *pageReader
				if p, err = r.next(); err == nil {
					_, err = io.ReadAll(p)
				}
			}
			require.ErrorIs(t, err, tc.want)
			_, err = r.next()
			require.ErrorIs(t, err, tc.want)
			require.Equal(t, 1, calls)
			require.Equal(t, tc.where, where)
		})
	}
}

// TestWriteTIFFRecordsIntegrityFailure: the TIFF export (the
// faxservice's download path) reads through the same reader, so a sealed
// TIFF document cut short fails the export and leaves one
// integrity-failure record.
func TestWriteTIFFRecordsIntegrityFailure(t *testing.T) {
	ctx := context.Background()
	f := newGuardFixture(t)
	w, err := f.g.Create(ctx, alice, "s", Metadata{ContentType: "image/tiff"})
	require.NoError(t, err)
	tw := NewTIFFWriter(w, nil)
	for i := range 2 {
		bm := t4.NewBitmap(1728, 100)
		for y := 0; y < bm.Height; y++ {
			for x := (y*7 + i) % 13; x < bm.Width; x += 13 {
				bm.SetBlack(x, y, true)
			}
		}
		require.NoError(t, tw.WritePage(bm, nil))
	}
	info, err := w.Commit()
	require.NoError(t, err)

	d, err := f.g.Open(ctx, alice, "s", info.ID)
	require.NoError(t, err)
	n, err := d.WriteTIFF(io.Discard, nil)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	require.NoError(t, d.Close())
	failures, _ := integrityEvents(t, f, info.ID)
	require.Empty(t, failures, "a clean export records none")

	path := f.store.path(info.ID, sealExt)
	body, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, body[:len(body)-1], 0o600))
	d, err = f.g.Open(ctx, alice, "s", info.ID)
	require.NoError(t, err)
	_, err = d.WriteTIFF(io.Discard, nil)
	require.True(t, errors.Is(err, ErrDecrypt) || errors.Is(err, ErrCorrupt), "err = %v", err)
	require.NoError(t, d.Close())
	failures, _ = integrityEvents(t, f, info.ID)
	require.Len(t, failures, 1)
	require.Equal(t, audit.ActionIntegrityFailure, failures[0].Action)
	require.Equal(t, "integrity-failure", failures[0].Action.String())
	require.True(t, strings.HasPrefix(failures[0].Detail, "integrity check failed "), failures[0].Detail)
}
