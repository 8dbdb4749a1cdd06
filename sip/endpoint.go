package sip

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/faxkit/faxkit/sdp"
	"github.com/faxkit/faxkit/t38"
)

// Errors.
var (
	ErrConfig   = errors.New("sip: invalid configuration")
	ErrRejected = errors.New("sip: call rejected")
	ErrClosed   = errors.New("sip: endpoint closed")
)

// Config configures an Endpoint. Its zero value listens on UDP
// 127.0.0.1 on an ephemeral port, with the auto T.38 policy.
type Config struct {
	// Transport is "udp" (default), "tcp" or "tls".
	Transport string
	// Listen is the SIP listening address, host:port. Default
	// "127.0.0.1:0" (an ephemeral port: see Endpoint.Addr).
	Listen string
	// MediaAddr is the address media sockets bind to and SDP advertises.
	// Default: Listen's host. Required when Listen's host is unspecified
	// (0.0.0.0 or ::); it is then also the host of Contact and Via.
	MediaAddr netip.Addr
	// TLS is the certificate configuration with Transport "tls" (server
	// side; its RootCAs/InsecureSkipVerify also apply to outgoing calls).
	TLS *tls.Config
	// Proxy is an outbound proxy, "sip:host:port": every out-of-dialog
	// request is sent to it with a loose Route (RFC 3261 clause 8.1.2).
	Proxy string
	// User and Password are the digest credentials answered to 401/407
	// challenges on INVITE and REGISTER. User is also the From user.
	User, Password string
	// Register, when set, is the address of record to register
	// ("sip:user@registrar:port") by Endpoint.Register.
	Register string
	// RegisterExpiry is the binding lifetime asked for. Default 3600 s;
	// the binding is refreshed at half the granted lifetime.
	RegisterExpiry time.Duration
	// NAT turns on rport in Via (RFC 3581) and sends in-dialog requests to
	// where the peer's requests came from. Media latching (sending to
	// where the peer's media comes from) is always on.
	NAT bool
	// Policy is the T.38 switch policy. Default PolicyAuto.
	Policy Policy
	// T38 are the T.38 capabilities offered and answered with. Default:
	// version 0, 14400 bit/s, transferredTCF, max buffer 1800, max datagram
	// 1400, t38UDPRedundancy. (Answers honour the peer's version, EC and
	// datagram size: see sdp.AnswerT38.)
	T38 sdp.T38Params
	// Codecs are the audio codecs offered, in order. Default PCMU, PCMA.
	Codecs []sdp.Codec
	// SwitchTimeout bounds the wait for a response to our T.38 re-INVITE.
	// Default 5 s. Once it has drawn a provisional response (the peer has
	// it: 100 Trying under load, an SBC consulting its other leg) the
	// final answer is awaited up to three times as long from the
	// re-INVITE. A re-INVITE sent again after 422 (RFC 4028) is the same
	// switch: the wait still counts from the first one.
	SwitchTimeout time.Duration
	// AutoRequestDelay is how long a caller with PolicyAuto waits for the
	// answerer's re-INVITE before requesting T.38 itself. Default 3 s.
	AutoRequestDelay time.Duration
	// AwaitTimeout is how long PolicyAwait waits for the peer's T.38
	// offer. Default 35 s (T.30's T1).
	AwaitTimeout time.Duration
	// AudioFallback keeps a call whose T.38 switch failed in audio and
	// hands its audio path to the application's audio fax modem (a Media
	// with AudioFax); with PolicyAwait the audio fax starts at once.
	// Default false: such a call is hung up with ResultT38Refused
	// (PolicyOff is audio fax from the start either way).
	AudioFallback bool
	// ByeWait is how long, after the application's FaxDone, the call
	// waits for the peer's BYE before sending its own (the peer may still
	// be pacing out its DCN, about 1.2 s at 300 bit/s). Default 4 s when we
	// answered the call, 2 s when we placed it (so two faxkit ends do not
	// cross BYEs).
	ByeWait time.Duration
	// SessionExpires is the session interval (RFC 4028) asked for in our
	// INVITEs, and imposed (with us as refresher) on incoming calls whose
	// INVITE asks for none. Default 0: none asked for; a peer's session
	// timer is always honoured, and when this side is the refresher it
	// sends the refresh (UPDATE if the peer allows it, else a re-INVITE
	// with the same SDP) at half the interval.
	SessionExpires time.Duration
	// MinSE is the smallest session interval accepted (a request asking
	// for less is answered 422 with Min-SE). Default 90 s (RFC 4028). A
	// request of ours answered 422 is sent again asking for the peer's
	// Min-SE, never for less than MinSE (see the package documentation).
	MinSE time.Duration
	// AnswerQueue is how many incoming calls wait for Accept before new
	// ones are answered 486 Busy Here. Default 16.
	AnswerQueue int
	// Logger receives the endpoint's debug stream; nil discards it. Party
	// addresses are logged redacted (see URI.LogValue).
	Logger *slog.Logger
	// UserAgent is the User-Agent header. Default "faxkit".
	UserAgent string
}

