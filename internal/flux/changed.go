package flux

import (
	"errors"
	"path"
	"strings"

	"sigs.k8s.io/yaml"
)

// RenderChanged renders only what a change can affect, without rendering
// the whole tree: the root Kustomizations (whose output lists every child
// Kustomization), then, level by level, each child declared in a changed
// file or whose path holds a changed file. It is the quick check behind a
// command that writes a few files; Discover and Affected are the thorough
// one.
//
// It returns the renders in order, parents first, and the Kustomizations
// found on the way (rendered or not), so a caller can check that a new
// Kustomization is registered where Flux will find it.
func RenderChanged(files Files, roots []string, changed []string, opts RenderOptions) ([]*Rendered, []*Kustomization, error) {
	if len(roots) == 0 {
		roots = []string{DefaultRoot}
	}
	snap := newSnapshot(files)
	clean := snap.idx.files
	queue, err := readRoots(clean, roots)
	if err != nil {
		return nil, nil, err
	}
	// The ConfigMaps and Secrets of each render are variable sources for
	// the renders below it, as in a whole walk (a root folder's ConfigMap
	// of cluster variables, say).
	d := &discovery{sources: map[string]*varSource{}, builds: map[*Kustomization]*cacheEntry{}, partial: true}
	for _, ks := range queue {
		ks.disc = d
	}
	own := SourceRef{Kind: "GitRepository", Name: "flux-system", Namespace: DefaultNamespace}
	for _, ks := range queue {
		if ks.SourceRef.Kind == "GitRepository" {
			own = ks.SourceRef
			break
		}
	}
	touched := func(ks *Kustomization) bool {
		for _, c := range changed {
			if c == ks.SourceFile || strings.HasPrefix(c, ks.Path+"/") {
				return true
			}
		}
		return false
	}
	var (
		all      []*Kustomization
		rendered []*Rendered
		errs     []error
		seen     = map[NamespacedName]bool{}
	)
	for i := 0; i < len(queue); i++ {
		ks := queue[i]
		if seen[ks.ID()] {
			continue
		}
		seen[ks.ID()] = true
		ks.External = ks.SourceRef != own
		all = append(all, ks)
		if ks.External || (ks.Parent != nil && !touched(ks)) {
			continue
		}
		// Any Kustomization whose folder Flux generates a kustomization
		// for is narrowed to the changed sub-folders, not only a root:
		// under the old template's root (./kubernetes/flux) the apps
		// folder is a child, and building it whole builds every
		// namespace.
		r, _, err := renderRootPart(snap, ks, changed, opts)
		if err != nil {
			errs = append(errs, &RenderError{Kustomization: ks, Err: err})
			continue
		}
		rendered = append(rendered, r)
		d.record(r)
		for _, o := range r.Objects {
			if !isFluxKustomization(o.Unstructured) {
				continue
			}
			child, err := newKustomization(o.Unstructured, o.Origin, "", ks)
			if err != nil {
				errs = append(errs, &RenderError{Kustomization: ks, Err: err})
				continue
			}
			child.disc = d
			queue = append(queue, child)
		}
	}
	return rendered, all, errors.Join(errs...)
}

