// Package t30 is faxkit's ITU-T T.30 fax protocol engine: the frames two
// Group 3 fax terminals exchange, the negotiation of a common mode, and the
// call itself as a pure, deterministic state machine.
//
// # What it implements
//
//   - T.30 5.3 frames: HDLC address/control, every control field of Table 5
//     (FCF, with names), the X bit (5.3.6.1), and typed FIFs: DIS/DTC/DCS with
//     every defined bit of Table 2 and its extend bits (DIS, DCS, Features,
//     DISBits; reserved bits survive a round trip), 20-character idents sent
//     reversed (CSI/TSI/CIG/PWD/SUB/SEP/SID/PSA), NSF/NSS/NSC as opaque T.35
//     data, post-message commands and responses including PRI-EOM/MPS/EOP,
//     and the Annex A ECM frames: PPS-x, PPR with its 256-bit map, CTC/CTR,
//     RR/RNR, EOR/ERR, and the T.4 Annex A FCD/RCP data frames. FCS
//     (CRC-16/X.25) helpers for modems that carry it in band.
//   - Negotiation (Capabilities, ChooseMode): the fastest common modem of
//     V.17 14400/12000/9600/7200, V.29 9600/7200, V.27ter 4800/2400; MMR >
//     MR > MH with MMR only under ECM; resolution, width, length; the minimum
//     scan line time for the page's resolution (Table 2 bits 21-23, 46);
//     ECM frames of 256 or 64 octets; the fallback order real terminals use
//     after FTT. Checked against libspandsp's own choices.
//   - The call (Session): calling and answering terminals, transmitting or
//     receiving (and polling: a calling receiver sends DTC when the DIS offers
//     a document); phases A to E; CNG repeated every 3.5 s (0.5 s on, 3 s
//     off) until the far end is heard or T1 ends the call; timers T1 (35 s), T2 (6 s), T4 (3 s, 4.5 s
//     for automatic answering) and T5 (60 s) with three command repetitions
//     (5.4.3); TCF generation and judgement; FTT with speed fallback;
//     non-ECM pages answered MCF/RTP/RTN by a documented copy-quality policy
//     (CopyQuality) over t4's bad-row statistics; ECM partial pages of up to
//     256 frames, PPR with selective retransmission, CTC with speed fallback
//     after the fourth PPR (EOR at the lowest speed), RR/RNR; multi-page
//     documents with MPS, and EOM where the next page needs a new DCS.
//   - Driver (and Run, its one-line form), which executes a Session over a
//     Modem (the physical-layer interface a T.38 terminal or audio modems
//     implement) on an injectable clock. Driver.Handover replaces the modem
//     mid-call at a clean point (no signal being sent), for a SIP re-INVITE
//     from audio to T.38; DriverConfig.OnSignal tells call control what the
//     modem heard (CNG, CED/ANSam, V.21 flags, image training, any other
//     signal). A DCN pre-empts (Action.Preempt): a modem implementing
//     Preempter cuts short what it is sending, without reading frames.
//   - The T.30 signal timing every modem needs (timing.go): CNG cadence,
//     CED, the 75 ms gap, the V.21 preamble, TCF, training times.
//   - An answering terminal that hears the caller's CNG while waiting for a
//     command repeats DIS at once rather than after T4 (the caller was not
//     listening when the first DIS went out).
//
// # Usage
//
//	s, err := t30.NewSession(t30.Config{
//		Calling:  true,
//		Transmit: true,
//		Document: &t30.BitmapDocument{Pages: pages, Resolution: t30.ResFine},
//	})
//	...
//	result := t30.Run(ctx, s, modem, nil) // modem implements t30.Modem
//	fmt.Println(result, s.Stats().Pages)
//
// Without Run, feed events yourself: actions := s.Handle(now, ev) after
// actions := s.Start(now), carry out each Action, and call s.Tick(now) when
// s.Deadline() passes. Nothing in Session reads a clock, starts a goroutine
// or does I/O, so whole calls run back to back in memory in milliseconds
// (see sim_test.go) and the session can be fuzzed. Package t30test
// scripts such conversations step by step (script_test.go).
//
// The source follows the standard: session.go holds the state machine
// with T.30 Figure 5-2 drawn above it and its timers (each sub-state
// timer on its own, combined by min in Deadline); exchange.go the
// command/response exchanges (the responses each command accepts, its
// tries); transmit.go and receive.go the two roles; send.go the signals;
// driver.go the goroutine that runs a session over a Modem; timing.go the
// signal timing modems need.
//
// # Robustness
//
// Every state has a deadline, so every call ends and says how (Result, with
// a stable string). A lost post-page response is recovered by repeating the
// command, and the receiver repeats its answer rather than judging a page
// twice (ECM uses the PPS page and block counters to tell a repeat from a
// new block; a repeated EOR is answered ERR again without delivering the
// page twice), so a page the receiver accepted is never reported failed
// while any repetition gets through. T4 restarts when the answer's V.21
// flags begin (T.30 5.4.3.1), so a slow answer is waited for rather than
// talked over. CRP counts as a try (as in libspandsp), so a peer answering
// everything with CRP cannot hold the call; RR is answered for up to T5.
// A response that arrives damaged (bad FCS, or V.21 flags with no valid
// frame) is not silence: the command is repeated after T4 as usual, but
// against its own budget (Config.MaxDamagedTries, 9), not the three tries
// meant for a dead line. An ECM block whose fourth PPR asks for fewer
// frames than the first is converging and is corrected on at the same
// speed (CTC); one that is not falls back a speed, or ends with EOR.
// A receiver that has confirmed the last page ends successfully even if the
// final DCN is lost. A missing EventSendDone cannot hang a call (each send
// has a watchdog). Frames are delivered to the session whole;
// FrameAssembler helps modems guarantee that a frame abandoned mid-way is
// never joined to the next one.
//
// Answers that cross repeated commands are handled as far as T.30 allows:
// in ECM, frames retransmitted for a block already confirmed are dropped,
// a stale copy of its PPS or EOR gets no answer, and a PPS whose counters
// skip a block we never confirmed ends the call (protocol-error, as
// libspandsp does) instead of filing frames under the wrong page. The tests
// sweep a dropped, corrupted, duplicated or late (up to 7 s, in order)
// frame over every frame of a call and of the PPR, CTC, EOR, RTN, FTT, RNR
// and EOM exchanges (adversary_test.go), and run random loss with
// duplication (loss_test.go).
//
// # Interoperability
//
// Golden frames captured from two libspandsp 0.0.6 terminals are decoded
// and re-encoded byte for byte, and ChooseMode picks the mode spandsp's own
// transmitter picked from the same DIS. Whole calls run against
// libspandsp's T.30 engine itself (testdata/spandsp/t30peer.c, an ideal
// modem on virtual time): spandsp sends the ITU test charts to a Session and
// a Session sends to spandsp, non-ECM MH/MR and ECM MR/MMR, pixel for pixel;
// polling both ways; FTT, RTN, PPR with selective retransmission and CTC in
// both directions; and with 10% of the control frames lost both ways.
//
// Frame octets here are in line order, the first transmitted bit in bit 0
// (as spandsp's T.30 keeps them); T.38 IFP carries HDLC and non-ECM data
// with each octet bit-reversed, so a T.38 Modem reverses them.
//
// # PHI
//
// Idents, NSF data, passwords and sub-addresses identify people or
// terminals. Frame.String, Record and Stats.LogValue never print them;
// Records of frames that carry them have PHI set so the phi package can
// redact or seal them.
//
// # Limitations
//
//   - No T.30 Annex F (V.34 half duplex), no Annex H/T.36 security frames
//     (TK/RK/PSS/DES/DEC/DER/DTR/SPI/SPT), no internet address signals beyond
//     opaque FIFs (CIA/TSA/IRA/CSA/ISP), no BFT/colour/JBIG modes (their DIS
//     bits are decoded, never offered).
//   - No procedure interrupts: there is no operator to alert, so PRI-EOP,
//     PRI-MPS and PRI-EOM are handled as the plain command (the receiver
//     answers MCF/RTP/RTN, never PIP/PIN, as a terminal without an operator
//     may), and T3 is never used. A transmitter takes PIP as MCF; PIN after
//     a non-ECM page as RTN (retrain and resend); PIN in ECM ends the call
//     (page-rejected), as in libspandsp.
//   - The session never sends CRP or RNR itself (it answers both). A command
//     with a bad FCS is left to the transmitter's T4 repetition, which is
//     libspandsp's default too (its CRP is opt-in, T30_SUPPORT_COMMAND_REPEAT).
//   - Received non-ECM pages are kept in memory until the post-page command
//     (Config.MaxPageBytes caps them) and decoded then. A page that ends
//     without RTC is answered RTN because the rows lost with its end cannot
//     be counted, unless the post-page command came within PageEndGap of
//     its last data: then at most the page's last half second was lost with
//     the RTC (a lost packet, a burst of noise), and the page is kept and
//     answered RTP (PageQuality.EndLost). libspandsp does not look for RTC
//     and keeps such pages whatever the time. Rows lost whole inside a gap
//     in non-ECM data, or inside the frames missing from an ECM page
//     abandoned with EOR, are not counted: the data carries no row numbers,
//     so only the row the gap cut shows as bad (t4 counts rows lost whole
//     when the row count is known).
//   - Non-ECM commands and responses carry no sequence numbers. An answer
//     delayed on the network past T4 and the transmitter's repetition (a
//     T.38 path holding packets for seconds) can still be taken for the
//     answer to the next command, and a non-ECM page lost whole (no
//     carrier, no data: a long burst of loss) followed by MPS is taken for
//     a repeat of the previous MPS and answered again, as in libspandsp.
//     In a random hunt of 800 calls with drops,
//     duplicates and delays of up to 6 s on some frames, 5 or 6 ended with
//     the transmitter counting a page the receiver had not confirmed. With
//     drops, corruption and duplication alone, none of 800 did.
//   - A document keeps one resolution and width per DCS: a page in another
//     format is announced with EOM and renegotiated, never rescaled, so a
//     receiver that cannot take the page's width or resolution ends the
//     call as incompatible.
package t30
