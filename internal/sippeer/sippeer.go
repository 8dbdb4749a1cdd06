// Package sippeer starts the independent SIP peers that faxkit's SIP interop
// tests run against, all on 127.0.0.1 and all stopped when the test ends:
//
//   - sipfaxpeer (Start), faxkit's own SIP + T.38 fax endpoint in C on
//     Debian's sofia-sip (nua, the SIP stack FreeSWITCH grew from) and
//     libspandsp's T.38 terminal; its source is peer/sipfaxpeer.c and it is
//     compiled on first use;
//   - Kamailio (StartKamailio) as registrar, digest authenticator,
//     record-routing proxy and dispatcher, from the config template in
//     sip/testdata/kamailio;
//   - SIPp (StartSIPp) running the scenarios in sip/testdata/sipp.
//
// A test that needs a peer that is missing is skipped with an install hint,
// or fails under CI=true (see internal/peertest). sofia-sip and spandsp are
// LGPL: they are linked only into this test harness, never into faxkit.
package sippeer

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
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

// Role is the SIP role of a sipfaxpeer.
type Role string

// The SIP roles.
const (
	UAC Role = "uac" // places the call
	UAS Role = "uas" // answers one call
)

// T38 is how a sipfaxpeer switches the call to T.38.
type T38 string

// The T.38 policies of sipfaxpeer.
const (
	Request T38 = "request" // send the re-INVITE to T.38 once the call is up
	Await   T38 = "await"   // wait for the peer's re-INVITE
	Offer   T38 = "offer"   // offer T.38 (beside audio) in the initial INVITE
	Reject  T38 = "reject"  // answer any T.38 offer with 488
)

// Config describes one sipfaxpeer run (one call).
type Config struct {
	Role Role
	Send bool   // send File; otherwise receive into File
	File string // TIFF to send, or where the received fax goes
	// SIP is the local SIP address, 127.0.0.1:PORT (UDP). Empty picks a
	// free port; Call.SIP reports it.
	SIP string
	To  string // UAC: the Request-URI, sip:USER@HOST:PORT
	// Proxy is an outbound proxy (sip:HOST:PORT) for every request.
	Proxy string
	// Register, when set (sip:USER@HOST:PORT), REGISTERs that AOR at
	// HOST:PORT before the call, answering digest challenges with User
	// and Password.
	Register, User, Password string
	T38                      T38           // "" means Request
	ReinviteDelay            time.Duration // Request: wait this long after the call is up
	AwaitTimeout             time.Duration // Await: give up after this; 0 means 10 s
	AnswerDelay              time.Duration // UAS: ring this long before answering
	// SDPBoth offers T.38 by re-INVITE as m=audio 0 plus m=image (RFC 3264
	// style) instead of m=image alone (FreeSWITCH's style).
	SDPBoth bool
	// RefreshAfter sends a re-INVITE with identical SDP once N fast-modem
	// (image data) IFPs have been sent or received: a refresh mid-page.
	RefreshAfter int
	// SessionExpires asks for an RFC 4028 session timer (seconds) in the
	// peer's INVITE and in its answers; MinSE is the smallest interval it
	// accepts (sofia's default is 120 s); Refresher is "local", "remote" or
	// "" (sofia decides). sofia's nua answers refreshes itself and hangs up
	// when one it awaits does not come.
	SessionExpires, MinSE int
	Refresher             string
	// Audio, "pcmu" or "pcma", runs the peer in audio mode: libspandsp's
	// audio fax engine (fax_state_t) on G.711 RTP in 20 ms packets, in real
	// time (Speedup must stay 0 or 1), from the moment the call is up;
	// every T.38 offer is refused with 488.
	Audio string
	NoECM bool // T.30 without error correction
	// TCP makes the peer listen for SIP on TCP (at SIP's port) instead of
	// UDP; Call.URI then says ;transport=tcp.
	TCP bool
	// ByeFirst and ByeWait choose who hangs up after phase E; by default
	// the UAC sends BYE at once and the UAS waits up to 3 s for it.
	ByeFirst, ByeWait bool
	Version           int // T.38 version offered, 0..3
	MaxDatagram       int // T38FaxMaxDatagram; 0 means 400
	NoRedundancy      bool
	ECDepth           int     // secondary IFPs per datagram; 0 means 3
	Loss              float64 // percent of outgoing UDPTL datagrams dropped
	Seed              int
	Speedup           float64       // T.30 clock speed; 0 means 1 (real time)
	Timeout           time.Duration // real-time limit; 0 means 60 s
	Ident             string
	Verbose           bool // SIP events and spandsp's log on stderr
}

