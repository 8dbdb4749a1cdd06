package main

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit/internal/spandsp"
	"github.com/faxkit/faxkit/tiff"
)

// TestCLIWithSpandsp holds calls between the faxkit command and libspandsp's
// T.38 terminal (internal/spandsp's t38peer, Debian's libspandsp 0.0.6) over
// UDPTL on 127.0.0.1, in both directions, and checks the exit status, the
// JSON contract and the pages pixel for pixel against the sent file.
// spandsp runs on its accelerated clock; faxkit runs unpaced.
func TestCLIWithSpandsp(t *testing.T) {
	spandsp.Peer(t) // skips (or fails under CI) without libspandsp
	for _, tc := range []struct {
		name     string
		send     bool // faxkit sends
		pages    int
		flags    []string
		comp     string // as spandsp names it
		jsonComp string
		ecm      bool
		version  int
	}{
		{"faxkit sends ECM MMR", true, 2, nil, "mh,mr,mmr", "MMR", true, 0},
		{"faxkit sends non-ECM MR v3", true, 1, []string{"-ecm=false", "-t38-version", "3"}, "mh,mr", "MR", false, 3},
		{"spandsp sends ECM MMR", false, 2, nil, "mh,mr,mmr", "MMR", true, 0},
		{"spandsp sends non-ECM MH", false, 1, []string{"-ecm=false", "-compression", "mh"}, "mh", "MH", false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, pages := letterTIFF(t, tc.pages, nil)
			dir := t.TempDir()
			fk, sp := freePort(t), freePort(t)
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			pc := spandsp.Config{Send: !tc.send, Local: sp, Remote: fk, NoECM: !tc.ecm, Version: tc.version,
				Compression: tc.comp, Timeout: 150 * time.Second, Ident: "SPANDSP PEER",
				// The CLI runs on the wall clock, so spandsp's timers must not
				// run much faster than faxkit's: at 10x its 3 s T4 is 300 ms,
				// which a CPU-starved CI machine can miss.
				Speedup: 4}
			args := append([]string{"-local", fk, "-remote", sp, "-pace=false", "-json", "-timeout", "120s", "-ident", "FAXKIT CLI",
				"-t38-version", "0"}, tc.flags...)
			var r result
			out := filepath.Join(dir, "out.tif")
			if tc.send {
				pc.File = out
				peer := spandsp.Start(ctx, t, pc)
				time.Sleep(200 * time.Millisecond) // let the peer bind
				r = runCLI(t, "", append(append([]string{"send"}, args...), in)...)
				pr, err := peer.Wait()
				require.NoError(t, err, peer.Log())
				require.True(t, pr.OK, "spandsp: %+v\nfaxkit: %s\n%s", pr, r.stdout, r.stderr)
				require.Equal(t, tc.pages, pr.Pages)
				require.Equal(t, "FAXKIT CLI", pr.RemoteIdent)
			} else {
				pc.File = in
				var wg sync.WaitGroup
				wg.Add(1)
				go func() {
					defer wg.Done()
					r = runCLI(t, "", append(append([]string{"receive"}, args...), "-o", out)...)
				}()
				waitBound(t, fk)
				peer := spandsp.Start(ctx, t, pc)
				wg.Wait()
				pr, err := peer.Wait()
				require.NoError(t, err, peer.Log())
				require.True(t, pr.OK, "spandsp: %+v\nfaxkit: %s\n%s", pr, r.stdout, r.stderr)
			}
			require.Equal(t, 0, r.code, "%s\n%s", r.stdout, r.stderr)
			m := decodeJSON(t, r.stdout)
			require.Equal(t, true, m["ok"])
			require.Equal(t, "ok", m["result"])
			require.EqualValues(t, tc.pages, m["pages"])
			require.Equal(t, tc.jsonComp, m["compression"])
			require.Equal(t, tc.ecm, m["ecm"])
			require.Equal(t, "SPANDSP PEER", m["remote_ident"])
			got, infos := bitmapsOf(t, out)
			require.Len(t, got, tc.pages)
			for i := range pages {
				require.True(t, pages[i].Equal(got[i]), "page %d differs", i+1)
				require.Equal(t, tiff.ResFine, infos[i].Resolution())
			}
			require.False(t, strings.Contains(r.stderr, "SPANDSP"), "the human output shows no ident")
		})
	}
}
