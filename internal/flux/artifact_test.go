package flux

import (
	"slices"
	"sort"
	"testing"
)

// TestArtifactFiles: the files a render reads are those source-controller
// puts in the artifact: no CI configuration by default (images stay: a
// generator may read them), nothing
// a .sourceignore ignores below its folder, nothing the repository's own
// GitRepository's spec.ignore ignores.
func TestArtifactFiles(t *testing.T) {
	files := Files{
		".github/workflows/ci.yaml":               []byte("on: push\n"),
		".forgejo/workflows/ci.yml":               []byte("on: push\n"),
		".sourceignore":                           []byte("# CI\n.forgejo\n"),
		"apps/web/kustomization.yaml":             []byte("resources: []\n"),
		"apps/web/logo.png":                       []byte("png"),
		"apps/web/.sourceignore":                  []byte("notes.yaml\n"),
		"apps/web/notes.yaml":                     []byte("a: b\n"),
		"apps/other/notes.yaml":                   []byte("a: b\n"),
		"docs/site.yaml":                          []byte("a: b\n"),
		"flux-system/gotk-sync.yaml":              []byte("apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  ignore: |\n    /docs\n"),
		"flux-system/kustomization.yaml":          []byte("resources: [gotk-sync.yaml]\n"),
		"cluster/.sops.yaml":                      []byte("creation_rules: []\n"),
		"cluster/apps/default/kustomization.yaml": []byte("resources: []\n"),
	}
	got := ArtifactFiles(files)
	var kept []string
	for p := range got {
		kept = append(kept, p)
	}
	sort.Strings(kept)
	want := []string{".sourceignore", "apps/other/notes.yaml", "apps/web/.sourceignore", "apps/web/kustomization.yaml", "apps/web/logo.png",
		"cluster/apps/default/kustomization.yaml", "flux-system/gotk-sync.yaml", "flux-system/kustomization.yaml"}
	if !slices.Equal(kept, want) {
		t.Errorf("kept %v\nwant %v", kept, want)
	}
	if len(files) != 13 {
		t.Error("ArtifactFiles changed its argument")
	}
	plain := Files{"kubernetes/apps/a.yaml": []byte("a: b\n")}
	if got := ArtifactFiles(plain); len(got) != 1 {
		t.Errorf("nothing to ignore, got %v", got)
	}
}
