package fax

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit/modem/g711"
	"github.com/faxkit/faxkit/t30"
	"github.com/faxkit/faxkit/t4"
)

// TestNonECMGapsMarked holds non-ECM faxkit-to-faxkit calls through
// simulated G.711 RTP that loses packets (one in the middle of the page,
// or 0.5 % at random), at each modem and in MH and MR, and compares the
// page received with the page sent row by row: every row the decoder did
// not report bad is the sent row at its place (the same row number when
// the page's row count is certain, else the place the rows around it
// say), so no damaged row goes unreported.
func TestNonECMGapsMarked(t *testing.T) {
	for _, m := range []struct {
		name   string
		modems t30.ModemSet
		rate   int
	}{
		{"V17", t30.ModemsV17 | t30.ModemsV29 | t30.ModemsV27ter, 14400},
		{"V29", t30.ModemsV29 | t30.ModemsV27ter, 9600},
		{"V27ter", t30.ModemsV27ter, 4800},
	} {
		for _, mr := range []bool{false, true} {
			for _, loss := range []struct {
				name   string
				dropAt int // the packet index dropped (0: none)
				rate   float64
			}{
				{"one-lost", 0, 0},
				{"0.5%", 0, 0.005},
			} {
				coding := map[bool]string{false: "MH", true: "MR"}[mr]
				t.Run(fmt.Sprintf("%s/%s/%s", m.name, coding, loss.name), func(t *testing.T) {
					caps := audioCaps(false, m.modems)
					caps.MR = mr
					doc := testDoc(1, 1100)
					var got []t30.ReceivedPage
					txs, err := t30.NewSession(t30.Config{OnRecord: traceFn(t, "A"), Calling: true, Transmit: true, Document: doc, Capabilities: caps})
					require.NoError(t, err)
					rxs, err := t30.NewSession(t30.Config{OnRecord: traceFn(t, "B"), Capabilities: caps,
						OnPage: func(p t30.ReceivedPage) error { got = append(got, p); return nil }})
					require.NoError(t, err)
					start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
					a, b := NewTerminal(txs, NewCore(nil), start), NewTerminal(rxs, NewCore(nil), start)
					ab := &netSim{rng: rand.New(rand.NewPCG(uint64(m.rate), 3)), loss: loss.rate, jitter: 20, jb: NewJitterBuffer(3), law: g711.ULaw}
					ba := &netSim{rng: rand.New(rand.NewPCG(2, 3)), jitter: 20, jb: NewJitterBuffer(3), law: g711.ULaw}
					var aIn, aOut, bIn, bOut [BlockSize]int16
					imageBlocks, dropped := 0, false
					for i := 0; i < 15000 && !(a.Done() && b.Done()); i++ {
						now := i * 20
						a.Process(ba.recv(now, aIn[:]), aOut[:])
						b.Process(ab.recv(now, bIn[:]), bOut[:])
						// One lost packet: a second into the page data.
						if loss.rate == 0 && !dropped && b.Core().trained && b.Core().rxMode == 1 && !b.Core().onlyZeros {
							if imageBlocks++; imageBlocks == 50 {
								ab.ts += BlockSize
								dropped = true
								continue
							}
						}
						ab.send(now, aOut[:])
						ba.send(now, bOut[:])
					}
					require.Equal(t, t30.ResultOK, txs.Result())
					require.Equal(t, t30.ResultOK, rxs.Result())
					require.Len(t, got, 1)
					st := b.Core().Stats()
					t.Logf("%d bit/s %v; lost %d blocks; gaps marked %d, rows marked %d; quality %+v",
						got[0].Mode.Speed.BitRate(), got[0].Mode.Compression, ab.jb.Stats().Missing, st.GapsMarked, st.RowsMarked, got[0].Quality)
					require.Equal(t, m.rate, got[0].Mode.Speed.BitRate())
					require.Positive(t, st.GapsMarked, "no packet of page data was lost: the test tests nothing")
					require.True(t, got[0].Quality.RowsUncertain, "a gap's row count is a guess")
					sameRowsOrBad(t, doc.Pages[0], got[0])
				})
			}
		}
	}
}

