// Package faxref runs csrc/faxref.c, a test peer on libspandsp's audio fax
// terminal (fax_state_t: spandsp's T.30 over its own V.21, V.27ter, V.29
// and V.17 modems), so that modem/fax can hold whole fax calls with an
// independent implementation. The peer exchanges 20 ms blocks of 8 kHz
// linear audio with the test in lockstep over pipes: time is the sample
// count on both sides, so a call needs no real time and is deterministic.
//
// The C file is compiled at test time against libspandsp-dev and
// libtiff-dev; tests skip without them and fail under CI=true
// (internal/peertest). spandsp is LGPL: it is only linked into this
// harness.
package faxref

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/faxkit/faxkit/internal/peertest"
)

// Block is the number of samples exchanged per step (20 ms).
const Block = 160

// Config describes spandsp's side of a call.
type Config struct {
	Send    bool   // send File; otherwise receive into File
	File    string // TIFF
	Calling bool
	NoECM   bool
	// Modems caps spandsp's image modems: "v27" (V.27ter only), "v29"
	// (V.29 and V.27ter, the default) or "v17" (V.17 too).
	Modems  string
	Verbose bool // spandsp's protocol log on the test's stderr
}

// Result is how spandsp says the call ended.
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
	LineMS           int    `json:"line_ms"`
	// CPU is the peer process's user and system time (spandsp's modems
	// and T.30, plus the harness's pipe I/O).
	CPU time.Duration `json:"-"`
}

// Build compiles the harness (once per test binary run is enough; the
// result lives in t's temporary directory).
func Build(t testing.TB) string {
	t.Helper()
	flags := append(peertest.CFlags(t, "spandsp", "apt-get install libspandsp-dev libtiff-dev"), "-ltiff")
	_, file, _, _ := runtime.Caller(0)
	return peertest.BuildC(t, "faxref", []string{filepath.Join(filepath.Dir(file), "csrc", "faxref.c")}, flags...)
}

// Peer is a running spandsp fax terminal.
type Peer struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Reader
	result string
	buf    []byte
	closed bool
}

// Start runs the harness exe with c. The test's cleanup kills it if Close
// was not called.
func Start(t testing.TB, exe string, c Config) *Peer {
	t.Helper()
	res := filepath.Join(t.TempDir(), "result.json")
	mode := "receive"
	if c.Send {
		mode = "send"
	}
	b := func(v bool) string {
		if v {
			return "1"
		}
		return "0"
	}
	modems := c.Modems
	if modems == "" {
		modems = "v29"
	}
	cmd := exec.Command(exe, "-mode", mode, "-file", c.File, "-result", res, "-calling", b(c.Calling),
		"-ecm", b(!c.NoECM), "-modems", modems, "-verbose", b(c.Verbose))
	if c.Verbose {
		cmd.Stderr = os.Stderr
	}
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("faxref: %v", err)
	}
	p := &Peer{cmd: cmd, in: in, out: bufio.NewReaderSize(out, 4*Block), result: res, buf: make([]byte, 2*Block)}
	t.Cleanup(func() {
		if !p.closed {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return p
}

// Step gives spandsp one block of what it hears (len(rx) == Block) and
// fills tx with the block it sends.
func (p *Peer) Step(rx, tx []int16) error {
	for i, v := range rx[:Block] {
		binary.LittleEndian.PutUint16(p.buf[2*i:], uint16(v))
	}
	if _, err := p.in.Write(p.buf); err != nil {
		return fmt.Errorf("faxref: %w", err)
	}
	if _, err := io.ReadFull(p.out, p.buf); err != nil {
		return fmt.Errorf("faxref: %w", err)
	}
	for i := range tx[:Block] {
		tx[i] = int16(binary.LittleEndian.Uint16(p.buf[2*i:]))
	}
	return nil
}

// Close ends the peer and returns spandsp's view of the call.
func (p *Peer) Close() (Result, error) {
	var r Result
	if p.closed {
		return r, fmt.Errorf("faxref: closed twice")
	}
	p.closed = true
	_ = p.in.Close()
	_, _ = io.Copy(io.Discard, p.out)
	if err := p.cmd.Wait(); err != nil {
		return r, fmt.Errorf("faxref: %w", err)
	}
	r.CPU = p.cmd.ProcessState.UserTime() + p.cmd.ProcessState.SystemTime()
	b, err := os.ReadFile(p.result)
	if err != nil {
		return r, err
	}
	cpu := r.CPU
	err = json.Unmarshal([]byte(strings.TrimSpace(string(b))), &r)
	r.CPU = cpu
	return r, err
}
