package check

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	k8sschema "k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/gen-gitops/gen/internal/schema"
)

// crdSchema is the OpenAPI schema of one version of a CustomResource
// Definition the repository renders, and where it came from.
type crdSchema struct {
	schema map[string]any
	file   string
}

// customResources decodes objects of kinds whose CustomResourceDefinition
// the repository itself holds against that definition's schema, the way
// the API server's structural schema treats them: a field the schema does
// not declare (unless it keeps unknown fields) and a value of the wrong
// type are errors. Kinds gen has Go types for are decoded by those.
func (c *checker) customResources() {
	crds := map[k8sschema.GroupVersionKind]crdSchema{}
	for _, ro := range c.objects {
		u := ro.o.Unstructured
		if u.GetKind() != "CustomResourceDefinition" || u.GetAPIVersion() != "apiextensions.k8s.io/v1" {
			continue
		}
		group, _, _ := unstructured.NestedString(u.Object, "spec", "group")
		kind, _, _ := unstructured.NestedString(u.Object, "spec", "names", "kind")
		versions, _, _ := unstructured.NestedSlice(u.Object, "spec", "versions")
		for _, v := range versions {
			m, _ := v.(map[string]any)
			name, _ := m["name"].(string)
			s, _, _ := unstructured.NestedMap(m, "schema", "openAPIV3Schema")
			if name != "" && s != nil {
				crds[k8sschema.GroupVersionKind{Group: group, Version: name, Kind: kind}] = crdSchema{schema: s, file: ro.o.Origin}
			}
		}
	}
	if len(crds) == 0 {
		return
	}
	for _, ro := range c.objects {
		u := ro.o.Unstructured
		gvk := u.GroupVersionKind()
		crd, ok := crds[gvk]
		if !ok || schema.Known(gvk) || ro.o.Encrypted {
			continue
		}
		var problems []fieldProblem
		props, _ := crd.schema["properties"].(map[string]any)
		for k, v := range u.Object {
			switch k {
			case "apiVersion", "kind", "metadata":
				continue
			}
			if s, ok := props[k].(map[string]any); ok {
				validate(v, s, k, &problems)
			} else if !keepsUnknown(crd.schema) {
				problems = append(problems, fieldProblem{k, "unknown field"})
			}
		}
		sort.Slice(problems, func(i, j int) bool { return problems[i].path < problems[j].path })
		for _, p := range problems {
			f := newFinding(RuleSchema, ro.o.Origin, c.lines.fieldLine(ro.o.Origin, u.GetKind(), u.GetName(), p.path),
				"%s %s (CustomResourceDefinition in %s): %s: %s", u.GetAPIVersion(), u.GetKind(), crd.file, p.path, p.problem)
			f.Object, f.Kustomization = ro.o.ID(), ro.ks.ID().String()
			c.add(f)
		}
	}
}

type fieldProblem struct {
	path, problem string
}

// keepsUnknown reports whether a schema node accepts fields it does not
// declare.
func keepsUnknown(s map[string]any) bool {
	if b, _ := s["x-kubernetes-preserve-unknown-fields"].(bool); b {
		return true
	}
	switch a := s["additionalProperties"].(type) {
	case bool:
		return a
	case map[string]any:
		return true
	}
	return false
}

// validate checks value v against schema node s at path.
func validate(v any, s map[string]any, path string, out *[]fieldProblem) {
	if v == nil {
		return
	}
	// Combinations and int-or-string are checked no further.
	for _, k := range []string{"anyOf", "oneOf", "allOf", "not"} {
		if _, ok := s[k]; ok {
			return
		}
	}
	if b, _ := s["x-kubernetes-int-or-string"].(bool); b {
		switch v.(type) {
		case string, int64, float64:
		default:
			*out = append(*out, fieldProblem{path, fmt.Sprintf("wrong type: got %s, want an integer or a string", jsonType(v))})
		}
		return
	}
	typ, _ := s["type"].(string)
	switch typ {
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			*out = append(*out, fieldProblem{path, fmt.Sprintf("wrong type: got %s, want object", jsonType(v))})
			return
		}
		props, _ := s["properties"].(map[string]any)
		extra, _ := s["additionalProperties"].(map[string]any)
		for k, e := range m {
			p := path + "." + k
			if ps, ok := props[k].(map[string]any); ok {
				validate(e, ps, p, out)
				continue
			}
			if extra != nil {
				validate(e, extra, p, out)
				continue
			}
			if !keepsUnknown(s) && props != nil {
				*out = append(*out, fieldProblem{p, "unknown field"})
			}
		}
	case "array":
		l, ok := v.([]any)
		if !ok {
			*out = append(*out, fieldProblem{path, fmt.Sprintf("wrong type: got %s, want array", jsonType(v))})
			return
		}
		if items, ok := s["items"].(map[string]any); ok {
			for i, e := range l {
				validate(e, items, path+"["+strconv.Itoa(i)+"]", out)
			}
		}
	case "string", "integer", "number", "boolean":
		got := jsonType(v)
		if s, isString := v.(string); isString && typ != "string" && strings.HasPrefix(s, "var-") {
			return // a placeholder for a variable whose value is unknown
		}
		if got != typ && !(typ == "number" && got == "integer") {
			*out = append(*out, fieldProblem{path, fmt.Sprintf("wrong type: got %s, want %s", got, typ)})
		}
	}
}

func jsonType(v any) string {
	switch v := v.(type) {
	case string:
		return "string"
	case bool:
		return "boolean"
	case int64, int:
		return "integer"
	case float64:
		if v == float64(int64(v)) {
			return "integer"
		}
		return "number"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	}
	return fmt.Sprintf("%T", v)
}
