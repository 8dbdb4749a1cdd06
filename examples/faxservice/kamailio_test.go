package main

// Scale-out behind Kamailio: two service instances (child processes, so
// that one can be killed with SIGKILL) share one PostgreSQL database, one
// job queue and one sealed store; Debian's Kamailio with the dispatcher
// module sits in front of their SIP endpoints and spreads inbound calls
// over them round robin; on a 408 or 5xx (a dead instance does not
// answer: tm's fr_timer ends the branch with 408) it marks the instance
// inactive and probing and sends the call to the next one (ds_next_dst),
// and OPTIONS probing keeps a dead instance out of the rotation.

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"text/template"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit/internal/peertest"
	"github.com/faxkit/faxkit/internal/sippeer"
	"github.com/faxkit/faxkit/t4"
)

// dispatcherCfg is the Kamailio configuration the test generates: a
// stateless-free (tm) record-routing proxy on 127.0.0.1 whose every
// out-of-dialog INVITE is dispatched over set 1 (round robin), with
// failover to the next instance and OPTIONS probing every second. The
// xlog lines starting "faxkit-kamailio:" carry loopback addresses only,
// never a number.
const dispatcherCfg = `#!KAMAILIO
debug=1
log_stderror=yes
fork=yes
children=1
auto_aliases=no
disable_tcp=yes
dns=no
rev_dns=no
use_dns_cache=off
listen=udp:{{.Addr}}
alias="{{.Addr}}"
mpath="{{.Modules}}"

loadmodule "kex.so"
loadmodule "corex.so"
loadmodule "tm.so"
loadmodule "tmx.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "xlog.so"
loadmodule "sanity.so"
loadmodule "dispatcher.so"

modparam("rr", "enable_full_lr", 1)
modparam("rr", "append_fromtag", 1)
# A dead instance answers nothing: its branch ends 408 after fr_timer.
modparam("tm", "fr_timer", 3000)
modparam("tm", "fr_inv_timer", 60000)
modparam("dispatcher", "list_file", "{{.Dir}}/dispatcher.list")
# flags 2: failover support (the other destinations kept for ds_next_dst).
modparam("dispatcher", "flags", 2)
modparam("dispatcher", "ds_ping_interval", 1)
modparam("dispatcher", "ds_probing_mode", 1)
modparam("dispatcher", "ds_probing_threshold", 1)
modparam("dispatcher", "ds_inactive_threshold", 1)
modparam("dispatcher", "ds_ping_from", "sip:dispatcher@{{.Addr}}")

request_route {
	if (!mf_process_maxfwd_header("10")) {
		sl_send_reply("483", "Too Many Hops");
		exit;
	}
	if (!sanity_check("17895", "7")) {
		exit;
	}
	if (is_method("OPTIONS") && uri == myself && $rU == $null) {
		sl_send_reply("200", "OK");
		exit;
	}
	if (has_totag()) {
		if (loose_route()) {
			t_relay();
			exit;
		}
		if (is_method("ACK")) {
			if (t_check_trans()) {
				t_relay();
			}
			exit;
		}
		sl_send_reply("404", "Not here");
		exit;
	}
	if (is_method("CANCEL")) {
		if (t_check_trans()) {
			t_relay();
		}
		exit;
	}
	if (!is_method("ACK")) {
		t_check_trans();
	}
	if (!is_method("INVITE")) {
		sl_send_reply("405", "Method Not Allowed");
		exit;
	}
	record_route();
	if (!ds_select_dst("1", "4")) {
		sl_send_reply("503", "No instance");
		exit;
	}
	xlog("L_NOTICE", "faxkit-kamailio: dispatched to $du\n");
	t_on_failure("FAILOVER");
	t_relay();
}

failure_route[FAILOVER] {
	if (t_is_canceled()) {
		exit;
	}
	if (t_check_status("408|5[0-9][0-9]") || (t_branch_timeout() && !t_branch_replied())) {
		ds_mark_dst("ip");
		if (ds_next_dst()) {
			xlog("L_NOTICE", "faxkit-kamailio: failover to $du\n");
			t_on_failure("FAILOVER");
			t_relay();
			exit;
		}
	}
}

event_route[dispatcher:dst-down] {
	# No $ru: marked down from the failure route it is the caller's
	# Request-URI, which carries the dialled number.
	xlog("L_NOTICE", "faxkit-kamailio: destination down\n");
}
`

