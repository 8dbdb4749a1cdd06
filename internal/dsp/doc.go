// Package dsp is the signal processing shared by faxkit's modems
// (modem/...): levels in dBm0, a seeded white Gaussian noise generator, a
// power meter, a numerically controlled oscillator on a sine table, FIR
// filters with their design (windowed-sinc, root raised cosine), biquads
// (the RBJ cookbook designs) and the Goertzel single-bin DFT.
//
// Every processor has fixed-size state set up by its constructor, works
// sample by sample or on caller-owned blocks without allocating, and has
// Reset to return to its initial state.
//
// # Levels
//
// faxkit follows spandsp's (and G.711's) convention for dBm0 in 16-bit
// linear samples: a full-scale sine (peak 32767) is +3.14 dBm0, the
// overload level of an A-law encoder (µ-law's is 3.17 dBm0; the 0.03 dB
// is ignored, as spandsp does, for both laws). So 0 dBm0 is a sine of peak
// 32767·10^(−3.14/20) = 22826 and RMS 16140.7, and a signal of RMS r is
// at 20·log10(r/16140.7) dBm0 whatever its shape. (spandsp's awgn_init_dbm0
// takes a full-scale square wave as +6.16 dBm0, 32768·10^(−6.16/20) = 16123
// RMS for 0 dBm0: 0.01 dB cooler, below every tolerance here.) The
// modem/tone tests check it: spandsp's tone_gen and awgn_init_dbm0 at −10
// and −30 dBm0 measure those levels here within 0.05 and 0.1 dB.
//
// SNR "over 0-4 kHz", as in spandsp's modem tests, is the ratio of the
// signal's mean power to the mean power of the white noise added to it,
// the noise filling the whole 0-4000 Hz band of an 8 kHz channel: a signal
// at S dBm0 with noise at N dBm0 is at S−N dB SNR. It is not the SNR in
// the modem's own band, which is higher by 10·log10(4000/bandwidth).
package dsp
