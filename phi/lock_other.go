//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package phi

import "os"

// lockFile only opens the file where flock is unavailable: keeping one
// process per audit directory and store is then the caller's job.
func lockFile(path string, exclusive, wait bool) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
}
