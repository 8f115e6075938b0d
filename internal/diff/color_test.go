package diff

import (
	"strings"
	"testing"
)

// TestWriteTextColor: with colour, headers are bold, added lines green and
// removed lines red, and the text is otherwise the same; without it, the
// output has no escape codes.
func TestWriteTextColor(t *testing.T) {
	res := &Result{Base: "a", Head: "b", Paths: []string{"x.yaml"}, Rendered: 1, Kustomizations: []*KustomizationDiff{{
		ID: "flux-system/web", Path: "./web",
		Objects: []*ObjectDiff{{Kind: "ConfigMap", Name: "web", Change: Changed,
			Diff: "--- a/ConfigMap web\n+++ b/ConfigMap web\n@@ -1 +1 @@\n-  SITE: old\n+  SITE: new\n"}},
	}}}
	var plain, color strings.Builder
	if err := WriteTextColor(&plain, res, false); err != nil {
		t.Fatal(err)
	}
	if err := WriteTextColor(&color, res, true); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(plain.String(), "\x1b[") {
		t.Error("escape codes without colour")
	}
	for _, want := range []string{ansiRed + "-  SITE: old" + ansiReset, ansiGreen + "+  SITE: new" + ansiReset,
		ansiBold + "=== Kustomization flux-system/web (./web)" + ansiReset, ansiBold + "+++ b/ConfigMap web" + ansiReset} {
		if !strings.Contains(color.String(), want) {
			t.Errorf("coloured output lacks %q:\n%s", want, color.String())
		}
	}
	strip := strings.NewReplacer(ansiReset, "", ansiBold, "", ansiRed, "", ansiGreen, "", ansiCyan, "")
	if strip.Replace(color.String()) != plain.String() {
		t.Errorf("colour changed the text:\n%s\nwant:\n%s", strip.Replace(color.String()), plain.String())
	}
	if !strings.HasPrefix(plain.String(), "gen diff a..b: 1 file changed; 1 Kustomization differs (1 render): 0 objects added, 1 changed, 0 removed\n") {
		t.Errorf("summary: %s", plain.String())
	}
}
