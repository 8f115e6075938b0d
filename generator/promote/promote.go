// Package promote turns a scratch app, read from the cluster or a
// manifest, into a Flux app of the repository: an app-template HelmRelease
// whose values reproduce the pods (or cleaned plain manifests), its
// ConfigMaps and PVCs, its Secrets encrypted, hostnames as their
// ${SECRET_DOMAIN*} variables, and the app folder add-app writes (see
// apps.Folder).
package promote

import (
	"encoding/base64"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/gen-gitops/gen/generator"
	"github.com/gen-gitops/gen/generator/access"
	"github.com/gen-gitops/gen/generator/apps"
	"github.com/gen-gitops/gen/generator/internal/yamlnode"
	"github.com/gen-gitops/gen/generator/scratch"
	"github.com/gen-gitops/gen/internal/repo"
	genschema "github.com/gen-gitops/gen/internal/schema"
)

// Mode is how promote declares the workload.
type Mode string

// Promote modes.
const (
	// ModeHelm turns Deployments, Services and HTTPRoutes into values of
	// the bjw-s app-template chart; what the chart cannot express stays a
	// plain manifest beside the HelmRelease.
	ModeHelm Mode = "helm"
	// ModeRaw keeps every object as a cleaned plain manifest.
	ModeRaw Mode = "raw"
)

// Options are the inputs of Generate. Default fills in what was left out;
// Validate checks them.
type Options struct {
	// Objects are what was read, from the cluster or a manifest file: the
	// app's objects, the ConfigMaps, Secrets and PVCs they reference, and
	// possibly others (a file may hold several apps).
	Objects []*unstructured.Unstructured
	// FromFile names the manifest the objects came from ("" for a cluster);
	// it only changes messages.
	FromFile string
	// SourceNamespace is the namespace the app runs in (default scratch).
	SourceNamespace string
	// App is the scratch app's name.
	App string
	// Selector picks the app's objects (default scratch.app=<App>).
	Selector string
	// Mode is helm (default) or raw.
	Mode Mode
	// Namespace is the namespace of the Flux app (default "default").
	Namespace string
	// Name is the Flux app's name (default App).
	Name string
	// Sealer encrypts Secrets; required when the app has one.
	Sealer generator.SecretSealer
	// Expose is how the hostnames of the scratch HTTPRoutes reach the
	// app: gateway (default: the routes carry over), tunnel (cloudflared
	// ingress rules to the Services the routes name, and the tunnel's
	// DNSEndpoint) or access (a Chute, for a single hostname).
	Expose generator.Expose
	// Access is the policy of ExposeAccess.
	Access access.Options
}

// Default fills in the options left empty.
func (o *Options) Default() {
	if o.SourceNamespace == "" {
		o.SourceNamespace = scratch.DefaultNamespace
	}
	if o.Namespace == "" {
		o.Namespace = "default"
	}
	if o.Name == "" {
		o.Name = o.App
	}
	if o.Mode == "" {
		o.Mode = ModeHelm
	}
	if o.Selector == "" {
		o.Selector = scratch.SelectorFor(o.App)
	}
	if o.Expose == "" {
		o.Expose = generator.ExposeGateway
	}
}

// Validate checks the options before anything is read; Default runs
// first. Hostnames are checked later: they come from the scratch routes.
func (o Options) Validate() error {
	for _, f := range []struct{ what, v string }{{"app", o.App}, {"--name", o.Name}, {"--to", o.Namespace}, {"source namespace", o.SourceNamespace}} {
		if errs := validation.IsDNS1123Label(f.v); len(errs) > 0 {
			return fmt.Errorf("%s %q is not a valid name: %s", f.what, f.v, strings.Join(errs, "; "))
		}
	}
	if o.Mode != ModeHelm && o.Mode != ModeRaw {
		return fmt.Errorf("--mode %q: want helm or raw", o.Mode)
	}
	if err := o.validateExpose(); err != nil {
		return err
	}
	if _, err := labels.Parse(o.Selector); err != nil {
		return fmt.Errorf("--selector %q: %w", o.Selector, err)
	}
	return nil
}

