// Package repo reads a Flux repository of the cluster-template shape once and
// answers questions about it: where apps live, which namespaces and apps
// exist, which cluster-secrets variables exist and which domains they hold,
// the gateways and their listeners, and the SOPS rules.
//
// Discovery goes by content (kinds and names), not by fixed paths, so a stock
// cluster-template repository and a grown one both load. A .gen.yaml at the
// repository root overrides what discovery guessed.
package repo

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Repo is the model of one repository.
type Repo struct {
	// Root is the repository root on disk ("" when loaded from memory).
	Root string
	// Files is the snapshot the model was built from: every YAML file below
	// the repository root plus .sops.yaml and .gen.yaml, keyed by slash path.
	Files map[string][]byte
	// Config is the parsed .gen.yaml (zero when absent).
	Config Config

	// RootKustomizations are the files holding the root Flux Kustomizations,
	// or the folder a Flux Operator installation syncs when it applies more
	// than those (see flux.Discover on folder roots).
	RootKustomizations []string
	// AppsDir is the folder the root Kustomization builds (kubernetes/apps).
	AppsDir string
	// SopsComponent is the folder of the kustomize Component that carries
	// cluster-secrets into every namespace ("" when there is none).
	SopsComponent string
	// ClusterSecretsFile is the path of the cluster-secrets Secret.
	ClusterSecretsFile string
	// SecretVars are the variable names cluster-secrets defines, sorted.
	SecretVars []string
	// Domains are the SECRET_DOMAIN* variables, primary first.
	Domains []Domain
	// Namespaces by name.
	Namespaces map[string]*Namespace
	// Gateways found in the repository.
	Gateways []Gateway
	// SopsConfigFile is ".sops.yaml" when the repository has one.
	SopsConfigFile string
	// Notes are things discovery noticed but did not treat as errors.
	Notes []string
	// Clusters are every cluster of the repository (see Cluster); the
	// model describes the one called Cluster.
	Clusters []Cluster
	// Cluster is the name of the cluster the model describes.
	Cluster string

	objects []Object
	// nsParents caches hasNamespaceFolders.
	nsParents map[string]bool
	// reach is what the cluster's Kustomizations can build (Cluster.Uses).
	reach map[string]bool
}

// Objects returns every YAML document of the repository, in file order.
func (r *Repo) Objects() []Object { return r.objects }

// ObjectsIn returns the documents of the files below dir.
func (r *Repo) ObjectsIn(dir string) []Object {
	var out []Object
	prefix := strings.TrimSuffix(dir, "/") + "/"
	for _, o := range r.objects {
		if strings.HasPrefix(o.File, prefix) {
			out = append(out, o)
		}
	}
	return out
}

// Domain is one DNS domain the repository serves through a variable.
type Domain struct {
	// Var is the cluster-secrets variable name, e.g. SECRET_DOMAIN_TWO.
	Var string
	// Value is the domain, e.g. example.org; "" when unknown.
	Value string
	// Primary is set for the domain the gateways' target annotation uses:
	// its hostnames get DNS records from the gateway, others need a
	// DNSEndpoint.
	Primary bool
}

// Namespace is one folder under the apps directory.
type Namespace struct {
	Name string
	// Dir is the folder, e.g. kubernetes/apps/default.
	Dir string
	// Kustomization is the path of its kustomization.yaml.
	Kustomization string
	// Apps by name, registered or not.
	Apps map[string]*App
}

// AppMode says how an app's workload is declared.
type AppMode string

// App modes.
const (
	ModeHelmOCI  AppMode = "helm-oci"
	ModeHelmRepo AppMode = "helm-repository"
	ModeHelmGit  AppMode = "helm-git"
	ModeHelm     AppMode = "helm"
	ModeRaw      AppMode = "raw"
	ModeUnknown  AppMode = "unknown"
)

