package promote

import (
	"fmt"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/gen-gitops/gen/generator"
	"github.com/gen-gitops/gen/generator/scratch"
	genschema "github.com/gen-gitops/gen/internal/schema"
)

// keepNames are kinds whose objects keep their names: pods reference them
// by name.
var keepNames = map[string]bool{"ConfigMap": true, "Secret": true, "PersistentVolumeClaim": true}

// fileNames are the app/ file names of the kinds promote writes.
var fileNames = map[string]string{
	"Deployment": "deployment.yaml", "Service": "service.yaml", "HTTPRoute": "httproute.yaml",
	"DNSEndpoint": "dnsendpoint.yaml", "ConfigMap": "configmap.yaml", "PersistentVolumeClaim": "pvc.yaml",
}

// raw writes what helm() left (everything, in raw mode) as cleaned
// manifests: renamed to the Flux app's name, scratch selectors replaced by
// app.kubernetes.io/name, routes attached with their hostnames as
// variables.
func (p *promoter) raw() error {
	objs := append(append(append([]*unstructured.Unstructured{}, p.deployments...), p.services...), p.rest...)
	for _, o := range objs {
		p.rename(o)
		p.relabel(o)
	}
	for _, rt := range p.routes {
		p.rename(rt)
	}
	for _, rt := range p.routes {
		p.rawRoute(rt)
		objs = append(objs, rt)
	}
	for _, o := range objs {
		kind := o.GetKind()
		gvk := o.GroupVersionKind()
		if !genschema.Known(gvk) {
			p.keptRaw = append(p.keptRaw, fmt.Sprintf("%s/%s: a kind gen does not know (%s), kept as it is", kind, o.GetName(), gvk.GroupVersion()))
		} else if p.o.Mode == ModeHelm {
			switch kind {
			case "Deployment", "Service", "HTTPRoute":
				// already listed with the reason
			case "ConfigMap", "PersistentVolumeClaim":
				p.keptRaw = append(p.keptRaw, fmt.Sprintf("%s/%s: kept as a manifest so the pods find it by name", kind, o.GetName()))
			default:
				p.keptRaw = append(p.keptRaw, fmt.Sprintf("%s/%s: app-template values do not cover it", kind, o.GetName()))
			}
		}
		if kind == "PersistentVolumeClaim" {
			p.cs.Note("PersistentVolumeClaim %s: the data stays in namespace %s; the claim written here is a new, empty volume in %s unless you move the data", o.GetName(), p.o.SourceNamespace, p.o.Namespace)
		}
		p.addFile(p.fileFor(o), objectNode(o.Object))
	}
	return nil
}

// fileFor picks the app/ file of an object's kind.
func (p *promoter) fileFor(o *unstructured.Unstructured) string {
	if f, ok := fileNames[o.GetKind()]; ok {
		return f
	}
	return strings.ToLower(o.GetKind()) + ".yaml"
}

func (p *promoter) addFile(name string, doc *yaml.Node) {
	p.files[name] = append(p.files[name], doc)
}

// newName is the Flux app's name for an object of the scratch app: the
// app's own name and "<app>-suffix" names follow --name.
func (p *promoter) newName(old string) string {
	switch {
	case old == p.o.App:
		return p.o.Name
	case strings.HasPrefix(old, p.o.App+"-"):
		return p.o.Name + strings.TrimPrefix(old, p.o.App)
	}
	return old
}

func (p *promoter) rename(o *unstructured.Unstructured) {
	if keepNames[o.GetKind()] {
		return
	}
	old := o.GetName()
	n := p.newName(old)
	if n == old {
		return
	}
	o.SetName(n)
	if o.GetKind() == "Service" {
		p.renamed[old] = n
		p.cs.Note("Service %s is now %s: whatever reached it by name must follow", old, n)
	}
}

// relabel replaces the scratch label in selectors and pod templates with
// app.kubernetes.io/name: <name>.
func (p *promoter) relabel(o *unstructured.Unstructured) {
	swap := func(m map[string]any) {
		if m == nil {
			return
		}
		if v, ok := m[scratch.Label]; ok {
			delete(m, scratch.Label)
			if v == p.o.App {
				v = p.o.Name
			}
			if _, taken := m["app.kubernetes.io/name"]; !taken {
				m["app.kubernetes.io/name"] = v
			}
		}
	}
	spec, _ := o.Object["spec"].(map[string]any)
	if spec == nil {
		return
	}
	if o.GetKind() == "Service" {
		sel, _ := spec["selector"].(map[string]any)
		swap(sel)
		return
	}
	if sel, ok := spec["selector"].(map[string]any); ok {
		ml, _ := sel["matchLabels"].(map[string]any)
		swap(ml)
	}
	if t, ok := spec["template"].(map[string]any); ok {
		md, _ := t["metadata"].(map[string]any)
		l, _ := md["labels"].(map[string]any)
		swap(l)
	}
}

