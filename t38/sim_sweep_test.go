package t38

import (
	"bytes"
	"fmt"
	"os"
	"testing"

	"github.com/faxkit/faxkit/t30"
	"github.com/faxkit/faxkit/t4"
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

// TestSimNonECMSweep prints, for non-ECM calls at 2% and 5% loss, the
// rows received against those sent and the rows counted bad (run with
// FAXKIT_T38_SWEEP=1).
func TestSimNonECMSweep(t *testing.T) {
	if os.Getenv("FAXKIT_T38_SWEEP") == "" {
		t.Skip("set FAXKIT_T38_SWEEP=1 to measure")
	}
	for _, comp := range []t30.Compression{t30.MH, t30.MR} {
		for _, p := range []float64{0.02, 0.05} {
			for seed := uint64(1); seed <= 5; seed++ {
				o := runSim(t, simSpec{pages: 1, height: 2292, ecm: false, comp: comp, term: TerminalConfig{EC: ECNone},
					loss: [2]simLoss{{P: p, Seed: seed}, {P: p, Seed: seed + 1000}}})
				line := fmt.Sprintf("%v p=%.2f seed %d: tx %v rx %v pages %d", comp, p, seed, o.tx, o.rx, len(o.got))
				for i, rp := range o.got {
					b, st, err := t4.DecodePage(bytes.NewReader(rp.Data), 1728, &t4.DecodeOptions{
						Compression: t30.T4Compression(rp.Mode.Compression), BitOrder: t4.LSBFirst})
					if err != nil {
						line += fmt.Sprintf(" [p%d err %v]", i, err)
						continue
					}
					line += fmt.Sprintf(" [rows %d of %d, %d reported bad (decoder %d), %d rows marked for %d packets lost]", b.Height, o.doc.Pages[i].Height,
						rp.Quality.BadRows, st.BadRows, o.term[1].RowsMarked, o.term[1].DataLost)
				}
				fmt.Println(line)
			}
		}
	}
}
