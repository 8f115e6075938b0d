package check

import (
	"bytes"
	"errors"
	"io"
	"path"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// document is what the scan keeps of one YAML document: enough for the
// rules that look at files rather than renders, so that no parsed tree is
// kept in memory.
type document struct {
	File       string
	Line       int
	APIVersion string
	Kind       string
	Name       string
	// Secret holds what a Secret document stores in data and stringData.
	Secret *secretData
}

// secretData describes the values of a Secret document.
type secretData struct {
	// Plain lists the keys whose values are readable and are more than a
	// ${VAR} reference, with the line of each.
	Plain []keyLine
}

type keyLine struct {
	Key  string
	Line int
}

// scanned is the result of scanning every YAML file.
type scanned struct {
	docs     []document
	findings []Finding
	// hostile lists files left out of rendering.
	hostile map[string]bool
}

// scanFiles parses every YAML file of files once, in parallel: syntax
// errors, alias expansion and nesting are checked here, before anything
// that would expand aliases (kustomize does) sees the file.
func scanFiles(files map[string][]byte, l Limits) *scanned {
	var names []string
	for p := range files {
		if ext := path.Ext(p); ext == ".yaml" || ext == ".yml" {
			names = append(names, p)
		}
	}
	sort.Strings(names)
	type result struct {
		docs     []document
		findings []Finding
		hostile  bool
	}
	results := make([]result, len(names))
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				d, f, h := scanFile(names[i], files[names[i]], l)
				results[i] = result{d, f, h}
			}
		}()
	}
	for i := range names {
		next <- i
	}
	close(next)
	wg.Wait()

	out := &scanned{hostile: map[string]bool{}}
	total := 0
	for i, r := range results {
		out.findings = append(out.findings, r.findings...)
		if r.hostile {
			out.hostile[names[i]] = true
			continue
		}
		total += len(r.docs)
		if total > l.MaxDocuments {
			out.findings = append(out.findings, newFinding(RuleRepoTooLarge, names[i], 0,
				"more than %d YAML documents in all; this file and the ones after it were left out", l.MaxDocuments))
			for _, rest := range names[i:] {
				out.hostile[rest] = true
			}
			break
		}
		out.docs = append(out.docs, r.docs...)
	}
	return out
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

// scanFile parses one file. It reports the documents, the findings, and
// whether the file must be left out.
func scanFile(p string, data []byte, l Limits) (docs []document, findings []Finding, hostile bool) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var root yaml.Node
		err := dec.Decode(&root)
		if errors.Is(err, io.EOF) {
			return docs, findings, false
		}
		if err != nil {
			msg := err.Error()
			line := 0
			if m := yamlLine.FindStringSubmatch(msg); m != nil {
				line, _ = strconv.Atoi(m[1])
				msg = strings.TrimPrefix(msg, m[0])
			}
			msg = strings.TrimPrefix(msg, "yaml: ")
			if strings.Contains(msg, "exceeded max depth") {
				return nil, []Finding{newFinding(RuleYAMLDepth, p, line, "%s; the file was left out", msg)}, true
			}
			// Flux fails on the file only when a build reads it; the
			// build reports that. The file is still left out of the
			// document rules.
			findings = append(findings, newFinding(RuleYAMLSyntax, p, line, "%s", msg))
			return docs, findings, false
		}
		if len(root.Content) == 0 {
			continue
		}
		size, d, aliased := shape(root.Content[0], 0, l.MaxDepth)
		if aliased {
			// Only aliases make a document larger than its text; the
			// memoised walk is needed for them alone.
			w := walker{memo: map[*yaml.Node]int{}, max: l.MaxAliasNodes}
			size = w.size(root.Content[0])
		}
		if size > l.MaxAliasNodes {
			return nil, []Finding{newFinding(RuleYAMLAliases, p, root.Line,
				"the document expands to more than %d nodes through its aliases; the file was left out", l.MaxAliasNodes)}, true
		}
		if d > l.MaxDepth {
			return nil, []Finding{newFinding(RuleYAMLDepth, p, root.Line,
				"the document nests more than %d levels deep; the file was left out", l.MaxDepth)}, true
		}
		docs = append(docs, describe(p, root.Content[0]))
	}
}

