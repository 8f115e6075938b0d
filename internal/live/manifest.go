package live

import (
	"bytes"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/yaml"

	"github.com/gen-gitops/gen/internal/repo"
)

// maxManifestSize bounds what ReadManifest accepts.
const maxManifestSize = 16 << 20

// ReadManifest reads the objects of a manifest file: the YAML a user
// applied, or what `kubectl get -o yaml` (or -o json) printed, whose
// `kind: List` (or any *List kind with items) is unpacked. name is used in
// messages. A document that is not a Kubernetes object is an error that
// says which document.
func ReadManifest(name string, data []byte) ([]*unstructured.Unstructured, error) {
	if len(data) > maxManifestSize {
		return nil, fmt.Errorf("reading %q: %d bytes is more than the %d a manifest may have", name, len(data), maxManifestSize)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("reading %q: the file is empty", name)
	}
	var out []*unstructured.Unstructured
	docs := repo.SplitDocuments(data)
	if trimmed := bytes.TrimSpace(data); len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') {
		docs = [][]byte{data}
	}
	for i, doc := range docs {
		objs, err := decodeDocument(doc)
		if err != nil {
			if len(docs) == 1 {
				return nil, fmt.Errorf("reading %q: %w", name, err)
			}
			return nil, fmt.Errorf("reading %q, document %d: %w", name, i+1, err)
		}
		out = append(out, objs...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("reading %q: no Kubernetes objects in it", name)
	}
	return out, nil
}

func decodeDocument(doc []byte) ([]*unstructured.Unstructured, error) {
	js, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return nil, fmt.Errorf("not YAML: %w", err)
	}
	js = bytes.TrimSpace(js)
	if len(js) == 0 || string(js) == "null" {
		return nil, nil
	}
	if js[0] != '{' {
		return nil, fmt.Errorf("not a Kubernetes object: the document is not a mapping")
	}
	var m map[string]any
	if err := utiljson.Unmarshal(js, &m); err != nil {
		return nil, fmt.Errorf("not a Kubernetes object: %w", err)
	}
	return expand(m, "")
}

// expand turns a List into its items, recursively, and checks every object
// has an apiVersion, a kind and a name.
func expand(m map[string]any, within string) ([]*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{Object: m}
	kind, apiVersion := u.GetKind(), u.GetAPIVersion()
	if items, ok := m["items"].([]any); ok && (kind == "List" || strings.HasSuffix(kind, "List")) {
		var out []*unstructured.Unstructured
		for i, it := range items {
			im, ok := it.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%s item %d is not an object", kind, i+1)
			}
			// kubectl prints typed lists (DeploymentList) with items that
			// carry no apiVersion/kind of their own.
			if _, ok := im["kind"]; !ok && kind != "List" {
				im["kind"] = strings.TrimSuffix(kind, "List")
				im["apiVersion"] = apiVersion
			}
			objs, err := expand(im, fmt.Sprintf("%s item %d: ", kind, i+1))
			if err != nil {
				return nil, err
			}
			out = append(out, objs...)
		}
		return out, nil
	}
	switch {
	case apiVersion == "" && kind == "":
		return nil, fmt.Errorf("%snot a Kubernetes object: no apiVersion and kind", within)
	case apiVersion == "":
		return nil, fmt.Errorf("%s%s has no apiVersion", within, kind)
	case kind == "":
		return nil, fmt.Errorf("%sobject of %s has no kind", within, apiVersion)
	case u.GetName() == "":
		return nil, fmt.Errorf("%s%s has no metadata.name", within, kind)
	}
	return []*unstructured.Unstructured{u}, nil
}
