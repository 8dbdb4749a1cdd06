package t38

import "crypto/subtle"

// FEC layout (T.38 clause 9.1 fec-info, as spandsp and Asterisk implement
// it, which is what interoperates in the field):
//
// A datagram with sequence number N, fec-npackets S (the span) and E
// fec-data entries carries, in entry m (0 <= m < E), the XOR of the S IFP
// packets
//
//	N + m - S*E,  N + m - S*E + E,  ...,  N + m - E
//
// i.e. entry m protects every E-th packet of the S*E packets before N+m.
// The IFP packets have different lengths: each is zero-padded to the
// longest of its group and the entry is as long as that longest packet.
// No length parity is sent, so a packet rebuilt from an entry is as long
// as the longest packet of its group; because an IFP packet is
// self-delimiting, the receiver trims the rebuilt packet to the length its
// own encoding declares, and discards a rebuild that is not an IFP packet
// at all (parity that does not match its group).
//
// spandsp and Asterisk keep the last 16 packets in a ring, so S*E must not
// exceed 15 (MaxFECReach): beyond that their parity covers the wrong
// packets.
//
// The first packets of a call "wind up" the FEC: while fewer than S*E
// packets have been sent, a datagram carries entries = sent/S (and span 0
// and no entries while fewer than S have been sent), so no group reaches
// before the first packet. spandsp and Asterisk wind up on the sequence
// number itself (they start at 0); the Sender winds up on the count of
// packets sent, which is the same when FirstSeq is 0.
//
// When the datagram would exceed the far end's maximum, the Sender
// recomputes the parity with fewer entries (the groups follow the entry
// count the datagram states), then with a shorter span, and finally sends
// no parity. (spandsp instead truncates the entry list without recomputing
// it, which makes its receiver rebuild wrong packets; we do not copy that.)

// fecMember returns the k-th packet (0 <= k < span) protected by entry m
// of the datagram with logical index n.
func fecMember(n int64, m, span, entries, k int) int64 {
	return n + int64(m) - int64(span*entries) + int64(k*entries)
}

// xorInto XORs src into dst (zero-padded), growing dst to len(src) if
// shorter, and returns dst.
func xorInto(dst, src []byte) []byte {
	n := min(len(dst), len(src))
	subtle.XORBytes(dst[:n], dst[:n], src[:n])
	if len(src) > n {
		dst = append(dst, src[n:]...)
	}
	return dst
}

// buildFEC fills s.pkt's FEC for a primary of primaryLen octets and
// reports whether less than the configured parity fitted.
func (s *Sender) buildFEC(primaryLen int) (reduced bool) {
	span, entries := s.cfg.FECSpan, s.cfg.FECEntries
	if n := s.sent; n < uint64(span*entries) {
		entries = int(n) / span
		if n < uint64(span) {
			span, entries = 0, 0
		}
	}
	base := 2 + openTypeSize(primaryLen) + 1 + intSize(span) + 1
	for entries > 0 {
		size := base
		s.pkt.FEC = s.pkt.FEC[:0]
		for m := 0; m < entries; m++ {
			buf := s.fec[m][:0]
			for k := 0; k < span; k++ {
				idx := fecMember(int64(s.sent), m, span, entries, k)
				buf = xorInto(buf, s.histAt(uint64(idx)))
			}
			s.fec[m] = buf
			s.pkt.FEC = append(s.pkt.FEC, buf)
			size += openTypeSize(len(buf))
		}
		if size <= s.cfg.MaxDatagram {
			s.pkt.FECSpan = span
			return reduced
		}
		reduced = true
		if entries > 1 {
			entries--
		} else {
			span--
			if span == 0 {
				break
			}
		}
		if s.sent < uint64(span*entries) {
			entries = int(s.sent) / span
		}
	}
	s.pkt.FEC = s.pkt.FEC[:0]
	s.pkt.FECSpan = 0
	return reduced
}

// repair rebuilds missing packets from the FEC entries held in the window,
// repeating while a rebuilt packet makes another group solvable.
func (r *Receiver) repair() {
	for iter := 0; iter < 8; iter++ {
		progress := false
		// Only datagrams after r.next can protect a packet not yet
		// delivered.
		for n := r.next + 1; n <= r.highest; n++ {
			s := r.slot(n)
			if s == nil || s.fecEntries == 0 {
				continue
			}
			for m := 0; m < s.fecEntries; m++ {
				if s.fecDone&(1<<m) != 0 {
					continue
				}
				missing, count := int64(0), 0
				for k := 0; k < s.fecSpan; k++ {
					idx := fecMember(n, m, s.fecSpan, s.fecEntries, k)
					if t := r.slot(idx); t == nil || t.state != slotHave {
						missing, count = idx, count+1
					}
				}
				if count == 0 {
					s.fecDone |= 1 << m
					continue
				}
				if count > 1 || missing < r.next || r.highest-missing >= rxRing {
					continue
				}
				t := r.initSlot(missing)
				buf := append(t.buf[:0], s.fec[m]...)
				for k := 0; k < s.fecSpan; k++ {
					idx := fecMember(n, m, s.fecSpan, s.fecEntries, k)
					if idx != missing {
						buf = xorInto(buf, r.slot(idx).buf)
					}
				}
				l := ifpLen(&r.scratch, r.cfg.Version, buf)
				if l <= 0 {
					// Not an IFP packet: parity that does not match the
					// group (spandsp truncates its entry list without
					// recomputing it). Deliver nothing rather than junk.
					t.buf = buf[:0]
					s.fecDone |= 1 << m
					continue
				}
				t.buf = buf[:l]
				t.state = slotHave
				t.recovered = RecoveredFEC
				s.fecDone |= 1 << m
				progress = true
			}
		}
		if !progress {
			return
		}
	}
}
