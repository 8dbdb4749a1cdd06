package t38

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/faxkit/faxkit/internal/clock"
	"github.com/faxkit/faxkit/t30"
	"github.com/faxkit/faxkit/transport"
)

// fuzzFrames are T.30 frames (line order) the fuzzer can place whole, so
// that random sequences reach deep into a session: DIS, DCS, CFR, FTT,
// MCF, RTN, PPR, EOP, MPS, PPS, DCN.
var fuzzFrames = [][]byte{
	{0xFF, 0x13, 0x80, 0x00, 0xEE, 0xFA, 0x80, 0x80, 0x17},
	{0xFF, 0x13, 0x83, 0x00, 0xE2, 0x78},
	{0xFF, 0x13, 0x84},
	{0xFF, 0x13, 0x44},
	{0xFF, 0x13, 0x8C},
	{0xFF, 0x13, 0x4C},
	{0xFF, 0x13, 0xBC, 0xFF, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00},
	{0xFF, 0x13, 0x2E},
	{0xFF, 0x13, 0x4E},
	{0xFF, 0x13, 0xBE, 0x2E, 0x00, 0x00, 0x00},
	{0xFF, 0x13, 0xFA},
}

// FuzzTerminal feeds a random sequence of IFP packets (indicators, data
// fields, raw octets, whole T.30 frames, lost packets, pauses) to a
// Terminal that a T.30 session runs over, as the far end of a call.
// Whatever arrives, nothing panics and the call ends on its own. It runs
// in a synctest bubble: time is virtual (T.30's timers run out as soon as
// every goroutine waits), pauses are virtual time, and a call that never
// ended would leave the bubble deadlocked, which synctest reports.
func FuzzTerminal(f *testing.F) {
	f.Add([]byte{0, 1, 0, 2, 3, 0, 3, 2, 3, 10})
	f.Add([]byte{5, 3, 0, 3, 1, 0, 13, 1, 8, 6, 20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 1, 8, 7, 0, 3, 4, 3, 7})
	f.Add([]byte{0x81, 2, 7, 0xC0, 1, 2, 3, 4, 5, 6, 7, 4, 1, 0, 6, 3, 0xFF, 0xFF, 0xFF})
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > 512 {
			in = in[:512]
		}
		synctest.Test(t, func(t *testing.T) { fuzzTerminal(t, in) })
	})
}

func fuzzTerminal(t *testing.T, in []byte) {
	{
		clk := clock.Real() // virtual inside the bubble
		a, b := transport.PipeEndpoints(&transport.PipeConfig{QueueLen: 4096})
		defer a.Close()
		defer b.Close()
		var cfg TerminalConfig
		var scfg t30.Config
		if len(in) > 0 {
			cfg.Version = Version(in[0] & 3)
			cfg.Pacing = Pacing(in[0] >> 7)
			scfg.Calling = in[0]&0x40 != 0
			if in[0]&0x20 != 0 {
				scfg.Transmit = true
				scfg.Document = testDoc(1, 20, t30.ResFine)
			}
			in = in[1:]
		}
		cfg.Clock = clk
		term, err := NewTerminal(a, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer term.Close()
		sess, err := t30.NewSession(scfg)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var wg sync.WaitGroup
		var res t30.Result
		runDone := make(chan struct{})
		go func() {
			defer close(runDone)
			res = t30.Run(ctx, sess, term, clk)
		}()
		// Drain what the terminal sends.
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 2048)
			for {
				if _, err := b.ReadPacket(ctx, buf); err != nil {
					return
				}
			}
		}()

		snd, _ := NewSender(SenderConfig{EC: ECRedundancy, Depth: 1, MaxDatagram: 1400})
		write := func(p []byte) {
			d, err := snd.Append(nil, p)
			if err == nil {
				_ = b.WritePacket(ctx, d)
			}
		}
		put := func(p IFP) {
			p.Version = cfg.Version
			if enc, err := p.MarshalBinary(); err == nil {
				write(enc)
			}
		}
		next := func() byte {
			if len(in) == 0 {
				return 0
			}
			c := in[0]
			in = in[1:]
			return c
		}
		for len(in) > 0 {
			switch next() % 6 {
			case 0:
				put(IFP{Type: TypeIndicator, Indicator: Indicator(next() % 23)})
			case 1:
				dt, ft, n := DataType(next()%9), FieldType(next()%8), int(next()%64)
				n = min(n, len(in))
				put(IFP{Type: TypeData, DataType: dt, Fields: []Field{{Type: ft, Data: in[:n]}}})
				in = in[n:]
			case 2:
				n := min(int(next()%32), len(in))
				write(in[:n])
				in = in[n:]
			case 3:
				fr := fuzzFrames[int(next())%len(fuzzFrames)]
				put(IFP{Type: TypeIndicator, Indicator: IndV21Preamble})
				put(IFP{Type: TypeData, DataType: DataV21, Fields: []Field{{Type: FieldHDLCData, Data: rev(fr)},
					{Type: FieldHDLCFCSOK}, {Type: FieldHDLCSigEnd}}})
				put(IFP{Type: TypeIndicator, Indicator: IndNoSignal})
			case 4:
				_, _ = snd.Append(nil, []byte{0}) // lost in the network
			case 5:
				time.Sleep(time.Duration(next()%8) * 50 * time.Millisecond) // virtual
			}
		}
		<-runDone
		cancel()
		wg.Wait()
		if res == t30.ResultInProgress {
			t.Fatalf("Run returned without a result")
		}
	}
}
