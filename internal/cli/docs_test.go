package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gen-gitops/gen/internal/testutil"
)

// TestCommandDocsAreCurrent fails when docs/cmd is not what the commands'
// help makes: a flag, an example or a command changed without `make docs`.
func TestCommandDocsAreCurrent(t *testing.T) {
	fresh := t.TempDir()
	if err := WriteDocs(fresh); err != nil {
		t.Fatal(err)
	}
	committed := filepath.Join(testutil.ModuleRoot(t), "docs", "cmd")
	names := func(dir string) []string {
		m, err := filepath.Glob(filepath.Join(dir, "*.md"))
		if err != nil {
			t.Fatal(err)
		}
		for i := range m {
			m[i] = filepath.Base(m[i])
		}
		slices.Sort(m)
		return m
	}
	want, have := names(fresh), names(committed)
	if len(want) < 10 {
		t.Fatalf("the reference has only %d pages", len(want))
	}
	for _, n := range want {
		a, _ := os.ReadFile(filepath.Join(fresh, n))
		b, err := os.ReadFile(filepath.Join(committed, n))
		if err != nil {
			t.Errorf("docs/cmd/%s is missing; run make docs", n)
			continue
		}
		if string(a) != string(b) {
			t.Errorf("docs/cmd/%s is stale; run make docs", n)
		}
	}
	for _, n := range have {
		if !slices.Contains(want, n) {
			t.Errorf("docs/cmd/%s documents no command; run make docs", n)
		}
	}
}

// TestWriteDocsRemovesStalePages: a page of a command that is gone does
// not stay behind.
func TestWriteDocsRemovesStalePages(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, "gen_gone.md")
	if err := os.WriteFile(stale, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteDocs(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("gen_gone.md stayed: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "gen_add-app.md")); err != nil {
		t.Error(err)
	}
}

// TestDocLinksResolve: every relative link of the README and the guides
// points at a file of the repository (the guides moved out of the README,
// and a link that worked there may not from docs/).
func TestDocLinksResolve(t *testing.T) {
	root := testutil.ModuleRoot(t)
	pages, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	pages = append(pages, filepath.Join(root, "README.md"))
	link := regexp.MustCompile(`\]\(([^)#\s]+)(#[^)]*)?\)`)
	n := 0
	for _, p := range pages {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range link.FindAllStringSubmatch(string(data), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			n++
			if _, err := os.Stat(filepath.Join(filepath.Dir(p), filepath.FromSlash(target))); err != nil {
				rel, _ := filepath.Rel(root, p)
				t.Errorf("%s links to %s, which does not exist", rel, target)
			}
		}
	}
	if n < 20 {
		t.Fatalf("only %d relative links found", n)
	}
}
