package check

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"runtime"
	"sort"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/gen-gitops/gen/internal/flux"
	"github.com/gen-gitops/gen/internal/repo"
	"github.com/gen-gitops/gen/internal/schema"
)

// Options adjust a check.
type Options struct {
	// Roots are the files holding the root Flux Kustomizations (or the
	// folder a Flux installation syncs) of the one cluster to check,
	// instead of the clusters the repository model finds (or .gen.yaml
	// names).
	Roots []string
	// Disable lists rule ids not to report.
	Disable []string
	// Limits bound the work; the zero value means DefaultLimits.
	Limits Limits
	// Domains maps domain variables to their domains (from --domain), so
	// that literal hostnames can be placed on a domain.
	Domains map[string]string
	// Cluster narrows the check to the cluster of that name, in a
	// repository of several ("" checks every cluster).
	Cluster string
	// Verbose reports every finding of a rule the repository does not
	// follow, instead of one summary per such rule.
	Verbose bool
}

// Run checks a repository snapshot. The error is nil unless the options
// are wrong (an unknown rule id); everything about the repository is a
// finding.
func Run(snap *Snapshot, opts Options) (*Report, error) {
	for _, id := range opts.Disable {
		if _, ok := Rules[id]; !ok {
			return nil, fmt.Errorf("unknown rule %q; the rules are %s", id, strings.Join(RuleIDs(), ", "))
		}
	}
	l := opts.Limits
	if l == (Limits{}) {
		l = DefaultLimits()
	}
	c := &checker{opts: opts, limits: l}
	c.findings = append(c.findings, snap.Findings...)

	// 1. Every YAML file once: syntax, aliases, depth.
	sc := scanFiles(snap.Files, l)
	c.findings = append(c.findings, sc.findings...)
	c.docs = sc.docs
	c.files = make(flux.Files, len(snap.Files))
	for p, data := range snap.Files {
		if !sc.hostile[p] {
			c.files[p] = data
		}
	}
	c.lines = newLines(c.files)

	// 2. Each cluster: its model, the render of its tree, strict decoding
	// and the contract. Clusters are checked one by one, so two roots of
	// the same name (flux-system/cluster-apps in each) stay apart; a
	// finding in a base they share is reported once.
	clusters, err := c.clusters()
	if err != nil {
		return nil, err
	}
	for _, cl := range clusters {
		c.checkCluster(cl)
	}
	c.files = nil
	return c.report(snap), nil
}

// checker holds one check's state.
type checker struct {
	opts   Options
	limits Limits

	files    flux.Files
	docs     []document
	model    *repo.Repo
	lines    *lines
	tree     *flux.Tree
	findings []Finding

	// buildFailed is set when some Kustomization did not build: rules
	// that need the whole repository's objects stay quiet.
	buildFailed bool
	// objects are every rendered object with the Kustomization that
	// rendered it.
	objects []rendered

	// artifactFiles are the files source-controller's artifact holds
	// (flux.ArtifactFiles), what the renders read.
	artifactFiles flux.Files

	// remoteOff is where remote bases are turned off (noRemoteBases).
	remoteOnce sync.Once
	remoteOff  string

	// clusters and the counts of what was rendered, over every cluster.
	clusterInfos                              []ClusterInfo
	kustomizations, built, notBuilt, nObjects int
}

// rendered is one rendered object and its Kustomization.
type rendered struct {
	ks *flux.Kustomization
	o  *flux.Object
}

func (c *checker) add(f ...Finding) { c.findings = append(c.findings, f...) }

// ksLine returns the line of a Kustomization's declaration.
func (c *checker) ksLine(ks *flux.Kustomization) int {
	if ks.SourceFile == "" {
		return 0
	}
	return c.lines.docLine(ks.SourceFile, "Kustomization", ks.Name)
}

// ksFinding makes a finding located at a Kustomization's declaration.
func (c *checker) ksFinding(rule string, ks *flux.Kustomization, field, format string, args ...any) Finding {
	line := 0
	if ks.SourceFile != "" {
		if field != "" {
			line = c.lines.fieldLine(ks.SourceFile, "Kustomization", ks.Name, field)
		} else {
			line = c.ksLine(ks)
		}
	}
	f := newFinding(rule, ks.SourceFile, line, format, args...)
	f.Kustomization = ks.ID().String()
	f.Object = ks.String()
	return f
}

