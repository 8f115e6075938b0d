package repo_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/gen-gitops/gen/internal/repo"
	"github.com/gen-gitops/gen/internal/testutil"
)

func TestLoadExample(t *testing.T) {
	r, err := repo.Load(testutil.ExampleRepo(t), repo.LoadOptions{Domains: map[string]string{"SECRET_DOMAIN_TWO": "Example.ORG."}})
	if err != nil {
		t.Fatal(err)
	}
	if r.AppsDir != "kubernetes/apps" {
		t.Errorf("AppsDir = %q", r.AppsDir)
	}
	if !reflect.DeepEqual(r.RootKustomizations, []string{"kubernetes/flux/cluster/ks.yaml"}) {
		t.Errorf("roots = %v", r.RootKustomizations)
	}
	if r.SopsComponent != "kubernetes/components/sops" || r.ClusterSecretsFile != "kubernetes/components/sops/cluster-secrets.sops.yaml" {
		t.Errorf("sops component %q, cluster secrets %q", r.SopsComponent, r.ClusterSecretsFile)
	}
	if want := []string{"CLUSTER_NAME", "SECRET_DOMAIN", "SECRET_DOMAIN_TWO", "TIMEZONE"}; !reflect.DeepEqual(r.SecretVars, want) {
		t.Errorf("vars = %v", r.SecretVars)
	}
	want := []repo.Domain{{Var: "SECRET_DOMAIN", Primary: true}, {Var: "SECRET_DOMAIN_TWO", Value: "example.org"}}
	if !reflect.DeepEqual(r.Domains, want) {
		t.Errorf("domains = %+v", r.Domains)
	}
	if got := r.NamespaceNames(); !reflect.DeepEqual(got, []string{"cert-manager", "default", "network"}) {
		t.Errorf("namespaces = %v", got)
	}
	modes := map[string]repo.AppMode{}
	for _, ns := range r.Namespaces {
		for _, a := range ns.Apps {
			if !a.Registered {
				t.Errorf("%s/%s not registered", a.Namespace, a.Name)
			}
			modes[a.Namespace+"/"+a.Name] = a.Mode
		}
	}
	wantModes := map[string]repo.AppMode{
		"default/echo": repo.ModeHelmOCI, "default/whoami": repo.ModeRaw,
		"network/cloudflare-dns": repo.ModeHelmRepo, "network/envoy-gateway": repo.ModeHelmOCI,
		"network/cloudflare-tunnel": repo.ModeHelmOCI, "cert-manager/cert-manager": repo.ModeHelmOCI,
	}
	if !reflect.DeepEqual(modes, wantModes) {
		t.Errorf("modes = %v", modes)
	}
	if len(r.Gateways) != 2 {
		t.Fatalf("gateways = %+v", r.Gateways)
	}
	for _, g := range r.Gateways {
		if g.Namespace != "network" || !g.HasListener("https") || !g.HasListener("http") {
			t.Errorf("gateway %+v", g)
		}
	}
	if g, _ := r.Gateway("envoy-external"); g.Target != "external.${SECRET_DOMAIN}" {
		t.Errorf("external target = %q", g.Target)
	}
}

func TestLoadAnton(t *testing.T) {
	r, err := repo.Load(testutil.AntonCorpus(t), repo.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Namespaces) != 18 {
		t.Errorf("namespaces = %d, want 18", len(r.Namespaces))
	}
	apps := 0
	for _, ns := range r.Namespaces {
		for _, a := range ns.Apps {
			apps++
			if !a.Registered || a.KS == "" {
				t.Errorf("%s/%s: registered %v, ks %q", a.Namespace, a.Name, a.Registered, a.KS)
			}
		}
	}
	if apps != 53 {
		t.Errorf("apps = %d, want 53", apps)
	}
	var vars []string
	for _, d := range r.Domains {
		vars = append(vars, d.Var)
	}
	if want := []string{"SECRET_DOMAIN", "SECRET_DOMAIN_TWO", "SECRET_DOMAIN_THREE"}; !reflect.DeepEqual(vars, want) {
		t.Errorf("domain vars = %v", vars)
	}
	if a, ok := r.App("default", "echo"); !ok || a.Mode != repo.ModeHelmOCI {
		t.Errorf("echo = %+v", a)
	}
	if a, ok := r.App("default", "homepage"); !ok || a.Mode != repo.ModeRaw {
		t.Errorf("homepage = %+v", a)
	}
}

func TestUnknownShape(t *testing.T) {
	_, err := repo.FromFiles(map[string][]byte{"README.md": []byte("hi")}, repo.LoadOptions{})
	if err == nil || !strings.Contains(err.Error(), "appsDir") {
		t.Fatalf("got %v", err)
	}
}

