package main

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/faxkit/faxkit/phi"
	"github.com/faxkit/faxkit/phi/audit"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Credentials. An API or session token reads fxk_<id>.<secret>: the ID
// (16 random bytes, hex) finds the row, the secret (32 random bytes,
// base64url) is compared in constant time with the stored SHA-256.
// Passwords are stored as PBKDF2-SHA256 with a per-user salt.

const tokenPrefix = "fxk_"

var (
	errAuth   = errors.New("authentication failed")
	errLocked = errors.New("account locked")
)

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func hashSecret(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// parseToken splits a token; it never echoes the token in errors.
func parseToken(tok string) (id, secret string, ok bool) {
	rest, ok := strings.CutPrefix(tok, tokenPrefix)
	if !ok {
		return "", "", false
	}
	id, secret, ok = strings.Cut(rest, ".")
	if !ok || len(id) != 32 || len(secret) != 43 {
		return "", "", false
	}
	if _, err := hex.DecodeString(id); err != nil {
		return "", "", false
	}
	if _, err := base64.RawURLEncoding.DecodeString(secret); err != nil {
		return "", "", false
	}
	return id, secret, true
}

func hashPassword(pw string, iter int) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	k, _ := pbkdf2.Key(sha256.New, pw, salt, iter, 32)
	return fmt.Sprintf("pbkdf2-sha256$%d$%s$%s", iter, base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(k))
}

func checkPassword(stored, pw string) bool {
	parts := strings.Split(stored, "$")
	if len(parts) != 4 || parts[0] != "pbkdf2-sha256" {
		return false
	}
	iter, err := strconv.Atoi(parts[1])
	if err != nil || iter < 1 {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[2])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[3])
	if err1 != nil || err2 != nil {
		return false
	}
	k, err := pbkdf2.Key(sha256.New, pw, salt, iter, len(want))
	return err == nil && subtle.ConstantTimeCompare(k, want) == 1
}

// checkSecretStrength enforces the minimum password strength: 12
// characters or more, three of four character classes, not containing
// the user name.
func checkSecretStrength(name, pw string) error {
	if len(pw) < 12 {
		return errors.New("password must be at least 12 characters")
	}
	if len(pw) > 256 {
		return errors.New("password must be at most 256 characters")
	}
	var lower, upper, digit, other int
	for _, r := range pw {
		switch {
		case unicode.IsLower(r):
			lower = 1
		case unicode.IsUpper(r):
			upper = 1
		case unicode.IsDigit(r):
			digit = 1
		default:
			other = 1
		}
	}
	if lower+upper+digit+other < 3 {
		return errors.New("password must mix at least three of: lower case, upper case, digits, symbols")
	}
	if name != "" && strings.Contains(strings.ToLower(pw), strings.ToLower(name)) {
		return errors.New("password must not contain the user name")
	}
	return nil
}

// User is an account. Names and IDs are not PHI (staff accounts).
type User struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	Roles    []string  `json:"roles"`
	Disabled bool      `json:"disabled"`
	Created  time.Time `json:"created"`
}

var roleNames = map[string]phi.Role{"admin": phi.RoleAdmin, "sender": phi.RoleSender, "inbox": phi.RoleReceiver, "auditor": phi.RoleAuditor}

func parseRoles(rs []string) ([]phi.Role, error) {
	if len(rs) == 0 {
		return nil, errors.New("at least one role is required")
	}
	var out []phi.Role
	for _, r := range rs {
		pr, ok := roleNames[r]
		if !ok {
			return nil, errors.New("unknown role (admin, sender, inbox, auditor)")
		}
		out = append(out, pr)
	}
	return out, nil
}

func principalOf(id, roles string) phi.Principal {
	p := phi.Principal{ID: id}
	for _, r := range strings.Split(roles, ",") {
		if pr, ok := roleNames[r]; ok {
			p.Roles = append(p.Roles, pr)
		}
	}
	return p
}

