package helm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"

	"github.com/gen-gitops/gen/internal/helm/chartcache"
	"github.com/gen-gitops/gen/internal/helm/fetch"
	"github.com/gen-gitops/gen/internal/helm/helmtest"
	"github.com/gen-gitops/gen/internal/helm/render"
	"github.com/gen-gitops/gen/internal/helm/schema"
	"github.com/gen-gitops/gen/internal/helm/source"
	"github.com/gen-gitops/gen/internal/helm/values"
	"github.com/gen-gitops/gen/internal/rendercache"
)

// TestMain lets this test binary serve as its own render worker.
func TestMain(m *testing.M) {
	if render.IsWorker() {
		os.Exit(render.ServeWorker(os.Stdin, os.Stdout))
	}
	os.Exit(m.Run())
}

// world is one run of gen: caches on disk (shared between runs of a
// test), a door with a policy, a sandbox.
type world struct {
	charts  *chartcache.Cache
	renders *rendercache.Cache
}

func newWorld(t *testing.T) *world {
	t.Helper()
	charts, err := chartcache.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	renders, err := rendercache.Open(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	return &world{charts: charts, renders: renders}
}

type runOptions struct {
	hosts   []string
	offline bool
	limits  render.Limits
	schema  schema.Limits
	fetch   fetch.Limits
}

// engine starts one run.
func (w *world) engine(t *testing.T, o runOptions) *Engine {
	t.Helper()
	p, err := fetch.NewPolicy(o.hosts...)
	if err != nil {
		t.Fatal(err)
	}
	client, err := fetch.New(fetch.Options{Policy: p, Cache: w.charts, Offline: o.offline, Limits: o.fetch})
	if err != nil {
		t.Fatal(err)
	}
	sb, err := render.NewSandbox(render.SandboxOptions{Limits: o.limits, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sb.Close() })
	e, err := New(Options{Client: client, Renderer: sb, Cache: w.renders, SchemaLimits: o.schema})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func decode[T any](t testing.TB, doc string) *T {
	t.Helper()
	var v T
	if err := yaml.UnmarshalStrict([]byte(doc), &v); err != nil {
		t.Fatalf("fixture: %v\n%s", err, doc)
	}
	return &v
}

// appInput is a HelmRelease of AppChart from an OCIRepository on reg, with
// part of its values in a ConfigMap, as a repository would hold it.
func appInput(t testing.TB, ociURL, tag, hostname string) Input {
	t.Helper()
	repo := decode[sourcev1.OCIRepository](t, fmt.Sprintf(`
apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata: {name: app-chart, namespace: default}
spec:
  interval: 1h
  url: %s
  ref: {tag: %q}
  layerSelector:
    mediaType: application/vnd.cncf.helm.chart.content.v1.tar+gzip
    operation: copy
`, ociURL, tag))
	hr := decode[helmv2.HelmRelease](t, fmt.Sprintf(`
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: whoami, namespace: default}
spec:
  interval: 1h
  chartRef: {kind: OCIRepository, name: app-chart}
  valuesFrom:
    - kind: ConfigMap
      name: whoami-values
  values:
    controllers:
      main:
        containers:
          app:
            image: {repository: ghcr.io/traefik/whoami, tag: v1.11.0}
    route:
      app:
        hostnames: [%q]
        parentRefs: [{name: envoy-external, namespace: network, sectionName: https}]
        rules: [{backendRefs: [{identifier: app, port: 80}]}]
`, hostname))
	res := values.NewResources()
	if err := res.Add(map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "whoami-values", "namespace": "default"},
		"data":     map[string]any{"values.yaml": "service:\n  app:\n    controller: main\n    ports:\n      http: {port: 80}\n"},
	}); err != nil {
		t.Fatal(err)
	}
	return Input{Release: hr, Sources: source.NewObjects(repo), Resources: res}
}

