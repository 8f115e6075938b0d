package generator

import (
	"fmt"
	"strings"
)

// KV is one KEY=VALUE pair, in the order given.
type KV struct {
	Key   string
	Value string
}

// ParseKV parses KEY=VALUE.
func ParseKV(s string) (KV, error) {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return KV{}, fmt.Errorf("%q is not KEY=VALUE", s)
	}
	return KV{Key: k, Value: v}, nil
}

// SecretSealer encrypts new secret files and compares existing ones, so a
// second identical run is recognised though encryption is randomised.
type SecretSealer interface {
	// Seal encrypts a plaintext Secret document destined for path.
	Seal(path string, plain []byte) ([]byte, error)
	// Holds reports whether the encrypted document holds exactly values
	// under stringData (and nothing else).
	Holds(existing []byte, values map[string]string) (bool, error)
}

// SecretStore reads, edits and creates SOPS-encrypted Secrets for a
// generator, which never holds keys itself. Every method takes the
// file's repository path, for the creation rules and for messages.
type SecretStore interface {
	// Seal encrypts a plaintext Secret document destined for path.
	Seal(path string, plain []byte) ([]byte, error)
	// Values decrypts the Secret in data and returns its values.
	Values(path string, data []byte) (map[string]string, error)
	// Edit sets and removes keys of the encrypted Secret in data. Values it
	// does not touch keep their ciphertext; when nothing changes it returns
	// data as is.
	Edit(path string, data []byte, set map[string]string, remove []string) ([]byte, error)
}

// OptionsError is what a generator's entry point returns when its options
// do not validate: the caller asked for something that cannot be, before
// the repository was consulted (gen exits with code 2 for it). Err is the
// options' Validate error, unchanged.
type OptionsError struct{ Err error }

func (e *OptionsError) Error() string { return e.Err.Error() }
func (e *OptionsError) Unwrap() error { return e.Err }
