package apps

import (
	"fmt"
	"path"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/gen-gitops/gen/generator"
	"github.com/gen-gitops/gen/scaffolds"
)

// Folder is one app's folder as a generator writes it: the files under
// app/, the list app/kustomization.yaml keeps of them, the Flux
// Kustomization in ks.yaml and the app's line in its namespace
// kustomization (or the namespace's files, for a new namespace). Add fills
// one from flags, promote from a scratch app.
type Folder struct {
	// Namespace and Name are the app's.
	Namespace string
	Name      string
	// Dir is the app's folder, NamespaceDir its namespace's.
	Dir          string
	NamespaceDir string
	// Changeset collects what is written.
	Changeset generator.Changeset
	// Resources are the entries of app/kustomization.yaml, in order.
	Resources []string
	// Route and DNS say the app has an HTTPRoute or a DNSEndpoint: its Flux
	// Kustomization then depends on the gateways' or external-dns's.
	Route bool
	DNS   bool
	// Needs are more Kustomizations the app depends on (the chute
	// operator's, for a Chute).
	Needs []generator.Ref

	r     *generator.Repo
	set   scaffolds.Set
	style generator.Style
}

// NewFolder returns the empty folder of app namespace/name in r: inside
// the namespace's folder when the namespace exists, else in a new one
// under the apps folder.
func NewFolder(r *generator.Repo, namespace, name string) *Folder {
	f := &Folder{Namespace: namespace, Name: name, r: r, set: generator.Scaffolds(r), style: generator.StyleOf(r)}
	if ns := r.Namespaces[namespace]; ns != nil {
		f.NamespaceDir = ns.Dir
	} else {
		f.NamespaceDir = path.Join(r.AppsDir, namespace)
	}
	f.Dir = path.Join(f.NamespaceDir, name)
	return f
}

// Style is the repository's style, which the folder's files follow.
func (f *Folder) Style() generator.Style { return f.style }

// File returns the path of name under the folder's app/.
func (f *Folder) File(name string) string { return path.Join(f.Dir, "app", name) }

// Render writes app/file from the scaffold tmpl and lists it.
func (f *Folder) Render(tmpl, file string, data any) error {
	out, err := f.set.Render(tmpl, data)
	if err != nil {
		return err
	}
	f.Add(file, out)
	return nil
}

// Add writes app/file with content and lists it.
func (f *Folder) Add(file string, content []byte) {
	f.Changeset.Add(f.File(file), content)
	f.Resources = append(f.Resources, file)
}

// WriteKustomization writes app/kustomization.yaml listing Resources.
func (f *Folder) WriteKustomization() error {
	out, err := f.set.Render("app-kustomization.yaml", map[string]any{
		"SchemaHeaders": f.style.SchemaHeaders, "Resources": f.Resources,
	})
	if err != nil {
		return err
	}
	f.Changeset.Add(f.File("kustomization.yaml"), out)
	return nil
}

// WriteKS writes ks.yaml: the app's Flux Kustomization, depending on what
// its route and DNS records need (DependsOnFor), on Needs and on
// dependsOn.
func (f *Folder) WriteKS(dependsOn []generator.Ref) error {
	deps := generator.DependsOnFor(f.r, f.Route, f.DNS)
	deps = append(deps, f.Needs...)
	deps = append(deps, dependsOn...)
	out, err := f.set.Render("ks.yaml", map[string]any{
		"SchemaHeaders":  f.style.SchemaHeaders,
		"Name":           f.Name,
		"KSNamespace":    f.style.KSNamespace,
		"Path":           path.Join(f.Dir, "app"),
		"SubstituteFrom": f.style.SubstituteFrom,
		"SourceRef":      f.style.SourceRef,
		"Namespace":      f.Namespace,
		"DependsOn":      uniqueRefs(deps),
	})
	if err != nil {
		return err
	}
	f.Changeset.Add(path.Join(f.Dir, "ks.yaml"), out)
	return nil
}

