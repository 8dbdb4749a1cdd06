package main

// SIP fax calls (issue 12): "faxkit send -to sip:..." places a call,
// "faxkit receive -sip-local ADDR" answers one. Package sip does the
// signalling and the switch to T.38; this file turns the media it hands
// over into a faxkit.Call and ends the SIP call when the fax ends.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	sipgo "github.com/emiago/sipgo/sip"

	"github.com/faxkit/faxkit"
	"github.com/faxkit/faxkit/phi"
	"github.com/faxkit/faxkit/phi/redact"
	"github.com/faxkit/faxkit/sdp"
	"github.com/faxkit/faxkit/sip"
	"github.com/faxkit/faxkit/t38"
)

// sipSendHelp and sipReceiveHelp document the SIP flags.
const sipSendHelp = `SIP flags (a call to a phone number or SIP address; without -to, send is
SIP-less T.38 to -remote):
  -to sip:USER@HOST[:PORT]   the number or address to call (PHI: never printed in
                      clear). ";transport=tcp" in the URI also selects TCP
  -sip-local ADDR     SIP address to listen on, HOST:PORT (default: the local
                      address that routes to the peer or proxy, ephemeral port);
                      media ports are chosen per call on the same host
  -sip-transport T    udp (default), tcp or tls
  -sip-proxy sip:HOST:PORT   outbound proxy for every request (loose route)
  -sip-user NAME      user for digest authentication (401/407) and the From user
  -sip-password-file FILE    file holding the digest password (first line; the
                      password is never a flag value and never logged)
  -t38 POLICY         how the call moves to T.38 (default auto):
                        auto     accept the peer's re-INVITE; request T.38 ourselves
                                 after 3 s, or at once on hearing CED or V.21
                        request  send the re-INVITE to T.38 once the call is up
                        await    wait for the peer's re-INVITE (35 s, then the call
                                 ends "t38-not-offered"; no audio fax)
                        offer    offer T.38 beside audio in the INVITE
                        off      audio fax only (G.711: faxkit's own modems); T.38
                                 offers are refused with 488
                      with auto, request and offer, a T.38 switch refused (488/415)
                      or unanswered for 5 s leaves the call in audio, and the fax
                      goes on as an audio fax
  -codec pcmu|pcma    the G.711 codec offered first (default pcmu)
  -sip-tls-ca FILE    with tls: PEM CA certificates that verify the peer
                      (default: the system's)
  -sip-tls-cert FILE, -sip-tls-key FILE   with tls: our certificate and key (PEM)
                      for the SIP listener (default: a throw-away self-signed one)
With -to, -t38-version, -ec and -rate set what the SDP offers, the T.38
session follows what was negotiated, -max-datagram (when given) caps the
peer's T38FaxMaxDatagram, -timeout bounds the whole call (set-up
included), and -local, -remote, -rtp and -media do not apply.
`

const sipReceiveHelp = `SIP flags (answer one SIP call, then exit; without -sip-local, receive is
SIP-less T.38 on -local):
  -sip-local ADDR     SIP address to listen on, HOST:PORT (a host of 0.0.0.0 needs
                      -sip-register, whose route names the address to advertise);
                      media ports are chosen per call on the same host
  -sip-transport T    udp (default), tcp or tls
  -sip-register sip:USER@HOST[:PORT]   register this address of record at HOST
                      (refreshed while waiting; removed on exit)
  -sip-user NAME      user for digest authentication, and the Contact user
  -sip-password-file FILE    file holding the digest password (first line)
  -t38 POLICY         auto (default: request T.38 as soon as the call is up),
                      request, await (wait 35 s for the caller's re-INVITE, then
                      end "t38-not-offered"; no audio fax) or off (audio fax only;
                      T.38 offers are refused with 488). With auto and request, a
                      refused or unanswered switch leaves the call in audio, as
                      an audio fax
  -codec pcmu|pcma    the G.711 codec offered first (default pcmu)
  -sip-tls-cert FILE, -sip-tls-key FILE   with tls: the listener's certificate
                      and key (PEM; required)
  -sip-tls-ca FILE    with tls: PEM CA certificates for requests we send
                      (REGISTER, BYE on a new connection)
With -sip-local, -timeout bounds the whole command (registration and the
wait for a call included), and -local, -remote, -rtp and -media do not apply.
`

// sipJSONHelp documents the -json fields SIP calls add.
const sipJSONHelp = `  -json also has media ("t38" or "audio"; with SIP, the media the call had
                      last) and, for SIP calls: t38_switch_ms (from the ACK of the
                      INVITE to the first T.38 packet, whole ms rounded up; absent
                      when T.38 never flowed) and sip_status (final status of the
                      INVITE: 200 once answered, else the rejection, 0 if none came).
                      With SIP, result is "t38-refused", "t38-not-offered",
                      "rejected", "no-answer", "no-call", "remote-hangup" or
                      "error" when no fax ran, and "remote-hangup" when the far
                      end's BYE cut the fax short
  -trace with SIP adds the call's SIP steps: "call" (sip_local, to, transport,
                      t38), "sip call answered" (status), "sip media" (kind),
                      "sip re-INVITE sent", "sip re-INVITE answered" and "sip
                      re-INVITE response" (status), "sip audio leg heard" (tone),
                      "sip fax media" (the media the fax runs on: media, and
                      version, ec, max_datagram for t38, codec and pt for audio),
                      "sip call ended" (result); the parties show as [redacted]
`

