// Package g711 implements the µ-law and A-law companding of ITU-T G.711
// (11/1988), the sample coding of PCMU and PCMA telephone channels.
//
// Decoding is one table lookup; encoding is a lookup of the magnitude in a
// segment table and a sign. Both tables are produced by gen.go from the
// quantiser that G.711 Tables 1a (A-law) and 2a (µ-law) define (decision
// and reconstruction values per segment), and are checked against rows of
// those tables and, over all 65536 inputs and 256 codes, against
// libspandsp's linear_to_ulaw/ulaw_to_linear/linear_to_alaw/alaw_to_linear.
//
// Levels: G.711's 0 dBm0 is a sine 3.14 dB below the encoder's full-scale
// sine (µ-law's overload is at +3.17 dBm0, A-law's at +3.14 dBm0; faxkit,
// like spandsp, uses 3.14 dB for both). See internal/dsp for the conversion
// to 16-bit linear samples.
//
//	var pcmu [160]byte
//	g711.Encode(g711.ULaw, pcmu[:], samples)   // 20 ms of 8 kHz audio
//	g711.Decode(g711.ULaw, samples, pcmu[:])
//
// Limitations: no G.711 Appendix I packet-loss concealment and no
// Appendix II comfort noise; µ-law's optional zero-code suppression (the
// "zero trap" of MIL-STD) is not applied, as for fax it must not be.
package g711
