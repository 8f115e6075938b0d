package repo_test

import (
	"reflect"
	"testing"

	"github.com/gen-gitops/gen/internal/repo"
	"github.com/gen-gitops/gen/internal/testutil"
)

// TestModel: the model generators read holds what discovery found, and
// its objects are the repository's documents, decoded on demand.
func TestModel(t *testing.T) {
	r, err := repo.Load(testutil.ExampleRepo(t), repo.LoadOptions{Domains: map[string]string{"SECRET_DOMAIN_TWO": "example.org"}})
	if err != nil {
		t.Fatal(err)
	}
	m := r.Model()
	if m.AppsDir != r.AppsDir || m.ClusterSecretsFile != r.ClusterSecretsFile || m.SopsComponent != r.SopsComponent ||
		!reflect.DeepEqual(m.RootKustomizations, r.RootKustomizations) || !reflect.DeepEqual(m.SecretVars, r.SecretVars) {
		t.Errorf("layout differs: %+v", m)
	}
	if reflect.ValueOf(m.Files).Pointer() != reflect.ValueOf(r.Files).Pointer() {
		t.Error("the model copies the snapshot instead of sharing it")
	}
	if len(m.Namespaces) != len(r.Namespaces) || len(m.Namespaces) == 0 {
		t.Fatalf("%d namespaces, want %d", len(m.Namespaces), len(r.Namespaces))
	}
	for name, ns := range r.Namespaces {
		got := m.Namespaces[name]
		if got == nil || got.Dir != ns.Dir || got.Kustomization != ns.Kustomization || len(got.Apps) != len(ns.Apps) {
			t.Fatalf("namespace %s: %+v, want %+v", name, got, ns)
		}
		for n, a := range ns.Apps {
			ga := got.Apps[n]
			if ga == nil || ga.Dir != a.Dir || ga.KS != a.KS || ga.Registered != a.Registered || !reflect.DeepEqual(ga.Kustomizations, a.Kustomizations) {
				t.Errorf("app %s/%s: %+v, want %+v", name, n, ga, a)
			}
		}
	}
	if len(m.Domains) != len(r.Domains) {
		t.Fatalf("domains %+v, want %+v", m.Domains, r.Domains)
	}
	for i, d := range r.Domains {
		if g := m.Domains[i]; g.Var != d.Var || g.Value != d.Value || g.Primary != d.Primary {
			t.Errorf("domain %d: %+v, want %+v", i, g, d)
		}
	}
	if d, ok := m.DomainByVar("SECRET_DOMAIN_TWO"); !ok || d.Value != "example.org" {
		t.Errorf("SECRET_DOMAIN_TWO: %+v", d)
	}
	if len(m.Gateways) != len(r.Gateways) || len(m.Gateways) == 0 {
		t.Fatalf("gateways %+v, want %+v", m.Gateways, r.Gateways)
	}
	for i, g := range r.Gateways {
		got := m.Gateways[i]
		if got.Name != g.Name || got.Namespace != g.Namespace || got.File != g.File || got.Target != g.Target || len(got.Listeners) != len(g.Listeners) {
			t.Errorf("gateway %d: %+v, want %+v", i, got, g)
		}
		for j, l := range g.Listeners {
			if gl := got.Listeners[j]; gl.Name != l.Name || gl.Protocol != l.Protocol || gl.Port != l.Port {
				t.Errorf("gateway %s listener %d: %+v, want %+v", g.Name, j, gl, l)
			}
		}
	}
	objs := r.Objects()
	if len(m.Objects) != len(objs) {
		t.Fatalf("%d objects, want %d", len(m.Objects), len(objs))
	}
	for i, o := range objs {
		g := m.Objects[i]
		if g.File != o.File || g.APIVersion != o.APIVersion || g.Kind != o.Kind || g.Name != o.Name {
			t.Fatalf("object %d: %s %s/%s in %s, want %s %s/%s in %s", i, g.APIVersion, g.Kind, g.Name, g.File, o.APIVersion, o.Kind, o.Name, o.File)
		}
		if !reflect.DeepEqual(g.Map(), o.Map()) || g.IsFluxKustomization() != o.IsFluxKustomization() {
			t.Fatalf("object %d (%s %s) decodes differently", i, o.Kind, o.Name)
		}
	}
	var nilRepo *repo.Repo
	if nilRepo.Model() != nil {
		t.Error("a nil repository has a model")
	}
}
