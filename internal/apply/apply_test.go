package apply_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gen-gitops/gen/generator"
	"github.com/gen-gitops/gen/internal/apply"
	"github.com/gen-gitops/gen/internal/testutil"
)

func seed(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for p, c := range map[string]string{
		"kubernetes/apps/default/kustomization.yaml": "resources:\n  - ./namespace.yaml\n",
		"kubernetes/apps/default/old.yaml":           "old\n",
		"keep.txt":                                   "keep\n",
	} {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func changeset() *generator.Changeset {
	cs := &generator.Changeset{Title: "test"}
	cs.Add("kubernetes/apps/default/kustomization.yaml", []byte("resources:\n  - ./namespace.yaml\n  - ./new/ks.yaml\n"))
	cs.Add("kubernetes/apps/default/new/ks.yaml", []byte("kind: Kustomization\n"))
	cs.Add("kubernetes/apps/default/new/app/kustomization.yaml", []byte("resources: []\n"))
	cs.Files = append(cs.Files, generator.FileChange{Path: "kubernetes/apps/default/old.yaml", Delete: true})
	return cs
}

func TestApplyWritesAll(t *testing.T) {
	dir := seed(t)
	if err := apply.NewWriter(dir).Apply(changeset()); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "kubernetes/apps/default/kustomization.yaml"))
	if err != nil || !bytes.Contains(got, []byte("./new/ks.yaml")) {
		t.Fatalf("kustomization not updated: %q, %v", got, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "kubernetes/apps/default/new/app/kustomization.yaml")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "kubernetes/apps/default/old.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("old.yaml should be deleted: %v", err)
	}
	for p := range testutil.Snapshot(t, dir) {
		if strings.Contains(p, ".gen-new") || strings.Contains(p, apply.LockName) {
			t.Fatalf("left behind: %s", p)
		}
	}
}

// TestApplyRemovesEmptiedFolders deletes a whole app: its folders go too,
// up to the first one that still holds something; nothing else goes.
func TestApplyRemovesEmptiedFolders(t *testing.T) {
	dir := seed(t)
	for p, c := range map[string]string{
		"kubernetes/apps/default/gone/ks.yaml":                "ks\n",
		"kubernetes/apps/default/gone/app/kustomization.yaml": "k\n",
		"kubernetes/apps/default/kept/app/kustomization.yaml": "k\n",
		"kubernetes/apps/default/kept/app/README.md":          "kept\n",
		"kubernetes/apps/default/empty/.keep":                 "",
	} {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Remove(filepath.Join(dir, "kubernetes/apps/default/empty/.keep")); err != nil {
		t.Fatal(err)
	}
	before := testutil.Snapshot(t, dir)
	cs := &generator.Changeset{Title: "remove"}
	for _, p := range []string{"kubernetes/apps/default/gone/ks.yaml", "kubernetes/apps/default/gone/app/kustomization.yaml", "kubernetes/apps/default/kept/app/kustomization.yaml"} {
		cs.Files = append(cs.Files, generator.FileChange{Path: p, Delete: true})
	}
	if err := apply.NewWriter(dir).Apply(cs); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"kubernetes/apps/default/gone/app/kustomization.yaml", "kubernetes/apps/default/gone/ks.yaml", "kubernetes/apps/default/gone/app/", "kubernetes/apps/default/gone/", "kubernetes/apps/default/kept/app/kustomization.yaml"} {
		delete(before, p)
	}
	testutil.SameSnapshot(t, before, testutil.Snapshot(t, dir))
}

func TestApplyRefusesEscapes(t *testing.T) {
	dir := seed(t)
	outside := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(dir, "kubernetes/apps/evil")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"../x.yaml", "/etc/x.yaml", "kubernetes/apps/evil/app/ks.yaml", "keep.txt/inside.yaml"} {
		before := testutil.Snapshot(t, dir)
		cs := &generator.Changeset{}
		cs.Add("kubernetes/apps/default/a.yaml", []byte("a\n"))
		cs.Add(p, []byte("x\n"))
		if err := apply.NewWriter(dir).Apply(cs); err == nil {
			t.Fatalf("%s: want an error", p)
		}
		testutil.SameSnapshot(t, before, testutil.Snapshot(t, dir))
		if entries, _ := os.ReadDir(outside); len(entries) != 0 {
			t.Fatalf("%s: wrote outside the repository", p)
		}
	}
}

func TestApplyLocked(t *testing.T) {
	dir := seed(t)
	// A lock held by a live process (this one's parent, which outlives the
	// test) blocks writers.
	lock := fmt.Sprintf(`{"pid":%d}`, os.Getppid())
	if err := os.WriteFile(filepath.Join(dir, apply.LockName), []byte(lock), 0o644); err != nil {
		t.Fatal(err)
	}
	before := testutil.Snapshot(t, dir)
	w := apply.NewWriter(dir)
	w.LockWait = -1 // the holder outlives the test: do not wait for it
	err := w.Apply(changeset())
	if !errors.Is(err, apply.ErrLocked) {
		t.Fatalf("want ErrLocked, got %v", err)
	}
	testutil.SameSnapshot(t, before, testutil.Snapshot(t, dir))
}

// TestCrashAtEveryStep kills a writer after each of its filesystem steps
// and shows the tree is then the old one or the new one, never a mix, once
// the next run has recovered.
func TestCrashAtEveryStep(t *testing.T) {
	if os.Getenv("GEN_APPLY_CHILD") != "" {
		w := apply.NewWriter(os.Getenv("GEN_APPLY_CHILD"))
		w.AfterStep = crashAfter(os.Getenv("GEN_APPLY_CRASH_AFTER"))
		if err := w.Apply(changeset()); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	oldTree := testutil.Snapshot(t, seed(t))
	done := seed(t)
	if err := apply.NewWriter(done).Apply(changeset()); err != nil {
		t.Fatal(err)
	}
	newTree := testutil.Snapshot(t, done)
	sawOld, sawNew := false, false
	for step := 1; step < 40; step++ {
		dir := seed(t)
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashAtEveryStep$")
		cmd.Env = append(os.Environ(), "GEN_APPLY_CHILD="+dir, fmt.Sprintf("GEN_APPLY_CRASH_AFTER=%d", step))
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		crashed := errors.As(err, &exit) && exit.ExitCode() == 137
		if err != nil && !crashed {
			t.Fatalf("step %d: child failed: %v\n%s", step, err, out)
		}
		if _, err := apply.NewWriter(dir).Recover(); err != nil {
			t.Fatalf("step %d: recover: %v", step, err)
		}
		got := testutil.Snapshot(t, dir)
		switch {
		case equal(got, oldTree):
			sawOld = true
		case equal(got, newTree):
			sawNew = true
		default:
			t.Fatalf("step %d: the tree is neither the old nor the new one", step)
		}
		if !crashed {
			if !sawOld || !sawNew {
				t.Fatalf("crash points never produced both outcomes (old %v, new %v)", sawOld, sawNew)
			}
			return
		}
	}
	t.Fatal("the writer never finished within 40 steps")
}

// crashAfter is the crash tests' AfterStep: it ends the process, as a
// kill would, once the write has taken n steps.
func crashAfter(n string) func(int) {
	limit, err := strconv.Atoi(n)
	if err != nil || limit <= 0 {
		return nil
	}
	return func(step int) {
		if step >= limit {
			os.Exit(137)
		}
	}
}

func equal(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
