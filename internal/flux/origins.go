package flux

import (
	"path"
	"strings"

	"go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/resource"

	genrepo "github.com/gen-gitops/gen/internal/repo"
)

// matchOrigins finds the file each object of a build came from, for a
// build made without kustomize's origin annotations (which make kustomize
// record every transformer on every object, a sixth of a check's time).
// An object's file is the one document, among the files the build read,
// with the object's API group, kind and name. It reports false when any
// object has no such document or more than one (a patch file naming it, a
// generated object, a renamed one); the caller then builds again with the
// annotations.
func matchOrigins(snap *snapshot, in *inputs, resources []*resource.Resource) ([]string, bool) {
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
	for i, res := range resources {
		k := key{groupOf(res.GetApiVersion()), res.GetKind(), res.GetName()}
		p, ok := found[k]
		if !ok || ambiguous[k] {
			return nil, false
		}
		out[i] = p
	}
	return out, true
}

// groupOf is the API group of an apiVersion ("" for the core group).
func groupOf(apiVersion string) string {
	if g, _, ok := strings.Cut(apiVersion, "/"); ok {
		return g
	}
	return ""
}
