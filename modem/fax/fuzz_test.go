package fax

import (
	"encoding/binary"
	"testing"

	"github.com/faxkit/faxkit/t30"
)

// FuzzCore feeds arbitrary audio to a listening core (V.21, tones and the
// image modem at each speed): it must never panic, its events must be
// well formed, and it must still receive a real TCF that follows.
func FuzzCore(f *testing.F) {
	f.Add([]byte{}, uint8(0))
	f.Add(make([]byte, 640), uint8(1))
	noise := make([]byte, 3200)
	for i := range noise {
		noise[i] = byte(i*151 + i*i*7)
	}
	f.Add(noise, uint8(2))
	f.Fuzz(func(t *testing.T, audio []byte, sel uint8) {
		if len(audio) > 64000 {
			audio = audio[:64000]
		}
		speeds := []t30.Speed{t30.V29_9600, t30.V29_7200, t30.V27ter4800, t30.V27ter2400}
		s := speeds[int(sel)%len(speeds)]
		c := NewCore(nil)
		if err := c.Receive(s); err != nil {
			t.Fatal(err)
		}
		var tx [BlockSize]int16
		block := make([]int16, 0, BlockSize)
		for i := 0; i+1 < len(audio); i += 2 {
			block = append(block, int16(binary.LittleEndian.Uint16(audio[i:])))
			if len(block) == BlockSize || i+3 >= len(audio) {
				c.Process(block, tx[:])
				for _, e := range c.Poll() {
					if e.Kind == t30.EventFrame && len(e.Data) == 0 {
						t.Fatal("empty frame")
					}
				}
				block = block[:0]
			}
		}
		// A second of silence, then a real TCF from another core.
		var silence [BlockSize]int16
		for range 50 {
			c.Process(silence[:], tx[:])
		}
		c.Poll()
		a := NewCore(nil)
		if err := a.SendTCF(s, t30.TCFDuration); err != nil {
			t.Fatal(err)
		}
		zeros, up := 0, false
		var sig [BlockSize]int16
		for range 150 {
			a.Process(silence[:], sig[:])
			c.Process(sig[:], tx[:])
			for _, e := range c.Poll() {
				switch e.Kind {
				case t30.EventCarrierUp:
					up = up || e.Speed == s
				case t30.EventData:
					for _, b := range e.Data {
						if b == 0 {
							zeros++
						}
					}
				}
			}
		}
		if !up || zeros < s.BitRate()/8 {
			t.Fatalf("after the fuzz input a TCF at %v was not received: carrier %v, %d zero octets", s, up, zeros)
		}
	})
}
