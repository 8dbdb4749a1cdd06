package phi

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/tink-crypto/tink-go/v2/insecurecleartextkeyset"
	"github.com/tink-crypto/tink-go/v2/keyset"
)

// Fixed test-only keys, so committed seed corpora stay decryptable.
const (
	fuzzStreamKeyset = `{"primaryKeyId":3184711562,"key":[{"keyData":{"typeUrl":"type.googleapis.com/google.crypto.tink.AesGcmHkdfStreamingKey","value":"EgcIgCAQIBgDGiBkPdk+/zu10XukyEKtUDb3rz9qKogdyVxxkcfREJD6ow==","keyMaterialType":"SYMMETRIC"},"status":"ENABLED","keyId":3184711562,"outputPrefixType":"RAW"}]}`
	fuzzDocAD        = "faxkit fuzz document"
)

func fuzzDataKey(t testing.TB) *dataKey {
	h, err := insecurecleartextkeyset.Read(keyset.NewJSONReader(strings.NewReader(fuzzStreamKeyset)))
	if err != nil {
		t.Fatal(err)
	}
	dk, err := dataKeyFromHandle(h)
	if err != nil {
		t.Fatal(err)
	}
	return dk
}

func plainPages(t testing.TB, pages ...string) []byte {
	var buf bytes.Buffer
	w, err := newPageStreamWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pages {
		pw, _ := w.newPage()
		pw.Write([]byte(p))
		pw.Close()
	}
	w.finish()
	return buf.Bytes()
}

func sealedPages(t testing.TB, pages ...string) []byte {
	dk := fuzzDataKey(t)
	b, err := dk.sealBytes(plainPages(t, pages...), []byte(fuzzDocAD))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// drainPages reads every page; it must end in io.EOF or an error, never a
// panic, and never return more bytes than the input could hold.
func drainPages(r *pageStreamReader, limit int) (int, error) {
	total := 0
	buf := make([]byte, 1000)
	for {
		p, err := r.next()
		if err != nil {
			return total, err
		}
		for {
			n, err := p.Read(buf)
			total += n
			if total > limit {
				panic("read more bytes than the input holds")
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				return total, err
			}
		}
	}
}

// FuzzSealedReader feeds arbitrary ciphertext to the sealed-stream reader
// (Tink decryption plus page framing). Only authentic input may parse.
func FuzzSealedReader(f *testing.F) {
	f.Add(sealedPages(f, "page one", "", "page three"))
	f.Add(sealedPages(f, strings.Repeat("x", 4200)))
	f.Add([]byte{})
	f.Add([]byte{40})
	dk := fuzzDataKey(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		dr, err := dk.p.NewDecryptingReader(bytes.NewReader(data), []byte(fuzzDocAD))
		if err != nil {
			return
		}
		r := newPageStreamReader(dr, nil)
		calls := watchIntegrity(r)
		_, err = drainPages(r, len(data))
		if err == nil {
			t.Fatal("reader ended without io.EOF or error")
		}
		checkIntegrityCalls(t, r, err, *calls)
	})
}

// watchIntegrity counts r's integrity-failure callbacks.
func watchIntegrity(r *pageStreamReader) *int {
	calls := new(int)
	r.integrityFailed = func(where string, err error) error {
		if where == "" {
			panic("integrity failure without a position")
		}
		*calls++
		return nil
	}
	return calls
}

// checkIntegrityCalls: a stream over an input that cannot fail to read
// ends in io.EOF with no integrity failure, or in a verification error
// reported exactly once, however often it is read again.
func checkIntegrityCalls(t *testing.T, r *pageStreamReader, err error, calls int) {
	if err == io.EOF {
		if calls != 0 {
			t.Fatalf("clean stream reported %d integrity failures", calls)
		}
		return
	}
	if !errors.Is(err, ErrDecrypt) && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrPageDigest) {
		t.Fatalf("error %v is not a verification error", err)
	}
	if _, again := r.next(); !errors.Is(again, err) {
		t.Fatalf("error not sticky: %v, then %v", err, again)
	}
	if calls != 1 {
		t.Fatalf("%d integrity failures reported for %v, want 1", calls, err)
	}
}

// FuzzPageStream fuzzes the page framing parser directly (below the
// encryption layer, which the fuzzer cannot forge): hostile frames,
// lengths, digests and page counts must fail cleanly.
func FuzzPageStream(f *testing.F) {
	f.Add(plainPages(f, "a", "bb", ""))
	f.Add(plainPages(f, strings.Repeat("z", 300)))
	f.Add([]byte(streamMagic + "E\x00"))
	f.Add([]byte(streamMagic + "P\xff\xff\xff\xff\x0f"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := newPageStreamReader(bytes.NewReader(data), nil)
		calls := watchIntegrity(r)
		n, err := drainPages(r, len(data))
		checkIntegrityCalls(t, r, err, *calls)
		if err == io.EOF {
			// A stream that parsed must re-encode to a stream that parses
			// to the same bytes.
			r2 := newPageStreamReader(bytes.NewReader(data), nil)
			var pages []string
			for {
				p, err := r2.next()
				if err != nil {
					break
				}
				b, _ := io.ReadAll(p)
				pages = append(pages, string(b))
			}
			again := newPageStreamReader(bytes.NewReader(plainPages(t, pages...)), nil)
			m, err := drainPages(again, len(data)+1<<20)
			if err != io.EOF || m != n {
				t.Fatalf("re-encoded stream: %d bytes, %v; want %d", m, err, n)
			}
		}
	})
}
