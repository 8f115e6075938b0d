package render

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	kustomizeapi "github.com/fluxcd/pkg/apis/kustomize"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/gen-gitops/gen/internal/helm/helmtest"
	"github.com/gen-gitops/gen/internal/helm/schema"
	"github.com/gen-gitops/gen/internal/testutil"
)

func release(name, namespace string) *helmv2.HelmRelease {
	return &helmv2.HelmRelease{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec:       helmv2.HelmReleaseSpec{Interval: metav1.Duration{}},
	}
}

// object is a rendered document decoded loosely.
type object struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name        string            `json:"name"`
		Namespace   string            `json:"namespace"`
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
	} `json:"metadata"`
	Spec map[string]any `json:"spec"`
	Data map[string]string
}

func objects(t *testing.T, manifest string) []object {
	t.Helper()
	var out []object
	for _, doc := range splitDocuments([]byte(manifest)) {
		var o object
		if err := yaml.Unmarshal(doc, &o); err != nil {
			t.Fatalf("rendered document does not parse: %v\n%s", err, doc)
		}
		var raw struct {
			Data map[string]string `json:"data"`
		}
		_ = yaml.Unmarshal(doc, &raw)
		o.Data = raw.Data
		if o.Kind != "" {
			out = append(out, o)
		}
	}
	return out
}

func find(t *testing.T, objs []object, kind, name string) object {
	t.Helper()
	for _, o := range objs {
		if o.Kind == kind && o.Metadata.Name == name {
			return o
		}
	}
	t.Fatalf("no %s %q among %d rendered objects", kind, name, len(objs))
	return object{}
}

func TestRenderAppChart(t *testing.T) {
	archive := helmtest.Package("app-chart", helmtest.AppChart("1.2.0", helmtest.AppChartOptions{}))
	res, err := Render(context.Background(), &Request{
		Release: release("whoami", "default"),
		Values:  helmtest.AppValues("ghcr.io/traefik/whoami", "v1.11.0", "whoami.example.org"),
		Chart:   Chart{Archive: archive},
	})
	if err != nil {
		t.Fatal(err)
	}
	objs := objects(t, res.Manifest)
	if len(objs) != 3 {
		t.Fatalf("want a Deployment, a Service and an HTTPRoute, got %d objects:\n%s", len(objs), res.Manifest)
	}
	// Helm's install order puts the Service before the Deployment.
	if objs[0].Kind != "Service" || objs[1].Kind != "Deployment" || objs[2].Kind != "HTTPRoute" {
		t.Errorf("objects are not in Helm's install order: %s, %s, %s", objs[0].Kind, objs[1].Kind, objs[2].Kind)
	}
	dep := find(t, objs, "Deployment", "whoami")
	if got := dep.Metadata.Labels["helm.sh/chart"]; got != "app-chart-1.2.0" {
		t.Errorf("helm.sh/chart = %q", got)
	}
	for k, v := range map[string]string{"helm.toolkit.fluxcd.io/name": "whoami", "helm.toolkit.fluxcd.io/namespace": "default"} {
		if dep.Metadata.Labels[k] != v {
			t.Errorf("origin label %s = %q, want %q", k, dep.Metadata.Labels[k], v)
		}
	}
	containers := dep.Spec["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)
	if img := containers[0].(map[string]any)["image"]; img != "ghcr.io/traefik/whoami:v1.11.0" {
		t.Errorf("image = %v", img)
	}
	route := find(t, objs, "HTTPRoute", "whoami")
	if h := route.Spec["hostnames"].([]any)[0]; h != "whoami.example.org" {
		t.Errorf("route hostname = %v", h)
	}
	if !strings.Contains(res.Manifest, "# Source: app-chart/templates/routes.yaml") {
		t.Errorf("manifest lost its source comments:\n%s", res.Manifest)
	}
	if res.Chart != "app-chart" || res.Version != "1.2.0" {
		t.Errorf("chart = %s %s", res.Chart, res.Version)
	}
}

func TestRenderReleaseNameAndNamespace(t *testing.T) {
	archive := helmtest.Package("simple", helmtest.SimpleChart("simple", "0.1.0"))
	tests := []struct {
		name            string
		hr              func() *helmv2.HelmRelease
		wantName, wantN string
	}{
		{"defaults", func() *helmv2.HelmRelease { return release("web", "apps") }, "web", "apps"},
		{"targetNamespace", func() *helmv2.HelmRelease {
			hr := release("web", "apps")
			hr.Spec.TargetNamespace = "prod"
			return hr
		}, "prod-web", "prod"},
		{"releaseName", func() *helmv2.HelmRelease {
			hr := release("web", "apps")
			hr.Spec.ReleaseName = "frontend"
			return hr
		}, "frontend", "apps"},
		{"long name is shortened as helm-controller does", func() *helmv2.HelmRelease {
			hr := release(strings.Repeat("a", 30), "apps")
			hr.Spec.TargetNamespace = strings.Repeat("n", 30)
			return hr
		}, strings.Repeat("n", 30) + "-" + strings.Repeat("a", 9) + "-" + sha256Hex(strings.Repeat("n", 30) + "-" + strings.Repeat("a", 30))[:12], strings.Repeat("n", 30)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Render(context.Background(), &Request{Release: tc.hr(), Chart: Chart{Archive: archive}})
			if err != nil {
				t.Fatal(err)
			}
			cm := objects(t, res.Manifest)[0]
			if cm.Metadata.Name != tc.wantName || cm.Metadata.Namespace != tc.wantN {
				t.Errorf("release %s/%s, want %s/%s", cm.Metadata.Namespace, cm.Metadata.Name, tc.wantN, tc.wantName)
			}
			if len(cm.Metadata.Name) > 53 {
				t.Errorf("release name longer than Helm allows: %d", len(cm.Metadata.Name))
			}
		})
	}
}

