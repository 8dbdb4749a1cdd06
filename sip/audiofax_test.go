package sip_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit/modem/fax"
	"github.com/faxkit/faxkit/modem/g711"
	"github.com/faxkit/faxkit/sdp"
	"github.com/faxkit/faxkit/sip"
	"github.com/faxkit/faxkit/t30"
	"github.com/faxkit/faxkit/t4"
)

// realtimeSlots runs one real-time audio fax call at a time: its modems
// must keep up with the 8 kHz sample clock on a loaded two-core machine.
var realtimeSlots = make(chan struct{}, 1)

func realtimeSlot(t testing.TB) {
	t.Helper()
	realtimeSlots <- struct{}{}
	t.Cleanup(func() { <-realtimeSlots })
}

// audioPage is a synthetic fine page of 200 rows (a few seconds of V.29).
func audioPage() *t4.Bitmap {
	b := t4.NewBitmap(1728, 200)
	for y := range 200 {
		if (y/10)%3 == 2 {
			continue
		}
		row := b.Row(y)
		for x := range 1728 {
			if (x/11+y/10)%4 == 0 && (x*5+y*3)%89 < 50 {
				row[x/8] |= 0x80 >> (x % 8)
			}
		}
	}
	return b
}

// awaitAudioFax reads a call's media changes until the audio path is
// handed over for an audio fax.
func awaitAudioFax(ctx context.Context, c *sip.Call) (sip.Media, error) {
	for {
		select {
		case m, ok := <-c.Media():
			if !ok {
				return sip.Media{}, errors.New("call ended before the audio fax: " + c.Result().String())
			}
			if m.Kind == sdp.KindAudio && m.AudioFax {
				return m, nil
			}
		case <-ctx.Done():
			return sip.Media{}, ctx.Err()
		}
	}
}

// audioFax runs T.30 on the call's audio path with faxkit's own audio
// modems (modem/fax: V.21, V.29, V.27ter over G.711 RTP) in real time,
// sending doc or receiving into got, then ends the call (FaxDone).
func audioFax(ctx context.Context, c *sip.Call, m sip.Media, doc *t30.BitmapDocument, got *[]t30.ReceivedPage) error {
	law := g711.ULaw
	if m.Audio.Codec.Name == "PCMA" {
		law = g711.ALaw
	}
	if m.PTime != 20*time.Millisecond {
		return fmt.Errorf("ptime %v", m.PTime)
	}
	// The stream continues the pre-switch leg's (sip.RTPStream and
	// fax.RTPStream have the same fields).
	line := fax.NewRTPLine(m.Conn, m.Remote, &fax.RTPConfig{Law: law, PayloadType: m.Audio.Codec.PT,
		Start: (*fax.RTPStream)(m.Stream)})
	modem := fax.NewModem(nil)
	rctx, cancel := context.WithCancel(ctx)
	go func() { _ = modem.Run(rctx, line) }()
	caps := t30.DefaultCapabilities()
	caps.Modems = t30.ModemsV29 | t30.ModemsV27ter
	cfg := t30.Config{Calling: c.Role() == sip.RoleCaller, Capabilities: &caps}
	if doc != nil {
		cfg.Transmit, cfg.Document = true, doc
	} else {
		cfg.OnPage = func(p t30.ReceivedPage) error { *got = append(*got, p); return nil }
	}
	s, err := t30.NewSession(cfg)
	if err != nil {
		cancel()
		return err
	}
	res := t30.Run(ctx, s, modem, nil)
	cancel()
	_ = modem.Close()
	_ = line.Close()
	c.FaxDone(ctx)
	if res != t30.ResultOK {
		return fmt.Errorf("audio fax: %v (rtp %+v)", res, line.Stats())
	}
	return nil
}

// samePage asserts that a received audio-fax page is want, pixel for
// pixel.
func samePage(t *testing.T, want *t4.Bitmap, p t30.ReceivedPage) {
	t.Helper()
	b, _, err := t4.DecodePage(bytes.NewReader(p.Data), want.Width, &t4.DecodeOptions{
		Compression: t30.T4Compression(p.Mode.Compression), BitOrder: t4.LSBFirst})
	require.NoError(t, err)
	require.True(t, want.Equal(b), "received page not pixel-exact")
}

// Issue 17 over SIP, faxkit to faxkit: the caller's T.38 re-INVITE is
// refused 488 by an answerer with -t38 off (audio fax from the start); with
// AudioFallback the caller stays in audio, the audio path is handed to the
// application (continuing the pre-switch leg's RTP stream), and the fax
// completes in audio with the page pixel-exact. Real time: about 15 s.
func TestAudioFallbackFax(t *testing.T) {
	if interopRace {
		t.Skip("a real-time audio fax: the race detector slows the modems below real time")
	}
	t.Parallel()
	realtimeSlot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	a := endpoint(t, sip.Config{Policy: sip.PolicyRequest, AudioFallback: true})
	b := endpoint(t, sip.Config{Policy: sip.PolicyOff})
	page := audioPage()
	var got []t30.ReceivedPage
	rx := make(chan error, 1)
	go func() {
		c, err := b.Accept(ctx)
		if err != nil {
			rx <- err
			return
		}
		m, err := awaitAudioFax(ctx, c)
		if err != nil {
			rx <- err
			return
		}
		if m.Stream != nil {
			rx <- errors.New("the off side's audio fax starts a new stream (no pre-switch leg ran)")
			return
		}
		rx <- audioFax(ctx, c, m, nil, &got)
	}()
	c, err := a.Dial(ctx, b.URI("5551234"), nil)
	require.NoError(t, err)
	m, err := awaitAudioFax(ctx, c)
	require.NoError(t, err)
	require.Equal(t, sdp.KindAudio, m.Kind)
	txErr := audioFax(ctx, c, m, &t30.BitmapDocument{Pages: []*t4.Bitmap{page}, Resolution: t30.ResFine}, nil)
	require.NoError(t, txErr)
	require.NoError(t, <-rx)
	require.Len(t, got, 1)
	samePage(t, page, got[0])
	require.Equal(t, sip.ResultFaxDone, c.Result())
	_, t38 := c.SwitchDelay()
	require.False(t, t38, "no T.38 flowed")
}
