package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/faxkit/faxkit"
	"github.com/faxkit/faxkit/internal/clock"
	"github.com/faxkit/faxkit/phi"
	"github.com/faxkit/faxkit/phi/audit"
	"github.com/faxkit/faxkit/sip"
	"github.com/faxkit/faxkit/t30"
	"github.com/faxkit/faxkit/tiff"
	"github.com/faxkit/faxkit/transport"
)

// Service is a HIPAA fax service: an HTTPS API, a durable job queue on the
// database with leases, T.38 listeners routing inbound faxes by DID, a
// sealed store behind a default-deny guard, and an audit log. Its state
// lives in the database and the store, so a restart (or a crash) loses
// nothing: grants, tokens, routes, statuses and queued jobs survive.
type Service struct {
	cfg    Config
	db     *DB
	guard  *phi.Guard
	store  *phi.Store
	keys   phi.KeyProvider
	policy *phi.Policy
	log    *audit.Log
	logger *slog.Logger
	// skew is added to the system clock: tests move time forward
	// (token expiry, idle timeout) without sleeping.
	skew atomic.Int64
	fax  faxkit.Options

	// hookClient delivers webhooks (TLS 1.2+).
	hookClient *http.Client

	jobWake wakeup        // idle queue workers wait on it (queuewake.go)
	sip     *sip.Endpoint // nil without Config.SIP
	reads   readMonitor   // bulk-read alerts
	wg      sync.WaitGroup

	metricsOnce sync.Once
	metricsH    http.Handler

	closeOnce sync.Once
	closeErr  error
}

// The service's own principals. IDs are opaque, never PHI.
var (
	gateway = phi.Principal{ID: "svc-gateway", Roles: []phi.Role{phi.RoleReceiver}}
	router  = phi.Principal{ID: "svc-router", Roles: []phi.Role{phi.RoleAdmin}}
)

// Fax statuses.
const (
	statusQueued    = "queued"
	statusSending   = "sending"
	statusDelivered = "delivered"
	statusFailed    = "failed"
	statusCancelled = "cancelled"
	statusReceived  = "received"
	statusPartial   = "partial" // inbound: pages before a failure were kept
)

// openService opens the store, audit log and database under cfg.Dir.
func openService(ctx context.Context, cfg Config, logger *slog.Logger) (*Service, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{cfg: cfg, logger: logger,
		hookClient: &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12}},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	// One clock for the store (creation and retention dates, purge), the
	// audit log and the policy: tests move it forward through skew.
	clk := serviceClock{s}
	kek, err := phi.OpenOrCreateLocalKeyFile(cfg.KEKFile)
	if err != nil {
		return nil, err
	}
	store, err := phi.OpenStore(ctx, phi.StoreConfig{Dir: filepath.Join(cfg.Dir, "store"), Keys: kek, Clock: clk, DefaultRetention: time.Duration(cfg.Retention)})
	if err != nil {
		return nil, err
	}
	ak, err := audit.OpenOrCreateKeyFile(cfg.AuditKeyFile, "faxservice")
	if err != nil {
		return nil, err
	}
	alog, err := audit.Open(audit.Config{Dir: filepath.Join(cfg.Dir, "audit-"+safeName(cfg.Instance)), Keys: ak, Clock: clk})
	if err != nil {
		return nil, err
	}
	if cfg.DSN == "" && cfg.DBDriver == "sqlite" {
		cfg.DSN = filepath.Join(cfg.Dir, "faxservice.db")
		s.cfg.DSN = cfg.DSN
	}
	db, err := openDB(ctx, cfg.DBDriver, cfg.DSN)
	if err != nil {
		alog.Close()
		return nil, err
	}
	pol := phi.NewPolicy(alog, clk)
	s.db, s.policy, s.guard, s.store, s.keys, s.log = db, pol, phi.NewGuard(store, pol), store, kek, alog
	s.fax = faxkit.Options{Logger: logger, Timeout: time.Duration(cfg.CallTimeout)}
	s.fax.Fax.LocalIdent = cfg.StationID
	if cfg.Unpaced {
		s.fax.T38.Pacing = faxkit.Unpaced
	}
	return s, nil
}

func (s *Service) now() time.Time { return time.Now().Add(time.Duration(s.skew.Load())) }

