package sip_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit/modem/g711"
	"github.com/faxkit/faxkit/modem/tone"
	"github.com/faxkit/faxkit/sdp"
	"github.com/faxkit/faxkit/sip"
)

// A caller in auto mode that hears the answerer's CED on the audio leg
// requests T.38 at once instead of waiting AutoRequestDelay.
func TestCallerHearsCEDAndSwitches(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a := endpoint(t, sip.Config{Policy: sip.PolicyAuto, AutoRequestDelay: 15 * time.Second, ByeWait: time.Millisecond})
	b := endpoint(t, sip.Config{Policy: sip.PolicyAwait})
	go func() {
		c, err := b.Accept(ctx)
		if err != nil {
			return
		}
		m := <-c.Media()
		if m.Kind != sdp.KindAudio {
			return
		}
		// Play CED (2100 Hz) as PCMU RTP to the caller, as a fax machine
		// answering would, until T.38 is up.
		gen := tone.NewGenerator(tone.CED, tone.GenConfig{})
		pcm := make([]int16, 160)
		pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: m.Audio.Codec.PT, SSRC: 7}, Payload: make([]byte, 160)}
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
			case <-c.Done():
				return
			case <-ctx.Done():
				return
			}
			gen.Process(pcm)
			g711.Encode(g711.ULaw, pkt.Payload, pcm)
			raw, _ := pkt.Marshal()
			_, _ = m.Conn.WriteTo(raw, m.Remote.(*net.UDPAddr))
			pkt.SequenceNumber++
			pkt.Timestamp += 160
		}
	}()
	start := time.Now()
	c, err := a.Dial(ctx, b.URI("5551234"), nil)
	require.NoError(t, err)
	m, err := awaitT38(ctx, c)
	require.NoError(t, err)
	took := time.Since(start)
	require.Less(t, took, 5*time.Second, "switched on CED, not on the 15 s timer")
	require.Greater(t, took, 350*time.Millisecond, "CED takes 400 ms to recognise")
	require.NotNil(t, m.T38)
	c.FaxDone(ctx)
}
