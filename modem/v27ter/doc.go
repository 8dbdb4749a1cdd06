// Package v27ter is an ITU-T V.27ter modem (4800 and 2400 bit/s) for fax
// over G.711 audio: a transmitter and a receiver working on 8 kHz 16-bit
// linear samples in blocks of any size, no allocation per block, Reset for
// reuse. It shares its front end, equaliser and loops with modem/v29
// (modem/internal/qam).
//
// # What it implements
//
//   - V.27ter §2: an 1800 Hz carrier; 4800 bit/s at 1600 baud, tribits
//     coded as phase changes of 8-PSK (Table 1); 2400 bit/s at 1200 baud,
//     dibits coded as phase changes of 4-PSK (Table 2); root raised cosine
//     pulses with 50% roll-off.
//   - V.27ter §4: the scrambler 1 + x^-6 + x^-7 with its guard against
//     repetitive patterns: a line bit equal to the bits 8, 9 or 12 before
//     it for 33 bits in a row makes the next line bit inverted.
//   - V.27ter §8 (long training, the one fax uses): optional 320 symbols
//     of unmodulated carrier, 32 symbols of silence, 50 symbols of 180°
//     reversals, 1074 symbols of 0°/180° chosen by every third scrambled
//     one, 8 symbols of scrambled ones, then data; 32 symbols of ones
//     after the data.
//
// # How the receiver works
//
// As modem/v29's: on carrier, the 180° reversals of segment 3 are tones
// at ±baud/2 about the carrier, found by correlating 8 symbols of T/2
// samples; their relative phase gives the symbol centres. Segment 3 is
// only 50 symbols, so the gain and phase are fitted on 8 matched-filter
// samples directly, then a 33-tap T/2-spaced equaliser trains decision
// directed on the 0°/180° axis of segments 3 and 4 for 600 symbols
// (segment 4 is 1074), with the carrier and timing loops running. If the
// signal-to-error ratio over the last 128 of them is under 6 dB the
// training fails. Then the receiver decodes 8-PSK or 4-PSK decision
// directed; the bits of the rest of segment 4 are delivered too (they are
// noise to the layer above, which looks for flags or EOLs).
//
// SignalQuality, CarrierOffset, Power and Status are as in modem/v29.
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
// go test ./modem/v27ter -run NoiseSweep -v -sweep). Noise the guard band
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
// spandsp's regression bar (15 dB SNR at 4800, 9 dB at 2400, -42 dBm0,
// µ-law, 50,000 bits) is TestRegressionPoints; TestImpairedPoints adds
// ±7 Hz, ±100 ppm, the line filter, -6 and -43 dBm0 and A-law;
// TestCrossSpandspRx has libspandsp's receiver decode this transmitter.
// The full sweep is
//
//	go test ./modem/v27ter -run Sweep -sweep -v -timeout 30m
//
// and its last result is in ../v29/testdata/README.md.
//
// # Limitations
//
//   - The short training sequence (V.27ter §8.3.2, for retrains inside a
//     message) is neither sent nor recognised; T.30 fax uses the long one.
//   - The receiver needs segment 3's reversals to lock: without them
//     (e.g. a signal that starts mid-transmission) it does not train.
package v27ter
