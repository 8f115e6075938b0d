package apps

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/gen-gitops/gen/generator"
	"github.com/gen-gitops/gen/generator/tunnel"
	"github.com/gen-gitops/gen/internal/repo"
)

// RemoveOptions are the inputs of Remove.
type RemoveOptions struct {
	Namespace string
	Name      string
	// Force removes the app although other Flux Kustomizations depend on
	// it.
	Force bool
}

// Validate checks the options alone, before the repository is consulted.
func (o RemoveOptions) Validate() error {
	for _, f := range []struct{ what, v string }{{"namespace", o.Namespace}, {"app name", o.Name}} {
		if strings.Contains(f.v, "..") || strings.Contains(f.v, "/") || strings.Contains(f.v, "\\") {
			return fmt.Errorf("%s %q must be a plain name, not a path", f.what, f.v)
		}
		if errs := validation.IsDNS1123Label(f.v); len(errs) > 0 {
			return fmt.Errorf("%s %q is not a valid DNS-1123 label: %s", f.what, f.v, strings.Join(errs, "; "))
		}
	}
	return nil
}

// Dependent is a Flux Kustomization whose dependsOn names one of the
// Kustomizations of the app being removed, or a HelmRelease whose
// dependsOn names one of its HelmReleases.
type Dependent struct {
	// Kustomization is the dependent one (or the HelmRelease, with Kind).
	Kustomization generator.Ref
	// Kind is "HelmRelease" for a HelmRelease, "" for a Kustomization.
	Kind string
	// File declares it.
	File string
	// App is "<namespace>/<app>" when File belongs to an app.
	App string
}

func (d Dependent) String() string {
	return fmt.Sprintf("%s (%s)", d.Kustomization, d.File)
}

// DependentsError refuses to remove an app that other Flux Kustomizations
// depend on: Flux would hold them back for ever.
type DependentsError struct {
	App        string
	Dependents []Dependent
}

func (e *DependentsError) Error() string {
	var ks, hr, apps []string
	for _, d := range e.Dependents {
		if d.Kind == "HelmRelease" {
			hr = append(hr, d.String())
		} else {
			ks = append(ks, d.String())
		}
		if d.App != "" {
			apps = append(apps, "gen remove-app "+d.App)
		}
	}
	first := "remove them first"
	if len(apps) == len(e.Dependents) {
		first += " (" + strings.Join(uniqueStrings(apps), ", ") + ")"
	} else {
		first += " or drop their dependsOn"
	}
	var who []string
	if len(ks) > 0 {
		who = append(who, fmt.Sprintf("%d Flux %s on it: %s", len(ks), plural(len(ks), "Kustomization depends", "Kustomizations depend"), strings.Join(ks, ", ")))
	}
	if len(hr) > 0 {
		who = append(who, fmt.Sprintf("%d %s on its HelmRelease: %s", len(hr), plural(len(hr), "HelmRelease depends", "HelmReleases depend"), strings.Join(hr, ", ")))
	}
	return fmt.Sprintf("%s: %s; %s, or pass --force to remove it anyway", e.App, strings.Join(who, "; "), first)
}

// Remove returns the Changeset that removes an app from r, the inverse
// of Add: every file of its folder is deleted, its ./<app>/ks.yaml
// entry leaves the namespace kustomization, and the cloudflared ingress
// rules that send traffic to its Services leave the tunnel's config. The
// namespace itself stays, even when the app was its last one.
//
// It refuses, changing nothing, when another Flux Kustomization depends on
// the app (unless Force), and when the app does not exist.
func Remove(r *generator.Repo, opts RemoveOptions) (*generator.Changeset, error) {
	if err := opts.Validate(); err != nil {
		return nil, &generator.OptionsError{Err: err}
	}
	ns, ok := r.Namespaces[opts.Namespace]
	if !ok {
		have := r.NamespaceNames()
		if len(have) == 0 {
			return nil, fmt.Errorf("no namespace %q: the repository has no namespace folders under %s", opts.Namespace, r.AppsDir)
		}
		return nil, fmt.Errorf("no namespace %q in the repository (have: %s)", opts.Namespace, strings.Join(have, ", "))
	}
	app, ok := ns.Apps[opts.Name]
	if !ok {
		have := slices.Sorted(maps.Keys(ns.Apps))
		if len(have) == 0 {
			return nil, fmt.Errorf("no app %s/%s: namespace %s has no apps", opts.Namespace, opts.Name, opts.Namespace)
		}
		return nil, fmt.Errorf("no app %s/%s: the apps in namespace %s are %s", opts.Namespace, opts.Name, opts.Namespace, strings.Join(have, ", "))
	}
	dir, err := generator.CleanRelPath(app.Dir)
	if err != nil || dir != path.Join(ns.Dir, opts.Name) || !strings.HasPrefix(dir, r.AppsDir+"/") {
		return nil, fmt.Errorf("app %s/%s: its folder %q is not <namespace folder>/%s inside the apps folder %s; remove it by hand", opts.Namespace, opts.Name, app.Dir, opts.Name, r.AppsDir)
	}
	rm := &appRemoval{r: r, o: opts, ns: ns, app: app, dir: dir}
	return rm.run()
}

