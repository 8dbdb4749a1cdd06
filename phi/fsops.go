package phi

import (
	"github.com/faxkit/faxkit/phi/internal/fileutil"
	"io"
	"os"
	"path/filepath"
)

// fsFile is the subset of *os.File the store writes through.
type fsFile interface {
	io.Writer
	Sync() error
	Close() error
	Name() string
}

// fsOps is every mutating filesystem operation the store performs. It exists
// so tests can inject a crash after any step and check recovery.
type fsOps interface {
	MkdirAll(dir string, perm os.FileMode) error
	CreateTemp(dir, pattern string) (fsFile, error)
	// OpenWrite opens an existing file for in-place overwrite.
	OpenWrite(name string) (fsFile, error)
	Rename(oldpath, newpath string) error
	Remove(name string) error
	SyncDir(dir string) error
}

type osFS struct{}

func (osFS) MkdirAll(dir string, perm os.FileMode) error { return os.MkdirAll(dir, perm) }

func (osFS) CreateTemp(dir, pattern string) (fsFile, error) {
	f, err := os.CreateTemp(dir, pattern) // mode 0600
	if err != nil {
		return nil, err
	}
	return f, nil
}

func (osFS) OpenWrite(name string) (fsFile, error) {
	f, err := os.OpenFile(name, os.O_WRONLY, 0)
	if err != nil {
		return nil, err
	}
	return f, nil
}

func (osFS) Rename(oldpath, newpath string) error { return os.Rename(oldpath, newpath) }
func (osFS) Remove(name string) error             { return os.Remove(name) }

func (osFS) SyncDir(dir string) error { return fileutil.SyncDir(dir) }

// writeFileAtomic writes data to dir/name via a temporary file, fsync,
// rename and directory fsync: after a crash either the old file or the new
// one is present, never a torn mix.
func writeFileAtomic(fs fsOps, dir, name string, data []byte) error {
	f, err := fs.CreateTemp(dir, tmpPrefix+"*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			fs.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := fs.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return err
	}
	ok = true
	return fs.SyncDir(dir)
}

const tmpPrefix = fileutil.TempPrefix