func (c *checker) render(roots []string) {
	for _, r := range roots {
		clean := strings.TrimPrefix(path.Clean(r), "./")
		if _, ok := c.files[clean]; !ok && !flux.IsFolder(c.files, clean) {
			c.add(newFinding(RuleRoot, r, 0, "root file %q not found in the repository; nothing was rendered", r))
			return
		}
	}
	tree, err := flux.RenderAll(c.artifact(), roots, flux.TreeOptions{
		RenderOptions: c.renderOptions(),
		MaxObjects:    c.limits.MaxObjects,
		MaxInputBytes: c.limits.MaxRenderBytes,
		MaxWork:       c.limits.MaxRenderWork,
	})
	if err != nil {
		c.add(newFinding(RuleRoot, roots[0], 0, "%v", err))
		return
	}
	c.tree = tree
	if tree.Truncated {
		c.buildFailed = true
		c.add(newFinding(RuleTooManyObjects, "", 0, "rendering stopped at a limit (%d objects, %d bytes read by builds, or builds too large); some Kustomizations were not rendered", c.limits.MaxObjects, c.limits.MaxRenderBytes))
	}
	for _, e := range tree.Errors {
		c.buildFailed = true
		c.renderError(e)
	}
	for i, ks := range tree.Kustomizations {
		if ks.External {
			what := ks.Path
			if what == "" || what == "." {
				what = "the root"
			}
			c.add(c.ksFinding(RuleNotBuilt, ks, "spec.sourceRef", "builds %s from %s, not from this repository; it is not checked", what, ks.SourceRef))
			continue
		}
		r := tree.Rendered[i]
		if r == nil {
			continue
		}
		for _, o := range r.Objects {
			c.objects = append(c.objects, rendered{ks, o})
		}
	}
	// Secrets that ExternalSecrets make in the cluster: substitution
	// sources the repository does not hold, rightly.
	external := map[string]bool{}
	for _, ro := range c.objects {
		u := ro.o.Unstructured
		if u.GetKind() == "ExternalSecret" && strings.HasPrefix(u.GetAPIVersion(), "external-secrets.io/") {
			name, _, _ := unstructured.NestedString(u.Object, "spec", "target", "name")
			if name == "" {
				name = u.GetName()
			}
			external[u.GetNamespace()+"/"+name] = true
		}
	}
	for i, ks := range tree.Kustomizations {
		r := tree.Rendered[i]
		if r == nil {
			continue
		}
		// When a source is missing, its variables are unknown: a variable
		// gen cannot find may well be in it.
		unknown := false
		for _, f := range r.Findings {
			if f.Code == flux.FindingMissingSource {
				unknown = true
			}
		}
		for _, f := range r.Findings {
			switch {
			case f.Code == flux.FindingUndefinedVar && unknown:
			case f.Code == flux.FindingMissingSource && external[ks.Namespace+"/"+f.Source]:
			default:
				c.fluxFinding(ks, f)
			}
		}
	}
}

// renderOptions gives the renderer the domain values known from --domain
// or .gen.yaml; every other variable comes from the sources the repository
// renders, as in the cluster.
func (c *checker) renderOptions() flux.RenderOptions {
	opts := flux.RenderOptions{}
	if c.model == nil {
		return opts
	}
	for _, d := range c.model.Domains {
		if d.Value != "" {
			if opts.Vars == nil {
				opts.Vars = map[string]string{}
			}
			opts.Vars[d.Var] = d.Value
		}
	}
	return opts
}

// artifact returns the files a render reads: those source-controller
// puts in the artifact, without CI files or what .sourceignore ignores.
func (c *checker) artifact() flux.Files {
	if c.artifactFiles == nil {
		c.artifactFiles = flux.ArtifactFiles(c.files)
	}
	return c.artifactFiles
}

// noRemoteBases returns where the repository turns kustomize-controller's
// remote bases off (a --no-remote-bases=true argument, in the patches of a
// FluxInstance or of flux bootstrap's kustomization), as file:line; "" when
// it does not.
func (c *checker) noRemoteBases() string {
	c.remoteOnce.Do(func() {
		const flag = "--no-remote-bases=true"
		var files []string
		for p, data := range c.files {
			if bytes.Contains(data, []byte(flag)) {
				files = append(files, p)
			}
		}
		sort.Strings(files)
		for _, p := range files {
			for i, line := range strings.Split(string(c.files[p]), "\n") {
				if t := strings.TrimSpace(line); strings.Contains(t, flag) && !strings.HasPrefix(t, "#") {
					c.remoteOff = fmt.Sprintf("%s:%d", p, i+1)
					return
				}
			}
		}
	})
	return c.remoteOff
}