type appRemoval struct {
	r   *generator.Repo
	o   RemoveOptions
	ns  *generator.Namespace
	app *generator.App
	dir string
	// objects are the documents of the app's folder.
	objects []generator.Object
	notes   []string
}

func (rm *appRemoval) run() (*generator.Changeset, error) {
	r, o := rm.r, rm.o
	rm.objects = r.ObjectsIn(rm.dir)
	deps := rm.dependents()
	if len(deps) > 0 && !o.Force {
		return nil, &DependentsError{App: o.Namespace + "/" + o.Name, Dependents: deps}
	}
	w := generator.NewWorkingCopy(r)
	for p := range r.Files {
		if strings.HasPrefix(p, rm.dir+"/") {
			w.Delete(p)
		}
	}
	entry := "./" + o.Name + "/ks.yaml"
	out, changed, err := generator.RemoveResource(r.Files[rm.ns.Kustomization], entry)
	if err != nil {
		return nil, fmt.Errorf("taking %s out of %q: %w", entry, rm.ns.Kustomization, err)
	}
	if changed {
		w.Write(rm.ns.Kustomization, out)
	} else {
		rm.note("%s was not listed in %s, so Flux never deployed the app; its folder goes all the same", entry, rm.ns.Kustomization)
	}
	if err := rm.removeTunnelRules(w); err != nil {
		return nil, err
	}
	for _, d := range deps {
		if d.Kind == "HelmRelease" {
			rm.note("HelmRelease %s depends on the app's HelmRelease; helm-controller holds it back until its dependsOn no longer names it", d)
			continue
		}
		rm.note("%s depends on the app; Flux holds it back until its dependsOn no longer names %s/%s", d, o.Namespace, o.Name)
	}
	rm.noteWhatGoes()
	rm.noteAddressUsers(w.Written())
	if len(rm.ns.Apps) == 1 {
		rm.note("namespace %s has no apps left; its namespace.yaml and kustomization.yaml stay, since the namespace may hold more than gen knows of: delete %s by hand if it is no longer needed", o.Namespace, rm.ns.Dir)
	}
	cs, err := w.Changeset(fmt.Sprintf("Remove %s/%s", o.Namespace, o.Name))
	if err != nil {
		return nil, err
	}
	cs.Notes = append(cs.Notes, rm.notes...)
	return cs, nil
}

func (rm *appRemoval) note(format string, args ...any) {
	rm.notes = append(rm.notes, fmt.Sprintf(format, args...))
}

// dependents lists the Flux Kustomizations outside the app's folder whose
// dependsOn names one of the app's. A Kustomization's namespace is the one
// its namespace kustomization sets (kustomize overrides metadata.namespace
// with it), else its own; a dependsOn without a namespace means the
// dependent's.
func (rm *appRemoval) dependents() []Dependent {
	r := rm.r
	override := map[string]string{}
	appOf := map[string]string{}
	for _, n := range r.Namespaces {
		k, err := repo.ParseKustomization(r.Files[n.Kustomization])
		for _, a := range n.Apps {
			if a.KS == "" {
				continue
			}
			appOf[a.KS] = a.Namespace + "/" + a.Name
			if err == nil && k.Namespace != "" {
				override[a.KS] = k.Namespace
			}
		}
	}
	nsOf := func(o generator.Object) string {
		if ns, ok := override[o.File]; ok {
			return ns
		}
		return o.Str("metadata", "namespace")
	}
	var targets []generator.Ref
	for _, o := range r.Objects {
		if o.IsFluxKustomization() && o.File == rm.app.KS {
			targets = append(targets, generator.Ref{Namespace: nsOf(o), Name: o.Name})
		}
	}
	var out []Dependent
	seen := map[Dependent]bool{}
	for _, o := range r.Objects {
		if !o.IsFluxKustomization() || strings.HasPrefix(o.File, rm.dir+"/") {
			continue
		}
		own := nsOf(o)
		if dependsOnAny(o, own, targets) {
			dep := Dependent{Kustomization: generator.Ref{Namespace: own, Name: o.Name}, File: o.File, App: appOf[o.File]}
			if dep.Kustomization.Namespace == "" {
				dep.Kustomization.Namespace = "?"
			}
			if !seen[dep] {
				seen[dep] = true
				out = append(out, dep)
			}
		}
	}
	out = append(out, rm.helmDependents(appOf)...)
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind < out[j].Kind
		}
		return out[i].Kustomization.String() < out[j].Kustomization.String()
	})
	return out
}

