package apps

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/gen-gitops/gen/generator"
	"github.com/gen-gitops/gen/generator/internal/yamlnode"
	"github.com/gen-gitops/gen/scaffolds"
)

// Image automation controllers: without both running, an ImagePolicy finds
// nothing and an ImageUpdateAutomation commits nothing.
const (
	imageReflectorController  = "image-reflector-controller"
	imageAutomationController = "image-automation-controller"
)

// Defaults of a new ImageUpdateAutomation when the repository has none to
// copy from: the interval and author of Flux's own documentation.
const (
	defaultAutomationInterval = "30m"
	defaultAuthorName         = "fluxcdbot"
	defaultAuthorEmail        = "fluxcdbot@users.noreply.github.com"
	defaultBranch             = "main"
)

// automationPlan is the ImageUpdateAutomation add-app writes for one app.
type automationPlan struct {
	// Source is the GitRepository it clones and pushes to; Namespace is
	// always set, as the automation lives in the app's namespace.
	Source      generator.SourceRef
	Branch      string
	AuthorName  string
	AuthorEmail string
	Interval    string
}

// writeImageAutomation writes app/imageupdateautomation.yaml unless an
// ImageUpdateAutomation in the app's namespace already updates its folder,
// or the user keeps one elsewhere (SkipImageAutomation).
func (g *adder) writeImageAutomation() error {
	own := g.f.File("imageupdateautomation.yaml")
	ns := g.o.Namespace
	covering, foreign := automationsCovering(g.r, g.f.Dir, ns, own)
	if covering != nil {
		return nil
	}
	if g.o.SkipImageAutomation {
		g.f.Changeset.Note("no ImageUpdateAutomation in the repository updates %s; --image-automation=false leaves that to yours: "+
			"it must live in namespace %s (an automation applies only the ImagePolicies of its own namespace) and its update.path must cover %s",
			g.f.Dir, ns, g.f.Dir)
		return nil
	}
	if foreign != nil {
		g.f.Changeset.Note("ImageUpdateAutomation %s/%s updates %s, but applies only the ImagePolicies of namespace %s; wrote one in %s",
			objectNamespace(g.r, *foreign), foreign.Name, g.f.Dir, objectNamespace(g.r, *foreign), ns)
	}
	plan, notes, err := planAutomation(g.r, g.f.style, ns, own)
	if err != nil {
		return err
	}
	for _, n := range notes {
		g.f.Changeset.Note("%s", n)
	}
	doc := automationDoc(g.o.Namespace, g.o.Name, "./"+g.f.Dir, plan)
	body, err := scaffolds.ToYAML(doc)
	if err != nil {
		return fmt.Errorf("writing imageupdateautomation.yaml: %w", err)
	}
	header := ""
	if g.f.style.SchemaHeaders {
		header = "# yaml-language-server: $schema=https://kubernetes-schemas.pages.dev/image.toolkit.fluxcd.io/imageupdateautomation_v1.json\n"
	}
	g.f.Changeset.Add(own, []byte("---\n"+header+body+"\n"))
	g.f.Resources = append(g.f.Resources, "imageupdateautomation.yaml")
	return nil
}

