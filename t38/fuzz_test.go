package t38

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzIFP decodes hostile IFP packets in every version: no panic, and
// whatever decodes re-encodes to a packet that decodes to the same thing.
func FuzzIFP(f *testing.F) {
	for _, s := range []string{"00", "1e", "2040", "2180", "c00180000001", "c0028000041d242b323910",
		"c00221", "c0022010", "e000028000041d242b323910", "c0014040", "d20100", "48", "c0 02 18 0000 07"} {
		f.Add(byte(0), unhex(f, s))
		f.Add(byte(1), unhex(f, s))
	}
	f.Fuzz(func(t *testing.T, v byte, b []byte) {
		var p IFP
		p.Version = Version(v % 4)
		if err := p.Unmarshal(b); err != nil {
			return
		}
		out, err := p.MarshalBinary()
		if p.Version == 0 && errors.Is(err, ErrVersion) {
			// Version 0 decoding accepts the later versions' extension
			// values (as spandsp does); they cannot be sent in version 0.
			p.Version = 3
			out, err = p.MarshalBinary()
		}
		if err != nil {
			t.Fatalf("decoded %x as %s but cannot re-encode: %v", b, canon(&p), err)
		}
		if len(out) != p.MarshalSize() {
			t.Fatalf("MarshalSize %d, encoded %d", p.MarshalSize(), len(out))
		}
		var q IFP
		q.Version = p.Version
		if err := q.Unmarshal(out); err != nil {
			t.Fatalf("re-encoding %x of %x does not decode: %v", out, b, err)
		}
		// A version 0 packet with empty hdlc-data or t4-non-ecm-data fields
		// is nonsense that may read differently in the two layouts.
		if canon(&p) != canon(&q) && (p.Version != 0 || p.suspicious() == 0) {
			t.Fatalf("round trip changed %s to %s", canon(&p), canon(&q))
		}
		// Version 0 trimming may prefer spandsp's octet layout for packets
		// whose packed reading looks wrong (see ifpLen); later versions
		// have one layout.
		if n := ifpLen(new(IFP), q.Version, out); n != len(out) && (q.Version != 0 || n <= 0 || n > len(out)) {
			t.Fatalf("ifpLen %d for a %d-octet packet", n, len(out))
		}
	})
}

// FuzzUDPTL decodes hostile datagrams and feeds them to a Receiver.
func FuzzUDPTL(f *testing.F) {
	for _, s := range []string{"0000 01 06 00 00", "0003 06 c00180000001 00 02 0104 0102",
		"0006 01 07 80 0103 02 03 070603 03 000406", "1234 00 00 00", "0001 80c8" + string(bytes.Repeat([]byte("ab"), 200)) + " 00 00",
		"ffff 01 06 00 01 0104", "0001 01 02 00 02 0106 0104"} {
		f.Add(unhex(f, s), unhex(f, "0002 01 04 80 0102 01 0104"))
	}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		var p UDPTLPacket
		if p.Unmarshal(a) == nil {
			out, err := p.MarshalBinary()
			if err != nil {
				t.Fatalf("decoded %x but cannot re-encode: %v", a, err)
			}
			var q UDPTLPacket
			if err := q.Unmarshal(out); err != nil {
				t.Fatalf("re-encoding does not decode: %v", err)
			}
		}
		r, _ := NewReceiver(ReceiverConfig{Window: 4})
		delivered := 0
		for i := 0; i < 3; i++ {
			for _, d := range [][]byte{a, b} {
				_ = r.Push(d)
				for {
					e, ok := r.Next()
					if !ok {
						break
					}
					if e.Lost == 0 {
						delivered++
					}
				}
			}
		}
		r.Flush()
		for {
			e, ok := r.Next()
			if !ok {
				break
			}
			if e.Lost == 0 {
				delivered++
			}
		}
		st := r.Stats()
		if st.Delivered != uint64(delivered) || st.Recovered > st.Delivered || st.Redundancy+st.FEC != st.Recovered {
			t.Fatalf("inconsistent stats %+v", st)
		}
	})
}
