package sip

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// Register registers this endpoint's contact for Config.Register (RFC
// 3261 clause 10), answering 401/407 digest challenges with Config.User
// and Config.Password, through Config.Proxy when set. It returns once the
// first registration is accepted (or refused: a *StatusError), then keeps
// the binding refreshed at half the granted lifetime in a goroutine
// until ctx ends, when it removes the binding (Expires: 0) best-effort.
// The returned channel delivers refresh failures (never blocking; the
// refresher keeps retrying every 30 s).
func (e *Endpoint) Register(ctx context.Context) (<-chan error, error) {
	if e.cfg.Register == "" {
		return nil, fmt.Errorf("%w: no Register address", ErrConfig)
	}
	var aor sip.Uri
	if err := sip.ParseUri(e.cfg.Register, &aor); err != nil || aor.Host == "" {
		return nil, fmt.Errorf("%w: bad Register URI", ErrConfig)
	}
	r := &registration{e: e, aor: aor, callID: sip.GenerateTagN(32), cseq: 1}
	granted, err := r.send(ctx, e.cfg.RegisterExpiry)
	if err != nil {
		return nil, err
	}
	errs := make(chan error, 1)
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		defer func() {
			uctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_, _ = r.send(uctx, 0)
			cancel()
		}()
		wait := granted / 2
		for {
			select {
			case <-ctx.Done():
				return
			case <-e.done:
				return
			case <-time.After(wait):
			}
			g, err := r.send(ctx, e.cfg.RegisterExpiry)
			if err != nil {
				select {
				case errs <- err:
				default:
				}
				wait = 30 * time.Second
				continue
			}
			wait = g / 2
		}
	}()
	return errs, nil
}

type registration struct {
	e      *Endpoint
	aor    sip.Uri
	callID string
	cseq   uint32
}

// send sends one REGISTER asking for expiry and returns the lifetime
// granted.
func (r *registration) send(ctx context.Context, expiry time.Duration) (time.Duration, error) {
	e := r.e
	registrar := sip.Uri{Scheme: r.aor.Scheme, Host: r.aor.Host, Port: r.aor.Port, UriParams: r.aor.UriParams, Headers: sip.NewParams()}
	req := sip.NewRequest(sip.REGISTER, registrar)
	to := sip.ToHeader{Address: r.aor, Params: sip.NewParams()}
	from := sip.FromHeader{Address: r.aor, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(16))
	callID := sip.CallIDHeader(r.callID)
	cseq := sip.CSeqHeader{SeqNo: r.cseq, MethodName: sip.REGISTER}
	r.cseq++
	contact := sip.HeaderClone(&e.contact).(*sip.ContactHeader)
	secs := int(expiry / time.Second)
	req.AppendHeader(&to)
	req.AppendHeader(&from)
	req.AppendHeader(&callID)
	req.AppendHeader(&cseq)
	req.AppendHeader(contact)
	req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(secs)))
	req.AppendHeader(sip.NewHeader("Allow", allowed))
	if t, ok := r.aor.UriParams.Get("transport"); ok && t != "" {
		req.SetTransport(strings.ToUpper(t))
	} else if e.cfg.Transport != "udp" {
		req.SetTransport(strings.ToUpper(e.cfg.Transport))
	}
	if err := e.applyProxy(req); err != nil {
		return 0, err
	}
	res, err := e.cli.Do(ctx, req)
	if err != nil {
		return 0, fmt.Errorf("sip: REGISTER: %w", err)
	}
	if (res.StatusCode == 401 || res.StatusCode == 407) && e.cfg.Password != "" {
		r.cseq++ // DoDigestAuth sends the request again with CSeq+1
		res, err = e.cli.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: e.cfg.User, Password: e.cfg.Password})
		if err != nil {
			return 0, fmt.Errorf("sip: REGISTER: %w", err)
		}
	}
	if !res.IsSuccess() {
		return 0, &StatusError{Code: res.StatusCode}
	}
	granted := expiry
	if h := res.GetHeader("Expires"); h != nil {
		if n, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil && n > 0 {
			granted = time.Duration(n) * time.Second
		}
	}
	for _, h := range res.GetHeaders("Contact") {
		if c, ok := h.(*sip.ContactHeader); ok && c.Address.Host == e.host && c.Address.Port == e.port {
			if v, ok := c.Params.Get("expires"); ok {
				if n, err := strconv.Atoi(v); err == nil && n > 0 {
					granted = time.Duration(n) * time.Second
				}
			}
		}
	}
	return max(granted, 2*time.Second), nil
}
