package sippeer

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/faxkit/faxkit/internal/peertest"
)

// SIPpConfig describes one SIPp run of a scenario in sip/testdata/sipp.
type SIPpConfig struct {
	// Scenario is a file name in sip/testdata/sipp (uac_*.xml call the
	// system under test, uas_*.xml answer it).
	Scenario string
	// Remote is the system under test, 127.0.0.1:PORT; uac_* scenarios
	// send to it. uas_* scenarios leave it empty.
	Remote string
	// Service is the Request-URI user of uac_* scenarios; "" means "fax".
	Service string
	// Local is SIPp's SIP address; "" picks a free port (SIPp.Addr).
	Local string
	// Calls is how many calls to run; 0 means 1.
	Calls int
	// Timeout bounds the run; 0 means 30 s.
	Timeout time.Duration
}

// SIPp is a running SIPp.
type SIPp struct {
	Addr    string // SIPp's SIP address, 127.0.0.1:PORT
	cmd     *exec.Cmd
	out     bytes.Buffer
	dir     string
	done    chan struct{}
	err     error
	started time.Time
}

// URI returns a SIP URI that reaches SIPp, with user user.
func (s *SIPp) URI(user string) string { return "sip:" + user + "@" + s.Addr }

// SIPpScenario returns the path of a scenario in sip/testdata/sipp.
func SIPpScenario(name string) string {
	_, file, _, _ := runtime.Caller(0)
	repo := filepath.Dir(filepath.Dir(filepath.Dir(file)))
	return filepath.Join(repo, "sip", "testdata", "sipp", name)
}

// StartSIPp starts SIPp on a scenario and returns at once (a uas_*
// scenario is listening when SIPp has bound its port, which it does before
// reading further input; callers give it the time a UDP retransmission
// covers). SIPp is killed when the test ends. It skips or fails t (see
// peertest) when SIPp is not installed.
func StartSIPp(ctx context.Context, t testing.TB, cfg SIPpConfig) *SIPp {
	t.Helper()
	exe := peertest.Program(t, "sipp", "apt-get install sip-tester")
	if cfg.Local == "" {
		cfg.Local = FreeUDP(t)
	}
	if cfg.Service == "" {
		cfg.Service = "fax"
	}
	if cfg.Calls == 0 {
		cfg.Calls = 1
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	scen := SIPpScenario(cfg.Scenario)
	if _, err := os.Stat(scen); err != nil {
		t.Fatal(err)
	}
	host, port := splitHostPort(t, cfg.Local)
	mport := strconv.Itoa(freeUDPBlock(t, 4))
	s := &SIPp{Addr: cfg.Local, dir: t.TempDir(), done: make(chan struct{}), started: time.Now()}
	args := []string{
		"-sf", scen, "-i", host, "-p", port, "-mi", host, "-mp", mport,
		"-m", strconv.Itoa(cfg.Calls), "-l", "1", "-s", cfg.Service,
		"-nostdin", "-timeout", strconv.Itoa(int(cfg.Timeout.Seconds())) + "s", "-timeout_error",
		"-trace_err", "-error_file", filepath.Join(s.dir, "errors.log"),
		"-trace_msg", "-message_file", filepath.Join(s.dir, "messages.log"),
		"-deadcall_wait", "1000",
	}
	if cfg.Remote != "" {
		args = append(args, cfg.Remote)
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout+10*time.Second)
	s.cmd = exec.CommandContext(ctx, exe, args...)
	s.cmd.Dir = s.dir
	s.cmd.Stdout, s.cmd.Stderr = &s.out, &s.out
	s.cmd.WaitDelay = 2 * time.Second
	if err := s.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("starting sipp: %v", err)
	}
	go func() {
		s.err = s.cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		cancel()
		<-s.done
	})
	return s
}

// Wait waits for SIPp to end and returns an error, with SIPp's error log
// and message trace, unless every call of the scenario succeeded.
func (s *SIPp) Wait() error {
	<-s.done
	if s.err == nil {
		return nil
	}
	errs, _ := os.ReadFile(filepath.Join(s.dir, "errors.log"))
	msgs, _ := os.ReadFile(filepath.Join(s.dir, "messages.log"))
	return fmt.Errorf("sipp: %v\nerrors:\n%s\nmessages:\n%s", s.err, errs, msgs)
}

// Messages returns SIPp's trace of the messages sent and received so far.
func (s *SIPp) Messages() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "messages.log"))
	return string(b)
}

func splitHostPort(t testing.TB, addr string) (string, string) {
	t.Helper()
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == ':' {
			return addr[:i], addr[i+1:]
		}
	}
	t.Fatalf("address %q has no port", addr)
	return "", ""
}
