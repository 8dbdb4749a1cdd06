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
//   - T.38 clause 9.1, UDPTL: the UDPTLPacket with both error-recovery
//     choices (secondary IFP packets, and fec-info), type UDPTLPacket; a
//     Sender that numbers datagrams and adds redundancy or FEC without
//     ever exceeding the far end's maximum datagram; a Receiver that
//     reorders, drops duplicates, rebuilds lost packets from redundancy or
//     FEC (whichever each datagram carries), delivers IFP packets in order
//     exactly once and reports what it could not rebuild, with counters.
//   - T.38 annex D (SIP/SDP) and RFC 3362: the T.38 SDP attributes, the
//     "m=image <port> udptl t38" media line, and Answer, which computes an
//     answer to an offer as gateways do.
//
// The T.38 terminal (the t30.Modem over IFP) builds on this package.
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
//   - IFP over RTP and TCP/TPKT framing are not here (transport package).
package t38