func (c Config) withDefaults() (Config, error) {
	if c.Transport == "" {
		c.Transport = "udp"
	}
	c.Transport = strings.ToLower(c.Transport)
	switch c.Transport {
	case "udp", "tcp":
	case "tls":
		if c.TLS == nil {
			return c, fmt.Errorf("%w: transport tls needs Config.TLS", ErrConfig)
		}
	default:
		return c, fmt.Errorf("%w: transport %q", ErrConfig, c.Transport)
	}
	if c.Listen == "" {
		c.Listen = "127.0.0.1:0"
	}
	if c.ByeWait < 0 {
		return c, fmt.Errorf("%w: negative ByeWait", ErrConfig)
	}
	if c.RegisterExpiry <= 0 {
		c.RegisterExpiry = time.Hour
	}
	if c.T38 == (sdp.T38Params{}) {
		c.T38 = sdp.T38Params{Version: 0, MaxBitRate: 14400, RateManagement: sdp.RateTransferredTCF,
			MaxBuffer: 1800, MaxDatagram: 1400, EC: t38.ECRedundancy}
	}
	if c.SwitchTimeout <= 0 {
		c.SwitchTimeout = 5 * time.Second
	}
	if c.AutoRequestDelay <= 0 {
		c.AutoRequestDelay = 3 * time.Second
	}
	if c.AwaitTimeout <= 0 {
		c.AwaitTimeout = 35 * time.Second
	}
	if c.AnswerQueue <= 0 {
		c.AnswerQueue = 16
	}
	if c.MinSE <= 0 {
		c.MinSE = 90 * time.Second
	}
	if c.SessionExpires < 0 {
		return c, fmt.Errorf("%w: negative SessionExpires", ErrConfig)
	}
	if c.SessionExpires > 0 {
		c.SessionExpires = max(c.SessionExpires.Truncate(time.Second), c.MinSE)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.UserAgent == "" {
		c.UserAgent = "faxkit"
	}
	if c.Policy > PolicyOff {
		return c, fmt.Errorf("%w: policy", ErrConfig)
	}
	return c, nil
}

// Endpoint is a SIP user agent for fax calls: it listens on one address,
// places calls (Dial), answers them (Accept) and keeps a registration
// (Register). Each call is owned by one goroutine.
type Endpoint struct {
	cfg     Config
	ua      *sipgo.UserAgent
	srv     *sipgo.Server
	cli     *sipgo.Client
	dua     *sipgo.DialogUA
	contact sip.ContactHeader
	addr    net.Addr
	host    string
	port    int
	closer  io.Closer

	mu       sync.Mutex
	calls    map[string]*Call // by Call-ID
	incoming chan *Call
	closed   bool
	done     chan struct{}
	wg       sync.WaitGroup
}

// NewEndpoint starts listening as cfg says. Close stops it.
func NewEndpoint(cfg Config) (*Endpoint, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	quietSipgo.Do(func() {
		// sipgo logs a few warnings of its own (a UDP connection reference
		// count going negative when a transaction's socket is released, a
		// retransmitted response without a transaction) through its
		// package-global logger, slog.Default() unless set: they are noise
		// for a fax application's log. Keep sipgo's errors there and drop
		// the rest, unless the application chose sipgo's logger itself.
		// Set once, before this package uses sipgo (sipgo reads it without
		// synchronisation). The endpoint's own logging is Config.Logger.
		if sip.DefaultLogger() == slog.Default() {
			sip.SetDefaultLogger(slog.New(minLevel{slog.Default().Handler(), slog.LevelError}))
		}
	})
	e := &Endpoint{cfg: cfg, calls: map[string]*Call{}, incoming: make(chan *Call, cfg.AnswerQueue), done: make(chan struct{})}
	uaOpts := []sipgo.UserAgentOption{sipgo.WithUserAgent(cfg.UserAgent),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(cfg.Logger),
			// Retransmitted 2xx whose transaction is gone: the dialog layer
			// answered them already.
			sip.WithTransactionLayerUnhandledResponseHandler(func(*sip.Response) {})),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(cfg.Logger))}
	if cfg.TLS != nil {
		uaOpts = append(uaOpts, sipgo.WithUserAgenTLSConfig(cfg.TLS))
	}
	if e.ua, err = sipgo.NewUA(uaOpts...); err != nil {
		return nil, err
	}
	if e.srv, err = sipgo.NewServer(e.ua, sipgo.WithServerLogger(cfg.Logger)); err != nil {
		e.ua.Close()
		return nil, err
	}
	// Listen ourselves so that an ephemeral port is known before serving;
	// serve once the handlers are in place.
	var serve func()
	switch cfg.Transport {
	case "udp":
		pc, err := net.ListenPacket("udp", cfg.Listen)
		if err != nil {
			e.ua.Close()
			return nil, err
		}
		e.addr, e.closer = pc.LocalAddr(), pc
		serve = func() { go e.srv.ServeUDP(pc) }
	case "tcp":
		l, err := net.Listen("tcp", cfg.Listen)
		if err != nil {
			e.ua.Close()
			return nil, err
		}
		e.addr, e.closer = l.Addr(), l
		serve = func() { go e.srv.ServeTCP(l) }
	case "tls":
		l, err := tls.Listen("tcp", cfg.Listen, cfg.TLS)
		if err != nil {
			e.ua.Close()
			return nil, err
		}
		e.addr, e.closer = l.Addr(), l
		serve = func() { go e.srv.ServeTLS(l) }
	}
	ap, err := netip.ParseAddrPort(e.addr.String())
	if err != nil {
		e.closer.Close()
		e.Close()
		return nil, err
	}
	if ap.Addr().IsUnspecified() && !e.cfg.MediaAddr.IsValid() {
		// 0.0.0.0 in Contact, Via or SDP c= would be unreachable (and c=
		// 0.0.0.0 means hold).
		e.closer.Close()
		e.Close()
		return nil, fmt.Errorf("%w: listening on an unspecified address needs Config.MediaAddr", ErrConfig)
	}
	e.host, e.port = ap.Addr().Unmap().String(), int(ap.Port())
	if !e.cfg.MediaAddr.IsValid() {
		e.cfg.MediaAddr = ap.Addr().Unmap()
	}
	if ap.Addr().IsUnspecified() {
		e.host = e.cfg.MediaAddr.String() // advertised in Contact and Via
	}
	cliOpts := []sipgo.ClientOption{sipgo.WithClientLogger(cfg.Logger), sipgo.WithClientHostname(e.host)}
	if cfg.Transport == "udp" {
		// Send from the listening socket: the peer's responses and
		// requests come back to the port we advertise.
		cliOpts = append(cliOpts, sipgo.WithClientAddr(e.addr.String()))
	}
	if cfg.NAT {
		cliOpts = append(cliOpts, sipgo.WithClientNAT())
	}
	if e.cli, err = sipgo.NewClient(e.ua, cliOpts...); err != nil {
		e.Close()
		return nil, err
	}
	scheme := "sip"
	if cfg.Transport == "tls" {
		scheme = "sips"
	}
	e.contact = sip.ContactHeader{Address: sip.Uri{Scheme: scheme, User: contactUser(cfg.User), Host: e.host, Port: e.port,
		UriParams: transportParams(cfg.Transport), Headers: sip.NewParams()}, Params: sip.NewParams()}
	e.dua = &sipgo.DialogUA{Client: e.cli, ContactHDR: e.contact, RewriteContact: cfg.NAT}
	e.srv.OnInvite(e.onInvite)
	e.srv.OnAck(e.onAck)
	e.srv.OnBye(e.onBye)
	e.srv.OnCancel(func(req *sip.Request, tx sip.ServerTransaction) {
		// A CANCEL matching no INVITE transaction (RFC 3261 clause 9.2).
		_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
	})
	e.srv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		res := sip.NewResponseFromRequest(req, 200, "OK", nil)
		res.AppendHeader(sip.NewHeader("Allow", allowed))
		_ = tx.Respond(res)
	})
	e.srv.OnUpdate(e.onUpdate)
	serve()
	return e, nil
}

