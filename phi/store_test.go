package phi

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"github.com/faxkit/faxkit/phi/audit"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tink-crypto/tink-go/v2/tink"
)

func testStore(t testing.TB, keys KeyProvider, seg SegmentSize) (*Store, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := OpenStore(context.Background(), StoreConfig{Dir: dir, Keys: keys, Segment: seg, Clock: newFakeClock()})
	require.NoError(t, err)
	return s, dir
}

func randBytes(t testing.TB, n int) []byte {
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return b
}

var testMeta = Metadata{Direction: Inbound, Remote: "+15551234567", RemoteIdent: "CLINIC FAX", Contact: "Jane Doe",
	FileName: "labs.tif", ContentType: "image/tiff"}

func putPages(t testing.TB, s *Store, meta Metadata, pages ...[]byte) DocInfo {
	t.Helper()
	w, err := s.create(context.Background(), meta)
	require.NoError(t, err)
	for _, p := range pages {
		pw, err := w.NewPage()
		require.NoError(t, err)
		// Write in odd-sized pieces to exercise framing.
		for len(p) > 0 {
			n := min(len(p), 7777)
			_, err := pw.Write(p[:n])
			require.NoError(t, err)
			p = p[n:]
		}
		require.NoError(t, pw.Close())
	}
	info, err := w.Commit()
	require.NoError(t, err)
	return info
}

func readPages(s *Store, id string) ([][]byte, error) {
	d, err := s.open(context.Background(), id)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	var out [][]byte
	for {
		p, err := d.NextPage()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		b, err := io.ReadAll(p)
		if err != nil {
			return out, err
		}
		out = append(out, b)
	}
}

func TestStoreRoundTrip(t *testing.T) {
	for _, seg := range []SegmentSize{Segment4KB, Segment1MB} {
		t.Run(seg.String(), func(t *testing.T) {
			ctx := context.Background()
			s, dir := testStore(t, newMemKeys(t, "k1"), seg)
			pages := [][]byte{randBytes(t, 100_000), {}, randBytes(t, 1), randBytes(t, 2_500_000)}
			info := putPages(t, s, testMeta, pages...)
			require.True(t, ValidID(info.ID))
			require.Equal(t, 4, info.Pages)
			require.Equal(t, int64(2_600_001), info.Size)

			got, err := readPages(s, info.ID)
			require.NoError(t, err)
			require.Equal(t, pages, got)

			// Whole-document stream.
			var buf bytes.Buffer
			n, err := s.get(ctx, info.ID, &buf)
			require.NoError(t, err)
			require.Equal(t, info.Size, n)
			require.Equal(t, bytes.Join(pages, nil), buf.Bytes())

			meta, err := s.metadata(ctx, info.ID)
			require.NoError(t, err)
			require.Equal(t, testMeta, meta)

			// No PHI and no plaintext on disk.
			filepath.WalkDir(dir, func(p string, de os.DirEntry, err error) error {
				require.NoError(t, err)
				if de.IsDir() {
					return nil
				}
				data, err := os.ReadFile(p)
				require.NoError(t, err)
				for _, phi := range []string{"5551234567", "CLINIC", "Jane", "labs.tif", "image/tiff"} {
					require.NotContains(t, string(data), phi, "file %s", de.Name())
				}
				require.False(t, bytes.Contains(data, pages[0][:64]), "plaintext page found in %s", de.Name())
				return nil
			})
		})
	}
}

func TestStorePutSinglePageAndList(t *testing.T) {
	ctx := context.Background()
	s, _ := testStore(t, newMemKeys(t, "k1"), Segment4KB)
	a, err := s.put(ctx, testMeta, strings.NewReader("first"))
	require.NoError(t, err)
	b, err := s.put(ctx, Metadata{}, strings.NewReader("second"))
	require.NoError(t, err)
	l, err := s.List(ctx)
	require.NoError(t, err)
	require.Len(t, l, 2)
	ids := map[string]bool{l[0].ID: true, l[1].ID: true}
	require.True(t, ids[a.ID] && ids[b.ID])
	var buf bytes.Buffer
	_, err = s.get(ctx, b.ID, &buf)
	require.NoError(t, err)
	require.Equal(t, "second", buf.String())
}