// App is one app folder: <ns>/<app>/ks.yaml plus what its Flux
// Kustomizations build.
type App struct {
	Namespace string
	Name      string
	// Dir is the app folder, e.g. kubernetes/apps/default/echo.
	Dir string
	// KS is the path of ks.yaml ("" when the folder has none).
	KS string
	// Registered is set when the namespace kustomization lists ./<app>/ks.yaml.
	Registered bool
	// Kustomizations are the names of the Flux Kustomizations in ks.yaml.
	Kustomizations []string
	// Mode is how the workload is declared.
	Mode AppMode
}

// Gateway is a Gateway API Gateway declared in the repository.
type Gateway struct {
	Name      string
	Namespace string
	File      string
	// Target is the external-dns target annotation, if any.
	Target    string
	Listeners []Listener
}

// Listener is one listener of a Gateway.
type Listener struct {
	Name     string
	Protocol string
	Port     int
}

// HasListener reports whether the gateway has a listener called name.
func (g Gateway) HasListener(name string) bool {
	for _, l := range g.Listeners {
		if l.Name == name {
			return true
		}
	}
	return false
}

// ErrUnknownShape is wrapped by Load when the repository does not look like
// a Flux repository gen understands.
var ErrUnknownShape = errors.New("unknown repository shape")

// maxFileSize bounds what Load reads of one file; larger files are noted and
// skipped (nobody keeps a 4 MiB manifest on purpose).
const maxFileSize = 4 << 20

