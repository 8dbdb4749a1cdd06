package auth

import (
	"context"
	"crypto/sha256"
	"github.com/faxkit/faxkit/phi/audit"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestTokenAuthentication(t *testing.T) {
	ctx := context.Background()
	clk := newFakeClock()
	a := New(Config{Clock: clk, TTL: time.Hour, IdleTimeout: 10 * time.Minute, MaxFailures: 3, Lockout: 5 * time.Minute})
	tok := a.Issue(alice)

	// Only the secret's SHA-256 is kept (tokenState has no other field
	// that could hold it).
	require.Len(t, a.tokens, 1)
	id, secret, ok := splitToken(tok)
	require.True(t, ok)
	require.Len(t, secret, 43, "256-bit secret, base64url")
	st := a.tokens[id]
	require.NotNil(t, st)
	require.Equal(t, sha256.Sum256([]byte(secret)), st.hash)

	p, err := a.Authenticate(ctx, tok, "s")
	require.NoError(t, err)
	require.Equal(t, alice.ID, p.ID)

	_, err = a.Authenticate(ctx, "garbage", "s")
	require.ErrorIs(t, err, ErrUnauthenticated)

	t.Run("lockout after repeated failures", func(t *testing.T) {
		id, secret, _ := splitToken(tok)
		wrong := "fxk_" + id + "_" + strings.Repeat("A", len(secret))
		for i := 0; i < 3; i++ {
			_, err := a.Authenticate(ctx, wrong, "s")
			require.ErrorIs(t, err, ErrUnauthenticated)
		}
		_, err := a.Authenticate(ctx, tok, "s")
		require.ErrorIs(t, err, ErrLockedOut, "the right token is refused while locked")
		clk.Advance(5 * time.Minute)
		_, err = a.Authenticate(ctx, tok, "s")
		require.NoError(t, err)
	})

	t.Run("idle timeout", func(t *testing.T) {
		clk.Advance(9 * time.Minute)
		_, err := a.Authenticate(ctx, tok, "s")
		require.NoError(t, err)
		clk.Advance(10 * time.Minute)
		_, err = a.Authenticate(ctx, tok, "s")
		require.ErrorIs(t, err, ErrIdleTimeout)
		_, err = a.Authenticate(ctx, tok, "s")
		require.ErrorIs(t, err, ErrUnauthenticated, "an idle token is logged off for good")
	})

	t.Run("expiry", func(t *testing.T) {
		tok2 := a.Issue(bob)
		for i := 0; i < 6; i++ {
			clk.Advance(9 * time.Minute)
			_, err := a.Authenticate(ctx, tok2, "s")
			require.NoError(t, err)
		}
		clk.Advance(9 * time.Minute) // 63 min > TTL
		_, err := a.Authenticate(ctx, tok2, "s")
		require.ErrorIs(t, err, ErrTokenExpired)
	})

	t.Run("revoke", func(t *testing.T) {
		tok3 := a.Issue(bob)
		a.Revoke(ctx, tok3, "s")
		_, err := a.Authenticate(ctx, tok3, "s")
		require.ErrorIs(t, err, ErrUnauthenticated)
	})
}

func TestAuthenticationAudited(t *testing.T) {
	ctx := context.Background()
	f := newLogFixture(t)
	a := New(Config{Clock: f.clock, Audit: f.log})
	tok := a.Issue(alice)
	_, err := a.Authenticate(ctx, tok, "192.0.2.1")
	require.NoError(t, err)
	_, err = a.Authenticate(ctx, tok+"x", "192.0.2.2")
	require.Error(t, err)
	evs := f.events(t)
	require.Len(t, evs, 2)
	require.Equal(t, audit.OutcomeSuccess, evs[0].Outcome)
	require.Equal(t, audit.OutcomeDenied, evs[1].Outcome)
	require.Equal(t, "192.0.2.2", evs[1].Source)
}

func TestLoginRefusedWhenAuditUnavailable(t *testing.T) {
	ctx := context.Background()
	f := newLogFixture(t)
	a := New(Config{Clock: f.clock, Audit: f.log})
	tok := a.Issue(alice)
	require.NoError(t, f.log.Close())
	_, err := a.Authenticate(ctx, tok, "s")
	require.ErrorIs(t, err, audit.ErrClosed)
}

// Tokens that are issued and never presented again are dropped once they
// are past TTL or idle timeout, so memory follows the live tokens.
func TestIssuePrunesDeadTokens(t *testing.T) {
	clk := newFakeClock()
	a := New(Config{Clock: clk, TTL: time.Hour, IdleTimeout: time.Minute})
	for i := 0; i < 3*minPruneAt; i++ {
		a.Issue(alice)
		clk.Advance(time.Second)
	}
	live := a.Issue(bob)
	require.LessOrEqual(t, len(a.tokens), 2*minPruneAt)
	_, err := a.Authenticate(context.Background(), live, "s")
	require.NoError(t, err)
}
