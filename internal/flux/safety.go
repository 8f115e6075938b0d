package flux

import (
	"bytes"
	"fmt"
	"path"
	"regexp"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// Kinds of Problem.
const (
	// ProblemRemote: a reference to something outside the repository that
	// kustomize would fetch (a URL, a git repository).
	ProblemRemote = "remote"
	// ProblemEscape: a relative path that climbs above the repository root.
	ProblemEscape = "escape"
	// ProblemAbsolute: an absolute path.
	ProblemAbsolute = "absolute"
	// ProblemExec: something kustomize would run as a program: a Helm
	// chart inflation or a KRM function.
	ProblemExec = "exec"
)

// Problem is a reference in a kustomization file that the renderer refuses
// to follow: it would make a build fetch from the network, run a program or
// read outside the repository.
type Problem struct {
	// Kind is one of the Problem* constants.
	Kind string
	// File is the kustomization file holding the reference.
	File string
	// Field is the kustomization field, e.g. "resources".
	Field string
	// Ref is the reference as written.
	Ref string
}

// String describes the problem on one line.
func (p Problem) String() string {
	var what string
	switch p.Kind {
	case ProblemRemote:
		what = "is remote; gen never fetches from the network"
	case ProblemEscape:
		what = "leaves the repository"
	case ProblemAbsolute:
		what = "is an absolute path; references must be relative to the kustomization"
	case ProblemExec:
		what = "would run a program; gen never executes anything from a repository"
	default:
		what = p.Kind
	}
	return fmt.Sprintf("%s: %s entry %q %s", p.File, p.Field, p.Ref, what)
}

// UnsafeError is a build refused before it started, because of what its
// kustomization files refer to.
type UnsafeError struct {
	Problems []Problem
}

// Error lists the problems on one line.
func (e *UnsafeError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	return "refused to build: " + strings.Join(parts, "; ")
}

// refScan is what scanRefs found.
type refScan struct {
	problems []Problem
	// changesSchema is set when a kustomization sets kustomize's global
	// schema (openapi: or crds:).
	changesSchema bool
	// crossFolder is set when a kustomization has something whose effect
	// reaches past its own folder in a build: generators (references to
	// their hashed names are fixed wherever they are), vars, or
	// transformer configurations.
	crossFolder bool
}

// maxKustomizationFiles bounds how many kustomization files one build may
// reach.
const maxKustomizationFiles = 10000

// kustomizationRefFields is the part of a kustomization file scanRefs reads.
type kustomizationRefFields struct {
	Resources             []string `json:"resources"`
	Bases                 []string `json:"bases"`
	Components            []string `json:"components"`
	Crds                  []string `json:"crds"`
	Generators            []string `json:"generators"`
	Transformers          []string `json:"transformers"`
	Validators            []string `json:"validators"`
	Configurations        []string `json:"configurations"`
	PatchesStrategicMerge []string `json:"patchesStrategicMerge"`
	Patches               []struct {
		Path string `json:"path"`
	} `json:"patches"`
	PatchesJSON6902 []struct {
		Path string `json:"path"`
	} `json:"patchesJson6902"`
	Replacements []struct {
		Path string `json:"path"`
	} `json:"replacements"`
	OpenAPI            map[string]any  `json:"openapi"`
	ConfigMapGenerator []generatorArgs `json:"configMapGenerator"`
	SecretGenerator    []generatorArgs `json:"secretGenerator"`
	HelmCharts         []any           `json:"helmCharts"`
	HelmGlobals        map[string]any  `json:"helmGlobals"`
	HelmChartInflation []any           `json:"helmChartInflationGenerator"`
	Vars               []any           `json:"vars"`
}

// scanRefs reads the kustomization of dir and every kustomization it
// reaches, and reports references a build must not follow. kustomize
// fetches any resource, base or component it cannot find locally as a git
// repository (running git) and any file reference that is an http(s) URL,
// runs Helm for helmCharts, and may run KRM functions; none of that may
// happen on a repository under review.
func scanRefs(fs filesys.FileSystem, dir string) refScan {
	var out refScan
	visited := map[string]bool{}
	var visit func(dir string)
	visit = func(dir string) {
		if visited[dir] || len(visited) >= maxKustomizationFiles {
			return
		}
		visited[dir] = true
		kfile := findKustomizationFile(fs, dir)
		if kfile == "" {
			return
		}
		data, err := fs.ReadFile(kfile)
		if err != nil {
			return
		}
		var k kustomizationRefFields
		if err := yaml.Unmarshal(data, &k); err != nil {
			return // kustomize reports it
		}
		file := repoPath(kfile)
		if k.OpenAPI != nil || len(k.Crds) > 0 {
			out.changesSchema = true
		}
		if len(k.ConfigMapGenerator) > 0 || len(k.SecretGenerator) > 0 || len(k.Vars) > 0 || len(k.Configurations) > 0 || len(k.Generators) > 0 {
			out.crossFolder = true
		}
		add := func(kind, field, ref string) {
			out.problems = append(out.problems, Problem{Kind: kind, File: file, Field: field, Ref: ref})
		}
		if len(k.HelmCharts) > 0 || len(k.HelmChartInflation) > 0 || k.HelmGlobals != nil {
			add(ProblemExec, "helmCharts", "helm")
		}
		// target resolves a local reference, or reports it.
		target := func(field, ref string) (string, bool) {
			if isRemoteRef(ref) {
				add(ProblemRemote, field, ref)
				return "", false
			}
			if strings.HasPrefix(ref, "/") {
				add(ProblemAbsolute, field, ref)
				return "", false
			}
			joined, ok := joinInside(dir, ref)
			if !ok {
				add(ProblemEscape, field, ref)
				return "", false
			}
			return joined, true
		}
		// Folders among resources, bases and components hold
		// kustomizations of their own.
		for field, refs := range map[string][]string{"resources": k.Resources, "bases": k.Bases, "components": k.Components} {
			for _, ref := range refs {
				t, ok := target(field, ref)
				if !ok {
					continue
				}
				if fs.IsDir(t) {
					visit(t)
				}
			}
		}
		for field, refs := range map[string][]string{"generators": k.Generators, "transformers": k.Transformers, "validators": k.Validators} {
			for _, ref := range refs {
				if strings.Contains(ref, "\n") {
					if isFunctionConfig([]byte(ref)) {
						add(ProblemExec, field, firstLine(ref))
					}
					continue
				}
				t, ok := target(field, ref)
				if !ok {
					continue
				}
				if fs.IsDir(t) {
					visit(t)
					continue
				}
				if b, err := fs.ReadFile(t); err == nil && isFunctionConfig(b) {
					add(ProblemExec, field, ref)
				}
			}
		}
		var files []struct{ field, ref string }
		for _, r := range k.Crds {
			files = append(files, struct{ field, ref string }{"crds", r})
		}
		for _, r := range k.Configurations {
			files = append(files, struct{ field, ref string }{"configurations", r})
		}
		for _, r := range k.PatchesStrategicMerge {
			if !strings.Contains(r, "\n") {
				files = append(files, struct{ field, ref string }{"patchesStrategicMerge", r})
			}
		}
		for _, p := range k.Patches {
			files = append(files, struct{ field, ref string }{"patches", p.Path})
		}
		for _, p := range k.PatchesJSON6902 {
			files = append(files, struct{ field, ref string }{"patchesJson6902", p.Path})
		}
		for _, r := range k.Replacements {
			files = append(files, struct{ field, ref string }{"replacements", r.Path})
		}
		if p, ok := k.OpenAPI["path"].(string); ok {
			files = append(files, struct{ field, ref string }{"openapi", p})
		}
		for _, g := range k.ConfigMapGenerator {
			for _, r := range g.refs() {
				files = append(files, struct{ field, ref string }{"configMapGenerator", r})
			}
		}
		for _, g := range k.SecretGenerator {
			for _, r := range g.refs() {
				files = append(files, struct{ field, ref string }{"secretGenerator", r})
			}
		}
		for _, f := range files {
			if f.ref != "" {
				target(f.field, f.ref)
			}
		}
	}
	visit(dir)
	return out
}

// refs returns the files a generator reads.
func (g generatorArgs) refs() []string {
	out := append([]string(nil), g.Envs...)
	if g.Env != "" {
		out = append(out, g.Env)
	}
	for _, f := range g.Files {
		// "key=path" names the key.
		if i := strings.Index(f, "="); i >= 0 {
			f = f[i+1:]
		}
		out = append(out, f)
	}
	return out
}

// userPrefix is the user name of an scp-like git address, as kustomize
// recognises it.
var userPrefix = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9-]*@`)

// isRemoteRef reports a reference kustomize would fetch rather than read:
// what its git repository parser accepts (an ssh, https, http or file URL,
// "user@host:path", "github.com/..."; "git::" stripped first) and anything
// else with a URL scheme.
func isRemoteRef(ref string) bool {
	lower := strings.ToLower(ref)
	lower = strings.TrimPrefix(lower, "git::")
	if strings.Contains(lower, "://") {
		return true
	}
	return userPrefix.MatchString(lower) || strings.HasPrefix(lower, "github.com/") || strings.HasPrefix(lower, "github.com:")
}

// joinInside joins a relative reference onto an absolute directory of the
// in-memory file system, failing when it climbs above the root.
func joinInside(dir, ref string) (string, bool) {
	depth := 0
	for _, part := range strings.Split(strings.Trim(dir, "/"), "/") {
		if part != "" {
			depth++
		}
	}
	for _, part := range strings.Split(ref, "/") {
		switch part {
		case "", ".":
		case "..":
			depth--
			if depth < 0 {
				return "", false
			}
		default:
			depth++
		}
	}
	return path.Join(dir, ref), true
}

// isFunctionConfig reports whether a generator or transformer config
// declares a KRM function (a container or executable kustomize would run).
func isFunctionConfig(data []byte) bool {
	return bytes.Contains(data, []byte("config.kubernetes.io/function")) || bytes.Contains(data, []byte("config.k8s.io/function"))
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}