// Exit statuses of sipfaxpeer.
const (
	ExitOK       = 0 // T.30 success
	ExitT30      = 1 // T.30 failure
	ExitHarness  = 2
	ExitRefused  = 3 // T.38 refused (488/415/... or no re-INVITE in time)
	ExitTimeout  = 4
	ExitSIP      = 5 // INVITE or REGISTER failed, or hung up before T.38
	exitNotFound = -1
)

// Result is the peer's account of its call.
type Result struct {
	OK                bool   `json:"ok"`
	PhaseE            bool   `json:"phase_e"`
	Code              int    `json:"code"`
	Result            string `json:"result"`
	Exit              int    `json:"exit"`
	Pages             int    `json:"pages"`
	BitRate           int    `json:"bit_rate"`
	ECM               bool   `json:"ecm"`
	Media             string `json:"media"` // "t38", "audio" or "none"
	InviteStatus      int    `json:"invite_status"`
	RegisterStatus    int    `json:"register_status"`
	ReinvitesSent     int    `json:"reinvites_sent"`
	ReinviteStatus    int    `json:"reinvite_status"`
	ReinvitesReceived int    `json:"reinvites_received"`
	ReinvitesRejected int    `json:"reinvites_rejected"`
	NoSDPReinvites    int    `json:"no_sdp_reinvites"`
	Glare491Sent      int    `json:"glare_491_sent"` // by the peer's code; sofia's nua answers most glare 491s itself, uncounted
	Glare491Received  int    `json:"glare_491_received"`
	RefreshSent       int    `json:"refresh_sent"`
	RefreshStatus     int    `json:"refresh_status"`
	RefreshReceived   int    `json:"refresh_received"`
	ByeSent           bool   `json:"bye_sent"`
	ByeReceived       bool   `json:"bye_received"`
	T38SwitchMS       int    `json:"t38_switch_ms"` // call up to first T.38 packet; -1 none
	T38Version        int    `json:"t38_version"`
	RemoteMaxDatagram int    `json:"remote_max_datagram"`
	RTPSent           int    `json:"rtp_sent"`
	RTPReceived       int    `json:"rtp_received"`
	PacketsSent       int    `json:"packets_sent"`
	PacketsDropped    int    `json:"packets_dropped"`
	PacketsReceived   int    `json:"packets_received"`
	IFPRecovered      int    `json:"ifp_recovered"`
	IFPLost           int    `json:"ifp_lost"`
	Duplicates        int    `json:"duplicates"`
	VirtualMS         int    `json:"virtual_ms"`
	UpdatesReceived   int    `json:"updates_received"`
	RefreshMidFax     int    `json:"refresh_mid_fax"`    // refreshes received while T.30 ran on T.38
	SessionRefreshOK  int    `json:"session_refresh_ok"` // nua's own session refreshes (UPDATE or re-INVITE) answered 2xx
	RemoteIdent       string `json:"remote_ident"`
}

// Delivered reports whether the peer's side of a call with want pages
// succeeded: it ended OK, or it exchanged all want pages and then missed
// phase E, the end-of-call stall of spandsp 0.0.6 that internal/spandsp
// documents (tests must still compare the pages).
func (r Result) Delivered(want int) bool {
	return r.OK || (!r.PhaseE && r.Pages == want && r.Media == "t38")
}

