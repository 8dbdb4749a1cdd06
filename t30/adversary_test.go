package t30

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/faxkit/faxkit/t4"
)

// TestOneFaultEverywhere runs a clean call, then the same call once for
// every frame either side sent (the first three of each type) with that
// one frame dropped, corrupted (bad FCS), duplicated, or held back (with
// the frames behind it: T.38 delivers in order) by up to 7 s, so that
// answers cross repeated commands. T.30's command repetition must save
// every such call: both ends succeed with every page exact, and no page is
// counted or delivered twice.
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
		{"late1s", deliver, time.Second},
		{"late2.9s", deliver, 2900 * time.Millisecond}, {"late3.5s", deliver, 3500 * time.Millisecond}, {"late5s", deliver, 5 * time.Second}, {"late7s", deliver, 7 * time.Second},
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

// TestOneFaultInRareExchanges is TestOneFaultEverywhere for the exchanges
// a clean call never reaches: PPR, CTC/CTR, EOR/ERR, RTN, FTT, EOM, RNR/RR.
// Each scenario is run clean, then once per control frame with that one
// frame dropped, corrupted, duplicated or held back past T4; the outcome
// must not change.
func TestOneFaultInRareExchanges(t *testing.T) {
	const A, B = 0, 1
	type scenario struct {
		name  string
		pages int
		opts  []pairOpt
		base  func(p *pair) func(side int, f Frame, n int) fault
		setup func(p *pair)
	}
	scenarios := []scenario{
		{name: "PPR-CTC", pages: 1, base: func(p *pair) func(int, Frame, int) fault {
			return func(side int, f Frame, n int) fault {
				if side == A && f.FCF == FCFFCD && f.Info[0] == 3 && p.tx.mode.Speed == V17_14400 {
					return drop
				}
				return deliver
			}
		}},
		{name: "EOR", pages: 2, opts: []pairOpt{withCaps(func(c *Capabilities) { c.Modems = ModemsV27terFallback }, nil)},
			base: func(p *pair) func(int, Frame, int) fault {
				return func(side int, f Frame, n int) fault {
					if side == A && f.FCF == FCFFCD && f.Info[0] == 1 && p.tx.page == 0 {
						return drop
					}
					return deliver
				}
			}},
		{name: "EOR-last-page", pages: 2, opts: []pairOpt{withCaps(func(c *Capabilities) { c.Modems = ModemsV27terFallback }, nil)},
			base: func(p *pair) func(int, Frame, int) fault {
				return func(side int, f Frame, n int) fault {
					if side == A && f.FCF == FCFFCD && f.Info[0] == 1 && p.tx.page == 1 {
						return drop
					}
					return deliver
				}
			}},
		{name: "RTN", pages: 2, opts: []pairOpt{withCaps(nonECM, nil)}, setup: func(p *pair) {
			p.sim.imageFault = func(side, n int, d []byte) []byte {
				if n == 1 {
					return d[:len(d)/4]
				}
				return d
			}
		}},
		{name: "FTT", pages: 2, opts: []pairOpt{withCaps(nonECM, nil)}, setup: func(p *pair) {
			p.sim.tcfFault = func(side, n int) bool { return n == 1 }
		}},
		{name: "RNR", pages: 2, setup: func(p *pair) {
			p.sim.replace = func(side int, f Frame, n int) (Frame, bool) {
				if side == B && f.FCF == FCFMCF && n == 1 {
					return NewFrame(FCFRNR, false, true), true
				}
				return f, false
			}
		}},
	}
	for _, ecm := range []bool{false, true} {
		scenarios = append(scenarios, scenario{name: fmt.Sprintf("EOM-ecm=%v", ecm), pages: 3,
			opts: []pairOpt{withCaps(func(c *Capabilities) { c.ECM = ecm }, nil), func(p *pair) {
				p.doc = nil
				p.txCfg.Document = mixedDoc{pages: []*t4.Bitmap{testPage(0, 1728, 60), testPage(1, 1728, 60), testPage(2, 1728, 60)}}
			}}})
	}
	control := func(fcf FCF) bool { return fcf != FCFFCD && fcf != FCFRCP }
	for _, sc := range scenarios {
		build := func(t *testing.T) *pair {
			p := newPair(t, testDoc(sc.pages, 120, ResFine), sc.opts...)
			if sc.setup != nil {
				sc.setup(p)
			}
			return p
		}
		clean := build(t)
		var base func(int, Frame, int) fault
		if sc.base != nil {
			base = sc.base(clean)
			clean.sim.frameFault = base
		}
		runPair(t, clean)
		type outcome struct {
			tx, rx             Result
			txPages, rxPages   int
			delivered, partial int
		}
		result := func(p *pair) outcome {
			o := outcome{tx: p.tx.Result(), rx: p.rx.Result(), txPages: p.tx.Stats().Pages, rxPages: p.rx.Stats().Pages, delivered: len(p.got)}
			for _, g := range p.got {
				if g.Partial {
					o.partial++
				}
			}
			return o
		}
		want := result(clean)
		if want.rxPages != sc.pages {
			t.Fatalf("%s: clean run: %+v\n%s", sc.name, want, clean.sim.tail())
		}
		var hits [][3]int
		for side := 0; side < 2; side++ {
			for fcf, n := range clean.sim.count[side] {
				if !control(fcf) {
					continue
				}
				for i := 1; i <= min(n, 4); i++ {
					hits = append(hits, [3]int{side, int(fcf), i})
				}
			}
		}
		sort.Slice(hits, func(i, j int) bool {
			for k := 0; k < 3; k++ {
				if hits[i][k] != hits[j][k] {
					return hits[i][k] < hits[j][k]
				}
			}
			return false
		})
		for _, h := range hits {
			for _, fa := range []struct {
				name  string
				fault fault
				delay time.Duration
			}{{"drop", drop, 0}, {"corrupt", corrupt, 0}, {"dup", duplicate, 0}, {"late3.5s", deliver, 3500 * time.Millisecond}, {"late7s", deliver, 7 * time.Second}} {
				side, fcf, nth := h[0], FCF(h[1]), h[2]
				t.Run(fmt.Sprintf("%s/%c-%s#%d/%s", sc.name, 'A'+side, fcf, nth, fa.name), func(t *testing.T) {
					p := build(t)
					var bf func(int, Frame, int) fault
					if sc.base != nil {
						bf = sc.base(p)
					}
					seen := map[FCF]int{}
					p.sim.frameFault = func(s int, f Frame, n int) fault {
						if s == side && f.FCF == fcf {
							seen[fcf]++
							if seen[fcf] == nth {
								return fa.fault
							}
						}
						if bf != nil {
							return bf(s, f, n)
						}
						return deliver
					}
					p.sim.delay = func(s int, f Frame, n int) time.Duration {
						if s == side && f.FCF == fcf && n == nth {
							return fa.delay
						}
						return 0
					}
					runPair(t, p)
					if got := result(p); got != want {
						t.Fatalf("outcome %+v, want %+v\n%s", got, want, p.sim.tail())
					}
				})
			}
		}
	}
}