const allowed = "INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE"

var quietSipgo sync.Once

// minLevel drops records below level.
type minLevel struct {
	slog.Handler
	level slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.level && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(as []slog.Attr) slog.Handler {
	return minLevel{h.Handler.WithAttrs(as), h.level}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{h.Handler.WithGroup(name), h.level}
}

func contactUser(u string) string {
	if u == "" {
		return "faxkit"
	}
	return u
}

func transportParams(t string) sip.HeaderParams {
	p := sip.NewParams()
	if t == "tcp" || t == "tls" {
		p.Add("transport", "tcp")
		if t == "tls" {
			p = sip.NewParams()
			p.Add("transport", "tls")
		}
	}
	return p
}

// Addr is the address the endpoint listens on.
func (e *Endpoint) Addr() net.Addr { return e.addr }

// URI returns a SIP URI that reaches this endpoint for user (e.g. the
// number to dial in tests): "sip:user@host:port[;transport=...]".
func (e *Endpoint) URI(user string) string {
	u := fmt.Sprintf("sip:%s@%s:%d", user, hostForURI(e.host), e.port)
	if e.cfg.Transport != "udp" {
		u += ";transport=" + e.cfg.Transport
	}
	return u
}

func hostForURI(h string) string {
	if strings.Contains(h, ":") {
		return "[" + h + "]"
	}
	return h
}

// Close hangs up nothing (callers end their calls) but stops listening
// and refuses new calls. Calls still up are ended with ResultError.
func (e *Endpoint) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	calls := make([]*Call, 0, len(e.calls))
	for _, c := range e.calls {
		calls = append(calls, c)
	}
	close(e.done)
	e.mu.Unlock()
	for _, c := range calls {
		c.abort()
	}
	e.wg.Wait()
	if e.closer != nil {
		e.closer.Close()
	}
	if e.srv != nil {
		e.srv.Close()
	}
	if e.cli != nil {
		e.cli.Close()
	}
	return e.ua.Close()
}

