package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// buildBinary builds the faxkit command once per test binary run.
var buildBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "faxkit-bin")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "faxkit")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", errors.New(string(out))
	}
	return bin, nil
})

func binary(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin, err := buildBinary()
	require.NoError(t, err)
	t.Cleanup(func() {}) // the binary's directory is removed by TestMain
	return bin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if bin, err := buildBinary(); err == nil && !testing.Short() {
		os.RemoveAll(filepath.Dir(bin))
	}
	os.Exit(code)
}

// exitStatus runs cmd and returns its exit status.
func exitStatus(t testing.TB, cmd *exec.Cmd) int {
	t.Helper()
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	require.NoError(t, err)
	return 0
}

// TestBinary checks the contract on real processes: a call between two
// of them, and the exit statuses.
func TestBinary(t *testing.T) {
	bin := binary(t)
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
	require.Equal(t, 0, exitStatus(t, send), txErr.String())
	require.NoError(t, recv.Wait(), rxErr.String())
	for _, o := range []string{txOut.String(), rxOut.String()} {
		m := decodeJSON(t, o)
		require.Equal(t, true, m["ok"])
		require.EqualValues(t, 1, m["pages"])
		require.Len(t, m["call_id"], 16)
		require.NotContains(t, m, "document_id", "no -store, no document")
		require.Empty(t, decodeReport(t, o).DocumentID)
	}
	got, _ := bitmapsOf(t, rx)
	require.Len(t, got, 1)
	require.True(t, pages[0].Equal(got[0]))

	require.Equal(t, 1, exitStatus(t, exec.Command(bin, "send", "-remote", freePort(t), "-timeout", "300ms", in)))
	require.Equal(t, 2, exitStatus(t, exec.Command(bin, "send", in)))
	require.Equal(t, 2, exitStatus(t, exec.Command(bin, "receive")))
	require.Equal(t, 0, exitStatus(t, exec.Command(bin, "help", "send")))
}

// TestBinaryUsageMessages: each mistake gets its own message on stderr
// (then the usage text) and exit status 2.
func TestBinaryUsageMessages(t *testing.T) {
	bin := binary(t)
	in, _ := letterTIFF(t, 1, nil)
	out := filepath.Join(t.TempDir(), "out.tif")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"send", in}, "faxkit send: -remote or -to is required"},
		{[]string{"send", "-remote", "127.0.0.1", in}, `faxkit send: -remote "127.0.0.1" is not a valid UDP address (want HOST:PORT): missing port in address`},
		{[]string{"send", "-remote", "127.0.0.1:notaport", in}, `faxkit send: -remote "127.0.0.1:notaport" is not a valid UDP address`},
		{[]string{"send", "-remote", "127.0.0.1:9", "-local", "nowhere", in}, `faxkit send: -local "nowhere" is not a valid UDP address`},
		{[]string{"receive", "-local", "127.0.0.1", "-o", out}, `faxkit receive: -local "127.0.0.1" is not a valid UDP address`},
		{[]string{"send", "-remote", "127.0.0.1:9", "-ec", "parity", in}, `faxkit send: unknown -ec value "parity" (want redundancy, fec or none)`},
		{[]string{"receive", "-ec", "parity", "-o", out}, `faxkit receive: unknown -ec value "parity"`},
		{[]string{"send", "-remote", "127.0.0.1:9", "-compression", "mh,jbig", in}, `faxkit send: -compression "mh,jbig": want a comma-separated list of mh, mr and mmr`},
		{[]string{"send", "-remote", "127.0.0.1:9", in, in}, "faxkit send: 2 input files given"},
		{[]string{"send", "-remote", "127.0.0.1:9"}, "faxkit send: no FILE to send"},
		{[]string{"receive"}, "faxkit receive: -o is required"},
		{[]string{"receive", "-o", out, "extra"}, `faxkit receive: unexpected argument "extra"`},
		{[]string{"tiff", "info"}, "faxkit tiff: tiff info takes one FILE, 0 given"},
		{[]string{"version", "extra"}, `faxkit version: unexpected argument "extra"`},
	} {
		var stderr bytes.Buffer
		cmd := exec.Command(bin, tc.args...)
		cmd.Stderr = &stderr
		require.Equal(t, 2, exitStatus(t, cmd), "%v: %s", tc.args, stderr.String())
		first, _, _ := strings.Cut(stderr.String(), "\n")
		require.Contains(t, first, tc.want, "%v", tc.args)
		require.Contains(t, stderr.String(), "usage: faxkit", "%v", tc.args)
	}
	require.NoFileExists(t, out)
}

