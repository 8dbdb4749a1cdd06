package t38

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit/internal/spandsp"
	"github.com/faxkit/faxkit/t30"
	"github.com/faxkit/faxkit/transport"
)

// The loss table: loss level × error correction → outcome, for
// faxkit↔faxkit, faxkit→spandsp, spandsp→faxkit and spandsp↔spandsp,
// measured with one harness in one run. Every call goes through the same
// relay on 127.0.0.1, which impairs each direction with transport.Impair
// (independent loss or Gilbert-Elliott bursts, seeded); the ends send
// without loss of their own. faxkit paces in real time on a clock as
// fast as spandsp's accelerated one. Run it with
//
//	FAXKIT_T38_TABLE=1 go test ./t38/ -run TestLossTable -v -timeout 60m
//
// (FAXKIT_T38_TABLE_SEEDS=n sets the calls per cell, default 3.)

// relay forwards datagrams between two ends, impairing each direction.
type relay struct {
	ra, rb net.PacketConn // a talks to ra, b to rb
	ia, ib *transport.ImpairedConn
	wg     sync.WaitGroup
}

// startRelay returns the relay; a must send to r.ra.LocalAddr(), b to
// r.rb.LocalAddr(). ab impairs what a sends to b, ba the reverse.
func startRelay(t testing.TB, a, b net.Addr, ab, ba transport.Impairment) *relay {
	t.Helper()
	r := &relay{}
	var err error
	r.ra, err = net.ListenPacket("udp4", "127.0.0.1:0")
	require.NoError(t, err)
	r.rb, err = net.ListenPacket("udp4", "127.0.0.1:0")
	require.NoError(t, err)
	r.ia = transport.Impair(r.ra, &transport.ImpairConfig{Send: ba})
	r.ib = transport.Impair(r.rb, &transport.ImpairConfig{Send: ab})
	fwd := func(from net.PacketConn, to *transport.ImpairedConn, dst net.Addr) {
		defer r.wg.Done()
		buf := make([]byte, 4096)
		for {
			n, _, err := from.ReadFrom(buf)
			if err != nil {
				if errors.Is(err, net.ErrClosed) || errors.Is(err, transport.ErrClosed) {
					return
				}
				continue
			}
			_, _ = to.WriteTo(buf[:n], dst)
		}
	}
	r.wg.Add(2)
	go fwd(r.ia, r.ib, b)
	go fwd(r.ib, r.ia, a)
	return r
}

func (r *relay) close() {
	r.ia.Close()
	r.ib.Close()
	r.wg.Wait()
}

type tableEnd uint8

const (
	endFaxkit tableEnd = iota
	endSpandsp
)

type tableCell struct {
	name  string
	ec    bool // redundancy 3 (faxkit: ControlDepth 5 for control) / none
	imp   func(seed uint64) [2]transport.Impairment
	noECM bool // both ends without ECM: a call counts when the page has its rows and all damage is reported
}

