package t38

import (
	"context"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/faxkit/faxkit/internal/clock"
	"github.com/faxkit/faxkit/t30"
	"github.com/faxkit/faxkit/transport"
)

// BenchmarkCallLoopbackUDP is an unpaced one-page fine A4 call (1728 x
// 2287 rows, ECM with MMR as negotiated by default) from one faxkit
// terminal to another over UDP on 127.0.0.1, end to end on the system
// clock: sockets, both sessions from CNG to DCN, and both terminals
// closed. SetBytes is the page's pixel data.
func BenchmarkCallLoopbackUDP(b *testing.B) {
	doc := testDoc(1, 2287, t30.ResFine)
	b.SetBytes(int64(len(doc.Pages[0].Pix)))
	b.ReportAllocs()
	for b.Loop() {
		pa, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		pb, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		ea := transport.NewConn(pa, pb.LocalAddr(), nil)
		eb := transport.NewConn(pb, pa.LocalAddr(), nil)
		cfg := TerminalConfig{EC: ECRedundancy, Pacing: PacingNone, Clock: clock.Real()}
		ta, _ := NewTerminal(ea, cfg)
		tb, _ := NewTerminal(eb, cfg)
		var pages int
		tx, _ := t30.NewSession(t30.Config{Calling: true, Transmit: true, Document: doc})
		rx, _ := t30.NewSession(t30.Config{OnPage: func(t30.ReceivedPage) error { pages++; return nil }})
		var wg sync.WaitGroup
		var rres t30.Result
		wg.Add(1)
		go func() {
			defer wg.Done()
			rres = t30.Run(context.Background(), rx, tb, nil)
		}()
		start := time.Now()
		tres := t30.Run(context.Background(), tx, ta, nil)
		wg.Wait()
		if el := time.Since(start); el > 200*time.Millisecond && os.Getenv("FAXKIT_T38_DEBUG") != "" {
			b.Logf("slow call %v: A %+v\nB %+v\ntx %+v", el, ta.Stats(), tb.Stats(), tx.Stats())
		}
		ta.Close()
		tb.Close()
		ea.Close()
		eb.Close()
		if tres != t30.ResultOK || rres != t30.ResultOK || pages != 1 {
			b.Fatalf("call failed: %v / %v, %d pages", tres, rres, pages)
		}
	}
}
