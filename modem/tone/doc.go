// Package tone generates and detects the connect tones of fax calls:
// CNG (T.30 clause 4.2, 1100 Hz, 0.5 s on / 3 s off), CED (T.30, the ANS
// of V.25: 2100 Hz for 2.6-4 s), ANS with phase reversals every 450 ms
// (/ANS, V.25), ANSam and /ANSam (V.8 clause 7.1: 2100 Hz with 15 Hz
// amplitude modulation at 20 %), and the V.21 preamble of HDLC flags that
// starts every T.30 frame (for a gateway's early switch to T.38).
//
// Generator and Detector are streaming block processors on 8 kHz 16-bit
// samples with Reset and no allocation per block:
//
//	g := tone.NewGenerator(tone.CNG, tone.GenConfig{}) // −11 dBm0, repeats until stopped
//	n := g.Process(block)                              // fill 20 ms
//
//	d := tone.NewDetector(tone.DetConfig{Preamble: true})
//	for _, e := range d.Process(block) {
//		if e.On && e.Tone == tone.CED { ... }
//	}
//
// Detection (see detect.go for the design): a tone is recognised after
// 400 ms within CNG's ±38 Hz and ANS's ±15 Hz tolerances from −6 down to
// −45 dBm0 (MinLevel); ANS is reported when recognised and upgraded to
// ANS/PR (or ANSam to ANSam/PR) at the first phase reversal; an 1100 Hz
// tone lasting over 700 ms is withdrawn as not CNG. The V.21 preamble is
// reported after four consecutive flags, about 200 ms into the carrier.
//
// Checked against libspandsp: its generators (modem_connect_tones_tx for
// CNG, ANS, ANS/PR, ANSam, ANSam/PR; tone_gen for CNG at −6 and −43 dBm0)
// are recognised through µ-law and A-law, and its detector
// (modem_connect_tones_rx) recognises each of our tones as the same kind.
// In white noise (tone at −20 dBm0, µ-law, TestDetectInNoise) faxkit's
// detector finds CNG down to +3 dB SNR over 0-4 kHz and CED down to +2 dB;
// spandsp's modem_connect_tones_rx, on the same signals in the same run,
// needs +16 and +15 dB.
// spandsp's V.21 flag preamble (hdlc_tx through fsk_tx) is reported as the
// V.21 preamble within 200 ms at −6 to −43 dBm0 through both laws.
// Sixty seconds of synthetic voiced speech, white noise, an 1100+1336 Hz
// dual tone and a V.21 flag stream raise no tone.
//
// CPU per 20 ms block (go test ./modem/tone -bench . -benchtime 20000x,
// CPU time, spandsp timed in the same run): the detector (CNG and the
// ANS family together) 1.2 µs, against 1.2 µs for spandsp's CNG detector
// plus 1.4 µs for its ANS detector; 3.1 µs with the V.21 preamble
// detector; the ANSam/PR generator 0.75 µs (spandsp 1.5 µs); 0
// allocations per block.
//
// Limitations: the CNG cadence (the 3 s gaps) is not required for
// recognition, only the burst; V.8's CI, CM and JM sequences and the
// Bell 2225 Hz answer tone are not implemented; detection is on a clean
// channel model (no echo of our own tones is cancelled).
package tone
