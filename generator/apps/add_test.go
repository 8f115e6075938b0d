package apps_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gen-gitops/gen/generator"
	"github.com/gen-gitops/gen/generator/apps"
	"github.com/gen-gitops/gen/generator/internal/gentest"
	"github.com/gen-gitops/gen/internal/repo"
	"github.com/gen-gitops/gen/internal/sops"
	"github.com/gen-gitops/gen/internal/testutil"
	"github.com/gen-gitops/gen/internal/validate"
)

func mustProbe(t *testing.T, s string) *apps.Probe {
	p, err := apps.ParseProbe(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAddAppGolden(t *testing.T) {
	values := []byte("adminUser: admin\npersistence:\n  enabled: true\n  size: 5Gi\n")
	cases := []struct {
		name string
		opts apps.AddOptions
	}{
		{"app-template-primary", apps.AddOptions{
			Namespace: "default", Name: "hello", Mode: apps.ModeAppTemplate,
			Image: "ghcr.io/traefik/whoami:v1.11.0", Port: 80, Hosts: []string{"hello"},
		}},
		{"app-template-full", apps.AddOptions{
			Namespace: "default", Name: "notes", Mode: apps.ModeAppTemplate,
			Image: "ghcr.io/example/notes:1.10", Port: 3000, Replicas: new(2), CPU: "50m", Memory: "256Mi",
			Env:     []generator.KV{{Key: "TZ", Value: "Etc/UTC"}, {Key: "LOG_LEVEL", Value: "info"}},
			Probe:   mustProbe(t, "/healthz"),
			Persist: []apps.Persist{{Name: "data", Size: "1Gi", Path: "/data"}},
			Hosts:   []string{"notes", "notes.example.org"},
		}},
		{"app-template-new-namespace-secondary", apps.AddOptions{
			Namespace: "media", Name: "jellyfin", Mode: apps.ModeAppTemplate,
			Image: "jellyfin/jellyfin:10.10.3", Port: 8096, Hosts: []string{"tv.example.org"}, Gateway: "external",
			Probe: mustProbe(t, "tcp"),
		}},
		{"app-template-internal-no-host", apps.AddOptions{
			Namespace: "default", Name: "worker", Mode: apps.ModeAppTemplate,
			Image: "docker.io/library/redis:7.4", Port: 6379,
		}},
		{"chart-oci", apps.AddOptions{
			Namespace: "monitoring", Name: "grafana", Mode: apps.ModeChart,
			Chart: "oci://ghcr.io/grafana/helm-charts/grafana", ChartVersion: "8.5.0", Values: values,
			Hosts: []string{"grafana"}, Port: 80, Gateway: "internal",
		}},
		{"chart-helm-repository", apps.AddOptions{
			Namespace: "default", Name: "podinfo", Mode: apps.ModeChart,
			Chart: "https://stefanprodan.github.io/podinfo#podinfo", ChartVersion: "6.7.1",
			DependsOn: []generator.Ref{{Namespace: "cert-manager", Name: "cert-manager"}},
		}},
		{"raw-secondary", apps.AddOptions{
			Namespace: "default", Name: "paste", Mode: apps.ModeRaw,
			Image: "ghcr.io/example/paste:2.1", Port: 8080, Hosts: []string{"paste.example.org"},
			Env:     []generator.KV{{Key: "MODE", Value: "prod"}},
			Persist: []apps.Persist{{Name: "data", Size: "2Gi", Path: "/var/lib/paste"}},
			Probe:   mustProbe(t, "/ready"), CPU: "10m", Memory: "64Mi",
		}},
		{"raw-with-secret", apps.AddOptions{
			Namespace: "default", Name: "bot", Mode: apps.ModeRaw,
			Image: "ghcr.io/example/bot:0.3.0", Port: 8080,
			Secrets: []generator.KV{{Key: "TOKEN", Value: "s3cr3t"}, {Key: "WEBHOOK", Value: "https://hooks.example/x"}},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := gentest.LoadExample(t)
			ids := gentest.ExampleIdentities(t)
			if len(tc.opts.Secrets) > 0 {
				tc.opts.Sealer = gentest.ExampleSealer(t, r)
			}
			cs, err := apps.Add(r.Model(), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string][]byte{}
			for _, f := range cs.Files {
				content := f.Content
				if f.Sensitive {
					if !sops.IsEncrypted(content) {
						t.Fatalf("%s is marked sensitive but is not encrypted", f.Path)
					}
					for _, kv := range tc.opts.Secrets {
						if strings.Contains(string(content), kv.Value) {
							t.Fatalf("%s holds the plaintext of %s", f.Path, kv.Key)
						}
					}
					plain, err := sops.Decrypt(content, ids)
					if err != nil {
						t.Fatalf("decrypting %s: %v", f.Path, err)
					}
					content = append([]byte("# decrypted by the test\n"), plain...)
				} else {
					gentest.AssertStrict(t, f.Path, content)
				}
				got[f.Path] = content
			}
			testutil.GoldenTree(t, filepath.Join("testdata", "addapp", tc.name), got)
		})
	}
}

func TestAddAppIsIdempotent(t *testing.T) {
	dir := testutil.CopyTree(t, testutil.ExampleRepo(t))
	opts := apps.AddOptions{
		Namespace: "tools", Name: "paste", Mode: apps.ModeRaw,
		Image: "ghcr.io/example/paste:2.1", Port: 8080, Hosts: []string{"paste.example.org"},
		Secrets: []generator.KV{{Key: "TOKEN", Value: "x"}},
	}
	r, err := repo.Load(dir, repo.LoadOptions{Domains: gentest.ExampleDomains})
	if err != nil {
		t.Fatal(err)
	}
	opts.Sealer = gentest.ExampleSealer(t, r)
	cs, err := apps.Add(r.Model(), opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range cs.Files {
		target := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(target, f.Content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r2, err := repo.Load(dir, repo.LoadOptions{Domains: gentest.ExampleDomains})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := r2.App("tools", "paste"); !ok {
		t.Fatal("the new app is not registered after writing")
	}
	opts.Sealer = gentest.ExampleSealer(t, r2)
	again, err := apps.Add(r2.Model(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Files) != 0 {
		t.Fatalf("second run wants to change %v", again.Paths())
	}
	// The same app with another image is refused without --force ...
	opts.Image = "ghcr.io/example/paste:2.2"
	_, err = apps.Add(r2.Model(), opts)
	var ex *apps.ExistsError
	if err == nil || !errorsAs(err, &ex) {
		t.Fatalf("want ExistsError, got %v", err)
	}
	if len(ex.Paths) != 1 || !strings.HasSuffix(ex.Paths[0], "app/deployment.yaml") {
		t.Fatalf("want only the deployment to differ, got %v", ex.Paths)
	}
	// ... and replaced with it.
	opts.Force = true
	forced, err := apps.Add(r2.Model(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := forced.Paths(); len(got) != 1 || !strings.HasSuffix(got[0], "deployment.yaml") {
		t.Fatalf("--force should rewrite only the deployment, got %v", got)
	}
}

// TestAddAppWithSyncFolderVariables: the Flux Operator syncs a folder that
// holds, beside the root Kustomization, the ConfigMap whose variable the
// root substitutes into its children's spec.path. add-app's validation
// renders that folder first and knows the variable, as Flux does.
func TestAddAppWithSyncFolderVariables(t *testing.T) {
	base := gentest.LoadExample(t)
	files := map[string]string{
		"bootstrap/flux-instance.yaml": "---\napiVersion: fluxcd.controlplane.io/v1\nkind: FluxInstance\nmetadata:\n  name: flux\n  namespace: flux-system\nspec:\n" +
			"  distribution:\n    version: 2.x\n  sync:\n    kind: GitRepository\n    url: https://example.org/home-ops.git\n    ref: refs/heads/main\n    path: kubernetes/flux/cluster\n",
		"kubernetes/flux/cluster/cluster-info.yaml": "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cluster-info\n  namespace: flux-system\ndata:\n  APPS_DIR: apps\n",
		// Every child gets the variable through the root's patch, the new
		// app's too.
		"kubernetes/flux/cluster/ks.yaml": strings.Replace(strings.Replace(string(base.Files["kubernetes/flux/cluster/ks.yaml"]),
			"  path: ./kubernetes/apps\n", "  path: ./kubernetes/apps\n  postBuild:\n    substituteFrom:\n      - kind: ConfigMap\n        name: cluster-info\n", 1),
			"          deletionPolicy: WaitForTermination\n          patches:\n", "          deletionPolicy: WaitForTermination\n          postBuild:\n            substitute:\n              APPS_DIR: ${APPS_DIR}\n          patches:\n", 1),
		"kubernetes/apps/default/whoami/ks.yaml": strings.Replace(string(base.Files["kubernetes/apps/default/whoami/ks.yaml"]),
			"path: ./kubernetes/apps/default/whoami/app", "path: ./kubernetes/${APPS_DIR}/default/whoami/app", 1),
	}
	if files["kubernetes/apps/default/whoami/ks.yaml"] == string(base.Files["kubernetes/apps/default/whoami/ks.yaml"]) ||
		!strings.Contains(files["kubernetes/flux/cluster/ks.yaml"], "APPS_DIR: ${APPS_DIR}") {
		t.Fatal("the repository was not edited")
	}
	r := exampleWith(t, files)
	if len(r.RootKustomizations) != 1 || r.RootKustomizations[0] != "kubernetes/flux/cluster" {
		t.Fatalf("roots %v, want the sync folder", r.RootKustomizations)
	}
	cs, err := apps.Add(r.Model(), apps.AddOptions{
		Namespace: "default", Name: "hello", Mode: apps.ModeRaw, Image: "ghcr.io/traefik/whoami:v1.11.0", Port: 80,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Changeset(r, cs); err != nil {
		t.Fatalf("the change does not validate: %v", err)
	}
}
