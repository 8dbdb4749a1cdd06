package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/faxkit/faxkit"
	"github.com/faxkit/faxkit/t30"
)

var sendCmd = &command{
	name:    "send",
	summary: "send a fax over T.38 (UDPTL)",
	usage: `usage: faxkit send [flags] FILE

Sends FILE (a TIFF; PNG, JPEG, GIF and PDF are converted to fax pages
first) to the T.38 peer at -remote over UDPTL, and reports how the T.30
session ended. Exit status 0 exactly when the session succeeded.

` + callFlagsHelp + `
Example:
  faxkit send -remote 192.0.2.7:4000 -pace=false letter.tif
`,
	run: runSend,
}

// callFlagsHelp documents the flags send and receive share.
const callFlagsHelp = `flags:
  -local ADDR         UDP address to bind (send: ":0"; receive: ":4000")
  -remote ADDR        the peer's UDP address (receive: default answers the first sender)
  -ecm=true|false     error correction mode (default true)
  -compression LIST   codings offered/accepted: mh,mr,mmr (default all; MH is always allowed)
  -t38-version N      T.38 version 0..3 (default 0)
  -ec MODE            UDPTL error correction: redundancy, fec or none (default redundancy)
  -ec-depth N         redundancy depth, or FEC entries (default 3)
  -max-datagram N     largest datagram, the peer's T38FaxMaxDatagram (default 400)
  -rate N             highest bit rate: 2400, 4800, 7200, 9600, 12000, 14400 (default 14400)
  -pace=true|false    real-time pacing (default true); false sends as fast as possible
  -ident STRING       local ident (TSI/CSI), up to 20 characters
  -timeout DURATION   end the call after this long (default: T.30 timers only)
  -json               print one JSON object with the result on stdout
  -rtp                carry IFP over RTP (payload type -rtp-pt, default 96) instead of UDPTL
`

// callFlags are the flags of send and receive.
type callFlags struct {
	local, remote string
	ecm           bool
	compression   string
	version       int
	ec            string
	ecDepth       int
	maxDatagram   int
	rate          int
	pace          bool
	ident         string
	timeout       time.Duration
	json          bool
	rtp           bool
	rtpPT         uint
}

func (f *callFlags) register(fs *flag.FlagSet, defLocal string) {
	fs.StringVar(&f.local, "local", defLocal, "UDP address to bind")
	fs.StringVar(&f.remote, "remote", "", "peer UDP address")
	fs.BoolVar(&f.ecm, "ecm", true, "error correction mode")
	fs.StringVar(&f.compression, "compression", "mh,mr,mmr", "codings offered/accepted")
	fs.IntVar(&f.version, "t38-version", 0, "T.38 version 0..3")
	fs.StringVar(&f.ec, "ec", "redundancy", "UDPTL error correction: redundancy, fec, none")
	fs.IntVar(&f.ecDepth, "ec-depth", 3, "redundancy depth or FEC entries")
	fs.IntVar(&f.maxDatagram, "max-datagram", 400, "largest datagram")
	fs.IntVar(&f.rate, "rate", 14400, "highest bit rate")
	fs.BoolVar(&f.pace, "pace", true, "real-time pacing")
	fs.StringVar(&f.ident, "ident", "", "local ident")
	fs.DurationVar(&f.timeout, "timeout", 0, "call time limit")
	fs.BoolVar(&f.json, "json", false, "print the result as JSON on stdout")
	fs.BoolVar(&f.rtp, "rtp", false, "IFP over RTP instead of UDPTL")
	fs.UintVar(&f.rtpPT, "rtp-pt", 96, "RTP payload type with -rtp")
	fs.Usage = func() {}
}

