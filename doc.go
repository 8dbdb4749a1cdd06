// Package faxkit is an embeddable fax transport library: ITU-T T.4/T.6 image
// coding, TIFF Class F documents, the T.30 fax protocol, T.38 fax over IP and
// HIPAA technical safeguards for the patient data that faxes carry.
//
// The library is a pipeline of small packages, each usable on its own:
//
//	t4         MH, MR (T.4) and MMR (T.6) codecs and the packed bilevel page type
//	tiff       multi-page TIFF Class F files; ordinary images turned into fax pages
//	t30        the T.30 session engine: negotiation, training, ECM, page transfer
//	t38        T.38 IFP packets, UDPTL with redundancy and FEC, SDP attributes,
//	           and the Terminal that carries a T.30 session over them
//	transport  UDP and RTP plumbing around a fax session
//	phi        encryption at rest, tamper-evident audit, access control, redaction
//
// This root package joins them into a call: Send and Receive for the
// simple case, and Call for call control (SIP) that chooses and changes a
// call's media path.
//
// # Sending and receiving
//
// Send places a T.38 call (UDPTL over UDP, T.38 clause 9.1, or IFP over RTP
// with T38Options.RTP) to a peer and sends a Document; Receive answers one
// and hands each accepted page to a PageSink. Both take the application's
// net.PacketConn, so the signalling (SIP/SDP, see t38.ParseSDP and
// t38.Answer) and the socket stay the application's:
//
//	conn, _ := net.ListenPacket("udp", ":0")
//	doc, _ := faxkit.OpenDocument(ctx, "letter.pdf", nil) // TIFF, PDF, PNG, JPEG, GIF
//	defer doc.Close()
//	rep, err := faxkit.Send(ctx, conn, peer, doc, &faxkit.Options{Fax: faxkit.FaxOptions{LocalIdent: "+1 555 0100"}})
//	fmt.Println(rep.Result, rep.Pages) // "ok 3"; err is nil exactly when rep.OK
//
//	w, _ := tiff.NewWriter(out, nil)            // or phi.NewTIFFWriter(sealedDoc, nil)
//	rep, err = faxkit.Receive(ctx, conn, nil, w, nil) // nil peer: answer the first caller
//	w.Close()
//
// Options has a fax part (FaxOptions: ECM, codings, bit rate, ident, T1),
// which is the same for every media, and a T.38 part (T38Options: version,
// UDPTL error correction, datagram size, pacing, RTP). Their zero values
// work (ECM on; MH, MR and MMR; up to V.17 14400; T.38 version 0;
// redundancy 3; 400-octet datagrams; real-time pacing); each field
// documents its default. Report gives the T.30 result (a t30.Result with a
// stable string such as "ok", "no-answer", "page-rejected"), pages, bit
// rate, coding, ECM, bad rows, the remote ident (PHI-typed: it redacts
// itself in logs), the duration, per-page statistics, the T.30 counters,
// and per media path (Report.Media) the network and T.38 counters.
// Options.OnEvent sees every T.30 event as it happens (a page confirmed, a
// frame, the result). Each received page is decoded once, to judge it and
// to hand it to the sink.
//
// Cancelling the context, or Options.Timeout passing, ends the call with
// DCN, within about a second even mid-page at real-time pacing
// (TestCancelPacedMidPage); the Report then says "local-abort". Every call
// ends by itself too: the T.30 timers (T1 35 s to find the other terminal,
// T2, T4 and T5) bound every wait.
//
// # Calls driven by call control
//
// A Call is one T.30 session whose media path call control picks: NewCall
// with the document (calling) or the sink (answering), Start on a Media
// (T38Media, or AudioMedia: faxkit's own modems over G.711 RTP, the way
// fax machines call), SwapMedia when a re-INVITE moves the call to another
// path (audio to T.38), End to hang up, Wait for the Report. One goroutine per call owns the session and the path in use;
// Report.Media lists each path the call used.
//
// For patient data, receive into a phi.TIFFWriter: each page is encrypted
// (AES-256-GCM streaming, its own data key) before it reaches the disk, and
// reads go through phi.Guard (default deny, every access audited).
// examples/loopback does the whole chain on one machine, and cmd/faxkit
// ("faxkit send", "faxkit receive", "faxkit tiff") wraps it for operators.
//
// # PHI and logging
//
// Options.Logger (nil discards) is wrapped in phi/redact's handler, and
// the T.30 and T.38 layers never log idents, numbers or page contents.
// Report.LogValue redacts the remote ident; Report.RemoteIdent.Reveal()
// returns it where showing it is the point.
//
// # Limitations
//
//   - IFP over RTP (T38Options.RTP) has no redundancy or FEC (RFC 2198 is
//     not implemented): loss is left to ECM and T.30 repetition.
//   - One call per Send or Receive; a server answering many calls on one
//     port uses transport.Listen and calls Receive on each accepted call
//     (see examples/loadtest).
//   - Call.SwapMedia changes the path at once: a signal being sent at
//     that moment is cut short and T.30's repetition recovers it (seconds,
//     T4); it does not yet wait for a quiet point, and the modem's
//     "heard" events (CNG, CED, V.21 flags) are not yet reported to call
//     control. Only T.38 media exist so far.
//   - Pages are not rescaled to what the remote accepts: a page whose
//     resolution or width the remote lacks ends the call "incompatible".
//     TIFF and OpenDocument convert non-fax pages (grey, colour, odd sizes)
//     to A4 when the document is opened, holding them in memory.
//   - The calling side repeats CNG every 3.5 s until answered or T1 (35 s)
//     expires, so a receiver with a nil peer may start up to T1 after the
//     caller.
//   - No polling (DTC) through this API, no T.30 passwords/sub-addresses,
//     and no fill-bit removal negotiation.
//
// Measurements (call latency, CPU per call, concurrent paced calls) are in
// the repository's benchmark notes, with the commands that made them.
package faxkit
