package ber

import (
	"math"
	"testing"

	"github.com/faxkit/faxkit/modem/g711"
	"github.com/faxkit/faxkit/modem/internal/qam"
	"github.com/faxkit/faxkit/modem/internal/qamref"
)

// TestG711AgainstSpandsp checks the channel's companding (modem/g711)
// code for code and value for value against libspandsp's G.711, so that
// faxkit's and spandsp's modems meet the same channel.
func TestG711AgainstSpandsp(t *testing.T) {
	ulaw, alaw, ulin, alin := qamref.G711(t)
	bad := 0
	for i := range 65536 {
		v := int16(i - 32768)
		if u := g711.LinearToULaw(v); u != ulaw[i] && bad < 10 {
			t.Errorf("ULawEncode(%d) = %#02x, spandsp %#02x", v, u, ulaw[i])
			bad++
		}
		if a := g711.LinearToALaw(v); a != alaw[i] && bad < 10 {
			t.Errorf("ALawEncode(%d) = %#02x, spandsp %#02x", v, a, alaw[i])
			bad++
		}
	}
	for c := range 256 {
		if v := g711.ULawToLinear(byte(c)); v != ulin[c] {
			t.Errorf("ULawDecode(%#02x) = %d, spandsp %d", c, v, ulin[c])
		}
		if v := g711.ALawToLinear(byte(c)); v != alin[c] {
			t.Errorf("ALawDecode(%#02x) = %d, spandsp %d", c, v, alin[c])
		}
	}
}

func TestChannelLevelAndSNR(t *testing.T) {
	in := make([]int16, 80000)
	for i := range in {
		in[i] = int16(3000 * math.Sin(2*math.Pi*1000*float64(i)/8000))
	}
	out := Channel{Signal: -20, SNR: NoNoise}.Apply(in)
	if got := power(out); math.Abs(got+20) > 0.05 {
		t.Errorf("signal at %.2f dBm0, want -20", got)
	}
	silence := make([]int16, 80000) // nothing to scale: only the noise
	noise := Channel{Signal: -20, SNR: 10, Seed: 1}.Apply(silence)
	if got := power(noise); math.Abs(got+30) > 0.1 {
		t.Errorf("noise at %.2f dBm0, want -30", got)
	}
}

func power(x []int16) float64 {
	var ms float64
	for _, v := range x {
		ms += float64(v) * float64(v)
	}
	return qam.DBm0FromPower(ms / float64(len(x)))
}

func TestCompare(t *testing.T) {
	sent := Bits(Preamble+1000, 1)
	got := append([]byte{1, 1, 1, 0, 1}, sent[Preamble-3:]...)
	if e, off := Compare(sent, got); e != 0 || off != 8 {
		t.Errorf("Compare = %d errors at %d, want 0 at 8", e, off)
	}
	got[100] ^= 1
	got = got[:len(got)-10]
	if e, _ := Compare(sent, got); e != 11 {
		t.Errorf("Compare = %d errors, want 11 (one flipped, ten missing)", e)
	}
	if e, off := Compare(sent, Bits(2000, 9)); e != 1000 || off != -1 {
		t.Errorf("Compare(unrelated) = %d, %d; want 1000, -1", e, off)
	}
}