// options turns the flags into faxkit.Options; progress lines go to w.
func (f *callFlags) options(w io.Writer, verb string) (*faxkit.Options, error) {
	comps, err := faxkit.ParseCompressions(f.compression)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	if f.rtpPT == 0 || f.rtpPT > 127 {
		return nil, fmt.Errorf("%w: -rtp-pt %d (want 1..127)", errUsage, f.rtpPT)
	}
	ec, err := faxkit.ParseErrorCorrection(f.ec)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	o := &faxkit.Options{
		Fax: faxkit.FaxOptions{
			DisableECM:   !f.ecm,
			Compressions: comps,
			MaxBitRate:   f.rate,
			LocalIdent:   f.ident,
		},
		T38: faxkit.T38Options{
			Version:         f.version,
			ErrorCorrection: ec,
			ECDepth:         f.ecDepth,
			MaxDatagram:     f.maxDatagram,
			RTP:             f.rtp,
			RTPPayloadType:  uint8(f.rtpPT),
		},
		Timeout: f.timeout,
		OnEvent: func(ev faxkit.Event) {
			if ev.Page != nil {
				fmt.Fprintln(w, progressLine(verb, ev.Page))
			}
		},
	}
	if !f.pace {
		o.T38.Pacing = faxkit.Unpaced
	}
	return o, nil
}

func progressLine(verb string, p *faxkit.PageStats) string {
	ecm := "no ECM"
	if p.ECM {
		ecm = "ECM"
	}
	s := fmt.Sprintf("page %d %s: %s %s, %d bit/s, %s, %d bytes", p.Number, verb, p.Compression, p.Resolution, p.BitRate, ecm, p.Bytes)
	if verb == "received" {
		s += fmt.Sprintf(", %d rows, %d bad", p.Rows, p.BadRows)
	}
	return s + fmt.Sprintf(" (%.1f s)", p.At.Seconds())
}

// jsonReport is the -json output: the contract operators and tests rely on.
type jsonReport struct {
	OK            bool       `json:"ok"`
	Result        string     `json:"result"`
	Pages         int        `json:"pages"`
	PagesRejected int        `json:"pages_rejected"`
	BitRate       int        `json:"bit_rate"`
	Compression   string     `json:"compression"`
	Resolution    string     `json:"resolution"`
	ECM           bool       `json:"ecm"`
	BadRows       int        `json:"bad_rows"`
	RemoteIdent   string     `json:"remote_ident"`
	DurationMS    int64      `json:"duration_ms"`
	Output        string     `json:"output,omitempty"`
	PageDetail    []jsonPage `json:"page_detail"`
	Error         string     `json:"error,omitempty"`
}

type jsonPage struct {
	Number      int    `json:"number"`
	Compression string `json:"compression"`
	Resolution  string `json:"resolution"`
	BitRate     int    `json:"bit_rate"`
	ECM         bool   `json:"ecm"`
	Bytes       int    `json:"bytes"`
	Rows        int    `json:"rows"`
	BadRows     int    `json:"bad_rows"`
	AtMS        int64  `json:"at_ms"`
}

func toJSON(r faxkit.Report) jsonReport {
	j := jsonReport{
		OK: r.OK, Result: r.Result.String(), Pages: r.Pages, PagesRejected: r.PagesRejected,
		BitRate: r.BitRate, ECM: r.ECM, BadRows: r.BadRows,
		// The operator asked for the ident: it is shown here, and only here.
		RemoteIdent: r.RemoteIdent.Reveal(),
		DurationMS:  r.Duration.Milliseconds(),
		PageDetail:  []jsonPage{},
	}
	if r.Compression != t30.CompressionNone {
		j.Compression = r.Compression.String()
		j.Resolution = r.Resolution.String()
	}
	for _, p := range r.PageStats {
		j.PageDetail = append(j.PageDetail, jsonPage{Number: p.Number, Compression: p.Compression.String(),
			Resolution: p.Resolution.String(), BitRate: p.BitRate, ECM: p.ECM, Bytes: p.Bytes,
			Rows: p.Rows, BadRows: p.BadRows, AtMS: p.At.Milliseconds()})
	}
	return j
}

