package flux

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/api/provider"
	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/yaml"
)

// tricky holds values whose types and spelling the controller's YAML and
// JSON round trip can change.
const tricky = `apiVersion: v1
kind: ConfigMap
metadata:
  name: tricky
  annotations:
    html: "<b>&amp;</b>"
data:
  dollars: "$$HOME and ${PLAIN} and ${MISSING:=fallback} and ${PLAIN/./-}"
  on: "on"
  yes: yes
  number-string: "0x1F"
  unicode: "héllo ✓"
  multi: |
    line one ${PLAIN}
    line two
other:
  big: 1234567890123456789
  bigger: 18446744073709551615
  float: 1.0
  exp: 1e6
  huge: 1.5e300
  tiny: 0.000001
  neg: -0
  octal: 0o17
  nothing: null
  empty-map: {}
  empty-list: []
  on: true
  "y": n
`

// hostile holds variable references whose values can turn the
// controller's YAML text into something else: a number, a boolean, a
// mapping, a comment, a folded line, a broken document. Each line is the
// data of a ConfigMap of its own, so each takes its own way.
var hostile = []string{
	"whole: ${PLAIN}",
	"typed: ${NUM}",
	"boolish: ${BOOL}",
	"colon: ${COLON}",
	"hash: x${HASH}",
	"dash: ${DASH}",
	"empty: ${EMPTY}",
	"newline: ${NL}",
	"folded: ${LONG} and some words after the variable to pass the width of a line",
	"short-spaced: a ${PLAIN} b",
	"default: ${UNSET:=42}",
	"quoted: \"'${PLAIN}'\"",
	"list: [\"a.${SECRET_DOMAIN}\", \"${NUM}\"]",
	"${KEY}: key",
	"url: https://${PLAIN}.${SECRET_DOMAIN}/x?y=${NUM}",
	"escaped: $${PLAIN}",
	"block: \"${PAD}\\nsecond line ${PLAIN}\\n\"",
	"block2: \"first ${NUM}\\n${PAD}x\\n\"",
	"script: \"echo $labels.node $(hostname) ${PLAIN}\\n\"",
	"tabbed: x${TAB}y",
	// Deep enough for the controller's writer to fold these lines.
	"deep: {a: {b: {c: {d: {e: {f: {g: {h: \"the quick brown fox ${PLAIN} jumps over the lazy dog ${EMPTY} and more\"}}}}}}}}",
	"deep2: {a: {b: {c: {d: {e: {f: {g: {h: [\"{{ .Release.Name }}.${SECRET_DOMAIN} is served by ${NUM} and then ${COLON} end\"]}}}}}}}}",
}

