package main

// Issue 12's CLI contract on real processes: "faxkit send -to sip:..."
// against "faxkit receive -sip-local ...", directly over UDP, TCP and
// TLS, through Kamailio (registrar, digest authentication, proxy), and
// against sipfaxpeer (sofia-sip + libspandsp) both ways.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit/internal/peertest"
	"github.com/faxkit/faxkit/internal/sippeer"
	"github.com/faxkit/faxkit/t4"
	"github.com/faxkit/faxkit/tiff"
)

// freeTCP returns a TCP port on 127.0.0.1 that was free a moment ago.
func freeTCP(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// waitSIPListening waits until the receiver listens on addr: a bound UDP
// socket, or a TCP socket in LISTEN state (read from /proc, so that no
// probe reaches the receiver).
func waitSIPListening(t testing.TB, transport, addr string) {
	t.Helper()
	if transport == "udp" {
		waitBound(t, addr)
		return
	}
	_, port, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	pn, err := strconv.Atoi(port)
	require.NoError(t, err)
	want := fmt.Sprintf(":%04X", pn)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile("/proc/net/tcp")
		if err != nil {
			time.Sleep(500 * time.Millisecond)
			return
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			if f := strings.Fields(line); len(f) > 3 && strings.HasSuffix(f[1], want) && f[3] == "0A" {
				return
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("nothing listens on tcp %s", addr)
}

// proc is a finished faxkit process.
type proc struct {
	code           int
	stdout, stderr string
	took           time.Duration
}

func (p proc) String() string {
	return fmt.Sprintf("exit %d\nstdout: %s\nstderr:\n%s", p.code, p.stdout, p.stderr)
}

// started is a running faxkit process.
type started struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	start          time.Time
}

func startCLI(t testing.TB, args ...string) *started {
	t.Helper()
	s := &started{cmd: exec.Command(binary(t), args...), start: time.Now()}
	s.cmd.Stdout, s.cmd.Stderr = &s.stdout, &s.stderr
	require.NoError(t, s.cmd.Start())
	t.Cleanup(func() {
		if s.cmd.ProcessState == nil {
			s.cmd.Process.Kill()
			s.cmd.Wait()
		}
	})
	return s
}

// wait waits up to limit for the process, killing it after that.
func (s *started) wait(t testing.TB, limit time.Duration) proc {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(limit):
		s.cmd.Process.Kill()
		<-done
		t.Fatalf("faxkit %v still running after %v\nstderr:\n%s", s.cmd.Args[1:], limit, s.stderr.String())
	}
	p := proc{stdout: s.stdout.String(), stderr: s.stderr.String(), took: time.Since(s.start)}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		p.code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return p
}

func runCLIProc(t testing.TB, limit time.Duration, args ...string) proc {
	t.Helper()
	return startCLI(t, args...).wait(t, limit)
}

// sipPair runs "faxkit receive" with rargs on a fresh SIP address, then
// "faxkit send" with sargs to user at it, and returns both processes.
// Each gets -json, -pace=false and a -timeout; the receiver gets -o rx
// unless rx is "" (rargs then say where the fax goes).
func sipPair(t *testing.T, transport, user string, in, rx string, sargs, rargs []string) (send, recv proc) {
	t.Helper()
	addr := freePort(t)
	if transport != "udp" {
		addr = freeTCP(t)
	}
	if rx != "" {
		rargs = append([]string{"-o", rx}, rargs...)
	}
	r := startCLI(t, append([]string{"receive", "-sip-local", addr, "-sip-transport", transport, "-json", "-pace=false",
		"-timeout", "40s"}, rargs...)...)
	waitSIPListening(t, transport, addr)
	to := "sip:" + user + "@" + addr
	send = runCLIProc(t, 45*time.Second, append(append([]string{"send", "-to", to, "-sip-transport", transport,
		"-json", "-pace=false", "-timeout", "40s"}, sargs...), in)...)
	recv = r.wait(t, 45*time.Second)
	return send, recv
}

// checkSIPJSON checks the SIP fields of a successful call's -json output.
func checkSIPJSON(t *testing.T, p proc) map[string]any {
	t.Helper()
	require.Equal(t, 0, p.code, "%s", p)
	m := decodeJSON(t, p.stdout)
	require.Equal(t, true, m["ok"], "%s", p)
	require.Equal(t, "ok", m["result"])
	require.Equal(t, "t38", m["media"])
	require.EqualValues(t, 200, m["sip_status"])
	sw, ok := m["t38_switch_ms"].(float64)
	require.True(t, ok, "t38_switch_ms missing: %s", p.stdout)
	require.Positive(t, sw)
	require.Less(t, sw, 10000.0)
	require.Len(t, m["call_id"], 16)
	return m
}

// TestBinarySIP: faxkit to faxkit over SIP on 127.0.0.1, each -t38
// pairing that makes sense, over UDP and TCP; every page pixel-exact.
func TestBinarySIP(t *testing.T) {
	in, pages := letterTIFF(t, 2, nil)
	for _, tc := range []struct {
		name           string
		transport      string
		sender, answer string // -t38 of each side
	}{
		{"caller-requests", "udp", "request", "await"},
		{"answerer-requests", "udp", "await", "request"},
		{"auto-both", "udp", "auto", "auto"},
		{"t38-in-invite", "udp", "offer", "await"},
		{"caller-auto-answerer-awaits", "udp", "auto", "await"},
		{"tcp-auto-both", "tcp", "auto", "auto"},
		{"tcp-answerer-requests", "tcp", "await", "request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rx := filepath.Join(t.TempDir(), "rx.tif")
			s, r := sipPair(t, tc.transport, "5550100", in, rx, []string{"-t38", tc.sender}, []string{"-t38", tc.answer})
			sm := checkSIPJSON(t, s)
			rm := checkSIPJSON(t, r)
			require.EqualValues(t, 2, sm["pages"])
			require.EqualValues(t, 2, rm["pages"])
			require.Equal(t, rx, rm["output"])
			got, _ := bitmapsOf(t, rx)
			require.Len(t, got, 2)
			for i := range pages {
				require.True(t, pages[i].Equal(got[i]), "page %d differs", i+1)
			}
			// Who asked: the answerer's re-INVITE under auto comes at once;
			// a caller in auto waits up to 3 s for it.
			t.Logf("switch: sender %v ms, receiver %v ms; sender wall %v", sm["t38_switch_ms"], rm["t38_switch_ms"], s.took)
		})
	}
}

