//go:build linux

package faxkit_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit"
	"github.com/faxkit/faxkit/internal/audiopeer"
	"github.com/faxkit/faxkit/t30"
	"github.com/faxkit/faxkit/t4"
	"github.com/faxkit/faxkit/tiff"
)

// Measurements for the audio fax note (not CI): what each modem rate
// survives, and what an audio call costs, faxkit beside spandsp in the
// same run.
//
//	FAXKIT_AUDIO_TABLE=1 go test -run TestAudioSurvivalTable -v -timeout 60m .
//	go test -run X -bench BenchmarkAudioCallCPU -benchtime 2x .

// pairKind is who sends and who receives a measured call.
type pairKind int

const (
	fkToFk pairKind = iota // faxkit to faxkit
	spToFk                 // spandsp sends, faxkit receives
	fkToSp                 // faxkit sends, spandsp receives
	spToSp                 // spandsp to spandsp
)

func (p pairKind) String() string {
	return [...]string{"faxkit→faxkit", "spandsp→faxkit", "faxkit→spandsp", "spandsp→spandsp"}[p]
}

// endResult is one end's view of a measured call.
type endResult struct {
	ok    bool
	pages []*t4.Bitmap
	why   string
	pprs  int
	cpu   time.Duration // spandsp ends only
}

// measuredCall runs one ECM call of one cropped letter page, sender to
// receiver, through a relay impairing the page's direction (the answering
// direction stays clean), capped at the peer modems m ("v17", "v29",
// "v27").
func measuredCall(t testing.TB, kind pairKind, m string, imp audiopeer.Impairment, speedup float64) (ok bool, why string) {
	t.Helper()
	exe := audiopeer.Build(t)
	ps, err := letters()
	require.NoError(t, err)
	ps = cropped(ps[:1], 400)
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.tif"), filepath.Join(dir, "out.tif")
	f, err := os.Create(in)
	require.NoError(t, err)
	w, err := tiff.NewWriter(f, &tiff.WriterConfig{Compression: tiff.CompressionGroup4})
	require.NoError(t, err)
	require.NoError(t, w.WritePage(ps[0], &tiff.PageOptions{Resolution: t30.ResFine}))
	require.NoError(t, w.Close())
	require.NoError(t, f.Close())
	// A is the sender, B the receiver.
	relay := audiopeer.NewRelay(t, audiopeer.RelayConfig{AtoB: imp, Speedup: speedup, Seed: 42})
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(float64(4*time.Minute)/speedup)+30*time.Second)
	defer cancel()
	clk := newScaledClock(speedup)
	modems := map[string]t30.ModemSet{"v17": faxkit.AudioModems, "v29": t30.ModemsV29 | t30.ModemsV27ter, "v27": t30.ModemsV27ter}[m]
	var wg sync.WaitGroup
	var ends [2]endResult
	fkEnd := func(i int, send bool, to string) {
		defer wg.Done()
		conn, _ := udpPair(t)
		cfg := faxkit.CallConfig{Clock: clk, Timeout: time.Duration(float64(4*time.Minute) / speedup)}
		sink := &memSink{}
		if send {
			cfg.Document = &t30.BitmapDocument{Pages: ps, Resolution: t30.ResFine}
		} else {
			cfg.Sink = sink
		}
		call, err := faxkit.NewCall(cfg)
		if err != nil {
			ends[i].why = err.Error()
			return
		}
		addr := relay.AddrA()
		if to == "B" {
			addr = relay.AddrB()
		}
		if err := call.Start(ctx, faxkit.AudioMedia(conn, addr, &faxkit.AudioOptions{JitterDepth: 10, Modems: modems})); err != nil {
			ends[i].why = err.Error()
			return
		}
		rep, err := call.Wait()
		ends[i] = endResult{ok: err == nil, pages: sink.pages, pprs: rep.T30.PPRs}
		if err != nil {
			ends[i].why = "faxkit " + rep.Result.String()
		}
	}
	spEnd := func(i int, send bool, to string) {
		defer wg.Done()
		addr := relay.AddrA()
		if to == "B" {
			addr = relay.AddrB()
		}
		file := out
		if send {
			file = in
		}
		p := audiopeer.Start(ctx, t, exe, audiopeer.Config{Send: send, File: file, Modems: m, Depth: 10,
			Remote: addr.String(), Speedup: speedup, Timeout: 4 * time.Minute})
		r, err := p.Wait()
		ends[i] = endResult{ok: err == nil && r.OK, pprs: r.ECMRetries, cpu: r.CPU}
		if !ends[i].ok {
			ends[i].why = "spandsp " + r.Result
			if err != nil {
				ends[i].why = err.Error()
			}
		}
		if !send && r.Pages > 0 {
			st, err := os.Stat(out)
			if err == nil {
				f, _ := os.Open(out)
				defer f.Close()
				if tr, err := tiff.NewReader(f, st.Size(), nil); err == nil {
					for pg, err := range tr.Pages() {
						if err != nil {
							break
						}
						if bm, err := pg.Bitmap(); err == nil {
							ends[i].pages = append(ends[i].pages, bm)
						}
					}
				}
			}
		}
	}
	wg.Add(2)
	switch kind {
	case fkToFk:
		go fkEnd(1, false, "B")
		go fkEnd(0, true, "A")
	case spToFk:
		go fkEnd(1, false, "B")
		go spEnd(0, true, "A")
	case fkToSp:
		go spEnd(1, false, "B")
		go fkEnd(0, true, "A")
	case spToSp:
		go spEnd(1, false, "B")
		go spEnd(0, true, "A")
	}
	wg.Wait()
	switch {
	case !ends[0].ok:
		return false, ends[0].why
	case !ends[1].ok:
		return false, ends[1].why
	case len(ends[1].pages) != 1 || !ps[0].Equal(ends[1].pages[0]):
		return false, "page differs"
	}
	return true, fmt.Sprintf("%d PPR", ends[1].pprs+ends[0].pprs)
}

