package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestVector pins the signature of the package doc's example, computed
// independently with crypto/hmac (and reproducible with
// printf '%s' '1767225600.{"id":"evt_1","type":"fax.delivered","seq":3}' | openssl dgst -sha256 -hmac whsec_test_secret).
func TestVector(t *testing.T) {
	body := []byte(`{"id":"evt_1","type":"fax.delivered","seq":3}`)
	ts := time.Unix(1767225600, 0)
	m := hmac.New(sha256.New, []byte("whsec_test_secret"))
	m.Write([]byte("1767225600." + string(body)))
	want := "t=1767225600,v1=" + hex.EncodeToString(m.Sum(nil))
	require.Equal(t, want, Sign("whsec_test_secret", ts, body))
	// From OpenSSL (the command above), an independent implementation.
	require.Equal(t, "t=1767225600,v1=f227d09bcf3a75f35c0e5dbe7ab344b6923a4b36bde73c5f449199195e8e541d", want)
	require.NoError(t, Verify("whsec_test_secret", want, body, ts.Add(time.Minute), 0))
}

func TestVerifyRefuses(t *testing.T) {
	body := []byte(`{"id":"evt_2"}`)
	now := time.Unix(1767225600, 0)
	h := Sign("s3cret", now, body)
	require.NoError(t, Verify("s3cret", h, body, now, 0))
	require.ErrorIs(t, Verify("s3cret", h, body, now.Add(6*time.Minute), 0), ErrTimestamp, "replayed later")
	require.ErrorIs(t, Verify("s3cret", h, body, now.Add(-6*time.Minute), 0), ErrTimestamp, "from the future")
	require.ErrorIs(t, Verify("other", h, body, now, 0), ErrSignature)
	require.ErrorIs(t, Verify("s3cret", h, []byte(`{"id":"evt_3"}`), now, 0), ErrSignature, "tampered body")
	require.ErrorIs(t, Verify("s3cret", "garbage", body, now, 0), ErrMalformed)
	require.ErrorIs(t, Verify("s3cret", "t=1767225600", body, now, 0), ErrMalformed)
	// A rolled secret: either signature passes.
	require.NoError(t, Verify("s3cret", h+",v1="+Sign("old", now, body)[len("t=1767225600,v1="):], body, now, 0))
}
