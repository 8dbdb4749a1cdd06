// Command loadtest runs many concurrent fax calls on this machine and
// reports what they cost: CPU per call, how late the paced packets went
// out (p99 pacing error), and whether every page arrived intact.
//
//	go run ./examples/loadtest -calls 100             # 100 paced one-page calls at once
//	go run ./examples/loadtest -calls 1000 -ramp 5s   # issue 7's target: 1000 calls on 2 cores
//	go run ./examples/loadtest -calls 50 -pace=false  # unpaced
//
// Senders each have their own UDP socket (as a gateway placing calls
// does); all calls are answered on one port through transport.Listen (as a
// fax server does). Every call sends the same synthetic fine A4 page; the
// receiver checks each received page pixel for pixel.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/faxkit/faxkit"
	"github.com/faxkit/faxkit/t30"
	"github.com/faxkit/faxkit/t38"
	"github.com/faxkit/faxkit/t4"
	"github.com/faxkit/faxkit/tiff"
	"github.com/faxkit/faxkit/transport"
)

func main() {
	calls := flag.Int("calls", 100, "concurrent calls")
	pages := flag.Int("pages", 1, "pages per call")
	pace := flag.Bool("pace", true, "real-time pacing (false: unpaced)")
	ramp := flag.Duration("ramp", 2*time.Second, "spread the call starts over this long")
	ecm := flag.Bool("ecm", true, "error correction mode")
	batch := flag.Bool("batch", false, "batch the listener's socket I/O (recvmmsg/sendmmsg)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the calls to this file")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadtest:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(*calls, *pages, *pace, *ecm, *batch, *ramp); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

// checkSink compares received pages with the sent ones.
type checkSink struct {
	want []*t4.Bitmap
	n    int
	bad  int
}

func (s *checkSink) WritePage(b *t4.Bitmap, _ *tiff.PageOptions) error {
	if s.n >= len(s.want) || !b.Equal(s.want[s.n]) {
		s.bad++
	}
	s.n++
	return nil
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type pacing struct {
	mu    sync.Mutex
	hist  [len(t38.PacingBuckets) + 1]uint64
	n     uint64
	max   time.Duration
	total time.Duration
}

// add counts the pacing of every T.38 media path of a call.
func (p *pacing) add(r faxkit.Report) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range r.Media {
		s := m.T38
		if s == nil {
			continue
		}
		for i, c := range s.PacingLate {
			p.hist[i] += c
		}
		p.n += s.Paced
		p.total += s.PacingTotal
		p.max = max(p.max, s.PacingMax)
	}
}

// quantile returns the upper bound of the histogram bucket holding
// quantile q (or "> 100ms" beyond the last bucket).
func (p *pacing) quantile(q float64) string {
	if p.n == 0 {
		return "n/a"
	}
	target := uint64(q * float64(p.n))
	var cum uint64
	for i, c := range p.hist {
		cum += c
		if cum > target {
			if i < len(t38.PacingBuckets) {
				return "≤ " + t38.PacingBuckets[i].String()
			}
			return "> " + t38.PacingBuckets[len(t38.PacingBuckets)-1].String()
		}
	}
	return "?"
}

// timerProbe measures how late a bare timer wakes on this machine while
// the calls run: one goroutine sleeping 20 ms at a time, doing nothing
// else. Its lateness is the floor under any pacing figure (what the
// operating system's scheduler and other processes cost), so the gap
// between it and the calls' pacing is what the calls themselves cost.
type timerProbe struct {
	mu    sync.Mutex
	lates []time.Duration
}

func (p *timerProbe) run(ctx context.Context) {
	const period = 20 * time.Millisecond
	t := time.NewTimer(period)
	defer t.Stop()
	due := time.Now().Add(period)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			now := time.Now() // the goroutine's wakeup, not the timer's
			p.mu.Lock()
			p.lates = append(p.lates, max(now.Sub(due), 0))
			p.mu.Unlock()
			due = due.Add(period)
			if d := time.Until(due); d > 0 {
				t.Reset(d)
			} else {
				due = time.Now().Add(period)
				t.Reset(period)
			}
		}
	}
}

func (p *timerProbe) String() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.lates) == 0 {
		return "n/a"
	}
	l := slices.Clone(p.lates)
	slices.Sort(l)
	q := func(f float64) time.Duration {
		return l[min(len(l)-1, int(f*float64(len(l))))].Round(100 * time.Microsecond)
	}
	return fmt.Sprintf("%d wakeups: p50 %v, p99 %v, p99.9 %v, max %v", len(l), q(0.5), q(0.99), q(0.999), l[len(l)-1].Round(time.Millisecond))
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "n/a"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "n/a"
	}
	return strings.Join(f[:3], " ")
}

