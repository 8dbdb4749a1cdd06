package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"

	"github.com/faxkit/faxkit"
	"github.com/faxkit/faxkit/phi"
	"github.com/faxkit/faxkit/phi/redact"
	"github.com/faxkit/faxkit/sdp"
	"github.com/faxkit/faxkit/sip"
	"github.com/faxkit/faxkit/t30"
	"github.com/faxkit/faxkit/t38"
)

// Telephony through SIP. With Config.SIP set the service runs one SIP
// endpoint (package sip): it answers inbound calls itself, routing each
// fax by the dialled number (the Request-URI's user part, as E.164), and
// sends E.164 numbers through the configured trunk (sip:<number>@<trunk>)
// unless a Peers prefix names a T.38 address for them. Fax media is T.38
// when the other side takes it: the call switches by re-INVITE and runs
// the fax on the negotiated parameters; a later re-INVITE to another T.38
// address (or from an audio fax to T.38) is followed mid-call
// (faxkit.Call.SwapMedia). When the switch is refused (488/415) or not
// answered within 5 s, or the policy is "off", the fax runs in audio on
// the call's G.711 stream with faxkit's own modems (faxkit.AudioMedia),
// in both directions. Each attempt records the media the fax ran on last
// ("t38" or "audio": attempts.media, the attempt's "media" in the API).
//
// Numbers and SIP URIs are PHI: the number stays in the fax's sealed
// metadata (faxes.peer only says "sip-trunk"), the caller's number is
// sealed with the received document, and neither is logged.

// SIPConfig configures the service's SIP endpoint.
type SIPConfig struct {
	// Listen is the SIP address (host:port); default 127.0.0.1:5060.
	Listen string `json:"listen"`
	// Transport is udp (default), tcp or tls.
	Transport string `json:"transport"`
	// MediaAddr is the address advertised for media; default Listen's
	// host (required when Listen's host is 0.0.0.0).
	MediaAddr string `json:"media_addr"`
	// Trunk is where outbound calls go: "sip:host[:port]" (or sips:);
	// empty: no outbound SIP.
	Trunk string `json:"trunk"`
	// CredentialsFile holds the trunk's digest credentials as JSON
	// {"user": "...", "password": "..."}; it must not be readable by
	// group or others (mode 0600). Optional.
	CredentialsFile string `json:"credentials_file"`
	// Policy is the T.38 switch policy (auto, request, await, offer,
	// off); default auto. "off" is audio fax only: T.38 offers are
	// answered 488.
	Policy string `json:"policy"`
	// NoAudioFallback hangs up a call whose switch to T.38 was refused
	// or not answered (result t38-refused) instead of running the fax in
	// audio. Default false: audio fax. With policy "await" the call waits
	// for the peer's T.38 (35 s) and never falls back.
	NoAudioFallback bool `json:"no_audio_fallback"`
	// Codec is the G.711 codec offered first, pcmu (default) or pcma;
	// both are offered.
	Codec string `json:"codec"`
}

const peerSIPTrunk = "sip-trunk"

// sipCredentials reads the trunk credentials file.
func sipCredentials(path string) (user, password string, err error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", "", fmt.Errorf("faxservice: sip credentials_file: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return "", "", fmt.Errorf("faxservice: sip credentials_file %s is readable by group or others (mode %v); chmod 600 it", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", "", err
	}
	var c struct{ User, Password string }
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil || c.User == "" {
		return "", "", fmt.Errorf("faxservice: sip credentials_file %s must be JSON {\"user\": ..., \"password\": ...}", path)
	}
	return c.User, c.Password, nil
}

// openSIP starts the SIP endpoint of cfg.
func (s *Service) openSIP() error {
	c := s.cfg.SIP
	if c == nil {
		return nil
	}
	sc := sip.Config{Listen: c.Listen, Transport: c.Transport, Logger: s.logger.With("component", "sip")}
	if sc.Listen == "" {
		sc.Listen = "127.0.0.1:5060"
	}
	if c.MediaAddr != "" {
		a, err := netip.ParseAddr(c.MediaAddr)
		if err != nil {
			return fmt.Errorf("faxservice: sip media_addr: %w", err)
		}
		sc.MediaAddr = a
	}
	if c.Policy != "" {
		p, err := sip.ParsePolicy(c.Policy)
		if err != nil {
			return fmt.Errorf("faxservice: sip policy: %w", err)
		}
		sc.Policy = p
	}
	// As the CLI: with await the call waits for the peer's T.38 (with
	// AudioFallback package sip would start an audio fax at once).
	sc.AudioFallback = !c.NoAudioFallback && sc.Policy != sip.PolicyAwait
	switch strings.ToLower(c.Codec) {
	case "", "pcmu":
		sc.Codecs = []sdp.Codec{sdp.PCMU, sdp.PCMA}
	case "pcma":
		sc.Codecs = []sdp.Codec{sdp.PCMA, sdp.PCMU}
	default:
		return fmt.Errorf("faxservice: sip codec %q (want pcmu or pcma)", c.Codec)
	}
	if c.CredentialsFile != "" {
		u, p, err := sipCredentials(c.CredentialsFile)
		if err != nil {
			return err
		}
		sc.User, sc.Password = u, p
	}
	if c.Trunk != "" && !strings.HasPrefix(c.Trunk, "sip:") && !strings.HasPrefix(c.Trunk, "sips:") {
		return fmt.Errorf("faxservice: sip trunk must be sip:host[:port]")
	}
	ep, err := sip.NewEndpoint(sc)
	if err != nil {
		return err
	}
	s.sip = ep
	return nil
}