// sipFlags are the SIP flags of send and receive.
type sipFlags struct {
	to           string
	local        string
	transport    string
	proxy        string
	user         string
	passwordFile string
	aor          string // -sip-register
	t38          string
	tlsCA        string
	tlsCert      string
	tlsKey       string
	set          map[string]bool // flags given on the command line
}

func (s *sipFlags) register(fs *flag.FlagSet, send bool) {
	if send {
		fs.StringVar(&s.to, "to", "", "SIP URI to call")
		fs.StringVar(&s.proxy, "sip-proxy", "", "outbound proxy")
	} else {
		fs.StringVar(&s.aor, "sip-register", "", "address of record to register")
	}
	fs.StringVar(&s.local, "sip-local", "", "SIP listening address")
	fs.StringVar(&s.transport, "sip-transport", "udp", "udp, tcp or tls")
	fs.StringVar(&s.user, "sip-user", "", "digest user")
	fs.StringVar(&s.passwordFile, "sip-password-file", "", "file with the digest password")
	fs.StringVar(&s.t38, "t38", "auto", "T.38 switch policy")
	fs.StringVar(&s.tlsCA, "sip-tls-ca", "", "CA certificates (PEM)")
	fs.StringVar(&s.tlsCert, "sip-tls-cert", "", "certificate (PEM)")
	fs.StringVar(&s.tlsKey, "sip-tls-key", "", "private key (PEM)")
}

// visit records which flags were given.
func (s *sipFlags) visit(fs *flag.FlagSet) {
	s.set = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { s.set[f.Name] = true })
}

// sipOnly are the flags that mean nothing without SIP.
var sipOnly = []string{"sip-local", "sip-transport", "sip-proxy", "sip-user", "sip-password-file", "sip-register",
	"t38", "sip-tls-ca", "sip-tls-cert", "sip-tls-key"}

// noSIPFlags rejects SIP flags on a SIP-less call; what names the flag
// that makes a call SIP.
func (s *sipFlags) noSIPFlags(what string) error {
	for _, n := range sipOnly {
		if s.set[n] {
			return usagef("-%s applies to SIP calls only: give %s", n, what)
		}
	}
	return nil
}

// sipURI is a checked sip: or sips: URI.
type sipURI struct {
	uri       sipgo.Uri
	transport string // from ";transport=", lower case
}

// parseSIPURI checks a -to or -sip-register value: sip:USER@HOST[:PORT].
// Its messages never repeat the value (the user part is a phone number).
func parseSIPURI(flagName, s string, needUser bool) (sipURI, error) {
	want := "want sip:USER@HOST[:PORT]"
	if !needUser {
		want = "want sip:HOST[:PORT]"
	}
	scheme, rest, ok := strings.Cut(s, ":")
	scheme = strings.ToLower(scheme)
	if !ok || (scheme != "sip" && scheme != "sips") {
		return sipURI{}, usagef("%s is not a SIP URI: it must start with sip: (%s)", flagName, want)
	}
	if strings.ContainsAny(s, " \t\r\n<>\"") {
		return sipURI{}, usagef("%s is not a SIP URI: it contains spaces, quotes or angle brackets (%s)", flagName, want)
	}
	userHost, _, _ := strings.Cut(rest, ";")
	userHost, _, _ = strings.Cut(userHost, "?")
	user, host, hasAt := strings.Cut(userHost, "@")
	if !hasAt {
		host, user = user, ""
	}
	if needUser && user == "" {
		return sipURI{}, usagef("%s has no user part: the number or name to call goes before @ (%s)", flagName, want)
	}
	if !needUser && user != "" {
		return sipURI{}, usagef("%s has a user part (%s)", flagName, want)
	}
	hostOnly := host
	if strings.HasPrefix(host, "[") {
		end := strings.Index(host, "]")
		if end < 0 {
			return sipURI{}, usagef("%s has an unterminated IPv6 host (%s)", flagName, want)
		}
		hostOnly = host[1:end]
		if _, err := netip.ParseAddr(hostOnly); err != nil {
			return sipURI{}, usagef("%s has a bad IPv6 host (%s)", flagName, want)
		}
		if p := host[end+1:]; p != "" {
			if !strings.HasPrefix(p, ":") {
				return sipURI{}, usagef("%s has junk after its IPv6 host (%s)", flagName, want)
			}
			if err := checkPort(flagName, p[1:], want); err != nil {
				return sipURI{}, err
			}
		}
	} else if h, p, ok := strings.Cut(host, ":"); ok {
		hostOnly = h
		if err := checkPort(flagName, p, want); err != nil {
			return sipURI{}, err
		}
	}
	if hostOnly == "" {
		return sipURI{}, usagef("%s has no host after @ (%s)", flagName, want)
	}
	for _, r := range hostOnly {
		if !(r == '.' || r == '-' || r == ':' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return sipURI{}, usagef("%s has a host with a character a host name cannot have (%s)", flagName, want)
		}
	}
	var u sipgo.Uri
	if err := sipgo.ParseUri(s, &u); err != nil || u.Host == "" {
		return sipURI{}, usagef("%s is not a SIP URI the SIP stack can parse (%s)", flagName, want)
	}
	out := sipURI{uri: u}
	if u.UriParams != nil {
		if t, ok := u.UriParams.Get("transport"); ok {
			out.transport = strings.ToLower(t)
			switch out.transport {
			case "udp", "tcp", "tls":
			default:
				return sipURI{}, usagef("%s has ;transport=%s: want udp, tcp or tls", flagName, t)
			}
		}
	}
	return out, nil
}

