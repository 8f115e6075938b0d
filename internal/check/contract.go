package check

import (
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/gen-gitops/gen/internal/flux"
	"github.com/gen-gitops/gen/internal/sops"
)

// contract applies the repository's own rules to the rendered tree, the
// model and the files.
func (c *checker) contract() {
	c.pathEscapes()
	c.registration()
	c.dependsOn()
	c.charts()
	c.secrets()
	c.sopsFiles()
	c.routes()
}

// pathEscapes reports spec.path values that climb above the root: the
// controller stops them at the root, so the path is not what it says.
func (c *checker) pathEscapes() {
	for _, ks := range c.tree.Kustomizations {
		if p := specPath(ks); escapesRoot(p) {
			c.add(c.ksFinding(RulePathEscape, ks, "spec.path", "spec.path %q leaves the repository", p))
		}
	}
}

// registration reports app folders whose ks.yaml the namespace
// kustomization does not list.
func (c *checker) registration() {
	if c.model == nil {
		return
	}
	for _, nsName := range c.model.NamespaceNames() {
		ns := c.model.Namespaces[nsName]
		var names []string
		for name := range ns.Apps {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			app := ns.Apps[name]
			if app.Registered || app.KS == "" {
				continue
			}
			if line := commentedEntry(c.files[ns.Kustomization], name); line > 0 {
				f := newFinding(RuleDisabledApp, ns.Kustomization, line,
					"app %s/%s is disabled: its entry in %s is commented out, so Flux does not deploy it", nsName, name, ns.Kustomization)
				c.add(f)
				continue
			}
			f := newFinding(RuleUnregisteredApp, app.KS, c.lines.docLine(app.KS, "Kustomization", ""),
				"app %s/%s: %s does not list ./%s/ks.yaml, so Flux never deploys it", nsName, name, ns.Kustomization, name)
			f.Fix = fmt.Sprintf("add `- ./%s/ks.yaml` to the resources of %s", name, ns.Kustomization)
			c.add(f)
		}
	}
}

// commentedEntry returns the line of a commented-out list entry naming
// the app's folder (`# - ./plex/ks.yaml`, `#- plex/ks.yaml  # later`), or 0:
// such an entry is a disable someone wrote on purpose.
func commentedEntry(data []byte, app string) int {
	for i, line := range strings.Split(string(data), "\n") {
		t := strings.TrimSpace(line)
		if !strings.HasPrefix(t, "#") {
			continue
		}
		t = strings.TrimSpace(strings.TrimLeft(t, "#"))
		if !strings.HasPrefix(t, "-") {
			continue
		}
		entry := strings.TrimSpace(strings.TrimPrefix(t, "-"))
		entry, _, _ = strings.Cut(entry, " ")
		entry = strings.Trim(entry, `"'`)
		entry = strings.TrimPrefix(entry, "./")
		if first, _, _ := strings.Cut(entry, "/"); first == app {
			return i + 1
		}
	}
	return 0
}

// provider is a Kustomization that some kind of resource needs deployed
// first.
type provider struct {
	ks   *flux.Kustomization
	what string
}

