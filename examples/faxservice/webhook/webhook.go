// Package webhook signs and verifies faxservice webhook deliveries.
//
// Each delivery is an HTTPS POST of a JSON event with the header
//
//	Faxkit-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
//
// in the manner of Stripe's: the timestamp is signed with the body, so a
// captured delivery cannot be replayed outside the tolerance window, and
// several v1 entries may appear while a secret is being rolled. Every event
// carries a unique "id" (de-duplicate on it: a delivery can be retried
// after a timeout that hid a success) and a per-fax "seq" that increases
// by one with each event of that fax; deliveries to one endpoint are made
// in seq order per fax.
//
// Test vector (see TestVector):
//
//	secret    whsec_test_secret
//	timestamp 1767225600
//	body      {"id":"evt_1","type":"fax.delivered","seq":3}
//	header    t=1767225600,v1=f227d09bcf3a75f35c0e5dbe7ab344b6923a4b36bde73c5f449199195e8e541d
package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Header is the signature header's name.
const Header = "Faxkit-Signature"

// DefaultTolerance is the replay window Verify uses when given 0.
const DefaultTolerance = 5 * time.Minute

var (
	ErrMalformed = errors.New("webhook: malformed signature header")
	ErrSignature = errors.New("webhook: no valid signature")
	ErrTimestamp = errors.New("webhook: timestamp outside the tolerance window")
)

// Sign returns the signature header value for body at time t.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + mac(secret, ts, body)
}

func mac(secret, ts string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// Verify checks a delivery: header is the Faxkit-Signature value, body the
// raw request body, now the receiver's clock. It fails if no v1 signature
// matches or if the timestamp is more than tolerance (0: DefaultTolerance)
// away from now. Receivers must also drop event IDs they have seen.
func Verify(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	var ts string
	var sigs []string
	for _, kv := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return ErrMalformed
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrMalformed
	}
	want := []byte(mac(secret, ts, body))
	ok := false
	for _, s := range sigs {
		if hmac.Equal([]byte(s), want) {
			ok = true
		}
	}
	if !ok {
		return ErrSignature
	}
	d := now.Sub(time.Unix(sec, 0))
	if d > tolerance || d < -tolerance {
		return ErrTimestamp
	}
	return nil
}
