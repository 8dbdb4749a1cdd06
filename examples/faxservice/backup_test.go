package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit/phi"
)

// TestBackupRestoreDrill is the restore drill on SQLite (TestPostgres
// runs it on PostgreSQL).
func TestBackupRestoreDrill(t *testing.T) {
	t.Parallel()
	backupDrill(t, nil)
}

// pgTarget is a PostgreSQL database for backupDrill: the cluster's DSN
// and the database's name, dropped and created again as the disaster.
type pgTarget struct{ cluster, name string }

// backupDrill is the restore drill: faxes sent and received, a token
// revoked, an encrypted backup taken through the API, the state
// directory and the database destroyed, tampered, truncated and
// wrong-key backups refused with nothing restored, then the backup
// restored: every table holds what it held, every document opens with
// its digests checked and pixel-identical pages, the audit chain
// verifies, and the users' tokens (a revoked one stays revoked), routes,
// grants and statuses work as before. pg nil: SQLite.
func backupDrill(t *testing.T, pg *pgTarget) {
	keyDir := t.TempDir() // the customer's key lives apart from the data
	kekFile := filepath.Join(keyDir, "kek.json")
	var cfg Config
	e := newEnv(t, func(c *Config) {
		c.DBDriver, c.DSN = "sqlite", ""
		if pg != nil {
			c.DBDriver, c.DSN = "pgx", newDatabase(t, pg.cluster, pg.name)
		}
		c.KEKFile = kekFile
		cfg = *c
	})
	_, alice := e.user("alice", "sender")
	bobID, bob := e.user("bob", "inbox")
	_, carol := e.user("carol", "inbox")
	require.Equal(t, http.StatusOK, e.json("PUT", "/v1/routes/default", e.admin, map[string]any{"targets": []string{bobID}}, nil))
	doc, pages := letterTIFF(t, 2)
	code, st, body := e.send(alice, nil, part{name: "to", data: []byte("+15550123")}, part{name: "file", file: "a.tif", data: doc})
	require.Equal(t, http.StatusAccepted, code, "%s", body)
	st = e.wait(alice, st.ID, func(s FaxStatus) bool { return s.Status == statusDelivered || s.Status == statusFailed })
	require.Equal(t, statusDelivered, st.Status)
	var list struct{ Faxes []FaxStatus }
	for deadline := time.Now().Add(30 * time.Second); len(list.Faxes) == 0; time.Sleep(20 * time.Millisecond) {
		require.True(t, time.Now().Before(deadline), "inbound fax not listed")
		require.Equal(t, http.StatusOK, e.json("GET", "/v1/faxes?direction=inbound", bob, nil, &list))
	}
	inID := list.Faxes[0].ID
	// Carol's token is revoked: it must stay revoked after the restore.
	var carolTok struct{ ID string }
	require.NoError(t, e.svc.db.queryRow(context.Background(), `SELECT t.id FROM tokens t JOIN users u ON u.id = t.user_id WHERE u.name = 'carol'`).Scan(&carolTok.ID))
	require.Equal(t, http.StatusNoContent, e.json("DELETE", "/v1/tokens/"+carolTok.ID, e.admin, nil, nil))
	require.Equal(t, http.StatusUnauthorized, e.json("GET", "/v1/faxes", carol, nil, nil))

	// Only an admin may take a backup.
	code, _, _ = e.do("POST", "/v1/backups", alice, nil, nil)
	require.Equal(t, http.StatusForbidden, code)
	// What the API shows, before.
	_, routesBefore, _ := e.do("GET", "/v1/routes", e.admin, nil, nil)
	_, outBefore, _ := e.do("GET", "/v1/faxes/"+st.ID, alice, nil, nil)
	_, inBefore, _ := e.do("GET", "/v1/faxes/"+inID, bob, nil, nil)
	_, eventsBefore, _ := e.do("GET", "/v1/faxes/"+st.ID+"/events", alice, nil, nil)
	code, backup, hdr := e.do("POST", "/v1/backups", e.admin, nil, nil)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "application/octet-stream", hdr.Get("Content-Type"))
	require.True(t, bytes.HasPrefix(backup, []byte(backupMagic)))
	for _, clear := range [][]byte{[]byte("II*\x00"), []byte("15550123"), []byte("CREATE TABLE"), []byte(bobID), []byte("alice")} {
		require.False(t, bytes.Contains(backup, clear), "the backup holds %q in clear", clear)
	}
	// Every table's rows, as the backup's snapshot saw them: the workers
	// are idle (both faxes finished), and the backup request itself only
	// touched the admin token's last use before the snapshot.
	tablesBefore := dumpTables(t, e.svc.db)

	// Disaster: the whole state directory and the database are gone.
	e.ts.Close()
	e.cancel()
	require.NoError(t, e.svc.Close())
	require.NoError(t, os.RemoveAll(cfg.Dir))
	if pg != nil {
		recreateDatabase(t, pg.cluster, pg.name)
	}
	keys, err := phi.OpenLocalKeyFile(kekFile)
	require.NoError(t, err)
	ctx := context.Background()
	restoredUsers := func() int {
		dsn := cfg.DSN
		if cfg.DBDriver == "sqlite" {
			dsn = filepath.Join(cfg.Dir, "faxservice.db")
		}
		db, err := openDB(ctx, cfg.DBDriver, dsn)
		require.NoError(t, err)
		defer db.Close()
		var n int
		require.NoError(t, db.queryRow(ctx, `SELECT COUNT(*) FROM users`).Scan(&n))
		return n
	}

	t.Run("refused", func(t *testing.T) {
		flip := func(at int) []byte {
			b := bytes.Clone(backup)
			b[at] ^= 0x01
			return b
		}
		hdrEnd := bytes.IndexByte(backup[len(backupMagic):], '\n') + len(backupMagic)
		otherKey, err := phi.CreateLocalKeyFile(filepath.Join(t.TempDir(), "other.json"))
		require.NoError(t, err)
		for _, c := range []struct {
			name string
			b    []byte
			keys phi.KeyProvider
			want error
		}{
			{"body byte flipped", flip(len(backup) / 2), keys, errBackupTampered},
			{"last byte flipped", flip(len(backup) - 1), keys, errBackupTampered},
			{"header byte flipped", flip(hdrEnd - 3), keys, nil}, // the schema or time: still refused
			{"truncated", backup[:len(backup)-100], keys, errBackupTampered},
			{"cut to the header", backup[:hdrEnd+1], keys, errBackupTampered},
			{"not a backup", []byte("PK\x03\x04 a zip file"), keys, errBackupFormat},
			{"another customer's key", backup, otherKey, nil},
		} {
			t.Run(c.name, func(t *testing.T) {
				_, err := restoreBackup(ctx, cfg, c.keys, bytes.NewReader(c.b))
				require.Error(t, err)
				if c.want != nil {
					require.ErrorIs(t, err, c.want)
				}
				require.NotContains(t, err.Error(), "15550123")
				_, statErr := os.Stat(filepath.Join(cfg.Dir, "store"))
				require.True(t, os.IsNotExist(statErr), "nothing restored from a refused backup")
				_, statErr = os.Stat(filepath.Join(cfg.Dir, "staging-restore"))
				require.True(t, os.IsNotExist(statErr), "the staging directory is removed")
				require.Zero(t, restoredUsers(), "no row committed from a refused backup")
			})
		}
	})

	rep, err := restoreBackup(ctx, cfg, keys, bytes.NewReader(backup))
	require.NoError(t, err)
	require.Equal(t, 2, rep.Documents, "the outbound and the inbound fax")
	require.Positive(t, rep.AuditRecords)
	// Restoring over a restored state is refused.
	_, err = restoreBackup(ctx, cfg, keys, bytes.NewReader(backup))
	require.ErrorIs(t, err, errRestoreTarget)
	dsn := cfg.DSN
	if cfg.DBDriver == "sqlite" {
		dsn = filepath.Join(cfg.Dir, "faxservice.db")
	}
	rdb, err := openDB(ctx, cfg.DBDriver, dsn)
	require.NoError(t, err)
	tablesAfter := dumpTables(t, rdb)
	rdb.Close()
	for _, tb := range backupTables {
		require.Equal(t, tablesBefore[tb], tablesAfter[tb], "table %s restored row for row", tb)
	}

	// The service comes back with everything.
	e2 := startEnv(t, cfg)
	infos, err := e2.svc.store.List(ctx)
	require.NoError(t, err)
	require.Len(t, infos, 2)
	for _, in := range infos {
		require.NoError(t, e2.svc.store.Verify(ctx, in.ID))
	}
	ak, err := phi.OpenAuditKeyFile(e2.svc.cfg.AuditKeyFile)
	require.NoError(t, err)
	ar, err := phi.VerifyAuditLog(filepath.Join(cfg.Dir, "audit-test"), ak)
	require.NoError(t, err)
	require.GreaterOrEqual(t, int(ar.Records), rep.AuditRecords, "the chain goes on from the restored records")
	_, routesAfter, _ := e2.do("GET", "/v1/routes", e.admin, nil, nil)
	require.JSONEq(t, string(routesBefore), string(routesAfter), "routes")
	_, outAfter, _ := e2.do("GET", "/v1/faxes/"+st.ID, alice, nil, nil)
	require.JSONEq(t, string(outBefore), string(outAfter), "alice's fax status, attempts and token")
	_, inAfter, _ := e2.do("GET", "/v1/faxes/"+inID, bob, nil, nil)
	require.JSONEq(t, string(inBefore), string(inAfter), "bob's inbound fax status")
	_, eventsAfter, _ := e2.do("GET", "/v1/faxes/"+st.ID+"/events", alice, nil, nil)
	require.JSONEq(t, string(eventsBefore), string(eventsAfter), "events")
	require.Equal(t, http.StatusUnauthorized, e2.json("GET", "/v1/faxes", carol, nil, nil), "a revoked token stays revoked")
	code, got, _ := e2.do("GET", "/v1/faxes/"+inID+"/content", bob, nil, nil)
	require.Equal(t, http.StatusOK, code, "bob's token, route grant and fax survive")
	gp := tiffPages(t, got)
	require.Len(t, gp, 2)
	for i := range pages {
		require.True(t, pages[i].Equal(gp[i]), "page %d pixel-identical", i+1)
	}
	code, got, _ = e2.do("GET", "/v1/faxes/"+st.ID+"/content", alice, nil, nil)
	require.Equal(t, http.StatusOK, code, "alice's own grant survives")
	gp = tiffPages(t, got)
	require.Len(t, gp, 2)
	for i := range pages {
		require.True(t, pages[i].Equal(gp[i]), "sent page %d pixel-identical", i+1)
	}
	require.Equal(t, http.StatusNotFound, e2.json("GET", "/v1/faxes/"+inID, alice, nil, nil), "no grant appears either")
	var md struct{ Remote string }
	require.Equal(t, http.StatusOK, e2.json("GET", "/v1/faxes/"+st.ID+"/metadata", alice, nil, &md))
	require.Equal(t, "+15550123", md.Remote)
}

