package livetest

import (
	"encoding/json"
	"fmt"
	"path"
	"reflect"
	"sort"
	"strings"

	"github.com/distribution/reference"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/gen-gitops/gen/generator"
	"github.com/gen-gitops/gen/generator/promote"
	"github.com/gen-gitops/gen/internal/flux"
)

// RenderPromoted builds the Flux app a promotion wrote the way Flux does
// (kustomize build, post-build substitution with vars) over the
// repository's files plus the changeset, and returns the objects of the
// app's Kustomization with every app-template HelmRelease replaced by
// what the chart renders from its values (RenderAppTemplate) and its
// OCIRepository dropped: what would run in the cluster.
func RenderPromoted(files map[string][]byte, roots []string, cs *generator.Changeset, appPath string, vars map[string]string) ([]*unstructured.Unstructured, error) {
	out, _, err := renderPromoted(files, roots, cs, appPath, vars)
	return out, err
}

// RenderPromotedFlux builds the promotion like RenderPromoted and returns
// the Flux objects it declares, as Flux would apply them: the
// Kustomization whose spec.path is appPath (from the parent's build) and
// the Flux objects of the app's own build (HelmRelease, OCIRepository,
// ...), for the API server to check against the Flux CRDs.
func RenderPromotedFlux(files map[string][]byte, roots []string, cs *generator.Changeset, appPath string, vars map[string]string) ([]*unstructured.Unstructured, error) {
	_, fl, err := renderPromoted(files, roots, cs, appPath, vars)
	return fl, err
}

// IsFlux reports whether o is of a Flux API group (*.toolkit.fluxcd.io).
func IsFlux(o *unstructured.Unstructured) bool {
	return strings.HasSuffix(o.GroupVersionKind().Group, ".toolkit.fluxcd.io")
}

func renderPromoted(files map[string][]byte, roots []string, cs *generator.Changeset, appPath string, vars map[string]string) ([]*unstructured.Unstructured, []*unstructured.Unstructured, error) {
	all := flux.Files{}
	for p, d := range files {
		all[p] = d
	}
	var changed []string
	for _, f := range cs.Files {
		all[f.Path] = f.Content
		changed = append(changed, f.Path)
	}
	rendered, _, err := flux.RenderChanged(all, roots, changed, flux.RenderOptions{Vars: vars})
	if err != nil {
		return nil, nil, fmt.Errorf("building the promoted app with Flux's rules: %w", err)
	}
	var out, fl []*unstructured.Unstructured
	found := false
	for _, r := range rendered {
		if r.Kustomization.Path != appPath {
			for _, o := range r.Objects {
				u := o.Unstructured
				if u.GetKind() == "Kustomization" && IsFlux(u) {
					if p, _, _ := unstructured.NestedString(u.Object, "spec", "path"); path.Clean(p) == appPath {
						fl = append(fl, u.DeepCopy())
					}
				}
			}
			continue
		}
		found = true
		for _, f := range r.Findings {
			if f.Severity == flux.SeverityError {
				return nil, nil, fmt.Errorf("building %s: %s", appPath, f.Message)
			}
		}
		for _, o := range r.Objects {
			u := o.Unstructured
			if IsFlux(u) {
				fl = append(fl, u.DeepCopy())
			}
			switch u.GetKind() {
			case "OCIRepository":
				continue
			case "HelmRelease":
				values, _, _ := unstructured.NestedMap(u.Object, "spec", "values")
				objs, err := RenderAppTemplate(u.GetName(), values)
				if err != nil {
					return nil, nil, fmt.Errorf("rendering HelmRelease %s: %w", u.GetName(), err)
				}
				for _, x := range objs {
					x.SetNamespace(u.GetNamespace())
				}
				out = append(out, objs...)
				continue
			}
			out = append(out, u.DeepCopy())
		}
	}
	if !found {
		return nil, nil, fmt.Errorf("no Flux Kustomization builds %s", appPath)
	}
	return out, fl, nil
}

