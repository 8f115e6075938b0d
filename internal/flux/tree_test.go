package flux

import (
	"encoding/json"
	"testing"
)

// TestRenderAllMatchesRender checks that RenderAll, which renders each
// Kustomization once and several at a time, gives what Discover and Render
// give one by one.
func TestRenderAllMatchesRender(t *testing.T) {
	for name, files := range map[string]Files{"small": repo(nil), "anton": antonFiles(t)} {
		t.Run(name, func(t *testing.T) {
			opts := RenderOptions{Names: []string{"SECRET_DOMAIN"}, Vars: map[string]string{"SECRET_DOMAIN_TWO": "two.example"}}
			tree, err := RenderAll(files, nil, TreeOptions{RenderOptions: opts, Workers: 4})
			if err != nil {
				t.Fatal(err)
			}
			all, err := Discover(files, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(all) != len(tree.Kustomizations) {
				t.Fatalf("RenderAll found %d Kustomizations, Discover %d", len(tree.Kustomizations), len(all))
			}
			for i, ks := range all {
				if got := tree.Kustomizations[i].ID(); got != ks.ID() {
					t.Fatalf("Kustomization %d: %s, want %s", i, got, ks.ID())
				}
				if ks.External {
					if tree.Rendered[i] != nil {
						t.Errorf("%s is external but rendered", ks)
					}
					continue
				}
				want, err := Render(files, ks, opts)
				if err != nil {
					t.Fatal(err)
				}
				got := tree.Rendered[i]
				if got == nil {
					t.Fatalf("%s not rendered", ks)
				}
				if len(got.Objects) != len(want.Objects) || len(got.Findings) != len(want.Findings) {
					t.Fatalf("%s: %d objects and %d findings, want %d and %d", ks, len(got.Objects), len(got.Findings), len(want.Objects), len(want.Findings))
				}
				for j := range want.Objects {
					a, _ := json.Marshal(got.Objects[j].Unstructured.Object)
					b, _ := json.Marshal(want.Objects[j].Unstructured.Object)
					if string(a) != string(b) || got.Objects[j].Origin != want.Objects[j].Origin {
						t.Errorf("%s object %d:\n%s\nwant\n%s", ks, j, a, b)
					}
				}
			}
		})
	}
}

// BenchmarkRenderAllAnton renders the whole anton corpus in one pass, as
// gen check does.
func BenchmarkRenderAllAnton(b *testing.B) {
	files := antonFiles(b)
	for b.Loop() {
		if _, err := RenderAll(files, nil, TreeOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
