package main

import (
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit/internal/peertest"
	"github.com/faxkit/faxkit/internal/sample"
	"github.com/faxkit/faxkit/t4"
	"github.com/faxkit/faxkit/tiff"
)

// letterTIFF writes a synthetic n-page letter as a TIFF and returns its
// path and pages.
func letterTIFF(t testing.TB, n int, cfg *tiff.WriterConfig) (string, []*t4.Bitmap) {
	t.Helper()
	all, err := letters()
	require.NoError(t, err)
	require.LessOrEqual(t, n, len(all))
	pages := all[:n]
	path := filepath.Join(t.TempDir(), "letter.tif")
	f, err := os.Create(path)
	require.NoError(t, err)
	w, err := tiff.NewWriter(f, cfg)
	require.NoError(t, err)
	for _, p := range pages {
		require.NoError(t, w.WritePage(p, &tiff.PageOptions{Resolution: tiff.ResFine}))
	}
	require.NoError(t, w.Close())
	require.NoError(t, f.Close())
	return path, pages
}

func bitmapsOf(t *testing.T, path string) ([]*t4.Bitmap, []tiff.PageInfo) {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	st, err := f.Stat()
	require.NoError(t, err)
	r, err := tiff.NewReader(f, st.Size(), nil)
	require.NoError(t, err)
	var bms []*t4.Bitmap
	var infos []tiff.PageInfo
	for p, err := range r.Pages() {
		require.NoError(t, err)
		bm, err := p.Bitmap()
		require.NoError(t, err)
		bms = append(bms, bm)
		infos = append(infos, p.Info)
	}
	return bms, infos
}

// letters renders the synthetic pages once (about 100 ms a page, much
// more under -race).
var letters = sync.OnceValues(func() ([]*t4.Bitmap, error) { return sample.Letters(3, sample.Fine) })

// freePort returns a UDP port on 127.0.0.1 that was free a moment ago.
func freePort(t testing.TB) string {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := c.LocalAddr().String()
	require.NoError(t, c.Close())
	return addr
}

// waitBound waits until something is bound to the UDP address addr (the
// receiver), so that the sender's CNG is not sent into the void. It reads
// /proc/net/udp rather than trying to bind, which would race with the
// receiver; elsewhere it just waits a little.
func waitBound(t testing.TB, addr string) {
	t.Helper()
	require.NoError(t, waitListening(addr))
}

func waitListening(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	pn, err := strconv.Atoi(port)
	if err != nil {
		return err
	}
	want := fmt.Sprintf(":%04X ", pn)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile("/proc/net/udp")
		if err != nil {
			time.Sleep(500 * time.Millisecond)
			return nil
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			if f := strings.Fields(line); len(f) > 1 && strings.HasSuffix(f[1]+" ", want) {
				return nil
			}
		}
		time.Sleep(time.Millisecond)
	}
	return fmt.Errorf("nothing listens on %s", addr)
}

// requiredJSON are the fields issue 7 promises in -json output.
var requiredJSON = []string{"ok", "result", "pages", "bit_rate", "compression", "ecm", "bad_rows", "remote_ident", "duration_ms"}

func decodeJSON(t *testing.T, stdout string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(stdout))
	var m map[string]any
	require.NoError(t, dec.Decode(&m), "stdout: %q", stdout)
	require.False(t, dec.More(), "exactly one JSON object on stdout: %q", stdout)
	for _, k := range requiredJSON {
		require.Contains(t, m, k)
	}
	return m
}

// decodeReport decodes the -json report into the report struct itself,
// refusing any key that is not one of its fields: every key is a field
// of jsonReport, none spliced into the text.
func decodeReport(t *testing.T, stdout string) jsonReport {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	var j jsonReport
	require.NoError(t, dec.Decode(&j), "stdout: %q", stdout)
	return j
}

