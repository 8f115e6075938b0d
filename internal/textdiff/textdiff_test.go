package textdiff

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
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
