// Package fax is the audio fax terminal's modem: a t30.Modem that carries
// a T.30 session over 8 kHz linear audio (a G.711 voice path), with the
// pure-Go modems of package modem: V.21 channel 2 HDLC for control frames,
// V.17 (14 400 to 7200), V.29 (9600, 7200) and V.27ter (4800, 2400) for
// TCF, non-ECM page data and ECM frames, and the CNG and CED tones.
//
// # Layers
//
//   - Core is the pure state machine. The t30.Modem operations queue
//     signals; Process(rx, tx) takes one block of received samples and
//     fills one block to send; Poll returns the events (t30.Event) in the
//     order they happened. No goroutine, lock or clock: time is the sample
//     count.
//   - Terminal runs a t30.Session over a Core in lockstep with the samples
//     (the session's clock is the line's), for tests, simulations and media
//     loops that already run on the sample clock. Calls between two
//     Terminals, or with libspandsp's fax_state_t (modem/internal/faxref),
//     are deterministic and take no real time.
//   - Modem is the real-time t30.Modem for a t30.Driver: a Core behind a
//     lock, its events forwarded in order on a channel by one goroutine,
//     the sample clock run by Run over a Line (ReadBlock paces the call) or
//     by the media owner calling Process every block (20 ms by default;
//     a Line with a BlockLen method sets it: an RTPLine's packet time).
//
// # Signals (what the Core puts on the line)
//
//   - CNG: 1100 Hz for 0.5 s (the session repeats it every 3.5 s); CED:
//     CEDDelay (0.2 s) of silence, then 2100 Hz for 3 s, or with
//     Config.ANSam the V.8 /ANSam (2100 Hz with 15 Hz AM, its phase
//     reversed every 450 ms) for as long; no V.8 CM/JM exchange follows.
//   - Every other signal starts after 75 ms of silence (t30.SignalGap: the
//     gap between signals of different direction or modulation).
//   - V.21 bursts: 1 s of flags (t30.V21Preamble), the frames with their
//     FCS, a closing flag, carrier off.
//   - TCF: the image modem's training, then 1.5 s (the session's duration)
//     of zeros. V.17 sends TCF with its long training and the pages and
//     ECM blocks after a TCF at the same speed with its short one (as
//     spandsp's T.30 expects); its receiver expects the short training
//     after a successful one and still takes a long one. Pages: training, then the page's bits in line order (the
//     first bit on the line is the least significant of the first octet).
//     ECM: training, 200 ms of flags (t30.ECMFlags), the frames.
//   - Each Send* is answered by one EventSendDone once its last sample is
//     out. Preempt cuts the current signal short.
//
// # What it hears
//
// Half duplex, as a fax machine: while it sends it does not listen, and
// its receivers restart when it stops. It always runs the V.21 receiver
// and the tone detector, and the image receiver at the speed the session
// asked for (Receive). It reports:
//
//   - EventCNG, EventCED when the tone is recognised (400 ms into it);
//   - EventCarrierUp (SpeedNone) at a V.21 preamble (four flags),
//     EventFrame / EventFrameBad per frame, EventCarrierDown when that
//     carrier drops;
//   - EventCarrierUp with the speed when the image modem's training
//     succeeds; then either HDLC frames (ECM, recognised by the flags that
//     open phase C) or EventData (TCF and non-ECM pages, recognised by a
//     run of eight zeros, which both begin with). Bits before that
//     (V.27ter hands over the end of its training) are dropped, so data
//     arrives aligned as sent; TCF is judged by the session as T.30 asks
//     (an unbroken run of zeros). The closing ones of the transmitter end
//     the data (40 ones in a row once the data can have ended: in TCF,
//     all zeros, at once; in a page only after its RTC, since T.4 MR
//     codes a row like the one above it with a one per change and so
//     has long runs of ones; in ECM, 15), so the dying carrier's noise
//     is never delivered;
//   - EventCarrierDown when the image carrier drops, or at once when the
//     closing ones above end the data: the burst is over, whatever the
//     carrier detector says. (Under −45 dBm0 of noise the detector could
//     stay up for seconds after the far end's carrier ended; the V.21
//     receiver, ignored meanwhile, missed spandsp's PPS after each ECM
//     block and the call failed 1 time in 3.)
//
// V.21 events are ignored while the image receiver is trained (its signal
// can look like V.21 in part). The image receivers' carrier threshold is
// −43 dBm0 (off at −46): a line noise floor must stay below that for the
// receiver to see a carrier start.
//
// A block lost in the middle of non-ECM page data (Process with rx nil)
// is marked in the page data as rows no decoder accepts, as many as the
// lost bits probably held, and the data says its row count is uncertain
// (t30.Event.Uncertain; see Core.lost); the receiver's first bits after
// the gap, decided wrongly, are dropped with it, also in TCF. Stats counts
// the gaps and marked rows. A block lost during an image modem's training
// fails the training (the receiver's sequence loses its count): a TCF is
// answered FTT and trained again; a page burst is still reported
// (EventCarrierUp at its speed once it has lasted 1.5 s without V.21
// flags, again every 3 s), so the session waits it out rather than time
// out on T2 in its middle, and answers PPR for the whole ECM block or RTN
// for the page, which the sender sends again (TestLostTraining).
//
// Every T.30 image speed exists (the session's fallback order V.17 →
// V.29 → V.27ter applies on FTT); a Send* at SpeedNone fails with
// ErrSpeed. After it sends CTC (ECM), the next V.17 burst has the long
// training again, as T.30 asks.
//
// # RTP
//
// RTPLine is a Line over G.711 RTP: PCMU or PCMA packets of 10, 20, 30
// or 40 ms (RTPConfig.PTime; 20 by default), sequence
// numbers and timestamps continuous for the whole call (from random starts,
// or continuing a stream already running: RTPConfig.Start), paced on a
// fixed schedule of an injectable clock (a late wake-up is caught up, never
// skipped, so the samples sent keep pace with the clock),
// a fixed JitterBuffer (60 ms by default, a time whatever the packet
// time; no adaptation, no concealment; packets stored in 10 ms units by
// timestamp, so a far end with another packet time plays too) counting
// missing, late, duplicate and overflowing packets. A missing block is
// not played as silence: ReadBlock reports it lost and the Core skips it
// (Process with rx nil), since 10 ms is a whole number of symbols and
// carrier cycles of every fax modem (V.29: 24 symbols of 1700 Hz, 17
// cycles; V.27ter 4800: 16 symbols of 1800 Hz, 18 cycles; V.21: 3 bits),
// so a trained receiver keeps its timing and phase and loses only that
// block's bits.
//
// # Measured
//
// Calls with libspandsp 0.0.6's fax_state_t (modem/internal/faxref, in
// lockstep over pipes): TestSpandspSendsToUs and TestWeSendToSpandsp, ECM
// and non-ECM, V.29 9600 and V.27ter 4800, µ-law and A-law, both
// directions, complete with every page pixel-exact and no bad rows;
// TestSpandspImpaired has spandsp's signal 10 dB down (about −24 dBm0),
// −50 dBm0 white noise, G.711, 0.5 % RTP loss and 20 ms of jitter on the
// way to us: ECM pages arrive pixel-exact (the losses cost 6 to 14 ECM
// retransmissions). faxkit to faxkit: ±50 ppm sample-clock skew
// (TestClockSkew) passes without PPR or FTT; 0.5 % loss and 20 ms jitter
// (TestCallOverRTP) passes, ECM pixel-exact, non-ECM with only rows
// reported bad wrong; −40 dBm0 and −45 dBm0 noise pass. V.17 14 400
// with spandsp both ways, ECM and not (TestV17Spandsp), and faxkit to
// faxkit (TestV17BackToBack); on a 16 dB SNR line the TCF at 14 400 and
// 12 000 fails and FTT steps down to 9600 (TestV17Fallback). Stats
// reports the image receiver's level, signal-to-error (dB) and carrier
// offset.
//
// CPU (go test ./modem/fax -run X -bench . -benchtime 3x, same run):
// a whole faxkit-to-faxkit call in lockstep, one fine page of 1100 rows
// at V.29 9600 through µ-law, both terminals together: 29 ms of CPU for
// 29 s of line time (ECM), about 1000 such calls in real time per core.
// Receiving ITU chart 1 from spandsp (ECM, V.29 9600, 40 s of line): our
// terminal 21 ms of thread CPU, spandsp's process 36 ms (its pipe I/O
// included). In real time over RTP on 127.0.0.1 (BenchmarkRTPCallRealTime:
// two Drivers, Modems and RTPLines) a call costs the process 0.38 s of CPU
// for 18 s of line, about 2 % of a core per call (both ends): the sockets,
// tickers and goroutine wake-ups, not the modems, dominate.
//
// Over real G.711 RTP on 127.0.0.1 with libspandsp's fax_state_t as the
// far end (root package TestAudioSpandsp, harness internal/audiopeer:
// spandsp speaking RTP on its own clock, an impairing relay between):
// both directions, ECM and not, PCMU and PCMA, V.17 14400, V.29 9600 and
// V.27ter 4800, one and two pages, pixel-exact; 0.5 % loss + 20 ms
// jitter + 10 dB down + −45 dBm0 noise toward us (ECM); ±50 ppm; one
// packet lost 3 s into a V.17 ECM page without the receiver losing its
// carrier. BenchmarkAudioCallCPU (root) has the CPU per call in real time
// beside spandsp's in the same run.
//
// Non-ECM pages through lost packets (TestNonECMGapsMarked: one packet
// lost mid-page and 0.5 % loss, V.17, V.29 and V.27ter, MH and MR): every
// row the decoder did not report bad is the sent row at its place; the
// row count, estimated, came out within 6 rows of 1100. Without the
// marking the same test fails in 11 of its 12 cases.
//
// # Not yet
//
// V.8 (CM/JM, V.34 half-duplex). A block lost during an image modem's
// training costs the training (TCF: FTT and a retrain; a page: a PPR of
// the whole block or RTN and a resend); the receivers (modem/v17, v29,
// v27ter) would have to skip it in their training sequence. The row count of a non-ECM page with a gap is never
// certain (audio says how many bits were lost, not how many rows).
// faxkit.AudioMedia (root package) runs a call's session over a Modem and
// an RTPLine.
package fax
