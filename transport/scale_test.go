package transport

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// scaleResult is what the load-generating child process reports.
type scaleResult struct {
	Sent, Received int
	RTT            []time.Duration // sorted
	Late           []time.Duration // worst tick lateness per call, sorted
	CPU            time.Duration   // the child's own CPU time
}

func cpuTime(who int) time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(who, &ru)
	return time.Duration(syscall.TimevalToNsec(ru.Utime) + syscall.TimevalToNsec(ru.Stime))
}

func pct(s []time.Duration, p float64) time.Duration {
	if len(s) == 0 {
		return 0
	}
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

// TestListenerScale is an explicitly real-time load test, off by default:
// FAXKIT_TRANSPORT_SCALE=1000 serves 1000 calls on one Listener (in this
// process) while a child process runs 1000 client calls, each sending a
// 160-byte datagram every 20 ms (a paced T.38 call) for
// FAXKIT_TRANSPORT_SECONDS (default 5) and reading it back from the echo
// server. It reports the server's CPU time per call-second (listener,
// queue and an echo goroutine per call: the transport cost of one side of a
// call), the clients' CPU, round-trip percentiles and losses.
func TestListenerScale(t *testing.T) {
	calls, _ := strconv.Atoi(os.Getenv("FAXKIT_TRANSPORT_SCALE"))
	if calls <= 0 {
		t.Skip("set FAXKIT_TRANSPORT_SCALE=<calls> to run the real-time load test")
	}
	secs := 5
	if s, err := strconv.Atoi(os.Getenv("FAXKIT_TRANSPORT_SECONDS")); err == nil && s > 0 {
		secs = s
	}
	checkGoroutines(t)
	batch := os.Getenv("FAXKIT_TRANSPORT_BATCH") == "1"
	l, err := Listen("udp4", "127.0.0.1:0", &ListenConfig{MaxCalls: calls, Backlog: calls, BatchIO: batch})
	require.NoError(t, err)
	var srv sync.WaitGroup
	srv.Add(1)
	go echo(l, &srv)

	cmd := exec.Command(os.Args[0], "-test.run=^TestScaleClient$", "-test.count=1")
	cmd.Env = append(os.Environ(),
		"FAXKIT_SCALE_CLIENT_ADDR="+l.Addr().String(),
		"FAXKIT_SCALE_CLIENT_CALLS="+strconv.Itoa(calls),
		"FAXKIT_SCALE_CLIENT_SECONDS="+strconv.Itoa(secs))
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = os.Stderr
	drops0 := udpRcvbufErrors()
	overflow.Store(0)
	cpu0 := cpuTime(syscall.RUSAGE_SELF)
	start := time.Now()
	require.NoError(t, cmd.Run(), "client process:\n%s", out.String())
	wall := time.Since(start)
	serverCPU := cpuTime(syscall.RUSAGE_SELF) - cpu0
	st := l.Stats()
	require.NoError(t, l.Close())
	srv.Wait()
	kernelDrops := udpRcvbufErrors() - drops0

	i := bytes.Index(out.Bytes(), []byte("SCALE-RESULT "))
	require.GreaterOrEqual(t, i, 0, "client output:\n%s", out.String())
	var r scaleResult
	line := out.Bytes()[i+len("SCALE-RESULT "):]
	line = line[:bytes.IndexByte(line, '\n')]
	require.NoError(t, json.Unmarshal(line, &r))

	callSeconds := float64(calls) * float64(secs)
	t.Logf("BatchIO %v; %d calls × %d s at 50 datagrams/s each way: sent %d, echoed back %d (%.3f%% lost); listener accepted %d, rejected %d",
		batch, calls, secs, r.Sent, r.Received, 100*float64(r.Sent-r.Received)/float64(max(r.Sent, 1)), st.Accepted, st.Rejected)
	t.Logf("dropped: %d by the kernel (UDP RcvbufErrors, all sockets), %d by call queues", kernelDrops, overflow.Load())
	t.Logf("server CPU %v over %v wall (%.2f cores): %.3f ms CPU per call-second",
		serverCPU.Round(time.Millisecond), wall.Round(time.Millisecond), serverCPU.Seconds()/wall.Seconds(),
		float64(serverCPU.Microseconds())/1000/callSeconds)
	t.Logf("client CPU %v: %.3f ms per call-second", r.CPU.Round(time.Millisecond),
		float64(r.CPU.Microseconds())/1000/callSeconds)
	t.Logf("round trip: p50 %v, p99 %v, max %v", pct(r.RTT, 0.5), pct(r.RTT, 0.99), pct(r.RTT, 1))
	t.Logf("client tick lateness (worst per call): p50 %v, p99 %v", pct(r.Late, 0.5), pct(r.Late, 0.99))
	if r.Received < r.Sent*99/100 {
		t.Errorf("more than 1%% of datagrams lost")
	}
}

// TestScaleClient is the load generator TestListenerScale runs in a child
// process; it does nothing on its own.
func TestScaleClient(t *testing.T) {
	addr := os.Getenv("FAXKIT_SCALE_CLIENT_ADDR")
	if addr == "" {
		t.Skip("run by TestListenerScale")
	}
	calls, _ := strconv.Atoi(os.Getenv("FAXKIT_SCALE_CLIENT_CALLS"))
	secs, _ := strconv.Atoi(os.Getenv("FAXKIT_SCALE_CLIENT_SECONDS"))
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(secs+30)*time.Second)
	defer cancel()
	const interval = 20 * time.Millisecond
	perCall := secs * int(time.Second/interval)

	cpu0 := cpuTime(syscall.RUSAGE_SELF)
	var mu sync.Mutex
	var r scaleResult
	var wg sync.WaitGroup
	for i := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := Dial(ctx, "udp4", "127.0.0.1:0", addr, nil)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			// Stagger the calls across one interval, as real calls are.
			time.Sleep(time.Duration(i) * interval / time.Duration(calls))
			var myRTT []time.Duration
			var myLate time.Duration
			got := 0
			var sendDone atomic.Bool
			done := make(chan struct{})
			go func() {
				defer close(done)
				buf := make([]byte, DefaultMaxDatagram)
				for got < perCall {
					rctx, rcancel := context.WithTimeout(ctx, time.Second)
					n, err := c.ReadPacket(rctx, buf)
					rcancel()
					if err != nil {
						if ctx.Err() != nil || sendDone.Load() {
							return
						}
						continue
					}
					if n >= 8 {
						sentAt := time.Unix(0, int64(binary.BigEndian.Uint64(buf)))
						myRTT = append(myRTT, time.Since(sentAt))
					}
					got++
				}
			}()
			msg := make([]byte, benchSize)
			next := time.Now()
			for range perCall {
				if d := time.Since(next); d > myLate {
					myLate = d
				}
				binary.BigEndian.PutUint64(msg, uint64(time.Now().UnixNano()))
				if err := c.WritePacket(ctx, msg); err != nil {
					t.Error(err)
					return
				}
				next = next.Add(interval)
				if d := time.Until(next); d > 0 {
					time.Sleep(d)
				}
			}
			sendDone.Store(true)
			<-done
			mu.Lock()
			r.RTT = append(r.RTT, myRTT...)
			r.Late = append(r.Late, myLate)
			r.Sent += perCall
			r.Received += got
			mu.Unlock()
		}()
	}
	wg.Wait()
	r.CPU = cpuTime(syscall.RUSAGE_SELF) - cpu0
	slices.Sort(r.RTT)
	slices.Sort(r.Late)
	b, err := json.Marshal(r)
	require.NoError(t, err)
	os.Stdout.Write(append(append([]byte("SCALE-RESULT "), b...), '\n'))
}

// udpRcvbufErrors reads the kernel's count of UDP datagrams dropped for a
// full receive buffer (Linux /proc/net/snmp), or 0 when unavailable.
func udpRcvbufErrors() int64 {
	b, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		return 0
	}
	var names, values []string
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "Udp: ") {
			continue
		}
		if names == nil {
			names = strings.Fields(line)
		} else {
			values = strings.Fields(line)
			break
		}
	}
	for i, n := range names {
		if n == "RcvbufErrors" && i < len(values) {
			v, _ := strconv.ParseInt(values[i], 10, 64)
			return v
		}
	}
	return 0
}
