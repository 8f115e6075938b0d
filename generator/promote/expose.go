package promote

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/gen-gitops/gen/generator"
	"github.com/gen-gitops/gen/generator/access"
	"github.com/gen-gitops/gen/generator/apps"
	"github.com/gen-gitops/gen/generator/internal/yamlnode"
	"github.com/gen-gitops/gen/internal/repo"
)

// chuteKind is the group and kind of a Chute.
var chuteKind = schema.GroupKind{Group: access.ChuteGroup, Kind: "Chute"}

// validateExpose checks --expose and the Access options of a promotion.
// Hostnames are checked later: they come from the scratch routes.
func (o Options) validateExpose() error {
	switch o.Expose {
	case generator.ExposeGateway, generator.ExposeTunnel, generator.ExposeAccess:
	default:
		return fmt.Errorf("--expose %q: want gateway, tunnel or access", o.Expose)
	}
	a := o.Access
	if o.Expose != generator.ExposeAccess && (len(a.Emails) > 0 || len(a.EmailDomains) > 0 || a.Config != "") {
		return fmt.Errorf("--allow-email, --allow-domain and --chute-config go with --expose access")
	}
	if o.Expose == generator.ExposeAccess {
		return a.Validate()
	}
	return nil
}

// prepareChute checks a scratch Chute as the operator took it, drops the
// operator's own finalizers and resolves its hostname.
func (p *promoter) prepareChute(obj *unstructured.Unstructured) error {
	if fin := obj.GetFinalizers(); len(fin) > 0 {
		var keep []string
		for _, f := range fin {
			if !strings.Contains(f, access.ChuteGroup) {
				keep = append(keep, f)
			}
		}
		obj.SetFinalizers(keep)
	}
	host, _, _ := unstructured.NestedString(obj.Object, "spec", "hostname")
	if err := checkChuteObject(obj, host); err != nil {
		return err
	}
	if err := p.resolve(obj, host); err != nil {
		return err
	}
	if p.chuteHosts == nil {
		p.chuteHosts = map[string]bool{}
	}
	p.chuteHosts[host] = true
	return nil
}

// checkChuteObject decodes a Chute's spec strictly, its hostname given
// literally, and validates it as the CRD does.
func checkChuteObject(obj *unstructured.Unstructured, hostname string) error {
	spec, _ := obj.Object["spec"].(map[string]any)
	check := map[string]any{"apiVersion": obj.GetAPIVersion(), "kind": obj.GetKind(), "metadata": map[string]any{"name": obj.GetName()}}
	if spec != nil {
		cp := maps.Clone(spec)
		cp["hostname"] = hostname
		check["spec"] = cp
	}
	js, err := json.Marshal(check)
	if err != nil {
		return fmt.Errorf("promoting Chute %s: %w", obj.GetName(), err)
	}
	if _, err := access.DecodeChute(js); err != nil {
		return fmt.Errorf("promoting Chute %s: %w", obj.GetName(), err)
	}
	return nil
}

