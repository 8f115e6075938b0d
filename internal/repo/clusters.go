package repo

import (
	"bytes"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"
)

// Cluster is one Flux installation the repository drives: the root files
// (or the folder a Flux installation syncs) its tree starts from, the
// folder of namespace folders its apps live in, and why gen took it for a
// cluster. A repository of several clusters has one each; bases shared
// between them belong to every cluster that builds them.
type Cluster struct {
	// Name tells the clusters of one repository apart: the folder that
	// differs between their roots (kubernetes/<name>/...), or the folder
	// of a single cluster's bootstrap, or "default".
	Name string
	// Roots are the files holding the root Flux Kustomizations, or the
	// folder a Flux installation syncs (see flux.Discover on folder roots).
	Roots []string
	// AppsDir is the folder of namespace folders ("" when none was found).
	AppsDir string
	// Why says how the roots were found, for the first line of gen check.
	Why string

	// reach holds the folders and files the cluster's Kustomizations can
	// build, found statically (an over-approximation).
	reach map[string]bool
}

// Uses reports whether the cluster's Kustomizations can read the
// repository path p (a folder they build, or a file their kustomization
// files name), found without building.
func (c Cluster) Uses(p string) bool {
	return covers(c.reach, p)
}

// covers reports whether p is one of the paths of set or below one.
func covers(set map[string]bool, p string) bool {
	if set[""] {
		return true
	}
	for q := p; ; {
		if set[q] {
			return true
		}
		i := strings.LastIndexByte(q, '/')
		if i < 0 {
			return false
		}
		q = q[:i]
	}
}

// fluxKS is a Flux Kustomization as discovery sees it.
type fluxKS struct {
	file, name, path string
	// noPath is set when spec.path is missing (the source's root is
	// built, which for a Kustomization of this repository is rare).
	noPath bool
	// own is set when it builds from a GitRepository (this repository, as
	// far as a static reading can tell).
	own bool
}

// fluxKustomizations lists the Flux Kustomizations of docs (decoded). The
// repository's own source is the GitRepository most of them build from
// (flux-system by convention, home-kubernetes in older repositories); one
// that builds from another GitRepository (Flux's own manifests, an
// upstream project) builds something that is not in this repository.
func fluxKustomizations(docs []Object) []fluxKS {
	uses := map[string]int{}
	var all []fluxKS
	var sources []string
	for _, d := range docs {
		if !d.IsFluxKustomization() {
			continue
		}
		src := ""
		if d.Str("spec", "sourceRef", "kind") == "GitRepository" {
			src = d.Str("spec", "sourceRef", "name")
			uses[src]++
		}
		p := cleanRel(d.Str("spec", "path"))
		if p == "." && d.Str("spec", "path") != "" {
			p = ""
		}
		all = append(all, fluxKS{file: d.File, name: d.Name, path: p, noPath: d.Str("spec", "path") == ""})
		sources = append(sources, src)
	}
	own, most := "flux-system", uses["flux-system"]
	for name, n := range uses {
		if n > most || n == most && name < own && own != "flux-system" {
			own, most = name, n
		}
	}
	for i := range all {
		all[i].own = sources[i] == own
	}
	return all
}

// ignoredForRoots reports whether a file lies in a folder nobody syncs on
// purpose: one whose name starts with "." or "_" (.archive, _old).
func ignoredForRoots(p string) bool {
	for _, part := range strings.Split(path.Dir(p), "/") {
		if strings.HasPrefix(part, ".") && part != "." || strings.HasPrefix(part, "_") {
			return true
		}
	}
	return false
}

// reacher computes what a Flux Kustomization's path can build: the folder
// and, transitively, what the kustomization files below it name outside
// it. Results are cached by folder.
type reacher struct {
	r      *Repo
	kfiles []string
	cache  map[string]map[string]bool
	// refs caches the local entries of each kustomization file.
	refs map[string][]string
}

func newReacher(r *Repo) *reacher {
	var kfiles []string
	for p := range r.Files {
		if isKustomizationFile(path.Base(p)) {
			kfiles = append(kfiles, p)
		}
	}
	sort.Strings(kfiles)
	return &reacher{r: r, kfiles: kfiles, cache: map[string]map[string]bool{}, refs: map[string][]string{}}
}

