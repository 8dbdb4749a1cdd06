// Package modem is the parent of faxkit's pure-Go fax modems, which carry
// T.30 over a G.711 audio path (8 kHz linear samples) when T.38 is not
// available. It holds no code; the modems are its sub-packages:
//
//   - g711: µ-law and A-law companding (ITU-T G.711).
//   - tone: the fax connect tones of T.30 and V.8 (CNG, CED/ANS, ANSam),
//     generators and detectors, and the V.21 flag-preamble detector used
//     to switch to T.38 early.
//   - hdlc: T.30's HDLC framing (flags, bit stuffing, FCS-16, aborts) as a
//     bit source and sink, shared by V.21 and the image modems' ECM.
//   - v21: V.21 channel 2 FSK at 300 bit/s with HDLC framing (T.30 control
//     frames).
//   - v27ter, v29 (and v17): the image-phase QAM modems, on shared code in
//     modem/internal (see their package docs for their state and figures).
//
// Every transmitter and receiver is a streaming block processor: it takes
// or fills blocks of 8 kHz 16-bit linear samples of any length (20 ms =
// 160 samples is the usual RTP packet), keeps fixed-size state, allocates
// nothing per block and has Reset for reuse. Levels are in dBm0 with
// spandsp's convention (see internal/dsp): 0 dBm0 is a sine of RMS
// 16140.7 in 16-bit samples, 3.14 dB below a full-scale sine.
//
// The shared signal processing (noise, levels, oscillators, filters,
// Goertzel) lives in internal/dsp. The modems are checked against
// libspandsp (a C harness compiled at test time in modem/internal/fskref),
// which is linked only into tests.
package modem
