package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit/examples/faxservice/webhook"
	"github.com/faxkit/faxkit/phi"
	"github.com/faxkit/faxkit/phi/audit"
)

// seedFax seals a delivered outbound fax owned by owner without a call.
func seedFax(t *testing.T, s *Service, owner string, doc []byte) string {
	t.Helper()
	ctx := context.Background()
	who := phi.Principal{ID: owner, Roles: []phi.Role{phi.RoleSender}}
	dw, err := s.guard.Create(ctx, who, "test", phi.Metadata{Direction: phi.Outbound, Remote: "+15550111", ContentType: "image/tiff"})
	require.NoError(t, err)
	_, err = phi.SealTIFF(dw, bytes.NewReader(doc), int64(len(doc)), nil)
	require.NoError(t, err)
	info, err := s.commitDoc(ctx, who, "test", dw)
	require.NoError(t, err)
	now := s.now().UnixNano()
	_, err = s.db.exec(ctx, `INSERT INTO faxes (id, owner, direction, status, pages, created, updated, finished) VALUES (?, ?, 'outbound', ?, 1, ?, ?, ?)`,
		info.ID, owner, statusDelivered, now, now, now)
	require.NoError(t, err)
	return info.ID
}

// TestAlerts raises each alert kind (one principal reading too many
// faxes, repeated failed sign-ins, break-glass) and checks that each is
// an audit record, a row listed to auditors only, and a signed webhook
// event delivered to an auditor's endpoint and to no one else's.
func TestAlerts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.AlertReads = 2 })
	aliceID, alice := e.user("alice", "sender")
	_, carol := e.user("carol", "auditor")

	var mu sync.Mutex
	got := map[string][]map[string]any{}
	secrets := map[string]string{}
	bad := 0
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		who := r.URL.Query().Get("who")
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if webhook.Verify(secrets[who], r.Header.Get(webhook.Header), body, e.svc.now(), 0) != nil {
			bad++
			w.WriteHeader(400)
			return
		}
		var ev map[string]any
		json.Unmarshal(body, &ev)
		got[who] = append(got[who], ev)
	}))
	defer srv.Close()
	e.svc.hookClient = srv.Client()
	for who, c := range map[string]struct {
		tok    string
		events []string
	}{"carol": {carol, alertKinds}, "alice": {alice, nil}} {
		var h struct{ Secret string }
		require.Equal(t, http.StatusCreated, e.json("POST", "/v1/webhooks", c.tok, map[string]any{"url": srv.URL + "/?who=" + who, "events": c.events}, &h))
		mu.Lock()
		secrets[who] = h.Secret
		mu.Unlock()
	}
	require.Equal(t, http.StatusForbidden, e.json("POST", "/v1/webhooks", alice, map[string]any{"url": srv.URL, "events": []string{alertBulkReads}}, nil),
		"alert events are not for senders")

	// Bulk reads: the third distinct fax within the window alerts, once.
	doc, _ := letterTIFF(t, 1)
	ids := []string{seedFax(t, e.svc, aliceID, doc), seedFax(t, e.svc, aliceID, doc), seedFax(t, e.svc, aliceID, doc)}
	read := func(id string) {
		code, _, _ := e.do("GET", "/v1/faxes/"+id+"/content", alice, nil, nil)
		require.Equal(t, http.StatusOK, code)
	}
	read(ids[0])
	read(ids[1])
	read(ids[0])
	require.NotContains(t, e.logs.String(), "ALERT alert.bulk_reads", "two distinct faxes are within the threshold")
	read(ids[2])
	require.Equal(t, http.StatusOK, e.json("GET", "/v1/faxes/"+ids[1]+"/metadata", alice, nil, nil))
	require.Equal(t, 1, strings.Count(e.logs.String(), "ALERT alert.bulk_reads"), "one alert per window")

	// Repeated failed sign-ins lock the account and alert.
	var dave User
	require.Equal(t, http.StatusCreated, e.json("POST", "/v1/users", e.admin, map[string]any{"name": "dave", "roles": []string{"inbox"}, "password": "Correct-Horse-42"}, &dave))
	for range 5 {
		require.Equal(t, http.StatusUnauthorized, e.json("POST", "/v1/sessions", "", map[string]string{"name": "dave", "password": "wrong-Password-1"}, nil))
	}
	// Break-glass.
	require.Equal(t, http.StatusOK, e.json("POST", "/v1/faxes/"+ids[0]+"/emergency-access", e.admin, map[string]string{"reason": "INC-77"}, nil))

	var list struct{ Alerts []Alert }
	require.Equal(t, http.StatusForbidden, e.json("GET", "/v1/alerts", alice, nil, nil))
	require.Equal(t, http.StatusOK, e.json("GET", "/v1/alerts", carol, nil, &list))
	require.Len(t, list.Alerts, 3)
	byKind := map[string]Alert{}
	for _, a := range list.Alerts {
		byKind[a.Type] = a
	}
	require.Equal(t, aliceID, byKind[alertBulkReads].Principal)
	require.Equal(t, 3, byKind[alertBulkReads].Count)
	require.Equal(t, dave.ID, byKind[alertFailedSignins].Principal)
	require.NotEmpty(t, byKind[alertBreakGlass].Principal)

	// Each alert reaches the auditor's endpoint, signed, and nobody else's.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		mu.Lock()
		n := len(got["carol"])
		mu.Unlock()
		if n >= 3 {
			break
		}
		require.True(t, time.Now().Before(deadline), "alert webhooks not delivered: %d", n)
	}
	time.Sleep(200 * time.Millisecond)
	mu.Lock()
	require.Zero(t, bad)
	var kinds []string
	for _, ev := range got["carol"] {
		kinds = append(kinds, ev["type"].(string))
		require.NotEmpty(t, ev["id"])
		require.NotEmpty(t, ev["alert_id"])
	}
	require.ElementsMatch(t, alertKinds, kinds)
	for _, ev := range got["alice"] {
		require.False(t, strings.HasPrefix(ev["type"].(string), "alert."), "a sender's endpoint got an alert")
	}
	mu.Unlock()

	// And each is an audit record.
	ak, err := audit.OpenKeyFile(e.svc.cfg.AuditKeyFile)
	require.NoError(t, err)
	require.NoError(t, e.svc.log.Sync())
	var exp bytes.Buffer
	_, err = audit.Export(filepath.Join(e.svc.cfg.Dir, "audit-test"), ak, &exp, time.Time{}, time.Time{})
	require.NoError(t, err)
	for _, k := range alertKinds {
		require.Contains(t, exp.String(), "ALERT "+k)
	}
	require.Equal(t, 3, strings.Count(exp.String(), `"action_name":"alert"`))
}

