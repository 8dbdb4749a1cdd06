// Package peertest finds the independent peers that interop tests run
// against (libtiff's tools, libspandsp, ...) and the repository's shared
// reference data.
//
// A test that needs a peer that is absent is skipped with a message saying
// how to install it, except when CI=true or FAXKIT_REQUIRE_PEERS=1, where an
// absent peer is a test failure: CI must never pass by skipping interop.
package peertest

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Required reports whether absent peers fail tests instead of skipping them.
func Required() bool {
	return os.Getenv("CI") == "true" || os.Getenv("FAXKIT_REQUIRE_PEERS") == "1"
}

// Missing skips t (or fails it, when peers are Required) because what is
// absent, with hint saying how to get it.
func Missing(t testing.TB, what, hint string) {
	t.Helper()
	if Required() {
		t.Fatalf("%s is not available (required under CI=true): %s", what, hint)
	}
	t.Skipf("%s is not available; %s (or run scripts/test.sh, which installs it)", what, hint)
}

// Program returns the path of an external program, or skips/fails t when it
// is not installed. hint names the package that provides it, e.g.
// "apt-get install libtiff-tools".
func Program(t testing.TB, name, hint string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, "program "+name, hint)
	}
	return p
}

// CFlags returns the compiler and linker flags of a C library known to
// pkg-config, or skips/fails t when the library or a C compiler is absent.
func CFlags(t testing.TB, pkg, hint string) []string {
	t.Helper()
	Program(t, "cc", "apt-get install gcc")
	Program(t, "pkg-config", "apt-get install pkg-config")
	out, err := exec.Command("pkg-config", "--cflags", "--libs", pkg).Output()
	if err != nil {
		Missing(t, "C library "+pkg, hint)
	}
	return strings.Fields(string(out))
}

// BuildC compiles C sources into an executable in a temporary directory and
// returns its path. flags are extra compiler and linker flags (see CFlags).
func BuildC(t testing.TB, name string, sources []string, flags ...string) string {
	t.Helper()
	exe := filepath.Join(t.TempDir(), name)
	args := append([]string{"-O2", "-Wall", "-o", exe}, sources...)
	args = append(args, flags...)
	args = append(args, "-lm")
	if out, err := exec.Command("cc", args...).CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", name, err, out)
	}
	return exe
}

// SharedTestdata returns the path of the repository's shared reference data
// (<repo>/testdata: the eight CCITT documents and their provenance), which
// every package's tests may read. It is part of the repository, so a fresh
// clone has it; t fails if it is missing.
func SharedTestdata(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	// file is <repo>/internal/peertest/peertest.go
	repo := filepath.Dir(filepath.Dir(filepath.Dir(file)))
	dir := filepath.Join(repo, "testdata")
	if st, err := os.Stat(filepath.Join(dir, "ccitt")); err != nil || !st.IsDir() {
		t.Fatalf("repository test data %s is missing: %v", dir, err)
	}
	return dir
}
