package faxkit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/faxkit/faxkit/internal/clock"
	"github.com/faxkit/faxkit/phi/redact"
	"github.com/faxkit/faxkit/t30"
	"github.com/faxkit/faxkit/t4"
	"github.com/faxkit/faxkit/tiff"
	"github.com/faxkit/faxkit/transport"
)

// ErrNoPeer is returned by Send when no peer address is given.
var ErrNoPeer = errors.New("faxkit: no peer address")

// Send places a T.38 fax call to peer over conn and sends doc. It returns
// when the call has ended: the Report says how, and the error is nil exactly
// when the T.30 session succeeded (Report.OK). A failed session returns a
// *t30.ResultError (errors.Is matches &t30.ResultError{Result: r}); options,
// document and socket problems that prevent the call return other errors.
//
// conn stays the caller's: Send neither closes it nor reads it after
// returning (its read deadline is reset). If conn has SetReadBuffer (a
// *net.UDPConn does), Send and Receive raise its receive buffer to 4 MiB,
// so that an unpaced peer's bursts are not dropped by the kernel. Datagrams from addresses other
// than peer are ignored. Cancelling ctx, or Options.Timeout passing, ends
// the call with DCN (Result "local-abort").
func Send(ctx context.Context, conn net.PacketConn, peer net.Addr, doc Document, opts *Options) (Report, error) {
	if peer == nil {
		return Report{}, ErrNoPeer
	}
	if doc == nil || doc.NumPages() < 1 {
		return Report{}, fmt.Errorf("faxkit: empty document")
	}
	o, err := opts.resolve()
	if err != nil {
		return Report{}, err
	}
	growReadBuffer(conn)
	c := newCall(o)
	cfg := c.config(true)
	cfg.Transmit = true
	cfg.Document = &docTap{Document: doc, c: c}
	return c.run(ctx, conn, peer, cfg)
}

// Receive answers a T.38 fax call from peer over conn and writes each page
// it accepts to sink, in order, as the page is accepted. The error is nil
// exactly when the T.30 session succeeded; see Send for the rest.
//
// With a nil peer, Receive waits (bounded by ctx and Options.Timeout) for
// the first datagram and answers whoever sent it. Receive does not close
// sink: close or commit it afterwards, and discard it if the call failed
// and partial documents are not wanted.
func Receive(ctx context.Context, conn net.PacketConn, peer net.Addr, sink PageSink, opts *Options) (Report, error) {
	if sink == nil {
		return Report{}, fmt.Errorf("faxkit: nil page sink")
	}
	o, err := opts.resolve()
	if err != nil {
		return Report{}, err
	}
	growReadBuffer(conn)
	c := newCall(o)
	cfg := c.config(false)
	cfg.OnPage = func(p t30.ReceivedPage) error { return c.writePage(sink, p) }
	cfg.CheckPage = func(data []byte, m t30.Mode) (t30.PageQuality, error) {
		ps := modePage(0, m)
		ps.Bytes = len(data)
		c.mu.Lock()
		c.check = ps
		c.mu.Unlock()
		return t30.CheckPageT4(data, m)
	}
	if peer == nil {
		wctx, cancel := o.callContext(ctx)
		conn, peer, err = awaitFirst(wctx, conn)
		cancel()
		if err != nil {
			res := t30.ResultLocalAbort
			if errors.Is(err, context.DeadlineExceeded) {
				res = t30.ResultNoCommand
			}
			if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
				return Report{}, err
			}
			return Report{Result: res}, res.Err()
		}
	}
	return c.run(ctx, conn, peer, cfg)
}

func (o *resolved) callContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if o.Timeout > 0 {
		return context.WithTimeout(ctx, o.Timeout)
	}
	return context.WithCancel(ctx)
}

// call is the state of one Send or Receive.
type call struct {
	o   *resolved
	clk t30.Clock

	mu    sync.Mutex // OnPage/Encode and OnRecord run on the driver goroutine; Report is read after
	start time.Time
	info  map[int]*PageStats // sent pages by number, filled by Encode
	check *PageStats         // the received page being judged, from CheckPage
	pages []PageStats
}

func newCall(o *resolved) *call {
	c := &call{o: o, clk: o.Clock, info: map[int]*PageStats{}}
	if c.clk == nil {
		c.clk = clock.Real()
	}
	return c
}

func (c *call) config(calling bool) t30.Config {
	return t30.Config{
		Calling:      calling,
		Capabilities: c.o.capabilities(),
		LocalIdent:   c.o.LocalIdent,
		OnRecord:     c.onRecord,
		Logger:       c.o.logger,
		T1:           c.o.T1,
	}
}