// sameRowsOrBad decodes a received non-ECM page and checks it against the
// page sent: between runs of rows the decoder reported bad, the good rows
// are a run of the sent page's rows, each run after the last, and when
// the page's row count is certain, at the same row numbers.
func sameRowsOrBad(t *testing.T, want *t4.Bitmap, rp t30.ReceivedPage) {
	t.Helper()
	dec, err := t4.NewDecoder(bytes.NewReader(rp.Data), want.Width, &t4.DecodeOptions{
		Compression: t30.T4Compression(rp.Mode.Compression), BitOrder: t4.LSBFirst})
	require.NoError(t, err)
	var rows [][]byte
	var bad []bool
	for {
		row := make([]byte, want.Stride)
		if dec.ReadRow(row) != nil {
			break
		}
		rows = append(rows, row)
		bad = append(bad, dec.RowBad())
	}
	nbad := 0
	next := 0 // the first sent row the next good run may start at
	for y := 0; y < len(rows); {
		if bad[y] {
			nbad++
			y++
			continue
		}
		end := y
		for end < len(rows) && !bad[end] {
			end++
		}
		// Where the run of good rows y..end-1 lies in the sent page: at
		// y when nothing was lost before it, else anywhere after the
		// last run, nearest to y.
		at := -1
		match := func(p int) bool {
			if p < next || p+end-y > want.Height {
				return false
			}
			for k := y; k < end; k++ {
				if !bytes.Equal(rows[k], want.Row(p+k-y)) {
					return false
				}
			}
			return true
		}
		if !rp.Quality.RowsUncertain || y == 0 {
			if match(y) {
				at = y
			}
		} else {
			for d := 0; d < want.Height && at < 0; d++ {
				if match(y + d) {
					at = y + d
				} else if match(y - d) {
					at = y - d
				}
			}
		}
		require.GreaterOrEqual(t, at, 0, "rows %d..%d are not reported bad and are not the sent rows", y, end-1)
		next = at + end - y
		y = end
	}
	t.Logf("%d of %d rows, %d reported bad", len(rows), want.Height, nbad)
	require.Equal(t, rp.Quality.BadRows, nbad)
	if !rp.Quality.RowsUncertain {
		require.Equal(t, want.Height, len(rows))
	}
}

// TestLostTraining: a packet lost in the training of a long page burst
// (ECM and not) fails that training; the receiver reports the carrier all
// the same, so the session waits out the burst (T2 is 6 s, the burst
// longer) and answers the command after it: PPR for the whole ECM block,
// RTN for the non-ECM page, which the sender sends again. Before, the
// receiving session timed out in the middle of the burst.
func TestLostTraining(t *testing.T) {
	for _, ecm := range []bool{true, false} {
		t.Run(map[bool]string{true: "ECM", false: "nonECM"}[ecm], func(t *testing.T) {
			caps := audioCaps(ecm, t30.ModemsV29|t30.ModemsV27ter)
			doc := testDoc(1, 2200)
			txs, err := t30.NewSession(t30.Config{Calling: true, Transmit: true, Document: doc, Capabilities: caps, OnRecord: traceFn(t, "A")})
			require.NoError(t, err)
			var got []t30.ReceivedPage
			rxs, err := t30.NewSession(t30.Config{Capabilities: caps, OnRecord: traceFn(t, "B"),
				OnPage: func(p t30.ReceivedPage) error { got = append(got, p); return nil }})
			require.NoError(t, err)
			start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			a, b := NewTerminal(txs, NewCore(nil), start), NewTerminal(rxs, NewCore(nil), start)
			ab := &netSim{rng: rand.New(rand.NewPCG(1, 3)), jb: NewJitterBuffer(3), law: g711.ULaw}
			ba := &netSim{rng: rand.New(rand.NewPCG(2, 3)), jb: NewJitterBuffer(3), law: g711.ULaw}
			var aIn, aOut, bIn, bOut [BlockSize]int16
			run, dropped := 0, false
			for i := 0; i < 15000 && !(a.Done() && b.Done()); i++ {
				now := i * 20
				a.Process(ba.recv(now, aIn[:]), aOut[:])
				b.Process(ab.recv(now, bIn[:]), bOut[:])
				loud := 0.0
				for _, v := range aOut {
					loud += float64(v) * float64(v)
				}
				if loud > 1000*BlockSize {
					run++
				} else {
					run = 0
				}
				// The 8th block of the first image burst after TCF (160
				// ms into the V.29 training).
				if !dropped && b.Core().Stats().Trainings == 1 && run == 8 && b.Core().listen != t30.SpeedNone {
					ab.ts += BlockSize
					dropped = true
				} else {
					ab.send(now, aOut[:])
				}
				ba.send(now, bOut[:])
			}
			st := b.Core().Stats()
			t.Logf("tx %v rx %v; line %v; rx modem %+v", txs.Result(), rxs.Result(), a.Now().Sub(start), st)
			require.True(t, dropped)
			require.Equal(t, 1, st.TrainingFailed)
			require.Equal(t, t30.ResultOK, txs.Result())
			require.Equal(t, t30.ResultOK, rxs.Result())
			checkPages(t, callOutcome{doc: doc, got: got})
		})
	}
}
