package main

import (
	"bytes"
	"context"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faxkit/faxkit/internal/peertest"
	"github.com/faxkit/faxkit/phi/audit"
	"github.com/stretchr/testify/require"
)

type result struct {
	code           int
	stdout, stderr string
}

func runCLI(t *testing.T, dir string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdout: &out, stderr: &errb, stdin: strings.NewReader(""), getenv: func(k string) string {
		switch k {
		case "FAXKIT_DIR":
			return dir
		case "USER":
			return "tester"
		}
		return ""
	}}
	code := run(context.Background(), e, args)
	return result{code, out.String(), errb.String()}
}

// initStore creates a new store's keys, as an operator must first.
func initStore(t *testing.T, dir string) {
	t.Helper()
	r := runCLI(t, dir, "store", "init")
	require.Equal(t, 0, r.code, r.stderr)
}

// TestStoreKeysAreNeverCreatedSilently: without "store init" every store
// command fails with a clear error and writes no key; init refuses to
// overwrite; a store holding documents without its key is refused.
func TestStoreKeysAreNeverCreatedSilently(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{{"store", "list"}, {"store", "put", "/dev/null"}, {"store", "purge"}, {"audit", "verify"}} {
		r := runCLI(t, dir, args...)
		require.NotEqual(t, 0, r.code, "%v", args)
		require.Contains(t, r.stderr, "faxkit store init", "%v", args)
		for _, f := range []string{"kek.json", "audit.key"} {
			_, err := os.Stat(filepath.Join(dir, f))
			require.True(t, os.IsNotExist(err), "%v created %s", args, f)
		}
	}
	r := runCLI(t, dir, "store", "init")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "kek.json")
	r = runCLI(t, dir, "store", "init")
	require.NotEqual(t, 0, r.code)
	require.Contains(t, r.stderr, "exist already")

	p := filepath.Join(t.TempDir(), "p.bin")
	require.NoError(t, os.WriteFile(p, []byte("synthetic page"), 0o600))
	r = runCLI(t, dir, "store", "put", p)
	require.Equal(t, 0, r.code, r.stderr)
	require.NoError(t, os.Remove(filepath.Join(dir, "kek.json")))
	r = runCLI(t, dir, "store", "init")
	require.NotEqual(t, 0, r.code, "a new key next to documents sealed under a lost one")
	require.Contains(t, r.stderr, "holds documents")
	r = runCLI(t, dir, "store", "list")
	require.NotEqual(t, 0, r.code)
}

// TestCLIAuditIdentityFromOS: the audit records name the operating
// system's account, whatever $USER says.
func TestCLIAuditIdentityFromOS(t *testing.T) {
	dir := t.TempDir()
	initStore(t, dir)
	r := runCLI(t, dir, "store", "list") // runCLI sets USER=tester
	require.Equal(t, 0, r.code, r.stderr)
	r = runCLI(t, dir, "audit", "export")
	require.Equal(t, 0, r.code, r.stderr)
	u, err := user.Current()
	require.NoError(t, err)
	require.Contains(t, r.stdout, `"principal":"cli:`+u.Username+`(uid `+u.Uid+`)"`)
	require.NotContains(t, r.stdout, "tester")
}

func TestStoreAndAuditCommands(t *testing.T) {
	dir := t.TempDir()
	initStore(t, dir)
	p1 := filepath.Join(t.TempDir(), "p1.tif")
	p2 := filepath.Join(t.TempDir(), "p2.tif")
	require.NoError(t, os.WriteFile(p1, []byte("synthetic page one"), 0o600))
	require.NoError(t, os.WriteFile(p2, []byte("synthetic page two"), 0o600))

	r := runCLI(t, dir, "store", "put", p1, p2)
	require.Equal(t, 0, r.code, r.stderr)
	id := strings.TrimSpace(r.stdout)
	require.Len(t, id, 32)

	r = runCLI(t, dir, "store", "list")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, id)
	require.NotContains(t, r.stdout, "p1.tif")

	r = runCLI(t, dir, "store", "get", id)
	require.Equal(t, 0, r.code, r.stderr)
	require.Equal(t, "synthetic page onesynthetic page two", r.stdout)
	r = runCLI(t, dir, "store", "get", "-page", "2", id)
	require.Equal(t, "synthetic page two", r.stdout)

	r = runCLI(t, dir, "store", "verify")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "ok "+id)

	r = runCLI(t, dir, "store", "rotate-key", "-retire")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "re-wrapped 1 data keys")
	require.Contains(t, r.stdout, "retired KEK")
	r = runCLI(t, dir, "store", "get", id)
	require.Equal(t, "synthetic page onesynthetic page two", r.stdout)

	r = runCLI(t, dir, "store", "hold", id, "on")
	require.Equal(t, 0, r.code, r.stderr)
	r = runCLI(t, dir, "store", "purge", "-force", id)
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "legal hold")
	runCLI(t, dir, "store", "hold", id, "off")
	r = runCLI(t, dir, "store", "purge", "-force", id)
	require.Equal(t, 0, r.code, r.stderr)
	r = runCLI(t, dir, "store", "get", id)
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "not found")

	r = runCLI(t, dir, "audit", "checkpoint")
	require.Equal(t, 0, r.code, r.stderr)
	cpFile := filepath.Join(t.TempDir(), "cp.note")
	require.NoError(t, os.WriteFile(cpFile, []byte(r.stdout), 0o600))

	r = runCLI(t, dir, "audit", "verify", "-checkpoint", cpFile)
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "OK:")

	r = runCLI(t, dir, "audit", "export")
	require.Equal(t, 0, r.code, r.stderr)
	for _, a := range []string{`"action_name":"create"`, `"action_name":"read-content"`, `"action_name":"rotate-keys"`, `"outcome_name":"denied"`, `"action_name":"delete"`,
		`"action_name":"audit-read"`} { // the export records itself before it runs
		require.Contains(t, r.stdout, a)
	}

	// Tamper with record 3: verify fails and names it.
	seg, err := filepath.Glob(filepath.Join(dir, "audit", "audit-*.log"))
	require.NoError(t, err)
	data, err := os.ReadFile(seg[0])
	require.NoError(t, err)
	lines := strings.Split(string(data), "\n")
	lines[3], lines[4] = lines[4], lines[3]
	require.NoError(t, os.WriteFile(seg[0], []byte(strings.Join(lines, "\n")), 0o600))
	r = runCLI(t, dir, "audit", "verify")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "record 3 (audit-")

	// Truncation after the trusted checkpoint is caught by it.
	require.NoError(t, os.WriteFile(seg[0], data, 0o600))
	require.NoError(t, os.WriteFile(seg[0], []byte(strings.Join(strings.Split(string(data), "\n")[:5], "\n")+"\n"), 0o600))
	require.NoError(t, os.Remove(filepath.Join(dir, "audit", "checkpoints")))
	r = runCLI(t, dir, "audit", "verify", "-checkpoint", cpFile)
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "truncated")
}

