package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit/phi/audit"
)

// TestAttemptTraceAPI: see attemptTraceAPI (SQLite here; TestPostgres
// runs it on PostgreSQL).
func TestAttemptTraceAPI(t *testing.T) {
	t.Parallel()
	attemptTraceAPI(t)
}

// attemptTraceAPI sends a fax to the service's own inbound listener
// (T.38 over UDPTL) and checks: both calls' traces are stored, the
// received fax's like the outbound attempt's, PHI redacted alike; GET
// /v1/faxes/{id}/attempts/{n}/trace serves them to an admin and refuses
// (403, audited) the sender, the inbox user and the auditor, for an
// existing fax and an unknown one alike; deleting a fax and the
// retention purge delete its read state and traces with it.
func attemptTraceAPI(t *testing.T) {
	const ident, number = "+1 555 0100", "+15550123"
	e := newEnv(t, func(c *Config) { c.StationID = ident })
	aliceID, alice := e.user("alice", "sender")
	bobID, bob := e.user("bob", "inbox")
	audreyID, audrey := e.user("audrey", "auditor")
	require.Equal(t, http.StatusOK, e.json("PUT", "/v1/routes/default", e.admin, map[string]any{"targets": []string{bobID}}, nil))
	doc, _ := letterTIFF(t, 1)
	code, out, body := e.send(alice, nil, part{name: "to", data: []byte(number)}, part{name: "file", file: "a.tif", data: doc})
	require.Equal(t, http.StatusAccepted, code, "%s", body)
	out = e.wait(alice, out.ID, func(s FaxStatus) bool { return s.Status == statusDelivered || s.Status == statusFailed })
	require.Equal(t, statusDelivered, out.Status)
	var l struct{ Faxes []FaxStatus }
	for deadline := time.Now().Add(30 * time.Second); len(l.Faxes) == 0; time.Sleep(50 * time.Millisecond) {
		require.True(t, time.Now().Before(deadline), "the fax was not received")
		require.Equal(t, http.StatusOK, e.json("GET", "/v1/faxes?direction=inbound", bob, nil, &l))
	}
	in := l.Faxes[0].ID

	// The admin reads both calls' traces.
	frames := func(tr AttemptTrace) map[string]string {
		m := map[string]string{}
		for _, r := range tr.Records {
			if r.Kind == "frame" {
				m[r.Dir+" "+r.Name] = r.Text
			}
		}
		return m
	}
	get := func(token, fax, n string) (int, []byte) {
		code, b, _ := e.do("GET", "/v1/faxes/"+fax+"/attempts/"+n+"/trace", token, nil, nil)
		return code, b
	}
	var trOut, trIn AttemptTrace
	code, b := get(e.admin, out.ID, "1")
	require.Equal(t, http.StatusOK, code, "%s", b)
	require.NoError(t, json.Unmarshal(b, &trOut))
	code, b = get(e.admin, in, "1")
	require.Equal(t, http.StatusOK, code, "%s", b)
	require.NoError(t, json.Unmarshal(b, &trIn))
	require.Equal(t, AttemptTrace{FaxID: out.ID, N: 1, Direction: "outbound", Media: "t38"}, AttemptTrace{FaxID: trOut.FaxID, N: trOut.N, Direction: trOut.Direction, Media: trOut.Media})
	require.Equal(t, AttemptTrace{FaxID: in, N: 1, Direction: "inbound", Media: "t38"}, AttemptTrace{FaxID: trIn.FaxID, N: trIn.N, Direction: trIn.Direction, Media: trIn.Media})
	fo, fi := frames(trOut), frames(trIn)
	for _, f := range []string{"rx DIS", "tx DCS", "rx CFR", "rx MCF", "tx DCN"} {
		require.Contains(t, fo, f, "outbound")
	}
	for _, f := range []string{"tx DIS", "rx DCS", "tx CFR", "tx MCF", "rx DCN"} {
		require.Contains(t, fi, f, "inbound: the same call seen from the receiver")
	}
	// The idents (PHI) are redacted alike on both sides.
	require.Equal(t, "TSI [redacted]", fo["tx TSI"])
	require.Equal(t, "CSI [redacted]", fo["rx CSI"])
	require.Equal(t, "TSI [redacted]", fi["rx TSI"])
	require.Equal(t, "CSI [redacted]", fi["tx CSI"])
	var st struct {
		Pages int
		Media []struct{ Kind string }
	}
	require.NoError(t, json.Unmarshal(trIn.Stats, &st))
	require.Equal(t, 1, st.Pages)
	require.Len(t, st.Media, 1)
	require.Equal(t, "t38", st.Media[0].Kind)
	var tj, sj string
	require.NoError(t, e.svc.db.queryRow(context.Background(), `SELECT trace, stats FROM attempt_traces WHERE fax_id = ? AND n = 1`, in).Scan(&tj, &sj))
	for _, s := range []string{tj + sj, string(b)} {
		for _, v := range []string{ident, "5550100", number[1:]} {
			require.NotContains(t, s, v, "PHI in the inbound trace")
		}
	}

	// Anyone else is refused, audited, and learns nothing of whether the
	// fax exists; an admin gets 404 for an unknown fax or attempt.
	unknown := strings.Repeat("5a", 16)
	before := e.svc.log.Len()
	var refusal []byte
	for _, c := range []struct{ who, token, fax string }{
		{"sender (the fax's owner)", alice, out.ID}, {"inbox user (the fax's recipient)", bob, in},
		{"auditor", audrey, out.ID}, {"sender, unknown fax", alice, unknown}, {"inbox user, unknown fax", bob, unknown},
		{"auditor, unknown fax", audrey, unknown},
	} {
		code, b := get(c.token, c.fax, "1")
		require.Equal(t, http.StatusForbidden, code, c.who)
		if refusal == nil {
			refusal = b
		}
		require.Equal(t, string(refusal), string(b), "%s: the same answer for every fax", c.who)
	}
	require.GreaterOrEqual(t, int(e.svc.log.Len()-before), 6, "each refusal audited")
	for _, c := range []struct{ token, path string }{
		{e.admin, unknown + "/attempts/1"}, {e.admin, out.ID + "/attempts/2"}, {e.admin, "..%2f" + out.ID + "/attempts/1"},
	} {
		code, _, _ := e.do("GET", "/v1/faxes/"+c.path+"/trace", c.token, nil, nil)
		require.Equal(t, http.StatusNotFound, code, c.path)
	}
	for _, n := range []string{"0", "x", "-1"} {
		code, _ := get(e.admin, out.ID, n)
		require.Equal(t, http.StatusBadRequest, code, n)
	}
	require.NoError(t, e.svc.log.Sync())
	ak, err := audit.OpenKeyFile(e.svc.cfg.AuditKeyFile)
	require.NoError(t, err)
	var exp bytes.Buffer
	_, err = audit.Export(filepath.Join(e.svc.cfg.Dir, "audit-test"), ak, &exp, time.Time{}, time.Time{})
	require.NoError(t, err)
	denied := map[string]int{}
	for _, line := range strings.Split(exp.String(), "\n") {
		var ev audit.Event
		if json.Unmarshal([]byte(line), &ev) == nil && ev.Outcome == audit.OutcomeDenied && strings.Contains(ev.Detail, "admin role required") {
			require.Equal(t, audit.ActionReadMetadata, ev.Action)
			denied[ev.Principal+" "+ev.Document]++
		}
	}
	for _, k := range []string{aliceID + " " + out.ID, bobID + " " + in, audreyID + " " + out.ID, aliceID + " " + unknown, bobID + " " + unknown, audreyID + " " + unknown} {
		require.Equal(t, 1, denied[k], "refusal audited: %s", k)
	}

	// Deleting the received fax deletes its read state and trace.
	rows := func(fax string) (reads, traces int) {
		ctx := context.Background()
		require.NoError(t, e.svc.db.queryRow(ctx, `SELECT COUNT(*) FROM fax_reads WHERE fax_id = ?`, fax).Scan(&reads))
		require.NoError(t, e.svc.db.queryRow(ctx, `SELECT COUNT(*) FROM attempt_traces WHERE fax_id = ?`, fax).Scan(&traces))
		return reads, traces
	}
	require.Equal(t, http.StatusOK, e.json("PUT", "/v1/faxes/"+in+"/read", bob, nil, nil))
	r, tr := rows(in)
	require.Equal(t, [2]int{1, 1}, [2]int{r, tr})
	require.Equal(t, http.StatusNoContent, e.json("DELETE", "/v1/faxes/"+in, bob, nil, nil))
	r, tr = rows(in)
	require.Equal(t, [2]int{0, 0}, [2]int{r, tr}, "read state and trace deleted with the fax")
	code, _ = get(e.admin, in, "1")
	require.Equal(t, http.StatusNotFound, code, "a deleted fax's trace")

	// The retention purge likewise.
	require.NoError(t, e.svc.markRead(context.Background(), aliceID, out.ID, true))
	r, tr = rows(out.ID)
	require.Equal(t, [2]int{1, 1}, [2]int{r, tr})
	e.svc.skew.Add(int64(time.Duration(e.svc.cfg.Retention) + time.Hour))
	ids, err := e.svc.purgeExpired(context.Background())
	require.NoError(t, err)
	require.Contains(t, ids, out.ID)
	r, tr = rows(out.ID)
	require.Equal(t, [2]int{0, 0}, [2]int{r, tr}, "read state and trace purged with the fax")
	var deleted int
	require.NoError(t, e.svc.db.queryRow(context.Background(), `SELECT deleted FROM faxes WHERE id = ?`, out.ID).Scan(&deleted))
	require.Equal(t, 1, deleted)
}