// dependsOn checks every Kustomization's dependsOn against the rule table
// and against the Kustomizations that exist.
func (c *checker) dependsOn() {
	byID := c.kustomizationsByID()
	if !c.tree.Truncated {
		for _, ks := range c.tree.Kustomizations {
			for i, dep := range ks.DependsOn {
				if byID[dep] == nil {
					c.add(c.ksFinding(RuleDependsOnUnknown, ks, fmt.Sprintf("spec.dependsOn[%d]", i),
						"dependsOn %s: no Kustomization of that namespace and name exists, so Flux waits for it forever", dep))
				}
			}
		}
	}

	gateways := c.gatewayOwners()
	table := []struct {
		match    func(u *unstructured.Unstructured) bool
		what     string
		provider func() *flux.Kustomization
	}{
		{func(u *unstructured.Unstructured) bool {
			return u.GetKind() == "DNSEndpoint" && strings.HasPrefix(u.GetAPIVersion(), "externaldns.k8s.io/")
		}, "DNSEndpoint", func() *flux.Kustomization { return c.dnsOwner(byID) }},
		{func(u *unstructured.Unstructured) bool {
			return u.GetKind() == "ExternalSecret" && strings.HasPrefix(u.GetAPIVersion(), "external-secrets.io/")
		}, "ExternalSecret", func() *flux.Kustomization {
			return c.releaseOwner(byID, "external-secrets", flux.NamespacedName{Namespace: "external-secrets", Name: "external-secrets"})
		}},
		{func(u *unstructured.Unstructured) bool {
			return u.GetKind() == "Cluster" && strings.HasPrefix(u.GetAPIVersion(), "postgresql.cnpg.io/")
		}, "CNPG Cluster", func() *flux.Kustomization {
			return c.releaseOwner(byID, "cloudnative-pg", flux.NamespacedName{Namespace: "databases", Name: "cloudnative-pg"})
		}},
		{func(u *unstructured.Unstructured) bool {
			return u.GetKind() == "NetworkAttachmentDefinition" && strings.HasPrefix(u.GetAPIVersion(), "k8s.cni.cncf.io/")
		}, "NetworkAttachmentDefinition", func() *flux.Kustomization {
			return c.releaseOwner(byID, "multus", flux.NamespacedName{Namespace: "network", Name: "multus"})
		}},
	}
	providers := make([]*flux.Kustomization, len(table))
	resolved := make([]bool, len(table))
	// declared counts, for each provider, the Kustomizations that need it
	// and declare it.
	declared := map[*flux.Kustomization]int{}
	declaredRoute := map[*flux.Kustomization]int{}
	var pending []missingDep

	for i, ks := range c.tree.Kustomizations {
		r := c.tree.Rendered[i]
		if r == nil || ks.Parent == nil {
			continue
		}
		deps := map[flux.NamespacedName]bool{}
		for _, d := range ks.DependsOn {
			deps[d] = true
		}
		// need maps each required Kustomization to what needs it, and
		// routeOnly marks those only rendered routes need.
		need := map[*flux.Kustomization][]string{}
		routeOnly := map[*flux.Kustomization]bool{}
		require := func(p *flux.Kustomization, what string, fromValues bool) {
			if p == nil || p == ks {
				return
			}
			if _, seen := need[p]; !seen {
				routeOnly[p] = fromValues
			} else if !fromValues {
				routeOnly[p] = false
			}
			for _, w := range need[p] {
				if w == what {
					return
				}
			}
			need[p] = append(need[p], what)
		}
		for _, o := range r.Objects {
			u := o.Unstructured
			if isHTTPRoute(u) {
				for _, ref := range parentRefs(u.Object, "spec", "parentRefs") {
					require(gateways[gatewayKey(ref, u.GetNamespace())], "HTTPRoute "+u.GetName(), false)
				}
			}
			if isHelmRelease(u) {
				for _, rt := range appTemplateRoutes(u) {
					for _, ref := range rt.parentRefs {
						require(gateways[gatewayKey(ref, u.GetNamespace())], "HelmRelease "+u.GetName()+" values.route."+rt.id, true)
					}
				}
			}
			for t, row := range table {
				if !row.match(u) {
					continue
				}
				if !resolved[t] {
					providers[t], resolved[t] = row.provider(), true
				}
				require(providers[t], row.what+" "+u.GetName(), false)
			}
		}
		var missing []*flux.Kustomization
		for p := range need {
			if deps[p.ID()] {
				if routeOnly[p] {
					declaredRoute[p]++
				} else {
					declared[p]++
				}
			}
			if !deps[p.ID()] {
				missing = append(missing, p)
			}
		}
		sort.Slice(missing, func(a, b int) bool { return missing[a].ID().String() < missing[b].ID().String() })
		for _, p := range missing {
			rule := RuleDependsOnRequired
			if routeOnly[p] {
				rule = RuleDependsOnRoute
			}
			f := c.ksFinding(rule, ks, "spec.dependsOn", "needs %s in dependsOn (for %s)", p.ID(), strings.Join(need[p], ", "))
			f.Fix = fmt.Sprintf("add {name: %s, namespace: %s} to spec.dependsOn", p.Name, p.Namespace)
			pending = append(pending, missingDep{f: f, provider: p})
		}
	}
	// A repository where most Kustomizations that need a dependency do not
	// declare it does not follow that rule (the apps converge by retrying):
	// its findings are warnings there. Where most declare it, the ones
	// that do not are the mistakes.
	lacking := map[*flux.Kustomization]int{}
	lackingRoute := map[*flux.Kustomization]int{}
	for _, m := range pending {
		if m.f.Rule == RuleDependsOnRequired {
			lacking[m.provider]++
		} else {
			lackingRoute[m.provider]++
		}
	}
	for _, m := range pending {
		have, lack := declared[m.provider], lacking[m.provider]
		if m.f.Rule == RuleDependsOnRoute {
			have, lack = declaredRoute[m.provider], lackingRoute[m.provider]
		}
		if have < lack {
			// Not followed: a warning, and one of a group that the report
			// shows once (the list behind --verbose).
			m.f.Group = fmt.Sprintf("%s %s|%d Kustomizations need %s in dependsOn and do not declare it; %d of the %d that need it do, so the repository does not follow this rule",
				m.f.Rule, m.provider.ID(), lack, m.provider.ID(), have, have+lack)
			if m.f.Rule == RuleDependsOnRoute {
				// A warning already: only grouped.
				c.add(m.f)
				continue
			}
			m.f.Severity = SeverityWarning
			if have+lack == 1 {
				m.f.Message += fmt.Sprintf("; it is the only Kustomization that needs %s, so the repository does not show the rule followed and this is a warning", m.provider.ID())
			} else {
				m.f.Message += fmt.Sprintf("; %d of the %d Kustomizations that need %s declare it, so the repository does not follow this rule and this is a warning",
					have, have+lack, m.provider.ID())
			}
		}
		c.add(m.f)
	}
}