// carryChutes keeps the scratch app's Chutes as chute.yaml: the hostname
// as its ${SECRET_DOMAIN*} variable, the Service under its new name, the
// Chute renamed like the app, and a dependsOn on the Kustomization that
// declares its ChuteConfig.
func (p *promoter) carryChutes() error {
	if len(p.chutesIn) == 0 {
		return nil
	}
	if p.o.Expose == generator.ExposeAccess {
		var names []string
		for _, c := range p.chutesIn {
			names = append(names, c.GetName())
		}
		return fmt.Errorf("--expose access: the scratch app already has a Chute (%s), which promote carries over; leave out --expose access", strings.Join(names, ", "))
	}
	configs := access.Configs(p.r)
	for _, c := range p.chutesIn {
		old := c.GetName()
		spec, _ := c.Object["spec"].(map[string]any)
		host := str0(spec["hostname"])
		spec["hostname"] = p.hostTemplate(host, false)
		if svc, ok := spec["service"].(map[string]any); ok {
			if n, ok := p.renamed[str0(svc["name"])]; ok && n != svc["name"] {
				p.cs.Note("Chute %s: its Service %s is now %s, and the Chute follows", old, svc["name"], n)
				svc["name"] = n
			}
		}
		ref, _ := spec["configRef"].(map[string]any)
		config := str0(ref["name"])
		if f := configs[config]; f != "" {
			if owner, ok := generator.OwnerOfFile(p.r, f); ok {
				p.app.Needs = append(p.app.Needs, owner)
			}
		} else {
			p.cs.Note("Chute %s uses the ChuteConfig %s, which the repository does not declare: the app cannot wait for it, and the chute operator must find it in the cluster", old, config)
		}
		p.rename(c)
		// Check it as Flux applies it: with the domain substituted.
		if err := checkChuteObject(c, host); err != nil {
			return err
		}
		if p.o.Mode == ModeHelm {
			p.keptRaw = append(p.keptRaw, fmt.Sprintf("Chute/%s: the chute operator's resource, which app-template values do not cover", c.GetName()))
		}
		n := objectNode(c.Object)
		// The order exposeAccess writes.
		orderKeys(findKey(n, "spec"), []string{"configRef", "service", "hostname", "access", "sessionDuration"})
		orderKeys(findKey(findKey(n, "spec"), "access"), []string{"emails", "emailDomains"})
		p.addFile("chute.yaml", n)
	}
	return nil
}

// orderKeys puts the given keys of a mapping first, in that order.
func orderKeys(n *yaml.Node, first []string) {
	if n == nil || n.Kind != yaml.MappingNode {
		return
	}
	var head, tail []*yaml.Node
	for _, k := range first {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				head = append(head, n.Content[i], n.Content[i+1])
			}
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if !slices.Contains(first, n.Content[i].Value) {
			tail = append(tail, n.Content[i], n.Content[i+1])
		}
	}
	n.Content = append(head, tail...)
}

// expose replaces the scratch HTTPRoutes by cloudflared ingress rules and
// the tunnel's DNSEndpoint (--expose tunnel) or by a Chute (--expose
// access), reusing add-app's exposures with the Services the routes name.
func (p *promoter) expose() error {
	if p.o.Expose != generator.ExposeTunnel && p.o.Expose != generator.ExposeAccess {
		return nil
	}
	what := "--expose " + string(p.o.Expose)
	if len(p.exposed) == 0 {
		return fmt.Errorf("%s: the scratch app has no HTTPRoute, so no hostname to expose; promote without --expose", what)
	}
	hosts, backends, err := p.exposedBackends(what)
	if err != nil {
		return err
	}
	if p.o.Expose == generator.ExposeAccess {
		if len(hosts) != 1 {
			var names []string
			for _, h := range hosts {
				names = append(names, h.Literal())
			}
			return fmt.Errorf("%s: a Chute serves one hostname, and the scratch routes have %d (%s); promote with --expose gateway, or pick one route's objects with --selector", what, len(hosts), strings.Join(names, ", "))
		}
		return p.app.ExposeAccess(hosts[0], backends[0], p.o.Access)
	}
	if err := p.app.ExposeTunnel(hosts, backends); err != nil {
		return err
	}
	return p.mergeDNSEndpoints()
}

