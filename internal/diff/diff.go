// Package diff compares what two revisions of a repository render, object
// by object, the way Flux builds them: `gen diff` and the pull-request
// bot's comment.
//
// Both revisions are read from git objects (or the work tree) into
// snapshots. Only the Flux Kustomizations a change can reach are rendered,
// on both sides: the roots over the folders that hold a change, then, level
// by level, each child whose own object differs, which exists on one side
// only, or whose build can read a changed file. Objects are paired by
// group, kind, namespace and name and compared; Secret values, data and
// stringData entries and ENC[...] payloads are redacted before anything is
// printed.
package diff

import (
	"bytes"
	"encoding/json"
	"errors"
	"path"
	"sort"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/gen-gitops/gen/internal/check"
	"github.com/gen-gitops/gen/internal/flux"
	genrepo "github.com/gen-gitops/gen/internal/repo"
)

// Options adjust a comparison.
type Options struct {
	// Roots are the files holding the root Flux Kustomizations (default:
	// .gen.yaml's roots, else kubernetes/flux/cluster/ks.yaml, else the
	// roots the repository model finds; see headRoots).
	Roots []string
	// Limits bound the work on hostile content; zero means
	// check.DefaultLimits.
	Limits check.Limits
	// Domains maps domain variables to their domains, for readable
	// hostnames; unknown ones render as placeholders.
	Domains map[string]string

	// skipped names folders left out of the snapshots (CompareRevisions):
	// reaching into one makes the result incomplete.
	skipped func(dir string) bool
}

// Change says what happened to an object or a Kustomization.
type Change string

// Changes.
const (
	Added   Change = "added"
	Removed Change = "removed"
	Changed Change = "changed"
)

// Result is the comparison of two revisions.
type Result struct {
	// Base and Head name the revisions.
	Base string `json:"base"`
	Head string `json:"head"`
	// Paths are the repository files that differ.
	Paths []string `json:"paths"`
	// Unused are the changed files that no Kustomization of any cluster
	// can read: nothing Flux applies changes with them.
	Unused []string `json:"unused"`
	// Kustomizations are those whose output differs, or that failed to
	// render on a side, sorted by namespace and name.
	Kustomizations []*KustomizationDiff `json:"kustomizations"`
	// Images are the container images that changed, across all objects.
	Images []ImageChange `json:"images"`
	// Findings are problems met reading or rendering (hostile content,
	// refused builds): the diff may be incomplete where they point.
	Findings []check.Finding `json:"findings"`
	// Rendered counts the Kustomizations rendered (on either side).
	Rendered int `json:"rendered"`

	// incomplete is set when the snapshots left out something the
	// comparison needed; narrowed when they left out something and the
	// result stands.
	incomplete, narrowed bool
}

// HeadFailures returns the Kustomizations the head does not render (that
// the base rendered, or rendered differently), sorted.
func (r *Result) HeadFailures() []*KustomizationDiff {
	var out []*KustomizationDiff
	for _, k := range r.Kustomizations {
		if k.HeadError != "" {
			out = append(out, k)
		}
	}
	return out
}

// Failed reports whether the head does not render where the change
// reaches, or a problem left the comparison incomplete (an error
// finding): gen diff exits 1 then.
func (r *Result) Failed() bool {
	if len(r.HeadFailures()) > 0 {
		return true
	}
	for _, f := range r.Findings {
		if f.Severity == check.SeverityError {
			return true
		}
	}
	return false
}

// Objects counts the changed objects.
func (r *Result) Objects() int {
	n := 0
	for _, k := range r.Kustomizations {
		n += len(k.Objects)
	}
	return n
}

// KustomizationDiff is what changed in one Flux Kustomization's output.
type KustomizationDiff struct {
	ID string `json:"kustomization"`
	// Cluster names the cluster, in a repository of several.
	Cluster string `json:"cluster,omitempty"`
	// Change is set when the Kustomization itself is added or removed.
	Change Change `json:"change,omitempty"`
	// Path is its spec.path (head side when it exists).
	Path    string        `json:"path"`
	Objects []*ObjectDiff `json:"objects"`
	// BaseError and HeadError say why a side did not render.
	BaseError string `json:"baseError,omitempty"`
	HeadError string `json:"headError,omitempty"`
}