// dumpTables reads every table of the service, row by row in a fixed
// order, as text.
func dumpTables(t *testing.T, db *DB) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, tb := range backupTables {
		rows, err := db.query(context.Background(), `SELECT * FROM `+tb)
		require.NoError(t, err)
		cols, err := rows.Columns()
		require.NoError(t, err)
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			require.NoError(t, rows.Scan(ptrs...))
			for i, v := range vals {
				if b, ok := v.([]byte); ok {
					vals[i] = string(b)
				}
			}
			out[tb] = append(out[tb], fmt.Sprint(vals...))
		}
		require.NoError(t, rows.Err())
		rows.Close()
		slices.Sort(out[tb])
	}
	return out
}

// TestBackupCoversEveryTable keeps backupTables in step with the
// migrations: a table added later and left out of backups would be lost
// by every restore.
func TestBackupCoversEveryTable(t *testing.T) {
	db, err := openDB(context.Background(), "sqlite", filepath.Join(t.TempDir(), "x.db"))
	require.NoError(t, err)
	defer db.Close()
	rows, err := db.query(context.Background(), `SELECT name FROM sqlite_master WHERE type = 'table' AND name <> 'schema_migrations' ORDER BY name`)
	require.NoError(t, err)
	defer rows.Close()
	var tables []string
	for rows.Next() {
		var n string
		require.NoError(t, rows.Scan(&n))
		tables = append(tables, n)
	}
	require.ElementsMatch(t, tables, backupTables)
}
