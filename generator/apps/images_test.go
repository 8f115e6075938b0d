package apps_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	imageautov1 "github.com/fluxcd/image-automation-controller/api/v1"
	imagev1 "github.com/fluxcd/image-reflector-controller/api/v1"
	"sigs.k8s.io/yaml"

	"github.com/gen-gitops/gen/generator"
	"github.com/gen-gitops/gen/generator/apps"
	"github.com/gen-gitops/gen/generator/internal/gentest"
	"github.com/gen-gitops/gen/internal/repo"
	"github.com/gen-gitops/gen/internal/testutil"
	"github.com/gen-gitops/gen/internal/validate"
)

func mustPolicy(t *testing.T, policy, extract string) *apps.ImagePolicy {
	t.Helper()
	p, err := apps.ParseImagePolicy(policy, extract)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestImagePolicyGolden(t *testing.T) {
	cases := []struct {
		name string
		opts apps.AddOptions
	}{
		{"app-template-semver", apps.AddOptions{
			Namespace: "default", Name: "hello", Mode: apps.ModeAppTemplate,
			Image: "ghcr.io/traefik/whoami:v1.11.0", Hosts: []string{"hello"},
			ImagePolicy: mustPolicy(t, "semver:>=1.11.0", ""),
		}},
		{"raw-regex-extract", apps.AddOptions{
			Namespace: "default", Name: "site", Mode: apps.ModeRaw,
			Image: "ghcr.io/example/site:main-abc1234-1718000000", Port: 8080,
			ImagePolicy: mustPolicy(t, `regex:^main-[a-f0-9]+-(?P<ts>[0-9]+)$`, "$ts"),
		}},
		{"app-template-regex-alphabetical", apps.AddOptions{
			Namespace: "tools", Name: "nightly", Mode: apps.ModeAppTemplate,
			Image:       "docker.io/example/nightly:2026-01-01",
			ImagePolicy: mustPolicy(t, `regex:^\d{4}-\d{2}-\d{2}$`, ""),
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := gentest.LoadExample(t)
			cs, err := apps.Add(r.Model(), tc.opts)
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
				case "imageupdateautomation.yaml":
					obj := decodeAutomation(t, f.Path, f.Content)
					wantPath := "./kubernetes/apps/" + tc.opts.Namespace + "/" + tc.opts.Name
					if obj.Spec.Update.Path != wantPath {
						t.Fatalf("%s: update.path %q, want %q", f.Path, obj.Spec.Update.Path, wantPath)
					}
					if got := obj.Spec.SourceRef.String(); got != "GitRepository/flux-system/flux-system" {
						t.Fatalf("%s: sourceRef %s, want the GitRepository the cluster syncs from", f.Path, got)
					}
					if b := obj.Spec.GitSpec.Checkout.Reference.Branch; b != "main" || obj.Spec.GitSpec.Push.Branch != b {
						t.Fatalf("%s: checkout branch %q, push branch %q", f.Path, b, obj.Spec.GitSpec.Push.Branch)
					}
					if !strings.Contains(obj.Spec.GitSpec.Commit.MessageTemplate, tc.opts.Namespace+"/"+tc.opts.Name) {
						t.Fatalf("%s: messageTemplate %q does not name the app", f.Path, obj.Spec.GitSpec.Commit.MessageTemplate)
					}
				case "kustomization.yaml", "ks.yaml":
				default:
					gentest.AssertStrict(t, f.Path, f.Content)
				}
			}
			if _, ok := got[filepath.ToSlash(filepath.Join("kubernetes/apps", tc.opts.Namespace, tc.opts.Name, "app/imageupdateautomation.yaml"))]; !ok {
				t.Fatalf("no ImageUpdateAutomation written: %v", cs.Paths())
			}
			wantNotes := []string{
				"pushes to branch main of GitRepository flux-system/flux-system (main is a guess",
				"its secretRef must hold credentials with write access",
				"make sure image-reflector-controller and image-automation-controller run in the cluster",
			}
			notes := strings.Join(cs.Notes, "\n")
			for _, w := range wantNotes {
				if !strings.Contains(notes, w) {
					t.Errorf("notes lack %q:\n%s", w, notes)
				}
			}
			if err := validate.Changeset(r, cs); err != nil {
				t.Fatalf("the change does not build the way Flux builds it: %v", err)
			}
			testutil.GoldenTree(t, filepath.Join("testdata", "images", tc.name), got)
		})
	}
}

