// Package spandsp runs t38peer, faxkit's own T.38 test peer built on
// Debian's libspandsp, so that interop tests can hold real fax calls with
// the T.30/T.38 implementation inside Asterisk and FreeSWITCH.
//
// The peer's C source is peer/t38peer.c. It is compiled on first use with
// the system C compiler against libspandsp-dev and libtiff-dev; a test that
// needs it skips when they are absent, and fails under CI=true (see
// internal/peertest). spandsp is LGPL: it is linked only into this test
// harness, never into faxkit.
package spandsp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/faxkit/faxkit/internal/peertest"
)

// Config describes one side of a call held by the spandsp peer.
type Config struct {
	Send          bool   // send File; otherwise receive into File
	File          string // TIFF to send, or to write what is received
	Local, Remote string // UDP addresses, host:port (IPv4 loopback in tests)
	Calling       *bool  // calling terminal; nil means "calls when sending"
	NoECM         bool
	Version       int    // T.38 version 0..3
	Compression   string // "mh,mr,mmr" (default) or a subset
	Rate          int    // highest bit rate, 2400..14400; 0 means 14400
	NoRedundancy  bool   // send no secondary IFPs
	ECDepth       int    // secondaries per packet; 0 means 3
	// FEC sends fec-info parity (Asterisk's layout, see peer/t38peer.c)
	// instead of secondaries. FECSpan (packets per parity group) and
	// FECEntries (parity entries per datagram) default to 3 each; each is
	// at most 5 and their product at most 15. The peer always accepts
	// both kinds of error recovery, whatever it sends.
	FEC                 bool
	FECSpan, FECEntries int
	MaxDatagram         int     // 0 means 400
	Speedup             float64 // virtual clock speed-up; 0 means 10
	Timeout             time.Duration
	Loss                float64 // percent of our outgoing datagrams dropped
	Seed                int
	Ident               string
	Verbose             bool // spandsp's protocol log on stderr
}

// Result is how the peer's call ended, as spandsp reports it.
type Result struct {
	OK               bool   `json:"ok"`
	PhaseE           bool   `json:"phase_e"`
	Code             int    `json:"code"`
	Result           string `json:"result"`
	Pages            int    `json:"pages"`
	BitRate          int    `json:"bit_rate"`
	ECM              bool   `json:"ecm"`
	Compression      string `json:"compression"`
	BadRows          int    `json:"bad_rows"`
	LongestBadRowRun int    `json:"longest_bad_row_run"`
	ECMRetries       int    `json:"ecm_retries"`
	RemoteIdent      string `json:"remote_ident"`
	VirtualMS        int    `json:"virtual_ms"`
	PacketsSent      int    `json:"packets_sent"`
	PacketsDropped   int    `json:"packets_dropped"`
	PacketsReceived  int    `json:"packets_received"`
	IFPRecovered     int    `json:"ifp_recovered"` // from secondaries
	IFPRecoveredFEC  int    `json:"ifp_recovered_fec"`
	// FECRebuildRejected counts packets rebuilt from parity that were not
	// IFP packets (parity that does not match its group) and were dropped.
	FECRebuildRejected int `json:"fec_rebuild_rejected"`
	IFPLost            int `json:"ifp_lost"`
	Duplicates         int `json:"duplicates"`
}