// TestBinarySIPTLS: the same over TLS, the receiver's certificate
// verified by the sender through -sip-tls-ca.
func TestBinarySIPTLS(t *testing.T) {
	in, pages := letterTIFF(t, 1, nil)
	dir := t.TempDir()
	ca, cert, key := writeTestCert(t, dir)
	rx := filepath.Join(dir, "rx.tif")
	s, r := sipPair(t, "tls", "5550100", in, rx, []string{"-t38", "request", "-sip-tls-ca", ca},
		[]string{"-t38", "await", "-sip-tls-cert", cert, "-sip-tls-key", key})
	checkSIPJSON(t, s)
	checkSIPJSON(t, r)
	got, _ := bitmapsOf(t, rx)
	require.Len(t, got, 1)
	require.True(t, pages[0].Equal(got[0]))

	// Without the CA the sender must refuse the receiver's certificate.
	addr := freeTCP(t)
	rp := startCLI(t, "receive", "-sip-local", addr, "-sip-transport", "tls", "-sip-tls-cert", cert, "-sip-tls-key", key,
		"-timeout", "5s", "-o", filepath.Join(dir, "rx2.tif"))
	waitSIPListening(t, "tls", addr)
	p := runCLIProc(t, 30*time.Second, "send", "-to", "sip:5550100@"+addr, "-sip-transport", "tls", "-timeout", "5s", "-json", in)
	require.Equal(t, 1, p.code, "%s", p)
	m := decodeJSON(t, p.stdout)
	require.Equal(t, false, m["ok"])
	require.Contains(t, m["error"], "certificate")
	rp.cmd.Process.Kill()
}

// writeTestCert writes a self-signed CA certificate for 127.0.0.1 and
// its key as PEM files.
func writeTestCert(t *testing.T, dir string) (ca, cert, key string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	require.NoError(t, err)
	kder, err := x509.MarshalECPrivateKey(k)
	require.NoError(t, err)
	cert = filepath.Join(dir, "cert.pem")
	key = filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600))
	return cert, cert, key
}

// smallPageTIFF writes one short fine page (1728 x 200, a pattern of
// blocks) as a TIFF and returns its path and bitmap: a real-time audio
// call with it takes about 10 s.
func smallPageTIFF(t testing.TB) (string, *t4.Bitmap) {
	t.Helper()
	b := t4.NewBitmap(1728, 200)
	for y := range 200 {
		if (y/10)%3 == 2 {
			continue
		}
		row := b.Row(y)
		for x := range 1728 {
			if (x/13+y/10)%4 == 0 && (x*7+y*3)%97 < 60 {
				row[x/8] |= 0x80 >> (x % 8)
			}
		}
	}
	path := filepath.Join(t.TempDir(), "page.tif")
	f, err := os.Create(path)
	require.NoError(t, err)
	w, err := tiff.NewWriter(f, nil)
	require.NoError(t, err)
	require.NoError(t, w.WritePage(b, &tiff.PageOptions{Resolution: tiff.ResFine}))
	require.NoError(t, w.Close())
	require.NoError(t, f.Close())
	return path, b
}

