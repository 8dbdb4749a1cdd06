package t38

import (
	"bytes"
	"fmt"
	"io"
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

// TestPacedLoss: ECM calls between two faxkit cores paced exactly as in
// real time (the discrete-event simulator), with independent loss and
// Gilbert-Elliott bursts each way, 1 and 3 pages, fixed seeds. Every call
// completes on both sides and every page arrives pixel for pixel.
func TestPacedLoss(t *testing.T) {
	rnd := func(p float64, seed uint64) [2]simLoss {
		return [2]simLoss{{P: p, Seed: seed}, {P: p, Seed: seed + 1000}}
	}
	ge := func(seed uint64) [2]simLoss {
		return [2]simLoss{{GEp: 0.02, GEr: 0.25, Seed: seed}, {GEp: 0.02, GEr: 0.25, Seed: seed + 1000}}
	}
	type tc struct {
		name string
		term TerminalConfig
		loss [2]simLoss
	}
	var cases []tc
	for seed := uint64(1); seed <= 3; seed++ {
		cases = append(cases,
			tc{fmt.Sprintf("none-loss5/seed%d", seed), TerminalConfig{EC: ECNone}, rnd(0.05, seed)},
			tc{fmt.Sprintf("none-loss10/seed%d", seed), TerminalConfig{EC: ECNone}, rnd(0.10, seed)},
			tc{fmt.Sprintf("redundancy3-ge/seed%d", seed), TerminalConfig{EC: ECRedundancy, Depth: 3}, ge(seed)},
		)
	}
	for _, c := range cases {
		for _, pages := range []int{1, 3} {
			t.Run(fmt.Sprintf("%s/%dp", c.name, pages), func(t *testing.T) {
				t.Parallel()
				o := runSim(t, simSpec{pages: pages, ecm: true, term: c.term, loss: c.loss})
				t.Logf("tx %v rx %v in %v of call time, PPRs %d, lost %d and %d of %d and %d datagrams",
					o.tx, o.rx, o.dur.Round(time.Millisecond), o.txSt.PPRs, o.lost[0], o.lost[1],
					o.term[0].IFPSent, o.term[1].IFPSent)
				if o.tx != t30.ResultOK || o.rx != t30.ResultOK {
					t.Fatalf("tx %v rx %v", o.tx, o.rx)
				}
				if n := pagesExact(o); n != pages {
					t.Fatalf("%d of %d pages pixel-exact", n, pages)
				}
			})
		}
	}
}

// TestSimDeterministic: the same seeds give the same packets, at the same
// times, from both ends; another seed gives others.
func TestSimDeterministic(t *testing.T) {
	spec := func(seed uint64) simSpec {
		return simSpec{pages: 1, ecm: true, term: TerminalConfig{EC: ECRedundancy, Depth: 1},
			loss: [2]simLoss{{P: 0.05, Seed: seed}, {P: 0.05, Seed: seed + 1}}}
	}
	a, b, c := runSim(t, spec(7)), runSim(t, spec(7)), runSim(t, spec(8))
	if a.hash != b.hash || a.dur != b.dur {
		t.Fatalf("same seed, different calls: %x in %v, %x in %v", a.hash, a.dur, b.hash, b.dur)
	}
	if a.hash == c.hash {
		t.Fatalf("different seeds, same packets")
	}
}

// TestPacedNonECMLoss: non-ECM pages over paced calls with 2% and 5%
// loss each way, no error correction, fixed seeds. The received page is
// decoded row by row and compared with the sent one: unless the receiver
// says the row count is uncertain, it has the sent number of rows and
// every row that differs from the sent page is one the decoder reported
// bad. (Before whole-row packets the page came out 1-3% short or long and
// fewer rows were reported bad than differed.)
func TestPacedNonECMLoss(t *testing.T) {
	for _, comp := range []t30.Compression{t30.MH, t30.MR} {
		for _, loss := range []float64{0.02, 0.05} {
			for seed := uint64(1); seed <= 3; seed++ {
				t.Run(fmt.Sprintf("%v/loss%.0f/seed%d", comp, loss*100, seed), func(t *testing.T) {
					t.Parallel()
					o := runSim(t, simSpec{pages: 1, height: 2292, comp: comp, term: TerminalConfig{EC: ECNone},
						loss: [2]simLoss{{P: loss, Seed: seed}, {P: loss, Seed: seed + 1000}}})
					if len(o.got) == 0 {
						t.Skipf("no page delivered (tx %v rx %v)", o.tx, o.rx)
					}
					rp := o.got[0]
					want := o.doc.Pages[0]
					height, bad, differ, missed := compareRows(t, rp, want)
					t.Logf("tx %v rx %v: %d rows of %d, %d bad (%d reported), %d differ, %d marked for %d packets lost, uncertain %v",
						o.tx, o.rx, height, want.Height, bad, rp.Quality.BadRows, differ, o.term[1].RowsMarked,
						o.term[1].DataLost, rp.Quality.RowsUncertain)
					if bad != rp.Quality.BadRows {
						t.Errorf("%d rows decoded bad, the page's quality says %d", bad, rp.Quality.BadRows)
					}
					if o.term[1].RowsEstimated > 0 && !rp.Quality.RowsUncertain {
						t.Errorf("%d rows estimated, the row count not reported uncertain", o.term[1].RowsEstimated)
					}
					if rp.Quality.RowsUncertain {
						return
					}
					if height != want.Height {
						t.Errorf("%d rows, sent %d", height, want.Height)
					}
					if missed > 0 {
						t.Errorf("%d rows differ from the sent page but were not reported bad", missed)
					}
				})
			}
		}
	}
	// A sender that cuts its data by size (here: fill-bit removal, where
	// faxkit does not cut in rows; spandsp always): the receiver estimates
	// the rows lost and says the count is uncertain.
	for seed := uint64(1); seed <= 2; seed++ {
		t.Run(fmt.Sprintf("by-size/seed%d", seed), func(t *testing.T) {
			t.Parallel()
			o := runSim(t, simSpec{pages: 1, height: 2292, comp: t30.MR, term: TerminalConfig{EC: ECNone, FillBitRemoval: true},
				loss: [2]simLoss{{P: 0.02, Seed: seed}, {P: 0.02, Seed: seed + 1000}}})
			if len(o.got) == 0 {
				t.Skipf("no page delivered (tx %v rx %v)", o.tx, o.rx)
			}
			rp := o.got[0]
			height, bad, differ, missed := compareRows(t, rp, o.doc.Pages[0])
			t.Logf("%d rows, %d bad, %d differ (%d not reported), %d estimated, uncertain %v", height, bad, differ, missed,
				o.term[1].RowsEstimated, rp.Quality.RowsUncertain)
			if o.term[1].DataLost > 0 && (!rp.Quality.RowsUncertain || o.term[1].RowsEstimated == 0) {
				t.Errorf("%d packets lost, %d rows estimated, uncertain %v", o.term[1].DataLost, o.term[1].RowsEstimated, rp.Quality.RowsUncertain)
			}
		})
	}
}

// compareRows decodes a received page row by row and compares it with
// the sent page: the rows decoded, those reported bad, those that differ
// from the sent row at the same index (or have none), and those that
// differ and were not reported bad.
func compareRows(t *testing.T, rp t30.ReceivedPage, want *t4.Bitmap) (height, bad, differ, missed int) {
	t.Helper()
	dec, err := t4.NewDecoder(bytes.NewReader(rp.Data), want.Width, &t4.DecodeOptions{
		Compression: t30.T4Compression(rp.Mode.Compression), BitOrder: t4.LSBFirst})
	if err != nil {
		t.Fatal(err)
	}
	row := make([]byte, want.Stride)
	for y := 0; ; y++ {
		if err := dec.ReadRow(row); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		height++
		d := y >= want.Height || !bytes.Equal(row, want.Row(y))
		if dec.RowBad() {
			bad++
		}
		if d {
			differ++
			if !dec.RowBad() {
				missed++
			}
		}
	}
	return height, bad, differ, missed
}
