package generator

import (
	"bytes"
	"fmt"
	"path"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/gen-gitops/gen/internal/repo"
)

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

// SecretFile is the Secret file that `gen secret` reads or writes.
type SecretFile struct {
	// Path is the file's repository path.
	Path string
	// Exists is set when the file is already in the repository.
	Exists bool
	// Name is the Secret's metadata.name (for a new file, the one to write).
	Name string
	// Kustomization is the kustomization.yaml beside the file, where it is
	// registered ("" when the folder has none).
	Kustomization string
}

// SecretSetOptions are the inputs of SetSecret.
type SecretSetOptions struct {
	// Target is "<namespace>/<app>" or the repository path of a *.sops.yaml
	// file.
	Target string
	// Name is the metadata.name of a new Secret (default: <app>-secret for
	// an app, the file name without .sops.yaml for a path).
	Name string
	// Values are the keys to set, in order.
	Values []KV
	// Store encrypts and edits.
	Store SecretStore
}

// IsSecretPath reports whether p names a SOPS secret file (*.sops.yaml or
// *.sops.yml), which is what creation rules and Flux decryption expect.
func IsSecretPath(p string) bool {
	return strings.HasSuffix(p, ".sops.yaml") || strings.HasSuffix(p, ".sops.yml")
}

// ResolveSecret finds the Secret file a `gen secret` target names. For
// "<namespace>/<app>" it is the app's one *.sops.yaml Secret under app/ (the
// one called name when there are several), or a new app/secret.sops.yaml.
// A path is taken as it is, and must end in .sops.yaml.
func ResolveSecret(r *repo.Repo, target, name string) (SecretFile, error) {
	if target == "" {
		return SecretFile{}, fmt.Errorf("no secret given: want <namespace>/<app> or a path to a *.sops.yaml file")
	}
	if IsSecretPath(target) || strings.Count(target, "/") != 1 {
		return resolveSecretPath(r, target, name)
	}
	ns, appName, _ := strings.Cut(target, "/")
	if _, err := ParseRef(target); err != nil {
		return SecretFile{}, fmt.Errorf("secret %v; want <namespace>/<app> or a path to a *.sops.yaml file", err)
	}
	app, ok := r.App(ns, appName)
	if !ok {
		return SecretFile{}, fmt.Errorf("no app %s in the repository (namespaces: %s); add it with 'gen add-app %s ...' or give a path",
			target, strings.Join(r.NamespaceNames(), ", "), target)
	}
	dir := path.Join(app.Dir, "app")
	if !r.Exists(dir) {
		return SecretFile{}, fmt.Errorf("app %s has no app/ folder (%s); give the secret's path instead", target, dir)
	}
	type found struct{ path, name string }
	var secrets []found
	for p, data := range r.Files {
		if path.Dir(p) == dir && IsSecretPath(p) {
			secrets = append(secrets, found{p, secretName(data)})
		}
	}
	sort.Slice(secrets, func(i, j int) bool { return secrets[i].path < secrets[j].path })
	k := kustomizationIn(r, dir)
	switch {
	case len(secrets) == 1 && (name == "" || secrets[0].name == name):
		return SecretFile{Path: secrets[0].path, Exists: true, Name: secrets[0].name, Kustomization: k}, nil
	case len(secrets) > 1 || (len(secrets) == 1 && name != ""):
		var list []string
		for _, s := range secrets {
			if s.name == name {
				return SecretFile{Path: s.path, Exists: true, Name: s.name, Kustomization: k}, nil
			}
			list = append(list, fmt.Sprintf("%s (%s)", s.path, s.name))
		}
		if name != "" && len(secrets) == 1 {
			return SecretFile{}, fmt.Errorf("app %s has the secret %s, not %q; give a path to write another secret file", target, list[0], name)
		}
		return SecretFile{}, fmt.Errorf("app %s has several secrets: %s; say which with --name or give its path", target, strings.Join(list, ", "))
	}
	if name == "" {
		name = appName + "-secret"
	}
	return SecretFile{Path: path.Join(dir, "secret.sops.yaml"), Name: name, Kustomization: k}, nil
}

func resolveSecretPath(r *repo.Repo, target, name string) (SecretFile, error) {
	p, err := CleanRelPath(target)
	if err != nil {
		return SecretFile{}, err
	}
	if !IsSecretPath(p) {
		return SecretFile{}, fmt.Errorf("%q: secret files are named *.sops.yaml, so that .sops.yaml creation rules and Flux decryption find them", p)
	}
	k := kustomizationIn(r, path.Dir(p))
	if data, ok := r.Files[p]; ok {
		have := secretName(data)
		if name != "" && have != name {
			return SecretFile{}, fmt.Errorf("%q holds the Secret %q, not %q", p, have, name)
		}
		return SecretFile{Path: p, Exists: true, Name: have, Kustomization: k}, nil
	}
	if name == "" {
		base := path.Base(p)
		name = strings.TrimSuffix(strings.TrimSuffix(base, ".yaml"), ".yml")
		name = strings.TrimSuffix(name, ".sops")
	}
	return SecretFile{Path: p, Name: name, Kustomization: k}, nil
}

// kustomizationIn returns the kustomization file of dir, or "".
func kustomizationIn(r *repo.Repo, dir string) string {
	for _, n := range []string{"kustomization.yaml", "kustomization.yml", "Kustomization"} {
		if _, ok := r.Files[path.Join(dir, n)]; ok {
			return path.Join(dir, n)
		}
	}
	return ""
}

// secretName reads metadata.name of the first Secret in data.
func secretName(data []byte) string {
	docs, err := parseStream(data)
	if err != nil {
		return ""
	}
	for _, d := range docs {
		if scalarOf(mapGet(d, "kind")) == "Secret" {
			return scalarOf(nodeAt(d, "metadata", "name"))
		}
	}
	return ""
}