// checkAudioJSON checks a successful audio call's -json output.
func checkAudioJSON(t *testing.T, p proc, sip bool) map[string]any {
	t.Helper()
	require.Equal(t, 0, p.code, "%s", p)
	m := decodeJSON(t, p.stdout)
	require.Equal(t, true, m["ok"], "%s", p)
	require.Equal(t, "audio", m["media"])
	require.NotContains(t, m, "t38_switch_ms", "T.38 never flowed")
	if sip {
		require.EqualValues(t, 200, m["sip_status"])
	} else {
		require.NotContains(t, m, "sip_status")
	}
	require.EqualValues(t, 1, m["pages"])
	return m
}

// TestBinarySIPAudioFallback: a receiver with -t38 off refuses the
// sender's T.38 re-INVITE (488) and faxes in audio from the start; the
// sender falls back to audio (issue 17 over SIP): both succeed, the page
// pixel-exact.
func TestBinarySIPAudioFallback(t *testing.T) {
	// Real time on the wall clock and light on CPU: run beside the
	// other such tests.
	t.Parallel()
	in, page := smallPageTIFF(t)
	rx := filepath.Join(t.TempDir(), "rx.tif")
	s, r := sipPair(t, "udp", "5550100", in, rx, []string{"-t38", "request", "-codec", "pcma"}, []string{"-t38", "off"})
	checkAudioJSON(t, s, true)
	checkAudioJSON(t, r, true)
	got, _ := bitmapsOf(t, rx)
	require.Len(t, got, 1)
	require.True(t, page.Equal(got[0]))
}

// TestBinaryAudio: SIP-less audio fax (issue 17's contract), the
// receiver answering whoever sends first.
func TestBinaryAudio(t *testing.T) {
	// Real time on the wall clock and light on CPU: run beside the
	// other such tests.
	t.Parallel()
	in, page := smallPageTIFF(t)
	rx := filepath.Join(t.TempDir(), "rx.tif")
	addr := freePort(t)
	// Each end sends its own packet time (30 and 40 ms) and plays the
	// other's.
	r := startCLI(t, "receive", "-media", "audio", "-local", addr, "-codec", "pcma", "-ptime", "40ms", "-json", "-timeout", "60s", "-o", rx)
	waitBound(t, addr)
	s := runCLIProc(t, 70*time.Second, "send", "-media", "audio", "-remote", addr, "-codec", "pcma", "-ptime", "30ms", "-json", "-timeout", "60s", in)
	rp := r.wait(t, 70*time.Second)
	checkAudioJSON(t, s, false)
	checkAudioJSON(t, rp, false)
	got, _ := bitmapsOf(t, rx)
	require.Len(t, got, 1)
	require.True(t, page.Equal(got[0]))
}

// TestBinarySIPFailures: a rejected or unanswered INVITE ends with exit
// status 1 and says so, within -timeout.
func TestBinarySIPFailures(t *testing.T) {
	in, _ := letterTIFF(t, 1, nil)
	// Nothing answers: a socket that swallows the INVITE.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	defer pc.Close()
	p := runCLIProc(t, 20*time.Second, "send", "-to", "sip:5550100@"+pc.LocalAddr().String(), "-timeout", "1s", "-json", in)
	require.Equal(t, 1, p.code, "%s", p)
	m := decodeJSON(t, p.stdout)
	require.Equal(t, "no-answer", m["result"])
	require.Equal(t, "the call was not answered within -timeout 1s", m["error"])
	require.EqualValues(t, 0, m["sip_status"])
	require.Less(t, p.took, 8*time.Second)

	// A receiver nobody calls.
	p = runCLIProc(t, 20*time.Second, "receive", "-sip-local", freePort(t), "-timeout", "300ms", "-json", "-o", filepath.Join(t.TempDir(), "x.tif"))
	require.Equal(t, 1, p.code, "%s", p)
	m = decodeJSON(t, p.stdout)
	require.Equal(t, "no call arrived within -timeout 300ms", m["error"])
}

