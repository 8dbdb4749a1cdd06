package transport_test

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/faxkit/faxkit/transport"
)

// A sender dials a fax server that serves many calls on one port.
func ExampleListen() {
	ctx := context.Background()
	l, err := transport.Listen("udp4", "127.0.0.1:0", &transport.ListenConfig{MaxCalls: 100})
	if err != nil {
		panic(err)
	}
	defer l.Close()

	c, err := transport.Dial(ctx, "udp4", "127.0.0.1:0", l.Addr().String(), nil)
	if err != nil {
		panic(err)
	}
	defer c.Close()
	if err := c.WritePacket(ctx, []byte("a UDPTL packet")); err != nil {
		panic(err)
	}

	call, err := l.Accept(ctx)
	if err != nil {
		panic(err)
	}
	defer call.Close()
	buf := make([]byte, transport.DefaultMaxDatagram)
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	n, err := call.ReadPacket(rctx, buf)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s (%d active)\n", buf[:n], l.Stats().Active)
	// Output: a UDPTL packet (1 active)
}

// Two endpoints exchange IFP packets over RTP, across an in-memory link
// that duplicates every packet from a to b and holds one back.
func ExampleNewRTPConn() {
	ctx := context.Background()
	pa, pb := transport.Pipe(&transport.PipeConfig{
		AToB: transport.Impairment{Duplicate: 1},
	})
	a := transport.NewRTPConn(transport.NewConn(pa, pb.LocalAddr(), nil), &transport.RTPConfig{SSRC: 1})
	b := transport.NewRTPConn(transport.NewConn(pb, pa.LocalAddr(), nil), nil)
	defer a.Close()
	defer b.Close()
	for _, ifp := range []string{"one", "two", "three"} {
		if err := a.WritePacket(ctx, []byte(ifp)); err != nil {
			panic(err)
		}
	}
	buf := make([]byte, 64)
	for range 3 {
		n, info, err := b.ReadIFP(ctx, buf)
		if err != nil {
			panic(err)
		}
		fmt.Println(string(buf[:n]), info.Sequence, info.Status)
	}
	fmt.Println("duplicates dropped:", b.Stats().Duplicates)
	// Output:
	// one 0 first
	// two 1 in-order
	// three 2 in-order
	// duplicates dropped: 2
}

// An impaired in-memory link, seeded: 25% loss from a to b, the same
// datagrams lost on every run. (Delays and jitter run on the Clock in
// PipeConfig; faxkit's own tests give it a fake clock.)
func ExamplePipe() {
	a, b := transport.Pipe(&transport.PipeConfig{
		AToB:     transport.Impairment{Loss: 0.25, Seed: 1},
		QueueLen: 1000,
	})
	defer a.Close()
	defer b.Close()
	for i := range 1000 {
		_, _ = a.WriteTo([]byte{byte(i)}, b.LocalAddr())
	}
	st := a.Stats()
	fmt.Printf("offered %d, lost %d, delivered %d\n", st.Offered, st.Lost, st.Delivered)
	// Output:
	// offered 1000, lost 265, delivered 735
}

// A socket Conn wrapped in an impairment, the way a user tests their own
// fax application against a lossy network.
func ExampleImpair() {
	ctx := context.Background()
	l, err := transport.Listen("udp4", "127.0.0.1:0", nil)
	if err != nil {
		panic(err)
	}
	defer l.Close()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	lossy := transport.Impair(pc, &transport.ImpairConfig{
		Send: transport.Impairment{BurstRate: 0.1, BurstLen: 4, Seed: 7},
	})
	c := transport.NewConn(lossy, l.Addr(), nil)
	defer c.Close()
	for range 100 {
		_ = c.WritePacket(ctx, []byte("udptl"))
	}
	send, _, _ := lossy.Stats()
	fmt.Printf("offered %d, lost %d in %d bursts\n", send.Offered, send.Lost, send.Bursts)
	// Output:
	// offered 100, lost 24 in 6 bursts
}

// One socket per call: each side knows the other's address (from SDP).
func ExampleDial() {
	ctx := context.Background()
	pb, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	a, err := transport.Dial(ctx, "udp4", "127.0.0.1:0", pb.LocalAddr().String(), nil)
	if err != nil {
		panic(err)
	}
	defer a.Close()
	b := transport.NewConn(pb, a.LocalAddr(), nil)
	defer b.Close()

	if err := a.WritePacket(ctx, []byte("udptl")); err != nil {
		panic(err)
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	buf := make([]byte, transport.DefaultMaxDatagram)
	n, err := b.ReadPacket(rctx, buf)
	fmt.Println(string(buf[:n]), err)
	// Output: udptl <nil>
}

// Packetizer and Depacketizer work on byte slices, for code that does its
// own I/O.
func ExamplePacketizer() {
	p := transport.NewPacketizer(&transport.RTPConfig{SSRC: 0x1234, FirstSequence: 65535})
	d := transport.NewDepacketizer(nil)
	t0 := time.Unix(0, 0)
	var wire [][]byte
	for i, ifp := range []string{"a", "b", "c"} {
		pkt, err := p.Append(nil, []byte(ifp), t0.Add(time.Duration(i)*20*time.Millisecond))
		if err != nil {
			panic(err)
		}
		wire = append(wire, pkt)
	}
	// The network delivers them out of order, one twice.
	for _, pkt := range [][]byte{wire[0], wire[2], wire[1], wire[1]} {
		ifp, info, err := d.Unmarshal(pkt)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s seq=%d ts=%d %v deliver=%v\n", ifp, info.Sequence, info.Timestamp, info.Status, info.Status.Deliverable())
	}
	// Output:
	// a seq=65535 ts=0 first deliver=true
	// c seq=1 ts=320 gap deliver=true
	// b seq=0 ts=160 late deliver=true
	// b seq=0 ts=160 duplicate deliver=false
}

// Two connected Endpoints in memory, with 20% loss each way, for testing a
// T.38 terminal against another without sockets.
func ExamplePipeEndpoints() {
	a, b := transport.PipeEndpoints(&transport.PipeConfig{
		AToB: transport.Impairment{Loss: 0.2, Seed: 1},
		BToA: transport.Impairment{Loss: 0.2, Seed: 2},
	})
	defer a.Close()
	defer b.Close()
	var ep transport.Endpoint = a // what a terminal would hold
	for range 100 {
		_ = ep.WritePacket(context.Background(), []byte("ifp"))
	}
	fmt.Printf("%+v\n", a.PacketConn().(*transport.PipeConn).Stats())
	// Output:
	// {Offered:100 Delivered:78 Lost:22 BurstLost:0 Duplicated:0 Reordered:0 Delayed:0 Bursts:0}
}