// trunkURI is the Request-URI for number through the trunk.
func (s *Service) trunkURI(number string) string {
	scheme, rest, _ := strings.Cut(s.cfg.SIP.Trunk, ":")
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		rest = rest[i+1:] // a user part in the trunk URI is replaced
	}
	return scheme + ":" + number + "@" + rest
}

// didOf turns a dialled Request-URI user part into the E.164 form routes
// use ("15550100" and "+15550100" are the same number).
func didOf(user string) string {
	user = strings.TrimSpace(user)
	if user != "" && user[0] != '+' {
		user = "+" + user
	}
	if !e164.MatchString(user) {
		return ""
	}
	return user
}

// t38Options maps negotiated T.38 parameters onto faxkit's.
func t38Options(p *sdp.T38Params, base faxkit.T38Options) faxkit.T38Options {
	o := base
	o.Version = int(p.Version)
	o.MaxDatagram = sdp.NormalizeMaxDatagram(p.MaxDatagram)
	switch p.EC {
	case t38.ECFEC:
		o.ErrorCorrection = faxkit.FEC
	case t38.ECNone:
		o.ErrorCorrection = faxkit.NoEC
	default:
		o.ErrorCorrection = faxkit.Redundancy
	}
	return o
}

var errNoFax = errors.New("the SIP call ended before any fax media")

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

// mediaOf is the media a call's fax ran on last: "t38" (UDPTL or RTP),
// "audio", or "" when none ran.
func mediaOf(rep faxkit.Report) string {
	if len(rep.Media) == 0 {
		return ""
	}
	k := rep.Media[len(rep.Media)-1].Kind
	if strings.HasPrefix(k, "t38") {
		return "t38"
	}
	return k
}

// runSIPFax runs a fax (cfg: Document to send, or Sink to receive) on a
// SIP call: it starts on the first media the fax can run on (T.38, or
// the audio path handed over for an audio fax), follows later T.38 media
// with SwapMedia, and ends the SIP call (FaxDone) when the fax ends.
func (s *Service) runSIPFax(ctx context.Context, call *sip.Call, cfg faxkit.CallConfig) (faxkit.Report, error) {
	var fc *faxkit.Call
	var done <-chan struct{}
	media := call.Media()
	for {
		select {
		case m, ok := <-media:
			if !ok {
				media = nil
				if fc == nil {
					return faxkit.Report{Result: t30.ResultNoAnswer}, fmt.Errorf("%w (%s)", errNoFax, call.Result())
				}
				fc.End() // the SIP call is gone: so is the fax
				continue
			}
			var med faxkit.Media
			maxRate := 0
			switch {
			case m.Kind == sdp.KindT38:
				t38o := t38Options(m.T38, s.fax.T38)
				med = faxkit.T38Media(m.Conn, m.Remote, &t38o)
				maxRate = m.T38.MaxBitRate
			case m.AudioFax:
				med = faxkit.AudioMedia(m.Conn, m.Remote, audioOptions(m))
			default:
				continue // the pre-switch audio leg, which package sip runs
			}
			if fc == nil {
				c := cfg
				if maxRate > 0 && (c.Fax.MaxBitRate == 0 || maxRate < c.Fax.MaxBitRate) {
					c.Fax.MaxBitRate = maxRate
				}
				var err error
				if fc, err = faxkit.NewCall(c); err != nil {
					call.Hangup()
					return faxkit.Report{}, err
				}
				if err := fc.Start(ctx, med); err != nil {
					call.Hangup()
					return faxkit.Report{}, err
				}
				done = fc.Done()
				continue
			}
			if err := fc.SwapMedia(med); err != nil && !errors.Is(err, faxkit.ErrCallEnded) {
				s.logger.Warn("sip: media change refused", "err", err)
			}
		case <-done:
			rep, err := fc.Wait()
			call.FaxDone(context.WithoutCancel(ctx))
			return rep, err
		case <-ctx.Done():
			call.Hangup()
			if fc != nil {
				fc.End()
				return fc.Wait()
			}
			return faxkit.Report{}, ctx.Err()
		}
	}
}

// sendSIP places a fax call to number through the trunk.
func (s *Service) sendSIP(ctx context.Context, number string, doc faxkit.Document, opts faxkit.Options) (faxkit.Report, error) {
	if s.sip == nil || s.cfg.SIP.Trunk == "" {
		return faxkit.Report{}, errors.New("no SIP trunk configured")
	}
	call, err := s.sip.Dial(ctx, s.trunkURI(number), nil)
	if err != nil {
		// Busy, unavailable, no answer: worth another attempt.
		var se *sip.StatusError
		if errors.As(err, &se) {
			return faxkit.Report{Result: t30.ResultNoAnswer}, fmt.Errorf("sip: call rejected %d", se.Code)
		}
		return faxkit.Report{Result: t30.ResultNoAnswer}, err
	}
	return s.runSIPFax(ctx, call, faxkit.CallConfig{Document: doc, Fax: opts.Fax, Timeout: opts.Timeout, OnEvent: opts.OnEvent, Logger: opts.Logger})
}

// acceptSIP answers inbound SIP calls until ctx ends.
func (s *Service) acceptSIP(ctx context.Context) {
	for {
		call, err := s.sip.Accept(ctx)
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			did := didOf(call.To().User())
			meta := phi.Metadata{Remote: redact.FaxNumber(call.From().User())}
			s.receiveCall(ctx, did, "sip-inbound", meta, func(sink faxkit.PageSink, opts *faxkit.Options) (faxkit.Report, error) {
				return s.runSIPFax(ctx, call, faxkit.CallConfig{Sink: sink, Fax: opts.Fax, Timeout: opts.Timeout, Logger: opts.Logger})
			})
		}()
	}
}
