package diff

import (
	"path"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/object"
	"sigs.k8s.io/yaml"

	"github.com/gen-gitops/gen/internal/check"
	"github.com/gen-gitops/gen/internal/flux"
)

// CompareRevisions compares two commits of the repository.
//
// A change to a large repository is usually a few files in one namespace
// folder. The root Kustomization builds the apps folder through a generated
// kustomization, one unit per sub-folder, and gen diff renders it over the
// sub-folders that hold a change (flux.Session.RenderFolders): the other
// sub-folders are never read. So when every changed file is in such a
// sub-folder, only those sub-folders and the rest of the repository are
// read from git. If anything then reaches outside what was read (a render
// fails, a child Kustomization's path or a substitution source lies in a
// folder left out), the comparison is done again on both whole revisions.
func (r *Repository) CompareRevisions(base, head *object.Commit, opts Options) (*Result, error) {
	l := opts.Limits
	if l == (check.Limits{}) {
		l = check.DefaultLimits()
	}
	if skip := r.narrowing(base, head, opts); skip != nil {
		r.skip = skip
		bs, hs, err := r.ReadPair(base, head, l)
		r.skip = nil
		if err != nil {
			return nil, err
		}
		o := opts
		o.skipped = skip
		res, err := Compare(bs, hs, o)
		if err != nil {
			return nil, err
		}
		if !res.incomplete {
			res.narrowed = true
			return res, nil
		}
	}
	bs, hs, err := r.ReadPair(base, head, l)
	if err != nil {
		return nil, err
	}
	return Compare(bs, hs, opts)
}

// narrowing returns the folders a comparison of two commits need not
// read, or nil when it must read everything.
func (r *Repository) narrowing(base, head *object.Commit, opts Options) func(string) bool {
	changed, err := r.ChangedPaths(base, head)
	if err != nil || len(changed) == 0 {
		return nil
	}
	roots := opts.Roots
	if len(roots) == 0 {
		roots = configuredRoots(flux.Files{".gen.yaml": r.file(head, ".gen.yaml")})
	}
	// The folders the roots build, with no kustomization file of their own
	// on either side.
	var folders []string
	for _, root := range roots {
		root = strings.TrimPrefix(path.Clean(root), "./")
		for _, c := range []*object.Commit{base, head} {
			data := r.file(c, root)
			if data == nil {
				return nil
			}
			paths := rootPaths(data)
			if len(paths) == 0 {
				return nil
			}
			for _, p := range paths {
				for _, k := range []string{"kustomization.yaml", "kustomization.yml", "Kustomization"} {
					if r.hasFile(base, path.Join(p, k)) || r.hasFile(head, path.Join(p, k)) {
						return nil
					}
				}
				folders = append(folders, p)
			}
		}
	}
	// Every change must be inside a sub-folder of one of them.
	keep := map[string]bool{}
	for _, c := range changed {
		found := false
		for _, f := range folders {
			prefix := f + "/"
			if f == "" {
				prefix = ""
			}
			rest, ok := strings.CutPrefix(c, prefix)
			if !ok {
				continue
			}
			sub, _, nested := strings.Cut(rest, "/")
			if !nested {
				return nil // a file of the folder itself
			}
			keep[joinSlash(f, sub)] = true
			found = true
		}
		if !found {
			return nil
		}
	}
	return func(dir string) bool {
		for _, f := range folders {
			if parent := path.Dir(dir); (parent == f || (f == "" && parent == ".")) && !keep[dir] {
				return true
			}
		}
		return false
	}
}

func joinSlash(a, b string) string {
	if a == "" {
		return b
	}
	return a + "/" + b
}

// rootPaths reads the spec.path of every Flux Kustomization in a root
// file, cleaned as the renderer cleans it.
func rootPaths(data []byte) []string {
	var out []string
	for _, doc := range strings.Split(string(data), "\n---") {
		var k struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Spec       struct {
				Path string `json:"path"`
			} `json:"spec"`
		}
		if err := yaml.Unmarshal([]byte(doc), &k); err != nil {
			return nil
		}
		if k.Kind != "Kustomization" || !strings.HasPrefix(k.APIVersion, "kustomize.toolkit.fluxcd.io/") {
			continue
		}
		out = append(out, strings.TrimPrefix(path.Clean("/"+k.Spec.Path), "/"))
	}
	return out
}
