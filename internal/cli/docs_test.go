package cli

import (
	"os"
	"path/filepath"
	"slices"
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