// missingDep is a dependsOn finding waiting for the repository-wide count.
type missingDep struct {
	f        Finding
	provider *flux.Kustomization
}

// gatewayOwners maps "namespace/name" of every rendered Gateway to the
// Kustomization that renders it.
func (c *checker) gatewayOwners() map[string]*flux.Kustomization {
	out := map[string]*flux.Kustomization{}
	for _, ro := range c.objects {
		u := ro.o.Unstructured
		if u.GetKind() == "Gateway" && strings.HasPrefix(u.GetAPIVersion(), "gateway.networking.k8s.io/") {
			out[u.GetNamespace()+"/"+u.GetName()] = ro.ks
		}
	}
	return out
}

func gatewayKey(ref map[string]any, routeNamespace string) string {
	kind, _ := ref["kind"].(string)
	if kind != "" && kind != "Gateway" {
		return ""
	}
	ns, _ := ref["namespace"].(string)
	if ns == "" {
		ns = routeNamespace
	}
	name, _ := ref["name"].(string)
	return ns + "/" + name
}

// dnsOwner is the Kustomization running external-dns with the CRD source:
// DNSEndpoints need it.
func (c *checker) dnsOwner(byID map[flux.NamespacedName]*flux.Kustomization) *flux.Kustomization {
	var cands []*flux.Kustomization
	for _, ro := range c.objects {
		u := ro.o.Unstructured
		if !isHelmRelease(u) {
			continue
		}
		values, _ := u.Object["spec"].(map[string]any)["values"].(map[string]any)
		if values == nil {
			continue
		}
		if _, ok := values["domainFilters"]; !ok {
			continue
		}
		srcs, _ := values["sources"].([]any)
		crd := len(srcs) == 0
		for _, s := range srcs {
			if s == "crd" {
				crd = true
			}
		}
		if crd {
			cands = append(cands, ro.ks)
		}
	}
	sort.Slice(cands, func(a, b int) bool { return cands[a].ID().String() < cands[b].ID().String() })
	for _, k := range cands {
		if k.Name == "cloudflare-dns" || k.Name == "external-dns" {
			return k
		}
	}
	if len(cands) > 0 {
		return cands[0]
	}
	return byID[flux.NamespacedName{Namespace: "network", Name: "cloudflare-dns"}]
}

// releaseOwner is the Kustomization of the rule table's name, else the one
// rendering a HelmRelease of that name.
func (c *checker) releaseOwner(byID map[flux.NamespacedName]*flux.Kustomization, release string, table flux.NamespacedName) *flux.Kustomization {
	if ks := byID[table]; ks != nil {
		return ks
	}
	for _, ro := range c.objects {
		if isHelmRelease(ro.o.Unstructured) && ro.o.Unstructured.GetName() == release {
			return ro.ks
		}
	}
	return nil
}

func isHelmRelease(u *unstructured.Unstructured) bool {
	return u.GetKind() == "HelmRelease" && strings.HasPrefix(u.GetAPIVersion(), "helm.toolkit.fluxcd.io/")
}

func isHTTPRoute(u *unstructured.Unstructured) bool {
	return u.GetKind() == "HTTPRoute" && strings.HasPrefix(u.GetAPIVersion(), "gateway.networking.k8s.io/")
}