func (e *Endpoint) local(mediaPort int, sessionID uint64) sdp.Local {
	return sdp.Local{SessionID: sessionID, Addr: e.cfg.MediaAddr, AudioPort: mediaPort, T38Port: mediaPort,
		Codecs: e.cfg.Codecs, T38: e.cfg.T38, T38MaxVersion: t38.MaxVersion}
}

func (e *Endpoint) machineConfig(role Role, l sdp.Local) machineConfig {
	byeWait := e.cfg.ByeWait
	if byeWait <= 0 {
		byeWait = 2 * time.Second
		if role == RoleAnswerer {
			byeWait = 4 * time.Second
		}
	}
	return machineConfig{role: role, policy: e.cfg.Policy, local: l, switchTimeout: e.cfg.SwitchTimeout,
		autoRequestDelay: e.cfg.AutoRequestDelay, awaitTimeout: e.cfg.AwaitTimeout, audioFallback: e.cfg.AudioFallback,
		byeWait: byeWait, minSE: e.cfg.MinSE,
		rand: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))}
}

func (e *Endpoint) register(c *Call) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return false
	}
	e.calls[c.key] = c
	e.wg.Add(1)
	return true
}

func (e *Endpoint) unregister(c *Call) {
	e.mu.Lock()
	if e.calls[c.key] == c {
		delete(e.calls, c.key)
	}
	e.mu.Unlock()
}