func TestStoreInvalidIDs(t *testing.T) {
	s, _ := testStore(t, newMemKeys(t, "k1"), Segment4KB)
	for _, id := range []string{"", "../../etc/passwd", strings.Repeat("A", 32), strings.Repeat("0", 31)} {
		_, err := s.open(context.Background(), id)
		require.ErrorIs(t, err, ErrInvalidID)
	}
	_, err := s.open(context.Background(), strings.Repeat("0", 32))
	require.ErrorIs(t, err, ErrNotFound)
}

// sealed returns a 3-segment document under 4 KiB segments and its file.
func sealedFixture(t *testing.T) (*Store, DocInfo, string, []byte) {
	s, _ := testStore(t, newMemKeys(t, "k1"), Segment4KB)
	page := randBytes(t, 20_000)
	info := putPages(t, s, testMeta, page)
	return s, info, s.path(info.ID, sealExt), page
}

func requireRejected(t *testing.T, s *Store, id string) {
	t.Helper()
	got, err := readPages(s, id)
	require.Error(t, err)
	require.True(t, errors.Is(err, ErrDecrypt) || errors.Is(err, ErrCorrupt), "err = %v", err)
	_ = got
}

func TestAttackWrongKey(t *testing.T) {
	ctx := context.Background()
	keys := newMemKeys(t, "k1")
	s, info, _, _ := sealedFixture(t)
	// Another KEK under the same ID: the wrapped data key must not open.
	s.keys = keys
	_, err := s.open(ctx, info.ID)
	require.ErrorIs(t, err, ErrDecrypt)
	// A provider that lacks the KEK ID entirely.
	s.keys = newMemKeys(t, "other")
	_, err = s.open(ctx, info.ID)
	require.ErrorIs(t, err, ErrKeyNotFound)
}

func TestAttackFlippedByteInEveryChunk(t *testing.T) {
	s, info, path, page := sealedFixture(t)
	orig, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Greater(t, len(orig), 2*4096, "need several segments")
	// Every 97th byte covers the header, every segment body and tag; add
	// the very last byte (final tag).
	var offs []int
	for o := 0; o < len(orig); o += 97 {
		offs = append(offs, o)
	}
	offs = append(offs, len(orig)-1)
	for _, o := range offs {
		b := bytes.Clone(orig)
		b[o] ^= 0x01
		require.NoError(t, os.WriteFile(path, b, 0o600))
		got, err := readPages(s, info.ID)
		require.Error(t, err, "flip at %d accepted", o)
		require.True(t, errors.Is(err, ErrDecrypt) || errors.Is(err, ErrCorrupt), "offset %d: %v", o, err)
		for _, g := range got {
			require.NotEqual(t, page, g)
		}
	}
	require.NoError(t, os.WriteFile(path, orig, 0o600))
	got, err := readPages(s, info.ID)
	require.NoError(t, err)
	require.Equal(t, [][]byte{page}, got)
	require.NoError(t, s.Verify(context.Background(), info.ID))
	b := bytes.Clone(orig)
	b[len(b)/2] ^= 0x80
	require.NoError(t, os.WriteFile(path, b, 0o600))
	require.ErrorIs(t, s.Verify(context.Background(), info.ID), ErrDecrypt)
}

func TestAttackTruncation(t *testing.T) {
	s, info, path, _ := sealedFixture(t)
	orig, err := os.ReadFile(path)
	require.NoError(t, err)
	for _, n := range []int{0, 1, 39, 40, 41, 4095, 4096, 4097, 8192, len(orig) - 17, len(orig) - 16, len(orig) - 1} {
		require.NoError(t, os.WriteFile(path, orig[:n], 0o600))
		requireRejected(t, s, info.ID)
	}
	// Appending data is rejected too.
	require.NoError(t, os.WriteFile(path, append(bytes.Clone(orig), 0), 0o600))
	requireRejected(t, s, info.ID)
}