// helmDependents lists the HelmReleases outside the app's folder whose
// dependsOn names one of the app's HelmReleases: helm-controller would
// hold them back for ever. A HelmRelease's namespace is its app's (the
// namespace folder's), else its own; a dependsOn without a namespace means
// the dependent's.
func (rm *appRemoval) helmDependents(appOf map[string]string) []Dependent {
	isRelease := func(o generator.Object) bool {
		return o.Kind == "HelmRelease" && strings.HasPrefix(o.APIVersion, "helm.toolkit.fluxcd.io/")
	}
	appDirs := map[string]string{}
	for _, n := range rm.r.Namespaces {
		for _, a := range n.Apps {
			appDirs[a.Dir] = a.Namespace
		}
	}
	nsOf := func(o generator.Object) (string, string) {
		for dir := path.Dir(o.File); dir != "." && dir != "/"; dir = path.Dir(dir) {
			if ns, ok := appDirs[dir]; ok {
				return ns, appOf[path.Join(dir, "ks.yaml")]
			}
		}
		return o.Str("metadata", "namespace"), ""
	}
	var targets []generator.Ref
	for _, o := range rm.objects {
		if isRelease(o) {
			ns, _ := nsOf(o)
			targets = append(targets, generator.Ref{Namespace: ns, Name: o.Name})
		}
	}
	if len(targets) == 0 {
		return nil
	}
	var out []Dependent
	seen := map[Dependent]bool{}
	for _, o := range rm.r.Objects {
		if !isRelease(o) || strings.HasPrefix(o.File, rm.dir+"/") {
			continue
		}
		own, app := nsOf(o)
		if dependsOnAny(o, own, targets) {
			dep := Dependent{Kustomization: generator.Ref{Namespace: own, Name: o.Name}, Kind: "HelmRelease", File: o.File, App: app}
			if dep.Kustomization.Namespace == "" {
				dep.Kustomization.Namespace = "?"
			}
			if !seen[dep] {
				seen[dep] = true
				out = append(out, dep)
			}
		}
	}
	return out
}

// dependsOnAny reports whether o's spec.dependsOn names one of targets; a
// dependsOn without a namespace means own. An unknown namespace on either
// side matches by name: refusing by mistake is cheaper than a stuck
// dependent.
func dependsOnAny(o generator.Object, own string, targets []generator.Ref) bool {
	for _, d := range o.List("spec", "dependsOn") {
		m, _ := d.(map[string]any)
		name, _ := m["name"].(string)
		depNS, _ := m["namespace"].(string)
		if depNS == "" {
			depNS = own
		}
		for _, t := range targets {
			if t.Name == name && (t.Namespace == depNS || t.Namespace == "" || depNS == "") {
				return true
			}
		}
	}
	return false
}

// serviceMatcher matches tunnel origins that reach the app: a Service its
// folder declares, its HelmReleases' names (and app-template's
// <release>-<service> names), or the app's name, in the namespaces its
// objects land in. Names another app of the namespace owns are left out.
func (rm *appRemoval) serviceMatcher() tunnel.ServiceMatcher {
	list, namespaces := rm.services()
	var matchers []tunnel.ServiceMatcher
	for _, ns := range namespaces {
		matchers = append(matchers, tunnel.MatchServices(ns, list...))
	}
	return func(service string) bool {
		for _, m := range matchers {
			if m(service) {
				return true
			}
		}
		return false
	}
}

