// Package encryption encrypts Secrets at rest with secretbox (XSalsa20 and Poly1305), as
// upstream's secretbox provider does and in its storage format:
//
//	k8s:enc:secretbox:v1:<key name>:<24-byte nonce><sealed box>
//
// The keys live in an EncryptionConfiguration file (upstream's apiserver.config.k8s.io/v1
// format) in the data dir, created on first start. The first key encrypts; every key decrypts.
// Bytes that are plaintext (upstream's k8s\0 protobuf envelope) or sealed with a key other
// than the first are read and reported stale, so that the next update rewrites them with the
// current key; rotation relies on that.
package encryption

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/crypto/nacl/secretbox"
)

const prefix = "k8s:enc:secretbox:v1:"

// Key is one named secretbox key.
type Key struct {
	Name   string
	Secret [32]byte
}

// Keys is the set of keys in use; it implements storage.Transformer.
type Keys struct {
	path string
	mu   sync.RWMutex
	keys []Key // keys[0] encrypts
}

// config mirrors apiserver.config.k8s.io/v1 EncryptionConfiguration for the secretbox provider.
type config struct {
	Kind       string           `json:"kind"`
	APIVersion string           `json:"apiVersion"`
	Resources  []resourceConfig `json:"resources"`
}

type resourceConfig struct {
	Resources []string         `json:"resources"`
	Providers []providerConfig `json:"providers"`
}

type providerConfig struct {
	Secretbox *secretboxConfig `json:"secretbox,omitempty"`
	Identity  *struct{}        `json:"identity,omitempty"`
}

type secretboxConfig struct {
	Keys []keyConfig `json:"keys"`
}

type keyConfig struct {
	Name   string `json:"name"`
	Secret string `json:"secret"`
}

// LoadOrCreate reads the key file at path, creating it with one new key on first use.
func LoadOrCreate(path string) (*Keys, error) {
	k := &Keys{path: path}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key, err := newKey()
		if err != nil {
			return nil, err
		}
		k.keys = []Key{key}
		return k, k.save()
	}
	if err != nil {
		return nil, err
	}
	var c config
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for _, r := range c.Resources {
		for _, p := range r.Providers {
			if p.Secretbox == nil {
				continue
			}
			for _, kc := range p.Secretbox.Keys {
				raw, err := base64.StdEncoding.DecodeString(kc.Secret)
				if err != nil || len(raw) != 32 {
					return nil, fmt.Errorf("%s: key %q is not 32 base64-encoded bytes", path, kc.Name)
				}
				key := Key{Name: kc.Name}
				copy(key.Secret[:], raw)
				k.keys = append(k.keys, key)
			}
		}
	}
	if len(k.keys) == 0 {
		return nil, fmt.Errorf("%s: no secretbox keys", path)
	}
	return k, nil
}

func newKey() (Key, error) {
	k := Key{Name: fmt.Sprintf("secretbox-%d", time.Now().UnixNano())}
	if _, err := rand.Read(k.Secret[:]); err != nil {
		return Key{}, err
	}
	return k, nil
}

// save writes the key file atomically with mode 0600.
func (k *Keys) save() error {
	c := config{Kind: "EncryptionConfiguration", APIVersion: "apiserver.config.k8s.io/v1"}
	sb := &secretboxConfig{}
	for _, key := range k.keys {
		sb.Keys = append(sb.Keys, keyConfig{Name: key.Name, Secret: base64.StdEncoding.EncodeToString(key.Secret[:])})
	}
	c.Resources = []resourceConfig{{Resources: []string{"secrets"}, Providers: []providerConfig{{Secretbox: sb}, {Identity: &struct{}{}}}}}
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(k.path), 0o700); err != nil {
		return err
	}
	tmp := k.path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, k.path)
}

// TransformToStorage seals plain with the first key.
func (k *Keys) TransformToStorage(plain []byte) ([]byte, error) {
	k.mu.RLock()
	key := k.keys[0]
	k.mu.RUnlock()
	var nonce [24]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(prefix)+len(key.Name)+1+24+len(plain)+secretbox.Overhead)
	out = append(out, prefix...)
	out = append(out, key.Name...)
	out = append(out, ':')
	out = append(out, nonce[:]...)
	return secretbox.Seal(out, plain, &nonce, &key.Secret), nil
}

// TransformFromStorage opens sealed bytes with the key they name; plaintext is returned as is.
func (k *Keys) TransformFromStorage(data []byte) ([]byte, bool, error) {
	if !bytes.HasPrefix(data, []byte(prefix)) {
		// Written before encryption was on: readable, and rewritten on the next update.
		return data, true, nil
	}
	rest := data[len(prefix):]
	k.mu.RLock()
	defer k.mu.RUnlock()
	for i, key := range k.keys {
		if !bytes.HasPrefix(rest, []byte(key.Name+":")) {
			continue
		}
		box := rest[len(key.Name)+1:]
		if len(box) < 24 {
			return nil, false, errors.New("secretbox: sealed data is too short")
		}
		var nonce [24]byte
		copy(nonce[:], box[:24])
		plain, ok := secretbox.Open(nil, box[24:], &nonce, &key.Secret)
		if !ok {
			return nil, false, fmt.Errorf("secretbox: data sealed with key %q does not open", key.Name)
		}
		return plain, i != 0, nil
	}
	return nil, false, errors.New("secretbox: data is sealed with a key this server does not have")
}

// Primary returns the name of the key that encrypts.
func (k *Keys) Primary() string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.keys[0].Name
}

// Names returns the names of all keys, the encrypting one first.
func (k *Keys) Names() []string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	var out []string
	for _, key := range k.keys {
		out = append(out, key.Name)
	}
	return out
}

// IsCurrent reports whether stored bytes are sealed with the encrypting key.
func (k *Keys) IsCurrent(data []byte) bool {
	return bytes.HasPrefix(data, []byte(prefix+k.Primary()+":"))
}

// StartRotation makes a new key the encrypting one, keeping the old keys for reading, and
// saves the key file. Rewrite every Secret, then call FinishRotation.
func (k *Keys) StartRotation() error {
	key, err := newKey()
	if err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.keys = append([]Key{key}, k.keys...)
	return k.save()
}

// FinishRotation forgets every key but the encrypting one and saves the key file.
func (k *Keys) FinishRotation() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.keys = k.keys[:1]
	return k.save()
}