// TestMigration0008: upgrading a database deletes the read state and the
// traces that faxes deleted before version 8 left behind (SQLite here;
// TestPostgres runs it on PostgreSQL).
func TestMigration0008(t *testing.T) {
	t.Parallel()
	migration0008(t, "sqlite", filepath.Join(t.TempDir(), "m.db"))
}

func migration0008(t *testing.T, driver, dsn string) {
	ctx := context.Background()
	db, err := openDBAt(ctx, driver, dsn, 7)
	require.NoError(t, err)
	live, gone, never := strings.Repeat("a1", 16), strings.Repeat("b2", 16), strings.Repeat("c3", 16)
	for i, id := range []string{live, gone} {
		_, err := db.exec(ctx, `INSERT INTO faxes (id, owner, direction, status, created, updated, deleted) VALUES (?, 'u_x', 'inbound', 'received', 1, 1, ?)`, id, i)
		require.NoError(t, err)
	}
	for _, id := range []string{live, gone, never} {
		_, err := db.exec(ctx, `INSERT INTO fax_reads (fax_id, user_id, read_at) VALUES (?, 'u_x', 1)`, id)
		require.NoError(t, err)
		_, err = db.exec(ctx, `INSERT INTO attempt_traces (fax_id, n, trace, stats) VALUES (?, 1, '[]', '{}')`, id)
		require.NoError(t, err)
	}
	require.NoError(t, db.Close())
	db, err = openDB(ctx, driver, dsn)
	require.NoError(t, err)
	defer db.Close()
	v, err := db.schemaVersion(ctx)
	require.NoError(t, err)
	require.GreaterOrEqual(t, v, 8)
	for _, table := range []string{"fax_reads", "attempt_traces"} {
		ids, err := db.queryStrings(ctx, `SELECT fax_id FROM `+table)
		require.NoError(t, err)
		require.Equal(t, []string{live}, ids, table)
	}
}

