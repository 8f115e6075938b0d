package repo

import (
	"bytes"
	"errors"
	"io"
	"path"
	"sort"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// Object is one YAML document of the snapshot, decoded loosely.
type Object struct {
	// File is the slash path of the file holding the document.
	File       string
	APIVersion string
	Kind       string
	Name       string
	// Obj is the whole document.
	Obj map[string]any
}

// parseAll decodes every document of every YAML file. Files that do not
// parse are skipped here; `gen check` reports them.
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
		ds, err := Documents(files[p])
		if err != nil {
			continue
		}
		for _, m := range ds {
			d := Object{File: p, Obj: m}
			d.APIVersion, _ = m["apiVersion"].(string)
			d.Kind, _ = m["kind"].(string)
			d.Name = d.Str("metadata", "name")
			out = append(out, d)
		}
	}
	return out
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

func (d Object) Get(path ...string) any {
	var cur any = d.Obj
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
