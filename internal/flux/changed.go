package flux

import (
	"errors"
	"strings"
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
		var r *Rendered
		var err error
		if ks.Parent == nil {
			r, _, err = renderRootPart(snap, ks, changed, opts)
		} else {
			r, _, err = render(snap, ks, opts)
		}
		if err != nil {
			errs = append(errs, &RenderError{Kustomization: ks, Err: err})
			continue
		}
		rendered = append(rendered, r)
		for _, o := range r.Objects {
			if !isFluxKustomization(o.Unstructured) {
				continue
			}
			child, err := newKustomization(o.Unstructured, o.Origin, "", ks)
			if err != nil {
				errs = append(errs, &RenderError{Kustomization: ks, Err: err})
				continue
			}
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
	r, _, err := render(newSnapshot(view), ks, opts)
	if err != nil {
		return whole()
	}
	return r, true, nil
}
