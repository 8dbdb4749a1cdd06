package faxkit

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/faxkit/faxkit/t30"
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
//
// Send is a Call on one T38Media path; call control that changes the media
// mid-call uses Call.
func Send(ctx context.Context, conn net.PacketConn, peer net.Addr, doc Document, opts *Options) (Report, error) {
	if peer == nil {
		return Report{}, ErrNoPeer
	}
	if doc == nil || doc.NumPages() < 1 {
		return Report{}, fmt.Errorf("faxkit: empty document")
	}
	return run(ctx, conn, peer, CallConfig{Document: doc}, opts)
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
	return run(ctx, conn, peer, CallConfig{Sink: sink}, opts)
}

// run makes a Call of cfg with opts and runs it on one T.38 path.
func run(ctx context.Context, conn net.PacketConn, peer net.Addr, cfg CallConfig, opts *Options) (Report, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	t38o, err := o.T38.resolve()
	if err != nil {
		return Report{}, err
	}
	cfg.Fax, cfg.Timeout, cfg.OnEvent, cfg.Logger, cfg.Clock = o.Fax, o.Timeout, o.OnEvent, o.Logger, o.Clock
	c, err := NewCall(cfg)
	if err != nil {
		return Report{}, err
	}
	if peer == nil {
		wctx, cancel := c.o.callContext(ctx)
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
	if err := c.Start(ctx, T38Media(conn, peer, &t38o)); err != nil {
		return Report{}, err
	}
	return c.Wait()
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

// awaitFirst waits for the first datagram on conn and returns a conn that
// delivers it again, and its sender.
func awaitFirst(ctx context.Context, conn net.PacketConn) (net.PacketConn, net.Addr, error) {
	growReadBuffer(conn)
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
