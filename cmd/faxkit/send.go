package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/faxkit/faxkit"
	"github.com/faxkit/faxkit/t30"
)

var sendCmd = &command{
	name:    "send",
	summary: "send a fax over SIP or T.38 (UDPTL)",
	usage: `usage: faxkit send -to sip:USER@HOST[:PORT] [-sip-local ADDR] [-sip-transport udp|tcp|tls]
                   [-sip-proxy sip:HOST:PORT] [-sip-user NAME -sip-password-file FILE]
                   [-t38 auto|request|await|offer|off] [flags] FILE
       faxkit send -remote HOST:PORT [-local ADDR] [flags] FILE

Sends FILE (a TIFF; PNG, JPEG, GIF and PDF are converted to fax pages
first). With -to, places a SIP call, moves it to T.38 by re-INVITE (as
-t38 says), sends the fax and hangs up; without it, sends to the T.38
peer at -remote over UDPTL (no SIP). Reports how the T.30 session ended.
Exit status 0 exactly when the session succeeded.

` + sipSendHelp + "\n" + callFlagsHelp + sipJSONHelp + `
Examples:
  faxkit send -to sip:15551234567@trunk.example -sip-user acct -sip-password-file sip.pw letter.tif
  faxkit send -to sip:fax@192.0.2.7:5060 -t38 request -json letter.tif
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
  -json               print one JSON object with the result on stdout: ok, result,
                      pages, pages_rejected, bit_rate, compression, resolution, ecm,
                      bad_rows, remote_ident, duration_ms, call_id, output (receive),
                      document_id (receive -store), page_detail (per page), error
                      (what ended the call, when not the T.30 result: e.g. -timeout)
  -rtp                carry IFP over RTP (payload type -rtp-pt, default 96) instead of UDPTL
` + audioHelp + traceHelp

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
	trace         bool
	traceJSON     string
	media         string          // -media: t38 or audio (SIP-less calls)
	codec         string          // -codec: pcmu or pcma
	ptime         time.Duration   // -ptime: the audio packet time
	set           map[string]bool // flags given on the command line (see parsed)
}

// parsed records which flags fs was given.
func (f *callFlags) parsed(fs *flag.FlagSet) {
	f.set = map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { f.set[fl.Name] = true })
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
	fs.BoolVar(&f.trace, "trace", false, "trace the call on stderr")
	fs.StringVar(&f.traceJSON, "trace-json", "", "write the call's trace to this file as JSON lines")
	fs.StringVar(&f.media, "media", "t38", "media without SIP: t38 or audio")
	fs.StringVar(&f.codec, "codec", "pcmu", "G.711 codec: pcmu or pcma")
	fs.DurationVar(&f.ptime, "ptime", 20*time.Millisecond, "audio packet time: 10ms, 20ms, 30ms or 40ms")
	fs.Usage = func() {}
}

// usagef is a usage error with a specific message: the command prints
// the message, then its help text, and exits with status 2.
func usagef(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errUsage}, args...)...)
}

// udpAddr checks a -local or -remote address.
func udpAddr(flag, s string) (*net.UDPAddr, error) {
	a, err := net.ResolveUDPAddr("udp", s)
	if err != nil {
		var ae *net.AddrError
		if errors.As(err, &ae) {
			return nil, usagef("%s %q is not a valid UDP address (want HOST:PORT): %s", flag, s, ae.Err)
		}
		return nil, usagef("%s %q is not a valid UDP address (want HOST:PORT): %v", flag, s, err)
	}
	return a, nil
}

