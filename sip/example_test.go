package sip_test

import (
	"context"
	"fmt"
	"time"

	"github.com/faxkit/faxkit/sdp"
	"github.com/faxkit/faxkit/sip"
)

// Two endpoints on loopback: the answerer (policy auto) moves the call to
// T.38 right after the ACK; each side then has the T.38 media to run its
// fax on, and says when the fax is done.
func ExampleEndpoint() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	caller, err := sip.NewEndpoint(sip.Config{ByeWait: time.Millisecond})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer caller.Close()
	answerer, err := sip.NewEndpoint(sip.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer answerer.Close()

	answered := make(chan *sip.Call, 1)
	go func() {
		c, err := answerer.Accept(ctx)
		if err != nil {
			close(answered)
			return
		}
		answered <- c
	}()
	call, err := caller.Dial(ctx, answerer.URI("15550100"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	in := <-answered
	fmt.Println("dialed number:", in.To().User())
	for m := range call.Media() {
		fmt.Println("media:", m.Kind)
		if m.Kind == sdp.KindT38 {
			fmt.Println("T38FaxVersion", m.T38.Version, "datagrams up to", sdp.NormalizeMaxDatagram(m.T38.MaxDatagram))
			// Run the fax here: faxkit.T38Media(m.Conn, m.Remote, ...).
			call.FaxDone(ctx)
		}
	}
	fmt.Println("caller:", call.Result(), "answerer:", in.Wait(ctx))
	// Output:
	// dialed number: 15550100
	// media: audio
	// media: t38
	// T38FaxVersion 0 datagrams up to 1400
	// caller: fax-done answerer: remote-hangup
}