func TestSendReceiveCLI(t *testing.T) {
	in, pages := letterTIFF(t, 2, nil)
	for _, tc := range []struct {
		name  string
		flags []string
		comp  string
		ecm   bool
	}{
		{"defaults", nil, "MMR", true},
		{"non-ECM MR v3 fec", []string{"-ecm=false", "-t38-version", "3", "-ec", "fec", "-ec-depth", "2"}, "MR", false},
		{"ECM MMR over RTP", []string{"-rtp", "-rtp-pt", "101"}, "MMR", true},
		{"ECM MH, no EC, 9600, small datagrams", []string{"-compression", "mh", "-ec", "none", "-rate", "9600", "-max-datagram", "200"}, "MH", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := freePort(t)
			out := filepath.Join(t.TempDir(), "out.tif")
			common := append([]string{"-pace=false", "-json", "-timeout", "60s"}, tc.flags...)
			var recv result
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				args := append([]string{"receive", "-local", addr, "-ident", "+1 555 0199", "-o", out}, common...)
				recv = runCLI(t, "", args...)
			}()
			waitBound(t, addr)
			args := append([]string{"send", "-remote", addr, "-ident", "+1 555 0100"}, common...)
			send := runCLI(t, "", append(args, in)...)
			wg.Wait()
			require.Equal(t, 0, send.code, send.stderr)
			require.Equal(t, 0, recv.code, recv.stderr)
			for i, r := range []result{send, recv} {
				m := decodeJSON(t, r.stdout)
				require.Equal(t, true, m["ok"])
				require.Equal(t, "ok", m["result"])
				require.EqualValues(t, 2, m["pages"])
				require.Equal(t, tc.comp, m["compression"])
				require.Equal(t, tc.ecm, m["ecm"])
				require.EqualValues(t, 0, m["bad_rows"])
				require.Positive(t, m["duration_ms"])
				want := 14400
				if strings.Contains(tc.name, "9600") {
					want = 9600
				}
				require.EqualValues(t, want, m["bit_rate"], "%s\n%s", r.stdout, r.stderr)
				require.Equal(t, []string{"+1 555 0199", "+1 555 0100"}[i], m["remote_ident"])
				require.Len(t, m["page_detail"], 2)
				require.NotContains(t, m, "document_id", "no -store, no document")
				require.Equal(t, []string{"", out}[i], decodeReport(t, r.stdout).Output)
				// Progress lines, one per page, on stderr.
				require.Equal(t, 2, strings.Count(r.stderr, "page "), r.stderr)
			}
			got, infos := bitmapsOf(t, out)
			require.Len(t, got, 2)
			for i := range pages {
				require.True(t, pages[i].Equal(got[i]), "page %d differs", i+1)
				require.Equal(t, tiff.ResFine, infos[i].Resolution())
			}
			// The received file is readable by libtiff too.
			tiffinfo := peertest.Program(t, "tiffinfo", "apt-get install libtiff-tools")
			o, err := exec.Command(tiffinfo, "-D", out).CombinedOutput()
			require.NoError(t, err, "%s", o)
			require.Equal(t, 2, strings.Count(string(o), "Image Width: 1728"), "%s", o)
		})
	}
}

func TestSendReceiveCLIHuman(t *testing.T) {
	in, _ := letterTIFF(t, 1, &tiff.WriterConfig{Compression: tiff.CompressionGroup4})
	addr := freePort(t)
	out := filepath.Join(t.TempDir(), "out.tif")
	var recv result
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		recv = runCLI(t, "", "receive", "-local", addr, "-remote", "", "-pace=false", "-timeout", "60s", "-ident", "+1 555 0199", "-o", out)
	}()
	waitBound(t, addr)
	send := runCLI(t, "", "send", "-remote", addr, "-pace=false", "-timeout", "60s", in)
	wg.Wait()
	require.Equal(t, 0, send.code, send.stderr)
	require.Equal(t, 0, recv.code, recv.stderr)
	require.Empty(t, send.stdout)
	require.Empty(t, recv.stdout)
	require.Contains(t, send.stderr, "page 1 sent: MMR fine, 14400 bit/s, ECM")
	require.Contains(t, send.stderr, "fax sent: ok, 1 page(s), 14400 bit/s, MMR fine, ECM")
	require.Contains(t, recv.stderr, "page 1 received: MMR fine")
	require.Contains(t, recv.stderr, "fax received: ok, 1 page(s)")
	require.Contains(t, recv.stderr, "written to "+out)
	// The human summary never shows the remote ident (PHI). (Not just
	// "555": the receiver's port, in the sender's first line, may hold it.)
	require.NotContains(t, send.stderr, "+1 555 0199")
}

