package generator

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// Ref names a Flux Kustomization.
type Ref struct {
	Namespace string
	Name      string
}

func (r Ref) String() string { return r.Namespace + "/" + r.Name }

// ParseRef parses ns/name.
func ParseRef(s string) (Ref, error) {
	ns, name, ok := strings.Cut(s, "/")
	if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
		return Ref{}, fmt.Errorf("%q is not <namespace>/<name>", s)
	}
	for _, part := range []string{ns, name} {
		if errs := validation.IsDNS1123Label(part); len(errs) > 0 {
			return Ref{}, fmt.Errorf("%q: %q is not a valid name: %s", s, part, strings.Join(errs, "; "))
		}
	}
	return Ref{Namespace: ns, Name: name}, nil
}

// DependsOnFor returns the Kustomizations an app needs by the repository's
// rule table: an HTTPRoute needs the gateway's owner, a DNSEndpoint the
// external-dns owner.
func DependsOnFor(r *Repo, route, dns bool) []Ref {
	var out []Ref
	if route {
		if ref := GatewayOwner(r); ref.Name != "" {
			out = append(out, ref)
		}
	}
	if dns {
		if ref := DNSOwner(r); ref.Name != "" {
			out = append(out, ref)
		}
	}
	return out
}

// IsInfrastructure reports whether an app is one other apps depend on: the
// owner of the gateways or of external-dns, or an app of a well-known
// infrastructure name.
func IsInfrastructure(r *Repo, a *App) bool {
	for _, ref := range []Ref{GatewayOwner(r), DNSOwner(r)} {
		if ref.Namespace == a.Namespace && ref.Name == a.Name {
			return true
		}
	}
	switch a.Name {
	case "envoy-gateway", "cloudflare-dns", "cloudflare-tunnel", "cert-manager", "external-secrets", "external-dns", "flux-operator", "flux-instance", "cilium", "coredns":
		return true
	}
	return false
}

// GatewayOwner is the Flux Kustomization that declares the Gateways: routes
// depend on it.
func GatewayOwner(r *Repo) Ref {
	for _, g := range r.Gateways {
		if ref, ok := OwnerOfFile(r, g.File); ok {
			return ref
		}
	}
	return Ref{}
}

// DNSOwner is the Flux Kustomization that runs external-dns with the CRD
// source: DNSEndpoints depend on it.
func DNSOwner(r *Repo) Ref {
	var candidates []Ref
	for _, o := range r.Objects {
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
			if ref, ok := OwnerOfFile(r, o.File); ok {
				candidates = append(candidates, ref)
			}
		}
	}
	slices.SortFunc(candidates, func(a, b Ref) int { return strings.Compare(a.String(), b.String()) })
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

// OwnerOfFile finds the app whose folder holds file and returns its Flux
// Kustomization.
func OwnerOfFile(r *Repo, file string) (Ref, bool) {
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
