// Package v17 is an ITU-T V.17 modem (14 400, 12 000, 9600 and 7200
// bit/s, trellis coded) for fax over G.711 audio: a transmitter and a
// receiver working on 8 kHz 16-bit linear samples in blocks of any size
// (160 samples = 20 ms is usual), with no allocation per block and Reset
// for reuse.
//
// # What it implements
//
//   - V.17 §3-4: 2400 baud on an 1800 Hz carrier; 6, 5, 4 or 3 data bits
//     per symbol. The first two bits of each group, Q1 Q2, are
//     differentially encoded (Table 1: Y2Y1 advances by Q2Q1 modulo 4),
//     the 8-state systematic convolutional encoder (Figure 3) adds the
//     redundant bit Y0, and Q..Q3 Y2 Y1 Y0 choose one of 128, 64, 32 or
//     16 points of the signal-space diagrams (Figures 2, 4 and 5).
//   - V.17 §5: the self-synchronising scrambler 1 + x^-18 + x^-23.
//   - V.17 §7: the long training: optional talker echo protection (480
//     symbols of unmodulated carrier and 48 of silence), segment 1 (256
//     symbols of ABAB), segment 2 (2976 symbols of scrambled ones mapped
//     onto A, B, C, D), segment 3 (the 64-symbol bridge), segment 4 (48
//     symbols of trellis-coded scrambled ones), then data; and the short
//     (resynchronising) training that T.30 uses for the pages after a
//     long-trained TCF: segment 1, 38 symbols of segment 2, segment 4.
//     After the data the transmitter sends 32 symbols of scrambled ones
//     and 48 of silence. The scrambler starts segment 2 in state
//     0x2ECDD5, the differential encoder in Y2Y1 = 01 (long) or 00
//     (short) and the convolutional encoder in state 0, as libspandsp's
//     transmitter does (its receiver predicts segment 2 from that state).
//   - Transmit pulse: root raised cosine, roll-off 0.25, ±6 symbols.
//
// # How the receiver works
//
// The front end is V.29's (modem/internal/qam.Demod: mixing down by the
// nominal carrier, an RRC matched filter evaluated at any fractional
// instant, T/2-spaced outputs). On carrier (see below; CarrierOn is -45.5
// dBm0 by default) the receiver correlates 16 symbols of
// T/2 samples with ±1200 Hz: B is A turned a quarter, so segment 1's
// alternation is a constant plus a symbol-rate alternation, whose two
// tones at T/2 give the symbol centres; an unmodulated carrier (TEP) is
// rejected because it has no alternating part. The receiver moves its
// sampling to the centres, fits the complex gain on 8 alternations (both
// orders of A and B), and tracks the carrier decision-directed on the
// four training points until the last 8 symbols match the start of
// segment 2 (known from the scrambler's initial state) four times better
// than they match the alternations. A 33-tap T/2-spaced equaliser is
// trained by normalised LMS on the rest of segment 2 (step 0.1, then
// 0.03 after 400 symbols, 0.01 after 1500) and on the bridge, with the
// carrier loop and, after 400 symbols, the symbol-timing loop running on
// the known symbols; the training fails if the last 256 symbols of
// segment 2 leave less than 15, 12, 10 or 8 dB signal-to-error (14 400 to
// 7200 bit/s).
//
// From segment 4 on, each symbol goes to a Viterbi decoder of the trellis
// code: each of the 8 subsets Y2Y1Y0 is sliced to its nearest point, the
// squared distances are the branch metrics of the 8-state trellis, and
// the best survivor is traced back 20 symbols (six times the code's
// memory, which reaches the code's error bound) for the decision, which
// is then differentially decoded and descrambled. The per-symbol nearest
// point drives the equaliser (step 0.01), the second-order carrier loop
// and a Mueller-Müller timing detector with a slow pull that keeps the
// equaliser's energy on its centre tap. Segment 4 must decode mostly as
// ones (at most 30% zeros after the descrambler's 23 bits, where another
// rate's signal gives about half; a poor line at the right rate trains,
// so that T.30's TCF check decides and steps down): the training is
// the same at every rate, so this is what makes a receiver set to the
// wrong rate report TrainingFailed and deliver nothing. Segment 4's ones
// are not delivered.
//
// A successful training leaves the equaliser, level and carrier frequency
// for the short training, which the receiver then expects (as T.30 pages
// follow TCF; Restart(true) asks for it explicitly, Restart(false) or
// Reset for a long one): it restores them, fits the new gain and phase on
// segment 1 through the restored equaliser, and refines it on the 38
// symbols of segment 2. Expecting the short training, it still takes a
// long one: when segment 2 goes on past 38 symbols (16 more matching its
// known continuation), it trains on the rest as usual.
//
// SignalQuality reports the signal-to-error ratio at the decision point
// (about the line SNR over 0-4 kHz plus 2.2 dB when the receiver is
// working well), CarrierOffset the tracked frequency error, Power the
// received level in dBm0; Status reports carrier up, training succeeded
// or failed (also when the carrier goes in the middle of a training), and
// carrier down.
//
// # Carrier detection on a noisy line
//
// The carrier is judged on the signal in the modem's band with the line's
// noise taken out (modem/internal/qam.CarrierDetect): the noise is
// estimated from a 3500-4000 Hz guard band above the modem's spectrum,
// the in-band power is read after the matched filter, and the carrier
// rises when the level (the line's power less the noise) passes
// CarrierOn and the in-band signal is 6 dB over the in-band noise; it
// drops under CarrierOn-3 dB, 6 dB under the noise, or 12 dB under the
// burst's peak. So white noise does not hold a carrier up nor raise one:
// with the signal at -24 dBm0 (spandsp's -14 dBm0, 10 dB down) and white
// noise from -50 to -35 dBm0 the carrier rises once per transmission and
// drops 8-16 ms after its end, and 3 s of noise alone at each level
// raises none (TestNoisyLine, TestNoiseOnly; the table is
// go test ./modem/v17 -run NoiseSweep -v -sweep). Noise the guard band
// does not see (a line cutting the top of the band) is not taken out: the
// plain threshold and the 12 dB drop then decide, as before.
//
// TimingOffset reports the far end's symbol clock against ours in ppm
// (positive: it runs fast) from the timing loop's adjustments over the
// data (modem/internal/qam.Drift); at ±100 ppm it reads within 12 ppm
// after 2.5 s of data (TestTimingOffset), closing in over a page.
//
// # Measured against spandsp
//
// The tests run spandsp's receiver test (50,000 random bits per step
// through white noise and µ-law, the level dropped 1 dB per error-free
// step) on four pairings: faxkit→faxkit, spandsp→faxkit, faxkit→spandsp
// and spandsp→spandsp, with libspandsp built at test time
// (modem/internal/qamref). spandsp's regression bar is 24, 19, 17 and 14
// dB SNR at -42 dBm0 for 14 400, 12 000, 9600 and 7200 bit/s;
// TestRegressionPoints requires faxkit's receiver to be error-free at 22
// dB at 14 400 bit/s and at spandsp's bar at the other rates, from both
// transmitters; TestCrossSpandspRx requires spandsp's receiver to take
// faxkit's transmitter without error 2 dB above its bar. The full sweep,
// with ±7 Hz, ±100 ppm and a band-limiting line filter, is
//
//	go test ./modem/v17 -run Sweep -sweep -v -timeout 30m
//
// and its last result is in testdata/README.md (faxkit's receiver is 2-4
// dB better than spandsp's at every rate and in every channel).
//
// # Limitations
//
//   - No V.32bis 4800 bit/s mode (not a V.17 rate).
//   - The receiver decodes whatever follows training until the carrier
//     drops; the bits of the dying carrier at the end are noise, as with
//     any V.17 receiver. T.4/HDLC framing above copes with that.
//   - Segment 2 is recognised from the scrambler state libspandsp's
//     transmitter uses (0x2ECDD5); a transmitter starting segment 2 from
//     another state is not recognised.
//   - The training-quality thresholds are fixed, not configurable.
//   - Filter coefficients are computed by the constructors (documented in
//     modem/internal/qam) rather than generated into tables.
package v17
