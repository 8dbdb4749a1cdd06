// Package audio is the small audio leg of a SIP fax call before the switch
// to T.38: G.711 (ITU-T G.711) encoding and decoding, the CNG cadence of
// T.30 clause 5.2 (1100 Hz, 0.5 s on, 3 s off) and a detector for the fax
// tones that should trigger the switch: CNG (1100 Hz), CED (2100 Hz, T.30
// clause 5.2) and the V.21 channel 2 flags of the T.30 preamble (1650 and
// 1850 Hz alternating, V.21).
//
// The detector runs Goertzel filters over 20 ms blocks (160 samples at
// 8 kHz) and reports a tone after it dominates the block energy for a
// number of consecutive blocks: CNG and CED 400 ms (T.30 gives CNG 0.5 s
// and CED 2.6 to 4 s), V.21 flags 200 ms (the preamble is 1 s). It is not a
// modem: the audio fax work (modem/g711, modem/tone) supersedes it.
package audio

import "math"

// Decode appends the linear samples of G.711 payload p (A-law when alaw,
// else µ-law) to dst.
func Decode(dst []int16, p []byte, alaw bool) []int16 {
	for _, b := range p {
		if alaw {
			dst = append(dst, alawTable[b])
		} else {
			dst = append(dst, ulawTable[b])
		}
	}
	return dst
}

var ulawTable, alawTable [256]int16

func init() {
	for i := range 256 {
		u := ^byte(i)
		t := (int(u&0x0f) << 3) + 0x84
		t <<= (u & 0x70) >> 4
		if u&0x80 != 0 {
			ulawTable[i] = int16(0x84 - t)
		} else {
			ulawTable[i] = int16(t - 0x84)
		}
		a := byte(i) ^ 0x55
		v := int(a&0x0f) << 4
		seg := (a & 0x70) >> 4
		switch seg {
		case 0:
			v += 8
		case 1:
			v += 0x108
		default:
			v += 0x108
			v <<= seg - 1
		}
		if a&0x80 != 0 {
			alawTable[i] = int16(v)
		} else {
			alawTable[i] = int16(-v)
		}
	}
}

// EncodeULaw returns the µ-law code of sample s.
func EncodeULaw(s int16) byte {
	const bias, clip = 0x84, 32635
	x := int(s)
	sign := byte(0)
	if x < 0 {
		x, sign = -x, 0x80
	}
	x = min(x, clip) + bias
	exp := byte(7)
	for mask := 0x4000; x&mask == 0 && exp > 0; mask >>= 1 {
		exp--
	}
	mant := byte(x>>(exp+3)) & 0x0f
	return ^(sign | exp<<4 | mant)
}

// EncodeALaw returns the A-law code of sample s.
func EncodeALaw(s int16) byte {
	x := int(s)
	sign := byte(0x80)
	if x < 0 {
		x, sign = -x-1, 0
	}
	x = min(x, 32767) >> 3
	var out byte
	if x < 32 {
		out = byte(x >> 1)
	} else {
		seg := byte(1)
		for v := x >> 5; v > 1; v >>= 1 {
			seg++
		}
		out = seg<<4 | byte(x>>seg)&0x0f
	}
	return (out | sign) ^ 0x55
}

// Generator produces the 20 ms packets of the audio leg.
type Generator struct {
	cng   bool
	n     int // samples since start
	phase float64
}

// NewGenerator returns a generator of CNG (cng true: the calling
// terminal) or silence.
func NewGenerator(cng bool) *Generator { return &Generator{cng: cng} }

// Next fills p (one byte per sample) with the next samples.
func (g *Generator) Next(p []byte, alaw bool) {
	const rate, on, period = 8000, 4000, 28000 // 0.5 s on, 3 s off
	const amp = 0.22 * 32767                   // about -13 dBm0
	for i := range p {
		var s int16
		if g.cng && g.n%period < on {
			s = int16(amp * math.Sin(g.phase))
			g.phase += 2 * math.Pi * 1100 / rate
			if g.phase > 2*math.Pi {
				g.phase -= 2 * math.Pi
			}
		}
		g.n++
		if alaw {
			p[i] = EncodeALaw(s)
		} else {
			p[i] = EncodeULaw(s)
		}
	}
}

// Tone is a detected fax signal.
type Tone uint8

// Tones.
const (
	None Tone = iota
	CNG
	CED
	V21
)

// Detector finds fax tones in 8 kHz samples.
type Detector struct {
	buf    [160]int16
	n      int
	run    [4]int // consecutive blocks each tone dominated
	fired  [4]bool
	coeffs [4]float64
}

var freqs = [4]float64{1100, 2100, 1650, 1850}

// NewDetector returns a detector.
func NewDetector() *Detector {
	d := &Detector{}
	for i, f := range freqs {
		d.coeffs[i] = 2 * math.Cos(2*math.Pi*f/8000)
	}
	return d
}

// Write feeds samples and returns the tones newly detected (each once).
func (d *Detector) Write(pcm []int16) []Tone {
	var out []Tone
	for _, s := range pcm {
		d.buf[d.n] = s
		d.n++
		if d.n == len(d.buf) {
			d.n = 0
			if t := d.block(); t != None {
				out = append(out, t)
			}
		}
	}
	return out
}

func (d *Detector) block() Tone {
	var energy float64
	for _, s := range d.buf {
		energy += float64(s) * float64(s)
	}
	var pw [4]float64
	for i, c := range d.coeffs {
		var s1, s2 float64
		for _, x := range d.buf {
			s0 := float64(x) + c*s1 - s2
			s2, s1 = s1, s0
		}
		// Power at f, scaled to compare with the block energy: a pure
		// tone gives pw ≈ energy.
		pw[i] = (s1*s1 + s2*s2 - c*s1*s2) * 2 / float64(len(d.buf))
	}
	loud := energy > float64(len(d.buf))*100*100 // above about -50 dBm0
	hit := [4]bool{
		loud && pw[0] > 0.6*energy,       // CNG
		loud && pw[1] > 0.6*energy,       // CED
		loud && pw[2]+pw[3] > 0.6*energy, // V.21 channel 2 (flags)
	}
	need := [3]int{20, 20, 10} // blocks: 400, 400, 200 ms
	for i := range 3 {
		if hit[i] {
			d.run[i]++
		} else {
			d.run[i] = 0
		}
		if d.run[i] >= need[i] && !d.fired[i] {
			d.fired[i] = true
			return Tone(i + 1)
		}
	}
	return None
}