func TestGenYAML(t *testing.T) {
	files := map[string][]byte{
		".gen.yaml": []byte("appsDir: clusters/main/apps\ndomains:\n  SECRET_DOMAIN: home.example\n"),
		"clusters/main/apps/web/kustomization.yaml":  []byte("namespace: web\nresources:\n  - ./site/ks.yaml\n"),
		"clusters/main/apps/web/site/ks.yaml":        []byte("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: site\n"),
		"clusters/main/apps/web/site/app/deploy.yml": []byte("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: site\n"),
	}
	r, err := repo.FromFiles(files, repo.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if a, ok := r.App("web", "site"); !ok || a.Mode != repo.ModeRaw {
		t.Fatalf("site = %+v", a)
	}
	if d, ok := r.PrimaryDomain(); !ok || d.Value != "home.example" {
		t.Fatalf("primary = %+v", d)
	}
	files[".gen.yaml"] = []byte("appDir: x\n")
	if _, err := repo.FromFiles(files, repo.LoadOptions{}); err == nil || !strings.Contains(err.Error(), "known keys") {
		t.Fatalf("misspelt key: %v", err)
	}
}

func TestSplitAndScan(t *testing.T) {
	data := []byte("# c\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels:\n    name: nope\n  name: &n \"real\"\n--- # two\napiVersion: v1\nkind: Secret\nmetadata: {name: flow}\n---\n# only a comment\n")
	docs := repo.SplitDocuments(data)
	if len(docs) != 2 {
		t.Fatalf("docs = %d", len(docs))
	}
	r, err := repo.FromFiles(map[string][]byte{
		"kubernetes/apps/a/kustomization.yaml": []byte("resources:\n  - ./x/ks.yaml\n"),
		"kubernetes/flux/ks.yaml":              []byte("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: root\nspec:\n  path: ./kubernetes/apps\n"),
		"kubernetes/apps/a/x/app/c.yaml":       data,
	}, repo.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range r.ObjectsIn("kubernetes/apps/a/x") {
		names = append(names, o.Kind+"/"+o.Name)
	}
	if !reflect.DeepEqual(names, []string{"ConfigMap/real", "Secret/flow"}) {
		t.Fatalf("objects = %v", names)
	}
}

// TestSyncFolderRoot: a folder a Flux Operator installation syncs becomes
// the root when it holds more than the root Kustomizations (the operator's
// flux-system Kustomization applies all of it); when it holds only them,
// the root file stays the root.
func TestSyncFolderRoot(t *testing.T) {
	base, err := repo.Load(testutil.ExampleRepo(t), repo.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	instance := "---\napiVersion: fluxcd.controlplane.io/v1\nkind: FluxInstance\nmetadata:\n  name: flux\n  namespace: flux-system\nspec:\n  sync:\n    kind: GitRepository\n    path: ./kubernetes/flux/cluster\n"
	release := "---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: flux-instance\n  namespace: flux-system\nspec:\n  values:\n    instance:\n      sync:\n        kind: GitRepository\n        path: kubernetes/flux/cluster\n"
	ociSync := "---\napiVersion: fluxcd.controlplane.io/v1\nkind: FluxInstance\nmetadata:\n  name: flux\n  namespace: flux-system\nspec:\n  sync:\n    kind: OCIRepository\n    path: kubernetes/flux/cluster\n"
	configMap := "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cluster-info\n  namespace: flux-system\ndata:\n  A: b\n"
	cases := []struct {
		name  string
		extra map[string]string
		want  string
	}{
		{"no installation", map[string]string{"kubernetes/flux/cluster/cluster-info.yaml": configMap}, "kubernetes/flux/cluster/ks.yaml"},
		{"FluxInstance, only the root in the folder", map[string]string{"bootstrap/instance.yaml": instance}, "kubernetes/flux/cluster/ks.yaml"},
		{"FluxInstance, more in the folder", map[string]string{"bootstrap/instance.yaml": instance, "kubernetes/flux/cluster/cluster-info.yaml": configMap}, "kubernetes/flux/cluster"},
		{"flux-instance chart", map[string]string{"bootstrap/release.yaml": release, "kubernetes/flux/cluster/cluster-info.yaml": configMap}, "kubernetes/flux/cluster"},
		{"synced from an OCI artifact", map[string]string{"bootstrap/instance.yaml": ociSync, "kubernetes/flux/cluster/cluster-info.yaml": configMap}, "kubernetes/flux/cluster/ks.yaml"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string][]byte{}
			for p, d := range base.Files {
				files[p] = d
			}
			for p, d := range tc.extra {
				files[p] = []byte(d)
			}
			r, err := repo.FromFiles(files, repo.LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(r.RootKustomizations) != 1 || r.RootKustomizations[0] != tc.want {
				t.Errorf("roots %v, want [%s]", r.RootKustomizations, tc.want)
			}
		})
	}
}