// TestBinarySIPUsage: each mistake in the SIP flags has its own message
// (never repeating a URI's user part) and exit status 2.
func TestBinarySIPUsage(t *testing.T) {
	bin := binary(t)
	in, _ := letterTIFF(t, 1, nil)
	dir := t.TempDir()
	out := filepath.Join(dir, "out.tif")
	pw := filepath.Join(dir, "pw")
	require.NoError(t, os.WriteFile(pw, []byte("secret\n"), 0o600))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"send", "-to", "5559876@127.0.0.1", in}, "faxkit send: -to is not a SIP URI: it must start with sip:"},
		{[]string{"send", "-to", "tel:5559876", in}, "faxkit send: -to is not a SIP URI"},
		{[]string{"send", "-to", "sip:127.0.0.1", in}, "faxkit send: -to has no user part"},
		{[]string{"send", "-to", "sip:5559876@", in}, "faxkit send: -to has no host after @"},
		{[]string{"send", "-to", "sip:5559876@127.0.0.1:0", in}, "faxkit send: -to has a bad port"},
		{[]string{"send", "-to", "sip:5559876@127.0.0.1:70000", in}, "faxkit send: -to has a bad port"},
		{[]string{"send", "-to", "sip:5559876@host_name", in}, "faxkit send: -to has a host with a character"},
		{[]string{"send", "-to", "sip:5559876@127.0.0.1;transport=sctp", in}, "faxkit send: -to has ;transport=sctp"},
		{[]string{"send", "-to", "", in}, "faxkit send: -to is empty"},
		{[]string{"send", "-to", "sip:5559876@127.0.0.1", "-remote", "127.0.0.1:4000", in}, "faxkit send: -remote is for SIP-less T.38 and cannot be used with -to"},
		{[]string{"send", "-to", "sip:5559876@127.0.0.1", "-local", "127.0.0.1:4000", in}, "faxkit send: -local is for SIP-less T.38"},
		{[]string{"send", "-to", "sip:5559876@127.0.0.1", "-t38", "sometimes", in}, `faxkit send: unknown -t38 value "sometimes" (want auto, request, await, offer or off)`},
		{[]string{"send", "-to", "sip:5559876@127.0.0.1", "-sip-transport", "sctp", in}, `faxkit send: unknown -sip-transport value "sctp" (want udp, tcp or tls)`},
		{[]string{"send", "-to", "sip:5559876@127.0.0.1", "-sip-proxy", "127.0.0.1:5060", in}, "faxkit send: -sip-proxy is not a SIP URI"},
		{[]string{"send", "-to", "sip:5559876@127.0.0.1", "-sip-password-file", pw, in}, "faxkit send: -sip-password-file needs -sip-user"},
		{[]string{"send", "-to", "sip:5559876@127.0.0.1", "-sip-local", "nowhere", in}, `faxkit send: -sip-local "nowhere" is not HOST:PORT`},
		{[]string{"send", "-to", "sip:5559876@127.0.0.1", "-sip-tls-ca", pw, in}, "faxkit send: -sip-tls-ca applies to -sip-transport tls only"},
		{[]string{"send", "-remote", "127.0.0.1:4000", "-t38", "request", in}, "faxkit send: -t38 applies to SIP calls only: give -to"},
		{[]string{"send", "-remote", "127.0.0.1:4000", "-sip-proxy", "sip:127.0.0.1", in}, "faxkit send: -sip-proxy applies to SIP calls only"},
		{[]string{"receive", "-sip-local", "127.0.0.1:5060", "-t38", "offer", "-o", out}, "faxkit receive: -t38 offer applies to send only"},
		{[]string{"receive", "-sip-local", "127.0.0.1:5060", "-t38", "never", "-o", out}, `faxkit receive: unknown -t38 value "never" (want auto, request, await or off)`},
		{[]string{"receive", "-sip-local", "127.0.0.1:5060", "-local", "127.0.0.1:4000", "-o", out}, "faxkit receive: -local is for SIP-less T.38 and cannot be used with -sip-local"},
		{[]string{"receive", "-sip-local", "0.0.0.0:5060", "-o", out}, `faxkit receive: -sip-local "0.0.0.0:5060" listens on every address`},
		{[]string{"receive", "-sip-local", "127.0.0.1:5060", "-sip-register", "sip:5559876@127.0.0.1", "-o", out}, "faxkit receive: -sip-register needs -sip-user"},
		{[]string{"receive", "-sip-local", "127.0.0.1:5060", "-sip-transport", "tls", "-o", out}, "faxkit receive: -sip-transport tls needs -sip-tls-cert and -sip-tls-key"},
		{[]string{"receive", "-t38", "await", "-o", out}, "faxkit receive: -t38 applies to SIP calls only: give -sip-local"},
		{[]string{"send", "-remote", "127.0.0.1:4000", "-media", "fax", in}, `faxkit send: unknown -media value "fax" (want t38 or audio)`},
		{[]string{"send", "-remote", "127.0.0.1:4000", "-codec", "pcma", in}, "faxkit send: -codec applies to -media audio only"},
		{[]string{"send", "-remote", "127.0.0.1:4000", "-ptime", "30ms", in}, "faxkit send: -ptime applies to -media audio only"},
		{[]string{"send", "-remote", "127.0.0.1:4000", "-media", "audio", "-ptime", "25ms", in}, "faxkit send: unsupported -ptime 25ms (want 10ms, 20ms, 30ms or 40ms)"},
		{[]string{"send", "-remote", "127.0.0.1:4000", "-media", "audio", "-codec", "g729", in}, `faxkit send: unknown -codec value "g729" (want pcmu or pcma)`},
		{[]string{"send", "-remote", "127.0.0.1:4000", "-media", "audio", "-ec", "fec", in}, "faxkit send: -ec is a T.38 setting and does not apply to -media audio"},
		{[]string{"receive", "-media", "audio", "-rtp", "-o", out}, "faxkit receive: -rtp is a T.38 setting"},
		{[]string{"send", "-to", "sip:5559876@127.0.0.1", "-media", "audio", in}, "faxkit send: -media is for calls without SIP"},
		{[]string{"send", "-to", "sip:5559876@127.0.0.1", "-codec", "g722", in}, `faxkit send: unknown -codec value "g722"`},
	} {
		// In-process (the command's run function), as spawning 40
		// processes costs seconds on a loaded machine; the binary gets
		// the last cases below.
		r := runCLI(t, "", tc.args...)
		require.Equal(t, 2, r.code, "%v: %s", tc.args, r.stderr)
		first, _, _ := strings.Cut(r.stderr, "\n")
		require.Contains(t, first, tc.want, "%v", tc.args)
		require.Contains(t, r.stderr, "usage: faxkit", "%v", tc.args)
		require.NotContains(t, r.stderr, "5559876", "%v: the user part is PHI", tc.args)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "send", "-to", "sip:5559876@127.0.0.1;transport=sctp", in)
	cmd.Stderr = &stderr
	require.Equal(t, 2, exitStatus(t, cmd))
	require.True(t, strings.HasPrefix(stderr.String(), "faxkit send: -to has ;transport=sctp: want udp, tcp or tls\n"), stderr.String())
	require.NotContains(t, stderr.String(), "5559876")
	// A missing password file: its own message, status 2, no usage text.
	stderr.Reset()
	cmd = exec.Command(bin, "send", "-to", "sip:5559876@127.0.0.1", "-sip-user", "acct", "-sip-password-file", filepath.Join(dir, "none"), in)
	cmd.Stderr = &stderr
	require.Equal(t, 2, exitStatus(t, cmd))
	require.Equal(t, "faxkit send: -sip-password-file: cannot read "+filepath.Join(dir, "none")+": no such file or directory\n", stderr.String())
	require.NoFileExists(t, out)
}