func checkPort(flagName, p, want string) error {
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 {
		return usagef("%s has a bad port (want 1..65535; %s)", flagName, want)
	}
	return nil
}

// hostPort is where a URI's requests go (port 5060, or 5061 for TLS,
// when absent).
func (u sipURI) hostPort(transport string) string {
	port := u.uri.Port
	if port == 0 {
		port = 5060
		if transport == "tls" || strings.EqualFold(u.uri.Scheme, "sips") {
			port = 5061
		}
	}
	return net.JoinHostPort(u.uri.Host, strconv.Itoa(port))
}

// redacted is the URI for messages: the user part hidden.
func (u sipURI) redacted() string {
	scheme := "sip"
	if strings.EqualFold(u.uri.Scheme, "sips") {
		scheme = "sips"
	}
	h := u.uri.Host
	if strings.Contains(h, ":") {
		h = "[" + h + "]"
	}
	if u.uri.Port != 0 {
		h += ":" + strconv.Itoa(u.uri.Port)
	}
	if u.uri.User == "" {
		return scheme + ":" + h
	}
	return scheme + ":[redacted]@" + h
}

// sipSetup is a checked set of SIP flags, ready to make an endpoint.
type sipSetup struct {
	cfg    sip.Config
	to     sipURI // send
	policy sip.Policy
}

// check validates the SIP flags (send: -to was given; receive:
// -sip-local was) and builds the endpoint configuration. It reads the
// password and TLS files.
func (s *sipFlags) check(f *callFlags, send bool) (*sipSetup, error) {
	st := &sipSetup{}
	for _, n := range []string{"remote", "local", "rtp", "rtp-pt"} {
		if f.set[n] {
			what := "-to"
			if !send {
				what = "-sip-local"
			}
			return nil, usagef("-%s is for SIP-less T.38 and cannot be used with %s (SIP negotiates the media address)", n, what)
		}
	}
	pol, err := sip.ParsePolicy(s.t38)
	if err != nil {
		want := "auto, request, await, offer or off"
		if !send {
			want = "auto, request, await or off"
		}
		return nil, usagef("unknown -t38 value %q (want %s)", s.t38, want)
	}
	if !send && pol == sip.PolicyOffer {
		return nil, usagef("-t38 offer applies to send only (the caller's INVITE carries the offer); receive takes auto, request, await or off")
	}
	st.policy = pol
	transport := strings.ToLower(s.transport)
	switch transport {
	case "udp", "tcp", "tls":
	default:
		return nil, usagef("unknown -sip-transport value %q (want udp, tcp or tls)", s.transport)
	}
	if send {
		if st.to, err = parseSIPURI("-to", s.to, true); err != nil {
			return nil, err
		}
		if st.to.transport != "" && !s.set["sip-transport"] {
			transport = st.to.transport
		} else if st.to.transport != "" && st.to.transport != transport {
			return nil, usagef("-to says ;transport=%s but -sip-transport is %s", st.to.transport, transport)
		}
		if strings.EqualFold(st.to.uri.Scheme, "sips") && transport != "tls" {
			return nil, usagef("-to is a sips: URI, which needs -sip-transport tls")
		}
	}
	if f.set["media"] {
		return nil, usagef("-media is for calls without SIP; over SIP the media follows -t38 (off: an audio fax from the start)")
	}
	// faxkit has an audio fax modem: a call whose switch to T.38 fails
	// goes on as an audio fax, and -t38 off is one from the start. With
	// await the call waits for the peer's T.38 as the contract says (with
	// AudioFallback package sip would start an audio fax at once, whose
	// CED then delays the move to T.38 by some 3 s).
	cfg := sip.Config{Transport: transport, Policy: pol, UserAgent: "faxkit", AudioFallback: pol != sip.PolicyAwait}
	switch strings.ToLower(f.codec) {
	case "pcmu":
		cfg.Codecs = []sdp.Codec{sdp.PCMU, sdp.PCMA}
	case "pcma":
		cfg.Codecs = []sdp.Codec{sdp.PCMA, sdp.PCMU}
	default:
		return nil, usagef("unknown -codec value %q (want pcmu or pcma)", f.codec)
	}
	if s.proxy != "" {
		if _, err := parseSIPURI("-sip-proxy", s.proxy, false); err != nil {
			return nil, err
		}
		cfg.Proxy = s.proxy
	}
	var aor sipURI
	if s.aor != "" {
		if aor, err = parseSIPURI("-sip-register", s.aor, true); err != nil {
			return nil, err
		}
		cfg.Register = s.aor
	}
	if s.passwordFile != "" && s.user == "" {
		return nil, usagef("-sip-password-file needs -sip-user (the digest user name)")
	}
	if s.aor != "" && s.user == "" {
		return nil, usagef("-sip-register needs -sip-user and -sip-password-file (registrars challenge REGISTER)")
	}
	if strings.ContainsAny(s.user, " \t\r\n@:<>\";") {
		return nil, usagef("-sip-user must be a bare user name (no spaces, @, :, ;, quotes or brackets)")
	}
	cfg.User = s.user
	if s.passwordFile != "" {
		pw, err := readPassword(s.passwordFile)
		if err != nil {
			return nil, err
		}
		cfg.Password = pw
	}
	if transport != "tls" {
		for _, n := range []string{"sip-tls-ca", "sip-tls-cert", "sip-tls-key"} {
			if s.set[n] {
				return nil, usagef("-%s applies to -sip-transport tls only", n)
			}
		}
	} else {
		tc, err := s.tlsConfig(send)
		if err != nil {
			return nil, err
		}
		cfg.TLS = tc
	}
	// Where to listen: -sip-local, or the address that routes to the
	// peer (or proxy, or registrar).
	toward := ""
	switch {
	case s.proxy != "":
		p, _ := parseSIPURI("-sip-proxy", s.proxy, false)
		toward = p.hostPort(transport)
	case send:
		toward = st.to.hostPort(transport)
	case s.aor != "":
		toward = aor.hostPort(transport)
	}
	if s.local == "" {
		if !send {
			return nil, usagef("-sip-local is required for a SIP receive")
		}
		ip, err := routeSource(toward)
		if err != nil {
			return nil, fmt.Errorf("finding the local address toward the SIP peer: %w (give -sip-local)", err)
		}
		cfg.Listen = net.JoinHostPort(ip.String(), "0")
	} else {
		host, port, err := net.SplitHostPort(s.local)
		if err != nil {
			return nil, usagef("-sip-local %q is not HOST:PORT", s.local)
		}
		if pn, err := strconv.Atoi(port); err != nil || pn < 0 || pn > 65535 {
			return nil, usagef("-sip-local %q has a bad port", s.local)
		}
		var ip netip.Addr
		if host != "" {
			if ip, err = netip.ParseAddr(host); err != nil {
				return nil, usagef("-sip-local %q: the host must be an IP address", s.local)
			}
		}
		if host == "" || ip.IsUnspecified() {
			if toward == "" {
				return nil, usagef("-sip-local %q listens on every address: name the one to advertise in Contact and SDP (e.g. 192.0.2.10:5060), or give -sip-register", s.local)
			}
			src, err := routeSource(toward)
			if err != nil {
				return nil, fmt.Errorf("finding the local address toward the SIP peer: %w (give -sip-local with an address)", err)
			}
			cfg.MediaAddr = src
		}
		cfg.Listen = s.local
	}
	st.cfg = cfg
	return st, nil
}

