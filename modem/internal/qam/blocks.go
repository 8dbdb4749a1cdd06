package qam

import "math"

// Modulator shapes complex symbols with an RRC pulse and puts them on a
// carrier, producing 8 kHz real samples. Symbols and samples are placed on
// a common tick grid at lcm(SampleRate, baud) ticks per second, so that any
// baud rate dividing into such a grid (1200, 1600, 2400) is exact.
type Modulator struct {
	p, q  int         // ticks per symbol, ticks per sample
	ntap  int         // symbols in the pulse's span
	coef  [][]float64 // [tick phase][symbol age]
	sym   []complex128
	pos   int
	ph    int
	car   []complex128
	ci    int
	gain  float64
	shape float64 // mean |pulse|^2 per symbol period
}

// NewModulator returns a modulator for baud symbols per second on a
// carrier at fc Hz with an RRC pulse of roll-off beta spanning ±half
// symbols.
func NewModulator(baud, fc, beta float64, half int) *Modulator {
	b := int(baud)
	lcm := SampleRate / gcd(SampleRate, b) * b
	m := &Modulator{p: lcm / b, q: lcm / SampleRate, ntap: 2*half + 1}
	d := m.p * half
	m.coef = make([][]float64, m.p)
	for ph := range m.coef {
		m.coef[ph] = make([]float64, m.ntap)
		for i := range m.coef[ph] {
			u := ph + m.p*i - d
			m.coef[ph][i] = RRC(float64(u)/float64(m.p), beta)
		}
	}
	for u := -d; u <= d; u++ {
		h := RRC(float64(u)/float64(m.p), beta)
		m.shape += h * h
	}
	m.shape /= float64(m.p)
	m.sym = make([]complex128, 2*m.ntap)
	m.car = carrierTable(fc)
	m.gain = 1
	return m
}

// SetLevel scales the output so that symbols of mean power symPower come
// out at level dBm0.
func (m *Modulator) SetLevel(dbm0, symPower float64) {
	ms := symPower * m.shape / 2
	m.gain = math.Sqrt(PowerFromDBm0(dbm0) / ms)
}

// Reset clears the pulse-shaping history and carrier phase.
func (m *Modulator) Reset() {
	clear(m.sym)
	m.pos, m.ph, m.ci = 0, 0, 0
}

// Advance moves to the next output sample and reports whether a new symbol
// must be pushed before Sample is called.
func (m *Modulator) Advance() bool {
	m.ph += m.q
	if m.ph >= m.p {
		m.ph -= m.p
		return true
	}
	return false
}

// Push enters the next symbol.
func (m *Modulator) Push(s complex128) {
	m.pos--
	if m.pos < 0 {
		m.pos = m.ntap - 1
	}
	m.sym[m.pos] = s
	m.sym[m.pos+m.ntap] = s
}

// Sample returns the current output sample (unclipped, in 16-bit units).
func (m *Modulator) Sample() float64 {
	c := m.coef[m.ph]
	s := m.sym[m.pos : m.pos+m.ntap]
	var re, im float64
	for i, h := range c {
		re += real(s[i]) * h
		im += imag(s[i]) * h
	}
	z := m.car[m.ci]
	m.ci++
	if m.ci == len(m.car) {
		m.ci = 0
	}
	return (re*real(z) - im*imag(z)) * m.gain
}

// Phases is the number of fractional delays of the receive matched filter.
const Phases = 128

// Demod is a receiver front end: it mixes the line signal down by the
// nominal carrier and passes it through an RRC matched filter evaluated at
// arbitrary fractional times, giving complex baseband samples at a
// controllable instant (for T/2-spaced equalisers, Step = T/2).
type Demod struct {
	car    []complex128
	ci     int
	coef   []float64 // Phases × taps
	taps   int
	buf    []complex128
	pos    int
	Step   float64 // output spacing in samples
	until  float64
	nphase int
}

// NewDemod returns a front end for baud symbols/s on carrier fc with an
// RRC of roll-off beta spanning ±half symbols, giving outputs every
// 1/outPerSym of a symbol.
func NewDemod(baud, fc, beta float64, half int, outPerSym int) *Demod {
	sps := SampleRate / baud
	taps := int(math.Ceil(2 * float64(half) * sps))
	d := &Demod{taps: taps, nphase: Phases}
	l := float64(taps) / 2
	d.coef = make([]float64, Phases*taps)
	for p := 0; p < Phases; p++ {
		for i := 0; i < taps; i++ {
			t := (l + float64(p)/Phases - float64(i)) / sps
			d.coef[p*taps+i] = RRC(t, beta) / sps
		}
	}
	d.buf = make([]complex128, 2*taps)
	d.car = carrierTable(fc)
	d.Step = sps / float64(outPerSym)
	d.until = d.Step
	return d
}

// Reset clears the filter and restarts the output clock.
func (d *Demod) Reset() {
	clear(d.buf)
	d.pos, d.ci = 0, 0
	d.until = d.Step
}

// Adjust delays (positive) or advances (negative) the next output instant
// by dt samples.
func (d *Demod) Adjust(dt float64) { d.until += dt }

