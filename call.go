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

	swapc chan swapReq
	endc  chan struct{}
	done  chan struct{}

	startMu sync.Mutex
	started bool
	endOnce sync.Once

	session *t30.Session
	rep     Report // set before done closes
	err     error

	mu    sync.Mutex // Encode and OnPage run on the driver goroutine; Report is read after
	start time.Time
	info  map[int]*PageStats // sent pages by number, filled by Encode
	check *PageStats         // the received page being judged
	rx    *decodedPage       // the received page decoded by checkPage, for OnPage
	pages []PageStats
}

type swapReq struct {
	m   Media
	err chan error
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
		swapc: make(chan swapReq), endc: make(chan struct{}), done: make(chan struct{})}
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
	mm, err := m.open(c.env())
	if err != nil {
		return err
	}
	c.started = true
	rctx, cancel := c.o.callContext(ctx)
	c.mu.Lock()
	c.start = c.clk.Now()
	c.mu.Unlock()
	go func() {
		defer cancel()
		c.drive(rctx, m.Kind(), mm)
	}()
	return nil
}

func (c *Call) env() mediaEnv {
	return mediaEnv{calling: c.calling, clock: c.clk, logger: c.o.logger}
}

// SwapMedia hands the running call to media m: the current path is closed
// and the session continues on m from where it is. A signal being sent
// when the swap happens is cut short and T.30's repetition recovers it, so
// call control swaps at a quiet point where it can (a re-INVITE is
// usually answered before phase B). It returns when m is in use, or the
// error that kept it from opening (the call then continues on the old
// path).
func (c *Call) SwapMedia(m Media) error {
	c.startMu.Lock()
	started := c.started
	c.startMu.Unlock()
	if !started {
		return errors.New("faxkit: call not started")
	}
	req := swapReq{m: m, err: make(chan error, 1)}
	select {
	case c.swapc <- req:
		return <-req.err
	case <-c.done:
		return ErrCallEnded
	}
}

// End ends the call: DCN if the session is still running, then the result
// "local-abort". It does not wait; use Wait.
func (c *Call) End() { c.endOnce.Do(func() { close(c.endc) }) }

// Done is closed when the call has ended.
func (c *Call) Done() <-chan struct{} { return c.done }

// Wait waits for the call to end and returns its Report; the error is nil
// exactly when the T.30 session succeeded (see Send). On a call that was
// never started it blocks until the call is started and ends.
func (c *Call) Wait() (Report, error) {
	<-c.done
	return c.rep, c.err
}

// drive runs the session over the media path until the call ends: the
// one goroutine that owns the session, the path in use and the timers.
func (c *Call) drive(ctx context.Context, kind string, m mediaModem) {
	defer close(c.done)
	s := c.session
	clk := c.clk
	var (
		legs     []MediaStats
		legStart time.Duration
		pending  int       // Send* handed to m and not yet answered by EventSendDone
		rxSpeed  t30.Speed // the last Receive, repeated on a new path
		received bool      // whether Receive was called at all
		done     = ctx.Done()
		endc     = c.endc
		events   = m.Events()
	)
	since := func() time.Duration { return clk.Now().Sub(c.start) }
	closeLeg := func() {
		m.Close()
		st := m.Stats()
		st.Kind, st.From, st.To = kind, legStart, since()
		legs = append(legs, st)
	}
	exec := func(acts []t30.Action) []t30.Action {
		for _, a := range acts {
			switch a.Kind {
			case t30.ActionSendTone, t30.ActionSendFrames, t30.ActionSendTCF, t30.ActionSendImage:
				pending++
			case t30.ActionReceive:
				rxSpeed, received = a.Speed, true
			}
			if err := execute(m, a); err != nil {
				c.o.logger.Debug("faxkit: media error", "media", kind, "err", err)
				return s.Handle(clk.Now(), t30.Event{Kind: t30.EventHangup})
			}
		}
		return nil
	}
	acts := s.Start(clk.Now())
	for {
		for len(acts) > 0 {
			acts = exec(acts)
		}
		if s.Done() {
			break
		}
		var tc <-chan time.Time
		var timer t30.Timer
		if d, ok := s.Deadline(); ok {
			timer = clk.NewTimer(d.Sub(clk.Now()))
			tc = timer.C()
		}
		select {
		case ev, ok := <-events:
			if !ok {
				events = nil
				ev = t30.Event{Kind: t30.EventHangup}
			}
			if ev.Kind == t30.EventSendDone && pending > 0 {
				pending--
			}
			acts = s.Handle(clk.Now(), ev)
		case <-tc:
			acts = s.Tick(clk.Now())
		case <-done:
			done = nil
			acts = s.Handle(clk.Now(), t30.Event{Kind: t30.EventAbort})
		case <-endc:
			endc = nil
			acts = s.Handle(clk.Now(), t30.Event{Kind: t30.EventAbort})
		case req := <-c.swapc:
			nm, err := req.m.open(c.env())
			req.err <- err
			if err != nil {
				break
			}
			closeLeg()
			old := kind
			m, kind, events, legStart = nm, req.m.Kind(), nm.Events(), since()
			c.o.logger.Debug("faxkit: media swapped", "from", old, "to", kind, "pending", pending)
			if c.o.OnEvent != nil {
				c.o.OnEvent(Event{Media: kind})
			}
			if received {
				if err := m.Receive(rxSpeed); err != nil {
					acts = s.Handle(clk.Now(), t30.Event{Kind: t30.EventHangup})
					break
				}
			}
			// Signals cut short by the swap are over as far as T.30 is
			// concerned: its timers and repetitions take it from here.
			for ; pending > 0; pending-- {
				acts = append(acts, s.Handle(clk.Now(), t30.Event{Kind: t30.EventSendDone})...)
			}
		}
		if timer != nil {
			timer.Stop()
		}
	}
	closeLeg()
	c.finish(s, legs)
}

// execute carries out one session action on the modem (as t30.Run does).
func execute(m t30.Modem, a t30.Action) error {
	switch a.Kind {
	case t30.ActionSendTone:
		return m.SendTone(a.Tone)
	case t30.ActionSendFrames:
		frames := make([][]byte, len(a.Frames))
		for i, f := range a.Frames {
			b, err := f.MarshalBinary()
			if err != nil {
				return err
			}
			frames[i] = b
		}
		return m.SendFrames(a.Speed, frames)
	case t30.ActionSendTCF:
		return m.SendTCF(a.Speed, a.Duration)
	case t30.ActionSendImage:
		return m.SendImage(a.Speed, a.Data)
	case t30.ActionReceive:
		return m.Receive(a.Speed)
	case t30.ActionHangup:
		return m.Hangup()
	}
	return nil
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
		}
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
		BitRate: m.Speed.BitRate(), Width: m.Resolution.RowPels(m.Width)}
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
		Resolution: tiffResolution(p.Mode.Resolution),
		Quality:    tiff.QualityFromStats(d.stats),
		DateTime:   c.clk.Now(),
	})
}

// sameBytes reports whether a and b are the same slice (not merely equal
// contents): the session hands OnPage the data it gave CheckPage.
func sameBytes(a, b []byte) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}
