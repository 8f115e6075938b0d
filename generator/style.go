package generator

import (
	"cmp"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/gen-gitops/gen/scaffolds"
)

// Default app-template chart, used when the repository pins none.
const (
	DefaultAppTemplateURL     = "oci://ghcr.io/bjw-s-labs/helm/app-template"
	DefaultAppTemplateVersion = "4.6.2"
)

// Style is how a repository writes its files, so that what gen adds looks
// like its neighbours.
type Style struct {
	// SchemaHeaders: the repository puts yaml-language-server schema
	// comments on its Flux files.
	SchemaHeaders bool
	// NamespaceHeaders: its namespace kustomizations carry the schema
	// comment too.
	NamespaceHeaders bool
	// KSNamespace is the metadata.namespace its ks.yaml files carry
	// (flux-system), or "" when they carry none.
	KSNamespace string
	// SubstituteFrom is the Secret apps read variables from ("" for none).
	SubstituteFrom string
	// SourceRef is the source every app Kustomization builds from.
	SourceRef SourceRef
	// AppTemplateURL and AppTemplateVersion pin the app-template chart.
	AppTemplateURL     string
	AppTemplateVersion string
}

// SourceRef is a Flux sourceRef.
type SourceRef struct {
	Kind      string
	Name      string
	Namespace string
}

// StyleOf reads the style of r from its existing files.
func StyleOf(r *Repo) Style {
	s := Style{
		SourceRef:          SourceRef{Kind: "GitRepository", Name: "flux-system", Namespace: "flux-system"},
		AppTemplateURL:     DefaultAppTemplateURL,
		AppTemplateVersion: DefaultAppTemplateVersion,
	}
	if r.ClusterSecretsFile != "" {
		s.SubstituteFrom = "cluster-secrets"
		if r.Config.ClusterSecrets != "" {
			s.SubstituteFrom = r.Config.ClusterSecrets
		}
	}
	ksNamespaces := map[string]int{}
	ksTotal := 0
	versions := map[string]int{}
	for _, o := range r.Objects {
		switch {
		case o.IsFluxKustomization() && path.Base(o.File) == "ks.yaml" && strings.HasPrefix(o.File, r.AppsDir+"/"):
			ksTotal++
			ksNamespaces[o.Str("metadata", "namespace")]++
			if k, n := o.Str("spec", "sourceRef", "kind"), o.Str("spec", "sourceRef", "name"); k != "" && n != "" && isRoot(r, o.File) {
				s.SourceRef = SourceRef{Kind: k, Name: n, Namespace: o.Str("spec", "sourceRef", "namespace")}
			}
		case o.Kind == "Kustomization" && isRoot(r, o.File):
			if k, n := o.Str("spec", "sourceRef", "kind"), o.Str("spec", "sourceRef", "name"); k != "" && n != "" {
				s.SourceRef = SourceRef{Kind: k, Name: n, Namespace: o.Str("spec", "sourceRef", "namespace")}
			}
		case o.Kind == "OCIRepository" && strings.HasSuffix(o.Str("spec", "url"), "/app-template"):
			if tag := o.Str("spec", "ref", "tag"); tag != "" {
				versions[o.Str("spec", "url")+"@"+tag]++
			}
		}
	}
	for file, data := range r.Files {
		if path.Base(file) == "ks.yaml" && strings.Contains(string(data), "yaml-language-server:") {
			s.SchemaHeaders = true
		}
	}
	for _, ns := range r.Namespaces {
		if strings.Contains(string(r.Files[ns.Kustomization]), "yaml-language-server:") {
			s.NamespaceHeaders = true
		}
	}
	best, bestN := "", 0
	for ns, n := range ksNamespaces {
		if n > bestN || (n == bestN && ns > best) {
			best, bestN = ns, n
		}
	}
	if ksTotal > 0 && bestN*2 >= ksTotal {
		s.KSNamespace = best
	}
	if len(versions) > 0 {
		// The most used pin; of equally used ones, the highest.
		keys := slices.SortedFunc(maps.Keys(versions), func(a, b string) int {
			return cmp.Or(cmp.Compare(versions[b], versions[a]), strings.Compare(b, a))
		})
		u, v, _ := strings.Cut(keys[0], "@")
		s.AppTemplateURL, s.AppTemplateVersion = u, v
	}
	if r.Config.AppTemplateURL != "" {
		s.AppTemplateURL = r.Config.AppTemplateURL
	}
	if r.Config.AppTemplateVersion != "" {
		s.AppTemplateVersion = r.Config.AppTemplateVersion
	}
	return s
}

func isRoot(r *Repo, file string) bool {
	for _, f := range r.RootKustomizations {
		// A root folder's own files are the installation's, as a root
		// file is.
		if f == file || path.Dir(file) == f {
			return true
		}
	}
	return false
}

// Scaffolds returns the template set for r: the embedded templates, with
// the repository's own copies under .gen/scaffolds/ taking precedence.
func Scaffolds(r *Repo) scaffolds.Set {
	over := map[string][]byte{}
	for p, data := range r.Files {
		if name, ok := strings.CutPrefix(p, ".gen/scaffolds/"); ok {
			over[strings.TrimSuffix(name, ".tmpl")] = data
		}
	}
	return scaffolds.Set{Overrides: over}
}