func TestEngineRendersAndCaches(t *testing.T) {
	reg := helmtest.StartRegistry(t)
	archive := helmtest.Package("app-chart", helmtest.AppChart("1.2.0", helmtest.AppChartOptions{}))
	digest := reg.PushChart(t, "charts/app-chart", "1.2.0", archive)
	in := appInput(t, "oci://"+reg.Host+"/charts/app-chart", "1.2.0", "whoami.example.org")
	w := newWorld(t)
	ctx := context.Background()

	out, err := w.engine(t, runOptions{hosts: []string{reg.Host}}).Render(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if out.Cached {
		t.Error("first render came from the cache")
	}
	short := strings.TrimPrefix(digest, "sha256:")[:12]
	if out.Result.Version != "1.2.0+"+short || out.Chart.Revision != "oci://"+reg.Host+"/charts/app-chart:1.2.0@"+digest {
		t.Errorf("chart %s from %s", out.Result.Version, out.Chart.Revision)
	}
	for _, want := range []string{
		"kind: Deployment", "kind: Service", "kind: HTTPRoute",
		"image: ghcr.io/traefik/whoami:v1.11.0", "- whoami.example.org",
		"helm.sh/chart: app-chart-1.2.0_" + short,
		"helm.toolkit.fluxcd.io/name: whoami",
		"port: 80",
	} {
		if !strings.Contains(out.Result.Manifest, want) {
			t.Errorf("manifest lacks %q:\n%s", want, out.Result.Manifest)
		}
	}

	// The next run renders nothing and asks the network nothing.
	before := reg.Requests()
	again, err := w.engine(t, runOptions{hosts: []string{reg.Host}}).Render(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Cached || again.Result.Manifest != out.Result.Manifest {
		t.Errorf("second run: cached %v", again.Cached)
	}
	if reg.Requests() != before {
		t.Errorf("a warm run made %d requests", reg.Requests()-before)
	}

	// A values change renders again; offline works from the cache.
	changed := appInput(t, "oci://"+reg.Host+"/charts/app-chart", "1.2.0", "whoami.example.net")
	off, err := w.engine(t, runOptions{hosts: []string{reg.Host}, offline: true}).Render(ctx, changed)
	if err != nil {
		t.Fatal(err)
	}
	if off.Cached || !strings.Contains(off.Result.Manifest, "whoami.example.net") {
		t.Errorf("changed values: cached %v", off.Cached)
	}
	if reg.Requests() != before {
		t.Errorf("offline made %d requests", reg.Requests()-before)
	}
}

func TestEngineOfflineSaysWhatIsMissing(t *testing.T) {
	reg := helmtest.StartRegistry(t)
	reg.PushChart(t, "charts/app-chart", "1.2.0", helmtest.Package("app-chart", helmtest.AppChart("1.2.0", helmtest.AppChartOptions{})))
	in := appInput(t, "oci://"+reg.Host+"/charts/app-chart", "1.2.0", "whoami.example.org")
	_, err := newWorld(t).engine(t, runOptions{hosts: []string{reg.Host}, offline: true}).Render(context.Background(), in)
	what, ok := Missing(err)
	if !ok || what != "oci://"+reg.Host+"/charts/app-chart:1.2.0" {
		t.Errorf("offline with an empty cache: %v", err)
	}
}

func TestEngineSchemaWeb(t *testing.T) {
	reg := helmtest.StartRegistry(t)
	schemas := helmtest.StartChartRepo(t)
	for name, body := range helmtest.AppSchema() {
		schemas.File("/app/"+name, []byte(body))
	}
	archive := helmtest.Package("app-chart", helmtest.AppChart("1.2.0", helmtest.AppChartOptions{SchemaRef: schemas.URL + "/app/values.schema.json"}))
	reg.PushChart(t, "charts/app-chart", "1.2.0", archive)
	ctx := context.Background()

	good := appInput(t, "oci://"+reg.Host+"/charts/app-chart", "1.2.0", "whoami.example.org")
	bad := appInput(t, "oci://"+reg.Host+"/charts/app-chart", "1.2.0", "whoami.example.org")
	var vals map[string]any
	_ = yaml.Unmarshal(bad.Release.Spec.Values.Raw, &vals)
	vals["controllers"].(map[string]any)["main"].(map[string]any)["containers"].(map[string]any)["app"].(map[string]any)["imagePullPolicy"] = "Always"
	raw, _ := yaml.Marshal(vals)
	js, _ := yaml.YAMLToJSON(raw)
	bad.Release.Spec.Values = &apiextensionsv1.JSON{Raw: js}

	// The schema's host is allowed: the web of relative $refs is fetched
	// and the values are checked.
	w := newWorld(t)
	e := w.engine(t, runOptions{hosts: []string{reg.Host, schemas.Host}})
	out, err := e.Render(ctx, good)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Notes) != 0 {
		t.Errorf("notes: %v", out.Notes)
	}
	_, err = e.Render(ctx, bad)
	var rerr *render.Error
	if !errors.As(err, &rerr) || rerr.Stage != render.StageSchema || !strings.Contains(err.Error(), "imagePullPolicy") {
		t.Fatalf("want a schema error, got %v", err)
	}

	// Not allowed: nothing is fetched from it, and the check is skipped
	// with a note saying why.
	before := schemas.Requests()
	out, err = newWorld(t).engine(t, runOptions{hosts: []string{reg.Host}}).Render(ctx, bad)
	if err != nil {
		t.Fatal(err)
	}
	if schemas.Requests() != before {
		t.Errorf("the schema host was reached %d times", schemas.Requests()-before)
	}
	if len(out.Notes) != 1 || !strings.Contains(out.Notes[0], "not checked") || !strings.Contains(out.Notes[0], "not one gen fetches from") {
		t.Errorf("notes: %v", out.Notes)
	}
}

// The hostile cases of a pull request against the Helm side of gen.
func TestEngineHostile(t *testing.T) {
	ctx := context.Background()

	t.Run("chart URL the pull request introduces", func(t *testing.T) {
		trusted := helmtest.StartRegistry(t)
		evil := helmtest.StartRegistry(t)
		evil.PushChart(t, "charts/app-chart", "1.2.0", helmtest.Package("app-chart", helmtest.AppChart("1.2.0", helmtest.AppChartOptions{})))
		setup := evil.Requests()
		// The base revision uses only the trusted registry.
		base := source.Hosts([]any{decode[sourcev1.OCIRepository](t, "spec: {url: oci://"+trusted.Host+"/charts/app-chart}")})
		in := appInput(t, "oci://"+evil.Host+"/charts/app-chart", "1.2.0", "x.example.org")
		_, err := newWorld(t).engine(t, runOptions{hosts: base}).Render(ctx, in)
		var he *fetch.HostError
		if !errors.As(err, &he) {
			t.Fatalf("want a HostError, got %v", err)
		}
		if evil.Requests() != setup {
			t.Errorf("the introduced host received %d requests", evil.Requests()-setup)
		}
	})

	t.Run("a 2 GB chart", func(t *testing.T) {
		repo := helmtest.StartChartRepo(t)
		repo.Add(t, helmtest.Package("huge", helmtest.SimpleChart("huge", "1.0.0")))
		endless := &helmtest.Endless{N: 2 << 30}
		repo.Handle("/charts/huge-1.0.0.tgz", endless)
		repo.Entry("huge", "1.0.0").Digest = ""
		hr := decode[helmv2.HelmRelease](t, `
metadata: {name: huge, namespace: default}
spec:
  chart:
    spec:
      chart: huge
      version: 1.0.0
      sourceRef: {kind: HelmRepository, name: charts}
`)
		src := decode[sourcev1.HelmRepository](t, "metadata: {name: charts, namespace: default}\nspec: {url: "+repo.URL+"}")
		_, err := newWorld(t).engine(t, runOptions{hosts: []string{repo.Host}, fetch: fetch.Limits{Chart: 4 << 20}}).
			Render(ctx, Input{Release: hr, Sources: source.NewObjects(src)})
		var se *fetch.SizeError
		if !errors.As(err, &se) {
			t.Fatalf("want a SizeError, got %v", err)
		}
		time.Sleep(50 * time.Millisecond)
		if sent := endless.Sent.Load(); sent > 64<<20 {
			t.Errorf("%d bytes were sent for a 4 MB budget", sent)
		}
	})

	t.Run("a template that recurses", func(t *testing.T) {
		reg := helmtest.StartRegistry(t)
		files := helmtest.AppChart("1.2.0", helmtest.AppChartOptions{})
		var b strings.Builder
		for i := 0; i < 50; i++ {
			fmt.Fprintf(&b, `{{- define "r%d" -}}{{ include "r%d" . }}{{ include "r%d" . }}{{- end -}}`+"\n", i, i+1, i+1)
		}
		b.WriteString(`{{- define "r50" -}}x{{- end -}}` + "\n# {{ include \"r0\" . | len }}\n")
		files["templates/recurse.yaml"] = b.String()
		reg.PushChart(t, "charts/app-chart", "1.2.0", helmtest.Package("app-chart", files))
		in := appInput(t, "oci://"+reg.Host+"/charts/app-chart", "1.2.0", "x.example.org")
		w := newWorld(t)
		_, err := w.engine(t, runOptions{hosts: []string{reg.Host}, limits: render.Limits{Time: 2 * time.Second}}).Render(ctx, in)
		var rerr *render.Error
		if !errors.As(err, &rerr) || rerr.Stage != render.StageBudget {
			t.Fatalf("want the render budget, got %v", err)
		}
		if w.renders.Len("helm") != 0 {
			t.Error("a render stopped by its budget was cached")
		}
	})

	t.Run("a schema bomb", func(t *testing.T) {
		// A web of schema documents each referring to two more: the
		// document budget stops the fetching, and the check is skipped.
		reg := helmtest.StartRegistry(t)
		web := helmtest.StartServer(t, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			var n int
			fmt.Sscanf(strings.TrimPrefix(r.URL.Path, "/d"), "%d", &n)
			fmt.Fprintf(rw, `{"allOf": [{"$ref": "d%d.json"}, {"$ref": "d%d.json"}]}`, 2*n+1, 2*n+2)
		}))
		archive := helmtest.Package("app-chart", helmtest.AppChart("1.2.0", helmtest.AppChartOptions{SchemaRef: web.URL + "/d0.json"}))
		reg.PushChart(t, "charts/app-chart", "1.2.0", archive)
		in := appInput(t, "oci://"+reg.Host+"/charts/app-chart", "1.2.0", "x.example.org")
		before := web.Requests()
		out, err := newWorld(t).engine(t, runOptions{hosts: []string{reg.Host, web.Host}, schema: schema.Limits{Documents: 20}}).Render(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if n := web.Requests() - before; n > 20 {
			t.Errorf("%d schema documents fetched for a budget of 20", n)
		}
		if len(out.Notes) == 0 || !strings.Contains(strings.Join(out.Notes, "\n"), "budget") {
			t.Errorf("notes: %v", out.Notes)
		}
	})
}
