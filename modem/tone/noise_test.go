package tone

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/faxkit/faxkit/internal/dsp"
	"github.com/faxkit/faxkit/modem/g711"
	"github.com/faxkit/faxkit/modem/internal/fskref"
)

// noisyTone is 5 s of a tone at −20 dBm0 with white noise at snr dB below
// it (over 0-4 kHz), through µ-law.
func noisyTone(k Kind, snr float64) []int16 {
	sig := generate(k, GenConfig{Level: -20}, 5*8000)
	dsp.NewAWGN(uint64(100+snr), -20-snr).Add(sig)
	g711.Channel(g711.ULaw, sig)
	return sig
}

// lowestSNR lowers the SNR 1 dB at a time from 20 dB and returns the
// lowest at which detected still finds the tone.
func lowestSNR(k Kind, detected func([]int16) bool) float64 {
	snr := 20.0
	for ; snr > -20; snr-- {
		if !detected(noisyTone(k, snr)) {
			break
		}
	}
	return snr + 1
}

// TestDetectInNoise measures, for CNG and CED, the lowest SNR at which
// our detector and spandsp's (modem_connect_tones_rx) still find the tone
// on the same signals, and holds ours to spandsp's or better.
func TestDetectInNoise(t *testing.T) {
	var tab strings.Builder
	for _, c := range []struct {
		kind   Kind
		rxType string
		want   string
	}{{CNG, "1", "tone 1 "}, {CED, "2", "tone 2 "}} {
		ours := lowestSNR(c.kind, func(sig []int16) bool {
			for _, e := range detect(NewDetector(DetConfig{}), sig) {
				if e.On && e.Tone == c.kind {
					return true
				}
			}
			return false
		})
		theirs := lowestSNR(c.kind, func(sig []int16) bool {
			return strings.Contains(string(fskref.Run(t, fskref.PCM(sig), "tonerx", c.rxType)), c.want)
		})
		fmt.Fprintf(&tab, "%-4v at -20 dBm0: faxkit down to %+.0f dB SNR, spandsp down to %+.0f dB\n", c.kind, ours, theirs)
		assert.LessOrEqual(t, ours, theirs, "%v", c.kind)
	}
	t.Log("\n" + tab.String())
}
