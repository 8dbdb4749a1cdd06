package t30

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faxkit/faxkit/internal/peertest"
)

type capture struct {
	side  byte
	frame []byte
}

func parseCaptures(t *testing.T, data []byte) []capture {
	t.Helper()
	var out []capture
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		b, err := hex.DecodeString(strings.ReplaceAll(line[2:], " ", ""))
		if err != nil {
			t.Fatalf("bad capture line %q: %v", line, err)
		}
		out = append(out, capture{side: line[0], frame: b})
	}
	return out
}

var spandspRuns = []struct {
	ecm  bool
	comp int // spandsp T30_SUPPORT_* mask
}{{true, 2}, {true, 6}, {true, 14}, {false, 2}, {false, 6}, {false, 14}}

func captureName(ecm bool, comp int) string {
	e := 0
	if ecm {
		e = 1
	}
	return fmt.Sprintf("ecm%d-comp%d.txt", e, comp)
}

// TestSpandspCaptures decodes the control frames two spandsp terminals
// exchanged (testdata/spandsp/README.md) and checks that we read them as
// spandsp meant them, re-encode them byte for byte, and would have chosen
// the same mode from spandsp's DIS.
func TestSpandspCaptures(t *testing.T) {
	for _, run := range spandspRuns {
		name := captureName(run.ecm, run.comp)
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "spandsp", name))
			if err != nil {
				t.Fatal(err)
			}
			var dis DIS
			var dcs DCS
			var haveDIS, haveDCS bool
			for _, c := range parseCaptures(t, data) {
				f, err := ParseFrame(c.frame)
				if err != nil {
					t.Fatalf("%c % X: %v", c.side, c.frame, err)
				}
				if !f.FCF.Known() {
					t.Errorf("unknown FCF in % X", c.frame)
				}
				again, err := f.MarshalBinary()
				if err != nil || !bytes.Equal(again, c.frame) {
					t.Errorf("re-encoded % X as % X (%v)", c.frame, again, err)
				}
				switch f.FCF {
				case FCFCSI, FCFTSI:
					id, err := DecodeIdent(f.Info)
					want := map[byte]string{'A': "+1 555 0100", 'B': "+1 555 0199"}[c.side]
					if err != nil || id != want {
						t.Errorf("ident %q (%v), want %q", id, err, want)
					}
				case FCFDIS:
					dis, err = ParseDIS(f)
					haveDIS = err == nil
					fif, _ := dis.MarshalBinary()
					if err != nil || !bytes.Equal(fif, f.Info) {
						t.Errorf("DIS FIF % X re-encoded as % X (%v)", f.Info, fif, err)
					}
				case FCFDCS:
					dcs, err = ParseDCS(f)
					haveDCS = err == nil
					fif, _ := dcs.MarshalBinary()
					if err != nil || !bytes.Equal(fif, f.Info) {
						t.Errorf("DCS FIF % X re-encoded as % X (%v)", f.Info, fif, err)
					}
					if !f.X {
						t.Errorf("DCS without X bit")
					}
				case FCFPPS:
					p, err := ParsePPS(f)
					if err != nil || p.FCF2 != FCFEOP || p.Frames < 2 {
						t.Errorf("PPS %+v (%v)", p, err)
					}
				}
			}
			if !haveDIS || !haveDCS {
				t.Fatal("capture lacks DIS or DCS")
			}
			// what spandsp's receiver offered
			if !dis.ReadyToReceive || !dis.T38 || dis.Modems != ModemsV17|ModemsV29|ModemsV27ter || !dis.Fine ||
				!dis.Superfine || dis.Length != LengthUnlimited || dis.Width != WidthA4 || !dis.Letter || !dis.Legal ||
				!dis.MetricPreferred || dis.ECM != run.ecm || dis.MR != (run.comp&4 != 0) || dis.MMR != (run.ecm && run.comp&8 != 0) {
				t.Errorf("DIS decoded as %+v", dis)
			}
			if ms, half := dis.ScanTime.Standard(); ms != 0 || half {
				t.Errorf("DIS scan time %d ms half=%v, want 0", ms, half)
			}
			// our choice from spandsp's DIS, with the same offer as spandsp's sender
			caps := Capabilities{Modems: ModemsV17 | ModemsV29 | ModemsV27ter, ECM: run.ecm,
				MR: run.comp&4 != 0, MMR: run.comp&8 != 0, Width: WidthA4, Length: LengthUnlimited}
			m, err := ChooseMode(caps, dis, PageFormat{Resolution: ResFine, Width: WidthA4})
			if err != nil {
				t.Fatal(err)
			}
			got := ModeFromDCS(dcs)
			if m.Speed != got.Speed || m.Compression != got.Compression || m.ECM != got.ECM ||
				m.ECMFrameSize != got.ECMFrameSize || m.Resolution != got.Resolution || m.Width != got.Width ||
				m.ScanTimeMs != got.ScanTimeMs {
				t.Errorf("we chose %+v, spandsp %+v", m, got)
			}
		})
	}
}

// TestSpandspCapturesFresh rebuilds the harness against the installed
// libspandsp and checks it still produces the committed captures.
func TestSpandspCapturesFresh(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	flags := peertest.CFlags(t, "spandsp", "apt-get install libspandsp-dev libtiff-dev")
	flags = append(flags, "-ltiff")
	bin := peertest.BuildC(t, "frames", []string{filepath.Join("testdata", "spandsp", "frames.c")}, flags...)
	tif := filepath.Join(peertest.SharedTestdata(t), "ccitt", "itu1.tif")
	for _, run := range spandspRuns {
		e := "0"
		if run.ecm {
			e = "1"
		}
		out, err := exec.Command(bin, tif, filepath.Join(t.TempDir(), "rx.tif"), e, fmt.Sprint(run.comp), "7").Output()
		if err != nil {
			t.Fatalf("harness: %v", err)
		}
		want, _ := os.ReadFile(filepath.Join("testdata", "spandsp", captureName(run.ecm, run.comp)))
		if !bytes.Equal(out, want) {
			t.Errorf("%s: spandsp now sends\n%s", captureName(run.ecm, run.comp), out)
		}
	}
}
