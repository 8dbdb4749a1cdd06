package sip_test

import (
	"bytes"
	"context"
	"net"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit/sip"
)

// sipRelay sits between two UDP SIP endpoints that both use rport and
// latch onto where requests come from (Config.NAT), so every message of
// the dialog passes through it; drop decides which datagrams are lost.
type sipRelay struct {
	pc      net.PacketConn
	a, b    net.Addr
	mu      sync.Mutex
	dropped []string
	ok2xx   int // 200s to INVITEs forwarded
	drop    func(msg []byte) bool
}

func newSIPRelay(t *testing.T, a, b net.Addr, drop func([]byte) bool) *sipRelay {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	r := &sipRelay{pc: pc, a: a, b: b, drop: drop}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65535)
		for {
			n, src, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			// A sends its out-of-dialog requests from an ephemeral
			// socket (see the package's limits): B's side goes back to
			// wherever A's side last sent from.
			dst := r.b
			if src.String() == r.b.String() {
				dst = r.a
			} else {
				r.a = src
			}
			msg := buf[:n]
			r.mu.Lock()
			lose := r.drop(msg)
			if lose {
				r.dropped = append(r.dropped, string(msg[:bytes.IndexByte(msg, '\r')]))
			}
			r.mu.Unlock()
			if !lose {
				if bytes.HasPrefix(msg, []byte("SIP/2.0 200")) && cseqINVITE.Match(msg) {
					r.ok2xx++
				}
				_, _ = pc.WriteTo(msg, dst)
			}
		}
	}()
	t.Cleanup(func() { pc.Close(); <-done })
	return r
}

var cseqINVITE = regexp.MustCompile(`(?m)^CSeq:\s*(\d+)\s+INVITE`)

// dropFirstReinvite2xx loses the first 200 to a re-INVITE (an INVITE
// whose CSeq differs from the first INVITE's) and, if its ACK too, the
// first ACK of it.
func dropFirstReinvite2xx(ack bool) func([]byte) bool {
	var initial, dropped2xx, droppedACK string
	return func(msg []byte) bool {
		if bytes.HasPrefix(msg, []byte("INVITE ")) {
			if m := cseqINVITE.FindSubmatch(msg); m != nil && initial == "" {
				initial = string(m[1])
			}
			return false
		}
		if ack && bytes.HasPrefix(msg, []byte("ACK ")) && dropped2xx != "" && droppedACK == "" {
			droppedACK = "x"
			return true
		}
		if !bytes.HasPrefix(msg, []byte("SIP/2.0 200")) {
			return false
		}
		m := cseqINVITE.FindSubmatch(msg)
		if m == nil || string(m[1]) == initial || dropped2xx != "" {
			return false
		}
		dropped2xx = string(m[1])
		return true
	}
}

// A 2xx to a re-INVITE lost on UDP is retransmitted by the side that sent
// it (RFC 3261 clause 13.3.1.4) until the ACK arrives, and a lost ACK is
// re-sent on the retransmitted 2xx: the switch to T.38 succeeds after
// about T1 (500 ms) instead of ending "t38-refused" at SwitchTimeout
// (sipgo's server transaction absorbs the requester's INVITE
// retransmissions in RFC 6026's Accepted state and leaves 2xx
// retransmission to us).
func TestReinvite2xxLost(t *testing.T) {
	for _, tc := range []struct {
		name           string
		caller, callee sip.Policy
		ack            bool
	}{
		{"caller requests", sip.PolicyRequest, sip.PolicyAwait, false},
		{"answerer requests", sip.PolicyAwait, sip.PolicyRequest, false},
		{"answerer requests, ACK lost too", sip.PolicyAwait, sip.PolicyRequest, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			a := endpoint(t, sip.Config{Policy: tc.caller, NAT: true, ByeWait: time.Millisecond})
			b := endpoint(t, sip.Config{Policy: tc.callee, NAT: true})
			relay := newSIPRelay(t, a.Addr(), b.Addr(), dropFirstReinvite2xx(tc.ack))
			got := make(chan *sip.Call, 1)
			go func() {
				c, err := b.Accept(ctx)
				if err == nil {
					got <- c
				}
			}()
			_, port, _ := net.SplitHostPort(relay.pc.LocalAddr().String())
			c, err := a.Dial(ctx, "sip:5551234@127.0.0.1:"+port, nil)
			require.NoError(t, err)
			bc := <-got
			_, err = awaitT38(ctx, c)
			require.NoError(t, err, "caller: T.38 despite the lost 2xx")
			_, err = awaitT38(ctx, bc)
			require.NoError(t, err, "answerer: T.38 despite the lost 2xx")
			if tc.ack {
				// The requester ACKs each retransmitted 2xx: the answerer
				// of the re-INVITE stops retransmitting once one arrives.
				time.Sleep(3500 * time.Millisecond)
			}
			c.FaxDone(ctx)
			require.Equal(t, sip.ResultFaxDone, c.Result())
			require.Equal(t, sip.ResultRemoteHangup, bc.Wait(ctx))
			relay.mu.Lock()
			defer relay.mu.Unlock()
			want := 1
			if tc.ack {
				want = 2
				// The initial 200, the re-INVITE's 200 retransmitted at
				// T1 (its ACK lost) and at 3*T1, whose ACK stops it: none
				// at 7*T1.
				require.Equal(t, 3, relay.ok2xx, "2xx forwarded")
			}
			require.Len(t, relay.dropped, want, "the relay lost the re-INVITE's 2xx (and ACK)")
		})
	}
}
