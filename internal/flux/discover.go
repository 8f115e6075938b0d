package flux

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// Discover finds the repository's Flux Kustomizations. It reads the
// Kustomization documents of each root file (DefaultRoot when roots is
// empty; a root file may hold several), then renders each Kustomization and
// takes the Flux Kustomizations in its output as its children, down the whole
// tree. The result lists parents before children, the children of one parent
// sorted by namespace and name.
//
// The repository's own source is the sourceRef of the first root
// Kustomization that uses a GitRepository (GitRepository
// flux-system/flux-system if none does). Kustomizations with any other source
// are returned with External set and are not rendered. A Kustomization seen a
// second time (one that manages itself, or one declared twice) is kept once.
//
// A Kustomization that fails to render is still returned, without children;
// the returned error joins one *RenderError per failure, and callers may use
// the list alongside it. Other errors (a root file missing or unreadable)
// return no list.
//
// Discover renders with empty RenderOptions; the Kustomizations it returns
// remember the ConfigMaps and Secrets the whole tree renders, which later
// Render calls use for postBuild.substituteFrom.
func Discover(files Files, roots []string) ([]*Kustomization, error) {
	t, err := walkTree(newSnapshot(files), roots, treeOptions{keepBuilds: true})
	if t == nil {
		return nil, err
	}
	return t.all, err
}

// treeOptions adjust walkTree.
type treeOptions struct {
	render RenderOptions
	// keepBuilds keeps every build for later renders (Discover).
	keepBuilds bool
	// keepRenders keeps every render's output (RenderAll).
	keepRenders bool
	// workers is how many Kustomizations are rendered at once; 0 is
	// GOMAXPROCS.
	workers int
	// maxObjects stops the walk once the renders hold more objects; 0 is
	// no limit.
	maxObjects int
	// maxInputBytes stops rendering once the renders together have read
	// more bytes (a file read by two builds counts twice); 0 is no limit.
	maxInputBytes int64
	// maxWork stops rendering once the sum over builds of the square of
	// their documents passes it (kustomize's work grows so); 0 is no
	// limit.
	maxWork int64
}

// errBudget marks a render skipped because maxInputBytes was spent.
var errBudget = errors.New("the render budget is spent")

// tree is what walkTree found.
type tree struct {
	all []*Kustomization
	// rendered holds, in the order of all, each render (nil when the
	// Kustomization was not rendered); only with keepRenders.
	rendered []*Rendered
	errs     []error
	// truncated is set when maxObjects or maxInputBytes stopped the walk.
	truncated bool
}

// walkTree reads the roots and renders the tree of Kustomizations below
// them level by level, the Kustomizations of one level at once.
func walkTree(snap *snapshot, roots []string, opts treeOptions) (*tree, error) {
	if len(roots) == 0 {
		roots = []string{DefaultRoot}
	}
	d := &discovery{sources: map[string]*varSource{}, builds: map[*Kustomization]*cacheEntry{}}
	queue, err := readRoots(snap.idx.files, roots)
	if err != nil {
		return nil, err
	}

	own := SourceRef{Kind: "GitRepository", Name: "flux-system", Namespace: DefaultNamespace}
	for _, ks := range queue {
		if ks.SourceRef.Kind == "GitRepository" {
			own = ks.SourceRef
			break
		}
	}

	seen := map[NamespacedName]bool{}
	var level []*Kustomization
	for _, ks := range queue {
		if seen[ks.ID()] {
			continue
		}
		seen[ks.ID()] = true
		ks.External = ks.SourceRef != own
		ks.disc = d
		level = append(level, ks)
	}

	workers := opts.workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	t := &tree{}
	renders := map[*Kustomization]*Rendered{}
	var spent, work atomic.Int64
	objects := 0
	for len(level) > 0 {
		t.all = append(t.all, level...)
		type result struct {
			r   *Rendered
			b   *built
			err error
		}
		results := make([]result, len(level))
		var wg sync.WaitGroup
		next := make(chan int)
		for range min(workers, len(level)) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					if (opts.maxInputBytes > 0 && spent.Load() > opts.maxInputBytes) || (opts.maxWork > 0 && work.Load() > opts.maxWork) {
						results[i] = result{err: errBudget}
						continue
					}
					r, b, err := render(snap, level[i], opts.render)
					if r != nil {
						bytes, w := r.Cost()
						spent.Add(bytes)
						work.Add(w)
					}
					if !opts.keepBuilds {
						// kustomize's objects are several times the size
						// of the rendered ones; holding every build of a
						// level of thousands until the level ends doubles
						// the live heap.
						b = nil
					}
					results[i] = result{r, b, err}
				}
			}()
		}
		for i, ks := range level {
			if !ks.External {
				next <- i
			}
		}
		close(next)
		wg.Wait()

		var children []*Kustomization
		for i, ks := range level {
			if ks.External {
				continue
			}
			res := results[i]
			if res.err == errBudget {
				t.truncated = true
				continue
			}
			if res.err != nil {
				t.errs = append(t.errs, &RenderError{Kustomization: ks, Err: res.err})
				continue
			}
			if opts.keepBuilds {
				d.remember(ks, res.b, snap.idx)
			}
			ks.inputs = newInputs()
			ks.inputs.merge(res.r.inputs)
			d.record(res.r)
			if opts.keepRenders {
				renders[ks] = res.r
			}
			objects += len(res.r.Objects)

			var mine []*Kustomization
			for _, o := range res.r.Objects {
				if !isFluxKustomization(o.Unstructured) {
					continue
				}
				child, err := newKustomization(o.Unstructured, o.Origin, "", ks)
				if err != nil {
					t.errs = append(t.errs, &RenderError{Kustomization: ks, Err: err})
					continue
				}
				if seen[child.ID()] {
					continue
				}
				seen[child.ID()] = true
				child.External = child.SourceRef != own
				child.disc = d
				mine = append(mine, child)
			}
			sort.Slice(mine, func(a, b int) bool {
				if mine[a].Namespace != mine[b].Namespace {
					return mine[a].Namespace < mine[b].Namespace
				}
				return mine[a].Name < mine[b].Name
			})
			children = append(children, mine...)
		}
		if opts.maxObjects > 0 && objects > opts.maxObjects {
			t.truncated = true
			break
		}
		level = children
	}

	// A change to the file of a ConfigMap or Secret used for substitution
	// changes the output of the Kustomizations that use it.
	for _, ks := range t.all {
		if ks.inputs == nil {
			continue
		}
		for _, ref := range ks.SubstituteFrom {
			if src := d.lookup(ref.Kind, ks.Namespace, ref.Name); src != nil && src.origin != "" {
				ks.inputs.addRead("/" + src.origin)
			}
		}
	}

	if opts.keepRenders {
		// A Kustomization rendered before a sibling rendered the ConfigMap
		// or Secret it substitutes from is rendered again, now that every
		// source is known.
		for ks, r := range renders {
			if !d.resolvesAny(ks, r.unresolved) {
				continue
			}
			again, _, err := render(snap, ks, opts.render)
			if err == nil {
				renders[ks] = again
			}
		}
		t.rendered = make([]*Rendered, len(t.all))
		for i, ks := range t.all {
			t.rendered[i] = renders[ks]
		}
	}
	return t, errors.Join(t.errs...)
}