func TestAttackChunkReordering(t *testing.T) {
	s, info, path, _ := sealedFixture(t)
	orig, err := os.ReadFile(path)
	require.NoError(t, err)
	// With 4 KiB segments, segment i >= 1 starts at 4096*i (the 40-byte
	// header plus the shortened first segment fill the first 4096).
	const seg = 4096
	require.Greater(t, len(orig), 3*seg)
	b := bytes.Clone(orig)
	copy(b[seg:2*seg], orig[2*seg:3*seg])
	copy(b[2*seg:3*seg], orig[seg:2*seg])
	require.NoError(t, os.WriteFile(path, b, 0o600))
	requireRejected(t, s, info.ID)
	// Dropping a middle segment.
	b = append(bytes.Clone(orig[:seg]), orig[2*seg:]...)
	require.NoError(t, os.WriteFile(path, b, 0o600))
	requireRejected(t, s, info.ID)
}

func TestAttackReplayAcrossDocuments(t *testing.T) {
	ctx := context.Background()
	s, _ := testStore(t, newMemKeys(t, "k1"), Segment4KB)
	a := putPages(t, s, testMeta, randBytes(t, 10_000))
	b := putPages(t, s, testMeta, randBytes(t, 10_000))
	aSeal, _ := os.ReadFile(s.path(a.ID, sealExt))
	bSeal, _ := os.ReadFile(s.path(b.ID, sealExt))
	aRec, _ := os.ReadFile(s.path(a.ID, recExt))

	t.Run("body of A under record of B", func(t *testing.T) {
		require.NoError(t, os.WriteFile(s.path(b.ID, sealExt), aSeal, 0o600))
		requireRejected(t, s, b.ID)
		require.NoError(t, os.WriteFile(s.path(b.ID, sealExt), bSeal, 0o600))
	})
	t.Run("one segment of A spliced into B", func(t *testing.T) {
		x := bytes.Clone(bSeal)
		copy(x[4096:8192], aSeal[4096:8192])
		require.NoError(t, os.WriteFile(s.path(b.ID, sealExt), x, 0o600))
		requireRejected(t, s, b.ID)
		require.NoError(t, os.WriteFile(s.path(b.ID, sealExt), bSeal, 0o600))
	})
	t.Run("A's record and body copied under a new ID", func(t *testing.T) {
		newID := strings.Repeat("ab", 16)
		rec := bytes.ReplaceAll(aRec, []byte(a.ID), []byte(newID))
		require.NoError(t, os.WriteFile(s.path(newID, recExt), rec, 0o600))
		require.NoError(t, os.WriteFile(s.path(newID, sealExt), aSeal, 0o600))
		_, err := s.open(ctx, newID)
		require.ErrorIs(t, err, ErrDecrypt)
	})
	t.Run("record of A replayed over B (rollback)", func(t *testing.T) {
		rec := bytes.ReplaceAll(aRec, []byte(a.ID), []byte(b.ID))
		require.NoError(t, os.WriteFile(s.path(b.ID, recExt), rec, 0o600))
		_, err := s.open(ctx, b.ID)
		require.ErrorIs(t, err, ErrDecrypt)
	})
}

func TestPageDigestChecked(t *testing.T) {
	// Build a plaintext page stream, then corrupt a page byte inside it
	// (below the encryption layer) and check the SHA-256 catches it.
	var buf bytes.Buffer
	w, err := newPageStreamWriter(&buf)
	require.NoError(t, err)
	p, _ := w.newPage()
	p.Write([]byte("page one bytes"))
	require.NoError(t, p.Close())
	require.NoError(t, w.finish())
	good := buf.Bytes()

	bad := bytes.Clone(good)
	i := bytes.Index(bad, []byte("one"))
	bad[i] = 'O'
	r := newPageStreamReader(bytes.NewReader(bad), nil)
	pg, err := r.next()
	require.NoError(t, err)
	_, err = io.ReadAll(pg)
	require.ErrorIs(t, err, ErrPageDigest)

	// A correct stream whose digest differs from the record's manifest.
	want := []PageInfo{{Size: 14}}
	r = newPageStreamReader(bytes.NewReader(good), want)
	pg, err = r.next()
	require.NoError(t, err)
	_, err = io.ReadAll(pg)
	require.ErrorIs(t, err, ErrPageDigest)

	r = newPageStreamReader(bytes.NewReader(good), w.pages)
	pg, err = r.next()
	require.NoError(t, err)
	b, err := io.ReadAll(pg)
	require.NoError(t, err)
	require.Equal(t, "page one bytes", string(b))
	_, err = r.next()
	require.Equal(t, io.EOF, err)
}

