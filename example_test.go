package faxkit_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"net"

	"github.com/faxkit/faxkit"
	"github.com/faxkit/faxkit/internal/sample"
	"github.com/faxkit/faxkit/t30"
	"github.com/faxkit/faxkit/t4"
	"github.com/faxkit/faxkit/tiff"
)

// Send a one-page fax to a T.38 peer. Here the peer is a faxkit.Receive on
// another socket of this machine.
func ExampleSend() {
	ctx := context.Background()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	peer, done := startReceiver(conn.LocalAddr())

	page, err := sample.Letter(1, 1, sample.Fine)
	if err != nil {
		log.Fatal(err)
	}
	doc := &t30.BitmapDocument{Pages: []*t4.Bitmap{page}, Resolution: t30.ResFine}
	rep, err := faxkit.Send(ctx, conn, peer, doc, &faxkit.Options{
		Pacing:     faxkit.Unpaced, // IP to IP; leave RealTime for gateways
		LocalIdent: "+1 555 0100",
	})
	if err != nil {
		log.Fatal(err) // a *t30.ResultError when the call failed
	}
	<-done
	fmt.Println(rep.Result, rep.Pages, rep.Compression, rep.BitRate, rep.ECM)
	// Output: ok 1 MMR 14400 true
}

// Receive a fax into a TIFF file (here a buffer). For patient data, pass a
// *phi.TIFFWriter instead, so that pages are sealed before they reach disk
// (see examples/loopback).
func ExampleReceive() {
	ctx := context.Background()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	go sendOnePage(conn.LocalAddr())

	var file bytes.Buffer
	w, err := tiff.NewWriter(&file, nil)
	if err != nil {
		log.Fatal(err)
	}
	// A nil peer answers whoever calls first.
	rep, err := faxkit.Receive(ctx, conn, nil, w, &faxkit.Options{Pacing: faxkit.Unpaced})
	if err != nil {
		log.Fatal(err)
	}
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}
	fmt.Println(rep.Result, rep.Pages, "page(s), bad rows:", rep.BadRows)
	fmt.Println("TIFF pages written:", w.Pages())
	// Output:
	// ok 1 page(s), bad rows: 0
	// TIFF pages written: 1
}

// startReceiver answers one call from caller on a new socket.
func startReceiver(caller net.Addr) (net.Addr, <-chan struct{}) {
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer conn.Close()
		var sink memSink
		if _, err := faxkit.Receive(context.Background(), conn, caller, &sink, &faxkit.Options{Pacing: faxkit.Unpaced}); err != nil {
			log.Print(err)
		}
	}()
	return conn.LocalAddr(), done
}

func sendOnePage(to net.Addr) {
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	page, err := sample.Letter(1, 1, sample.Fine)
	if err != nil {
		log.Fatal(err)
	}
	doc := &t30.BitmapDocument{Pages: []*t4.Bitmap{page}, Resolution: t30.ResFine}
	if _, err := faxkit.Send(context.Background(), conn, to, doc, &faxkit.Options{Pacing: faxkit.Unpaced}); err != nil {
		log.Print(err)
	}
}