// ObjectDiff is one object that was added, removed or changed.
type ObjectDiff struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
	Change     Change `json:"change"`
	// Origin is the file the object comes from (head side when it exists).
	Origin string `json:"origin,omitempty"`
	// Diff is a unified diff of the object's YAML, redacted.
	Diff string `json:"diff"`
	// Chart is set for a HelmRelease whose chart version changed.
	Chart *ChartBump `json:"chart,omitempty"`
	// ValuesDiff is a unified diff of a HelmRelease's spec.values.
	ValuesDiff string `json:"valuesDiff,omitempty"`
	// Redacted is set when values were hidden.
	Redacted bool `json:"redacted,omitempty"`
}

// ID returns "Kind namespace/name".
func (o *ObjectDiff) ID() string {
	if o.Namespace == "" {
		return o.Kind + " " + o.Name
	}
	return o.Kind + " " + o.Namespace + "/" + o.Name
}

// ChartBump is a HelmRelease's chart version change.
type ChartBump struct {
	Chart string `json:"chart"`
	From  string `json:"from"`
	To    string `json:"to"`
}

// Compare renders and compares what changed between two snapshots.
func Compare(base, head *check.Snapshot, opts Options) (*Result, error) {
	l := opts.Limits
	if l == (check.Limits{}) {
		l = check.DefaultLimits()
	}
	res := &Result{}
	res.Findings = append(res.Findings, head.Findings...)
	res.Paths = changedPaths(base.Files, head.Files)
	if len(res.Paths) == 0 {
		return res, nil
	}
	// Hostile content can only come with the change: the changed files of
	// both sides are scanned before anything renders them.
	baseFiles, _ := check.Sanitize(base.Files, res.Paths, l)
	headFiles, findings := check.Sanitize(head.Files, res.Paths, l)
	res.Findings = append(res.Findings, findings...)

	clusters := diffClusters(headFiles, opts.Roots)
	ro := flux.RenderOptions{Vars: opts.Domains, HideSecretValues: true}
	w := &walk{
		opts:    opts,
		base:    side{s: flux.NewSession(flux.ArtifactFiles(baseFiles), ro)},
		head:    side{s: flux.NewSession(flux.ArtifactFiles(headFiles), ro)},
		changed: res.Paths,
		limits:  l,
		res:     res,
	}
	// Each cluster is walked on its own: two clusters' roots may have the
	// same name (flux-system/cluster-apps), and a base they share is
	// rendered by each.
	for _, cl := range clusters {
		if len(clusters) > 1 {
			w.cluster = cl.name
		}
		if err := w.run(cl.roots); err != nil {
			return nil, err
		}
	}
	res.Unused = w.unused()
	sort.Slice(res.Kustomizations, func(i, j int) bool {
		a, b := res.Kustomizations[i], res.Kustomizations[j]
		if a.Cluster != b.Cluster {
			return a.Cluster < b.Cluster
		}
		return a.ID < b.ID
	})
	res.Images = imageChanges(w.pairs)
	return res, nil
}

// clusterRoots is one cluster's name and roots, for the walk.
type clusterRoots struct {
	name  string
	roots []string
}

// diffClusters returns the clusters to walk: the one --root names, else
// every cluster the repository model finds in the head revision (as gen
// check does), else the configured or default root.
func diffClusters(files flux.Files, roots []string) []clusterRoots {
	if len(roots) > 0 {
		return []clusterRoots{{roots: roots}}
	}
	if cs, err := genrepo.DiscoverClusters(files); err == nil && len(cs) > 0 {
		out := make([]clusterRoots, 0, len(cs))
		for _, c := range cs {
			out = append(out, clusterRoots{name: c.Name, roots: c.Roots})
		}
		return out
	}
	return []clusterRoots{{roots: headRoots(files)}}
}

// unused lists the changed paths that no Kustomization the walk met, of
// any cluster, can read (a workflow file, a Talos config, a folder no
// cluster builds): the diff says so rather than leave them unexplained.
func (w *walk) unused() []string {
	var out []string
	for _, p := range w.res.Paths {
		used := false
		for _, v := range w.visited {
			if v.ks != nil && v.side.s.Reads(v.ks, p) {
				used = true
				break
			}
		}
		if !used {
			out = append(out, p)
		}
	}
	return out
}