// charts checks that every HelmRelease names exactly one chart, that what
// it names exists, and that an app declares no chart source it does not
// use.
func (c *checker) charts() {
	exists := map[string]bool{}
	for _, ro := range c.objects {
		u := ro.o.Unstructured
		if strings.HasPrefix(u.GetAPIVersion(), "source.toolkit.fluxcd.io/") {
			exists[u.GetKind()+"/"+u.GetNamespace()+"/"+u.GetName()] = true
		}
	}
	for i, ks := range c.tree.Kustomizations {
		r := c.tree.Rendered[i]
		if r == nil {
			continue
		}
		used := map[string]bool{}
		releases := 0
		for _, o := range r.Objects {
			u := o.Unstructured
			if isFluxKustomizationObject(u) {
				kind, name, ns := refOf(u.Object, u.GetNamespace(), "spec", "sourceRef")
				used[kind+"/"+ns+"/"+name] = true
			}
			if !isHelmRelease(u) {
				continue
			}
			releases++
			spec, _ := u.Object["spec"].(map[string]any)
			_, hasRef := spec["chartRef"]
			_, hasChart := spec["chart"]
			line := func(field string) int { return c.lines.fieldLine(o.Origin, "HelmRelease", u.GetName(), field) }
			switch {
			case hasRef && hasChart:
				c.add(objFinding(newFinding(RuleChartSource, o.Origin, line("spec.chartRef"), "HelmRelease %s sets both spec.chartRef and spec.chart; Flux accepts exactly one", u.GetName()), ks, o))
			case !hasRef && !hasChart:
				c.add(objFinding(newFinding(RuleChartSource, o.Origin, line("spec"), "HelmRelease %s names no chart (spec.chartRef or spec.chart)", u.GetName()), ks, o))
			}
			var key, field string
			if hasRef {
				kind, name, ns := refOf(u.Object, u.GetNamespace(), "spec", "chartRef")
				key, field = kind+"/"+ns+"/"+name, "spec.chartRef"
			} else if hasChart {
				kind, name, ns := refOf(u.Object, u.GetNamespace(), "spec", "chart", "spec", "sourceRef")
				key, field = kind+"/"+ns+"/"+name, "spec.chart.spec.sourceRef"
			}
			if key == "" {
				continue
			}
			used[key] = true
			if !exists[key] && !c.buildFailed {
				kind, rest, _ := strings.Cut(key, "/")
				c.add(objFinding(newFinding(RuleChartRef, o.Origin, line(field), "%s names %s %s, which no Kustomization of the repository renders", field, kind, rest), ks, o))
			}
		}
		if releases == 0 {
			continue
		}
		for _, o := range r.Objects {
			u := o.Unstructured
			if !isChartSource(u) {
				continue
			}
			key := u.GetKind() + "/" + u.GetNamespace() + "/" + u.GetName()
			if !used[key] {
				c.add(objFinding(newFinding(RuleChartSource, o.Origin, c.lines.docLine(o.Origin, u.GetKind(), u.GetName()),
					"declared beside a HelmRelease, but nothing that %s builds uses it; an app keeps exactly one chart source", ks), ks, o))
			}
		}
	}
}

func isChartSource(u *unstructured.Unstructured) bool {
	if !strings.HasPrefix(u.GetAPIVersion(), "source.toolkit.fluxcd.io/") {
		return false
	}
	switch u.GetKind() {
	case "OCIRepository", "HelmRepository":
		return true
	}
	return false
}

func isFluxKustomizationObject(u *unstructured.Unstructured) bool {
	return u.GetKind() == "Kustomization" && strings.HasPrefix(u.GetAPIVersion(), "kustomize.toolkit.fluxcd.io/")
}

// refOf reads kind, name and namespace (defaulting to ns) at fields.
func refOf(obj map[string]any, ns string, fields ...string) (kind, name, namespace string) {
	m, _, _ := unstructured.NestedMap(obj, fields...)
	kind, _ = m["kind"].(string)
	name, _ = m["name"].(string)
	namespace, _ = m["namespace"].(string)
	if namespace == "" {
		namespace = ns
	}
	return kind, name, namespace
}

func objFinding(f Finding, ks *flux.Kustomization, o *flux.Object) Finding {
	f.Object = o.ID()
	f.Kustomization = ks.ID().String()
	return f
}

// secrets reports Secret values stored in plaintext: in a Secret
// document (also one sops left partly unencrypted), in a Secret inside a
// document (a List's items, a HelmRelease's values, a string holding
// objects), in a secretGenerator's literals, and in the files a
// secretGenerator reads unless sops encrypted them.
func (c *checker) secrets() {
	encrypted := map[string]bool{}
	isEncrypted := func(file string) bool {
		enc, ok := encrypted[file]
		if !ok {
			enc = encryptedFile(c.files[file])
			encrypted[file] = enc
		}
		return enc
	}
	for _, d := range c.docs {
		if d.Secret != nil && len(d.Secret.Plain) > 0 {
			keys := make([]string, len(d.Secret.Plain))
			for i, k := range d.Secret.Plain {
				keys[i] = k.Key
			}
			switch {
			case d.Secret.SOPS:
				how := "its sops metadata"
				if d.Secret.Setting != "" {
					how += " has " + d.Secret.Setting
				}
				c.add(newFinding(RuleSecretPlaintext, d.File, d.Secret.Plain[0].Line,
					"Secret %s holds %d value(s) sops left unencrypted (%s; %s); values are never printed", d.Name, len(keys), strings.Join(keys, ", "), how))
			case !isEncrypted(d.File):
				c.add(newFinding(RuleSecretPlaintext, d.File, d.Secret.Plain[0].Line,
					"Secret %s holds %d value(s) in plaintext (%s); values are never printed", d.Name, len(keys), strings.Join(keys, ", ")))
			}
		}
		for _, n := range d.Nested {
			what := "Secret"
			if n.Generator {
				what = "secretGenerator"
			}
			name := ""
			if n.Name != "" {
				name = " " + n.Name
			}
			c.add(newFinding(RuleSecretPlaintext, d.File, n.Line,
				"%s%s at %s holds %d value(s) in plaintext (%s); values are never printed", what, name, n.Where, len(n.Keys), strings.Join(n.Keys, ", ")))
		}
		for _, g := range d.GeneratorFiles {
			p, ok := cleanJoin(path.Dir(d.File), g.Ref)
			if !ok {
				continue // the render reports it
			}
			if _, exists := c.files[p]; !exists || isEncrypted(p) {
				continue
			}
			name := ""
			if g.Name != "" {
				name = " " + g.Name
			}
			c.add(newFinding(RuleSecretPlaintext, d.File, g.Line,
				"secretGenerator%s reads %s, which is not encrypted; values are never printed", name, p))
		}
	}
}

