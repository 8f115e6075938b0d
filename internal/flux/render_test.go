package flux

import (
	"encoding/base64"
	"errors"
	"sort"
	"strings"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// baseRepo is a small repository of the cluster-template shape: a root
// Kustomization, one namespace with the sops component, and an app.
var baseRepo = map[string]string{
	"kubernetes/flux/cluster/ks.yaml": `---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: cluster-apps
  namespace: flux-system
spec:
  decryption:
    provider: sops
  interval: 1h
  path: ./kubernetes/apps
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
    namespace: flux-system
  patches:
    - patch: |-
        apiVersion: kustomize.toolkit.fluxcd.io/v1
        kind: Kustomization
        metadata:
          name: _
        spec:
          decryption:
            provider: sops
      target:
        group: kustomize.toolkit.fluxcd.io
        kind: Kustomization
`,
	"kubernetes/components/sops/kustomization.yaml": `---
apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
resources:
  - ./cluster-secrets.sops.yaml
  - ./cluster-settings.yaml
`,
	"kubernetes/components/sops/cluster-secrets.sops.yaml": `apiVersion: v1
kind: Secret
metadata:
  name: cluster-secrets
stringData:
  SECRET_DOMAIN: ENC[AES256_GCM,data:aGVsbG8=,iv:aXY=,tag:dGFn,type:str]
data:
  SECRET_TOKEN: ENC[AES256_GCM,data:dG9rZW4=,iv:aXY=,tag:dGFn,type:str]
sops:
  mac: ENC[AES256_GCM,data:bWFj,iv:aXY=,tag:dGFn,type:str]
  version: 3.11.0
`,
	"kubernetes/components/sops/cluster-settings.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: cluster-settings
data:
  CLUSTER_NAME: home
  TIMEZONE: Europe/Paris
`,
	"kubernetes/apps/default/kustomization.yaml": `---
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: default
components:
  - ../../components/sops
resources:
  - ./namespace.yaml
  - ./echo/ks.yaml
`,
	"kubernetes/apps/default/namespace.yaml": `---
apiVersion: v1
kind: Namespace
metadata:
  name: default
  annotations:
    kustomize.toolkit.fluxcd.io/prune: disabled
`,
	"kubernetes/apps/default/echo/ks.yaml": `---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: echo
  namespace: flux-system
spec:
  interval: 1h
  path: ./kubernetes/apps/default/echo/app
  postBuild:
    substituteFrom:
      - name: cluster-secrets
        kind: Secret
      - name: cluster-settings
        kind: ConfigMap
  prune: true
  sourceRef: {kind: GitRepository, name: flux-system, namespace: flux-system}
  targetNamespace: default
  dependsOn:
    - name: envoy-gateway
      namespace: network
    - name: echo-db
`,
	"kubernetes/apps/default/echo/app/kustomization.yaml": `---
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ./httproute.yaml
`,
	"kubernetes/apps/default/echo/app/httproute.yaml": `---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: echo
spec:
  hostnames: ["echo.${SECRET_DOMAIN}"]
  parentRefs:
    - name: envoy-external
      namespace: network
      sectionName: https
  rules:
    - backendRefs:
        - name: echo
          port: 80
`,
}

// repo returns baseRepo with changes applied: a file set to "" is removed.
func repo(changes map[string]string) Files {
	f := Files{}
	for p, c := range baseRepo {
		f[p] = []byte(c)
	}
	for p, c := range changes {
		if c == "" {
			delete(f, p)
			continue
		}
		f[p] = []byte(c)
	}
	return f
}

func discover(t *testing.T, files Files) []*Kustomization {
	t.Helper()
	all, err := Discover(files, nil)
	if err != nil {
		t.Fatalf("Discover: %v", err)
	}
	return all
}

func find(t *testing.T, all []*Kustomization, ns, name string) *Kustomization {
	t.Helper()
	for _, ks := range all {
		if ks.Namespace == ns && ks.Name == name {
			return ks
		}
	}
	t.Fatalf("Kustomization %s/%s not discovered", ns, name)
	return nil
}

func ids(list []*Kustomization) []string {
	out := make([]string, len(list))
	for i, ks := range list {
		out[i] = ks.ID().String()
	}
	return out
}

func objectByID(r *Rendered, id string) *Object {
	for _, o := range r.Objects {
		if o.ID() == id {
			return o
		}
	}
	return nil
}

func str(t *testing.T, u *unstructured.Unstructured, fields ...string) string {
	t.Helper()
	v, _, err := unstructured.NestedFieldNoCopy(u.Object, fields...)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := v.(string)
	return s
}

func TestDiscover(t *testing.T) {
	files := repo(map[string]string{
		// A second root document in the same file, and an app pulled from
		// an OCI artifact.
		"kubernetes/flux/cluster/ks.yaml": baseRepo["kubernetes/flux/cluster/ks.yaml"] + `---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: cluster-meta
  namespace: flux-system
spec:
  interval: 1h
  path: ./kubernetes/flux/meta
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
`,
		"kubernetes/flux/meta/repo.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: meta\n  namespace: flux-system\n",
		"kubernetes/apps/default/kustomization.yaml": strings.Replace(baseRepo["kubernetes/apps/default/kustomization.yaml"],
			"  - ./echo/ks.yaml\n", "  - ./echo/ks.yaml\n  - ./oci/ks.yaml\n", 1),
		"kubernetes/apps/default/oci/ks.yaml": `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: oci-app
spec:
  interval: 1h
  path: ./
  prune: true
  sourceRef: {kind: OCIRepository, name: oci-app}
`,
		// An app whose build holds a Kustomization of another GitRepository.
		"kubernetes/apps/default/echo/app/kustomization.yaml": "resources: [./httproute.yaml, ./upstream.yaml]\n",
		"kubernetes/apps/default/echo/app/upstream.yaml": `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: upstream
spec:
  interval: 1h
  path: ./deploy
  prune: true
  sourceRef: {kind: GitRepository, name: upstream}
`,
	})
	all := discover(t, files)
	want := []string{"flux-system/cluster-apps", "flux-system/cluster-meta", "default/echo", "default/oci-app", "default/upstream"}
	if got := ids(all); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("discovered %v, want %v", got, want)
	}

	root := all[0]
	if root.Path != "kubernetes/apps" || root.SourceFile != "kubernetes/flux/cluster/ks.yaml" || root.Parent != nil || root.External {
		t.Errorf("root = %+v", root)
	}
	meta := find(t, all, "flux-system", "cluster-meta")
	if meta.SourceRef != (SourceRef{Kind: "GitRepository", Name: "flux-system", Namespace: "flux-system"}) || meta.External {
		t.Errorf("cluster-meta source %v external %v: the namespace defaults to the Kustomization's", meta.SourceRef, meta.External)
	}

	echo := find(t, all, "default", "echo")
	if echo.Parent != root || echo.Path != "kubernetes/apps/default/echo/app" || echo.SourceFile != "kubernetes/apps/default/echo/ks.yaml" {
		t.Errorf("echo = %+v", echo)
	}
	if got := str(t, echo.Object, "metadata", "namespace"); got != "default" {
		t.Errorf("echo object namespace %q: the namespace kustomization moves it", got)
	}
	if got := str(t, echo.Object, "spec", "decryption", "provider"); got != "sops" {
		t.Errorf("echo object lacks the root's patch: decryption provider %q", got)
	}
	wantDeps := []NamespacedName{{"network", "envoy-gateway"}, {"default", "echo-db"}}
	if len(echo.DependsOn) != 2 || echo.DependsOn[0] != wantDeps[0] || echo.DependsOn[1] != wantDeps[1] {
		t.Errorf("echo dependsOn %v, want %v", echo.DependsOn, wantDeps)
	}
	if len(echo.SubstituteFrom) != 2 || echo.SubstituteFrom[0] != (SubstituteRef{Kind: "Secret", Name: "cluster-secrets"}) {
		t.Errorf("echo substituteFrom %v", echo.SubstituteFrom)
	}

	if oci := find(t, all, "default", "oci-app"); !oci.External {
		t.Error("an OCIRepository-sourced Kustomization is not external")
	}
	up := find(t, all, "default", "upstream")
	if !up.External || up.Parent != echo || up.SourceFile != "kubernetes/apps/default/echo/app/upstream.yaml" {
		t.Errorf("upstream = %+v", up)
	}
	if _, err := Render(files, up, RenderOptions{}); err == nil {
		t.Error("rendering an external Kustomization did not fail")
	}
}

func TestDiscoverKeepsGoingAfterAFailedBuild(t *testing.T) {
	files := repo(map[string]string{
		"kubernetes/apps/default/echo/app/kustomization.yaml": "resources: [./missing.yaml]\n",
	})
	all, err := Discover(files, nil)
	var re *RenderError
	if !errors.As(err, &re) || re.Kustomization.Name != "echo" {
		t.Fatalf("err = %v, want a RenderError for echo", err)
	}
	if !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("error %q does not name the missing file", err)
	}
	if got := ids(all); len(got) != 2 {
		t.Errorf("discovered %v, want the root and echo", got)
	}
}

func TestDiscoverErrors(t *testing.T) {
	if _, err := Discover(repo(nil), []string{"kubernetes/flux/nope.yaml"}); err == nil || !strings.Contains(err.Error(), "kubernetes/flux/nope.yaml") {
		t.Errorf("missing root: err = %v", err)
	}
	if _, err := Discover(repo(nil), []string{"../outside.yaml"}); err == nil {
		t.Error("a root outside the repository was accepted")
	}
}

func TestRender(t *testing.T) {
	tests := []struct {
		name     string
		changes  map[string]string
		ks       string // namespace/name
		opts     RenderOptions
		objects  []string                        // IDs in output order; nil skips the check
		check    func(t *testing.T, r *Rendered) // more checks
		findings []string                        // substrings, one per finding, in order
		wantErr  string
	}{
		{
			name:    "encrypted secret values become placeholders, configmap values are used",
			ks:      "default/echo",
			changes: map[string]string{"kubernetes/apps/default/echo/app/httproute.yaml": strings.Replace(baseRepo["kubernetes/apps/default/echo/app/httproute.yaml"], "echo.${SECRET_DOMAIN}", "echo-${CLUSTER_NAME}.${SECRET_DOMAIN}", 1)},
			objects: []string{"HTTPRoute default/echo"},
			check: func(t *testing.T, r *Rendered) {
				o := r.Objects[0]
				if got := o.Unstructured.Object["spec"].(map[string]any)["hostnames"].([]any)[0]; got != "echo-home.var-secret-domain" {
					t.Errorf("hostname %q", got)
				}
				if o.Origin != "kubernetes/apps/default/echo/app/httproute.yaml" {
					t.Errorf("origin %q", o.Origin)
				}
				if strings.Contains(string(o.YAML()), "config.kubernetes.io/origin") {
					t.Error("the origin annotation was not removed")
				}
			},
		},
		{
			name:    "known values from options",
			ks:      "default/echo",
			opts:    RenderOptions{Vars: map[string]string{"SECRET_DOMAIN": "example.org"}},
			objects: []string{"HTTPRoute default/echo"},
			check: func(t *testing.T, r *Rendered) {
				if !strings.Contains(string(r.Objects[0].YAML()), "echo.example.org") {
					t.Errorf("value not substituted:\n%s", r.Objects[0].YAML())
				}
			},
		},
		{
			name: "undefined variable is an error finding and becomes empty",
			ks:   "default/echo",
			changes: map[string]string{"kubernetes/apps/default/echo/app/httproute.yaml": strings.Replace(baseRepo["kubernetes/apps/default/echo/app/httproute.yaml"],
				"echo.${SECRET_DOMAIN}", "echo.${SECRET_DOMAIN_TWO}.${SECRET_DOMAIN}.${WITH_DEFAULT:=x}.$${ESCAPED}", 1)},
			findings: []string{"error: kubernetes/apps/default/echo/app/httproute.yaml: HTTPRoute default/echo: variable ${SECRET_DOMAIN_TWO} is used but defined nowhere"},
			check: func(t *testing.T, r *Rendered) {
				if got := r.Objects[0].Unstructured.Object["spec"].(map[string]any)["hostnames"].([]any)[0]; got != "echo..var-secret-domain.x.${ESCAPED}" {
					t.Errorf("hostname %q", got)
				}
			},
		},
		{
			name: "option names count as defined",
			ks:   "default/echo",
			changes: map[string]string{
				"kubernetes/apps/default/echo/app/httproute.yaml": strings.Replace(baseRepo["kubernetes/apps/default/echo/app/httproute.yaml"], "${SECRET_DOMAIN}", "${SECRET_DOMAIN_TWO}", 1),
			},
			opts: RenderOptions{Names: []string{"SECRET_DOMAIN_TWO"}},
			check: func(t *testing.T, r *Rendered) {
				if !strings.Contains(string(r.Objects[0].YAML()), "echo.var-secret-domain-two") {
					t.Errorf("placeholder missing:\n%s", r.Objects[0].YAML())
				}
			},
		},
		{
			name: "inline substitute overrides substituteFrom; substitution can be disabled per object",
			ks:   "default/echo",
			changes: map[string]string{
				"kubernetes/apps/default/echo/ks.yaml":                strings.Replace(baseRepo["kubernetes/apps/default/echo/ks.yaml"], "    substituteFrom:\n", "    substitute:\n      SECRET_DOMAIN: inline.example\n    substituteFrom:\n", 1),
				"kubernetes/apps/default/echo/app/kustomization.yaml": "resources: [./httproute.yaml, ./script.yaml]\n",
				"kubernetes/apps/default/echo/app/script.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: script
  annotations:
    kustomize.toolkit.fluxcd.io/substitute: disabled
data:
  run.sh: echo ${HOME} ${SECRET_DOMAIN}
`,
			},
			objects: []string{"HTTPRoute default/echo", "ConfigMap default/script"},
			check: func(t *testing.T, r *Rendered) {
				if got := str(t, r.Objects[1].Unstructured, "data", "run.sh"); got != "echo ${HOME} ${SECRET_DOMAIN}" {
					t.Errorf("disabled object was substituted: %q", got)
				}
				if !strings.Contains(string(r.Objects[0].YAML()), "echo.inline.example") {
					t.Errorf("inline value not used:\n%s", r.Objects[0].YAML())
				}
			},
		},
		{
			name: "without postBuild nothing is substituted or reported",
			ks:   "default/echo",
			changes: map[string]string{
				"kubernetes/apps/default/echo/ks.yaml": strings.Replace(baseRepo["kubernetes/apps/default/echo/ks.yaml"],
					"  postBuild:\n    substituteFrom:\n      - name: cluster-secrets\n        kind: Secret\n      - name: cluster-settings\n        kind: ConfigMap\n", "", 1),
			},
			check: func(t *testing.T, r *Rendered) {
				if !strings.Contains(string(r.Objects[0].YAML()), "echo.${SECRET_DOMAIN}") {
					t.Errorf("substituted without postBuild:\n%s", r.Objects[0].YAML())
				}
			},
		},
		{
			name: "substituteStrategy Always applies defaults with no variables defined",
			ks:   "default/echo",
			changes: map[string]string{
				"kubernetes/apps/default/echo/ks.yaml": strings.Replace(baseRepo["kubernetes/apps/default/echo/ks.yaml"],
					"  postBuild:\n    substituteFrom:\n      - name: cluster-secrets\n        kind: Secret\n      - name: cluster-settings\n        kind: ConfigMap\n",
					"  postBuild:\n    substituteStrategy: Always\n", 1),
				"kubernetes/apps/default/echo/app/httproute.yaml": strings.Replace(baseRepo["kubernetes/apps/default/echo/app/httproute.yaml"], "${SECRET_DOMAIN}", "${DOMAIN:=example.org}", 1),
			},
			check: func(t *testing.T, r *Rendered) {
				if !strings.Contains(string(r.Objects[0].YAML()), "echo.example.org") {
					t.Errorf("default not applied:\n%s", r.Objects[0].YAML())
				}
			},
		},
		{
			name: "a substituteFrom source rendered nowhere is a warning",
			ks:   "default/echo",
			changes: map[string]string{
				"kubernetes/apps/default/echo/ks.yaml": strings.Replace(baseRepo["kubernetes/apps/default/echo/ks.yaml"], "name: cluster-settings", "name: cluster-config", 1),
			},
			findings: []string{"warning: kubernetes/apps/default/echo/ks.yaml: postBuild.substituteFrom ConfigMap default/cluster-config is not rendered by any Kustomization of this repository"},
		},
		{
			name: "the namespace-level build: component objects, origins and encryption",
			ks:   "flux-system/cluster-apps",
			// kustomize keeps the input order: resources, then components.
			objects: []string{
				"Namespace default",
				"Kustomization default/echo",
				"Secret default/cluster-secrets",
				"ConfigMap default/cluster-settings",
			},
			check: func(t *testing.T, r *Rendered) {
				sec := objectByID(r, "Secret default/cluster-secrets")
				if !sec.Encrypted || sec.Origin != "kubernetes/components/sops/cluster-secrets.sops.yaml" {
					t.Errorf("secret encrypted %v origin %q", sec.Encrypted, sec.Origin)
				}
				if _, ok := sec.Unstructured.Object["sops"]; ok {
					t.Error("sops metadata kept")
				}
				data := str(t, sec.Unstructured, "data", "SECRET_TOKEN")
				if b, err := base64.StdEncoding.DecodeString(data); err != nil || !strings.HasPrefix(string(b), "ENC[") {
					t.Errorf("encrypted data value %q is not base64 of the ciphertext", data)
				}
				if o := objectByID(r, "ConfigMap default/cluster-settings").Origin; o != "kubernetes/components/sops/cluster-settings.yaml" {
					t.Errorf("component origin %q", o)
				}
			},
		},
		{
			name: "encrypted object without decryption is an error finding",
			ks:   "default/echo",
			changes: map[string]string{
				"kubernetes/apps/default/echo/app/kustomization.yaml": "resources: [./httproute.yaml, ./secret.sops.yaml]\n",
				"kubernetes/apps/default/echo/app/secret.sops.yaml":   baseRepo["kubernetes/components/sops/cluster-secrets.sops.yaml"],
				"kubernetes/flux/cluster/ks.yaml":                     strings.Replace(baseRepo["kubernetes/flux/cluster/ks.yaml"], "          decryption:\n            provider: sops\n", "          wait: false\n", 1),
			},
			findings: []string{"error: kubernetes/apps/default/echo/app/secret.sops.yaml: Secret default/cluster-secrets: object is SOPS-encrypted but the Kustomization has no spec.decryption"},
		},
		{
			name: "generated kustomization, spec fields and commonMetadata",
			ks:   "default/echo",
			changes: map[string]string{
				"kubernetes/apps/default/echo/app/kustomization.yaml": "",
				"kubernetes/apps/default/echo/app/more/deploy.yaml":   "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: echo\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: nginx:1.0\n",
				"kubernetes/apps/default/echo/app/README.md":          "# not a manifest",
				"kubernetes/apps/default/echo/ks.yaml": baseRepo["kubernetes/apps/default/echo/ks.yaml"] + `  namePrefix: my-
  images:
    - name: nginx
      newTag: "2.0"
  commonMetadata:
    labels:
      team: web
  patches:
    - patch: |
        - op: add
          path: /metadata/annotations
          value: {patched: "yes"}
      target:
        kind: HTTPRoute
`,
			},
			// The generated kustomization lists files in walk order.
			objects: []string{"HTTPRoute default/my-echo", "Deployment default/my-echo"},
			check: func(t *testing.T, r *Rendered) {
				dep := r.Objects[1].Unstructured
				c := dep.Object["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)
				if c["image"] != "nginx:2.0" {
					t.Errorf("image %v", c["image"])
				}
				if dep.GetLabels()["team"] != "web" || r.Objects[0].Unstructured.GetLabels()["team"] != "web" {
					t.Error("commonMetadata labels missing")
				}
				if r.Objects[0].Unstructured.GetAnnotations()["patched"] != "yes" {
					t.Error("spec.patches not applied")
				}
				if r.Objects[1].Origin != "kubernetes/apps/default/echo/app/more/deploy.yaml" {
					t.Errorf("origin %q", r.Objects[1].Origin)
				}
			},
		},
		{
			name:    "origin annotations asked for are kept",
			ks:      "default/echo",
			changes: map[string]string{"kubernetes/apps/default/echo/app/kustomization.yaml": "resources: [./httproute.yaml]\nbuildMetadata: [originAnnotations]\n"},
			check: func(t *testing.T, r *Rendered) {
				if r.Objects[0].Unstructured.GetAnnotations()["config.kubernetes.io/origin"] == "" {
					t.Error("the requested origin annotation was removed")
				}
			},
		},
		{
			name:    "missing path",
			ks:      "default/echo",
			changes: map[string]string{"kubernetes/apps/default/echo/app/kustomization.yaml": "", "kubernetes/apps/default/echo/app/httproute.yaml": ""},
			wantErr: `kustomization path not found: "kubernetes/apps/default/echo/app"`,
		},
		{
			name:    "build error names the Kustomization",
			ks:      "default/echo",
			changes: map[string]string{"kubernetes/apps/default/echo/app/kustomization.yaml": "resources: [./nope.yaml]\n"},
			wantErr: "rendering Kustomization default/echo: kustomize build failed",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := repo(tt.changes)
			all, _ := Discover(files, nil)
			parts := strings.SplitN(tt.ks, "/", 2)
			ks := find(t, all, parts[0], parts[1])
			r, err := Render(files, ks, tt.opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if tt.objects != nil {
				var got []string
				for _, o := range r.Objects {
					got = append(got, o.ID())
				}
				if strings.Join(got, ", ") != strings.Join(tt.objects, ", ") {
					t.Errorf("objects %v, want %v", got, tt.objects)
				}
			}
			if len(r.Findings) != len(tt.findings) {
				t.Errorf("findings %v, want %d", r.Findings, len(tt.findings))
			}
			for i, f := range r.Findings {
				if i < len(tt.findings) && !strings.Contains(f.String(), tt.findings[i]) {
					t.Errorf("finding %q, want it to contain %q", f, tt.findings[i])
				}
			}
			if tt.check != nil {
				tt.check(t, r)
			}
		})
	}
}