// lookup finds the dialog of an in-dialog request: its Call-ID and our
// tag, which the peer puts in To.
func (e *Endpoint) lookup(req *sip.Request) *Call {
	id, to := req.CallID(), req.To()
	if id == nil || to == nil || to.Params == nil {
		return nil
	}
	tag, _ := to.Params.Get("tag")
	if tag == "" {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.calls[dialogKey(id.Value(), tag)]
}

// merged reports whether an INVITE without a To tag repeats one we
// answered already: the same Call-ID, From tag and CSeq.
func (e *Endpoint) merged(req *sip.Request) bool {
	ftag, _ := req.From().Params.Get("tag")
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, c := range e.calls {
		if c.dss == nil || c.callID != req.CallID().Value() {
			continue
		}
		inv := c.dss.InviteRequest
		t, _ := inv.From().Params.Get("tag")
		if t == ftag && inv.CSeq().SeqNo == req.CSeq().SeqNo {
			return true
		}
	}
	return false
}

// validRequest checks what faxkit relies on before handling a request
// (RFC 3261 clause 8.2): Call-ID, From with a tag, To, and a CSeq whose
// method is the request's. A bad request is answered 400 (except ACK,
// which gets no response) and false is returned.
func validRequest(req *sip.Request, tx sip.ServerTransaction) bool {
	ok := req.CallID() != nil && req.From() != nil && req.To() != nil && req.CSeq() != nil &&
		req.CSeq().MethodName == req.Method && req.From().Params != nil && req.From().Params.Has("tag")
	if !ok && !req.IsAck() && tx != nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 400, "Bad Request", nil))
	}
	return ok
}

// DialOptions are per-call settings of Dial. Nil means none.
type DialOptions struct {
	// From is the caller's user part (the calling number). Default
	// Config.User, else "faxkit".
	From string
	// Headers are extra headers for the INVITE ("Name: value").
	Headers []string
}

