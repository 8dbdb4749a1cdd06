package main

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit/internal/peertest"
)

// startPostgres returns the DSN of a throw-away PostgreSQL cluster
// (Debian's postgresql package) on a loopback port, run as an
// unprivileged user when the test runs as root. One cluster serves the
// whole test binary (each test makes its own databases): initdb and the
// server's start cost more CPU than most tests that use them. TestMain
// stops and removes it.
func startPostgres(t *testing.T) string {
	t.Helper()
	pgCluster.once.Do(func() { pgCluster.dsn, pgCluster.stop, pgCluster.missing, pgCluster.err = startCluster() })
	if m := pgCluster.missing; m[0] != "" {
		peertest.Missing(t, m[0], m[1])
	}
	require.NoError(t, pgCluster.err)
	return pgCluster.dsn
}

var pgCluster struct {
	once    sync.Once
	dsn     string
	stop    func()
	missing [2]string // what is missing, install hint
	err     error
}

// stopPostgres stops the shared cluster, if one was started.
func stopPostgres() {
	if pgCluster.stop != nil {
		pgCluster.stop()
	}
}

func startCluster() (dsn string, stop func(), missing [2]string, err error) {
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		return "", nil, [2]string{"PostgreSQL server", "apt-get install postgresql"}, nil
	}
	sort.Strings(bins)
	bin := filepath.Dir(bins[len(bins)-1])
	dir, err := os.MkdirTemp("", "faxpg")
	if err != nil {
		return "", nil, missing, err
	}
	var prefix []string
	if os.Geteuid() == 0 {
		// PostgreSQL refuses to run as root.
		u, err := user.Lookup("nobody")
		if err != nil {
			os.RemoveAll(dir)
			return "", nil, [2]string{"an unprivileged user (nobody) to run PostgreSQL", "useradd nobody"}, nil
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return "", nil, missing, err
		}
		runuser, err := exec.LookPath("runuser")
		if err != nil {
			os.RemoveAll(dir)
			return "", nil, [2]string{"runuser", "apt-get install util-linux"}, nil
		}
		prefix = []string{runuser, "-u", "nobody", "--"}
	}
	run := func(args ...string) error {
		full := append(append([]string{}, prefix...), args...)
		cmd := exec.Command(full[0], full[1:]...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	data := filepath.Join(dir, "data")
	stop = func() {
		run(filepath.Join(bin, "pg_ctl"), "-D", data, "-m", "immediate", "stop")
		os.RemoveAll(dir)
	}
	if err := run(filepath.Join(bin, "initdb"), "-D", data, "-U", "faxtest", "--auth=trust", "-E", "UTF8", "--no-sync"); err != nil {
		os.RemoveAll(dir)
		return "", nil, missing, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, missing, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	if err := run(filepath.Join(bin, "pg_ctl"), "-D", data, "-l", filepath.Join(dir, "log"), "-w", "-t", "60", "-o",
		fmt.Sprintf("-k %s -c listen_addresses=127.0.0.1 -p %d -c fsync=off -c max_connections=200", dir, port), "start"); err != nil {
		stop()
		return "", nil, missing, err
	}
	return fmt.Sprintf("host=127.0.0.1 port=%d user=faxtest dbname=postgres sslmode=disable", port), stop, missing, nil
}

// newDatabase creates an empty database on the cluster and returns its DSN.
func newDatabase(t *testing.T, dsn, name string) string {
	db, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The cluster outlives a test (-count=2 makes the same names again).
	_, err = db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, "CREATE DATABASE "+name)
	require.NoError(t, err)
	return strings.Replace(dsn, "dbname=postgres", "dbname="+name, 1)
}

// recreateDatabase drops a database (closing its sessions) and creates it
// again, empty.
func recreateDatabase(t *testing.T, dsn, name string) {
	db, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = db.ExecContext(ctx, "DROP DATABASE "+name+" WITH (FORCE)")
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, "CREATE DATABASE "+name)
	require.NoError(t, err)
}

// pgDSN, when set, makes newEnv use PostgreSQL.
var pgDSN string

