package phi

import (
	"errors"
	"io"
	"io/fs"
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

func (osFS) SyncDir(dir string) error {
	d, err := os.Open(filepath.Clean(dir))
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

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

// createFileExclusive writes data to dir/name only if no file of that name
// exists, and atomically: the complete, fsynced file appears at once or not
// at all. It returns an error wrapping fs.ErrExist if the name is taken, so
// two processes creating the same key file cannot both "win" (with a plain
// rename the second would replace the first's keys, and whatever the first
// had already encrypted with them would be lost).
func createFileExclusive(dir, name string, data []byte) error {
	f, err := os.CreateTemp(dir, tmpPrefix+"*") // mode 0600
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	dst := filepath.Join(dir, name)
	if err := os.Link(tmp, dst); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fs.ErrExist
		}
		// No hard links here (some network or FUSE filesystems): fall
		// back to an exclusive create, which is not atomic in content
		// but still never replaces another process's file.
		g, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			if errors.Is(err, fs.ErrExist) {
				return fs.ErrExist
			}
			return err
		}
		_, err = g.Write(data)
		if err == nil {
			err = g.Sync()
		}
		if cerr := g.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(dst)
			return err
		}
	}
	return osFS{}.SyncDir(dir)
}

const tmpPrefix = ".tmp-"

var errLockBusy = errors.New("phi: lock held elsewhere")
