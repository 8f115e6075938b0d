// Package secret sets values in a repository's SOPS-encrypted Secrets
// (gen secret set) and finds the Secret file a target names (gen secret
// get): an existing file is edited in place, keeping every other value's
// ciphertext; a new one is encrypted by the repository's creation rules
// and listed in the kustomization beside it.
package secret

import (
	"bytes"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/gen-gitops/gen/generator"
	"github.com/gen-gitops/gen/generator/internal/yamledit"
	"github.com/gen-gitops/gen/generator/internal/yamlnode"
)

// File is the Secret file that `gen secret` reads or writes.
type File struct {
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

// SetOptions are the inputs of Set. Validate checks them.
type SetOptions struct {
	// Target is "<namespace>/<app>" or the repository path of a *.sops.yaml
	// file.
	Target string
	// Name is the metadata.name of a new Secret (default: <app>-secret for
	// an app, the file name without .sops.yaml for a path).
	Name string
	// Values are the keys to set, in order.
	Values []generator.KV
	// Store encrypts and edits.
	Store generator.SecretStore
}

// IsPath reports whether p names a SOPS secret file (*.sops.yaml or
// *.sops.yml), which is what creation rules and Flux decryption expect.
func IsPath(p string) bool {
	return strings.HasSuffix(p, ".sops.yaml") || strings.HasSuffix(p, ".sops.yml")
}

// Resolve finds the Secret file a `gen secret` target names. For
// "<namespace>/<app>" it is the app's one *.sops.yaml Secret under app/ (the
// one called name when there are several), or a new app/secret.sops.yaml.
// A path is taken as it is, and must end in .sops.yaml.
func Resolve(r *generator.Repo, target, name string) (File, error) {
	if target == "" {
		return File{}, fmt.Errorf("no secret given: want <namespace>/<app> or a path to a *.sops.yaml file")
	}
	if IsPath(target) || strings.Count(target, "/") != 1 {
		return resolveSecretPath(r, target, name)
	}
	ns, appName, _ := strings.Cut(target, "/")
	if _, err := generator.ParseRef(target); err != nil {
		return File{}, fmt.Errorf("secret %v; want <namespace>/<app> or a path to a *.sops.yaml file", err)
	}
	app, ok := r.App(ns, appName)
	if !ok {
		return File{}, fmt.Errorf("no app %s in the repository (namespaces: %s); add it with 'gen add-app %s ...' or give a path",
			target, strings.Join(r.NamespaceNames(), ", "), target)
	}
	dir := path.Join(app.Dir, "app")
	if !r.Exists(dir) {
		return File{}, fmt.Errorf("app %s has no app/ folder (%s); give the secret's path instead", target, dir)
	}
	type found struct{ path, name string }
	var secrets []found
	for p, data := range r.Files {
		if path.Dir(p) == dir && IsPath(p) {
			secrets = append(secrets, found{p, secretName(data)})
		}
	}
	slices.SortFunc(secrets, func(a, b found) int { return strings.Compare(a.path, b.path) })
	k := r.KustomizationIn(dir)
	switch {
	case len(secrets) == 1 && (name == "" || secrets[0].name == name):
		return File{Path: secrets[0].path, Exists: true, Name: secrets[0].name, Kustomization: k}, nil
	case len(secrets) > 1 || (len(secrets) == 1 && name != ""):
		var list []string
		for _, s := range secrets {
			if s.name == name {
				return File{Path: s.path, Exists: true, Name: s.name, Kustomization: k}, nil
			}
			list = append(list, fmt.Sprintf("%s (%s)", s.path, s.name))
		}
		if name != "" && len(secrets) == 1 {
			return File{}, fmt.Errorf("app %s has the secret %s, not %q; give a path to write another secret file", target, list[0], name)
		}
		return File{}, fmt.Errorf("app %s has several secrets: %s; say which with --name or give its path", target, strings.Join(list, ", "))
	}
	if name == "" {
		name = appName + "-secret"
	}
	return File{Path: path.Join(dir, "secret.sops.yaml"), Name: name, Kustomization: k}, nil
}

func resolveSecretPath(r *generator.Repo, target, name string) (File, error) {
	p, err := generator.CleanRelPath(target)
	if err != nil {
		return File{}, err
	}
	if !IsPath(p) {
		return File{}, fmt.Errorf("%q: secret files are named *.sops.yaml, so that .sops.yaml creation rules and Flux decryption find them", p)
	}
	k := r.KustomizationIn(path.Dir(p))
	if data, ok := r.Files[p]; ok {
		have := secretName(data)
		if name != "" && have != name {
			return File{}, fmt.Errorf("%q holds the Secret %q, not %q", p, have, name)
		}
		return File{Path: p, Exists: true, Name: have, Kustomization: k}, nil
	}
	if name == "" {
		base := path.Base(p)
		name = strings.TrimSuffix(strings.TrimSuffix(base, ".yaml"), ".yml")
		name = strings.TrimSuffix(name, ".sops")
	}
	return File{Path: p, Name: name, Kustomization: k}, nil
}

// secretName reads metadata.name of the first Secret in data.
func secretName(data []byte) string {
	docs, err := yamledit.ParseStream(data)
	if err != nil {
		return ""
	}
	for _, d := range docs {
		if yamledit.ScalarOf(yamledit.MapGet(d, "kind")) == "Secret" {
			return yamledit.ScalarOf(yamledit.NodeAt(d, "metadata", "name"))
		}
	}
	return ""
}

// secretKey matches a valid key of a Secret's data.
var secretKey = regexp.MustCompile(`^[-._a-zA-Z0-9]+$`)

// ValidateKeys checks keys: valid Secret keys, none given twice.
func ValidateKeys(values []generator.KV) error {
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

// Validate checks the options alone, before the repository is consulted.
func (o SetOptions) Validate() error {
	if err := ValidateKeys(o.Values); err != nil {
		return err
	}
	if o.Store == nil {
		return fmt.Errorf("setting a secret needs SOPS, and no secret store was given")
	}
	if o.Name != "" {
		if errs := validation.IsDNS1123Subdomain(o.Name); len(errs) > 0 {
			return fmt.Errorf("--name %q is not a valid Secret name: %s", o.Name, strings.Join(errs, "; "))
		}
	}
	return nil
}

// Set returns the Changeset that sets values in a Secret file: an existing
// file is edited in place (every other value keeps its ciphertext), a new
// one is encrypted by the repository's creation rules. Either way the file
// is listed in the kustomization beside it.
func Set(r *generator.Repo, o SetOptions) (*generator.Changeset, error) {
	if err := o.Validate(); err != nil {
		return nil, &generator.OptionsError{Err: err}
	}
	sf, err := Resolve(r, o.Target, o.Name)
	if err != nil {
		return nil, err
	}
	cs := &generator.Changeset{Title: fmt.Sprintf("Set %s in %s", keyList(o.Values), sf.Path)}
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
			for _, k := range Keys(old) {
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
		data := yamlnode.NewMap()
		for _, kv := range o.Values {
			data.Set(kv.Key, yamlnode.Str(kv.Value))
		}
		plain, err := generator.Scaffolds(r).Render("secret.yaml", map[string]any{"Name": sf.Name, "StringData": data.Node})
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
		out, changed, err := generator.AddResource(r.Files[sf.Kustomization], entry)
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

func keyList(kvs []generator.KV) string {
	var keys []string
	for _, kv := range kvs {
		keys = append(keys, kv.Key)
	}
	return strings.Join(keys, ", ")
}

// looksEncrypted reports whether data has a sops metadata block with a mac.
func looksEncrypted(data []byte) bool {
	docs, err := yamledit.ParseStream(data)
	if err != nil {
		return false
	}
	for _, d := range docs {
		if yamledit.ScalarOf(yamledit.NodeAt(d, "sops", "mac")) != "" {
			return true
		}
	}
	return false
}

// Keys lists the keys under data and stringData of the Secret in
// data, sorted; sops leaves keys readable.
func Keys(data []byte) []string {
	docs, err := yamledit.ParseStream(data)
	if err != nil {
		return nil
	}
	var out []string
	for _, d := range docs {
		if yamledit.ScalarOf(yamledit.MapGet(d, "kind")) != "Secret" {
			continue
		}
		for _, field := range []string{"stringData", "data"} {
			if m := yamledit.MapGet(d, field); m != nil && m.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(m.Content); i += 2 {
					out = append(out, m.Content[i].Value)
				}
			}
		}
	}
	slices.Sort(out)
	return out
}