// TestBinarySIPNoPHI: with -trace on both ends and -trace-json on the
// receiver, neither the dialed user part nor either station ident
// appears on stderr or in the trace file, while the trace does show the
// SIP steps.
//
// The receiver seals the fax into a store (-store): the caller's ident
// and number and the dialed number are sealed with it, absent from its
// -json report too, and "store info" shows them.
func TestBinarySIPNoPHI(t *testing.T) {
	in, _ := letterTIFF(t, 1, nil)
	dir := t.TempDir()
	store, trace := filepath.Join(dir, "store"), filepath.Join(dir, "rx.jsonl")
	require.Equal(t, 0, runCLIProc(t, 20*time.Second, "store", "init", "-dir", store).code)
	s, r := sipPair(t, "udp", "15557654321", in, "",
		[]string{"-t38", "auto", "-trace", "-ident", "CLINIC ZETA", "-sip-user", "18005550199"},
		[]string{"-t38", "auto", "-trace", "-trace-json", trace, "-ident", "WARD OMEGA", "-store", store})
	checkSIPJSON(t, s)
	checkSIPJSON(t, r)
	all, err := os.ReadFile(trace)
	require.NoError(t, err)
	for _, out := range []string{s.stderr, r.stderr, r.stdout, string(all)} {
		for _, phi := range []string{"15557654321", "7654321", "18005550199", "CLINIC", "ZETA", "WARD", "OMEGA"} {
			require.NotContains(t, out, phi)
		}
	}
	id := decodeReport(t, r.stdout).DocumentID
	require.Len(t, id, 32, r.stdout)
	p := runCLIProc(t, 20*time.Second, "store", "info", "-json", "-dir", store, id)
	require.Equal(t, 0, p.code, "%s", p)
	var info docInfoJSON
	require.NoError(t, json.Unmarshal([]byte(p.stdout), &info), p.stdout)
	require.Equal(t, "CLINIC ZETA", info.RemoteIdent)
	require.Equal(t, "18005550199", info.Remote)
	require.Equal(t, map[string]string{"did": "15557654321"}, info.Labels)
	require.Equal(t, "inbound", info.Direction)
	for _, want := range []string{`msg="sip re-INVITE answered"`, `msg="sip media"`, "kind=t38", `msg="sip fax media"`, "to=sip:[redacted]@127.0.0.1:"} {
		require.Contains(t, s.stderr, want)
	}
	require.Contains(t, r.stderr, `msg="sip call answered"`)
	require.Contains(t, string(all), `"msg":"sip re-INVITE sent"`)
	// One call ID per record, the trace's.
	sc := bufio.NewScanner(bytes.NewReader(all))
	for sc.Scan() {
		require.Equal(t, 1, strings.Count(sc.Text(), `"call":`), sc.Text())
	}
}