// kamailio is a running Kamailio.
type kamailio struct {
	addr string
	cmd  *exec.Cmd
	mu   sync.Mutex
	log  strings.Builder
	done chan struct{}
}

func (k *kamailio) Log() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.log.String()
}

// waitLog waits up to limit for s in Kamailio's log.
func (k *kamailio) waitLog(s string, limit time.Duration) bool {
	for deadline := time.Now().Add(limit); ; time.Sleep(20 * time.Millisecond) {
		if strings.Contains(k.Log(), s) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// startDispatcher writes dispatcherCfg and a dispatcher.list of dests
// into a temporary directory and runs Kamailio in the foreground on a
// free 127.0.0.1 port until the test ends (SIGTERM to its process group,
// then SIGKILL). It skips or fails t (internal/peertest) when Kamailio or
// its dispatcher module is missing.
//
// internal/sippeer.StartKamailio runs the sip package's template, which
// dispatches one user name without failover; this one dispatches every
// INVITE (the Request-URI keeps the dialled number) and fails over.
func startDispatcher(t *testing.T, dests []string) *kamailio {
	t.Helper()
	exe, err := exec.LookPath("kamailio")
	if err != nil {
		exe = "/usr/sbin/kamailio"
		if _, err := os.Stat(exe); err != nil {
			peertest.Missing(t, "program kamailio", "apt-get install kamailio")
		}
	}
	mods, _ := filepath.Glob("/usr/lib/*/kamailio/modules/dispatcher.so")
	mods2, _ := filepath.Glob("/usr/lib/kamailio/modules/dispatcher.so")
	mods = append(mods, mods2...)
	if len(mods) == 0 {
		peertest.Missing(t, "Kamailio modules (dispatcher.so)", "apt-get install kamailio")
	}
	dir := t.TempDir()
	var list strings.Builder
	for _, d := range dests {
		fmt.Fprintf(&list, "1 %s 0 0\n", d)
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "dispatcher.list"), []byte(list.String()), 0o600))
	tmpl := template.Must(template.New("kamailio.cfg").Parse(dispatcherCfg))
	for attempt := 0; ; attempt++ {
		k := &kamailio{addr: sippeer.FreeUDP(t), done: make(chan struct{})}
		var cfg strings.Builder
		require.NoError(t, tmpl.Execute(&cfg, map[string]string{"Addr": k.addr, "Dir": dir, "Modules": filepath.Dir(mods[0])}))
		conf := filepath.Join(dir, "kamailio.cfg")
		require.NoError(t, os.WriteFile(conf, []byte(cfg.String()), 0o600))
		run := filepath.Join(dir, "run")
		require.NoError(t, os.MkdirAll(run, 0o700))
		k.cmd = exec.Command(exe, "-DD", "-E", "-f", conf, "-Y", run, "-w", dir, "-m", "32", "-M", "4", "-a", "no")
		k.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // its children die with it
		pr, pw := io.Pipe()
		k.cmd.Stdout, k.cmd.Stderr = pw, pw
		require.NoError(t, k.cmd.Start())
		go func() {
			sc := bufio.NewScanner(pr)
			sc.Buffer(make([]byte, 64<<10), 1<<20)
			for sc.Scan() {
				k.mu.Lock()
				k.log.WriteString(sc.Text() + "\n")
				k.mu.Unlock()
			}
			io.Copy(io.Discard, pr)
		}()
		go func() {
			k.cmd.Wait()
			pw.Close()
			close(k.done)
		}()
		stop := func() {
			pg := k.cmd.Process.Pid
			syscall.Kill(-pg, syscall.SIGTERM)
			select {
			case <-k.done:
			case <-time.After(3 * time.Second):
				syscall.Kill(-pg, syscall.SIGKILL)
				<-k.done
			}
			syscall.Kill(-pg, syscall.SIGKILL) // children left by a main process that died first
		}
		err := optionsPing(k, 10*time.Second)
		if err == nil {
			t.Cleanup(func() {
				stop()
				if t.Failed() {
					t.Logf("kamailio log:\n%s", k.Log())
				}
			})
			return k
		}
		stop()
		if attempt == 2 {
			t.Fatalf("kamailio not ready: %v\n%s", err, k.Log())
		}
	}
}

