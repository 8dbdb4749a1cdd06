// Package sdp reads and writes Session Description Protocol bodies for fax
// calls and computes SDP offer/answer exchanges as pure functions.
//
// # Standards
//
//   - RFC 8866 (which obsoletes RFC 4566): the body, clause 5. Parse reads
//     a whole body (session and media sections); lines it does not model
//     (i, u, e, p, b, r, z, k) are kept as written and written back.
//   - RFC 3264, the offer/answer model: Offer, Answer and Result. An answer
//     has the offer's m-lines in order; a stream not taken is answered with
//     port 0 (clause 6); a new offer keeps every earlier slot (clause 8) and
//     reuses the audio slot for m=image when a call switches to T.38 (clause
//     8.3.3, as Asterisk and FreeSWITCH do); the o= session ID never
//     changes and its version grows only when the description does, so a
//     session-refresh re-INVITE is answered byte-for-byte as before.
//   - RFC 3551: PCMU (0) and PCMA (8) audio; RFC 4733 telephone-event.
//   - ITU-T T.38 annex D and RFC 3362: m=image udptl t38 and the T38Fax*
//     attributes, in the vendor spellings met in the field (T38MaxDatagram,
//     T38FaxMaxRate, T38FaxMaxBufferSize, ...): T38Params,
//     ParseT38Attribute, AnswerT38 and NormalizeMaxDatagram.
//   - RFC 7345: m=image UDP/TLS/UDPTL t38 is parsed and kept (Media.IsT38
//     is true, Media.Proto says which) but never accepted by Answer, which
//     does not do DTLS.
//
// # Use
//
//	offer, err := sdp.Parse(body)            // from an INVITE or re-INVITE
//	answer, neg, err := sdp.Answer(local, offer, lastSent, allowT38)
//	if errors.Is(err, sdp.ErrNoMedia) { /* respond 488 */ }
//	// neg.T38 (or neg.Audio) says where to send media and with what.
//
// # Limits
//
// Bodies are capped at MaxBodySize bytes, MaxLines lines, MaxMedia media
// sections and MaxFormats formats per m= line. Errors never quote the
// body (it carries addresses and user names). Answer accepts one stream (a
// fax uses either audio or T.38); multicast, ICE, SRTP and DTLS are not
// negotiated. FQDN connection addresses are kept but not resolved
// (Session.ConnAddr reports them as not usable).
package sdp