// configuredRoots reads .gen.yaml's roots, else the default root.
func configuredRoots(files flux.Files) []string {
	var cfg struct {
		Roots []string `json:"roots"`
	}
	if data, ok := files[".gen.yaml"]; ok {
		if err := unmarshalYAML(data, &cfg); err == nil && len(cfg.Roots) > 0 {
			return cfg.Roots
		}
	}
	return []string{flux.DefaultRoot}
}

// headRoots is configuredRoots for the head revision read whole: when
// neither .gen.yaml names roots nor the default root exists, the roots are
// the ones the repository model finds (a root file elsewhere, or a Flux
// Operator's sync folder), as gen check finds them. Only such a repository
// pays for the model; the narrowed reading of a change never happens
// without the default or configured root files.
func headRoots(files flux.Files) []string {
	roots := configuredRoots(files)
	if _, ok := files[flux.DefaultRoot]; ok || len(roots) != 1 || roots[0] != flux.DefaultRoot {
		return roots
	}
	if model, err := genrepo.FromFiles(files, genrepo.LoadOptions{}); err == nil && len(model.RootKustomizations) > 0 {
		return model.RootKustomizations
	}
	return roots
}

// changedPaths lists the paths whose content differs, sorted.
func changedPaths(a, b flux.Files) []string {
	var out []string
	for p, data := range a {
		if other, ok := b[p]; !ok || !bytes.Equal(data, other) {
			out = append(out, p)
		}
	}
	for p := range b {
		if _, ok := a[p]; !ok {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// side is one revision being rendered.
type side struct {
	s *flux.Session
}

// walk is one comparison's walk down both trees.
type walk struct {
	opts       Options
	base, head side
	changed    []string
	limits     check.Limits
	res        *Result

	mu      sync.Mutex
	objects int
	bytes   int64
	work    int64
	stopped bool

	// pairs are every compared object pair, for the image table.
	pairs []objectPair
	// cluster names the cluster being walked, in a repository of several.
	cluster string
	// visited are the Kustomizations the walk met, on each side.
	visited []visitedKS
}

// visitedKS is a Kustomization the walk met, and the side it is on.
type visitedKS struct {
	side side
	ks   *flux.Kustomization
}

// pair is a Kustomization on both sides (either may be nil).
type pair struct {
	id         flux.NamespacedName
	base, head *flux.Kustomization
	root       bool
}

func (w *walk) run(roots []string) error {
	baseRoots, berr := w.base.s.Roots(roots)
	headRoots, herr := w.head.s.Roots(roots)
	if herr != nil {
		w.res.Findings = append(w.res.Findings, check.Finding{Rule: check.RuleRoot, Severity: check.SeverityError,
			Message: herr.Error() + "; nothing was rendered", Fix: check.Rules[check.RuleRoot].Fix})
		return nil
	}
	if berr != nil {
		// A repository that gains its root: everything is new.
		baseRoots = nil
	}
	level := pairUp(baseRoots, headRoots)
	for i := range level {
		level[i].root = true
	}
	// A Kustomization is visited once, however many times the tree
	// declares it (one may even build itself).
	seen := map[flux.NamespacedName]bool{}
	for len(level) > 0 {
		var fresh []pair
		for _, p := range level {
			if !seen[p.id] {
				seen[p.id] = true
				fresh = append(fresh, p)
			}
		}
		level = fresh
		type result struct {
			children []pair
		}
		results := make([]result, len(level))
		var wg sync.WaitGroup
		sem := make(chan struct{}, 4)
		for i := range level {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				results[i].children = w.visit(level[i])
			}()
		}
		wg.Wait()
		var next []pair
		for _, r := range results {
			next = append(next, r.children...)
		}
		if w.overBudget() {
			break
		}
		level = next
	}
	return nil
}

// pairUp pairs Kustomizations by namespace and name.
func pairUp(base, head []*flux.Kustomization) []pair {
	byID := map[flux.NamespacedName]*pair{}
	var order []flux.NamespacedName
	get := func(id flux.NamespacedName) *pair {
		p, ok := byID[id]
		if !ok {
			p = &pair{id: id}
			byID[id] = p
			order = append(order, id)
		}
		return p
	}
	for _, ks := range base {
		get(ks.ID()).base = ks
	}
	for _, ks := range head {
		get(ks.ID()).head = ks
	}
	sort.Slice(order, func(i, j int) bool { return order[i].String() < order[j].String() })
	out := make([]pair, len(order))
	for i, id := range order {
		out[i] = *byID[id]
	}
	return out
}

// affected reports whether a child pair can render differently.
func (w *walk) affected(p pair) bool {
	if p.base == nil || p.head == nil {
		return true
	}
	if p.base.External && p.head.External {
		return false
	}
	a, _ := json.Marshal(p.base.Object.Object)
	b, _ := json.Marshal(p.head.Object.Object)
	if !bytes.Equal(a, b) {
		return true
	}
	for _, c := range w.changed {
		if w.base.s.Reads(p.base, c) || w.head.s.Reads(p.head, c) {
			return true
		}
	}
	return false
}

// visit renders a pair when the change can reach it, records what differs,
// and returns its children to visit.
func (w *walk) visit(p pair) []pair {
	if w.reachesSkipped(p) {
		w.mu.Lock()
		w.res.incomplete = true
		w.mu.Unlock()
		return nil
	}
	w.mu.Lock()
	w.visited = append(w.visited, visitedKS{w.base, p.base}, visitedKS{w.head, p.head})
	w.mu.Unlock()
	affected := p.root || w.affected(p)
	if !affected {
		// Its output is the same on both sides; only a child it declares
		// can still be reached by the change, through its own folder.
		if !w.head.s.MayDeclareKustomizations(p.head) && !w.base.s.MayDeclareKustomizations(p.base) {
			return nil
		}
	}
	var br, hr *flux.Rendered
	var berr, herr error
	var bWhole, hWhole bool
	narrow := p.root || (p.base != nil && p.head != nil)
	render := func(sd side, ks *flux.Kustomization) (*flux.Rendered, bool, error) {
		if ks == nil || ks.External {
			return nil, false, nil
		}
		if w.overBudget() {
			return nil, false, errBudget
		}
		// A Kustomization on both sides whose folder Flux generates a
		// kustomization for renders only the sub-folders holding a
		// change: a root, or the apps folder below the old template's
		// root. One that is added or removed renders whole.
		if narrow {
			return sd.s.RenderFolders(ks, w.changed)
		}
		r, err := sd.s.Render(ks)
		return r, true, err
	}
	br, bWhole, berr = render(w.base, p.base)
	hr, hWhole, herr = render(w.head, p.head)
	if narrow && br != nil && hr != nil && bWhole != hWhole {
		// Both sides must cover the same folders.
		br, berr = w.base.s.Render(p.base)
		hr, herr = w.head.s.Render(p.head)
	}
	w.spend(br)
	w.spend(hr)
	if w.opts.skipped != nil && (berr != nil || herr != nil || missesSource(br) || missesSource(hr)) {
		w.mu.Lock()
		w.res.incomplete = true
		w.mu.Unlock()
		return nil
	}
	if berr == errBudget || herr == errBudget {
		return nil
	}

	kd := &KustomizationDiff{ID: p.id.String(), Cluster: w.cluster}
	switch {
	case p.head != nil:
		kd.Path = p.head.Path
	case p.base != nil:
		kd.Path = p.base.Path
	}
	if p.base == nil {
		kd.Change = Added
	} else if p.head == nil {
		kd.Change = Removed
	}
	if berr != nil {
		kd.BaseError = renderMessage(berr)
	}
	if herr != nil {
		kd.HeadError = renderMessage(herr)
		var unsafe *flux.UnsafeError
		if errors.As(herr, &unsafe) {
			for _, pr := range unsafe.Problems {
				rule := check.RuleRemote
				switch pr.Kind {
				case flux.ProblemEscape, flux.ProblemAbsolute:
					rule = check.RulePathEscape
				case flux.ProblemExec:
					rule = check.RuleExec
				}
				w.addFinding(check.Finding{Rule: rule, Severity: check.SeverityError, File: pr.File, Message: pr.String(), Fix: check.Rules[rule].Fix, Kustomization: kd.ID})
			}
		}
	}
	// When the head does not render, what it would apply is unknown: its
	// objects are not compared (they are not removed; Flux stops applying
	// the Kustomization and keeps what it applied before).
	if affected && herr == nil {
		pairs := pairObjects(objectsOf(br), objectsOf(hr))
		for _, op := range pairs {
			if d := op.diff(); d != nil {
				kd.Objects = append(kd.Objects, d)
			}
		}
		w.record(pairs, br, hr)
	}
	if affected && (len(kd.Objects) > 0 || kd.BaseError != "" || kd.HeadError != "" || kd.Change != "") {
		if kd.BaseError == "" || kd.HeadError == "" || kd.BaseError != kd.HeadError {
			w.addKustomization(kd)
		}
	}

	var bc, hc []*flux.Kustomization
	if br != nil {
		bc, _ = w.base.s.Children(br)
	}
	if hr != nil {
		hc, _ = w.head.s.Children(hr)
	}
	return pairUp(bc, hc)
}

func (w *walk) addFinding(f check.Finding) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.res.Findings = append(w.res.Findings, f)
}

func (w *walk) addKustomization(kd *KustomizationDiff) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.res.Kustomizations = append(w.res.Kustomizations, kd)
}

