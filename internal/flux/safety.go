package flux

import (
	"bytes"
	"fmt"
	"path"
	"regexp"
	"strings"

	yaml3 "go.yaml.in/yaml/v3"
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
//
// The generators, transformers and validators of a kustomization are read
// too, every document of every config (inline, in a file, or made by a
// kustomization folder named there): a builtin generator or transformer
// loads the files its config names (a ConfigMapGenerator's files, a
// PatchTransformer's path, ...) through the same loader.
//
// The scan gives a readable finding; what makes a build safe is below it:
// gen's network guard refuses any fetch, and gen check and gen diff run
// with no program to be found (see internal/netguard).
func scanRefs(fs filesys.FileSystem, dir string) refScan {
	s := &refScanner{fs: fs, visited: map[scanVisit]bool{}}
	s.visit(dir, false)
	return s.out
}

// refScanner is one scanRefs run.
type refScanner struct {
	fs      filesys.FileSystem
	out     refScan
	visited map[scanVisit]bool
}

// scanVisit is a folder visited, and whether its output is configs of
// generators, transformers or validators.
type scanVisit struct {
	dir     string
	configs bool
}

func (s *refScanner) add(kind, file, field, ref string) {
	s.out.problems = append(s.out.problems, Problem{Kind: kind, File: file, Field: field, Ref: ref})
}

// target resolves a reference of a file in dir, or reports it.
func (s *refScanner) target(dir, file, field, ref string) (string, bool) {
	if isRemoteRef(ref) {
		s.add(ProblemRemote, file, field, ref)
		return "", false
	}
	if strings.HasPrefix(ref, "/") {
		s.add(ProblemAbsolute, file, field, ref)
		return "", false
	}
	joined, ok := joinInside(dir, ref)
	if !ok {
		s.add(ProblemEscape, file, field, ref)
		return "", false
	}
	return joined, true
}

// visit scans the kustomization of dir. With configs set, the objects it
// makes are the configs of generators, transformers or validators, and the
// files among its resources are read as such.
func (s *refScanner) visit(dir string, configs bool) {
	key := scanVisit{dir, configs}
	if s.visited[key] || len(s.visited) >= maxKustomizationFiles {
		return
	}
	s.visited[key] = true
	kfile := findKustomizationFile(s.fs, dir)
	if kfile == "" {
		return
	}
	data, err := s.fs.ReadFile(kfile)
	if err != nil {
		return
	}
	var k kustomizationRefFields
	if err := yaml.Unmarshal(data, &k); err != nil {
		return // kustomize reports it
	}
	file := repoPath(kfile)
	if k.OpenAPI != nil || len(k.Crds) > 0 {
		s.out.changesSchema = true
	}
	if len(k.ConfigMapGenerator) > 0 || len(k.SecretGenerator) > 0 || len(k.Vars) > 0 || len(k.Configurations) > 0 || len(k.Generators) > 0 {
		s.out.crossFolder = true
	}
	if len(k.HelmCharts) > 0 || len(k.HelmChartInflation) > 0 || k.HelmGlobals != nil {
		s.add(ProblemExec, file, "helmCharts", "helm")
	}
	// Folders among resources, bases and components hold kustomizations
	// of their own; in a folder of configs, files are configs too.
	for _, refs := range []struct {
		field string
		refs  []string
	}{{"resources", k.Resources}, {"bases", k.Bases}, {"components", k.Components}} {
		field := refs.field
		for _, ref := range refs.refs {
			t, ok := s.target(dir, file, field, ref)
			if !ok {
				continue
			}
			if s.fs.IsDir(t) {
				s.visit(t, configs)
			} else if configs {
				s.configFile(t, field)
			}
		}
	}
	for _, refs := range []struct {
		field string
		refs  []string
	}{{"generators", k.Generators}, {"transformers", k.Transformers}, {"validators", k.Validators}} {
		field := refs.field
		for _, ref := range refs.refs {
			// kustomize takes an entry that reads as objects as an
			// inline config, anything else as a path.
			if docs := configDocuments([]byte(ref)); len(docs) > 0 {
				if isFunctionConfig([]byte(ref)) {
					s.add(ProblemExec, file, field, firstLine(ref))
				}
				for _, d := range docs {
					s.configRefs(dir, file, d)
				}
				continue
			}
			t, ok := s.target(dir, file, field, ref)
			if !ok {
				continue
			}
			if s.fs.IsDir(t) {
				s.visit(t, true)
				continue
			}
			s.configFile(t, field)
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
			s.target(dir, file, f.field, f.ref)
		}
	}
}

// configFile reads a config file named by field: a KRM function is
// refused, and what every document would load is checked.
func (s *refScanner) configFile(p, field string) {
	data, err := s.fs.ReadFile(p)
	if err != nil {
		return // kustomize reports it
	}
	if isFunctionConfig(data) {
		s.add(ProblemExec, repoPath(p), field, repoPath(p))
	}
	for _, d := range configDocuments(data) {
		s.configRefs(path.Dir(p), repoPath(p), d)
	}
}

// builtinLoads lists, for each builtin generator and transformer of
// kustomize, the fields of its config that name files its loader reads
// (URLs are fetched): a list or a string each. A file of
// ConfigMapGenerator and SecretGenerator may be "key=path".
var builtinLoads = map[string][]string{
	"ConfigMapGenerator":             {"files", "envs", "env"},
	"SecretGenerator":                {"files", "envs", "env"},
	"PatchTransformer":               {"path"},
	"PatchJson6902Transformer":       {"path"},
	"PatchStrategicMergeTransformer": {"paths"},
	"ReplacementTransformer":         {"replacements.path"},
	"ValueAddTransformer":            {"targetFilePath"},
	"HelmChartInflationGenerator":    {"valuesFile", "additionalValuesFiles", "chartHome"},
}

// configRefs checks what one config document would make its builtin load,
// relative to dir. file is where the document is written.
func (s *refScanner) configRefs(dir, file string, doc *yaml3.Node) {
	kind := scalarOf(mapValue(doc, "kind"))
	fields, ok := builtinLoads[kind]
	if !ok {
		return
	}
	name := scalarOf(mapValue(mapValue(doc, "metadata"), "name"))
	label := kind
	if name != "" {
		label += " " + name
	}
	if kind == "HelmChartInflationGenerator" {
		s.add(ProblemExec, file, label, "helm")
	}
	for _, field := range fields {
		for _, ref := range fieldStrings(doc, field) {
			if strings.Contains(ref, "\n") {
				continue // an inline patch
			}
			if kind == "ConfigMapGenerator" || kind == "SecretGenerator" {
				if _, p, ok := strings.Cut(ref, "="); ok && field == "files" {
					ref = p
				}
			}
			if ref != "" {
				s.target(dir, file, label+" "+field, ref)
			}
		}
	}
}

// configDocuments parses data as YAML documents and returns the mappings
// among them: what kustomize would take as objects. Aliases are not
// expanded.
func configDocuments(data []byte) []*yaml3.Node {
	dec := yaml3.NewDecoder(bytes.NewReader(data))
	var out []*yaml3.Node
	for {
		var n yaml3.Node
		if err := dec.Decode(&n); err != nil {
			return out
		}
		if len(n.Content) > 0 && n.Content[0].Kind == yaml3.MappingNode {
			out = append(out, n.Content[0])
		}
	}
}

// fieldStrings returns the strings at a dotted field path of a mapping
// node, descending through lists: the value itself when it is a string,
// the strings of a list.
func fieldStrings(n *yaml3.Node, field string) []string {
	nodes := []*yaml3.Node{n}
	for _, key := range strings.Split(field, ".") {
		var next []*yaml3.Node
		for _, m := range nodes {
			next = append(next, listOrOne(mapValue(m, key))...)
		}
		nodes = next
	}
	var out []string
	for _, v := range nodes {
		if v.Kind == yaml3.ScalarNode {
			out = append(out, v.Value)
		}
	}
	return out
}

// listOrOne returns the items of a sequence node, or the node itself.
func listOrOne(n *yaml3.Node) []*yaml3.Node {
	if n == nil {
		return nil
	}
	if n.Kind == yaml3.SequenceNode {
		out := make([]*yaml3.Node, 0, len(n.Content))
		for _, c := range n.Content {
			out = append(out, resolveAlias(c))
		}
		return out
	}
	return []*yaml3.Node{n}
}

// mapValue returns the value of key in a mapping node, an alias resolved.
func mapValue(n *yaml3.Node, key string) *yaml3.Node {
	if n == nil || n.Kind != yaml3.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return resolveAlias(n.Content[i+1])
		}
	}
	return nil
}

func resolveAlias(n *yaml3.Node) *yaml3.Node {
	if n != nil && n.Kind == yaml3.AliasNode && n.Alias != nil {
		return n.Alias
	}
	return n
}

func scalarOf(n *yaml3.Node) string {
	if n == nil || n.Kind != yaml3.ScalarNode {
		return ""
	}
	return n.Value
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
