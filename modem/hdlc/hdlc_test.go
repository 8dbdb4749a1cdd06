package hdlc

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The FCS of T.30's example: the check value of the V.41 CRC (reflected,
// preset ones, complemented) over "123456789" is 0x906E.
func TestFCS(t *testing.T) {
	assert.Equal(t, uint16(0x906E), FCS([]byte("123456789")))
	f := AppendFCS([]byte{0xFF, 0x13, 0x80})
	assert.True(t, CheckFCS(f))
	f[1] ^= 4
	assert.False(t, CheckFCS(f))
}

func bitsOf(e *Encoder, limit int) []int {
	var out []int
	for range limit {
		b := e.NextBit()
		if b < 0 {
			break
		}
		out = append(out, b)
	}
	return out
}

func TestEncoderBits(t *testing.T) {
	var e Encoder
	require.NoError(t, e.Flags(2))
	require.NoError(t, e.Frame([]byte{0xFF})) // five ones need stuffing
	require.NoError(t, e.End())
	got := bitsOf(&e, 1000)
	flag := []int{0, 1, 1, 1, 1, 1, 1, 0}
	fcs := FCS([]byte{0xFF})
	var want []int
	want = append(want, flag...)
	want = append(want, flag...)
	// Data 0xFF then FCS, LSB first, with a zero after each five ones.
	var raw []int
	for _, o := range []byte{0xFF, byte(fcs), byte(fcs >> 8)} {
		for i := range 8 {
			raw = append(raw, int(o>>i&1))
		}
	}
	ones := 0
	for _, b := range raw {
		want = append(want, b)
		if b == 1 {
			ones++
			if ones == 5 {
				want = append(want, 0)
				ones = 0
			}
		} else {
			ones = 0
		}
	}
	want = append(want, flag...)
	assert.Equal(t, want, got)
	assert.Equal(t, -1, e.NextBit())
}

func decodeAll(d *Decoder, bits []int) (frames [][]byte, results []Result) {
	for _, b := range bits {
		r := d.PutBit(b)
		if r != None {
			results = append(results, r)
		}
		if r == FrameOK || r == FrameBad {
			frames = append(frames, append([]byte(nil), d.Frame()...))
		}
	}
	return
}

func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var e Encoder
	require.NoError(t, e.Flags(10))
	var want [][]byte
	for i := range 12 {
		f := make([]byte, 1+rng.IntN(MaxFrame))
		for j := range f {
			f[j] = byte(rng.UintN(256))
			if i%3 == 0 {
				f[j] |= 0x7E // many runs of ones
			}
		}
		want = append(want, f)
	}
	d := NewDecoder(DecoderConfig{})
	var got [][]byte
	var results []Result
	queued := 0
	for i := 0; len(want) > len(got) && i < 100000; i++ {
		// Keep the queue topped up, as a modem would, with a gap at
		// frame 6 that the encoder fills with flags.
		if e.Pending() < 2 && queued < len(want) && (queued != 6 || i%400 == 0) {
			require.NoError(t, e.Frame(want[queued]))
			queued++
		}
		f, r := decodeAll(d, bitsOf(&e, 8))
		got = append(got, f...)
		results = append(results, r...)
	}
	assert.Equal(t, want, got)
	assert.Equal(t, FramingOK, results[0])
	assert.Equal(t, len(want), d.Stats().FramesOK)
	assert.Positive(t, e.Underflows, "idle flags between frames")
}