// readRoots reads the Flux Kustomizations of the root files.
func readRoots(clean map[string][]byte, roots []string) ([]*Kustomization, error) {
	var queue []*Kustomization
	for _, root := range roots {
		p, ok := cleanRel(root)
		if !ok || p == "" {
			return nil, fmt.Errorf("root %q is not a path inside the repository", root)
		}
		data, ok := clean[p]
		if !ok {
			if !IsFolder(clean, p) {
				return nil, fmt.Errorf("reading root %q: file not found in the repository", p)
			}
			obj := syncKustomization(p)
			applySyncPatches(obj, clean)
			ks, err := newKustomization(obj, "", DefaultNamespace, nil)
			if err != nil {
				return nil, err
			}
			queue = append(queue, ks)
			continue
		}
		objs, err := decodeDocuments(data)
		if err != nil {
			return nil, fmt.Errorf("reading root %q: %w", p, err)
		}
		for _, obj := range objs {
			if !isFluxKustomization(obj) {
				continue
			}
			ks, err := newKustomization(obj, p, DefaultNamespace, nil)
			if err != nil {
				return nil, err
			}
			queue = append(queue, ks)
		}
	}
	return queue, nil
}

// IsFolder reports whether the repository-relative path p is a folder of
// files, which a root may name (see syncKustomization).
func IsFolder(files Files, p string) bool {
	for f := range files {
		if strings.HasPrefix(f, p+"/") {
			return true
		}
	}
	return false
}

// syncKustomization is the Flux Kustomization a Flux installation creates
// to sync the cluster from a folder of this repository (flux bootstrap's
// gotk-sync.yaml, or the Flux Operator for a FluxInstance's spec.sync):
// flux-system/flux-system, building the folder from the GitRepository
// flux-system, pruning, nothing else set. A root given as a folder stands
// for it.
func syncKustomization(dir string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": kustomizev1.GroupVersion.String(),
		"kind":       kustomizev1.KustomizationKind,
		"metadata":   map[string]any{"name": DefaultNamespace, "namespace": DefaultNamespace},
		"spec": map[string]any{
			"interval":  "10m",
			"path":      "./" + dir,
			"prune":     true,
			"sourceRef": map[string]any{"kind": "GitRepository", "name": DefaultNamespace, "namespace": DefaultNamespace},
		},
	}}
}

// RenderError is a Kustomization that Discover could not render.
type RenderError struct {
	Kustomization *Kustomization
	Err           error
}

// Error returns the underlying error, which names the Kustomization.
func (e *RenderError) Error() string { return e.Err.Error() }

// Unwrap returns the underlying error.
func (e *RenderError) Unwrap() error { return e.Err }

