package action

import (
	"strings"
	"testing"

	"github.com/gen-gitops/gen/generator"
)

func TestPRBody(t *testing.T) {
	cs := &generator.Changeset{
		Title: "Add default/hello",
		Files: []generator.FileChange{
			{Path: "kubernetes/apps/default/hello/ks.yaml", Content: []byte("x")},
			{Path: "kubernetes/apps/default/hello/app/secret.sops.yaml", Content: []byte("x"), Sensitive: true},
		},
		Notes: []string{"set the token"},
	}
	diff := "--- a/x\n+++ b/x\n@@ -0,0 +1 @@\n+```not a fence\n"
	got := prBody(cs, diff, false)
	for _, want := range []string{
		"## Add default/hello\n",
		"| `kubernetes/apps/default/hello/ks.yaml` | written |\n",
		"| `kubernetes/apps/default/hello/app/secret.sops.yaml` | written (SOPS-encrypted) |\n",
		"### Notes\n\n- set the token\n",
		"````diff\n--- a/x\n",
		"+```not a fence\n````\n\n</details>\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("body lacks %q:\n%s", want, got)
		}
	}
	empty := prBody(&generator.Changeset{Title: "Add default/hello"}, "", false)
	if !strings.Contains(empty, "Nothing to change") {
		t.Errorf("empty change: %s", empty)
	}
}
