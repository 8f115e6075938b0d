package check

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gen-gitops/gen/internal/flux"
)

// TestUndefinedVarWithNoVariables: with postBuild but no variable at all,
// the controller substitutes nothing, so ${VAR} (a Grafana dashboard's
// ${DS_PROMETHEUS}) stays: a warning; with a variable defined it is
// blanked: an error.
func TestUndefinedVarWithNoVariables(t *testing.T) {
	files := func(substitute string) flux.Files {
		return flux.Files{
			"kubernetes/flux/cluster/ks.yaml": []byte("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: cluster-apps\n  namespace: flux-system\nspec:\n  interval: 1h\n  path: ./kubernetes/apps\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n"),
			"kubernetes/apps/obs/kustomization.yaml": []byte("resources:\n  - ./dash/ks.yaml\n"),
			"kubernetes/apps/obs/dash/ks.yaml": []byte("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: dash\n  namespace: flux-system\nspec:\n  interval: 1h\n  path: ./kubernetes/apps/obs/dash/app\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  postBuild:\n    substitute: " + substitute + "\n"),
			"kubernetes/apps/obs/dash/app/kustomization.yaml": []byte("resources:\n  - ./dashboard.yaml\n"),
			"kubernetes/apps/obs/dash/app/dashboard.yaml":     []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dash\n  namespace: obs\ndata:\n  d.json: '{\"datasource\": \"${DS_PROMETHEUS}\"}'\n"),
		}
	}
	for _, c := range []struct {
		substitute string
		want       Severity
	}{{"{}", SeverityWarning}, {"{CLUSTER: main}", SeverityError}} {
		rep, err := Run(&Snapshot{Files: files(c.substitute)}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		f := only(t, rep, RuleUndefinedVar)
		if f.Severity != c.want || rep.Failed() != (c.want == SeverityError) {
			t.Errorf("substitute %s: %s (failed %v), want %s", c.substitute, f, rep.Failed(), c.want)
		}
	}
}

// TestReadDirGeneratorFiles: plain files below a folder with a
// kustomization are read wherever the repository keeps its manifests
// (configMapGenerator sources under apps/), and other plain files are not.
func TestReadDirGeneratorFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(p, data string) {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("apps/web/app/kustomization.yaml", "configMapGenerator:\n  - name: web\n    files: [files/nginx.conf]\n")
	write("apps/web/app/files/nginx.conf", "server {}\n")
	write("docs/logo.png", "png")
	write("kustomization.yaml", "resources: []\n")
	snap, err := ReadDir(dir, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := snap.Files["apps/web/app/files/nginx.conf"]; !ok {
		t.Error("the generator's file was not read")
	}
	if _, ok := snap.Files["docs/logo.png"]; ok {
		t.Error("a plain file outside any kustomization folder was read")
	}
}

// TestLinesInMultiDocumentFiles: a finding about a file of several
// Kustomizations is on its first one, and an object whose name is written
// with a variable is found by its rendered name.
func TestLinesInMultiDocumentFiles(t *testing.T) {
	two := "---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: web-a\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: web-b\n"
	templated := "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${APP}-config\n"
	l := newLines(flux.Files{"ks.yaml": []byte(two), "cm.yaml": []byte(templated)})
	if got := l.docLine("ks.yaml", "Kustomization", ""); got != 2 {
		t.Errorf("first Kustomization at line %d, want 2", got)
	}
	if got := l.docLine("ks.yaml", "Kustomization", "web-b"); got != 7 {
		t.Errorf("web-b at line %d, want 7", got)
	}
	if got := l.docLine("cm.yaml", "ConfigMap", "echo-config"); got != 7 {
		t.Errorf("${APP}-config at line %d, want 7", got)
	}
	if got := l.docLine("cm.yaml", "ConfigMap", "nothing"); got != 0 {
		t.Errorf("an unknown name found at line %d", got)
	}
}

// TestRootBuildsTheArtifact: flux bootstrap syncing the repository's root
// (path ./) builds what source-controller's artifact holds, so a CI
// workflow that .sourceignore leaves out is no manifest that fails.
func TestRootBuildsTheArtifact(t *testing.T) {
	files := flux.Files{
		"flux-system/gotk-sync.yaml":     []byte("---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  interval: 1h\n  url: https://example.com/home.git\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  interval: 1h\n  path: ./\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n"),
		"flux-system/kustomization.yaml": []byte("resources:\n  - gotk-sync.yaml\n"),
		"default/web/ks.yaml":            []byte("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: web\n  namespace: flux-system\nspec:\n  interval: 1h\n  path: ./default/web/app\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n"),
		"default/web/app/cm.yaml":        []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n  namespace: default\n"),
		".forgejo/workflows/ci.yml":      []byte("on: push\njobs: {}\n"),
		".sourceignore":                  []byte(".forgejo\n"),
	}
	rep, err := Run(&Snapshot{Files: files}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range rep.Findings {
		if f.Rule == RuleBuild {
			t.Errorf("build finding: %s", f)
		}
	}
	if rep.Summary.Built != 2 {
		t.Errorf("built %d of %d Kustomizations, want 2:\n%s", rep.Summary.Built, rep.Summary.Kustomizations, findingList(rep.Findings))
	}
}
