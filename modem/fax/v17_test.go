package fax

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit/internal/peertest"
	"github.com/faxkit/faxkit/modem/g711"
	"github.com/faxkit/faxkit/modem/internal/faxref"
	"github.com/faxkit/faxkit/t30"
	"github.com/faxkit/faxkit/t4"
)

// TestV17TCFThenPage: TCF with V.17's long training, then a page with
// its short training, core to core, at every V.17 rate.
func TestV17TCFThenPage(t *testing.T) {
	for _, s := range []t30.Speed{t30.V17_14400, t30.V17_12000, t30.V17_9600, t30.V17_7200} {
		t.Run(s.String(), func(t *testing.T) {
			data, err := t4.AppendPage(nil, testPage(0, 1728, 400), &t4.EncodeOptions{Compression: t4.MR, K: 4, BitOrder: t4.LSBFirst})
			require.NoError(t, err)
			a, b := NewCore(nil), NewCore(nil)
			require.NoError(t, b.Receive(s))
			require.NoError(t, a.SendTCF(s, t30.TCFDuration))
			require.NoError(t, a.SendImage(s, data))
			n := (8*len(data)*SampleRate/s.BitRate())/BlockSize + 400
			evs := pump(t, a, b, n)
			var tcf, got []byte
			var kinds []t30.EventKind
			for _, e := range evs {
				switch {
				case e.Kind == t30.EventData && len(kinds) < 2:
					tcf = append(tcf, e.Data...)
				case e.Kind == t30.EventData:
					got = append(got, e.Data...)
				default:
					kinds = append(kinds, e.Kind)
				}
			}
			up, down := t30.EventCarrierUp, t30.EventCarrierDown
			require.Equal(t, []t30.EventKind{up, down, up, down}, kinds)
			require.Equal(t, 2, b.Stats().Trainings)
			require.GreaterOrEqual(t, len(tcf), s.BitRate()*3/2/8*9/10, "TCF octets")
			require.Equal(t, make([]byte, len(tcf)), tcf, "TCF is zeros")
			require.GreaterOrEqual(t, len(got), len(data))
			require.True(t, bytes.Equal(got[:len(data)], data), "page data differs")
		})
	}
}

// TestV17BackToBack: whole calls between two terminals offering V.17,
// V.29 and V.27ter: they meet at V.17 14 400 (TCF long-trained, pages
// short-trained), with ECM and without, through G.711 and noise.
func TestV17BackToBack(t *testing.T) {
	all := t30.ModemsV17 | t30.ModemsV29 | t30.ModemsV27ter
	for _, c := range []struct {
		name string
		spec callSpec
	}{
		{"ECM-ulaw-2pages", callSpec{ecm: true, modems: all, g711: true, law: g711.ULaw, pages: 2}},
		{"nonECM-alaw-noise", callSpec{modems: all, g711: true, law: g711.ALaw, noise: -45, pages: 2}},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := runCall(t, c.spec)
			t.Logf("tx %v rx %v; line time %v; rx modem %+v", o.tx, o.rx, o.lineTime, o.rxCore)
			require.Equal(t, t30.ResultOK, o.tx, fmt.Sprint(o.tx))
			require.Equal(t, t30.ResultOK, o.rx, fmt.Sprint(o.rx))
			checkPages(t, o)
			require.Equal(t, t30.V17_14400, o.rxCore.LastSpeed)
			require.Zero(t, o.rxCore.FramesBad, "bad frames")
			require.Zero(t, o.rxCore.TrainingFailed)
			require.Greater(t, o.rxCore.SNR, 25.0)
		})
	}
}

