package main

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL driver ("pgx")
	_ "modernc.org/sqlite"             // pure-Go SQLite driver ("sqlite")
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// DB is the service's database: SQLite by default. Every query is written
// with ? placeholders in portable SQL; rebind turns them into the
// driver's form.
type DB struct {
	*sql.DB
	driver string
	dsn    string // as given to sql.Open
	upTo   int    // migrate stops at this version (restores); 0: latest
}

// schemaVersion is the newest migration applied.
func (db *DB) schemaVersion(ctx context.Context) (int, error) {
	var v int
	err := db.queryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}

// openDB opens (creating if needed) the database and applies the
// migrations not yet applied.
func openDB(ctx context.Context, driver, dsn string) (*DB, error) {
	return openDBAt(ctx, driver, dsn, 0)
}

// openDBAt is openDB migrating only up to version (0: all).
func openDBAt(ctx context.Context, driver, dsn string, version int) (*DB, error) {
	switch driver {
	case "", "sqlite":
		driver = "sqlite"
		// WAL lets readers run beside the writer; busy_timeout makes a
		// second process (or a restarted one) wait instead of failing.
		q := url.Values{}
		q.Add("_pragma", "busy_timeout(10000)")
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "foreign_keys(1)")
		q.Add("_pragma", "synchronous(FULL)")
		dsn = "file:" + dsn + "?" + q.Encode()
	case "pgx", "postgres":
		driver = "pgx"
	default:
		return nil, fmt.Errorf("faxservice: unsupported database driver %q", driver)
	}
	sdb, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, err
	}
	if driver == "sqlite" {
		// One connection: SQLite has one writer anyway, and this keeps
		// transactions from waiting on each other inside one process.
		sdb.SetMaxOpenConns(1)
	} else {
		sdb.SetMaxOpenConns(16)
	}
	db := &DB{DB: sdb, driver: driver, dsn: dsn, upTo: version}
	if err := db.migrate(ctx); err != nil {
		sdb.Close()
		return nil, err
	}
	return db, nil
}

// rebind turns ? placeholders into $n for PostgreSQL.
func (db *DB) rebind(q string) string {
	if db.driver != "pgx" {
		return q
	}
	var b strings.Builder
	n := 0
	for _, c := range q {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

func (db *DB) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return db.ExecContext(ctx, db.rebind(q), args...)
}

func (db *DB) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return db.QueryContext(ctx, db.rebind(q), args...)
}

// queryStrings returns the first column of every row q selects (IDs,
// mostly), or the first error a row or the query met.
func (db *DB) queryStrings(ctx context.Context, q string, args ...any) ([]string, error) {
	rows, err := db.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func (db *DB) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	return db.QueryRowContext(ctx, db.rebind(q), args...)
}

// tx runs f in a transaction, committed when f returns nil.
func (db *DB) tx(ctx context.Context, f func(tx *Tx) error) error {
	stx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(&Tx{Tx: stx, db: db}); err != nil {
		stx.Rollback()
		return err
	}
	return stx.Commit()
}

// snapshot runs f in a read-only transaction that sees one consistent
// state of the database, on a connection of its own: on SQLite (one
// connection for the service) a second handle on the same file, whose
// WAL read transaction lets the service write meanwhile; on PostgreSQL a
// REPEATABLE READ transaction. For long readers (backups).
func (db *DB) snapshot(ctx context.Context, f func(tx *Tx) error) error {
	if db.driver != "sqlite" {
		stx, err := db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
		if err != nil {
			return err
		}
		defer stx.Rollback()
		return f(&Tx{Tx: stx, db: db})
	}
	rdb, err := sql.Open(db.driver, db.dsn)
	if err != nil {
		return err
	}
	defer rdb.Close()
	rdb.SetMaxOpenConns(1)
	stx, err := rdb.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer stx.Rollback()
	// A deferred SQLite transaction takes its snapshot at its first read.
	var v int
	if err := stx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&v); err != nil {
		return err
	}
	return f(&Tx{Tx: stx, db: db})
}

// Tx is a transaction with the DB's placeholder rebinding.
type Tx struct {
	*sql.Tx
	db *DB
}

func (tx *Tx) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return tx.ExecContext(ctx, tx.db.rebind(q), args...)
}

func (tx *Tx) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	return tx.QueryRowContext(ctx, tx.db.rebind(q), args...)
}

func (tx *Tx) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return tx.QueryContext(ctx, tx.db.rebind(q), args...)
}

// migration is one numbered schema step, migrations/NNNN_name.sql.
type migration struct {
	version int
	name    string
	sql     string
}

func migrations() ([]migration, error) {
	ents, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range ents {
		v, _, ok := strings.Cut(e.Name(), "_")
		n, err := strconv.Atoi(v)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("faxservice: bad migration file name %q", e.Name())
		}
		b, err := migrationFS.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: n, name: e.Name(), sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("faxservice: migration %q out of sequence", m.name)
		}
	}
	return ms, nil
}

// migrate applies, in order and each in its own transaction, the
// migrations newer than the database's version. A database newer than
// this binary is refused rather than half-understood.
func (db *DB) migrate(ctx context.Context) error {
	if db.driver == "pgx" {
		// Instances starting together migrate one at a time: a
		// session-level advisory lock held on one connection.
		conn, err := db.Conn(ctx)
		if err != nil {
			return err
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(7243911)`); err != nil {
			return err
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(7243911)`)
		return db.migrateOn(ctx)
	}
	return db.migrateOn(ctx)
}

func (db *DB) migrateOn(ctx context.Context) error {
	if _, err := db.exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied BIGINT NOT NULL)`); err != nil {
		return err
	}
	ms, err := migrations()
	if err != nil {
		return err
	}
	var cur int
	if err := db.queryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&cur); err != nil {
		return err
	}
	if cur > len(ms) {
		return fmt.Errorf("faxservice: database schema version %d is newer than this binary's %d", cur, len(ms))
	}
	if db.upTo > len(ms) {
		return fmt.Errorf("faxservice: schema version %d is newer than this binary's %d", db.upTo, len(ms))
	}
	todo := ms[cur:]
	if db.upTo > 0 && db.upTo >= cur {
		todo = ms[cur:db.upTo]
	}
	db.upTo = 0
	for _, m := range todo {
		err := db.tx(ctx, func(tx *Tx) error {
			for _, stmt := range splitSQL(m.sql) {
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					return fmt.Errorf("faxservice: migration %s: %w", m.name, err)
				}
			}
			_, err := tx.exec(ctx, `INSERT INTO schema_migrations (version, name, applied) VALUES (?, ?, ?)`, m.version, m.name, time.Now().UnixNano())
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// splitSQL splits a migration into statements at semicolons ending a
// line, dropping comment lines. Migrations hold no semicolons inside
// strings.
func splitSQL(s string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(s, "\n") {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteString("\n")
		if strings.HasSuffix(t, ";") {
			out = append(out, strings.TrimSuffix(strings.TrimSpace(cur.String()), ";"))
			cur.Reset()
		}
	}
	if strings.TrimSpace(cur.String()) != "" {
		out = append(out, cur.String())
	}
	return out
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
