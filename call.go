package faxkit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/faxkit/faxkit/internal/clock"
	"github.com/faxkit/faxkit/phi/redact"
	"github.com/faxkit/faxkit/t30"
	"github.com/faxkit/faxkit/tiff"
)

// ErrCallEnded is returned by Call methods used after the call ended.
var ErrCallEnded = errors.New("faxkit: call ended")

// ErrCallStarted is returned by a second Call.Start.
var ErrCallStarted = errors.New("faxkit: call already started")

// CallConfig configures a Call. Exactly one of Document (this end calls
// and sends) and Sink (this end answers and receives) is set. The zero
// values of the other fields work, as in Options.
type CallConfig struct {
	// Document is sent by a calling terminal.
	Document Document
	// Sink receives the pages an answering terminal accepts, in order, as
	// each is accepted. The call does not close it.
	Sink PageSink
	// Fax is the T.30 part of the call, the same on every media path.
	Fax FaxOptions
	// Timeout, OnEvent, Logger and Clock are as in Options.
	Timeout time.Duration
	OnEvent func(Event)
	Logger  *slog.Logger
	Clock   Clock
}

// Call is one fax call driven by call control: Start runs its T.30 session
// on a media path, SwapMedia hands the running session to another (a SIP
// re-INVITE from audio to T.38, or to a new T.38 address), End aborts it,
// and Wait returns its Report. Send and Receive are Calls on one T.38
// path for the simple case.
//
// One goroutine, started by Start, owns the session and the media path in
// use; the methods only send it requests, and are safe for concurrent use.
type Call struct {
	o       *resolved
	clk     Clock
	calling bool

	done chan struct{}

	driver *t30.Driver
	swapMu sync.Mutex // one SwapMedia at a time
	legMu  sync.Mutex // legs and the current path's start; the driver goroutine adds legs
	legs   []MediaStats
	from   time.Duration               // when the path in use started
	swaps  map[t30.Modem]chan struct{} // closed when the driver takes the modem

	startMu sync.Mutex
	started bool
	ended   bool               // End was called
	cancel  context.CancelFunc // ends the running call

	session *t30.Session
	rep     Report // set before done closes
	err     error

	mu    sync.Mutex // Encode and OnPage run on the driver goroutine; Report is read after
	start time.Time
	info  map[int]*PageStats // sent pages by number, filled by Encode
	check *PageStats         // the received page being judged
	rx    *decodedPage       // the received page decoded by checkPage, for OnPage
	pages []PageStats
	prev  t30.Stats  // the session's stats at the previous page (pageMedia)
	tcfg  t30.Config // what the session was made with (Start may limit its modems)
}

// NewCall returns a call that has not started.
func NewCall(cfg CallConfig) (*Call, error) {
	if (cfg.Document == nil) == (cfg.Sink == nil) {
		return nil, fmt.Errorf("%w: a call needs either a document to send or a page sink", ErrOptions)
	}
	if cfg.Document != nil && cfg.Document.NumPages() < 1 {
		return nil, fmt.Errorf("faxkit: empty document")
	}
	o, err := resolveCall(cfg.Fax, cfg.Timeout, cfg.OnEvent, cfg.Logger, cfg.Clock)
	if err != nil {
		return nil, err
	}
	c := &Call{o: o, clk: o.Clock, calling: cfg.Document != nil, info: map[int]*PageStats{},
		done: make(chan struct{}), swaps: map[t30.Modem]chan struct{}{}}
	if c.clk == nil {
		c.clk = clock.Real()
	}
	tc := t30.Config{
		Calling:      c.calling,
		Transmit:     c.calling,
		Capabilities: o.capabilities(),
		LocalIdent:   o.Fax.LocalIdent,
		OnRecord:     c.onRecord,
		Logger:       o.logger,
		T1:           o.Fax.T1,
	}
	if c.calling {
		tc.Document = &docTap{Document: cfg.Document, c: c}
	} else {
		sink := cfg.Sink
		tc.CheckPage = c.checkPage
		tc.OnPage = func(p t30.ReceivedPage) error { return c.writePage(sink, p) }
	}
	c.session, err = t30.NewSession(tc)
	if err != nil {
		return nil, err
	}
	c.tcfg = tc
	return c, nil
}

// Start begins the call on media m and returns once the media path is
// open; the call then runs until its T.30 session ends, ctx is cancelled
// (DCN, "local-abort"), End is called or the Timeout passes. A media
// path that cannot be opened is returned as the error, and the call does
// not start.
func (c *Call) Start(ctx context.Context, m Media) error {
	c.startMu.Lock()
	defer c.startMu.Unlock()
	if c.started {
		return ErrCallStarted
	}
	if err := c.limitModems(m); err != nil {
		return err
	}
	mm, err := m.open(c.env())
	if err != nil {
		return err
	}
	c.started = true
	rctx, cancel := c.o.callContext(ctx)
	c.cancel = cancel
	if c.ended {
		cancel()
	}
	c.mu.Lock()
	c.start = c.clk.Now()
	c.mu.Unlock()
	c.driver = t30.NewDriver(c.session, mm, &t30.DriverConfig{
		Clock:      c.clk,
		OnSignal:   c.onSignal,
		OnHandover: c.onHandover,
	})
	go func() {
		defer cancel()
		c.drive(rctx)
	}()
	return nil
}

