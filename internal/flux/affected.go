package flux

import (
	"path"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// Affected returns, in the order of all, the Kustomizations whose rendered
// output or whose own object could change when the given repository paths
// change (are edited, created or deleted). It over-approximates; it does not
// miss one:
//
//   - A Kustomization returned by Discover is affected by any path its build
//     read, probed or could have found by listing a folder (the generated
//     kustomization of a folder without one lists every manifest below it),
//     including files reached through "../" resources and components, and by
//     the file of a ConfigMap or Secret it takes substitution variables from.
//     One built outside Discover (or whose build failed) is affected by any
//     path under its Path or under a folder its kustomization files refer to.
//   - A Kustomization is affected when its own SourceFile changes, and then so
//     is every Kustomization below it.
//   - When a parent is affected by a path other than its children's
//     SourceFiles (a kustomization file, a component, a patch), every
//     Kustomization below it is affected: its object may have changed.
//
// files is the snapshot after the change; it is read only for Kustomizations
// without recorded inputs.
func Affected(all []*Kustomization, files Files, changed []string) []*Kustomization {
	changedSet := map[string]bool{}
	var paths []string
	for _, c := range changed {
		if p, ok := cleanRel(strings.TrimPrefix(c, "./")); ok && p != "" && !changedSet[p] {
			changedSet[p] = true
			paths = append(paths, p)
		}
	}
	if len(paths) == 0 {
		return nil
	}

	children := map[*Kustomization][]*Kustomization{}
	for _, ks := range all {
		if ks.Parent != nil {
			children[ks.Parent] = append(children[ks.Parent], ks)
		}
	}

	affected := map[*Kustomization]bool{}
	// spreads marks Kustomizations affected by a path that is not just a
	// child's own file: everything below them is affected.
	spreads := map[*Kustomization]bool{}
	var clean map[string][]byte
	var kfiles []string
	for _, ks := range all {
		if ks.SourceFile != "" && changedSet[ks.SourceFile] {
			// Its own spec may have changed, and with it all it builds.
			affected[ks] = true
			spreads[ks] = true
		}
		if ks.External {
			continue
		}
		var touched func(string) bool
		if ks.inputs != nil {
			touched = ks.inputs.touches
		} else {
			if clean == nil {
				clean = files.cleaned()
				kfiles = kustomizationFiles(clean)
			}
			touched = staticInputs(clean, kfiles, ks.Path)
		}
		childFiles := map[string]bool{}
		for _, c := range children[ks] {
			if c.SourceFile != "" {
				childFiles[c.SourceFile] = true
			}
		}
		for _, p := range paths {
			if !touched(p) {
				continue
			}
			affected[ks] = true
			if !childFiles[p] {
				spreads[ks] = true
			}
		}
	}

	// Spread down the tree; parents come before their children in a
	// Discover result, but all may be in any order.
	var spread func(ks *Kustomization)
	spread = func(ks *Kustomization) {
		for _, c := range children[ks] {
			if !affected[c] || !spreads[c] {
				affected[c] = true
				spreads[c] = true
				spread(c)
			}
		}
	}
	for _, ks := range all {
		if spreads[ks] {
			spread(ks)
		}
	}

	var out []*Kustomization
	for _, ks := range all {
		if affected[ks] {
			out = append(out, ks)
		}
	}
	return out
}

// staticInputs returns a test for paths that can change the build of the
// folder dir, found without building: anything under one of
// staticRoots(files, kfiles, dir).
func staticInputs(files map[string][]byte, kfiles []string, dir string) func(string) bool {
	roots := staticRoots(files, kfiles, dir)
	return func(p string) bool {
		for r := range roots {
			if r == "" || p == r || strings.HasPrefix(p, r+"/") {
				return true
			}
		}
		return false
	}
}

// staticRoots returns the folders and files that can change the build of
// the folder dir, found without building: dir, and every folder (or file)
// that a kustomization file in those folders refers to, transitively.
// kfiles are the kustomization files of files, sorted
// (kustomizationFiles): a lookup costs the files below a folder, not the
// whole repository.
func staticRoots(files map[string][]byte, kfiles []string, dir string) map[string]bool {
	roots := map[string]bool{}
	var visit func(d string)
	visit = func(d string) {
		if roots[d] {
			return
		}
		roots[d] = true
		prefix := d + "/"
		if d == "" {
			prefix = ""
		}
		i := sort.SearchStrings(kfiles, prefix)
		for ; i < len(kfiles) && strings.HasPrefix(kfiles[i], prefix); i++ {
			p := kfiles[i]
			base := parentDir(p)
			for _, ref := range kustomizationRefs(files[p]) {
				target, ok := cleanRel(path.Join(base, ref))
				if !ok {
					continue
				}
				if _, isFile := files[target]; isFile {
					roots[target] = true
					continue
				}
				visit(target)
			}
		}
	}
	visit(dir)
	return roots
}

// kustomizationFiles lists the kustomization files among files, sorted.
func kustomizationFiles(files map[string][]byte) []string {
	var out []string
	for p := range files {
		if isKustomizationFileName(path.Base(p)) {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

func isKustomizationFileName(name string) bool {
	switch name {
	case "kustomization.yaml", "kustomization.yml", "Kustomization":
		return true
	}
	return false
}

// kustomizationRefs returns the local paths a kustomization file refers to:
// resources, components, file patches, generator sources and the like.
// Remote references and unparsable files yield nothing.
func kustomizationRefs(data []byte) []string {
	var k kustomizationRefFields
	if err := yaml.Unmarshal(data, &k); err != nil {
		return nil
	}
	var refs []string
	add := func(list ...string) {
		for _, r := range list {
			// Inline patches in patchesStrategicMerge are not paths.
			if r == "" || strings.Contains(r, "\n") || strings.Contains(r, "://") || strings.HasPrefix(r, "github.com/") {
				continue
			}
			refs = append(refs, r)
		}
	}
	add(k.Resources...)
	add(k.Bases...)
	add(k.Components...)
	add(k.Crds...)
	add(k.Generators...)
	add(k.Transformers...)
	add(k.Validators...)
	add(k.Configurations...)
	add(k.PatchesStrategicMerge...)
	for _, p := range k.Patches {
		add(p.Path)
	}
	for _, p := range k.PatchesJSON6902 {
		add(p.Path)
	}
	for _, r := range k.Replacements {
		add(r.Path)
	}
	if p, ok := k.OpenAPI["path"].(string); ok {
		add(p)
	}
	for _, g := range append(k.ConfigMapGenerator, k.SecretGenerator...) {
		add(g.Envs...)
		add(g.Env)
		for _, f := range g.Files {
			// "key=path" names the key.
			if i := strings.Index(f, "="); i >= 0 {
				f = f[i+1:]
			}
			add(f)
		}
	}
	return refs
}

type generatorArgs struct {
	Files []string `json:"files"`
	Envs  []string `json:"envs"`
	Env   string   `json:"env"`
}