func (x *reacher) reach(dir string) map[string]bool {
	if set, ok := x.cache[dir]; ok {
		return set
	}
	set := map[string]bool{}
	var visit func(d string)
	visit = func(d string) {
		if set[d] {
			return
		}
		set[d] = true
		prefix := d + "/"
		if d == "" {
			prefix = ""
		}
		for i := sort.SearchStrings(x.kfiles, prefix); i < len(x.kfiles) && strings.HasPrefix(x.kfiles[i], prefix); i++ {
			base := path.Dir(x.kfiles[i])
			for _, ref := range x.entries(x.kfiles[i]) {
				if strings.Contains(ref, "://") || strings.HasPrefix(ref, "/") {
					continue
				}
				target := path.Join(base, ref)
				if target == ".." || strings.HasPrefix(target, "../") || covers(set, target) {
					continue
				}
				if _, isFile := x.r.Files[target]; isFile {
					set[target] = true
					continue
				}
				visit(target)
			}
		}
	}
	visit(dir)
	x.cache[dir] = set
	return set
}

// entries returns the resources and components a kustomization file lists.
func (x *reacher) entries(kfile string) []string {
	if refs, ok := x.refs[kfile]; ok {
		return refs
	}
	var refs []string
	// Only an entry that leaves the folder adds to what is reached.
	if data := x.r.Files[kfile]; bytes.Contains(data, []byte("..")) {
		if k, err := ParseKustomization(data); err == nil {
			refs = append(append(refs, k.Resources...), k.Components...)
		}
	}
	x.refs[kfile] = refs
	return refs
}