// serviceClock is the service's time (the system clock plus the tests'
// skew) as the clock.Clock phi reads.
type serviceClock struct{ s *Service }

func (c serviceClock) Now() time.Time                       { return c.s.now() }
func (c serviceClock) NewTimer(d time.Duration) clock.Timer { return clock.Real().NewTimer(d) }

// safeName keeps an instance name usable as a directory name.
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}

// Close waits for the workers (after ctx is cancelled) and closes the
// database and the audit log.
func (s *Service) Close() error {
	s.closeOnce.Do(func() {
		s.wg.Wait()
		s.closeErr = s.db.Close()
		if e := s.log.Close(); s.closeErr == nil {
			s.closeErr = e
		}
	})
	return s.closeErr
}

func (s *Service) audit(ctx context.Context, e audit.Event) {
	if _, err := s.log.Append(ctx, e); err != nil {
		s.logger.Error("audit append failed", "err", err)
	}
}

// loadGrants brings a document's persisted grants into the policy before
// a guarded call (another instance may have made them).
func (s *Service) loadGrants(ctx context.Context, doc string) {
	rows, err := s.db.query(ctx, `SELECT principal, perms FROM grants WHERE document = ?`, doc)
	if err != nil {
		return
	}
	defer rows.Close()
	var gs []phi.Grant
	for rows.Next() {
		var g phi.Grant
		var p int64
		if rows.Scan(&g.Principal, &p) == nil {
			g.Document, g.Perms = doc, phi.Permission(p)
			gs = append(gs, g)
		}
	}
	if rows.Err() != nil {
		return
	}
	// The database is the record: a grant another instance revoked (a
	// member left a group) is gone here too, not kept from an earlier load.
	// Replaced in one step: a request checked meanwhile must not find the
	// document without grants (a user polling their fax got a 404 while a
	// worker reloaded its grants).
	s.policy.ReplaceGrants(doc, gs)
}

func (s *Service) saveGrant(ctx context.Context, doc, principal string, perms phi.Permission) error {
	_, err := s.db.exec(ctx, `INSERT INTO grants (document, principal, perms) VALUES (?, ?, ?)
		ON CONFLICT (document, principal) DO UPDATE SET perms = grants.perms | excluded.perms`, doc, principal, int64(perms))
	return err
}

const ownerPerms = phi.PermReadMetadata | phi.PermReadContent | phi.PermDelete

// commitDoc commits a document written through the guard, grants and
// persists the creator's access, and audits the outcome.
func (s *Service) commitDoc(ctx context.Context, who phi.Principal, src string, dw *phi.DocumentWriter) (phi.DocInfo, error) {
	info, err := dw.Commit() // the guard grants the creator and audits
	if err != nil {
		return info, err
	}
	return info, s.saveGrant(ctx, info.ID, who.ID, ownerPerms)
}

// grant gives principal perms on doc as the router (audited) and persists it.
func (s *Service) grant(ctx context.Context, src, doc, principal string, perms phi.Permission) error {
	if err := s.guard.GrantAccess(ctx, router, src, doc, principal, perms); err != nil {
		return err
	}
	return s.saveGrant(ctx, doc, principal, perms)
}

// addEvent records a fax event with the fax's next sequence number.
func (s *Service) addEvent(ctx context.Context, tx *Tx, faxID, typ string) error {
	var seq int
	if err := tx.queryRow(ctx, `UPDATE faxes SET event_seq = event_seq + 1 WHERE id = ? RETURNING event_seq`, faxID).Scan(&seq); err != nil {
		return err
	}
	id, now := "evt_"+randomHex(12), s.now().UnixNano()
	if _, err := tx.exec(ctx, `INSERT INTO events (id, fax_id, seq, type, created) VALUES (?, ?, ?, ?, ?)`, id, faxID, seq, typ, now); err != nil {
		return err
	}
	return s.enqueueDeliveries(ctx, tx, id, faxID, seq, typ, now)
}

