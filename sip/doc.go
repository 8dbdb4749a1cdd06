// Package sip is faxkit's SIP call control: a user agent that places and
// answers fax calls over SIP trunks, PBXs and SBCs, and moves them from
// G.711 audio to T.38 by re-INVITE. It hands the media to the application
// (the fax itself runs in faxkit's T.30/T.38 code, which this package does
// not import).
//
// # Standards
//
//   - RFC 3261 (SIP) through github.com/emiago/sipgo v1.7 (transactions,
//     transports UDP/TCP/TLS, dialog IDs, 2xx retransmission, CANCEL):
//     INVITE/200/ACK both ways, BYE from either side in any phase, CANCEL
//     (a cancelled Dial sends it; an incoming one ends the pending call),
//     re-INVITE sent and received (our 2xx to a re-INVITE is retransmitted
//     by the call's goroutine at T1 doubling to T2 until its ACK or 64*T1,
//     clause 13.3.1.4, which sipgo leaves to the core; a retransmitted 2xx
//     to our re-INVITE is ACKed again, clause 13.2.2.4), re-INVITE without SDP (offer in the 200,
//     answer in the ACK), delayed-offer INVITEs, 491 glare with the clause
//     14.1 back-off for the T.38 re-INVITE and for session refreshes
//     alike (2.1-4 s for the Call-ID owner, 0.1-2 s for the other side:
//     never 0, which only crosses the peer's re-INVITE again; 10 ms
//     units), 481 for requests outside any dialog, 415 for
//     non-SDP bodies, 488 for offers that cannot be answered.
//   - RFC 3264 offer/answer and RFC 8866 SDP via package sdp.
//   - RFC 4028 session timers: Session-Expires is negotiated on the
//     initial INVITE and on every re-INVITE and UPDATE either way
//     (Config.SessionExpires asks for one, Config.MinSE bounds it, 422
//     below it). As refresher this side refreshes at half the interval by
//     UPDATE without a body where the peer allows UPDATE, else by a
//     re-INVITE carrying the SDP last sent unchanged (same o= version),
//     mid-page too, without touching the media; 481/408 to a refresh ends
//     the call. A peer's refreshes (identical-SDP re-INVITEs, UPDATEs) are
//     answered 200 without touching the media. As non-refresher this side
//     sends BYE when the peer lets the session expire (at the expiry less
//     the lesser of 32 s and a third of the interval; result
//     session-expired).
//     A 422 (Session Interval Too Small) to our initial INVITE, our T.38
//     re-INVITE or our refresh is retried at once, at most twice, when
//     its Min-SE is larger than the interval asked for: a new transaction
//     (for the INVITE, the same Call-ID and From tag and the next CSeq,
//     clause 7.4) asking for that Min-SE, never less than Config.MinSE,
//     and carrying it in Min-SE, as every later request of the dialog
//     does. The same holds for a Min-SE in the peer's requests (its
//     initial INVITE, re-INVITEs and UPDATEs, clause 7.4): every later
//     re-INVITE and refresh of ours asks for at least the largest Min-SE
//     the dialog has seen and carries it; a Session-Expires we add to our
//     2xx to an INVITE that asked for none is not below its Min-SE
//     (clause 9), and a Min-SE alone does not make us ask for a session
//     timer. The 422 retries of the T.38 re-INVITE share the first one's
//     SwitchTimeout (see below). A 422 without a usable Min-SE, or with one no larger than
//     what was asked (a second 422 that does not move), is a failure:
//     Dial returns a *StatusError with code 422, a T.38 re-INVITE counts
//     as refused, and a refresh stops, leaving the session to end at its
//     expiry with BYE (session-expired) unless the call ends first.
//   - RFC 2617/3261 digest authentication on INVITE and REGISTER (401 and
//     407), REGISTER with refresh at half the granted lifetime (clause 10).
//   - RFC 3581 rport (Config.NAT) and symmetric media latching: media is
//     sent to where the peer's media comes from.
//   - ITU-T T.38 annex D: the switch to T.38 and its parameters.
//
// # Design
//
// Each call is owned by one goroutine. Its dialog and media-negotiation
// logic (machine.go) is a pure state machine: events (the call confirmed,
// a re-INVITE offer, the answer to ours, a BYE, a tone heard, the fax done)
// go in with the time they happened; actions (send a re-INVITE, respond,
// media changed, send BYE, end) and the next deadline come out. Its tests
// run on virtual time without sockets.
//
// # T.38 switch policy
//
// Config.Policy is the CLI's -t38 flag:
//   - auto (default): the answering side sends the re-INVITE to T.38 as
//     soon as the ACK arrives (FreeSWITCH waits a blind 1-2 s, Asterisk's
//     SendFAX up to 10.5 s); the calling side accepts the peer's re-INVITE
//     and requests T.38 itself after AutoRequestDelay (3 s) or as soon as
//     it hears CED or V.21 flags; T.38 offered in an initial INVITE is
//     accepted.
//   - request: this side sends the re-INVITE once the call is up.
//   - await: wait for the peer's (AwaitTimeout, 35 s, then "t38-not-offered").
//   - offer: audio and T.38 in the initial INVITE, then as auto.
//   - off: audio only; T.38 offers are answered 488.
//
// Our re-INVITE answered 488/415 (or any failure) or not answered within
// SwitchTimeout (5 s; 15 s once a provisional response came), counted from
// the first re-INVITE of the switch when a 422 made us send it again,
// leaves the call in audio: with AudioFallback the
// audio path is handed to the application's audio fax modem (a Media with
// AudioFax set: the pre-switch leg stops, and Media carries the codec,
// ptime and the leg's RTP stream to continue), without it (the default)
// the call is hung up with ResultT38Refused. PolicyOff, and PolicyAwait
// with AudioFallback, hand the audio path over at once (audio fax from the
// start). A T.38 offer arriving while an audio fax runs is accepted
// (except with PolicyOff) and delivered as a T.38 Media on a socket of its
// own, for the application to move the running fax over at a clean point
// (faxkit's Call.SwapMedia). The answer
// to a T.38 offer honours the offered T38FaxVersion (up to t38.MaxVersion),
// error correction (FEC or redundancy as offered) and T38FaxMaxDatagram
// (see sdp.AnswerT38 and sdp.NormalizeMaxDatagram).
//
// # Use
//
//	ep, err := sip.NewEndpoint(sip.Config{Listen: "192.0.2.1:5060", Policy: sip.PolicyAuto})
//	call, err := ep.Dial(ctx, "sip:15551234567@trunk.example", nil) // or ep.Accept(ctx)
//	for m := range call.Media() {
//		if m.Kind == sdp.KindT38 {
//			// run the fax on m.Conn towards m.Remote with m.T38's parameters
//			// (faxkit.T38Media(m.Conn, m.Remote, &opts)), then:
//			call.FaxDone(ctx)
//		}
//	}
//	// call.Result(), call.Status(), call.SwitchDelay() (t38_switch_ms)
//
// Call.To and Call.From carry the dialed number and the caller for
// routing; they are PHI and log themselves redacted (slog.LogValuer).
// Call-IDs are logged as a hash.
//
// # Limits
//
//   - The audio fax itself is the application's (faxkit's AudioMedia on
//     modem/fax); before the switch or the hand-over the audio leg sends
//     G.711 silence (CNG from the caller) and only listens for CNG, CED
//     and V.21 flags.
//   - Outgoing out-of-dialog UDP requests leave from an ephemeral socket
//     (sipgo opens one per destination); Via carries it, so responses come
//     back, and Contact names the listening port for requests.
//   - A 2xx to our T.38 re-INVITE that comes after we gave up on it
//     (SwitchTimeout) is not ACKed: its transaction is gone, and the peer
//     ends the dialog after 64*T1 (no CANCEL of the late re-INVITE).
//   - No PRACK (RFC 3262), no SRTP/DTLS (m=image UDP/TLS/UDPTL is parsed by
//     package sdp but refused), no ICE, no DNS SRV/NAPTR beyond what sipgo
//     does.
//   - sipgo logs a few messages through its package-global logger
//     (sip.DefaultLogger): the first NewEndpoint sets it, unless the
//     application did, to slog.Default() keeping errors only (its warnings,
//     such as "UDP ref went negative", are noise). The endpoint's
//     transaction and transport layers use Config.Logger.
package sip
