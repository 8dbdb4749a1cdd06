package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestQueueWakeUp: see queueWakeUp (SQLite here; TestPostgres runs it on
// PostgreSQL, with an enqueue through another instance).
func TestQueueWakeUp(t *testing.T) {
	t.Parallel()
	queueWakeUp(t, "", "")
}

// wakeTolerance is how late a job may start after it is enqueued or due:
// generous, for a loaded machine under -race (a start is a claim and a
// few queries). Idle workers sleep up to a minute here (QueueMaxSleep):
// a wake-up that did not happen shows as a start about a minute late.
const wakeTolerance = 5 * time.Second

// queueWakeUp checks that idle workers, which sleep up to a minute here,
// start an enqueued fax at once, and a retry when its run_at comes (not
// before, and not at the end of their sleep); on PostgreSQL, that a fax
// queued through an instance without workers starts at once on another
// instance's idle worker (NOTIFY). Times are the database's records (the
// service's clock).
func queueWakeUp(t *testing.T, driver, dsn string) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rcv := newReceiver(t, ctx)
	const retryDelay = 3 * time.Second
	// +1666 goes to a port that does not exist: the attempt fails at once
	// (the call is never placed) and is retried after retryDelay.
	cfg := Config{Dir: t.TempDir(), DBDriver: driver, DSN: dsn, Unpaced: true, PasswordIterations: 1000, Instance: "W",
		Peers: map[string]string{"+1555": rcv.addr.String(), "+1666": "127.0.0.1:99999"}, Workers: 2,
		QueueMaxSleep: Duration(time.Minute), RetryDelays: []Duration{Duration(retryDelay)}, MaxAttempts: 2, CallTimeout: Duration(time.Minute)}
	w := startEnv(t, cfg)
	_, alice := w.user("alice", "sender")
	doc, _ := letterTIFF(t, 1)
	send := func(api *remote, to string) (id string, created time.Time) {
		t.Helper()
		code, st, body := api.send(alice, nil, part{name: "to", data: []byte(to)}, part{name: "file", file: "a.tif", data: doc})
		require.Equal(t, http.StatusAccepted, code, "%s", body)
		return st.ID, st.Created
	}
	// attempt waits for attempt n of fax to start (and, if done, to end).
	attempt := func(fax string, n int, done bool) (started, finished time.Time) {
		t.Helper()
		for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			var s, f int64
			err := w.svc.db.queryRow(ctx, `SELECT started, finished FROM attempts WHERE fax_id = ? AND n = ?`, fax, n).Scan(&s, &f)
			if err == nil && (!done || f != 0) {
				return time.Unix(0, s), time.Unix(0, f)
			}
			if !isNoRows(err) {
				require.NoError(t, err)
			}
			require.True(t, time.Now().Before(deadline), "attempt %d never started or ended", n)
		}
	}
	time.Sleep(300 * time.Millisecond) // the workers find nothing and sleep

	retry, created := send(w.remote, "+16665550123")
	started, failed := attempt(retry, 1, true)
	require.WithinRange(t, started, created, created.Add(wakeTolerance), "an enqueue wakes an idle worker")

	// Both workers are idle until the retry's run_at: an enqueue wakes
	// them before it.
	fresh, created := send(w.remote, "+15550123")
	started, _ = attempt(fresh, 1, false)
	require.WithinRange(t, started, created, created.Add(wakeTolerance), "an enqueue wakes a worker sleeping until a later run_at")

	runAt := failed.Add(retryDelay)
	started, _ = attempt(retry, 2, false)
	require.WithinRange(t, started, runAt, runAt.Add(wakeTolerance), "the retry starts when its run_at comes")
	require.Equal(t, statusDelivered, w.wait(alice, fresh, func(s FaxStatus) bool { return s.Status == statusDelivered || s.Status == statusFailed }).Status)
	require.Equal(t, statusFailed, w.wait(alice, retry, func(s FaxStatus) bool { return s.Status == statusFailed }).Status)
	if driver != "pgx" {
		return
	}

	// Another instance, serving the API only (no workers): what it
	// queues, W's idle workers hear of through NOTIFY.
	acfg := cfg
	acfg.Instance = "A"
	a, err := openService(ctx, acfg, nil)
	require.NoError(t, err)
	ts := httptest.NewTLSServer(a.Handler())
	t.Cleanup(func() {
		ts.Close()
		a.Close()
	})
	time.Sleep(300 * time.Millisecond)
	other, created := send(&remote{t: t, base: ts.URL, client: ts.Client()}, "+15550124")
	started, _ = attempt(other, 1, false)
	require.WithinRange(t, started, created, created.Add(wakeTolerance), "an enqueue on another instance wakes an idle worker")
	require.Equal(t, statusDelivered, w.wait(alice, other, func(s FaxStatus) bool { return s.Status == statusDelivered || s.Status == statusFailed }).Status)
}
