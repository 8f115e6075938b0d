package flux

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gen-gitops/gen/internal/testutil"
)

// TestMatchedOriginsAreTheAnnotations builds every Kustomization of the
// test repositories both ways, with each object's file found by matching
// and with kustomize's origin annotations, and compares the files object by
// object. The crafted repository holds the cases matching must leave to
// the annotations: a patch file naming the object, a renamed object, a
// generated one.
func TestMatchedOriginsAreTheAnnotations(t *testing.T) {
	crafted := repo(map[string]string{
		"kubernetes/apps/default/kustomization.yaml": "---\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: default\n" +
			"resources:\n  - ./echo/ks.yaml\n  - ./patched/ks.yaml\n  - ./prefixed/ks.yaml\n  - ./generated/ks.yaml\n  - ./component/ks.yaml\n" +
			"  - ./merged/ks.yaml\n  - ./renamed/ks.yaml\n  - ./genprefixed/ks.yaml\n",
		"kubernetes/apps/default/patched/ks.yaml":                 originKS("patched"),
		"kubernetes/apps/default/patched/app/kustomization.yaml":  "resources:\n  - ./cm.yaml\npatches:\n  - path: patch.yaml\n",
		"kubernetes/apps/default/patched/app/cm.yaml":             "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: \"1\"\n",
		"kubernetes/apps/default/patched/app/patch.yaml":          "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  b: \"2\"\n",
		"kubernetes/apps/default/prefixed/ks.yaml":                originKS("prefixed"),
		"kubernetes/apps/default/prefixed/app/kustomization.yaml": "namePrefix: x-\nresources:\n  - ./cm.yaml\n",
		"kubernetes/apps/default/prefixed/app/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n",
		"kubernetes/apps/default/generated/ks.yaml":               originKS("generated"),
		"kubernetes/apps/default/generated/app/kustomization.yaml": "resources:\n  - ./cm.yaml\nconfigMapGenerator:\n  - name: made\n    literals: [a=b]\n" +
			"secretGenerator:\n  - name: token\n    literals: [t=x]\n    options: {disableNameSuffixHash: true}\n",
		// A generator merging into a base's object, an object renamed by a
		// JSON patch, and a generator under a name prefix: kustomize's
		// annotation decides.
		"kubernetes/apps/default/merged/ks.yaml":                     originKS("merged"),
		"kubernetes/apps/default/merged/app/kustomization.yaml":      "resources:\n  - ../base\nconfigMapGenerator:\n  - name: settings\n    behavior: merge\n    literals: [b=c]\n",
		"kubernetes/apps/default/merged/base/kustomization.yaml":     "configMapGenerator:\n  - name: settings\n    literals: [a=b]\n",
		"kubernetes/apps/default/renamed/ks.yaml":                    originKS("renamed"),
		"kubernetes/apps/default/renamed/app/kustomization.yaml":     "resources:\n  - ./cm.yaml\nconfigMapGenerator:\n  - name: made\n    literals: [a=b]\npatches:\n  - target: {kind: ConfigMap, name: plain}\n    patch: |-\n      - op: replace\n        path: /metadata/name\n        value: other\n",
		"kubernetes/apps/default/renamed/app/cm.yaml":                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\n",
		"kubernetes/apps/default/genprefixed/ks.yaml":                originKS("genprefixed"),
		"kubernetes/apps/default/genprefixed/app/kustomization.yaml": "namePrefix: p-\nconfigMapGenerator:\n  - name: made\n    literals: [a=b]\n",
		"kubernetes/apps/default/generated/app/cm.yaml":              "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\n",
		"kubernetes/apps/default/component/ks.yaml":                  originKS("component"),
		"kubernetes/apps/default/component/app/kustomization.yaml":   "resources:\n  - ./cm.yaml\ncomponents:\n  - ../../../../components/extra\n",
		"kubernetes/apps/default/component/app/cm.yaml":              "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: own\n",
		"kubernetes/components/extra/kustomization.yaml":             "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources:\n  - ./sa.yaml\n",
		"kubernetes/components/extra/sa.yaml":                        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: extra\n",
	})
	for name, files := range map[string]Files{"crafted": crafted, "anton": antonFiles(t), "example": exampleFiles(t)} {
		t.Run(name, func(t *testing.T) {
			all, err := Discover(files, nil)
			if err != nil {
				t.Fatal(err)
			}
			snap := newSnapshot(files)
			matched, objects := 0, 0
			for _, ks := range all {
				if ks.External {
					continue
				}
				a, aerr := buildOrigins(snap, ks, true, true)
				b, berr := buildOrigins(snap, ks, true, false)
				if (aerr == nil) != (berr == nil) {
					t.Fatalf("%s: error %v, with annotations %v", ks, aerr, berr)
				}
				if aerr != nil {
					continue
				}
				if len(a.resources) != len(b.resources) {
					t.Fatalf("%s: %d objects, with annotations %d", ks, len(a.resources), len(b.resources))
				}
				if a.origins != nil {
					matched++
				}
				for i, res := range a.resources {
					got := originOf(res, ks.Path)
					if a.origins != nil {
						got = a.origins[i]
					}
					want := originOf(b.resources[i], ks.Path)
					if res.CurId() != b.resources[i].CurId() || got != want {
						t.Errorf("%s %s: file %q, the annotations say %s %q", ks, res.CurId(), got, b.resources[i].CurId(), want)
					}
					objects++
				}
			}
			t.Logf("%d Kustomizations matched, %d objects compared", matched, objects)
			if matched == 0 || objects == 0 {
				t.Errorf("nothing compared: %d matched, %d objects", matched, objects)
			}
			if name == "crafted" {
				for _, n := range []string{"patched", "prefixed", "merged", "renamed", "genprefixed"} {
					ks := find(t, all, "default", n)
					if b, err := buildOrigins(snap, ks, true, true); err != nil || b.origins != nil {
						t.Errorf("%s: matched (%v) where it must fall back to the annotations", n, err)
					}
				}
				for _, n := range []string{"component", "generated"} {
					if b, err := buildOrigins(snap, find(t, all, "default", n), true, true); err != nil || b.origins == nil {
						t.Errorf("%s: not matched (%v)", n, err)
					}
				}
			}
		})
	}
}

func originKS(name string) string {
	return "---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: " + name +
		"\n  namespace: flux-system\nspec:\n  interval: 1h\n  path: ./kubernetes/apps/default/" + name +
		"/app\n  prune: true\n  sourceRef: {kind: GitRepository, name: flux-system, namespace: flux-system}\n  targetNamespace: default\n"
}

// exampleFiles reads the example repository.
func exampleFiles(t *testing.T) Files {
	t.Helper()
	root := testutil.ExampleRepo(t)
	files := Files{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		files[filepath.ToSlash(rel)] = data
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}
