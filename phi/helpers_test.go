package phi

import (
	"context"
	"errors"
	"fmt"
	"github.com/faxkit/faxkit/internal/clock"
	"github.com/faxkit/faxkit/phi/audit"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/tink"
)

// newFakeClock is a settable clock at a fixed start.
func newFakeClock() *clock.Fake {
	return clock.NewFake(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
}

// memKeys is an in-memory KeyProvider (a stand-in for a KMS).
type memKeys struct {
	primary string
	keys    map[string]tink.AEAD
}

func newMemKeys(t testing.TB, ids ...string) *memKeys {
	m := &memKeys{keys: map[string]tink.AEAD{}}
	for _, id := range ids {
		h, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
		require.NoError(t, err)
		a, err := aead.New(h)
		require.NoError(t, err)
		m.keys[id] = a
		m.primary = id
	}
	return m
}

func (m *memKeys) PrimaryKeyID(context.Context) (string, error) { return m.primary, nil }
func (m *memKeys) KeyEncryptionAEAD(_ context.Context, id string) (tink.AEAD, error) {
	a, ok := m.keys[id]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrKeyNotFound, id)
	}
	return a, nil
}

var errCrash = errors.New("injected crash")

// crashFS performs real filesystem operations until `limit` steps have
// happened, then fails every further operation, like a process that died.
type crashFS struct {
	limit, steps int
	crashed      bool
	log          []string
}

func (c *crashFS) step(name string) error {
	if c.crashed || c.steps >= c.limit {
		c.crashed = true
		return errCrash
	}
	c.steps++
	c.log = append(c.log, name)
	return nil
}

type crashFile struct {
	fsFile
	c *crashFS
}

func (f crashFile) Write(b []byte) (int, error) {
	if f.c.crashed {
		return 0, errCrash
	}
	return f.fsFile.Write(b)
}
func (f crashFile) Sync() error {
	if err := f.c.step("sync " + filepath.Base(f.Name())); err != nil {
		return err
	}
	return f.fsFile.Sync()
}
func (f crashFile) Close() error {
	if err := f.c.step("close " + filepath.Base(f.Name())); err != nil {
		f.fsFile.Close() // the OS closes files of a dead process
		return err
	}
	return f.fsFile.Close()
}

func (c *crashFS) MkdirAll(dir string, perm os.FileMode) error {
	if err := c.step("mkdir"); err != nil {
		return err
	}
	return osFS{}.MkdirAll(dir, perm)
}
func (c *crashFS) CreateTemp(dir, pattern string) (fsFile, error) {
	if err := c.step("create-temp"); err != nil {
		return nil, err
	}
	f, err := osFS{}.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err
	}
	return crashFile{f, c}, nil
}
func (c *crashFS) OpenWrite(name string) (fsFile, error) {
	if err := c.step("open-write " + filepath.Base(name)); err != nil {
		return nil, err
	}
	f, err := osFS{}.OpenWrite(name)
	if err != nil {
		return nil, err
	}
	return crashFile{f, c}, nil
}
func (c *crashFS) Rename(o, n string) error {
	if err := c.step("rename " + filepath.Ext(n)); err != nil {
		return err
	}
	return os.Rename(o, n)
}
func (c *crashFS) Remove(name string) error {
	if err := c.step("remove " + filepath.Ext(name)); err != nil {
		return err
	}
	return os.Remove(name)
}
func (c *crashFS) SyncDir(dir string) error {
	if err := c.step("sync-dir"); err != nil {
		return err
	}
	return osFS{}.SyncDir(dir)
}

// testAuditKeys returns fresh in-memory audit keys.
func testAuditKeys(t testing.TB) audit.Keys {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.key")
	k, err := audit.CreateKeyFile(path, "faxkit-test")
	require.NoError(t, err)
	return k
}

// get reads a whole document into w, verifying every page, without
// auditing (the store's internal read path, as the tests use it).
func (s *Store) get(ctx context.Context, id string, w io.Writer) (int64, error) {
	d, err := s.open(ctx, id)
	if err != nil {
		return 0, err
	}
	defer d.Close()
	return io.Copy(w, d)
}