// createUser adds a user; password may be empty (token-only account).
func (s *Service) createUser(ctx context.Context, name string, roles []string, password string) (User, error) {
	if _, err := parseRoles(roles); err != nil {
		return User{}, err
	}
	if !validName(name) {
		return User{}, errors.New("name must be 1 to 64 letters, digits, dots, dashes or underscores")
	}
	hash := ""
	if password != "" {
		if err := checkSecretStrength(name, password); err != nil {
			return User{}, err
		}
		hash = hashPassword(password, s.cfg.PasswordIterations)
	}
	u := User{ID: "u_" + randomHex(8), Name: name, Roles: roles, Created: s.now()}
	_, err := s.db.exec(ctx, `INSERT INTO users (id, name, roles, secret_hash, created) VALUES (?, ?, ?, ?, ?)`,
		u.ID, name, strings.Join(roles, ","), hash, u.Created.UnixNano())
	if err != nil {
		return User{}, errConflict
	}
	return u, nil
}

var errConflict = errors.New("already exists")

func validName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// issueToken creates a token of kind "api" or "session" for a user and
// returns it: the only time the secret exists outside the caller.
func (s *Service) issueToken(ctx context.Context, userID, kind string, ttl time.Duration) (id, token string, err error) {
	id = randomHex(16)
	sec := make([]byte, 32)
	rand.Read(sec)
	secret := base64.RawURLEncoding.EncodeToString(sec)
	now := s.now()
	var exp int64
	if ttl > 0 {
		exp = now.Add(ttl).UnixNano()
	}
	_, err = s.db.exec(ctx, `INSERT INTO tokens (id, user_id, kind, hash, created, expires, last_used) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		id, userID, kind, hashSecret(secret), now.UnixNano(), exp, now.UnixNano())
	return id, tokenPrefix + id + "." + secret, err
}

// authenticate checks a bearer token: unknown, wrong, expired, revoked,
// idle (sessions) and locked-out tokens are refused, and every attempt is
// audited. Wrong secrets count against the token's account: after
// LockoutAfter of them the whole account (all its tokens and its
// password) is locked for LockoutFor.
func (s *Service) authenticate(ctx context.Context, tok, src string) (phi.Principal, string, error) {
	id, secret, ok := parseToken(tok)
	if !ok {
		s.auditAuth(ctx, "anonymous", src, audit.OutcomeDenied, "malformed token")
		return phi.Principal{}, "", errAuth
	}
	var (
		userID, kind, hash, roles        string
		expires, revoked, lastUsed, lock int64
		disabled                         int
	)
	err := s.db.queryRow(ctx, `SELECT t.user_id, t.kind, t.hash, t.expires, t.revoked, t.last_used, u.roles, u.locked_until, u.disabled
		FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.id = ?`, id).
		Scan(&userID, &kind, &hash, &expires, &revoked, &lastUsed, &roles, &lock, &disabled)
	if err != nil {
		s.auditAuth(ctx, "anonymous", src, audit.OutcomeDenied, "unknown token")
		return phi.Principal{}, "", errAuth
	}
	now := s.now()
	if lock > now.UnixNano() {
		s.auditAuth(ctx, userID, src, audit.OutcomeDenied, "account locked")
		return phi.Principal{}, "", errLocked
	}
	if subtle.ConstantTimeCompare([]byte(hashSecret(secret)), []byte(hash)) != 1 {
		s.authFailed(ctx, userID, src, "wrong token secret")
		return phi.Principal{}, "", errAuth
	}
	switch {
	case disabled != 0:
		s.auditAuth(ctx, userID, src, audit.OutcomeDenied, "account disabled")
		return phi.Principal{}, "", errAuth
	case revoked != 0:
		s.auditAuth(ctx, userID, src, audit.OutcomeDenied, "token revoked")
		return phi.Principal{}, "", errAuth
	case expires != 0 && now.UnixNano() >= expires:
		s.auditAuth(ctx, userID, src, audit.OutcomeDenied, "token expired")
		return phi.Principal{}, "", errAuth
	case kind == "session" && now.Sub(time.Unix(0, lastUsed)) >= time.Duration(s.cfg.SessionIdle):
		s.db.exec(ctx, `UPDATE tokens SET revoked = ? WHERE id = ?`, now.UnixNano(), id)
		s.audit(ctx, audit.Event{Principal: userID, Action: audit.ActionLogout, Source: src, Outcome: audit.OutcomeSuccess, Detail: "session idle timeout"})
		return phi.Principal{}, "", errAuth
	}
	// Only sessions need their last use (idle timeout); a write per
	// request would serialize every reader on the database, so it is
	// refreshed at most every few seconds.
	if kind == "session" && now.Sub(time.Unix(0, lastUsed)) > 5*time.Second {
		s.db.exec(ctx, `UPDATE tokens SET last_used = ? WHERE id = ?`, now.UnixNano(), id)
	}
	var failed int
	if s.db.queryRow(ctx, `SELECT failed FROM users WHERE id = ?`, userID).Scan(&failed) == nil && failed != 0 {
		s.db.exec(ctx, `UPDATE users SET failed = 0 WHERE id = ?`, userID)
	}
	return principalOf(userID, roles), id, nil
}

// authFailed counts a failure against an account and locks it at the
// threshold.
func (s *Service) authFailed(ctx context.Context, userID, src, why string) {
	now := s.now()
	var failed int
	s.db.tx(ctx, func(tx *Tx) error {
		if err := tx.queryRow(ctx, `SELECT failed FROM users WHERE id = ?`, userID).Scan(&failed); err != nil {
			return err
		}
		failed++
		lock := int64(0)
		if failed >= s.cfg.LockoutAfter {
			lock = now.Add(time.Duration(s.cfg.LockoutFor)).UnixNano()
			failed = 0
		}
		if lock > 0 {
			why += "; account locked"
			_, err := tx.exec(ctx, `UPDATE users SET failed = ?, locked_until = ? WHERE id = ?`, failed, lock, userID)
			return err
		}
		_, err := tx.exec(ctx, `UPDATE users SET failed = ? WHERE id = ?`, failed, userID)
		return err
	})
	s.auditAuth(ctx, userID, src, audit.OutcomeDenied, why)
	if strings.HasSuffix(why, "account locked") {
		s.raiseAlert(ctx, alertFailedSignins, userID, src, s.cfg.LockoutAfter,
			fmt.Sprintf("account locked for %s after %d failed sign-ins or token secrets", time.Duration(s.cfg.LockoutFor), s.cfg.LockoutAfter))
	}
}

func (s *Service) auditAuth(ctx context.Context, who, src string, out audit.Outcome, detail string) {
	s.audit(ctx, audit.Event{Principal: who, Action: audit.ActionLogin, Source: src, Outcome: out, Detail: detail})
}

// login checks a user name and password and opens a session.
func (s *Service) login(ctx context.Context, name, password, src string) (string, error) {
	var id, hash string
	var lock int64
	var disabled int
	err := s.db.queryRow(ctx, `SELECT id, secret_hash, locked_until, disabled FROM users WHERE name = ?`, name).Scan(&id, &hash, &lock, &disabled)
	if err != nil {
		// Same work as a real check, so that timing does not tell
		// which names exist.
		checkPassword("pbkdf2-sha256$"+strconv.Itoa(s.cfg.PasswordIterations)+"$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", password)
		s.auditAuth(ctx, "anonymous", src, audit.OutcomeDenied, "unknown user")
		return "", errAuth
	}
	if lock > s.now().UnixNano() {
		s.auditAuth(ctx, id, src, audit.OutcomeDenied, "account locked")
		return "", errLocked
	}
	if hash == "" || !checkPassword(hash, password) {
		s.authFailed(ctx, id, src, "wrong password")
		return "", errAuth
	}
	if disabled != 0 {
		s.auditAuth(ctx, id, src, audit.OutcomeDenied, "account disabled")
		return "", errAuth
	}
	s.db.exec(ctx, `UPDATE users SET failed = 0 WHERE id = ?`, id)
	_, tok, err := s.issueToken(ctx, id, "session", 12*time.Hour)
	if err != nil {
		return "", err
	}
	s.auditAuth(ctx, id, src, audit.OutcomeSuccess, "session opened")
	return tok, nil
}

// bootstrap creates the first admin when there are no users and returns
// its one-time token; "" when users exist.
func (s *Service) bootstrap(ctx context.Context) (string, error) {
	var n int
	if err := s.db.queryRow(ctx, `SELECT COUNT(*) FROM users`).Scan(&n); err != nil {
		return "", err
	}
	if n > 0 {
		return "", nil
	}
	u, err := s.createUser(ctx, "admin", []string{"admin"}, "")
	if err != nil {
		return "", err
	}
	_, tok, err := s.issueToken(ctx, u.ID, "api", 24*time.Hour)
	if err != nil {
		return "", err
	}
	s.audit(ctx, audit.Event{Principal: "system", Action: audit.ActionGrant, Source: "bootstrap", Outcome: audit.OutcomeSuccess, Detail: "bootstrap admin " + u.ID})
	return tok, nil
}
