package transport

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestWritePackets: a batch arrives whole and in order, over a UDP socket
// (sendmmsg) and over the pipe (one write each), and the counters agree.
func TestWritePackets(t *testing.T) {
	for _, udp := range []bool{true, false} {
		t.Run(fmt.Sprintf("udp=%v", udp), func(t *testing.T) {
			var a, b *Conn
			if udp {
				pa, err := net.ListenPacket("udp4", "127.0.0.1:0")
				require.NoError(t, err)
				pb, err := net.ListenPacket("udp4", "127.0.0.1:0")
				require.NoError(t, err)
				a, b = NewConn(pa, pb.LocalAddr(), nil), NewConn(pb, pa.LocalAddr(), nil)
			} else {
				a, b = PipeEndpoints(nil)
			}
			defer a.Close()
			defer b.Close()
			var ps [][]byte
			for i := range 40 {
				ps = append(ps, bytes.Repeat([]byte{byte(i)}, 10+i))
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			n, err := a.WritePackets(ctx, ps)
			require.NoError(t, err)
			require.Equal(t, len(ps), n)
			buf := make([]byte, 2048)
			for i := range ps {
				m, err := b.ReadPacket(ctx, buf)
				require.NoError(t, err)
				require.Equal(t, ps[i], buf[:m], "datagram %d", i)
			}
			require.Equal(t, uint64(len(ps)), a.Stats().PacketsOut)
			_, err = a.WritePackets(ctx, [][]byte{make([]byte, DefaultMaxDatagram+1), {1}})
			require.ErrorIs(t, err, ErrTooLarge)
			require.NoError(t, a.Close())
			_, err = a.WritePackets(ctx, ps)
			require.ErrorIs(t, err, ErrClosed)
		})
	}
}

// BenchmarkWritePackets: 32 datagrams of 100 octets to a UDP socket on
// loopback, batched (sendmmsg) or one system call each.
func BenchmarkWritePackets(b *testing.B) {
	for _, batched := range []bool{true, false} {
		b.Run(fmt.Sprintf("batched=%v", batched), func(b *testing.B) {
			pa, err := net.ListenPacket("udp4", "127.0.0.1:0")
			require.NoError(b, err)
			pb, err := net.ListenPacket("udp4", "127.0.0.1:0")
			require.NoError(b, err)
			defer pb.Close()
			a := NewConn(pa, pb.LocalAddr(), nil)
			defer a.Close()
			go func() { // drain
				buf := make([]byte, 2048)
				for {
					if _, _, err := pb.ReadFrom(buf); err != nil {
						return
					}
				}
			}()
			ps := make([][]byte, 32)
			for i := range ps {
				ps[i] = make([]byte, 100)
			}
			ctx := context.Background()
			b.SetBytes(int64(len(ps) * 100))
			b.ReportAllocs()
			for b.Loop() {
				if batched {
					_, _ = a.WritePackets(ctx, ps)
				} else {
					for _, p := range ps {
						_ = a.WritePacket(ctx, p)
					}
				}
			}
		})
	}
}
