//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package fileutil

import (
	"errors"
	"os"
	"syscall"
)

// Lock opens (creating if needed) the file at path and takes an
// advisory flock on it: shared or exclusive, waiting for it or failing at
// once with ErrLockBusy. Locks conflict between open file descriptions, in
// this process or another; closing the file releases the lock.
func Lock(path string, exclusive, wait bool) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	if !wait {
		how |= syscall.LOCK_NB
	}
	for {
		err = syscall.Flock(int(f.Fd()), how)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, ErrLockBusy
		}
		return nil, err
	}
	return f, nil
}