// rawRoute fixes an HTTPRoute kept as a manifest: hostnames as variables,
// parentRefs with their namespace spelled out (the route moves), backends
// following renamed Services.
func (p *promoter) rawRoute(rt *unstructured.Unstructured) {
	spec, _ := rt.Object["spec"].(map[string]any)
	if spec == nil {
		return
	}
	if hs, ok := spec["hostnames"].([]any); ok {
		for i, h := range hs {
			p.noteSecondary(str0(h), spec)
			hs[i] = p.hostTemplate(str0(h), false)
		}
	}
	for _, pr := range listMaps(spec["parentRefs"]) {
		if _, ok := pr["namespace"]; !ok {
			pr["namespace"] = p.o.SourceNamespace
		}
	}
	for _, rule := range listMaps(spec["rules"]) {
		for _, b := range listMaps(rule["backendRefs"]) {
			if ns, _ := b["namespace"].(string); ns == p.o.SourceNamespace {
				delete(b, "namespace")
			}
			if _, cross := b["namespace"]; cross {
				continue
			}
			if n, ok := p.renamed[str0(b["name"])]; ok {
				b["name"] = n
			}
		}
	}
	p.hasRoute = true
}

// dnsEndpoints keeps DNSEndpoint records of secondary domains (the gateway
// publishes the primary one), and adds a record for every route hostname
// on a secondary domain that has none.
func (p *promoter) dnsEndpoints() error {
	covered := map[string]bool{}
	var docs []*yaml.Node
	for _, d := range p.dnsEPs {
		var keep []any
		for _, e := range listMaps(nested(d.Object, "spec", "endpoints")) {
			name := str0(e["dnsName"])
			if why, ok := p.exposedHost(name); ok {
				p.cs.Note("DNSEndpoint %s: %s left out: %s", d.GetName(), name, why)
				continue
			}
			host, ok := p.hosts[name]
			if ok && host.Domain.Primary {
				p.cs.Note("DNSEndpoint %s: %s is on the primary domain, whose record the gateway publishes: left out", d.GetName(), name)
				continue
			}
			p.dnsHosts = append(p.dnsHosts, name)
			e["dnsName"] = p.hostTemplate(name, false)
			covered[str0(e["dnsName"])] = true
			keep = append(keep, e)
		}
		if len(keep) == 0 {
			continue
		}
		if err := unstructured.SetNestedSlice(d.Object, keep, "spec", "endpoints"); err != nil {
			return fmt.Errorf("promoting DNSEndpoint %s: %w", d.GetName(), err)
		}
		p.rename(d)
		docs = append(docs, objectNode(d.Object))
	}
	var added []any
	sort.SliceStable(p.secondary, func(i, j int) bool { return p.secondary[i].host.Template() < p.secondary[j].host.Template() })
	for _, s := range p.secondary {
		t := s.host.Template()
		if covered[t] {
			continue
		}
		gw, ok := p.r.Gateway(s.gateway)
		if !ok || gw.Target == "" {
			p.cs.Note("%s is on a secondary domain, and gateway %s has no external-dns target in the repository: add its DNS record yourself", t, s.gateway)
			covered[t] = true
			continue
		}
		covered[t] = true
		added = append(added, map[string]any{
			"dnsName": t, "recordType": "CNAME", "targets": []any{generator.TargetPrefix(gw.Target) + "${" + s.host.Domain.Var + "}"},
		})
		p.cs.Note("added a DNSEndpoint record for %s: the gateway only publishes the primary domain", t)
	}
	if len(added) > 0 {
		obj := map[string]any{
			"apiVersion": "externaldns.k8s.io/v1alpha1", "kind": "DNSEndpoint",
			"metadata": map[string]any{"name": p.o.Name},
			"spec":     map[string]any{"endpoints": added},
		}
		merged := false
		for _, d := range docs {
			if nodeName(d) == p.o.Name {
				// extend the kept DNSEndpoint of the same name
				ep := findKey(findKey(d, "spec"), "endpoints")
				for _, a := range added {
					ep.Content = append(ep.Content, valueNode(a))
				}
				merged = true
			}
		}
		if !merged {
			docs = append(docs, objectNode(obj))
		}
	}
	if len(docs) > 0 {
		p.files["dnsendpoint.yaml"] = docs
		p.hasDNS = true
	}
	return nil
}

func findKey(n *yaml.Node, key string) *yaml.Node {
	if n == nil {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func nodeName(doc *yaml.Node) string {
	if n := findKey(findKey(doc, "metadata"), "name"); n != nil {
		return n.Value
	}
	return ""
}

// objectNode writes an object with apiVersion, kind and metadata first and
// the hostnames quoted, as the repositories write them.
func objectNode(obj map[string]any) *yaml.Node {
	n := valueNode(obj)
	quoteVars(n)
	return n
}

// quoteVars double-quotes strings holding ${...}, the repositories' style
// for substituted values.
func quoteVars(n *yaml.Node) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" && n.Style == 0 && strings.Contains(n.Value, "${") && !strings.Contains(n.Value, "\n") {
		n.Style = yaml.DoubleQuotedStyle
	}
	for _, c := range n.Content {
		quoteVars(c)
	}
}
