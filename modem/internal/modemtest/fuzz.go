package modemtest

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/faxkit/faxkit/modem/internal/ber"
)

// Fuzz describes a receiver to FuzzReceiver.
type Fuzz struct {
	Tone  float64 // Hz of the unmodulated-carrier seed
	Split int     // the head seed is the first 1/Split of a transmission
	// Tx returns faxkit's whole transmission of bits at the receiver's
	// rate; NewRx a receiver passing its bits to put.
	Tx    func(bits []byte) []int16
	NewRx func(put func(bit int)) (interface{ Process([]int16) }, error)
}

// FuzzReceiver is the receivers' fuzz target: arbitrary audio (16-bit
// little-endian samples, at most 16,384 of them, fed in blocks of
// 1+data[0]%200 samples) must not make the receiver panic, and after
// 200 ms of silence it must receive a real transmission without error.
// The receivers' state is fixed-size, so memory is bounded whatever the
// input. Seeds: nothing, silence, an unmodulated carrier, the head of a
// transmission (with the package's committed corpus).
func FuzzReceiver(f *testing.F, z Fuzz) {
	f.Add([]byte{})
	f.Add(make([]byte, 3200))
	tone := make([]byte, 3200)
	for i := 0; i < len(tone); i += 2 {
		binary.LittleEndian.PutUint16(tone[i:], uint16(int16(10000*math.Sin(float64(i)*math.Pi*z.Tone/8000))))
	}
	f.Add(tone)
	head := PCMBytes(z.Tx(ber.Bits(400, 2)))
	f.Add(head[:len(head)/z.Split])
	bits := ber.Bits(ber.Preamble+2000, 4)
	real := append(make([]int16, 1600), z.Tx(bits)...)
	real = append(real, make([]int16, 800)...)
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<15 {
			data = data[:1<<15]
		}
		var got []byte
		rx, err := z.NewRx(func(b int) { got = append(got, byte(b)) })
		if err != nil {
			t.Fatal(err)
		}
		in := Samples(data)
		for len(in) > 0 {
			n := min(len(in), 1+int(data[0])%200)
			rx.Process(in[:n])
			in = in[n:]
		}
		got = got[:0]
		Feed(rx, real)
		if e, _ := ber.Compare(bits, got); e != 0 {
			t.Fatalf("after arbitrary audio, %d bit errors in a clean transmission", e)
		}
	})
}
