package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faxkit/faxkit/internal/peertest"
	"github.com/faxkit/faxkit/phi"
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

// TestStoreGetAuditedOnce: each "store get" leaves exactly one
// read-content record, whose outcome is the get's: a document that fails
// verification, an unknown ID, a page it does not have and an output
// that cannot be written are each one failure (not a success for the
// opening and a failure after it), and a failed get to stdout writes
// nothing.
func TestStoreGetAuditedOnce(t *testing.T) {
	dir := t.TempDir()
	initStore(t, dir)
	in := filepath.Join(t.TempDir(), "p.bin")
	page := bytes.Repeat([]byte("synthetic page "), 2000) // several 4 KiB segments
	require.NoError(t, os.WriteFile(in, page, 0o600))
	put := func() string {
		r := runCLI(t, dir, "store", "put", in)
		require.Equal(t, 0, r.code, r.stderr)
		return strings.TrimSpace(r.stdout)
	}
	good, bad := put(), put()
	seal := filepath.Join(dir, "docs", bad+".seal")
	body, err := os.ReadFile(seal)
	require.NoError(t, err)
	body[len(body)-100] ^= 1 // the last segment: the first ones decrypt
	require.NoError(t, os.WriteFile(seal, body, 0o600))

	// reads returns the read-content records after the first skip.
	reads := func(skip int) []map[string]any {
		t.Helper()
		r := runCLI(t, dir, "audit", "export")
		require.Equal(t, 0, r.code, r.stderr)
		var out []map[string]any
		for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
			var ev map[string]any
			require.NoError(t, json.Unmarshal([]byte(line), &ev), line)
			if ev["action_name"] == "read-content" {
				out = append(out, ev)
			}
		}
		return out[skip:]
	}
	outDir := t.TempDir()
	unknown := strings.Repeat("0", 32)
	for _, tc := range []struct {
		name    string
		args    []string
		id      string
		code    int
		outcome string
		detail  string
	}{
		{"stdout", []string{"get", good}, good, 0, "success", "unguarded"},
		{"file", []string{"get", "-o", filepath.Join(outDir, "good.bin"), good}, good, 0, "success", "unguarded"},
		{"page", []string{"get", "-page", "1", good}, good, 0, "success", "unguarded"},
		{"tampered to stdout", []string{"get", bad}, bad, 1, "failure", "unguarded: " + phi.ErrDecrypt.Error()},
		{"tampered to file", []string{"get", "-o", filepath.Join(outDir, "bad.bin"), bad}, bad, 1, "failure", "unguarded: " + phi.ErrDecrypt.Error()},
		{"unknown ID", []string{"get", unknown}, unknown, 1, "failure", "unguarded: " + phi.ErrNotFound.Error()},
		{"no such page", []string{"get", "-page", "2", good}, good, 1, "failure", "unguarded: no such page"},
		{"output not writable", []string{"get", "-o", filepath.Join(outDir, "missing", "x.bin"), good}, good, 1, "failure", "unguarded: cannot write the output"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(reads(0))
			r := runCLI(t, dir, append([]string{"store"}, tc.args...)...)
			require.Equal(t, tc.code, r.code, r.stderr)
			if tc.code != 0 {
				require.Zero(t, len(r.stdout), "nothing leaves a failed get")
			} else if tc.args[1] != "-o" {
				require.Equal(t, string(page), r.stdout)
			}
			got := reads(before)
			require.Len(t, got, 1, "one record per get: %v", got)
			require.Equal(t, tc.id, got[0]["document"])
			require.Equal(t, tc.outcome, got[0]["outcome_name"])
			require.Equal(t, tc.detail, got[0]["detail"])
			require.True(t, strings.HasPrefix(got[0]["principal"].(string), "cli:"), got[0])
		})
	}
	got, err := os.ReadFile(filepath.Join(outDir, "good.bin"))
	require.NoError(t, err)
	require.Equal(t, page, got)
	_, err = os.Stat(filepath.Join(outDir, "bad.bin"))
	require.ErrorIs(t, err, fs.ErrNotExist)
}

