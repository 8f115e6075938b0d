package flux

import "errors"

// TreeOptions adjust RenderAll.
type TreeOptions struct {
	RenderOptions
	// Workers is how many Kustomizations are post-processed at once (their
	// kustomize builds share a lock); 0 is GOMAXPROCS.
	Workers int
	// MaxObjects stops the walk down the tree, after the level that passes
	// it, once the renders hold more objects than this; 0 is no limit.
	MaxObjects int
	// MaxInputBytes stops rendering once the builds together have read
	// more bytes than this (a file read by several builds counts each
	// time): what a build holds in memory grows with what it reads, and a
	// hostile repository can make many builds read the same large files.
	// 0 is no limit.
	MaxInputBytes int64
	// MaxWork stops rendering once the builds' work passes it: the sum over
	// builds of the square of the YAML documents each read, which is how
	// kustomize's time grows (see MaxBuildDocuments). 0 is no limit.
	MaxWork int64
}

// Tree is every Kustomization of a repository and what each renders.
type Tree struct {
	// Kustomizations are in Discover's order: parents before children.
	Kustomizations []*Kustomization
	// Rendered holds, in the order of Kustomizations, each one's render; nil
	// for one that is External or failed to render.
	Rendered []*Rendered
	// Errors are the renders that failed.
	Errors []*RenderError
	// Truncated is set when MaxObjects, MaxInputBytes or MaxWork stopped
	// the walk:
	// some Kustomizations were not rendered.
	Truncated bool
}

// RenderAll discovers every Kustomization, as Discover does, and keeps
// each render instead of rendering again later: one kustomize build and one
// post-processing per Kustomization, with opts. The Kustomizations of one
// level of the tree are rendered at once. A Kustomization whose
// substituteFrom source is rendered by a sibling is rendered again once the
// level is done, so that it sees the source as the controller would.
//
// The returned Kustomizations work with Affected. Builds are not kept, so
// a later Render builds again.
//
// The error is nil or a problem with the roots; failed renders are in
// Tree.Errors.
func RenderAll(files Files, roots []string, opts TreeOptions) (*Tree, error) {
	t, err := walkTree(newSnapshot(files), roots, treeOptions{
		render:        opts.RenderOptions,
		keepRenders:   true,
		workers:       opts.Workers,
		maxObjects:    opts.MaxObjects,
		maxInputBytes: opts.MaxInputBytes,
		maxWork:       opts.MaxWork,
	})
	if t == nil {
		return nil, err
	}
	out := &Tree{Kustomizations: t.all, Rendered: t.rendered, Truncated: t.truncated}
	for _, e := range t.errs {
		var re *RenderError
		if errors.As(e, &re) {
			out.Errors = append(out.Errors, re)
		}
	}
	return out, nil
}
