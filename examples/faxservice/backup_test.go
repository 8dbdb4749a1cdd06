package main

import (
	"bytes"
	"context"
	"github.com/faxkit/faxkit/phi"
	"github.com/faxkit/faxkit/phi/audit"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestBackupRestoreDrill is the restore drill: faxes sent and received,
// an encrypted backup taken through the API, the state directory
// destroyed, tampered, truncated and wrong-key backups refused with
// nothing restored, then the backup restored: every document opens with
// its digests checked, the audit chain verifies, and the users' tokens,
// routes, grants and faxes work as before.
func TestBackupRestoreDrill(t *testing.T) {
	t.Parallel()
	keyDir := t.TempDir() // the customer's key lives apart from the data
	kekFile := filepath.Join(keyDir, "kek.json")
	var cfg Config
	e := newEnv(t, func(c *Config) {
		c.DBDriver, c.DSN = "sqlite", ""
		c.KEKFile = kekFile
		cfg = *c
	})
	_, alice := e.user("alice", "sender")
	bobID, bob := e.user("bob", "inbox")
	require.Equal(t, http.StatusOK, e.json("PUT", "/v1/routes/default", e.admin, map[string]any{"targets": []string{bobID}}, nil))
	doc, pages := letterTIFF(t, 2)
	code, st, body := e.send(alice, nil, part{name: "to", data: []byte("+15550123")}, part{name: "file", file: "a.tif", data: doc})
	require.Equal(t, http.StatusAccepted, code, "%s", body)
	st = e.wait(alice, st.ID, func(s FaxStatus) bool { return s.Status == statusDelivered || s.Status == statusFailed })
	require.Equal(t, statusDelivered, st.Status)
	var list struct{ Faxes []FaxStatus }
	for deadline := time.Now().Add(30 * time.Second); len(list.Faxes) == 0; time.Sleep(50 * time.Millisecond) {
		require.True(t, time.Now().Before(deadline), "inbound fax not listed")
		require.Equal(t, http.StatusOK, e.json("GET", "/v1/faxes?direction=inbound", bob, nil, &list))
	}
	inID := list.Faxes[0].ID

	// Only an admin may take a backup.
	code, _, _ = e.do("POST", "/v1/backups", alice, nil, nil)
	require.Equal(t, http.StatusForbidden, code)
	code, backup, hdr := e.do("POST", "/v1/backups", e.admin, nil, nil)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "application/octet-stream", hdr.Get("Content-Type"))
	require.True(t, bytes.HasPrefix(backup, []byte(backupMagic)))
	for _, clear := range [][]byte{[]byte("II*\x00"), []byte("15550123"), []byte("CREATE TABLE"), []byte(bobID), []byte("alice")} {
		require.False(t, bytes.Contains(backup, clear), "the backup holds %q in clear", clear)
	}

	// Disaster: the whole state directory is gone.
	e.ts.Close()
	e.cancel()
	require.NoError(t, e.svc.Close())
	require.NoError(t, os.RemoveAll(cfg.Dir))
	keys, err := phi.OpenLocalKeyFile(kekFile)
	require.NoError(t, err)
	ctx := context.Background()

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
	_, err = audit.Verify(filepath.Join(cfg.Dir, "audit-test"), ak)
	require.NoError(t, err)
	code, got, _ := e2.do("GET", "/v1/faxes/"+inID+"/content", bob, nil, nil)
	require.Equal(t, http.StatusOK, code, "bob's token, route grant and fax survive")
	gp := tiffPages(t, got)
	require.Len(t, gp, 2)
	for i := range pages {
		require.True(t, pages[i].Equal(gp[i]), "page %d", i+1)
	}
	var md struct{ Remote string }
	require.Equal(t, http.StatusOK, e2.json("GET", "/v1/faxes/"+st.ID+"/metadata", alice, nil, &md))
	require.Equal(t, "+15550123", md.Remote)
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
