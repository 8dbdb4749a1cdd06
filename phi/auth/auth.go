// Package auth issues and checks API tokens for the principals of package
// phi (person or entity authentication, 45 CFR 164.312(d)), with expiry,
// automatic logoff after idle time (164.312(a)(2)(iii)) and lockout after
// repeated failures, each attempt audited to a phi/audit log.
//
// # Limitations
//
//   - Tokens live in memory: an application that must survive a restart
//     keeps its own token table (faxservice keeps hashed tokens in its
//     database) and uses this package as a model or for single-process
//     tools.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/faxkit/faxkit/internal/clock"
	"github.com/faxkit/faxkit/phi"
	"github.com/faxkit/faxkit/phi/audit"
	"strings"
	"sync"
	"time"
)

// Config configures a Authenticator. The zero value works.
type Config struct {
	// TTL is a token's absolute lifetime. Default 24h.
	TTL time.Duration
	// IdleTimeout logs a token off automatically after this long without
	// use (164.312(a)(2)(iii)). Default 15m.
	IdleTimeout time.Duration
	// MaxFailures consecutive failed attempts on one principal lock it out.
	// Default 5.
	MaxFailures int
	// Lockout is how long a locked principal stays locked. Default 15m.
	Lockout time.Duration
	// Clock drives expiry, idle timeout and lockout. Nil: the system clock.
	Clock clock.Clock
	// Audit, if set, receives a login/logout event for every attempt.
	Audit *audit.Log
}

// Authenticator issues and checks API tokens (person or entity
// authentication, 164.312(d)). Tokens are 256-bit random secrets shown to
// the caller once; only their SHA-256 is kept, and the comparison is
// constant-time. Token format: "fxk_" + tokenID + "_" + secret, where the
// non-secret tokenID selects the stored hash.
type Authenticator struct {
	cfg    Config
	mu     sync.Mutex
	tokens map[string]*tokenState // token id -> state
	fails  map[string]*failState  // principal id -> failures
	// pruneAt is the token count at which Issue next drops expired and
	// idle tokens, so tokens that are issued and never presented again
	// do not pile up in memory.
	pruneAt int
}

type tokenState struct {
	hash      [32]byte
	principal phi.Principal
	expires   time.Time
	lastUsed  time.Time
}

type failState struct {
	count       int
	lockedUntil time.Time
}

// New returns an authenticator with no tokens.
func New(cfg Config) *Authenticator {
	if cfg.TTL <= 0 {
		cfg.TTL = 24 * time.Hour
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 15 * time.Minute
	}
	if cfg.MaxFailures <= 0 {
		cfg.MaxFailures = 5
	}
	if cfg.Lockout <= 0 {
		cfg.Lockout = 15 * time.Minute
	}
	cfg.Clock = clockOr(cfg.Clock)
	return &Authenticator{cfg: cfg, tokens: map[string]*tokenState{}, fails: map[string]*failState{}, pruneAt: minPruneAt}
}

const minPruneAt = 1024

// pruneLocked drops tokens past their TTL or idle timeout; they could only
// fail to authenticate. Called with a.mu held.
func (a *Authenticator) pruneLocked(now time.Time) {
	for id, st := range a.tokens {
		if !now.Before(st.expires) || now.Sub(st.lastUsed) >= a.cfg.IdleTimeout {
			delete(a.tokens, id)
		}
	}
	a.pruneAt = max(minPruneAt, 2*len(a.tokens))
}

func randHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// Issue creates a token for p. The returned string is the only copy of the
// secret.
func (a *Authenticator) Issue(p phi.Principal) string {
	id := randHex(8)
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		panic(err)
	}
	s := base64.RawURLEncoding.EncodeToString(secret)
	now := a.cfg.Clock.Now()
	a.mu.Lock()
	if len(a.tokens) >= a.pruneAt {
		a.pruneLocked(now)
	}
	a.tokens[id] = &tokenState{hash: sha256.Sum256([]byte(s)), principal: p, expires: now.Add(a.cfg.TTL), lastUsed: now}
	a.mu.Unlock()
	return "fxk_" + id + "_" + s
}

