package faxkit_test

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit"
	"github.com/faxkit/faxkit/t30"
)

// A receiver that starts listening after the caller's first CNG still gets
// the call: the caller repeats CNG every 3.5 s (T.30), and Receive with a
// nil peer answers whoever sent the first datagram it reads. Here the
// receiving application comes up 4 s into the call; until then whatever
// reaches its socket is lost (drained), so only the CNG sent at 7 s can
// reach it. With a single CNG the caller would end no-answer at T1.
func TestReceiverStartsAfterFirstCNG(t *testing.T) {
	ps := pages(t, 1)
	a, b := udpPair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	var recv callResult
	var lost int
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		// The application is not listening yet: drop what arrives.
		buf := make([]byte, 2048)
		until := time.Now().Add(4 * time.Second)
		if err := b.SetReadDeadline(until); err != nil {
			t.Error(err)
			return
		}
		for {
			if _, _, err := b.ReadFrom(buf); err != nil {
				if !errors.Is(err, os.ErrDeadlineExceeded) {
					t.Errorf("drain: %v", err)
				}
				break
			}
			lost++
		}
		if err := b.SetReadDeadline(time.Time{}); err != nil {
			t.Error(err)
			return
		}
		recv.rep, recv.err = faxkit.Receive(ctx, b, nil, &memSink{}, &faxkit.Options{T38: faxkit.T38Options{Pacing: faxkit.Unpaced}})
	}()

	start := time.Now()
	so := &faxkit.Options{Fax: faxkit.FaxOptions{T1: 12 * time.Second}, T38: faxkit.T38Options{Pacing: faxkit.Unpaced}}
	rep, err := faxkit.Send(ctx, a, b.LocalAddr(), &t30.BitmapDocument{Pages: ps, Resolution: t30.ResFine}, so)
	if err != nil {
		cancel() // the receiver may still be waiting for a first datagram
	}
	wg.Wait()
	require.NoError(t, err, "sender result %v", rep.Result)
	require.NoError(t, recv.err, "receiver result %v", recv.rep.Result)
	require.True(t, rep.OK)
	require.True(t, recv.rep.OK)
	require.Equal(t, 1, recv.rep.Pages)
	require.Positive(t, lost, "the first CNG reached the socket before the receiver started")
	// The call was found by the CNG sent 7 s in, not by a fluke of T1.
	require.Greater(t, time.Since(start), 7*time.Second)
	require.Less(t, time.Since(start), 12*time.Second)
}