// tableCall holds one call from sender to receiver through the relay and
// reports whether it succeeded: both ends OK and the page pixel-exact.
func tableCall(t *testing.T, snd, rcv tableEnd, c tableCell, pages int, seed uint64, speedup float64) (bool, string) {
	dir := t.TempDir()
	doc := testDoc(pages, 1100, t30.ResFine)
	clk := newScaledClock(speedup)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()

	type side struct {
		addr  net.Addr
		pc    net.PacketConn
		local string
	}
	var sides [2]side
	for i, e := range []tableEnd{snd, rcv} {
		if e == endFaxkit {
			pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
			require.NoError(t, err)
			sides[i].pc, sides[i].addr = pc, pc.LocalAddr()
		} else {
			sides[i].local = freeUDP(t)
			ua, err := net.ResolveUDPAddr("udp4", sides[i].local)
			require.NoError(t, err)
			sides[i].addr = ua
		}
	}
	imp := c.imp(seed)
	r := startRelay(t, sides[0].addr, sides[1].addr, imp[0], imp[1])
	defer r.close()
	relayFor := [2]net.Addr{r.ra.LocalAddr(), r.rb.LocalAddr()}

	var (
		wg       sync.WaitGroup
		res      [2]t30.Result
		st       [2]t30.Stats
		peer     [2]spandsp.Result
		peerErr  [2]error
		got      []t30.ReceivedPage
		gotMu    sync.Mutex
		txFile   = filepath.Join(dir, "tx.tif")
		rxFile   = filepath.Join(dir, "rx.tif")
		sendsDoc = snd == endSpandsp
	)
	if sendsDoc {
		writeTIFF(t, txFile, doc)
	}
	for i, e := range []tableEnd{snd, rcv} {
		sending := i == 0
		if e == endSpandsp {
			file := rxFile
			if sending {
				file = txFile
			}
			cfg := spandsp.Config{Send: sending, File: file, Local: sides[i].local, Remote: relayFor[i].String(),
				Compression: "mh,mr,mmr", Speedup: speedup, Timeout: 400 * time.Second, NoRedundancy: !c.ec, Seed: int(seed),
				NoECM: c.noECM}
			cfg.Verbose = os.Getenv("FAXKIT_T38_TABLE_DEBUG") != ""
			call := spandsp.Start(ctx, t, cfg)
			wg.Add(1)
			go func() {
				defer wg.Done()
				peer[i], peerErr[i] = call.Wait()
				if cfg.Verbose {
					os.WriteFile(filepath.Join(os.TempDir(), fmt.Sprintf("table-%s-%d-spandsp%d.log", strings.ReplaceAll(c.name, " ", ""), seed, i)), []byte(call.Log()), 0o644)
				}
			}()
			continue
		}
		ep := transport.NewConn(sides[i].pc, relayFor[i], nil)
		tc := TerminalConfig{EC: ECNone, Pacing: PacingRealTime, Clock: clk}
		if c.ec {
			tc.EC, tc.Depth = ECRedundancy, 3
		}
		var logger *slog.Logger
		if os.Getenv("FAXKIT_T38_TABLE_DEBUG") != "" {
			f, err := os.Create(filepath.Join(os.TempDir(), fmt.Sprintf("table-%s-%d-faxkit%d.log", strings.ReplaceAll(c.name, " ", ""), seed, i)))
			require.NoError(t, err)
			defer f.Close()
			logger = slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: slog.LevelDebug}))
			tc.Logger = logger
		}
		term, err := NewTerminal(ep, tc)
		require.NoError(t, err)
		scfg := t30.Config{Calling: sending, Transmit: sending, LocalIdent: "+1 555 0100", Capabilities: capsFor(!c.noECM, t30.MMR), Logger: logger}
		if sending {
			scfg.Document = doc
		} else {
			scfg.OnPage = func(p t30.ReceivedPage) error {
				gotMu.Lock()
				got = append(got, p)
				gotMu.Unlock()
				return nil
			}
		}
		sess, err := t30.NewSession(scfg)
		require.NoError(t, err)
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i] = t30.Run(ctx, sess, term, clk)
			st[i] = sess.Stats()
			term.Close()
			ep.Close()
		}()
	}
	wg.Wait()
	for i := range peerErr {
		require.NoError(t, peerErr[i])
	}
	var why []string
	okEnd := func(i int, e tableEnd) bool {
		if e == endSpandsp {
			if !peer[i].OK {
				why = append(why, fmt.Sprintf("spandsp %s", peer[i].Result))
			}
			return peer[i].OK
		}
		if res[i] != t30.ResultOK {
			why = append(why, fmt.Sprintf("faxkit %v", res[i]))
		}
		return res[i] == t30.ResultOK
	}
	ok := okEnd(0, snd)
	ok = okEnd(1, rcv) && ok
	// Pixel-exact pages at the receiver, whoever it is; without ECM,
	// pages with the sent number of rows whose every damaged row was
	// reported.
	exact := 0
	if c.noECM {
		exact = pagesAccounted(t, rcv, rxFile, got, doc, peer[1])
		if exact != pages {
			why = append(why, fmt.Sprintf("%d/%d pages with their rows and all damage reported", exact, pages))
		}
		return ok && exact == pages, strings.Join(why, ", ")
	}
	if rcv == endSpandsp {
		if fi, err := os.Stat(rxFile); err == nil && fi.Size() > 0 {
			for i, g := range readTIFF(t, rxFile) {
				if i < pages && rowsDiffer(g, doc.Pages[i]) == 0 {
					exact++
				}
			}
		}
	} else {
		exact = pagesExact(simOutcome{got: got, doc: doc})
	}
	if exact != pages {
		why = append(why, fmt.Sprintf("%d/%d pages exact", exact, pages))
	}
	// Truthfulness: a faxkit sender never claims a page the receiver did
	// not store intact.
	if snd == endFaxkit && st[0].Pages > exact {
		t.Errorf("%s seed %d: faxkit claims %d pages, %d stored intact", c.name, seed, st[0].Pages, exact)
	}
	return ok && exact == pages, strings.Join(why, ", ")
}

// pagesAccounted counts the received non-ECM pages that have the sent
// number of rows and every row that differs from the sent one reported
// bad: by faxkit (the decoder's concealed rows) or by spandsp (its
// bad-row count, which must cover the rows that differ).
func pagesAccounted(t *testing.T, rcv tableEnd, rxFile string, got []t30.ReceivedPage, doc *t30.BitmapDocument, peer spandsp.Result) int {
	n := 0
	if rcv == endSpandsp {
		fi, err := os.Stat(rxFile)
		if err != nil || fi.Size() == 0 {
			return 0
		}
		differ := 0
		for i, g := range readTIFF(t, rxFile) {
			if i >= len(doc.Pages) || g.Height != doc.Pages[i].Height {
				return n
			}
			differ += rowsDiffer(g, doc.Pages[i])
			n++
		}
		if differ > peer.BadRows {
			return 0 // damage not reported (spandsp counts over the call)
		}
		return n
	}
	for i, rp := range got {
		if i >= len(doc.Pages) {
			break
		}
		height, _, _, missed := compareRows(t, rp, doc.Pages[i])
		if height == doc.Pages[i].Height && missed == 0 {
			n++
		}
	}
	return n
}