// automationDoc is the ImageUpdateAutomation of app ns/name, updating
// updatePath with the Setters strategy. It carries no namespace: like the
// app's other objects it takes the app's from its Flux Kustomization.
func automationDoc(ns, name, updatePath string, p automationPlan) *yaml.Node {
	source := yamlnode.MapOf("kind", yamlnode.Str(p.Source.Kind), "name", yamlnode.Str(p.Source.Name), "namespace", yamlnode.Str(p.Source.Namespace))
	// The subject names the app and lists what the policies picked; Flux
	// fills in the template, and its ${...} substitution leaves {{ }} alone.
	message := fmt.Sprintf("chore(%s): update %s/%s to{{range .Changed.Changes}} {{.NewValue}}{{end}}", name, ns, name)
	git := yamlnode.MapOf(
		"checkout", yamlnode.MapOf("ref", yamlnode.MapOf("branch", yamlnode.Str(p.Branch))),
		"commit", yamlnode.MapOf(
			"author", yamlnode.MapOf("email", yamlnode.Str(p.AuthorEmail), "name", yamlnode.Str(p.AuthorName)),
			"messageTemplate", yamlnode.SingleQuoted(message),
		),
		"push", yamlnode.MapOf("branch", yamlnode.Str(p.Branch)),
	)
	return yamlnode.MapOf(
		"apiVersion", yamlnode.Str(ImageAutomationAPIVersion),
		"kind", yamlnode.Str("ImageUpdateAutomation"),
		"metadata", yamlnode.MapOf("name", yamlnode.Str(name)),
		"spec", yamlnode.MapOf(
			"interval", yamlnode.Str(p.Interval),
			"sourceRef", source,
			"git", git,
			"update", yamlnode.MapOf("path", yamlnode.Str(updatePath), "strategy", yamlnode.Str("Setters")),
		),
	)
}

// imageAutomations returns the repository's ImageUpdateAutomations, in file
// order, leaving out those in the file skip.
func imageAutomations(r *generator.Repo, skip string) []generator.Object {
	var out []generator.Object
	for _, o := range r.Objects {
		if o.Kind == "ImageUpdateAutomation" && strings.HasPrefix(o.APIVersion, "image.toolkit.fluxcd.io/") && o.File != skip {
			out = append(out, o)
		}
	}
	return out
}

// automationsCovering finds an ImageUpdateAutomation with the Setters
// strategy whose update.path holds dir: covering is one in namespace ns,
// which applies the app's ImagePolicy; foreign is one in another namespace,
// which does not. The automation in the file skip (the one add-app writes
// itself) does not count, so that a rerun writes it again.
func automationsCovering(r *generator.Repo, dir, ns, skip string) (covering, foreign *generator.Object) {
	for _, o := range imageAutomations(r, skip) {
		if s := o.Str("spec", "update", "strategy"); s != "" && s != "Setters" {
			continue
		}
		if !pathCovers(o.Str("spec", "update", "path"), dir) {
			continue
		}
		o := o
		if objectNamespace(r, o) == ns {
			return &o, nil
		}
		if foreign == nil {
			foreign = &o
		}
	}
	return nil, foreign
}

// pathCovers reports whether an update.path (relative to the repository
// root; "" is the root) holds dir.
func pathCovers(p, dir string) bool {
	if p == "" {
		p = "."
	}
	p = strings.TrimPrefix(path.Clean(strings.TrimPrefix(p, "./")), "/")
	return p == "." || dir == p || strings.HasPrefix(dir+"/", p+"/")
}

// objectNamespace is the namespace an object of the repository lives in:
// that of the namespace folder holding its file (whose kustomization sets
// it), else its own metadata.namespace, else default.
func objectNamespace(r *generator.Repo, o generator.Object) string {
	return objectNamespaceOr(r, o, "default")
}

// objectNamespaceOr is objectNamespace with another fallback.
func objectNamespaceOr(r *generator.Repo, o generator.Object, fallback string) string {
	for _, ns := range r.Namespaces {
		if strings.HasPrefix(o.File, ns.Dir+"/") {
			return ns.Name
		}
	}
	if ns := o.Str("metadata", "namespace"); ns != "" {
		return ns
	}
	return fallback
}

