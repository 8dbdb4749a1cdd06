package fax

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	xtiff "golang.org/x/image/tiff"

	"github.com/faxkit/faxkit/internal/peertest"
	"github.com/faxkit/faxkit/modem/g711"
	"github.com/faxkit/faxkit/modem/internal/faxref"
	"github.com/faxkit/faxkit/t30"
	"github.com/faxkit/faxkit/t4"
)

// withSpandsp holds a call between term and the spandsp peer, block for
// block through the line l (both directions), until both ends are done
// (spandsp is given 10 s of line time after ours ends to reach phase E).
func withSpandsp(t *testing.T, term *Terminal, p *faxref.Peer, l *line) faxref.Result {
	t.Helper()
	var ours, theirs, in, pin [BlockSize]int16
	limit := int(4 * time.Minute / (20 * time.Millisecond))
	after := 0
	for i := 0; i < limit && after < 500; i++ {
		term.Process(in[:], ours[:])
		pin = ours
		l.carry(pin[:])
		require.NoError(t, p.Step(pin[:], theirs[:]))
		in = theirs
		l.carry(in[:])
		if term.Done() {
			after++
		}
	}
	r, err := p.Close()
	require.NoError(t, err)
	require.True(t, term.Done(), "our session did not end: %v", term.Session().Result())
	return r
}

func spandspLine(law g711.Law) *line { return &line{g711: true, law: law} }

