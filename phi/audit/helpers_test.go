package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faxkit/faxkit/internal/clock"
	"github.com/stretchr/testify/require"
	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/insecurecleartextkeyset"
	"github.com/tink-crypto/tink-go/v2/keyset"
)

// newFakeClock is a settable clock at a fixed start.
func newFakeClock() *clock.Fake {
	return clock.NewFake(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
}

// testAuditKeys returns fresh audit keys from a new key file.
func testAuditKeys(t testing.TB) Keys {
	t.Helper()
	k, err := CreateKeyFile(filepath.Join(t.TempDir(), "audit.key"), "faxkit-test")
	require.NoError(t, err)
	return k
}

// Fixed test-only key, so committed seed corpora stay decryptable.
const (
	fuzzAEADKeyset = `{"primaryKeyId":2997580371,"key":[{"keyData":{"typeUrl":"type.googleapis.com/google.crypto.tink.AesGcmKey","value":"GiCYZxX1DmoGvPgwqyN+TO41BdNyKnnC2z2oZ0aruhCgjQ==","keyMaterialType":"SYMMETRIC"},"status":"ENABLED","keyId":2997580371,"outputPrefixType":"TINK"}]}`
)

func fuzzAuditKeys(t testing.TB) Keys {
	h, err := insecurecleartextkeyset.Read(keyset.NewJSONReader(strings.NewReader(fuzzAEADKeyset)))
	if err != nil {
		t.Fatal(err)
	}
	a, err := aead.New(h)
	if err != nil {
		t.Fatal(err)
	}
	return Keys{MAC: bytes.Repeat([]byte{7}, 32), AEAD: a}
}

func auditSegmentSeed(t testing.TB, n int) []byte {
	keys := fuzzAuditKeys(t)
	var buf bytes.Buffer
	var prev [32]byte
	for seq := uint64(0); seq < uint64(n); seq++ {
		e := Event{Seq: seq, Principal: "p", Action: ActionList, Outcome: OutcomeSuccess}
		plain, _ := json.Marshal(e)
		ct, err := keys.AEAD.Encrypt(plain, auditAD(seq))
		if err != nil {
			t.Fatal(err)
		}
		mac := chainMAC(keys.MAC, prev, seq, ct)
		buf.WriteString(formatAuditLine(seq, ct, mac))
		buf.WriteByte('\n')
		prev = mac
	}
	return buf.Bytes()
}

// FuzzAuditReader feeds arbitrary bytes to the audit segment verifier.
func FuzzAuditReader(f *testing.F) {
	f.Add(auditSegmentSeed(f, 3))
	f.Add([]byte("0 AAAA 00\n"))
	f.Add([]byte("\n\n"))
	keys := fuzzAuditKeys(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		v := newAuditVerifier(keys, nil)
		err := v.verifySegment(bytes.NewReader(data), "fuzz")
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error is %T, want *Error", err)
			}
		}
		if v.n > uint64(len(data)) {
			t.Fatal("more records than bytes")
		}
	})
}

// BenchmarkAuditAppend measures Append (encrypt, HMAC chain, tree hashes,
// write) under each fsync policy.
func BenchmarkAuditAppend(b *testing.B) {
	for _, pol := range []SyncPolicy{SyncAtCheckpoint, SyncEveryRecord} {
		b.Run(pol.String(), func(b *testing.B) {
			l, err := Open(Config{Dir: b.TempDir(), Keys: testAuditKeys(b), Sync: pol, CheckpointEvery: 1 << 30})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			e := Event{Principal: "sender-1", Action: ActionReadContent, Document: "0123456789abcdef0123456789abcdef", Source: "10.0.0.1"}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := l.Append(context.Background(), e); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAuditVerify measures Verify per record.
func BenchmarkAuditVerify(b *testing.B) {
	dir := b.TempDir()
	keys := testAuditKeys(b)
	l, err := Open(Config{Dir: dir, Keys: keys, Sync: SyncAtCheckpoint})
	if err != nil {
		b.Fatal(err)
	}
	const n = 2000
	for i := 0; i < n; i++ {
		l.Append(context.Background(), Event{Principal: "p", Action: ActionList})
	}
	l.Close()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Verify(dir, keys); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
}

// BenchmarkAuditAppendParallel shows group commit: concurrent appenders
// share fsyncs under SyncEveryRecord.
func BenchmarkAuditAppendParallel(b *testing.B) {
	l, err := Open(Config{Dir: b.TempDir(), Keys: testAuditKeys(b), CheckpointEvery: 1 << 30})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	e := Event{Principal: "sender-1", Action: ActionReadContent, Source: "10.0.0.1"}
	b.ReportAllocs()
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := l.Append(context.Background(), e); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