// sipPeerSpeedup is how much faster than real time sipfaxpeer's T.30
// runs against the CLI, which runs on the wall clock (unpaced).
const sipPeerSpeedup = 4

// TestBinarySIPWithSofia: the CLI against sipfaxpeer (sofia-sip's SIP
// stack and libspandsp's T.38 terminal) both ways; the pages compared
// through libtiff.
func TestBinarySIPWithSofia(t *testing.T) {
	// Real time on the wall clock and light on CPU: run beside the
	// other such tests.
	t.Parallel()
	sippeer.Peer(t)
	// The synthetic letter: mostly white, so quick at the peer's 4x clock.
	src, _ := letterTIFF(t, 1, nil)
	t.Run("cli-sends-to-peer", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		rx := filepath.Join(t.TempDir(), "rx.tif")
		peer := sippeer.Start(ctx, t, sippeer.Config{Role: sippeer.UAS, File: rx, T38: sippeer.Await,
			Speedup: sipPeerSpeedup, Timeout: 60 * time.Second})
		p := runCLIProc(t, 80*time.Second, "send", "-to", peer.URI("5550100"), "-t38", "request", "-json", "-pace=false",
			"-timeout", "60s", src)
		pr, err := peer.Wait()
		require.NoError(t, err, peer.Log())
		t.Logf("faxkit send: %v, %s", p.took, p.stdout)
		t.Logf("sipfaxpeer: %+v", pr)
		checkSIPJSON(t, p)
		require.True(t, pr.Delivered(1), "sipfaxpeer: %+v\n%s", pr, peer.Log())
		require.Equal(t, "t38", pr.Media)
		require.Equal(t, 1, pr.ReinvitesReceived)
		require.Equal(t, sippeer.PagePixels(t, src), sippeer.PagePixels(t, rx))
	})
	t.Run("peer-calls-cli", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		rx := filepath.Join(t.TempDir(), "rx.tif")
		addr := freePort(t)
		r := startCLI(t, "receive", "-sip-local", addr, "-t38", "await", "-json", "-pace=false", "-timeout", "60s", "-o", rx)
		waitBound(t, addr)
		peer := sippeer.Start(ctx, t, sippeer.Config{Role: sippeer.UAC, Send: true, File: src, To: "sip:5550100@" + addr,
			T38: sippeer.Request, Speedup: sipPeerSpeedup, Timeout: 60 * time.Second})
		p := r.wait(t, 80*time.Second)
		pr, err := peer.Wait()
		require.NoError(t, err, peer.Log())
		t.Logf("faxkit receive: %v, %s", p.took, p.stdout)
		t.Logf("sipfaxpeer: %+v", pr)
		checkSIPJSON(t, p)
		require.True(t, pr.Delivered(1), "sipfaxpeer: %+v\n%s", pr, peer.Log())
		require.Equal(t, 200, pr.ReinviteStatus)
		require.Equal(t, sippeer.PagePixels(t, src), sippeer.PagePixels(t, rx))
	})
	t.Run("peer-refuses-t38-audio-fax", func(t *testing.T) {
		// sipfaxpeer in audio mode (libspandsp's fax_state_t on G.711)
		// refuses the CLI's T.38 re-INVITE; the fax goes on in audio.
		if raceEnabled {
			// Real-time audio against a real-time peer: the race
			// detector slows our modems below real time. The test
			// script runs this case in its stage without -race.
			t.Skip("real-time audio fax: runs without -race (scripts/test.sh)")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		in, _ := smallPageTIFF(t)
		rx := filepath.Join(t.TempDir(), "rx.tif")
		peer := sippeer.Start(ctx, t, sippeer.Config{Role: sippeer.UAS, File: rx, Audio: "pcmu", Timeout: 70 * time.Second})
		p := runCLIProc(t, 80*time.Second, "send", "-to", peer.URI("5550100"), "-t38", "request", "-json", "-timeout", "60s", in)
		pr, err := peer.Wait()
		require.NoError(t, err, peer.Log())
		t.Logf("faxkit send: %v, %s", p.took, p.stdout)
		t.Logf("sipfaxpeer: %+v", pr)
		checkAudioJSON(t, p, true)
		require.True(t, pr.OK, "sipfaxpeer: %+v\n%s", pr, peer.Log())
		require.Equal(t, "audio", pr.Media)
		require.Equal(t, 1, pr.ReinvitesRejected)
		require.Equal(t, sippeer.PagePixels(t, in), sippeer.PagePixels(t, rx))
	})
}

