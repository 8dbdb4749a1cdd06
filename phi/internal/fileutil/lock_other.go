//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package fileutil

import "os"

// Lock only opens the file where flock is unavailable: keeping one
// process per audit directory and store is then the caller's job.
func Lock(path string, exclusive, wait bool) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
}
