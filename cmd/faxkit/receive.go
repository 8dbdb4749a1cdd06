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
	summary: "receive a fax over T.38 (UDPTL) into a TIFF file",
	usage: `usage: faxkit receive [flags] -o OUT.tif

Listens on -local for a T.38 call over UDPTL (from -remote, or from
whoever sends first), receives the fax and writes its pages to OUT.tif as
TIFF Class F (MH, fill order 2, fax quality tags). Exit status 0 exactly
when the T.30 session succeeded. OUT.tif is written only if at least one
page arrived; pages received before a failure are kept.

  -o FILE             output TIFF (required)
` + callFlagsHelp + `
Example:
  faxkit receive -local 127.0.0.1:4000 -pace=false -json -o fax.tif
`,
	run: runReceive,
}

func runReceive(ctx context.Context, e *env, args []string) error {
	var f callFlags
	fs := newFlags(e, "receive")
	f.register(fs, ":4000")
	out := fs.String("o", "", "output TIFF")
	if err := fs.Parse(args); err != nil {
		return usageErr(err)
	}
	if fs.NArg() != 0 {
		return usagef("unexpected argument %q: receive writes to -o OUT.tif and takes no FILE", fs.Arg(0))
	}
	if *out == "" {
		return usagef("-o is required: the TIFF file to write the fax to")
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
	opts, err := f.options(e.stderr, "received")
	if err != nil {
		return err
	}
	conn, err := net.ListenPacket("udp", f.local)
	if err != nil {
		return err
	}
	defer conn.Close()

	tmp, err := os.CreateTemp(filepath.Dir(*out), ".faxkit-receive-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	bw := bufio.NewWriter(tmp)
	w, err := tiff.NewWriter(bw, nil)
	if err != nil {
		tmp.Close()
		return err
	}
	tr, err := newTracer(e.stderr, f.trace, f.traceJSON)
	if err != nil {
		tmp.Close()
		return err
	}
	defer tr.close()
	opts.Logger = tr.logger()
	if !f.json {
		fmt.Fprintf(e.stderr, "waiting for a call on %s (call %s)\n", conn.LocalAddr(), tr.id)
	}
	tr.info("call", "role", "receive", "local", conn.LocalAddr().String())
	start := time.Now()
	rep, callErr := faxkit.Receive(ctx, conn, raddr, w, opts)
	elapsed := time.Since(start)
	written := ""
	if w.Pages() > 0 {
		err := w.Close()
		if err == nil {
			err = bw.Flush()
		}
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(tmp.Name(), *out)
		}
		if err != nil {
			return err
		}
		written = *out
	} else {
		tmp.Close()
	}
	return f.finish(e, "received", tr, rep, callErr, written, elapsed)
}