// routeSource returns the local address the system would send from to
// reach hostPort. A connected UDP socket sends nothing.
func routeSource(hostPort string) (netip.Addr, error) {
	c, err := net.Dial("udp", hostPort)
	if err != nil {
		return netip.Addr{}, err
	}
	defer c.Close()
	ap, err := netip.ParseAddrPort(c.LocalAddr().String())
	if err != nil {
		return netip.Addr{}, err
	}
	return ap.Addr().Unmap(), nil
}

// readPassword reads the first line of file.
func readPassword(file string) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return "", &exitError{code: 2, err: fmt.Errorf("-sip-password-file: cannot read %s: %v", file, pe.Err)}
		}
		return "", &exitError{code: 2, err: fmt.Errorf("-sip-password-file: %v", err)}
	}
	line, _, _ := strings.Cut(string(b), "\n")
	line = strings.TrimSuffix(line, "\r")
	if line == "" {
		return "", &exitError{code: 2, err: fmt.Errorf("-sip-password-file %s: the first line (the password) is empty", file)}
	}
	return line, nil
}

// tlsConfig reads -sip-tls-ca/-cert/-key.
func (s *sipFlags) tlsConfig(send bool) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if s.tlsCA != "" {
		pem, err := os.ReadFile(s.tlsCA)
		if err != nil {
			return nil, &exitError{code: 2, err: fmt.Errorf("-sip-tls-ca: %v", err)}
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, &exitError{code: 2, err: fmt.Errorf("-sip-tls-ca %s: no PEM certificate in it", s.tlsCA)}
		}
		tc.RootCAs = pool
	}
	switch {
	case s.tlsCert != "" && s.tlsKey != "":
		cert, err := tls.LoadX509KeyPair(s.tlsCert, s.tlsKey)
		if err != nil {
			return nil, &exitError{code: 2, err: fmt.Errorf("-sip-tls-cert/-sip-tls-key: %v", err)}
		}
		tc.Certificates = []tls.Certificate{cert}
	case s.tlsCert != "" || s.tlsKey != "":
		return nil, usagef("-sip-tls-cert and -sip-tls-key go together")
	case send:
		// The listener needs a certificate; a caller whose peer answers on
		// the connection we opened never shows it.
		cert, err := throwAwayCert()
		if err != nil {
			return nil, err
		}
		tc.Certificates = []tls.Certificate{cert}
	default:
		return nil, usagef("-sip-transport tls needs -sip-tls-cert and -sip-tls-key for the listener")
	}
	return tc, nil
}

// throwAwayCert is a self-signed certificate for a sender's TLS listener.
func throwAwayCert() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "faxkit"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// offerT38 is what our SDP offers for T.38, from the fax flags.
func offerT38(f *callFlags) (sdp.T38Params, error) {
	ec, err := faxkit.ParseErrorCorrection(f.ec)
	if err != nil {
		return sdp.T38Params{}, usagef("unknown -ec value %q (want redundancy, fec or none)", f.ec)
	}
	if f.version < 0 || f.version > int(t38.MaxVersion) {
		return sdp.T38Params{}, usagef("-t38-version %d (want 0..%d)", f.version, t38.MaxVersion)
	}
	p := sdp.T38Params{Version: t38.Version(f.version), MaxBitRate: f.rate, RateManagement: sdp.RateTransferredTCF,
		MaxBuffer: 1800, MaxDatagram: 1400, EC: t38.ECRedundancy}
	switch ec {
	case faxkit.FEC:
		p.EC = t38.ECFEC
	case faxkit.NoEC:
		p.EC = t38.ECNone
	}
	return p, nil
}

