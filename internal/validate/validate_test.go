package validate_test

import (
	"strings"
	"testing"

	"github.com/gen-gitops/gen/generator"
	"github.com/gen-gitops/gen/generator/apps"
	"github.com/gen-gitops/gen/internal/repo"
	"github.com/gen-gitops/gen/internal/testutil"
	"github.com/gen-gitops/gen/internal/validate"
)

func load(t *testing.T, dir string) *repo.Repo {
	t.Helper()
	r, err := repo.Load(dir, repo.LoadOptions{Domains: map[string]string{"SECRET_DOMAIN": "example.com", "SECRET_DOMAIN_TWO": "example.org"}})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestGeneratedAppsValidate(t *testing.T) {
	for _, dir := range []string{testutil.ExampleRepo(t), testutil.AntonCorpus(t)} {
		r := load(t, dir)
		for _, opts := range []apps.AddOptions{
			{Namespace: "default", Name: "hello", Mode: apps.ModeAppTemplate, Image: "nginx:1.27", Hosts: []string{"hello"}},
			{Namespace: "brand-new", Name: "web", Mode: apps.ModeRaw, Image: "nginx:1.27", Port: 8080, Hosts: []string{"web"}},
			{Namespace: "default", Name: "chart", Mode: apps.ModeChart, Chart: "oci://ghcr.io/x/charts/y", ChartVersion: "1.0.0"},
		} {
			cs, err := apps.Add(r.Model(), opts)
			if err != nil {
				t.Fatal(err)
			}
			if err := validate.Changeset(r, cs); err != nil {
				t.Errorf("%s: %s/%s: %v", dir, opts.Namespace, opts.Name, err)
			}
		}
	}
}

func TestValidationCatches(t *testing.T) {
	r := load(t, testutil.ExampleRepo(t))
	base := func() *generator.Changeset {
		cs, err := apps.Add(r.Model(), apps.AddOptions{Namespace: "default", Name: "hello", Mode: apps.ModeRaw, Image: "nginx:1.27", Hosts: []string{"hello"}})
		if err != nil {
			t.Fatal(err)
		}
		return cs
	}
	replace := func(cs *generator.Changeset, suffix string, edit func(string) string) {
		for i, f := range cs.Files {
			if strings.HasSuffix(f.Path, suffix) {
				cs.Files[i].Content = []byte(edit(string(f.Content)))
				return
			}
		}
		t.Fatalf("no %s in the changeset", suffix)
	}
	cases := []struct {
		name    string
		mutate  func(cs *generator.Changeset)
		wantErr string
	}{
		{"unknown field in an HTTPRoute", func(cs *generator.Changeset) {
			replace(cs, "app/httproute.yaml", func(s string) string { return strings.Replace(s, "  hostnames:", "  hostname:", 1) })
		}, "hostname"},
		{"wrong type in a Deployment", func(cs *generator.Changeset) {
			replace(cs, "app/deployment.yaml", func(s string) string { return strings.Replace(s, "replicas: 1", "replicas: one", 1) })
		}, "replicas"},
		{"file not listed but referenced", func(cs *generator.Changeset) {
			replace(cs, "app/kustomization.yaml", func(s string) string { return s + "  - ./missing.yaml\n" })
		}, "missing.yaml"},
		{"not registered", func(cs *generator.Changeset) {
			kept := cs.Files[:0]
			for _, f := range cs.Files {
				if f.Path != "kubernetes/apps/default/kustomization.yaml" {
					kept = append(kept, f)
				}
			}
			cs.Files = kept
		}, "not reachable from the root"},
		{"undefined variable", func(cs *generator.Changeset) {
			replace(cs, "app/httproute.yaml", func(s string) string { return strings.Replace(s, "${SECRET_DOMAIN}", "${SECRET_DOMAIN_NINE}", 1) })
		}, "SECRET_DOMAIN_NINE"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cs := base()
			tc.mutate(cs)
			err := validate.Changeset(r, cs)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("got %v, want an error mentioning %q", err, tc.wantErr)
			}
		})
	}
}