// TestBulkReadAlertsAcrossInstances runs two instances on one SQLite
// database (TestPostgres runs it on PostgreSQL).
func TestBulkReadAlertsAcrossInstances(t *testing.T) {
	t.Parallel()
	bulkReadsAcrossInstances(t, "sqlite", "")
}

// bulkReadsAcrossInstances runs two service instances on one database and
// one state directory and checks that the bulk-read window is shared: a
// principal reading two faxes through A and a third through B is alerted
// (by B, with the count 3), once for the window although A then sees a
// fourth; and distinct reads of one principal spread over both instances
// at the same time raise exactly one alert.
func bulkReadsAcrossInstances(t *testing.T, driver, dsn string) {
	dir := t.TempDir()
	tweak := func(name string) func(*Config) {
		return func(c *Config) {
			c.Dir, c.Instance, c.AlertReads = dir, name, 2
			c.DBDriver, c.DSN = driver, dsn
			if driver == "sqlite" {
				c.DSN = filepath.Join(dir, "faxservice.db")
			}
		}
	}
	a := newEnv(t, tweak("A"))
	b := newEnv(t, tweak("B"))
	require.Empty(t, b.admin, "one bootstrap for the shared database")
	b.admin = a.admin
	aliceID, alice := a.user("alice", "sender")
	danID, dan := a.user("dan", "sender")
	_, carol := a.user("carol", "auditor")
	doc, _ := letterTIFF(t, 1)
	var ids, danIDs []string
	for range 4 {
		ids = append(ids, seedFax(t, a.svc, aliceID, doc))
	}
	for range 6 {
		danIDs = append(danIDs, seedFax(t, a.svc, danID, doc))
	}
	read := func(e *testEnv, tok, id string) {
		code, _, _ := e.do("GET", "/v1/faxes/"+id+"/content", tok, nil, nil)
		require.Equal(t, http.StatusOK, code)
	}
	alerts := func(who string) []Alert {
		var list struct{ Alerts []Alert }
		require.Equal(t, http.StatusOK, b.json("GET", "/v1/alerts", carol, nil, &list))
		var out []Alert
		for _, al := range list.Alerts {
			if al.Type == alertBulkReads && al.Principal == who {
				out = append(out, al)
			}
		}
		return out
	}
	read(a, alice, ids[0])
	read(a, alice, ids[1])
	read(b, alice, ids[0])
	require.Empty(t, alerts(aliceID), "two distinct faxes over both instances are within the threshold")
	read(b, alice, ids[2])
	got := alerts(aliceID)
	require.Len(t, got, 1, "the third distinct fax, read through the other instance, alerts")
	require.Equal(t, 3, got[0].Count)
	require.Contains(t, b.logs.String(), "ALERT alert.bulk_reads")
	require.NotContains(t, a.logs.String(), "ALERT alert.bulk_reads")
	read(a, alice, ids[3])
	require.Len(t, alerts(aliceID), 1, "one alert per window, whichever instance counts the next read")

	// Six distinct reads at once, three through each instance.
	var wg sync.WaitGroup
	codes := make([]int, len(danIDs))
	for i, id := range danIDs {
		e := a
		if i%2 == 1 {
			e = b
		}
		wg.Go(func() {
			req, _ := http.NewRequest("GET", e.base+"/v1/faxes/"+id+"/content", nil)
			req.Header.Set("Authorization", "Bearer "+dan)
			resp, err := e.client.Do(req)
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				codes[i] = resp.StatusCode
			}
		})
	}
	wg.Wait()
	for i, c := range codes {
		require.Equal(t, http.StatusOK, c, "read %d", i)
	}
	got = alerts(danID)
	require.Len(t, got, 1, "concurrent reads on two instances raise one alert")
	require.GreaterOrEqual(t, got[0].Count, 3)
}