// TestBinaryReceiveTimeout: a receive that nobody calls names -timeout,
// not T.30's T1.
func TestBinaryReceiveTimeout(t *testing.T) {
	bin := binary(t)
	out := filepath.Join(t.TempDir(), "out.tif")
	var stderr, stdout bytes.Buffer
	cmd := exec.Command(bin, "receive", "-local", freePort(t), "-timeout", "300ms", "-o", out)
	cmd.Stderr = &stderr
	require.Equal(t, 1, exitStatus(t, cmd))
	require.Contains(t, stderr.String(), "no call arrived within -timeout 300ms")
	require.NotContains(t, stderr.String(), "T1")

	stderr.Reset()
	cmd = exec.Command(bin, "receive", "-local", freePort(t), "-timeout", "300ms", "-json", "-o", out)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.Equal(t, 1, exitStatus(t, cmd))
	m := decodeJSON(t, stdout.String())
	require.Equal(t, "no call arrived within -timeout 300ms", m["error"])
	require.NoFileExists(t, out)

	// A sender nobody answers: the call did not finish within -timeout.
	in, _ := letterTIFF(t, 1, nil)
	stderr.Reset()
	cmd = exec.Command(bin, "send", "-remote", freePort(t), "-timeout", "300ms", in)
	cmd.Stderr = &stderr
	require.Equal(t, 1, exitStatus(t, cmd))
	require.Contains(t, stderr.String(), "the call did not finish within -timeout 300ms")
}

// TestBinaryVersion: the module version from the build information.
func TestBinaryVersion(t *testing.T) {
	bin := binary(t)
	out, err := exec.Command(bin, "version").Output()
	require.NoError(t, err)
	require.Regexp(t, `^faxkit (\(devel\)|v\S+)( \([0-9a-f]+(, modified)?\))? go1\.\d+`, string(out))
	out, err = exec.Command(bin, "version", "-json").Output()
	require.NoError(t, err)
	var v versionInfo
	require.NoError(t, json.Unmarshal(out, &v))
	require.Equal(t, "github.com/faxkit/faxkit", v.Module)
	require.NotEmpty(t, v.Version)
	require.True(t, strings.HasPrefix(v.Go, "go1."), v.Go)
}

// TestBinaryTIFFInfoJSON: tiff info -json describes each page and never
// shows free-text tags.
func TestBinaryTIFFInfoJSON(t *testing.T) {
	bin := binary(t)
	in, pages := letterTIFF(t, 2, nil)
	out, err := exec.Command(bin, "tiff", "info", "-json", in).Output()
	require.NoError(t, err)
	var info tiffInfo
	require.NoError(t, json.Unmarshal(out, &info))
	require.Equal(t, "TIFF", info.Format)
	require.Len(t, info.Pages, 2)
	for i, p := range info.Pages {
		require.Equal(t, i+1, p.Number)
		require.Equal(t, pages[i].Width, p.Width)
		require.Equal(t, pages[i].Height, p.Height)
		require.Equal(t, "MH", p.Coding)
		require.Equal(t, "fine", p.Resolution)
		require.NotNil(t, p.Decoded)
		require.Equal(t, pages[i].Height, p.Decoded.Rows)
		require.Zero(t, p.Decoded.BadRows)
	}
}

// TestBinaryTrace: -trace prints the call's phases, frames and T.38
// indicators with a call ID and times on stderr, and -trace-json the same
// as JSON lines, with the idents redacted.
func TestBinaryTrace(t *testing.T) {
	bin := binary(t)
	in, _ := letterTIFF(t, 1, nil)
	addr := freePort(t)
	dir := t.TempDir()
	rx, rxTrace := filepath.Join(dir, "rx.tif"), filepath.Join(dir, "rx.jsonl")
	var rxErr, txErr, txOut bytes.Buffer
	recv := exec.Command(bin, "receive", "-local", addr, "-pace=false", "-timeout", "60s", "-ident", "WARD OMEGA",
		"-trace-json", rxTrace, "-o", rx)
	recv.Stderr = &rxErr
	require.NoError(t, recv.Start())
	waitBound(t, addr)
	send := exec.Command(bin, "send", "-remote", addr, "-pace=false", "-timeout", "60s", "-ident", "CLINIC ZETA", "-trace", "-json", in)
	send.Stdout, send.Stderr = &txOut, &txErr
	require.Equal(t, 0, exitStatus(t, send), txErr.String())
	require.NoError(t, recv.Wait(), rxErr.String())

	id := decodeJSON(t, txOut.String())["call_id"].(string)
	lines := strings.Split(strings.TrimSpace(txErr.String()), "\n")
	for _, want := range []string{"event.kind=phase event.phase=B", "event.fcf=DIS", "event.fcf=DCS", "event.fcf=MCF",
		"event.kind=result event.phase=done event.result=ok", `msg="t38 send" `, "tone=cng", "indicator=ced",
		"indicator=v21-preamble", "data=v17-14400", "event.frame=\"TSI [20 octets redacted]\""} {
		require.Contains(t, txErr.String(), want)
	}
	traced := 0
	for _, l := range lines {
		if strings.HasPrefix(l, "msg=") {
			require.Contains(t, l, " call="+id+" t_ms=", l)
			traced++
		}
	}
	require.Greater(t, traced, 15)

	f, err := os.Open(rxTrace)
	require.NoError(t, err)
	defer f.Close()
	var n int
	var rxID string
	kinds := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m), sc.Text())
		for _, k := range []string{"time", "level", "msg", "call", "t_ms"} {
			require.Contains(t, m, k, sc.Text())
		}
		if rxID == "" {
			rxID = m["call"].(string)
		}
		require.Equal(t, rxID, m["call"])
		if ind, ok := m["indicator"]; ok {
			require.IsType(t, "", ind, "indicators by name")
			kinds["indicator "+ind.(string)] = true
		}
		if ev, ok := m["event"].(map[string]any); ok {
			kinds[ev["kind"].(string)] = true
		}
		n++
	}
	require.NoError(t, sc.Err())
	require.Greater(t, n, 15)
	for _, k := range []string{"phase", "frame-sent", "frame-received", "page-received", "result", "indicator cng", "indicator v21-preamble"} {
		require.True(t, kinds[k], "trace has %s", k)
	}
	all, err := os.ReadFile(rxTrace)
	require.NoError(t, err)
	for _, s := range [][]byte{all, txErr.Bytes(), rxErr.Bytes()} {
		require.NotContains(t, string(s), "OMEGA")
		require.NotContains(t, string(s), "ZETA")
	}
}

