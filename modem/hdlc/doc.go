// Package hdlc is the HDLC framing that T.30 uses on its modems (ITU-T
// T.30 clause 5.3 and Annex A, after ISO/IEC 13239): frames between flags
// (0x7E), zero-bit insertion after five consecutive ones, a 16-bit frame
// check sequence (the ITU-T V.41 CRC, x¹⁶+x¹²+x⁵+1, preset to ones,
// complemented, sent low-order bit first) and the abort sequence (seven
// or more ones). Octets go on the line least significant bit first.
//
// Encoder is a bit source and Decoder a bit sink: a modem (V.21 channel 2
// for T.30 control frames, the image modems for ECM frames) pulls bits
// from one and pushes bits into the other, one at a time, with no
// allocation after construction.
//
//	var e hdlc.Encoder
//	e.Flags(30)               // preamble
//	e.Frame(dis)              // FCS added
//	e.End()                   // a closing flag, then NextBit reports the end
//	for b := e.NextBit(); b >= 0; b = e.NextBit() { ... }
//
//	d := hdlc.NewDecoder(hdlc.DecoderConfig{})
//	switch d.PutBit(b) {
//	case hdlc.FrameOK:
//		use(d.Frame()) // without its FCS; valid until the next PutBit
//	}
//
// Limitations: FCS-32 (not used by T.30) is not implemented.
package hdlc