// Start runs the outbound workers and the inbound listeners until ctx
// ends. It returns the listeners' addresses, in cfg.Inbound's order.
func (s *Service) Start(ctx context.Context) ([]net.Addr, error) {
	var addrs []net.Addr
	if err := s.openSIP(); err != nil {
		return nil, err
	}
	if s.sip != nil {
		s.wg.Add(2)
		go func() {
			defer s.wg.Done()
			<-ctx.Done()
			s.sip.Close()
		}()
		go func() {
			defer s.wg.Done()
			s.acceptSIP(ctx)
		}()
	}
	for _, in := range s.cfg.Inbound {
		l, err := transport.Listen("udp", in.Addr, &transport.ListenConfig{QueueLen: 1024})
		if err != nil {
			return nil, err
		}
		addrs = append(addrs, l.Addr())
		s.wg.Add(2)
		go func() {
			defer s.wg.Done()
			<-ctx.Done()
			l.Close()
		}()
		go func() {
			defer s.wg.Done()
			var calls sync.WaitGroup
			defer calls.Wait()
			for {
				c, err := l.Accept(ctx)
				if err != nil {
					return
				}
				calls.Add(1)
				go func() {
					defer calls.Done()
					s.receive(ctx, c, in.DID)
				}()
			}
		}()
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.deliverLoop(ctx)
	}()
	if s.db.driver == "pgx" {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.listenJobs(ctx)
		}()
	}
	for range s.cfg.Workers {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.worker(ctx)
		}()
	}
	return addrs, nil
}

// --- the queue -------------------------------------------------------------
//
// jobs is the queue: one row per outbound fax. A worker claims the oldest
// ready row (queued and due, or leased by someone whose lease has run
// out) by writing its instance name, an attempt number and a lease
// deadline, in one statement. Idle, a worker sleeps until the next row
// is due or the queue changes (queuewake.go). While the call runs, a
// heartbeat pushes the deadline forward; a process that dies stops the
// heartbeat and its job becomes claimable again after LeaseTTL. Every
// write that ends an attempt is fenced on (lease_owner, attempt), so a
// worker that lost its lease can change nothing. A call is cancelled as
// soon as its heartbeat fails, so two instances never run the same fax
// at once.
//
// Exactly once: each page the receiver confirms (MCF) is written to the
// attempt's row as it happens. A job reclaimed from a dead instance whose
// last attempt had every page confirmed is marked delivered without a new
// call; any other is sent again whole.

type claim struct {
	fax     string
	attempt int
	owner   string
	peer    string
	plan    attemptPlan // set by runJob
}

// claimJob claims the oldest claimable job. When there is none, next is
// when the earliest job becomes claimable (Unix ns, 0: no job at all):
// the earliest run_at of a queued job or lease expiry of a leased one.
func (s *Service) claimJob(ctx context.Context) (c claim, ok bool, next int64, err error) {
	now := s.now().UnixNano()
	err = s.db.tx(ctx, func(tx *Tx) error {
		sel := `SELECT j.fax_id FROM jobs j WHERE (j.state = 'queued' AND j.run_at <= ?) OR (j.state = 'leased' AND j.lease_until < ?)
			ORDER BY j.run_at, j.fax_id LIMIT 1`
		if s.db.driver == "pgx" {
			sel += ` FOR UPDATE SKIP LOCKED`
		}
		err := tx.queryRow(ctx, sel, now, now).Scan(&c.fax)
		if isNoRows(err) {
			// Both subqueries use jobs_ready (state, run_at) or
			// scan the few leased rows.
			if err := tx.queryRow(ctx, `SELECT COALESCE(MIN(t), 0) FROM (SELECT MIN(run_at) AS t FROM jobs WHERE state = 'queued'
				UNION ALL SELECT MIN(lease_until) AS t FROM jobs WHERE state = 'leased') due`).Scan(&next); err != nil {
				return err
			}
			return sql.ErrNoRows
		}
		if err != nil {
			return err
		}
		return tx.queryRow(ctx, `UPDATE jobs SET state = 'leased', lease_owner = ?, lease_until = ?, attempt = attempt + 1
			WHERE fax_id = ? RETURNING attempt`, s.cfg.Instance, now+int64(s.cfg.LeaseTTL), c.fax).Scan(&c.attempt)
	})
	if isNoRows(err) {
		return c, false, next, nil
	}
	if err != nil {
		return c, false, 0, err
	}
	err = s.db.queryRow(ctx, `SELECT owner, peer FROM faxes WHERE id = ?`, c.fax).Scan(&c.owner, &c.peer)
	return c, err == nil, 0, err
}

