package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit/phi"
	"github.com/faxkit/faxkit/phi/audit"
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
	ak, err := audit.OpenKeyFile(e2.svc.cfg.AuditKeyFile)
	require.NoError(t, err)
	ar, err := audit.Verify(filepath.Join(cfg.Dir, "audit-test"), ak)
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

// heapPeak samples the heap (live and not yet swept objects) as a backup
// or restore streams through it, at every read or write of the file.
type heapPeak struct {
	base, peak uint64
	s          []metrics.Sample
}

func newHeapPeak() *heapPeak {
	runtime.GC()
	h := &heapPeak{s: []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}}
	h.base = h.sample()
	return h
}

func (h *heapPeak) sample() uint64 {
	metrics.Read(h.s)
	v := h.s[0].Value.Uint64()
	h.peak = max(h.peak, v)
	return v
}

// growth is the peak above the heap at the start.
func (h *heapPeak) growth() int64 { return int64(h.peak) - int64(h.base) }

type sampledWriter struct {
	io.Writer
	h *heapPeak
}

func (w sampledWriter) Write(b []byte) (int, error) { w.h.sample(); return w.Writer.Write(b) }

type sampledReader struct {
	io.Reader
	h *heapPeak
}

func (r sampledReader) Read(b []byte) (int, error) { r.h.sample(); return r.Reader.Read(b) }

