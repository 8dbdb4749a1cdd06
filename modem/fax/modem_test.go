package fax

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit/t30"
)

// pipeEnd is one modem's side of a wire that moves a block each way every
// 20 ms of (synctest's virtual) time.
type pipeEnd struct {
	in  chan []int16
	out chan []int16
}

func (p *pipeEnd) ReadBlock(rx []int16) (bool, error) {
	b, ok := <-p.in
	if !ok {
		return false, context.Canceled
	}
	copy(rx, b)
	return true, nil
}

func (p *pipeEnd) WriteBlock(tx []int16) error {
	p.out <- append([]int16(nil), tx...)
	return nil
}

// wire paces the two ends on a 20 ms ticker until ctx ends.
func wire(ctx context.Context, a, b *pipeEnd) {
	tk := time.NewTicker(20 * time.Millisecond)
	defer tk.Stop()
	defer close(a.in)
	defer close(b.in)
	lastA, lastB := make([]int16, BlockSize), make([]int16, BlockSize)
	for {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
		}
		a.in <- lastB
		b.in <- lastA
		lastA, lastB = <-a.out, <-b.out
	}
}

// TestDriverRealTime holds an ECM call between two t30.Drivers over two
// Modems paced in (virtual) real time by a 20 ms wire.
func TestDriverRealTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		doc := testDoc(1, 300)
		var got []t30.ReceivedPage
		txs, err := t30.NewSession(t30.Config{Calling: true, Transmit: true, Document: doc,
			Capabilities: audioCaps(true, t30.ModemsV29|t30.ModemsV27ter)})
		require.NoError(t, err)
		rxs, err := t30.NewSession(t30.Config{Capabilities: audioCaps(true, t30.ModemsV29|t30.ModemsV27ter),
			OnPage: func(p t30.ReceivedPage) error { got = append(got, p); return nil }})
		require.NoError(t, err)
		ma, mb := NewModem(nil), NewModem(nil)
		ea := &pipeEnd{in: make(chan []int16, 1), out: make(chan []int16, 1)}
		eb := &pipeEnd{in: make(chan []int16, 1), out: make(chan []int16, 1)}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Add(3)
		go func() { defer wg.Done(); wire(ctx, ea, eb) }()
		go func() { defer wg.Done(); _ = ma.Run(ctx, ea) }()
		go func() { defer wg.Done(); _ = mb.Run(ctx, eb) }()
		start := time.Now()
		var rxRes t30.Result
		done := make(chan struct{})
		go func() { rxRes = t30.Run(ctx, rxs, mb, nil); close(done) }()
		txRes := t30.Run(ctx, txs, ma, nil)
		<-done
		elapsed := time.Since(start)
		cancel()
		wg.Wait()
		require.NoError(t, ma.Close())
		require.NoError(t, mb.Close())
		t.Logf("tx %v rx %v in %v of virtual time; rx modem %+v", txRes, rxRes, elapsed, mb.Stats())
		require.Equal(t, t30.ResultOK, txRes)
		require.Equal(t, t30.ResultOK, rxRes)
		checkPages(t, callOutcome{doc: doc, got: got})
		// Line time and the clock agree: the modems ran in real time.
		require.InDelta(t, elapsed.Seconds(), ma.LineTime().Seconds(), 0.1)
	})
}
