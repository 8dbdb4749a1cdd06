package sippeer

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"text/template"
	"time"

	"github.com/faxkit/faxkit/internal/peertest"
)

// KamailioConfig describes the Kamailio a test puts in the call path.
type KamailioConfig struct {
	// Users are the digest credentials (user name to password) that
	// REGISTER and INVITEs from those users (by From) must prove.
	Users map[string]string
	// Dispatch lists the SIP URIs (sip:127.0.0.1:PORT) of the receivers
	// that calls to the user "dispatch" are spread over, round robin.
	Dispatch []string
	// Debug is Kamailio's log level (0..3); 0 means 1 (errors and
	// warnings), 3 logs every message.
	Debug int
}

// Kamailio is a running Kamailio.
type Kamailio struct {
	Addr string // 127.0.0.1:PORT, UDP
	cmd  *exec.Cmd
	log  lockedBuffer
	done chan struct{}
	err  error
}

// URI returns a SIP URI with user user at the proxy.
func (k *Kamailio) URI(user string) string { return "sip:" + user + "@" + k.Addr }

// ProxyURI returns the proxy's own URI, for an outbound proxy setting.
func (k *Kamailio) ProxyURI() string { return "sip:" + k.Addr }

// Log returns what Kamailio has logged so far.
func (k *Kamailio) Log() string { return k.log.String() }

// KamailioTemplate returns the path of the config template in sip/testdata.
func KamailioTemplate() string {
	_, file, _, _ := runtime.Caller(0)
	// file is <repo>/internal/sippeer/kamailio.go
	repo := filepath.Dir(filepath.Dir(filepath.Dir(file)))
	return filepath.Join(repo, "sip", "testdata", "kamailio", "kamailio.cfg")
}

// StartKamailio writes the test config with a free 127.0.0.1 port into a
// temporary directory, runs Kamailio in the foreground on it, waits until
// it answers an OPTIONS, and stops it (SIGTERM, then SIGKILL) when the test
// ends. It skips or fails t (see peertest) when Kamailio is not installed.
func StartKamailio(t testing.TB, cfg KamailioConfig) *Kamailio {
	t.Helper()
	exe := kamailioPath(t)
	modules := kamailioModules(t)
	dir := t.TempDir()
	tmpl, err := template.ParseFiles(KamailioTemplate())
	if err != nil {
		t.Fatal(err)
	}
	k := &Kamailio{done: make(chan struct{})}
	if cfg.Debug == 0 {
		cfg.Debug = 1
	}
	var ds strings.Builder
	for _, u := range cfg.Dispatch {
		fmt.Fprintf(&ds, "1 %s\n", u)
	}
	if err := os.WriteFile(filepath.Join(dir, "dispatcher.list"), []byte(ds.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	for attempt := 0; ; attempt++ {
		k.Addr = FreeUDP(t)
		conf := filepath.Join(dir, "kamailio.cfg")
		f, err := os.Create(conf)
		if err != nil {
			t.Fatal(err)
		}
		err = tmpl.Execute(f, map[string]any{
			"Addr": k.Addr, "Dir": dir, "ModulePath": modules, "Users": cfg.Users, "Debug": cfg.Debug,
		})
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		run := filepath.Join(dir, "run")
		os.MkdirAll(run, 0o700)
		k.cmd = exec.Command(exe, "-DD", "-E", "-f", conf, "-Y", run, "-w", dir, "-m", "32", "-M", "4", "-a", "no")
		// Its own process group, so that the children it forks die with it.
		k.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		pr, pw := io.Pipe()
		k.cmd.Stdout, k.cmd.Stderr = pw, pw
		k.cmd.WaitDelay = 2 * time.Second
		if err := k.cmd.Start(); err != nil {
			t.Fatalf("starting kamailio: %v", err)
		}
		k.done = make(chan struct{})
		go func() {
			sc := bufio.NewScanner(pr)
			sc.Buffer(make([]byte, 64<<10), 1<<20)
			for sc.Scan() {
				k.log.WriteLine(sc.Text())
			}
			io.Copy(io.Discard, pr)
		}()
		go func(cmd *exec.Cmd, done chan struct{}) {
			k.err = cmd.Wait()
			pw.Close()
			close(done)
		}(k.cmd, k.done)
		if err := k.waitReady(10 * time.Second); err == nil {
			break
		} else if attempt == 2 {
			k.stop()
			t.Fatalf("kamailio not ready: %v\n%s", err, k.Log())
		}
		k.stop() // the port was taken meanwhile: try another
	}
	t.Cleanup(func() {
		k.stop()
		if t.Failed() {
			t.Logf("kamailio log:\n%s", k.Log())
		}
	})
	return k
}

// stop ends Kamailio and every process it forked.
func (k *Kamailio) stop() {
	select {
	case <-k.done:
		return
	default:
	}
	pgid := k.cmd.Process.Pid
	syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-k.done:
	case <-time.After(3 * time.Second):
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-k.done
	}
	// Children left behind by a main process that died first.
	syscall.Kill(-pgid, syscall.SIGKILL)
}

// waitReady sends OPTIONS to the proxy until it answers 200.
func (k *Kamailio) waitReady(limit time.Duration) error {
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer c.Close()
	to, err := net.ResolveUDPAddr("udp4", k.Addr)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(limit)
	buf := make([]byte, 4096)
	for i := 0; time.Now().Before(deadline); i++ {
		select {
		case <-k.done:
			return fmt.Errorf("kamailio exited: %v", k.err)
		default:
		}
		msg := fmt.Sprintf("OPTIONS sip:%s SIP/2.0\r\n"+
			"Via: SIP/2.0/UDP %s;branch=z9hG4bK-ready-%d;rport\r\n"+
			"Max-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=ready\r\nTo: <sip:%s>\r\n"+
			"Call-ID: ready-%d@127.0.0.1\r\nCSeq: %d OPTIONS\r\nContent-Length: 0\r\n\r\n",
			k.Addr, c.LocalAddr(), i, k.Addr, i, i+1)
		if _, err := c.WriteTo([]byte(msg), to); err != nil {
			return err
		}
		c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		n, _, err := c.ReadFrom(buf)
		if err == nil && strings.HasPrefix(string(buf[:n]), "SIP/2.0 200") {
			return nil
		}
	}
	return fmt.Errorf("no 200 to OPTIONS within %v", limit)
}

func kamailioPath(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("kamailio"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/sbin/kamailio", "/usr/local/sbin/kamailio"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	peertest.Missing(t, "program kamailio", "apt-get install kamailio")
	return ""
}

func kamailioModules(t testing.TB) string {
	t.Helper()
	cands, _ := filepath.Glob("/usr/lib/*/kamailio/modules")
	cands = append(cands, "/usr/lib/kamailio/modules", "/usr/local/lib64/kamailio/modules")
	for _, d := range cands {
		if _, err := os.Stat(filepath.Join(d, "dispatcher.so")); err == nil {
			return d
		}
	}
	peertest.Missing(t, "Kamailio modules (dispatcher.so)", "apt-get install kamailio")
	return ""
}

// WaitLog reports whether Kamailio's log contains s, waiting up to limit
// for it (the log arrives through a pipe, a little after the SIP
// messages that caused it).
func (k *Kamailio) WaitLog(s string, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for {
		if strings.Contains(k.Log(), s) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}