// TestAudioSurvivalTable prints which impairments each rate survives
// (ECM, one page 400 rows, pixel-exact) for the four pairings, in one
// run. The relay impairs the page's direction only.
func TestAudioSurvivalTable(t *testing.T) {
	if os.Getenv("FAXKIT_AUDIO_TABLE") == "" {
		t.Skip("set FAXKIT_AUDIO_TABLE=1 to measure (long)")
	}
	conds := []struct {
		name string
		imp  audiopeer.Impairment
	}{
		{"clean", audiopeer.Impairment{}},
		{"loss 0.5% + jitter 20 ms", audiopeer.Impairment{Loss: 0.005, Jitter: 20 * time.Millisecond}},
		{"loss 2% + jitter 40 ms", audiopeer.Impairment{Loss: 0.02, Jitter: 40 * time.Millisecond}},
		{"-20 dB (≈ -34 dBm0) + noise -55 dBm0", audiopeer.Impairment{Gain: -20, Noise: -55}},
		{"noise -45 dBm0", audiopeer.Impairment{Noise: -45}},
		{"noise -40 dBm0", audiopeer.Impairment{Noise: -40}},
		{"noise -35 dBm0", audiopeer.Impairment{Noise: -35}},
		{"±50 ppm", audiopeer.Impairment{PPM: 50}},
		{"one packet lost 3 s into the page", audiopeer.Impairment{DropOnce: 3 * time.Second}},
	}
	rates := []string{"v17", "v29", "v27"}
	kinds := []pairKind{fkToFk, spToFk, fkToSp, spToSp}
	type cell struct {
		ok  bool
		why string
	}
	res := map[string]cell{}
	var mu sync.Mutex
	sem := make(chan struct{}, 6)
	var wg sync.WaitGroup
	for _, c := range conds {
		for _, r := range rates {
			for _, k := range kinds {
				wg.Add(1)
				go func() {
					defer wg.Done()
					sem <- struct{}{}
					defer func() { <-sem }()
					ok, why := measuredCall(t, k, r, c.imp, 1.5)
					mu.Lock()
					res[c.name+"|"+r+"|"+k.String()] = cell{ok, why}
					mu.Unlock()
				}()
			}
		}
	}
	wg.Wait()
	var b strings.Builder
	fmt.Fprintf(&b, "| condition (page direction) | rate |")
	for _, k := range kinds {
		fmt.Fprintf(&b, " %s |", k)
	}
	b.WriteString("\n|---|---|---|---|---|---|\n")
	for _, c := range conds {
		for _, r := range rates {
			_, rate := wantRate(r)
			fmt.Fprintf(&b, "| %s | %d |", c.name, rate)
			for _, k := range kinds {
				x := res[c.name+"|"+r+"|"+k.String()]
				mark := "ok"
				if !x.ok {
					mark = "FAIL"
				}
				fmt.Fprintf(&b, " %s (%s) |", mark, x.why)
			}
			b.WriteString("\n")
		}
	}
	t.Log("\n" + b.String())
	if p := os.Getenv("FAXKIT_AUDIO_TABLE_OUT"); p != "" {
		require.NoError(t, os.WriteFile(p, []byte(b.String()), 0o644))
	}
}

