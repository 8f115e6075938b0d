package flux

import (
	"bytes"
	"path"
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// applySyncPatches sets on the sync Kustomization a folder root stands for
// what the Flux Operator's installation patches into it: spec.decryption
// and spec.postBuild from the kustomize patches of a FluxInstance (or of
// the flux-instance chart's values) that target the Kustomization
// flux-system, written as a strategic merge or as JSON 6902 add/replace
// operations. Other fields are left as the operator's defaults.
func applySyncPatches(obj *unstructured.Unstructured, files map[string][]byte) {
	var names []string
	for p, data := range files {
		if ext := path.Ext(p); (ext == ".yaml" || ext == ".yml") && bytes.Contains(data, []byte("patches:")) &&
			(bytes.Contains(data, []byte("kind: FluxInstance")) || bytes.Contains(data, []byte("instance:"))) {
			names = append(names, p)
		}
	}
	sort.Strings(names)
	for _, p := range names {
		docs, err := decodeDocuments(files[p])
		if err != nil {
			continue
		}
		for _, d := range docs {
			for _, patches := range [][]string{
				{"spec", "kustomize", "patches"},
				{"spec", "values", "instance", "kustomize", "patches"},
				{"instance", "kustomize", "patches"},
			} {
				list, _, _ := unstructured.NestedSlice(d.Object, patches...)
				for _, item := range list {
					applySyncPatch(obj, item)
				}
			}
		}
	}
}

// applySyncPatch applies one patch entry when it targets Kustomization
// flux-system.
func applySyncPatch(obj *unstructured.Unstructured, item any) {
	m, _ := item.(map[string]any)
	target, _ := m["target"].(map[string]any)
	if kind, _ := target["kind"].(string); kind != "Kustomization" {
		return
	}
	if name, _ := target["name"].(string); name != "" && name != DefaultNamespace {
		return
	}
	text, _ := m["patch"].(string)
	var doc any
	if yaml.Unmarshal([]byte(text), &doc) != nil {
		return
	}
	switch v := doc.(type) {
	case map[string]any:
		spec, _ := v["spec"].(map[string]any)
		for _, field := range []string{"decryption", "postBuild"} {
			if val, ok := spec[field]; ok {
				_ = unstructured.SetNestedField(obj.Object, val, "spec", field)
			}
		}
	case []any:
		for _, op := range v {
			o, _ := op.(map[string]any)
			kind, _ := o["op"].(string)
			p, _ := o["path"].(string)
			if kind != "add" && kind != "replace" {
				continue
			}
			for _, field := range []string{"decryption", "postBuild"} {
				if p == "/spec/"+field {
					_ = unstructured.SetNestedField(obj.Object, o["value"], "spec", field)
				}
			}
		}
	}
}