// TestBinaryAnswererFirst: faxkit receive started before faxkit send, as
// an operator does; the call completes with the page intact. With
// -remote, the receiver sends CED and DIS at once, before the sender's
// socket exists (the case of issue 16), without it the receiver answers
// the first datagram. BenchmarkBinaryAnswererFirst measures how long it
// takes.
func TestBinaryAnswererFirst(t *testing.T) {
	bin := binary(t)
	in, pages := letterTIFF(t, 1, nil)
	for _, known := range []bool{false, true} {
		rx := filepath.Join(t.TempDir(), "rx.tif")
		caller := ""
		if known {
			caller = freePort(t)
		}
		d, err := answererFirst(bin, freePort(t), caller, in, rx)
		require.NoError(t, err)
		t.Logf("caller known %v: sender start to both exits: %v", known, d)
		got, _ := bitmapsOf(t, rx)
		require.Len(t, got, 1)
		require.True(t, pages[0].Equal(got[0]))
	}
}

// answererFirst starts faxkit receive on addr (answering caller if
// given, else the first sender), waits until it listens, then runs faxkit
// send (unpaced, one page, from caller if given) and returns the time
// from starting the sender to both processes' exit.
func answererFirst(bin, addr, caller, in, out string) (time.Duration, error) {
	var rxErr, txErr bytes.Buffer
	rargs := []string{"receive", "-local", addr, "-pace=false", "-timeout", "60s", "-o", out}
	sargs := []string{"send", "-remote", addr, "-pace=false", "-timeout", "60s"}
	if caller != "" {
		rargs = append(rargs, "-remote", caller)
		sargs = append(sargs, "-local", caller)
	}
	sargs = append(sargs, in)
	recv := exec.Command(bin, rargs...)
	recv.Stderr = &rxErr
	if err := recv.Start(); err != nil {
		return 0, err
	}
	if err := waitListening(addr); err != nil {
		recv.Process.Kill()
		recv.Wait()
		return 0, err
	}
	start := time.Now()
	send := exec.Command(bin, sargs...)
	send.Stderr = &txErr
	serr := send.Run()
	rerr := recv.Wait()
	d := time.Since(start)
	if serr != nil {
		return d, errors.New("send: " + serr.Error() + ": " + txErr.String())
	}
	if rerr != nil {
		return d, errors.New("receive: " + rerr.Error() + ": " + rxErr.String())
	}
	return d, nil
}

// BenchmarkBinaryAnswererFirst: issue 16's goal is under 100 ms from the
// sender's start to both exits, with the caller known to the receiver.
func BenchmarkBinaryAnswererFirst(b *testing.B) {
	for _, known := range []bool{false, true} {
		name := "first-sender"
		if known {
			name = "caller-known"
		}
		b.Run(name, func(b *testing.B) {
			bin := binary(b)
			in, _ := letterTIFF(b, 1, nil)
			out := filepath.Join(b.TempDir(), "rx.tif")
			var total time.Duration
			for b.Loop() {
				b.StopTimer()
				addr, caller := freePort(b), ""
				if known {
					caller = freePort(b)
				}
				b.StartTimer()
				d, err := answererFirst(bin, addr, caller, in, out)
				require.NoError(b, err)
				total += d
			}
			b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms-to-both-exits/op")
		})
	}
}
