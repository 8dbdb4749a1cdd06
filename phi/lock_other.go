//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package phi

import "os"

// lockDir is a no-op where flock is unavailable: one writer per audit
// directory is then the caller's responsibility.
func lockDir(dir, name string) (*os.File, error) {
	return os.OpenFile(dir+string(os.PathSeparator)+name, os.O_RDWR|os.O_CREATE, 0o600)
}
