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
// This root package joins them into one call each way.
//
// # Sending and receiving
//
// Send places a T.38 call (UDPTL over UDP, T.38 clause 9.1, or IFP over RTP
// with Options.RTP) to a peer
// and sends a Document; Receive answers one and hands each accepted page
// to a PageSink. Both take the application's net.PacketConn, so the
// signalling (SIP/SDP, see t38.ParseSDP and t38.Answer) and the socket stay
// the application's:
//
//	conn, _ := net.ListenPacket("udp", ":0")
//	f, _ := os.Open("letter.tif")
//	st, _ := f.Stat()
//	r, _ := tiff.NewReader(f, st.Size(), nil)
//	doc, _ := faxkit.TIFF(r)
//	rep, err := faxkit.Send(ctx, conn, peer, doc, &faxkit.Options{LocalIdent: "+1 555 0100"})
//	fmt.Println(rep.Result, rep.Pages) // "ok 3"; err is nil exactly when rep.OK
//
//	w, _ := tiff.NewWriter(out, nil)            // or phi.NewTIFFWriter(sealedDoc, nil)
//	rep, err = faxkit.Receive(ctx, conn, nil, w, nil) // nil peer: answer the first caller
//	w.Close()
//
// Options' zero value works (ECM on; MH, MR and MMR; T.38 version 0;
// redundancy 3; 400-octet datagrams; up to V.17 14400; real-time pacing);
// each field documents its default. Report gives the T.30 result (a
// t30.Result with a stable string such as "ok", "no-answer",
// "page-rejected"), pages, bit rate, coding, ECM, bad rows, the remote
// ident (PHI-typed: it redacts itself in logs), the duration, per-page
// statistics and the T.30 and T.38 counters. Options.OnEvent sees every
// T.30 event as it happens (a page confirmed, a frame, the result).
//
// Cancelling the context, or Options.Timeout passing, ends the call with
// DCN, within about a second even mid-page at real-time pacing
// (TestCancelPacedMidPage); the Report then says "local-abort". Every call ends by itself too:
// the T.30 timers (T1 35 s to find the other terminal, T2, T4 and T5) bound
// every wait.
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
// # Performance
//
// An unpaced one-page fine A4 call between two faxkit endpoints on
// loopback UDP takes a median of 10 to 19 ms end to end (ECM/MMR and
// non-ECM/MR; BenchmarkCallUnpaced on the project's shared 2-core VM,
// 11 ms when it was quiet). Paced calls cost 35 to 45 ms of CPU each (both
// ends); 750 concurrent paced calls on that VM kept the p99 pacing error
// under 20 ms, 1000 did not (examples/loadtest).
//
// # Limitations
//
//   - IFP over RTP (Options.RTP) has no redundancy or FEC (RFC 2198 is not
//     implemented): loss is left to ECM and T.30 repetition.
//   - One call per Send or Receive; a server answering many calls on one
//     port uses transport.Listen and calls Receive on each accepted call
//     (see examples/loadtest).
//   - Pages are not rescaled to what the remote accepts: a page whose
//     resolution or width the remote lacks ends the call "incompatible".
//     TIFF converts non-fax pages (grey, colour, odd sizes) to fine A4 when
//     it opens the document, holding them in memory.
//   - The calling side repeats CNG every 3.5 s until answered or T1 (35 s)
//     expires, so a receiver with a nil peer may start up to T1 after the
//     caller.
//   - No polling (DTC) through this API, no T.30 passwords/sub-addresses,
//     and no fill-bit removal negotiation.
package faxkit