func (w *walk) record(pairs []objectPair, br, hr *flux.Rendered) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pairs = append(w.pairs, pairs...)
}

// spend accounts for a render.
func (w *walk) spend(r *flux.Rendered) {
	if r == nil {
		return
	}
	bytes, work := r.Cost()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.res.Rendered++
	w.objects += len(r.Objects)
	w.bytes += bytes
	w.work += work
}

// overBudget reports whether the renders so far passed a limit.
func (w *walk) overBudget() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	l := w.limits
	over := (l.MaxObjects > 0 && w.objects > l.MaxObjects) || (l.MaxRenderBytes > 0 && w.bytes > l.MaxRenderBytes) || (l.MaxRenderWork > 0 && w.work > l.MaxRenderWork)
	if over && !w.stopped {
		w.stopped = true
		w.res.Findings = append(w.res.Findings, check.Finding{Rule: check.RuleTooManyObjects, Severity: check.SeverityError,
			Message: "the renders passed a limit (objects, bytes read by builds, or builds too large); the diff stops here", Fix: check.Rules[check.RuleTooManyObjects].Fix})
	}
	return over
}

// errBudget marks a render skipped because a limit was passed.
var errBudget = errors.New("not rendered: a limit was passed")

// renderMessage shortens a render error for a comment.
func renderMessage(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, ": "); i > 0 && strings.HasPrefix(msg, "rendering ") {
		msg = msg[i+2:]
	}
	return msg
}

