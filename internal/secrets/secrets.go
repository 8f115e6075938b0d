// Package secrets connects a repository to SOPS: it encrypts new secret
// files by the repository's .sops.yaml and reads cluster-secrets when an age
// key is available.
package secrets

import (
	"fmt"
	"sort"

	"go.yaml.in/yaml/v3"

	"github.com/gen-gitops/gen/internal/repo"
	"github.com/gen-gitops/gen/internal/sops"
)

// Sealer encrypts secret files of one repository. It implements
// generator.SecretSealer.
type Sealer struct {
	cfg *sops.Config
	// ids may be nil: encryption needs only the public recipients.
	ids *sops.Identities
}

// NewSealer reads the repository's .sops.yaml. A missing or unreadable
// .sops.yaml is an error that says what to add.
func NewSealer(r *repo.Repo, ids *sops.Identities) (*Sealer, error) {
	data, ok := r.Files[".sops.yaml"]
	if !ok {
		return nil, fmt.Errorf("writing a secret needs .sops.yaml at the repository root with a creation_rule for kubernetes/.*\\.sops\\.ya?ml; none was found")
	}
	cfg, err := sops.ParseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("reading \".sops.yaml\": %w", err)
	}
	return &Sealer{cfg: cfg, ids: ids}, nil
}

// Seal encrypts plain for path, by the first creation rule matching path.
func (s *Sealer) Seal(path string, plain []byte) ([]byte, error) {
	rule, err := s.cfg.RuleFor(path)
	if err != nil {
		return nil, fmt.Errorf("%w; add a creation_rule to .sops.yaml whose path_regex matches %s", err, path)
	}
	return sops.Encrypt(plain, rule, s.cfg.Indent)
}

// Holds reports whether existing decrypts to exactly values under
// stringData. Without a key it cannot tell, and says false.
func (s *Sealer) Holds(existing []byte, values map[string]string) (bool, error) {
	if s.ids == nil {
		return false, nil
	}
	got, err := Values(existing, s.ids)
	if err != nil {
		return false, err
	}
	if len(got) != len(values) {
		return false, nil
	}
	for k, v := range values {
		if got[k] != v {
			return false, nil
		}
	}
	return true, nil
}

// Values decrypts a Secret and returns its stringData (and decoded data)
// values.
func Values(data []byte, ids *sops.Identities) (map[string]string, error) {
	plain, err := sops.Decrypt(data, ids)
	if err != nil {
		return nil, err
	}
	var doc struct {
		StringData map[string]string `yaml:"stringData"`
		Data       map[string]string `yaml:"data"`
	}
	if err := yaml.Unmarshal(plain, &doc); err != nil {
		return nil, fmt.Errorf("decrypted secret is not a Secret: %w", err)
	}
	out := map[string]string{}
	for k, v := range doc.StringData {
		out[k] = v
	}
	for k, v := range doc.Data {
		if _, ok := out[k]; !ok {
			out[k] = decodeBase64(v)
		}
	}
	return out, nil
}

// ClusterValues decrypts the repository's cluster-secrets. It returns
// (nil, nil) when the repository has none.
func ClusterValues(r *repo.Repo, ids *sops.Identities) (map[string]string, error) {
	if r.ClusterSecretsFile == "" {
		return nil, nil
	}
	data := r.Files[r.ClusterSecretsFile]
	if !sops.IsEncrypted(data) {
		var doc struct {
			StringData map[string]string `yaml:"stringData"`
		}
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return nil, err
		}
		return doc.StringData, nil
	}
	v, err := Values(data, ids)
	if err != nil {
		return nil, fmt.Errorf("decrypting %q: %w", r.ClusterSecretsFile, err)
	}
	return v, nil
}

// Keys lists a secret file's keys, sorted, without decrypting.
func Keys(data []byte) ([]string, error) {
	keys, err := sops.Keys(data)
	sort.Strings(keys)
	return keys, err
}
