// Command loopback is faxkit's main job in one program: a real T.38 fax
// call between two faxkit endpoints over UDP on 127.0.0.1, with the
// received fax stored sealed (encrypted at rest, access-controlled,
// audited) and its audit trail shown.
//
//	go run ./examples/loopback                 # 3 pages, unpaced, a few seconds
//	go run ./examples/loopback -pace -pages 1  # real-time pacing, as a gateway needs
//	go run ./examples/loopback -dir /tmp/fax   # keep the files somewhere known
//
// It renders a synthetic letter (made-up names, no real PHI), writes it as
// a TIFF, sends it with faxkit.Send to a faxkit.Receive listening on
// another socket, streams each received page straight into a phi sealed
// store (plaintext never touches the disk), reads the stored pages back as
// a clinician who was granted access and checks them pixel for pixel
// against the sent ones, exports the received TIFF for viewing, shows that
// an auditor is refused the content, and prints the verified audit trail.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/faxkit/faxkit/phi"
	"github.com/faxkit/faxkit/phi/audit"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"time"

	"github.com/faxkit/faxkit"
	"github.com/faxkit/faxkit/t4"
	"github.com/faxkit/faxkit/tiff"
)

func main() {
	pages := flag.Int("pages", 3, "pages in the synthetic letter")
	pace := flag.Bool("pace", false, "pace packets in real time, as a modem at the negotiated rate would (a page then takes tens of seconds)")
	ecm := flag.Bool("ecm", true, "use error correction mode")
	dir := flag.String("dir", "", "directory for the sent TIFF, the sealed store, the audit log and the exported TIFF (default: a new temporary directory)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout, config{pages: *pages, pace: *pace, ecm: *ecm, dir: *dir}); err != nil {
		fmt.Fprintln(os.Stderr, "loopback:", err)
		os.Exit(1)
	}
}

type config struct {
	pages int
	pace  bool
	ecm   bool
	dir   string
}

// The principals of the demo. IDs are opaque, never PHI.
var (
	gateway   = phi.Principal{ID: "fax-gateway-1", Roles: []phi.Role{phi.RoleReceiver}}
	admin     = phi.Principal{ID: "admin-1", Roles: []phi.Role{phi.RoleAdmin}}
	clinician = phi.Principal{ID: "clinician-7", Roles: []phi.Role{phi.RoleReceiver}}
	auditor   = phi.Principal{ID: "compliance-1", Roles: []phi.Role{phi.RoleAuditor}}
)

const source = "127.0.0.1" // where requests come from, for the audit log