func objectsOf(r *flux.Rendered) []*flux.Object {
	if r == nil {
		return nil
	}
	return r.Objects
}

// objectPair is an object on both sides (either may be nil).
type objectPair struct {
	base, head *flux.Object
}

// objectKey identifies an object across revisions: API group (not
// version, which an upgrade may change), kind, namespace, name.
func objectKey(u *unstructured.Unstructured) string {
	group := u.GroupVersionKind().Group
	return group + "/" + u.GetKind() + "/" + u.GetNamespace() + "/" + u.GetName()
}

func pairObjects(base, head []*flux.Object) []objectPair {
	byKey := map[string]*objectPair{}
	var order []string
	get := func(k string) *objectPair {
		p, ok := byKey[k]
		if !ok {
			p = &objectPair{}
			byKey[k] = p
			order = append(order, k)
		}
		return p
	}
	for _, o := range base {
		get(objectKey(o.Unstructured)).base = o
	}
	for _, o := range head {
		get(objectKey(o.Unstructured)).head = o
	}
	out := make([]objectPair, len(order))
	for i, k := range order {
		out[i] = *byKey[k]
	}
	sort.SliceStable(out, func(i, j int) bool { return pairSortKey(out[i]) < pairSortKey(out[j]) })
	return out
}

func pairSortKey(p objectPair) string {
	o := p.head
	if o == nil {
		o = p.base
	}
	u := o.Unstructured
	return u.GetKind() + "\x00" + u.GetNamespace() + "\x00" + u.GetName()
}

