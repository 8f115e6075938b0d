package action

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gen-gitops/gen/generator"
	"github.com/gen-gitops/gen/generator/apps"
	"github.com/gen-gitops/gen/internal/repo"
	"github.com/gen-gitops/gen/internal/testutil"
)

// addHello loads a copy of the example repository and computes add-app
// default/hello on it.
func addHello(t *testing.T) (string, *repo.Repo, *generator.Changeset) {
	t.Helper()
	dir := testutil.CopyTree(t, testutil.ExampleRepo(t))
	r, err := repo.Load(dir, repo.LoadOptions{Domains: map[string]string{"SECRET_DOMAIN": "example.com", "SECRET_DOMAIN_TWO": "example.org"}})
	if err != nil {
		t.Fatal(err)
	}
	cs, err := apps.Add(r.Model(), apps.AddOptions{Namespace: "default", Name: "hello", Mode: apps.ModeAppTemplate, Image: "ghcr.io/traefik/whoami:v1.11.0", Hosts: []string{"hello"}})
	if err != nil {
		t.Fatal(err)
	}
	return dir, r, cs
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestWriteDryRun: a dry run returns the diff and the pull request body's
// path, and writes nothing but the body.
func TestWriteDryRun(t *testing.T) {
	dir, r, cs := addHello(t)
	before, err := testutil.HashTree(dir)
	if err != nil {
		t.Fatal(err)
	}
	w := NewWrite(&Configuration{Getenv: func(string) string { return "" }})
	w.DryRun = true
	w.PRBody = filepath.Join(t.TempDir(), "pr.md")
	res, err := w.Run(context.Background(), r, cs)
	if err != nil {
		t.Fatal(err)
	}
	if !res.DryRun || res.Empty() || res.Commit != "" || res.PRBody != w.PRBody {
		t.Errorf("result: %+v", res)
	}
	if !strings.Contains(res.Diff, "+++ b/kubernetes/apps/default/hello/ks.yaml") {
		t.Errorf("the diff lacks the new ks.yaml:\n%s", res.Diff)
	}
	after, err := testutil.HashTree(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(before, after) {
		t.Error("a dry run changed the repository")
	}
	body, err := os.ReadFile(w.PRBody)
	if err != nil || !strings.Contains(string(body), "A dry run of gen: nothing was written.") {
		t.Errorf("body: %v\n%s", err, body)
	}
}

// TestWriteCommits: a write with Commit writes the files, commits exactly
// them on the branch, and says so in the result; the same change on a
// tree whose touched files are dirty is refused before anything is
// written.
func TestWriteCommits(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	dir, r, cs := addHello(t)
	git(t, dir, "init", "-q", "-b", "main")
	git(t, dir, "add", "-A")
	git(t, dir, "commit", "-q", "-m", "base")

	w := NewWrite(&Configuration{Getenv: func(string) string { return "" }})
	w.Commit, w.Branch, w.Author, w.Command = true, "add-hello", "Gen Test <gen@example.com>", "test"
	res, err := w.Run(context.Background(), r, cs)
	if err != nil {
		t.Fatal(err)
	}
	if res.Commit != git(t, dir, "rev-parse", "add-hello") || res.Branch != "add-hello" || res.Pushed || res.Target != nil {
		t.Errorf("result: %+v", res)
	}
	files := strings.Fields(git(t, dir, "show", "--name-only", "--format=", "add-hello"))
	if !reflect.DeepEqual(files, cs.Paths()) {
		t.Errorf("committed %v, want %v", files, cs.Paths())
	}
	if msg := git(t, dir, "log", "-1", "--format=%B", "add-hello"); msg != strings.TrimSpace(CommitMessage(cs)) {
		t.Errorf("message %q", msg)
	}

	// The same change again, on a tree where a file it touches is dirty.
	dir2, r2, cs2 := addHello(t)
	git(t, dir2, "init", "-q", "-b", "main")
	git(t, dir2, "add", "-A")
	git(t, dir2, "commit", "-q", "-m", "base")
	ns := filepath.Join(dir2, "kubernetes/apps/default/kustomization.yaml")
	data, err := os.ReadFile(ns)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ns, append(data, []byte("# edited\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	before, _ := testutil.HashTree(dir2)
	w2 := NewWrite(&Configuration{Getenv: func(string) string { return "" }})
	w2.Commit, w2.Author = true, "Gen Test <gen@example.com>"
	res, err = w2.Run(context.Background(), r2, cs2)
	if err == nil || res != nil || !strings.Contains(err.Error(), "refusing to commit: kubernetes/apps/default/kustomization.yaml already has uncommitted changes") {
		t.Fatalf("result %+v, error %v", res, err)
	}
	if after, _ := testutil.HashTree(dir2); !reflect.DeepEqual(before, after) {
		t.Error("a refused commit changed the tree")
	}
}

// TestWritePRBodyRefused: a pull request body over a file of the
// repository is a usage error, before anything is written.
func TestWritePRBodyRefused(t *testing.T) {
	dir, r, cs := addHello(t)
	w := NewWrite(&Configuration{Getenv: func(string) string { return "" }})
	w.PRBody = filepath.Join(dir, ".sops.yaml")
	before, _ := testutil.HashTree(dir)
	_, err := w.Run(context.Background(), r, cs)
	var usage *UsageError
	if !errors.As(err, &usage) || !strings.Contains(err.Error(), "a file of the repository") {
		t.Fatalf("error %v", err)
	}
	if after, _ := testutil.HashTree(dir); !reflect.DeepEqual(before, after) {
		t.Error("a refused write changed the tree")
	}
}
