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
