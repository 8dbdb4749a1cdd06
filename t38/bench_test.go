package t38

import (
	"testing"
)

// A typical image-data IFP: V.17 14400 non-ECM data, 60 octets.
func benchIFP() IFP {
	data := make([]byte, 60)
	for i := range data {
		data[i] = byte(i * 7)
	}
	return IFP{Version: 0, Type: TypeData, DataType: DataV17_14400,
		Fields: []Field{{Type: FieldT4NonECMData, Data: data}}}
}

func BenchmarkIFPMarshal(b *testing.B) {
	p := benchIFP()
	buf := make([]byte, 128)
	b.SetBytes(int64(p.MarshalSize()))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.MarshalTo(buf); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIFPUnmarshal(b *testing.B) {
	p := benchIFP()
	enc, _ := p.MarshalBinary()
	var q IFP
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		if err := q.Unmarshal(enc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncode is the send hot path: IFP marshal + UDPTL datagram with
// redundancy depth 3 (or FEC 3x3), into a reused buffer.
func BenchmarkEncode(b *testing.B) {
	for _, cfg := range []struct {
		name string
		c    SenderConfig
	}{
		{"redundancy3", SenderConfig{EC: ECRedundancy, Depth: 3, MaxDatagram: 400}},
		{"fec3x3", SenderConfig{EC: ECFEC, MaxDatagram: 400}},
	} {
		b.Run(cfg.name, func(b *testing.B) {
			p := benchIFP()
			s, _ := NewSender(cfg.c)
			ifp := make([]byte, 128)
			out := make([]byte, 0, 512)
			var n int
			b.ReportAllocs()
			for b.Loop() {
				k, err := p.MarshalTo(ifp)
				if err != nil {
					b.Fatal(err)
				}
				out, err = s.Append(out[:0], ifp[:k])
				if err != nil {
					b.Fatal(err)
				}
				n = len(out)
			}
			b.SetBytes(int64(n))
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "packets/s")
		})
	}
}

// BenchmarkDecode is the receive hot path: datagram into the Receiver, IFP
// out and decoded, with one datagram in ten lost (so recovery runs).
func BenchmarkDecode(b *testing.B) {
	for _, cfg := range []struct {
		name string
		c    SenderConfig
	}{
		{"redundancy3", SenderConfig{EC: ECRedundancy, Depth: 3, MaxDatagram: 400}},
		{"fec3x3", SenderConfig{EC: ECFEC, MaxDatagram: 400}},
	} {
		b.Run(cfg.name, func(b *testing.B) {
			p := benchIFP()
			s, _ := NewSender(cfg.c)
			const n = 1000
			dgrams := make([][]byte, n)
			for i := range dgrams {
				p.Fields[0].Data[0] = byte(i)
				ifp, _ := p.MarshalBinary()
				dgrams[i], _ = s.Append(nil, ifp)
			}
			r, _ := NewReceiver(ReceiverConfig{})
			var q IFP
			i := 0
			b.SetBytes(int64(len(dgrams[1])))
			b.ReportAllocs()
			for b.Loop() {
				// Number datagrams on from lap to lap so the receiver sees
				// one long stream (wrapping at 65536), not repeats.
				d := dgrams[i%n]
				d[0], d[1] = byte(i>>8), byte(i)
				i++
				if i%10 == 3 {
					continue
				}
				if err := r.Push(d); err != nil {
					b.Fatal(err)
				}
				for {
					e, ok := r.Next()
					if !ok {
						break
					}
					if e.Lost == 0 {
						if err := q.Unmarshal(e.IFP); err != nil {
							b.Fatal(err)
						}
					}
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "packets/s")
		})
	}
}