func (c *call) onRecord(r t30.Record) {
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
	c *call
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

// writePage decodes an accepted page and hands it to the sink.
func (c *call) writePage(sink PageSink, p t30.ReceivedPage) error {
	bm, st, err := decodePage(p.Data, p.Mode)
	if err != nil {
		return err
	}
	return sink.WritePage(bm, &tiff.PageOptions{
		Resolution: tiffResolution(p.Mode.Resolution),
		Quality:    tiff.QualityFromStats(st),
		DateTime:   c.clk.Now(),
	})
}

// linesPerMM is each resolution's vertical density (T.4 Table 1).
var linesPerMM = map[t30.Resolution]float64{t30.ResStandard: 3.85, t30.ResFine: 7.7, t30.ResSuperfine: 15.4,
	t30.Res300: 11.81, t30.ResR16: 15.75, t30.Res600: 23.62, t30.Res1200: 47.24, t30.Res300x600: 23.62,
	t30.Res400x800: 31.5, t30.Res600x1200: 47.24}

// decodePage decodes received page data into a bitmap sized for an A4
// page at the mode's resolution up front (t4.DecodePage grows from 1024
// rows, copying a fine page twice).
func decodePage(data []byte, m t30.Mode) (*t4.Bitmap, t4.Stats, error) {
	width := m.Resolution.RowPels(m.Width)
	dec, err := t4.NewDecoder(bytes.NewReader(data), width, &t4.DecodeOptions{
		Compression: t30.T4Compression(m.Compression), BitOrder: t4.LSBFirst})
	if err != nil {
		return nil, t4.Stats{}, err
	}
	stride := (width + 7) / 8
	// Room for an A4 page (297 mm) plus a little; longer pages grow.
	rows := int(300 * linesPerMM[m.Resolution])
	if rows == 0 {
		rows = 1200
	}
	pix := make([]byte, 0, rows*stride)
	for {
		if len(pix)+stride > cap(pix) {
			pix = append(pix, make([]byte, stride)...)[:len(pix)]
		}
		err := dec.ReadRow(pix[len(pix) : len(pix)+stride])
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, dec.Stats(), err
		}
		pix = pix[:len(pix)+stride]
	}
	return &t4.Bitmap{Width: width, Height: len(pix) / stride, Stride: stride, Pix: pix}, dec.Stats(), nil
}

// run carries out the call over conn.
func (c *call) run(ctx context.Context, conn net.PacketConn, peer net.Addr, cfg t30.Config) (Report, error) {
	s, err := t30.NewSession(cfg)
	if err != nil {
		return Report{}, err
	}
	tc := transport.NewConn(conn, peer, &transport.ConnConfig{MaxDatagram: max(c.o.MaxDatagram, transport.DefaultMaxDatagram)})
	defer tc.Detach() // conn is the caller's: leave it open, with no deadline a late ctx could set
	var ep transport.Endpoint = keepOpen{tc}
	if c.o.RTP {
		ep = transport.NewRTPConn(ep, &transport.RTPConfig{PayloadType: c.o.RTPPayloadType, MaxDatagram: max(c.o.MaxDatagram, transport.DefaultMaxDatagram)})
	}
	m, err := newModem(ep, c.o, cfg.Calling)
	if err != nil {
		return Report{}, err
	}
	rctx, cancel := c.o.callContext(ctx)
	c.mu.Lock()
	c.start = c.clk.Now()
	c.mu.Unlock()
	res := t30.Run(rctx, s, m, c.clk)
	cancel()
	m.Close()
	t38s := m.Stats()

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
		T38:           t38s,
	}
	rep.T30.RemoteIdent = ""
	c.mu.Unlock()
	ns := tc.Stats()
	rep.Network = NetStats{PacketsIn: ns.PacketsIn, PacketsOut: ns.PacketsOut, BytesIn: ns.BytesIn, BytesOut: ns.BytesOut}
	c.o.logger.Debug("faxkit: call ended", "report", rep)
	return rep, res.Err()
}

// readBuffer is the socket receive buffer Send and Receive ask for. A page
// arrives in bursts of hundreds of datagrams when the peer does not pace
// (Unpaced), more than the usual 208 KiB default holds while the reading
// goroutine waits for a CPU; the kernel caps the request at
// net.core.rmem_max.
const readBuffer = 4 << 20

func growReadBuffer(conn net.PacketConn) {
	if b, ok := conn.(interface{ SetReadBuffer(int) error }); ok {
		_ = b.SetReadBuffer(readBuffer)
	}
}

// keepOpen is an Endpoint whose Close does not close the caller's socket.
type keepOpen struct{ *transport.Conn }

func (keepOpen) Close() error { return nil }

// awaitFirst waits for the first datagram on conn and returns a conn that
// delivers it again, and its sender.
func awaitFirst(ctx context.Context, conn net.PacketConn) (net.PacketConn, net.Addr, error) {
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		conn.SetReadDeadline(time.Unix(1, 0))
		close(fired)
	})
	buf := make([]byte, 65536)
	n, from, err := conn.ReadFrom(buf)
	if !stop() {
		// ctx ended: wait until its deadline is set, then clear it.
		<-fired
		conn.SetReadDeadline(time.Time{})
		if err != nil {
			return nil, nil, ctx.Err()
		}
	}
	if err != nil {
		return nil, nil, err
	}
	return &primedConn{PacketConn: conn, first: buf[:n:n], from: from}, from, nil
}

// primedConn replays one datagram already read before reading conn.
type primedConn struct {
	net.PacketConn
	mu    sync.Mutex
	first []byte
	from  net.Addr
}

func (p *primedConn) ReadFrom(b []byte) (int, net.Addr, error) {
	p.mu.Lock()
	if f := p.first; f != nil {
		p.first = nil
		p.mu.Unlock()
		return copy(b, f), p.from, nil
	}
	p.mu.Unlock()
	return p.PacketConn.ReadFrom(b)
}