// kamailioUsers are the digest accounts of the Kamailio tests.
var kamailioUsers = map[string]string{"fax5550100": "rx-secret", "clinic": "tx-secret"}

// TestBinarySIPKamailio: "faxkit receive -sip-register" registers at
// Kamailio (digest), and "faxkit send -sip-proxy" calls it through
// Kamailio as an authenticated user; the call and its re-INVITE and BYE
// go through the proxy.
func TestBinarySIPKamailio(t *testing.T) {
	k := sippeer.StartKamailio(t, sippeer.KamailioConfig{Users: kamailioUsers})
	in, pages := letterTIFF(t, 1, nil)
	dir := t.TempDir()
	rxPW, txPW := filepath.Join(dir, "rx.pw"), filepath.Join(dir, "tx.pw")
	require.NoError(t, os.WriteFile(rxPW, []byte("rx-secret\n"), 0o600))
	require.NoError(t, os.WriteFile(txPW, []byte("tx-secret"), 0o600))
	rx := filepath.Join(dir, "rx.tif")
	addr := freePort(t)
	r := startCLI(t, "receive", "-sip-local", addr, "-sip-register", k.URI("fax5550100"), "-sip-user", "fax5550100",
		"-sip-password-file", rxPW, "-json", "-pace=false", "-timeout", "40s", "-o", rx)
	require.True(t, k.WaitLog("faxkit-kamailio: registered", 10*time.Second), "no registration\n%s", k.Log())
	s := runCLIProc(t, 45*time.Second, "send", "-to", k.URI("fax5550100"), "-sip-proxy", k.ProxyURI(), "-sip-user", "clinic",
		"-sip-password-file", txPW, "-t38", "auto", "-json", "-pace=false", "-timeout", "40s", in)
	rp := r.wait(t, 45*time.Second)
	checkSIPJSON(t, s)
	checkSIPJSON(t, rp)
	got, _ := bitmapsOf(t, rx)
	require.Len(t, got, 1)
	require.True(t, pages[0].Equal(got[0]))
	require.True(t, k.WaitLog("faxkit-kamailio: INVITE authenticated", 2*time.Second), "the INVITE was not challenged and proven")
	require.True(t, k.WaitLog("faxkit-kamailio: in-dialog INVITE loose-routed", 2*time.Second), "the re-INVITE bypassed the proxy")
	require.True(t, k.WaitLog("faxkit-kamailio: in-dialog BYE loose-routed", 2*time.Second), "the BYE bypassed the proxy")
	for _, out := range []string{s.stderr, rp.stderr} {
		require.NotContains(t, out, "secret")
		require.NotContains(t, out, "5550100")
	}

	// A wrong password: the registrar refuses, the receiver says so.
	bad := filepath.Join(dir, "bad.pw")
	require.NoError(t, os.WriteFile(bad, []byte("wrong\n"), 0o600))
	p := runCLIProc(t, 20*time.Second, "receive", "-sip-local", freePort(t), "-sip-register", k.URI("fax5550100"),
		"-sip-user", "fax5550100", "-sip-password-file", bad, "-timeout", "10s", "-o", filepath.Join(dir, "x.tif"))
	require.Equal(t, 1, p.code, "%s", p)
	require.Contains(t, p.stderr, "faxkit receive: registering sip:[redacted]@"+k.Addr+": refused with SIP status 401")
	require.NotContains(t, p.stderr, "5550100")
}

