// Package t38 implements the wire formats of ITU-T T.38 real-time fax over
// IP networks: IFP packets, UDPTL datagrams with redundancy and FEC, and the
// SDP attributes that negotiate them.
//
// # What is implemented
//
//   - T.38 clause 7 and annex A (ASN.1), IFP packets of versions 0 to 3
//     (T.38 1998, 2000, 2002 and 2004/2010 editions), encoded with the
//     basic aligned variant of X.691 PER: every t30-indicator (no-signal,
//     CNG, CED, V.21 preamble, V.27ter/V.29/V.17 training per rate, and
//     the V.8, V.34 and V.33 extension additions), every t30-data type
//     (V.21 ... V.17 14400, V.8, V.34, V.33) and field type (hdlc-data,
//     hdlc-sig-end, hdlc-fcs-OK, hdlc-fcs-BAD, hdlc-fcs-OK-sig-end,
//     hdlc-fcs-BAD-sig-end, t4-non-ecm-data, t4-non-ecm-sig-end, and the
//     V.34 cm-message, jm-message, ci-message, v34rate), any number of
//     fields per packet: type IFP.
//
//   - T.38 clause 9.1, UDPTL: the UDPTLPacket with both error-recovery
//     choices (secondary IFP packets, and fec-info), type UDPTLPacket; a
//     Sender that numbers datagrams and adds redundancy or FEC without
//     ever exceeding the far end's maximum datagram; a Receiver that
//     reorders, drops duplicates, rebuilds lost packets from redundancy or
//     FEC (whichever each datagram carries), delivers IFP packets in order
//     exactly once and reports what it could not rebuild, with counters.
//
//   - T.38 annex D (SIP/SDP) and RFC 3362: the T.38 SDP attributes, the
//     "m=image <port> udptl t38" media line, and Answer, which computes an
//     answer to an offer as gateways do.
//
//   - The T.38 terminal (T.38 clauses 5 to 7 and 9, in the role of a
//     Group 3 facsimile terminal over IP): Terminal implements t30.Modem
//     over IFP packets carried in UDPTL (or one IFP per datagram, for IFP
//     over RTP) on a transport.Endpoint: CNG and CED, V.21 HDLC frames with
//     fcs-OK/BAD and sig-end, transferred TCF, non-ECM image data, ECM
//     frames at the image modems, fill-bit removal when negotiated, in real
//     time (packets spaced as a modem at the signal's rate would deliver
//     them, on an injectable clock) or unpaced.
//
// # Usage
//
// Encoding and decoding follow pion/rtp: MarshalSize, MarshalTo(buf),
// AppendBinary and Unmarshal into a reused value, none of which allocates
// on the hot path (BenchmarkEncode, BenchmarkDecode). Decoded packets alias
// the input buffer: IFP.Fields[i].Data, UDPTLPacket.Primary, .Secondary[i]
// and .FEC[i] point into the bytes given to Unmarshal; copy them if those
// bytes will be reused. Receiver deliveries stay valid until the next Push.
//
//	s, _ := t38.NewSender(t38.SenderConfig{EC: t38.ECRedundancy, MaxDatagram: peerMax})
//	p := t38.IFP{Version: v, Type: t38.TypeIndicator, Indicator: t38.IndCED}
//	n, _ := p.MarshalTo(ifpBuf)
//	dgram, _ = s.Append(dgram[:0], ifpBuf[:n]) // write dgram to the socket
//
//	r, _ := t38.NewReceiver(t38.ReceiverConfig{Version: v})
//	_ = r.Push(datagram)                      // from the socket
//	for d, ok := r.Next(); ok; d, ok = r.Next() {
//		if d.Lost > 0 { /* d.Lost packets from d.Seq are gone */ continue }
//		_ = in.Unmarshal(d.IFP)
//	}
//
// # Field facts this package gets right
//
//   - Version 0 has no extension bit in field-type (3 bits) and no
//     extension values at all; version 1 and later have the extension bit,
//     and send extension values in a 2-octet form. Version 0 packets cannot
//     carry the V.8/V.34/V.33 values (ErrVersion); on receive they are
//     accepted in any version, as spandsp does.
//   - A field's data length travels as 2 octets holding length-1; open
//     types as a length determinant and the octets (an empty one as the
//     single octet 0x00 with length 1).
//   - Error recovery 0x00 is secondary packets, newest first (the receiver
//     replays them oldest first); 0x80 is FEC. Peers send redundancy
//     whatever the SDP said, so the Receiver accepts either at any time.
//   - The FEC layout is spandsp's and Asterisk's (see fec.go): parity entry
//     m of datagram N is the XOR of packets N+m-S*E+k*E, zero-padded to the
//     longest; the first S*E packets wind the FEC up. No length parity is
//     sent, so rebuilt packets are trimmed to the length their own IFP
//     encoding declares.
//   - Maximum datagram: NormalizeMaxDatagram applies Asterisk's rule (0 or
//     above 1400 means 400); FreeSWITCH always advertises 400, some
//     gateways 238. The Sender drops redundancy or FEC entries to fit and
//     refuses (ErrTooLarge) an IFP that does not fit alone; IFPBudget is
//     the IFP size that keeps the full protection.
//   - Sequence numbers start anywhere (Cisco starts at 32768), wrap to 0,
//     or to 1 for peers that skip 0 (RolloverToOne, or detected from the
//     redundancy with RolloverAuto); a jump beyond ResyncGap restarts the
//     sequence. Indicators repeated three times arrive as distinct
//     datagrams and are all delivered: de-duplicating them is the terminal's
//     business.
//   - HDLC and non-ECM octets travel bit-reversed relative to how HDLC
//     octets are usually held (the DIS FCF 0x80 is 0x01 in IFP); no flags
//     or FCS travel, only fcs-OK/BAD. BitReverse converts.
//   - Malformed input returns an error and never panics (FuzzIFP,
//     FuzzUDPTL, FuzzSDP); allocations are bounded by the datagram.
//
// # The terminal
//
//	term, err := t38.NewTerminal(ep, t38.TerminalConfig{
//		Version: 0, EC: t38.ECRedundancy, MaxDatagram: peerMax, // from SDP
//		Pacing: t38.PacingRealTime,                             // or PacingNone between IP terminals
//	})
//	if err != nil { ... }
//	result := t30.Run(ctx, session, term, nil)
//	term.Close() // sends the last packets of the hang-up, stops its goroutines
//	ep.Close()   // the endpoint belongs to the caller
//
// Inside, the protocol is a pure core (terminal_core.go): a deterministic
// state machine fed the session's signals, the received datagrams and the
// time, which returns the datagrams due, the events for the session and its
// next deadline. It schedules each signal's packets at their line times
// (pacing), waits for the far end's no-signal before a signal (turnaround),
// repeats indicators and ends of signals, and reassembles what it
// receives. One goroutine per call owns the core, the clock and every write
// (batched: transport.BatchWriter); a second one only blocks reading the
// Endpoint. Tests drive the core directly (a discrete-event simulator of two
// cores and two T.30 sessions paces exactly like real time) or the whole
// Terminal in a testing/synctest bubble.
//
// What it sends, signal by signal: an indicator (CNG, CED, V.21 preamble, or
// the training of the image modem: long before TCF, short before page data)
// IndicatorRepeat times (3, as spandsp), then the data. An HDLC frame goes
// in as few packets as keep the full redundancy: the whole frame with its
// hdlc-fcs-OK in one packet when it fits, otherwise chunks of the budget
// with the fcs-OK beside the last (each lost packet costs the whole frame,
// so fewer packets per frame lose fewer frames: spandsp's 30 ms chunks put
// one octet of a V.21 frame in each packet). TCF and page data are chunked
// to the budget and, paced, to 30 ms of line time per packet. Then
// hdlc-sig-end after the last frame, or t4-non-ecm-sig-end, repeated, and
// finally no-signal, repeated. It never sends a sig-end
// after an fcs-OK-sig-end (it does not use the combined field). Indicators,
// V.21 control data and the ends of signals get ControlDepth redundancy,
// image data Depth. HDLC and non-ECM octets are bit-reversed as T.38
// requires. TCF is always transferred (T.38 over UDP; spandsp never does
// local TCF).
//
// What it accepts (what peers send in the field): repeated indicators and
// repeated end-of-signal fields (ignored as repeats: spandsp filters them the
// same way), data inside fcs-OK, repeated fcs-OK, HDLC or image data with no
// preamble or training indicator before it, a stray hdlc-sig-end after
// fcs-OK-sig-end, TCF ended by hdlc-sig-end, several fields in one packet.
// Numeric rate-management values are not trusted. A frame any of whose
// packets was lost in the network (a UDPTL gap the redundancy or FEC could
// not fill, inside the frame, or just before it when the frame does not
// begin with a T.30 address and control field) is reported bad, never glued
// together: ECM retransmits it, T.30 repeats the command. A gap between
// frames (a lost indicator repeat, a whole lost frame) leaves the frames
// that did arrive good. Non-ECM page data is sent in whole rows, the same
// number R of EOLs in every packet, each packet ending with an EOL padded
// with fill to an octet boundary (rows.go; R is chosen per page for
// packets of about PacketInterval, none over the datagram budget). A
// receiver that sees such packets replaces n lost ones by exactly R*n
// undecodable rows, so the page keeps its length, the rows after the gap
// stay in place and T.30 counts every damaged row. From other senders
// (spandsp cuts by time) the rows are estimated from the nearby packets
// and the page is reported with an uncertain row count
// (t30.PageQuality.RowsUncertain). The UDPTL receiver is flushed after QuietFlush without
// packets, so what did arrive is delivered. Zero octets after a page's RTC
// (spandsp pads several hundred) are dropped so that the page end stays
// where T.30's checks look for it.
//
// Interop: calls in both directions with libspandsp 0.0.6's own T.38
// terminal (internal/spandsp's t38peer, UDPTL over UDP on loopback, its clock
// accelerated and ours matched): ECM on and off, MH/MR/MMR, versions 0 and 3,
// one and three pages, pixel-exact, unpaced and paced; at 20% loss each way
// with redundancy 3 (see terminal_spandsp_test.go), and with FEC 3x3 sent
// both ways, each side rebuilding packets from the other's parity (the peer
// implements the Asterisk layout itself; terminal_spandsp_fec_test.go).
// Between two faxkit
// terminals: redundancy 3 and FEC at 20% loss, no redundancy at 5% loss,
// 4-packet bursts, 10% reordering and duplication (terminal_loss_test.go);
// paced exactly as in real time, without UDPTL error correction at 5% and
// 10% random loss each way and with redundancy 3 under Gilbert-Elliott
// bursts, ECM, 1 and 3 pages pixel-exact (TestPacedLoss). The loss table
// beside spandsp: TestLossTable with FAXKIT_T38_TABLE=1.
//
// Measured here (2 cores shared with other work): an unpaced one-page fine
// A4 call (1728 x 2287, ECM/MMR) between two terminals over UDP on loopback
// takes about 14 ms end to end (BenchmarkCallLoopbackUDP, median of -count
// 5); 1000 concurrent real-time paced one-page calls all succeed at about
// 10 ms of CPU per call, with paced packets a mean 0.8 ms late and the 99th
// percentile within 10 ms (TestConcurrentPacedCalls with
// FAXKIT_T38_CALLS=1000; lateness grows with the machine's load).
//
// Terminal limitations:
//
//   - No local TCF (T38FaxRateManagement localTCF, for TCP): TCF is always
//     transferred. No TCP/TPKT transport, no V.34/V.8 signals (received ones
//     are ignored), no TEP.
//   - From a sender that does not cut non-ECM data in whole rows (and
//     from faxkit with FillBitRemoval, or a page with a row longer than a
//     datagram), the rows replacing lost page data are an estimate (EOLs
//     per packet of the last 8 packets): the page comes out within a few
//     percent of its length, rows after a gap may be out of place, and the
//     page says so (RowsUncertain); T.4 gives no way to know the rows a
//     lost packet held. Losing the first packets of a page (before its
//     first EOL) makes its row count uncertain too.
//   - Unpaced sending has no flow control (UDP has none): it sends at most
//     64 datagrams per step and asks for a 4 MiB socket receive buffer
//     (ReadBuffer), but a slow far end may still drop a burst; ECM and T.30
//     recover, slowly.
//   - A Terminal serves one call; Close does not close the Endpoint.
//
// # Interoperability and departures from a strict reading of X.691
//
// The encoder matches spandsp's t38_core octet for octet (golden vectors
// from Debian's libspandsp 0.0.6, produced at test time by
// testdata/spandsp/golden.c), with one exception, where spandsp contradicts
// itself and X.691:
//
//   - Version 0, a field without data followed by another field: X.691
//     (and spandsp's decoder) put both 4-bit fields in one octet; spandsp
//     0.0.6's encoder gives each its own octet, which its own decoder then
//     rejects. We send the packed form and accept both.
//
// Two spandsp layouts that differ from a strict reading of X.691 are
// followed, because spandsp is what most deployed T.38 runs on:
//
//   - Version 1+: each field of a multi-field packet starts a new octet
//     (X.691 would continue after the 5 bits of a field without data).
//   - Version 1+ extension field types (cm-message, jm-message, ci-message,
//     v34rate) carry their 6-bit index in bits 3..0 of the first octet and
//     7..6 of the second, as for indicators and data types; X.691 would
//     place a field type's index one bit further left. Only the V.34 field
//     types are affected.
//
// # Limitations
//
//   - Fragmented PER lengths (16384 octets or more) are rejected: no
//     datagram can carry them.
//   - Unknown extension values beyond those T.38 defines are decoded and
//     reported (*UnknownValueError) but cannot be re-encoded.
//   - The Receiver has no clock: a missing packet is declared lost after
//     ReceiverConfig.Window later packets or when the caller calls Flush
//     (do so when the peer goes quiet). Packets from before the first
//     datagram received cannot be delivered, except those carried as
//     redundancy in it.
//   - Sequence-number rollover to 1 is detected from redundancy only;
//     with FEC or no error correction, configure RolloverToOne or accept
//     one reported gap at the rollover.
//   - spandsp 0.0.6's library has no UDPTL, so the committed UDPTL tests
//     use hand-worked vectors from the layout of Asterisk's main/udptl.c and
//     spandsp's tests/udptl.c. (A one-off comparison outside this
//     repository with spandsp's test-suite UDPTL code found byte-identical
//     datagrams for redundancy depths 1-5 and FEC shapes up to 15 packets,
//     and exact recovery both ways.)
//   - FEC is limited to FECSpan*FECEntries <= MaxFECReach (15): spandsp and
//     Asterisk keep 16 packets and compute wrong parity beyond that, so
//     such FEC is neither sent nor trusted.
//   - IFP over RTP and TCP/TPKT framing are not here (transport package);
//     the Terminal runs over transport.RTPConn with EncapIFP.
package t38