func TestSkippingPagesStillVerifies(t *testing.T) {
	s, _ := testStore(t, newMemKeys(t, "k1"), Segment4KB)
	pages := [][]byte{randBytes(t, 5000), randBytes(t, 6000), randBytes(t, 7000)}
	info := putPages(t, s, Metadata{}, pages...)
	d, err := s.open(context.Background(), info.ID)
	require.NoError(t, err)
	defer d.Close()
	_, err = d.NextPage()
	require.NoError(t, err)
	_, err = d.NextPage() // skips page 1 unread
	require.NoError(t, err)
	p3, err := d.NextPage()
	require.NoError(t, err)
	b, err := io.ReadAll(p3)
	require.NoError(t, err)
	require.Equal(t, pages[2], b)
	_, err = d.NextPage()
	require.Equal(t, io.EOF, err)
}

func TestKeyRotationRewrapsWithoutReencrypting(t *testing.T) {
	ctx := context.Background()
	kf, err := CreateLocalKeyFile(filepath.Join(t.TempDir(), "kek.json"))
	require.NoError(t, err)
	s, _ := testStore(t, kf, Segment4KB)
	oldID, _ := kf.PrimaryKeyID(ctx)
	page := randBytes(t, 9000)
	a := putPages(t, s, testMeta, page)
	sealBefore, _ := os.ReadFile(s.path(a.ID, sealExt))

	newID, err := kf.Rotate()
	require.NoError(t, err)
	require.NotEqual(t, oldID, newID)
	b := putPages(t, s, testMeta, page)
	require.Equal(t, newID, b.KeyID)

	n, inUse, err := s.RotateKeys(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Equal(t, map[string]int{newID: 2}, inUse)
	st, err := s.Stat(ctx, a.ID)
	require.NoError(t, err)
	require.Equal(t, newID, st.KeyID)
	sealAfter, _ := os.ReadFile(s.path(a.ID, sealExt))
	require.Equal(t, sealBefore, sealAfter, "body must not be re-encrypted")

	// The old KEK can now be destroyed; documents stay readable.
	retired, err := kf.Retire(map[string]bool{})
	require.NoError(t, err)
	require.Equal(t, []string{oldID}, retired)
	kf2, err := OpenLocalKeyFile(kf.path)
	require.NoError(t, err)
	require.Equal(t, []string{newID}, kf2.KeyIDs())
	s.keys = kf2
	got, err := readPages(s, a.ID)
	require.NoError(t, err)
	require.Equal(t, [][]byte{page}, got)
	_, err = kf2.KeyEncryptionAEAD(ctx, oldID)
	require.ErrorIs(t, err, ErrKeyNotFound)
}

func TestLocalKeyFileIsolatesKeys(t *testing.T) {
	ctx := context.Background()
	kf, err := CreateLocalKeyFile(filepath.Join(t.TempDir(), "kek.json"))
	require.NoError(t, err)
	id1, _ := kf.PrimaryKeyID(ctx)
	id2, err := kf.Rotate()
	require.NoError(t, err)
	a1, err := kf.KeyEncryptionAEAD(ctx, id1)
	require.NoError(t, err)
	a2, err := kf.KeyEncryptionAEAD(ctx, id2)
	require.NoError(t, err)
	ct, err := a1.Encrypt([]byte("x"), nil)
	require.NoError(t, err)
	_, err = a2.Decrypt(ct, nil)
	require.Error(t, err, "KEK %s must not open data wrapped by %s", id2, id1)
	st, err := os.Stat(kf.path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())
}

func TestRetentionPurgeAndCryptoShred(t *testing.T) {
	ctx := context.Background()
	clk := newFakeClock()
	dir := t.TempDir()
	s, err := OpenStore(ctx, StoreConfig{Dir: dir, Keys: newMemKeys(t, "k1"), Clock: clk, Segment: Segment4KB,
		DefaultRetention: 30 * 24 * time.Hour})
	require.NoError(t, err)
	old := putPages(t, s, testMeta, randBytes(t, 5000))
	held := putPages(t, s, testMeta, randBytes(t, 5000))
	require.NoError(t, s.SetLegalHold(ctx, held.ID, true))
	clk.Advance(20 * 24 * time.Hour)
	young := putPages(t, s, testMeta, randBytes(t, 5000))
	require.Equal(t, clk.Now().Add(30*24*time.Hour), young.RetainUntil)

	// Keep a copy of old's files, as an attacker with a backup would.
	oldSeal, _ := os.ReadFile(s.path(old.ID, sealExt))

	purged, err := s.Purge(ctx)
	require.NoError(t, err)
	require.Empty(t, purged, "nothing expired yet")

	clk.Advance(10 * 24 * time.Hour)
	purged, err = s.Purge(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{old.ID}, purged)

	// Really gone: no record (wrapped key), no body, and the saved body
	// cannot be opened because the data key no longer exists anywhere.
	_, err = os.Stat(s.path(old.ID, recExt))
	require.ErrorIs(t, err, os.ErrNotExist)
	_, err = os.Stat(s.path(old.ID, sealExt))
	require.ErrorIs(t, err, os.ErrNotExist)
	require.NoError(t, os.WriteFile(s.path(old.ID, sealExt), oldSeal, 0o600))
	_, err = s.open(ctx, old.ID)
	require.ErrorIs(t, err, ErrNotFound)
	os.Remove(s.path(old.ID, sealExt))

	// Legal hold survives purge, delete and force-expiry.
	_, err = s.Stat(ctx, held.ID)
	require.NoError(t, err)
	require.ErrorIs(t, s.ForceExpire(ctx, held.ID), ErrLegalHold)
	require.ErrorIs(t, s.Delete(ctx, held.ID), ErrLegalHold)
	require.NoError(t, s.SetLegalHold(ctx, held.ID, false))
	purged, err = s.Purge(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{held.ID}, purged)

	// Force-expiry before the retention date.
	require.NoError(t, s.ForceExpire(ctx, young.ID))
	_, err = s.Stat(ctx, young.ID)
	require.ErrorIs(t, err, ErrNotFound)
	l, err := s.List(ctx)
	require.NoError(t, err)
	require.Empty(t, l)
}

// TestCrashBetweenEveryWriteStep injects a crash after each filesystem step
// of a Put, a key rotation and a deletion and checks that the reopened store
// holds either the whole document or nothing, with no temporary files left.
func TestCrashBetweenEveryWriteStep(t *testing.T) {
	ctx := context.Background()
	keys := newMemKeys(t, "k1")
	page := randBytes(t, 20_000)

	reopen := func(t *testing.T, dir string) *Store {
		t.Helper()
		s, err := OpenStore(ctx, StoreConfig{Dir: dir, Keys: keys, Segment: Segment4KB})
		require.NoError(t, err)
		ents, err := os.ReadDir(s.dir)
		require.NoError(t, err)
		for _, e := range ents {
			require.False(t, strings.HasPrefix(e.Name(), tmpPrefix), "temp file %s left after recovery", e.Name())
			if id, ok := strings.CutSuffix(e.Name(), sealExt); ok {
				_, err := os.Stat(s.path(id, recExt))
				require.NoError(t, err, "orphan body left after recovery")
			}
		}
		return s
	}
	checkAllOrNothing := func(t *testing.T, s *Store, mustExist bool) (present bool) {
		t.Helper()
		l, err := s.List(ctx)
		require.NoError(t, err)
		require.LessOrEqual(t, len(l), 1)
		if len(l) == 0 {
			require.False(t, mustExist, "committed document lost")
			return false
		}
		got, err := readPages(s, l[0].ID)
		require.NoError(t, err)
		require.Equal(t, [][]byte{page}, got)
		return true
	}

	t.Run("put", func(t *testing.T) {
		var sawNothing, sawWhole bool
		for k := 0; ; k++ {
			dir := t.TempDir()
			s, err := OpenStore(ctx, StoreConfig{Dir: dir, Keys: keys, Segment: Segment4KB})
			require.NoError(t, err)
			cfs := &crashFS{limit: k}
			s.fs = cfs
			_, err = s.put(ctx, testMeta, bytes.NewReader(page))
			if !cfs.crashed {
				require.NoError(t, err)
				t.Logf("put has %d steps: %v", k, cfs.log)
				require.GreaterOrEqual(t, k, 10)
				break
			}
			require.Error(t, err)
			if checkAllOrNothing(t, reopen(t, dir), false) {
				sawWhole = true
			} else {
				sawNothing = true
			}
		}
		require.True(t, sawNothing)
		require.True(t, sawWhole, "a crash after the commit point (final directory fsync) keeps the document")
	})

	t.Run("rotate", func(t *testing.T) {
		keys2 := newMemKeys(t, "k1")
		keys2.keys["k2"] = newMemKeys(t, "k2").keys["k2"]
		keys2.keys["k1"] = keys.keys["k1"]
		for k := 0; ; k++ {
			dir := t.TempDir()
			s, err := OpenStore(ctx, StoreConfig{Dir: dir, Keys: keys2, Segment: Segment4KB})
			require.NoError(t, err)
			keys2.primary = "k1"
			_, err = s.put(ctx, testMeta, bytes.NewReader(page))
			require.NoError(t, err)
			keys2.primary = "k2"
			cfs := &crashFS{limit: k}
			s.fs = cfs
			_, _, err = s.RotateKeys(ctx)
			s2, err2 := OpenStore(ctx, StoreConfig{Dir: dir, Keys: keys2, Segment: Segment4KB})
			require.NoError(t, err2)
			checkAllOrNothing(t, s2, true)
			if !cfs.crashed {
				require.NoError(t, err)
				break
			}
		}
	})

	t.Run("delete", func(t *testing.T) {
		for k := 0; ; k++ {
			dir := t.TempDir()
			s, err := OpenStore(ctx, StoreConfig{Dir: dir, Keys: keys, Segment: Segment4KB})
			require.NoError(t, err)
			info, err := s.put(ctx, testMeta, bytes.NewReader(page))
			require.NoError(t, err)
			cfs := &crashFS{limit: k}
			s.fs = cfs
			err = s.Delete(ctx, info.ID)
			s2 := reopen(t, dir)
			if !cfs.crashed {
				require.NoError(t, err)
				checkAllOrNothing(t, s2, false)
				l, _ := s2.List(ctx)
				require.Empty(t, l)
				break
			}
			checkAllOrNothing(t, s2, false)
		}
	})
}

// TestAttackTamperedRetentionOrHold edits a record's clear fields on disk:
// the wrapped data key is bound to them, so the document can be neither
// read nor deleted through the tampered record.
func TestAttackTamperedRetentionOrHold(t *testing.T) {
	ctx := context.Background()
	clk := newFakeClock()
	s, err := OpenStore(ctx, StoreConfig{Dir: t.TempDir(), Keys: newMemKeys(t, "k1"), Clock: clk, DefaultRetention: 365 * 24 * time.Hour})
	require.NoError(t, err)
	held := putPages(t, s, testMeta, []byte("evidence"))
	require.NoError(t, s.SetLegalHold(ctx, held.ID, true))
	young := putPages(t, s, testMeta, []byte("young"))

	edit := func(id, from, to string) {
		p := s.path(id, recExt)
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		require.Contains(t, string(b), from)
		require.NoError(t, os.WriteFile(p, bytes.Replace(b, []byte(from), []byte(to), 1), 0o600))
	}
	edit(held.ID, `"legal_hold":true,`, ``)
	st, _ := s.Stat(ctx, young.ID)
	edit(young.ID, st.RetainUntil.Format(time.RFC3339Nano), clk.Now().Add(-time.Hour).Format(time.RFC3339Nano))

	clk.Advance(2 * 365 * 24 * time.Hour) // everything is now past retention
	purged, err := s.Purge(ctx)
	require.Empty(t, purged, "tampered records must not be purged")
	require.ErrorIs(t, err, ErrDecrypt)
	require.ErrorIs(t, s.Delete(ctx, held.ID), ErrDecrypt)
	_, err = s.open(ctx, young.ID)
	require.ErrorIs(t, err, ErrDecrypt)
	_, err = os.Stat(s.path(held.ID, sealExt))
	require.NoError(t, err, "the held document's body must still exist")
}

func TestDamagedRecordDoesNotBlockPurge(t *testing.T) {
	ctx := context.Background()
	clk := newFakeClock()
	s, err := OpenStore(ctx, StoreConfig{Dir: t.TempDir(), Keys: newMemKeys(t, "k1"), Clock: clk, DefaultRetention: time.Hour})
	require.NoError(t, err)
	a := putPages(t, s, testMeta, []byte("a"))
	b := putPages(t, s, testMeta, []byte("b"))
	require.NoError(t, os.WriteFile(s.path(b.ID, recExt), []byte("{not json"), 0o600))
	clk.Advance(2 * time.Hour)
	l, err := s.List(ctx)
	require.ErrorIs(t, err, ErrCorrupt)
	require.Len(t, l, 1)
	purged, err := s.Purge(ctx)
	require.Equal(t, []string{a.ID}, purged)
	require.ErrorIs(t, err, ErrCorrupt, "the damaged record is reported")
}

// fakeKMS is a registry.KMSClient holding AEADs by key URI, standing in
// for a cloud KMS.
type fakeKMS struct{ keys *memKeys }

func (f fakeKMS) Supported(uri string) bool { return strings.HasPrefix(uri, "fake-kms://") }
func (f fakeKMS) GetAEAD(uri string) (tink.AEAD, error) {
	return f.keys.KeyEncryptionAEAD(context.Background(), uri)
}

func TestKMSKeyProviderRotation(t *testing.T) {
	ctx := context.Background()
	kms := fakeKMS{newMemKeys(t, "fake-kms://k1", "fake-kms://k2")}
	p := &KMSKeyProvider{Client: kms, KeyURI: "fake-kms://k1"}
	s, _ := testStore(t, p, Segment4KB)
	info := putPages(t, s, testMeta, []byte("via kms"))
	require.Equal(t, "fake-kms://k1", info.KeyID)

	p.KeyURI = "fake-kms://k2"
	n, inUse, err := s.RotateKeys(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Equal(t, map[string]int{"fake-kms://k2": 1}, inUse)
	delete(kms.keys.keys, "fake-kms://k1") // the old KMS key is destroyed
	got, err := readPages(s, info.ID)
	require.NoError(t, err)
	require.Equal(t, [][]byte{[]byte("via kms")}, got)

	_, err = (&KMSKeyProvider{Client: kms}).PrimaryKeyID(ctx)
	require.ErrorIs(t, err, ErrKeyNotFound)
	_, err = p.KeyEncryptionAEAD(ctx, "gcp-kms://other")
	require.ErrorIs(t, err, ErrKeyNotFound)
}

// Power lost while Delete zeroes a record leaves it partly zeroed. The
// store treats it as shredded (Stat says not found) and OpenStore finishes
// the deletion, instead of keeping a corrupt record that List reports and
// RotateKeys refuses to get past.
func TestPartlyZeroedRecordFinishesShred(t *testing.T) {
	ctx := context.Background()
	keys := newMemKeys(t, "k1")
	s, dir := testStore(t, keys, Segment4KB)
	gone := putPages(t, s, testMeta, randBytes(t, 3000))
	kept := putPages(t, s, testMeta, randBytes(t, 3000))
	rec := s.path(gone.ID, recExt)
	data, err := os.ReadFile(rec)
	require.NoError(t, err)
	copy(data, make([]byte, len(data)/2))
	require.NoError(t, os.WriteFile(rec, data, 0o600))

	_, err = s.Stat(ctx, gone.ID)
	require.ErrorIs(t, err, ErrNotFound)
	l, err := s.List(ctx)
	require.NoError(t, err)
	require.Len(t, l, 1)

	s2, err := OpenStore(ctx, StoreConfig{Dir: dir, Keys: keys})
	require.NoError(t, err)
	for _, ext := range []string{recExt, sealExt} {
		_, err = os.Stat(s2.path(gone.ID, ext))
		require.ErrorIs(t, err, os.ErrNotExist, ext)
	}
	_, err = s2.Stat(ctx, kept.ID)
	require.NoError(t, err)
}

// Processes that open-or-create the same key file at once (two faxkit CLI
// runs on a fresh directory) must all end up with the same keys: if the
// last writer won, what the others encrypted would be lost for good.
func TestKeyFileCreationRace(t *testing.T) {
	dir := t.TempDir()
	const n = 8
	kek := make([]string, n)
	mac := make([][]byte, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, err := OpenOrCreateLocalKeyFile(filepath.Join(dir, "kek.json"))
			if assert.NoError(t, err) {
				kek[i], _ = k.PrimaryKeyID(context.Background())
			}
			a, err := audit.OpenOrCreateKeyFile(filepath.Join(dir, "audit.key"), "race")
			if assert.NoError(t, err) {
				mac[i] = a.MAC
			}
		}()
	}
	wg.Wait()
	k, err := OpenLocalKeyFile(filepath.Join(dir, "kek.json"))
	require.NoError(t, err)
	want, err := k.PrimaryKeyID(context.Background())
	require.NoError(t, err)
	a, err := audit.OpenKeyFile(filepath.Join(dir, "audit.key"))
	require.NoError(t, err)
	for i := range n {
		require.Equal(t, want, kek[i], "opener %d", i)
		require.Equal(t, a.MAC, mac[i], "opener %d", i)
	}
	_, err = CreateLocalKeyFile(filepath.Join(dir, "kek.json"))
	require.ErrorIs(t, err, fs.ErrExist)
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, ents, 2, "no temporary files left")
}

