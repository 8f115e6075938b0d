package generator_test

import (
	"strings"
	"testing"

	"github.com/gen-gitops/gen/generator"
)

// TestCheckReplaced: a change may replace a YAML file only when the file
// parses; a new file, a deletion, and files gen does not parse are fine.
func TestCheckReplaced(t *testing.T) {
	files := map[string][]byte{
		"kubernetes/apps/default/kustomization.yaml": []byte("resources:\n  - ./namespace.yaml\n\t- ./whoami/ks.yaml\n"),
		"kubernetes/apps/default/ok.yaml":            []byte("a: 1\n---\nb: 2\n"),
		"kubernetes/apps/default/broken.yaml":        []byte("a: [\n"),
		"kubernetes/apps/default/notes.txt":          []byte("\tnot yaml: [\n"),
	}
	write := func(p string) *generator.Changeset {
		cs := &generator.Changeset{}
		cs.Add(p, []byte("x: 1\n"))
		return cs
	}
	err := write("kubernetes/apps/default/kustomization.yaml").CheckReplaced(files)
	if err == nil || !strings.Contains(err.Error(), "kubernetes/apps/default/kustomization.yaml: yaml: line") ||
		!strings.Contains(err.Error(), "line 3 indents with a tab") || !strings.Contains(err.Error(), "never replaces a file it cannot parse") {
		t.Fatalf("want an error naming the file and the tab's line, got %v", err)
	}
	if err := write("kubernetes/apps/default/broken.yaml").CheckReplaced(files); err == nil {
		t.Fatal("replacing a file that does not parse was allowed")
	}
	for _, p := range []string{"kubernetes/apps/default/ok.yaml", "kubernetes/apps/default/new.yaml", "kubernetes/apps/default/notes.txt"} {
		if err := write(p).CheckReplaced(files); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	del := &generator.Changeset{Files: []generator.FileChange{{Path: "kubernetes/apps/default/broken.yaml", Delete: true}}}
	if err := del.CheckReplaced(files); err != nil {
		t.Errorf("deleting a broken file: %v", err)
	}
}

// TestRecordRead: every path of the change records what it was computed
// from, the hash of the content read or "" for a file that was not there.
func TestRecordRead(t *testing.T) {
	files := map[string][]byte{"a.yaml": []byte("a: 1\n")}
	cs := &generator.Changeset{}
	cs.Add("a.yaml", []byte("a: 2\n"))
	cs.Add("b.yaml", []byte("b: 1\n"))
	cs.RecordRead(files)
	if cs.Read["a.yaml"] != generator.ContentHash(files["a.yaml"]) || cs.Read["a.yaml"] == "" {
		t.Errorf("a.yaml: %q", cs.Read["a.yaml"])
	}
	if v, ok := cs.Read["b.yaml"]; !ok || v != "" {
		t.Errorf("b.yaml: %q, %v", v, ok)
	}
}
