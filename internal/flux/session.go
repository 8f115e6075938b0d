package flux

import (
	"bytes"
	"sort"
	"strings"
	"sync"
)

// Session renders the Kustomizations of one snapshot on demand, for a
// caller that walks the tree itself and renders only what it needs (gen
// diff renders a Kustomization only when a change can reach it). The
// snapshot is prepared once, and the ConfigMaps and Secrets of every render
// are remembered for later renders' postBuild.substituteFrom, as Discover
// does.
//
// A Session is safe for concurrent use.
type Session struct {
	snap *snapshot
	opts RenderOptions
	d    *discovery
	own  SourceRef

	mu    sync.Mutex
	reads map[*Kustomization]func(string) bool
	// inputRoots holds, for each Kustomization tested, the folders and
	// files its build can read.
	inputRoots map[*Kustomization]map[string]bool
	// kfiles lists the kustomization files of the snapshot, sorted, for
	// the static input analysis.
	kfiles []string
}

// NewSession prepares files for rendering with opts.
func NewSession(files Files, opts RenderOptions) *Session {
	snap := newSnapshot(files)
	kfiles := kustomizationFiles(snap.idx.files)
	return &Session{
		snap:       snap,
		opts:       opts,
		d:          &discovery{sources: map[string]*varSource{}, builds: map[*Kustomization]*cacheEntry{}},
		own:        SourceRef{Kind: "GitRepository", Name: "flux-system", Namespace: DefaultNamespace},
		reads:      map[*Kustomization]func(string) bool{},
		inputRoots: map[*Kustomization]map[string]bool{},
		kfiles:     kfiles,
	}
}

// Files returns the session's snapshot, cleaned.
func (s *Session) Files() map[string][]byte { return s.snap.idx.files }

// Roots reads the root Kustomizations, as Discover does: the repository's
// own source is the first root's GitRepository, and Kustomizations of other
// sources are External. A Kustomization declared twice is kept once.
func (s *Session) Roots(roots []string) ([]*Kustomization, error) {
	if len(roots) == 0 {
		roots = []string{DefaultRoot}
	}
	queue, err := readRoots(s.snap.idx.files, roots)
	if err != nil {
		return nil, err
	}
	for _, ks := range queue {
		if ks.SourceRef.Kind == "GitRepository" {
			s.own = ks.SourceRef
			break
		}
	}
	seen := map[NamespacedName]bool{}
	var out []*Kustomization
	for _, ks := range queue {
		if seen[ks.ID()] {
			continue
		}
		seen[ks.ID()] = true
		s.adopt(ks)
		out = append(out, ks)
	}
	return out, nil
}

func (s *Session) adopt(ks *Kustomization) {
	ks.External = ks.SourceRef != s.own
	ks.disc = s.d
}

// Render renders ks and remembers its ConfigMaps and Secrets.
func (s *Session) Render(ks *Kustomization) (*Rendered, error) {
	r, _, err := render(s.snap, ks, s.opts)
	if err != nil {
		return nil, err
	}
	s.d.record(r)
	return r, nil
}

// RenderFolders renders a root Kustomization over only the sub-folders of
// its path that hold one of the given paths, when its folder has no
// kustomization of its own (Flux generates one listing every sub-folder, so
// each is a separate unit): the objects built for those folders are exactly
// those a whole build makes for them. Otherwise, or when a path lies outside
// its folder, it renders the whole Kustomization; whole says which.
func (s *Session) RenderFolders(ks *Kustomization, paths []string) (r *Rendered, whole bool, err error) {
	r, narrowed, err := renderRootPart(s.snap, ks, paths, s.opts)
	if err != nil {
		return nil, false, err
	}
	s.d.record(r)
	return r, !narrowed, nil
}

// Children returns the Flux Kustomizations a render produced, sorted by
// namespace and name, adopted by the session (External set as in
// Discover). Objects that do not read as Kustomizations are errors.
func (s *Session) Children(r *Rendered) ([]*Kustomization, []error) {
	var out []*Kustomization
	var errs []error
	for _, o := range r.Objects {
		if !isFluxKustomization(o.Unstructured) {
			continue
		}
		child, err := newKustomization(o.Unstructured, o.Origin, "", r.Kustomization)
		if err != nil {
			errs = append(errs, &RenderError{Kustomization: r.Kustomization, Err: err})
			continue
		}
		s.adopt(child)
		out = append(out, child)
	}
	sort.Slice(out, func(a, b int) bool {
		if out[a].Namespace != out[b].Namespace {
			return out[a].Namespace < out[b].Namespace
		}
		return out[a].Name < out[b].Name
	})
	return out, errs
}

// Reads reports whether a change to the repository path p (an edit, a
// creation or a deletion) can change what ks builds, found without
// building: p is under ks's folder, or under a folder (or is a file) that
// the kustomization files there refer to, transitively; or p holds a
// ConfigMap or Secret ks substitutes from, as rendered so far in the
// session. It over-approximates.
func (s *Session) Reads(ks *Kustomization, p string) bool {
	if ks.External {
		return false
	}
	s.mu.Lock()
	test, ok := s.reads[ks]
	if !ok {
		roots := staticRoots(s.snap.idx.files, s.kfiles, ks.Path)
		s.inputRoots[ks] = roots
		test = func(p string) bool {
			for r := range roots {
				if r == "" || p == r || strings.HasPrefix(p, r+"/") {
					return true
				}
			}
			return false
		}
		s.reads[ks] = test
	}
	s.mu.Unlock()
	if test(p) {
		return true
	}
	for _, ref := range ks.SubstituteFrom {
		if src := s.d.lookup(ref.Kind, ks.Namespace, ref.Name); src != nil && src.origin == p {
			return true
		}
	}
	return false
}

// MayDeclareKustomizations reports whether some file ks's build can read
// holds a Flux Kustomization: only then can rendering ks find children.
func (s *Session) MayDeclareKustomizations(ks *Kustomization) bool {
	if ks.External {
		return false
	}
	s.Reads(ks, "")
	s.mu.Lock()
	roots := s.inputRoots[ks]
	s.mu.Unlock()
	idx := s.snap.idx
	var walk func(dir string) bool
	walk = func(dir string) bool {
		for _, e := range idx.dirs[dir] {
			child := joinPath(dir, strings.TrimSuffix(e, "/"))
			if strings.HasSuffix(e, "/") {
				if walk(child) {
					return true
				}
			} else if declaresKustomization(idx.files[child]) {
				return true
			}
		}
		return false
	}
	for r := range roots {
		if data, ok := idx.files[r]; ok {
			if declaresKustomization(data) {
				return true
			}
			continue
		}
		if walk(r) {
			return true
		}
	}
	return false
}

func declaresKustomization(data []byte) bool {
	return bytes.Contains(data, []byte("kustomize.toolkit.fluxcd.io/")) && bytes.Contains(data, []byte("Kustomization"))
}

func joinPath(base, ref string) string {
	if base == "" {
		return ref
	}
	return base + "/" + ref
}