// Another process opening the store (a faxkit command run while a fax is
// being received) must not take a document being written for the leftovers
// of a crash: its temporary body, or its body renamed but not yet given a
// record, must survive that open's recovery.
func TestOpenStoreLeavesActiveWritersAlone(t *testing.T) {
	ctx := context.Background()
	keys := newMemKeys(t, "k1")
	s, dir := testStore(t, keys, Segment4KB)
	w, err := s.create(ctx, testMeta)
	require.NoError(t, err)
	p, err := w.NewPage()
	require.NoError(t, err)
	page := randBytes(t, 9000)
	_, err = p.Write(page)
	require.NoError(t, err)
	require.NoError(t, p.Close())

	_, err = OpenStore(ctx, StoreConfig{Dir: dir, Keys: keys}) // "another process"
	require.NoError(t, err)
	info, err := w.Commit()
	require.NoError(t, err, "the writer's temporary body was removed under it")
	got, err := readPages(s, info.ID)
	require.NoError(t, err)
	require.Equal(t, [][]byte{page}, got)

	// With no writer active, recovery runs again.
	orphan := filepath.Join(dir, docsDir, tmpPrefix+"orphan")
	require.NoError(t, os.WriteFile(orphan, []byte("x"), 0o600))
	_, err = OpenStore(ctx, StoreConfig{Dir: dir, Keys: keys})
	require.NoError(t, err)
	_, err = os.Stat(orphan)
	require.ErrorIs(t, err, os.ErrNotExist)
}