// BenchmarkBinarySIPSwitch measures t38_switch_ms as the side that sends
// the re-INVITE to T.38 reports it, over CLI-to-CLI calls on 127.0.0.1
// (one page, unpaced): "sender-requests" (send -t38 request, receive
// -t38 await: the sender's figure) and "receiver-requests" (both -t38
// auto: the answerer requests at once; the receiver's figure). It reports
// the medians of t38_switch_ms, of the sender's wall time (which includes
// the 300 ms it waits after its phase E for the receiver's BYE,
// sendByeWait; and with await, the receiver's audio fax start: its CED)
// and of the sender process's CPU time (user + system).
func BenchmarkBinarySIPSwitch(b *testing.B) {
	for _, bc := range []struct {
		name, sender, receiver string
		fromReceiver           bool
	}{
		{"sender-requests", "request", "await", false},
		{"receiver-requests", "auto", "auto", true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			bin := binary(b)
			in, _ := letterTIFF(b, 1, nil)
			var sw, wall, cpu []float64
			for b.Loop() {
				b.StopTimer()
				addr := freePort(b)
				rx := filepath.Join(b.TempDir(), "rx.tif")
				r := exec.Command(bin, "receive", "-sip-local", addr, "-t38", bc.receiver, "-json", "-pace=false", "-timeout", "30s", "-o", rx)
				var rout bytes.Buffer
				r.Stdout = &rout
				require.NoError(b, r.Start())
				require.NoError(b, waitListening(addr))
				b.StartTimer()
				start := time.Now()
				send := exec.Command(bin, "send", "-to", "sip:5550100@"+addr, "-t38", bc.sender, "-json", "-pace=false",
					"-timeout", "30s", in)
				out, err := send.Output()
				wall = append(wall, float64(time.Since(start).Microseconds())/1000)
				require.NoError(b, err)
				ps := send.ProcessState
				cpu = append(cpu, float64((ps.UserTime()+ps.SystemTime()).Microseconds())/1000)
				require.NoError(b, r.Wait())
				if bc.fromReceiver {
					out = rout.Bytes()
				}
				m := map[string]any{}
				require.NoError(b, jsonUnmarshal(out, &m))
				sw = append(sw, m["t38_switch_ms"].(float64))
			}
			b.ReportMetric(median(sw), "t38_switch_ms")
			b.ReportMetric(median(wall), "ms-sender-wall")
			b.ReportMetric(median(cpu), "ms-sender-cpu")
		})
	}
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// TestBinarySIPByeMidFax: SIPp calls the receiver, accepts its T.38
// re-INVITE and hangs up a second later, before any fax: the receiver
// answers the BYE, ends the fax at once and says the far end hung up.
func TestBinarySIPByeMidFax(t *testing.T) {
	peertest.Program(t, "sipp", "apt-get install sip-tester")
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	addr := freePort(t)
	r := startCLI(t, "receive", "-sip-local", addr, "-t38", "request", "-json", "-timeout", "30s",
		"-o", filepath.Join(t.TempDir(), "rx.tif"))
	waitBound(t, addr)
	sp := sippeer.StartSIPp(ctx, t, sippeer.SIPpConfig{Scenario: "uac_bye_midfax.xml", Remote: addr, Service: "5550100"})
	p := r.wait(t, 35*time.Second)
	require.NoError(t, sp.Wait())
	require.Equal(t, 1, p.code, "%s", p)
	m := decodeJSON(t, p.stdout)
	require.Equal(t, false, m["ok"])
	require.Equal(t, "remote-hangup", m["result"])
	require.Equal(t, "t38", m["media"])
	require.Contains(t, m["error"], "the far end hung up (SIP BYE) before the fax ended")
	require.Less(t, p.took, 10*time.Second)
}

// TestBinarySIPDispatcher: scale-out as operators do it: two receivers
// behind Kamailio's dispatcher, two senders calling the one address at
// once; each receiver answers one call, and both faxes arrive intact.
func TestBinarySIPDispatcher(t *testing.T) {
	a, b := freePort(t), freePort(t)
	k := sippeer.StartKamailio(t, sippeer.KamailioConfig{Dispatch: []string{"sip:" + a, "sip:" + b}})
	in, pages := letterTIFF(t, 1, nil)
	dir := t.TempDir()
	var recvs []*started
	for i, addr := range []string{a, b} {
		recvs = append(recvs, startCLI(t, "receive", "-sip-local", addr, "-json", "-pace=false", "-timeout", "40s",
			"-o", filepath.Join(dir, fmt.Sprintf("rx%d.tif", i))))
		waitBound(t, addr)
	}
	var sends []*started
	for range 2 {
		sends = append(sends, startCLI(t, "send", "-to", k.URI("dispatch"), "-json", "-pace=false", "-timeout", "40s", in))
	}
	for _, s := range sends {
		checkSIPJSON(t, s.wait(t, 45*time.Second))
	}
	for i, r := range recvs {
		checkSIPJSON(t, r.wait(t, 45*time.Second))
		got, _ := bitmapsOf(t, filepath.Join(dir, fmt.Sprintf("rx%d.tif", i)))
		require.Len(t, got, 1)
		require.True(t, pages[0].Equal(got[0]))
	}
	require.True(t, k.WaitLog("faxkit-kamailio: dispatched to sip:"+a, 2*time.Second))
	require.True(t, k.WaitLog("faxkit-kamailio: dispatched to sip:"+b, 2*time.Second))
}
