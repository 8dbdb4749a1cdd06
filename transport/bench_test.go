package transport

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/faxkit/faxkit/internal/clock"
)

// A UDPTL datagram carrying 20 ms of V.17 14400 image data with redundancy
// is around 100-200 bytes.
const benchSize = 160

func reportRate(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
}

// BenchmarkConnLoopback: one datagram written on one socket Conn and read on
// another, 127.0.0.1, per iteration.
func BenchmarkConnLoopback(b *testing.B) {
	for _, mode := range []string{"background", "cancellable-ctx"} {
		b.Run(mode, func(b *testing.B) {
			pa, _ := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			pb, _ := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			x := NewConn(pa, pb.LocalAddr(), nil)
			y := NewConn(pb, pa.LocalAddr(), nil)
			defer x.Close()
			defer y.Close()
			ctx := context.Background()
			if mode != "background" {
				var cancel context.CancelFunc
				ctx, cancel = context.WithCancel(ctx)
				defer cancel()
			}
			msg := make([]byte, benchSize)
			buf := make([]byte, DefaultMaxDatagram)
			b.SetBytes(benchSize)
			b.ReportAllocs()
			for b.Loop() {
				if err := x.WritePacket(ctx, msg); err != nil {
					b.Fatal(err)
				}
				if _, err := y.ReadPacket(ctx, buf); err != nil {
					b.Fatal(err)
				}
			}
			reportRate(b)
		})
	}
}

// BenchmarkListenerCall: one datagram from a dialled socket through the
// Listener's demultiplexer and queue to the call's reader.
func BenchmarkListenerCall(b *testing.B) {
	l, err := Listen("udp4", "127.0.0.1:0", nil)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	ctx := context.Background()
	c, err := Dial(ctx, "udp4", "127.0.0.1:0", l.Addr().String(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	msg := make([]byte, benchSize)
	_ = c.WritePacket(ctx, msg)
	call, err := l.Accept(ctx)
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, DefaultMaxDatagram)
	if _, err := call.ReadPacket(ctx, buf); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(benchSize)
	b.ReportAllocs()
	for b.Loop() {
		if err := c.WritePacket(ctx, msg); err != nil {
			b.Fatal(err)
		}
		if _, err := call.ReadPacket(ctx, buf); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b)
}

// BenchmarkImpairment: the cost of deciding a datagram's fate (no I/O).
func BenchmarkImpairment(b *testing.B) {
	cases := []struct {
		name string
		m    Impairment
	}{
		{"none", Impairment{}},
		{"loss-burst-dup-reorder", Impairment{Loss: 0.05, BurstRate: 0.01, Duplicate: 0.05, Reorder: 0.05,
			GilbertElliott: &GilbertElliott{PGoodBad: 0.01, PBadGood: 0.3, LossBad: 1}}},
		{"delay-jitter", Impairment{Delay: 50 * time.Millisecond, Jitter: 10 * time.Millisecond}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			clk := clock.NewFake(time.Unix(0, 0))
			s := newStage(tc.m, clk, func([]byte, net.Addr) {})
			msg := make([]byte, benchSize)
			b.SetBytes(benchSize)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				s.submit(msg, nil)
				if i++; i%64 == 0 {
					clk.Advance(20 * time.Millisecond)
				}
			}
			reportRate(b)
		})
	}
}

// BenchmarkPipe: write and read one datagram through an in-memory Pipe,
// unimpaired and with loss, duplication and reordering.
func BenchmarkPipe(b *testing.B) {
	for _, tc := range []struct {
		name string
		m    Impairment
	}{{"clean", Impairment{}}, {"impaired", Impairment{Loss: 0.05, Duplicate: 0.05, Reorder: 0.05}}} {
		b.Run(tc.name, func(b *testing.B) {
			x, y := Pipe(&PipeConfig{AToB: tc.m, Clock: clock.NewFake(time.Unix(0, 0))})
			defer x.Close()
			defer y.Close()
			msg := make([]byte, benchSize)
			buf := make([]byte, DefaultMaxDatagram)
			b.SetBytes(benchSize)
			b.ReportAllocs()
			for b.Loop() {
				_, _ = x.WriteTo(msg, nil)
				for {
					// Drain without blocking: lost datagrams never come.
					_, _, _, ok, _ := y.q.tryPop(buf)
					if !ok {
						break
					}
				}
			}
			reportRate(b)
		})
	}
}

func BenchmarkPacketizer(b *testing.B) {
	p := NewPacketizer(&RTPConfig{SSRC: 1})
	ifp := make([]byte, benchSize)
	dst := make([]byte, 0, 2*benchSize)
	now := time.Unix(0, 0)
	b.SetBytes(benchSize)
	b.ReportAllocs()
	for b.Loop() {
		dst, _ = p.Append(dst[:0], ifp, now)
	}
	reportRate(b)
}

func BenchmarkDepacketizer(b *testing.B) {
	p := NewPacketizer(&RTPConfig{SSRC: 1})
	d := NewDepacketizer(nil)
	ifp := make([]byte, benchSize)
	now := time.Unix(0, 0)
	pkts := make([][]byte, 1024)
	for i := range pkts {
		pkts[i], _ = p.Append(nil, ifp, now)
	}
	b.SetBytes(benchSize)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, _, err := d.Unmarshal(pkts[i%len(pkts)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	reportRate(b)
}

// BenchmarkRTPConnLoopback: an IFP packet through RTP framing and a socket
// Conn pair on 127.0.0.1.
func BenchmarkRTPConnLoopback(b *testing.B) {
	pa, _ := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	pb, _ := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	x := NewRTPConn(NewConn(pa, pb.LocalAddr(), nil), nil)
	y := NewRTPConn(NewConn(pb, pa.LocalAddr(), nil), nil)
	defer x.Close()
	defer y.Close()
	ctx := context.Background()
	msg := make([]byte, benchSize)
	buf := make([]byte, DefaultMaxDatagram)
	b.SetBytes(benchSize)
	b.ReportAllocs()
	for b.Loop() {
		if err := x.WritePacket(ctx, msg); err != nil {
			b.Fatal(err)
		}
		if _, err := y.ReadPacket(ctx, buf); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b)
}

// BenchmarkImpairedConnLoopback: the ImpairedConn wrapper on a real socket
// with both directions active (1% duplication each way, which needs no
// waiting), one datagram per iteration in through the receive pump and
// queue, and one out through the send stage. Extra copies are left queued.
func BenchmarkImpairedConnLoopback(b *testing.B) {
	raw, _ := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	peer, _ := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	imp := Impair(raw, &ImpairConfig{
		Send:     Impairment{Duplicate: 0.01, Seed: 1},
		Receive:  Impairment{Duplicate: 0.01, Seed: 2},
		QueueLen: 4096,
	})
	x := NewConn(imp, peer.LocalAddr(), nil)
	y := NewConn(peer, raw.LocalAddr(), nil)
	defer x.Close()
	defer y.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	msg := make([]byte, benchSize)
	buf := make([]byte, DefaultMaxDatagram)
	b.SetBytes(2 * benchSize)
	b.ReportAllocs()
	for b.Loop() {
		if err := y.WritePacket(ctx, msg); err != nil {
			b.Fatal(err)
		}
		if _, err := x.ReadPacket(ctx, buf); err != nil {
			b.Fatal(err)
		}
		if err := x.WritePacket(ctx, msg); err != nil {
			b.Fatal(err)
		}
		if _, err := y.ReadPacket(ctx, buf); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(2*float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
}