// Dial calls uri ("sip:USER@HOST[:PORT][;transport=tcp]") and returns
// once the call is answered and acknowledged. Cancelling ctx before then
// sends CANCEL. A final failure response returns a *StatusError (wrapping
// ErrRejected) with the status code. The returned Call's Media channel
// delivers the audio media, then the switch to T.38.
func (e *Endpoint) Dial(ctx context.Context, uri string, opts *DialOptions) (*Call, error) {
	if opts == nil {
		opts = &DialOptions{}
	}
	var target sip.Uri
	if err := sip.ParseUri(uri, &target); err != nil || target.Host == "" {
		return nil, fmt.Errorf("%w: bad request URI", ErrConfig)
	}
	mc, err := newMediaConn(e.cfg.MediaAddr)
	if err != nil {
		return nil, err
	}
	sessID := uint64(time.Now().UnixNano()/1000) & (1<<53 - 1)
	l := e.local(mc.port(), sessID)
	kind := sdp.KindAudio
	if e.cfg.Policy == PolicyOffer {
		kind = sdp.KindAudioT38
	}
	offer := sdp.Offer(l, kind, nil)

	req := sip.NewRequest(sip.INVITE, target)
	req.SetBody(offer.Marshal())
	ct := sip.ContentTypeHeader("application/sdp")
	req.AppendHeader(&ct)
	from := opts.From
	if from == "" {
		from = contactUser(e.cfg.User)
	}
	fromHdr := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: from, Host: e.host, Port: e.port}, Params: sip.NewParams()}
	fromHdr.Params.Add("tag", sip.GenerateTagN(16))
	req.AppendHeader(fromHdr)
	req.AppendHeader(&sip.ToHeader{Address: target, Params: sip.NewParams()})
	callID := sip.CallIDHeader(sip.GenerateTagN(32))
	req.AppendHeader(&callID)
	req.AppendHeader(sip.NewHeader("Allow", allowed))
	req.AppendHeader(sip.NewHeader("Supported", "timer"))
	if e.cfg.SessionExpires > 0 {
		req.AppendHeader(sip.NewHeader("Session-Expires", seValue(e.cfg.SessionExpires, "")))
		req.AppendHeader(sip.NewHeader("Min-SE", seValue(e.cfg.MinSE, "")))
	}
	for _, h := range opts.Headers {
		name, value, ok := strings.Cut(h, ":")
		if ok {
			req.AppendHeader(sip.NewHeader(strings.TrimSpace(name), strings.TrimSpace(value)))
		}
	}
	if t, ok := target.UriParams.Get("transport"); ok && t != "" {
		req.SetTransport(strings.ToUpper(t))
	} else if e.cfg.Transport != "udp" {
		req.SetTransport(strings.ToUpper(e.cfg.Transport))
	}
	if err := e.applyProxy(req); err != nil {
		mc.Close()
		return nil, err
	}

	ftag, _ := fromHdr.Params.Get("tag")
	c := newCall(e, RoleCaller, mc, req.CallID().Value(), ftag, URI{uri: req.Recipient.String(), user: target.User}, URI{uri: fromHdr.Address.String(), user: from})
	if !e.register(c) {
		mc.Close()
		return nil, ErrClosed
	}
	started := time.Now()
	asked := e.cfg.SessionExpires // the session interval the INVITE asks for
	var peerMin time.Duration     // the largest Min-SE of a 422 to it
	var dcs *sipgo.DialogClientSession
	for retries := 0; ; retries++ {
		dcs, err = e.dua.WriteInvite(ctx, req)
		if err != nil {
			c.failSetup(0)
			return nil, fmt.Errorf("sip: sending INVITE: %w", err)
		}
		err = dcs.WaitAnswer(ctx, sipgo.AnswerOptions{Username: e.cfg.User, Password: e.cfg.Password,
			OnResponse: func(res *sip.Response) error {
				c.status.Store(int32(res.StatusCode))
				return nil
			}})
		var de *sipgo.ErrDialogResponse
		if err == nil || !errors.As(err, &de) || de.Res.StatusCode != 422 {
			break
		}
		// 422 Session Interval Too Small (RFC 4028 clause 7.4): a new
		// INVITE, same Call-ID and From tag, the next CSeq, asking for
		// the Min-SE it names; bounded, and never for a Min-SE that is
		// missing or no larger than what we asked for.
		mse := minSEOf(de.Res)
		next, ok := retryInterval(mse, asked, e.cfg.MinSE)
		if !ok || retries >= maxSERetries {
			e.cfg.Logger.Debug("sip INVITE 422 not retried", "min_se_s", int64(mse/time.Second),
				"asked_s", int64(asked/time.Second), "retries", retries)
			break
		}
		dcs.Close()
		asked, peerMin = next, max(peerMin, mse)
		req = retryInvite(req, asked, max(peerMin, e.cfg.MinSE))
		e.cfg.Logger.Debug("sip INVITE 422 retried", "session_expires_s", int64(asked/time.Second))
	}
	if err != nil {
		dcs.Close()
		var de *sipgo.ErrDialogResponse
		if errors.As(err, &de) {
			c.failSetup(de.Res.StatusCode)
			return nil, &StatusError{Code: de.Res.StatusCode}
		}
		c.failSetup(0)
		return nil, fmt.Errorf("sip: INVITE: %w", err)
	}
	c.setup = time.Since(started)
	// Reading the answer before the ACK, as a re-INVITE or BYE may follow it
	// at once.
	var answer *sdp.Session
	var neg sdp.Negotiated
	answer, err = sdp.Parse(dcs.InviteResponse.Body())
	if err == nil {
		neg, err = sdp.Result(offer, answer)
	}
	if err := dcs.Ack(ctx); err != nil {
		dcs.Close()
		c.failSetup(dcs.InviteResponse.StatusCode)
		return nil, fmt.Errorf("sip: ACK: %w", err)
	}
	ackAt := time.Now()
	c.dcs = dcs
	if err != nil {
		// 200 with an unusable answer: end it (RFC 3261 13.2.2.4 says ACK,
		// then BYE).
		c.failAfterAck(ctx)
		return nil, fmt.Errorf("sip: answer: %w", err)
	}
	e.cfg.Logger.Debug("sip call answered", "to", c.to, "status", dcs.InviteResponse.StatusCode)
	c.machine.cfg = e.machineConfig(RoleCaller, l)
	c.machine.dialed(dcs.InviteResponse, peerMin)
	go c.run(ackAt, offer, answer, neg)
	return c, nil
}

// retryInvite is the INVITE req sent again after a 422 (RFC 4028 clause
// 7.4, RFC 3261 clause 8.1.3.5): the same request (Call-ID, From tag,
// body, credentials) with a new Via branch, the next CSeq, and
// Session-Expires and Min-SE replaced.
func retryInvite(req *sip.Request, se, minSE time.Duration) *sip.Request {
	r := req.Clone()
	r.RemoveHeader("Via")
	if cs := r.CSeq(); cs != nil {
		cs.SeqNo++
	}
	for _, name := range []string{"Session-Expires", "Min-SE"} {
		for r.GetHeader(name) != nil {
			r.RemoveHeader(r.GetHeader(name).Name())
		}
	}
	r.AppendHeader(sip.NewHeader("Session-Expires", seValue(se, "")))
	r.AppendHeader(sip.NewHeader("Min-SE", seValue(minSE, "")))
	return r
}

