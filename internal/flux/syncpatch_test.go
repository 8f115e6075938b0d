package flux

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestSyncFolderRootTakesTheInstancePatches: a folder root stands for the
// Kustomization the Flux Operator makes, with the decryption and postBuild
// its FluxInstance patches in (strategic merge or JSON 6902).
func TestSyncFolderRootTakesTheInstancePatches(t *testing.T) {
	strategic := "apiVersion: fluxcd.controlplane.io/v1\nkind: FluxInstance\nmetadata:\n  name: flux\nspec:\n  kustomize:\n    patches:\n      - patch: |\n          apiVersion: kustomize.toolkit.fluxcd.io/v1\n          kind: Kustomization\n          metadata:\n            name: flux-system\n          spec:\n            decryption:\n              provider: sops\n        target:\n          kind: Kustomization\n          name: flux-system\n      - patch: |\n          - op: add\n            path: /spec/template/spec/containers/0/args/-\n            value: --concurrent=8\n        target:\n          kind: Deployment\n"
	json6902 := "instance:\n  kustomize:\n    patches:\n      - patch: |\n          - op: add\n            path: /spec/postBuild\n            value:\n              substituteFrom:\n                - kind: ConfigMap\n                  name: cluster-settings\n        target:\n          kind: Kustomization\n"
	for name, c := range map[string]struct {
		file, data string
		field      []string
	}{
		"strategic merge in a FluxInstance": {"bootstrap/instance.yaml", strategic, []string{"spec", "decryption", "provider"}},
		"JSON 6902 in the chart's values":   {"bootstrap/values.yaml", json6902, []string{"spec", "postBuild", "substituteFrom"}},
	} {
		files := map[string][]byte{
			"clusters/home/cm.yaml": []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cluster-settings\n  namespace: flux-system\n"),
			c.file:                  []byte(c.data),
		}
		roots, err := readRoots(files, []string{"clusters/home"})
		if err != nil || len(roots) != 1 {
			t.Fatalf("%s: %v %v", name, roots, err)
		}
		if v, ok, _ := unstructured.NestedFieldNoCopy(roots[0].Object.Object, c.field...); !ok || v == nil {
			t.Errorf("%s: %v not set: %v", name, c.field, roots[0].Object.Object["spec"])
		}
	}
	// Without an installation's patches, the defaults stay.
	roots, err := readRoots(map[string][]byte{"clusters/home/cm.yaml": []byte("a: b\n")}, []string{"clusters/home"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := roots[0].Object.Object["spec"].(map[string]any)["decryption"]; ok {
		t.Error("decryption set without a patch")
	}
}