// TestPostgres runs the API tests against a real PostgreSQL server: the
// same schema and queries as SQLite.
func TestPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL server")
	}
	dsn := startPostgres(t)
	for i, f := range []func(*testing.T){TestSendReceiveEndToEnd, TestBadInput, TestWebhooks, TestNoPHIInLogsOrResponses} {
		pgDSN = newDatabase(t, dsn, fmt.Sprintf("t%d", i))
		t.Run(strconv.Itoa(i), f)
		pgDSN = ""
	}
	t.Run("BackupRestoreDrill", func(t *testing.T) { backupDrill(t, &pgTarget{cluster: dsn, name: "drill"}) })
	t.Run("BulkReadAlertsAcrossInstances", func(t *testing.T) { bulkReadsAcrossInstances(t, "pgx", newDatabase(t, dsn, "alerts")) })
	t.Run("AttemptTraceAPI", func(t *testing.T) {
		pgDSN = newDatabase(t, dsn, "traces")
		defer func() { pgDSN = "" }()
		attemptTraceAPI(t)
	})
	t.Run("Migration0008", func(t *testing.T) { migration0008(t, "pgx", newDatabase(t, dsn, "m8")) })
	t.Run("QueueWakeUp", func(t *testing.T) { queueWakeUp(t, "pgx", newDatabase(t, dsn, "wake")) })
}

// TestPostgresTwoInstancesOneKilled runs two service processes on one
// PostgreSQL database and one shared sealed store, queues faxes through
// one of them, kills the other with SIGKILL while it is in a call, and
// checks that the survivor finishes every fax and that each reaches the
// receiver completely exactly once.
func TestPostgresTwoInstancesOneKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL server")
	}
	dsn := newDatabase(t, startPostgres(t), "two")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rcv := newReceiver(t, ctx)
	cfg := Config{Dir: t.TempDir(), DBDriver: "pgx", DSN: dsn, HTTPAddr: "127.0.0.1:0",
		Peers: map[string]string{"+1": rcv.addr.String()}, Workers: 1, LeaseTTL: Duration(2 * time.Second),
		PollInterval: Duration(200 * time.Millisecond), PasswordIterations: 1000, Instance: "A",
		RetryDelays: []Duration{Duration(200 * time.Millisecond)}}
	a := startChild(t, cfg)
	require.NotEmpty(t, a.admin)
	ea := &remote{t: t, base: a.api, client: apiClient()}
	_, alice := ea.user(a.admin, "alice", "sender")
	want := map[[32]byte]string{}
	var ids []string
	for i := range 3 {
		img, h := markedPNG(t, i)
		code, st, body := ea.send(alice, nil, part{name: "to", data: []byte(fmt.Sprintf("+1555010%d", i))}, part{name: "file", file: "p.png", data: img})
		require.Equal(t, http.StatusAccepted, code, "%s", body)
		ids = append(ids, st.ID)
		want[h] = st.ID
	}
	db, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	defer db.Close()
	// A is paced (long calls), B not.
	deadline := time.Now().Add(60 * time.Second)
	for {
		var na int
		require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM jobs WHERE state = 'leased' AND lease_owner = 'A'`).Scan(&na))
		if na == 1 {
			break
		}
		require.True(t, time.Now().Before(deadline), "A never took a job")
		time.Sleep(20 * time.Millisecond)
	}
	// B joins while A is in its (paced) call and takes the queued faxes.
	cfg.Instance, cfg.Unpaced = "B", true
	b := startChild(t, cfg)
	require.Empty(t, b.admin, "one bootstrap for the shared database")
	eb := &remote{t: t, base: b.api, client: apiClient()}
	var na int
	require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM jobs WHERE state = 'leased' AND lease_owner = 'A'`).Scan(&na))
	require.Equal(t, 1, na, "A is still in its call")
	require.NoError(t, a.cmd.Process.Signal(syscall.SIGKILL))
	a.cmd.Wait()

	for _, id := range ids {
		st := eb.wait(alice, id, func(s FaxStatus) bool { return s.Status == statusDelivered || s.Status == statusFailed })
		require.Equal(t, statusDelivered, st.Status, "%+v", st)
	}
	// A's one attempt was cut ("interrupted", B sent that fax again) or,
	// if the kill landed after its last page was confirmed, completed by
	// B's recovery without a new call.
	var aResult string
	require.NoError(t, db.QueryRow(`SELECT result FROM attempts WHERE instance = 'A'`).Scan(&aResult))
	var byB int
	require.NoError(t, db.QueryRow(`SELECT COUNT(DISTINCT fax_id) FROM attempts WHERE instance = 'B' AND result = 'ok'`).Scan(&byB))
	switch aResult {
	case resultInterrupted:
		require.Equal(t, 3, byB, "B sent its own faxes and took over A's")
	case "ok":
		require.Equal(t, 2, byB)
	default:
		t.Fatalf("A's attempt ended %q", aResult)
	}
	rcv.requireOnce(t, want)
}