// optionsPing sends OPTIONS to Kamailio until it answers 200.
func optionsPing(k *kamailio, limit time.Duration) error {
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer c.Close()
	to, err := net.ResolveUDPAddr("udp4", k.addr)
	if err != nil {
		return err
	}
	buf := make([]byte, 4096)
	for i := 0; i < int(limit/(200*time.Millisecond)); i++ {
		select {
		case <-k.done:
			return fmt.Errorf("kamailio exited")
		default:
		}
		msg := fmt.Sprintf("OPTIONS sip:%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-ready-%d;rport\r\n"+
			"Max-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=ready\r\nTo: <sip:%s>\r\n"+
			"Call-ID: ready-%d@127.0.0.1\r\nCSeq: %d OPTIONS\r\nContent-Length: 0\r\n\r\n",
			k.addr, c.LocalAddr(), i, k.addr, i, i+1)
		if _, err := c.WriteTo([]byte(msg), to); err != nil {
			return err
		}
		c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if n, _, err := c.ReadFrom(buf); err == nil && strings.HasPrefix(string(buf[:n]), "SIP/2.0 200") {
			return nil
		}
	}
	return fmt.Errorf("no 200 to OPTIONS within %v", limit)
}

// kamSpeedup is how much faster than real time the callers' T.30 runs
// (the service's is real time, unpaced: it answers at once).
const kamSpeedup = 4

// markedPage is a one-page fine document whose black block's place says
// which call sent it.
func markedPage(i int) *t4.Bitmap {
	b := t4.NewBitmap(1728, 160)
	for y := 20 + 8*i; y < 60+8*i; y++ {
		row := b.Row(y)
		for x := 100 + 90*i; x < 300+90*i; x++ {
			row[x/8] |= 0x80 >> (x % 8)
		}
	}
	return b
}

