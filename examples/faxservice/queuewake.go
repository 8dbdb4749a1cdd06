package main

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// Waking the queue's workers. An idle worker does not poll: it sleeps
// until the earliest time a job becomes claimable (a queued job's run_at,
// a leased job's lease expiry: claimJob returns it) or until a job is
// enqueued or changed, whichever comes first, and at most
// Config.QueueMaxSleep (a safety net for a wake-up lost with a database
// connection). Claiming is unchanged (one transaction, leases, fencing),
// so waking a worker too often costs a query and never a second call.
//
// Wake-ups: in-process, the transaction that enqueues or requeues a job
// is followed by jobsChanged, which wakes every idle worker of this
// instance (a broadcast: a closed channel). On PostgreSQL the transaction
// also runs NOTIFY faxservice_jobs (notifyJobs), delivered when it
// commits to every session listening on the database; each instance
// listens on a connection of its own (listenJobs) and wakes its workers,
// so a fax queued through one instance, or handed back by one shutting
// down, starts at once on an idle other.

// jobsChannel is the PostgreSQL notification channel of the job queue.
const jobsChannel = "faxservice_jobs"

// minQueueSleep keeps a worker from spinning on a job it sees due but
// cannot claim (another instance's claim holds it for a moment).
const minQueueSleep = 10 * time.Millisecond

// wakeup is a broadcast: every waiter on the channel wait returned is
// released by the next broadcast.
type wakeup struct {
	mu sync.Mutex
	ch chan struct{}
}

// wait returns a channel closed at the next broadcast. Take it before
// looking at the queue, so that a change made meanwhile is not missed.
func (w *wakeup) wait() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ch == nil {
		w.ch = make(chan struct{})
	}
	return w.ch
}

func (w *wakeup) broadcast() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ch != nil {
		close(w.ch)
		w.ch = nil
	}
}

// notifyJobs, inside a transaction that enqueues or requeues a job, tells
// the other instances on a PostgreSQL database when it commits.
func (s *Service) notifyJobs(ctx context.Context, tx *Tx) error {
	if s.db.driver != "pgx" {
		return nil
	}
	_, err := tx.ExecContext(ctx, `NOTIFY `+jobsChannel)
	return err
}

// jobsChanged wakes this instance's idle workers, after the transaction
// that changed the queue has committed.
func (s *Service) jobsChanged() { s.jobWake.broadcast() }

// queueSleep is how long an idle worker sleeps when the earliest job
// becomes claimable at next (Unix ns; 0: no job), or after a claim failed.
func (s *Service) queueSleep(next int64, claimErr error) time.Duration {
	most := time.Duration(s.cfg.QueueMaxSleep)
	switch {
	case claimErr != nil:
		return min(time.Second, most) // the database again soon
	case next == 0:
		return most
	}
	return min(max(time.Duration(next-s.now().UnixNano()), minQueueSleep), most)
}

// listenJobs keeps a PostgreSQL connection listening on jobsChannel until
// ctx ends, waking the workers at each notification, and once more after
// each (re)connection: notifications sent while it was not listening are
// lost, the queue's state is not.
func (s *Service) listenJobs(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		listening, err := s.listenOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		if listening {
			backoff = 100 * time.Millisecond
		}
		s.logger.Warn("queue: notification listener lost its connection", "err", err)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
		backoff = min(2*backoff, 10*time.Second)
	}
}

// listenOnce listens on one connection until it fails; listening says
// whether LISTEN took effect.
func (s *Service) listenOnce(ctx context.Context) (listening bool, err error) {
	conn, err := pgx.Connect(ctx, s.db.dsn)
	if err != nil {
		return false, err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, `LISTEN `+jobsChannel); err != nil {
		return false, err
	}
	s.jobsChanged()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return true, err
		}
		s.jobsChanged()
	}
}
