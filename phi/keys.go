package phi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/faxkit/faxkit/phi/internal/fileutil"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/core/registry"
	"github.com/tink-crypto/tink-go/v2/insecurecleartextkeyset"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/tink"
)

// KeyProvider supplies key-encryption keys (KEKs). Each per-document data key
// is wrapped by the provider's primary KEK; the KEK's ID is recorded beside
// the wrapped key so that a later rotation can re-wrap data keys without
// touching document ciphertext.
//
// Implementations must return, for a given ID, an AEAD whose Encrypt uses
// exactly that key. KEK material never leaves a KMS-backed provider.
type KeyProvider interface {
	// PrimaryKeyID names the KEK new data keys are wrapped with.
	PrimaryKeyID(ctx context.Context) (string, error)
	// KeyEncryptionAEAD returns the KEK with the given ID, or an error
	// wrapping ErrKeyNotFound.
	KeyEncryptionAEAD(ctx context.Context, keyID string) (tink.AEAD, error)
}

// KMSKeyProvider plugs any Tink KMS client (GCP KMS, AWS KMS, HashiCorp
// Vault, ...) in as the KEK source: key IDs are the KMS key URIs. Rotate by
// pointing KeyURI at a new key and calling Store.RotateKeys.
type KMSKeyProvider struct {
	Client registry.KMSClient
	KeyURI string // primary KEK for new data keys
}

// PrimaryKeyID returns p.KeyURI.
func (p *KMSKeyProvider) PrimaryKeyID(context.Context) (string, error) {
	if p.KeyURI == "" {
		return "", fmt.Errorf("%w: KMSKeyProvider.KeyURI is empty", ErrKeyNotFound)
	}
	return p.KeyURI, nil
}

// KeyEncryptionAEAD asks the KMS client for the remote AEAD of keyID.
func (p *KMSKeyProvider) KeyEncryptionAEAD(_ context.Context, keyID string) (tink.AEAD, error) {
	if p.Client == nil || !p.Client.Supported(keyID) {
		return nil, fmt.Errorf("%w: KMS client does not support this key URI", ErrKeyNotFound)
	}
	return p.Client.GetAEAD(keyID)
}

// LocalKeyFile is the default KeyProvider: a Tink keyset of AES-256-GCM KEKs
// kept in a JSON file with mode 0600. The keyset is stored in clear (Tink's
// insecurecleartextkeyset), so the file's confidentiality rests on file
// permissions and full-disk encryption: use a KMS for production. Rotate adds
// a new primary KEK; Retire destroys KEKs no longer referenced.
//
// Key IDs have the form "local:<tink key id>".
type LocalKeyFile struct {
	path string
	mu   sync.Mutex
	h    *keyset.Handle
	fs   fsOps
}

const localKeyPrefix = "local:"

// CreateLocalKeyFile generates a new KEK keyset with one AES-256-GCM key and
// writes it to path (which must not exist).
func CreateLocalKeyFile(path string) (*LocalKeyFile, error) {
	exists := fmt.Errorf("phi: key file %s: %w", filepath.Base(path), fs.ErrExist)
	if _, err := os.Stat(path); err == nil {
		return nil, exists
	}
	h, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	if err != nil {
		return nil, err
	}
	data, err := cleartextKeyset(h)
	if err != nil {
		return nil, err
	}
	dir, name := fileutil.SplitPath(path)
	if err := fileutil.CreateExclusive(dir, name, data); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, exists
		}
		return nil, err
	}
	return &LocalKeyFile{path: path, h: h, fs: osFS{}}, nil
}