func TestRenderValuesAndCapabilities(t *testing.T) {
	archive := helmtest.Package("simple", helmtest.SimpleChart("simple", "0.1.0"))
	res, err := Render(context.Background(), &Request{
		Release:     release("web", "apps"),
		Values:      map[string]any{"greeting": "hi"},
		Chart:       Chart{Archive: archive},
		KubeVersion: "v1.31.4",
		Upgrade:     true,
	})
	if err != nil {
		t.Fatal(err)
	}
	cm := objects(t, res.Manifest)[0]
	want := map[string]string{"greeting": "hi", "replicas": "1", "upgrade": "true", "kube": "v1.31.4"}
	for k, v := range want {
		if cm.Data[k] != v {
			t.Errorf("data.%s = %q, want %q", k, cm.Data[k], v)
		}
	}

	res, err = Render(context.Background(), &Request{Release: release("web", "apps"), Chart: Chart{Archive: archive}})
	if err != nil {
		t.Fatal(err)
	}
	cm = objects(t, res.Manifest)[0]
	if cm.Data["kube"] != DefaultKubeVersion || cm.Data["upgrade"] != "false" {
		t.Errorf("defaults: kube %q upgrade %q", cm.Data["kube"], cm.Data["upgrade"])
	}
}

func TestRenderOCIRevisionInVersion(t *testing.T) {
	archive := helmtest.Package("simple", helmtest.SimpleChart("simple", "0.1.0"))
	digest := "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	res, err := Render(context.Background(), &Request{
		Release: release("web", "apps"),
		Chart:   Chart{Archive: archive, OCIRevision: "0.1.0@" + digest},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Version != "0.1.0+0123456789ab" {
		t.Errorf("version = %q", res.Version)
	}
	if got := objects(t, res.Manifest)[0].Metadata.Labels["helm.sh/chart"]; got != "simple-0.1.0_0123456789ab" {
		t.Errorf("helm.sh/chart = %q", got)
	}
	_, err = Render(context.Background(), &Request{
		Release: release("web", "apps"),
		Chart:   Chart{Archive: archive, OCIRevision: "0.2.0@" + digest},
	})
	var rerr *Error
	if !errors.As(err, &rerr) || rerr.Stage != StageChart || !strings.Contains(err.Error(), "does not match chart version") {
		t.Errorf("a tag that is not the chart's version: %v", err)
	}
}