// Push enters one line sample; when an output instant falls due it
// returns the matched-filter output there and true.
func (d *Demod) Push(x float64) (complex128, bool) {
	z := d.car[d.ci]
	d.ci++
	if d.ci == len(d.car) {
		d.ci = 0
	}
	v := complex(x*real(z), -x*imag(z))
	d.pos--
	if d.pos < 0 {
		d.pos = d.taps - 1
	}
	d.buf[d.pos] = v
	d.buf[d.pos+d.taps] = v
	d.until--
	if d.until > 0 {
		return 0, false
	}
	mu := -d.until
	p := int(mu*Phases + 0.5)
	if p >= Phases {
		p = Phases - 1
	}
	if p < 0 {
		p = 0
	}
	c := d.coef[p*d.taps : (p+1)*d.taps]
	s := d.buf[d.pos : d.pos+d.taps]
	var re, im float64
	for i, h := range c {
		re += real(s[i]) * h
		im += imag(s[i]) * h
	}
	d.until += d.Step
	return complex(re, im), true
}

// Equalizer is a complex transversal LMS equaliser over the last N inputs
// (for a T/2-spaced equaliser, N T/2 samples).
type Equalizer struct {
	W   []complex128 // W[N-1] multiplies the newest input
	buf []complex128
	pos int
	n   int
	pow float64 // running sum of |input|^2 over the window
	cnt int     // pushes since pow was last recomputed exactly
}

// NewEqualizer returns an equaliser of n taps.
func NewEqualizer(n int) *Equalizer {
	return &Equalizer{W: make([]complex128, n), buf: make([]complex128, 2*n), n: n}
}

// Reset clears the history and sets a single centre tap.
func (e *Equalizer) Reset(centre complex128) {
	clear(e.W)
	clear(e.buf)
	e.pos = 0
	e.pow = 0
	e.W[e.n/2] = centre
}

// Push enters an input sample.
func (e *Equalizer) Push(x complex128) {
	old := e.buf[e.pos]
	e.pow += real(x)*real(x) + imag(x)*imag(x) - real(old)*real(old) - imag(old)*imag(old)
	if e.cnt++; e.cnt == 1024 {
		e.cnt = 0
		e.pow = 0
		for _, v := range e.buf[e.pos+1 : e.pos+e.n] {
			e.pow += real(v)*real(v) + imag(v)*imag(v)
		}
		e.pow += real(x)*real(x) + imag(x)*imag(x)
	}
	e.buf[e.pos] = x
	e.buf[e.pos+e.n] = x
	e.pos++
	if e.pos == e.n {
		e.pos = 0
	}
}

// inputs returns the inputs oldest first.
func (e *Equalizer) inputs() []complex128 { return e.buf[e.pos : e.pos+e.n] }

// Centre returns the input at the centre tap.
func (e *Equalizer) Centre() complex128 { return e.inputs()[e.n/2] }

// Output returns the equalised value.
func (e *Equalizer) Output() complex128 {
	x := e.inputs()
	var re, im float64
	for i, w := range e.W {
		re += real(w)*real(x[i]) - imag(w)*imag(x[i])
		im += real(w)*imag(x[i]) + imag(w)*real(x[i])
	}
	return complex(re, im)
}

// Update moves the taps by mu·err·conj(input) (err = wanted - output, in
// the equaliser's own frame).
func (e *Equalizer) Update(err complex128, mu float64) {
	x := e.inputs()
	er, ei := real(err)*mu, imag(err)*mu
	for i := range e.W {
		xr, xi := real(x[i]), -imag(x[i])
		e.W[i] += complex(er*xr-ei*xi, er*xi+ei*xr)
	}
}

// Scale multiplies the stored inputs by f (after an AGC step).
func (e *Equalizer) Scale(f float64) {
	for i := range e.buf {
		e.buf[i] *= complex(f, 0)
	}
	e.pow *= f * f
}

// Power returns the mean power of the stored inputs.
func (e *Equalizer) Power() float64 {
	return max(e.pow, 0) / float64(e.n)
}

// TapCentroid returns the energy-weighted mean tap position relative to
// the centre tap, in taps.
func (e *Equalizer) TapCentroid() float64 {
	var num, den float64
	for i, w := range e.W {
		p := real(w)*real(w) + imag(w)*imag(w)
		num += p * float64(i-e.n/2)
		den += p
	}
	if den == 0 {
		return 0
	}
	return num / den
}

// Scrambler is the self-synchronising scrambler with generator
// 1 + x^-A + x^-B of ITU-T V.29 §4 / V.17 §5 (A=18, B=23) and similar.
type Scrambler struct {
	Reg  uint32
	A, B uint
}

// Scramble returns the line bit for data bit b.
func (s *Scrambler) Scramble(b int) int {
	out := (b ^ int(s.Reg>>(s.A-1)) ^ int(s.Reg>>(s.B-1))) & 1
	s.Reg = s.Reg<<1 | uint32(out)
	return out
}

// Descramble returns the data bit for line bit b.
func (s *Scrambler) Descramble(b int) int {
	out := (b ^ int(s.Reg>>(s.A-1)) ^ int(s.Reg>>(s.B-1))) & 1
	s.Reg = s.Reg<<1 | uint32(b&1)
	return out
}
