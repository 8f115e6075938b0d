package repo

import (
	"bytes"
	"errors"
	"io"
	"path"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// Object is one YAML document of the snapshot. Its apiVersion, kind and
// name are read by a line scan; the whole document is decoded only when a
// caller asks for a field, since most of a repository's documents are never
// looked at.
type Object struct {
	// File is the slash path of the file holding the document.
	File       string
	APIVersion string
	Kind       string
	Name       string

	doc *lazyDoc
}

type lazyDoc struct {
	raw  []byte
	once sync.Once
	obj  map[string]any
}

// IsFluxKustomization reports whether the document is a Flux
// Kustomization (kustomize.toolkit.fluxcd.io), not a kustomize one.
func (d Object) IsFluxKustomization() bool {
	return d.Kind == "Kustomization" && strings.HasPrefix(d.APIVersion, "kustomize.toolkit.fluxcd.io/")
}

// Map returns the whole document, decoded (nil when it does not parse).
func (d Object) Map() map[string]any {
	if d.doc == nil {
		return nil
	}
	d.doc.once.Do(func() {
		var m map[string]any
		if yaml.Unmarshal(d.doc.raw, &m) == nil {
			d.doc.obj = m
		}
	})
	return d.doc.obj
}

// Contains reports whether the document's text contains s: a cheap filter
// before decoding it.
func (d Object) Contains(s string) bool {
	return d.doc != nil && bytes.Contains(d.doc.raw, []byte(s))
}

// parseAll splits every YAML file into documents and reads their headers.
// Files that do not parse are skipped here; `gen check` reports them.
func parseAll(files map[string][]byte) []Object {
	names := make([]string, 0, len(files))
	for p := range files {
		ext := path.Ext(p)
		if ext == ".yaml" || ext == ".yml" {
			names = append(names, p)
		}
	}
	sort.Strings(names)
	var out []Object
	for _, p := range names {
		for _, raw := range SplitDocuments(files[p]) {
			d := Object{File: p, doc: &lazyDoc{raw: raw}}
			if !scanHeader(raw, &d) {
				m := d.Map()
				if m == nil {
					continue
				}
				d.APIVersion, _ = m["apiVersion"].(string)
				d.Kind, _ = m["kind"].(string)
				d.Name = d.Str("metadata", "name")
			}
			if d.APIVersion == "" && d.Kind == "" && d.Map() == nil {
				continue
			}
			out = append(out, d)
		}
	}
	return out
}

// decodeAll decodes the documents keep selects, on every core, so that
// the serial passes over them find them decoded (a repository of
// thousands of apps has thousands of ks.yaml files).
func decodeAll(docs []Object, keep func(Object) bool) {
	next := make(chan Object, 64)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for d := range next {
				d.Map()
			}
		}()
	}
	for _, d := range docs {
		if keep(d) {
			next <- d
		}
	}
	close(next)
	wg.Wait()
}

// SplitDocuments splits a YAML stream at its "---" lines, dropping
// documents that hold only comments and blank lines.
func SplitDocuments(data []byte) [][]byte {
	var out [][]byte
	start := 0
	flush := func(end int) {
		doc := data[start:end]
		if hasContent(doc) {
			out = append(out, doc)
		}
	}
	for i := 0; i < len(data); {
		j := bytes.IndexByte(data[i:], '\n')
		lineEnd := len(data)
		if j >= 0 {
			lineEnd = i + j
		}
		line := data[i:lineEnd]
		if bytes.HasPrefix(line, []byte("---")) && (len(line) == 3 || line[3] == ' ' || line[3] == '\t' || line[3] == '\r') {
			flush(i)
			start = lineEnd + 1
			if start > len(data) {
				start = len(data)
			}
		}
		i = lineEnd + 1
	}
	if start < len(data) {
		flush(len(data))
	}
	return out
}

func hasContent(doc []byte) bool {
	for _, line := range bytes.Split(doc, []byte("\n")) {
		t := bytes.TrimSpace(line)
		if len(t) > 0 && t[0] != '#' {
			return true
		}
	}
	return false
}