// Promotion is what Generate produces.
type Promotion struct {
	// Changeset holds the files of the Flux app.
	Changeset *generator.Changeset
	// Teardown is the command that removes the scratch objects.
	Teardown string
	// Reasons say why Teardown must run before Flux applies the app.
	Reasons []string
	// KeptRaw lists the objects written as plain manifests in helm mode
	// (Kind/name: why).
	KeptRaw []string
	// Hosts are the literal hostnames whose DNS records the promoted app
	// has external-dns publish (its routes', its DNSEndpoints' and the
	// tunnel's), sorted: what a pre-flight checks. A Chute's hostname is
	// not among them: the chute operator publishes it.
	Hosts []string
}

// Teardown is the command that deletes a scratch app's objects: the kinds
// of kubectl's "all" category plus its HTTPRoutes and DNSEndpoints, and
// with chutes its Chutes (by their full resource name, which needs the
// chute operator's CRD: kubectl refuses a type the server does not know).
func Teardown(namespace, selector string, chutes bool) string {
	kinds := "all,httproute,dnsendpoint"
	if chutes {
		kinds += "," + access.ChuteResource
	}
	return fmt.Sprintf("kubectl delete -n %s %s -l %s", namespace, kinds, selector)
}

// ObjectRef names an object a pod references.
type ObjectRef struct {
	Kind string
	Name string
	// Optional is set when the pod runs without it.
	Optional bool
}

// GroupKind returns the reference's group and kind (all are core).
func (r ObjectRef) GroupKind() schema.GroupKind { return schema.GroupKind{Kind: r.Kind} }