func (e *Endpoint) applyProxy(req *sip.Request) error {
	if e.cfg.Proxy == "" {
		return nil
	}
	var p sip.Uri
	if err := sip.ParseUri(e.cfg.Proxy, &p); err != nil || p.Host == "" {
		return fmt.Errorf("%w: bad proxy URI", ErrConfig)
	}
	p.UriParams = sip.NewParams()
	p.UriParams.Add("lr", "")
	req.PrependHeader(&sip.RouteHeader{Address: p})
	port := p.Port
	if port == 0 {
		port = 5060
	}
	req.SetDestination(fmt.Sprintf("%s:%d", hostForURI(p.Host), port))
	return nil
}

// StatusError is a final non-2xx response to our INVITE.
type StatusError struct{ Code int }

func (e *StatusError) Error() string { return fmt.Sprintf("sip: call rejected with status %d", e.Code) }

// Unwrap makes errors.Is(err, ErrRejected) true.
func (e *StatusError) Unwrap() error { return ErrRejected }

// Accept returns the next incoming call, once it is answered and
// acknowledged. Calls arriving while no one accepts are queued (up to
// Config.AnswerQueue, then refused with 486).
func (e *Endpoint) Accept(ctx context.Context) (*Call, error) {
	for {
		select {
		case c := <-e.incoming:
			select {
			case <-c.confirmed:
				return c, nil
			case <-c.done:
				continue // cancelled or never acknowledged
			case <-ctx.Done():
				c.Hangup()
				return nil, ctx.Err()
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-e.done:
			return nil, ErrClosed
		}
	}
}

func (e *Endpoint) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	if !validRequest(req, tx) {
		return
	}
	if to := req.To(); to != nil && to.Params != nil && to.Params.Has("tag") {
		c := e.lookup(req)
		if c == nil {
			_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
			return
		}
		// The handler holds the transaction until the call answers it.
		done := make(chan struct{})
		c.post(callEvent{kind: evReinvite, req: req, tx: tx, done: done})
		select {
		case <-done:
		case <-c.done:
			_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		}
		return
	}
	if e.merged(req) {
		// The same INVITE (Call-ID, From tag, CSeq) arriving again outside
		// its transaction: a loop or a merged request (RFC 3261 clause
		// 8.2.2.2).
		_ = tx.Respond(sip.NewResponseFromRequest(req, 482, "Loop Detected", nil))
		return
	}
	e.answer(req, tx)
}

// inviteAnswer decides the answer to an initial INVITE: the SDP answer
// (or, for an INVITE without SDP, our offer to put in the 200), or a
// failure status. It is pure: no I/O.
func inviteAnswer(req *sip.Request, l sdp.Local, p Policy) (ans, offer *sdp.Session, neg sdp.Negotiated, code int) {
	if len(req.Body()) == 0 {
		// Delayed offer: our offer goes in the 200, the answer in the ACK.
		return sdp.Offer(l, sdp.KindAudio, nil), nil, neg, 200
	}
	if ct := req.ContentType(); ct != nil {
		mt, _, _ := strings.Cut(ct.Value(), ";")
		if !strings.EqualFold(strings.TrimSpace(mt), "application/sdp") {
			return nil, nil, neg, 415
		}
	}
	offer, err := sdp.Parse(req.Body())
	if err != nil {
		return nil, nil, neg, 400
	}
	ans, neg, err = sdp.Answer(l, offer, nil, p != PolicyOff)
	if err != nil {
		return nil, nil, neg, 488
	}
	return ans, offer, neg, 200
}

