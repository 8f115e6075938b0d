package flux

import (
	"path"
	"strings"

	"go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/resource"
	kustypes "sigs.k8s.io/kustomize/api/types"
	sigsyaml "sigs.k8s.io/yaml"

	genrepo "github.com/gen-gitops/gen/internal/repo"
)

// matchOrigins finds the file each object of a build came from, for a
// build made without kustomize's origin annotations (which make kustomize
// record every transformer on every object, a sixth of a check's time).
// An object's file is the one document, among the files the build read,
// with the object's API group, kind and name. A ConfigMap or Secret that
// no document declares and that a generator of a kustomization the build
// read makes (see generatedNames) has no file, as kustomize's annotation
// names none. It reports false when any other object has no such
// document, or any object more than one (a patch file naming it, a
// renamed object); the caller then builds again with the annotations.
// top is the kustomization the build ran, as generated into the file
// topFile.
func matchOrigins(snap *snapshot, in *inputs, resources []*resource.Resource, top *kustypes.Kustomization, topFile string) ([]string, bool) {
	type key struct{ group, kind, name string }
	found := map[key]string{}
	ambiguous := map[key]bool{}
	for p := range in.read {
		data, ok := snap.idx.files[p]
		if !ok {
			continue
		}
		switch path.Ext(p) {
		case ".yaml", ".yml", ".json":
		default:
			continue
		}
		for _, doc := range genrepo.SplitDocuments(data) {
			apiVersion, kind, name, ok := genrepo.ScanHeader(doc)
			if !ok {
				var h struct {
					APIVersion string `yaml:"apiVersion"`
					Kind       string `yaml:"kind"`
					Metadata   struct {
						Name string `yaml:"name"`
					} `yaml:"metadata"`
				}
				if err := yaml.Unmarshal(doc, &h); err != nil {
					// kustomize read it: a file it could not parse
					// fails the build before this; be safe anyway.
					return nil, false
				}
				apiVersion, kind, name = h.APIVersion, h.Kind, h.Metadata.Name
			}
			if kind == "" || name == "" {
				continue
			}
			k := key{groupOf(apiVersion), kind, name}
			if _, dup := found[k]; dup {
				ambiguous[k] = true
			}
			found[k] = p
		}
	}
	out := make([]string, len(resources))
	var generated map[generatedName]bool
	for i, res := range resources {
		k := key{groupOf(res.GetApiVersion()), res.GetKind(), res.GetName()}
		p, ok := found[k]
		if ambiguous[k] {
			return nil, false
		}
		if !ok {
			if generated == nil {
				if generated, ok = generatedNames(snap, in, top, topFile); !ok {
					return nil, false
				}
			}
			if res.GetApiVersion() != "v1" || !generated[generatedName{res.GetKind(), unhashed(res.GetName())}] && !generated[generatedName{res.GetKind(), res.GetName()}] {
				return nil, false
			}
		}
		out[i] = p
	}
	return out, true
}

// generatedName is a ConfigMap or Secret a generator makes.
type generatedName struct{ kind, name string }

// generatedNames returns the ConfigMaps and Secrets the configMapGenerator
// and secretGenerator entries of the kustomizations a build read make, by
// the name they are given. It reports false when a kustomization read
// could rename objects (namePrefix, nameSuffix, JSON patches, replacements,
// vars, generator or transformer plugins), so that an object's name would
// no longer tell where it came from.
func generatedNames(snap *snapshot, in *inputs, top *kustypes.Kustomization, topFile string) (map[generatedName]bool, bool) {
	out := map[generatedName]bool{}
	for p := range in.read {
		if !isKustomizationFileName(path.Base(p)) {
			continue
		}
		k := top
		if p != topFile {
			data, ok := snap.idx.files[p]
			if !ok {
				continue
			}
			k = &kustypes.Kustomization{}
			if err := sigsyaml.Unmarshal(data, k); err != nil {
				return nil, false
			}
		}
		if k.NamePrefix != "" || k.NameSuffix != "" || len(k.PatchesJson6902) > 0 || len(k.Replacements) > 0 ||
			len(k.Vars) > 0 || len(k.Generators) > 0 || len(k.Transformers) > 0 {
			return nil, false
		}
		for _, patch := range k.Patches {
			// A patch file, or an inline list of operations, may be a
			// JSON patch that renames; a strategic merge patch renames
			// only when told it may.
			if patch.Path != "" || !isMapping(patch.Patch) || patch.Options != nil && (patch.Options.AllowNameChange || patch.Options.AllowKindChange) {
				return nil, false
			}
		}
		for _, g := range k.ConfigMapGenerator {
			if !addGenerated(out, "ConfigMap", g.GeneratorArgs) {
				return nil, false
			}
		}
		for _, g := range k.SecretGenerator {
			if !addGenerated(out, "Secret", g.GeneratorArgs) {
				return nil, false
			}
		}
	}
	return out, true
}

// addGenerated adds what a generator makes; false for one that merges
// into or replaces an object of a base, whose file kustomize may record.
func addGenerated(out map[generatedName]bool, kind string, g kustypes.GeneratorArgs) bool {
	if g.Behavior != "" && g.Behavior != "create" {
		return false
	}
	out[generatedName{kind, g.Name}] = true
	return true
}

// isMapping reports whether text is one YAML mapping.
func isMapping(text string) bool {
	var n yaml.Node
	return yaml.Unmarshal([]byte(text), &n) == nil && len(n.Content) == 1 && n.Content[0].Kind == yaml.MappingNode
}

// unhashed returns name without the content hash kustomize appends to a
// generated object's name ("-" and ten lower-case letters or digits), or
// name itself when it has none.
func unhashed(name string) string {
	i := len(name) - 11
	if i < 1 || name[i] != '-' {
		return name
	}
	for _, c := range name[i+1:] {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9') {
			return name
		}
	}
	return name[:i]
}

// groupOf is the API group of an apiVersion ("" for the core group).
func groupOf(apiVersion string) string {
	if g, _, ok := strings.Cut(apiVersion, "/"); ok {
		return g
	}
	return ""
}