func TestSendFailureExitStatus(t *testing.T) {
	in, _ := letterTIFF(t, 1, nil)
	// Nobody answers: the call is ended by -timeout, with DCN.
	addr := freePort(t)
	r := runCLI(t, "", "send", "-remote", addr, "-json", "-timeout", "500ms", in)
	require.Equal(t, 1, r.code, r.stderr)
	m := decodeJSON(t, r.stdout)
	require.Equal(t, false, m["ok"])
	require.Equal(t, "local-abort", m["result"])
	require.EqualValues(t, 0, m["pages"])
	require.Contains(t, r.stderr, "T.30 session failed: local-abort")

	r = runCLI(t, "", "send", "-remote", addr, "-timeout", "500ms", in)
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "fax failed: local-abort")

	// receive with nobody calling.
	out := filepath.Join(t.TempDir(), "out.tif")
	r = runCLI(t, "", "receive", "-local", freePort(t), "-json", "-timeout", "300ms", "-o", out)
	require.Equal(t, 1, r.code, r.stderr)
	m = decodeJSON(t, r.stdout)
	require.Equal(t, false, m["ok"])
	require.NoFileExists(t, out)
}

func TestCallUsageErrors(t *testing.T) {
	in, _ := letterTIFF(t, 1, nil)
	for _, args := range [][]string{
		{"send", in},                       // no -remote
		{"send", "-remote", "127.0.0.1:9"}, // no file
		{"send", "-remote", "127.0.0.1:9", "-ec", "parity", in},
		{"send", "-remote", "127.0.0.1:9", "-compression", "jbig", in},
		{"send", "-remote", "127.0.0.1:9", "-nosuchflag", in},
		{"receive"}, // no -o
		{"receive", "-o", "x.tif", "extra"},
		{"tiff"},
		{"tiff", "convert", "-compression", "jpeg", in, "out.tif"},
		{"tiff", "convert", "-fill-order", "middle", in, "out.tif"},
		{"tiff", "info"},
	} {
		r := runCLI(t, "", args...)
		require.Equal(t, 2, r.code, "%v: %s", args, r.stderr)
		require.Contains(t, r.stderr, "usage: faxkit", "%v", args)
	}
	// Invalid option values the library rejects are errors, status 1.
	r := runCLI(t, "", "send", "-remote", "127.0.0.1:9", "-rate", "5000", in)
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "bit rate 5000")
	r = runCLI(t, "", "send", "-remote", "127.0.0.1:9", filepath.Join(t.TempDir(), "missing.tif"))
	require.Equal(t, 1, r.code)
}