// TestV17Spandsp: calls with libspandsp's fax_state_t at V.17 14 400,
// both directions, ECM and not: spandsp sends ITU chart 1 to us (pixel
// for pixel), and we send a page to spandsp (which must report it
// received at 14 400 without bad rows).
func TestV17Spandsp(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	exe := faxref.Build(t)
	tif := filepath.Join(peertest.SharedTestdata(t), "ccitt", "itu1.tif")
	all := t30.ModemsV17 | t30.ModemsV29 | t30.ModemsV27ter
	for _, ecm := range []bool{true, false} {
		t.Run(fmt.Sprintf("spandsp-sends/ecm=%v", ecm), func(t *testing.T) {
			var got []t30.ReceivedPage
			s, err := t30.NewSession(t30.Config{LocalIdent: "+1 555 0100", Capabilities: audioCaps(ecm, all),
				OnPage: func(p t30.ReceivedPage) error { got = append(got, p); return nil }})
			require.NoError(t, err)
			term := NewTerminal(s, NewCore(nil), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
			p := faxref.Start(t, exe, faxref.Config{Send: true, File: tif, Calling: true, NoECM: !ecm, Modems: "v17",
				Verbose: os.Getenv("FAX_TRACE") != ""})
			r := withSpandsp(t, term, p, spandspLine(g711.ULaw))
			st := term.Core().Stats()
			t.Logf("ours %v; spandsp %+v; our receiver %+v", s.Result(), r, st)
			require.Equal(t, t30.ResultOK, s.Result())
			require.True(t, r.OK, "spandsp: %s", r.Result)
			require.Equal(t, 14400, r.BitRate)
			require.Equal(t, t30.V17_14400, st.LastSpeed)
			require.Len(t, got, 1)
			b, q, err := t4.DecodePage(bytes.NewReader(got[0].Data), 1728, &t4.DecodeOptions{
				Compression: t30.T4Compression(got[0].Mode.Compression), BitOrder: t4.LSBFirst})
			require.NoError(t, err)
			require.Zero(t, q.BadRows)
			sum := sha256.Sum256(b.Pix)
			require.Equal(t, "b4de070c35e376e8", hex.EncodeToString(sum[:8]), "page differs from ITU chart 1")
		})
		t.Run(fmt.Sprintf("we-send/ecm=%v", ecm), func(t *testing.T) {
			doc := testDoc(2, 600)
			s, err := t30.NewSession(t30.Config{Calling: true, Transmit: true, Document: doc,
				Capabilities: audioCaps(ecm, all), LocalIdent: "+1 555 0100"})
			require.NoError(t, err)
			term := NewTerminal(s, NewCore(nil), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
			out := filepath.Join(t.TempDir(), "rx.tif")
			p := faxref.Start(t, exe, faxref.Config{File: out, NoECM: !ecm, Modems: "v17",
				Verbose: os.Getenv("FAX_TRACE") != ""})
			r := withSpandsp(t, term, p, spandspLine(g711.ALaw))
			t.Logf("ours %v; spandsp %+v", s.Result(), r)
			require.Equal(t, t30.ResultOK, s.Result())
			require.True(t, r.OK, "spandsp: %s", r.Result)
			require.Equal(t, 2, r.Pages)
			require.Equal(t, 14400, r.BitRate)
			require.Equal(t, ecm, r.ECM)
			require.Zero(t, r.BadRows)
		})
	}
}

// TestV17TrainingLength: TCF and the first ECM burst after CTC have V.17's
// long training; a burst after TCF at the same speed the short one (about
// 1.3 s shorter).
func TestV17TrainingLength(t *testing.T) {
	s := t30.V17_14400
	frames := [][]byte{{0xff, 0x03, 0x06, 0x00, 1, 2, 3}}
	blocks := func(c *Core, send func() error) int {
		require.NoError(t, send())
		var rx, tx [BlockSize]int16
		n := 0
		for c.Busy() && n < 2000 {
			c.Process(rx[:], tx[:])
			c.Poll()
			n++
		}
		return n
	}
	c := NewCore(nil)
	first := blocks(c, func() error { return c.SendFrames(s, frames) })
	blocks(c, func() error { return c.SendTCF(s, t30.TCFDuration) })
	short := blocks(c, func() error { return c.SendFrames(s, frames) })
	blocks(c, func() error { return c.SendFrames(t30.SpeedNone, [][]byte{{0xff, 0x13, 0x12, 0x00, 0x46}}) }) // CTC
	afterCTC := blocks(c, func() error { return c.SendFrames(s, frames) })
	t.Logf("blocks: before TCF %d, after TCF %d, after CTC %d", first, short, afterCTC)
	// Long training: 256+2976+64+48 symbols at 2400 baud ≈ 1.39 s; short:
	// 256+38+48 ≈ 0.14 s.
	require.InDelta(t, first-short, 62, 3, "training after TCF not short")
	require.Equal(t, first, afterCTC, "training after CTC not long")
}

// TestV17Fallback: on a line too noisy for 14 400 bit/s (both ends send
// at -34 dBm0, white noise at -50 dBm0: 16 dB SNR, the noise below the
// carrier-off threshold as on a real line), the TCF at V.17 14 400 fails, the receiver answers
// FTT and the sender steps down the V.17 rates until a TCF passes; the
// page then arrives (ECM) at the lower rate.
func TestV17Fallback(t *testing.T) {
	all := t30.ModemsV17 | t30.ModemsV29 | t30.ModemsV27ter
	o := runCall(t, callSpec{ecm: true, modems: all, g711: true, law: g711.ULaw, noise: -50, level: -34})
	t.Logf("tx %v rx %v; line time %v; rx modem %+v; tx session %+v", o.tx, o.rx, o.lineTime, o.rxCore, o.txSt)
	require.Equal(t, t30.ResultOK, o.tx, fmt.Sprint(o.tx))
	require.Equal(t, t30.ResultOK, o.rx, fmt.Sprint(o.rx))
	checkPages(t, o)
	require.Less(t, o.rxCore.LastSpeed.BitRate(), 14400, "no fallback")
	require.GreaterOrEqual(t, o.txSt.FTTs, 1)
	require.Equal(t, t30.V17, o.rxCore.LastSpeed.Modulation())
}