// BenchmarkAudioCallCPU holds real-time (clock x2) audio calls over RTP
// on 127.0.0.1, ECM, one fine page of 900 rows at V.17 14400, PCMU, and
// reports the CPU per call of each end beside spandsp's fax_state_t in
// the same run: faxkit sending to faxkit (both ends in this process),
// faxkit receiving from spandsp and sending to spandsp (this process is
// the faxkit end and the relay), spandsp to spandsp (its two processes;
// this process's CPU is then the relay's alone, to subtract). calls/core is the line time one core's CPU covers: how many
// such call ends one core keeps in real time.
func BenchmarkAudioCallCPU(b *testing.B) {
	exe := audiopeer.Build(b)
	ps, err := letters()
	require.NoError(b, err)
	ps = cropped(ps[:1], 900)
	dir := b.TempDir()
	in := filepath.Join(dir, "in.tif")
	f, err := os.Create(in)
	require.NoError(b, err)
	w, err := tiff.NewWriter(f, &tiff.WriterConfig{Compression: tiff.CompressionGroup4})
	require.NoError(b, err)
	require.NoError(b, w.WritePage(ps[0], &tiff.PageOptions{Resolution: t30.ResFine}))
	require.NoError(b, w.Close())
	require.NoError(b, f.Close())
	const speedup = 2
	fk := func(ctx context.Context, conn net.PacketConn, to string, send bool, clk faxkit.Clock) (time.Duration, error) {
		cfg := faxkit.CallConfig{Clock: clk}
		if send {
			cfg.Document = &t30.BitmapDocument{Pages: ps, Resolution: t30.ResFine}
		} else {
			cfg.Sink = &memSink{}
		}
		call, err := faxkit.NewCall(cfg)
		if err != nil {
			return 0, err
		}
		addr, err := net.ResolveUDPAddr("udp", to)
		if err != nil {
			return 0, err
		}
		start := clk.Now()
		if err := call.Start(ctx, faxkit.AudioMedia(conn, addr, &faxkit.AudioOptions{JitterDepth: 25})); err != nil {
			return 0, err
		}
		_, err = call.Wait()
		return clk.Now().Sub(start), err
	}
	for _, kind := range []pairKind{fkToFk, spToFk, fkToSp, spToSp} {
		b.Run(strings.ReplaceAll(kind.String(), "→", "-to-"), func(b *testing.B) {
			var cpuFk, cpuSp, relayCPU, line time.Duration
			for range b.N {
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
				clk := newScaledClock(speedup)
				a, bc := udpPair(b)
				c0 := processCPU()
				switch kind {
				case fkToFk:
					var wg sync.WaitGroup
					wg.Add(1)
					var rerr error
					go func() { defer wg.Done(); _, rerr = fk(ctx, bc, a.LocalAddr().String(), false, clk) }()
					d, err := fk(ctx, a, bc.LocalAddr().String(), true, clk)
					wg.Wait()
					require.NoError(b, err)
					require.NoError(b, rerr)
					line += d
				case spToFk, fkToSp:
					// Through a relay that only carries, as in the tests;
					// its CPU (this process's) is measured alone by the
					// spandsp-to-spandsp case.
					relay := audiopeer.NewRelay(b, audiopeer.RelayConfig{Speedup: speedup})
					file := in
					if kind == fkToSp {
						file = filepath.Join(dir, "out.tif")
					}
					p := audiopeer.Start(ctx, b, exe, audiopeer.Config{Send: kind == spToFk, File: file,
						Remote: relay.AddrB().String(), Depth: 25, Speedup: speedup, Timeout: 3 * time.Minute})
					d, err := fk(ctx, a, relay.AddrA().String(), kind == fkToSp, clk)
					require.NoError(b, err)
					r, err := p.Wait()
					require.NoError(b, err)
					require.True(b, r.OK, r.Result)
					cpuSp += r.CPU
					line += d
					relay.Close()
				case spToSp:
					// Through a relay that only carries (its CPU is this
					// process's, not the peers').
					relay := audiopeer.NewRelay(b, audiopeer.RelayConfig{Speedup: speedup})
					rx := audiopeer.Start(ctx, b, exe, audiopeer.Config{File: filepath.Join(dir, "out.tif"),
						Remote: relay.AddrB().String(), Depth: 25, Speedup: speedup, Timeout: 3 * time.Minute})
					tx := audiopeer.Start(ctx, b, exe, audiopeer.Config{Send: true, File: in,
						Remote: relay.AddrA().String(), Depth: 25, Speedup: speedup, Timeout: 3 * time.Minute})
					rt, err := tx.Wait()
					require.NoError(b, err)
					rr, err := rx.Wait()
					require.NoError(b, err)
					require.True(b, rt.OK && rr.OK, "%s / %s", rt.Result, rr.Result)
					cpuSp += rt.CPU + rr.CPU
					line += time.Duration(rt.LineMS) * time.Millisecond
					relay.Close()
				}
				if kind == spToSp {
					relayCPU += processCPU() - c0
					cancel()
					continue
				}
				cpuFk += processCPU() - c0
				cancel()
			}
			n := float64(b.N)
			b.ReportMetric(float64(cpuFk.Nanoseconds())/n, "faxkit-cpu-ns/call")
			b.ReportMetric(float64(cpuSp.Nanoseconds())/n, "spandsp-cpu-ns/call")
			b.ReportMetric(line.Seconds()/n, "line-s/call")
			if relayCPU > 0 {
				b.ReportMetric(float64(relayCPU.Nanoseconds())/n, "relay-cpu-ns/call")
			}
			// Call ends one core keeps in real time.
			fkEnds, spEnds := 1.0, 1.0
			switch kind {
			case fkToFk:
				fkEnds = 2
			case spToSp:
				spEnds = 2
			}
			if cpuFk > 0 {
				b.ReportMetric(fkEnds*line.Seconds()/cpuFk.Seconds(), "faxkit-ends/core")
			}
			if cpuSp > 0 {
				b.ReportMetric(spEnds*line.Seconds()/cpuSp.Seconds(), "spandsp-ends/core")
			}
		})
	}
}