func TestLossTable(t *testing.T) {
	if os.Getenv("FAXKIT_T38_TABLE") != "1" {
		t.Skip("set FAXKIT_T38_TABLE=1 to measure the loss table (minutes)")
	}
	seeds := 3
	if n := os.Getenv("FAXKIT_T38_TABLE_SEEDS"); n != "" {
		fmt.Sscan(n, &seeds)
	}
	rnd := func(p float64) func(uint64) [2]transport.Impairment {
		return func(s uint64) [2]transport.Impairment {
			return [2]transport.Impairment{{Loss: p, Seed: s}, {Loss: p, Seed: s + 1000}}
		}
	}
	ge := func(s uint64) [2]transport.Impairment {
		g := &transport.GilbertElliott{PGoodBad: 0.02, PBadGood: 0.25, LossBad: 1}
		return [2]transport.Impairment{{GilbertElliott: g, Seed: s}, {GilbertElliott: g, Seed: s + 1000}}
	}
	cells := []tableCell{
		{"no EC, 0% loss", false, rnd(0), false},
		{"no EC, 2% loss", false, rnd(0.02), false},
		{"no EC, 5% loss", false, rnd(0.05), false},
		{"no EC, 10% loss", false, rnd(0.10), false},
		{"no EC, GE bursts", false, ge, false},
		{"redundancy 3, 10% loss", true, rnd(0.10), false},
		{"redundancy 3, GE bursts", true, ge, false},
		{"no ECM, no EC, 2% loss", false, rnd(0.02), true},
		{"no ECM, no EC, 5% loss", false, rnd(0.05), true},
		{"no ECM, no EC, 10% loss", false, rnd(0.10), true},
	}
	pairs := []struct {
		name     string
		snd, rcv tableEnd
	}{
		{"faxkit→faxkit", endFaxkit, endFaxkit},
		{"faxkit→spandsp", endFaxkit, endSpandsp},
		{"spandsp→faxkit", endSpandsp, endFaxkit},
		{"spandsp→spandsp", endSpandsp, endSpandsp},
	}
	if f := os.Getenv("FAXKIT_T38_TABLE_CELL"); f != "" {
		var keep []tableCell
		for _, c := range cells {
			if strings.Contains(c.name, f) {
				keep = append(keep, c)
			}
		}
		cells = keep
	}
	if f := os.Getenv("FAXKIT_T38_TABLE_PAIR"); f != "" {
		keep := pairs[:0]
		for _, p := range pairs {
			if p.name == f {
				keep = append(keep, p)
			}
		}
		pairs = keep
	}
	const speedup = 5
	pages := 1
	type key struct{ cell, pair int }
	var mu sync.Mutex
	okN := map[key]int{}
	notes := map[key][]string{}
	slots := make(chan struct{}, 3)
	var wg sync.WaitGroup
	for ci, c := range cells {
		for pi, p := range pairs {
			for s := 1; s <= seeds; s++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					slots <- struct{}{}
					defer func() { <-slots }()
					ok, why := tableCall(t, p.snd, p.rcv, c, pages, uint64(s), speedup)
					mu.Lock()
					defer mu.Unlock()
					if ok {
						okN[key{ci, pi}]++
					} else {
						notes[key{ci, pi}] = append(notes[key{ci, pi}], fmt.Sprintf("seed %d: %s", s, why))
					}
				}()
			}
		}
	}
	wg.Wait()
	var b strings.Builder
	fmt.Fprintf(&b, "\nECM MMR (no ECM: MR; a call counts when both ends end OK and the page has its rows with every damaged row reported), %d page, paced (spandsp's clock and faxkit's at %dx), calls OK and pixel-exact of %d seeds:\n\n| loss × EC |", pages, speedup, seeds)
	for _, p := range pairs {
		fmt.Fprintf(&b, " %s |", p.name)
	}
	b.WriteString("\n|---|")
	for range pairs {
		b.WriteString("---|")
	}
	for ci, c := range cells {
		fmt.Fprintf(&b, "\n| %s |", c.name)
		for pi := range pairs {
			fmt.Fprintf(&b, " %d/%d |", okN[key{ci, pi}], seeds)
		}
	}
	b.WriteString("\n\nFailures:\n")
	for ci, c := range cells {
		for pi, p := range pairs {
			for _, n := range notes[key{ci, pi}] {
				fmt.Fprintf(&b, "- %s, %s, %s\n", c.name, p.name, n)
			}
		}
	}
	fmt.Print(b.String())
}