// finish prints the outcome and returns the command's error: nil exactly
// when the session succeeded.
func (f *callFlags) finish(e *env, verb string, rep faxkit.Report, callErr error, output string) error {
	if f.json {
		j := toJSON(rep)
		j.Output = output
		if callErr != nil && !rep.OK {
			var re *t30.ResultError
			if !errors.As(callErr, &re) {
				j.Error = callErr.Error()
			}
		}
		enc := json.NewEncoder(e.stdout)
		if err := enc.Encode(j); err != nil {
			return err
		}
	} else if rep.Result != t30.ResultInProgress {
		ecm := "no ECM"
		if rep.ECM {
			ecm = "ECM"
		}
		if rep.OK {
			fmt.Fprintf(e.stderr, "fax %s: %s, %d page(s), %d bit/s, %s %s, %s, %d bad rows, %.1f s\n",
				verb, rep.Result, rep.Pages, rep.BitRate, rep.Compression, rep.Resolution, ecm, rep.BadRows, rep.Duration.Seconds())
		} else {
			fmt.Fprintf(e.stderr, "fax failed: %s (%s), %d page(s) %s, %.1f s\n",
				rep.Result, rep.Result.Text(), rep.Pages, verb, rep.Duration.Seconds())
		}
		if output != "" {
			fmt.Fprintf(e.stderr, "written to %s\n", output)
		}
	}
	if callErr == nil && rep.OK {
		return nil
	}
	if callErr == nil {
		callErr = rep.Result.Err()
	}
	var re *t30.ResultError
	if errors.As(callErr, &re) {
		return &exitError{code: 1, err: fmt.Errorf("T.30 session failed: %s", re.Result)}
	}
	return &exitError{code: 1, err: callErr}
}

// usageErr makes a flag parsing error a usage error (status 2, help text).
func usageErr(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	return fmt.Errorf("%w: %v", errUsage, err)
}

func runSend(ctx context.Context, e *env, args []string) error {
	var f callFlags
	fs := newFlags(e, "send")
	f.register(fs, ":0")
	if err := fs.Parse(args); err != nil {
		return usageErr(err)
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: want exactly one FILE", errUsage)
	}
	if f.remote == "" {
		return fmt.Errorf("%w: -remote is required", errUsage)
	}
	opts, err := f.options(e.stderr, "sent")
	if err != nil {
		return err
	}
	doc, closeDoc, err := openDocument(ctx, fs.Arg(0))
	if err != nil {
		return err
	}
	defer closeDoc()
	raddr, err := net.ResolveUDPAddr("udp", f.remote)
	if err != nil {
		return fmt.Errorf("%w: -remote: %v", errUsage, err)
	}
	conn, err := net.ListenPacket("udp", f.local)
	if err != nil {
		return err
	}
	defer conn.Close()
	if !f.json {
		fmt.Fprintf(e.stderr, "sending %d page(s) from %s to %s\n", doc.NumPages(), conn.LocalAddr(), raddr)
	}
	rep, err := faxkit.Send(ctx, conn, raddr, doc, opts)
	return f.finish(e, "sent", rep, err, "")
}

// openDocument opens a file to send: a TIFF directly, other images and PDF
// through the conversions of "faxkit tiff convert".
func openDocument(ctx context.Context, path string) (faxkit.Document, func(), error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	kind, err := sniff(fh)
	if err != nil {
		fh.Close()
		return nil, nil, err
	}
	if kind == kindTIFF {
		st, err := fh.Stat()
		if err != nil {
			fh.Close()
			return nil, nil, err
		}
		r, err := newTIFFReader(fh, st.Size())
		if err != nil {
			fh.Close()
			return nil, nil, err
		}
		doc, err := faxkit.TIFF(r)
		if err != nil {
			fh.Close()
			return nil, nil, err
		}
		return doc, func() { fh.Close() }, nil
	}
	defer fh.Close()
	pages, err := loadPages(ctx, fh, kind, convertSettings{})
	if err != nil {
		return nil, nil, err
	}
	return pages, func() {}, nil
}
