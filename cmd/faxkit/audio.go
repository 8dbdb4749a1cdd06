package main

// G.711 audio fax calls without SIP (issue 17): "faxkit send -media
// audio -remote HOST:PORT" and "faxkit receive -media audio -local ADDR".

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/faxkit/faxkit"
)

// audioHelp documents -media and -codec.
const audioHelp = `  -media t38|audio    the media path without SIP (default t38): audio is T.30 on
                      faxkit's own modems (V.21, V.27ter, V.29, V.17) over G.711
                      RTP packets, as fax machines call over a voice
                      line; the T.38 flags (-t38-version, -ec, -ec-depth, -max-datagram,
                      -rtp, -rtp-pt) do not apply to it
  -codec pcmu|pcma    the G.711 law (default pcmu: payload type 0; pcma: 8)
  -ptime D            the audio packet time: 10ms, 20ms (default), 30ms or 40ms;
                      packets of any of these from the far end play whatever it is
`

// t38Only are the flags that mean nothing on an audio path.
var t38Only = []string{"t38-version", "ec", "ec-depth", "max-datagram", "rtp", "rtp-pt"}

// checkMedia validates -media and -codec for a SIP-less call and reports
// whether the call is an audio one.
func (f *callFlags) checkMedia() (bool, faxkit.AudioCodec, error) {
	switch f.media {
	case "t38":
		for _, n := range []string{"codec", "ptime"} {
			if f.set[n] {
				return false, 0, usagef("-%s applies to -media audio only", n)
			}
		}
		return false, 0, nil
	case "audio":
	default:
		return false, 0, usagef("unknown -media value %q (want t38 or audio)", f.media)
	}
	for _, n := range t38Only {
		if f.set[n] {
			return false, 0, usagef("-%s is a T.38 setting and does not apply to -media audio", n)
		}
	}
	codec, err := faxkit.ParseAudioCodec(f.codec)
	if err != nil {
		return false, 0, usagef("unknown -codec value %q (want pcmu or pcma)", f.codec)
	}
	switch f.ptime {
	case 10 * time.Millisecond, 20 * time.Millisecond, 30 * time.Millisecond, 40 * time.Millisecond:
	default:
		return false, 0, usagef("unsupported -ptime %v (want 10ms, 20ms, 30ms or 40ms)", f.ptime)
	}
	return true, codec, nil
}

// runAudio runs a SIP-less audio call: send (doc set) or receive (out
// set). raddr may be nil when receiving: the first RTP sender is the
// peer.
func runAudio(ctx context.Context, e *env, f *callFlags, codec faxkit.AudioCodec, raddr net.Addr,
	doc faxkit.Document, out string) error {
	verb := "sent"
	if doc == nil {
		verb = "received"
	}
	fax, err := f.faxOptions(0)
	if err != nil {
		return err
	}
	conn, err := net.ListenPacket("udp", f.local)
	if err != nil {
		return err
	}
	defer conn.Close()
	tr, err := newTracer(e.stderr, f.trace, f.traceJSON)
	if err != nil {
		return err
	}
	defer tr.close()
	var to *tiffOutput
	if doc == nil {
		if to, err = newTIFFOutput(out); err != nil {
			return err
		}
		defer to.abandon()
	}
	cctx, cancel := f.callContext(ctx)
	defer cancel()
	start := time.Now()
	if !f.json {
		if doc != nil {
			fmt.Fprintf(e.stderr, "sending %d page(s) from %s to %s over G.711 %s (call %s)\n", doc.NumPages(), conn.LocalAddr(), raddr, codec, tr.id)
		} else {
			fmt.Fprintf(e.stderr, "waiting for an audio call on %s (G.711 %s, call %s)\n", conn.LocalAddr(), codec, tr.id)
		}
	}
	role := "send"
	if doc == nil {
		role = "receive"
	}
	tr.info("call", "role", role, "media", "audio", "codec", codec.String(), "local", conn.LocalAddr().String())
	var pc net.PacketConn = conn
	if raddr == nil {
		// The peer is whoever sends first; that datagram is played again
		// to the media path.
		fc, from, err := firstSender(cctx, conn)
		if err != nil {
			x := callExtra{media: "audio"}
			if cctx.Err() != nil && ctx.Err() == nil {
				err = fmt.Errorf("no call arrived within -timeout %v", f.timeout)
			}
			var w written
			if to != nil {
				w, _ = to.commit("")
			}
			return f.finish(e, verb, tr, faxkit.Report{}, err, w, time.Since(start), x)
		}
		pc, raddr = fc, from
	}
	cfg := faxkit.CallConfig{Document: doc, Fax: fax, OnEvent: progress(e.stderr, verb), Logger: tr.logger()}
	if doc == nil {
		cfg.Sink = to.w
	}
	call, err := faxkit.NewCall(cfg)
	if err != nil {
		return err
	}
	if err := call.Start(cctx, faxkit.AudioMedia(pc, raddr, &faxkit.AudioOptions{Codec: codec, PTime: f.ptime})); err != nil {
		return err
	}
	rep, callErr := call.Wait()
	elapsed := time.Since(start)
	var w written
	if to != nil {
		if w, err = to.commit(rep.RemoteIdent); err != nil {
			return err
		}
	}
	return f.finish(e, verb, tr, rep, callErr, w, elapsed, callExtra{media: "audio"})
}

// firstSender waits for the first datagram on conn and returns a conn
// that delivers it again on the first read, and its source.
func firstSender(ctx context.Context, conn net.PacketConn) (net.PacketConn, net.Addr, error) {
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Unix(1, 0)) })
	buf := make([]byte, 2048)
	n, from, err := conn.ReadFrom(buf)
	if !stop() {
		conn.SetReadDeadline(time.Time{})
		if err == nil {
			err = ctx.Err()
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		return nil, nil, err
	}
	return &replayConn{PacketConn: conn, first: buf[:n], from: from}, from, nil
}

// replayConn is a PacketConn whose first read returns a datagram read
// before.
type replayConn struct {
	net.PacketConn
	mu    sync.Mutex
	first []byte
	from  net.Addr
}

func (c *replayConn) ReadFrom(b []byte) (int, net.Addr, error) {
	c.mu.Lock()
	if p := c.first; p != nil {
		c.first = nil
		c.mu.Unlock()
		return copy(b, p), c.from, nil
	}
	c.mu.Unlock()
	return c.PacketConn.ReadFrom(b)
}