// cleaned returns f keyed by cleaned paths.
func (f Files) cleaned() map[string][]byte {
	out := make(map[string][]byte, len(f))
	for k, v := range f {
		if c, ok := cleanRel(k); ok && c != "" {
			out[c] = v
		}
	}
	return out
}

// decodeDocuments splits a YAML stream into objects, skipping empty
// documents.
func decodeDocuments(data []byte) ([]*unstructured.Unstructured, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var out []*unstructured.Unstructured
	for i := 1; ; i++ {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		var m map[string]any
		if err := yaml.Unmarshal(doc, &m); err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		if len(m) == 0 {
			continue
		}
		out = append(out, &unstructured.Unstructured{Object: m})
	}
}

// varSource is a ConfigMap or Secret rendered by the repository, as a
// source of postBuild.substituteFrom variables.
type varSource struct {
	// names are the keys, sorted.
	names []string
	// values holds the values that are readable (not encrypted).
	values map[string]string
	// origin is the file the object came from, when known.
	origin string
	// secret is set for a Secret.
	secret bool
}

// discovery is what one Discover call learnt, shared by the Kustomizations
// it returns.
type discovery struct {
	mu      sync.Mutex
	sources map[string]*varSource
	// builds holds each Kustomization's kustomize build, so that rendering
	// it again from the same snapshot does not build again.
	builds map[*Kustomization]*cacheEntry
	// partial is set when only part of the tree is rendered
	// (RenderChanged): a source not seen may be rendered elsewhere, so it
	// is not reported missing.
	partial bool
}

// cacheEntry is a build and what it depended on.
type cacheEntry struct {
	// object is the JSON of the Kustomization object the build was made for.
	object []byte
	// fingerprint identifies everything the build read in the snapshot.
	fingerprint [sha256.Size]byte
	b           *built
}

// remember keeps the build of ks for later renders.
func (d *discovery) remember(ks *Kustomization, b *built, index *snapshotIndex) {
	object, err := json.Marshal(ks.Object.Object)
	if err != nil {
		return
	}
	entry := &cacheEntry{object: object, fingerprint: b.inputs.fingerprint(index), b: b}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.builds[ks] = entry
}

// cachedBuild returns the build Discover made of ks when the snapshot files
// still holds what that build read and ks's object is unchanged; else nil. A
// build depends only on what it read through the file system, so the same
// observations give the same output. It may be called on a nil discovery.
func (d *discovery) cachedBuild(snap *snapshot, ks *Kustomization) *built {
	if d == nil {
		return nil
	}
	d.mu.Lock()
	entry := d.builds[ks]
	d.mu.Unlock()
	if entry == nil || ks.Object == nil {
		return nil
	}
	if object, err := json.Marshal(ks.Object.Object); err != nil || !bytes.Equal(object, entry.object) {
		return nil
	}
	if entry.b.inputs.fingerprint(snap.idx) != entry.fingerprint {
		return nil
	}
	return entry.b
}

func sourceKey(kind, namespace, name string) string {
	return kind + "/" + namespace + "/" + name
}

// resolvesAny reports whether any of the given substituteFrom sources of
// ks is now known.
func (d *discovery) resolvesAny(ks *Kustomization, refs []SubstituteRef) bool {
	for _, ref := range refs {
		if d.lookup(ref.Kind, ks.Namespace, ref.Name) != nil {
			return true
		}
	}
	return false
}

// lookup returns the rendered ConfigMap or Secret, or nil. It may be called
// on a nil discovery.
func (d *discovery) lookup(kind, namespace, name string) *varSource {
	if d == nil {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.sources[sourceKey(kind, namespace, name)]
}

// record remembers the ConfigMaps and Secrets of a build. The first object
// of a kind, namespace and name wins.
func (d *discovery) record(r *Rendered) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, o := range r.Objects {
		u := o.Unstructured
		if u.GetAPIVersion() != "v1" || (u.GetKind() != "ConfigMap" && u.GetKind() != "Secret") {
			continue
		}
		key := sourceKey(u.GetKind(), u.GetNamespace(), u.GetName())
		if _, ok := d.sources[key]; ok {
			continue
		}
		src := &varSource{values: map[string]string{}, origin: o.Origin, secret: u.GetKind() == "Secret"}
		names := map[string]bool{}
		if data, ok := u.Object["data"].(map[string]any); ok {
			for k, v := range data {
				names[k] = true
				s, _ := v.(string)
				switch {
				case o.Encrypted:
				case u.GetKind() == "Secret":
					if b, err := base64.StdEncoding.DecodeString(s); err == nil {
						src.values[k] = string(b)
					}
				default:
					src.values[k] = s
				}
			}
		}
		if u.GetKind() == "Secret" {
			if data, ok := u.Object["stringData"].(map[string]any); ok {
				for k, v := range data {
					names[k] = true
					if s, isString := v.(string); isString && !o.Encrypted {
						src.values[k] = s
					}
				}
			}
		}
		src.names = sortedKeys(names)
		d.sources[key] = src
	}
}