// worker runs claimed jobs one after the other; idle, it sleeps until
// the next job is due or the queue changes (queuewake.go).
func (s *Service) worker(ctx context.Context) {
	for ctx.Err() == nil {
		woken := s.jobWake.wait() // before looking: no change is missed
		c, ok, next, err := s.claimJob(ctx)
		if err != nil && ctx.Err() == nil {
			s.logger.Error("queue: claim failed", "err", err)
		}
		if ok {
			s.runJob(ctx, c)
			continue
		}
		t := time.NewTimer(s.queueSleep(next, err))
		select {
		case <-ctx.Done():
		case <-woken:
		case <-t.C:
		}
		t.Stop()
	}
}

// fenced runs f in a transaction only while we still hold the lease.
func (s *Service) fenced(ctx context.Context, c claim, f func(tx *Tx) error) error {
	return s.db.tx(ctx, func(tx *Tx) error {
		q := `SELECT fax_id FROM jobs WHERE fax_id = ? AND state = 'leased' AND lease_owner = ? AND attempt = ?`
		if s.db.driver == "pgx" {
			q += ` FOR UPDATE` // hold the row: no reclaim between check and write
		}
		var id string
		err := tx.queryRow(ctx, q, c.fax, s.cfg.Instance, c.attempt).Scan(&id)
		if isNoRows(err) {
			return errLeaseLost
		}
		if err != nil {
			return err
		}
		return f(tx)
	})
}

var errLeaseLost = errors.New("lease lost")