// References lists, sorted, the ConfigMaps, Secrets and PVCs the pods of
// workload objects reference: volumes (also projected), env valueFrom,
// envFrom and imagePullSecrets.
func References(objs []*unstructured.Unstructured) []ObjectRef {
	seen := map[ObjectRef]bool{}
	var out []ObjectRef
	add := func(kind, name string, optional any) {
		if name == "" {
			return
		}
		opt, _ := optional.(bool)
		ref := ObjectRef{Kind: kind, Name: name}
		for _, o := range out {
			if o.Kind == kind && o.Name == name {
				return
			}
		}
		ref.Optional = opt
		if !seen[ref] {
			seen[ref] = true
			out = append(out, ref)
		}
	}
	for _, o := range objs {
		ps := podSpecOf(o.Object)
		if ps == nil {
			continue
		}
		for _, s := range listMaps(ps["imagePullSecrets"]) {
			add("Secret", str0(s["name"]), nil)
		}
		for _, v := range listMaps(ps["volumes"]) {
			if c, ok := v["configMap"].(map[string]any); ok {
				add("ConfigMap", str0(c["name"]), c["optional"])
			}
			if s, ok := v["secret"].(map[string]any); ok {
				add("Secret", str0(s["secretName"]), s["optional"])
			}
			if p, ok := v["persistentVolumeClaim"].(map[string]any); ok {
				add("PersistentVolumeClaim", str0(p["claimName"]), nil)
			}
			if p, ok := v["projected"].(map[string]any); ok {
				for _, src := range listMaps(p["sources"]) {
					if c, ok := src["configMap"].(map[string]any); ok {
						add("ConfigMap", str0(c["name"]), c["optional"])
					}
					if s, ok := src["secret"].(map[string]any); ok {
						add("Secret", str0(s["name"]), s["optional"])
					}
				}
			}
		}
		for _, field := range []string{"initContainers", "containers"} {
			for _, c := range listMaps(ps[field]) {
				for _, e := range listMaps(c["env"]) {
					vf, _ := e["valueFrom"].(map[string]any)
					if r, ok := vf["configMapKeyRef"].(map[string]any); ok {
						add("ConfigMap", str0(r["name"]), r["optional"])
					}
					if r, ok := vf["secretKeyRef"].(map[string]any); ok {
						add("Secret", str0(r["name"]), r["optional"])
					}
				}
				for _, e := range listMaps(c["envFrom"]) {
					if r, ok := e["configMapRef"].(map[string]any); ok {
						add("ConfigMap", str0(r["name"]), r["optional"])
					}
					if r, ok := e["secretRef"].(map[string]any); ok {
						add("Secret", str0(r["name"]), r["optional"])
					}
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind < out[j].Kind
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// podSpecOf returns the pod spec of a workload object, or nil.
func podSpecOf(obj map[string]any) map[string]any {
	kind, _ := obj["kind"].(string)
	spec, _ := obj["spec"].(map[string]any)
	if spec == nil {
		return nil
	}
	switch kind {
	case "Pod":
		return spec
	case "CronJob":
		jt, _ := spec["jobTemplate"].(map[string]any)
		js, _ := jt["spec"].(map[string]any)
		t, _ := js["template"].(map[string]any)
		ps, _ := t["spec"].(map[string]any)
		return ps
	}
	t, _ := spec["template"].(map[string]any)
	ps, _ := t["spec"].(map[string]any)
	return ps
}

func str0(v any) string { s, _ := v.(string); return s }

// SelectApp picks the app's objects from what was read: those in the
// source namespace (or without one) matching the selector, plus the
// ConfigMaps, Secrets and PVCs their pods reference. Namespaces and what
// controllers generate (Pods and ReplicaSets of a Deployment,
// EndpointSlices) are left out. Notes name referenced objects that are
// missing.
func SelectApp(o Options) ([]*unstructured.Unstructured, []string, error) {
	o.Default()
	if err := o.Validate(); err != nil {
		return nil, nil, &generator.OptionsError{Err: err}
	}
	sel, _ := labels.Parse(o.Selector)
	var pool, picked []*unstructured.Unstructured
	others := map[string]bool{}
	for _, obj := range o.Objects {
		if ns := obj.GetNamespace(); ns != "" && ns != o.SourceNamespace {
			continue
		}
		if obj.GetKind() == "Namespace" || isGenerated(obj) {
			continue
		}
		pool = append(pool, obj)
		if sel.Matches(labels.Set(obj.GetLabels())) {
			picked = append(picked, obj)
		} else if a := obj.GetLabels()[scratch.Label]; a != "" {
			others[a] = true
		}
	}
	if len(picked) == 0 {
		where := "in namespace " + o.SourceNamespace
		if o.FromFile != "" {
			where = fmt.Sprintf("in %q (namespace %s)", o.FromFile, o.SourceNamespace)
		}
		msg := fmt.Sprintf("no objects %s match the selector %s", where, o.Selector)
		if len(others) > 0 {
			msg += "; scratch apps there: " + strings.Join(slices.Sorted(maps.Keys(others)), ", ")
		}
		return nil, nil, fmt.Errorf("%s", msg)
	}
	var notes []string
	have := map[string]bool{}
	for _, p := range picked {
		have[p.GetKind()+"/"+p.GetName()] = true
	}
	for _, ref := range References(picked) {
		key := ref.Kind + "/" + ref.Name
		if have[key] {
			continue
		}
		found := false
		for _, obj := range pool {
			if obj.GetKind() == ref.Kind && obj.GetName() == ref.Name && obj.GroupVersionKind().Group == "" {
				picked = append(picked, obj)
				have[key] = true
				found = true
				break
			}
		}
		if !found {
			src := "the cluster"
			if o.FromFile != "" {
				src = fmt.Sprintf("%q", o.FromFile)
			}
			opt := ""
			if ref.Optional {
				opt = " (optional)"
			}
			notes = append(notes, fmt.Sprintf("%s %s is referenced by the pods%s but not in %s: not promoted", ref.Kind, ref.Name, opt, src))
		}
	}
	sortObjects(picked)
	return picked, notes, nil
}

// isGenerated reports objects a controller made from another object.
func isGenerated(o *unstructured.Unstructured) bool {
	for _, ref := range o.GetOwnerReferences() {
		if ref.Controller != nil && *ref.Controller {
			return true
		}
	}
	switch o.GroupVersionKind().GroupKind() {
	case schema.GroupKind{Group: "apps", Kind: "ReplicaSet"}, schema.GroupKind{Group: "apps", Kind: "ControllerRevision"},
		schema.GroupKind{Group: "discovery.k8s.io", Kind: "EndpointSlice"}, schema.GroupKind{Kind: "Endpoints"},
		schema.GroupKind{Kind: "Event"}, schema.GroupKind{Group: "events.k8s.io", Kind: "Event"}:
		return true
	}
	return false
}

func sortObjects(objs []*unstructured.Unstructured) {
	sort.SliceStable(objs, func(i, j int) bool {
		if objs[i].GetKind() != objs[j].GetKind() {
			return objs[i].GetKind() < objs[j].GetKind()
		}
		return objs[i].GetName() < objs[j].GetName()
	})
}

// Generate turns a scratch app into a Flux app of the repository: a
// HelmRelease of app-template whose values reproduce the pods (helm mode)
// or the cleaned manifests (raw mode), the app's ConfigMaps and PVCs as
// manifests, its Secrets encrypted, hostnames as ${SECRET_DOMAIN*}
// variables, a DNSEndpoint only for secondary domains, ks.yaml with the
// dependsOn its resources need, and the namespace registration.
func Generate(r *generator.Repo, opts Options) (*Promotion, error) {
	opts.Default()
	if err := opts.Validate(); err != nil {
		return nil, &generator.OptionsError{Err: err}
	}
	picked, notes, err := SelectApp(opts)
	if err != nil {
		return nil, err
	}
	p := &promoter{
		r: r, o: opts, app: apps.NewFolder(r, opts.Namespace, opts.Name),
		files: map[string][]*yaml.Node{}, renamed: map[string]string{}, serviceIDs: map[string]string{},
	}
	p.style = p.app.Style()
	p.cs.Notes = append(p.cs.Notes, notes...)
	if err := p.checkTarget(); err != nil {
		return nil, err
	}
	if err := p.prepare(picked); err != nil {
		return nil, err
	}
	for _, step := range []func() error{
		p.helm,
		p.raw,
		p.carryChutes,
		p.dnsEndpoints,
		p.expose,
		p.secrets,
		p.write,
		p.cs.Normalize,
	} {
		if err := step(); err != nil {
			return nil, err
		}
	}
	return &Promotion{
		Changeset: &p.cs, Teardown: Teardown(opts.SourceNamespace, opts.Selector, len(p.chutesIn) > 0),
		Reasons: p.reasons(), KeptRaw: p.keptRaw, Hosts: p.published(),
	}, nil
}

// promoter holds one promotion's state.
type promoter struct {
	r     *generator.Repo
	o     Options
	style generator.Style
	cs    generator.Changeset
	// app is the Flux app's folder: promote writes its kustomizations,
	// ks.yaml, registration and exposure as add-app does.
	app *apps.Folder

	// by kind, cleaned and with literal strings made Flux-safe
	deployments, services, routes, dnsEPs, secretsIn, chutesIn, rest []*unstructured.Unstructured
	// exposed are the HTTPRoutes --expose tunnel or access replaces.
	exposed []*unstructured.Unstructured
	// routeHosts are the literal hostnames of the scratch HTTPRoutes;
	// dnsHosts those of the DNSEndpoint records written.
	routeHosts, dnsHosts []string
	// chuteHosts are the literal hostnames of the scratch Chutes.
	chuteHosts map[string]bool
	// hosts maps a literal hostname to its resolved form.
	hosts map[string]generator.Host
	// files maps an app/ file name to its documents (plain manifests).
	files map[string][]*yaml.Node
	// values is the HelmRelease values (helm mode, nil when none).
	values *yaml.Node
	// renamed maps an old Service name to its new one.
	renamed map[string]string
	// serviceIDs maps a Service name to its app-template identifier.
	serviceIDs map[string]string
	// helmControllers are the Deployments app-template renders, by name.
	helmControllers map[string]*controllerPlan
	hasRoute        bool
	hasDNS          bool
	keptRaw         []string
	// secondary lists route hostnames on secondary domains, by gateway.
	secondary []routeHost
	// serviceLinks is set when a promoted pod relied on the Kubernetes
	// default of service links.
	serviceLinks bool
}

type routeHost struct {
	host    generator.Host
	gateway string
}

// checkTarget refuses a target app that exists, and names that clash
// with infrastructure.
func (p *promoter) checkTarget() error {
	if a, ok := p.r.App(p.o.Namespace, p.o.Name); ok {
		return fmt.Errorf("app %s/%s already exists in the repository (%s); promote under another --name or --to, or remove it first", p.o.Namespace, p.o.Name, a.Dir)
	}
	for f := range p.r.Files {
		if strings.HasPrefix(f, p.app.Dir+"/") {
			return fmt.Errorf("%s already holds files (%s); promote under another --name or --to, or remove them first", p.app.Dir, f)
		}
	}
	return apps.CheckName(p.r, p.o.Namespace, p.o.Name)
}

// prepare cleans the picked objects, resolves every hostname and makes
// literal strings safe for Flux's substitution.
func (p *promoter) prepare(picked []*unstructured.Unstructured) error {
	p.hosts = map[string]generator.Host{}
	for _, in := range picked {
		obj, notes := Clean(in)
		p.cs.Notes = append(p.cs.Notes, notes...)
		gk := obj.GroupVersionKind().GroupKind()
		switch gk {
		case schema.GroupKind{Group: "gateway.networking.k8s.io", Kind: "HTTPRoute"}:
			hs, _, _ := unstructured.NestedStringSlice(obj.Object, "spec", "hostnames")
			for _, h := range hs {
				if err := p.resolve(obj, h); err != nil {
					return err
				}
				p.routeHosts = append(p.routeHosts, h)
			}
		case chuteKind:
			if err := p.prepareChute(obj); err != nil {
				return err
			}
		case schema.GroupKind{Group: "externaldns.k8s.io", Kind: "DNSEndpoint"}:
			for _, e := range listMaps(nested(obj.Object, "spec", "endpoints")) {
				if err := p.resolve(obj, str0(e["dnsName"])); err != nil {
					return err
				}
			}
		}
		if gk == (schema.GroupKind{Kind: "Secret"}) {
			p.secretsIn = append(p.secretsIn, obj)
			continue
		}
		if changed := p.literals(obj); len(changed) > 0 {
			p.cs.Note("%s %s: literal %s written as %s, so the domain stays out of git", obj.GetKind(), obj.GetName(),
				strings.Join(changed, ", "), plural(len(changed), "its variable", "their variables"))
		}
		switch gk {
		case schema.GroupKind{Group: "apps", Kind: "Deployment"}:
			p.deployments = append(p.deployments, obj)
		case schema.GroupKind{Kind: "Service"}:
			p.services = append(p.services, obj)
		case schema.GroupKind{Group: "gateway.networking.k8s.io", Kind: "HTTPRoute"}:
			p.routes = append(p.routes, obj)
		case schema.GroupKind{Group: "externaldns.k8s.io", Kind: "DNSEndpoint"}:
			p.dnsEPs = append(p.dnsEPs, obj)
		case chuteKind:
			p.chutesIn = append(p.chutesIn, obj)
		default:
			p.rest = append(p.rest, obj)
		}
	}
	if p.o.Expose != generator.ExposeGateway {
		// The routes become tunnel rules or a Chute: neither app-template
		// values nor a manifest.
		p.exposed, p.routes = p.routes, nil
	}
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// resolve maps a literal hostname to the repository's domains.
func (p *promoter) resolve(obj *unstructured.Unstructured, h string) error {
	if h == "" {
		return nil
	}
	if _, ok := p.hosts[h]; ok {
		return nil
	}
	host, err := generator.ResolveHost(p.r, h)
	if err != nil {
		msg := strings.Replace(err.Error(), "--host ", "hostname ", 1)
		return fmt.Errorf("promoting %s %s: %s", obj.GetKind(), obj.GetName(), msg)
	}
	p.hosts[h] = host
	return nil
}

// hostTemplate is a hostname as the repository writes it.
func (p *promoter) hostTemplate(h string, releaseName bool) string {
	host, ok := p.hosts[h]
	if !ok {
		return h
	}
	if releaseName && host.Label == p.o.Name {
		return "{{ .Release.Name }}.${" + host.Domain.Var + "}"
	}
	return host.Template()
}

// literals rewrites every string of obj, except hostnames (resolved on
// their own): known domains become their ${SECRET_DOMAIN*} variables, and
// what Flux's substitution would change is escaped so it arrives as it
// was. It returns the domains replaced.
func (p *promoter) literals(obj *unstructured.Unstructured) []string {
	var domains []generator.Domain
	for _, d := range p.r.Domains {
		if d.Value != "" {
			domains = append(domains, d)
		}
	}
	sort.Slice(domains, func(i, j int) bool { return len(domains[i].Value) > len(domains[j].Value) })
	replaced := map[string]bool{}
	var walk func(v any, path []string) any
	walk = func(v any, pth []string) any {
		switch x := v.(type) {
		case map[string]any:
			for k, val := range x {
				x[k] = walk(val, append(pth, k))
			}
			return x
		case []any:
			for i, val := range x {
				x[i] = walk(val, pth)
			}
			return x
		case string:
			if isHostnamePath(obj.GetKind(), pth) {
				return x
			}
			s := FluxLiteral(x)
			if keepsDomains(obj.GetKind(), pth) {
				return s
			}
			for _, d := range domains {
				if out, n := replaceDomain(s, d.Value, "${"+d.Var+"}"); n > 0 {
					s = out
					replaced[d.Value+" → ${"+d.Var+"}"] = true
				}
			}
			return s
		}
		return v
	}
	walk(obj.Object, nil)
	return slices.Sorted(maps.Keys(replaced))
}

func isHostnamePath(kind string, pth []string) bool {
	j := strings.Join(pth, ".")
	return (kind == "HTTPRoute" && j == "spec.hostnames") || (kind == "DNSEndpoint" && j == "spec.endpoints.dnsName") ||
		(kind == "Chute" && j == "spec.hostname") || j == "metadata.name" || j == "apiVersion" || j == "kind"
}

// keepsDomains reports strings whose domains stay as they are: who a
// Chute admits, written as add-app --allow-email writes them.
func keepsDomains(kind string, pth []string) bool {
	j := strings.Join(pth, ".")
	return kind == "Chute" && (j == "spec.access.emails" || j == "spec.access.emailDomains")
}

// FluxLiteral escapes s so that Flux's post-build substitution gives s
// back: a "$" Flux would read as the start of ${var} or as the "$$" escape
// is doubled. Strings without those are returned as they are.
func FluxLiteral(s string) string {
	if !strings.Contains(s, "${") && !strings.Contains(s, "$$") {
		return s
	}
	return strings.ReplaceAll(s, "$", "$$")
}

// replaceDomain replaces domain in s where it stands as a whole domain
// name (not inside a longer label), returning the count.
func replaceDomain(s, domain, with string) (string, int) {
	if domain == "" || !strings.Contains(strings.ToLower(s), domain) {
		return s, 0
	}
	lower := strings.ToLower(s)
	var b strings.Builder
	n, i := 0, 0
	for {
		j := strings.Index(lower[i:], domain)
		if j < 0 {
			b.WriteString(s[i:])
			break
		}
		start, end := i+j, i+j+len(domain)
		before := start == 0 || !isLabelChar(lower[start-1])
		after := end == len(lower) || (!isLabelChar(lower[end]) && !(lower[end] == '.' && end+1 < len(lower) && isLabelChar(lower[end+1])))
		// "${SECRET_DOMAIN}" may already stand before it after escaping.
		if before && after {
			b.WriteString(s[i:start])
			b.WriteString(with)
			n++
		} else {
			b.WriteString(s[i:end])
		}
		i = end
	}
	return b.String(), n
}

func isLabelChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

func nested(obj map[string]any, keys ...string) any {
	var v any = obj
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// secrets encrypts every Secret into its own file: secret.sops.yaml for
// one, secret-<name>.sops.yaml for several. Values are written as
// stringData text; a binary value is refused, since it would not survive
// as text.
func (p *promoter) secrets() error {
	if len(p.secretsIn) == 0 {
		return nil
	}
	if p.o.Sealer == nil {
		return fmt.Errorf("promoting Secret %s: it must be written encrypted, and the repository has no .sops.yaml to encrypt by; add one, or leave the Secret out with --selector", p.secretsIn[0].GetName())
	}
	for _, s := range p.secretsIn {
		values := map[string]string{}
		data, _ := s.Object["data"].(map[string]any)
		for _, k := range slices.Sorted(maps.Keys(data)) {
			enc, _ := data[k].(string)
			raw, err := base64.StdEncoding.DecodeString(enc)
			if err != nil {
				return fmt.Errorf("promoting Secret %s: key %s is not valid base64", s.GetName(), k)
			}
			if !utf8.Valid(raw) || strings.ContainsRune(string(raw), 0) {
				return fmt.Errorf("promoting Secret %s: key %s holds binary data, which gen writes only as text (stringData); store it base64-encoded under another key, or add the Secret to the repository with the sops CLI", s.GetName(), k)
			}
			values[k] = string(raw)
		}
		sd, _ := s.Object["stringData"].(map[string]any)
		for k, v := range sd {
			values[k], _ = v.(string)
		}
		doc := yamlnode.NewMap()
		doc.Set("apiVersion", yamlnode.Str("v1"))
		doc.Set("kind", yamlnode.Str("Secret"))
		meta := yamlnode.NewMap()
		meta.Set("name", yamlnode.Str(s.GetName()))
		if l := s.GetLabels(); len(l) > 0 {
			meta.Set("labels", yamlnode.StringMap(l))
		}
		ann := s.GetAnnotations()
		for _, v := range values {
			if FluxLiteral(v) != v {
				if ann == nil {
					ann = map[string]string{}
				}
				// The values are encrypted: they cannot be escaped in
				// place, so substitution is turned off for this Secret.
				ann["kustomize.toolkit.fluxcd.io/substitute"] = "disabled"
			}
		}
		if len(ann) > 0 {
			meta.Set("annotations", yamlnode.StringMap(ann))
		}
		doc.Set("metadata", meta.Node)
		if t, _ := s.Object["type"].(string); t != "" {
			doc.Set("type", yamlnode.Str(t))
		}
		if im, ok := s.Object["immutable"].(bool); ok {
			doc.Set("immutable", yamlnode.Bool(im))
		}
		sdNode := yamlnode.NewMap()
		for _, k := range slices.Sorted(maps.Keys(values)) {
			sdNode.Set(k, yamlnode.Text(values[k]))
		}
		doc.Set("stringData", sdNode.Node)
		plain, err := yamlnode.Docs([]*yaml.Node{doc.Node})
		if err != nil {
			return err
		}
		name := "secret.sops.yaml"
		if len(p.secretsIn) > 1 {
			name = "secret-" + s.GetName() + ".sops.yaml"
		}
		file := p.app.File(name)
		sealed, err := p.o.Sealer.Seal(file, plain)
		if err != nil {
			return fmt.Errorf("encrypting Secret %s into %q: %w", s.GetName(), file, err)
		}
		p.cs.AddSensitive(file, sealed)
		p.app.Resources = append(p.app.Resources, name)
	}
	return nil
}

// write renders the plain manifests, the app kustomization, ks.yaml and
// the namespace registration.
func (p *promoter) write() error {
	for _, name := range slices.Sorted(maps.Keys(p.files)) {
		out, err := yamlnode.Docs(p.files[name])
		if err != nil {
			return fmt.Errorf("writing %s: %w", name, err)
		}
		for i, doc := range repo.SplitDocuments(out) {
			if _, err := genschema.DecodeYAML(doc); err != nil {
				return fmt.Errorf("%s, document %d: %w", p.app.File(name), i+1, err)
			}
		}
		p.cs.Add(p.app.File(name), out)
		p.app.Resources = append(p.app.Resources, name)
	}
	p.app.Resources = orderResources(p.app.Resources)
	p.app.Route = p.hasRoute
	// The tunnel's DNSEndpoint was rendered through the add-app generator.
	p.app.DNS = p.hasDNS || p.app.DNS
	if err := p.app.WriteKustomization(); err != nil {
		return err
	}
	if err := p.app.WriteKS(nil); err != nil {
		return err
	}
	if err := p.app.Register(); err != nil {
		return err
	}
	// ocirepository, helmrelease, the kustomizations and ks.yaml were
	// rendered through the add-app generator.
	p.cs.Files = append(p.cs.Files, p.app.Changeset.Files...)
	p.cs.Notes = append(p.cs.Notes, p.app.Changeset.Notes...)
	verb := "Promote"
	p.cs.Title = fmt.Sprintf("%s scratch app %s/%s to %s/%s", verb, p.o.SourceNamespace, p.o.App, p.o.Namespace, p.o.Name)
	if p.serviceLinks {
		p.cs.Note("app-template turns service links off (enableServiceLinks: false), Kubernetes turns them on: the pods no longer get <SERVICE>_SERVICE_HOST/_PORT variables; set controllers.<id>.pod.enableServiceLinks: true if the app reads them")
	}
	return nil
}

// orderResources lists helmrelease.yaml first and the rest sorted, the
// order the repositories keep.
func orderResources(in []string) []string {
	var out, rest []string
	for _, r := range in {
		if r == "helmrelease.yaml" {
			out = append(out, r)
		} else {
			rest = append(rest, r)
		}
	}
	sort.Strings(rest)
	return append(out, rest...)
}

// reasons explains why the scratch objects must go before Flux applies.
func (p *promoter) reasons() []string {
	var out []string
	if p.o.SourceNamespace == p.o.Namespace {
		out = append(out, fmt.Sprintf("Flux applies into namespace %s, where the scratch objects are: a Deployment of the same name keeps its old selector, which is immutable, so the apply fails", p.o.Namespace))
	}
	var hosts, chutes []string
	for h := range p.hosts {
		if p.chuteHosts[h] {
			chutes = append(chutes, h)
		}
		if !p.chuteHosts[h] || slices.Contains(p.routeHosts, h) {
			hosts = append(hosts, h)
		}
	}
	sort.Strings(hosts)
	sort.Strings(chutes)
	if len(hosts) > 0 {
		switch p.o.Expose {
		case generator.ExposeTunnel:
			out = append(out, fmt.Sprintf("%s must not be published twice: the scratch HTTPRoute and the tunnel's DNSEndpoint would both claim the records, and the gateway would still send requests to the scratch copy", strings.Join(hosts, ", ")))
		case generator.ExposeAccess:
			out = append(out, fmt.Sprintf("%s must not be published twice: external-dns would keep the scratch route's record while the chute operator publishes its own for the name", strings.Join(hosts, ", ")))
		default:
			out = append(out, fmt.Sprintf("%s must not be served by two routes at once: the gateway would split the traffic between the copies, and external-dns would find two owners for the record", strings.Join(hosts, ", ")))
		}
	}
	if len(chutes) > 0 {
		out = append(out, fmt.Sprintf("%s must not be claimed by two Chutes, the scratch one and the promoted one: the chute operator serves a hostname once", strings.Join(chutes, ", ")))
	}
	out = append(out, "until then both copies run, each with its own pods, jobs and volumes")
	return out
}
