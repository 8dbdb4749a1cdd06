package main

import (
	"bytes"
	"errors"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestBinary builds the faxkit command and checks the contract on real
// processes: a call between two of them, and the exit statuses.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "faxkit")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	status := func(cmd *exec.Cmd) int {
		err := cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		require.NoError(t, err)
		return 0
	}
	in, pages := letterTIFF(t, 1, nil)
	addr := freePort(t)
	rx := filepath.Join(t.TempDir(), "rx.tif")
	var rxOut, rxErr, txOut, txErr bytes.Buffer
	recv := exec.Command(bin, "receive", "-local", addr, "-pace=false", "-timeout", "60s", "-json", "-o", rx)
	recv.Stdout, recv.Stderr = &rxOut, &rxErr
	require.NoError(t, recv.Start())
	waitBound(t, addr)
	send := exec.Command(bin, "send", "-remote", addr, "-pace=false", "-timeout", "60s", "-json", in)
	send.Stdout, send.Stderr = &txOut, &txErr
	require.Equal(t, 0, status(send), txErr.String())
	require.NoError(t, recv.Wait(), rxErr.String())
	for _, o := range []string{txOut.String(), rxOut.String()} {
		m := decodeJSON(t, o)
		require.Equal(t, true, m["ok"])
		require.EqualValues(t, 1, m["pages"])
	}
	got, _ := bitmapsOf(t, rx)
	require.Len(t, got, 1)
	require.True(t, pages[0].Equal(got[0]))

	require.Equal(t, 1, status(exec.Command(bin, "send", "-remote", freePort(t), "-timeout", "300ms", in)))
	require.Equal(t, 2, status(exec.Command(bin, "send", in)))
	require.Equal(t, 2, status(exec.Command(bin, "receive")))
	require.Equal(t, 0, status(exec.Command(bin, "help", "send")))
}
