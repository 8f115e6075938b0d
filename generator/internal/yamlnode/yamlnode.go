// Package yamlnode builds yaml.v3 nodes for new files, keys in the order a
// person writes them (a Go map would sort them), and renders them the way
// the repositories keep their files: each document starts with ---, two
// spaces of indentation.
package yamlnode

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/gen-gitops/gen/scaffolds"
)

// Map is a mapping node whose keys keep the order they were set in.
type Map struct{ Node *yaml.Node }

// NewMap returns an empty mapping.
func NewMap() Map { return Map{Node: &yaml.Node{Kind: yaml.MappingNode}} }

// Set appends the key k with the value v.
func (m Map) Set(k string, v *yaml.Node) {
	m.Node.Content = append(m.Node.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k}, v)
}

// MapOf returns the mapping of alternating keys (strings) and values
// (*yaml.Node), in that order.
func MapOf(kv ...any) *yaml.Node {
	m := NewMap()
	for i := 0; i+1 < len(kv); i += 2 {
		m.Set(kv[i].(string), kv[i+1].(*yaml.Node))
	}
	return m.Node
}

// Seq returns the sequence of items.
func Seq(items ...*yaml.Node) *yaml.Node {
	return &yaml.Node{Kind: yaml.SequenceNode, Content: items}
}

// StrSeq returns the sequence of the strings items.
func StrSeq(items []string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.SequenceNode}
	for _, s := range items {
		n.Content = append(n.Content, Str(s))
	}
	return n
}

// Str returns a string scalar, quoted only where YAML needs it.
func Str(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

// Quoted returns a double-quoted string scalar.
func Quoted(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s, Style: yaml.DoubleQuotedStyle}
}

// SingleQuoted returns a single-quoted string scalar, which keeps regular
// expressions and $ templates readable: single quotes need no escaping of
// backslashes.
func SingleQuoted(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s, Style: yaml.SingleQuotedStyle}
}

// Int returns an integer scalar.
func Int(n int) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(n)}
}

// Bool returns a boolean scalar.
func Bool(b bool) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(b)}
}

// Text returns a string scalar, in literal block style (|) when it spans
// lines and that style gives it back exactly.
func Text(s string) *yaml.Node {
	n := Str(s)
	if strings.Contains(s, "\n") && !strings.ContainsAny(s, "\r\t") && strings.TrimRight(s, " \n") == strings.TrimRight(s, "\n") {
		n.Style = yaml.LiteralStyle
	}
	return n
}

// StringMap returns the mapping of m, keys sorted.
func StringMap(m map[string]string) *yaml.Node {
	n := NewMap()
	for _, k := range slices.Sorted(maps.Keys(m)) {
		n.Set(k, Str(m[k]))
	}
	return n.Node
}

// Docs renders documents the way the repositories keep them: each starts
// with ---, two-space indentation.
func Docs(docs []*yaml.Node) ([]byte, error) {
	var b strings.Builder
	for _, d := range docs {
		out, err := scaffolds.ToYAML(d)
		if err != nil {
			return nil, err
		}
		b.WriteString("---\n")
		b.WriteString(out)
		b.WriteString("\n")
	}
	return []byte(b.String()), nil
}
