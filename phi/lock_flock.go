//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package phi

import (
	"errors"
	"os"
	"syscall"
)

// lockDir takes an exclusive advisory lock (flock) on dir/name, creating
// the file if needed. It fails at once with ErrAuditBusy if another open
// file description holds the lock, in this process or another.
func lockDir(dir, name string) (*os.File, error) {
	f, err := os.OpenFile(dir+string(os.PathSeparator)+name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, ErrAuditBusy
		}
		return nil, err
	}
	return f, nil
}