// planAutomation chooses the GitRepository, branch, author and interval of
// a new ImageUpdateAutomation in namespace ns, as a careful human would:
// copy the repository's existing automations when there are any, else use
// the GitRepository Flux syncs the cluster from. notes tell the user what
// to check outside the repository.
func planAutomation(r *generator.Repo, style generator.Style, ns, skip string) (automationPlan, []string, error) {
	install := findFluxInstall(r)
	plan := automationPlan{Interval: defaultAutomationInterval, AuthorName: defaultAuthorName, AuthorEmail: defaultAuthorEmail}
	model, ok := modelAutomation(r, skip)
	if ok {
		plan.Source = generator.SourceRef{Kind: model.Str("spec", "sourceRef", "kind"), Name: model.Str("spec", "sourceRef", "name"), Namespace: model.Str("spec", "sourceRef", "namespace")}
		if plan.Source.Kind == "" {
			plan.Source.Kind = "GitRepository"
		}
		if plan.Source.Namespace == "" {
			plan.Source.Namespace = objectNamespace(r, model)
		}
		if v := model.Str("spec", "interval"); v != "" {
			plan.Interval = v
		}
		if e := model.Str("spec", "git", "commit", "author", "email"); e != "" {
			plan.AuthorEmail, plan.AuthorName = e, model.Str("spec", "git", "commit", "author", "name")
		}
	} else {
		plan.Source = style.SourceRef
		if plan.Source.Namespace == "" {
			plan.Source.Namespace = "flux-system"
		}
		if plan.Source.Kind != "GitRepository" {
			return plan, nil, fmt.Errorf("--image-policy: the cluster syncs from %s %s/%s, and image automation pushes only to a GitRepository; "+
				"add a GitRepository with write access and an ImageUpdateAutomation for %s yourself, and pass --image-automation=false",
				plan.Source.Kind, plan.Source.Namespace, plan.Source.Name, ns)
		}
	}
	if plan.Source.Namespace != ns && install.NoCrossNamespaceRefs != "" {
		return plan, nil, fmt.Errorf("--image-policy: Flux runs with --no-cross-namespace-refs (%s), so an ImageUpdateAutomation in namespace %s "+
			"cannot use GitRepository %s/%s; add a GitRepository with write access in namespace %s and an ImageUpdateAutomation there, "+
			"and pass --image-automation=false", install.NoCrossNamespaceRefs, ns, plan.Source.Namespace, plan.Source.Name, ns)
	}
	assumed := ""
	branch, found := gitRepositoryBranch(r, plan.Source)
	switch {
	case found && branch != "":
		plan.Branch = branch
	case plan.Source.Namespace == install.SyncNamespace && plan.Source.Name == install.SyncName && install.SyncBranch != "":
		plan.Branch = install.SyncBranch
	case ok && model.Str("spec", "git", "push", "branch") != "":
		plan.Branch = model.Str("spec", "git", "push", "branch")
	default:
		plan.Branch = defaultBranch
		assumed = fmt.Sprintf(" (%s is a guess: the repository does not say which branch it tracks)", defaultBranch)
	}
	if ok {
		var notes []string
		if assumed != "" {
			notes = append(notes, fmt.Sprintf("the ImageUpdateAutomation pushes to branch %s of GitRepository %s/%s%s",
				plan.Branch, plan.Source.Namespace, plan.Source.Name, assumed))
		}
		return plan, notes, nil
	}
	notes := []string{
		fmt.Sprintf("the ImageUpdateAutomation pushes to branch %s of GitRepository %s/%s%s: "+
			"its secretRef must hold credentials with write access (a deploy key allowed to write, or a token allowed to push)",
			plan.Branch, plan.Source.Namespace, plan.Source.Name, assumed),
		install.controllersNote(),
	}
	return plan, notes, nil
}