func (e *Endpoint) answer(req *sip.Request, tx sip.ServerTransaction) {
	respond := func(code int, reason string) {
		res := sip.NewResponseFromRequest(req, code, reason, nil)
		if code == 415 {
			res.AppendHeader(sip.NewHeader("Accept", "application/sdp"))
		}
		_ = tx.Respond(res)
	}
	mc, err := newMediaConn(e.cfg.MediaAddr)
	if err != nil {
		respond(503, "Service Unavailable")
		return
	}
	sessID := uint64(time.Now().UnixNano()/1000) & (1<<53 - 1)
	l := e.local(mc.port(), sessID)
	se, requireTimer, st, tooSmall := uasSessionTimer(req, e.cfg.SessionExpires, e.cfg.MinSE)
	if tooSmall {
		mc.Close()
		res := sip.NewResponseFromRequest(req, 422, "Session Interval Too Small", nil)
		res.AppendHeader(sip.NewHeader("Min-SE", seValue(e.cfg.MinSE, "")))
		_ = tx.Respond(res)
		return
	}
	ans, offer, neg, code := inviteAnswer(req, l, e.cfg.Policy)
	if code != 200 {
		mc.Close()
		respond(code, map[int]string{400: "Bad Session Description", 415: "Unsupported Media Type", 488: "Not Acceptable Here"}[code])
		return
	}
	ds, err := e.dua.ReadInvite(req, tx)
	if err != nil {
		mc.Close()
		respond(400, "Bad Request")
		return
	}
	var to, from URI
	if h := req.To(); h != nil {
		to = URI{uri: h.Address.String(), user: req.Recipient.User}
	}
	if h := req.From(); h != nil {
		from = URI{uri: h.Address.String(), user: h.Address.User}
	}
	ltag, _ := ds.InviteRequest.To().Params.Get("tag")
	c := newCall(e, RoleAnswerer, mc, req.CallID().Value(), ltag, to, from)
	c.dss = ds
	c.machine.cfg = e.machineConfig(RoleAnswerer, l)
	c.machine.invited(req, st)
	if !e.register(c) {
		mc.Close()
		respond(503, "Service Unavailable")
		return
	}
	select {
	case e.incoming <- c:
	default:
		e.unregister(c)
		e.wg.Done()
		mc.Close()
		_ = ds.Respond(486, "Busy Here", nil)
		return
	}
	c.status.Store(200)
	res := sip.NewSDPResponseFromRequest(ds.InviteRequest, ans.Marshal())
	res.AppendHeader(sip.NewHeader("Allow", allowed))
	addSessionExpires(res, se, requireTimer)
	e.cfg.Logger.Debug("sip call answered", "from", c.from, "to", c.to)
	// The handler must hold the transaction until the final response is
	// sent; the dialog layer retransmits the 200 until the ACK (read in
	// onAck) or 64*T1.
	if err := ds.WriteResponse(res); err != nil {
		ds.Close()
		c.failSetup(0)
		return
	}
	go c.runAnswerer(ans, offer, neg)
}

func (e *Endpoint) onAck(req *sip.Request, tx sip.ServerTransaction) {
	if !validRequest(req, tx) {
		return
	}
	c := e.lookup(req)
	if c == nil {
		return
	}
	if c.dss != nil && req.CSeq() != nil && req.CSeq().SeqNo == c.dss.InviteRequest.CSeq().SeqNo {
		// The ACK of our 200 to the initial INVITE: it stops the 2xx
		// retransmissions of the dialog layer (RFC 3261 clause 13.3.1.4).
		_ = c.dss.ReadAck(req, tx)
	}
	c.post(callEvent{kind: evAck, req: req})
}

func (e *Endpoint) onBye(req *sip.Request, tx sip.ServerTransaction) {
	if !validRequest(req, tx) {
		return
	}
	c := e.lookup(req)
	if c == nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		return
	}
	_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	c.post(callEvent{kind: evBye})
}

// onUpdate hands UPDATE (RFC 3311) to its call: session timers (RFC 4028)
// use it for refreshes (answered 200, Session-Expires negotiated as for a
// re-INVITE); an UPDATE with an offer is answered 488 (this endpoint
// changes media only by re-INVITE).
func (e *Endpoint) onUpdate(req *sip.Request, tx sip.ServerTransaction) {
	if !validRequest(req, tx) {
		return
	}
	c := e.lookup(req)
	if c == nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		return
	}
	if len(req.Body()) > 0 {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 488, "Not Acceptable Here", nil))
		return
	}
	done := make(chan struct{})
	c.post(callEvent{kind: evUpdate, req: req, tx: tx, done: done})
	select {
	case <-done:
	case <-c.done:
		_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
	}
}

func addSessionExpires(res *sip.Response, se string, requireTimer bool) {
	if se == "" {
		return
	}
	res.AppendHeader(sip.NewHeader("Session-Expires", se))
	if requireTimer {
		res.AppendHeader(sip.NewHeader("Require", "timer"))
	}
}

// allows reports whether a message's Allow header lists method.
func allows(m headerGetter, method string) bool {
	for _, h := range m.GetHeaders("allow") {
		for t := range strings.SplitSeq(h.Value(), ",") {
			if strings.EqualFold(strings.TrimSpace(t), method) {
				return true
			}
		}
	}
	return false
}