// renderRootPart renders a root Kustomization whose folder has no
// kustomization.yaml (Flux generates one listing every subfolder) over a
// view of the snapshot that keeps only the subfolders holding a change. The
// subfolders are independent kustomize units and the generated
// kustomization only lists them, so the objects built for the kept folders
// are exactly those the whole build makes for them; a root that cannot be
// narrowed this way, or whose narrowed build fails, is built whole.
func renderRootPart(snap *snapshot, ks *Kustomization, changed []string, opts RenderOptions) (*Rendered, bool, error) {
	clean := snap.idx.files
	prefix := ks.Path + "/"
	if ks.Path == "" {
		prefix = ""
	}
	whole := func() (*Rendered, bool, error) {
		r, _, err := render(snap, ks, opts)
		return r, false, err
	}
	for _, name := range []string{"kustomization.yaml", "kustomization.yml", "Kustomization"} {
		if _, ok := clean[prefix+name]; ok {
			return whole()
		}
	}
	keep := map[string]bool{}
	for _, c := range changed {
		rest, ok := strings.CutPrefix(c, prefix)
		if !ok {
			return whole() // a change outside the folder (a component, say) can reach every subfolder
		}
		if dir, _, ok := strings.Cut(rest, "/"); ok {
			keep[dir] = true
		}
	}
	view := make(Files, len(clean))
	for p, data := range clean {
		rest, ok := strings.CutPrefix(p, prefix)
		if ok {
			if dir, _, nested := strings.Cut(rest, "/"); nested && !keep[dir] {
				continue
			}
		}
		view[p] = data
	}
	for dir := range keep {
		narrowFolder(view, prefix+dir, changed)
	}
	r, _, err := render(newSnapshot(view), ks, opts)
	if err != nil {
		return whole()
	}
	return r, true, nil
}

// narrowFolder goes one level further down: a kept folder's own
// kustomization (a namespace folder's, listing ./<app>/ks.yaml for every
// app) is cut down in the view to the entries that hold a change, plus its
// plain files. Each listed file is read and transformed on its own (the
// namespace, the components, the labels apply to each object alike), so
// the objects of the entries kept are those of the whole folder. The
// kustomization is left as it is when it does anything else, when a
// component it uses does, or when it is itself changed.
func narrowFolder(view Files, dir string, changed []string) {
	kfile := ""
	for _, name := range []string{"kustomization.yaml", "kustomization.yml", "Kustomization"} {
		if _, ok := view[dir+"/"+name]; ok {
			kfile = dir + "/" + name
			break
		}
	}
	if kfile == "" {
		return
	}
	for _, c := range changed {
		if c == kfile {
			return
		}
	}
	var k map[string]any
	if err := yaml.Unmarshal(view[kfile], &k); err != nil || !perObject(k) {
		return
	}
	comps, _ := k["components"].([]any)
	for _, c := range comps {
		cdir, ok := c.(string)
		if !ok {
			return
		}
		target, ok := cleanRel(path.Join(dir, cdir))
		if !ok {
			return
		}
		var ck map[string]any
		found := false
		for _, name := range []string{"kustomization.yaml", "kustomization.yml", "Kustomization"} {
			if data, ok := view[target+"/"+name]; ok {
				if yaml.Unmarshal(data, &ck) != nil || !perObject(ck) {
					return
				}
				found = true
			}
		}
		if !found {
			return
		}
	}
	res, _ := k["resources"].([]any)
	var kept []any
	for _, e := range res {
		entry, ok := e.(string)
		if !ok {
			return
		}
		target, ok := cleanRel(path.Join(dir, entry))
		if !ok {
			return
		}
		if _, isFile := view[target]; !isFile {
			return // a folder: kept whole by leaving everything as it is
		}
		if parentDir(target) == dir || holdsChange(parentDir(target), target, changed) {
			kept = append(kept, entry)
		}
	}
	if len(kept) == len(res) {
		return
	}
	k["resources"] = kept
	data, err := yaml.Marshal(k)
	if err != nil {
		return
	}
	view[kfile] = data
}

// perObject reports whether a kustomization only lists resources and
// components and sets what applies to each object alike.
func perObject(k map[string]any) bool {
	for key := range k {
		switch key {
		case "apiVersion", "kind", "metadata", "namespace", "resources", "components", "commonLabels", "commonAnnotations", "labels":
		default:
			return false
		}
	}
	return true
}

// holdsChange reports whether a changed path is the file or lies in its
// folder.
func holdsChange(folder, file string, changed []string) bool {
	for _, c := range changed {
		if c == file || strings.HasPrefix(c, folder+"/") {
			return true
		}
	}
	return false
}