// t38Options are the T.38 terminal's settings for negotiated parameters p.
func (f *callFlags) t38Options(p *sdp.T38Params) *faxkit.T38Options {
	o := &faxkit.T38Options{Version: int(p.Version), ECDepth: f.ecDepth, MaxDatagram: sdp.NormalizeMaxDatagram(p.MaxDatagram)}
	switch p.EC {
	case t38.ECFEC:
		o.ErrorCorrection = faxkit.FEC
	case t38.ECNone:
		o.ErrorCorrection = faxkit.NoEC
	}
	if f.set["max-datagram"] && f.maxDatagram > 0 {
		o.MaxDatagram = min(o.MaxDatagram, f.maxDatagram)
	}
	if !f.pace {
		o.Pacing = faxkit.Unpaced
	}
	return o
}

// rateFor is the highest image rate both the -rate flag and the peer's
// T38MaxBitRate allow.
func rateFor(flagRate, peer int) int {
	if peer <= 0 || peer >= flagRate {
		return flagRate
	}
	best := 2400
	for _, r := range []int{2400, 4800, 7200, 9600, 12000, 14400} {
		if r <= peer {
			best = r
		}
	}
	return best
}

// scrubber keeps known PHI strings (the dialed number, the parties'
// user parts, our own ident) out of trace records and error messages
// that other code formatted into plain strings.
type scrubber struct {
	mu      sync.Mutex
	secrets []string
}

func (s *scrubber) add(v ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range v {
		// "faxkit" is package sip's default user part, not a party.
		if len(x) >= 3 && x != "faxkit" {
			s.secrets = append(s.secrets, x)
		}
	}
}

func (s *scrubber) clean(v string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range s.secrets {
		v = strings.ReplaceAll(v, x, "[redacted]")
	}
	return v
}

func (s *scrubber) dirty(v string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range s.secrets {
		if strings.Contains(v, x) {
			return true
		}
	}
	return false
}

// scrubHandler passes records on with known PHI strings replaced. With
// sipOnly it passes only package sip's own records ("sip ..."): sipgo's
// transaction and transport layers log raw request lines, whose URIs may
// carry numbers not yet known to the scrubber.
type scrubHandler struct {
	next    slog.Handler
	s       *scrubber
	sipOnly bool
}

