package check

import (
	"testing"

	"github.com/gen-gitops/gen/internal/testutil"
)

func runDir(t *testing.T, dir string, opts Options) *Report {
	t.Helper()
	snap, err := ReadDir(dir, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Run(snap, opts)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestExampleIsClean: the bundled example repository has no finding at
// all.
func TestExampleIsClean(t *testing.T) {
	rep := runDir(t, testutil.ExampleRepo(t), Options{})
	for _, f := range rep.Findings {
		t.Errorf("%s", f)
	}
	if rep.Summary.Built < 6 || rep.Summary.Objects < 20 {
		t.Errorf("summary %+v: too little was checked", rep.Summary)
	}
}

// TestAntonPasses: an unmodified copy of the anton corpus passes. Its four
// Kustomizations built from other sources are reported as not built, and
// its echo app's rendered route without the gateway dependency is the one
// warning the repository's conventions expect.
func TestAntonPasses(t *testing.T) {
	rep := runDir(t, testutil.AntonCorpus(t), Options{})
	notBuilt := 0
	for _, f := range rep.Findings {
		switch {
		case f.Rule == RuleNotBuilt:
			notBuilt++
		case f.Rule == RuleDependsOnRoute && f.Kustomization == "default/echo":
		default:
			t.Errorf("%s", f)
		}
	}
	if notBuilt != 4 || rep.Failed() {
		t.Errorf("not built %d (want 4), summary %+v", notBuilt, rep.Summary)
	}
}

// TestOperatorSyncFolderIsTheRoot: with the Flux Operator, the cluster
// syncs a folder (the FluxInstance's spec.sync.path), and that folder may
// hold more than the root Kustomization: here the ConfigMap whose variable
// the root substitutes into its children's spec.path. The folder is then
// the root, built as the operator's flux-system Kustomization, so the
// variable is known and every app builds.
func TestOperatorSyncFolderIsTheRoot(t *testing.T) {
	files := example(t)
	edits := []edit{
		set("kubernetes/flux/cluster/cluster-info.yaml", "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cluster-info\n  namespace: flux-system\ndata:\n  APPS_DIR: apps\n"),
		replace("kubernetes/flux/cluster/ks.yaml", "  path: ./kubernetes/apps\n", "  path: ./kubernetes/apps\n  postBuild:\n    substituteFrom:\n      - kind: ConfigMap\n        name: cluster-info\n"),
		replace("kubernetes/apps/default/echo/ks.yaml", "path: ./kubernetes/apps/default/echo/app", "path: ./kubernetes/${APPS_DIR}/default/echo/app"),
	}
	for _, e := range edits {
		e(t, files)
	}
	instance := "---\napiVersion: fluxcd.controlplane.io/v1\nkind: FluxInstance\nmetadata:\n  name: flux\n  namespace: flux-system\nspec:\n" +
		"  distribution:\n    version: 2.x\n  sync:\n    kind: GitRepository\n    url: https://example.org/home-ops.git\n    ref: refs/heads/main\n    path: kubernetes/flux/cluster\n"

	// Without the FluxInstance nothing says who applies cluster-info: the
	// root file is the root, the variable is unknown, echo's path is not
	// a folder.
	rep, err := Run(&Snapshot{Files: files}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !hasRule(rep, RulePathNotFound) {
		t.Fatalf("without the FluxInstance, no %s finding: %v", RulePathNotFound, rep.Findings)
	}

	files["bootstrap/flux-instance.yaml"] = []byte(instance)
	rep, err = Run(&Snapshot{Files: files}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range rep.Findings {
		t.Errorf("%s", f)
	}
	if rep.Summary.Built != 8 {
		t.Errorf("built %d Kustomizations, want the example's 7 and flux-system", rep.Summary.Built)
	}
}

func hasRule(rep *Report, rule string) bool {
	for _, f := range rep.Findings {
		if f.Rule == rule {
			return true
		}
	}
	return false
}
