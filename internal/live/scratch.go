package live

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/gen-gitops/gen/generator/scratch"
)

// ScratchApp is one app of the scratch pattern, as found in a cluster.
type ScratchApp struct {
	Namespace string    `json:"namespace"`
	Name      string    `json:"name"`
	Images    []string  `json:"images"`
	Hosts     []string  `json:"hosts"`
	Created   time.Time `json:"created"`
	// Objects are Kind/name of everything labelled with the app.
	Objects []string `json:"objects"`
}

// Unmanaged is an HTTPRoute or DNSEndpoint that no Flux object manages.
type Unmanaged struct {
	Namespace string   `json:"namespace"`
	Kind      string   `json:"kind"`
	Name      string   `json:"name"`
	Hosts     []string `json:"hosts"`
	// ScratchApp is the scratch.app label's value, when it has one.
	ScratchApp string `json:"scratchApp,omitempty"`
}

// scratchKinds are what scratch ls reads: the pattern's objects.
var scratchKinds = []schema.GroupKind{
	{Group: "apps", Kind: "Deployment"},
	{Group: "apps", Kind: "StatefulSet"},
	{Kind: "Service"},
	HTTPRouteKind,
	DNSEndpointKind,
	ChuteKind,
}

// ScratchApps lists the scratch apps in ns ("" for every namespace).
func (c *Client) ScratchApps(ctx context.Context, ns string) ([]ScratchApp, []string, error) {
	var all []*unstructured.Unstructured
	var notes []string
	for _, gk := range scratchKinds {
		objs, ok, err := c.listKind(ctx, gk, ns, scratch.Label)
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			if gk == HTTPRouteKind || gk == DNSEndpointKind {
				notes = append(notes, fmt.Sprintf("the cluster has no %s CRD (%s): none read", gk.Kind, gk.Group))
			}
			continue
		}
		all = append(all, objs...)
	}
	return GroupScratchApps(all), notes, nil
}

// GroupScratchApps groups labelled objects into apps, sorted by namespace
// and name.
func GroupScratchApps(objs []*unstructured.Unstructured) []ScratchApp {
	type key struct{ ns, name string }
	apps := map[key]*ScratchApp{}
	for _, o := range objs {
		name := o.GetLabels()[scratch.Label]
		if name == "" {
			continue
		}
		k := key{o.GetNamespace(), name}
		a := apps[k]
		if a == nil {
			a = &ScratchApp{Namespace: k.ns, Name: name}
			apps[k] = a
		}
		a.Objects = append(a.Objects, o.GetKind()+"/"+o.GetName())
		if t := o.GetCreationTimestamp().Time; !t.IsZero() && (a.Created.IsZero() || t.Before(a.Created)) {
			a.Created = t
		}
		a.Images = append(a.Images, Images(o)...)
		a.Hosts = append(a.Hosts, Hostnames(o)...)
	}
	out := make([]ScratchApp, 0, len(apps))
	for _, a := range apps {
		a.Images = uniqueSorted(a.Images)
		a.Hosts = uniqueSorted(a.Hosts)
		sort.Strings(a.Objects)
		out = append(out, *a)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Namespace != out[j].Namespace {
			return out[i].Namespace < out[j].Namespace
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// Images returns the images of a workload's containers.
func Images(o *unstructured.Unstructured) []string {
	var out []string
	for _, field := range []string{"initContainers", "containers"} {
		list, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", field)
		for _, c := range list {
			if m, ok := c.(map[string]any); ok {
				if img, ok := m["image"].(string); ok {
					out = append(out, img)
				}
			}
		}
	}
	return out
}

// Hostnames returns an HTTPRoute's hostnames, a DNSEndpoint's record
// names or a Chute's hostname.
func Hostnames(o *unstructured.Unstructured) []string {
	var out []string
	switch o.GroupVersionKind().GroupKind() {
	case ChuteKind:
		if h, _, _ := unstructured.NestedString(o.Object, "spec", "hostname"); h != "" {
			out = append(out, h)
		}
	case HTTPRouteKind:
		hs, _, _ := unstructured.NestedStringSlice(o.Object, "spec", "hostnames")
		out = append(out, hs...)
	case DNSEndpointKind:
		eps, _, _ := unstructured.NestedSlice(o.Object, "spec", "endpoints")
		for _, e := range eps {
			if m, ok := e.(map[string]any); ok {
				if n, ok := m["dnsName"].(string); ok {
					out = append(out, n)
				}
			}
		}
	}
	return out
}

// Audit lists every HTTPRoute and DNSEndpoint in the cluster that no Flux
// object manages: without kustomize.toolkit.fluxcd.io/* labels (a Flux
// Kustomization applied it) or helm.toolkit.fluxcd.io/* labels (a Flux
// HelmRelease rendered it). Those are the routes and records people forget.
func (c *Client) Audit(ctx context.Context) ([]Unmanaged, []string, error) {
	var out []Unmanaged
	var notes []string
	for _, gk := range []schema.GroupKind{HTTPRouteKind, DNSEndpointKind} {
		objs, ok, err := c.listKind(ctx, gk, "", "")
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			notes = append(notes, fmt.Sprintf("the cluster has no %s CRD (%s): nothing to audit there", gk.Kind, gk.Group))
			continue
		}
		out = append(out, UnmanagedOf(objs)...)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.Name < b.Name
	})
	return out, notes, nil
}

// UnmanagedOf keeps the objects that carry no Flux ownership label.
func UnmanagedOf(objs []*unstructured.Unstructured) []Unmanaged {
	var out []Unmanaged
	for _, o := range objs {
		if FluxManaged(o) {
			continue
		}
		out = append(out, Unmanaged{
			Namespace: o.GetNamespace(), Kind: o.GetKind(), Name: o.GetName(),
			Hosts: uniqueSorted(Hostnames(o)), ScratchApp: o.GetLabels()[scratch.Label],
		})
	}
	return out
}

// FluxManaged reports whether a Flux controller applied or rendered o.
func FluxManaged(o *unstructured.Unstructured) bool {
	for k := range o.GetLabels() {
		if strings.HasPrefix(k, "kustomize.toolkit.fluxcd.io/") || strings.HasPrefix(k, "helm.toolkit.fluxcd.io/") {
			return true
		}
	}
	return false
}

func uniqueSorted(in []string) []string {
	seen := map[string]bool{}
	out := []string{}
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}