// ComparePodTemplates compares the workload a scratch Deployment ran with
// the promoted one, field by field after both are cleaned: replicas,
// strategy and the pod template. Labels and selectors are left out (the
// chart sets its own), and so are the differences app-template makes on
// purpose and promote reports: enableServiceLinks (off in the chart) and
// revisionHistoryLimit. Orders with no meaning are normalised: env by
// name unless a value refers to another variable, volumes by name, mounts
// by path. An image without a tag equals the same image at :latest.
// It returns one line per difference.
func ComparePodTemplates(scratch, promoted *unstructured.Unstructured) []string {
	a, _ := promote.Clean(scratch)
	b, _ := promote.Clean(promoted)
	na, nb := normalWorkload(a.Object), normalWorkload(b.Object)
	var diffs []string
	diff("", na, nb, &diffs)
	return diffs
}

func normalWorkload(obj map[string]any) map[string]any {
	spec, _ := obj["spec"].(map[string]any)
	out := map[string]any{}
	if v, ok := spec["replicas"]; ok {
		out["replicas"] = v
	}
	if v, ok := spec["strategy"]; ok {
		out["strategy"] = v
	}
	tmpl, _ := spec["template"].(map[string]any)
	if md, ok := tmpl["metadata"].(map[string]any); ok {
		if a, ok := md["annotations"]; ok {
			out["podAnnotations"] = a
		}
	}
	ps, _ := tmpl["spec"].(map[string]any)
	ps = deepCopy(ps)
	delete(ps, "enableServiceLinks")
	if ps["automountServiceAccountToken"] == true {
		delete(ps, "automountServiceAccountToken")
	}
	for _, field := range []string{"initContainers", "containers"} {
		list, _ := ps[field].([]any)
		for _, c := range list {
			cm := c.(map[string]any)
			if img, ok := cm["image"].(string); ok {
				cm["image"] = normalImage(img)
			}
			if env, ok := cm["env"].([]any); ok {
				ordered := false
				for _, e := range env {
					if v, _ := e.(map[string]any)["value"].(string); strings.Contains(v, "$(") {
						ordered = true
					}
				}
				if !ordered {
					sortBy(env, "name")
				}
			}
			if mounts, ok := cm["volumeMounts"].([]any); ok {
				sortBy(mounts, "mountPath")
			}
			if ports, ok := cm["ports"].([]any); ok {
				sortBy(ports, "containerPort")
			}
		}
	}
	if vols, ok := ps["volumes"].([]any); ok {
		sortBy(vols, "name")
	}
	out["pod"] = ps
	return out
}

func normalImage(img string) string {
	named, err := reference.ParseNormalizedNamed(img)
	if err != nil {
		return img
	}
	return reference.TagNameOnly(named).String()
}

func sortBy(list []any, key string) {
	sort.SliceStable(list, func(i, j int) bool {
		a, _ := list[i].(map[string]any)
		b, _ := list[j].(map[string]any)
		return fmt.Sprint(a[key]) < fmt.Sprint(b[key])
	})
}

func deepCopy(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	js, _ := json.Marshal(m)
	var out map[string]any
	_ = json.Unmarshal(js, &out)
	return out
}

// diff appends a line for every path where a and b differ.
func diff(path string, a, b any, out *[]string) {
	a, b = jsonish(a), jsonish(b)
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok {
			break
		}
		keys := map[string]bool{}
		for k := range x {
			keys[k] = true
		}
		for k := range y {
			keys[k] = true
		}
		var ks []string
		for k := range keys {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		for _, k := range ks {
			diff(path+"."+k, x[k], y[k], out)
		}
		return
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			break
		}
		for i := range x {
			diff(fmt.Sprintf("%s[%d]", path, i), x[i], y[i], out)
		}
		return
	}
	if !reflect.DeepEqual(a, b) {
		*out = append(*out, fmt.Sprintf("%s: scratch %s, promoted %s", strings.TrimPrefix(path, "."), show(a), show(b)))
	}
}

// jsonish makes numbers comparable whatever their Go type.
func jsonish(v any) any {
	switch x := v.(type) {
	case int:
		return float64(x)
	case int64:
		return float64(x)
	case int32:
		return float64(x)
	}
	return v
}

func show(v any) string {
	if v == nil {
		return "(none)"
	}
	js, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(js)
}
