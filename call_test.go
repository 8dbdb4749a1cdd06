package faxkit_test

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit"
	"github.com/faxkit/faxkit/t30"
)

// TestCallSwapMedia hands a running call from one T.38 path to another in
// phase B, on both ends, as a SIP re-INVITE to a new media address does:
// the call completes on the second path with the page intact, and each
// Report has both paths' statistics.
func TestCallSwapMedia(t *testing.T) {
	ps := pages(t, 1)
	a1, b1 := udpPair(t)
	a2, b2 := udpPair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	unpaced := &faxkit.T38Options{Pacing: faxkit.Unpaced}

	swapped := make(chan struct{})
	var once sync.Once
	var events []faxkit.Event
	var evMu sync.Mutex
	sender, err := faxkit.NewCall(faxkit.CallConfig{
		Document: &t30.BitmapDocument{Pages: ps, Resolution: t30.ResFine},
		OnEvent: func(e faxkit.Event) {
			evMu.Lock()
			events = append(events, e)
			evMu.Unlock()
			// The answerer's DIS has arrived: phase B is under way.
			if e.Record.Kind == t30.RecordFrameReceived && e.Record.Frame.FCF == t30.FCFDIS {
				once.Do(func() { close(swapped) })
			}
		},
	})
	require.NoError(t, err)
	sink := &memSink{}
	var heard []t30.EventKind
	receiver, err := faxkit.NewCall(faxkit.CallConfig{Sink: sink, OnEvent: func(e faxkit.Event) {
		if e.Heard != nil {
			evMu.Lock()
			heard = append(heard, e.Heard.Kind)
			evMu.Unlock()
		}
	}})
	require.NoError(t, err)

	require.NoError(t, receiver.Start(ctx, faxkit.T38Media(b1, a1.LocalAddr(), unpaced)))
	require.NoError(t, sender.Start(ctx, faxkit.T38Media(a1, b1.LocalAddr(), unpaced)))
	<-swapped
	// Both ends move to the second pair of sockets (each swap returns once
	// the new path is in use).
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		require.NoError(t, receiver.SwapMedia(faxkit.T38Media(b2, a2.LocalAddr(), unpaced)))
	}()
	require.NoError(t, sender.SwapMedia(faxkit.T38Media(a2, b2.LocalAddr(), unpaced)))
	wg.Wait()

	srep, serr := sender.Wait()
	rrep, rerr := receiver.Wait()
	require.NoError(t, serr)
	require.NoError(t, rerr)
	require.Len(t, sink.pages, 1)
	require.True(t, ps[0].Equal(sink.pages[0]), "page intact after the hand-over")
	for _, rep := range []faxkit.Report{srep, rrep} {
		require.Equal(t, 1, rep.Pages)
		require.Len(t, rep.Media, 2)
		first, second := rep.Media[0], rep.Media[1]
		require.Equal(t, "t38", first.Kind)
		require.Positive(t, first.Network.PacketsOut, "the first path carried phase A/B")
		require.Greater(t, second.Network.BytesOut+second.Network.BytesIn, first.Network.BytesOut+first.Network.BytesIn,
			"the page went over the second path")
		require.LessOrEqual(t, first.To, second.From)
		require.Equal(t, rep.Network.PacketsOut, first.Network.PacketsOut+second.Network.PacketsOut)
	}
	evMu.Lock()
	defer evMu.Unlock()
	var media []string
	for _, e := range events {
		if e.Media != "" {
			media = append(media, e.Media)
		}
	}
	require.Equal(t, []string{"t38"}, media, "one media change reported")
	// The answerer heard its caller: the first packet on a path (then
	// CNG, if the caller sent it before hearing DIS, and carriers). Call
	// control decides media changes on these.
	require.NotEmpty(t, heard)
	require.Equal(t, t30.EventSignal, heard[0], "%v", heard)
	require.Contains(t, heard, t30.EventCarrierUp, "%v", heard)

	// The calls are over: no more swaps.
	require.ErrorIs(t, sender.SwapMedia(faxkit.T38Media(a1, b1.LocalAddr(), nil)), faxkit.ErrCallEnded)
}

// TestCallEnd aborts a call that is waiting for its peer.
func TestCallEnd(t *testing.T) {
	a, b := udpPair(t) // b never answers
	c, err := faxkit.NewCall(faxkit.CallConfig{Document: &t30.BitmapDocument{Pages: pages(t, 1), Resolution: t30.ResFine}})
	require.NoError(t, err)
	require.NoError(t, c.Start(context.Background(), faxkit.T38Media(a, b.LocalAddr(), nil)))
	require.ErrorIs(t, c.Start(context.Background(), faxkit.T38Media(a, b.LocalAddr(), nil)), faxkit.ErrCallStarted)
	time.AfterFunc(100*time.Millisecond, c.End)
	rep, err := c.Wait()
	require.ErrorIs(t, err, &t30.ResultError{Result: t30.ResultLocalAbort})
	require.Equal(t, t30.ResultLocalAbort, rep.Result)
	<-c.Done()
}

func TestCallConfigRejected(t *testing.T) {
	doc := &t30.BitmapDocument{Pages: pages(t, 1), Resolution: t30.ResFine}
	for _, cfg := range []faxkit.CallConfig{
		{},                                // neither side
		{Document: doc, Sink: &memSink{}}, // both
		{Sink: &memSink{}, Timeout: -1},   // bad timeout
		{Document: doc, Fax: faxkit.FaxOptions{MaxBitRate: 1}},
	} {
		_, err := faxkit.NewCall(cfg)
		require.ErrorIs(t, err, faxkit.ErrOptions)
	}
	// A media path that cannot open keeps the call from starting.
	a, _ := udpPair(t)
	c, err := faxkit.NewCall(faxkit.CallConfig{Document: doc})
	require.NoError(t, err)
	require.ErrorIs(t, c.Start(context.Background(), faxkit.T38Media(a, nil, nil)), faxkit.ErrNoPeer)
	require.ErrorIs(t, c.Start(context.Background(), faxkit.T38Media(a, &net.UDPAddr{}, &faxkit.T38Options{Version: 9})), faxkit.ErrOptions)
}
