package sip_test

import (
	"context"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/faxkit/faxkit/sip"
)

// BenchmarkT38Switch places a call, lets the answerer request T.38 (the
// auto policy's answering side) and sends the first UDPTL datagram as soon
// as the caller has the T.38 media: t38_switch_ms is from the caller's ACK
// to that datagram (median over b.N calls); ns/op is the whole call set-up,
// switch and BYE for both user agents.
func BenchmarkT38Switch(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	a := endpoint(b, sip.Config{Policy: sip.PolicyAuto, ByeWait: time.Millisecond})
	callee := endpoint(b, sip.Config{Policy: sip.PolicyAuto})
	go func() {
		for {
			c, err := callee.Accept(ctx)
			if err != nil {
				return
			}
			go func() {
				if _, err := awaitT38(ctx, c); err == nil {
					c.Wait(ctx)
				}
			}()
		}
	}()
	var sw []float64
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		c, err := a.Dial(ctx, callee.URI("5551234"), nil)
		if err != nil {
			b.Fatal(err)
		}
		m, err := awaitT38(ctx, c)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := m.Conn.WriteTo([]byte{0, 0, 0x02, 0, 0}, m.Remote.(*net.UDPAddr)); err != nil {
			b.Fatal(err)
		}
		d, _ := c.SwitchDelay()
		sw = append(sw, float64(d)/1e6)
		c.FaxDone(ctx)
	}
	b.StopTimer()
	slices.Sort(sw)
	b.ReportMetric(sw[len(sw)/2], "t38_switch_ms")
}
