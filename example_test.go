package faxkit_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"log"
	"net"
	"os"
	"path/filepath"

	"github.com/faxkit/faxkit"
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

	doc := &t30.BitmapDocument{Pages: []*t4.Bitmap{testPage()}, Resolution: t30.ResFine}
	rep, err := faxkit.Send(ctx, conn, peer, doc, &faxkit.Options{
		Fax: faxkit.FaxOptions{LocalIdent: "+1 555 0100"},
		T38: faxkit.T38Options{Pacing: faxkit.Unpaced}, // IP to IP; leave RealTime for gateways
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
	rep, err := faxkit.Receive(ctx, conn, nil, w, &faxkit.Options{T38: faxkit.T38Options{Pacing: faxkit.Unpaced}})
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
		var sink pageCounter
		if _, err := faxkit.Receive(context.Background(), conn, caller, &sink, &faxkit.Options{T38: faxkit.T38Options{Pacing: faxkit.Unpaced}}); err != nil {
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
	doc := &t30.BitmapDocument{Pages: []*t4.Bitmap{testPage()}, Resolution: t30.ResFine}
	if _, err := faxkit.Send(context.Background(), conn, to, doc, &faxkit.Options{T38: faxkit.T38Options{Pacing: faxkit.Unpaced}}); err != nil {
		log.Print(err)
	}
}

// testPage draws a fine A4 page (1728 x 2287 pixels) with a few black bars;
// a real application opens its document with faxkit.OpenDocument.
func testPage() *t4.Bitmap {
	page := t4.NewBitmap(1728, 2287)
	for y := 200; y < 2000; y += 40 {
		for x := 150; x < 1500-y/4; x++ {
			page.SetBlack(x, y, true)
			page.SetBlack(x, y+1, true)
		}
	}
	return page
}

// Open a file (TIFF, PDF, PNG, JPEG or GIF) as a fax document.
func ExampleOpenDocument() {
	dir, err := os.MkdirTemp("", "faxkit-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "letter.png")
	img := image.NewGray(image.Rect(0, 0, 850, 1100)) // a letter page at 100 dpi, all black
	f, err := os.Create(path)
	if err != nil {
		log.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		log.Fatal(err)
	}
	f.Close()

	doc, err := faxkit.OpenDocument(context.Background(), path, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer doc.Close()
	fm := doc.Format(0)
	fmt.Println(doc.FileType, doc.NumPages(), "page,", fm.Resolution, fm.Width)
	// Output: png 1 page, fine A4
}

// Drive a call from call control: start it on one media path, move it to
// another mid-call (as a SIP re-INVITE does), and wait for the result.
func ExampleCall() {
	ctx := context.Background()
	// Two sockets per end: the first media path, and the one the call
	// moves to.
	var conns [4]net.PacketConn
	for i := range conns {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			log.Fatal(err)
		}
		defer c.Close()
		conns[i] = c
	}
	unpaced := &faxkit.T38Options{Pacing: faxkit.Unpaced}
	var sink pageCounter
	rx, err := faxkit.NewCall(faxkit.CallConfig{Sink: &sink})
	if err != nil {
		log.Fatal(err)
	}
	tx, err := faxkit.NewCall(faxkit.CallConfig{
		Document: &t30.BitmapDocument{Pages: []*t4.Bitmap{testPage()}, Resolution: t30.ResFine}})
	if err != nil {
		log.Fatal(err)
	}
	if err := rx.Start(ctx, faxkit.T38Media(conns[1], conns[0].LocalAddr(), unpaced)); err != nil {
		log.Fatal(err)
	}
	if err := tx.Start(ctx, faxkit.T38Media(conns[0], conns[1].LocalAddr(), unpaced)); err != nil {
		log.Fatal(err)
	}
	// Call control agreed on new addresses: both ends move.
	go rx.SwapMedia(faxkit.T38Media(conns[3], conns[2].LocalAddr(), unpaced))
	if err := tx.SwapMedia(faxkit.T38Media(conns[2], conns[3].LocalAddr(), unpaced)); err != nil {
		log.Fatal(err)
	}
	rep, err := tx.Wait()
	if err != nil {
		log.Fatal(err)
	}
	rx.Wait()
	fmt.Println(rep.Result, rep.Pages, len(rep.Media), "media paths")
	// Output: ok 1 2 media paths
}

// pageCounter is a PageSink that counts pages; use a *tiff.Writer or a
// *phi.TIFFWriter to keep them.
type pageCounter struct{ n int }

func (c *pageCounter) WritePage(*t4.Bitmap, *tiff.PageOptions) error { c.n++; return nil }
