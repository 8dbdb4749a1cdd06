// Package v21 is the V.21 channel 2 modem (ITU-T V.21: binary FSK, 1650 Hz
// for 1 and 1850 Hz for 0, 300 bit/s) with the HDLC framing of T.30
// clause 5.3 (modem/hdlc): the modem of every T.30 control frame on an
// audio fax call.
//
// Transmitter and Receiver work on blocks of 8 kHz 16-bit samples of any
// length (20 ms = 160 is usual), keep fixed-size state, allocate nothing
// per block and have Reset. The FSK layer (Modulator, Demodulator, with
// BitSource and BitSink) is exported for bit-level use.
//
//	tx := v21.NewTransmitter(v21.TxConfig{})  // −13 dBm0
//	tx.Preamble(time.Second)                  // T.30 5.3.1: 1 s ± 15 % of flags
//	tx.Frame(dis)                             // FCS appended
//	tx.End()                                  // closing flag, then carrier off
//	for !tx.Done() { n := tx.Process(block); send(block[:n]) }
//
//	rx := v21.NewReceiver()
//	for _, e := range rx.Process(block) {
//		switch e.Kind {
//		case v21.FrameOK:
//			handle(e.Frame) // valid until the next Process
//		case v21.CarrierDown:
//		}
//	}
//
// The receiver (design in demod.go) reports carrier up (within 20 ms at
// −43 dBm0) and down (within 30 ms, also in noise), the preamble (four
// consecutive flags), good and bad frames and aborts, with the sample
// index of each, and the received level (±0.5 dB). White noise alone,
// from −50 to −10 dBm0, raises no carrier.
//
// # Measured
//
// Interop with libspandsp 0.0.6 (harness modem/internal/fskref, built at
// test time): frames from spandsp's hdlc_tx+fsk_tx are received, and
// spandsp's fsk_rx+hdlc_rx receives ours, at −6, −13/−14 and −43 dBm0
// through µ-law and A-law (TestSpandspToFaxkit, TestFaxkitToSpandsp).
// spandsp's own V.21 preset ignores signals below about −30 dBm0; the
// harness lowers its cut-off to −45 dBm0 to compare over −6 to −43.
//
// Bit errors, measured as spandsp measures its modems: 50,000 random bits
// per step, white noise fixed at −30 dBm0 over 0-4 kHz, G.711, the signal
// level dropped 1 dB per error-free step from −6 dBm0; the table gives the
// lowest error-free level and its SNR, all four pairings in the same run
// (FAXKIT_BER_SWEEP=50000 go test ./modem/v21 -run TestBERSweep -v, 5 to
// 9 min):
//
//	channel                 faxkit→faxkit  spandsp→faxkit  faxkit→spandsp  spandsp→spandsp
//	µ-law                   −26 (4 dB)     −26 (4 dB)      −26 (4 dB)      −26 (4 dB)
//	A-law                   −26 (4 dB)     −26 (4 dB)      −26 (4 dB)      −26 (4 dB)
//	µ-law, +7 Hz            −25 (5 dB)     −26 (4 dB)      −25 (5 dB)      −25 (5 dB)
//	µ-law, −7 Hz            −26 (4 dB)     −26 (4 dB)      −25 (5 dB)      −26 (4 dB)
//	line, +100 ppm, µ-law   −24 (6 dB)     −24 (6 dB)      −24 (6 dB)      −24 (6 dB)
//	no noise (level floor)  −45            −45             −45             −45
//
// ("line" is the fixed 300-3400 Hz band-pass of ber_test.go ahead of the
// noise, with the transmitter's sample clock 100 ppm fast.) faxkit's
// receiver is on par with spandsp's on the same signals (within the 1 dB
// step either way); both reach the −45 dBm0 carrier threshold (spandsp's
// cut-off lowered to −45 dBm0, see above). Below the error-free point
// faxkit's receiver degrades gracefully: 5 errors in 200,000 bits at 3 dB
// and 126 in 60,000 at 0 dB, with no bit slips (its timing loop is tuned
// for that; a faster loop was error-free 1 dB lower in one sweep but
// slipped bits, losing whole frames, at 0 to 3 dB). V.21 has a wide
// margin: T.30's frames pass at SNRs far below those of the image modems.
//
// TestBER keeps regression points in CI (1,500 bits each, fixed seeds):
// SNR 6 dB for every pairing, with ±7 Hz, and with ±100 ppm on the line
// filter (spandsp's limit there); for faxkit's receiver alone, 5 dB at
// ±7 Hz (spandsp's limit) and 4 dB; −43 dBm0 clean.
//
// CPU per 20 ms block (go test ./modem/v21 -bench . -benchtime 50000x, CPU
// time, spandsp's fsk_rx/fsk_tx timed in the same run): receiver 2.5 µs
// (spandsp's fsk_rx 2.2 µs, which has no HDLC or noise-proof carrier
// detector), transmitter 0.6 µs (spandsp 0.8 µs); about 8000 and 34000
// times real time on one core; 0 allocations per block.
//
// Limitations: channel 1 (980/1180 Hz, the calling modem's channel in
// V.21 data calls) is not implemented, as T.30 does not use it. T.30's turnaround silences (75 ms
// ± 20 ms before a response) are the caller's to insert.
package v21