// TestSlowResponder: a receiver whose answers begin 2.5 s after our
// command (inside T4) but end after T4 expired. T.30 5.4.3.1 resets T4 when
// flags are received, so the transmitter waits for the answer instead of
// repeating its command over it (which, on T.38, leaves a second answer in
// flight that can be taken for the answer to the next command).
func TestSlowResponder(t *testing.T) {
	for _, ecm := range []bool{false, true} {
		p := newPair(t, testDoc(3, 120, ResFine), withCaps(func(c *Capabilities) { c.ECM = ecm }, nil))
		p.sim.delay = func(side int, f Frame, n int) time.Duration {
			if side == 1 && (f.FCF == FCFMCF || f.FCF == FCFCFR) {
				return 2500 * time.Millisecond
			}
			return 0
		}
		runPair(t, p)
		wantResults(t, p, ResultOK, ResultOK)
		p.checkPages(t)
		for _, fcf := range []FCF{FCFDCS, FCFMPS, FCFEOP, FCFPPS} {
			if n, want := p.sim.count[0][fcf], map[FCF]int{FCFDCS: 1, FCFMPS: 2, FCFEOP: 1, FCFPPS: 3}[fcf]; ecm == (fcf == FCFPPS) && n != want || fcf == FCFDCS && n != want {
				t.Errorf("ecm=%v: %s sent %d times, want %d", ecm, fcf, n, want)
			}
		}
	}
}

// TestStalePPS: a copy of a PPS (or EOR) held up on the network until
// frames of the next block have arrived is not a command about those
// frames. Answering it would hand the transmitter an MCF it takes for the
// next block's, so it would count a page the receiver never confirmed.
func TestStalePPS(t *testing.T) {
	for _, c := range []struct {
		name string
		fcf  FCF
		n    int
		opts []pairOpt
		base func(p *pair) func(int, Frame, int) fault
	}{
		{name: "PPS", fcf: FCFPPS, n: 2},
		{name: "EOR", fcf: FCFEOR, n: 1, opts: []pairOpt{withCaps(func(c *Capabilities) { c.Modems = ModemsV27terFallback }, nil)},
			base: func(p *pair) func(int, Frame, int) fault {
				return func(side int, f Frame, n int) fault {
					if side == 0 && f.FCF == FCFFCD && f.Info[0] == 1 && p.tx.page == 0 {
						return drop
					}
					return deliver
				}
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := newPair(t, testDoc(3, 120, ResFine), c.opts...)
			if c.base != nil {
				p.sim.frameFault = c.base(p)
			}
			p.sim.reorder = true
			p.sim.delay = func(side int, f Frame, n int) time.Duration {
				if side == 0 && f.FCF == c.fcf && n == c.n {
					return 7 * time.Second
				}
				return 0
			}
			runPair(t, p)
			if p.tx.Stats().Pages > p.rx.Stats().Pages || len(p.got) != p.rx.Stats().Pages || p.rx.Stats().Pages > 3 {
				t.Fatalf("tx counts %d pages, rx %d (%d delivered)\n%s", p.tx.Stats().Pages, p.rx.Stats().Pages, len(p.got), p.sim.tail())
			}
			if c.fcf == FCFPPS {
				wantResults(t, p, ResultOK, ResultOK)
				p.checkPages(t)
			}
		})
	}
}
