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

	"github.com/gen-gitops/gen/internal/redact"
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
	// Nested lists what holds readable Secret values inside the document
	// (see package redact): a Secret in a List's items or in any field
	// (a HelmRelease's values), a string that parses as such objects, a
	// secretGenerator's literals.
	Nested []nestedSecret
	// GeneratorFiles are the files the document's secretGenerators read.
	GeneratorFiles []generatorFile
}

// secretData describes the values of a Secret document.
type secretData struct {
	// Plain lists the keys whose values are readable and are more than a
	// ${VAR} reference, with the line of each.
	Plain []keyLine
	// SOPS is set for a document with a sops block: its plain values are
	// the ones sops left unencrypted, by Setting ("unencrypted_regex:
	// ^stringData$") when the block names one.
	SOPS    bool
	Setting string
}

// nestedSecret is a Secret or secretGenerator inside a document, with the
// keys of its readable values.
type nestedSecret struct {
	// Where is the field path of the Secret or generator in the document.
	Where string
	// Generator is set for a secretGenerator's literals.
	Generator bool
	Name      string
	Keys      []string
	Line      int
}

// generatorFile is a file a secretGenerator reads.
type generatorFile struct {
	Where, Name, Ref string
	Line             int
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
	// Only a file that names a Secret and holds a data or stringData
	// field, or a secretGenerator, is walked for the Secrets inside its
	// documents.
	mayHoldSecrets := bytes.Contains(data, []byte("secretGenerator")) ||
		(bytes.Contains(data, []byte("Secret")) && secretDataField.Match(data))
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
		doc := describe(p, root.Content[0])
		if mayHoldSecrets {
			describeNested(&doc, root.Content[0], l.MaxAliasNodes)
		}
		docs = append(docs, doc)
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
		if block := mapGet(n, "sops"); block != nil {
			// A value sops left readable (unencrypted_regex and its
			// kin) is as plain as in any file.
			d.Secret.SOPS = true
			for _, setting := range sopsSettings {
				if v := scalar(mapGet(block, setting)); v != "" {
					d.Secret.Setting = setting + ": " + v
					break
				}
			}
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

// secretDataField matches a data or stringData field, in YAML or JSON
// (not metadata).
var secretDataField = regexp.MustCompile(`\b(stringData|data)["']?\s*:`)

// sopsSettings are the settings of a sops block that leave keys
// unencrypted, in the order sops reads them.
var sopsSettings = []string{"unencrypted_suffix", "encrypted_suffix", "unencrypted_regex", "encrypted_regex", "unencrypted_comment_regex", "encrypted_comment_regex"}

// isPlainSecretValue reports whether a Secret value is readable in the
// file (see redact.Plain).
func isPlainSecretValue(v *yaml.Node) bool {
	if v.Kind != yaml.ScalarNode {
		return v.Kind == yaml.MappingNode || v.Kind == yaml.SequenceNode
	}
	if v.Tag == "!!null" {
		return false
	}
	return redact.Plain(v.Value)
}

// describeNested adds to d the Secrets inside its document n, found by the
// walk gen diff hides them with (package redact), with the readable values
// of each; a Secret document's own values are describe's.
func describeNested(d *document, n *yaml.Node, maxNodes int) {
	v, ok := redact.FromNode(n, maxNodes)
	m, isMap := v.(map[string]any)
	if !ok || !isMap {
		return
	}
	base := path.Base(d.File)
	kustomization := base == "kustomization.yaml" || base == "kustomization.yml" || base == "Kustomization"
	byObject := map[string]*nestedSecret{}
	var order []string
	for _, f := range redact.Find(m, false) {
		if len(f.Object) == 0 || f.Unread {
			continue
		}
		where := redact.PathString(f.Object)
		switch f.Kind {
		case redact.KindFile:
			if ref, _ := f.Raw.(string); kustomization && ref != "" {
				d.GeneratorFiles = append(d.GeneratorFiles, generatorFile{Where: where, Name: f.Name, Ref: ref, Line: nodeLine(n, f.Path)})
			}
			continue
		case redact.KindData, redact.KindLiteral:
			if !redact.Plain(f.Raw) {
				continue
			}
		}
		s, ok := byObject[where]
		if !ok {
			s = &nestedSecret{Where: where, Generator: f.Kind == redact.KindLiteral, Name: f.Name, Line: nodeLine(n, f.Object)}
			byObject[where] = s
			order = append(order, where)
		}
		s.Keys = append(s.Keys, f.Key)
	}
	for _, where := range order {
		d.Nested = append(d.Nested, *byObject[where])
	}
}

// nodeLine returns the line of the field at path in n, or of the deepest
// part of it that exists; a "#i" step (a document inside a string) stops
// at the string.
func nodeLine(n *yaml.Node, path []string) int {
	line := n.Line
	for _, seg := range path {
		if strings.HasPrefix(seg, "#") {
			break
		}
		var next, key *yaml.Node
		if i, ok := index(seg); ok {
			if n.Kind == yaml.SequenceNode && i < len(n.Content) {
				next = n.Content[i]
			}
		} else if n.Kind == yaml.MappingNode {
			for j := 0; j+1 < len(n.Content); j += 2 {
				if n.Content[j].Value == seg {
					key, next = n.Content[j], n.Content[j+1]
					break
				}
			}
		}
		if next == nil {
			break
		}
		if next.Kind == yaml.AliasNode && next.Alias != nil {
			next = next.Alias
		}
		if key != nil {
			line = key.Line
		} else {
			line = next.Line
		}
		n = next
	}
	return line
}

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