func run(calls, npages int, pace, ecm, batch bool, ramp time.Duration) error {
	letter, err := syntheticLetter(npages)
	if err != nil {
		return err
	}
	opts := faxkit.Options{Fax: faxkit.FaxOptions{DisableECM: !ecm}, Timeout: 10 * time.Minute}
	if !pace {
		opts.T38.Pacing = faxkit.Unpaced
	}
	l, err := transport.Listen("udp", "127.0.0.1:0", &transport.ListenConfig{MaxCalls: calls + 16, Backlog: calls + 16, QueueLen: 1024, MaxDatagram: 1500, BatchIO: batch})
	if err != nil {
		return err
	}
	defer l.Close()
	fmt.Printf("%d concurrent %d-page calls, %s pacing, ECM %v, started over %v, GOMAXPROCS %d, answered on %s\n",
		calls, npages, opts.T38.Pacing, ecm, ramp, runtime.GOMAXPROCS(0), l.Addr())

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fmt.Printf("load average at start: %s\n", loadAverage())
	var probe timerProbe
	go probe.run(ctx)
	var (
		wg                 sync.WaitGroup
		okRx, okTx, intact atomic.Int64
		txPacing, rxPacing pacing
		durMu              sync.Mutex
		durs               []time.Duration
		failures           = map[string]int{}
		errMu              sync.Mutex
	)
	fail := func(what string) {
		errMu.Lock()
		failures[what]++
		errMu.Unlock()
	}
	// The answering side: every call on one port.
	go func() {
		for {
			c, err := l.Accept(ctx)
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				sink := &checkSink{want: letter}
				rep, err := faxkit.Receive(ctx, c, c.RemoteAddr(), sink, &opts)
				rxPacing.add(rep)
				switch {
				case err != nil:
					fail("receive: " + rep.Result.String())
				default:
					okRx.Add(1)
				}
				if err == nil && sink.n == len(letter) && sink.bad == 0 {
					intact.Add(1)
				}
			}()
		}
	}()

	cpu0, wall0 := cpuTime(), time.Now()
	var txwg sync.WaitGroup
	for i := range calls {
		txwg.Add(1)
		go func() {
			defer txwg.Done()
			if ramp > 0 {
				time.Sleep(ramp * time.Duration(i) / time.Duration(calls))
			}
			conn, err := net.ListenPacket("udp", "127.0.0.1:0")
			if err != nil {
				fail("socket: " + err.Error())
				return
			}
			defer conn.Close()
			start := time.Now()
			rep, err := faxkit.Send(ctx, conn, l.Addr(), &t30.BitmapDocument{Pages: letter, Resolution: t30.ResFine}, &opts)
			txPacing.add(rep)
			var re *t30.ResultError
			switch {
			case errors.As(err, &re):
				fail("send: " + re.Result.String())
			case err != nil:
				fail("send: " + err.Error())
			default:
				okTx.Add(1)
				durMu.Lock()
				durs = append(durs, time.Since(start))
				durMu.Unlock()
			}
		}()
	}
	txwg.Wait()
	// Receivers finish right after their senders' DCN.
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		fmt.Println("some receivers did not finish within 30 s of the last sender")
	}
	cpu, wall := cpuTime()-cpu0, time.Since(wall0)

	sort.Slice(durs, func(i, j int) bool { return durs[i] < durs[j] })
	pct := func(q float64) time.Duration {
		if len(durs) == 0 {
			return 0
		}
		return durs[min(len(durs)-1, int(q*float64(len(durs))))].Round(time.Millisecond)
	}
	fmt.Printf("calls ok: %d sent, %d received, %d with every page intact (of %d)\n", okTx.Load(), okRx.Load(), intact.Load(), calls)
	for k, v := range failures {
		fmt.Printf("  failed: %-30s %d\n", k, v)
	}
	fmt.Printf("call duration: median %v, p99 %v, max %v\n", pct(0.5), pct(0.99), pct(1))
	fmt.Printf("CPU: %v for %d calls (both ends) in %v wall: %v per call, %.2f cores busy\n",
		cpu.Round(time.Millisecond), calls, wall.Round(time.Millisecond), (cpu / time.Duration(max(calls, 1))).Round(time.Microsecond), cpu.Seconds()/wall.Seconds())
	for _, p := range []struct {
		name string
		p    *pacing
	}{{"sender", &txPacing}, {"receiver", &rxPacing}} {
		if p.p.n == 0 {
			continue
		}
		fmt.Printf("pacing lateness (%s, %d packets): mean %v, p50 %s, p99 %s, p99.9 %s, max %v\n", p.name, p.p.n,
			(p.p.total / time.Duration(p.p.n)).Round(time.Microsecond), p.p.quantile(0.5), p.p.quantile(0.99), p.p.quantile(0.999), p.p.max.Round(time.Millisecond))
	}
	fmt.Printf("timer probe (a bare 20 ms sleeper in the same process): %v\n", &probe)
	fmt.Printf("load average at end: %s\n", loadAverage())
	ls := l.Stats()
	fmt.Printf("listener: %+v\n", ls)
	if intact.Load() != int64(calls) {
		return fmt.Errorf("%d of %d calls did not deliver every page intact", int64(calls)-intact.Load(), calls)
	}
	return nil
}
