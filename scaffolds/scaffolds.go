// Package scaffolds holds the templates for every file gen creates. A
// repository may override any of them with its own copy under
// .gen/scaffolds/<name>; the data passed to a template is documented beside
// each Data type in package generator.
package scaffolds

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"text/template"

	"go.yaml.in/yaml/v3"
)

//go:embed templates/*.tmpl
var embedded embed.FS

// Names lists the embedded templates, sorted.
func Names() []string {
	entries, _ := fs.ReadDir(embedded, "templates")
	out := make([]string, 0, len(entries))
	for _, e := range entries {
		out = append(out, strings.TrimSuffix(e.Name(), ".tmpl"))
	}
	sort.Strings(out)
	return out
}

// Set renders templates, preferring a repository's overrides.
type Set struct {
	// Overrides maps a template name (e.g. "ks.yaml") to the repository's
	// own template text.
	Overrides map[string][]byte
}

// Render executes the template name with data.
func (s Set) Render(name string, data any) ([]byte, error) {
	text, err := s.text(name)
	if err != nil {
		return nil, err
	}
	t, err := template.New(name).Funcs(funcs).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("parsing scaffold %q: %w", name, err)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		return nil, fmt.Errorf("rendering scaffold %q: %w", name, err)
	}
	return tidy(buf.Bytes()), nil
}

func (s Set) text(name string) (string, error) {
	if data, ok := s.Overrides[name]; ok {
		return string(data), nil
	}
	data, err := embedded.ReadFile("templates/" + name + ".tmpl")
	if err != nil {
		return "", fmt.Errorf("no scaffold called %q (have: %s)", name, strings.Join(Names(), ", "))
	}
	return string(data), nil
}

// tidy drops trailing spaces and blank runs a template's conditionals leave,
// and ends the file with exactly one newline.
func tidy(b []byte) []byte {
	lines := strings.Split(string(b), "\n")
	out := make([]string, 0, len(lines))
	for _, l := range lines {
		out = append(out, strings.TrimRight(l, " \t"))
	}
	s := strings.TrimRight(strings.Join(out, "\n"), "\n") + "\n"
	return []byte(s)
}

var funcs = template.FuncMap{
	"toYaml": ToYAML,
	"indent": indent,
	"quote":  quote,
	"scalar": scalar,
}

// ToYAML renders v as block YAML with two-space indentation and sequences
// indented under their key, the style of the target repositories. v may be
// a *yaml.Node to control order and quoting.
func ToYAML(v any) (string, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	if err := enc.Close(); err != nil {
		return "", err
	}
	return strings.TrimRight(buf.String(), "\n"), nil
}

func indent(n int, s string) string {
	pad := strings.Repeat(" ", n)
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = pad + l
		}
	}
	return strings.Join(lines, "\n")
}

// quote renders s as a double-quoted YAML scalar.
func quote(s string) string {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s, Style: yaml.DoubleQuotedStyle}
	out, err := yaml.Marshal(n)
	if err != nil {
		return fmt.Sprintf("%q", s)
	}
	return strings.TrimRight(string(out), "\n")
}

// scalar renders s plain when YAML reads it back as the same string, and
// double-quoted otherwise (numbers, booleans, leading braces, ...).
func scalar(s string) string {
	out, err := yaml.Marshal(&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s})
	if err == nil && strings.TrimRight(string(out), "\n") == s {
		return s
	}
	return quote(s)
}
