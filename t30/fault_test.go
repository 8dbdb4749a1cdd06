package t30

import (
	"testing"
	"time"
)

func nonECM(c *Capabilities) { c.ECM = false }

// dropNth drops the n-th frame of type fcf sent by side from (0 = transmitter).
func dropNth(from int, fcf FCF, ns ...int) func(int, Frame, int) fault {
	return func(side int, f Frame, n int) fault {
		if side != from || f.FCF != fcf {
			return deliver
		}
		for _, x := range ns {
			if x == n {
				return drop
			}
		}
		return deliver
	}
}

func runPair(t *testing.T, p *pair) {
	t.Helper()
	p.sim.run(30 * time.Minute)
}

func wantResults(t *testing.T, p *pair, tx, rx Result) {
	t.Helper()
	if p.tx.Result() != tx || p.rx.Result() != rx {
		t.Fatalf("results tx=%v rx=%v, want %v %v\n%s", p.tx.Result(), p.rx.Result(), tx, rx, p.sim.tail())
	}
}

func TestFaults(t *testing.T) {
	type tc struct {
		name  string
		pages int
		opts  []pairOpt
		setup func(p *pair)
		tx    Result
		rx    Result
		check func(t *testing.T, p *pair)
	}
	const A, B = 0, 1
	cases := []tc{
		{name: "lost DIS", pages: 1, opts: []pairOpt{withCaps(nonECM, nil)},
			setup: func(p *pair) { p.sim.frameFault = dropNth(B, FCFDIS, 1) }, tx: ResultOK, rx: ResultOK},
		{name: "lost DCS twice", pages: 1, opts: []pairOpt{withCaps(nonECM, nil)},
			setup: func(p *pair) { p.sim.frameFault = dropNth(A, FCFDCS, 1, 2) }, tx: ResultOK, rx: ResultOK},
		{name: "lost CFR", pages: 2, opts: []pairOpt{withCaps(nonECM, nil)},
			setup: func(p *pair) { p.sim.frameFault = dropNth(B, FCFCFR, 1) }, tx: ResultOK, rx: ResultOK},
		{name: "lost MCF after MPS", pages: 3, opts: []pairOpt{withCaps(nonECM, nil)},
			setup: func(p *pair) { p.sim.frameFault = dropNth(B, FCFMCF, 1) }, tx: ResultOK, rx: ResultOK},
		{name: "lost MCF after EOP twice", pages: 2, opts: []pairOpt{withCaps(nonECM, nil)},
			setup: func(p *pair) { p.sim.frameFault = dropNth(B, FCFMCF, 2, 3) }, tx: ResultOK, rx: ResultOK},
		{name: "corrupt MPS", pages: 2, opts: []pairOpt{withCaps(nonECM, nil)},
			setup: func(p *pair) {
				p.sim.frameFault = func(side int, f Frame, n int) fault {
					if side == A && f.FCF == FCFMPS && n == 1 {
						return corrupt
					}
					return deliver
				}
			}, tx: ResultOK, rx: ResultOK,
			check: func(t *testing.T, p *pair) {
				if p.rx.Stats().BadFrames != 1 {
					t.Errorf("rx bad frames %d", p.rx.Stats().BadFrames)
				}
			}},
		{name: "lost final DCN", pages: 1, opts: []pairOpt{withCaps(nonECM, nil)},
			setup: func(p *pair) { p.sim.frameFault = dropNth(A, FCFDCN, 1) }, tx: ResultOK, rx: ResultOK},
		{name: "FTT twice", pages: 2, opts: []pairOpt{withCaps(nonECM, nil)},
			setup: func(p *pair) { p.sim.tcfFault = func(side, n int) bool { return n <= 2 } }, tx: ResultOK, rx: ResultOK,
			check: func(t *testing.T, p *pair) {
				if st := p.tx.Stats(); st.Speed != V17_9600 || st.FTTs != 2 {
					t.Errorf("speed %v FTTs %d, want V.17/9600 after 2 FTT", st.Speed, st.FTTs)
				}
			}},
		{name: "FTT always", pages: 1, opts: []pairOpt{withCaps(nonECM, nil)},
			setup: func(p *pair) { p.sim.tcfFault = func(side, n int) bool { return true } },
			tx:    ResultTrainingFailed, rx: ResultRemoteDisconnect,
			check: func(t *testing.T, p *pair) {
				if got := p.tx.Stats().FTTs; got != 8 {
					t.Errorf("FTTs %d, want one per speed (8)", got)
				}
			}},
		{name: "RTN once", pages: 2, opts: []pairOpt{withCaps(nonECM, nil)},
			setup: func(p *pair) {
				p.sim.imageFault = func(side, n int, d []byte) []byte {
					if n == 1 {
						return d[:len(d)/4] // most of page 1 lost
					}
					return d
				}
			}, tx: ResultOK, rx: ResultOK,
			check: func(t *testing.T, p *pair) {
				if st := p.tx.Stats(); st.PagesRejected != 1 || st.Pages != 2 {
					t.Errorf("tx stats %+v", st)
				}
			}},
		{name: "RTN always", pages: 1, opts: []pairOpt{withCaps(nonECM, nil)},
			setup: func(p *pair) {
				p.sim.imageFault = func(side, n int, d []byte) []byte { return nil }
			}, tx: ResultPageRejected, rx: ResultRemoteDisconnect},
		{name: "ECM PPR of chosen frames", pages: 2,
			setup: func(p *pair) {
				p.sim.frameFault = func(side int, f Frame, n int) fault {
					if side == A && f.FCF == FCFFCD && p.tx.page == 0 && p.tx.ppr == 0 && (f.Info[0] == 2 || f.Info[0] == 5) {
						return drop
					}
					return deliver
				}
			}, tx: ResultOK, rx: ResultOK,
			check: func(t *testing.T, p *pair) {
				if st := p.tx.Stats(); st.PPRs != 1 || st.FramesResent != 2 {
					t.Errorf("PPRs %d resent %d, want 1 and 2", st.PPRs, st.FramesResent)
				}
			}},
		{name: "ECM lost PPS and MCF", pages: 2,
			setup: func(p *pair) {
				a, b := dropNth(A, FCFPPS, 1), dropNth(B, FCFMCF, 2)
				p.sim.frameFault = func(side int, f Frame, n int) fault {
					if a(side, f, n) == drop || b(side, f, n) == drop {
						return drop
					}
					return deliver
				}
			}, tx: ResultOK, rx: ResultOK},
		{name: "ECM CTC after four PPRs", pages: 1,
			setup: func(p *pair) {
				p.sim.frameFault = func(side int, f Frame, n int) fault {
					if side == A && f.FCF == FCFFCD && f.Info[0] == 3 && p.tx.mode.Speed == V17_14400 {
						return drop
					}
					return deliver
				}
			}, tx: ResultOK, rx: ResultOK,
			check: func(t *testing.T, p *pair) {
				if st := p.tx.Stats(); st.CTCs != 1 || st.PPRs != 4 || st.Speed != V17_12000 {
					t.Errorf("CTCs %d PPRs %d speed %v", st.CTCs, st.PPRs, st.Speed)
				}
			}},
		{name: "ECM lost CTC and CTR", pages: 1,
			setup: func(p *pair) {
				p.sim.frameFault = func(side int, f Frame, n int) fault {
					if side == A && f.FCF == FCFFCD && f.Info[0] == 3 && p.tx.mode.Speed == V17_14400 ||
						side == A && f.FCF == FCFCTC && n == 1 || side == B && f.FCF == FCFCTR && n == 1 {
						return drop
					}
					return deliver
				}
			}, tx: ResultOK, rx: ResultOK},
		{name: "ECM EOR at the lowest speed", pages: 2,
			opts: []pairOpt{withCaps(func(c *Capabilities) { c.Modems = ModemsV27terFallback }, nil)},
			setup: func(p *pair) {
				p.sim.frameFault = func(side int, f Frame, n int) fault {
					if side == A && f.FCF == FCFFCD && f.Info[0] == 1 && p.tx.page == 0 {
						return drop
					}
					return deliver
				}
			}, tx: ResultECMFailure, rx: ResultOK,
			check: func(t *testing.T, p *pair) {
				if st := p.tx.Stats(); st.EORs != 1 || st.Pages != 2 {
					t.Errorf("EORs %d pages %d", st.EORs, st.Pages)
				}
				if len(p.got) != 2 || !p.got[0].Partial || p.got[1].Partial {
					t.Errorf("received pages: %d, partial flags wrong", len(p.got))
				}
			}},
		{name: "peer hangs up", pages: 3, opts: []pairOpt{withCaps(nonECM, nil)},
			setup: func(p *pair) { p.sim.hangupAt[B] = t0.Add(12 * time.Second) },
			tx:    ResultCallDropped, rx: ResultCallDropped},
		// Each lost MCF still shows its V.21 flags: a live line whose
		// answers come damaged, repeated MaxDamagedTries (9) times.
		{name: "all post-page responses lost", pages: 1, opts: []pairOpt{withCaps(nonECM, nil)},
			setup: func(p *pair) { p.sim.frameFault = dropNth(B, FCFMCF, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10) },
			tx:    ResultNoResponse, rx: ResultOK,
			check: func(t *testing.T, p *pair) {
				if st := p.tx.Stats(); st.DamagedResponses != 9 {
					t.Errorf("damaged responses %d, want 9", st.DamagedResponses)
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := newPair(t, testDoc(c.pages, 400, ResFine), c.opts...)
			if c.setup != nil {
				c.setup(p)
			}
			runPair(t, p)
			wantResults(t, p, c.tx, c.rx)
			if c.tx == ResultOK || c.tx == ResultECMFailure {
				if c.tx == ResultOK {
					p.checkPages(t)
				}
				if got := p.tx.Stats().Pages; got != c.pages {
					t.Errorf("tx pages %d want %d", got, c.pages)
				}
			}
			if c.check != nil {
				c.check(t, p)
			}
		})
	}
}

func TestPeerNeverAnswers(t *testing.T) {
	doc := testDoc(1, 20, ResFine)
	tx, err := NewSession(Config{Calling: true, Transmit: true, Document: doc})
	if err != nil {
		t.Fatal(err)
	}
	l := newSim(t, tx, nil)
	l.run(time.Hour)
	if tx.Result() != ResultNoAnswer || l.now.Sub(t0) != 35*time.Second {
		t.Fatalf("result %v after %v, want no-answer after T1", tx.Result(), l.now.Sub(t0))
	}
	rx, _ := NewSession(Config{})
	l = newSim(t, nil, rx)
	l.run(time.Hour)
	if rx.Result() != ResultNoCommand || l.now.Sub(t0) > 40*time.Second {
		t.Fatalf("result %v after %v, want no-command after T1", rx.Result(), l.now.Sub(t0))
	}
}