// modelAutomation picks the existing ImageUpdateAutomation to copy: of
// those pointing at the most used source, the first by file.
func modelAutomation(r *generator.Repo, skip string) (generator.Object, bool) {
	all := imageAutomations(r, skip)
	if len(all) == 0 {
		return generator.Object{}, false
	}
	key := func(o generator.Object) string {
		ns := o.Str("spec", "sourceRef", "namespace")
		if ns == "" {
			ns = objectNamespace(r, o)
		}
		return ns + "/" + o.Str("spec", "sourceRef", "name")
	}
	count := map[string]int{}
	for _, o := range all {
		count[key(o)]++
	}
	// The most used source; of equally used ones, the first by name.
	keys := slices.SortedFunc(maps.Keys(count), func(a, b string) int {
		return cmp.Or(cmp.Compare(count[b], count[a]), strings.Compare(a, b))
	})
	for _, o := range all {
		if key(o) == keys[0] {
			return o, true
		}
	}
	return generator.Object{}, false
}

// gitRepositoryBranch returns the branch the GitRepository ref tracks, and
// whether the repository declares that GitRepository at all.
func gitRepositoryBranch(r *generator.Repo, ref generator.SourceRef) (string, bool) {
	for _, o := range r.Objects {
		if o.Kind != "GitRepository" || !strings.HasPrefix(o.APIVersion, "source.toolkit.fluxcd.io/") || o.Name != ref.Name || objectNamespace(r, o) != ref.Namespace {
			continue
		}
		if b := o.Str("spec", "ref", "branch"); b != "" {
			return b, true
		}
		if b, ok := strings.CutPrefix(o.Str("spec", "ref", "name"), "refs/heads/"); ok {
			return b, true
		}
		return "", true
	}
	return "", false
}

// fluxInstall is what the repository says about how Flux is installed.
type fluxInstall struct {
	// Source is where the controllers are chosen ("" when the repository
	// holds no Flux installation gen recognises); Fix is how to add one.
	Source string
	Fix    string
	// Components are the controllers it installs.
	Components map[string]bool
	// SyncNamespace, SyncName and SyncBranch describe the GitRepository
	// the installation syncs the cluster from.
	SyncNamespace, SyncName, SyncBranch string
	// NoCrossNamespaceRefs names the file that turns on Flux's
	// --no-cross-namespace-refs lockdown ("" when none does).
	NoCrossNamespaceRefs string
}

// findFluxInstall reads the Flux installation from a flux-instance
// HelmRelease (values.instance), a FluxInstance, a values file of the
// flux-instance chart, or the gotk-components.yaml of flux bootstrap.
func findFluxInstall(r *generator.Repo) fluxInstall {
	var in fluxInstall
	instance := func(o generator.Object, prefix []string, where string) {
		get := func(p ...string) any { return o.Get(append(append([]string{}, prefix...), p...)...) }
		in.Source = o.File
		in.Fix = fmt.Sprintf("add %s and %s to %s in %s", imageReflectorController, imageAutomationController, where+".components", o.File)
		in.Components = map[string]bool{}
		if list, ok := get("components").([]any); ok {
			for _, c := range list {
				if s, ok := c.(string); ok {
					in.Components[s] = true
				}
			}
		} else {
			// The chart and the operator install four controllers by
			// default, neither image controller among them.
			in.Fix = fmt.Sprintf("set %s in %s to the four default controllers (source, kustomize, helm, notification) plus %s and %s",
				where+".components", o.File, imageReflectorController, imageAutomationController)
		}
		if mt, _ := get("cluster", "multitenant").(bool); mt && in.NoCrossNamespaceRefs == "" {
			in.NoCrossNamespaceRefs = o.File + ": " + where + ".cluster.multitenant"
		}
		sync, _ := get("sync").(map[string]any)
		if kind, _ := sync["kind"].(string); sync != nil && (kind == "" || kind == "GitRepository") {
			// The operator creates the sync objects in its own namespace,
			// flux-system unless the repository says otherwise.
			ns := objectNamespaceOr(r, o, "flux-system")
			in.SyncNamespace, in.SyncName = ns, ns
			if name, _ := sync["name"].(string); name != "" {
				in.SyncName = name
			}
			ref, _ := sync["ref"].(string)
			if b, ok := strings.CutPrefix(ref, "refs/heads/"); ok {
				in.SyncBranch = b
			} else if ref != "" && !strings.HasPrefix(ref, "refs/") {
				in.SyncBranch = ref
			}
		}
	}
	gotk, gotkDeployments := "", map[string]bool{}
	for _, o := range r.Objects {
		switch {
		case o.Kind == "HelmRelease" && o.Get("spec", "values", "instance") != nil:
			instance(o, []string{"spec", "values", "instance"}, "spec.values.instance")
		case o.Kind == "FluxInstance":
			instance(o, []string{"spec"}, "spec")
		case o.Kind == "" && strings.Contains(o.File, "flux-instance") && o.Get("instance") != nil:
			instance(o, []string{"instance"}, "instance")
		case o.Kind == "Deployment" && path.Base(o.File) == "gotk-components.yaml":
			gotk = o.File
			gotkDeployments[o.Name] = true
		}
	}
	if in.Source == "" && gotk != "" {
		in.Source, in.Components = gotk, gotkDeployments
		in.Fix = fmt.Sprintf("rerun flux bootstrap with --components-extra=%s,%s", imageReflectorController, imageAutomationController)
	}
	for _, f := range slices.Sorted(maps.Keys(r.Files)) {
		if in.NoCrossNamespaceRefs != "" {
			break
		}
		if setsNoCrossNamespaceRefs(f, r.Files[f]) {
			in.NoCrossNamespaceRefs = f
		}
	}
	return in
}

