package t30

import (
	"fmt"
	"sort"
	"testing"
	"time"
)

// TestOneFaultEverywhere runs a clean call, then the same call once for
// every frame either side sent (the first three of each type) with that
// one frame dropped, corrupted (bad FCS), duplicated, or held back past
// T4. T.30's command repetition must save every such call: both ends
// succeed with every page exact, and no page is counted or delivered twice.
func TestOneFaultEverywhere(t *testing.T) {
	type hit struct {
		side int
		fcf  FCF
		n    int
	}
	type fate struct {
		name  string
		fault fault
		delay time.Duration
	}
	fates := []fate{
		{"drop", drop, 0}, {"corrupt", corrupt, 0}, {"dup", duplicate, 0},
		{"late1s", deliver, time.Second}, {"late3.5s", deliver, 3500 * time.Millisecond},
	}
	for _, ecm := range []bool{false, true} {
		opt := withCaps(func(c *Capabilities) { c.ECM = ecm }, nil)
		clean := newPair(t, testDoc(3, 120, ResFine), opt)
		runPair(t, clean)
		wantResults(t, clean, ResultOK, ResultOK)
		var hits []hit
		for side := 0; side < 2; side++ {
			for fcf, n := range clean.sim.count[side] {
				for i := 1; i <= min(n, 3); i++ {
					hits = append(hits, hit{side, fcf, i})
				}
			}
		}
		sort.Slice(hits, func(i, j int) bool {
			a, b := hits[i], hits[j]
			if a.side != b.side {
				return a.side < b.side
			}
			if a.fcf != b.fcf {
				return a.fcf < b.fcf
			}
			return a.n < b.n
		})
		for _, h := range hits {
			for _, fa := range fates {
				name := fmt.Sprintf("ecm=%v/%c-%s#%d/%s", ecm, 'A'+h.side, h.fcf, h.n, fa.name)
				t.Run(name, func(t *testing.T) {
					p := newPair(t, testDoc(3, 120, ResFine), opt)
					match := func(side int, f Frame, n int) bool { return side == h.side && f.FCF == h.fcf && n == h.n }
					p.sim.frameFault = func(side int, f Frame, n int) fault {
						if match(side, f, n) {
							return fa.fault
						}
						return deliver
					}
					p.sim.delay = func(side int, f Frame, n int) time.Duration {
						if match(side, f, n) {
							return fa.delay
						}
						return 0
					}
					runPair(t, p)
					wantResults(t, p, ResultOK, ResultOK)
					p.checkPages(t)
					if tx, rx := p.tx.Stats().Pages, p.rx.Stats().Pages; tx != 3 || rx != 3 {
						t.Fatalf("pages tx %d rx %d, want 3\n%s", tx, rx, p.sim.tail())
					}
				})
			}
		}
	}
}