// BenchmarkAudioCallsConcurrent holds 10 faxkit-to-faxkit audio calls at
// once in this process (20 call ends; same page, clock x2) and reports
// the CPU per call end: with many calls the Go runtime's per-wake-up
// costs are shared, so this, not one call alone, says how many call ends
// a core keeps in real time.
func BenchmarkAudioCallsConcurrent(b *testing.B) {
	ps, err := letters()
	require.NoError(b, err)
	ps = cropped(ps[:1], 900)
	const calls, speedup = 10, 2
	var cpu, line time.Duration
	for range b.N {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		clk := newScaledClock(speedup)
		c0 := processCPU()
		var wg sync.WaitGroup
		var mu sync.Mutex
		for range calls {
			a, bc := udpPair(b)
			for i, conn := range []net.PacketConn{a, bc} {
				peer := bc.LocalAddr()
				cfg := faxkit.CallConfig{Clock: clk, Sink: &memSink{}}
				if i == 0 {
					cfg = faxkit.CallConfig{Clock: clk, Document: &t30.BitmapDocument{Pages: ps, Resolution: t30.ResFine}}
				} else {
					peer = a.LocalAddr()
				}
				call, err := faxkit.NewCall(cfg)
				require.NoError(b, err)
				start := clk.Now()
				require.NoError(b, call.Start(ctx, faxkit.AudioMedia(conn, peer, &faxkit.AudioOptions{JitterDepth: 10})))
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := call.Wait()
					mu.Lock()
					defer mu.Unlock()
					if err != nil {
						b.Error(err)
					}
					line += clk.Now().Sub(start)
				}()
			}
		}
		wg.Wait()
		cpu += processCPU() - c0
		cancel()
	}
	ends := float64(2 * calls * b.N)
	b.ReportMetric(float64(cpu.Nanoseconds())/ends, "faxkit-cpu-ns/end")
	b.ReportMetric(line.Seconds()/ends, "line-s/end")
	b.ReportMetric(line.Seconds()/cpu.Seconds(), "faxkit-ends/core")
}
