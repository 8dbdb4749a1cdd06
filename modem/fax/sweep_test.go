package fax

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/faxkit/faxkit/internal/peertest"
	"github.com/faxkit/faxkit/modem/g711"
	"github.com/faxkit/faxkit/modem/internal/faxref"
	"github.com/faxkit/faxkit/t30"
)

// TestLossSweep compares faxkit's receiving terminal with spandsp's on the
// same impaired path: spandsp's fax_state_t sends ITU chart 1 with ECM
// through µ-law and RTP with loss and 20 ms of jitter into a 60 ms jitter
// buffer (a lost block is skipped by faxkit, played as silence to spandsp,
// which cannot skip); the way back is clean. For each rate and loss it
// counts completed calls out of seeds and the ECM retransmissions. It is a
// sweep, not a regression test: FAXKIT_AUDIO_SWEEP=1 go test ./modem/fax
// -run LossSweep -v
func TestLossSweep(t *testing.T) {
	if os.Getenv("FAXKIT_AUDIO_SWEEP") == "" {
		t.Skip("set FAXKIT_AUDIO_SWEEP=1")
	}
	exe := faxref.Build(t)
	tif := filepath.Join(peertest.SharedTestdata(t), "ccitt", "itu1.tif")
	const seeds = 4
	fmt.Printf("%-8s %-6s %-22s %-22s\n", "modem", "loss", "spandsp→faxkit ok/retx", "spandsp→spandsp ok/retx")
	for _, modems := range []string{"v29", "v27"} {
		for _, loss := range []float64{0, 0.005, 0.01, 0.02} {
			var okF, okS, retxF, retxS int
			for seed := range uint64(seeds) {
				// faxkit receives
				s, _ := t30.NewSession(t30.Config{Capabilities: audioCaps(true, t30.ModemsV29|t30.ModemsV27ter)})
				term := NewTerminal(s, NewCore(nil), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
				p := faxref.Start(t, exe, faxref.Config{Send: true, File: tif, Calling: true, Modems: modems})
				n := &netSim{rng: rand.New(rand.NewPCG(seed, 11)), loss: loss, jitter: 20, jb: NewJitterBuffer(3), law: g711.ULaw}
				var ours, theirs, in, pin [BlockSize]int16
				var heard []int16
				after := 0
				for i := 0; i < 12000 && after < 500; i++ {
					term.Process(heard, ours[:])
					pin = ours
					g711.Channel(g711.ULaw, pin[:])
					if p.Step(pin[:], theirs[:]) != nil {
						break
					}
					n.send(i*20, theirs[:])
					heard = n.recv(i*20, in[:])
					if term.Done() {
						after++
					}
				}
				r, _ := p.Close()
				if r.OK && s.Result() == t30.ResultOK {
					okF++
				}
				retxF += r.ECMRetries
				// spandsp receives
				tx := faxref.Start(t, exe, faxref.Config{Send: true, File: tif, Calling: true, Modems: modems})
				rx := faxref.Start(t, exe, faxref.Config{File: filepath.Join(t.TempDir(), "rx.tif"), Modems: modems})
				n = &netSim{rng: rand.New(rand.NewPCG(seed, 11)), loss: loss, jitter: 20, jb: NewJitterBuffer(3), law: g711.ULaw}
				var a, b, bin [BlockSize]int16
				for i := 0; i < 12000; i++ {
					if rx.Step(bin[:], b[:]) != nil {
						break
					}
					g711.Channel(g711.ULaw, b[:])
					if tx.Step(b[:], a[:]) != nil {
						break
					}
					n.send(i*20, a[:])
					n.recv(i*20, bin[:])
				}
				rt, _ := tx.Close()
				rr, _ := rx.Close()
				if rt.OK && rr.OK {
					okS++
				} else if os.Getenv("FAX_TRACE") != "" {
					t.Logf("spandsp→spandsp %s loss %v seed %d: sender %q (%d ms), receiver %q", modems, loss, seed, rt.Result, rt.LineMS, rr.Result)
				}
				retxS += rt.ECMRetries
			}
			fmt.Printf("%-8s %-6s %-22s %-22s\n", modems, fmt.Sprintf("%.1f%%", loss*100),
				fmt.Sprintf("%d/%d %d", okF, seeds, retxF), fmt.Sprintf("%d/%d %d", okS, seeds, retxS))
		}
	}
}
