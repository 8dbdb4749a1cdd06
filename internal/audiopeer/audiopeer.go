// Package audiopeer runs faxkit's audio fax test peer, csrc/audiopeer.c:
// libspandsp's fax_state_t (T.30 over spandsp's own V.21, V.27ter, V.29
// and V.17 modems) speaking G.711 RTP over UDP in (accelerated) real time,
// so that faxkit.AudioMedia can hold real calls with an independent
// implementation; and Relay, an RTP relay that impairs what it carries
// (loss, jitter, level, noise, sample-clock offset) the same way for any
// two ends, so that faxkit↔spandsp, faxkit↔faxkit and spandsp↔spandsp
// calls are measured alike.
//
// The C file is compiled at test time against libspandsp-dev and
// libtiff-dev; tests skip without them and fail under CI=true
// (internal/peertest). spandsp is LGPL: it is linked only into this
// harness.
package audiopeer

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/faxkit/faxkit/internal/peertest"
)

// Config describes the peer's side of a call.
type Config struct {
	Send    bool   // send File; otherwise receive into File
	File    string // TIFF
	Calling *bool  // nil: calls when sending
	NoECM   bool
	// Modems caps spandsp's image modems: "v27" (V.27ter), "v29" (V.29
	// and V.27ter) or "v17" (all, the default).
	Modems string
	PCMA   bool // A-law; default µ-law
	PT     int  // payload type; 0 means the static one (0 or 8)
	Depth  int  // jitter buffer, in packets; 0 means 3
	// PTime is the packet time sent and played: 10, 20, 30 or 40 ms; 0
	// means 20 ms.
	PTime  time.Duration
	FillIn bool   // hand missing blocks to fax_rx_fillin instead of silence
	Remote string // where to send, host:port
	// Speedup runs the call this many times faster than real time (the
	// faxkit end must run on a clock scaled alike); 0 means 1.
	Speedup float64
	Timeout time.Duration // call (virtual) time; 0 means 300 s
	Verbose bool          // spandsp's protocol log on the test's stderr
}

// Result is how spandsp says its call ended.
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
	PacketsSent      int    `json:"packets_sent"`
	PacketsReceived  int    `json:"packets_received"`
	Missing          int    `json:"missing"`
	Late             int    `json:"late"`
	Overflow         int    `json:"overflow"`
	Foreign          int    `json:"foreign"`
	// Resyncs counts the jitter buffer's restarts on a jump of the
	// timestamps (four packets in a row outside its window).
	Resyncs int `json:"resyncs"`
	// CPU is the peer process's user and system time.
	CPU time.Duration `json:"-"`
}

var build struct {
	once sync.Once
	exe  string
	err  error
}

// Build compiles the peer once per test binary and returns its path; t is
// skipped (or failed under CI) without libspandsp or a C compiler.
func Build(t testing.TB) string {
	t.Helper()
	flags := append(peertest.CFlags(t, "spandsp", "apt-get install libspandsp-dev libtiff-dev"), "-ltiff", "-lm")
	build.once.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		src := filepath.Join(filepath.Dir(file), "csrc", "audiopeer.c")
		dir, err := os.MkdirTemp("", "faxkit-audiopeer-")
		if err != nil {
			build.err = err
			return
		}
		exe := filepath.Join(dir, "audiopeer")
		args := append([]string{"-O2", "-Wall", "-o", exe, src}, flags...)
		if out, err := exec.Command("cc", args...).CombinedOutput(); err != nil {
			build.err = fmt.Errorf("building audiopeer: %v\n%s", err, out)
			return
		}
		build.exe = exe
	})
	if build.err != nil {
		t.Fatal(build.err)
	}
	return build.exe
}

// Peer is a running spandsp audio fax terminal.
type Peer struct {
	// Port is the UDP port on 127.0.0.1 the peer receives on.
	Port int
	cmd  *exec.Cmd
	out  *bufio.Reader
	done chan struct{}
	res  Result
	err  error
}

func (c *Config) args() []string {
	mode := "receive"
	if c.Send {
		mode = "send"
	}
	a := []string{"-mode", mode, "-file", c.File, "-remote", c.Remote, "-local", "127.0.0.1:0"}
	add := func(k, v string) { a = append(a, k, v) }
	if c.Calling != nil {
		add("-calling", map[bool]string{true: "1", false: "0"}[*c.Calling])
	}
	if c.NoECM {
		add("-ecm", "0")
	}
	if c.Modems != "" {
		add("-modems", c.Modems)
	}
	if c.PCMA {
		add("-law", "pcma")
	}
	if c.PT != 0 {
		add("-pt", strconv.Itoa(c.PT))
	}
	if c.Depth != 0 {
		add("-depth", strconv.Itoa(c.Depth))
	}
	if c.PTime != 0 {
		add("-ptime", strconv.Itoa(int(c.PTime/time.Millisecond)))
	}
	if c.FillIn {
		add("-fillin", "1")
	}
	if c.Speedup != 0 {
		add("-speedup", strconv.FormatFloat(c.Speedup, 'g', -1, 64))
	}
	if c.Timeout != 0 {
		add("-timeout", strconv.FormatFloat(c.Timeout.Seconds(), 'g', -1, 64))
	}
	if c.Verbose {
		a = append(a, "-v")
	}
	return a
}

// Start runs the peer (exe from Build) with c; it is killed when ctx ends
// or the test is cleaned up. Start returns once the peer has bound its
// port.
func Start(ctx context.Context, t testing.TB, exe string, c Config) *Peer {
	t.Helper()
	p := &Peer{done: make(chan struct{})}
	p.cmd = exec.CommandContext(ctx, exe, c.args()...)
	if c.Verbose {
		p.cmd.Stderr = os.Stderr
	}
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting audiopeer: %v", err)
	}
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
	})
	p.out = bufio.NewReader(out)
	line, err := p.out.ReadString('\n')
	var hello struct {
		Port int `json:"port"`
	}
	if err != nil || json.Unmarshal([]byte(line), &hello) != nil || hello.Port == 0 {
		_ = p.cmd.Process.Kill()
		t.Fatalf("audiopeer did not start: %q %v", line, err)
	}
	p.Port = hello.Port
	go func() {
		defer close(p.done)
		rest, _ := io.ReadAll(p.out)
		if err := p.cmd.Wait(); err != nil {
			p.err = fmt.Errorf("audiopeer: %w", err)
			return
		}
		p.res.CPU = p.cmd.ProcessState.UserTime() + p.cmd.ProcessState.SystemTime()
		cpu := p.res.CPU
		if err := json.Unmarshal([]byte(strings.TrimSpace(string(rest))), &p.res); err != nil {
			p.err = fmt.Errorf("audiopeer output %q: %w", rest, err)
		}
		p.res.CPU = cpu
	}()
	return p
}

// Addr is the peer's address.
func (p *Peer) Addr() string { return "127.0.0.1:" + strconv.Itoa(p.Port) }

// Wait waits for the peer's call to end and returns spandsp's account.
func (p *Peer) Wait() (Result, error) {
	<-p.done
	return p.res, p.err
}