func (c *Call) env() mediaEnv {
	return mediaEnv{calling: c.calling, clock: c.clk, logger: c.o.logger}
}

// SwapMedia hands the running call to media m: the session continues on
// m from where it is. The switch happens at the next clean point, when
// nothing is being sent on the current path (between one T.30 signal and
// the next); what the old path still receives after that is dropped, and
// T.30's repetitions cover it as they cover any loss. The old path is
// closed. SwapMedia returns once m is in use, or with the error that kept
// m from opening (the call then continues on the old path), or
// ErrCallEnded. It must not be called from Options.OnEvent or
// CallConfig.OnEvent, which run on the call's goroutine.
func (c *Call) SwapMedia(m Media) error {
	c.startMu.Lock()
	started := c.started
	c.startMu.Unlock()
	if !started {
		return errors.New("faxkit: call not started")
	}
	select {
	case <-c.done:
		return ErrCallEnded
	default:
	}
	c.swapMu.Lock()
	defer c.swapMu.Unlock()
	mm, err := m.open(c.env())
	if err != nil {
		return err
	}
	taken := make(chan struct{})
	c.legMu.Lock()
	c.swaps[mm] = taken
	c.legMu.Unlock()
	c.driver.Handover(mm)
	select {
	case <-taken:
		return nil
	case <-c.done:
		// The call ended before the switch: the new path was never used.
		c.legMu.Lock()
		delete(c.swaps, mm)
		c.legMu.Unlock()
		select {
		case <-taken:
			return nil
		default:
		}
		mm.Close()
		return ErrCallEnded
	}
}

// End ends the call: DCN if the session is still running, then the result
// "local-abort". It does not wait; use Wait.
func (c *Call) End() {
	c.startMu.Lock()
	defer c.startMu.Unlock()
	c.ended = true
	if c.cancel != nil {
		c.cancel()
	}
}

// Done is closed when the call has ended.
func (c *Call) Done() <-chan struct{} { return c.done }

// Wait waits for the call to end and returns its Report; the error is nil
// exactly when the T.30 session succeeded (see Send). On a call that was
// never started it blocks until the call is started and ends.
func (c *Call) Wait() (Report, error) {
	<-c.done
	return c.rep, c.err
}

// drive runs the t30.Driver (the one goroutine that owns the session and
// the path in use) until the call ends, then closes the last path and
// makes the Report.
func (c *Call) drive(ctx context.Context) {
	defer close(c.done)
	c.driver.Run(ctx)
	c.closeLeg(c.driver.Modem())
	c.legMu.Lock()
	legs := c.legs
	c.legMu.Unlock()
	c.finish(c.session, legs)
}

// since is the time from the start of the call.
func (c *Call) since() time.Duration { return c.clk.Now().Sub(c.start) }

// closeLeg closes a path the call no longer uses and keeps its statistics.
func (c *Call) closeLeg(m t30.Modem) {
	mm, ok := m.(mediaModem)
	if !ok {
		return
	}
	mm.Close()
	st := mm.Stats()
	c.legMu.Lock()
	st.From, st.To = c.from, c.since()
	c.from = st.To
	c.legs = append(c.legs, st)
	c.legMu.Unlock()
}

// onHandover runs on the driver goroutine when it has moved to a new path.
func (c *Call) onHandover(old, new t30.Modem) {
	c.closeLeg(old)
	c.legMu.Lock()
	taken := c.swaps[new]
	delete(c.swaps, new)
	c.legMu.Unlock()
	kind := ""
	if mm, ok := new.(mediaModem); ok {
		kind = mm.kind()
	}
	c.o.logger.Debug("faxkit: media swapped", "to", kind)
	if c.o.OnEvent != nil {
		c.o.OnEvent(Event{Media: kind})
	}
	if taken != nil {
		close(taken)
	}
}

// onSignal passes what the modem heard of the far end to OnEvent.
func (c *Call) onSignal(ev t30.Event) {
	c.o.logger.Debug("faxkit: heard", "signal", ev.Kind, "speed", ev.Speed)
	if c.o.OnEvent != nil {
		c.o.OnEvent(Event{Heard: &t30.Event{Kind: ev.Kind, Speed: ev.Speed}})
	}
}