// receivedTrace fetches, as admin, the trace of a received fax's call and
// checks what every receive has: the receiver's DIS, the sender's DCS,
// the receiver's MCF, the stats' media (want: "t38" or "audio"), idents
// redacted, and none of the values in phi anywhere.
func receivedTrace(t *testing.T, api *remote, admin, fax, want string, phi ...string) AttemptTrace {
	t.Helper()
	code, b, _ := api.do("GET", "/v1/faxes/"+fax+"/attempts/1/trace", admin, nil, nil)
	require.Equal(t, http.StatusOK, code, "%s", b)
	var tr AttemptTrace
	require.NoError(t, json.Unmarshal(b, &tr))
	require.Equal(t, "inbound", tr.Direction)
	require.Equal(t, want, tr.Media)
	seen := map[string]bool{}
	for _, r := range tr.Records {
		if r.Kind != "frame" {
			continue
		}
		seen[r.Dir+" "+r.Name] = true
		switch r.Name {
		case "TSI", "CSI", "SUB", "SID", "PWD", "SEP", "PSA", "CIG":
			require.Equal(t, r.Name+" [redacted]", r.Text)
		}
	}
	for _, f := range []string{"tx DIS", "rx DCS", "tx MCF"} {
		require.True(t, seen[f], "%s in the received call's trace", f)
	}
	var st struct{ Media []struct{ Kind string } }
	require.NoError(t, json.Unmarshal(tr.Stats, &st))
	require.NotEmpty(t, st.Media)
	require.True(t, strings.HasPrefix(st.Media[len(st.Media)-1].Kind, want), "%+v", st.Media)
	for _, v := range phi {
		require.NotContains(t, string(b), v, "PHI in the trace")
	}
	return tr
}
