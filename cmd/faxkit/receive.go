package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/faxkit/faxkit"
	"github.com/faxkit/faxkit/phi"
	"github.com/faxkit/faxkit/phi/audit"
	"github.com/faxkit/faxkit/phi/redact"
	"github.com/faxkit/faxkit/t4"
	"github.com/faxkit/faxkit/tiff"
)

var receiveCmd = &command{
	name:    "receive",
	summary: "receive a fax over SIP or T.38 (UDPTL) into a TIFF file or the sealed store",
	usage: `usage: faxkit receive -sip-local ADDR [-sip-register sip:USER@HOST[:PORT] -sip-user NAME -sip-password-file FILE]
                      [-t38 auto|request|await|off] [flags] (-o OUT.tif | -store DIR)
       faxkit receive [-local ADDR] [-remote ADDR] [flags] (-o OUT.tif | -store DIR)

With -sip-local, answers one SIP call there (registering first with
-sip-register), moves it to T.38, receives the fax, hangs up and exits.
Without it, listens on -local for a SIP-less T.38 call over UDPTL (from
-remote, or from whoever sends first). Either way the pages go to OUT.tif
as TIFF Class F (MH, fill order 2, fax quality tags). Exit status 0
exactly when the T.30 session succeeded. OUT.tif (or the sealed document)
is written only if at least one page arrived; pages received before a
failure are kept.

  -o FILE             output TIFF (in clear: a fax is PHI)
  -store DIR          instead of -o: seal the pages into the phi store in DIR
                      (see "faxkit help store") as they arrive, so no clear
                      page ever reaches disk. The new document's ID is printed
                      on stdout (with -json, as "document_id"), and the receive
                      is written to the audit log under the operating-system
                      user. DIR's key files must exist ("faxkit store init
                      -dir DIR"); -keyfile, -auditdir and -auditkey work as for
                      "faxkit store". Read the fax back with "faxkit store get
                      -dir DIR -tiff ID". The audit log is locked only at the
                      start and at the end of the call. The remote station's
                      ident (PHI; over SIP also the caller's and the dialed
                      number) is sealed with the pages and printed nowhere:
                      -json's remote_ident is empty, and "faxkit store info
                      -dir DIR ID" shows it (audited)
  -retain DUR         with -store: the document's retention period (e.g.
                      52560h = 6 years; default: kept until deleted)
  Exactly one of -o and -store is required.

` + sipReceiveHelp + "\n" + callFlagsHelp + sipJSONHelp + `
Examples:
  faxkit receive -sip-local 192.0.2.10:5060 -json -o fax.tif
  faxkit receive -sip-local 192.0.2.10:5062 -sip-register sip:fax@pbx.example \
      -sip-user fax -sip-password-file /etc/faxkit/sip.pw -o fax.tif
  faxkit receive -local 127.0.0.1:4000 -pace=false -json -o fax.tif
  faxkit receive -local 127.0.0.1:4000 -pace=false -json -store /var/lib/faxkit
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
	var l local
	fs.StringVar(&l.dir, "store", "", "seal the received pages into the phi store in this directory")
	l.registerKeys(fs, e)
	retain := fs.Duration("retain", 0, "with -store: retention period (0 = until deleted)")
	if err := fs.Parse(args); err != nil {
		return usageErr(err)
	}
	f.parsed(fs)
	s.visit(fs)
	if fs.NArg() != 0 {
		return usagef("unexpected argument %q: receive writes to -o OUT.tif or -store DIR and takes no FILE", fs.Arg(0))
	}
	switch {
	case *out != "" && l.dir != "":
		return usagef("-o and -store are exclusive: -store keeps the fax sealed, -o writes it in clear")
	case *out == "" && l.dir == "":
		return usagef("-o is required (or -store DIR): the TIFF file, or the sealed store, to put the fax in")
	case l.dir == "" && *retain != 0:
		return usagef("-retain needs -store")
	}
	if l.dir != "" {
		return receiveSealed(ctx, e, &l, *retain, func(e *env, out string) error {
			return runReceiveTo(ctx, e, &f, &s, out)
		})
	}
	return runReceiveTo(ctx, e, &f, &s, *out)
}

// runReceiveTo receives one fax into out: a TIFF file, or a sealed
// target registered by receiveSealed.
func runReceiveTo(ctx context.Context, e *env, f *callFlags, s *sipFlags, out string) error {
	if s.set["sip-local"] || s.set["sip-register"] {
		return runSIPReceive(ctx, e, f, s, out)
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
		return runAudio(ctx, e, f, codec, raddr, nil, out)
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

	to, err := newTIFFOutput(out)
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
	w, err := to.commit(rep.RemoteIdent)
	if err != nil {
		return err
	}
	return f.finish(e, "received", tr, rep, callErr, w, elapsed, callExtra{media: "t38"})
}

// tiffOutput writes received pages to a temporary file beside the output
// and renames it into place only if a page arrived; or, for -store, seals
// them into a new document committed only if a page arrived.
type tiffOutput struct {
	path string
	tmp  *os.File
	bw   *bufio.Writer
	tw   *tiff.Writer
	w    faxkit.PageSink
	done bool
	// -store
	sealed *sealedTarget
	doc    *phi.DocumentWriter
	count  *countingSink
}

func newTIFFOutput(path string) (*tiffOutput, error) {
	if t, ok := sealedTargets.Load(path); ok {
		return newSealedOutput(t.(*sealedTarget))
	}
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
	return &tiffOutput{path: path, tmp: tmp, bw: bw, tw: w, w: w}, nil
}

// written is where a receive put the fax: the TIFF file, or the sealed
// document.
type written struct {
	path   string // the output TIFF, if pages were written to one
	sealed bool   // -store: the fax, and the remote ident, are sealed
	docID  string // -store: the new document, if pages arrived
}

// commit finishes the output: the file is renamed into place, or the
// sealed document committed with ident (the remote station's, learned
// during the call) in its sealed metadata, if pages arrived.
func (o *tiffOutput) commit(ident redact.StationID) (written, error) {
	if o.sealed != nil {
		if o.done {
			return written{sealed: true}, nil
		}
		o.done = true
		id, err := o.commitSealed(ident)
		return written{sealed: true, docID: id}, err
	}
	if o.done {
		return written{}, nil
	}
	o.done = true
	defer os.Remove(o.tmp.Name())
	if o.tw.Pages() == 0 {
		o.tmp.Close()
		return written{}, nil
	}
	err := o.tw.Close()
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
		return written{}, err
	}
	return written{path: o.path}, nil
}

// updateSealed completes a sealed document's metadata with what the call
// learned (the caller's number, the dialed number). It does nothing for
// a TIFF file: the file has no place for it.
func (o *tiffOutput) updateSealed(f func(*phi.Metadata)) error {
	if o.sealed == nil {
		return nil
	}
	return o.doc.UpdateMetadata(f)
}

// abandon removes the temporary file if commit was never reached.
func (o *tiffOutput) abandon() {
	if !o.done {
		o.done = true
		if o.sealed != nil {
			o.doc.Abort()
			return
		}
		o.tmp.Close()
		os.Remove(o.tmp.Name())
	}
}

// A sealed target is the -store destination of one receive. The receive
// paths (UDPTL, audio, SIP) each open their output with
// newTIFFOutput(out); receiveSealed registers the target under a key that
// cannot be a file name (it starts with NUL) and passes that key as out,
// so every path seals without knowing about the store.
type sealedTarget struct {
	ctx    context.Context
	e      *env
	l      *local
	store  *phi.Store
	held   *heldLog // the store's audit sink, set while the log is open
	retain time.Duration
}

var (
	sealedTargets sync.Map // key -> *sealedTarget
	sealedSeq     atomic.Uint64
)

// receiveSealed opens the store in l.dir (its key files must exist: none
// is created here) and runs the receive into it. The receive path reports
// the new document's ID (see callFlags.finish).
func receiveSealed(ctx context.Context, e *env, l *local, retain time.Duration, run func(*env, string) error) error {
	if err := l.resolve(); err != nil {
		return err
	}
	if err := checkKeyFile(l); err != nil {
		return err
	}
	if _, err := l.auditKeys(); err != nil {
		return err
	}
	held := &heldLog{}
	st, kf, err := l.openStore(ctx, e, held)
	if err != nil {
		return err
	}
	// A key file that is not the store's would seal this fax under a key
	// that cannot read the others (nor they it): refuse before the call.
	if err := checkKEK(ctx, l, st, kf); err != nil {
		return err
	}
	// Fail now, not after the call, if the audit log cannot be written.
	log, err := openAuditWait(ctx, l)
	if err != nil {
		return auditOpenErr(l, err)
	}
	if err := log.Close(); err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	t := &sealedTarget{ctx: ctx, e: e, l: l, store: st, held: held, retain: retain}
	key := fmt.Sprintf("\x00faxkit-store-%d", sealedSeq.Add(1))
	sealedTargets.Store(key, t)
	defer sealedTargets.Delete(key)
	return run(e, key)
}

// countingSink counts the pages a sink accepted.
type countingSink struct {
	next  faxkit.PageSink
	pages int
}

func (c *countingSink) WritePage(b *t4.Bitmap, opts *tiff.PageOptions) error {
	if err := c.next.WritePage(b, opts); err != nil {
		return err
	}
	c.pages++
	return nil
}

// newSealedOutput starts a sealed document: each page is encoded as a
// single-page TIFF straight into the store's sealing writer.
func newSealedOutput(t *sealedTarget) (*tiffOutput, error) {
	dw, err := t.store.Create(t.ctx, phi.Metadata{Direction: phi.Inbound, ContentType: "image/tiff"})
	if err != nil {
		return nil, err
	}
	if t.retain > 0 {
		dw.SetRetainUntil(time.Now().Add(t.retain))
	}
	cs := &countingSink{next: phi.NewTIFFWriter(dw, nil)}
	return &tiffOutput{w: cs, sealed: t, doc: dw, count: cs}, nil
}

// commitSealed commits the document, with the remote ident in its sealed
// metadata, if a page arrived, and writes the receive to the audit log; a
// document whose receive cannot be audited is crypto-shredded rather than
// kept unaudited. It returns the document's ID ("" if none was kept).
func (o *tiffOutput) commitSealed(ident redact.StationID) (string, error) {
	t := o.sealed
	if o.count.pages == 0 {
		return "", o.doc.Abort()
	}
	// The ident is PHI: it is kept only here, sealed with the fax (as
	// the faxservice does), and shown only by the audited "store info".
	if ident != "" {
		if err := o.doc.UpdateMetadata(func(m *phi.Metadata) { m.RemoteIdent = ident }); err != nil {
			o.doc.Abort()
			return "", err
		}
	}
	log, err := openAuditWait(t.ctx, t.l)
	if err != nil {
		o.doc.Abort()
		return "", fmt.Errorf("%w (the fax was not kept)", auditOpenErr(t.l, err))
	}
	t.held.log = log
	info, err := o.doc.Commit() // the store audits the creation
	aerr := audited(t.ctx, t.e, log, audit.ActionReceive, info.ID, err)
	t.held.log = nil
	aerr = errors.Join(aerr, log.Close())
	if err != nil {
		return "", err
	}
	if aerr != nil {
		if derr := t.store.ForceExpire(t.ctx, info.ID); derr != nil {
			return "", fmt.Errorf("audit log: %w; the unaudited document %s could not be removed: %w", aerr, info.ID, derr)
		}
		return "", fmt.Errorf("audit log: %w (the fax was not kept)", aerr)
	}
	return info.ID, nil
}
