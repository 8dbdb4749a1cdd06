package main

import (
	"bytes"
	"context"
	"github.com/faxkit/faxkit/phi/audit"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestRetentionPurgeForceExpiryLegalHold runs the retention purge on the
// service's clock moved forward (no sleeping): expired faxes are
// crypto-shredded with their call records and grants, a fax under legal
// hold and one whose date an admin moved survive, force-expiry shreds at
// once but not under hold, and every deletion is audited.
func TestRetentionPurgeForceExpiryLegalHold(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.Retention, c.StationID = Duration(time.Hour), "+1 555 0100" })
	_, alice := e.user("alice", "sender")
	bobID, bob := e.user("bob", "inbox")
	require.Equal(t, http.StatusOK, e.json("PUT", "/v1/routes/default", e.admin, map[string]any{"targets": []string{bobID}}, nil))
	doc, _ := letterTIFF(t, 1)
	var out []FaxStatus
	for range 2 {
		code, st, body := e.send(alice, nil, part{name: "to", data: []byte("+15550123")}, part{name: "file", file: "a.tif", data: doc})
		require.Equal(t, http.StatusAccepted, code, "%s", body)
		out = append(out, e.wait(alice, st.ID, func(s FaxStatus) bool { return s.Status == statusDelivered || s.Status == statusFailed }))
	}
	held, extended := out[0].ID, out[1].ID
	require.WithinDuration(t, out[0].Created.Add(time.Hour), out[0].RetainUntil, time.Minute, "the retention date is the creation time plus Config.Retention")
	var inbound struct{ Faxes []FaxStatus }
	for deadline := time.Now().Add(30 * time.Second); len(inbound.Faxes) < 2; time.Sleep(50 * time.Millisecond) {
		require.True(t, time.Now().Before(deadline))
		require.Equal(t, http.StatusOK, e.json("GET", "/v1/faxes?direction=inbound", bob, nil, &inbound))
	}
	forced, expiring := inbound.Faxes[0].ID, inbound.Faxes[1].ID
	var inMeta struct {
		Attempts []struct {
			RemoteIdent string `json:"remote_ident"`
		}
	}
	require.Equal(t, http.StatusOK, e.json("GET", "/v1/faxes/"+expiring+"/metadata", bob, nil, &inMeta))
	require.Equal(t, "+1 555 0100", inMeta.Attempts[0].RemoteIdent, "the sender's ident, sealed with the received fax")
	recs := e.svc.callRecords(context.Background(), held)
	require.NotEmpty(t, recs, "the receiver's ident is sealed in a call record")

	require.Equal(t, http.StatusOK, e.json("PUT", "/v1/faxes/"+held+"/hold", e.admin, map[string]bool{"hold": true}, nil))
	require.Equal(t, http.StatusForbidden, e.json("PUT", "/v1/faxes/"+extended+"/retention", alice, map[string]any{"expire_now": true}, nil), "admins only")
	require.Equal(t, http.StatusBadRequest, e.json("PUT", "/v1/faxes/"+extended+"/retention", e.admin, map[string]any{}, nil))
	require.Equal(t, http.StatusConflict, e.json("PUT", "/v1/faxes/"+held+"/retention", e.admin, map[string]any{"expire_now": true}, nil), "legal hold blocks force-expiry")
	require.Equal(t, http.StatusOK, e.json("PUT", "/v1/faxes/"+extended+"/retention", e.admin, map[string]any{"retain_until": time.Now().Add(365 * 24 * time.Hour)}, nil))
	require.Equal(t, http.StatusNoContent, e.json("PUT", "/v1/faxes/"+forced+"/retention", e.admin, map[string]any{"expire_now": true}, nil))
	require.Equal(t, http.StatusNotFound, e.json("GET", "/v1/faxes/"+forced, bob, nil, nil), "force-expired at once")
	forcedRecs := e.svc.callRecords(context.Background(), forced)
	require.Empty(t, forcedRecs, "an inbound fax carries the sender's ident in its own sealed metadata")
	for _, r := range forcedRecs {
		_, err := os.Stat(filepath.Join(e.svc.cfg.Dir, "store", "docs", r+".rec"))
		require.True(t, os.IsNotExist(err), "the call record is shredded with the fax")
	}

	// Nothing has expired yet.
	ids, err := e.svc.purgeExpired(context.Background())
	require.NoError(t, err)
	require.Empty(t, ids)

	e.svc.skew.Add(int64(2 * time.Hour))
	ids, err = e.svc.purgeExpired(context.Background())
	require.NoError(t, err)
	require.ElementsMatch(t, []string{expiring}, ids,
		"the inbound fax; the held and the extended outbound faxes and their call records stay")
	require.Equal(t, http.StatusNotFound, e.json("GET", "/v1/faxes/"+expiring, bob, nil, nil))
	_, err = os.Stat(filepath.Join(e.svc.cfg.Dir, "store", "docs", expiring+".seal"))
	require.True(t, os.IsNotExist(err))
	var st FaxStatus
	require.Equal(t, http.StatusOK, e.json("GET", "/v1/faxes/"+held, alice, nil, &st))
	require.True(t, st.LegalHold)
	var md struct {
		Attempts []struct {
			RemoteIdent string `json:"remote_ident"`
		}
	}
	require.Equal(t, http.StatusOK, e.json("GET", "/v1/faxes/"+held+"/metadata", alice, nil, &md))
	require.NotEmpty(t, md.Attempts[0].RemoteIdent, "a held fax keeps its call record")
	require.Equal(t, http.StatusOK, e.json("GET", "/v1/faxes/"+extended+"/metadata", alice, nil, &md))
	require.NotEmpty(t, md.Attempts[0].RemoteIdent, "an extended fax keeps its call record")
	code, _, _ := e.do("GET", "/v1/faxes/"+extended+"/content", alice, nil, nil)
	require.Equal(t, http.StatusOK, code)

	// Lifting the hold lets the next purge take it.
	require.Equal(t, http.StatusOK, e.json("PUT", "/v1/faxes/"+held+"/hold", e.admin, map[string]bool{"hold": false}, nil))
	ids, err = e.svc.purgeExpired(context.Background())
	require.NoError(t, err)
	require.Contains(t, ids, held)
	require.Equal(t, http.StatusNotFound, e.json("GET", "/v1/faxes/"+held, alice, nil, nil))

	// Every shredding is in the audit log.
	ak, err := audit.OpenKeyFile(e.svc.cfg.AuditKeyFile)
	require.NoError(t, err)
	require.NoError(t, e.svc.log.Sync())
	var exp bytes.Buffer
	_, err = audit.Export(filepath.Join(e.svc.cfg.Dir, "audit-test"), ak, &exp, time.Time{}, time.Time{})
	require.NoError(t, err)
	for _, id := range append(append([]string{held, forced, expiring}, recs...), forcedRecs...) {
		found := false
		for _, line := range strings.Split(exp.String(), "\n") {
			found = found || strings.Contains(line, id) && strings.Contains(line, `"delete"`) && strings.Contains(line, `"success"`)
		}
		require.True(t, found, "no audited deletion of %s", id)
	}
}