// noCrossNamespaceRefs is the controllers' lockdown flag.
const noCrossNamespaceRefs = "--no-cross-namespace-refs"

// setsNoCrossNamespaceRefs reports whether a YAML or JSON file passes the
// lockdown flag (not "=false") in one of its values: a container argument,
// a JSON patch adding one, or such a patch inline in a kustomization.
// Comments, in the file or in a patch held in a string, do not count.
func setsNoCrossNamespaceRefs(file string, data []byte) bool {
	switch path.Ext(file) {
	case ".yaml", ".yml", ".json":
	default:
		return false
	}
	if !bytes.Contains(data, []byte(noCrossNamespaceRefs)) {
		return false
	}
	found := false
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for !found {
		var doc any
		if err := dec.Decode(&doc); err != nil {
			if !errors.Is(err, io.EOF) {
				// Unreadable as YAML: whatever reads it, the flag is
				// there in the text.
				return true
			}
			break
		}
		walkStrings(doc, func(s string) {
			for _, line := range strings.Split(s, "\n") {
				line = strings.TrimSpace(line)
				if strings.HasPrefix(line, "#") {
					continue
				}
				for rest := line; ; {
					i := strings.Index(rest, noCrossNamespaceRefs)
					if i < 0 {
						break
					}
					rest = rest[i+len(noCrossNamespaceRefs):]
					if v, ok := strings.CutPrefix(rest, "="); ok {
						// A boolean flag takes its value after "=" only.
						v, _, _ = strings.Cut(v, " ")
						if on, err := strconv.ParseBool(strings.Trim(v, `"',]`)); err == nil && !on {
							continue
						}
					}
					found = true
				}
			}
		})
	}
	return found
}

// controllersNote says whether the image controllers run, as far as the
// repository tells.
func (in fluxInstall) controllersNote() string {
	if in.Source == "" {
		return fmt.Sprintf("make sure %s and %s run in the cluster: gen found no Flux installation in the repository to check",
			imageReflectorController, imageAutomationController)
	}
	var missing []string
	for _, c := range []string{imageReflectorController, imageAutomationController} {
		if !in.Components[c] {
			missing = append(missing, c)
		}
	}
	if len(missing) == 0 {
		return fmt.Sprintf("%s and %s are enabled in %s", imageReflectorController, imageAutomationController, in.Source)
	}
	return fmt.Sprintf("%s does not run %s, so no new tag will be found or committed: %s",
		in.Source, strings.Join(missing, " or "), in.Fix)
}
