package sip_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/faxkit/faxkit/internal/sippeer"
	"github.com/faxkit/faxkit/sip"
)

// BenchmarkInteropT38SwitchSofia measures t38_switch_ms (from the ACK of
// the call to the first T.38 packet) when faxkit calls sipfaxpeer
// (sofia-sip) and requests T.38 itself, over whole one-page fax calls on
// loopback; it reports the median. The goal is under 300 ms.
//
//	go test ./sip -run '^$' -bench InteropT38SwitchSofia -benchtime 10x
func BenchmarkInteropT38SwitchSofia(b *testing.B) {
	src := interopSource(b)
	var sw []float64
	for i := 0; b.Loop(); i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		rx := filepath.Join(b.TempDir(), "rx.tif")
		p := sippeer.Start(ctx, b, sippeer.Config{Role: sippeer.UAS, File: rx, T38: sippeer.Await,
			Speedup: interopSpeedup, Timeout: 45 * time.Second})
		e, err := sip.NewEndpoint(sip.Config{Policy: sip.PolicyRequest})
		if err != nil {
			b.Fatal(err)
		}
		c, err := e.Dial(ctx, p.URI("5551234"), nil)
		if err != nil {
			b.Fatal(err)
		}
		o := fkFax(ctx, c, src, "")
		if o.err != nil || !o.rep.OK {
			b.Fatalf("call %d: %v", i, o)
		}
		if _, err := p.Wait(); err != nil {
			b.Fatal(err)
		}
		e.Close()
		cancel()
		sw = append(sw, float64(o.sw)/1e6)
	}
	slices.Sort(sw)
	b.ReportMetric(sw[len(sw)/2], "t38_switch_ms")
}