func TestRenderPostRenderers(t *testing.T) {
	archive := helmtest.Package("app-chart", helmtest.AppChart("1.2.0", helmtest.AppChartOptions{}))
	hr := release("whoami", "default")
	hr.Spec.PostRenderers = []helmv2.PostRenderer{{Kustomize: &helmv2.Kustomize{
		Patches: []kustomizeapi.Patch{{
			Target: &kustomizeapi.Selector{Kind: "Deployment"},
			Patch:  "- op: add\n  path: /metadata/annotations\n  value: {patched: \"yes\"}\n",
		}, {
			Patch: "apiVersion: v1\nkind: Service\nmetadata:\n  name: whoami\n  labels:\n    team: web\n    helm.toolkit.fluxcd.io/name: spoofed\n",
		}},
		Images: []kustomizeapi.Image{{Name: "ghcr.io/traefik/whoami", NewTag: "v2.0.0"}},
	}}}
	hr.Spec.CommonMetadata = &helmv2.CommonMetadata{
		Labels:      map[string]string{"owner": "platform", "helm.toolkit.fluxcd.io/namespace": "spoofed"},
		Annotations: map[string]string{"note": "common"},
	}
	res, err := Render(context.Background(), &Request{
		Release: hr,
		Values:  helmtest.AppValues("ghcr.io/traefik/whoami", "v1.11.0", "whoami.example.org"),
		Chart:   Chart{Archive: archive},
	})
	if err != nil {
		t.Fatal(err)
	}
	objs := objects(t, res.Manifest)
	dep := find(t, objs, "Deployment", "whoami")
	if dep.Metadata.Annotations["patched"] != "yes" {
		t.Errorf("JSON6902 patch not applied: %v", dep.Metadata.Annotations)
	}
	if dep.Metadata.Annotations["note"] != "common" || dep.Metadata.Labels["owner"] != "platform" {
		t.Errorf("common metadata not applied: %v %v", dep.Metadata.Labels, dep.Metadata.Annotations)
	}
	containers := dep.Spec["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)
	if img := containers[0].(map[string]any)["image"]; img != "ghcr.io/traefik/whoami:v2.0.0" {
		t.Errorf("image override not applied: %v", img)
	}
	svc := find(t, objs, "Service", "whoami")
	if svc.Metadata.Labels["team"] != "web" {
		t.Errorf("strategic merge patch not applied: %v", svc.Metadata.Labels)
	}
	// The origin labels come last and win over both a patch and the
	// common labels.
	if svc.Metadata.Labels["helm.toolkit.fluxcd.io/name"] != "whoami" || svc.Metadata.Labels["helm.toolkit.fluxcd.io/namespace"] != "default" {
		t.Errorf("origin labels overridden: %v", svc.Metadata.Labels)
	}
}

func TestRenderCRDsPerPolicy(t *testing.T) {
	files := helmtest.SimpleChart("withcrds", "0.1.0")
	files["crds/widgets.yaml"] = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.org
spec:
  group: example.org
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema: {openAPIV3Schema: {type: object}}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: not-a-crd
`
	archive := helmtest.Package("withcrds", files)
	for _, tc := range []struct {
		policy  helmv2.CRDsPolicy
		upgrade bool
		want    bool
	}{
		{"", false, true}, {helmv2.Create, false, true}, {helmv2.CreateReplace, false, true}, {helmv2.Skip, false, false},
		{"", true, false}, {helmv2.CreateReplace, true, true},
	} {
		hr := release("web", "apps")
		hr.Spec.Install = &helmv2.Install{CRDs: tc.policy}
		hr.Spec.Upgrade = &helmv2.Upgrade{CRDs: tc.policy}
		res, err := Render(context.Background(), &Request{Release: hr, Chart: Chart{Archive: archive}, Upgrade: tc.upgrade})
		if err != nil {
			t.Fatal(err)
		}
		crds := objects(t, res.CRDs)
		if !tc.want {
			if len(crds) != 0 {
				t.Errorf("policy %q upgrade %v: CRDs listed", tc.policy, tc.upgrade)
			}
			continue
		}
		if len(crds) != 1 || crds[0].Kind != "CustomResourceDefinition" {
			t.Fatalf("policy %q upgrade %v: want the one CRD and not the ConfigMap, got %+v", tc.policy, tc.upgrade, crds)
		}
		if crds[0].Metadata.Labels["helm.toolkit.fluxcd.io/name"] != "web" {
			t.Errorf("CRD without origin labels: %v", crds[0].Metadata.Labels)
		}
		if strings.Contains(res.Manifest, "CustomResourceDefinition") {
			t.Errorf("CRDs belong in Result.CRDs, not in the release manifest")
		}
	}
}

func TestRenderHooks(t *testing.T) {
	files := helmtest.SimpleChart("hooks", "0.1.0")
	files["templates/job.yaml"] = `apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
  annotations:
    helm.sh/hook: pre-install,pre-upgrade
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: m, image: busybox}]
`
	archive := helmtest.Package("hooks", files)
	res, err := Render(context.Background(), &Request{Release: release("web", "apps"), Chart: Chart{Archive: archive}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Hooks) != 1 || res.Hooks[0].Kind != "Job" || strings.Join(res.Hooks[0].Events, ",") != "pre-install,pre-upgrade" {
		t.Fatalf("hooks = %+v", res.Hooks)
	}
	if !strings.Contains(res.Hooks[0].Manifest, "helm.toolkit.fluxcd.io/name: web") {
		t.Errorf("Helm 4 sends hooks through the post-renderers too:\n%s", res.Hooks[0].Manifest)
	}
	if strings.Contains(res.Manifest, "kind: Job") {
		t.Errorf("a hook is not part of the release manifest")
	}
	hr := release("web", "apps")
	hr.Spec.Install = &helmv2.Install{DisableHooks: true}
	res, err = Render(context.Background(), &Request{Release: hr, Chart: Chart{Archive: archive}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Hooks) != 0 {
		t.Errorf("install.disableHooks: hooks = %+v", res.Hooks)
	}
}

func TestRenderHasNoClusterNoDNS(t *testing.T) {
	files := helmtest.SimpleChart("probe", "0.1.0")
	files["templates/probe.yaml"] = `apiVersion: v1
