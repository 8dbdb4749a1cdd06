// Package v29 is an ITU-T V.29 modem (9600, 7200 and 4800 bit/s) for fax
// over G.711 audio: a transmitter and a receiver working on 8 kHz 16-bit
// linear samples in blocks of any size (160 samples = 20 ms is usual),
// with no allocation per block and Reset for reuse.
//
// # What it implements
//
//   - V.29 §2-3: 2400 baud on a 1700 Hz carrier; quadbits (9600), tribits
//     (7200) or dibits (4800), the first bit of a quadbit choosing the
//     amplitude (Table 2), the others the phase change (Table 1,
//     differential coding); 4800 bit/s uses Table 1 with Q4 = not(Q2⊕Q3).
//   - V.29 §4: the self-synchronising scrambler 1 + x^-18 + x^-23.
//   - V.29 §6 (Table 3): the synchronising signal: optional 480 symbols of
//     unmodulated carrier (talker echo protection), segment 1 (48 symbols
//     of silence), segment 2 (128 symbols of ABAB alternations), segment 3
//     (384 symbols of C and D chosen by 1 + x^-6 + x^-7 from 0101010),
//     segment 4 (48 symbols of scrambled ones), then data; after the data
//     the transmitter sends 32 symbols of scrambled ones.
//   - Transmit pulse: root raised cosine, roll-off 0.25, ±6 symbols.
//
// # How the receiver works
//
// A front end (modem/internal/qam.Demod) mixes the line signal down by the
// nominal carrier and evaluates the matched RRC filter at any fractional
// instant (1/128 sample), giving T/2-spaced complex samples whose timing
// the receiver can move. On carrier (see below: CarrierOn is -45.5 dBm0 by
// default), the receiver correlates 16 symbols of T/2
// samples with ±1200 Hz: segment 2's alternations are exactly those two
// tones, and the phase difference of the two correlations gives the symbol
// centres. It moves its sampling to them, fits the complex gain (level and
// carrier phase, and which of A and B is which) on 8 alternations, then
// tracks them with a second-order carrier loop until the first two symbols
// of segment 3 match the known C/D sequence. A 33-tap T/2-spaced
// equaliser is trained by normalised LMS on the remaining 382 symbols of
// segment 3; if the mean squared error over its last 128 symbols leaves
// less than 10 dB (9600), 8 dB (7200) or 5 dB (4800) signal-to-error, the
// training fails and the receiver waits for the carrier to drop. Segment
// 4 must then decode as ones (at most 10% zeros after the descrambler's
// 23 bits): a signal at another V.29 rate can train the equaliser, but
// not pass this, so a receiver set to the wrong rate reports training
// failed and delivers nothing. Segment 4's ones are not delivered. From
// then on it is decision directed: the equaliser keeps adapting, the
// carrier loop (which reports the frequency offset) keeps the phase, and a
// Mueller-Müller detector on the equaliser output, with a slow pull that
// keeps the equaliser's energy on its centre tap, keeps the symbol timing.
//
// SignalQuality reports the signal-to-error ratio at the decision point
// (about the line SNR over 0-4 kHz plus 2.2 dB when the receiver is
// working well), CarrierOffset the tracked frequency error, Power the
// received level in dBm0; Status reports carrier up, training succeeded
// or failed, and carrier down.
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
// go test ./modem/v29 -run NoiseSweep -v -sweep). Noise the guard band
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
// modem/v29's tests run spandsp's receiver test (50,000 random bits per
// step through white noise and µ-law, the level dropped 1 dB per
// error-free step) on four pairings: faxkit→faxkit, spandsp→faxkit,
// faxkit→spandsp and spandsp→spandsp, with libspandsp built at test time
// (modem/internal/qamref). spandsp's regression bar is 20, 17 and 12 dB
// SNR at -42 dBm0 for 9600, 7200 and 4800; faxkit's receiver must meet it
// (TestRegressionPoints), and its transmitter must be received by spandsp
// without error 2 dB above it (TestCrossSpandspRx). The full sweep, with
// ±7 Hz, ±100 ppm and a band-limiting line filter, is
//
//	go test ./modem/v29 -run Sweep -sweep -v -timeout 30m
//
// and its last result is in testdata/README.md.
//
// # Limitations
//
//   - No retrain or rate renegotiation inside a call (V.29 fax does not use
//     them: T.30 retrains with a new training sequence).
//   - The receiver decodes whatever follows training until the carrier
//     drops; the bits of the dying carrier at the end are noise, as with
//     any V.29 receiver. T.4/HDLC framing above copes with that.
//   - The training-quality thresholds are fixed, not configurable.
//   - Filter coefficients are computed by the constructors (documented in
//     modem/internal/qam) rather than generated into tables.
package v29