// TestStoreErrorMessages: a missing or invalid store directory, a key
// file or audit key file that is not the store's, and an unknown or
// invalid document ID each get a message saying so (and what to do),
// from the store commands and from receive -store alike; none echoes
// what was typed in place of an ID, and a missing store is not created.
func TestStoreErrorMessages(t *testing.T) {
	base := t.TempDir()
	s1, s2 := filepath.Join(base, "s1"), filepath.Join(base, "s2")
	for _, d := range []string{s1, s2} {
		r := runCLI(t, "", "store", "init", "-dir", d)
		require.Equal(t, 0, r.code, r.stderr)
	}
	in := filepath.Join(t.TempDir(), "p.bin")
	require.NoError(t, os.WriteFile(in, []byte("synthetic page"), 0o600))
	putIn := func(dir string) string {
		r := runCLI(t, "", "store", "put", "-dir", dir, in)
		require.Equal(t, 0, r.code, r.stderr)
		return strings.TrimSpace(r.stdout)
	}
	id := putIn(s1)
	// s2 holds its own document and a copy of one sealed under s1's key.
	putIn(s2)
	for _, ext := range []string{".rec", ".seal"} {
		b, err := os.ReadFile(filepath.Join(s1, "docs", id+ext))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(s2, "docs", id+ext), b, 0o600))
	}
	missing := filepath.Join(base, "missing")
	file := filepath.Join(base, "file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	badKey := filepath.Join(base, "bad.json")
	require.NoError(t, os.WriteFile(badKey, []byte("{}"), 0o600))
	unknown := strings.Repeat("ab", 16)
	notFound := "document " + unknown + " not found in store " + s1
	rx := []string{"receive", "-local", "127.0.0.1:0", "-timeout", "300ms"}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"missing store", []string{"store", "list", "-dir", missing}, "store directory " + missing + " does not exist: create the store first with 'faxkit store init -dir DIR'"},
		{"missing store, receive", append(rx, "-store", missing), "store directory " + missing + " does not exist"},
		{"missing store, audit", []string{"audit", "verify", "-dir", missing}, "store directory " + missing + " does not exist"},
		{"not a directory", []string{"store", "get", "-dir", file, id}, "store directory " + file + " is not a directory"},
		{"not a directory, receive", append(rx, "-store", file), "store directory " + file + " is not a directory"},
		{"another store's key", []string{"store", "get", "-dir", s1, "-keyfile", filepath.Join(s2, "kek.json"), id},
			"key file " + filepath.Join(s2, "kek.json") + " is not this store's: it does not hold key local:"},
		{"another store's key, put", []string{"store", "put", "-dir", s1, "-keyfile", filepath.Join(s2, "kek.json"), in}, "is not this store's"},
		{"another store's key, receive", append(rx, "-store", s1, "-keyfile", filepath.Join(s2, "kek.json")), "is not this store's"},
		{"not a key file", []string{"store", "list", "-dir", s1, "-keyfile", badKey}, "key file " + badKey + " cannot be used"},
		{"another store's audit key", []string{"store", "list", "-dir", s1, "-auditkey", filepath.Join(s2, "audit.key")},
			"audit key file " + filepath.Join(s2, "audit.key") + " is not this log's"},
		{"another store's audit key, receive", append(rx, "-store", s1, "-auditkey", filepath.Join(s2, "audit.key")), "is not this log's"},
		{"another store's audit key, audit verify", []string{"audit", "verify", "-dir", s1, "-auditkey", filepath.Join(s2, "audit.key")}, "is not this log's"},
		{"a document under a key the file lacks", []string{"store", "get", "-dir", s2, id},
			"document " + id + " is sealed under key local:"},
		{"unknown ID, get", []string{"store", "get", "-dir", s1, unknown}, notFound},
		{"unknown ID, info", []string{"store", "info", "-dir", s1, unknown}, notFound},
		{"unknown ID, verify", []string{"store", "verify", "-dir", s1, unknown}, notFound},
		{"unknown ID, hold", []string{"store", "hold", "-dir", s1, unknown, "on"}, notFound},
		{"unknown ID, purge", []string{"store", "purge", "-dir", s1, "-force", unknown}, notFound},
		{"invalid ID, get", []string{"store", "get", "-dir", s1, "Jane-Roe-referral.tif"}, "invalid document ID: want the 32 hex digits"},
		{"invalid ID, info", []string{"store", "info", "-dir", s1, "Jane-Roe-referral.tif"}, "invalid document ID"},
		{"invalid ID, hold", []string{"store", "hold", "-dir", s1, "Jane-Roe-referral.tif", "off"}, "invalid document ID"},
		{"invalid ID, purge", []string{"store", "purge", "-dir", s1, "-force", "Jane-Roe-referral.tif"}, "invalid document ID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, "", tc.args...)
			require.Equal(t, 1, r.code, r.stderr)
			require.Contains(t, r.stderr, tc.want)
			require.NotContains(t, r.stderr, "Jane")
			require.NotContains(t, r.stderr, "waiting for a call", "refused before the call")
		})
	}
	require.NoDirExists(t, missing, "no store is created but by store init")
	recs, err := filepath.Glob(filepath.Join(s1, "docs", "*.rec"))
	require.NoError(t, err)
	require.Len(t, recs, 1, "nothing sealed under another store's key")
}