// TestSpandspImpaired: spandsp sends ITU chart 1 with ECM through an
// impaired path to us: its signal 10 dB down (about −24 dBm0 for V.29),
// white noise at −50 dBm0, G.711, and RTP with 0.5 % loss and up to 20 ms
// of jitter into a fixed 60 ms jitter buffer. Our path back to spandsp is
// clean (spandsp's receivers do not ride through a lost packet). The page
// must arrive pixel for pixel.
func TestSpandspImpaired(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	exe := faxref.Build(t)
	tif := filepath.Join(peertest.SharedTestdata(t), "ccitt", "itu1.tif")
	for _, c := range []struct {
		modems string
		law    g711.Law
		seed   uint64
	}{{"v29", g711.ULaw, 7}, {"v27", g711.ALaw, 8}} {
		t.Run(c.modems, func(t *testing.T) {
			var got []t30.ReceivedPage
			s, err := t30.NewSession(t30.Config{OnRecord: traceFn(t, "B"), Capabilities: audioCaps(true, t30.ModemsV29|t30.ModemsV27ter),
				OnPage: func(p t30.ReceivedPage) error { got = append(got, p); return nil }})
			require.NoError(t, err)
			term := NewTerminal(s, NewCore(nil), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
			p := faxref.Start(t, exe, faxref.Config{Send: true, File: tif, Calling: true, Modems: c.modems,
				Verbose: os.Getenv("FAX_TRACE") != ""})
			rng := rand.New(rand.NewPCG(c.seed, 5))
			net := &netSim{rng: rng, loss: 0.005, jitter: 20, jb: NewJitterBuffer(3), law: c.law}
			noise := &line{noise: -50, rng: rng}
			back := spandspLine(c.law)
			var ours, theirs, in, pin [BlockSize]int16
			var heard []int16
			after := 0
			for i := 0; i < 12000 && after < 500; i++ {
				term.Process(heard, ours[:])
				pin = ours
				back.carry(pin[:])
				require.NoError(t, p.Step(pin[:], theirs[:]))
				for k, v := range theirs {
					theirs[k] = int16(float64(v) * 0.31623) // −10 dB
				}
				noise.carry(theirs[:])
				net.send(i*20, theirs[:])
				heard = net.recv(i*20, in[:])
				if term.Done() {
					after++
				}
			}
			r, err := p.Close()
			require.NoError(t, err)
			st := term.Core().Stats()
			t.Logf("ours %v; spandsp %+v; our receiver %+v; jitter buffer %+v; PPRs sent %d", s.Result(), r, st, net.jb.Stats(), s.Stats().PPRs)
			require.Equal(t, t30.ResultOK, s.Result())
			require.True(t, r.OK, "spandsp: %s", r.Result)
			require.NotZero(t, net.jb.Stats().Missing)
			require.Len(t, got, 1)
			b, q, err := t4.DecodePage(bytes.NewReader(got[0].Data), 1728, &t4.DecodeOptions{
				Compression: t30.T4Compression(got[0].Mode.Compression), BitOrder: t4.LSBFirst})
			require.NoError(t, err)
			require.Zero(t, q.BadRows)
			sum := sha256.Sum256(b.Pix)
			require.Equal(t, "b4de070c35e376e8", hex.EncodeToString(sum[:8]))
		})
	}
}

// TestSpandspSendsToUs: spandsp's fax_state_t sends ITU test chart 1 over
// audio (V.29 9600, or V.27ter 4800 when capped) to our receiving terminal;
// the page must arrive pixel for pixel.
func TestSpandspSendsToUs(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	exe := faxref.Build(t)
	tif := filepath.Join(peertest.SharedTestdata(t), "ccitt", "itu1.tif")
	for _, c := range []struct {
		ecm    bool
		modems string
		law    g711.Law
		speed  t30.Speed
	}{
		{true, "v29", g711.ULaw, t30.V29_9600},
		{false, "v29", g711.ALaw, t30.V29_9600},
		{true, "v27", g711.ALaw, t30.V27ter4800},
		{false, "v27", g711.ULaw, t30.V27ter4800},
	} {
		t.Run(fmt.Sprintf("ecm=%v/%s/%v", c.ecm, c.speed, c.law), func(t *testing.T) {
			var got []t30.ReceivedPage
			s, err := t30.NewSession(t30.Config{LocalIdent: "+1 555 0100", Capabilities: audioCaps(c.ecm, t30.ModemsV29|t30.ModemsV27ter),
				OnPage: func(p t30.ReceivedPage) error { got = append(got, p); return nil }})
			require.NoError(t, err)
			term := NewTerminal(s, NewCore(nil), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
			p := faxref.Start(t, exe, faxref.Config{Send: true, File: tif, Calling: true, NoECM: !c.ecm, Modems: c.modems,
				Verbose: os.Getenv("FAX_TRACE") != ""})
			r := withSpandsp(t, term, p, spandspLine(c.law))
			st := term.Core().Stats()
			t.Logf("ours %v; spandsp %+v; our receiver %+v", s.Result(), r, st)
			require.Equal(t, t30.ResultOK, s.Result())
			require.True(t, r.OK, "spandsp: %s", r.Result)
			require.Len(t, got, 1)
			require.Equal(t, c.speed, st.LastSpeed)
			require.Equal(t, c.ecm, got[0].Mode.ECM)
			b, q, err := t4.DecodePage(bytes.NewReader(got[0].Data), 1728, &t4.DecodeOptions{
				Compression: t30.T4Compression(got[0].Mode.Compression), BitOrder: t4.LSBFirst})
			require.NoError(t, err)
			require.Zero(t, q.BadRows)
			require.Equal(t, 2376, b.Height)
			sum := sha256.Sum256(b.Pix)
			require.Equal(t, "b4de070c35e376e8", hex.EncodeToString(sum[:8]), "page differs from ITU chart 1 (t30/testdata README)")
		})
	}
}

// TestWeSendToSpandsp: our terminal calls spandsp's and sends a fine
// page; the TIFF spandsp writes must equal it pixel for pixel.
func TestWeSendToSpandsp(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	exe := faxref.Build(t)
	tiffcp := peertest.Program(t, "tiffcp", "apt-get install libtiff-tools")
	for _, c := range []struct {
		ecm    bool
		modems t30.ModemSet
		law    g711.Law
		rate   int
	}{
		{true, t30.ModemsV29 | t30.ModemsV27ter, g711.ULaw, 9600},
		{false, t30.ModemsV29 | t30.ModemsV27ter, g711.ALaw, 9600},
		{true, t30.ModemsV27ter, g711.ALaw, 4800},
		{false, t30.ModemsV27ter, g711.ULaw, 4800},
	} {
		t.Run(fmt.Sprintf("ecm=%v/%d/%v", c.ecm, c.rate, c.law), func(t *testing.T) {
			doc := testDoc(1, 600)
			s, err := t30.NewSession(t30.Config{Calling: true, Transmit: true, Document: doc,
				Capabilities: audioCaps(c.ecm, c.modems), LocalIdent: "+1 555 0100"})
			require.NoError(t, err)
			term := NewTerminal(s, NewCore(nil), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
			out := filepath.Join(t.TempDir(), "rx.tif")
			p := faxref.Start(t, exe, faxref.Config{File: out, NoECM: !c.ecm, Modems: "v17",
				Verbose: os.Getenv("FAX_TRACE") != ""})
			r := withSpandsp(t, term, p, spandspLine(c.law))
			t.Logf("ours %v; spandsp %+v", s.Result(), r)
			require.Equal(t, t30.ResultOK, s.Result())
			require.True(t, r.OK, "spandsp: %s", r.Result)
			require.Equal(t, 1, r.Pages)
			require.Equal(t, c.rate, r.BitRate)
			require.Equal(t, c.ecm, r.ECM)
			require.Zero(t, r.BadRows)
			plain := filepath.Join(t.TempDir(), "plain.tif")
			if b, err := exec.Command(tiffcp, "-c", "none", "-f", "msb2lsb", out+",0", plain).CombinedOutput(); err != nil {
				t.Fatalf("tiffcp: %v %s", err, b)
			}
			f, err := os.Open(plain)
			require.NoError(t, err)
			defer f.Close()
			img, err := xtiff.Decode(f)
			require.NoError(t, err)
			want := doc.Pages[0]
			require.Equal(t, image.Rect(0, 0, want.Width, want.Height), img.Bounds())
			diff := 0
			for y := 0; y < want.Height; y++ {
				for x := 0; x < want.Width; x++ {
					r, _, _, _ := img.At(x, y).RGBA()
					if black := want.Row(y)[x/8]&(0x80>>(x%8)) != 0; black != (r < 0x8000) {
						diff++
					}
				}
			}
			require.Zero(t, diff, "pixels differ")
		})
	}
}