// encryptedFile reports whether sops encrypted a file, in any of the
// formats a secretGenerator reads: YAML, JSON, dotenv.
func encryptedFile(data []byte) bool {
	if sops.IsEncrypted(data) {
		return true
	}
	s := string(data)
	return strings.Contains(s, "ENC[") && (strings.Contains(s, "sops_mac=") || strings.Contains(s, `"sops":`))
}

// cleanJoin joins a relative reference onto a repository folder, failing
// when it climbs above the root or is absolute.
func cleanJoin(dir, ref string) (string, bool) {
	if strings.HasPrefix(ref, "/") {
		return "", false
	}
	p := path.Join(dir, ref)
	return p, p != ".." && !strings.HasPrefix(p, "../")
}

var sopsName = regexp.MustCompile(`\.sops\.ya?ml$`)

// sopsFiles checks SOPS files against .sops.yaml.
func (c *checker) sopsFiles() {
	var cfg *sops.Config
	var cfgErr error
	data, hasCfg := c.files[".sops.yaml"]
	if hasCfg {
		cfg, cfgErr = sops.ParseConfig(data)
		if cfgErr != nil {
			c.add(newFinding(RuleSopsNoRule, ".sops.yaml", 0, "%v", cfgErr))
		}
	}
	var paths []string
	for p := range c.files {
		if ext := path.Ext(p); ext == ".yaml" || ext == ".yml" {
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	for _, p := range paths {
		if p == ".sops.yaml" {
			continue
		}
		data := c.files[p]
		named := sopsName.MatchString(p)
		if !named && !strings.Contains(string(data), "\nsops:") {
			continue
		}
		enc := sops.IsEncrypted(data)
		if named && !enc {
			c.add(newFinding(RuleSopsNotEncrypted, p, 1, "%s is named as a SOPS file but is not encrypted", path.Base(p)))
		}
		if !named && !enc {
			continue
		}
		switch {
		case !hasCfg:
			c.add(newFinding(RuleSopsNoRule, p, 1, "the repository has no .sops.yaml, so sops has no rule for %s", p))
		case cfg != nil:
			if _, err := cfg.RuleFor(p); err != nil {
				c.add(newFinding(RuleSopsNoRule, p, 1, "%v", err))
			}
		}
	}
}

// route is a route to check: a rendered HTTPRoute, or the route values of
// an app-template HelmRelease.
type route struct {
	ks *flux.Kustomization
	o  *flux.Object
	// id starts messages about a route in values: the object is named in
	// the finding already.
	id         string
	hostnames  []string
	parentRefs []map[string]any
	// field is the path of the route in its object, for line lookups.
	field    string
	redirect bool
	// external is set when the route attaches to the gateway external-dns
	// publishes.
	annotations map[string]string
}

var releaseName = regexp.MustCompile(`\{\{-?\s*\.Release\.Name\s*-?\}\}`)

// appTemplateRoute is one entry of an app-template HelmRelease's route:
// values.
type appTemplateRoute struct {
	id         string
	hostnames  []string
	parentRefs []map[string]any
}

// appTemplateRoutes reads values.route of a HelmRelease, resolving
// {{ .Release.Name }} in hostnames; hostnames with other templates are
// left out, since only Helm could tell their value.
func appTemplateRoutes(u *unstructured.Unstructured) []appTemplateRoute {
	routes, _, _ := unstructured.NestedMap(u.Object, "spec", "values", "route")
	name, _, _ := unstructured.NestedString(u.Object, "spec", "releaseName")
	if name == "" {
		name = u.GetName()
	}
	var ids []string
	for id := range routes {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var out []appTemplateRoute
	for _, id := range ids {
		m, ok := routes[id].(map[string]any)
		if !ok {
			continue
		}
		if enabled, ok := m["enabled"].(bool); ok && !enabled {
			continue
		}
		rt := appTemplateRoute{id: id, parentRefs: parentRefs(m, "parentRefs")}
		hosts, _ := m["hostnames"].([]any)
		for _, h := range hosts {
			s, _ := h.(string)
			s = releaseName.ReplaceAllString(s, name)
			if s == "" || strings.Contains(s, "{{") {
				continue
			}
			rt.hostnames = append(rt.hostnames, s)
		}
		out = append(out, rt)
	}
	return out
}

func parentRefs(obj map[string]any, fields ...string) []map[string]any {
	list, _, _ := unstructured.NestedSlice(obj, fields...)
	var out []map[string]any
	for _, item := range list {
		if m, ok := item.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// routes checks hostnames, DNS, annotations and parentRefs of every route.
func (c *checker) routes() {
	var all []route
	for _, ro := range c.objects {
		u := ro.o.Unstructured
		switch {
		case isHTTPRoute(u):
			rt := route{ks: ro.ks, o: ro.o, parentRefs: parentRefs(u.Object, "spec", "parentRefs"), field: "spec", annotations: u.GetAnnotations()}
			hosts, _, _ := unstructured.NestedStringSlice(u.Object, "spec", "hostnames")
			rt.hostnames = hosts
			rt.redirect = isRedirect(u)
			all = append(all, rt)
		case isHelmRelease(u):
			for _, v := range appTemplateRoutes(u) {
				all = append(all, route{ks: ro.ks, o: ro.o, id: "values.route." + v.id + ": ",
					hostnames: v.hostnames, parentRefs: v.parentRefs, field: "spec.values.route." + v.id})
			}
		}
	}
	gws := c.gateways()
	dns := c.dnsNames()
	domains := c.domainSuffixes()
	// served maps each hostname of a route that does not redirect to the
	// gateways it is served through.
	served := map[string]map[string]bool{}
	for _, rt := range all {
		if rt.redirect {
			continue
		}
		for _, h := range rt.hostnames {
			for _, ref := range rt.parentRefs {
				gw, _ := ref["name"].(string)
				if served[h] == nil {
					served[h] = map[string]bool{}
				}
				served[h][gw] = true
			}
		}
	}
	for _, rt := range all {
		u := rt.o.Unstructured
		kind, name := u.GetKind(), u.GetName()
		at := func(field string) int { return c.lines.fieldLine(rt.o.Origin, kind, name, field) }
		if rt.o.Unstructured.GetKind() == "HTTPRoute" {
			ann := rt.annotations
			if rt.redirect && ann["external-dns.alpha.kubernetes.io/controller"] != "none" {
				if clash := redirectClash(rt, served, gws); clash != "" {
					c.add(objFinding(newFinding(RuleRedirectDNS, rt.o.Origin, at("metadata"),
						"%sredirects %s, and external-dns publishes a record for it that clashes with the one of %s; annotate the redirect with external-dns.alpha.kubernetes.io/controller: none", rt.id, clashHost(rt, served, gws), clash), rt.ks, rt.o))
				}
			}
			if _, ok := ann["external-dns.alpha.kubernetes.io/target"]; ok {
				c.add(objFinding(newFinding(RuleRouteTarget, rt.o.Origin, at("metadata.annotations"),
					"%shas an external-dns.alpha.kubernetes.io/target annotation; external-dns ignores it on routes", rt.id), rt.ks, rt.o))
			}
		}
		external := false
		for i, ref := range rt.parentRefs {
			refName, _ := ref["name"].(string)
			gw, known := gws[refName]
			if !known && !strings.HasPrefix(refName, "envoy-") {
				continue
			}
			if known && gw.external {
				external = true
			}
			field := fmt.Sprintf("%s.parentRefs[%d]", rt.field, i)
			ns, _ := ref["namespace"].(string)
			wantNS := "network"
			if known {
				wantNS = gw.namespace
			}
			if ns == "" && u.GetNamespace() != wantNS {
				c.add(objFinding(newFinding(RuleParentRef, rt.o.Origin, at(field),
					"%sparentRef to %s has no namespace; the gateway lives in %s", rt.id, refName, wantNS), rt.ks, rt.o))
			} else if ns != "" && ns != wantNS && known {
				c.add(objFinding(newFinding(RuleParentRef, rt.o.Origin, at(field),
					"%sparentRef to %s names namespace %s; the gateway lives in %s", rt.id, refName, ns, wantNS), rt.ks, rt.o))
			}
			if rt.redirect {
				continue
			}
			section, _ := ref["sectionName"].(string)
			wantSection := "https"
			if known && gw.https != "" {
				wantSection = gw.https
			}
			switch {
			case section == wantSection, known && gw.secure[section]:
			case section != "":
				c.add(objFinding(newFinding(RuleParentRef, rt.o.Origin, at(field),
					"%sparentRef to %s has sectionName %s, which is not an HTTPS listener of the gateway; routes attach to the %s listener", rt.id, refName, section, wantSection), rt.ks, rt.o))
			case !known:
				c.add(objFinding(newFinding(RuleParentRef, rt.o.Origin, at(field),
					"%sparentRef to %s has no sectionName; routes attach to the %s listener", rt.id, refName, wantSection), rt.ks, rt.o))
			default:
				// Without a sectionName a route attaches to every listener
				// that admits its namespace: a problem only when a listener
				// other than HTTPS (the plain-HTTP redirect) admits it.
				if l := gw.admitsPlain(u.GetNamespace()); l != "" {
					c.add(objFinding(newFinding(RuleParentRef, rt.o.Origin, at(field),
						"%sparentRef to %s has no sectionName, so the route also attaches to the %s listener, which admits routes from %s", rt.id, refName, l, u.GetNamespace()), rt.ks, rt.o))
				}
			}
		}
		if len(gws) == 0 {
			external = true
		}
		for i, h := range rt.hostnames {
			c.hostname(rt, h, fmt.Sprintf("%s.hostnames[%d]", rt.field, i), external, domains, dns)
		}
	}
}

// hostname checks one hostname of a route against the onboarded domains
// and the DNSEndpoints.
func (c *checker) hostname(rt route, host, field string, external bool, domains []domainSuffix, dns map[string]bool) {
	u := rt.o.Unstructured
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	bare := strings.TrimPrefix(h, "*.")
	var on *domainSuffix
	for i := range domains {
		d := &domains[i]
		if (bare == d.suffix || strings.HasSuffix(bare, "."+d.suffix)) && (on == nil || len(d.suffix) > len(on.suffix)) {
			on = d
		}
	}
	line := c.lines.fieldLine(rt.o.Origin, u.GetKind(), u.GetName(), field)
	if on == nil {
		// A placeholder of a variable that is not a domain, or a literal
		// hostname while some domain's value is unknown: gen cannot tell.
		if len(domains) == 0 || strings.Contains(h, flux.Placeholder("")) || !c.allDomainsKnown() {
			return
		}
		c.add(objFinding(newFinding(RuleHostUnknownDomain, rt.o.Origin, line,
			"%shostname %s is on no onboarded domain (%s)", rt.id, host, c.domainList()), rt.ks, rt.o))
		return
	}
	if on.primary || !external || strings.HasPrefix(h, "*.") {
		return
	}
	if !dns[bare] {
		c.add(objFinding(newFinding(RuleHostNoDNSEndpoint, rt.o.Origin, line,
			"%shostname %s is on %s, a secondary domain, and no DNSEndpoint publishes it", rt.id, displayHost(host, on), on.variable), rt.ks, rt.o))
	}
}

// displayHost writes a placeholder back as the ${VAR} it stands for.
func displayHost(host string, d *domainSuffix) string {
	if d.placeholder && strings.HasSuffix(host, d.suffix) {
		return strings.TrimSuffix(host, d.suffix) + "${" + d.variable + "}"
	}
	return host
}

// domainSuffix is a form a domain takes in rendered objects: its value when
// known, else its placeholder.
type domainSuffix struct {
	suffix      string
	variable    string
	primary     bool
	placeholder bool
}

func (c *checker) domainSuffixes() []domainSuffix {
	if c.model == nil {
		return nil
	}
	var out []domainSuffix
	for _, d := range c.model.Domains {
		out = append(out, domainSuffix{suffix: flux.Placeholder(d.Var), variable: d.Var, primary: d.Primary, placeholder: true})
		if d.Value != "" {
			out = append(out, domainSuffix{suffix: d.Value, variable: d.Var, primary: d.Primary})
		}
	}
	return out
}

func (c *checker) allDomainsKnown() bool {
	if c.model == nil || len(c.model.Domains) == 0 {
		return false
	}
	for _, d := range c.model.Domains {
		if d.Value == "" {
			return false
		}
	}
	return true
}

func (c *checker) domainList() string {
	var parts []string
	for _, d := range c.model.Domains {
		parts = append(parts, d.Var+"="+d.Value)
	}
	return strings.Join(parts, ", ")
}

// redirectClash says which gateway's record a redirect route's record
// would clash with: a hostname of the redirect is also served, without a
// redirect, through a gateway of another external-dns target. Only then
// does the redirect's record provably break another; a redirect whose
// hostname nothing else serves needs its record to be reachable at all
// (an old name kept published), so it is left alone.
func redirectClash(rt route, served map[string]map[string]bool, gws map[string]gatewayInfo) string {
	_, gw := redirectHost(rt, served, gws)
	return gw
}

func clashHost(rt route, served map[string]map[string]bool, gws map[string]gatewayInfo) string {
	h, _ := redirectHost(rt, served, gws)
	return h
}

func redirectHost(rt route, served map[string]map[string]bool, gws map[string]gatewayInfo) (host, gateway string) {
	// Attached to gateways of different targets, the redirect itself
	// publishes one name to two targets.
	hosts := strings.Join(rt.hostnames, ", ")
	if hosts == "" {
		hosts = "the hostnames of the listeners it attaches to"
	}
	for i, a := range rt.parentRefs {
		for _, b := range rt.parentRefs[i+1:] {
			an, _ := a["name"].(string)
			bn, _ := b["name"].(string)
			if ga, gb := gws[an], gws[bn]; an != bn && ga.target != "" && gb.target != "" && ga.target != gb.target {
				return hosts, "its own parentRef to gateway " + bn + " (" + an + " and " + bn + " publish to different targets)"
			}
		}
	}
	for _, h := range rt.hostnames {
		for _, ref := range rt.parentRefs {
			mine, _ := ref["name"].(string)
			for other := range served[h] {
				if other == mine {
					continue
				}
				a, b := gws[mine], gws[other]
				if a.target != b.target || a.target == "" {
					return h, "the route served through gateway " + other
				}
			}
		}
	}
	return "", ""
}

// gatewayInfo is what the route rules need of a Gateway.
type gatewayInfo struct {
	namespace string
	// https is the name of its HTTPS listener ("https" by convention).
	https string
	// secure holds the names of all its HTTPS listeners: a route may pick
	// any of them (a second port, another certificate).
	secure map[string]bool
	// external is set for the gateway external-dns publishes: its target
	// annotation names external.<domain>, or it is called envoy-external.
	external bool
	// plain are its HTTP listeners, with the namespaces they admit routes
	// from: "All", "Same" or "Selector".
	plain []listener
	// target is its external-dns target annotation ("" when none).
	target string
}

// listener is a Gateway's plain HTTP listener.
type listener struct {
	name, from string
	// only is the namespace a selector admits by name, when it does.
	only string
}

// admitsPlain returns the name of a plain HTTP listener that admits routes
// from namespace ns (a label selector counts as admitting, unless it names
// another namespace), or "".
func (g gatewayInfo) admitsPlain(ns string) string {
	for _, l := range g.plain {
		switch l.from {
		case "All":
			return l.name
		case "Selector":
			if l.only == "" || l.only == ns {
				return l.name
			}
		case "Same", "":
			if ns == g.namespace {
				return l.name
			}
		}
	}
	return ""
}

// gateways indexes rendered Gateways by name.
func (c *checker) gateways() map[string]gatewayInfo {
	out := map[string]gatewayInfo{}
	anyTarget := false
	for _, ro := range c.objects {
		u := ro.o.Unstructured
		if u.GetKind() != "Gateway" || !strings.HasPrefix(u.GetAPIVersion(), "gateway.networking.k8s.io/") {
			continue
		}
		g := gatewayInfo{namespace: u.GetNamespace()}
		listeners, _, _ := unstructured.NestedSlice(u.Object, "spec", "listeners")
		for _, l := range listeners {
			m, _ := l.(map[string]any)
			name, _ := m["name"].(string)
			proto, _ := m["protocol"].(string)
			if proto == "HTTPS" {
				if g.https == "" || name == "https" {
					g.https = name
				}
				if g.secure == nil {
					g.secure = map[string]bool{}
				}
				g.secure[name] = true
			}
			// HTTPRoutes attach to HTTP and HTTPS listeners only.
			if proto == "HTTP" {
				from, _, _ := unstructured.NestedString(m, "allowedRoutes", "namespaces", "from")
				only, _, _ := unstructured.NestedString(m, "allowedRoutes", "namespaces", "selector", "matchLabels", "kubernetes.io/metadata.name")
				g.plain = append(g.plain, listener{name: name, from: from, only: only})
			}
		}
		target := u.GetAnnotations()["external-dns.alpha.kubernetes.io/target"]
		g.target = target
		if strings.HasPrefix(target, "external.") {
			g.external, anyTarget = true, true
		}
		out[u.GetName()] = g
	}
	if !anyTarget {
		if g, ok := out["envoy-external"]; ok {
			g.external = true
			out["envoy-external"] = g
		}
	}
	return out
}

// dnsNames lists every dnsName a rendered DNSEndpoint publishes.
func (c *checker) dnsNames() map[string]bool {
	out := map[string]bool{}
	for _, ro := range c.objects {
		u := ro.o.Unstructured
		if u.GetKind() != "DNSEndpoint" {
			continue
		}
		eps, _, _ := unstructured.NestedSlice(u.Object, "spec", "endpoints")
		for _, e := range eps {
			m, _ := e.(map[string]any)
			if n, ok := m["dnsName"].(string); ok {
				out[strings.ToLower(strings.TrimSuffix(n, "."))] = true
			}
		}
	}
	return out
}

// isRedirect reports whether every rule of a route redirects.
func isRedirect(u *unstructured.Unstructured) bool {
	rules, _, _ := unstructured.NestedSlice(u.Object, "spec", "rules")
	if len(rules) == 0 {
		return false
	}
	for _, r := range rules {
		m, _ := r.(map[string]any)
		filters, _ := m["filters"].([]any)
		redirects := false
		for _, f := range filters {
			fm, _ := f.(map[string]any)
			if fm["type"] == "RequestRedirect" {
				redirects = true
			}
		}
		if !redirects {
			return false
		}
	}
	return true
}
