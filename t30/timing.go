package t30

import "time"

// Signal timing every T.30 modem needs, in one place. A Session only
// decides what to send; a Modem (the T.38 terminal, an audio modem) puts
// each signal on the line with these times. The values are T.30's nominal
// ones (the tolerance in each comment), as libspandsp tables them.
const (
	// CNGOn and CNGOff are the calling tone's cadence: 1100 Hz for
	// 0.5 s ± 15 %, then 3 s ± 15 % of silence, repeated until the far end
	// is heard or T1 expires (T.30 Phase A, the calling tone CNG).
	CNGOn     = 500 * time.Millisecond
	CNGOff    = 3 * time.Second
	CNGPeriod = CNGOn + CNGOff

	// CEDDelay is the silence an answering terminal keeps before CED. T.30
	// asks for 1.8 s to 2.5 s after the line is connected on the PSTN; a
	// terminal behind a gateway (T.38) starts after 0.2 s, as libspandsp
	// does.
	CEDDelay = 200 * time.Millisecond
	// CEDDuration is the answer tone: 2100 Hz for 2.6 s to 4.0 s (T.30
	// Phase A, CED; ITU-T V.25 ANS 3.3 s ± 0.7 s). The ANSam variant (V.8)
	// has the same length.
	CEDDuration = 3 * time.Second

	// SignalGap is the silence between two signals of different
	// modulation or direction: 75 ms ± 20 ms (T.30 5.3, e.g. between DCS
	// and TCF, between a page and its post-page command, and after CED).
	SignalGap = 75 * time.Millisecond

	// V21Preamble is the run of HDLC flags before the first frame of every
	// V.21 burst: 1 s ± 15 % (T.30 5.3.1).
	V21Preamble = time.Second

	// TCFDuration is the training check's length: 1.5 s ± 10 % of zeros at
	// the commanded rate after the image modem's training (T.30 5.3.6.1,
	// TCF). Config.TCFDuration defaults to it.
	TCFDuration = 1500 * time.Millisecond

	// EarlyDISDelay is how long an answering terminal that hears the
	// caller's CNG after its DIS waits before repeating the DIS early
	// (Session: faster than T4 when the first DIS went to nobody). A CNG
	// that crossed the DIS on the way (the caller started sending it
	// before the DIS reached it, as a T.38 caller does as it starts) comes
	// with the caller's answer right behind it: its V.21 flags begin within
	// this time and cancel the repeat, which would otherwise land on the
	// caller's DCS (libspandsp ends such a call "unexpected message").
	EarlyDISDelay = time.Second

	// ECMFlags is the run of flags an image modem sends after its training
	// before the first ECM frame of phase C (T.4 Annex A; 200 ms as in
	// libspandsp).
	ECMFlags = 200 * time.Millisecond
)

// TrainingTime is the image modem's training sequence at s: V.27ter
// 708 ms (943 ms at 2400 bit/s), V.29 234 ms, V.17 1393 ms (long) or 142 ms
// (short, used after the first training of a call). It is 0 for SpeedNone.
func TrainingTime(s Speed, long bool) time.Duration {
	switch s.Modulation() {
	case V27ter:
		if s == V27ter2400 {
			return 943 * time.Millisecond
		}
		return 708 * time.Millisecond
	case V29:
		return 234 * time.Millisecond
	case V17:
		if long {
			return 1393 * time.Millisecond
		}
		return 142 * time.Millisecond
	}
	return 0
}

// FramesTime is how long a V.21 (s == SpeedNone) or image-modem burst of
// n octets of frames (FCS included) lasts on the line, preamble excluded.
func FramesTime(s Speed, n int) time.Duration {
	rate := 300
	if s != SpeedNone {
		rate = s.BitRate()
	}
	return time.Duration(n*8) * time.Second / time.Duration(max(rate, 1))
}