func (c *Config) args() []string {
	mode := "receive"
	if c.Send {
		mode = "send"
	}
	a := []string{"-mode", mode, "-file", c.File, "-local", c.Local, "-remote", c.Remote}
	add := func(k, v string) { a = append(a, k, v) }
	if c.Calling != nil {
		add("-calling", map[bool]string{true: "1", false: "0"}[*c.Calling])
	}
	if c.NoECM {
		add("-ecm", "0")
	}
	add("-version", strconv.Itoa(c.Version))
	if c.Compression != "" {
		add("-compression", c.Compression)
	}
	if c.Rate != 0 {
		add("-rate", strconv.Itoa(c.Rate))
	}
	switch {
	case c.FEC:
		add("-ec", "fec")
		if c.FECSpan != 0 {
			add("-fec-span", strconv.Itoa(c.FECSpan))
		}
		if c.FECEntries != 0 {
			add("-fec-entries", strconv.Itoa(c.FECEntries))
		}
	case c.NoRedundancy:
		add("-ec", "none")
	}
	if c.ECDepth != 0 {
		add("-ec-depth", strconv.Itoa(c.ECDepth))
	}
	if c.MaxDatagram != 0 {
		add("-max-datagram", strconv.Itoa(c.MaxDatagram))
	}
	if c.Speedup != 0 {
		add("-speedup", strconv.FormatFloat(c.Speedup, 'g', -1, 64))
	}
	if c.Timeout != 0 {
		add("-timeout", strconv.FormatFloat(c.Timeout.Seconds(), 'g', -1, 64))
	}
	if c.Loss != 0 {
		add("-loss", strconv.FormatFloat(c.Loss, 'g', -1, 64))
		add("-seed", strconv.Itoa(c.Seed))
	}
	if c.Ident != "" {
		add("-ident", c.Ident)
	}
	if c.Verbose {
		a = append(a, "-v")
	}
	return a
}

var build struct {
	once sync.Once
	exe  string
	err  error
}

// Peer returns the path of the compiled t38peer, building it on first use.
// It skips or fails t (see peertest) when libspandsp or a C compiler is
// missing.
func Peer(t testing.TB) string {
	t.Helper()
	flags := peertest.CFlags(t, "spandsp", "apt-get install libspandsp-dev libtiff-dev")
	build.once.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		src := filepath.Join(filepath.Dir(file), "peer", "t38peer.c")
		dir, err := os.MkdirTemp("", "faxkit-t38peer-")
		if err != nil {
			build.err = err
			return
		}
		exe := filepath.Join(dir, "t38peer")
		args := append([]string{"-O2", "-Wall", "-o", exe, src}, flags...)
		args = append(args, "-ltiff", "-lm")
		if out, err := exec.Command("cc", args...).CombinedOutput(); err != nil {
			build.err = fmt.Errorf("building t38peer: %v\n%s", err, out)
			return
		}
		build.exe = exe
	})
	if build.err != nil {
		t.Fatal(build.err)
	}
	return build.exe
}

// Call is a running spandsp peer.
type Call struct {
	cmd    *exec.Cmd
	stdout bytes.Buffer
	stderr bytes.Buffer
	done   chan struct{}
	err    error
}

// Start starts the peer for one call. It is killed when ctx ends.
func Start(ctx context.Context, t testing.TB, c Config) *Call {
	t.Helper()
	exe := Peer(t)
	call := &Call{done: make(chan struct{})}
	call.cmd = exec.CommandContext(ctx, exe, c.args()...)
	call.cmd.Stdout = &call.stdout
	call.cmd.Stderr = &call.stderr
	if err := call.cmd.Start(); err != nil {
		t.Fatalf("starting t38peer: %v", err)
	}
	go func() {
		call.err = call.cmd.Wait()
		close(call.done)
	}()
	return call
}

// Wait waits for the call to end and returns spandsp's account of it.
func (c *Call) Wait() (Result, error) {
	<-c.done
	var r Result
	if c.err != nil {
		return r, fmt.Errorf("t38peer: %v\n%s", c.err, c.stderr.Bytes())
	}
	if err := json.Unmarshal(c.stdout.Bytes(), &r); err != nil {
		return r, fmt.Errorf("t38peer output %q: %v", c.stdout.Bytes(), err)
	}
	return r, nil
}

// Log returns what the peer wrote on stderr (spandsp's log with Verbose).
func (c *Call) Log() string {
	<-c.done
	return c.stderr.String()
}
