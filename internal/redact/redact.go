// Package redact finds Secret values wherever a Kubernetes object can hold
// them, and hides them from everything gen prints.
//
// A Secret's values are not only under a Secret document's data and
// stringData. The walk goes through every field of an object and finds:
//
//   - a Secret anywhere inside it: the items of a kind: List, an object in
//     a HelmRelease's values (an extraObjects entry), any nested object;
//   - a string that parses as YAML or JSON objects holding a Secret: a
//     chart's extra manifests as a multi-line string, a
//     last-applied-configuration annotation;
//   - the literals of a kustomize secretGenerator (and, for a check, the
//     files it reads).
//
// gen diff hides every value found before anything is printed (Pair);
// gen check reports the readable ones (Find).
package redact

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	yaml3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/yaml"
)

const (
	// Hidden stands for a hidden value.
	Hidden = "<redacted>"
	// Changed stands for a hidden value that differs from the other
	// side's.
	Changed = "<redacted, changed>"
)

// Kinds of Value.
const (
	// KindData is a value under a Secret's data or stringData.
	KindData = "data"
	// KindLiteral is a secretGenerator literal's value.
	KindLiteral = "literal"
	// KindFile is a file a secretGenerator reads (files, envs, env): not
	// a value itself, the file holds them. It is never hidden.
	KindFile = "file"
)

// Value is one place that holds a Secret value.
type Value struct {
	// Path leads to the value from the top of the object: field names,
	// "[i]" list indexes, and "#i" for the i-th document of a string
	// that parses as objects.
	Path []string
	// Object is the part of Path that leads to the Secret or the
	// secretGenerator entry holding the value ([] for the top).
	Object []string
	// Name is the Secret's or the generator's name, when it has one.
	Name string
	// Kind is one of the Kind* constants.
	Kind string
	// Key is the key of the value (a data key, a literal's key).
	Key string
	// Raw is the value as it is written; for KindFile, the file.
	Raw any
	// Unread is set for a whole string that names a Secret but could not
	// be read as objects (not YAML, a template, or over the bounds): it
	// is hidden whole, and nothing is known of its values.
	Unread bool
}

// PathString writes a path the way decoding errors write field paths:
// "spec.values.extraObjects[0].stringData.token", and a document of a
// string as "spec.values.manifests#0".
func PathString(p []string) string {
	var b strings.Builder
	for i, s := range p {
		if i > 0 && !strings.HasPrefix(s, "[") && !strings.HasPrefix(s, "#") {
			b.WriteByte('.')
		}
		b.WriteString(s)
	}
	return b.String()
}

// Find returns every place obj holds a Secret value, in a stable order.
// With sensitive set, obj's own data and stringData are taken as a
// Secret's whatever its kind (an object that was SOPS-encrypted).
func Find(obj map[string]any, sensitive bool) []Value {
	w := &walker{}
	w.walk(obj, nil, sensitive)
	return w.found
}

// Object hides, in place, every Secret value of obj (see Find) and every
// ENC[...] payload, and reports whether it hid anything.
func Object(obj map[string]any, sensitive bool) bool {
	w := &walker{replace: func(Value) any { return Hidden }}
	w.walk(obj, nil, sensitive)
	enc := hideEnc(obj)
	return len(w.found) > 0 || enc
}

// Pair hides, in place, every Secret value of both objects (either may be
// nil) and every ENC[...] payload, and reports whether it hid anything. A
// head value that differs from the base's at the same place becomes
// Changed, so that a diff still shows that it changed. With sensitive set,
// the top objects' data and stringData are hidden whatever their kind.
func Pair(base, head map[string]any, sensitive bool) bool {
	baseValues := map[string]any{}
	bw := &walker{replace: func(v Value) any {
		baseValues[strings.Join(v.Path, "\x00")] = v.Raw
		return Hidden
	}}
	hw := &walker{replace: func(v Value) any {
		if old, ok := baseValues[strings.Join(v.Path, "\x00")]; ok && !reflect.DeepEqual(old, v.Raw) {
			return Changed
		}
		return Hidden
	}}
	hidden := false
	if base != nil {
		bw.walk(base, nil, sensitive)
		hidden = len(bw.found) > 0
	}
	if head != nil {
		hw.walk(head, nil, sensitive)
		hidden = hidden || len(hw.found) > 0
	}
	if hideEnc(base) {
		hidden = true
	}
	if hideEnc(head) {
		hidden = true
	}
	return hidden
}

// IsSecret reports whether obj is a core Secret.
func IsSecret(obj map[string]any) bool {
	kind, _ := obj["kind"].(string)
	if kind != "Secret" {
		return false
	}
	switch av := obj["apiVersion"].(type) {
	case nil:
		return true
	case string:
		return av == "v1" || av == ""
	}
	return false
}

