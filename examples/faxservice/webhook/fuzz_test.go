package webhook

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzVerify checks Verify on arbitrary signature headers: no panic, a
// header that verifies carries the HMAC of this body under its own
// timestamp, and the helper's own signature verifies only for its body.
func FuzzVerify(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	f.Add("whsec_test", "t=1800000000,v1=00", []byte(`{"id":"evt_1"}`))
	f.Add("whsec_test", "t=1800000000,v1=", []byte(nil))
	f.Add("k", ",,,=,t=,v1", []byte("x"))
	f.Add("k", Sign("k", now, []byte("x")), []byte("x"))
	f.Fuzz(func(t *testing.T, secret, header string, body []byte) {
		if err := Verify(secret, header, body, now, 0); err == nil {
			var ts string
			for _, kv := range strings.Split(header, ",") {
				if k, v, _ := strings.Cut(strings.TrimSpace(kv), "="); k == "t" {
					ts = v
				}
			}
			sec, perr := strconv.ParseInt(ts, 10, 64)
			if perr != nil {
				t.Fatalf("verified a header without a timestamp: %q", header)
			}
			_, want, _ := strings.Cut(Sign(secret, time.Unix(sec, 0), body), ",")
			if !strings.Contains(header, want) {
				t.Fatalf("verified a header without the body's signature: %q", header)
			}
		}
		good := Sign(secret, now, body)
		if err := Verify(secret, good, body, now, 0); err != nil {
			t.Fatalf("own signature refused: %v", err)
		}
		if err := Verify(secret, good, append(body[:len(body):len(body)], '!'), now, 0); err == nil {
			t.Fatal("the signature of another body was accepted")
		}
		if err := Verify(secret, good, body, now.Add(time.Hour), 0); err == nil {
			t.Fatal("a signature an hour old was accepted")
		}
	})
}