func (c *Config) args() []string {
	mode := "receive"
	if c.Send {
		mode = "send"
	}
	a := []string{"-role", string(c.Role), "-mode", mode, "-file", c.File, "-sip", c.SIP}
	add := func(k, v string) { a = append(a, k, v) }
	ms := func(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }
	if c.To != "" {
		add("-to", c.To)
	}
	if c.Proxy != "" {
		add("-proxy", c.Proxy)
	}
	if c.Register != "" {
		add("-register", c.Register)
	}
	if c.User != "" {
		add("-user", c.User)
	}
	if c.Password != "" {
		add("-password", c.Password)
	}
	if c.T38 != "" {
		add("-t38", string(c.T38))
	}
	if c.ReinviteDelay != 0 {
		add("-reinvite-delay", ms(c.ReinviteDelay))
	}
	if c.AwaitTimeout != 0 {
		add("-await-timeout", ms(c.AwaitTimeout))
	}
	if c.AnswerDelay != 0 {
		add("-answer-delay", ms(c.AnswerDelay))
	}
	if c.SDPBoth {
		add("-sdp-style", "both")
	}
	if c.RefreshAfter != 0 {
		add("-refresh-after", strconv.Itoa(c.RefreshAfter))
	}
	if c.TCP {
		add("-transport", "tcp")
	}
	if c.Audio != "" {
		add("-media", "audio")
		add("-codec", c.Audio)
	}
	if c.NoECM {
		a = append(a, "-no-ecm")
	}
	if c.SessionExpires != 0 {
		add("-session-expires", strconv.Itoa(c.SessionExpires))
	}
	if c.MinSE != 0 {
		add("-min-se", strconv.Itoa(c.MinSE))
	}
	if c.Refresher != "" {
		add("-refresher", c.Refresher)
	}
	switch {
	case c.ByeFirst:
		add("-bye", "first")
	case c.ByeWait:
		add("-bye", "wait")
	}
	add("-version", strconv.Itoa(c.Version))
	if c.MaxDatagram != 0 {
		add("-max-datagram", strconv.Itoa(c.MaxDatagram))
	}
	if c.NoRedundancy {
		add("-ec", "none")
	}
	if c.ECDepth != 0 {
		add("-ec-depth", strconv.Itoa(c.ECDepth))
	}
	if c.Loss != 0 {
		add("-loss", strconv.FormatFloat(c.Loss, 'g', -1, 64))
		add("-seed", strconv.Itoa(c.Seed))
	}
	if c.Speedup != 0 {
		add("-speedup", strconv.FormatFloat(c.Speedup, 'g', -1, 64))
	}
	timeout := c.Timeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	add("-timeout", strconv.FormatFloat(timeout.Seconds(), 'g', -1, 64))
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

// Peer returns the path of the compiled sipfaxpeer, building it on first
// use. It skips or fails t (see peertest) when sofia-sip, spandsp, libtiff
// or a C compiler is missing.
func Peer(t testing.TB) string {
	t.Helper()
	flags := peertest.CFlags(t, "sofia-sip-ua", "apt-get install libsofia-sip-ua-dev")
	flags = append(flags, peertest.CFlags(t, "spandsp", "apt-get install libspandsp-dev libtiff-dev")...)
	build.once.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		src := filepath.Join(filepath.Dir(file), "peer", "sipfaxpeer.c")
		dir, err := os.MkdirTemp("", "faxkit-sipfaxpeer-")
		if err != nil {
			build.err = err
			return
		}
		exe := filepath.Join(dir, "sipfaxpeer")
		args := append([]string{"-O2", "-Wall", "-o", exe, src}, flags...)
		args = append(args, "-ltiff", "-lm")
		if out, err := exec.Command("cc", args...).CombinedOutput(); err != nil {
			build.err = fmt.Errorf("building sipfaxpeer: %v\n%s", err, out)
			return
		}
		build.exe = exe
	})
	if build.err != nil {
		t.Fatal(build.err)
	}
	return build.exe
}

// FreeUDP returns a loopback UDP address (127.0.0.1:PORT) that was free a
// moment ago.
func FreeUDP(t testing.TB) string {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().String()
}

// freeUDPBlock returns the first of n consecutive loopback UDP ports that
// were all free a moment ago. The ports lie below the kernel's ephemeral
// range (32768 and up on Linux), so a socket another test binds to port 0
// never lands in the block between this check and the caller's bind; a
// block is handed out once per process. SIPp needs this for -mp: it binds
// the audio and video RTP sockets at -mp and -mp+2 and exits when either
// is taken.
func freeUDPBlock(t testing.TB, n int) int {
	t.Helper()
	udpBlocks.Lock()
	defer udpBlocks.Unlock()
	const lo, hi = 20000, 32000
	for range 200 {
		base := lo + n*rand.IntN((hi-lo)/n)
		if udpBlocks.used[base] || !udpFree(base, n) {
			continue
		}
		if udpBlocks.used == nil {
			udpBlocks.used = map[int]bool{}
		}
		udpBlocks.used[base] = true
		return base
	}
	t.Fatalf("no %d consecutive free UDP ports on 127.0.0.1 in %d-%d", n, lo, hi)
	return 0
}

var udpBlocks struct {
	sync.Mutex
	used map[int]bool
}

// udpFree reports whether ports base..base+n-1 can all be bound on
// 127.0.0.1 at once.
func udpFree(base, n int) bool {
	var held []net.PacketConn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for p := base; p < base+n; p++ {
		c, err := net.ListenPacket("udp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			return false
		}
		held = append(held, c)
	}
	return true
}