// services returns the names of the Services that go with the app (see
// serviceMatcher) and the namespaces they are in.
func (rm *appRemoval) services() (names, namespaces []string) {
	set := map[string]bool{rm.o.Name: true}
	for _, o := range rm.objects {
		switch {
		case o.Kind == "Service" && o.APIVersion == "v1":
			set[o.Name] = true
		case o.Kind == "HelmRelease" && strings.HasPrefix(o.APIVersion, "helm.toolkit.fluxcd.io/"):
			release := o.Str("spec", "releaseName")
			if release == "" {
				release = o.Name
			}
			set[release] = true
			if svc, ok := o.Get("spec", "values", "service").(map[string]any); ok {
				for id, v := range svc {
					if _, isMap := v.(map[string]any); isMap {
						set[release+"-"+id] = true
					}
				}
			}
		}
	}
	for other, a := range rm.ns.Apps {
		if other == rm.o.Name {
			continue
		}
		delete(set, other)
		for _, o := range rm.r.ObjectsIn(a.Dir) {
			if o.Kind == "Service" || o.Kind == "HelmRelease" {
				delete(set, o.Name)
			}
		}
	}
	names = slices.Sorted(maps.Keys(set))
	namespaces = []string{rm.o.Namespace}
	for _, o := range rm.r.Objects {
		if o.IsFluxKustomization() && o.File == rm.app.KS {
			if t := o.Str("spec", "targetNamespace"); t != "" && t != rm.o.Namespace {
				namespaces = append(namespaces, t)
			}
		}
	}
	return names, namespaces
}

// serviceAddresses returns the in-cluster Service addresses in text as
// "<svc>.<ns>": every word of the form [<host>.]<svc>.<ns>.svc or
// [<host>.]<svc>.<ns>.svc.cluster.local (a pod of a headless Service
// reaches it through the Service's name too).
func serviceAddresses(text string) []string {
	var out []string
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.')
	})
	for _, w := range words {
		w = strings.TrimSuffix(w, ".")
		host, ok := strings.CutSuffix(w, ".svc.cluster.local")
		if !ok {
			if host, ok = strings.CutSuffix(w, ".svc"); !ok {
				continue
			}
		}
		labels := strings.Split(host, ".")
		if len(labels) < 2 {
			continue
		}
		svc, ns := labels[len(labels)-2], labels[len(labels)-1]
		if len(validation.IsDNS1123Label(svc)) == 0 && len(validation.IsDNS1123Label(ns)) == 0 {
			out = append(out, svc+"."+ns)
		}
	}
	return out
}

// noteAddressUsers warns about documents outside the app's folder whose
// values reach one of the app's Services by its DNS name (a database URL,
// an upstream, a webhook): they lose it with the app. Files whose tunnel
// rules for the app are taken out (edited) are skipped.
func (rm *appRemoval) noteAddressUsers(edited map[string][]byte) {
	names, namespaces := rm.services()
	want := map[string]bool{}
	for _, ns := range namespaces {
		for _, n := range names {
			want[strings.ToLower(n)+"."+strings.ToLower(ns)] = true
		}
	}
	users := map[string][]string{}
	var files []string
	for _, o := range rm.r.Objects {
		if strings.HasPrefix(o.File, rm.dir+"/") || edited[o.File] != nil {
			continue
		}
		var found []string
		walkStrings(o.Map(), func(s string) {
			if !strings.Contains(s, ".svc") {
				return
			}
			for _, addr := range serviceAddresses(s) {
				if want[addr] {
					found = append(found, addr+".svc")
				}
			}
		})
		if len(found) == 0 {
			continue
		}
		where := o.File
		if o.Kind != "" && o.Name != "" {
			where += " (" + o.Kind + " " + o.Name + ")"
		}
		if users[where] == nil {
			files = append(files, where)
		}
		users[where] = append(users[where], found...)
	}
	sort.Strings(files)
	for _, f := range files {
		rm.note("WARNING: %s reaches the app at %s; it loses that Service with the app. Point it elsewhere, or keep the app",
			f, strings.Join(uniqueStrings(users[f]), ", "))
	}
}

// walkStrings calls fn on every string of a decoded document, keys
// aside.
func walkStrings(v any, fn func(string)) {
	switch v := v.(type) {
	case string:
		fn(v)
	case map[string]any:
		for _, c := range v {
			walkStrings(c, fn)
		}
	case []any:
		for _, c := range v {
			walkStrings(c, fn)
		}
	}
}

// removeTunnelRules takes the app's rules out of every cloudflared config
// outside its folder.
func (rm *appRemoval) removeTunnelRules(w *generator.WorkingCopy) error {
	match := rm.serviceMatcher()
	var removed []string
	err := tunnel.Edit(w, func(text []byte, what string) ([]byte, error) {
		out, hosts, err := tunnel.RemoveRules(text, match, what)
		if err != nil {
			return nil, err
		}
		if len(hosts) > 0 {
			removed = append(removed, fmt.Sprintf("the ingress %s for %s %s %s", plural(len(hosts), "rule", "rules"), strings.Join(hosts, ", "), plural(len(hosts), "leaves", "leave"), what))
		}
		return out, nil
	})
	if err != nil {
		return fmt.Errorf("removing the app's tunnel rules: %w", err)
	}
	for _, r := range removed {
		rm.note("%s", r)
	}
	return nil
}