// discoverClusters finds every cluster of the repository by content:
//
//   - a folder a Flux Operator installation syncs (a FluxInstance's
//     spec.sync.path, or the flux-instance chart's values);
//   - otherwise every Flux Kustomization that no other Kustomization of the
//     repository builds, and that itself builds other Kustomizations: the
//     flux-system Kustomization of flux bootstrap's gotk-sync.yaml, the old
//     template's flux/config/cluster.yaml (whose path is the folder Flux
//     generates a kustomization for), the current template's
//     flux/cluster/ks.yaml. Such Kustomizations in one folder are one
//     cluster.
//
// Folders whose name starts with "." or "_" are left out (archives).
func (r *Repo) discoverClusters(docs []Object) []Cluster {
	decodeAll(docs, Object.IsFluxKustomization)
	all := fluxKustomizations(docs)
	x := newReacher(r)

	type group struct {
		dir   string
		files []string
		sync  string // the sync folder, when a Flux installation syncs it
		why   string
	}
	var groups []*group
	syncs := fluxSyncSources(docs)
	syncDirs := make([]string, 0, len(syncs))
	for dir, what := range syncs {
		if strings.HasPrefix(what, ociMark) && r.isDir(dir) {
			// What CI pushes from a folder of the same path is not
			// known to be all of it: the root files stay the roots.
			delete(syncs, dir)
			continue
		}
		if !r.isDir(dir) {
			// An OCI artifact (or a GitRepository with an ignore list)
			// may hold a sub-folder of the repository: the sync path is
			// then the end of a folder's path.
			found := r.dirsEndingIn(dir)
			if len(found) != 1 {
				continue
			}
			delete(syncs, dir)
			dir = found[0]
			syncs[dir] = what
		}
		if !ignoredForRoots(dir + "/x") {
			syncDirs = append(syncDirs, dir)
		}
	}
	sort.Strings(syncDirs)
	underSync := func(file string) string {
		for _, s := range syncDirs {
			if strings.HasPrefix(file, s+"/") {
				return s
			}
		}
		return ""
	}
	for _, s := range syncDirs {
		why := fmt.Sprintf("the folder %s syncs", syncs[s])
		if what, ok := strings.CutPrefix(syncs[s], ociMark); ok {
			why = fmt.Sprintf("the folder %s syncs from an OCI artifact of the repository", what)
		}
		groups = append(groups, &group{dir: s, sync: s, why: why})
	}

	// A Kustomization is built by another when the other's folder (or a
	// folder its kustomization files name) holds its file. Every folder a
	// Kustomization reaches is matched against the sorted files that
	// declare Kustomizations, so the work grows with what each reaches,
	// not with the square of their number.
	var kfiles []string
	for _, k := range all {
		kfiles = append(kfiles, k.file)
	}
	sort.Strings(kfiles)
	kfiles = slices.Compact(kfiles)
	builders := map[string][]int{}
	reachesOther := make([]bool, len(all))
	for i, o := range all {
		if !o.own {
			continue
		}
		seen := map[string]bool{}
		for p := range x.reach(o.path) {
			prefix := p + "/"
			if p == "" {
				prefix = ""
			}
			if j := sort.SearchStrings(kfiles, p); j < len(kfiles) && kfiles[j] == p && !seen[p] {
				seen[p] = true
				builders[p] = append(builders[p], i)
			}
			for j := sort.SearchStrings(kfiles, prefix); j < len(kfiles) && strings.HasPrefix(kfiles[j], prefix); j++ {
				if f := kfiles[j]; !seen[f] {
					seen[f] = true
					builders[f] = append(builders[f], i)
				}
			}
		}
		for f := range seen {
			if f != o.file {
				reachesOther[i] = true
				break
			}
		}
	}
	builtByOther := func(k fluxKS) bool {
		for _, j := range builders[k.file] {
			if o := all[j]; o.file != k.file || o.name != k.name {
				return true
			}
		}
		return false
	}
	byDir := map[string]*group{}
	for i, k := range all {
		if !k.own || ignoredForRoots(k.file) || k.noPath {
			continue
		}
		if s := underSync(k.file); s != "" {
			continue
		}
		if builtByOther(k) || !reachesOther[i] {
			continue
		}
		dir := path.Dir(k.file)
		g, ok := byDir[dir]
		if !ok {
			g = &group{dir: dir}
			byDir[dir] = g
			groups = append(groups, g)
		}
		g.files = appendUnique(g.files, k.file)
		why := fmt.Sprintf("Kustomization %s in %s is built by no other Kustomization", k.name, k.file)
		if k.name == "flux-system" {
			what := k.path
			if what == "" {
				what = "the repository's root"
			}
			why = fmt.Sprintf("Kustomization flux-system in %s syncs %s (flux bootstrap)", k.file, what)
		}
		if g.why == "" {
			g.why = why
		}
	}

	var out []Cluster
	for _, g := range groups {
		c := Cluster{Why: g.why}
		if g.sync != "" {
			// The sync folder is the root when it applies more than the
			// Kustomizations of its files (a ConfigMap of variables).
			var files []string
			for _, k := range all {
				if strings.HasPrefix(k.file, g.sync+"/") && k.own && !builtByOther(k) {
					files = appendUnique(files, k.file)
				}
			}
			if len(files) == 0 || len(files) > 1 || appliesMore(docs, g.sync, files[0]) {
				c.Roots = []string{g.sync}
			} else {
				c.Roots = files
			}
		} else {
			sort.Strings(g.files)
			c.Roots = g.files
		}
		r.fillCluster(&c, all, x)
		out = append(out, c)
	}
	// A cluster whose roots another cluster builds is part of that one
	// (an old bootstrap folder that still builds the new sync folder).
	coversAll := func(a, b Cluster) bool {
		for _, root := range b.Roots {
			if !a.Uses(root) {
				return false
			}
		}
		return true
	}
	var keep []Cluster
	for i, c := range out {
		inside := false
		for j, o := range out {
			if i != j && coversAll(o, c) && (!coversAll(c, o) || j < i) {
				inside = true
				break
			}
		}
		if !inside {
			keep = append(keep, c)
		}
	}
	nameClusters(keep)
	return keep
}

// fillCluster finds what a cluster's roots reach and its apps folder: the
// shortest spec.path among its Kustomizations that holds namespace folders.
func (r *Repo) fillCluster(c *Cluster, all []fluxKS, x *reacher) {
	c.reach = map[string]bool{}
	add := func(set map[string]bool) {
		for p := range set {
			c.reach[p] = true
		}
	}
	expanded := map[int]bool{}
	var paths []string
	for _, root := range c.Roots {
		if _, isFile := r.Files[root]; !isFile {
			add(x.reach(root))
			continue
		}
		c.reach[root] = true
	}
	for {
		grew := false
		for i, k := range all {
			if expanded[i] || !k.own || k.noPath {
				continue
			}
			if !covers(c.reach, k.file) {
				continue
			}
			expanded[i] = true
			grew = true
			add(x.reach(k.path))
			paths = append(paths, k.path)
		}
		if !grew {
			break
		}
	}
	if c.AppsDir != "" {
		return
	}
	sort.Slice(paths, func(i, j int) bool {
		if len(paths[i]) != len(paths[j]) {
			return len(paths[i]) < len(paths[j])
		}
		return paths[i] < paths[j]
	})
	for _, p := range paths {
		if r.hasNamespaceFolders(p) {
			c.AppsDir = p
			return
		}
	}
}

