package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/faxkit/faxkit"
	"github.com/faxkit/faxkit/tiff"
)

var receiveCmd = &command{
	name:    "receive",
	summary: "receive a fax over SIP or T.38 (UDPTL) into a TIFF file",
	usage: `usage: faxkit receive -sip-local ADDR [-sip-register sip:USER@HOST[:PORT] -sip-user NAME -sip-password-file FILE]
                      [-t38 auto|request|await|off] [flags] -o OUT.tif
       faxkit receive [-local ADDR] [-remote ADDR] [flags] -o OUT.tif

With -sip-local, answers one SIP call there (registering first with
-sip-register), moves it to T.38, receives the fax, hangs up and exits.
Without it, listens on -local for a SIP-less T.38 call over UDPTL (from
-remote, or from whoever sends first). Either way the pages go to OUT.tif
as TIFF Class F (MH, fill order 2, fax quality tags). Exit status 0
exactly when the T.30 session succeeded. OUT.tif is written only if at
least one page arrived; pages received before a failure are kept.

  -o FILE             output TIFF (required)

` + sipReceiveHelp + "\n" + callFlagsHelp + sipJSONHelp + `
Examples:
  faxkit receive -sip-local 192.0.2.10:5060 -json -o fax.tif
  faxkit receive -sip-local 192.0.2.10:5062 -sip-register sip:fax@pbx.example \
      -sip-user fax -sip-password-file /etc/faxkit/sip.pw -o fax.tif
  faxkit receive -local 127.0.0.1:4000 -pace=false -json -o fax.tif
`,
	run: runReceive,
}

func runReceive(ctx context.Context, e *env, args []string) error {
	var f callFlags
	fs := newFlags(e, "receive")
	f.register(fs, ":4000")
	var s sipFlags
	s.register(fs, false)
	out := fs.String("o", "", "output TIFF")
	if err := fs.Parse(args); err != nil {
		return usageErr(err)
	}
	f.parsed(fs)
	s.visit(fs)
	if fs.NArg() != 0 {
		return usagef("unexpected argument %q: receive writes to -o OUT.tif and takes no FILE", fs.Arg(0))
	}
	if *out == "" {
		return usagef("-o is required: the TIFF file to write the fax to")
	}
	if s.set["sip-local"] || s.set["sip-register"] {
		return runSIPReceive(ctx, e, &f, &s, *out)
	}
	if err := s.noSIPFlags("-sip-local ADDR"); err != nil {
		return err
	}
	audio, codec, err := f.checkMedia()
	if err != nil {
		return err
	}
	var raddr net.Addr
	if f.remote != "" {
		ua, err := udpAddr("-remote", f.remote)
		if err != nil {
			return err
		}
		raddr = ua
	}
	if _, err := udpAddr("-local", f.local); err != nil {
		return err
	}
	if audio {
		return runAudio(ctx, e, &f, codec, raddr, nil, *out)
	}
	opts, err := f.options(e.stderr, "received")
	if err != nil {
		return err
	}
	conn, err := net.ListenPacket("udp", f.local)
	if err != nil {
		return err
	}
	defer conn.Close()

	to, err := newTIFFOutput(*out)
	if err != nil {
		return err
	}
	defer to.abandon()
	tr, err := newTracer(e.stderr, f.trace, f.traceJSON)
	if err != nil {
		return err
	}
	defer tr.close()
	opts.Logger = tr.logger()
	if !f.json {
		fmt.Fprintf(e.stderr, "waiting for a call on %s (call %s)\n", conn.LocalAddr(), tr.id)
	}
	tr.info("call", "role", "receive", "local", conn.LocalAddr().String())
	start := time.Now()
	rep, callErr := faxkit.Receive(ctx, conn, raddr, to.w, opts)
	elapsed := time.Since(start)
	written, err := to.commit()
	if err != nil {
		return err
	}
	return f.finish(e, "received", tr, rep, callErr, written, elapsed, callExtra{media: "t38"})
}

// tiffOutput writes received pages to a temporary file beside the output
// and renames it into place only if a page arrived.
type tiffOutput struct {
	path string
	tmp  *os.File
	bw   *bufio.Writer
	w    *tiff.Writer
	done bool
}

func newTIFFOutput(path string) (*tiffOutput, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".faxkit-receive-*")
	if err != nil {
		return nil, err
	}
	bw := bufio.NewWriter(tmp)
	w, err := tiff.NewWriter(bw, nil)
	if err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, err
	}
	return &tiffOutput{path: path, tmp: tmp, bw: bw, w: w}, nil
}

// commit finishes the file: it returns the output path if pages were
// written (and renamed into place), or "" if none were.
func (o *tiffOutput) commit() (string, error) {
	if o.done {
		return "", nil
	}
	o.done = true
	defer os.Remove(o.tmp.Name())
	if o.w.Pages() == 0 {
		o.tmp.Close()
		return "", nil
	}
	err := o.w.Close()
	if err == nil {
		err = o.bw.Flush()
	}
	if cerr := o.tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(o.tmp.Name(), o.path)
	}
	if err != nil {
		return "", err
	}
	return o.path, nil
}

// abandon removes the temporary file if commit was never reached.
func (o *tiffOutput) abandon() {
	if !o.done {
		o.done = true
		o.tmp.Close()
		os.Remove(o.tmp.Name())
	}
}