// TestBackupStreamsInBoundedMemory backs up and restores a state of one
// 16 MiB document, 4 small ones and 3000 rows (in 8 KiB database entries,
// so some 40 of them) while sampling the heap: neither direction may grow
// it by more than 8 MiB, half the big document (a backup built in
// memory, or a document read whole, fails). The restore of the big file
// reassembles chunked tables, and a byte flipped in the middle of the big
// document is still refused with nothing committed, after thousands of
// rows were already inserted in the restore's transaction (the drill
// covers truncation and the other tampering).
func TestBackupStreamsInBoundedMemory(t *testing.T) {
	// Not parallel: the heap is measured for the whole process.
	const bigDoc, bound = 16 << 20, 8 << 20
	defer debug.SetGCPercent(debug.SetGCPercent(20)) // a tight heap goal: garbage does not hide the live set
	chunk := backupChunk
	backupChunk = 8 << 10
	defer func() { backupChunk = chunk }()

	kekFile := filepath.Join(t.TempDir(), "kek.json")
	var cfg Config
	e := newEnv(t, func(c *Config) {
		c.DBDriver, c.DSN, c.KEKFile = "sqlite", "", kekFile
		cfg = *c
	})
	ctx := context.Background()
	who := phi.Principal{ID: "u_big", Roles: []phi.Role{phi.RoleSender}}
	big, err := e.svc.guard.Put(ctx, who, "test", phi.Metadata{Direction: phi.Outbound, ContentType: "application/octet-stream"},
		io.LimitReader(rand.NewChaCha8([32]byte{1}), bigDoc))
	require.NoError(t, err)
	doc, _ := letterTIFF(t, 1)
	for range 4 {
		seedFax(t, e.svc, "u_small", doc)
	}
	require.NoError(t, e.svc.db.tx(ctx, func(tx *Tx) error {
		stmt, err := tx.PrepareContext(ctx, tx.db.rebind(`INSERT INTO events (id, fax_id, seq, type, created) VALUES (?, ?, ?, 'fax.queued', ?)`))
		if err != nil {
			return err
		}
		defer stmt.Close()
		for i := range 3000 {
			if _, err := stmt.ExecContext(ctx, fmt.Sprintf("evt_bulk%08d", i), "f_bulk", i, i); err != nil {
				return err
			}
		}
		return nil
	}))
	before := dumpTables(t, e.svc.db)

	path := filepath.Join(t.TempDir(), "big.fxbackup")
	f, err := os.Create(path)
	require.NoError(t, err)
	h := newHeapPeak()
	rep, err := e.svc.Backup(ctx, sampledWriter{f, h})
	require.NoError(t, err)
	require.NoError(t, f.Close())
	st, err := os.Stat(path)
	require.NoError(t, err)
	require.Greater(t, st.Size(), int64(bigDoc), "the backup is larger than the document")
	require.Equal(t, 5, rep.Documents)
	require.GreaterOrEqual(t, rep.Rows, 3000)
	t.Logf("backup: %d bytes, %d rows, %d documents; heap growth %.1f MiB", st.Size(), rep.Rows, rep.Documents, float64(h.growth())/(1<<20))
	require.Less(t, h.growth(), int64(bound), "backup heap growth")

	e.ts.Close()
	e.cancel()
	require.NoError(t, e.svc.Close())
	require.NoError(t, os.RemoveAll(cfg.Dir))
	keys, err := phi.OpenLocalKeyFile(kekFile)
	require.NoError(t, err)

	// Tampered in the middle of the big document: refused, and nothing
	// committed.
	damaged := filepath.Join(t.TempDir(), "damaged.fxbackup")
	for name, damage := range map[string]func(*os.File){
		"byte flipped mid-document": func(f *os.File) {
			b := make([]byte, 1)
			_, err := f.ReadAt(b, st.Size()/2)
			require.NoError(t, err)
			b[0] ^= 0x80
			_, err = f.WriteAt(b, st.Size()/2)
			require.NoError(t, err)
		},
	} {
		t.Run(name, func(t *testing.T) {
			copyFile(t, path, damaged)
			f, err := os.OpenFile(damaged, os.O_RDWR, 0)
			require.NoError(t, err)
			damage(f)
			_, err = f.Seek(0, io.SeekStart)
			require.NoError(t, err)
			_, err = restoreBackup(ctx, cfg, keys, f)
			f.Close()
			require.ErrorIs(t, err, errBackupTampered)
			_, statErr := os.Stat(filepath.Join(cfg.Dir, "store"))
			require.True(t, os.IsNotExist(statErr), "nothing restored")
			db, err := openDB(ctx, "sqlite", filepath.Join(cfg.Dir, "faxservice.db"))
			require.NoError(t, err)
			defer db.Close()
			var n int
			require.NoError(t, db.queryRow(ctx, `SELECT COUNT(*) FROM events`).Scan(&n))
			require.Zero(t, n, "no row committed")
		})
	}

	f, err = os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	h = newHeapPeak()
	rrep, err := restoreBackup(ctx, cfg, keys, sampledReader{f, h})
	require.NoError(t, err)
	t.Logf("restore: heap growth %.1f MiB", float64(h.growth())/(1<<20))
	require.Less(t, h.growth(), int64(bound), "restore heap growth")
	require.Equal(t, rep.Documents, rrep.Documents)
	require.Equal(t, rep.Rows, rrep.Rows)
	db, err := openDB(ctx, "sqlite", filepath.Join(cfg.Dir, "faxservice.db"))
	require.NoError(t, err)
	defer db.Close()
	after := dumpTables(t, db)
	for _, tb := range backupTables {
		require.Equal(t, len(before[tb]), len(after[tb]), "table %s", tb)
		require.Equal(t, before[tb], after[tb], "table %s", tb)
	}
	store, err := phi.OpenStore(ctx, phi.StoreConfig{Dir: filepath.Join(cfg.Dir, "store"), Keys: keys})
	require.NoError(t, err)
	bi, err := store.Stat(ctx, big.ID)
	require.NoError(t, err)
	require.Equal(t, big.ID, bi.ID)
}

func copyFile(t *testing.T, from, to string) {
	in, err := os.Open(from)
	require.NoError(t, err)
	defer in.Close()
	out, err := os.Create(to)
	require.NoError(t, err)
	_, err = io.Copy(out, in)
	require.NoError(t, err)
	require.NoError(t, out.Close())
}