func (c *checker) renderError(e *flux.RenderError) {
	ks := e.Kustomization
	var unsafe *flux.UnsafeError
	if errors.As(e.Err, &unsafe) {
		for _, p := range unsafe.Problems {
			rule := RuleRemote
			switch p.Kind {
			case flux.ProblemEscape, flux.ProblemAbsolute:
				rule = RulePathEscape
			case flux.ProblemExec:
				rule = RuleExec
			}
			line := c.lines.textLine(p.File, "", "", p.Ref)
			var f Finding
			if rule == RuleRemote {
				// kustomize-controller fetches remote bases unless it runs
				// with --no-remote-bases=true: only then does Flux fail too.
				if where := c.noRemoteBases(); where != "" {
					f = newFinding(rule, p.File, line, "%s entry %q is remote, and kustomize-controller runs with --no-remote-bases=true (%s), so Flux fails to build %s too",
						p.Field, p.Ref, where, ks)
					f.Severity = SeverityError
				} else {
					f = newFinding(rule, p.File, line, "%s entry %q is remote; gen does not fetch it, so %s (path %s) was not checked",
						p.Field, p.Ref, ks, specPath(ks))
				}
			} else {
				f = newFinding(rule, p.File, line, "%s entry %q: %s; %s was not built",
					p.Field, p.Ref, strings.TrimPrefix(p.String(), fmt.Sprintf("%s: %s entry %q ", p.File, p.Field, p.Ref)), ks)
			}
			f.Kustomization = ks.ID().String()
			c.add(f)
		}
		return
	}
	msg := e.Err.Error()
	if strings.Contains(msg, "kustomization path not found") {
		c.add(c.ksFinding(RulePathNotFound, ks, "spec.path", "spec.path %q is not a folder of the repository", specPath(ks)))
		return
	}
	msg = strings.TrimPrefix(msg, "rendering "+ks.String()+": ")
	c.add(c.ksFinding(RuleBuild, ks, "", "does not build: %s", msg))
}

func specPath(ks *flux.Kustomization) string {
	if ks.Object == nil {
		return ks.Path
	}
	spec, _ := ks.Object.Object["spec"].(map[string]any)
	p, _ := spec["path"].(string)
	return p
}

// escapesRoot reports whether a spec.path climbs above the repository root
// (the controller stops it at the root; it is still wrong).
func escapesRoot(p string) bool {
	depth := 0
	for _, part := range strings.Split(p, "/") {
		switch part {
		case "", ".":
		case "..":
			depth--
			if depth < 0 {
				return true
			}
		default:
			depth++
		}
	}
	return false
}

func (c *checker) fluxFinding(ks *flux.Kustomization, f flux.Finding) {
	var out Finding
	switch f.Code {
	case flux.FindingUndefinedVar:
		kind, name := splitObjectID(f.Object)
		out = newFinding(RuleUndefinedVar, f.File, c.lines.textLine(f.File, kind, name, "${"+f.Var), "%s", f.Message)
		if f.Severity == flux.SeverityWarning {
			out.Severity = SeverityWarning
		}
	case flux.FindingNoDecryption:
		kind, name := splitObjectID(f.Object)
		out = newFinding(RuleDecryption, f.File, c.lines.docLine(f.File, kind, name), "%s", f.Message)
	case flux.FindingMissingSource:
		out = c.ksFinding(RuleSubstituteFrom, ks, "spec.postBuild.substituteFrom", "%s", f.Message)
	default:
		out = newFinding(RuleBuild, f.File, 0, "%s", f.Message)
	}
	out.Object = f.Object
	out.Kustomization = ks.ID().String()
	c.add(out)
}

// splitObjectID splits "Kind namespace/name" into the kind and the name.
func splitObjectID(id string) (kind, name string) {
	kind, rest, _ := strings.Cut(id, " ")
	if i := strings.LastIndex(rest, "/"); i >= 0 {
		rest = rest[i+1:]
	}
	return kind, rest
}