// Revoke logs a token off.
func (a *Authenticator) Revoke(ctx context.Context, token, source string) {
	id, _, _ := splitToken(token)
	a.mu.Lock()
	st := a.tokens[id]
	delete(a.tokens, id)
	a.mu.Unlock()
	if st != nil {
		a.audit(ctx, st.principal.ID, audit.ActionLogout, source, audit.OutcomeSuccess, "revoked")
	}
}

func splitToken(tok string) (id, secret string, ok bool) {
	rest, ok := strings.CutPrefix(tok, "fxk_")
	if !ok {
		return "", "", false
	}
	return strings.Cut(rest, "_")
}

func (a *Authenticator) audit(ctx context.Context, principal string, act audit.Action, source string, out audit.Outcome, detail string) error {
	if a.cfg.Audit == nil {
		return nil
	}
	_, err := a.cfg.Audit.Append(ctx, audit.Event{Time: a.cfg.Clock.Now(), Principal: principal, Action: act, Source: source, Outcome: out, Detail: detail})
	return err
}

// Authenticate checks a token and returns its principal. Errors:
// ErrUnauthenticated (unknown or wrong token), ErrTokenExpired,
// ErrIdleTimeout (the token is also revoked), ErrLockedOut. With
// Config.Audit set, a login that cannot be audited is refused (the
// token stays valid), as Policy.Check refuses unaudited decisions.
func (a *Authenticator) Authenticate(ctx context.Context, token, source string) (phi.Principal, error) {
	now := a.cfg.Clock.Now()
	id, secret, ok := splitToken(token)
	a.mu.Lock()
	st := a.tokens[id]
	if !ok || st == nil {
		a.mu.Unlock()
		a.audit(ctx, "", audit.ActionLogin, source, audit.OutcomeDenied, "unknown token")
		return phi.Principal{}, ErrUnauthenticated
	}
	pid := st.principal.ID
	f := a.fails[pid]
	if f != nil && now.Before(f.lockedUntil) {
		a.mu.Unlock()
		a.audit(ctx, pid, audit.ActionLogin, source, audit.OutcomeDenied, "locked out")
		return phi.Principal{}, ErrLockedOut
	}
	h := sha256.Sum256([]byte(secret))
	if subtle.ConstantTimeCompare(h[:], st.hash[:]) != 1 {
		if f == nil {
			f = &failState{}
			a.fails[pid] = f
		}
		f.count++
		locked := f.count >= a.cfg.MaxFailures
		if locked {
			f.lockedUntil = now.Add(a.cfg.Lockout)
			f.count = 0
		}
		a.mu.Unlock()
		detail := "bad secret"
		if locked {
			detail = "bad secret; locked out"
		}
		a.audit(ctx, pid, audit.ActionLogin, source, audit.OutcomeDenied, detail)
		return phi.Principal{}, ErrUnauthenticated
	}
	if !now.Before(st.expires) {
		delete(a.tokens, id)
		a.mu.Unlock()
		a.audit(ctx, pid, audit.ActionLogin, source, audit.OutcomeDenied, "token expired")
		return phi.Principal{}, ErrTokenExpired
	}
	if now.Sub(st.lastUsed) >= a.cfg.IdleTimeout {
		delete(a.tokens, id)
		a.mu.Unlock()
		a.audit(ctx, pid, audit.ActionLogout, source, audit.OutcomeSuccess, "idle timeout")
		return phi.Principal{}, ErrIdleTimeout
	}
	st.lastUsed = now
	delete(a.fails, pid)
	p := st.principal
	a.mu.Unlock()
	if err := a.audit(ctx, pid, audit.ActionLogin, source, audit.OutcomeSuccess, ""); err != nil {
		return phi.Principal{}, fmt.Errorf("auth: audit unavailable, login refused: %w", err)
	}
	return p, nil
}

// Sentinel errors. Compare with errors.Is. Messages never contain PHI.
var (
	ErrUnauthenticated = errors.New("auth: authentication failed")
	ErrTokenExpired    = errors.New("auth: token expired")
	ErrIdleTimeout     = errors.New("auth: session idle timeout")
	ErrLockedOut       = errors.New("auth: principal locked out after repeated failures")
)

func clockOr(c clock.Clock) clock.Clock {
	if c == nil {
		return clock.Real()
	}
	return c
}
