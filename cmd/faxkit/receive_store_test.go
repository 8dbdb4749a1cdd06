package main

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestBinaryReceiveIntoStore: "faxkit receive -store DIR" in its own
// process seals a fax from a loopback sender as it arrives; the document
// ID is the report's document_id field, no file under DIR holds a clear
// TIFF, the receive is audited under the OS user, and "store get -tiff"
// gives back the sent pages pixel for pixel. The sender's ident (PHI) is
// sealed with the document: it is in no output of the receive and no
// file under DIR, and "store info" shows it, audited as read-metadata.
func TestBinaryReceiveIntoStore(t *testing.T) {
	bin := binary(t)
	in, pages := letterTIFF(t, 2, nil)
	dir := t.TempDir()
	run := func(args ...string) (string, string, int) {
		var o, e bytes.Buffer
		cmd := exec.Command(bin, args...)
		cmd.Stdout, cmd.Stderr = &o, &e
		code := exitStatus(t, cmd)
		return o.String(), e.String(), code
	}
	// No key files yet: refused, nothing created.
	_, stderr, code := run("receive", "-local", freePort(t), "-timeout", "300ms", "-store", dir)
	require.Equal(t, 1, code, stderr)
	require.Contains(t, stderr, "store init")
	require.NoFileExists(t, filepath.Join(dir, "kek.json"))
	_, stderr, code = run("store", "init", "-dir", dir)
	require.Equal(t, 0, code, stderr)

	addr := freePort(t)
	var rxOut, rxErr, txErr bytes.Buffer
	recv := exec.Command(bin, "receive", "-local", addr, "-pace=false", "-timeout", "60s", "-json", "-store", dir, "-retain", "24h")
	recv.Stdout, recv.Stderr = &rxOut, &rxErr
	require.NoError(t, recv.Start())
	waitBound(t, addr)
	const ident = "CLINIC KAPPA 42" // synthetic
	send := exec.Command(bin, "send", "-remote", addr, "-pace=false", "-timeout", "60s", "-ident", ident, in)
	send.Stderr = &txErr
	require.Equal(t, 0, exitStatus(t, send), txErr.String())
	require.NoError(t, recv.Wait(), rxErr.String())
	m := decodeJSON(t, rxOut.String())
	require.Equal(t, true, m["ok"])
	require.EqualValues(t, 2, m["pages"])
	require.NotContains(t, m, "output")
	rep := decodeReport(t, rxOut.String())
	id := rep.DocumentID
	require.Len(t, id, 32, rxOut.String())
	require.Equal(t, id, m["document_id"])
	require.Empty(t, rep.RemoteIdent, "sealed, not printed")
	for _, out := range []string{rxOut.String(), rxErr.String()} {
		require.NotContains(t, out, "KAPPA")
	}

	// Nothing in clear on disk: no file under DIR starts like a TIFF or
	// holds the page's bits.
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		if d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		require.False(t, bytes.HasPrefix(b, []byte("II*\x00")) || bytes.HasPrefix(b, []byte("MM\x00*")), "clear TIFF at %s", p)
		require.False(t, bytes.Contains(b, []byte("KAPPA")), "ident in clear in %s", p)
		return nil
	}))

	// The ident is in the sealed metadata: "store info" shows it.
	stdout, stderr, code := run("store", "info", "-dir", dir, "-json", id)
	require.Equal(t, 0, code, stderr)
	var info docInfoJSON
	require.NoError(t, json.Unmarshal([]byte(stdout), &info), stdout)
	require.Equal(t, docInfoJSON{ID: id, Created: info.Created, RetainUntil: info.RetainUntil, Pages: 2, Bytes: info.Bytes, KEK: info.KEK,
		Direction: "inbound", ContentType: "image/tiff", RemoteIdent: ident}, info)
	require.WithinDuration(t, info.Created.Add(24*time.Hour), *info.RetainUntil, time.Minute)
	stdout, stderr, code = run("store", "info", "-dir", dir, id)
	require.Equal(t, 0, code, stderr)
	require.Regexp(t, `(?m)^remote ident +CLINIC KAPPA 42$`, stdout)
	require.Regexp(t, `(?m)^direction +inbound$`, stdout)

	// Read back as one multi-page TIFF: the pages sent, pixel for pixel.
	out := filepath.Join(t.TempDir(), "back.tif")
	_, stderr, code = run("store", "get", "-dir", dir, "-tiff", "-o", out, id)
	require.Equal(t, 0, code, stderr)
	got, _ := bitmapsOf(t, out)
	require.Len(t, got, len(pages))
	for i := range pages {
		require.True(t, pages[i].Equal(got[i]), "page %d", i+1)
	}

	// The receive is audited, by the operating-system user, and so is
	// each "store info"; the audit log holds no PHI.
	stdout, stderr, code = run("audit", "export", "-dir", dir)
	require.Equal(t, 0, code, stderr)
	var found bool
	infos := 0
	for _, l := range strings.Split(stdout, "\n") {
		if strings.Contains(l, `"action_name":"receive"`) && strings.Contains(l, id) {
			found = true
			require.Contains(t, l, `"principal":"cli:`)
			require.Contains(t, l, `"outcome_name":"success"`)
		}
		if strings.Contains(l, `"action_name":"read-metadata"`) && strings.Contains(l, id) {
			infos++
			require.Contains(t, l, `"principal":"cli:`)
			require.Contains(t, l, `"outcome_name":"success"`)
		}
	}
	require.True(t, found, stdout)
	require.Equal(t, 2, infos, stdout)
	require.NotContains(t, stdout, "KAPPA")

	// Without -json, stdout is the document ID alone; the ident is
	// printed nowhere either.
	addr = freePort(t)
	rxOut.Reset()
	rxErr.Reset()
	txErr.Reset()
	recv = exec.Command(bin, "receive", "-local", addr, "-pace=false", "-timeout", "60s", "-store", dir)
	recv.Stdout, recv.Stderr = &rxOut, &rxErr
	require.NoError(t, recv.Start())
	waitBound(t, addr)
	in1, _ := letterTIFF(t, 1, nil)
	send = exec.Command(bin, "send", "-remote", addr, "-pace=false", "-timeout", "60s", "-ident", ident, in1)
	send.Stderr = &txErr
	require.Equal(t, 0, exitStatus(t, send), txErr.String())
	require.NoError(t, recv.Wait(), rxErr.String())
	require.Regexp(t, `^[0-9a-f]{32}\n$`, rxOut.String())
	id2 := strings.TrimSpace(rxOut.String())
	require.NotEqual(t, id, id2)
	require.Contains(t, rxErr.String(), "sealed as document "+id2)
	require.NotContains(t, rxErr.String(), "KAPPA")

	// -o and -store are exclusive; -retain belongs to -store.
	_, stderr, code = run("receive", "-o", out, "-store", dir)
	require.Equal(t, 2, code)
	require.Contains(t, stderr, "-o and -store are exclusive")
	_, stderr, code = run("receive", "-o", out, "-retain", "1h")
	require.Equal(t, 2, code)
	require.Contains(t, stderr, "-retain needs -store")
}
