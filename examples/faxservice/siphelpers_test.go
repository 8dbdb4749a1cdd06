package main

// Helpers of the SIP tests (sipaudio_test.go, kamailio_test.go).

import (
	"bufio"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit/internal/sippeer"
	"github.com/faxkit/faxkit/t4"
	"github.com/faxkit/faxkit/tiff"
)

// pageTIFF writes pages as a fine TIFF file and returns its path and
// bytes.
func pageTIFF(t *testing.T, pages ...*t4.Bitmap) (string, []byte) {
	t.Helper()
	name := filepath.Join(t.TempDir(), "page.tif")
	f, err := os.Create(name)
	require.NoError(t, err)
	bw := bufio.NewWriter(f)
	w, err := tiff.NewWriter(bw, nil)
	require.NoError(t, err)
	for _, p := range pages {
		require.NoError(t, w.WritePage(p, &tiff.PageOptions{Resolution: tiff.ResFine}))
	}
	require.NoError(t, w.Close())
	require.NoError(t, bw.Flush())
	require.NoError(t, f.Close())
	b, err := os.ReadFile(name)
	require.NoError(t, err)
	return name, b
}

// waitFor polls st until done, up to limit (audio calls run in real time
// on a loaded machine).
func waitFor(e *remote, token, id string, limit time.Duration, done func(FaxStatus) bool) FaxStatus {
	e.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		var st FaxStatus
		require.Equal(e.t, http.StatusOK, e.json("GET", "/v1/faxes/"+id, token, nil, &st))
		if done(st) {
			return st
		}
		require.True(e.t, time.Now().Before(deadline), "fax still %s after %v", st.Status, limit)
		time.Sleep(100 * time.Millisecond)
	}
}

// inboundFax waits for the one inbound fax in token's inbox.
func inboundFax(e *remote, token string, limit time.Duration) FaxStatus {
	e.t.Helper()
	var l struct{ Faxes []FaxStatus }
	for deadline := time.Now().Add(limit); ; time.Sleep(100 * time.Millisecond) {
		require.Equal(e.t, http.StatusOK, e.json("GET", "/v1/faxes?direction=inbound", token, nil, &l))
		if len(l.Faxes) > 0 {
			break
		}
		require.True(e.t, time.Now().Before(deadline), "no inbound fax reached the DID's route")
	}
	require.Len(e.t, l.Faxes, 1)
	var st FaxStatus
	require.Equal(e.t, http.StatusOK, e.json("GET", "/v1/faxes/"+l.Faxes[0].ID, token, nil, &st))
	return st
}

// contentPixels downloads fax id as TIFF and returns its PagePixels.
func contentPixels(e *remote, token, id string) []string {
	e.t.Helper()
	code, b, _ := e.do("GET", "/v1/faxes/"+id+"/content", token, nil, nil)
	require.Equal(e.t, http.StatusOK, code)
	name := filepath.Join(e.t.TempDir(), "content.tif")
	require.NoError(e.t, os.WriteFile(name, b, 0o600))
	return sippeer.PagePixels(e.t, name)
}
