package main

import (
	"bytes"
	"image/png"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestSendReceiveEndToEnd drives the API over TLS: an admin creates a
// sender and an inbox user and routes the DID to the inbox; the sender
// uploads a TIFF and a PNG with a cover page to an E.164 number that the
// peer map sends to the service's own inbound port; the inbox user finds
// the fax, pixel-identical to what was sealed for sending, as TIFF, PDF
// and PNG previews; the sender's status shows the attempt; an idempotent
// retry of the request returns the same fax; delete shreds it.
func TestSendReceiveEndToEnd(t *testing.T) {
	e := newEnv(t, nil)
	_, alice := e.user("alice", "sender")
	bobID, bob := e.user("bob", "inbox")
	require.Equal(t, http.StatusOK, e.json("PUT", "/v1/routes/default", e.admin, map[string]any{"targets": []string{bobID}}, nil))

	doc, pages := letterTIFF(t, 2)
	parts := []part{{name: "to", data: []byte("+15550199")}, {name: "file", file: "a.tif", data: doc},
		{name: "file", file: "b.png", data: pngOf(t, pages[0])}, {name: "cover_subject", data: []byte("Lab results")}}
	code, st, body := e.send(alice, map[string]string{"Idempotency-Key": "k1"}, parts...)
	require.Equal(t, http.StatusAccepted, code, "%s", body)
	require.Equal(t, statusQueued, st.Status)
	require.Equal(t, 4, st.Pages, "cover + 2 TIFF pages + 1 PNG page")

	code, again, _ := e.send(alice, map[string]string{"Idempotency-Key": "k1"}, parts...)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, st.ID, again.ID, "the idempotency key returns the same fax")

	st = e.wait(alice, st.ID, func(s FaxStatus) bool { return s.Status != statusQueued && s.Status != statusSending })
	require.Equal(t, statusDelivered, st.Status, "%+v", st)
	require.Len(t, st.Attempts, 1)
	a := st.Attempts[0]
	require.Equal(t, "ok", a.Result)
	require.Equal(t, 4, a.Pages)
	require.Equal(t, 14400, a.BitRate)
	require.True(t, a.ECM)
	require.NotEmpty(t, a.ResultText)

	var evs struct {
		Events []struct {
			ID   string
			Seq  int
			Type string
		}
	}
	require.Equal(t, http.StatusOK, e.json("GET", "/v1/faxes/"+st.ID+"/events", alice, nil, &evs))
	var types []string
	for i, ev := range evs.Events {
		require.Equal(t, i+1, ev.Seq)
		types = append(types, ev.Type)
	}
	require.Equal(t, []string{"fax.queued", "fax.sending", "fax.delivered"}, types)

	// The inbox user sees the inbound copy.
	var list struct {
		Faxes []FaxStatus
	}
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); {
		require.Equal(t, http.StatusOK, e.json("GET", "/v1/faxes?direction=inbound", bob, nil, &list))
		if len(list.Faxes) > 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	require.Len(t, list.Faxes, 1)
	in := list.Faxes[0]
	require.Equal(t, statusReceived, in.Status)
	require.Equal(t, 4, in.Pages)

	code, sent, _ := e.do("GET", "/v1/faxes/"+st.ID+"/content", alice, nil, nil)
	require.Equal(t, http.StatusOK, code)
	code, got, _ := e.do("GET", "/v1/faxes/"+in.ID+"/content", bob, nil, nil)
	require.Equal(t, http.StatusOK, code)
	sp, gp := tiffPages(t, sent), tiffPages(t, got)
	require.Len(t, gp, 4)
	for i := range sp {
		require.True(t, sp[i].Equal(gp[i]), "page %d differs", i+1)
	}
	require.True(t, pages[1].Equal(gp[2]), "the second TIFF page arrives as sent")

	code, pdf, hdr := e.do("GET", "/v1/faxes/"+in.ID+"/content?format=pdf", bob, nil, nil)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "application/pdf", hdr.Get("Content-Type"))
	require.True(t, bytes.HasPrefix(pdf, []byte("%PDF-1.4")))
	require.Equal(t, 4, strings.Count(string(pdf), "/Type /Page "))

	code, pv, hdr := e.do("GET", "/v1/faxes/"+in.ID+"/pages/3", bob, nil, nil)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "no-store", hdr.Get("Cache-Control"))
	img, err := png.Decode(bytes.NewReader(pv))
	require.NoError(t, err)
	require.Equal(t, 1728, img.Bounds().Dx())

	// The sender reads the sealed number; the inbox user is refused the
	// outbound fax and the sender the inbound one (both 404).
	var md struct{ Remote string }
	require.Equal(t, http.StatusOK, e.json("GET", "/v1/faxes/"+st.ID+"/metadata", alice, nil, &md))
	require.Equal(t, "+15550199", md.Remote)
	require.Equal(t, http.StatusNotFound, e.json("GET", "/v1/faxes/"+st.ID, bob, nil, nil))
	require.Equal(t, http.StatusNotFound, e.json("GET", "/v1/faxes/"+in.ID+"/content", alice, nil, nil))

	code, mt, _ := e.do("GET", "/metrics", "", nil, nil)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, string(mt), `faxservice_calls_total{direction="outbound",result="ok"}`)
	require.Contains(t, string(mt), "faxservice_queue_depth 0")
	require.Contains(t, string(mt), "faxservice_attempt_duration_seconds_count")

	// Delete is crypto-shredding.
	require.Equal(t, http.StatusNoContent, e.json("DELETE", "/v1/faxes/"+in.ID, bob, nil, nil))
	require.Equal(t, http.StatusNotFound, e.json("GET", "/v1/faxes/"+in.ID, bob, nil, nil))
	_, err = os.Stat(filepath.Join(e.svc.cfg.Dir, "store", "docs", in.ID+".rec"))
	require.True(t, os.IsNotExist(err), "record gone")

	// Nothing is stored in clear: no TIFF header anywhere under the dir
	// but in the keys.
	require.NoError(t, filepath.Walk(e.svc.cfg.Dir, func(path string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		require.False(t, bytes.Contains(b, []byte("II*\x00")), "%s holds a clear TIFF", path)
		require.False(t, bytes.Contains(b, []byte("15550199")), "%s holds the number in clear", path)
		return nil
	}))
}
