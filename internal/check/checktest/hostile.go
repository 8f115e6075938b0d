// Package checktest materialises the corpus of hostile repositories in
// internal/check/testdata/hostile for tests: each case is a txtar archive
// laid over a copy of the example repository, with directives in its
// comment for what an archive cannot hold (links, large or generated
// files, lowered limits).
//
// Directives, one a line:
//
//	want: RULE            a finding of RULE must be reported (repeatable)
//	want-none: true       no error may be reported
//	limits: Name=N ...    lower check.Limits fields for this case
//	symlink: PATH -> TARGET
//	generate: PATH KIND N see Generate
//
// A case names a server standing in for an attacker's with a placeholder
// in its files: {{attacker}} for one that answers, {{silent}} for one that
// accepts connections and never answers (host:port each). A test that
// starts such servers sets Case.Attacker and Case.Silent before Build;
// otherwise both are an address nothing listens on.
package checktest

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/gen-gitops/gen/internal/check"
	"github.com/gen-gitops/gen/internal/testutil"
)

// Placeholders for the attacker's servers in a case's files.
const (
	AttackerPlaceholder = "{{attacker}}"
	SilentPlaceholder   = "{{silent}}"
)

// nowhere is where the attacker's servers are when no test started them:
// a loopback port nothing listens on.
const nowhere = "127.0.0.1:1"

// Case is one hostile repository.
type Case struct {
	Name     string
	Want     []string
	WantNone bool
	Limits   check.Limits
	archive  *txtar.Archive
	links    [][2]string
	gens     [][3]string

	// Attacker and Silent are the host:port filled in for
	// AttackerPlaceholder and SilentPlaceholder.
	Attacker, Silent string
}

// Dir returns the folder of the corpus.
func Dir(t testing.TB) string {
	return filepath.Join(testutil.ModuleRoot(t), "internal", "check", "testdata", "hostile")
}

// Cases reads the corpus.
func Cases(t testing.TB) []*Case {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(Dir(t), "*.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(paths)
	var out []*Case
	for _, p := range paths {
		a, err := txtar.ParseFile(p)
		if err != nil {
			t.Fatal(err)
		}
		c := &Case{Name: strings.TrimSuffix(filepath.Base(p), ".txtar"), archive: a, Limits: check.DefaultLimits()}
		for _, line := range strings.Split(string(a.Comment), "\n") {
			key, val, ok := strings.Cut(line, ": ")
			if !ok {
				continue
			}
			switch key {
			case "want":
				c.Want = append(c.Want, val)
			case "want-none":
				c.WantNone = true
			case "limits":
				for _, kv := range strings.Fields(val) {
					name, n, _ := strings.Cut(kv, "=")
					v, err := strconv.ParseInt(n, 10, 64)
					f := reflect.ValueOf(&c.Limits).Elem().FieldByName(name)
					if err != nil || !f.IsValid() {
						t.Fatalf("%s: bad limit %q", p, kv)
					}
					f.SetInt(v)
				}
			case "symlink":
				from, to, _ := strings.Cut(val, " -> ")
				c.links = append(c.links, [2]string{from, to})
			case "generate":
				f := strings.Fields(val)
				if len(f) != 3 {
					t.Fatalf("%s: bad generate %q", p, val)
				}
				c.gens = append(c.gens, [3]string{f[0], f[1], f[2]})
			}
		}
		if len(c.Want) == 0 && !c.WantNone {
			t.Fatalf("%s: no want", p)
		}
		out = append(out, c)
	}
	return out
}

// Build lays the case over the example repository in dir (which holds a
// copy of it already).
func (c *Case) Build(t testing.TB, dir string) {
	t.Helper()
	write := func(p string, data []byte) {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	addr := func(a string) string {
		if a == "" {
			return nowhere
		}
		return a
	}
	fill := strings.NewReplacer(AttackerPlaceholder, addr(c.Attacker), SilentPlaceholder, addr(c.Silent))
	for _, f := range c.archive.Files {
		write(f.Name, []byte(fill.Replace(string(f.Data))))
	}
	for _, g := range c.gens {
		n, err := strconv.Atoi(g[2])
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		if g[1] == "many-files" || g[1] == "many-big-files" {
			// n files of a few hundred or 20,000 bytes in the folder g[0].
			size := 200
			if g[1] == "many-big-files" {
				size = 20000
			}
			for i := range n {
				write(fmt.Sprintf("%s/f%05d.yaml", g[0], i), Generate("big", size))
			}
			continue
		}
		write(g[0], Generate(g[1], n))
	}
	for _, l := range c.links {
		full := filepath.Join(dir, filepath.FromSlash(l[0]))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(l[1], full); err != nil {
			t.Skipf("no symbolic links here: %v", err)
		}
	}
}

// Generate makes the content of a generated file.
func Generate(kind string, n int) []byte {
	var b bytes.Buffer
	switch kind {
	case "deep-flow":
		b.WriteString("a: ")
		b.WriteString(strings.Repeat("[", n))
		b.WriteString(strings.Repeat("]", n))
		b.WriteString("\n")
	case "deep-block":
		for i := range n {
			b.WriteString(strings.Repeat(" ", i))
			b.WriteString("k:\n")
		}
		b.WriteString(strings.Repeat(" ", n))
		b.WriteString("v\n")
	case "big":
		b.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\n")
		for b.Len() < n {
			b.WriteString("# padding padding padding padding padding padding padding padding\n")
		}
		b.Truncate(n)
	case "big-configmap":
		b.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n  blob: ")
		b.WriteString(strings.Repeat("x", n))
		b.WriteString("\n")
	case "long-line":
		b.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: long\ndata:\n  line: ")
		b.WriteString(strings.Repeat("y", n))
		b.WriteString("\n")
	case "many-docs":
		for i := range n {
			fmt.Fprintf(&b, "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c%d\n", i)
		}
	case "fan-out":
		for i := range n {
			fmt.Fprintf(&b, "---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: fan-%d\nspec:\n  interval: 1h\n  path: ./kubernetes/apps/default/fan/data\n  prune: true\n  targetNamespace: fan%d\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n    namespace: flux-system\n", i, i)
		}
	case "ks-substitute":
		b.WriteString("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: whoami\nspec:\n  interval: 1h\n  path: ./kubernetes/apps/default/whoami/app\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n    namespace: flux-system\n  postBuild:\n    substitute:\n      BIG: ")
		b.WriteString(strings.Repeat("z", n))
		b.WriteString("\n")
	case "substitution-bomb":
		b.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bomb\ndata:\n  x: \"")
		b.WriteString(strings.Repeat("${BIG}", n))
		b.WriteString("\"\n")
	case "garbage":
		r := rand.New(rand.NewPCG(1, 2))
		for range n {
			b.WriteByte(byte(r.IntN(256)))
		}
	default:
		panic("unknown generator " + kind)
	}
	return b.Bytes()
}