func TestDispatcher(t *testing.T) {
	r := runCLI(t, "", "nope")
	require.Equal(t, 2, r.code)
	require.Contains(t, r.stderr, "unknown command")
	r = runCLI(t, "", "help")
	require.Equal(t, 0, r.code)
	for _, c := range commands {
		require.Contains(t, r.stdout, c.name)
	}
	r = runCLI(t, "", "store")
	require.Equal(t, 2, r.code)
	require.Contains(t, r.stderr, "usage: faxkit store")
	r = runCLI(t, "", "store", "frobnicate")
	require.Equal(t, 2, r.code)
	r = runCLI(t, "", "store", "list", "-dir", "")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "-dir")
}

func TestStoreTIFFRoundTrip(t *testing.T) {
	dir := t.TempDir()
	initStore(t, dir)
	src := filepath.Join(peertest.SharedTestdata(t), "ccitt", "itu2.tif")
	r := runCLI(t, dir, "store", "put", "-tiff", src)
	require.Equal(t, 0, r.code, r.stderr)
	id := strings.TrimSpace(r.stdout)
	out := filepath.Join(t.TempDir(), "out.tif")
	r = runCLI(t, dir, "store", "get", "-tiff", "-o", out, id)
	require.Equal(t, 0, r.code, r.stderr)
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(data, []byte("II*\x00")), "a TIFF file")
}

// A document that fails verification must not leave a partial plaintext
// in OUT (nor clobber what OUT held), and errors must not echo file names.
func TestStoreGetLeavesNoUnverifiedOutput(t *testing.T) {
	dir := t.TempDir()
	initStore(t, dir)
	in := filepath.Join(t.TempDir(), "Jane-Roe-referral.tif")
	page := bytes.Repeat([]byte("synthetic page "), 2000) // several 4 KiB segments
	require.NoError(t, os.WriteFile(in, page, 0o600))
	r := runCLI(t, dir, "store", "put", in)
	require.Equal(t, 0, r.code, r.stderr)
	id := strings.TrimSpace(r.stdout)

	seal := filepath.Join(dir, "docs", id+".seal")
	body, err := os.ReadFile(seal)
	require.NoError(t, err)
	body[len(body)-100] ^= 1 // last segment: earlier pages decrypt first
	require.NoError(t, os.WriteFile(seal, body, 0o600))

	outDir := t.TempDir()
	out := filepath.Join(outDir, "Jane-Roe-out.tif")
	require.NoError(t, os.WriteFile(out, []byte("previous"), 0o600))
	r = runCLI(t, dir, "store", "get", "-o", out, id)
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "decryption failed")
	got, err := os.ReadFile(out)
	require.NoError(t, err)
	require.Equal(t, "previous", string(got), "OUT untouched")
	ents, err := os.ReadDir(outDir)
	require.NoError(t, err)
	require.Len(t, ents, 1, "no temporary file left")

	r = runCLI(t, dir, "store", "get", "-o", filepath.Join(outDir, "no-such-dir", "Jane-Roe.tif"), id)
	require.Equal(t, 1, r.code)
	require.NotContains(t, r.stderr, "Jane")
}

// Commands that overlap (an operator's get while a scheduled purge runs)
// take turns on the audit log instead of corrupting its chain or failing.
func TestCommandsWaitForTheAuditLog(t *testing.T) {
	dir := t.TempDir()
	initStore(t, dir)
	r := runCLI(t, dir, "store", "list")
	require.Equal(t, 0, r.code, r.stderr)
	keys, err := audit.OpenKeyFile(filepath.Join(dir, "audit.key"))
	require.NoError(t, err)
	held, err := audit.Open(audit.Config{Dir: filepath.Join(dir, "audit"), Keys: keys})
	require.NoError(t, err)
	go func() {
		time.Sleep(200 * time.Millisecond)
		held.Close()
	}()
	r = runCLI(t, dir, "store", "list")
	require.Equal(t, 0, r.code, r.stderr)
	r = runCLI(t, dir, "audit", "verify")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "OK: 3 records", "init, then two lists")
}