func TestRenderWithoutDiscover(t *testing.T) {
	files := repo(nil)
	var u unstructured.Unstructured
	objs, err := decodeDocuments([]byte(baseRepo["kubernetes/apps/default/echo/ks.yaml"]))
	if err != nil || len(objs) != 1 {
		t.Fatal(objs, err)
	}
	u = *objs[0]
	ks, err := newKustomization(&u, "kubernetes/apps/default/echo/ks.yaml", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	// The sources of substituteFrom are unknown outside Discover: the
	// options stand in for them.
	r, err := Render(files, ks, RenderOptions{Vars: map[string]string{"SECRET_DOMAIN": "example.org"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Findings) != 0 || !strings.Contains(string(r.Objects[0].YAML()), "echo.example.org") {
		t.Errorf("findings %v, output:\n%s", r.Findings, r.Objects[0].YAML())
	}
	r, err = Render(files, ks, RenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Findings) != 1 || !strings.Contains(r.Findings[0].Message, "${SECRET_DOMAIN}") {
		t.Errorf("findings %v, want one for SECRET_DOMAIN", r.Findings)
	}
}

func TestRenderConcurrently(t *testing.T) {
	files := repo(nil)
	all := discover(t, files)
	// Half the renders reuse Discover's builds, half build again from a
	// changed snapshot.
	changed := repo(map[string]string{"kubernetes/apps/default/namespace.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: default\n"})
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f := files
			if i%2 == 1 {
				f = changed
			}
			_, errs[i] = Render(f, all[(i/2)%len(all)], RenderOptions{})
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// TestRenderAfterChange checks that a render never serves a stale build:
// Discover keeps its builds, and a later render of a changed snapshot or a
// changed Kustomization object must build again.
func TestRenderAfterChange(t *testing.T) {
	files := repo(nil)
	all := discover(t, files)
	echo := find(t, all, "default", "echo")
	hostname := func(f Files, ks *Kustomization) string {
		t.Helper()
		r, err := Render(f, ks, RenderOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return r.Objects[0].Unstructured.Object["spec"].(map[string]any)["hostnames"].([]any)[0].(string)
	}
	if got := hostname(files, echo); got != "echo.var-secret-domain" {
		t.Fatalf("hostname %q", got)
	}
	edited := repo(map[string]string{"kubernetes/apps/default/echo/app/httproute.yaml": strings.Replace(baseRepo["kubernetes/apps/default/echo/app/httproute.yaml"], "echo.", "edited.", 1)})
	if got := hostname(edited, echo); got != "edited.var-secret-domain" {
		t.Errorf("after editing the file: hostname %q", got)
	}
	added := repo(map[string]string{
		"kubernetes/apps/default/echo/app/kustomization.yaml": "",
		"kubernetes/apps/default/echo/app/z.yaml":             "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: z\n",
	})
	r, err := Render(added, echo, RenderOptions{})
	if err != nil || len(r.Objects) != 2 {
		t.Errorf("after replacing the kustomization by a generated one: %v objects, err %v", len(r.Objects), err)
	}
	original := echo.Object
	echo.Object = original.DeepCopy()
	if err := unstructured.SetNestedField(echo.Object.Object, "elsewhere", "spec", "targetNamespace"); err != nil {
		t.Fatal(err)
	}
	r, err = Render(files, echo, RenderOptions{})
	if err != nil || r.Objects[0].Unstructured.GetNamespace() != "elsewhere" {
		t.Errorf("after changing the object: %v, err %v", r.Objects[0].ID(), err)
	}
	echo.Object = original
	// And the original still renders from its build.
	if got := hostname(files, echo); got != "echo.var-secret-domain" {
		t.Errorf("hostname %q", got)
	}
}

func TestPlaceholder(t *testing.T) {
	if got := Placeholder("SECRET_DOMAIN_TWO"); got != "var-secret-domain-two" {
		t.Errorf("Placeholder = %q", got)
	}
}

func TestFilesFS(t *testing.T) {
	files := Files{
		"a/b.yaml":      []byte("x"),
		"./c.yaml":      []byte("c"),
		"../escape":     []byte("no"),
		"/abs":          []byte("no"),
		"d/../e/f.yaml": []byte("f"),
	}
	fs := files.FS()
	for _, p := range []string{"/a/b.yaml", "/c.yaml", "/e/f.yaml"} {
		if !fs.Exists(p) {
			t.Errorf("%s missing", p)
		}
	}
	for _, p := range []string{"/escape", "/abs", "/../escape"} {
		if fs.Exists(p) {
			t.Errorf("%s exists", p)
		}
	}
	names, _ := fs.ReadDir("/")
	sort.Strings(names)
	if strings.Join(names, ",") != "a,c.yaml,e" {
		t.Errorf("root holds %v", names)
	}
	if err := fs.WriteFile("/a/b.yaml", []byte("changed")); err != nil {
		t.Fatal(err)
	}
	if string(files["a/b.yaml"]) != "x" || string(mustRead(t, files.FS(), "/a/b.yaml")) != "x" {
		t.Error("writing to one file system changed the snapshot")
	}
}

func mustRead(t *testing.T, fs interface{ ReadFile(string) ([]byte, error) }, p string) []byte {
	t.Helper()
	b, err := fs.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
