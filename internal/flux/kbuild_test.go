package flux

import (
	"strings"
	"sync"
	"testing"
)

// replaceContainers is an OpenAPI schema under which a strategic merge
// patch replaces a Deployment's containers instead of merging them by name.
const replaceContainers = `{"definitions": {"io.k8s.api.apps.v1.Deployment": {
  "type": "object",
  "x-kubernetes-group-version-kind": [{"group": "apps", "kind": "Deployment", "version": "v1"}],
  "properties": {"spec": {"type": "object", "properties": {"template": {"type": "object", "properties": {
    "spec": {"type": "object", "properties": {"containers": {"type": "array", "items": {"type": "object"}}}}}}}}}}}}`

// TestSchemaOfOneBuildDoesNotLeak renders, many times and all at once, a
// Kustomization whose kustomization sets its own OpenAPI schema (under
// which its patch replaces the containers) beside ones whose patch merges
// them by name under the built-in schema. Every render of
// the latter must merge; under -race (as make test runs it), none may read
// the schema while another build swaps it or loads it again.
func TestSchemaOfOneBuildDoesNotLeak(t *testing.T) {
	ks := func(name string) string {
		return "---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: " + name +
			"\n  namespace: flux-system\nspec:\n  interval: 1h\n  path: ./kubernetes/apps/default/" + name +
			"/app\n  prune: true\n  sourceRef: {kind: GitRepository, name: flux-system, namespace: flux-system}\n  targetNamespace: default\n"
	}
	deployment := "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers:\n        - name: app\n          image: nginx:1\n        - name: sidecar\n          image: busybox:1\n"
	patch := "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: nginx:2\n"
	files := repo(map[string]string{
		"kubernetes/apps/default/kustomization.yaml": "---\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: default\nresources:\n  - ./schema/ks.yaml\n  - ./merge/ks.yaml\n",
		"kubernetes/apps/default/schema/ks.yaml":     ks("schema"),
		"kubernetes/apps/default/schema/app/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nopenapi:\n  path: schema.json\n" +
			"resources:\n  - ./deployment.yaml\npatches:\n  - path: patch.yaml\n",
		"kubernetes/apps/default/schema/app/schema.json":     replaceContainers,
		"kubernetes/apps/default/schema/app/deployment.yaml": deployment,
		"kubernetes/apps/default/schema/app/patch.yaml":      patch,
		"kubernetes/apps/default/merge/ks.yaml":              ks("merge"),
		"kubernetes/apps/default/merge/app/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n" +
			"resources:\n  - ./deployment.yaml\npatches:\n  - path: patch.yaml\n",
		"kubernetes/apps/default/merge/app/deployment.yaml": deployment,
		"kubernetes/apps/default/merge/app/patch.yaml":      patch,
	})
	all := discover(t, files)
	schema, merge := find(t, all, "default", "schema"), find(t, all, "default", "merge")
	containers := func(r *Rendered) string {
		return string(r.Objects[0].YAML())
	}
	var wg sync.WaitGroup
	out := make([]string, 24)
	errs := make([]error, len(out))
	for i := range out {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ks := merge
			if i%3 == 0 {
				ks = schema
			}
			// A changed snapshot: no build of Discover's is reused.
			f := Files{}
			for p, c := range files {
				f[p] = c
			}
			f["kubernetes/apps/default/touch.yaml"] = []byte(strings.Repeat("#", i))
			r, err := Render(f, ks, RenderOptions{})
			if err != nil {
				errs[i] = err
				return
			}
			out[i] = containers(r)
		}()
	}
	wg.Wait()
	for i, o := range out {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		merged := strings.Contains(o, "sidecar") && strings.Contains(o, "nginx:2")
		if i%3 == 0 && merged {
			t.Errorf("render %d of schema: its schema replaces the containers, yet they were merged:\n%s", i, o)
		}
		if i%3 != 0 && !merged {
			t.Errorf("render %d of merge: containers not merged by name:\n%s", i, o)
		}
	}
}
