package flux

import (
	"slices"
	"strings"
	"testing"
)

// TestRenderChangedMatchesWholeBuild shows that narrowing the root build to
// the namespace folders holding a change gives, for those folders, exactly
// the objects of the whole build, and that only touched children render.
func TestRenderChangedMatchesWholeBuild(t *testing.T) {
	files := antonFiles(t)
	changed := []string{"kubernetes/apps/default/kustomization.yaml", "kubernetes/apps/default/echo/app/helmrelease.yaml"}
	rendered, all, err := RenderChanged(files, nil, changed, RenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rendered) != 2 {
		var names []string
		for _, r := range rendered {
			names = append(names, r.Kustomization.ID().String())
		}
		t.Fatalf("rendered %v, want the root and echo", names)
	}
	if rendered[1].Kustomization.Name != "echo" {
		t.Fatalf("second render is %s", rendered[1].Kustomization.ID())
	}
	for _, ks := range all[1:] {
		if ks.Namespace != "default" {
			t.Fatalf("narrowed root build yielded %s", ks.ID())
		}
	}
	// The whole root build, restricted to the default folder's objects.
	roots, err := Discover(files, nil)
	if err != nil {
		t.Fatal(err)
	}
	whole, err := Render(files, roots[0], RenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, o := range whole.Objects {
		if strings.HasPrefix(o.Origin, "kubernetes/apps/default/") || o.Unstructured.GetNamespace() == "default" {
			want[o.ID()] = string(o.YAML())
		}
	}
	got := map[string]string{}
	for _, o := range rendered[0].Objects {
		got[o.ID()] = string(o.YAML())
	}
	if len(got) != len(want) || len(got) == 0 {
		t.Fatalf("narrowed build has %d objects, whole build %d for the folder", len(got), len(want))
	}
	for id, y := range want {
		if got[id] != y {
			t.Fatalf("%s differs:\n--- whole\n%s\n--- narrowed\n%s", id, y, got[id])
		}
	}
}

func TestRenderChangedOutsideAppsBuildsWhole(t *testing.T) {
	files := antonFiles(t)
	rendered, all, err := RenderChanged(files, nil, []string{"kubernetes/components/sops/cluster-secrets.sops.yaml"}, RenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rendered) != 1 {
		t.Fatalf("rendered %d, want the root only", len(rendered))
	}
	if len(all) < 50 {
		t.Fatalf("a change to a shared component must build the whole root; found %d Kustomizations", len(all))
	}
}

// TestRenderChangedNarrowsTheFolder: a change inside one app of a
// namespace folder renders only that app's entry of the folder, and its
// objects are those of the whole build.
func TestRenderChangedNarrowsTheFolder(t *testing.T) {
	files := antonFiles(t)
	changed := []string{"kubernetes/apps/default/echo/app/helmrelease.yaml"}
	rendered, all, err := RenderChanged(files, nil, changed, RenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var children []string
	for _, ks := range all[1:] {
		children = append(children, ks.ID().String())
	}
	if strings.Join(children, " ") != "default/echo" {
		t.Errorf("children %v, want only default/echo", children)
	}
	roots, err := Discover(files, nil)
	if err != nil {
		t.Fatal(err)
	}
	whole, err := Render(files, roots[0], RenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, o := range whole.Objects {
		want[o.ID()] = string(o.YAML())
	}
	n := 0
	for _, o := range rendered[0].Objects {
		if want[o.ID()] != string(o.YAML()) {
			t.Errorf("%s differs from the whole build:\n%s\nwant\n%s", o.ID(), o.YAML(), want[o.ID()])
		}
		n++
	}
	// The namespace, cluster-secrets and echo's Kustomization.
	if n != 3 {
		t.Errorf("%d objects rendered for the folder, want 3", n)
	}
	// A folder whose kustomization does more than list files is not cut.
	files["kubernetes/apps/default/kustomization.yaml"] = append(append([]byte(nil), files["kubernetes/apps/default/kustomization.yaml"]...), []byte("patches:\n  - patch: |-\n      apiVersion: v1\n      kind: Namespace\n      metadata:\n        name: x\n        labels: {a: b}\n    target: {kind: Namespace}\n")...)
	if _, all, err = RenderChanged(files, nil, changed, RenderOptions{}); err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 {
		t.Errorf("%d Kustomizations, want the root and both apps of default", len(all))
	}
}

// TestRenderChangedNarrowsAChildFolder: under the old template's root
// (./kubernetes/flux, whose kustomization Flux generates), the apps folder
// is a child Kustomization; a change in one namespace renders that
// namespace of it, not every namespace.
func TestRenderChangedNarrowsAChildFolder(t *testing.T) {
	ks := func(name, path string) string {
		return "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: " + name +
			"\n  namespace: flux-system\nspec:\n  interval: 1h\n  path: " + path + "\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n"
	}
	files := Files{
		"kubernetes/flux/config/cluster.yaml": []byte(ks("cluster", "./kubernetes/flux")),
		"kubernetes/flux/apps.yaml":           []byte(ks("apps", "./kubernetes/apps")),
	}
	for _, ns := range []string{"a", "b"} {
		files["kubernetes/apps/"+ns+"/kustomization.yaml"] = []byte("resources:\n  - ./web/ks.yaml\n")
		files["kubernetes/apps/"+ns+"/web/ks.yaml"] = []byte(ks("web-"+ns, "./kubernetes/apps/"+ns+"/web/app"))
		files["kubernetes/apps/"+ns+"/web/app/kustomization.yaml"] = []byte("resources:\n  - ./cm.yaml\n")
		files["kubernetes/apps/"+ns+"/web/app/cm.yaml"] = []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n  namespace: " + ns + "\n")
	}
	rendered, _, err := RenderChanged(files, []string{"kubernetes/flux/config/cluster.yaml"}, []string{"kubernetes/apps/a/web/app/cm.yaml"}, RenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var apps *Rendered
	var names []string
	for _, r := range rendered {
		names = append(names, r.Kustomization.ID().String())
		if r.Kustomization.Name == "apps" {
			apps = r
		}
	}
	if apps == nil || !slices.Equal(names, []string{"flux-system/cluster", "flux-system/apps", "flux-system/web-a"}) {
		t.Fatalf("rendered %v, want the root, apps and web-a", names)
	}
	var objs []string
	for _, o := range apps.Objects {
		objs = append(objs, o.ID())
	}
	if len(objs) != 1 || !strings.Contains(objs[0], "web-a") {
		t.Errorf("the apps folder rendered %v, want only namespace a's Kustomization", objs)
	}
}