// walker counts the nodes of a tree with its aliases expanded, stopping
// once the count passes max.
type walker struct {
	memo map[*yaml.Node]int
	max  int
	// active guards against an alias inside its own anchor.
	active map[*yaml.Node]bool
}

func (w *walker) size(n *yaml.Node) int {
	if n == nil {
		return 0
	}
	if s, ok := w.memo[n]; ok {
		return s
	}
	if w.active == nil {
		w.active = map[*yaml.Node]bool{}
	}
	if w.active[n] {
		return w.max + 1
	}
	w.active[n] = true
	defer delete(w.active, n)
	s := 1
	if n.Kind == yaml.AliasNode {
		s += w.size(n.Alias)
	}
	for _, c := range n.Content {
		s += w.size(c)
		if s > w.max {
			s = w.max + 1
			break
		}
	}
	w.memo[n] = s
	return s
}

// shape walks n once, not following aliases (their anchors are counted
// where they are defined), and returns its nodes, how deep it nests
// (stopping past max, where the count is partial), and whether it holds
// an alias.
func shape(n *yaml.Node, d, max int) (nodes, deepest int, aliased bool) {
	nodes, deepest, aliased = 1, d, n.Kind == yaml.AliasNode
	if d > max {
		return nodes, deepest, aliased
	}
	for _, c := range n.Content {
		cn, cd, ca := shape(c, d+1, max)
		nodes += cn
		aliased = aliased || ca
		if cd > deepest {
			deepest = cd
			if deepest > max {
				return nodes, deepest, aliased
			}
		}
	}
	return nodes, deepest, aliased
}

// describe reads what the file rules need from a document's root.
func describe(p string, n *yaml.Node) document {
	d := document{File: p, Line: n.Line}
	if n.Kind != yaml.MappingNode {
		return d
	}
	d.APIVersion = scalar(mapGet(n, "apiVersion"))
	d.Kind = scalar(mapGet(n, "kind"))
	if meta := mapGet(n, "metadata"); meta != nil {
		d.Name = scalar(mapGet(meta, "name"))
	}
	if d.Kind == "Secret" && (d.APIVersion == "v1" || d.APIVersion == "") {
		d.Secret = &secretData{}
		if mapGet(n, "sops") != nil {
			// Encrypted or not, a document with a sops block is the
			// SOPS rules' business.
			return d
		}
		for _, field := range []string{"data", "stringData"} {
			m := mapGet(n, field)
			if m == nil || m.Kind != yaml.MappingNode {
				continue
			}
			for i := 0; i+1 < len(m.Content); i += 2 {
				k, v := m.Content[i], m.Content[i+1]
				if v.Kind == yaml.AliasNode && v.Alias != nil {
					v = v.Alias
				}
				if !isPlainSecretValue(v) {
					continue
				}
				d.Secret.Plain = append(d.Secret.Plain, keyLine{Key: k.Value, Line: k.Line})
			}
		}
	}
	return d
}

// isPlainSecretValue reports whether a Secret value is readable in the
// file: not empty, not an ENC[...] payload, not a reference to a secret
// manager, and not filled in by postBuild substitution (a value holding a
// ${VAR} reference is a template; the secret lives where the variable is
// defined).
func isPlainSecretValue(v *yaml.Node) bool {
	if v.Kind != yaml.ScalarNode {
		return v.Kind == yaml.MappingNode || v.Kind == yaml.SequenceNode
	}
	s := strings.TrimSpace(v.Value)
	if s == "" || v.Tag == "!!null" || strings.HasPrefix(s, "ENC[") {
		return false
	}
	for _, ref := range secretReferences {
		if strings.HasPrefix(strings.ToLower(s), ref) {
			return false
		}
	}
	return !strings.Contains(s, "${")
}

// secretReferences start values that name a secret kept elsewhere, filled
// in by a tool before the Secret is applied: 1Password's op inject, vals,
// Vault, argocd-vault-plugin.
var secretReferences = []string{"op://", "ref+", "vault:", "<path:"}

func mapGet(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			v := n.Content[i+1]
			if v.Kind == yaml.AliasNode && v.Alias != nil {
				return v.Alias
			}
			return v
		}
	}
	return nil
}

func scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}