// ValidateSecretKeys checks keys: valid Secret keys, none given twice.
func ValidateSecretKeys(values []KV) error {
	if len(values) == 0 {
		return fmt.Errorf("no KEY=VALUE given")
	}
	seen := map[string]bool{}
	for _, kv := range values {
		if !secretKey.MatchString(kv.Key) {
			return fmt.Errorf("%q is not a valid Secret key (letters, digits, '-', '_' and '.')", kv.Key)
		}
		if seen[kv.Key] {
			return fmt.Errorf("%s is given twice", kv.Key)
		}
		seen[kv.Key] = true
	}
	return nil
}

// SetSecret returns the Changeset that sets values in a Secret file:
// an existing file is edited in place (every other value keeps its
// ciphertext), a new one is encrypted by the repository's creation rules.
// Either way the file is listed in the kustomization beside it.
func SetSecret(r *repo.Repo, o SecretSetOptions) (*Changeset, error) {
	if err := ValidateSecretKeys(o.Values); err != nil {
		return nil, err
	}
	if o.Store == nil {
		return nil, fmt.Errorf("setting a secret needs SOPS, and no secret store was given")
	}
	if o.Name != "" {
		if errs := validation.IsDNS1123Subdomain(o.Name); len(errs) > 0 {
			return nil, fmt.Errorf("--name %q is not a valid Secret name: %s", o.Name, strings.Join(errs, "; "))
		}
	}
	sf, err := ResolveSecret(r, o.Target, o.Name)
	if err != nil {
		return nil, err
	}
	cs := &Changeset{Title: fmt.Sprintf("Set %s in %s", keyList(o.Values), sf.Path)}
	set := map[string]string{}
	for _, kv := range o.Values {
		set[kv.Key] = kv.Value
	}
	if sf.Exists {
		old := r.Files[sf.Path]
		if !looksEncrypted(old) {
			return nil, fmt.Errorf("%q is not SOPS-encrypted (no sops: block); gen never adds secrets to a plaintext file: encrypt it with sops first", sf.Path)
		}
		out, err := o.Store.Edit(sf.Path, old, set, nil)
		if err != nil {
			return nil, fmt.Errorf("editing %q: %w", sf.Path, err)
		}
		if !bytes.Equal(out, old) {
			cs.AddSensitive(sf.Path, out)
			had := map[string]bool{}
			for _, k := range SecretKeys(old) {
				had[k] = true
			}
			var added, replaced []string
			for _, kv := range o.Values {
				if had[kv.Key] {
					replaced = append(replaced, kv.Key)
				} else {
					added = append(added, kv.Key)
				}
			}
			// The diff redacts values, so a replaced value shows no change
			// there: say which keys change, never how.
			if len(replaced) > 0 {
				cs.Note("%s: sets %s (replacing the old %s)", sf.Path, strings.Join(replaced, ", "), valuesWord(len(replaced)))
			}
			if len(added) > 0 {
				cs.Note("%s: adds %s", sf.Path, strings.Join(added, ", "))
			}
		}
	} else {
		data := newMap()
		for _, kv := range o.Values {
			data.set(kv.Key, str(kv.Value))
		}
		plain, err := Scaffolds(r).Render("secret.yaml", map[string]any{"Name": sf.Name, "StringData": data.node})
		if err != nil {
			return nil, err
		}
		sealed, err := o.Store.Seal(sf.Path, plain)
		if err != nil {
			return nil, fmt.Errorf("encrypting %q: %w", sf.Path, err)
		}
		cs.AddSensitive(sf.Path, sealed)
		cs.Note("%s holds the Secret %s; reference it from the workload (envFrom: [{secretRef: {name: %s}}])", sf.Path, sf.Name, sf.Name)
	}
	if sf.Kustomization != "" {
		entry := "./" + path.Base(sf.Path)
		out, changed, err := AddResource(r.Files[sf.Kustomization], entry)
		if err != nil {
			return nil, fmt.Errorf("registering %s in %q: %w", entry, sf.Kustomization, err)
		}
		if changed {
			cs.Add(sf.Kustomization, out)
		}
	} else if !sf.Exists {
		cs.Note("%s has no kustomization.yaml; make sure the Flux Kustomization that builds it picks %s up", path.Dir(sf.Path), path.Base(sf.Path))
	}
	if err := cs.Normalize(); err != nil {
		return nil, err
	}
	return cs, nil
}

func valuesWord(n int) string {
	if n == 1 {
		return "value"
	}
	return "values"
}

func keyList(kvs []KV) string {
	var keys []string
	for _, kv := range kvs {
		keys = append(keys, kv.Key)
	}
	return strings.Join(keys, ", ")
}

// looksEncrypted reports whether data has a sops metadata block with a mac.
func looksEncrypted(data []byte) bool {
	docs, err := parseStream(data)
	if err != nil {
		return false
	}
	for _, d := range docs {
		if scalarOf(nodeAt(d, "sops", "mac")) != "" {
			return true
		}
	}
	return false
}

// SecretKeys lists the keys under data and stringData of the Secret in
// data, sorted; sops leaves keys readable.
func SecretKeys(data []byte) []string {
	docs, err := parseStream(data)
	if err != nil {
		return nil
	}
	var out []string
	for _, d := range docs {
		if scalarOf(mapGet(d, "kind")) != "Secret" {
			continue
		}
		for _, field := range []string{"stringData", "data"} {
			if m := mapGet(d, field); m != nil && m.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(m.Content); i += 2 {
					out = append(out, m.Content[i].Value)
				}
			}
		}
	}
	sort.Strings(out)
	return out
}
