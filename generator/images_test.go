package generator_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	imagev1 "github.com/fluxcd/image-reflector-controller/api/v1"
	"sigs.k8s.io/yaml"

	"github.com/gen-gitops/gen/generator"
	"github.com/gen-gitops/gen/internal/repo"
	"github.com/gen-gitops/gen/internal/testutil"
)

func mustPolicy(t *testing.T, policy, extract string) *generator.ImagePolicy {
	t.Helper()
	p, err := generator.ParseImagePolicy(policy, extract)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestImagePolicyGolden(t *testing.T) {
	cases := []struct {
		name string
		opts generator.AddAppOptions
	}{
		{"app-template-semver", generator.AddAppOptions{
			Namespace: "default", Name: "hello", Mode: generator.ModeAppTemplate,
			Image: "ghcr.io/traefik/whoami:v1.11.0", Hosts: []string{"hello"},
			ImagePolicy: mustPolicy(t, "semver:>=1.11.0", ""),
		}},
		{"raw-regex-extract", generator.AddAppOptions{
			Namespace: "default", Name: "site", Mode: generator.ModeRaw,
			Image: "ghcr.io/example/site:main-abc1234-1718000000", Port: 8080,
			ImagePolicy: mustPolicy(t, `regex:^main-[a-f0-9]+-(?P<ts>[0-9]+)$`, "$ts"),
		}},
		{"app-template-regex-alphabetical", generator.AddAppOptions{
			Namespace: "tools", Name: "nightly", Mode: generator.ModeAppTemplate,
			Image:       "docker.io/example/nightly:2026-01-01",
			ImagePolicy: mustPolicy(t, `regex:^\d{4}-\d{2}-\d{2}$`, ""),
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := loadExample(t)
			cs, err := generator.AddApp(r, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string][]byte{}
			for _, f := range cs.Files {
				got[f.Path] = f.Content
				switch filepath.Base(f.Path) {
				case "imagerepository.yaml":
					var obj imagev1.ImageRepository
					if err := yaml.UnmarshalStrict(f.Content, &obj); err != nil {
						t.Fatalf("%s does not decode strictly as an ImageRepository: %v", f.Path, err)
					}
					if obj.Spec.Image == "" || strings.Contains(obj.Spec.Image, ":") {
						t.Fatalf("%s: image %q must be the repository without a tag", f.Path, obj.Spec.Image)
					}
				case "imagepolicy.yaml":
					var obj imagev1.ImagePolicy
					if err := yaml.UnmarshalStrict(f.Content, &obj); err != nil {
						t.Fatalf("%s does not decode strictly as an ImagePolicy: %v", f.Path, err)
					}
					if obj.Spec.ImageRepositoryRef.Name != tc.opts.Name {
						t.Fatalf("%s: imageRepositoryRef %q", f.Path, obj.Spec.ImageRepositoryRef.Name)
					}
				case "kustomization.yaml", "ks.yaml":
				default:
					assertStrict(t, f.Path, f.Content)
				}
			}
			if len(cs.Notes) != 1 || !strings.Contains(cs.Notes[0], "no ImageUpdateAutomation") {
				t.Fatalf("notes: %v", cs.Notes)
			}
			testutil.GoldenTree(t, filepath.Join("testdata", "images", tc.name), got)
		})
	}
}

// TestImagePolicyMarker pins the setter comments: the field form on a
// HelmRelease tag, the whole-image form on a Deployment's image.
func TestImagePolicyMarker(t *testing.T) {
	r := loadExample(t)
	for _, tc := range []struct {
		mode generator.Mode
		file string
		line string
	}{
		{generator.ModeAppTemplate, "helmrelease.yaml", `              tag: "1.27" # {"$imagepolicy": "media:web:tag"}`},
		{generator.ModeRaw, "deployment.yaml", `          image: nginx:1.27 # {"$imagepolicy": "media:web"}`},
	} {
		cs, err := generator.AddApp(r, generator.AddAppOptions{Namespace: "media", Name: "web", Mode: tc.mode, Image: "nginx:1.27",
			ImagePolicy: mustPolicy(t, "semver:1.x", "")})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range cs.Files {
			if filepath.Base(f.Path) == tc.file && !strings.Contains(string(f.Content), tc.line+"\n") {
				t.Errorf("%s lacks\n%s\nin\n%s", f.Path, tc.line, f.Content)
			}
		}
	}
}

func TestImageAutomationCoverage(t *testing.T) {
	dir := testutil.CopyTree(t, testutil.ExampleRepo(t))
	writeFile := func(p, s string) {
		t.Helper()
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := mkdirWrite(full, s); err != nil {
			t.Fatal(err)
		}
	}
	writeFile("kubernetes/flux/cluster/image-automation.yaml", `---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageUpdateAutomation
metadata:
  name: apps
  namespace: flux-system
spec:
  interval: 30m
  sourceRef:
    kind: GitRepository
    name: flux-system
  git:
    commit:
      author:
        name: flux
        email: flux@example.com
  update:
    path: ./kubernetes/apps
    strategy: Setters
`)
	r := loadRepo(t, dir)
	cs, err := generator.AddApp(r, generator.AddAppOptions{Namespace: "default", Name: "web", Mode: generator.ModeRaw, Image: "nginx:1.27",
		ImagePolicy: mustPolicy(t, "semver:1.x", "")})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range cs.Notes {
		if strings.Contains(n, "ImageUpdateAutomation") {
			t.Fatalf("an automation covers kubernetes/apps, yet: %s", n)
		}
	}
}

func TestImagePolicyRefusals(t *testing.T) {
	for _, c := range []struct {
		policy, extract, want string
	}{
		{"semver", "", "want semver:<range>"},
		{"latest:x", "", `unknown kind "latest"`},
		{"semver:>=one", "", "is not a semver range"},
		{"semver:>=1.0.0", "$ts", "goes with a regex: policy"},
		{"regex:^main-(", "", "the pattern does not compile"},
		{"regex:^main-(?P<ts>[0-9]+)$", "$build", `the pattern has no group "build" (its groups: $ts)`},
		{"regex:^main-([0-9]+)$", "$2", `no group "2"`},
		{"regex:^main-[0-9]+$", "ts", "names no group"},
	} {
		_, err := generator.ParseImagePolicy(c.policy, c.extract)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q %q: got %v, want %q", c.policy, c.extract, err, c.want)
		}
	}
	for _, c := range []struct {
		opts generator.AddAppOptions
		want string
	}{
		{generator.AddAppOptions{Mode: generator.ModeChart, Chart: "oci://ghcr.io/x/charts/y", ChartVersion: "1.0.0"}, "follows the tags of --image"},
		{generator.AddAppOptions{Mode: generator.ModeRaw, Image: "nginx@sha256:" + strings.Repeat("a", 64)}, "digest"},
		{generator.AddAppOptions{Mode: generator.ModeRaw, Image: "nginx"}, "needs a tag on --image"},
	} {
		opts := c.opts
		opts.Namespace, opts.Name = "default", "web"
		opts.ImagePolicy = mustPolicy(t, "semver:1.x", "")
		_, err := generator.AddApp(loadExample(t), opts)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want %q", c.opts, err, c.want)
		}
	}
}

func mkdirWrite(p, content string) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, []byte(content), 0o644)
}

func loadRepo(t *testing.T, dir string) *repo.Repo {
	t.Helper()
	r, err := repo.Load(dir, repo.LoadOptions{Domains: exampleDomains})
	if err != nil {
		t.Fatal(err)
	}
	return r
}
