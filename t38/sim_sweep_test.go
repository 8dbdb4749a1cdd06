package t38

import (
	"fmt"
	"os"
	"testing"

	"github.com/faxkit/faxkit/t30"
)

// TestSimSweep measures, on the simulator (paced exactly as in real time),
// what the terminal's loss handling buys: ECM calls over 20 seeds per cell,
// with whole-frame HDLC packets and with the former 30 ms chunks
// (splitFrames). Run it with
//
//	FAXKIT_T38_SWEEP=1 go test ./t38/ -run TestSimSweep -v
func TestSimSweep(t *testing.T) {
	if os.Getenv("FAXKIT_T38_SWEEP") == "" {
		t.Skip("set FAXKIT_T38_SWEEP=1 to measure (about a minute)")
	}
	type cell struct {
		name string
		term TerminalConfig
		loss func(seed uint64) [2]simLoss
		ecm  bool
	}
	rnd := func(p float64) func(uint64) [2]simLoss {
		return func(s uint64) [2]simLoss { return [2]simLoss{{P: p, Seed: s}, {P: p, Seed: s + 1000}} }
	}
	ge := func(s uint64) [2]simLoss {
		return [2]simLoss{{GEp: 0.02, GEr: 0.25, Seed: s}, {GEp: 0.02, GEr: 0.25, Seed: s + 1000}}
	}
	split := TerminalConfig{EC: ECNone, splitFrames: true}
	cells := []cell{
		{"none-5-split", split, rnd(0.05), true},
		{"none-5", TerminalConfig{EC: ECNone}, rnd(0.05), true},
		{"none-10", TerminalConfig{EC: ECNone}, rnd(0.10), true},
		{"none-15", TerminalConfig{EC: ECNone}, rnd(0.15), true},
		{"none-20", TerminalConfig{EC: ECNone}, rnd(0.20), true},
		{"red3-GE", TerminalConfig{EC: ECRedundancy, Depth: 3}, ge, true},
		{"red3-GE-split", TerminalConfig{EC: ECRedundancy, Depth: 3, splitFrames: true}, ge, true},
		{"none-GE", TerminalConfig{EC: ECNone}, ge, true},
	}
	for _, c := range cells {
		for _, pages := range []int{1, 3} {
			ok, exact := 0, 0
			var fails []string
			for seed := uint64(1); seed <= 20; seed++ {
				o := runSim(t, simSpec{pages: pages, ecm: c.ecm, term: c.term, loss: c.loss(seed)})
				if o.tx == t30.ResultOK && o.rx == t30.ResultOK {
					ok++
				} else {
					fails = append(fails, fmt.Sprintf("s%d:%v/%v", seed, o.tx, o.rx))
				}
				if pagesExact(o) == pages {
					exact++
				}
			}
			fmt.Printf("%-16s %dp: ok %2d/20 exact %2d/20 %v\n", c.name, pages, ok, exact, fails)
		}
	}
}

// TestSimNonECMSweep measures non-ECM calls without UDPTL error
// correction at 2%, 5% and 10% loss each way, 20 seeds per cell, MH and
// MR: calls that end OK at both ends, pages delivered, and of those the
// pages that have their sent rows with every row that differs reported
// bad (run with FAXKIT_T38_SWEEP=1).
func TestSimNonECMSweep(t *testing.T) {
	if os.Getenv("FAXKIT_T38_SWEEP") == "" {
		t.Skip("set FAXKIT_T38_SWEEP=1 to measure")
	}
	for _, comp := range []t30.Compression{t30.MH, t30.MR} {
		for _, p := range []float64{0.02, 0.05, 0.10} {
			ok, pages, accounted, uncertain, badRows, rows := 0, 0, 0, 0, 0, 0
			var fails []string
			for seed := uint64(1); seed <= 20; seed++ {
				o := runSim(t, simSpec{pages: 1, height: 2292, ecm: false, comp: comp, term: TerminalConfig{EC: ECNone},
					loss: [2]simLoss{{P: p, Seed: seed}, {P: p, Seed: seed + 1000}}})
				if o.tx == t30.ResultOK && o.rx == t30.ResultOK {
					ok++
				} else {
					fails = append(fails, fmt.Sprintf("s%d:%v/%v", seed, o.tx, o.rx))
				}
				for i, rp := range o.got {
					pages++
					height, bad, _, missed := compareRows(t, rp, o.doc.Pages[i])
					if rp.Quality.RowsUncertain {
						uncertain++
					}
					if height == o.doc.Pages[i].Height && missed == 0 {
						accounted++
					}
					badRows += bad
					rows += height
				}
			}
			fmt.Printf("%v loss %2.0f%%: ok %2d/20, pages delivered %d, with their rows and all damage reported %d, row count uncertain %d, bad rows %.1f%% %v\n",
				comp, p*100, ok, pages, accounted, uncertain, 100*float64(badRows)/float64(max(rows, 1)), fails)
		}
	}
}
