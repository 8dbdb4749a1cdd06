package t38

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/faxkit/faxkit/t30"
	"github.com/faxkit/faxkit/t4"
)

// simSpec is a simulated faxkit-to-faxkit call.
type simSpec struct {
	pages, height int
	ecm           bool
	comp          t30.Compression
	term          TerminalConfig
	loss          [2]simLoss // a→b, b→a
	trace         func(who string, r t30.Record)
}

type simOutcome struct {
	tx, rx     t30.Result
	txSt, rxSt t30.Stats
	got        []t30.ReceivedPage
	doc        *t30.BitmapDocument
	dur        time.Duration
	hash       [2]uint64
	term       [2]TerminalStats
	lost       [2]int
}

func runSim(tb testing.TB, s simSpec) simOutcome {
	tb.Helper()
	if s.height == 0 {
		s.height = 1100
	}
	if s.comp == 0 {
		s.comp = t30.MMR
	}
	o := simOutcome{doc: testDoc(s.pages, s.height, t30.ResFine)}
	rec := func(who string) func(t30.Record) {
		if s.trace == nil {
			return nil
		}
		return func(r t30.Record) { s.trace(who, r) }
	}
	a, err := newSimEnd("tx", t30.Config{Calling: true, Transmit: true, Document: o.doc, OnRecord: rec("tx"),
		Capabilities: capsFor(s.ecm, s.comp), LocalIdent: "+1 555 0100"}, s.term, &s.loss[0])
	if err != nil {
		tb.Fatal(err)
	}
	bt := s.term
	bt.FirstSeq = 40000
	b, err := newSimEnd("rx", t30.Config{LocalIdent: "+1 555 0199", Capabilities: capsFor(s.ecm, t30.MMR), OnRecord: rec("rx"),
		OnPage: func(p t30.ReceivedPage) error { o.got = append(o.got, p); return nil }}, bt, &s.loss[1])
	if err != nil {
		tb.Fatal(err)
	}
	o.dur = simCall(a, b, 20*time.Minute)
	if !a.done || !b.done {
		tb.Fatalf("call did not end in %v of call time (tx done %v, rx done %v)", o.dur, a.done, b.done)
	}
	o.tx, o.rx = a.res, b.res
	o.txSt, o.rxSt = a.sess.Stats(), b.sess.Stats()
	o.hash = [2]uint64{a.hash.Sum64(), b.hash.Sum64()}
	o.term = [2]TerminalStats{a.core.stats, b.core.stats}
	o.lost = [2]int{s.loss[0].lost, s.loss[1].lost}
	return o
}

// pagesExact reports how many received pages equal the sent ones pixel
// for pixel, in order.
func pagesExact(o simOutcome) int {
	n := 0
	for i, rp := range o.got {
		if i >= len(o.doc.Pages) {
			break
		}
		want := o.doc.Pages[i]
		b, st, err := t4.DecodePage(bytes.NewReader(rp.Data), want.Width, &t4.DecodeOptions{
			Compression: t30.T4Compression(rp.Mode.Compression), BitOrder: t4.LSBFirst})
		if err != nil || st.BadRows > 0 || b.Height != want.Height || rowsDiffer(b, want) > 0 {
			continue
		}
		n++
	}
	return n
}

func TestSimExplore(t *testing.T) {
	for _, pages := range []int{1, 3} {
		for seed := uint64(1); seed <= 10; seed++ {
			o := runSim(t, simSpec{pages: pages, ecm: true, term: TerminalConfig{EC: ECNone},
				loss: [2]simLoss{{P: 0.05, Seed: seed}, {P: 0.05, Seed: seed + 1000}}})
			fmt.Printf("pages %d seed %d: tx %v rx %v exact %d/%d dur %v PPRs %d\n", pages, seed, o.tx, o.rx, pagesExact(o), pages, o.dur.Round(time.Second), o.txSt.PPRs)
		}
	}
}
