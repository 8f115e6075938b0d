package flux

import (
	"fmt"
	"strings"
	"testing"
)

// TestSplitBuildMatchesWhole builds every Kustomization of the test
// repositories both ways, split by entry and whole, and compares the
// objects and their order.
func TestSplitBuildMatchesWhole(t *testing.T) {
	many := repo(nil)
	// A second namespace, and objects of several kinds at the root of the
	// apps folder, so the sort has work to do.
	for _, ns := range []string{"alpha", "zulu"} {
		many["kubernetes/apps/"+ns+"/kustomization.yaml"] = []byte("namespace: " + ns + "\nresources:\n  - ./namespace.yaml\n  - ./cm.yaml\n")
		many["kubernetes/apps/"+ns+"/namespace.yaml"] = []byte("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + ns + "\n")
		many["kubernetes/apps/"+ns+"/cm.yaml"] = []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector: {matchLabels: {a: b}}\n  template: {metadata: {labels: {a: b}}, spec: {containers: [{name: c, image: nginx}]}}\n")
	}
	many["kubernetes/apps/loose.yaml"] = []byte("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: loose\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: aaa\n")
	for name, files := range map[string]Files{"small": many, "anton": antonFiles(t)} {
		t.Run(name, func(t *testing.T) {
			all, err := Discover(files, nil)
			if err != nil {
				t.Fatal(err)
			}
			snap := newSnapshot(files)
			split := 0
			for _, ks := range all {
				if ks.External {
					continue
				}
				a, err := buildWith(snap, ks, true)
				if err != nil {
					t.Fatal(err)
				}
				b, err := buildWith(snap, ks, false)
				if err != nil {
					t.Fatal(err)
				}
				if got, want := dump(a), dump(b); got != want {
					t.Errorf("%s: split build differs:\n%s", ks, lineDiff(want, got))
				}
				if a.work != b.work {
					split++
				}
			}
			if split == 0 {
				t.Error("no build was split")
			}
		})
	}
}

func dump(b *built) string {
	var s strings.Builder
	for _, r := range b.resources {
		y, err := r.AsYAML()
		if err != nil {
			return err.Error()
		}
		fmt.Fprintf(&s, "---\n%s", y)
	}
	return s.String()
}

// lineDiff shows the first lines where two texts differ.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			lo := max(0, i-3)
			return fmt.Sprintf("line %d:\nwant: %q\n got: %q\nwant context:\n%s\ngot context:\n%s", i+1, a, b,
				strings.Join(w[lo:min(len(w), i+4)], "\n"), strings.Join(g[lo:min(len(g), i+4)], "\n"))
		}
	}
	return ""
}
