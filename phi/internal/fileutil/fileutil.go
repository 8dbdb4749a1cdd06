// Package fileutil holds the crash-safe file operations that phi and
// phi/audit share: advisory locks, exclusive atomic creation, directory
// fsync.
package fileutil

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// TempPrefix starts the name of every temporary file phi writes, so that
// recovery can find and remove leftovers.
const TempPrefix = ".tmp-"

// ErrLockBusy is returned by Lock without wait when the lock is held.
var ErrLockBusy = errors.New("phi: lock held elsewhere")

// SyncDir fsyncs a directory, making renames and creations in it durable.
func SyncDir(dir string) error {
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

// SplitPath splits a file path into its directory ("." if none) and name.
func SplitPath(path string) (dir, name string) {
	dir, name = filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	return dir, name
}

// CreateExclusive writes data to dir/name only if no file of that name
// exists, and atomically: the complete, fsynced file appears at once or not
// at all. It returns an error wrapping fs.ErrExist if the name is taken, so
// two processes creating the same key file cannot both "win" (with a plain
// rename the second would replace the first's keys, and whatever the first
// had already encrypted with them would be lost).
func CreateExclusive(dir, name string, data []byte) error {
	f, err := os.CreateTemp(dir, TempPrefix+"*") // mode 0600
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
	return SyncDir(dir)
}
