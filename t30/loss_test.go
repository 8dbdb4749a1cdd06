package t30

import (
	"bytes"
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/faxkit/faxkit/t4"
)

// TestRandomLoss holds many calls over a line that randomly drops,
// corrupts and duplicates frames, and damages TCF and page data, and checks that every call ends on
// its own and tells the truth: the transmitter never counts a page the
// receiver did not accept, the receiver never accepts a page twice or out
// of order, and accepted pages are exact (ECM) or decodable (non-ECM).
func TestRandomLoss(t *testing.T) {
	seeds := 150
	if testing.Short() {
		seeds = 30
	}
	outcomes := map[string]int{}
	for seed := 0; seed < seeds; seed++ {
		for _, ecm := range []bool{false, true} {
			name := fmt.Sprintf("seed%d/ecm=%v", seed, ecm)
			rng := rand.New(rand.NewSource(int64(seed)))
			loss := 0.05 + 0.15*rng.Float64()
			p := newPair(t, testDoc(3, 150, ResFine), withCaps(func(c *Capabilities) { c.ECM = ecm }, nil))
			p.sim.frameFault = func(side int, f Frame, n int) fault {
				switch r := rng.Float64(); {
				case r < loss:
					return drop
				case r < loss*1.3:
					return corrupt
				case r < loss*1.6:
					return duplicate
				}
				return deliver
			}
			p.sim.tcfFault = func(side, n int) bool { return rng.Float64() < loss }
			p.sim.imageFault = func(side, n int, d []byte) []byte {
				if rng.Float64() < loss {
					i := rng.Intn(len(d))
					d[i] ^= 0xFF
				}
				if rng.Float64() < loss/3 {
					d = d[:rng.Intn(len(d))]
				}
				return d
			}
			p.sim.run(2 * time.Hour)
			tx, rx := p.tx.Stats(), p.rx.Stats()
			outcomes[fmt.Sprintf("tx=%v rx=%v", p.tx.Result(), p.rx.Result())]++
			if tx.Pages > rx.Pages {
				t.Fatalf("%s: transmitter counts %d pages, receiver accepted %d\n%s", name, tx.Pages, rx.Pages, p.sim.tail())
			}
			if rx.Pages > 3 || len(p.got) != rx.Pages {
				t.Fatalf("%s: receiver accepted %d pages (%d delivered) of 3", name, rx.Pages, len(p.got))
			}
			if p.tx.Result() == ResultOK && rx.Pages != 3 {
				t.Fatalf("%s: transmitter OK, receiver has %d pages", name, rx.Pages)
			}
			if p.rx.Result() == ResultOK && rx.Pages != 3 {
				t.Fatalf("%s: receiver OK with %d pages", name, rx.Pages)
			}
			for i, rp := range p.got {
				want := p.doc.Pages[i]
				b, st, err := t4.DecodePage(bytes.NewReader(rp.Data), want.Width, &t4.DecodeOptions{
					Compression: T4Compression(rp.Mode.Compression), BitOrder: t4.LSBFirst})
				if err != nil {
					t.Fatalf("%s: page %d: %v", name, i+1, err)
				}
				if ecm && !rp.Partial && !bytes.Equal(b.Pix, want.Pix) {
					t.Fatalf("%s: ECM page %d differs", name, i+1)
				}
				// Non-ECM data has no check: a flipped bit can still decode
				// to a full-width (wrong) row. Count such pages, don't fail.
				if !ecm && st.BadRows == 0 && !bytes.Equal(b.Pix, want.Pix) {
					outcomes["non-ECM page silently damaged"]++
				}
			}
		}
	}
	t.Logf("outcomes: %v", outcomes)
}
