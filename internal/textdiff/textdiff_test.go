package textdiff

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gen-gitops/gen/internal/testutil"
)

func TestUnified(t *testing.T) {
	cases := []struct {
		name, a, b, want string
	}{
		{name: "equal", a: "x\ny\n", b: "x\ny\n", want: ""},
		{name: "both empty", want: ""},
		{name: "one line changed", a: "a\nb\nc\n", b: "a\nB\nc\n",
			want: "--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n"},
		{name: "created", a: "", b: "new\n",
			want: "--- a/f\n+++ b/f\n@@ -0,0 +1 @@\n+new\n"},
		{name: "no newline at the end", a: "a\n", b: "a\nb",
			want: "--- a/f\n+++ b/f\n@@ -1 +1,2 @@\n a\n+b\n\\ No newline at end of file\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Unified(c.a, c.b, "a/f", "b/f")
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("got\n%s\nwant\n%s", got, c.want)
			}
		})
	}
}

// TestPatchApplies: git applies the diff to the old text and gets the new
// one, including a last line without a newline on either side.
func TestPatchApplies(t *testing.T) {
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("no git here")
	}
	pairs := [][2]string{
		{"a\nb\nc\nd\ne\nf\ng\nh\n", "a\nB\nc\nd\ne\nf\nG\nh\ni\n"},
		{"one\ntwo", "one\nthree"},
		{"one\ntwo", "one\ntwo\n"},
		{"x\n", "y"},
	}
	for _, p := range pairs {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "f"), []byte(p[0]), 0o644); err != nil {
			t.Fatal(err)
		}
		patch, err := Unified(p[0], p[1], "a/f", "b/f")
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(git, "apply", "-")
		cmd.Dir = dir
		cmd.Stdin = strings.NewReader(patch)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git apply %q -> %q: %v\n%s\npatch:\n%s", p[0], p[1], err, out, patch)
		}
		got, err := os.ReadFile(filepath.Join(dir, "f"))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != p[1] {
			t.Errorf("applied %q -> %q, got %q", p[0], p[1], got)
		}
	}
}

// TestPatchAppliesToEdits: git applies the diff of many edits of real
// repository files (lines deleted, inserted and changed, near each other
// and at either end) and gets the edited text. The edits are generated
// from a fixed seed, so a failure repeats.
func TestPatchAppliesToEdits(t *testing.T) {
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("no git here")
	}
	sources, err := filepath.Glob(filepath.Join(testutil.ExampleRepo(t), "kubernetes", "apps", "*", "*", "app", "*.yaml"))
	if err != nil || len(sources) == 0 {
		t.Fatalf("no example files: %v", err)
	}
	r := rand.New(rand.NewPCG(13, 3))
	dir := t.TempDir()
	var patches strings.Builder
	var want []string
	for i := 0; i < 40; i++ {
		data, err := os.ReadFile(sources[i%len(sources)])
		if err != nil {
			t.Fatal(err)
		}
		a := string(data)
		lines := strings.SplitAfter(a, "\n")
		for e := 0; e < 1+r.IntN(5); e++ {
			at := r.IntN(len(lines) + 1)
			switch r.IntN(3) {
			case 0:
				if at < len(lines) {
					lines = append(lines[:at], lines[at+1:]...)
				}
			case 1:
				lines = slices.Insert(lines, at, fmt.Sprintf("  inserted%d: x\n", e))
			default:
				if at < len(lines) {
					lines[at] = fmt.Sprintf("  changed%d: y\n", e)
				}
			}
		}
		b := strings.Join(lines, "")
		name := fmt.Sprintf("f%02d", i)
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
		patch, err := Unified(a, b, "a/"+name, "b/"+name)
		if err != nil {
			t.Fatal(err)
		}
		patches.WriteString(patch)
		want = append(want, b)
	}
	cmd := exec.Command(git, "apply", "-")
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(patches.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git apply: %v\n%s", err, out)
	}
	for i, w := range want {
		got, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("f%02d", i)))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != w {
			t.Errorf("f%02d: git applied the diff and got another text", i)
		}
	}
}