// noteWhatGoes warns about what leaves the cluster with the folder and
// cannot come back by adding the app again.
func (rm *appRemoval) noteWhatGoes() {
	pruned := true
	for _, o := range rm.r.Objects {
		if o.IsFluxKustomization() && o.File == rm.app.KS {
			if p, ok := o.Get("spec", "prune").(bool); ok && !p {
				pruned = false
			}
		}
	}
	var claims, records, chutes []string
	for _, o := range rm.objects {
		switch {
		case o.Kind == "PersistentVolumeClaim":
			claims = append(claims, o.Name)
		case o.Kind == "HelmRelease":
			claims = append(claims, helmClaims(o)...)
			records = append(records, helmRouteHosts(o)...)
		case o.Kind == "HTTPRoute":
			for _, h := range o.List("spec", "hostnames") {
				if s, ok := h.(string); ok {
					records = append(records, s)
				}
			}
		case o.Kind == "DNSEndpoint":
			for _, ep := range o.List("spec", "endpoints") {
				if m, ok := ep.(map[string]any); ok {
					if n, _ := m["dnsName"].(string); n != "" {
						records = append(records, n)
					}
				}
			}
		case o.Kind == "Chute":
			c := o.Name
			if h := o.Str("spec", "hostname"); h != "" {
				c += " (" + h + ")"
			}
			chutes = append(chutes, c)
		}
	}
	if !pruned {
		rm.note("the app's Flux Kustomization has prune: false, so Flux leaves its objects running in the cluster; delete them by hand")
		return
	}
	if len(claims) > 0 {
		rm.note("WARNING: data loss. Once this is pushed, Flux prunes what the app applied, including the PersistentVolumeClaim(s) %s; wherever the volume's reclaim policy is Delete (the default for provisioned volumes) the data goes with them. Back it up first, or keep a claim by giving it the annotation kustomize.toolkit.fluxcd.io/prune: disabled and letting Flux apply that before you remove the app",
			strings.Join(uniqueStrings(claims), ", "))
	}
	if len(records) > 0 {
		sort.Strings(records)
		rm.note("once Flux prunes the app's routes and DNSEndpoints, external-dns deletes the DNS records of %s", strings.Join(uniqueStrings(records), ", "))
	}
	if len(chutes) > 0 {
		rm.note("the Chute %s goes with the folder: the chute operator deletes its tunnel and its Cloudflare Access application", strings.Join(chutes, ", "))
	}
}

// helmRouteHosts returns the hostnames of app-template's route.<id>
// values, with the release name filled in.
func helmRouteHosts(o generator.Object) []string {
	routes, ok := o.Get("spec", "values", "route").(map[string]any)
	if !ok {
		return nil
	}
	release := o.Str("spec", "releaseName")
	if release == "" {
		release = o.Name
	}
	var out []string
	for _, id := range slices.Sorted(maps.Keys(routes)) {
		m, _ := routes[id].(map[string]any)
		hosts, _ := m["hostnames"].([]any)
		for _, h := range hosts {
			if s, ok := h.(string); ok {
				out = append(out, strings.ReplaceAll(s, "{{ .Release.Name }}", release))
			}
		}
	}
	return out
}

// helmClaims names the volumes a HelmRelease's chart makes claims for:
// app-template's persistence.<id> of type persistentVolumeClaim without an
// existingClaim, or a chart's persistence.enabled.
func helmClaims(o generator.Object) []string {
	p, ok := o.Get("spec", "values", "persistence").(map[string]any)
	if !ok {
		return nil
	}
	if on, ok := p["enabled"].(bool); ok {
		if on {
			return []string{fmt.Sprintf("of HelmRelease %s (persistence.enabled)", o.Name)}
		}
		return nil
	}
	var out []string
	for id, v := range p {
		m, ok := v.(map[string]any)
		if !ok {
			continue
		}
		if on, ok := m["enabled"].(bool); ok && !on {
			continue
		}
		t, _ := m["type"].(string)
		if _, existing := m["existingClaim"]; existing || (t != "" && t != "persistentVolumeClaim") {
			continue
		}
		out = append(out, fmt.Sprintf("of HelmRelease %s (persistence.%s)", o.Name, id))
	}
	sort.Strings(out)
	return out
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// uniqueStrings returns in without repeats, in first-seen order.
func uniqueStrings(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
