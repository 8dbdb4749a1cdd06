package t38_test

import (
	"fmt"

	"github.com/faxkit/faxkit/t38"
)

func ExampleIFP_MarshalTo() {
	// A V.21 HDLC frame fragment followed by FCS-OK, in T.38 version 0.
	p := t38.IFP{Version: 0, Type: t38.TypeData, DataType: t38.DataV21,
		Fields: []t38.Field{{Type: t38.FieldHDLCData, Data: []byte{0xff, 0xc8}}, {Type: t38.FieldHDLCFCSOK}}}
	buf := make([]byte, p.MarshalSize())
	n, err := p.MarshalTo(buf)
	fmt.Printf("% x %v\n", buf[:n], err)
	// Output: c0 02 80 00 01 ff c8 20 <nil>
}

func ExampleIFP_Unmarshal() {
	var p t38.IFP // reuse one IFP for every packet: no allocation
	p.Version = 3
	for _, pkt := range [][]byte{{0x06}, {0x20, 0x40}, {0xd0, 0x01, 0x38}} {
		if err := p.Unmarshal(pkt); err != nil {
			fmt.Println(err)
			continue
		}
		if p.Type == t38.TypeIndicator {
			fmt.Println("indicator", p.Indicator)
		} else {
			fmt.Println("data", p.DataType, p.Fields[0].Type)
		}
	}
	// Output:
	// indicator v21-preamble
	// indicator v8-signal
	// data v17-14400 t4-non-ecm-sig-end
}

func ExampleSender() {
	s, _ := t38.NewSender(t38.SenderConfig{EC: t38.ECRedundancy, Depth: 2, MaxDatagram: 400})
	var dgram []byte
	for _, ifp := range [][]byte{{0x06}, {0x02}, {0x04}} {
		dgram, _ = s.Append(dgram[:0], ifp)
		fmt.Printf("% x\n", dgram)
	}
	// Output:
	// 00 00 01 06 00 00
	// 00 01 01 02 00 01 01 06
	// 00 02 01 04 00 02 01 02 01 06
}

func ExampleReceiver() {
	s, _ := t38.NewSender(t38.SenderConfig{EC: t38.ECRedundancy, Depth: 1})
	r, _ := t38.NewReceiver(t38.ReceiverConfig{})
	var dgrams [][]byte
	for _, ifp := range [][]byte{{0x02}, {0x04}, {0x06}, {0x08}} {
		d, _ := s.Append(nil, ifp)
		dgrams = append(dgrams, d)
	}
	// Datagram 1 is lost and 3 arrives before 2: packet 2 comes back from
	// the redundancy in 3, packet 1 from that in 2, and everything is
	// delivered in order.
	for _, i := range []int{0, 3, 2} {
		_ = r.Push(dgrams[i])
		for {
			d, ok := r.Next()
			if !ok {
				break
			}
			fmt.Printf("seq %d ifp % x (%v)\n", d.Seq, d.IFP, d.Recovered)
		}
	}
	fmt.Printf("%+v\n", r.Stats())
	// Output:
	// seq 0 ifp 02 (primary)
	// seq 1 ifp 04 (redundancy)
	// seq 2 ifp 06 (redundancy)
	// seq 3 ifp 08 (primary)
	// {Packets:3 Malformed:0 Delivered:4 Recovered:2 Redundancy:2 FEC:0 Lost:0 Gaps:0 Duplicates:0 Late:0 Resyncs:0}
}