// exposedBackends lists every hostname of the exposed routes with the
// Service and port its route sends it to, following renamed Services.
func (p *promoter) exposedBackends(what string) ([]generator.Host, []apps.Backend, error) {
	thing := "a tunnel rule"
	if p.o.Expose == generator.ExposeAccess {
		thing = "a Chute"
	}
	var hosts []generator.Host
	var backends []apps.Backend
	seen := map[string]apps.Backend{}
	for _, rt := range p.exposed {
		hs, _, _ := unstructured.NestedStringSlice(rt.Object, "spec", "hostnames")
		if len(hs) == 0 {
			return nil, nil, fmt.Errorf("%s: HTTPRoute %s has no hostnames (it takes every name of its gateway), and %s needs one; promote with --expose gateway", what, rt.GetName(), thing)
		}
		b, err := p.routeBackend(rt, what, thing)
		if err != nil {
			return nil, nil, err
		}
		if p.o.Expose == generator.ExposeAccess {
			p.cs.Note("HTTPRoute %s is not promoted: a Chute sends %s to Service %s port %d behind Cloudflare Access", rt.GetName(), strings.Join(hs, ", "), b.Service, b.Port)
		} else {
			p.cs.Note("HTTPRoute %s is not promoted: the tunnel sends %s straight to Service %s port %d", rt.GetName(), strings.Join(hs, ", "), b.Service, b.Port)
		}
		for _, h := range hs {
			if prev, ok := seen[h]; ok {
				if prev != b {
					return nil, nil, fmt.Errorf("%s: %s is routed to Service %s port %d and to Service %s port %d by two routes; promote with --expose gateway", what, h, prev.Service, prev.Port, b.Service, b.Port)
				}
				continue
			}
			seen[h] = b
			hosts = append(hosts, p.hosts[h])
			backends = append(backends, b)
		}
		if p.o.Expose == generator.ExposeTunnel {
			for _, pr := range listMaps(nested(rt.Object, "spec", "parentRefs")) {
				if gw := str0(pr["name"]); gw != "" && gw != "envoy-external" {
					p.cs.Note("HTTPRoute %s was attached to the gateway %s; through the tunnel %s %s reachable from the internet", rt.GetName(), gw, strings.Join(hs, ", "), plural(len(hs), "is", "are"))
				}
			}
		}
	}
	return hosts, backends, nil
}

// routeBackend is the one Service, and port, a route sends every request
// to. Several backends, other kinds, filters or rules that leave some
// paths out cannot become a single tunnel rule or Chute.
func (p *promoter) routeBackend(rt *unstructured.Unstructured, what, thing string) (apps.Backend, error) {
	name := rt.GetName()
	gateway := "promote with --expose gateway"
	var problems, targets, paths []string
	var found []apps.Backend
	catchAll := false
	for _, rule := range listMaps(nested(rt.Object, "spec", "rules")) {
		for _, k := range slices.Sorted(maps.Keys(rule)) {
			if k != "backendRefs" && k != "matches" {
				problems = append(problems, "rules."+k)
			}
		}
		matches := listMaps(rule["matches"])
		if len(matches) == 0 {
			catchAll = true
		}
		for _, m := range matches {
			pth, _ := m["path"].(map[string]any)
			if len(m) == 0 || (len(m) == 1 && str0(pth["value"]) == "/" && (pth["type"] == nil || pth["type"] == "PathPrefix")) {
				catchAll = true
			}
			if v := str0(pth["value"]); v != "" {
				paths = append(paths, v)
			}
		}
		for _, ref := range listMaps(rule["backendRefs"]) {
			kind, group := str0(ref["kind"]), str0(ref["group"])
			if (kind != "" && kind != "Service") || group != "" {
				if kind == "" {
					kind = "Service"
				}
				if group != "" {
					kind += "." + group
				}
				return apps.Backend{}, fmt.Errorf("%s: HTTPRoute %s sends traffic to the %s %s, and %s reaches Services only; %s", what, name, kind, str0(ref["name"]), thing, gateway)
			}
			if ns := str0(ref["namespace"]); ns != "" && ns != p.o.SourceNamespace {
				return apps.Backend{}, fmt.Errorf("%s: HTTPRoute %s sends traffic to Service %s in namespace %s, and %s reaches a Service of the app's namespace only; %s", what, name, str0(ref["name"]), ns, thing, gateway)
			}
			if _, ok := ref["filters"]; ok {
				problems = append(problems, "rules.backendRefs.filters")
			}
			port, ok := intOf(ref["port"])
			if !ok {
				return apps.Backend{}, fmt.Errorf("%s: HTTPRoute %s names Service %s without a port", what, name, str0(ref["name"]))
			}
			b := apps.Backend{Service: str0(ref["name"]), Port: port}
			if !slices.Contains(found, b) {
				found = append(found, b)
				targets = append(targets, fmt.Sprintf("%s port %d", b.Service, b.Port))
			}
		}
	}
	switch {
	case len(problems) > 0:
		return apps.Backend{}, fmt.Errorf("%s: HTTPRoute %s uses %s, which %s cannot express; %s", what, name, strings.Join(uniqueStrings(problems), ", "), thing, gateway)
	case len(found) == 0:
		return apps.Backend{}, fmt.Errorf("%s: HTTPRoute %s sends traffic to no apps.Backend", what, name)
	case len(found) > 1:
		return apps.Backend{}, fmt.Errorf("%s: HTTPRoute %s sends traffic to %d backends (%s), and %s sends a hostname to one Service; %s", what, name, len(found), strings.Join(targets, ", "), thing, gateway)
	case !catchAll:
		return apps.Backend{}, fmt.Errorf("%s: HTTPRoute %s serves only some paths (%s), and %s would send every path to Service %s; %s", what, name, strings.Join(uniqueStrings(paths), ", "), thing, found[0].Service, gateway)
	}
	b := found[0]
	if n, ok := p.renamed[b.Service]; ok {
		b.Service = n
	}
	return b, nil
}