// diff compares the pair, or returns nil when nothing changed.
func (p objectPair) diff() *ObjectDiff {
	var bu, hu *unstructured.Unstructured
	if p.base != nil {
		bu = p.base.Unstructured
	}
	if p.head != nil {
		hu = p.head.Unstructured
	}
	if bu != nil && hu != nil {
		a, _ := json.Marshal(bu.Object)
		b, _ := json.Marshal(hu.Object)
		if bytes.Equal(a, b) {
			return nil
		}
	}
	ref := hu
	origin := ""
	if p.head != nil {
		origin = p.head.Origin
	}
	if ref == nil {
		ref = bu
		origin = p.base.Origin
	}
	d := &ObjectDiff{APIVersion: ref.GetAPIVersion(), Kind: ref.GetKind(), Namespace: ref.GetNamespace(), Name: ref.GetName(), Origin: origin}
	switch {
	case bu == nil:
		d.Change = Added
	case hu == nil:
		d.Change = Removed
	default:
		d.Change = Changed
	}
	rb, rh, redacted := redactPair(p.base, p.head)
	d.Redacted = redacted
	d.Diff = unified(yamlOf(rb), yamlOf(rh), "a/"+d.ID(), "b/"+d.ID())
	if ref.GetKind() == "HelmRelease" && strings.HasPrefix(ref.GetAPIVersion(), "helm.toolkit.fluxcd.io/") && d.Change == Changed {
		bv, _, _ := unstructured.NestedFieldNoCopy(rb, "spec", "values")
		hv, _, _ := unstructured.NestedFieldNoCopy(rh, "spec", "values")
		d.ValuesDiff = unified(valuesYAML(bv), valuesYAML(hv), "a/values.yaml", "b/values.yaml")
		d.Chart = chartBump(bu, hu)
		if d.ValuesDiff != "" && sameOutsideValues(rb, rh) {
			// The values diff says it all.
			d.Diff = ""
		}
	}
	if ref.GetKind() == "OCIRepository" && d.Change == Changed {
		ociBump(d, bu, hu)
	}
	return d
}

// chartBump compares a HelmRelease's spec.chart.spec.version.
func chartBump(b, h *unstructured.Unstructured) *ChartBump {
	bv, _, _ := unstructured.NestedString(b.Object, "spec", "chart", "spec", "version")
	hv, _, _ := unstructured.NestedString(h.Object, "spec", "chart", "spec", "version")
	if bv == hv {
		return nil
	}
	name, _, _ := unstructured.NestedString(h.Object, "spec", "chart", "spec", "chart")
	return &ChartBump{Chart: name, From: bv, To: hv}
}

// ociBump reports an OCIRepository's tag or semver change as a chart bump.
func ociBump(d *ObjectDiff, b, h *unstructured.Unstructured) {
	for _, field := range []string{"tag", "semver", "digest"} {
		bv, _, _ := unstructured.NestedString(b.Object, "spec", "ref", field)
		hv, _, _ := unstructured.NestedString(h.Object, "spec", "ref", field)
		if bv != hv {
			url, _, _ := unstructured.NestedString(h.Object, "spec", "url")
			d.Chart = &ChartBump{Chart: path.Base(url), From: bv, To: hv}
			return
		}
	}
}

// sameOutsideValues reports whether two HelmReleases differ only in
// spec.values.
func sameOutsideValues(a, b map[string]any) bool {
	strip := func(m map[string]any) []byte {
		c := runtime.DeepCopyJSON(m)
		if spec, ok := c["spec"].(map[string]any); ok {
			delete(spec, "values")
		}
		out, _ := json.Marshal(c)
		return out
	}
	return bytes.Equal(strip(a), strip(b))
}

// reachesSkipped reports whether a Kustomization builds a folder the
// snapshots left out.
func (w *walk) reachesSkipped(p pair) bool {
	if w.opts.skipped == nil {
		return false
	}
	for _, ks := range []*flux.Kustomization{p.base, p.head} {
		if ks == nil || ks.External {
			continue
		}
		for dir := ks.Path; dir != "" && dir != "."; dir = path.Dir(dir) {
			if w.opts.skipped(dir) {
				return true
			}
		}
	}
	return false
}

// missesSource reports a render that did not find a substitution source.
func missesSource(r *flux.Rendered) bool {
	if r == nil {
		return false
	}
	for _, f := range r.Findings {
		if f.Code == flux.FindingMissingSource {
			return true
		}
	}
	return false
}