func freeTCP(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Call is a running sipfaxpeer.
type Call struct {
	// SIP is the peer's SIP address, 127.0.0.1:PORT.
	SIP    string
	tcp    bool
	cmd    *exec.Cmd
	stdout bytes.Buffer
	stderr lockedBuffer
	done   chan struct{}
	err    error
}

// URI returns a SIP URI that reaches the peer directly, with user user.
func (c *Call) URI(user string) string {
	if c.tcp {
		return "sip:" + user + "@" + c.SIP + ";transport=tcp"
	}
	return "sip:" + user + "@" + c.SIP
}

// readyTimeout bounds how long a peer may take to bind (and register).
const readyTimeout = 10 * time.Second

// Start starts sipfaxpeer for one call and returns once it is ready: its
// SIP socket bound and, with Register, its registration accepted. The peer
// is killed when ctx ends or the test ends, whichever is first.
func Start(ctx context.Context, t testing.TB, cfg Config) *Call {
	t.Helper()
	return start(ctx, t, cfg, true)
}

// Run runs sipfaxpeer to its end without waiting for it to be ready (for
// runs that are meant to fail early, such as a refused registration).
func Run(ctx context.Context, t testing.TB, cfg Config) (Result, error) {
	t.Helper()
	return start(ctx, t, cfg, false).Wait()
}

func start(ctx context.Context, t testing.TB, cfg Config, waitReady bool) *Call {
	t.Helper()
	exe := Peer(t)
	if cfg.SIP == "" {
		cfg.SIP = FreeUDP(t)
		if cfg.TCP {
			cfg.SIP = freeTCP(t)
		}
	}
	if cfg.Role == "" {
		cfg.Role = UAC
	}
	ctx, cancel := context.WithCancel(ctx)
	call := &Call{SIP: cfg.SIP, tcp: cfg.TCP, done: make(chan struct{})}
	call.cmd = exec.CommandContext(ctx, exe, cfg.args()...)
	call.cmd.Stdout = &call.stdout
	call.cmd.WaitDelay = 2 * time.Second
	pr, pw := io.Pipe()
	call.cmd.Stderr = pw
	if err := call.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("starting sipfaxpeer: %v", err)
	}
	ready := make(chan struct{})
	scanned := make(chan struct{}) // all of stderr read
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		seen := false
		for sc.Scan() {
			line := sc.Text()
			call.stderr.WriteLine(line)
			if !seen && line == "sipfaxpeer: ready" {
				seen = true
				close(ready)
			}
		}
		io.Copy(io.Discard, pr)
	}()
	go func() {
		call.err = call.cmd.Wait()
		pw.Close()
		close(call.done)
	}()
	t.Cleanup(func() {
		cancel()
		<-call.done
	})
	if !waitReady {
		return call
	}
	select {
	case <-ready:
	case <-call.done:
		// A peer whose call is over at once (a refused re-INVITE) can
		// exit before the line saying it was ready has been scanned:
		// look again once all of stderr is read.
		<-scanned
		select {
		case <-ready:
			return call
		default:
		}
		t.Fatalf("sipfaxpeer ended before it was ready: %v\nstdout: %s\nstderr:\n%s", call.err, call.stdout.Bytes(), call.stderr.String())
	case <-time.After(readyTimeout):
		cancel()
		<-call.done
		t.Fatalf("sipfaxpeer not ready after %v\nstderr:\n%s", readyTimeout, call.stderr.String())
	}
	return call
}

// Wait waits for the peer to end and returns its account of the call. A
// non-zero exit status is not an error: it is in Result.Exit. err reports a
// peer that died or printed no account.
func (c *Call) Wait() (Result, error) {
	<-c.done
	var r Result
	out := bytes.TrimSpace(c.stdout.Bytes())
	if i := bytes.LastIndexByte(out, '\n'); i >= 0 {
		out = out[i+1:]
	}
	if err := json.Unmarshal(out, &r); err != nil {
		return r, fmt.Errorf("sipfaxpeer (%v) output %q: %v\nstderr:\n%s", c.err, c.stdout.Bytes(), err, c.stderr.String())
	}
	code := 0
	if ee, ok := c.err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if c.err != nil {
		return r, fmt.Errorf("sipfaxpeer: %v\nstderr:\n%s", c.err, c.stderr.String())
	}
	if code != r.Exit {
		return r, fmt.Errorf("sipfaxpeer exit status %d, but its report says %d", code, r.Exit)
	}
	if code == ExitHarness {
		return r, fmt.Errorf("sipfaxpeer harness error\nstderr:\n%s", c.stderr.String())
	}
	return r, nil
}

// Log returns what the peer wrote on stderr so far.
func (c *Call) Log() string { return c.stderr.String() }

// lockedBuffer collects a process's stderr lines for failure messages.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) WriteLine(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() < 4<<20 {
		l.b.WriteString(s)
		l.b.WriteByte('\n')
	}
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