func cleartextKeyset(h *keyset.Handle) ([]byte, error) {
	var buf bytes.Buffer
	if err := insecurecleartextkeyset.Write(h, keyset.NewJSONWriter(&buf)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// OpenLocalKeyFile reads a key file written by CreateLocalKeyFile.
func OpenLocalKeyFile(path string) (*LocalKeyFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	h, err := insecurecleartextkeyset.Read(keyset.NewJSONReader(bytes.NewReader(data)))
	if err != nil {
		return nil, fmt.Errorf("phi: reading key file: %w", err)
	}
	return &LocalKeyFile{path: path, h: h, fs: osFS{}}, nil
}

// OpenOrCreateLocalKeyFile opens path, creating a new key file if it does
// not exist. Processes racing to create it all end up with the one that
// was created first.
func OpenOrCreateLocalKeyFile(path string) (*LocalKeyFile, error) {
	k, err := OpenLocalKeyFile(path)
	if errors.Is(err, os.ErrNotExist) {
		k, err = CreateLocalKeyFile(path)
		if errors.Is(err, fs.ErrExist) {
			return OpenLocalKeyFile(path)
		}
	}
	return k, err
}

func (k *LocalKeyFile) save() error {
	data, err := cleartextKeyset(k.h)
	if err != nil {
		return err
	}
	dir, name := fileutil.SplitPath(k.path)
	return writeFileAtomic(k.fs, dir, name, data)
}

// PrimaryKeyID implements KeyProvider.
func (k *LocalKeyFile) PrimaryKeyID(context.Context) (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	p, err := k.h.Primary()
	if err != nil {
		return "", err
	}
	return localKeyPrefix + strconv.FormatUint(uint64(p.KeyID()), 10), nil
}

// KeyIDs lists the IDs of all enabled KEKs, primary first.
func (k *LocalKeyFile) KeyIDs() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	var ids []string
	for i := 0; i < k.h.Len(); i++ {
		e, err := k.h.Entry(i)
		if err != nil || e.KeyStatus() != keyset.Enabled {
			continue
		}
		id := localKeyPrefix + strconv.FormatUint(uint64(e.KeyID()), 10)
		if e.IsPrimary() {
			ids = append([]string{id}, ids...)
		} else {
			ids = append(ids, id)
		}
	}
	return ids
}

func parseLocalKeyID(id string) (uint32, error) {
	s, ok := strings.CutPrefix(id, localKeyPrefix)
	if !ok {
		return 0, fmt.Errorf("%w: not a local key id", ErrKeyNotFound)
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("%w: malformed local key id", ErrKeyNotFound)
	}
	return uint32(n), nil
}

// KeyEncryptionAEAD implements KeyProvider. The returned AEAD holds only the
// requested key, so Encrypt uses that key and no other.
func (k *LocalKeyFile) KeyEncryptionAEAD(_ context.Context, keyID string) (tink.AEAD, error) {
	id, err := parseLocalKeyID(keyID)
	if err != nil {
		return nil, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	found := false
	m := keyset.NewManagerFromHandle(k.h)
	var others []uint32
	for i := 0; i < k.h.Len(); i++ {
		e, err := k.h.Entry(i)
		if err != nil {
			return nil, err
		}
		if e.KeyID() == id {
			found = e.KeyStatus() == keyset.Enabled
		} else {
			others = append(others, e.KeyID())
		}
	}
	if !found {
		return nil, fmt.Errorf("%w: %s", ErrKeyNotFound, keyID)
	}
	if err := m.SetPrimary(id); err != nil {
		return nil, err
	}
	for _, o := range others {
		if err := m.Delete(o); err != nil {
			return nil, err
		}
	}
	h, err := m.Handle()
	if err != nil {
		return nil, err
	}
	return aead.New(h)
}

// Rotate adds a fresh AES-256-GCM KEK, makes it primary and saves the file.
// Existing data keys stay readable; call Store.RotateKeys to re-wrap them.
func (k *LocalKeyFile) Rotate() (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	m := keyset.NewManagerFromHandle(k.h)
	id, err := m.Add(aead.AES256GCMKeyTemplate())
	if err != nil {
		return "", err
	}
	if err := m.SetPrimary(id); err != nil {
		return "", err
	}
	h, err := m.Handle()
	if err != nil {
		return "", err
	}
	old := k.h
	k.h = h
	if err := k.save(); err != nil {
		k.h = old
		return "", err
	}
	return localKeyPrefix + strconv.FormatUint(uint64(id), 10), nil
}

// Retire deletes every non-primary KEK whose ID is not in keep. Data keys
// still wrapped by a retired KEK become unreadable, so run Store.RotateKeys
// first and pass the IDs it still reports in use.
func (k *LocalKeyFile) Retire(keep map[string]bool) ([]string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	m := keyset.NewManagerFromHandle(k.h)
	var retired []string
	for i := 0; i < k.h.Len(); i++ {
		e, err := k.h.Entry(i)
		if err != nil {
			return nil, err
		}
		id := localKeyPrefix + strconv.FormatUint(uint64(e.KeyID()), 10)
		if e.IsPrimary() || keep[id] {
			continue
		}
		if err := m.Delete(e.KeyID()); err != nil {
			return nil, err
		}
		retired = append(retired, id)
	}
	if len(retired) == 0 {
		return nil, nil
	}
	h, err := m.Handle()
	if err != nil {
		return nil, err
	}
	old := k.h
	k.h = h
	if err := k.save(); err != nil {
		k.h = old
		return nil, err
	}
	return retired, nil
}