// Load reads the repository at root from disk.
func Load(root string, opts LoadOptions) (*Repo, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("resolving repository root %q: %w", root, err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("repository root %q: %w", root, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("repository root %q is not a folder", root)
	}
	files, err := ReadFiles(os.DirFS(abs))
	if err != nil {
		return nil, err
	}
	r, err := FromFiles(files, opts)
	if err != nil {
		return nil, err
	}
	r.Root = abs
	return r, nil
}

// ReadFiles reads every YAML file of a repository (and .sops.yaml,
// .gen.yaml) into memory. It skips .git, does not follow symbolic links and
// leaves out files larger than 4 MiB. Files are read by a few goroutines at
// once: on a repository of hundreds of small files the time goes to system
// calls, not bytes.
func ReadFiles(fsys fs.FS) (map[string][]byte, error) {
	// Plain files are read below a folder with a kustomization file too:
	// kustomize generators read them, wherever the manifests live.
	var all []string
	kdirs := map[string]bool{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != "." && (d.Name() == ".git" || d.Name() == "node_modules") {
				return fs.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			all = append(all, p)
			if isKustomizationFile(d.Name()) && path.Dir(p) != "." {
				kdirs[path.Dir(p)] = true
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading repository: %w", err)
	}
	var paths []string
	for _, p := range all {
		if isRepoFile(p) || belowKustomization(p, kdirs) {
			paths = append(paths, p)
		}
	}
	type result struct {
		path string
		data []byte
		err  error
	}
	jobs := make(chan string)
	results := make(chan result)
	workers := min(8, len(paths))
	for range workers {
		go func() {
			for p := range jobs {
				data, err := readBounded(fsys, p)
				results <- result{p, data, err}
			}
		}()
	}
	go func() {
		for _, p := range paths {
			jobs <- p
		}
		close(jobs)
	}()
	files := make(map[string][]byte, len(paths))
	var firstErr error
	for range paths {
		r := <-results
		if r.err != nil && firstErr == nil {
			firstErr = fmt.Errorf("reading %q: %w", r.path, r.err)
		}
		if r.data != nil {
			files[r.path] = r.data
		}
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return files, nil
}

// belowKustomization reports whether a folder holding p, or one above it,
// has a kustomization file.
func belowKustomization(p string, kdirs map[string]bool) bool {
	for dir := path.Dir(p); dir != "." && dir != "/"; dir = path.Dir(dir) {
		if kdirs[dir] {
			return true
		}
	}
	return false
}

// readBounded reads a file, returning nil for one over maxFileSize.
func readBounded(fsys fs.FS, p string) ([]byte, error) {
	f, err := fsys.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxFileSize {
		return nil, nil
	}
	return data, nil
}

// isRepoFile selects the files the model and the Flux renderer need. The
// renderer also reads files that kustomize generators name (configMap
// sources), so any file below kubernetes/ is kept.
func isRepoFile(p string) bool {
	base := path.Base(p)
	switch base {
	case ".sops.yaml", ".gen.yaml", ".sourceignore":
		return true
	}
	if strings.HasPrefix(p, ".gen/") {
		return true
	}
	if strings.HasPrefix(p, "kubernetes/") {
		return true
	}
	ext := path.Ext(p)
	return ext == ".yaml" || ext == ".yml"
}

// LoadOptions adjust discovery.
type LoadOptions struct {
	// Domains maps domain variables to domains (from --domain flags); they
	// win over .gen.yaml and decrypted values.
	Domains map[string]string
	// SecretValues are decrypted cluster-secrets values, when a key was
	// available (see sops.LoadIdentities).
	SecretValues map[string]string
	// Cluster names the cluster to model in a repository of several
	// (Repo.Clusters); "" takes the first that has an apps folder.
	Cluster string
	// Roots, when set, are the root files (or sync folder) of the one
	// cluster to model, as .gen.yaml's roots: would name them (--root).
	Roots []string
}

// domainVar matches the repository's domain variables.
var domainVar = regexp.MustCompile(`^SECRET_DOMAIN(_[A-Z0-9]+)*$`)

// IsDomainVar reports whether name is a domain variable (SECRET_DOMAIN,
// SECRET_DOMAIN_TWO, ...).
func IsDomainVar(name string) bool { return domainVar.MatchString(name) }

// FromFiles builds the model from a snapshot.
func FromFiles(files map[string][]byte, opts LoadOptions) (*Repo, error) {
	r := &Repo{Files: files, Namespaces: map[string]*Namespace{}}
	if data, ok := files[".gen.yaml"]; ok {
		cfg, err := ParseConfig(data)
		if err != nil {
			return nil, fmt.Errorf("reading \".gen.yaml\": %w", err)
		}
		r.Config = cfg
	}
	if _, ok := files[".sops.yaml"]; ok {
		r.SopsConfigFile = ".sops.yaml"
	}
	docs := parseAll(files)
	r.objects = docs
	if len(opts.Roots) > 0 {
		r.Config.Roots, r.Config.AppsDir, r.Config.Clusters = opts.Roots, "", nil
	}
	if err := r.findRoots(docs, opts.Cluster); err != nil {
		return nil, err
	}
	r.findNamespaces(docs)
	r.findClusterSecrets(docs)
	r.findDomains(opts)
	r.findGateways(docs)
	return r, nil
}

// DiscoverClusters returns the clusters of a repository snapshot: those
// its .gen.yaml names, else those found by content (see Cluster). The
// error is about .gen.yaml; a repository with no recognisable cluster has
// none.
func DiscoverClusters(files map[string][]byte) ([]Cluster, error) {
	r := &Repo{Files: files, Namespaces: map[string]*Namespace{}}
	if data, ok := files[".gen.yaml"]; ok {
		cfg, err := ParseConfig(data)
		if err != nil {
			return nil, fmt.Errorf("reading \".gen.yaml\": %w", err)
		}
		r.Config = cfg
	}
	return r.clusters(parseAll(files))
}

// findRoots finds the repository's clusters and takes the one asked for
// (the first by name when none is): its roots and apps folder.
func (r *Repo) findRoots(docs []Object, want string) error {
	clusters, err := r.clusters(docs)
	if err != nil {
		return err
	}
	r.Clusters = clusters
	if len(clusters) == 0 {
		return fmt.Errorf("%w: no Flux Kustomization whose spec.path holds namespace folders "+
			"(folders with a kustomization.yaml listing ./<app>/ks.yaml); "+
			"if the repository keeps apps elsewhere, say so in .gen.yaml: `appsDir: kubernetes/apps`", ErrUnknownShape)
	}
	sel := -1
	if want == "" {
		for i, c := range clusters {
			if c.AppsDir != "" {
				sel = i
				break
			}
		}
		if sel < 0 {
			sel = 0
		}
	} else {
		for i, c := range clusters {
			if c.Name == want {
				sel = i
			}
		}
		if sel < 0 {
			names := make([]string, len(clusters))
			for i, c := range clusters {
				names[i] = c.Name
			}
			return fmt.Errorf("no cluster %q; the repository's clusters are %s", want, strings.Join(names, ", "))
		}
	}
	c := clusters[sel]
	r.Cluster = c.Name
	r.RootKustomizations = c.Roots
	r.AppsDir = c.AppsDir
	r.reach = c.reach
	if r.AppsDir == "" {
		return fmt.Errorf("%w: cluster %s (%s) has no Flux Kustomization whose spec.path holds namespace folders "+
			"(folders with a kustomization.yaml listing ./<app>/ks.yaml); "+
			"if the repository keeps apps elsewhere, say so in .gen.yaml: `appsDir: kubernetes/apps`", ErrUnknownShape, c.Name, strings.Join(c.Roots, ", "))
	}
	return nil
}

// clusters returns the clusters .gen.yaml names, else the ones found by
// content (discoverClusters), else, for a repository whose bootstrap gen
// does not recognise, one cluster per Flux Kustomization whose spec.path
// holds namespace folders.
func (r *Repo) clusters(docs []Object) ([]Cluster, error) {
	cfg := r.Config
	x := (*reacher)(nil)
	var all []fluxKS
	fill := func(c *Cluster) {
		if x == nil {
			decodeAll(docs, Object.IsFluxKustomization)
			x = newReacher(r)
			all = fluxKustomizations(docs)
		}
		r.fillCluster(c, all, x)
	}
	checkApps := func(c Cluster, where string) error {
		if c.AppsDir != "" && !r.isDir(c.AppsDir) {
			return fmt.Errorf("%w: apps folder %q from %s does not exist", ErrUnknownShape, c.AppsDir, where)
		}
		return nil
	}
	if len(cfg.Clusters) > 0 {
		var out []Cluster
		for i, cc := range cfg.Clusters {
			c := Cluster{Name: cc.Name, AppsDir: cleanRel(cc.AppsDir), Why: ".gen.yaml names it"}
			if c.Name == "" {
				return nil, fmt.Errorf("reading \".gen.yaml\": clusters[%d] has no name", i)
			}
			for _, root := range cc.Roots {
				c.Roots = append(c.Roots, cleanRel(root))
			}
			if c.AppsDir == "." {
				c.AppsDir = ""
			}
			if err := checkApps(c, ".gen.yaml clusters["+c.Name+"]"); err != nil {
				return nil, err
			}
			fill(&c)
			out = append(out, c)
		}
		sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
		return out, nil
	}
	found := r.discoverClusters(docs)
	if len(cfg.Roots) > 0 || cfg.AppsDir != "" {
		c := Cluster{Why: ".gen.yaml names it"}
		if cfg.AppsDir != "" {
			c.AppsDir = cleanRel(cfg.AppsDir)
			if err := checkApps(c, ".gen.yaml"); err != nil {
				return nil, err
			}
		}
		for _, root := range cfg.Roots {
			c.Roots = append(c.Roots, cleanRel(root))
		}
		if len(c.Roots) == 0 {
			// appsDir alone: the roots of the cluster that builds it.
			for _, f := range found {
				if f.Uses(c.AppsDir) {
					c.Roots, c.Name, c.Why = f.Roots, f.Name, f.Why+"; .gen.yaml names its apps folder"
					break
				}
			}
		}
		fill(&c)
		if c.Name == "" {
			c.Name = singleName(strings.Split(firstOr(c.Roots, c.AppsDir), "/"))
		}
		return []Cluster{c}, nil
	}
	if len(found) > 0 {
		return found, nil
	}
	// Candidates: Flux Kustomizations whose path holds namespace folders;
	// a child ks.yaml may also point at a folder of namespace-like
	// folders: the root is the one with the shortest path.
	decodeAll(docs, Object.IsFluxKustomization)
	type cand struct{ file, dir string }
	var cands []cand
	for _, d := range docs {
		if !d.IsFluxKustomization() {
			continue
		}
		if dir := cleanRel(d.Str("spec", "path")); d.Str("spec", "path") != "" && r.hasNamespaceFolders(dir) {
			cands = append(cands, cand{d.File, dir})
		}
	}
	sort.Slice(cands, func(i, j int) bool {
		if len(cands[i].dir) != len(cands[j].dir) {
			return len(cands[i].dir) < len(cands[j].dir)
		}
		return cands[i].file < cands[j].file
	})
	if len(cands) == 0 {
		return nil, nil
	}
	c := Cluster{AppsDir: cands[0].dir, Roots: []string{cands[0].file},
		Why: fmt.Sprintf("no bootstrap found; the spec.path of %s holds namespace folders", cands[0].file)}
	fill(&c)
	c.Name = singleName(strings.Split(c.Roots[0], "/"))
	return []Cluster{c}, nil
}

func firstOr(list []string, def string) string {
	if len(list) > 0 {
		return list[0]
	}
	return def
}

// appliesMore reports whether the folder dir holds Kubernetes documents
// besides the Flux Kustomizations of the root file root: then the
// Kustomization that syncs dir (which Flux's installation makes, not the
// repository) applies them too, e.g. a ConfigMap of variables the root's
// postBuild.substituteFrom reads, and the folder is the true root.
func appliesMore(docs []Object, dir, root string) bool {
	for _, d := range docs {
		if d.Kind == "" || !strings.HasPrefix(d.File, dir+"/") {
			continue
		}
		if d.File == root && d.IsFluxKustomization() {
			continue
		}
		return true
	}
	return false
}

// hasNamespaceFolders reports whether dir has at least one child folder
// whose kustomization.yaml registers an app: lists a file that declares a
// Flux Kustomization (./<app>/ks.yaml, ./<app>/install.yaml, ./<app>.yaml).
func (r *Repo) hasNamespaceFolders(dir string) bool {
	if r.nsParents == nil {
		// Every folder that has such a child, found in one pass: the
		// question is asked for every Flux Kustomization's path.
		r.nsParents = map[string]bool{}
		for p, data := range r.Files {
			parts := strings.Split(p, "/")
			if len(parts) < 3 || !isKustomizationFile(parts[len(parts)-1]) {
				continue
			}
			if parts[len(parts)-2] == "flux-system" {
				// flux bootstrap's own folder (gotk-sync.yaml) registers no app.
				continue
			}
			if bytes.Contains(data, []byte("/ks.yaml")) || bytes.Contains(data, []byte("/ks.yml")) {
				r.nsParents[strings.Join(parts[:len(parts)-2], "/")] = true
				continue
			}
			k, err := ParseKustomization(data)
			if err != nil {
				continue
			}
			for _, res := range k.Resources {
				rel := strings.TrimPrefix(path.Clean(res), "./")
				// An app is registered by a file in its folder
				// (./<app>/ks.yaml) or, in a flat namespace folder, by a
				// file of its own (./<app>.yaml).
				if strings.Count(rel, "/") > 1 || strings.HasPrefix(rel, "..") {
					continue
				}
				file := path.Join(path.Dir(p), rel)
				if isKSName(rel) || r.declaresFluxKustomization(file) && (strings.Contains(rel, "/") || !declaresSource(r.Files[file])) {
					r.nsParents[strings.Join(parts[:len(parts)-2], "/")] = true
					break
				}
			}
		}
	}
	return r.nsParents[dir]
}

// isKSName reports whether a kustomization entry names an app's ks.yaml.
func isKSName(p string) bool {
	b := path.Base(p)
	return b == "ks.yaml" || b == "ks.yml"
}

// declaresSource reports whether a file declares a Flux source: a file of
// a source and a Kustomization that builds from it installs something
// from elsewhere (CRDs from upstream), it is no app.
func declaresSource(data []byte) bool {
	for _, k := range []string{"kind: GitRepository", "kind: OCIRepository", "kind: HelmRepository", "kind: Bucket"} {
		if bytes.Contains(data, []byte(k)) {
			return true
		}
	}
	return false
}

// declaresFluxKustomization reports whether the file p holds a Flux
// Kustomization.
func (r *Repo) declaresFluxKustomization(p string) bool {
	data, ok := r.Files[p]
	return ok && bytes.Contains(data, []byte("kustomize.toolkit.fluxcd.io/")) && bytes.Contains(data, []byte("Kustomization"))
}

func isKustomizationFile(name string) bool {
	return name == "kustomization.yaml" || name == "kustomization.yml" || name == "Kustomization"
}

// findNamespaces reads every namespace folder and the apps in it.
func (r *Repo) findNamespaces(docs []Object) {
	prefix := r.AppsDir + "/"
	for p := range r.Files {
		if !strings.HasPrefix(p, prefix) {
			continue
		}
		parts := strings.Split(strings.TrimPrefix(p, prefix), "/")
		if len(parts) != 2 || !isKustomizationFile(parts[1]) {
			continue
		}
		dir := prefix + parts[0]
		k, err := ParseKustomization(r.Files[p])
		if err != nil {
			r.Notes = append(r.Notes, fmt.Sprintf("%s: %v", p, err))
			continue
		}
		name := k.Namespace
		if name == "" {
			name = parts[0]
		}
		ns := &Namespace{Name: name, Dir: dir, Kustomization: p, Apps: map[string]*App{}}
		for _, res := range k.Resources {
			rel := strings.TrimPrefix(path.Clean(res), "./")
			appName, file, ok := strings.Cut(rel, "/")
			if !ok || strings.Contains(file, "/") || !isKSName(file) && !r.declaresFluxKustomization(dir+"/"+rel) {
				continue
			}
			app := &App{Namespace: name, Name: appName, Dir: dir + "/" + appName, Registered: true}
			if !isKSName(file) {
				app.KS = dir + "/" + rel
			}
			if a, ok := ns.Apps[appName]; ok && a.KS != "" && path.Base(a.KS) == "ks.yaml" {
				continue
			}
			ns.Apps[appName] = app
		}
		r.Namespaces[name] = ns
	}
	// App folders with a ks.yaml that nobody registered.
	for p := range r.Files {
		if !strings.HasPrefix(p, prefix) || path.Base(p) != "ks.yaml" {
			continue
		}
		parts := strings.Split(strings.TrimPrefix(p, prefix), "/")
		if len(parts) != 3 {
			continue
		}
		ns := r.namespaceByDir(prefix + parts[0])
		if ns == nil {
			continue
		}
		app, ok := ns.Apps[parts[1]]
		if !ok {
			app = &App{Namespace: ns.Name, Name: parts[1], Dir: prefix + parts[0] + "/" + parts[1]}
			ns.Apps[parts[1]] = app
		}
		if app.KS == "" || !app.Registered {
			app.KS = p
		}
	}
	byFile := map[string][]Object{}
	for _, d := range docs {
		byFile[d.File] = append(byFile[d.File], d)
	}
	// The kinds under each app folder, in one pass over the files.
	kinds := map[string]map[string]bool{}
	for f, ds := range byFile {
		parts := strings.SplitN(strings.TrimPrefix(f, prefix), "/", 3)
		if !strings.HasPrefix(f, prefix) || len(parts) < 3 {
			continue
		}
		dir := prefix + parts[0] + "/" + parts[1]
		if kinds[dir] == nil {
			kinds[dir] = map[string]bool{}
		}
		for _, d := range ds {
			kinds[dir][d.Kind] = true
		}
	}
	for _, ns := range r.Namespaces {
		for _, app := range ns.Apps {
			for _, d := range byFile[app.KS] {
				if d.IsFluxKustomization() {
					app.Kustomizations = append(app.Kustomizations, d.Name)
				}
			}
			app.Mode = appMode(kinds[app.Dir])
		}
	}
}

func (r *Repo) namespaceByDir(dir string) *Namespace {
	for _, ns := range r.Namespaces {
		if ns.Dir == dir {
			return ns
		}
	}
	return nil
}

// appMode classifies an app by the kinds under its folder.
func appMode(kinds map[string]bool) AppMode {
	switch {
	case kinds["HelmRelease"] && kinds["OCIRepository"]:
		return ModeHelmOCI
	case kinds["HelmRelease"] && kinds["HelmRepository"]:
		return ModeHelmRepo
	case kinds["HelmRelease"] && kinds["GitRepository"]:
		return ModeHelmGit
	case kinds["HelmRelease"]:
		return ModeHelm
	case kinds["Deployment"] || kinds["StatefulSet"] || kinds["DaemonSet"] || kinds["CronJob"] || kinds["Job"]:
		return ModeRaw
	}
	return ModeUnknown
}

// findClusterSecrets finds the Secret named cluster-secrets and the
// Component that carries it.
func (r *Repo) findClusterSecrets(docs []Object) {
	name := r.Config.ClusterSecrets
	if name == "" {
		name = "cluster-secrets"
	}
	var files []string
	for _, d := range docs {
		if d.Kind == "Secret" && d.Name == name && r.inCluster(d.File) {
			files = append(files, d.File)
		}
	}
	sort.Strings(files)
	if len(files) == 0 {
		return
	}
	// Prefer the one inside a kustomize Component.
	r.ClusterSecretsFile = files[0]
	for _, f := range files {
		dir := path.Dir(f)
		if k, ok := r.kustomizationIn(dir); ok && k.Kind == "Component" {
			r.ClusterSecretsFile = f
			r.SopsComponent = dir
			break
		}
	}
	for _, d := range docs {
		if d.File == r.ClusterSecretsFile && d.Kind == "Secret" && d.Name == name {
			for _, field := range []string{"stringData", "data"} {
				for _, k := range d.MapKeys(field) {
					r.SecretVars = appendUnique(r.SecretVars, k)
				}
			}
		}
	}
	sort.Strings(r.SecretVars)
}

func (r *Repo) kustomizationIn(dir string) (*Kustomization, bool) {
	for _, n := range []string{"kustomization.yaml", "kustomization.yml", "Kustomization"} {
		if data, ok := r.Files[path.Join(dir, n)]; ok {
			k, err := ParseKustomization(data)
			if err != nil {
				return nil, false
			}
			return k, true
		}
	}
	return nil, false
}

// findDomains lists the domain variables and whatever values are known.
func (r *Repo) findDomains(opts LoadOptions) {
	vars := map[string]bool{}
	for _, v := range r.SecretVars {
		if IsDomainVar(v) {
			vars[v] = true
		}
	}
	for v := range r.Config.Domains {
		vars[v] = true
	}
	for v := range opts.Domains {
		vars[v] = true
	}
	for v := range vars {
		d := Domain{Var: v, Primary: v == r.primaryVar()}
		if val := opts.SecretValues[v]; val != "" {
			d.Value = val
		}
		if val := r.Config.Domains[v]; val != "" {
			d.Value = val
		}
		if val := opts.Domains[v]; val != "" {
			d.Value = val
		}
		d.Value = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d.Value)), ".")
		r.Domains = append(r.Domains, d)
	}
	sort.Slice(r.Domains, func(i, j int) bool {
		a, b := r.Domains[i], r.Domains[j]
		if a.Primary != b.Primary {
			return a.Primary
		}
		return domainOrder(a.Var) < domainOrder(b.Var)
	})
}

func (r *Repo) primaryVar() string {
	if r.Config.PrimaryDomain != "" {
		return r.Config.PrimaryDomain
	}
	return "SECRET_DOMAIN"
}

// domainOrder sorts SECRET_DOMAIN, _TWO, _THREE ... in counting order, then
// anything else by name.
func domainOrder(v string) string {
	suffix := strings.TrimPrefix(v, "SECRET_DOMAIN")
	suffix = strings.TrimPrefix(suffix, "_")
	if suffix == "" {
		return "000"
	}
	if n := NumberWordValue(suffix); n > 0 {
		return fmt.Sprintf("%03d", n)
	}
	return "999" + suffix
}

// findGateways records every Gateway and its listeners. A Gateway's
// namespace is the one its app folder deploys into.
func (r *Repo) findGateways(docs []Object) {
	for _, d := range docs {
		if d.Kind != "Gateway" || !strings.HasPrefix(d.APIVersion, "gateway.networking.k8s.io/") || !r.inCluster(d.File) {
			continue
		}
		g := Gateway{Name: d.Name, File: d.File, Namespace: d.Str("metadata", "namespace")}
		if g.Namespace == "" {
			g.Namespace = r.namespaceOfFile(d.File)
		}
		g.Target = d.Annotation("external-dns.alpha.kubernetes.io/target")
		for _, l := range d.List("spec", "listeners") {
			m, _ := l.(map[string]any)
			li := Listener{}
			li.Name, _ = m["name"].(string)
			li.Protocol, _ = m["protocol"].(string)
			switch p := m["port"].(type) {
			case int:
				li.Port = p
			case float64:
				li.Port = int(p)
			}
			g.Listeners = append(g.Listeners, li)
		}
		r.Gateways = append(r.Gateways, g)
	}
	sort.Slice(r.Gateways, func(i, j int) bool { return r.Gateways[i].Name < r.Gateways[j].Name })
}

// inCluster reports whether the modelled cluster can build file: in a
// repository of several clusters, each has its own variables and gateways.
func (r *Repo) inCluster(file string) bool {
	return len(r.Clusters) < 2 || r.reach == nil || covers(r.reach, file)
}

// namespaceOfFile returns the namespace an app folder's file deploys into.
func (r *Repo) namespaceOfFile(file string) string {
	prefix := r.AppsDir + "/"
	if !strings.HasPrefix(file, prefix) {
		return ""
	}
	first, _, _ := strings.Cut(strings.TrimPrefix(file, prefix), "/")
	if ns := r.namespaceByDir(prefix + first); ns != nil {
		return ns.Name
	}
	return ""
}

// Gateway returns the gateway called name.
func (r *Repo) Gateway(name string) (Gateway, bool) {
	for _, g := range r.Gateways {
		if g.Name == name {
			return g, true
		}
	}
	return Gateway{}, false
}

// PrimaryDomain returns the primary domain (Var SECRET_DOMAIN by default).
func (r *Repo) PrimaryDomain() (Domain, bool) {
	for _, d := range r.Domains {
		if d.Primary {
			return d, true
		}
	}
	return Domain{}, false
}

// DomainByVar returns the domain behind a variable.
func (r *Repo) DomainByVar(v string) (Domain, bool) {
	for _, d := range r.Domains {
		if d.Var == v {
			return d, true
		}
	}
	return Domain{}, false
}

// App returns the app ns/name.
func (r *Repo) App(ns, name string) (*App, bool) {
	n, ok := r.Namespaces[ns]
	if !ok {
		return nil, false
	}
	a, ok := n.Apps[name]
	return a, ok
}

// AppsNamed returns every app called name, in any namespace.
func (r *Repo) AppsNamed(name string) []*App {
	var out []*App
	for _, ns := range r.Namespaces {
		if a, ok := ns.Apps[name]; ok {
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Namespace < out[j].Namespace })
	return out
}

// NamespaceNames returns the namespace names, sorted.
func (r *Repo) NamespaceNames() []string {
	out := make([]string, 0, len(r.Namespaces))
	for n := range r.Namespaces {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Exists reports whether a file or folder exists in the snapshot.
func (r *Repo) Exists(p string) bool {
	if _, ok := r.Files[p]; ok {
		return true
	}
	return r.isDir(p)
}

func (r *Repo) isDir(dir string) bool {
	prefix := strings.TrimSuffix(dir, "/") + "/"
	for p := range r.Files {
		if strings.HasPrefix(p, prefix) {
			return true
		}
	}
	return false
}

func cleanRel(p string) string {
	p = path.Clean(strings.TrimPrefix(p, "./"))
	return strings.TrimPrefix(p, "/")
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// FromFilesAt is FromFiles for a snapshot read from root on disk.
func FromFilesAt(root string, files map[string][]byte, opts LoadOptions) (*Repo, error) {
	r, err := FromFiles(files, opts)
	if err != nil {
		return nil, err
	}
	r.Root = root
	return r, nil
}
