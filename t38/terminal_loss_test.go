package t38

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit/t30"
	"github.com/faxkit/faxkit/t4"
	"github.com/faxkit/faxkit/transport"
)

// TestTerminalImpaired: ECM calls between two faxkit terminals over a
// damaged network, each way. Redundancy or FEC rebuild most lost packets;
// what they cannot, ECM retransmission (PPR) and T.30 command repetition
// carry. Every call must end on its own, both sides must report success
// truthfully (the sender's page count is what the receiver got) and every
// page must arrive pixel for pixel.
func TestTerminalImpaired(t *testing.T) {
	loss := func(p float64, seed uint64) [2]transport.Impairment {
		return [2]transport.Impairment{{Loss: p, Seed: seed}, {Loss: p, Seed: seed + 100}}
	}
	cases := []struct {
		name string
		term TerminalConfig
		imp  [2]transport.Impairment
	}{
		{"redundancy3-loss20", TerminalConfig{EC: ECRedundancy, Depth: 3}, loss(0.20, 1)},
		{"fec-loss20", TerminalConfig{EC: ECFEC}, loss(0.20, 2)},
		{"none-loss5", TerminalConfig{EC: ECNone}, loss(0.05, 3)},
		{"redundancy3-burst4", TerminalConfig{EC: ECRedundancy}, [2]transport.Impairment{
			{BurstRate: 0.03, BurstLen: 4, Seed: 4}, {BurstRate: 0.03, BurstLen: 4, Seed: 5}}},
		{"none-burst4", TerminalConfig{EC: ECNone}, [2]transport.Impairment{
			{BurstRate: 0.01, BurstLen: 4, Seed: 6}, {BurstRate: 0.01, BurstLen: 4, Seed: 7}}},
		{"reorder10", TerminalConfig{EC: ECRedundancy}, [2]transport.Impairment{
			{Reorder: 0.10, Seed: 8}, {Reorder: 0.10, Seed: 9}}},
		{"none-reorder10-dup5", TerminalConfig{EC: ECNone}, [2]transport.Impairment{
			{Reorder: 0.10, Duplicate: 0.05, Seed: 10}, {Reorder: 0.10, Duplicate: 0.05, Seed: 11}}},
	}
	for _, c := range cases {
		for _, v := range []Version{0, 3} {
			t.Run(fmt.Sprintf("%s/v%d", c.name, v), func(t *testing.T) {
				t.Parallel()
				term := c.term
				term.Version, term.Pacing = v, PacingNone
				imp := c.imp
				imp[0].Seed += uint64(v) * 1000
				imp[1].Seed += uint64(v) * 1000
				o := runCall(t, callSpec{pages: 3, ecm: true, comp: t30.MMR, term: term, imp: imp, speed: 40})
				t.Logf("tx %v rx %v, PPRs %d, frames resent %d, wall %v; terminal A %+v",
					o.tx, o.rx, o.txStats.PPRs, o.txStats.FramesResent, o.wall, o.term[0].Receiver)
				require.Equal(t, t30.ResultOK, o.tx, "sender (receiver %v)", o.rx)
				require.Equal(t, t30.ResultOK, o.rx, "receiver")
				require.Equal(t, 3, o.txStats.Pages)
				checkPages(t, o)
			})
		}
	}
}

// TestTerminalNonECMLoss: without ECM nothing is retransmitted, so pages
// lose rows with the packets that carried them. The call still ends on
// its own, and every page the receiver accepts differs from the sent one
// only in rows it counted bad (what T.30's copy-quality check judged).
func TestTerminalNonECMLoss(t *testing.T) {
	for seed := uint64(1); seed <= 6; seed++ {
		for _, comp := range []t30.Compression{t30.MH, t30.MR} {
			t.Run(fmt.Sprintf("%v/seed%d", comp, seed), func(t *testing.T) {
				t.Parallel()
				o := runCall(t, callSpec{pages: 2, height: 1200, ecm: false, comp: comp, speed: 40,
					term: TerminalConfig{EC: ECNone, Pacing: PacingNone},
					imp:  [2]transport.Impairment{{Loss: 0.03, Seed: seed}, {Loss: 0.03, Seed: seed + 50}}})
				bad := 0
				for _, p := range o.got {
					bad += p.Quality.BadRows
				}
				t.Logf("tx %v rx %v: %d pages accepted (%d bad rows), %d rejected, lost %d packets, %d rows marked",
					o.tx, o.rx, len(o.got), bad, o.rxStats.PagesRejected, o.term[1].DataLost, o.term[1].RowsMarked)
				require.NotEqual(t, t30.ResultInProgress, o.tx)
				require.Equal(t, len(o.got), o.txStats.Pages, "pages the sender counts confirmed")
				for i, rp := range o.got {
					b, _, err := t4.DecodePage(bytes.NewReader(rp.Data), 1728, &t4.DecodeOptions{
						Compression: t30.T4Compression(rp.Mode.Compression), BitOrder: t4.LSBFirst})
					require.NoError(t, err)
					want := o.doc.Pages[i]
					// A page reported clean is exact; a damaged one is
					// reported damaged, and rows lost whole are counted.
					if rp.Quality.BadRows == 0 {
						require.Zero(t, rowsDiffer(b, want), "page %d reported clean but differs", i+1)
					}
					hd := max(b.Height-want.Height, want.Height-b.Height)
					require.LessOrEqual(t, hd, rp.Quality.BadRows, "page %d: %d rows (want %d), %d reported bad", i+1, b.Height, want.Height, rp.Quality.BadRows)
				}
			})
		}
	}
}
