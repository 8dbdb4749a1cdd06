package t38

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit/t30"
)

// TestSpandspFECLoss holds 2-page ECM MMR calls with the spandsp peer, each
// way, with both sides sending UDPTL FEC (span 3, 3 entries: Asterisk's
// defaults) and 20% of the datagrams dropped in each direction (faxkit's by
// the impairment wrapper, spandsp's by the peer itself). It proves faxkit's
// FEC interoperates under loss with an independent implementation of the
// layout: the calls complete, pixel for pixel, and both receivers rebuilt
// packets from the other side's parity (faxkit's Receiver.FEC and the
// peer's ifp_recovered_fec), with no secondaries anywhere and no parity the
// peer found inconsistent. T.38 versions 0 and 3 (their IFP layouts differ,
// and a rebuilt packet is trimmed by decoding it). Gated like
// TestSpandspLoss: seed 1 always runs, seed 2 without -race or with
// FAXKIT_T38_FULL=1.
func TestSpandspFECLoss(t *testing.T) {
	for _, send := range []bool{true, false} {
		for _, v := range []Version{0, 3} {
			for _, seed := range []int{1, 2} {
				s := interopSpec{send: send, version: v, pages: 2, ecm: true, comp: t30.MMR, ec: ECFEC, peerFEC: true,
					pacing: PacingNone, loss: 20, seed: seed}
				t.Run(fmt.Sprintf("fec3x3-loss20/%s/seed%d", s.name(), seed), func(t *testing.T) {
					if !fullInterop() && seed > 1 {
						t.Skip("part of the full matrix: run without -race or with FAXKIT_T38_FULL=1")
					}
					t.Parallel()
					o := runInterop(t, s)
					rx := o.term.Receiver
					t.Logf("faxkit %v (pages %d, PPRs %d): received %d, recovered %d (FEC %d), lost %d; "+
						"spandsp %s (pages %d): sent %d dropped %d, received %d, rebuilt from FEC %d, lost %d",
						o.res, o.st.Pages, o.st.PPRs, rx.Delivered, rx.Recovered, rx.FEC, rx.Lost,
						o.peer.Result, o.peer.Pages, o.peer.PacketsSent, o.peer.PacketsDropped,
						o.peer.PacketsReceived, o.peer.IFPRecoveredFEC, o.peer.IFPLost)
					require.Equal(t, t30.ResultOK, o.res, "faxkit; spandsp: %+v", o.peer)
					require.True(t, o.peer.OK, "spandsp: %+v", o.peer)
					require.Equal(t, s.pages, o.st.Pages, "faxkit pages")
					require.Equal(t, s.pages, o.peer.Pages, "spandsp pages")
					require.True(t, o.st.ECM)
					require.Equal(t, t30.MMR, o.st.Compression)
					checkInteropPages(t, s, o)

					require.Positive(t, o.peer.PacketsDropped, "the peer's loss must bite")
					require.Positive(t, rx.FEC, "faxkit rebuilt nothing from spandsp's FEC")
					require.Equal(t, rx.Recovered, rx.FEC, "spandsp sent FEC only: every recovery is from parity")
					require.Positive(t, o.peer.IFPRecoveredFEC, "spandsp rebuilt nothing from faxkit's FEC")
					require.Zero(t, o.peer.IFPRecovered, "faxkit sent FEC only: no secondaries")
					require.Zero(t, o.peer.FECRebuildRejected, "faxkit's parity must match its groups")
				})
			}
		}
	}
}