// finish builds the Report once the session is done.
func (c *Call) finish(s *t30.Session, legs []MediaStats) {
	res := s.Result()
	st := s.Stats()
	c.mu.Lock()
	rep := Report{
		OK:            res.OK(),
		Result:        res,
		Pages:         st.Pages,
		PagesRejected: st.PagesRejected,
		BitRate:       st.Speed.BitRate(),
		Compression:   st.Compression,
		Resolution:    st.Resolution,
		ECM:           st.ECM,
		BadRows:       st.BadRows,
		RemoteIdent:   redact.StationID(st.RemoteIdent),
		Start:         st.Start,
		Duration:      st.Duration(),
		PageStats:     append([]PageStats(nil), c.pages...),
		T30:           st,
		Media:         legs,
	}
	rep.T30.RemoteIdent = ""
	c.mu.Unlock()
	for _, l := range legs {
		rep.Network.add(l.Network)
	}
	c.o.logger.Debug("faxkit: call ended", "report", rep)
	c.rep, c.err = rep, res.Err()
}

func (o *resolved) callContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if o.Timeout > 0 {
		return context.WithTimeout(ctx, o.Timeout)
	}
	return context.WithCancel(ctx)
}

func (c *Call) onRecord(r t30.Record) {
	var ps *PageStats
	if r.Kind == t30.RecordPageSent || r.Kind == t30.RecordPageReceived {
		c.mu.Lock()
		p := PageStats{Number: r.Page}
		if in := c.info[r.Page]; in != nil && r.Kind == t30.RecordPageSent {
			p = *in
		}
		if r.Kind == t30.RecordPageReceived && c.check != nil {
			p = *c.check
		}
		p.Number = r.Page
		if r.Kind == t30.RecordPageReceived {
			p.Rows, p.BadRows, p.LongestBadRun = r.Quality.Rows, r.Quality.BadRows, r.Quality.LongestBadRun
			p.RowsUncertain, p.EndLost = r.Quality.RowsUncertain, r.Quality.EndLost
		}
		c.pageMedia(&p, r)
		if !c.start.IsZero() {
			p.At = r.Time.Sub(c.start)
		}
		c.pages = append(c.pages, p)
		c.mu.Unlock()
		ps = &p
	}
	if c.o.OnEvent != nil {
		c.o.OnEvent(Event{Record: r, Page: ps})
	}
}

func modePage(n int, m t30.Mode) *PageStats {
	return &PageStats{Number: n, Compression: m.Compression, Resolution: m.Resolution, ECM: m.ECM,
		BitRate: m.Speed.BitRate(), Width: m.RowPels()}
}

// docTap records how each page was encoded.
type docTap struct {
	Document
	c *Call
}

func (d *docTap) Encode(i int, m t30.Mode) ([]byte, error) {
	b, err := d.Document.Encode(i, m)
	if err == nil {
		p := modePage(i+1, m)
		p.Bytes = len(b)
		d.c.mu.Lock()
		d.c.info[i+1] = p
		d.c.mu.Unlock()
	}
	return b, err
}

// decodedPage is a received page decoded by checkPage and kept for
// writePage, so that each page is decoded once.
type decodedPage struct {
	data []byte // the page data it was decoded from (compared by identity)
	mode t30.Mode
	page *decoded
}

// checkPage judges received page data for the session (its
// t30.Config.CheckPage) and keeps the decoded page for OnPage.
func (c *Call) checkPage(data []byte, m t30.Mode) (t30.PageQuality, error) {
	ps := modePage(0, m)
	ps.Bytes = len(data)
	d, err := decodePage(data, m)
	c.mu.Lock()
	c.check = ps
	c.rx = nil
	if d != nil {
		c.rx = &decodedPage{data: data, mode: m, page: d}
	}
	c.mu.Unlock()
	if d == nil {
		return t30.PageQuality{}, err
	}
	return d.quality(), err
}

// writePage hands an accepted page to the sink, decoded by checkPage (or
// decoded here if the session delivered other data).
func (c *Call) writePage(sink PageSink, p t30.ReceivedPage) error {
	c.mu.Lock()
	rx := c.rx
	c.rx = nil
	c.mu.Unlock()
	var d *decoded
	if rx != nil && rx.mode == p.Mode && sameBytes(rx.data, p.Data) {
		d = rx.page
	} else {
		var err error
		if d, err = decodePage(p.Data, p.Mode); d == nil {
			return err
		}
	}
	return sink.WritePage(d.bitmap, &tiff.PageOptions{
		Resolution: p.Mode.Resolution,
		Quality:    tiff.QualityFromStats(d.stats),
		DateTime:   c.clk.Now(),
	})
}

// sameBytes reports whether a and b are the same slice (not merely equal
// contents): the session hands OnPage the data it gave CheckPage.
func sameBytes(a, b []byte) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}
