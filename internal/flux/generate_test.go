package flux

import (
	"os"
	"path/filepath"
	"testing"

	fluxkustomize "github.com/fluxcd/pkg/kustomize"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// TestGenerateMatchesFlux runs the generation rules of this package and the
// library's own generator (which reads the real disk) on the same trees and
// requires the same kustomization, or an error from both.
func TestGenerateMatchesFlux(t *testing.T) {

	doc := func(name string) string { return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\n" }
	tests := []struct {
		name    string
		files   map[string]string // relative to the build folder's parent
		dir     string
		spec    string
		wantErr bool
	}{
		{
			name: "generated with nested folders in walk order",
			files: map[string]string{
				"app/z.yaml":                   doc("z"),
				"app/a.yaml":                   doc("a"),
				"app/a/b.yaml":                 doc("ab"),
				"app/b.yml":                    doc("b"),
				"app/notes.txt":                "not yaml",
				"app/unit/kustomization.yaml":  "resources: [./x.yaml]\n",
				"app/unit/x.yaml":              doc("x"),
				"app/deep/er/c.yaml":           doc("c"),
				"app/.hidden/d.yaml":           doc("d"),
				"app/Kustomization-notes.yaml": doc("e"),
			},
			dir:  "app",
			spec: "targetNamespace: default\nnamePrefix: p-\nnameSuffix: -s\n",
		},
		{
			name:  "generated empty folder gets a placeholder namespace",
			files: map[string]string{"app/readme.md": "x"},
			dir:   "app",
			spec:  "path: ./app\n",
		},
		{
			name:    "generated folder with a file that is not Kubernetes YAML",
			files:   map[string]string{"app/bad.yaml": "a: [unclosed\n"},
			dir:     "app",
			wantErr: true,
		},
		{
			name: "existing kustomization with images merged field by field",
			files: map[string]string{
				"app/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [./a.yaml]\nimages:\n  - name: nginx\n    newTag: \"1.0\"\n    digest: sha256:abc\n  - name: redis\n    newName: my/redis\n",
				"app/a.yaml":             doc("a"),
			},
			dir: "app",
			spec: `images:
  - name: nginx
    newName: my/nginx
  - name: redis
    newTag: "7"
  - name: postgres
    digest: sha256:def
`,
		},
		{
			name: "patches, components and ignoreMissingComponents",
			files: map[string]string{
				"app/kustomization.yml":        "resources: [./a.yaml]\n",
				"app/a.yaml":                   doc("a"),
				"comp/kustomization.yaml":      "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n",
				"app/local/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n",
			},
			dir: "app",
			spec: `components: [../comp, ./local, ./missing]
ignoreMissingComponents: true
patches:
  - patch: |
      - op: add
        path: /metadata/labels/x
        value: y
    target:
      kind: ConfigMap
      name: a
      labelSelector: app=x
  - patch: |
      apiVersion: v1
      kind: ConfigMap
      metadata:
        name: a
      data:
        k: v
`,
		},
		{
			name:    "remote component is refused",
			files:   map[string]string{"app/a.yaml": doc("a")},
			dir:     "app",
			spec:    "components: [\"https://example.org/x\"]\n",
			wantErr: true,
		},
		{
			name: "components only get origin build metadata",
			files: map[string]string{
				"app/Kustomization":       "components: [../comp]\n",
				"comp/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n",
			},
			dir: "app",
		},
		{
			name: "buildMetadata from the spec replaces the file's",
			files: map[string]string{
				"app/kustomization.yaml": "resources: [./a.yaml]\nbuildMetadata: [managedByLabel]\n",
				"app/a.yaml":             doc("a"),
			},
			dir:  "app",
			spec: "buildMetadata: [originAnnotations]\n",
		},
		{
			name:  "deprecated strategic merge and JSON 6902 patches",
			files: map[string]string{"app/a.yaml": doc("a")},
			dir:   "app",
			spec: `patchesStrategicMerge:
  - apiVersion: v1
    kind: ConfigMap
    metadata: {name: a}
    data: {k: v}
patchesJson6902:
  - target: {version: v1, kind: ConfigMap, name: a}
    patch:
      - op: add
        path: /data/x
        value: "y"
`,
		},
		{
			name:  "generated at the repository root",
			files: map[string]string{"a.yaml": doc("a"), "sub/b.yaml": doc("b")},
			dir:   "",
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := map[string]any{
				"apiVersion": "kustomize.toolkit.fluxcd.io/v1",
				"kind":       "Kustomization",
				"metadata":   map[string]any{"name": "x", "namespace": "flux-system"},
			}
			if tt.spec != "" {
				var spec map[string]any
				if err := yaml.Unmarshal([]byte(tt.spec), &spec); err != nil {
					t.Fatal(err)
				}
				obj["spec"] = spec
			}

			// The library, on disk.
			root := t.TempDir()
			for p, c := range tt.files {
				full := filepath.Join(root, filepath.FromSlash(p))
				if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, _, _, wantErr := fluxkustomize.NewGenerator(root, unstructured.Unstructured{Object: obj}).
				GenerateManifest(filepath.Join(root, filepath.FromSlash(tt.dir)))

			// This package, in memory.
			files := Files{}
			for p, c := range tt.files {
				files[p] = []byte(c)
			}
			gen, gotErr := generateKustomization(files.FS(), "/"+tt.dir, obj)

			if (wantErr != nil) != (gotErr != nil) || (gotErr != nil) != tt.wantErr {
				t.Fatalf("errors differ: library %v, here %v (want error: %v)", wantErr, gotErr, tt.wantErr)
			}
			if gotErr != nil {
				return
			}
			got, err := yaml.Marshal(gen.kus)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Errorf("kustomization differs\n--- library\n%s\n--- here\n%s", want, got)
			}
		})
	}
}
