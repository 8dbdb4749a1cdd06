package t30

import (
	"fmt"
	"testing"
	"time"
)

func TestBackToBack(t *testing.T) {
	for _, pages := range []int{1, 3, 20} {
		for _, comp := range []Compression{MH, MR, MMR} {
			for _, ecm := range []bool{false, true} {
				if comp == MMR && !ecm {
					continue
				}
				t.Run(fmt.Sprintf("%dp/%s/ecm=%v", pages, comp, ecm), func(t *testing.T) {
					set := func(c *Capabilities) {
						c.ECM = ecm
						c.MR = comp >= MR
						c.MMR = comp == MMR
					}
					p := newPair(t, testDoc(pages, 120, ResFine), withCaps(set, nil))
					p.sim.run(30 * time.Minute)
					if p.tx.Result() != ResultOK || p.rx.Result() != ResultOK {
						t.Fatalf("results tx=%v rx=%v\n%s", p.tx.Result(), p.rx.Result(), p.sim.tail())
					}
					p.checkPages(t)
					st := p.tx.Stats()
					if st.Pages != pages || st.Compression != comp || st.ECM != ecm || st.Speed != V17_14400 {
						t.Errorf("tx stats %+v", st)
					}
					rs := p.rx.Stats()
					if rs.Pages != pages || rs.RemoteIdent != "+1 555 0100" || rs.RemoteVendor != "B5 00 66" {
						t.Errorf("rx stats %+v", rs)
					}
					if p.tx.Stats().RemoteIdent != "+1 555 0199" {
						t.Errorf("tx remote ident %q", p.tx.Stats().RemoteIdent)
					}
				})
			}
		}
	}
}