// decode decodes every rendered object strictly, in parallel.
func (c *checker) decode() {
	type result struct {
		err error
	}
	results := make([]result, len(c.objects))
	var wg sync.WaitGroup
	next := make(chan int, 64)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				_, err := schema.Decode(c.objects[i].o.Unstructured)
				results[i] = result{err}
			}
		}()
	}
	for i := range c.objects {
		next <- i
	}
	close(next)
	wg.Wait()
	for i, r := range results {
		if r.err == nil {
			continue
		}
		ro := c.objects[i]
		u := ro.o.Unstructured
		var se *schema.Error
		if !errors.As(r.err, &se) {
			f := newFinding(RuleSchema, ro.o.Origin, c.lines.docLine(ro.o.Origin, u.GetKind(), u.GetName()), "%v", r.err)
			f.Object, f.Kustomization = ro.o.ID(), ro.ks.ID().String()
			c.add(f)
			continue
		}
		for _, fe := range se.Fields {
			line := c.lines.docLine(ro.o.Origin, u.GetKind(), u.GetName())
			if fe.Path != "" {
				line = c.lines.fieldLine(ro.o.Origin, u.GetKind(), u.GetName(), fe.Path)
			}
			msg := fe.Problem
			if fe.Path != "" {
				msg = fe.Path + ": " + fe.Problem
			}
			f := newFinding(RuleSchema, ro.o.Origin, line, "%s %s: %s", u.GetAPIVersion(), u.GetKind(), msg)
			f.Object, f.Kustomization = ro.o.ID(), ro.ks.ID().String()
			c.add(f)
		}
	}
}

// report filters, sorts and counts the findings.
func (c *checker) report(snap *Snapshot) *Report {
	disabled := map[string]bool{}
	for _, id := range c.opts.Disable {
		disabled[id] = true
	}
	ignoreCache := map[string]*ignores{}
	rep := &Report{}
	for _, f := range c.findings {
		if disabled[f.Rule] {
			continue
		}
		if f.File != "" {
			ig, ok := ignoreCache[f.File]
			if !ok {
				ig = parseIgnores(snap.Files[f.File])
				ignoreCache[f.File] = ig
			}
			if ig.covers(f.Rule, f.Line) {
				rep.Summary.Ignored++
				continue
			}
		}
		rep.Findings = append(rep.Findings, f)
	}
	rep.Findings = sortFindings(rep.Findings)
	if !c.opts.Verbose {
		rep.Findings = groupFindings(rep.Findings)
	}
	if rep.Findings == nil {
		rep.Findings = []Finding{}
	}
	rep.Summary.Files = len(snap.Files)
	rep.Summary.Objects = c.nObjects
	rep.Summary.Kustomizations = c.kustomizations
	rep.Summary.Built = c.built
	rep.Summary.NotBuilt = c.notBuilt
	rep.Clusters = c.clusterInfos
	rep.count()
	return rep
}

// groupFindings replaces each group of two or more findings of a rule the
// repository does not follow by one summary finding, after the others.
func groupFindings(in []Finding) []Finding {
	count := map[string]int{}
	for _, f := range in {
		if f.Group != "" {
			count[f.Group]++
		}
	}
	done := map[string]bool{}
	out := in[:0:0]
	var summaries []Finding
	for _, f := range in {
		if f.Group == "" || count[f.Group] < 2 {
			out = append(out, f)
			continue
		}
		if done[f.Group] {
			continue
		}
		done[f.Group] = true
		_, summary, _ := strings.Cut(f.Group, "|")
		summaries = append(summaries, Finding{Rule: f.Rule, Severity: f.Severity, Message: summary + "; gen check --verbose lists them",
			Fix: Rules[f.Rule].Fix, Group: f.Group, Findings: count[f.Group]})
	}
	// Summaries have no file: they go last, as sortFindings puts such
	// findings.
	return append(out, summaries...)
}

// kustomizationsByID indexes the tree.
func (c *checker) kustomizationsByID() map[flux.NamespacedName]*flux.Kustomization {
	out := map[flux.NamespacedName]*flux.Kustomization{}
	for _, ks := range c.tree.Kustomizations {
		out[ks.ID()] = ks
	}
	return out
}

func sortedStrings(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}
