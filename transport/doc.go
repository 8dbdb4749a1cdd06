// Package transport carries T.38 datagrams between fax endpoints: UDP
// sockets and a many-call UDP listener for UDPTL, IFP packets over RTP, and
// network impairment (loss, bursts, reordering, duplication, delay) for
// testing.
//
// It knows nothing of fax. Package t38 builds and parses UDPTL packets and
// IFP packets; this package moves them.
//
// # What it implements
//
//   - ITU-T T.38 clause 9 (IFP over UDP, "UDPTL"): the datagram transport
//     only. One UDPTL packet is one datagram; its sequence numbers,
//     redundancy and FEC (clause 9.2-9.4, Annex C) belong to package t38.
//   - T.38 over RTP (the RTP encapsulation added to T.38 for UDP transport,
//     "image/t38" or "audio/t38" with an rtpmap such as "96 t38/8000", RFC
//     4612): one IFP packet per RTP packet, RTP version 2 framing per RFC
//     3550 clause 5.1 (via github.com/pion/rtp), an 8 kHz timestamp, random
//     initial SSRC, sequence number and timestamp. Receive-side sequence
//     tracking follows RFC 3550 clause 6.4.1 and appendix A.1: extended
//     highest sequence number, loss counting, a duplicate window, and a
//     large jump accepted only when the next packet confirms it.
//
// # Endpoints
//
// An [Endpoint] is one call's datagram pipe to one peer, read with a
// context. A T.38 terminal written against Endpoint runs over either
// encapsulation:
//
//   - [Dial] opens one UDP socket per call with a fixed peer ([NewConn] wraps
//     any net.PacketConn the same way, for example an [ImpairedConn] or a
//     [Pipe] end). Datagrams from other addresses are dropped and counted.
//     With ConnConfig.Latch the peer is instead learnt from the first
//     datagram received, for peers behind NAT that send from another
//     address than they signalled.
//   - [Listen] serves many calls on one UDP port, demultiplexed by remote
//     address; [Listener.Accept]
//     returns each call as a [*Conn]. It bounds the number of calls
//     (MaxCalls), the calls waiting for Accept (Backlog), each call's
//     receive queue (QueueLen, oldest dropped first) and idle time
//     (IdleTimeout), and can batch its socket I/O (BatchIO: recvmmsg and
//     sendmmsg, through pion's BatchConn). [Listener.Close] ends every
//     call and returns once its reading goroutine is gone;
//     [Listener.Shutdown] first waits for open calls to finish.
//   - [NewRTPConn] wraps an Endpoint so that its datagrams are RTP packets
//     and the datagrams it reads and writes are IFP packets. ReadIFP also
//     returns the sequence details ([RTPInfo]), which a T.38 receiver can
//     use as it would UDPTL sequence numbers.
//
// *Conn also implements net.Conn and net.PacketConn, so code written for
// either can use it. A caller that lends its own socket to NewConn for one
// call ends the Conn with [Conn.Detach], not Close, and keeps the socket.
//
// A UDPTL call from the sending side:
//
//	c, err := transport.Dial(ctx, "udp", ":0", "192.0.2.7:4000", nil)
//	if err != nil { ... }
//	defer c.Close()
//	err = c.WritePacket(ctx, udptlPacket)  // built by package t38
//	n, err := c.ReadPacket(ctx, buf)       // ctx bounds the wait
//
// A receiving server:
//
//	l, err := transport.Listen("udp", ":4000", &transport.ListenConfig{MaxCalls: 500})
//	for {
//		call, err := l.Accept(ctx)
//		if err != nil { break }
//		go serve(call) // call is an Endpoint; Close it when the fax ends
//	}
//
// IFP over RTP instead of UDPTL:
//
//	ep := transport.NewRTPConn(c, &transport.RTPConfig{PayloadType: 96})
//	err = ep.WritePacket(ctx, ifpPacket)
//
// # Impairment
//
// [Impairment] describes one direction of a bad network: independent loss,
// fixed-length loss bursts, Gilbert-Elliott (two-state) loss, duplication,
// reordering, delay and jitter, all drawn from a generator seeded by
// Impairment.Seed, with counters ([ImpairStats]). [Impair] applies a pair of
// them (send, receive) to any net.PacketConn; [Pipe] returns two connected
// in-memory PacketConns with one in each direction, and [PipeEndpoints] the
// same pair as two connected Endpoints, ready for a terminal-to-terminal
// test. Delays, jitter and
// reorder hold-back run on the Clock of their Config: the system clock by
// default, or a fake clock that tests advance by hand so that nothing
// sleeps. A Listener's socket is shared by
// its calls, but each call is a net.PacketConn, so Impair wraps a call:
//
//	imp := transport.Impair(call, &transport.ImpairConfig{Send: transport.Impairment{Loss: 0.2, Seed: 1}})
//	ep := transport.NewConn(imp, call.RemoteAddr(), nil)
//
// # Time
//
// The Clock fields of ImpairConfig, PipeConfig, ListenConfig and RTPConfig
// take faxkit's one clock interface (t30.Clock: Now and NewTimer), the one
// the T.30 driver and the T.38 terminal read, so that a whole-call test runs
// its impairments on the same virtual time as its T.30 timers. The delay
// line, reorder hold-back and idle timers are callbacks: on a clock with an
// AfterFunc method of its own (the system clock, faxkit's fake clock) they
// run through it (the fake runs them in the goroutine that advances it, in
// deadline order, so impairment tests are deterministic); on any other
// clock each pending one waits on a NewTimer in a goroutine.
//
// # Limitations
//
//   - No RTP redundancy (RFC 2198) or FEC for T.38 over RTP, and no RTCP:
//     loss on the RTP path is left to T.30 (ECM retransmission, command
//     repetition). Late (reordered) RTP packets are delivered as they come,
//     marked SeqLate, or dropped with DropLate; there is no jitter buffer.
//   - A Listener call ends when its owner closes it or it idles out. For
//     Linger (default 2 s) afterwards, datagrams from the same address (a
//     peer's late repetitions of its last messages) are dropped instead of
//     starting a new call; a genuine new call from the same address and
//     port within that time is dropped too. AcceptFilter can also reject
//     datagrams that cannot start a call.
//   - A Listener cannot place outgoing calls from its shared port: use Dial
//     (one socket per call) for those.
//   - The Listener uses one reading goroutine, which queues each datagram
//     on its call directly. Per-call memory is bounded by QueueLen ×
//     MaxDatagram.
//   - Conn's ReadPacket is for one goroutine at a time. On socket Conns a
//     cancellable context is watched with one context.AfterFunc per distinct
//     context: a reader that reuses its call's context allocates nothing per
//     datagram, one that makes a context per read pays a few allocations.
//   - UDP writes are not interrupted by a context; they do not block for
//     long on any OS this runs on.
//   - Datagrams longer than the read buffer: the OS truncates silently on
//     plain sockets; in-memory queues report ErrTruncated.
//   - Impairment is a test tool. Its delay line holds every delayed
//     datagram until due, so its memory is the offered rate times
//     Delay+Jitter (unbounded for a hostile sender); the queues behind it
//     are bounded (QueueLen).
package transport