func TestErrors(t *testing.T) {
	var e Encoder
	assert.ErrorIs(t, e.Frame(make([]byte, MaxFrame+1)), ErrTooLong)
	for range queueItems {
		require.NoError(t, e.Flags(1))
	}
	assert.ErrorIs(t, e.Flags(1), ErrQueueFull)
	assert.ErrorIs(t, e.Frame([]byte{1}), ErrQueueFull)

	// A corrupted frame, an aborted frame and a too-long frame.
	e.Reset()
	require.NoError(t, e.Flags(4))
	require.NoError(t, e.Frame([]byte{0xFF, 0x03, 0x80, 0x01}))
	require.NoError(t, e.End())
	bits := bitsOf(&e, 1000)
	bits[50] ^= 1
	d := NewDecoder(DecoderConfig{FramingFlags: 2, MaxFrame: 10})
	_, r := decodeAll(d, bits)
	assert.Equal(t, []Result{FramingOK, FrameBad}, r)

	e.Reset()
	require.NoError(t, e.Flags(2))
	require.NoError(t, e.Frame([]byte{0x11, 0x22, 0x33, 0x44}))
	bits = bitsOf(&e, 16+20)
	e.Reset()
	require.NoError(t, e.Abort())
	require.NoError(t, e.Frame([]byte{0x55, 0x66, 0x77}))
	require.NoError(t, e.Frame(make([]byte, 11)))
	require.NoError(t, e.End())
	bits = append(bits, bitsOf(&e, 1000)...)
	d.Reset()
	f, r := decodeAll(d, bits)
	assert.Equal(t, []Result{FramingOK, Abort, FrameOK, TooLong}, r)
	assert.Equal(t, [][]byte{{0x55, 0x66, 0x77}}, f)
	assert.Equal(t, Stats{FramesOK: 1, Aborts: 1, TooLong: 1}, d.Stats())
	assert.Equal(t, "frame-ok", FrameOK.String())
	assert.Equal(t, "Result(9)", Result(9).String())

	// The end of a transmission (flag, then idle ones) is not an abort.
	d.Reset()
	e.Reset()
	require.NoError(t, e.Flags(5))
	_, r = decodeAll(d, append(bitsOf(&e, 40), 1, 1, 1, 1, 1, 1, 1, 1, 1, 1))
	assert.Equal(t, []Result{FramingOK}, r)
}

func TestNoAllocs(t *testing.T) {
	var e Encoder
	d := NewDecoder(DecoderConfig{})
	frame := []byte{0xFF, 0x13, 0x80, 0x00, 0x46}
	allocs := testing.AllocsPerRun(100, func() {
		_ = e.Frame(frame)
		for range 100 {
			d.PutBit(e.NextBit())
		}
	})
	assert.Zero(t, allocs)
}

func FuzzDecoder(f *testing.F) {
	var e Encoder
	_ = e.Flags(4)
	_ = e.Frame([]byte{0xFF, 0x13, 0x80})
	_ = e.End()
	seed := make([]byte, 0, 64)
	for b := e.NextBit(); b >= 0; b = e.NextBit() {
		seed = append(seed, byte(b))
	}
	f.Add(seed)
	f.Add([]byte{0x7e, 0x7e, 0xff, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		d := NewDecoder(DecoderConfig{MaxFrame: 64})
		for _, b := range data {
			for i := range 8 {
				r := d.PutBit(int(b >> i))
				if r == FrameOK {
					require.True(t, CheckFCS(d.Frame()[:len(d.Frame())+2]))
				}
				require.LessOrEqual(t, len(d.Frame()), 64)
			}
		}
	})
}

func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte{0xFF, 0x13, 0x80}, []byte{0x7E})
	f.Fuzz(func(t *testing.T, a, b []byte) {
		if len(a) == 0 || len(b) == 0 || len(a) > MaxFrame || len(b) > MaxFrame {
			return
		}
		var e Encoder
		_ = e.Flags(1)
		require.NoError(t, e.Frame(a))
		require.NoError(t, e.Frame(b))
		require.NoError(t, e.End())
		d := NewDecoder(DecoderConfig{FramingFlags: 1})
		var got [][]byte
		for bit := e.NextBit(); bit >= 0; bit = e.NextBit() {
			if d.PutBit(bit) == FrameOK {
				got = append(got, append([]byte(nil), d.Frame()...))
			}
		}
		require.Equal(t, [][]byte{a, b}, got)
	})
}
