package audit

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/faxkit/faxkit/phi/internal/fileutil"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/insecurecleartextkeyset"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"golang.org/x/mod/sumdb/note"
)

// auditKeyFile is the JSON layout of a local audit key file (mode 0600).
// Like LocalKeyFile it is protected only by file permissions; an embedding
// application can build Keys from a KMS/HSM instead.
type auditKeyFile struct {
	MAC      []byte          `json:"mac"`
	Keyset   json.RawMessage `json:"aead_keyset"`
	Signer   string          `json:"signer_key"`
	Verifier string          `json:"verifier_key"`
}

// CreateKeyFile generates fresh audit keys (a 256-bit HMAC key, a Tink
// AES-256-GCM keyset and an Ed25519 note signing key named name) and writes
// them to path, which must not exist.
func CreateKeyFile(path, name string) (Keys, error) {
	exists := fmt.Errorf("audit: key file %s: %w", filepath.Base(path), fs.ErrExist)
	if _, err := os.Stat(path); err == nil {
		return Keys{}, exists
	}
	var kf auditKeyFile
	kf.MAC = make([]byte, 32)
	if _, err := rand.Read(kf.MAC); err != nil {
		return Keys{}, err
	}
	h, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	if err != nil {
		return Keys{}, err
	}
	var ks bytes.Buffer
	if err := insecurecleartextkeyset.Write(h, keyset.NewJSONWriter(&ks)); err != nil {
		return Keys{}, err
	}
	kf.Keyset = ks.Bytes()
	kf.Signer, kf.Verifier, err = note.GenerateKey(rand.Reader, name)
	if err != nil {
		return Keys{}, err
	}
	data, err := json.MarshalIndent(kf, "", "  ")
	if err != nil {
		return Keys{}, err
	}
	dir, base := fileutil.SplitPath(path)
	if err := fileutil.CreateExclusive(dir, base, data); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return Keys{}, exists
		}
		return Keys{}, err
	}
	return kf.keys()
}

// OpenKeyFile reads keys written by CreateKeyFile.
func OpenKeyFile(path string) (Keys, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Keys{}, err
	}
	var kf auditKeyFile
	if err := json.Unmarshal(data, &kf); err != nil {
		return Keys{}, fmt.Errorf("audit: key file: %w", err)
	}
	return kf.keys()
}

// OpenOrCreateKeyFile opens path, creating it if it does not exist.
// Processes racing to create it all end up with the one created first.
func OpenOrCreateKeyFile(path, name string) (Keys, error) {
	k, err := OpenKeyFile(path)
	if errors.Is(err, os.ErrNotExist) {
		k, err = CreateKeyFile(path, name)
		if errors.Is(err, fs.ErrExist) {
			return OpenKeyFile(path)
		}
	}
	return k, err
}

func (kf *auditKeyFile) keys() (Keys, error) {
	if len(kf.MAC) < 32 {
		return Keys{}, errors.New("audit: key file: MAC key too short")
	}
	h, err := insecurecleartextkeyset.Read(keyset.NewJSONReader(bytes.NewReader(kf.Keyset)))
	if err != nil {
		return Keys{}, fmt.Errorf("audit: key file: %w", err)
	}
	a, err := aead.New(h)
	if err != nil {
		return Keys{}, err
	}
	k := Keys{MAC: kf.MAC, AEAD: a}
	if kf.Signer != "" {
		if k.Signer, err = note.NewSigner(kf.Signer); err != nil {
			return Keys{}, fmt.Errorf("audit: key file: %w", err)
		}
	}
	if k.Verifier, err = note.NewVerifier(kf.Verifier); err != nil {
		return Keys{}, fmt.Errorf("audit: key file: %w", err)
	}
	return k, nil
}