// options turns the flags into faxkit.Options; progress lines go to w.
func (f *callFlags) options(w io.Writer, verb string) (*faxkit.Options, error) {
	comps, err := faxkit.ParseCompressions(f.compression)
	if err != nil {
		return nil, usagef("-compression %q: want a comma-separated list of mh, mr and mmr", f.compression)
	}
	if f.rtpPT == 0 || f.rtpPT > 127 {
		return nil, usagef("-rtp-pt %d (want 1..127)", f.rtpPT)
	}
	ec, err := faxkit.ParseErrorCorrection(f.ec)
	if err != nil {
		return nil, usagef("unknown -ec value %q (want redundancy, fec or none)", f.ec)
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
	CallID        string     `json:"call_id"`
	PageDetail    []jsonPage `json:"page_detail"`
	Error         string     `json:"error,omitempty"`
	// Media is "t38" or "audio": the media the fax ran on (SIP: the
	// media the call had last).
	Media string `json:"media,omitempty"`
	// T38SwitchMS (SIP) is from the ACK of the INVITE to the first T.38
	// packet, in whole milliseconds rounded up; absent when T.38 never
	// flowed.
	T38SwitchMS *int64 `json:"t38_switch_ms,omitempty"`
	// SIPStatus (SIP) is the final status of the INVITE (0: none came).
	SIPStatus *int `json:"sip_status,omitempty"`
	// DocumentID (receive -store) is the sealed document the fax went
	// into; absent without -store or when no page arrived.
	DocumentID string `json:"document_id,omitempty"`
}

// callExtra is what the call path adds to the report: the media, and for
// SIP calls the SIP side.
type callExtra struct {
	media     string
	sip       bool
	sipStatus int
	switchMS  *int64
	result    string // replaces the T.30 result when no fax session ran
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
// when the session succeeded. elapsed is how long the call ran, to tell
// -timeout's end from T.30's timers.
//
// out is where a receive put the fax. With -store the remote ident is
// sealed with the document and left out of the report (remote_ident is
// empty): "faxkit store info" shows it, audited.
func (f *callFlags) finish(e *env, verb string, tr *tracer, rep faxkit.Report, callErr error, out written, elapsed time.Duration, x callExtra) error {
	timedOut := ""
	if !rep.OK && f.timeout > 0 && elapsed >= f.timeout {
		switch rep.Result {
		case t30.ResultNoCommand, t30.ResultNoAnswer, t30.ResultLocalAbort:
			if verb == "received" && rep.Result == t30.ResultNoCommand && rep.Duration == 0 {
				timedOut = fmt.Sprintf("no call arrived within -timeout %v", f.timeout)
			} else {
				timedOut = fmt.Sprintf("the call did not finish within -timeout %v", f.timeout)
			}
		}
	}
	if f.json {
		j := toJSON(rep)
		j.CallID = tr.id
		j.Output = out.path
		if out.sealed {
			j.RemoteIdent = ""
			j.DocumentID = out.docID
		}
		if callErr != nil && !rep.OK {
			var re *t30.ResultError
			if !errors.As(callErr, &re) {
				j.Error = callErr.Error()
			}
		}
		if timedOut != "" {
			j.Error = timedOut
		}
		j.Media = x.media
		if x.result != "" {
			j.Result = x.result
		}
		if x.sip {
			st := x.sipStatus
			j.SIPStatus = &st
			j.T38SwitchMS = x.switchMS
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
		switch {
		case rep.OK:
			fmt.Fprintf(e.stderr, "fax %s: %s, %d page(s), %d bit/s, %s %s, %s, %d bad rows, %.1f s\n",
				verb, rep.Result, rep.Pages, rep.BitRate, rep.Compression, rep.Resolution, ecm, rep.BadRows, rep.Duration.Seconds())
		case timedOut != "":
			fmt.Fprintf(e.stderr, "fax failed: %s (%s), %d page(s) %s, %.1f s\n",
				rep.Result, timedOut, rep.Pages, verb, elapsed.Seconds())
		default:
			fmt.Fprintf(e.stderr, "fax failed: %s (%s), %d page(s) %s, %.1f s\n",
				rep.Result, rep.Result.Text(), rep.Pages, verb, rep.Duration.Seconds())
		}
		if out.path != "" {
			fmt.Fprintf(e.stderr, "written to %s\n", out.path)
		}
	}
	if out.docID != "" && !f.json {
		fmt.Fprintln(e.stdout, out.docID)
		fmt.Fprintf(e.stderr, "sealed as document %s\n", out.docID)
	}
	if x.sip && !f.json {
		sw := "no T.38"
		if x.switchMS != nil {
			sw = fmt.Sprintf("T.38 %d ms after the ACK", *x.switchMS)
		}
		media := x.media
		if media == "" {
			media = "none"
		}
		fmt.Fprintf(e.stderr, "sip: INVITE status %d, media %s, %s\n", x.sipStatus, media, sw)
	}
	if callErr == nil && rep.OK {
		return nil
	}
	if callErr == nil {
		callErr = rep.Result.Err()
	}
	var re *t30.ResultError
	if errors.As(callErr, &re) {
		if timedOut != "" {
			return &exitError{code: 1, err: fmt.Errorf("T.30 session failed: %s: %s", re.Result, timedOut)}
		}
		return &exitError{code: 1, err: fmt.Errorf("T.30 session failed: %s", re.Result)}
	}
	return &exitError{code: 1, err: callErr}
}

// usageErr makes a flag parsing error a usage error (status 2, help text).
// The flag package has printed the message already.
func usageErr(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	return errUsage
}

func runSend(ctx context.Context, e *env, args []string) error {
	var f callFlags
	fs := newFlags(e, "send")
	f.register(fs, ":0")
	var s sipFlags
	s.register(fs, true)
	if err := fs.Parse(args); err != nil {
		return usageErr(err)
	}
	f.parsed(fs)
	s.visit(fs)
	switch fs.NArg() {
	case 0:
		return usagef("no FILE to send")
	case 1:
	default:
		return usagef("%d input files given (%s): send takes exactly one FILE", fs.NArg(), strings.Join(fs.Args(), ", "))
	}
	if s.set["to"] {
		if s.to == "" {
			return usagef("-to is empty: want sip:USER@HOST[:PORT]")
		}
		return runSIPSend(ctx, e, &f, &s, fs.Arg(0))
	}
	if err := s.noSIPFlags("-to sip:USER@HOST[:PORT]"); err != nil {
		return err
	}
	audio, codec, err := f.checkMedia()
	if err != nil {
		return err
	}
	if f.remote == "" {
		return usagef("-remote or -to is required: the T.38 peer's UDP address (HOST:PORT), or the SIP URI to call")
	}
	raddr, err := udpAddr("-remote", f.remote)
	if err != nil {
		return err
	}
	if _, err := udpAddr("-local", f.local); err != nil {
		return err
	}
	if audio {
		doc, err := faxkit.OpenDocument(ctx, fs.Arg(0), nil)
		if err != nil {
			return err
		}
		defer doc.Close()
		return runAudio(ctx, e, &f, codec, raddr, doc, "")
	}
	opts, err := f.options(e.stderr, "sent")
	if err != nil {
		return err
	}
	doc, err := faxkit.OpenDocument(ctx, fs.Arg(0), nil)
	if err != nil {
		return err
	}
	defer doc.Close()
	conn, err := net.ListenPacket("udp", f.local)
	if err != nil {
		return err
	}
	defer conn.Close()
	tr, err := newTracer(e.stderr, f.trace, f.traceJSON)
	if err != nil {
		return err
	}
	defer tr.close()
	opts.Logger = tr.logger()
	if !f.json {
		fmt.Fprintf(e.stderr, "sending %d page(s) from %s to %s (call %s)\n", doc.NumPages(), conn.LocalAddr(), raddr, tr.id)
	}
	tr.info("call", "role", "send", "pages", doc.NumPages(), "file_type", doc.FileType, "local", conn.LocalAddr().String(), "remote", raddr.String())
	start := time.Now()
	rep, err := faxkit.Send(ctx, conn, raddr, doc, opts)
	return f.finish(e, "sent", tr, rep, err, written{}, time.Since(start), callExtra{media: "t38"})
}
