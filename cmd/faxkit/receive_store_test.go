package main

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestBinaryReceiveIntoStore: "faxkit receive -store DIR" in its own
// process seals a fax from a loopback sender as it arrives; the document
// ID is in the JSON report, no file under DIR holds a clear TIFF, the
// receive is audited under the OS user, and "store get -tiff" gives back
// the sent pages pixel for pixel.
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
	send := exec.Command(bin, "send", "-remote", addr, "-pace=false", "-timeout", "60s", in)
	send.Stderr = &txErr
	require.Equal(t, 0, exitStatus(t, send), txErr.String())
	require.NoError(t, recv.Wait(), rxErr.String())
	m := decodeJSON(t, rxOut.String())
	require.Equal(t, true, m["ok"])
	require.EqualValues(t, 2, m["pages"])
	require.NotContains(t, m, "output")
	id, _ := m["document_id"].(string)
	require.Len(t, id, 32, rxOut.String())

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
		return nil
	}))

	// Read back as one multi-page TIFF: the pages sent, pixel for pixel.
	out := filepath.Join(t.TempDir(), "back.tif")
	_, stderr, code = run("store", "get", "-dir", dir, "-tiff", "-o", out, id)
	require.Equal(t, 0, code, stderr)
	got, _ := bitmapsOf(t, out)
	require.Len(t, got, len(pages))
	for i := range pages {
		require.True(t, pages[i].Equal(got[i]), "page %d", i+1)
	}

	// The receive is audited, by the operating-system user.
	stdout, stderr, code := run("audit", "export", "-dir", dir)
	require.Equal(t, 0, code, stderr)
	var found bool
	for _, l := range strings.Split(stdout, "\n") {
		if strings.Contains(l, `"action_name":"receive"`) && strings.Contains(l, id) {
			found = true
			require.Contains(t, l, `"principal":"cli:`)
			require.Contains(t, l, `"outcome_name":"success"`)
		}
	}
	require.True(t, found, stdout)

	// -o and -store are exclusive; -retain belongs to -store.
	_, stderr, code = run("receive", "-o", out, "-store", dir)
	require.Equal(t, 2, code)
	require.Contains(t, stderr, "-o and -store are exclusive")
	_, stderr, code = run("receive", "-o", out, "-retain", "1h")
	require.Equal(t, 2, code)
	require.Contains(t, stderr, "-retain needs -store")
}
