package faxkit_test

import (
	"context"
	"fmt"
	"log"
	"net"

	"github.com/faxkit/faxkit"
	"github.com/faxkit/faxkit/t30"
	"github.com/faxkit/faxkit/t4"
)

// Fax over a voice path: the call starts in audio (G.711 RTP, faxkit's
// own modems) on the RTP stream a SIP call already runs, and moves to
// T.38 if call control's re-INVITE to T.38 is accepted. Addresses are
// placeholders for what SDP agreed.
func ExampleAudioMedia() {
	rtpConn, err := net.ListenPacket("udp", "127.0.0.1:0") // the SIP call's RTP port
	if err != nil {
		log.Fatal(err)
	}
	defer rtpConn.Close()
	remoteRTP := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
	call, err := faxkit.NewCall(faxkit.CallConfig{
		Document: &t30.BitmapDocument{Pages: []*t4.Bitmap{testPage()}, Resolution: t30.ResFine}})
	if err != nil {
		log.Fatal(err)
	}
	err = call.Start(context.Background(), faxkit.AudioMedia(rtpConn, remoteRTP, &faxkit.AudioOptions{
		Codec: faxkit.PCMA,
		// Continue the voice stream: same SSRC, next sequence number and
		// timestamp.
		Stream: &faxkit.RTPStream{SSRC: 0x5eed, Seq: 1234, Timestamp: 160 * 1234},
	}))
	if err != nil {
		log.Fatal(err)
	}
	// ... later, if the peer accepted a re-INVITE to T.38 on a new port:
	//   call.SwapMedia(faxkit.T38Media(udptlConn, remoteUDPTL, nil))
	rep, _ := call.Wait()
	fmt.Println(rep.Result, rep.Media[0].Kind)
}
