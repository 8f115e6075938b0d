package generator

import (
	"path"
	"sort"
	"strings"

	"github.com/gen-gitops/gen/internal/repo"
	"github.com/gen-gitops/gen/scaffolds"
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
func StyleOf(r *repo.Repo) Style {
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
	for _, o := range r.Objects() {
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
		keys := make([]string, 0, len(versions))
		for k := range versions {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool {
			if versions[keys[i]] != versions[keys[j]] {
				return versions[keys[i]] > versions[keys[j]]
			}
			return keys[i] > keys[j]
		})
		u, v, _ := strings.Cut(keys[0], "@")
		s.AppTemplateURL, s.AppTemplateVersion = u, v
	}
	if r.Config.AppTemplate.URL != "" {
		s.AppTemplateURL = r.Config.AppTemplate.URL
	}
	if r.Config.AppTemplate.Version != "" {
		s.AppTemplateVersion = r.Config.AppTemplate.Version
	}
	return s
}

func isRoot(r *repo.Repo, file string) bool {
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
func Scaffolds(r *repo.Repo) scaffolds.Set {
	over := map[string][]byte{}
	for p, data := range r.Files {
		if name, ok := strings.CutPrefix(p, ".gen/scaffolds/"); ok {
			over[strings.TrimSuffix(name, ".tmpl")] = data
		}
	}
	return scaffolds.Set{Overrides: over}
}

// gatewayOwner is the Flux Kustomization that declares the Gateways: routes
// depend on it.
func gatewayOwner(r *repo.Repo) Ref {
	for _, g := range r.Gateways {
		if ref, ok := ownerOfFile(r, g.File); ok {
			return ref
		}
	}
	return Ref{}
}

// dnsOwner is the Flux Kustomization that runs external-dns with the CRD
// source: DNSEndpoints depend on it.
func dnsOwner(r *repo.Repo) Ref {
	var candidates []Ref
	for _, o := range r.Objects() {
		if o.Kind != "HelmRelease" || !o.Contains("domainFilters") {
			continue
		}
		values, _ := o.Get("spec", "values").(map[string]any)
		if values == nil {
			continue
		}
		_, filters := values["domainFilters"]
		srcs := strings.ToLower(strings.Join(toStrings(values["sources"]), ","))
		if filters && (srcs == "" || strings.Contains(srcs, "crd")) {
			if ref, ok := ownerOfFile(r, o.File); ok {
				candidates = append(candidates, ref)
			}
		}
	}
	sort.Slice(candidates, func(i, j int) bool { return candidates[i].String() < candidates[j].String() })
	for _, c := range candidates {
		if c.Name == "cloudflare-dns" || c.Name == "external-dns" {
			return c
		}
	}
	if len(candidates) > 0 {
		return candidates[0]
	}
	return Ref{}
}

// ownerOfFile finds the app whose folder holds file and returns its Flux
// Kustomization.
func ownerOfFile(r *repo.Repo, file string) (Ref, bool) {
	for _, ns := range r.Namespaces {
		for _, a := range ns.Apps {
			if strings.HasPrefix(file, a.Dir+"/") && len(a.Kustomizations) > 0 {
				name := a.Kustomizations[0]
				for _, k := range a.Kustomizations {
					if k == a.Name {
						name = k
					}
				}
				return Ref{Namespace: a.Namespace, Name: name}, true
			}
		}
	}
	return Ref{}, false
}

func toStrings(v any) []string {
	l, _ := v.([]any)
	var out []string
	for _, x := range l {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
