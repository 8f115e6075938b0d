// Package testutil holds helpers shared by gen's tests: golden files
// refreshed with -update, repository fixtures and tree snapshots.
package testutil

import (
	"bytes"
	"crypto/sha256"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
)

// Update is the -update flag: rewrite golden files instead of comparing.
var Update = flag.Bool("update", false, "rewrite golden files")

// ModuleRoot returns the folder holding go.mod.
func ModuleRoot(t testing.TB) string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate testutil source")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// ExampleRepo returns the bundled example repository's path.
func ExampleRepo(t testing.TB) string {
	return filepath.Join(ModuleRoot(t), "examples", "home-ops")
}

// ExampleAgeKey returns the path of the example repository's age key.
func ExampleAgeKey(t testing.TB) string {
	return filepath.Join(ExampleRepo(t), "example-age.key")
}

// AntonCorpus returns ../shared/corpora/anton. In CI (CI=true) a missing
// corpus fails the test; elsewhere it skips.
func AntonCorpus(t testing.TB) string {
	p := filepath.Join(ModuleRoot(t), "..", "shared", "corpora", "anton")
	if _, err := os.Stat(filepath.Join(p, "kubernetes")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("corpus missing at %s: %v", p, err)
		}
		t.Skipf("corpus not present at %s", p)
	}
	return p
}

// CopyTree copies src into a new temporary folder and returns it.
func CopyTree(t testing.TB, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			if d.Name() == ".git" {
				return filepath.SkipDir
			}
			return os.MkdirAll(target, 0o755)
		}
		if d.Type()&fs.ModeSymlink != 0 {
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// Snapshot hashes every file below root (paths and contents), so a test
// can show a failed command left the tree byte-for-byte as it was.
func Snapshot(t testing.TB, root string) map[string]string {
	t.Helper()
	out, err := HashTree(root)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// HashTree maps every path below root to a hash of its content ("dir" for
// folders, "link:<target>" for symbolic links).
func HashTree(root string) (map[string]string, error) {
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			if d.Name() == ".git" {
				return filepath.SkipDir
			}
			out[filepath.ToSlash(rel)+"/"] = "dir"
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			l, _ := os.Readlink(p)
			out[filepath.ToSlash(rel)] = "link:" + l
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out[filepath.ToSlash(rel)] = fmt.Sprintf("%x", sha256.Sum256(data))
		return nil
	})
	return out, err
}

// SameSnapshot fails the test when two snapshots differ, naming the paths.
func SameSnapshot(t testing.TB, before, after map[string]string) {
	t.Helper()
	var diffs []string
	for p, h := range before {
		if after[p] != h {
			diffs = append(diffs, "changed or removed: "+p)
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			diffs = append(diffs, "added: "+p)
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 0 {
		t.Fatalf("the tree changed:\n%s", strings.Join(diffs, "\n"))
	}
}

// GoldenTree compares files (slash path → content) with the tree under dir,
// or rewrites dir with -update. Files in dir that files lacks are a
// failure too.
func GoldenTree(t testing.TB, dir string, files map[string][]byte) {
	t.Helper()
	if *Update {
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		for p, data := range files {
			target := filepath.Join(dir, filepath.FromSlash(p))
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(target, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	want := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		data, err := os.ReadFile(p)
		want[filepath.ToSlash(rel)] = data
		return err
	})
	if err != nil {
		t.Fatalf("reading golden tree %s: %v (run go test -update to create it)", dir, err)
	}
	var problems []string
	for p, w := range want {
		got, ok := files[p]
		if !ok {
			problems = append(problems, "missing: "+p)
			continue
		}
		if !bytes.Equal(got, w) {
			problems = append(problems, fmt.Sprintf("differs: %s\n--- want\n%s\n--- got\n%s", p, w, got))
		}
	}
	for p := range files {
		if _, ok := want[p]; !ok {
			problems = append(problems, "unexpected: "+p)
		}
	}
	sort.Strings(problems)
	if len(problems) > 0 {
		t.Fatalf("golden tree %s:\n%s\n(if the change is intended, read it, then run go test -update)", dir, strings.Join(problems, "\n"))
	}
}

// GoldenFile compares got with the file at path, or rewrites it with -update.
func GoldenFile(t testing.TB, path string, got []byte) {
	t.Helper()
	if *Update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file: %v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs:\n--- want\n%s\n--- got\n%s", path, want, got)
	}
}