// Register lists the app in its namespace kustomization, or writes the
// namespace (namespace.yaml and a kustomization that brings in the
// cluster-secrets component) when it is new.
func (f *Folder) Register() error {
	entry := "./" + f.Name + "/ks.yaml"
	ns := f.r.Namespaces[f.Namespace]
	if ns == nil {
		var comps []string
		if f.r.SopsComponent != "" {
			rel, err := relPath(f.NamespaceDir, f.r.SopsComponent)
			if err != nil {
				return err
			}
			comps = append(comps, rel)
		}
		nsFile, err := f.set.Render("namespace.yaml", map[string]any{"Name": f.Namespace})
		if err != nil {
			return err
		}
		kfile, err := f.set.Render("namespace-kustomization.yaml", map[string]any{
			"SchemaHeaders": f.style.NamespaceHeaders, "Name": f.Namespace, "Components": comps, "Apps": []string{f.Name},
		})
		if err != nil {
			return err
		}
		// A namespace.yaml already there stays as it is: it may carry
		// labels and annotations the scaffold does not.
		if _, ok := f.r.Files[path.Join(f.NamespaceDir, "namespace.yaml")]; !ok {
			f.Changeset.Add(path.Join(f.NamespaceDir, "namespace.yaml"), nsFile)
		}
		f.Changeset.Add(path.Join(f.NamespaceDir, "kustomization.yaml"), kfile)
		return nil
	}
	data := f.r.Files[ns.Kustomization]
	out, changed, err := generator.AddResource(data, entry)
	if err != nil {
		return fmt.Errorf("registering %s in %q: %w", entry, ns.Kustomization, err)
	}
	if changed {
		f.Changeset.Add(ns.Kustomization, out)
	}
	return nil
}

// CheckNewNamespace refuses to scaffold a namespace whose folder already
// holds a kustomization that discovery could not use: gen would replace
// it, and every app it lists would be pruned by Flux. A kustomization that
// does not parse is named with the parser's line.
func (f *Folder) CheckNewNamespace() error {
	if f.r.Namespaces[f.Namespace] != nil {
		return nil
	}
	for _, name := range []string{"kustomization.yaml", "kustomization.yml", "Kustomization"} {
		p := path.Join(f.NamespaceDir, name)
		data, ok := f.r.Files[p]
		if !ok {
			continue
		}
		// The fields discovery reads (internal/repo's Kustomization).
		var k struct {
			APIVersion string   `yaml:"apiVersion"`
			Kind       string   `yaml:"kind"`
			Namespace  string   `yaml:"namespace"`
			Resources  []string `yaml:"resources"`
			Components []string `yaml:"components"`
		}
		if err := yaml.Unmarshal(data, &k); err != nil {
			return fmt.Errorf("%s: %s; gen cannot read this namespace kustomization and never replaces one: fix the file and run the command again", p, generator.YAMLProblem(data, err))
		}
		return fmt.Errorf("%s exists but does not make namespace %s (its namespace: field names another); fix it, or name the app by that namespace", p, f.Namespace)
	}
	return nil
}

// CheckName refuses an app name that another namespace's infrastructure
// app has (see generator.IsInfrastructure): a route or a dependsOn meant
// for that app would reach the new one.
func CheckName(r *generator.Repo, namespace, name string) error {
	for _, a := range r.AppsNamed(name) {
		if a.Namespace == namespace {
			continue
		}
		if generator.IsInfrastructure(r, a) {
			return fmt.Errorf("%s/%s: %q is the infrastructure app %s/%s; choose another name", namespace, name, name, a.Namespace, a.Name)
		}
	}
	return nil
}

// Backend is the Service, and its port, that an exposed hostname reaches.
type Backend struct {
	Service string
	Port    int
}

func uniqueRefs(in []generator.Ref) []generator.Ref {
	seen := map[generator.Ref]bool{}
	var out []generator.Ref
	for _, r := range in {
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out
}

// relPath returns the slash path of to relative to from.
func relPath(from, to string) (string, error) {
	fromParts := strings.Split(path.Clean(from), "/")
	toParts := strings.Split(path.Clean(to), "/")
	i := 0
	for i < len(fromParts) && i < len(toParts) && fromParts[i] == toParts[i] {
		i++
	}
	var parts []string
	for range fromParts[i:] {
		parts = append(parts, "..")
	}
	parts = append(parts, toParts[i:]...)
	if len(parts) == 0 {
		return ".", nil
	}
	return strings.Join(parts, "/"), nil
}