// Plain reports whether a Secret value is readable where it is written:
// not empty, not an ENC[...] payload, not a reference to a secret manager,
// and not filled in by postBuild substitution (a value holding a ${VAR}
// is a template; the secret lives where the variable is defined). A list
// or a mapping is readable.
func Plain(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case string:
		s := strings.TrimSpace(v)
		if s == "" || strings.HasPrefix(s, "ENC[") || strings.Contains(s, "${") {
			return false
		}
		lower := strings.ToLower(s)
		for _, ref := range secretReferences {
			if strings.HasPrefix(lower, ref) {
				return false
			}
		}
		return true
	}
	return true
}

// secretReferences start values that name a secret kept elsewhere, filled
// in by a tool before the Secret is applied: 1Password's op inject, vals,
// Vault, argocd-vault-plugin.
var secretReferences = []string{"op://", "ref+", "vault:", "<path:"}

// Bounds on strings read as objects: a longer string, or one nested
// deeper in strings, or one whose documents expand past maxStringNodes, is
// hidden whole when it names a Secret, and not read.
const (
	maxStringBytes = 1 << 20
	maxStringDepth = 4
	maxStringNodes = 1 << 16
)

// walker is one walk over an object.
type walker struct {
	// replace gives the replacement of a value found; nil walks without
	// changing anything.
	replace func(Value) any
	found   []Value
	// depth counts the strings the walk is inside.
	depth int
}

func (w *walker) add(v Value) any {
	w.found = append(w.found, v)
	if w.replace == nil {
		return v.Raw
	}
	return w.replace(v)
}

// walk visits v at path and returns what v becomes (v itself unless a
// string holding objects was rewritten).
func (w *walker) walk(v any, path []string, sensitive bool) any {
	switch v := v.(type) {
	case map[string]any:
		w.walkMap(v, path, sensitive)
	case []any:
		for i, e := range v {
			v[i] = w.walk(e, extend(path, "["+strconv.Itoa(i)+"]"), false)
		}
	case string:
		return w.walkString(v, path)
	}
	return v
}

func (w *walker) walkMap(m map[string]any, path []string, sensitive bool) {
	secret := sensitive || IsSecret(m)
	name := metadataName(m)
	for _, k := range sortedKeys(m) {
		if secret && (k == "data" || k == "stringData") {
			m[k] = w.secretData(m[k], path, extend(path, k), name)
			continue
		}
		if k == "secretGenerator" {
			w.secretGenerator(m[k], extend(path, k))
			continue
		}
		m[k] = w.walk(m[k], extend(path, k), false)
	}
}

// secretData visits the values of a Secret's data or stringData.
func (w *walker) secretData(v any, object, path []string, name string) any {
	d, ok := v.(map[string]any)
	if !ok {
		if v == nil {
			return nil
		}
		// Not a mapping: the whole field is the value.
		return w.add(Value{Path: path, Object: object, Name: name, Kind: KindData, Raw: v})
	}
	for _, k := range sortedKeys(d) {
		d[k] = w.add(Value{Path: extend(path, k), Object: object, Name: name, Kind: KindData, Key: k, Raw: d[k]})
	}
	return d
}

// secretGenerator visits a kustomization's secretGenerator entries: the
// literals' values, and the files they read.
func (w *walker) secretGenerator(v any, path []string) {
	list, ok := v.([]any)
	if !ok {
		return
	}
	for i, e := range list {
		g, ok := e.(map[string]any)
		if !ok {
			continue
		}
		at := extend(path, "["+strconv.Itoa(i)+"]")
		name, _ := g["name"].(string)
		if lits, ok := g["literals"].([]any); ok {
			for j, l := range lits {
				s, ok := l.(string)
				if !ok {
					continue
				}
				key, value, _ := strings.Cut(s, "=")
				r := w.add(Value{Path: extend(at, "literals", "["+strconv.Itoa(j)+"]"), Object: at, Name: name, Kind: KindLiteral, Key: key, Raw: value})
				if rs, ok := r.(string); ok && w.replace != nil {
					lits[j] = key + "=" + rs
				}
			}
		}
		for _, field := range []string{"files", "envs", "env"} {
			var refs []any
			switch f := g[field].(type) {
			case []any:
				refs = f
			case string:
				refs = []any{f}
			}
			for j, r := range refs {
				s, ok := r.(string)
				if !ok {
					continue
				}
				key := ""
				if field == "files" {
					if k, p, found := strings.Cut(s, "="); found {
						key, s = k, p
					}
				}
				w.found = append(w.found, Value{Path: extend(at, field, "["+strconv.Itoa(j)+"]"), Object: at, Name: name, Kind: KindFile, Key: key, Raw: s})
			}
		}
	}
}