// TestSubstituteMatchesFlux runs gen's substitution and the controller's
// own function on every object of the test repositories (and on one with
// tricky values), with and without variables, and compares the results.
func TestSubstituteMatchesFlux(t *testing.T) {
	small := repo(map[string]string{
		"kubernetes/apps/default/echo/app/tricky.yaml":        tricky,
		"kubernetes/apps/default/echo/app/kustomization.yaml": "resources:\n  - ./httproute.yaml\n  - ./tricky.yaml\n",
	})
	for name, files := range map[string]Files{"small": small, "anton": antonFiles(t)} {
		t.Run(name, func(t *testing.T) {
			all, err := Discover(files, nil)
			if err != nil {
				t.Fatal(err)
			}
			snap := newSnapshot(files)
			compared := 0
			for _, ks := range all {
				if ks.External {
					continue
				}
				b, err := build(snap, ks)
				if err != nil {
					t.Fatal(err)
				}
				for _, vars := range []map[string]string{
					{"PLAIN": "value.with.dots", "SECRET_DOMAIN": "example.org"},
					{"PLAIN": "x"},
				} {
					p := postProcess{ks: ks, keepOrigin: b.keepOrigin, vars: vars, substituteWith: substituteObject(vars)}
					for _, res := range b.resources {
						m, err := resourceObject(res)
						if err != nil {
							t.Fatal(err)
						}
						if !p.keepOrigin {
							dropMapAnnotation(m, originAnnotation)
						}
						enc := markMapDecrypted(m, res.GetKind())
						got, gerr := p.substitute(res, m, enc)
						want, werr := p.substituteFlux(res)
						if (gerr == nil) != (werr == nil) {
							t.Fatalf("%s %s: error %v, the controller's %v", ks, resObjectID(res), gerr, werr)
						}
						a, _ := json.Marshal(got)
						c, _ := json.Marshal(want)
						if string(a) != string(c) {
							t.Errorf("%s %s:\n got %s\nwant %s", ks, resObjectID(res), a, c)
						}
						compared++
					}
				}
			}
			if name == "small" {
				rf := provider.NewDefaultDepProvider().GetResourceFactory()
				short := 0
				for i, line := range hostile {
					res, err := rf.FromBytes([]byte(fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: h%d\ndata:\n  %s\n", i, line)))
					if err != nil {
						t.Fatalf("%s: %v", line, err)
					}
					for _, vars := range hostileVars {
						p := postProcess{ks: all[0], vars: vars, substituteWith: substituteObject(vars)}
						m, err := resourceObject(res)
						if err != nil {
							t.Fatal(err)
						}
						dropMapAnnotation(m, originAnnotation)
						probe, _ := resourceObject(res)
						if p.substituteStrings(probe) {
							short++
						}
						got, gerr := p.substitute(res, m, false)
						want, werr := p.substituteFlux(res)
						if (gerr == nil) != (werr == nil) {
							t.Fatalf("%s with %v: error %v, the controller's %v", line, vars, gerr, werr)
						}
						a, _ := json.Marshal(got)
						c, _ := json.Marshal(want)
						if gerr == nil && string(a) != string(c) {
							t.Errorf("%s with %v:\n got %s\nwant %s", line, vars, a, c)
						}
						compared++
					}
				}
				// Both ways must have been tried for the comparison to
				// mean something.
				if short < 10 || short > len(hostile)*len(hostileVars)-10 {
					t.Errorf("the short way was taken %d times of %d", short, len(hostile)*len(hostileVars))
				}
			}
			if compared < 10 {
				t.Errorf("only %d objects compared", compared)
			}
		})
	}
}

// hostileVars are the values hostile is substituted with: some that change
// what the text means, some that do not.
var hostileVars = []map[string]string{
	{"PLAIN": "true", "NUM": "123", "BOOL": "yes", "COLON": "a: b", "HASH": " #c", "DASH": "- d",
		"EMPTY": "", "NL": "a\rb", "LONG": strings.Repeat("word ", 20), "KEY": "k", "SECRET_DOMAIN": "example.org", "PAD": "  p", "TAB": "\t"},
	{"PLAIN": "true", "NUM": "123", "BOOL": "yes", "COLON": "c", "HASH": "h", "DASH": "d",
		"EMPTY": "e", "NL": "n", "LONG": "l", "KEY": "k", "SECRET_DOMAIN": "example.org", "PAD": "  p", "TAB": "\t"},
	{"PLAIN": "a.b", "NUM": "v1", "BOOL": "on-prem", "COLON": "c", "HASH": "h", "DASH": "d",
		"EMPTY": "e", "NL": "n", "LONG": "l", "KEY": "k", "SECRET_DOMAIN": "example.org", "PAD": "  p", "TAB": "\t"},
}

// TestSubstituteScalarRefuses lists strings the short way must leave to
// the controller's text round trip, and a few it takes.
func TestSubstituteScalarRefuses(t *testing.T) {
	p := postProcess{vars: map[string]string{"A": "a.example.org", "T": "true", "N": "8080", "C": "x: y", "B": "b", "E": "", "P": " p", "R": "a\rb", "L": "a\u2028b", "S": "two words"}}
	for s, want := range map[string]string{
		"${A}":                "a.example.org",
		"https://${A}/path":   "https://a.example.org/path",
		"$${A}":               "${A}",
		"'${A}'":              "'a.example.org'",
		"{{.Name}}.${A}":      "{{.Name}}.a.example.org",
		"line\n${A} and ${S}": "line\na.example.org and two words",
		"${S}\nline":          "two words\nline",
		"${S} here":           "two words here",
		"${A} #comment":       "a.example.org #comment", // quoted in the text
		"- ${A}":              "- a.example.org",
		"a ${E} b":            "", // two spaces: a fold there would read as one
		"a ${E}":              "", // a space at the end
		"x ${P}":              "", // a value starting with a space
		"${T}":                "", // reads back as a boolean
		"${N}":                "", // reads back as a number
		"${C}":                "", // reads back as a mapping
		"${A":                 "", // envsubst would read on past the string
		"${A}.${B":            "",
		"${T}\nline":          "true\nline",
		"${C}\n":              "x: y\n",
		"x${R}":               "", // a line break
		"x\n${L}":             "",
	} {
		got, ok := p.substituteScalar(s)
		if want == "" {
			if ok {
				t.Errorf("%q: took the short way (%q); it must not", s, got)
			}
			continue
		}
		if !ok || got != want {
			t.Errorf("%q: got %q, %v; want %q", s, got, ok, want)
		}
	}
}

// FuzzSubstituteShortWay checks the short way against the controller's
// function on one string and one variable value; `go test` runs the seeds,
// `go test -fuzz FuzzSubstituteShortWay ./internal/flux` searches further.
func FuzzSubstituteShortWay(f *testing.F) {
	for _, seed := range [][2]string{
		{"${V}", "example.org"}, {"a.${V}", "true"}, {"${V}\nline", "  x"}, {"x\n  ${V}", "y\rz"},
		{"'${V}'", "it's"}, {"${V}", "- a"}, {"{{ $labels.pod }} ${V}", "p"}, {"${V:=d}", ""},
		{"\"${V}\"", "a\"b"}, {"${V}", "*ref"}, {"${V}", "\u2028"}, {"x${V}", "#c"}, {"${V}\n", "1e3"},
		{"the quick brown fox jumps ${V} over the lazy dog", " x"}, {"the quick brown fox jumps over ${V} the lazy dog", "y"},
	} {
		f.Add(seed[0], seed[1])
	}
	rf := provider.NewDefaultDepProvider().GetResourceFactory()
	f.Fuzz(func(t *testing.T, s, v string) {
		if !strings.Contains(s, "$") || strings.Contains(v, "\n") {
			return // the controller removes line breaks from values
		}
		// Deep enough that the controller's writer folds a line of some
		// forty characters or more.
		var deep any = s
		for _, k := range []string{"h", "g", "f", "e", "d", "c", "b", "a"} {
			deep = map[string]any{k: deep}
		}
		body, err := json.Marshal(map[string]any{
			"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "f"}, "data": map[string]any{"k": s}, "deep": deep,
		})
		if err != nil {
			return
		}
		res, err := rf.FromBytes(body)
		if err != nil {
			return
		}
		vars := map[string]string{"V": v}
		p := postProcess{ks: &Kustomization{}, vars: vars, substituteWith: substituteObject(vars)}
		m, err := resourceObject(res)
		if err != nil {
			return
		}
		if !p.substituteStrings(m) {
			return
		}
		want, err := p.substituteFlux(res)
		if err != nil {
			t.Fatalf("%q with V=%q: the short way gave %v, the controller fails: %v", s, v, m["data"], err)
		}
		a, _ := json.Marshal(m)
		c, _ := json.Marshal(want)
		if string(a) != string(c) {
			t.Fatalf("%q with V=%q:\n got %s\nwant %s", s, v, a, c)
		}
	})
}

// TestUndefinedVarsPerString compares the variables found string by string
// with those read off the controller's whole text, on every object of
// anton and on the hostile strings.
func TestUndefinedVarsPerString(t *testing.T) {
	var objs []map[string]any
	files := antonFiles(t)
	all, err := Discover(files, nil)
	if err != nil {
		t.Fatal(err)
	}
	snap := newSnapshot(files)
	for _, ks := range all {
		if ks.External {
			continue
		}
		b, err := build(snap, ks)
		if err != nil {
			t.Fatal(err)
		}
		for _, res := range b.resources {
			m, err := resourceObject(res)
			if err != nil {
				t.Fatal(err)
			}
			objs = append(objs, m)
		}
	}
	for _, line := range append(hostile, "a: ${A", "b: x ${B:-a b c d e f g h i j k l m n o p q r s t u v w x y z} ${C}", "c: \"\\\\${D}\"") {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		objs = append(objs, m)
	}
	withRefs := 0
	for _, m := range objs {
		for _, vars := range []map[string]string{{}, {"SECRET_DOMAIN": "x", "PLAIN": "y"}} {
			got, gerr := undefinedVars(m, vars)
			want, werr := undefinedVarsInText(m, vars)
			if (gerr == nil) != (werr == nil) || strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("%v: got %v, %v; whole text %v, %v", m, got, gerr, want, werr)
			}
			if len(want) > 0 {
				withRefs++
			}
		}
	}
	if withRefs < 20 {
		t.Errorf("only %d objects with undefined variables compared", withRefs)
	}
}

// TestPlainOriginPath compares the line reader of origin annotations with
// YAML's reading of the same text, on what kustomize writes for the
// origin of files of several names.
func TestPlainOriginPath(t *testing.T) {
	for _, name := range []string{"app/helmrelease.yaml", "./a b.yaml", "on", "123", "x: y.yaml", "'q'.yaml", "#c.yaml", "dir/[x].yaml", "ünï.yaml", "a\\b.yaml"} {
		o := resource.Origin{Path: name}
		raw, err := o.String()
		if err != nil {
			t.Fatal(err)
		}
		got, ok := plainOriginPath(raw)
		if ok && got != name {
			t.Errorf("%q written as %q: read %q", name, raw, got)
		}
		if name == "app/helmrelease.yaml" && !ok {
			t.Errorf("%q written as %q: not read without a parser", name, raw)
		}
	}
	if _, ok := plainOriginPath("path: a.yaml\nrepo: https://example.org\n"); ok {
		t.Error("an origin with a repository was read as a plain path")
	}
}