func (h *scrubHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h *scrubHandler) Handle(ctx context.Context, r slog.Record) error {
	if h.sipOnly && !strings.HasPrefix(r.Message, "sip ") {
		return nil
	}
	nr := slog.NewRecord(r.Time, r.Level, h.s.clean(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool { nr.AddAttrs(h.attr(a)); return true })
	return h.next.Handle(ctx, nr)
}

func (h *scrubHandler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, h.s.clean(v.String()))
	case slog.KindGroup:
		as := v.Group()
		out := make([]slog.Attr, len(as))
		for i, g := range as {
			out[i] = h.attr(g)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(out...)}
	case slog.KindAny:
		if s := fmt.Sprint(v.Any()); h.s.dirty(s) {
			return slog.String(a.Key, h.s.clean(s))
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}

func (h *scrubHandler) WithAttrs(as []slog.Attr) slog.Handler {
	out := make([]slog.Attr, len(as))
	for i, a := range as {
		out[i] = h.attr(a)
		if h.sipOnly && a.Key == "call" {
			// Package sip's hash of the Call-ID; "call" is the trace's
			// call ID.
			out[i].Key = "sip_call"
		}
	}
	return &scrubHandler{next: h.next.WithAttrs(out), s: h.s, sipOnly: h.sipOnly}
}

func (h *scrubHandler) WithGroup(name string) slog.Handler {
	return &scrubHandler{next: h.next.WithGroup(name), s: h.s, sipOnly: h.sipOnly}
}

// scrubbed wraps l (nil: none) with h's scrubbing.
func scrubbed(l *slog.Logger, s *scrubber, sipOnly bool) *slog.Logger {
	if l == nil {
		return nil
	}
	return slog.New(&scrubHandler{next: l.Handler(), s: s, sipOnly: sipOnly})
}

// sipOutcome is how a SIP fax call went, beside the fax's own Report.
type sipOutcome struct {
	rep     faxkit.Report
	err     error  // nil exactly on T.30 success
	ran     bool   // a fax session ran
	result  string // the SIP result when no fax ran ("t38-refused", ...) or the peer's BYE ended it
	media   string // "t38" or "audio": the media the call had last
	status  int    // final SIP status of the INVITE
	switchD time.Duration
	hasSw   bool
}

// runSIPFax runs the fax of an answered SIP call: the first media the
// fax can run on (T.38, or the audio path handed over for an audio fax)
// starts the faxkit.Call, later ones are swapped in (an audio fax moved
// to T.38 by re-INVITE), and the end of the fax ends the SIP call.
// newCall makes the faxkit.Call once the media (and with it the peer's
// T38MaxBitRate) is known.
func runSIPFax(ctx context.Context, call *sip.Call, f *callFlags, log *slog.Logger,
	newCall func(maxRate int) (*faxkit.Call, error)) sipOutcome {
	out := sipOutcome{status: call.Status()}
	var fc *faxkit.Call
	var faxDone <-chan struct{}
	mediaCh := call.Media()
	ctxDone := ctx.Done()
	var grace <-chan time.Time
	hungUp := false

	for {
		select {
		case m, ok := <-mediaCh:
			if !ok {
				mediaCh = nil
				if fc == nil {
					out.result = call.Result().String()
					out.err = sipEndError(call.Result())
					return out
				}
				// The peer hung up during the fax. It may have done so
				// right after its last T.30 signal (DCN), which our session
				// is still taking in: give it a moment to end on its own.
				hungUp = true
				grace = time.After(time.Second)
				debugf(log, "sip call ended before the fax", "result", call.Result())
				continue
			}
			var media faxkit.Media
			var maxRate int
			switch {
			case m.Kind == sdp.KindT38:
				out.media = "t38"
				media = faxkit.T38Media(m.Conn, m.Remote, f.t38Options(m.T38))
				maxRate = m.T38.MaxBitRate
				debugf(log, "sip fax media", "media", "t38", "version", m.T38.Version, "ec", m.T38.EC,
					"max_datagram", sdp.NormalizeMaxDatagram(m.T38.MaxDatagram))
			case m.AudioFax:
				out.media = "audio"
				media = faxkit.AudioMedia(m.Conn, m.Remote, audioOptions(m))
				debugf(log, "sip fax media", "media", "audio", "codec", m.Audio.Codec.Name, "pt", m.Audio.Codec.PT)
			default:
				// The pre-switch audio leg, which package sip runs itself.
				if out.media == "" {
					out.media = "audio"
				}
				continue
			}
			if fc == nil {
				var err error
				if fc, err = newCall(maxRate); err == nil {
					err = fc.Start(ctx, media)
				}
				if err != nil {
					call.Hangup()
					out.err = err
					out.result = "error"
					return out
				}
				faxDone = fc.Done()
				out.ran = true
			} else if err := fc.SwapMedia(media); err != nil && !errors.Is(err, faxkit.ErrCallEnded) {
				debugf(log, "sip media swap failed", "err", err)
			}
		case <-grace:
			grace = nil
			fc.End()
		case <-ctxDone:
			ctxDone = nil
			if fc == nil {
				call.Hangup()
				out.result = "local-abort"
				out.err = ctx.Err()
				return out
			}
			// fc runs under ctx: it ends itself (DCN, local-abort).
		case <-faxDone:
			out.rep, out.err = fc.Wait()
			// End the SIP call: BYE (after the peer's has had a moment to
			// come), or it has ended already.
			hctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			call.FaxDone(hctx)
			cancel()
			out.switchD, out.hasSw = call.SwitchDelay()
			if hungUp && !out.rep.OK {
				// Ended by the peer's BYE, not by T.30: say so.
				out.result = sip.ResultRemoteHangup.String()
				out.err = fmt.Errorf("the far end hung up (SIP BYE) before the fax ended (%d page(s) done; T.30 ended %s)",
					out.rep.Pages, out.rep.Result)
			}
			return out
		}
	}
}

// audioOptions are the audio fax path's settings for an AudioFax media:
// the negotiated codec and payload type, continuing the pre-switch leg's
// RTP stream.
func audioOptions(m sip.Media) *faxkit.AudioOptions {
	o := &faxkit.AudioOptions{Codec: faxkit.PCMU, PayloadType: m.Audio.Codec.PT, PTime: m.PTime}
	if strings.EqualFold(m.Audio.Codec.Name, "PCMA") {
		o.Codec = faxkit.PCMA
	}
	if m.Stream != nil {
		st := faxkit.RTPStream(*m.Stream)
		o.Stream = &st
	}
	return o
}

// sipEndError explains a SIP call that ended before any fax ran.
func sipEndError(r sip.Result) error {
	switch r {
	case sip.ResultT38Refused:
		return errors.New("the far end refused the switch to T.38 (488/415 or no answer within 5 s)")
	case sip.ResultT38NotOffered:
		return errors.New("the far end never offered T.38 (-t38 await waited 35 s)")
	case sip.ResultRemoteHangup:
		return errors.New("the far end hung up (SIP BYE) before any fax was exchanged")
	case sip.ResultLocalAbort:
		return errors.New("the call was hung up before any fax was exchanged")
	}
	return fmt.Errorf("the SIP call ended (%s) before any fax was exchanged", r)
}

// sipExtra is what a SIP call adds to the -json report and the summary.
func (o sipOutcome) extra() callExtra {
	x := callExtra{sip: true, media: o.media, sipStatus: o.status}
	if o.hasSw {
		ms := (o.switchD + time.Millisecond - 1).Milliseconds() // whole ms, rounded up
		x.switchMS = &ms
	}
	if !o.ran || o.result != "" {
		x.result = o.result
	}
	return x
}

// sipEndpointLogger makes the endpoint's logger from the trace: package
// sip's own records, scrubbed.
func sipEndpointLogger(tr *tracer, scrub *scrubber) *slog.Logger {
	return scrubbed(tr.logger(), scrub, true)
}

var quietSIPGo sync.Once

// silenceSIPGo turns off sipgo's package-global logger (its default is
// slog.Default, on stderr), which prints raw request lines: URIs with
// numbers in them.
func silenceSIPGo() {
	quietSIPGo.Do(func() { sipgo.SetDefaultLogger(slog.New(slog.DiscardHandler)) })
}

// sipStatusOf is the final status of a failed Dial.
func sipStatusOf(err error) int {
	var se *sip.StatusError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

// faxOptions is the T.30 part of a SIP call's faxkit.Call.
func (f *callFlags) faxOptions(maxRate int) (faxkit.FaxOptions, error) {
	comps, err := faxkit.ParseCompressions(f.compression)
	if err != nil {
		return faxkit.FaxOptions{}, usagef("-compression %q: want a comma-separated list of mh, mr and mmr", f.compression)
	}
	return faxkit.FaxOptions{DisableECM: !f.ecm, Compressions: comps, MaxBitRate: rateFor(f.rate, maxRate),
		LocalIdent: f.ident}, nil
}

// progress is the OnEvent of a SIP call: page lines on stderr.
func progress(w interface{ Write([]byte) (int, error) }, verb string) func(faxkit.Event) {
	return func(ev faxkit.Event) {
		if ev.Page != nil {
			fmt.Fprintln(w, progressLine(verb, ev.Page))
		}
	}
}

func debugf(l *slog.Logger, msg string, args ...any) {
	if l != nil {
		l.Debug(msg, args...)
	}
}

// sendByeWait is how long the sender waits for the receiver's BYE after
// its T.30 phase E before sending its own: its DCN, the last T.30 signal,
// is already on the wire (with its UDPTL redundancy copies), so the
// receiver has everything it needs.
const sendByeWait = 300 * time.Millisecond

// cleanErr returns err with known PHI strings removed from its message
// (typed errors without PHI are kept, for their exit handling).
func cleanErr(err error, s *scrubber) error {
	if err == nil || !s.dirty(err.Error()) {
		return err
	}
	return errors.New(s.clean(err.Error()))
}

// runSIPSend places the call of "faxkit send -to".
func runSIPSend(ctx context.Context, e *env, f *callFlags, s *sipFlags, file string) error {
	st, err := s.check(f, true)
	if err != nil {
		return err
	}
	if _, err := f.options(e.stderr, "sent"); err != nil {
		return err
	}
	if st.cfg.T38, err = offerT38(f); err != nil {
		return err
	}
	fax, err := f.faxOptions(0)
	if err != nil {
		return err
	}
	doc, err := faxkit.OpenDocument(ctx, file, nil)
	if err != nil {
		return err
	}
	defer doc.Close()
	tr, err := newTracer(e.stderr, f.trace, f.traceJSON)
	if err != nil {
		return err
	}
	defer tr.close()
	scrub := &scrubber{}
	scrub.add(s.to, st.to.uri.User, f.ident)
	silenceSIPGo()
	st.cfg.Logger = sipEndpointLogger(tr, scrub)
	st.cfg.ByeWait = sendByeWait
	ep, err := sip.NewEndpoint(st.cfg)
	if err != nil {
		return cleanErr(err, scrub)
	}
	abandoned := false
	defer func() {
		// Close waits for every call, and a Dial we stopped waiting for
		// ends only at sipgo's Timer B: the process exits instead.
		if !abandoned {
			ep.Close()
		}
	}()
	cctx, cancel := f.callContext(ctx)
	defer cancel()
	if !f.json {
		fmt.Fprintf(e.stderr, "calling %s from %s over %s, %d page(s) (call %s)\n",
			st.to.redacted(), ep.Addr(), st.cfg.Transport, doc.NumPages(), tr.id)
	}
	tr.info("call", "role", "send", "pages", doc.NumPages(), "file_type", doc.FileType, "sip_local", ep.Addr().String(),
		"to", st.to.redacted(), "transport", st.cfg.Transport, "t38", st.policy.String())
	log := scrubbed(tr.logger(), scrub, false)
	start := time.Now()
	call, err := dial(cctx, ep, s.to)
	abandoned = errors.Is(err, errDialAbandoned)
	if err != nil {
		out := sipOutcome{status: sipStatusOf(err), result: "rejected"}
		switch {
		case out.status != 0:
			out.err = fmt.Errorf("the call was rejected with SIP status %d", out.status)
		case cctx.Err() != nil && ctx.Err() == nil:
			out.result, out.err = "no-answer", fmt.Errorf("the call was not answered within -timeout %v", f.timeout)
		default:
			out.result, out.err = "error", fmt.Errorf("the call could not be placed: %w", cleanErr(err, scrub))
		}
		return f.finish(e, "sent", tr, faxkit.Report{}, out.err, written{}, time.Since(start), out.extra())
	}
	out := runSIPFax(cctx, call, f, log, func(maxRate int) (*faxkit.Call, error) {
		fo := fax
		fo.MaxBitRate = rateFor(f.rate, maxRate)
		return faxkit.NewCall(faxkit.CallConfig{Document: doc, Fax: fo, OnEvent: progress(e.stderr, "sent"), Logger: log})
	})
	return f.finish(e, "sent", tr, out.rep, cleanErr(out.err, scrub), written{}, time.Since(start), out.extra())
}

// callContext bounds the whole command by -timeout.
func (f *callFlags) callContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if f.timeout > 0 {
		return context.WithTimeout(ctx, f.timeout)
	}
	return context.WithCancel(ctx)
}

// runSIPReceive answers the one call of "faxkit receive -sip-local".
func runSIPReceive(ctx context.Context, e *env, f *callFlags, s *sipFlags, out string) error {
	st, err := s.check(f, false)
	if err != nil {
		return err
	}
	if _, err := f.options(e.stderr, "received"); err != nil {
		return err
	}
	if st.cfg.T38, err = offerT38(f); err != nil {
		return err
	}
	fax, err := f.faxOptions(0)
	if err != nil {
		return err
	}
	tr, err := newTracer(e.stderr, f.trace, f.traceJSON)
	if err != nil {
		return err
	}
	defer tr.close()
	scrub := &scrubber{}
	scrub.add(s.aor, f.ident)
	silenceSIPGo()
	st.cfg.Logger = sipEndpointLogger(tr, scrub)
	st.cfg.AnswerQueue = 1
	ep, err := sip.NewEndpoint(st.cfg)
	if err != nil {
		return cleanErr(err, scrub)
	}
	defer ep.Close()
	cctx, cancel := f.callContext(ctx)
	defer cancel()
	if st.cfg.Register != "" {
		aor, _ := parseSIPURI("-sip-register", s.aor, true)
		if _, err := ep.Register(cctx); err != nil {
			if code := sipStatusOf(err); code != 0 {
				return &exitError{code: 1, err: fmt.Errorf("registering %s: refused with SIP status %d", aor.redacted(), code)}
			}
			return &exitError{code: 1, err: fmt.Errorf("registering %s: %w", aor.redacted(), cleanErr(err, scrub))}
		}
		if !f.json {
			fmt.Fprintf(e.stderr, "registered %s\n", aor.redacted())
		}
	}
	if !f.json {
		fmt.Fprintf(e.stderr, "waiting for a SIP call on %s over %s (call %s)\n", ep.Addr(), st.cfg.Transport, tr.id)
	}
	tr.info("call", "role", "receive", "sip_local", ep.Addr().String(), "transport", st.cfg.Transport, "t38", st.policy.String())
	log := scrubbed(tr.logger(), scrub, false)
	start := time.Now()
	call, err := ep.Accept(cctx)
	if err != nil {
		o := sipOutcome{result: "no-call"}
		switch {
		case cctx.Err() != nil && ctx.Err() == nil:
			o.err = fmt.Errorf("no call arrived within -timeout %v", f.timeout)
		case ctx.Err() != nil:
			o.err = errors.New("interrupted before a call arrived")
		default:
			o.result, o.err = "error", cleanErr(err, scrub)
		}
		x := o.extra()
		x.sip = true
		return f.finish(e, "received", tr, faxkit.Report{}, o.err, written{}, time.Since(start), x)
	}
	scrub.add(call.To().String(), call.To().User(), call.From().String(), call.From().User())
	// receive answers one call. Package sip answers every INVITE itself
	// (200) before Accept; a call arriving during ours would sit in
	// silence until we exit. Hang such calls up at once instead.
	busyCtx, stopBusy := context.WithCancel(context.Background())
	defer stopBusy()
	go func() {
		for {
			c, err := ep.Accept(busyCtx)
			if err != nil {
				return
			}
			debugf(log, "sip second call hung up (receive answers one call)")
			c.Hangup()
		}
	}()
	if !f.json {
		fmt.Fprintf(e.stderr, "answered a call (SIP status %d)\n", call.Status())
	}
	tiffOut, err := newTIFFOutput(out)
	if err != nil {
		call.Hangup()
		return err
	}
	defer tiffOut.abandon()
	// With -store, the caller's number and the number it dialed are
	// sealed with the fax, as the faxservice does (both are PHI).
	if err := tiffOut.updateSealed(func(m *phi.Metadata) {
		m.Remote = redact.FaxNumber(call.From().User())
		if did := call.To().User(); did != "" {
			m.Labels = map[string]string{"did": did}
		}
	}); err != nil {
		call.Hangup()
		return err
	}
	o := runSIPFax(cctx, call, f, log, func(maxRate int) (*faxkit.Call, error) {
		fo := fax
		fo.MaxBitRate = rateFor(f.rate, maxRate)
		return faxkit.NewCall(faxkit.CallConfig{Sink: tiffOut.w, Fax: fo, OnEvent: progress(e.stderr, "received"), Logger: log})
	})
	w, err := tiffOut.commit(o.rep.RemoteIdent)
	if err != nil {
		return err
	}
	return f.finish(e, "received", tr, o.rep, cleanErr(o.err, scrub), w, time.Since(start), o.extra())
}

// dial is ep.Dial bounded by ctx. sipgo answers a cancelled INVITE that
// has had no provisional response by waiting for Timer B (32 s), since
// no CANCEL may be sent before one: past ctx's end, dial waits only a
// moment for the CANCEL exchange of a ringing call, then gives up (the
// endpoint's Close ends what is left).
func dial(ctx context.Context, ep *sip.Endpoint, to string) (*sip.Call, error) {
	type result struct {
		c   *sip.Call
		err error
	}
	ch := make(chan result, 1)
	go func() {
		c, err := ep.Dial(ctx, to, nil)
		ch <- result{c, err}
	}()
	select {
	case r := <-ch:
		return r.c, r.err
	case <-ctx.Done():
	}
	select {
	case r := <-ch:
		if r.err == nil {
			return r.c, nil
		}
		if _, ok := errors.AsType[*sip.StatusError](r.err); ok {
			return nil, r.err
		}
	case <-time.After(2 * time.Second):
	}
	return nil, fmt.Errorf("%w: %w", errDialAbandoned, ctx.Err())
}

// errDialAbandoned: dial stopped waiting for a Dial still in progress.
var errDialAbandoned = errors.New("INVITE abandoned")