// TestImagePolicyMarker pins the setter comments: the field form on a
// HelmRelease tag, the whole-image form on a Deployment's image.
func TestImagePolicyMarker(t *testing.T) {
	r := gentest.LoadExample(t)
	for _, tc := range []struct {
		mode apps.Mode
		file string
		line string
	}{
		{apps.ModeAppTemplate, "helmrelease.yaml", `              tag: "1.27" # {"$imagepolicy": "media:web:tag"}`},
		{apps.ModeRaw, "deployment.yaml", `          image: nginx:1.27 # {"$imagepolicy": "media:web"}`},
	} {
		cs, err := apps.Add(r.Model(), apps.AddOptions{Namespace: "media", Name: "web", Mode: tc.mode, Image: "nginx:1.27",
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

// decodeAutomation decodes an ImageUpdateAutomation strictly, both through
// the schema registry add-app's validation uses and straight into the
// controller's type.
func decodeAutomation(t *testing.T, p string, content []byte) imageautov1.ImageUpdateAutomation {
	t.Helper()
	gentest.AssertStrict(t, p, content)
	var obj imageautov1.ImageUpdateAutomation
	if err := yaml.UnmarshalStrict(content, &obj); err != nil {
		t.Fatalf("%s does not decode strictly as an ImageUpdateAutomation: %v", p, err)
	}
	if obj.Spec.Update == nil || obj.Spec.Update.Strategy != imageautov1.UpdateStrategySetters {
		t.Fatalf("%s: update %+v, want the Setters strategy", p, obj.Spec.Update)
	}
	if obj.Spec.GitSpec == nil || obj.Spec.GitSpec.Checkout == nil || obj.Spec.GitSpec.Push == nil {
		t.Fatalf("%s: git %+v, want checkout and push branches", p, obj.Spec.GitSpec)
	}
	if obj.Namespace != "" {
		t.Fatalf("%s: namespace %q; the app's Kustomization sets it", p, obj.Namespace)
	}
	return obj
}

// automationIn returns the ImageUpdateAutomation cs writes for app ns/name.
func automationIn(t *testing.T, cs *generator.Changeset, ns, name string) (imageautov1.ImageUpdateAutomation, bool) {
	t.Helper()
	p := "kubernetes/apps/" + ns + "/" + name + "/app/imageupdateautomation.yaml"
	for _, f := range cs.Files {
		if f.Path == p {
			return decodeAutomation(t, f.Path, f.Content), true
		}
	}
	return imageautov1.ImageUpdateAutomation{}, false
}

// exampleWith copies the example repository and adds files to the copy.
func exampleWith(t *testing.T, files map[string]string) *repo.Repo {
	t.Helper()
	dir := testutil.CopyTree(t, testutil.ExampleRepo(t))
	for p, s := range files {
		if err := mkdirWrite(filepath.Join(dir, filepath.FromSlash(p)), s); err != nil {
			t.Fatal(err)
		}
	}
	return gentest.LoadRepo(t, dir)
}

const appsAutomation = `---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageUpdateAutomation
metadata:
  name: apps
  namespace: %s
spec:
  interval: 10m
  sourceRef:
    kind: GitRepository
    name: flux-system
    namespace: flux-system
  git:
    checkout:
      ref:
        branch: trunk
    commit:
      author:
        name: robot
        email: robot@example.com
    push:
      branch: trunk
  update:
    path: %s
    strategy: Setters
`

// TestImageAutomationCoverage: an automation in the app's namespace whose
// update.path holds the app's folder means none is written; one in another
// namespace does not count (it applies only its own namespace's
// ImagePolicies), and one that covers other folders is copied.
func TestImageAutomationCoverage(t *testing.T) {
	for _, tc := range []struct {
		name      string
		namespace string
		path      string
		skip      bool
		write     bool
		note      string
	}{
		{name: "covers in the app's namespace", namespace: "default", path: "./kubernetes/apps"},
		{name: "covers the repository root", namespace: "default", path: "./"},
		{name: "covers from another namespace", namespace: "flux-system", path: "./kubernetes/apps", write: true,
			note: "ImageUpdateAutomation flux-system/apps updates kubernetes/apps/default/web, but applies only the ImagePolicies of namespace flux-system; wrote one in default"},
		{name: "covers other folders", namespace: "default", path: "./kubernetes/apps/media", write: true},
		{name: "skipped", namespace: "default", path: "./kubernetes/apps/media", skip: true,
			note: "--image-automation=false leaves that to yours: it must live in namespace default"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := exampleWith(t, map[string]string{
				"kubernetes/flux/cluster/image-automation.yaml": fmt.Sprintf(appsAutomation, tc.namespace, tc.path),
			})
			cs, err := apps.Add(r.Model(), apps.AddOptions{Namespace: "default", Name: "web", Mode: apps.ModeRaw, Image: "nginx:1.27",
				ImagePolicy: mustPolicy(t, "semver:1.x", ""), SkipImageAutomation: tc.skip})
			if err != nil {
				t.Fatal(err)
			}
			obj, wrote := automationIn(t, cs, "default", "web")
			if wrote != tc.write {
				t.Fatalf("wrote an ImageUpdateAutomation: %v, want %v (%v)", wrote, tc.write, cs.Paths())
			}
			kust := ""
			for _, f := range cs.Files {
				if f.Path == "kubernetes/apps/default/web/app/kustomization.yaml" {
					kust = string(f.Content)
				}
			}
			if listed := strings.Contains(kust, "  - ./imageupdateautomation.yaml\n"); listed != tc.write {
				t.Fatalf("app/kustomization.yaml lists the automation: %v, want %v:\n%s", listed, tc.write, kust)
			}
			notes := strings.Join(cs.Notes, "\n")
			if tc.note != "" && !strings.Contains(notes, tc.note) {
				t.Fatalf("notes lack %q:\n%s", tc.note, notes)
			}
			if !tc.write {
				if tc.note == "" && notes != "" {
					t.Fatalf("unexpected notes:\n%s", notes)
				}
				return
			}
			if tc.namespace == "default" {
				// Copied from the automation in place: source, branch,
				// author and interval; no setup notes, it already runs.
				if obj.Spec.GitSpec.Commit.Author.Email != "robot@example.com" || obj.Spec.GitSpec.Push.Branch != "trunk" ||
					obj.Spec.GitSpec.Checkout.Reference.Branch != "trunk" || obj.Spec.Interval.Duration.String() != "10m0s" {
					t.Fatalf("not copied from default/apps: %+v", obj.Spec)
				}
				if notes != "" {
					t.Fatalf("unexpected notes:\n%s", notes)
				}
			}
			if err := validate.Changeset(r, cs); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestImageAutomationOnAnton adds an app to a copy of the anton corpus,
// whose automations push through the GitRepository image-automation (with
// write credentials) as flux@anton: the new one must do the same, in the
// app's namespace, for the app's folder only.
func TestImageAutomationOnAnton(t *testing.T) {
	r := gentest.LoadRepo(t, testutil.CopyTree(t, testutil.AntonCorpus(t)))
	cs, err := apps.Add(r.Model(), apps.AddOptions{Namespace: "default", Name: "status", Mode: apps.ModeRaw,
		Image: "ghcr.io/example/status:1.2.0", Port: 8080, ImagePolicy: mustPolicy(t, "semver:>=1.0.0", "")})
	if err != nil {
		t.Fatal(err)
	}
	obj, ok := automationIn(t, cs, "default", "status")
	if !ok {
		t.Fatalf("no ImageUpdateAutomation written: %v", cs.Paths())
	}
	if got := obj.Spec.SourceRef.String(); got != "GitRepository/flux-system/image-automation" {
		t.Errorf("sourceRef %s, want the one anton's automations use", got)
	}
	if a := obj.Spec.GitSpec.Commit.Author; a.Email != "flux@anton" || a.Name != "flux" {
		t.Errorf("author %+v, want flux <flux@anton>", a)
	}
	if obj.Spec.GitSpec.Checkout.Reference.Branch != "main" || obj.Spec.GitSpec.Push.Branch != "main" {
		t.Errorf("branches %+v, want main (the GitRepository's refs/heads/main)", obj.Spec.GitSpec)
	}
	if obj.Spec.Update.Path != "./kubernetes/apps/default/status" || obj.Spec.Interval.Duration.String() != "5m0s" {
		t.Errorf("update.path %q, interval %s", obj.Spec.Update.Path, obj.Spec.Interval.Duration)
	}
	for _, n := range cs.Notes {
		if strings.Contains(n, "write access") || strings.Contains(n, "image-automation-controller") {
			t.Errorf("anton's image automation already runs, yet: %s", n)
		}
	}
	if err := validate.Changeset(r, cs); err != nil {
		t.Fatal(err)
	}
}

const fluxInstanceRelease = `---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: flux-instance
  namespace: flux-system
spec:
  chartRef:
    kind: OCIRepository
    name: flux-instance
  interval: 1h
  values:
    instance:
%s
      sync:
        kind: GitRepository
        url: https://github.com/example/home-ops.git
        ref: refs/heads/trunk
        path: kubernetes/flux/cluster
`

// TestImageAutomationFluxInstall reads the Flux installation: the branch
// the cluster syncs, whether the image controllers run (and which values
// enable them), and the cross-namespace lockdown that forbids the
// automation's sourceRef.
func TestImageAutomationFluxInstall(t *testing.T) {
	const file = "kubernetes/flux/cluster/flux-instance.yaml"
	for _, tc := range []struct {
		name     string
		instance string
		extra    map[string]string
		note     string
		err      string
	}{
		{name: "enabled", instance: "      components:\n        - source-controller\n        - kustomize-controller\n        - image-reflector-controller\n        - image-automation-controller",
			note: "image-reflector-controller and image-automation-controller are enabled in " + file},
		{name: "not enabled", instance: "      components:\n        - source-controller\n        - kustomize-controller",
			note: file + " does not run image-reflector-controller or image-automation-controller, so no new tag will be found or committed: " +
				"add image-reflector-controller and image-automation-controller to spec.values.instance.components in " + file},
		{name: "chart defaults", instance: "      distribution:\n        version: 2.x",
			note: "set spec.values.instance.components in " + file + " to the four default controllers (source, kustomize, helm, notification) plus image-reflector-controller and image-automation-controller"},
		{name: "multitenant", instance: "      cluster:\n        multitenant: true",
			err: "Flux runs with --no-cross-namespace-refs (" + file + ": spec.values.instance.cluster.multitenant), so an ImageUpdateAutomation in namespace default cannot use GitRepository flux-system/flux-system"},
		{name: "lockdown patch", instance: "      distribution:\n        version: 2.x",
			extra: map[string]string{"kubernetes/flux/cluster/lockdown.yaml": "# patches for every controller\n- op: add\n  path: /spec/template/spec/containers/0/args/-\n  value: --no-cross-namespace-refs=true\n"},
			err:   "Flux runs with --no-cross-namespace-refs (kubernetes/flux/cluster/lockdown.yaml)"},
		{name: "lockdown patch inline", instance: "      distribution:\n        version: 2.x",
			extra: map[string]string{"kubernetes/flux/cluster/kustomization.yaml": "resources:\n  - ./ks.yaml\npatches:\n  - target: {kind: Deployment}\n    patch: |\n      - op: add\n        path: /spec/template/spec/containers/0/args/-\n        value: --no-cross-namespace-refs\n"},
			err:   "Flux runs with --no-cross-namespace-refs (kubernetes/flux/cluster/kustomization.yaml)"},
		// Turned off, commented out, or only written about: not locked down.
		{name: "lockdown off", instance: "      distribution:\n        version: 2.x",
			extra: map[string]string{"kubernetes/flux/cluster/lockdown.yaml": "- op: add\n  path: /spec/template/spec/containers/0/args/-\n  value: --no-cross-namespace-refs=FALSE\n"},
			note:  "set spec.values.instance.components in " + file},
		{name: "lockdown in comments", instance: "      distribution:\n        version: 2.x",
			extra: map[string]string{
				"kubernetes/flux/cluster/lockdown.yaml":      "# - op: add\n#   value: --no-cross-namespace-refs=true\n- op: add\n  path: /spec/template/spec/containers/0/args/-\n  value: --log-level=debug\n",
				"kubernetes/flux/cluster/kustomization.yaml": "resources:\n  - ./ks.yaml\npatches:\n  - target: {kind: Deployment}\n    patch: |\n      # - op: add\n      #   value: --no-cross-namespace-refs\n      - op: add\n        path: /spec/template/spec/containers/0/args/-\n        value: --concurrent=8\n",
				"kubernetes/flux/README.md":                  "Multi-tenancy would add --no-cross-namespace-refs to every controller.\n",
			},
			note: "set spec.values.instance.components in " + file},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{file: fmt.Sprintf(fluxInstanceRelease, tc.instance)}
			for p, s := range tc.extra {
				files[p] = s
			}
			r := exampleWith(t, files)
			cs, err := apps.Add(r.Model(), apps.AddOptions{Namespace: "default", Name: "web", Mode: apps.ModeRaw, Image: "nginx:1.27",
				ImagePolicy: mustPolicy(t, "semver:1.x", "")})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			obj, ok := automationIn(t, cs, "default", "web")
			if !ok {
				t.Fatalf("no ImageUpdateAutomation written: %v", cs.Paths())
			}
			if obj.Spec.GitSpec.Push.Branch != "trunk" || obj.Spec.GitSpec.Checkout.Reference.Branch != "trunk" {
				t.Errorf("branches %+v, want trunk, the branch the cluster syncs", obj.Spec.GitSpec)
			}
			notes := strings.Join(cs.Notes, "\n")
			for _, w := range []string{tc.note, "pushes to branch trunk of GitRepository flux-system/flux-system: its secretRef must hold credentials with write access"} {
				if !strings.Contains(notes, w) {
					t.Errorf("notes lack %q:\n%s", w, notes)
				}
			}
			if strings.Contains(notes, "is a guess") {
				t.Errorf("the branch is known, yet:\n%s", notes)
			}
		})
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
		_, err := apps.ParseImagePolicy(c.policy, c.extract)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q %q: got %v, want %q", c.policy, c.extract, err, c.want)
		}
	}
	for _, c := range []struct {
		opts apps.AddOptions
		want string
	}{
		{apps.AddOptions{Mode: apps.ModeChart, Chart: "oci://ghcr.io/x/charts/y", ChartVersion: "1.0.0"}, "follows the tags of --image"},
		{apps.AddOptions{Mode: apps.ModeRaw, Image: "nginx@sha256:" + strings.Repeat("a", 64)}, "digest"},
		{apps.AddOptions{Mode: apps.ModeRaw, Image: "nginx"}, "needs a tag on --image"},
	} {
		opts := c.opts
		opts.Namespace, opts.Name = "default", "web"
		opts.ImagePolicy = mustPolicy(t, "semver:1.x", "")
		_, err := apps.Add(gentest.LoadExample(t).Model(), opts)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want %q", c.opts, err, c.want)
		}
	}
	skip := apps.AddOptions{Namespace: "default", Name: "web", Mode: apps.ModeRaw, Image: "nginx:1.27", SkipImageAutomation: true}
	if err := skip.Validate(); err == nil || !strings.Contains(err.Error(), "--image-automation=false goes with --image-policy") {
		t.Errorf("--image-automation=false without a policy: got %v", err)
	}
}

func mkdirWrite(p, content string) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, []byte(content), 0o644)
}
