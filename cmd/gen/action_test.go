package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/gen-gitops/gen/internal/testutil"
)

// TestActionScript runs the composite action's main step (action.yml) the
// way GitHub runs it (bash --noprofile --norc -eo pipefail), with this test
// binary as gen, on a pull request that breaks a route: annotations in the
// log, a failed check, a comment that starts with the sticky marker and
// holds both sections, and the full diff for the artifact.
func TestActionScript(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	var action struct {
		Runs struct {
			Steps []struct {
				ID  string            `json:"id"`
				Run string            `json:"run"`
				Env map[string]string `json:"env"`
			} `json:"steps"`
		} `json:"runs"`
	}
	data, err := os.ReadFile(filepath.Join(testutil.ModuleRoot(t), "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &action); err != nil {
		t.Fatal(err)
	}
	script := ""
	for _, s := range action.Runs.Steps {
		if s.ID == "run" {
			script = s.Run
		}
	}
	if script == "" {
		t.Fatal("no step with id run in action.yml")
	}

	// gen on PATH is this test binary (see TestMain).
	bin := t.TempDir()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(exe, filepath.Join(bin, "gen")); err != nil {
		t.Skip("no symbolic links here")
	}

	repo := testutil.CopyTree(t, testutil.ExampleRepo(t))
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+t.TempDir())
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q", "-b", "main")
	git("add", "-A")
	git("commit", "-q", "-m", "base")
	base := git("rev-parse", "HEAD")
	route := filepath.Join(repo, "kubernetes/apps/default/whoami/app/httproute.yaml")
	b, _ := os.ReadFile(route)
	if err := os.WriteFile(route, []byte(strings.Replace(string(b), "      sectionName: https\n", "      sectionName: http\n", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	git("commit", "-q", "-am", "break the route")

	tmp := t.TempDir()
	outputs := filepath.Join(tmp, "outputs")
	summary := filepath.Join(tmp, "summary")
	cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script)
	cmd.Dir = repo
	cmd.Env = append(os.Environ(),
		"PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"BASE="+base, "DO_CHECK=true", "DO_DIFF=true", "BUDGET=60000", "ARGS=",
		"RUNNER_TEMP="+tmp, "GITHUB_OUTPUT="+outputs, "GITHUB_STEP_SUMMARY="+summary,
	)
	log, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the step failed: %v\n%s", err, log)
	}
	if !strings.Contains(string(log), "::error file=kubernetes/apps/default/whoami/app/httproute.yaml,line=8,title=gen check%3A parent-ref::") {
		t.Errorf("no annotation in the log:\n%s", log)
	}
	out, _ := os.ReadFile(outputs)
	if !strings.Contains(string(out), "check-result=failed") || !strings.Contains(string(out), "diff-file="+filepath.Join(tmp, "gen", "gen-diff.txt")) {
		t.Errorf("outputs:\n%s", out)
	}
	comment, _ := os.ReadFile(filepath.Join(tmp, "gen", "comment.md"))
	for _, want := range []string{"<!-- gen-diff -->\n### gen diff", "HTTPRoute", "### gen check", "❌ failed", "parent-ref"} {
		if !strings.Contains(string(comment), want) {
			t.Errorf("comment lacks %q:\n%s", want, comment)
		}
	}
	if !strings.HasPrefix(string(comment), "<!-- gen-diff -->") {
		t.Error("the comment does not start with the marker")
	}
	if full, err := os.ReadFile(filepath.Join(tmp, "gen", "gen-diff.txt")); err != nil || !strings.Contains(string(full), "+    sectionName: http\n") {
		t.Errorf("full diff: %v\n%s", err, full)
	}
	if s, _ := os.ReadFile(summary); len(s) == 0 {
		t.Error("nothing in the job summary")
	}
}