// intOf reads a whole number of an unstructured object.
func intOf(v any) (int, bool) {
	switch x := v.(type) {
	case int64:
		return int(x), true
	case int:
		return x, true
	case float64:
		if x == float64(int(x)) {
			return int(x), true
		}
	}
	return 0, false
}

// mergeDNSEndpoints puts the scratch DNSEndpoint records promote keeps
// (names no route served) into the tunnel's dnsendpoint.yaml, where a
// DNSEndpoint of the same name already stands.
func (p *promoter) mergeDNSEndpoints() error {
	kept := p.files["dnsendpoint.yaml"]
	if len(kept) == 0 {
		return nil
	}
	delete(p.files, "dnsendpoint.yaml")
	file := p.app.File("dnsendpoint.yaml")
	for i, f := range p.app.Changeset.Files {
		if f.Path != file {
			continue
		}
		var docs []*yaml.Node
		for _, d := range repo.SplitDocuments(f.Content) {
			var n yaml.Node
			if err := yaml.Unmarshal(d, &n); err != nil || len(n.Content) == 0 {
				return fmt.Errorf("reading the tunnel's %s: %v", file, err)
			}
			docs = append(docs, n.Content[0])
		}
		for _, k := range kept {
			merged := false
			for _, d := range docs {
				if nodeName(d) == nodeName(k) {
					ep := findKey(findKey(d, "spec"), "endpoints")
					ep.Content = append(ep.Content, findKey(findKey(k, "spec"), "endpoints").Content...)
					merged = true
				}
			}
			if !merged {
				docs = append(docs, k)
			}
		}
		out, err := yamlnode.Docs(docs)
		if err != nil {
			return err
		}
		p.app.Changeset.Files[i].Content = out
		return nil
	}
	return fmt.Errorf("the tunnel's DNSEndpoint %s was not written", file)
}

// exposedHost reports a scratch route hostname that --expose tunnel or
// access publishes some other way than the scratch DNSEndpoints did.
func (p *promoter) exposedHost(h string) (string, bool) {
	if len(p.exposed) == 0 || !slices.Contains(p.routeHosts, h) {
		return "", false
	}
	if p.o.Expose == generator.ExposeAccess {
		return "the chute operator publishes it", true
	}
	return "the tunnel's DNSEndpoint publishes it", true
}

// published lists the literal hostnames whose records external-dns
// publishes for the promoted app.
func (p *promoter) published() []string {
	set := map[string]bool{}
	if p.o.Expose != generator.ExposeAccess {
		for _, h := range p.routeHosts {
			set[h] = true
		}
	}
	for _, h := range p.dnsHosts {
		set[h] = true
	}
	return slices.Sorted(maps.Keys(set))
}