// walkString reads a string that may hold objects, and returns it with
// the values it holds hidden.
func (w *walker) walkString(s string, path []string) any {
	if !mayHoldSecret(s) {
		return s
	}
	docs, ok := w.documents(s)
	if !ok {
		// It names a Secret and cannot be read: all of it is hidden.
		return w.add(Value{Path: path, Object: path, Kind: KindData, Raw: s, Unread: true})
	}
	before := len(w.found)
	w.depth++
	for i, d := range docs {
		docs[i] = w.walk(d, extend(path, "#"+strconv.Itoa(i)), false)
	}
	w.depth--
	if len(w.found) == before || w.replace == nil {
		return s
	}
	var b bytes.Buffer
	for i, d := range docs {
		out, err := yaml.Marshal(d)
		if err != nil {
			return Hidden
		}
		if i > 0 {
			b.WriteString("---\n")
		}
		b.Write(out)
	}
	return b.String()
}

// secretKind matches "kind: Secret" in YAML or JSON.
var secretKind = regexp.MustCompile(`kind["']?\s*:\s*["']?Secret\b`)

// mayHoldSecret is the test before a string is parsed: it names the kind
// Secret, or a secretGenerator.
func mayHoldSecret(s string) bool {
	if !strings.Contains(s, "Secret") && !strings.Contains(s, "secretGenerator") {
		return false
	}
	return strings.Contains(s, "secretGenerator") || secretKind.MatchString(s)
}

// documents parses a string as YAML (or JSON) documents, within the
// bounds; ok is false when it is over them or does not parse.
func (w *walker) documents(s string) (docs []any, ok bool) {
	if len(s) > maxStringBytes || w.depth >= maxStringDepth {
		return nil, false
	}
	dec := yaml3.NewDecoder(strings.NewReader(s))
	budget := maxStringNodes
	for {
		var n yaml3.Node
		if err := dec.Decode(&n); errors.Is(err, io.EOF) {
			return docs, true
		} else if err != nil {
			return nil, false
		}
		if len(n.Content) == 0 || n.Content[0].Kind != yaml3.MappingNode {
			continue
		}
		v, within := fromNode(n.Content[0], &budget)
		if !within {
			return nil, false
		}
		docs = append(docs, v)
	}
}

// FromNode converts a YAML node into the values encoding/json makes
// (map[string]any, []any, strings, numbers, booleans), aliases followed;
// ok is false when that takes more than maxNodes nodes.
func FromNode(n *yaml3.Node, maxNodes int) (v any, ok bool) {
	return fromNode(n, &maxNodes)
}

func fromNode(n *yaml3.Node, budget *int) (any, bool) {
	*budget--
	if *budget < 0 {
		return nil, false
	}
	switch n.Kind {
	case yaml3.AliasNode:
		if n.Alias == nil {
			return nil, true
		}
		return fromNode(n.Alias, budget)
	case yaml3.DocumentNode:
		if len(n.Content) == 0 {
			return nil, true
		}
		return fromNode(n.Content[0], budget)
	case yaml3.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			v, ok := fromNode(n.Content[i+1], budget)
			if !ok {
				return nil, false
			}
			m[n.Content[i].Value] = v
		}
		return m, true
	case yaml3.SequenceNode:
		l := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, ok := fromNode(c, budget)
			if !ok {
				return nil, false
			}
			l = append(l, v)
		}
		return l, true
	case yaml3.ScalarNode:
		var v any
		if err := n.Decode(&v); err != nil {
			return n.Value, true
		}
		switch v.(type) {
		case string, bool, int, int64, float64, nil:
			return v, true
		}
		return n.Value, true
	}
	return nil, true
}

// encPayload matches a SOPS ciphertext.
var encPayload = regexp.MustCompile(`ENC\[[A-Za-z0-9_]+,[^\]]*\]`)

// Text hides every ENC[...] payload of a text: the last line of defence
// for anything printed that did not come from a redacted object.
func Text(s string) string {
	return encPayload.ReplaceAllString(s, "ENC[…]")
}

// hideEnc replaces every ENC[...] payload in the strings of v.
func hideEnc(v any) bool {
	found := false
	var walk func(v any) any
	walk = func(v any) any {
		switch v := v.(type) {
		case string:
			if strings.Contains(v, "ENC[") {
				found = true
				return Text(v)
			}
		case map[string]any:
			for k, e := range v {
				v[k] = walk(e)
			}
		case []any:
			for i, e := range v {
				v[i] = walk(e)
			}
		}
		return v
	}
	walk(v)
	return found
}

func metadataName(m map[string]any) string {
	meta, _ := m["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	return name
}

func extend(path []string, more ...string) []string {
	return append(slices.Clip(path), more...)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