// nameClusters names each cluster by the folder its roots differ in from
// the other clusters' (kubernetes/main/... and kubernetes/network/...);
// a single cluster by the folder above its bootstrap folder
// (kubernetes/main/flux/...), else "default".
func nameClusters(cs []Cluster) {
	split := func(c Cluster) []string {
		if len(c.Roots) == 0 {
			return nil
		}
		return strings.Split(c.Roots[0], "/")
	}
	if len(cs) > 1 {
		for i := range cs {
			mine := split(cs[i])
			name := ""
			for j, part := range mine {
				same := true
				for k := range cs {
					other := split(cs[k])
					if k != i && (j >= len(other) || other[j] != part) {
						same = false
						break
					}
				}
				if !same {
					name = strings.TrimSuffix(strings.TrimSuffix(part, ".yaml"), ".yml")
					break
				}
			}
			if name == "" {
				name = fmt.Sprintf("cluster-%d", i+1)
			}
			cs[i].Name = name
		}
		// Names must tell clusters apart; fall back to the root path.
		seen := map[string]int{}
		for _, c := range cs {
			seen[c.Name]++
		}
		for i := range cs {
			if seen[cs[i].Name] > 1 {
				cs[i].Name = path.Dir(cs[i].Roots[0])
			}
		}
	} else {
		for i := range cs {
			cs[i].Name = singleName(split(cs[i]))
		}
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].Name < cs[j].Name })
}

func singleName(parts []string) string {
	for i, p := range parts {
		if i > 0 && p == "clusters" && i+1 < len(parts)-1 {
			return parts[i+1]
		}
	}
	for i, p := range parts {
		if i > 1 && (p == "flux" || p == "flux-system") {
			return parts[i-1]
		}
	}
	return "default"
}

// ociMark starts the description of a sync from an OCI artifact.
const ociMark = "oci:"

// dirsEndingIn lists the folders whose path ends in the path suffix.
func (r *Repo) dirsEndingIn(suffix string) []string {
	set := map[string]bool{}
	for p := range r.Files {
		if i := strings.Index(p, "/"+suffix+"/"); i >= 0 && !ignoredForRoots(p) {
			set[p[:i+1+len(suffix)]] = true
		}
	}
	out := make([]string, 0, len(set))
	for d := range set {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}

// fluxSyncSources maps each folder a Flux Operator installation syncs from
// a GitRepository to a description of where that is said: spec.sync.path
// of a FluxInstance, values.instance.sync.path of a HelmRelease of the
// flux-instance chart, or instance.sync.path of a values file for it.
func fluxSyncSources(docs []Object) map[string]string {
	out := map[string]string{}
	for _, d := range docs {
		if d.doc == nil || !d.Contains("sync:") {
			continue
		}
		var sync any
		var what string
		switch {
		case d.Kind == "FluxInstance" && strings.HasPrefix(d.APIVersion, "fluxcd.controlplane.io/"):
			sync, what = d.Get("spec", "sync"), "FluxInstance "+d.Name
		case d.Kind == "HelmRelease" && strings.HasPrefix(d.APIVersion, "helm.toolkit.fluxcd.io/"):
			sync, what = d.Get("spec", "values", "instance", "sync"), "HelmRelease "+d.Name
		case d.Kind == "" && d.Contains("instance:"):
			sync, what = d.Get("instance", "sync"), "the flux-instance values"
		default:
			continue
		}
		m, _ := sync.(map[string]any)
		p, _ := m["path"].(string)
		kind, _ := m["kind"].(string)
		if p == "" || (kind != "" && kind != "GitRepository" && kind != "OCIRepository") {
			continue
		}
		if kind == "OCIRepository" {
			what = ociMark + what
		}
		if clean := cleanRel(p); clean != "" && clean != "." && !strings.HasPrefix(clean, "..") {
			if _, ok := out[clean]; !ok {
				out[clean] = what + " (" + d.File + ")"
			}
		}
	}
	return out
}