// scanHeader reads apiVersion, kind and metadata.name from plain block
// YAML. It reports false when the document is written in a way it does not
// follow (flow style, quoting it cannot undo), so the caller decodes it.
func scanHeader(doc []byte, d *Object) bool {
	inMeta := false
	metaIndent := -1
	for _, line := range bytes.Split(doc, []byte("\n")) {
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		if line[0] != ' ' {
			inMeta = false
			key, val, ok := bytes.Cut(line, []byte(":"))
			if !ok {
				continue
			}
			v, ok := plainScalar(val)
			switch string(key) {
			case "apiVersion":
				if !ok {
					return false
				}
				d.APIVersion = v
			case "kind":
				if !ok {
					return false
				}
				d.Kind = v
			case "metadata":
				if len(bytes.TrimSpace(val)) > 0 {
					return false
				}
				inMeta = true
			}
			continue
		}
		if !inMeta || d.Name != "" {
			continue
		}
		trimmed := bytes.TrimLeft(line, " ")
		indent := len(line) - len(trimmed)
		if len(trimmed) == 0 || trimmed[0] == '#' {
			continue
		}
		if metaIndent < 0 {
			metaIndent = indent
		}
		if indent != metaIndent {
			continue
		}
		if key, val, ok := bytes.Cut(trimmed, []byte(":")); ok && string(key) == "name" {
			v, ok := plainScalar(val)
			if !ok {
				return false
			}
			d.Name = v
		}
	}
	return d.Kind != "" && d.APIVersion != ""
}

// plainScalar undoes the simple ways a scalar is written: surrounding
// spaces, a trailing comment, an anchor, plain quotes.
func plainScalar(val []byte) (string, bool) {
	v := bytes.TrimSpace(val)
	if i := bytes.Index(v, []byte(" #")); i >= 0 {
		v = bytes.TrimSpace(v[:i])
	}
	if len(v) > 0 && v[0] == '&' {
		sp := bytes.IndexByte(v, ' ')
		if sp < 0 {
			return "", false
		}
		v = bytes.TrimSpace(v[sp:])
	}
	if len(v) >= 2 && ((v[0] == '"' && v[len(v)-1] == '"') || (v[0] == '\'' && v[len(v)-1] == '\'')) {
		inner := v[1 : len(v)-1]
		if bytes.ContainsAny(inner, "\\'\"") {
			return "", false
		}
		return string(inner), true
	}
	if len(v) == 0 || bytes.ContainsAny(v[:1], "{[*!|>%@`") {
		return "", false
	}
	return string(v), true
}

// Documents decodes every non-empty document of a YAML stream into maps.
func Documents(data []byte) ([]map[string]any, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []map[string]any
	for {
		var m map[string]any
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		if m != nil {
			out = append(out, m)
		}
	}
}

// Get returns the value at path, decoding the document if needed.
func (d Object) Get(path ...string) any {
	var cur any = d.Map()
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[p]
	}
	return cur
}

func (d Object) Str(path ...string) string {
	s, _ := d.Get(path...).(string)
	return s
}

func (d Object) List(path ...string) []any {
	l, _ := d.Get(path...).([]any)
	return l
}

func (d Object) MapKeys(path ...string) []string {
	m, _ := d.Get(path...).(map[string]any)
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (d Object) Annotation(key string) string {
	return d.Str("metadata", "annotations", key)
}

// Kustomization is the part of a kustomize kustomization.yaml gen reads.
type Kustomization struct {
	APIVersion string   `yaml:"apiVersion"`
	Kind       string   `yaml:"kind"`
	Namespace  string   `yaml:"namespace"`
	Resources  []string `yaml:"resources"`
	Components []string `yaml:"components"`
}

// ParseKustomization decodes a kustomization.yaml loosely.
func ParseKustomization(data []byte) (*Kustomization, error) {
	var k Kustomization
	if err := yaml.Unmarshal(data, &k); err != nil {
		return nil, err
	}
	return &k, nil
}

// numberWords are the suffixes the repositories use for extra domains:
// SECRET_DOMAIN_TWO, SECRET_DOMAIN_THREE ...
var numberWords = []string{"", "", "TWO", "THREE", "FOUR", "FIVE", "SIX", "SEVEN", "EIGHT", "NINE", "TEN",
	"ELEVEN", "TWELVE", "THIRTEEN", "FOURTEEN", "FIFTEEN", "SIXTEEN", "SEVENTEEN", "EIGHTEEN", "NINETEEN", "TWENTY"}

// NumberWordValue returns n for the word of n (TWO → 2), or for a decimal
// suffix ("2" → 2); 0 when it is neither.
func NumberWordValue(s string) int {
	for i, w := range numberWords {
		if w != "" && w == s {
			return i
		}
	}
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// NumberWord returns the word for n (2 → TWO), or its decimal digits past
// the words the repositories use.
func NumberWord(n int) string {
	if n >= 2 && n < len(numberWords) {
		return numberWords[n]
	}
	return strconv.Itoa(n)
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

// ScanHeader reads apiVersion, kind and metadata.name of one YAML
// document with a line scan; ok is false when the document is written in a
// way the scan does not follow (the caller then decodes it).
func ScanHeader(doc []byte) (apiVersion, kind, name string, ok bool) {
	var d Object
	if !scanHeader(doc, &d) {
		return "", "", "", false
	}
	return d.APIVersion, d.Kind, d.Name, true
}