func run(ctx context.Context, out io.Writer, cfg config) error {
	if cfg.pages < 1 {
		return errors.New("-pages must be at least 1")
	}
	dir := cfg.dir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "faxkit-loopback-"); err != nil {
			return err
		}
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}

	// 1. The document: a synthetic letter, written as a TIFF Class F file.
	letter, err := syntheticLetter(cfg.pages)
	if err != nil {
		return err
	}
	sentPath := filepath.Join(dir, "sent.tif")
	if err := writeTIFF(sentPath, letter); err != nil {
		return err
	}
	fmt.Fprintf(out, "document: %d-page synthetic letter, fine resolution, written to %s\n", cfg.pages, sentPath)

	// 2. The safeguards: a sealed store, an audit log and a default-deny
	//    policy in front of them.
	kek, err := phi.OpenOrCreateLocalKeyFile(filepath.Join(dir, "kek.json"))
	if err != nil {
		return err
	}
	store, err := phi.OpenStore(ctx, phi.StoreConfig{Dir: filepath.Join(dir, "store"), Keys: kek})
	if err != nil {
		return err
	}
	auditDir := filepath.Join(dir, "audit")
	auditKeys, err := audit.OpenOrCreateKeyFile(filepath.Join(dir, "audit.key"), "faxkit-loopback")
	if err != nil {
		return err
	}
	auditLog, err := audit.Open(audit.Config{Dir: auditDir, Keys: auditKeys})
	if err != nil {
		return err
	}
	defer auditLog.Close()
	guard := phi.NewGuard(store, phi.NewPolicy(auditLog, nil))

	// 3. The call: two endpoints on 127.0.0.1.
	txConn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer txConn.Close()
	rxConn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer rxConn.Close()
	pacing := faxkit.Unpaced
	if cfg.pace {
		pacing = faxkit.RealTime
	}
	fmt.Fprintf(out, "calling %s from %s over T.38/UDPTL, pacing: %v\n", rxConn.LocalAddr(), txConn.LocalAddr(), pacing)

	// The receiver streams each page into a sealed document as it is
	// accepted: the page is encrypted before it reaches the disk.
	doc, err := guard.Create(ctx, gateway, source, phi.Metadata{Direction: phi.Inbound, ContentType: "image/tiff"})
	if err != nil {
		return err
	}
	sealed := phi.NewTIFFWriter(doc, nil)

	var mu sync.Mutex // progress lines from both goroutines
	progress := func(side string) func(faxkit.Event) {
		return func(ev faxkit.Event) {
			if ev.Page == nil {
				return
			}
			p := ev.Page
			mu.Lock()
			defer mu.Unlock()
			ecm := "no ECM"
			if p.ECM {
				ecm = "ECM"
			}
			if side == "sent" {
				fmt.Fprintf(out, "  page %d sent:     %s %s %d bit/s %s, %6d bytes, %5.2f s\n", p.Number, p.Compression, p.Resolution, p.BitRate, ecm, p.Bytes, p.At.Seconds())
			} else {
				fmt.Fprintf(out, "  page %d received: %d rows, %d bad, sealed\n", p.Number, p.Rows, p.BadRows)
			}
		}
	}
	common := faxkit.Options{Fax: faxkit.FaxOptions{DisableECM: !cfg.ecm}, T38: faxkit.T38Options{Pacing: pacing}, Timeout: 10 * time.Minute}
	txOpts, rxOpts := common, common
	txOpts.Fax.LocalIdent, rxOpts.Fax.LocalIdent = "+1 555 0100", "+1 555 0199" // fictitious numbers
	txOpts.OnEvent, rxOpts.OnEvent = progress("sent"), progress("received")

	var rxRep faxkit.Report
	var rxErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		rxRep, rxErr = faxkit.Receive(ctx, rxConn, txConn.LocalAddr(), sealed, &rxOpts)
	}()
	sendDoc, err := faxkit.OpenDocument(ctx, sentPath, nil)
	if err != nil {
		return err
	}
	defer sendDoc.Close()
	txRep, txErr := faxkit.Send(ctx, txConn, rxConn.LocalAddr(), sendDoc, &txOpts)
	wg.Wait()

	fmt.Fprintf(out, "sender:   %s (%s), %d page(s) in %v\n", txRep.Result, txRep.Result.Text(), txRep.Pages, txRep.Duration.Round(time.Millisecond))
	fmt.Fprintf(out, "receiver: %s, %d page(s), %d bit/s %s %s, ECM %v, %d bad rows\n", rxRep.Result, rxRep.Pages, rxRep.BitRate, rxRep.Compression, rxRep.Resolution, rxRep.ECM, rxRep.BadRows)
	// Record the call itself, without PHI (the remote ident is sealed in
	// the document's metadata, not written to the log).
	outcome := audit.OutcomeSuccess
	if rxErr != nil {
		outcome = audit.OutcomeFailure
	}
	if _, err := auditLog.Append(ctx, audit.Event{Principal: gateway.ID, Action: audit.ActionReceive, Document: doc.ID(), Source: source, Outcome: outcome,
		Detail: fmt.Sprintf("t30 result %s, %d pages", rxRep.Result, rxRep.Pages)}); err != nil {
		return err
	}
	if rxErr != nil || txErr != nil {
		doc.Abort()
		return errors.Join(txErr, rxErr)
	}
	doc.SetRetainUntil(time.Now().AddDate(7, 0, 0)) // e.g. a seven-year retention policy
	// The sender's ident, learned during the call, is sealed with the fax.
	doc.UpdateMetadata(func(m *phi.Metadata) { m.RemoteIdent = rxRep.RemoteIdent })
	info, err := doc.Commit() // grants the gateway access and audits the creation
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "stored sealed: document %s, %d pages, %d bytes encrypted (AES-256-GCM streaming, own data key), retained until %s\n",
		info.ID, info.Pages, info.SealedSize, info.RetainUntil.Format("2006-01-02"))

	// 4. Access: default deny. The clinician gets read access from an
	//    admin; the auditor, who may read the log, may not read the fax.
	if err := guard.GrantAccess(ctx, admin, source, info.ID, clinician.ID, phi.PermReadMetadata|phi.PermReadContent); err != nil {
		return err
	}
	if _, err := guard.Open(ctx, auditor, source, info.ID); err == nil {
		return errors.New("the auditor could read the fax: the policy is not default-deny")
	} else {
		fmt.Fprintf(out, "auditor reading the fax: refused (%v)\n", err)
	}

	// 5. Verify: the clinician reads the sealed pages back (each page's
	//    SHA-256 and every 4 KiB segment's tag are checked) and compares them
	//    with what was sent.
	rd, err := guard.Open(ctx, clinician, source, info.ID)
	if err != nil {
		return err
	}
	n := 0
	for ; ; n++ {
		p, err := rd.NextTIFFPage()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			rd.Close()
			return err
		}
		bm, err := p.Bitmap()
		if err != nil {
			rd.Close()
			return err
		}
		if n >= len(letter) || !bm.Equal(letter[n]) {
			rd.Close()
			return fmt.Errorf("stored page %d differs from the sent page", n+1)
		}
	}
	rd.Close()
	if n != len(letter) {
		return fmt.Errorf("stored %d pages, sent %d", n, len(letter))
	}
	fmt.Fprintf(out, "verified: all %d stored pages match the sent pages pixel for pixel\n", n)

	// 6. Export the received fax for viewing (a deliberate, audited read;
	//    the exported file is plaintext, so this demo uses made-up data).
	recvPath := filepath.Join(dir, "received.tif")
	if err := exportTIFF(ctx, guard, info.ID, recvPath); err != nil {
		return err
	}
	fmt.Fprintf(out, "exported the received fax to %s\n", recvPath)

	// 7. The audit trail, verified (hash chain, HMAC, signed checkpoints)
	//    and exported as the auditor would: no PHI in it.
	if err := auditLog.Close(); err != nil {
		return err
	}
	rep, err := audit.Verify(auditDir, auditKeys)
	if err != nil {
		return fmt.Errorf("audit log verification: %w", err)
	}
	fmt.Fprintf(out, "audit trail (%d records, chain and %d signed checkpoint(s) verified):\n", rep.Records, rep.Checkpoints)
	var buf bytes.Buffer
	if _, err := audit.Export(auditDir, auditKeys, &buf, time.Time{}, time.Time{}); err != nil {
		return err
	}
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		var ev audit.Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return err
		}
		doc := ev.Document
		if len(doc) > 8 {
			doc = doc[:8] + "…"
		}
		fmt.Fprintf(out, "  %3d %s %-13s %-13s %-9s %-8s %s\n", ev.Seq, ev.Time.Format("15:04:05.000"), ev.Principal, ev.Action, doc, ev.Outcome, ev.Detail)
	}
	fmt.Fprintf(out, "files are in %s\n", dir)
	return sc.Err()
}

func writeTIFF(path string, pages []*t4.Bitmap) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w, err := tiff.NewWriter(f, &tiff.WriterConfig{PageCount: len(pages)})
	if err == nil {
		for _, p := range pages {
			if err = w.WritePage(p, &tiff.PageOptions{Resolution: tiff.ResFine}); err != nil {
				break
			}
		}
	}
	if err == nil {
		err = w.Close()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func exportTIFF(ctx context.Context, guard *phi.Guard, id, path string) error {
	rd, err := guard.Open(ctx, clinician, source, id)
	if err != nil {
		return err
	}
	defer rd.Close()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	_, err = rd.WriteTIFF(bw, &tiff.WriterConfig{Compression: tiff.CompressionGroup4})
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
