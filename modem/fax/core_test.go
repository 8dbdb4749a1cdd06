package fax

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit/t30"
	"github.com/faxkit/faxkit/t4"
)

// pump runs a sender core into a receiver core until the sender is idle
// and the receiver has seen the carrier drop, returning the receiver's events.
func pump(t *testing.T, a, b *Core, blocks int) []t30.Event {
	var evs []t30.Event
	var buf, silence [BlockSize]int16
	for i := 0; i < blocks; i++ {
		a.Process(silence[:], buf[:])
		a.Poll()
		b.Process(buf[:], silence[:])
		for _, e := range b.Poll() {
			e.Data = append([]byte(nil), e.Data...)
			evs = append(evs, e)
		}
	}
	return evs
}

func TestImageRoundTrip(t *testing.T) {
	for _, s := range []t30.Speed{t30.V29_9600, t30.V29_7200, t30.V27ter4800, t30.V27ter2400} {
		t.Run(s.String(), func(t *testing.T) {
			data, err := t4.AppendPage(nil, testPage(0, 1728, 400), &t4.EncodeOptions{Compression: t4.MR, K: 4, BitOrder: t4.LSBFirst})
			require.NoError(t, err)
			a, b := NewCore(nil), NewCore(nil)
			require.NoError(t, b.Receive(s))
			require.NoError(t, a.SendImage(s, data))
			n := (8*len(data)*SampleRate/s.BitRate())/BlockSize + 200
			evs := pump(t, a, b, n)
			var got []byte
			var kinds []t30.EventKind
			for _, e := range evs {
				if e.Kind == t30.EventData {
					got = append(got, e.Data...)
				} else {
					kinds = append(kinds, e.Kind)
				}
			}
			require.Equal(t, []t30.EventKind{t30.EventCarrierUp, t30.EventCarrierDown}, kinds)
			require.GreaterOrEqual(t, len(got), len(data))
			if !bytes.Equal(got[:len(data)], data) {
				for i := range data {
					if got[i] != data[i] {
						t.Fatalf("first difference at octet %d of %d: got % x want % x", i, len(data), got[:16], data[:16])
					}
				}
			}
		})
	}
}

// TestPreempt: Preempt cuts a V.21 burst short; its EventSendDone comes at
// once and the next signal starts after the gap, not after the burst.
func TestPreempt(t *testing.T) {
	c := NewCore(nil)
	require.NoError(t, c.SendFrames(t30.SpeedNone, [][]byte{{0xff, 0x13, 0x80, 0, 0xce}}))
	var rx, tx [BlockSize]int16
	for range 10 {
		c.Process(rx[:], tx[:])
	}
	require.Empty(t, c.Poll())
	require.NoError(t, c.Preempt())
	require.NoError(t, c.SendFrames(t30.SpeedNone, [][]byte{{0xff, 0x13, 0xfb}}))
	require.Equal(t, []t30.Event{{Kind: t30.EventSendDone}}, c.Poll())
	// DCN: 1 s preamble + 5 octets ≈ 1.15 s, plus the 75 ms gap.
	n := 0
	for c.Busy() && n < 200 {
		c.Process(rx[:], tx[:])
		n++
	}
	require.Equal(t, []t30.Event{{Kind: t30.EventSendDone}}, c.Poll())
	require.InDelta(t, 62, n, 3, "blocks for the preempting burst")
	require.ErrorIs(t, c.SendTCF(t30.SpeedNone, t30.TCFDuration), ErrSpeed)
	require.NoError(t, c.Hangup())
	require.ErrorIs(t, c.SendTone(t30.ToneCNG), ErrClosed)
}