kind: ConfigMap
metadata:
  name: probe
data:
  lookup: {{ if lookup "v1" "Secret" "kube-system" "anything" }}"found"{{ else }}"empty"{{ end }}
  dns: {{ getHostByName "localhost" | quote }}
`
	res, err := Render(context.Background(), &Request{Release: release("web", "apps"), Chart: Chart{Archive: helmtest.Package("probe", files)}})
	if err != nil {
		t.Fatal(err)
	}
	probe := find(t, objects(t, res.Manifest), "ConfigMap", "probe")
	if probe.Data["lookup"] != "empty" || probe.Data["dns"] != "" {
		t.Errorf("lookup %q, getHostByName %q: want nothing from either", probe.Data["lookup"], probe.Data["dns"])
	}
}

func TestRenderTemplateErrors(t *testing.T) {
	tests := map[string]struct {
		template string
		want     string
	}{
		"fail":      {`{{ fail "no way" }}`, "no way"},
		"required":  {`{{ required "image.tag is required" .Values.image }}`, "image.tag is required"},
		"recursion": {`{{ define "loop" }}{{ include "loop" . }}{{ end }}{{ include "loop" . }}`, "nested reference"},
		"bad yaml":  {"kind: ConfigMap\n  bad: [", "YAML"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			files := helmtest.SimpleChart("broken", "0.1.0")
			files["templates/broken.yaml"] = tc.template
			_, err := Render(context.Background(), &Request{Release: release("web", "apps"), Chart: Chart{Archive: helmtest.Package("broken", files)}})
			var rerr *Error
			if !errors.As(err, &rerr) || rerr.Stage != StageTemplate {
				t.Fatalf("want a template error, got %v", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

func TestRenderSchema(t *testing.T) {
	base := "https://schemas.example.org/app/"
	docs := schema.Documents{}
	for name, body := range helmtest.AppSchema() {
		docs[base+name] = []byte(body)
	}
	archive := helmtest.Package("app-chart", helmtest.AppChart("1.2.0", helmtest.AppChartOptions{SchemaRef: base + "values.schema.json"}))
	good := helmtest.AppValues("ghcr.io/traefik/whoami", "v1.11.0", "whoami.example.org")
	bad := helmtest.AppValues("ghcr.io/traefik/whoami", "v1.11.0", "whoami.example.org")
	bad["controllers"].(map[string]any)["main"].(map[string]any)["containers"].(map[string]any)["app"].(map[string]any)["imagePullPolicy"] = "Always"

	res, err := Render(context.Background(), &Request{Release: release("web", "apps"), Values: good, Chart: Chart{Archive: archive}, Schemas: docs})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.SchemaSkipped) != 0 {
		t.Errorf("schema skipped with every document at hand: %v", res.SchemaSkipped)
	}

	_, err = Render(context.Background(), &Request{Release: release("web", "apps"), Values: bad, Chart: Chart{Archive: archive}, Schemas: docs})
	var rerr *Error
	if !errors.As(err, &rerr) || rerr.Stage != StageSchema {
		t.Fatalf("want a schema error, got %v", err)
	}
	for _, want := range []string{"values don't meet the specifications of the schema(s)", "app-chart:", "imagePullPolicy"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("schema error does not say %q:\n%s", want, err)
		}
	}

	// Without the documents the schema is skipped, and says which.
	res, err = Render(context.Background(), &Request{Release: release("web", "apps"), Values: bad, Chart: Chart{Archive: archive}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(res.SchemaSkipped, ",") != base+"values.schema.json" {
		t.Errorf("skipped = %v", res.SchemaSkipped)
	}

	// install.disableSchemaValidation turns it off as in helm-controller.
	hr := release("web", "apps")
	hr.Spec.Install = &helmv2.Install{DisableSchemaValidation: true}
	if _, err := Render(context.Background(), &Request{Release: hr, Values: bad, Chart: Chart{Archive: archive}, Schemas: docs}); err != nil {
		t.Errorf("disableSchemaValidation: %v", err)
	}
}

func TestRenderSchemaLocalRefsNotFollowed(t *testing.T) {
	files := helmtest.AppChart("1.2.0", helmtest.AppChartOptions{Schema: `{"$ref": "file:///etc/passwd"}`})
	res, err := Render(context.Background(), &Request{Release: release("web", "apps"), Chart: Chart{Archive: helmtest.Package("app-chart", files)}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(res.SchemaSkipped, ",") != "file:///etc/passwd" {
		t.Errorf("skipped = %v", res.SchemaSkipped)
	}
	files = helmtest.AppChart("1.2.0", helmtest.AppChartOptions{Schema: `{"$ref": "defs.json"}`})
	res, err = Render(context.Background(), &Request{Release: release("web", "apps"), Chart: Chart{Archive: helmtest.Package("app-chart", files)}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(res.SchemaSkipped, ",") != "file:///defs.json" {
		t.Errorf("a relative reference resolves against Helm's file:///values.schema.json: skipped = %v", res.SchemaSkipped)
	}
}

func TestRenderValuesFromHelmReleaseJSON(t *testing.T) {
	// Values reach the chart as helm-controller decodes them: from the
	// HelmRelease's JSON, numbers as float64.
	hr := release("web", "apps")
	raw, _ := json.Marshal(map[string]any{"replicas": 3})
	hr.Spec.Values = &apiextensionsv1.JSON{Raw: raw}
	archive := helmtest.Package("simple", helmtest.SimpleChart("simple", "0.1.0"))
	res, err := Render(context.Background(), &Request{Release: hr, Values: hr.GetValues(), Chart: Chart{Archive: archive}})
	if err != nil {
		t.Fatal(err)
	}
	if got := objects(t, res.Manifest)[0].Data["replicas"]; got != "3" {
		t.Errorf("replicas = %q", got)
	}
}

// TestDefaultKubeVersionIsGens keeps the default in step with the
// Kubernetes release gen is built with.
func TestDefaultKubeVersionIsGens(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(testutil.ModuleRoot(t), "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*k8s\.io/api v0\.(\d+)\.(\d+)`).FindStringSubmatch(string(data))
	if m == nil {
		t.Fatal("k8s.io/api not in go.mod")
	}
	if want := "v1." + m[1] + "." + m[2]; DefaultKubeVersion != want {
		t.Errorf("DefaultKubeVersion = %s, gen is built with k8s.io/api for %s", DefaultKubeVersion, want)
	}
}
