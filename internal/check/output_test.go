package check

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gen-gitops/gen/internal/testutil"
)

// TestOutputs pins every format on a repository with an error, a warning
// and a note (golden files in testdata/output; refresh with -update).
func TestOutputs(t *testing.T) {
	files := example(t)
	replace(whoamiRoute, "      sectionName: https\n", "      sectionName: http\n")(t, files)
	replace(echoKS, "  dependsOn:\n    - name: envoy-gateway\n      namespace: network\n", "")(t, files)
	set("kubernetes/apps/default/echo/app/upstream.yaml", "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: echo-upstream\nspec:\n  interval: 1h\n  path: ./deploy\n  prune: true\n  sourceRef: {kind: GitRepository, name: echo-upstream}\n")(t, files)
	replace(echoKus, "  - ./helmrelease.yaml\n", "  - ./helmrelease.yaml\n  - ./upstream.yaml\n")(t, files)
	rep, err := Run(&Snapshot{Files: files}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		format Format
		color  bool
		name   string
	}{
		{FormatText, false, "text.txt"},
		{FormatText, true, "text-color.txt"},
		{FormatJSON, false, "report.json"},
		{FormatGitHub, false, "github.txt"},
		{FormatMarkdown, false, "comment.md"},
	} {
		var out bytes.Buffer
		if err := Write(&out, rep, c.format, WriteOptions{Color: c.color}); err != nil {
			t.Fatal(err)
		}
		testutil.GoldenFile(t, filepath.Join("testdata", "output", c.name), out.Bytes())
	}
}

func TestGitHubEscaping(t *testing.T) {
	rep := &Report{Findings: []Finding{{Rule: RuleSchema, Severity: SeverityError, File: "a,b:c.yaml", Line: 3, Message: "100% wrong\nsecond line", Fix: "fix it"}}}
	rep.count()
	var out bytes.Buffer
	if err := Write(&out, rep, FormatGitHub, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	want := "::error file=a%2Cb%3Ac.yaml,line=3,title=gen check%3A schema::100%25 wrong%0Asecond line%0Afix: fix it\n"
	if !strings.HasPrefix(out.String(), want) {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
}
