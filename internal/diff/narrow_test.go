package diff

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gen-gitops/gen/internal/check"
)

// TestDiffNarrowsAChildFolder: under the old template's root
// (./kubernetes/flux, whose kustomization Flux generates) the apps folder
// is a child Kustomization; a change in one namespace renders only that
// namespace of it. A namespace elsewhere that does not build shows it: a
// whole build of the apps folder would fail and hide the change.
func TestDiffNarrowsAChildFolder(t *testing.T) {
	src := t.TempDir()
	ks := func(name, path string) string {
		return "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: " + name +
			"\n  namespace: flux-system\nspec:\n  interval: 1h\n  path: " + path + "\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n"
	}
	files := map[string]string{
		"kubernetes/flux/config/cluster.yaml":          ks("cluster", "./kubernetes/flux"),
		"kubernetes/flux/apps.yaml":                    ks("apps", "./kubernetes/apps"),
		"kubernetes/apps/a/kustomization.yaml":         "resources:\n  - ./web/ks.yaml\n",
		"kubernetes/apps/a/web/ks.yaml":                ks("web-a", "./kubernetes/apps/a/web/app"),
		"kubernetes/apps/a/web/app/kustomization.yaml": "resources:\n  - ./cm.yaml\n",
		"kubernetes/apps/a/web/app/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n  namespace: a\ndata:\n  SITE: old\n",
		"kubernetes/apps/broken/kustomization.yaml":    "resources:\n  - ./missing.yaml\n",
	}
	for p, data := range files {
		full := filepath.Join(src, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r := newGitRepo(t, src)
	r.edit("kubernetes/apps/a/web/app/cm.yaml", "SITE: old", "SITE: new")
	r.commit("change")
	repo, err := Open(r.dir)
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	base, err := repo.Resolve("HEAD~1")
	if err != nil {
		t.Fatal(err)
	}
	head, err := repo.Resolve("HEAD")
	if err != nil {
		t.Fatal(err)
	}
	bs, err := repo.Read(base, check.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	hs, err := repo.Read(head, check.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	res, err := Compare(bs, hs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Kustomizations) != 1 || res.Kustomizations[0].ID != "flux-system/web-a" || len(res.Kustomizations[0].Objects) != 1 {
		var ids []string
		for _, k := range res.Kustomizations {
			ids = append(ids, k.ID+" "+k.HeadError)
		}
		t.Fatalf("Kustomizations that differ: %v, want flux-system/web-a with its ConfigMap", ids)
	}
	if res.Failed() {
		t.Errorf("the diff failed: %+v", res.Findings)
	}
}