// TestKamailioDispatcherTwoInstances: inbound calls from sipfaxpeer go to
// Kamailio, which spreads them over two instances on one PostgreSQL
// database; every fax lands once, pixel-exact, in the inbox its DID
// routes to. Then the instance round robin would pick next is killed with
// SIGKILL while it holds an outbound job: the next inbound calls reach the
// survivor (failover on the dead instance's 408, then probing keeps it
// out), and the faxes queued on the shared queue reach the receiver
// completely exactly once.
func TestKamailioDispatcherTwoInstances(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL, Kamailio and two service processes")
	}
	t.Parallel()
	sippeer.Peer(t) // build sipfaxpeer, or skip with the install hint
	dsn := newDatabase(t, startPostgres(t), "kam")
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	rcv := newReceiver(t, ctx)
	sipAddr := map[string]string{"A": sippeer.FreeUDP(t), "B": sippeer.FreeUDP(t)}
	// The shared directory stands for the shared volume.
	cfg := Config{Unpaced: true, Dir: t.TempDir(), DBDriver: "pgx", DSN: dsn, HTTPAddr: "127.0.0.1:0",
		Peers: map[string]string{"+1": rcv.addr.String()}, Workers: 1, LeaseTTL: Duration(2 * time.Second),
		PollInterval: Duration(2 * time.Second), PasswordIterations: 1000, Instance: "A",
		RetryDelays: []Duration{Duration(200 * time.Millisecond)}, CallTimeout: Duration(time.Minute),
		SIP: &SIPConfig{Listen: sipAddr["A"]}}
	children := map[string]*child{"A": startChild(t, cfg)}
	admin := children["A"].admin
	cfg.Instance, cfg.SIP = "B", &SIPConfig{Listen: sipAddr["B"]}
	children["B"] = startChild(t, cfg)
	k := startDispatcher(t, []string{"sip:" + sipAddr["A"], "sip:" + sipAddr["B"]})
	api := map[string]*remote{}
	for n, c := range children {
		api[n] = &remote{t: t, base: c.api, client: apiClient()}
	}
	bobID, bob := api["A"].user(admin, "bob", "inbox")
	carolID, carol := api["B"].user(admin, "carol", "inbox")
	_, alice := api["A"].user(admin, "alice", "sender")
	dids := []string{"+15550171", "+15550172"} // bob's, carol's
	require.Equal(t, http.StatusOK, api["A"].json("PUT", "/v1/routes/"+dids[0], admin, map[string]any{"targets": []string{bobID}}, nil))
	require.Equal(t, http.StatusOK, api["B"].json("PUT", "/v1/routes/"+dids[1], admin, map[string]any{"targets": []string{carolID}}, nil))
	db, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	defer db.Close()

	// Inbound call i dials dids[i%2] through Kamailio and sends
	// markedPage(i).
	dir := t.TempDir()
	pixels := map[string]int{} // page pixels -> call
	var calls sync.WaitGroup
	call := func(i int) {
		src, _ := pageTIFF(t, markedPage(i))
		src2 := filepath.Join(dir, fmt.Sprintf("call%d.tif", i))
		require.NoError(t, os.Rename(src, src2))
		pixels[strings.Join(sippeer.PagePixels(t, src2), ",")] = i
		p := sippeer.Start(ctx, t, sippeer.Config{Role: sippeer.UAC, Send: true, File: src2, T38: sippeer.Await, Speedup: kamSpeedup,
			To: "sip:" + dids[i%2] + "@" + k.addr, Timeout: 60 * time.Second})
		calls.Add(1)
		go func() {
			defer calls.Done()
			r, err := p.Wait()
			if err != nil || !r.Delivered(1) {
				t.Errorf("call %d: %v %s\n%s", i, err, r.Result, p.Log())
			}
		}()
	}
	// instanceOf maps each inbound fax to its call and the instance that
	// answered it, checking that it sits in its DID's inbox only.
	instanceOf := func(e *remote, want int) map[int]string {
		t.Helper()
		got := map[int]string{}
		for u, token := range []string{bob, carol} {
			var l struct{ Faxes []FaxStatus }
			require.Equal(t, http.StatusOK, e.json("GET", "/v1/faxes?direction=inbound&limit=100", token, nil, &l))
			for _, f := range l.Faxes {
				i, ok := pixels[strings.Join(contentPixels(e, token, f.ID), ",")]
				require.True(t, ok, "fax %s is no call's page, pixel for pixel", f.ID)
				require.Equal(t, u, i%2, "call %d's fax is in the wrong inbox", i)
				_, dup := got[i]
				require.False(t, dup, "call %d's fax landed twice", i)
				var inst string
				require.NoError(t, db.QueryRow(`SELECT instance FROM attempts WHERE fax_id = $1`, f.ID).Scan(&inst))
				got[i] = inst
			}
		}
		require.Len(t, got, want)
		return got
	}

	// Round 1: four calls at once, spread two and two.
	for i := range 4 {
		call(i)
	}
	calls.Wait()
	require.False(t, t.Failed())
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var n int
		require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM faxes WHERE direction = 'inbound'`).Scan(&n))
		if n >= 4 || time.Now().After(deadline) {
			break
		}
	}
	round1 := instanceOf(api["A"], 4)
	perInstance := map[string]int{}
	for _, inst := range round1 {
		perInstance[inst]++
	}
	assert.Equal(t, map[string]int{"A": 2, "B": 2}, perInstance, "round robin over both instances")
	// Round robin next picks the instance the first call went to.
	first := regexpFirstDispatch(t, k.Log(), sipAddr)
	survivor := map[string]string{"A": "B", "B": "A"}[first]

	// Outbound faxes on the shared queue, and the first instance killed
	// as soon as it has begun an attempt (unpaced, a call lasts a few
	// hundred milliseconds: the watcher runs before the submissions). An
	// enqueue wakes the idle workers of both instances at once (in-process
	// and by NOTIFY), and either may take a fax: so two are submitted at
	// once, one to each instance, and each instance's one worker takes one
	// of them. The later ones are submitted to the survivor after the
	// kill.
	type kill struct {
		fax string // the job the first instance held
		err error
	}
	// watch kills the first instance once it has begun an attempt, and
	// reports the fax; it gives up when stop closes.
	watch := func(stop <-chan struct{}, killed chan<- kill) {
		for {
			select {
			case <-stop:
				killed <- kill{}
				return
			case <-time.After(5 * time.Millisecond):
			}
			// Leased, and its attempt begun: the call is being placed.
			var id string
			err := db.QueryRow(`SELECT j.fax_id FROM jobs j JOIN attempts a ON a.fax_id = j.fax_id AND a.n = j.attempt
				WHERE j.state = 'leased' AND j.lease_owner = $1 AND a.instance = $1 AND a.finished = 0`, first).Scan(&id)
			if err == sql.ErrNoRows {
				continue
			}
			if err == nil {
				err = children[first].cmd.Process.Signal(syscall.SIGKILL)
			}
			killed <- kill{id, err}
			return
		}
	}
	want := map[[32]byte]string{}
	var ids []string
	var heldFax string
	// submission is a fax with marker i for e; do sends it and returns
	// its ID, "" when the answer was lost (the instance was killed).
	type submission struct {
		req *http.Request
		c   *http.Client
		h   [32]byte
	}
	submit := func(e *remote, i int) submission {
		img, h := markedPNG(t, i)
		body, ct := multipartBody(t, part{name: "to", data: []byte(fmt.Sprintf("+155501%02d", i))}, part{name: "file", file: "p.png", data: img})
		req, err := http.NewRequest("POST", e.base+"/v1/faxes", body)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+alice)
		req.Header.Set("Content-Type", ct)
		return submission{req, e.client, h}
	}
	do := func(s submission) string {
		resp, err := s.c.Do(s.req)
		if err != nil {
			return ""
		}
		defer resp.Body.Close()
		var st FaxStatus
		if resp.StatusCode == http.StatusAccepted {
			json.NewDecoder(resp.Body).Decode(&st)
		}
		return st.ID
	}
	// Markers 4 and 5 are the later faxes'. The two are submitted at
	// once, so that both are queued while both workers are idle; under
	// heavy load the survivor may still take both (its first call over
	// before the second fax is queued): then two more, up to four times.
	markers := [][2]int{{0, 1}, {2, 3}, {6, 7}, {8, 9}}
	for try := 0; ; try++ {
		require.Less(t, try, len(markers), "instance %s never took a job", first)
		stop, killed := make(chan struct{}), make(chan kill, 1)
		go watch(stop, killed)
		sx, sy := submit(api[first], markers[try][0]), submit(api[survivor], markers[try][1])
		hx, hy := sx.h, sy.h
		var x, y string
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); x = do(sx) }()
		go func() { defer wg.Done(); y = do(sy) }()
		wg.Wait()
		require.NotEmpty(t, y, "fax %d not accepted", markers[try][1])
		var k kill
		select {
		case k = <-killed:
		case <-time.After(15 * time.Second):
			close(stop)
			k = <-killed
		}
		require.NoError(t, k.err)
		if x == "" {
			// Killed before it answered: x is the outbound fax that is
			// neither y nor an earlier one, if it was queued at all.
			known := map[string]bool{y: true}
			for _, id := range ids {
				known[id] = true
			}
			rows, err := db.Query(`SELECT id FROM faxes WHERE direction = 'outbound'`)
			require.NoError(t, err)
			for rows.Next() {
				var id string
				require.NoError(t, rows.Scan(&id))
				if !known[id] {
					x = id
				}
			}
			require.NoError(t, rows.Err())
			rows.Close()
		}
		if x != "" {
			ids = append(ids, x)
			want[hx] = x
		}
		ids = append(ids, y)
		want[hy] = y
		if k.fax == "" {
			t.Logf("faxes %v were both taken by the survivor: two more", markers[try])
			continue
		}
		require.Contains(t, []string{x, y}, k.fax)
		heldFax = k.fax
		break
	}
	children[first].cmd.Wait()
	// Round 2 starts at once, before probing (every second, each probe
	// failing only after fr_timer's 3 s) can mark the dead instance down:
	// the next call is dispatched to it, times out (408) and fails over;
	// the one after it goes to the survivor.
	call(4)
	call(5)
	for i := 4; i < 6; i++ {
		img, h := markedPNG(t, i)
		code, st, body := api[survivor].send(alice, nil, part{name: "to", data: []byte(fmt.Sprintf("+1555010%d", i))}, part{name: "file", file: "p.png", data: img})
		require.Equal(t, http.StatusAccepted, code, "%s", body)
		ids = append(ids, st.ID)
		want[h] = st.ID
	}

	// A third call, once the dead instance is marked down, is not even
	// tried on it.
	require.True(t, k.waitLog("faxkit-kamailio: failover to sip:"+sipAddr[survivor], 20*time.Second), "no failover to the survivor")
	call(6)
	calls.Wait()
	require.False(t, t.Failed())
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var n int
		require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM faxes WHERE direction = 'inbound'`).Scan(&n))
		if n >= 7 || time.Now().After(deadline) {
			break
		}
	}
	all := instanceOf(api[survivor], 7)
	for i := 4; i < 7; i++ {
		assert.Equal(t, survivor, all[i], "call %d after the kill", i)
	}
	log := k.Log()
	assert.Equal(t, 1, strings.Count(log, "faxkit-kamailio: failover to"), "one call met the dead instance")
	assert.Equal(t, 2+2, strings.Count(log, "faxkit-kamailio: dispatched to sip:"+sipAddr[survivor]),
		"calls dispatched to the survivor: two before the kill, two after (the third went to the dead instance first)")

	// The outbound faxes: each delivered, each received completely once.
	for _, id := range ids {
		st := api[survivor].wait(alice, id, func(s FaxStatus) bool { return s.Status == statusDelivered || s.Status == statusFailed })
		require.Equal(t, statusDelivered, st.Status, "%+v", st)
		for _, a := range st.Attempts {
			// An attempt cut by the kill records no media; one the
			// recovery completed without a call neither.
			if a.Result == "ok" && a.Media != "" {
				assert.Equal(t, "t38", a.Media)
			}
		}
	}
	rcv.requireOnce(t, want)
	var cut string
	db.QueryRow(`SELECT result FROM attempts WHERE fax_id = $1 AND instance = $2`, heldFax, first).Scan(&cut)
	assert.Contains(t, []string{resultInterrupted, "ok"}, cut,
		"the killed instance's attempt: cut mid-call, or completed by the survivor's recovery when every page was confirmed")
	t.Logf("the killed instance's attempt at the fax it held: %q", cut)
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "faxkit-kamailio:") {
			for _, n := range dids {
				assert.NotContains(t, line, n[1:], "a number in our Kamailio log lines")
			}
		}
	}
}

// regexpFirstDispatch returns the instance ("A" or "B") of the first
// "dispatched to" line.
func regexpFirstDispatch(t *testing.T, log string, addrs map[string]string) string {
	t.Helper()
	type hit struct {
		at   int
		name string
	}
	var hits []hit
	for n, a := range addrs {
		if i := strings.Index(log, "faxkit-kamailio: dispatched to sip:"+a); i >= 0 {
			hits = append(hits, hit{i, n})
		}
	}
	require.NotEmpty(t, hits, "no dispatch in kamailio's log")
	sort.Slice(hits, func(i, j int) bool { return hits[i].at < hits[j].at })
	return hits[0].name
}