func TestTIFFInfoAndConvert(t *testing.T) {
	dir := t.TempDir()
	in, pages := letterTIFF(t, 2, nil)

	r := runCLI(t, "", "tiff", "info", in)
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "page 1: 1728x2292, 1 bit(s)/sample x 1, CCITT Group 3, min-is-white, fill order lsb-to-msb, resolution fine (204x196 dpi), 1-D (MH), 1 strip(s), page number 1\n")
	require.Contains(t, r.stdout, "decoded: 2292 rows, 0 bad")
	require.Contains(t, r.stdout, "2 page(s)")

	for _, tc := range []struct {
		comp, fill string
		tag        string
		twoD       bool
	}{{"mh", "lsb", "CCITT Group 3", false}, {"mr", "msb", "CCITT Group 3", true}, {"mmr", "msb", "CCITT Group 4", false}} {
		out := filepath.Join(dir, tc.comp+tc.fill+".tif")
		r := runCLI(t, "", "tiff", "convert", "-compression", tc.comp, "-fill-order", tc.fill, in, out)
		require.Equal(t, 0, r.code, r.stderr)
		got, infos := bitmapsOf(t, out)
		require.Len(t, got, 2)
		for i := range pages {
			require.True(t, pages[i].Equal(got[i]), "%s page %d differs", tc.comp, i+1)
			require.Equal(t, tc.tag, infos[i].Compression.String())
			require.Equal(t, tc.twoD, infos[i].T4Options&tiff.T4Option2D != 0)
			want := tiff.LSBFirst
			if tc.fill == "msb" {
				want = tiff.MSBFirst
			}
			require.Equal(t, want, infos[i].FillOrder)
		}
	}

	// A PNG becomes one A4 fax page at fine resolution.
	img := image.NewGray(image.Rect(0, 0, 850, 1100))
	for y := range 1100 {
		for x := range 850 {
			c := uint8(255)
			if x > 100 && x < 300 && y > 100 && y < 200 {
				c = 0
			}
			img.SetGray(x, y, color.Gray{Y: c})
		}
	}
	pngPath := filepath.Join(dir, "in.png")
	f, err := os.Create(pngPath)
	require.NoError(t, err)
	require.NoError(t, png.Encode(f, img))
	require.NoError(t, f.Close())
	out := filepath.Join(dir, "png.tif")
	r = runCLI(t, "", "tiff", "convert", "-compression", "mmr", pngPath, out)
	require.Equal(t, 0, r.code, r.stderr)
	got, infos := bitmapsOf(t, out)
	require.Len(t, got, 1)
	require.Equal(t, 1728, got[0].Width)
	require.Equal(t, tiff.ResFine, infos[0].Resolution())
	require.Positive(t, got[0].Black())
	// The black box is in the top-left quarter.
	require.EqualValues(t, 1, got[0].ColorIndexAt(1728*200/850, 300))
	require.EqualValues(t, 0, got[0].ColorIndexAt(1728*600/850, 300))

	// Free-text tags may name a patient: info says they are there, never
	// what they say.
	desc := filepath.Join(dir, "desc.tif")
	f, err = os.Create(desc)
	require.NoError(t, err)
	tw, err := tiff.NewWriter(f, nil)
	require.NoError(t, err)
	require.NoError(t, tw.WritePage(pages[0], &tiff.PageOptions{Resolution: tiff.ResFine, Description: "Referral for Patient ZETA"}))
	require.NoError(t, tw.Close())
	require.NoError(t, f.Close())
	r = runCLI(t, "", "tiff", "info", desc)
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "free-text tags present (not shown, may be PHI): [description]")
	require.NotContains(t, r.stdout, "ZETA")

	// A file that is none of TIFF, PDF or image fails cleanly.
	junk := filepath.Join(dir, "junk.bin")
	require.NoError(t, os.WriteFile(junk, []byte("not an image at all"), 0o600))
	r = runCLI(t, "", "tiff", "convert", junk, filepath.Join(dir, "junk.tif"))
	require.Equal(t, 1, r.code)
	require.NoFileExists(t, filepath.Join(dir, "junk.tif"))
	r = runCLI(t, "", "tiff", "info", junk)
	require.Equal(t, 1, r.code)
}

func TestTIFFConvertPDF(t *testing.T) {
	gs := peertest.Program(t, "gs", "apt-get install ghostscript")
	dir := t.TempDir()
	pdf := filepath.Join(dir, "in.pdf")
	ps := filepath.Join(dir, "in.ps")
	require.NoError(t, os.WriteFile(ps, []byte("%!PS\n/Helvetica findfont 24 scalefont setfont\n72 700 moveto (Synthetic page one) show showpage\n72 700 moveto (Synthetic page two) show showpage\n"), 0o600))
	o, err := exec.Command(gs, "-q", "-dNOPAUSE", "-dBATCH", "-sDEVICE=pdfwrite", "-sOutputFile="+pdf, ps).CombinedOutput()
	require.NoError(t, err, "%s", o)
	out := filepath.Join(dir, "pdf.tif")
	r := runCLI(t, "", "tiff", "convert", "-compression", "mr", pdf, out)
	require.Equal(t, 0, r.code, r.stderr)
	got, _ := bitmapsOf(t, out)
	require.Len(t, got, 2)
	for i, p := range got {
		require.Equal(t, 1728, p.Width)
		require.Positive(t, p.Black(), "page %d has the text", i+1)
	}
	require.Contains(t, r.stderr, fmt.Sprintf("wrote 2 page(s) to %s", out))
}