func (s *Service) runJob(ctx context.Context, c claim) {
	// Recovery: what did the previous attempt achieve?
	var status string
	var nPages, sentPages, prevFinished int64
	err := s.db.queryRow(ctx, `SELECT f.status, f.pages, f.pages_sent, COALESCE(a.finished, 1) FROM faxes f
		LEFT JOIN attempts a ON a.fax_id = f.id AND a.n = ? WHERE f.id = ?`, c.attempt-1, c.fax).Scan(&status, &nPages, &sentPages, &prevFinished)
	if err != nil {
		s.logger.Error("queue: job without fax", "err", err)
		return
	}
	if status == statusCancelled {
		s.fenced(ctx, c, func(tx *Tx) error {
			_, err := tx.exec(ctx, `UPDATE jobs SET state = 'done' WHERE fax_id = ?`, c.fax)
			return err
		})
		return
	}
	if prevFinished == 0 && sentPages >= nPages && nPages > 0 {
		// The instance died after the receiver confirmed the last page.
		s.fenced(ctx, c, func(tx *Tx) error {
			tx.exec(ctx, `UPDATE attempts SET finished = ?, result = 'ok', code = ? WHERE fax_id = ? AND n = ?`, s.now().UnixNano(), int(t30.ResultOK), c.fax, c.attempt-1)
			tx.exec(ctx, `UPDATE jobs SET state = 'done' WHERE fax_id = ?`, c.fax)
			tx.exec(ctx, `UPDATE faxes SET status = ?, result = 'ok', finished = ?, updated = ? WHERE id = ?`,
				statusDelivered, s.now().UnixNano(), s.now().UnixNano(), c.fax)
			return s.addEvent(ctx, tx, c.fax, "fax.delivered")
		})
		s.audit(ctx, audit.Event{Principal: c.owner, Action: audit.ActionSend, Document: c.fax, Source: "queue:" + s.cfg.Instance,
			Outcome: audit.OutcomeSuccess, Detail: "recovered: every page was confirmed before the previous instance stopped"})
		return
	}
	if prevFinished == 0 {
		s.db.exec(ctx, `UPDATE attempts SET finished = ?, result = ?, code = ? WHERE fax_id = ? AND n = ?`,
			s.now().UnixNano(), resultInterrupted, int(t30.ResultInProgress), c.fax, c.attempt-1)
	}
	plan := s.planFor(ctx, c.fax, c.attempt)
	c.plan = plan
	start := s.now()
	err = s.fenced(ctx, c, func(tx *Tx) error {
		ecmOff := 0
		if plan.ECMOff {
			ecmOff = 1
		}
		if _, err := tx.exec(ctx, `INSERT INTO attempts (fax_id, n, instance, started, first_page, max_rate, ecm_off) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			c.fax, c.attempt, s.cfg.Instance, start.UnixNano(), plan.FirstPage, plan.MaxRate, ecmOff); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `UPDATE faxes SET status = ?, attempts = ?, updated = ? WHERE id = ?`, statusSending, c.attempt, start.UnixNano(), c.fax); err != nil {
			return err
		}
		return s.addEvent(ctx, tx, c.fax, "fax.sending")
	})
	if err != nil {
		return
	}

	callCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	hbDone := make(chan struct{})
	go func() {
		defer close(hbDone)
		s.heartbeat(callCtx, c, cancel)
	}()
	// Each page the receiver confirms is written as it happens: the
	// attempt's count, and the fax's leading run over all attempts.
	confirmed := make(chan int, 64)
	progDone := make(chan struct{})
	go func() {
		defer close(progDone)
		var nums []int
		for n := range confirmed {
			nums = append(nums, n)
			through := plan.FirstPage - 1 + leadingRun(nums)
			s.db.exec(context.WithoutCancel(ctx), `UPDATE attempts SET pages = ? WHERE fax_id = ? AND n = ?`, len(nums), c.fax, c.attempt)
			s.db.exec(context.WithoutCancel(ctx), `UPDATE faxes SET pages_sent = ? WHERE id = ? AND pages_sent < ?`, through, c.fax, through)
		}
	}()
	traceCtx, trace := withAttemptTrace(callCtx, time.Now()) // attempttrace.go
	rep, sendErr := s.sendFax(traceCtx, c, plan, confirmed)
	s.saveAttemptTrace(ctx, c, trace, rep)
	close(confirmed)
	<-progDone
	cancel()
	<-hbDone

	if ctx.Err() != nil {
		// Shutting down: the call was cut with DCN. Give the job back at
		// once (unless every page was confirmed: then it is delivered)
		// so that the next instance need not wait for the lease.
		s.release(c, rep, sendErr, start)
		return
	}
	s.finishAttempt(ctx, c, rep, sendErr, start)
}

func (s *Service) heartbeat(ctx context.Context, c claim, cancel func()) {
	t := time.NewTicker(time.Duration(s.cfg.LeaseTTL) / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var cancelReq int
		err := s.db.queryRow(ctx, `UPDATE jobs SET lease_until = ? WHERE fax_id = ? AND lease_owner = ? AND attempt = ? AND state = 'leased' RETURNING cancel`,
			s.now().Add(time.Duration(s.cfg.LeaseTTL)).UnixNano(), c.fax, s.cfg.Instance, c.attempt).Scan(&cancelReq)
		if ctx.Err() != nil {
			return
		}
		if err != nil || cancelReq != 0 {
			cancel() // lease lost or cancel requested: end the call with DCN
			return
		}
	}
}

// sendFax opens the sealed document (as its owner: the read is guarded and
// audited) and calls the peer.
func (s *Service) sendFax(ctx context.Context, c claim, plan attemptPlan, confirmed chan<- int) (faxkit.Report, error) {
	s.loadGrants(ctx, c.fax)
	who := phi.Principal{ID: c.owner, Roles: []phi.Role{phi.RoleSender}}
	rd, err := s.guard.Open(ctx, who, "queue:"+s.cfg.Instance, c.fax)
	if err != nil {
		return faxkit.Report{}, err
	}
	var buf bytes.Buffer // plaintext only in memory
	_, err = rd.WriteTIFF(&buf, nil)
	rd.Close()
	if err != nil {
		return faxkit.Report{}, err
	}
	r, err := tiff.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()), nil)
	if err != nil {
		return faxkit.Report{}, err
	}
	doc, err := faxkit.TIFF(r)
	if err != nil {
		return faxkit.Report{}, err
	}
	if skip := plan.FirstPage - 1; skip > 0 && skip < doc.NumPages() {
		doc = fromPage{Document: doc, skip: skip}
	}
	opts := s.fax
	opts.Logger = attemptLogger(ctx, opts.Logger) // the attempt's trace
	// The retry ladder's plan (retry.go).
	if plan.MaxRate > 0 {
		opts.Fax.MaxBitRate = plan.MaxRate
	}
	opts.Fax.DisableECM = plan.ECMOff
	opts.OnEvent = func(e faxkit.Event) {
		if e.Record.Kind == t30.RecordPageSent {
			// Handed to the progress writer (the page's number in this
			// attempt); the channel has room for 64 pages so the call
			// never waits on the database.
			select {
			case confirmed <- e.Record.Page:
			default:
			}
		}
	}
	if c.peer == peerSIPTrunk {
		// The number is in the sealed metadata only (read as the owner,
		// audited).
		m, err := s.guard.Metadata(ctx, who, "queue:"+s.cfg.Instance, c.fax)
		if err != nil {
			return faxkit.Report{}, err
		}
		return s.sendSIP(ctx, m.Remote.Reveal(), doc, opts)
	}
	peer, err := net.ResolveUDPAddr("udp", c.peer)
	if err != nil {
		return faxkit.Report{}, err
	}
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if peer.IP != nil && !peer.IP.IsLoopback() {
		conn, err = net.ListenPacket("udp", ":0")
	}
	if err != nil {
		return faxkit.Report{}, err
	}
	defer conn.Close()
	return faxkit.Send(ctx, conn, peer, doc, &opts)
}

// resultInterrupted marks an attempt whose instance died mid-call.
const resultInterrupted = "interrupted"

// release ends an attempt cut short by shutdown.
func (s *Service) release(c claim, rep faxkit.Report, sendErr error, start time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if rep.OK {
		s.finishAttempt(ctx, c, rep, sendErr, start)
		return
	}
	now := s.now().UnixNano()
	s.fenced(ctx, c, func(tx *Tx) error {
		tx.exec(ctx, `UPDATE attempts SET finished = ?, result = ?, pages = ?, duration_ms = ? WHERE fax_id = ? AND n = ?`,
			now, resultInterrupted, rep.Pages, rep.Duration.Milliseconds(), c.fax, c.attempt)
		tx.exec(ctx, `UPDATE jobs SET state = 'queued', run_at = ?, lease_owner = '', lease_until = 0 WHERE fax_id = ?`, now, c.fax)
		if _, err := tx.exec(ctx, `UPDATE faxes SET status = ?, updated = ? WHERE id = ?`, statusQueued, now, c.fax); err != nil {
			return err
		}
		return s.notifyJobs(ctx, tx) // another instance takes it at once
	})
}

// retryable says whether a failed call is worth another attempt.
func retryable(r t30.Result, err error) bool {
	switch r {
	case t30.ResultNoAnswer, t30.ResultTrainingFailed, t30.ResultRemoteDisconnect, t30.ResultNoResponse, t30.ResultTimeout,
		t30.ResultECMFailure, t30.ResultReceiverNotReady, t30.ResultCallDropped, t30.ResultPageRejected, t30.ResultProtocolError:
		return true
	case t30.ResultInProgress:
		return err != nil // the call never started (socket, peer): try again
	}
	return false
}

func (s *Service) retryDelay(attempt int) time.Duration {
	l := s.cfg.RetryDelays
	if attempt-1 < len(l) {
		return time.Duration(l[attempt-1])
	}
	return time.Duration(l[len(l)-1])
}

func (s *Service) finishAttempt(ctx context.Context, c claim, rep faxkit.Report, sendErr error, start time.Time) {
	now := s.now()
	result := rep.Result.String()
	if sendErr != nil && rep.Result == t30.ResultInProgress {
		result = "error"
	}
	var cancelReq int
	s.db.queryRow(ctx, `SELECT cancel FROM jobs WHERE fax_id = ?`, c.fax).Scan(&cancelReq)
	// The remote's ident is PHI: it is sealed in a small call-record
	// document readable by whoever may read the fax's metadata.
	recDoc := ""
	if ident := rep.RemoteIdent.Reveal(); ident != "" {
		recDoc = s.sealCallRecord(ctx, c.fax, rep, c.owner)
	}
	var event string
	err := s.fenced(ctx, c, func(tx *Tx) error {
		ecm := 0
		if rep.ECM {
			ecm = 1
		}
		coding := ""
		if rep.BitRate > 0 {
			coding = rep.Compression.String()
		}
		if _, err := tx.exec(ctx, `UPDATE attempts SET finished = ?, result = ?, code = ?, pages = ?, bit_rate = ?, coding = ?, ecm = ?, duration_ms = ?, record_doc = ?, media = ?
			WHERE fax_id = ? AND n = ?`, now.UnixNano(), result, int(rep.Result), rep.Pages, rep.BitRate, coding, ecm, rep.Duration.Milliseconds(), recDoc, mediaOf(rep), c.fax, c.attempt); err != nil {
			return err
		}
		status, jobState, runAt := statusFailed, "done", int64(0)
		switch {
		case sendErr == nil && rep.OK:
			status, event = statusDelivered, "fax.delivered"
		case cancelReq != 0:
			status, event = statusCancelled, "fax.cancelled"
		case retryable(rep.Result, sendErr) && c.attempt < s.cfg.MaxAttempts:
			status, jobState, runAt, event = statusQueued, "queued", now.Add(s.retryDelay(c.attempt)).UnixNano(), "fax.queued"
		default:
			event = "fax.failed"
		}
		if _, err := tx.exec(ctx, `UPDATE jobs SET state = ?, run_at = ?, lease_owner = '', lease_until = 0 WHERE fax_id = ?`, jobState, runAt, c.fax); err != nil {
			return err
		}
		if jobState == "queued" {
			// A retry: the idle workers here and elsewhere sleep
			// until its run_at.
			if err := s.notifyJobs(ctx, tx); err != nil {
				return err
			}
		}
		fin := now.UnixNano()
		if status == statusQueued {
			fin = 0
		}
		var nums []int
		for _, p := range rep.PageStats {
			nums = append(nums, p.Number)
		}
		through := c.plan.FirstPage - 1 + leadingRun(nums)
		if _, err := tx.exec(ctx, `UPDATE faxes SET status = ?, result = ?, pages_sent = CASE WHEN pages_sent > ? THEN pages_sent ELSE ? END, updated = ?, finished = ? WHERE id = ?`,
			status, result, through, through, now.UnixNano(), fin, c.fax); err != nil {
			return err
		}
		return s.addEvent(ctx, tx, c.fax, event)
	})
	if err != nil {
		s.logger.Warn("queue: attempt not recorded", "err", err)
		return
	}
	s.jobsChanged()
	callsTotal.WithLabelValues("outbound", result).Inc()
	pagesTotal.WithLabelValues("outbound").Add(float64(rep.Pages))
	attemptSeconds.Observe(now.Sub(start).Seconds())
	s.audit(ctx, audit.Event{Principal: c.owner, Action: audit.ActionSend, Document: c.fax, Source: "queue:" + s.cfg.Instance,
		Outcome: outcome(sendErr), Detail: fmt.Sprintf("attempt %d: t30 result %s, %d pages", c.attempt, result, rep.Pages)})
	s.logger.Info("fax attempt", "fax", c.fax, "attempt", c.attempt, "result", result, "pages", rep.Pages, "event", event)
}

// sealCallRecord stores the PHI learned during a call (the remote ident)
// as a sealed one-page document, readable (metadata) by the fax's owner.
func (s *Service) sealCallRecord(ctx context.Context, faxID string, rep faxkit.Report, owners ...string) string {
	info, err := s.guard.Put(ctx, gateway, "call-record", phi.Metadata{RemoteIdent: rep.RemoteIdent, ContentType: "application/x-faxkit-call-record",
		Labels: map[string]string{"fax": faxID}}, strings.NewReader(rep.String()))
	if err != nil {
		s.logger.Error("call record not sealed", "err", err)
		return ""
	}
	s.saveGrant(ctx, info.ID, gateway.ID, ownerPerms)
	for _, o := range owners {
		s.grant(ctx, "call-record", info.ID, o, phi.PermReadMetadata|phi.PermDelete)
	}
	return info.ID
}

func outcome(err error) audit.Outcome {
	if err != nil {
		return audit.OutcomeFailure
	}
	return audit.OutcomeSuccess
}

// --- inbound ---------------------------------------------------------------

// receive answers one inbound call for did, sealing pages as they arrive,
// and routes the fax to the DID's route (or the default route).
func (s *Service) receive(ctx context.Context, c *transport.Conn, did string) {
	defer c.Close()
	s.receiveCall(ctx, did, "t38-inbound", phi.Metadata{}, func(sink faxkit.PageSink, opts *faxkit.Options) (faxkit.Report, error) {
		return faxkit.Receive(ctx, c, c.RemoteAddr(), sink, opts)
	})
}

// receiveCall receives one fax for did (run runs the call into the sink
// with opts: the service's fax options, logging into the call's trace),
// seals it as it arrives, and routes it. meta may carry the caller's
// number when call control knows it. The call's trace and statistics
// are stored with the received fax, as an outbound attempt's are.
func (s *Service) receiveCall(ctx context.Context, did, src string, meta phi.Metadata, run func(faxkit.PageSink, *faxkit.Options) (faxkit.Report, error)) {
	meta.Direction, meta.ContentType, meta.Labels = phi.Inbound, "image/tiff", map[string]string{"did": did}
	dw, err := s.guard.Create(ctx, gateway, src, meta)
	if err != nil {
		s.logger.Error("inbound: cannot create document", "err", err)
		return
	}
	traceCtx, trace := withAttemptTrace(ctx, time.Now()) // attempttrace.go
	opts := s.fax
	opts.Logger = attemptLogger(traceCtx, opts.Logger)
	rep, err := run(phi.NewTIFFWriter(dw, nil), &opts)
	s.audit(ctx, audit.Event{Principal: gateway.ID, Action: audit.ActionReceive, Source: src,
		Outcome: outcome(err), Detail: fmt.Sprintf("t30 result %s, %d pages", rep.Result, rep.Pages)})
	callsTotal.WithLabelValues("inbound", rep.Result.String()).Inc()
	pagesTotal.WithLabelValues("inbound").Add(float64(rep.Pages))
	if rep.Pages == 0 {
		dw.Abort()
		return
	}
	// The sender's ident, learned during the call, is sealed with the
	// fax itself.
	dw.UpdateMetadata(func(m *phi.Metadata) { m.RemoteIdent = rep.RemoteIdent })
	// Pages received before a failure are kept: a partial fax is still
	// patient data that someone must see.
	info, err := s.commitDoc(ctx, gateway, src, dw)
	if err != nil {
		s.logger.Error("inbound: commit failed", "err", err)
		return
	}
	targets, err := s.routeFor(ctx, did)
	if err != nil {
		// Kept by the gateway for an admin to see and re-route.
		s.logger.Error("inbound: no route", "err", err)
	}
	for _, t := range targets {
		if err := s.grant(ctx, "router", info.ID, t, ownerPerms); err != nil {
			s.logger.Error("inbound: routing grant failed", "err", err)
		}
	}
	recDoc := "" // the ident is in the document's own metadata
	status := statusReceived
	if !rep.OK {
		status = statusPartial
	}
	now := s.now().UnixNano()
	owner := gateway.ID
	if len(targets) > 0 {
		owner = targets[0]
	}
	ecm := 0
	if rep.ECM {
		ecm = 1
	}
	err = s.db.tx(ctx, func(tx *Tx) error {
		if _, err := tx.exec(ctx, `INSERT INTO faxes (id, owner, direction, status, result, pages, attempts, did, created, updated, finished)
			VALUES (?, ?, 'inbound', ?, ?, ?, 1, ?, ?, ?, ?)`, info.ID, owner, status, rep.Result.String(), rep.Pages, did, now, now, now); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `INSERT INTO attempts (fax_id, n, instance, started, finished, result, code, pages, bit_rate, coding, ecm, duration_ms, record_doc, media)
			VALUES (?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, info.ID, s.cfg.Instance, rep.Start.UnixNano(), now, rep.Result.String(), int(rep.Result),
			rep.Pages, rep.BitRate, rep.Compression.String(), ecm, rep.Duration.Milliseconds(), recDoc, mediaOf(rep)); err != nil {
			return err
		}
		if err := s.storeTrace(ctx, tx, info.ID, 1, trace, rep); err != nil {
			return err
		}
		return s.addEvent(ctx, tx, info.ID, "fax.received")
	})
	if err != nil {
		s.logger.Error("inbound: not recorded", "err", err)
	}
	s.logger.Info("fax received", "fax", info.ID, "result", rep.Result.String(), "pages", rep.Pages)
}

func splitHostPort(a string) (string, string, error) { return net.SplitHostPort(a) }

// resultText is the T.30 result's description, or "" for non-T.30 ends.
func resultText(code int, name string) string {
	switch name {
	case resultInterrupted:
		return "the sending instance stopped during the call; the fax was sent again"
	case "error":
		return "the call could not be placed"
	}
	if t30.Result(code).String() != name {
		return ""
	}
	return t30.Result(code).Text()
}
