package helm

import (
	"context"
	"testing"

	"github.com/gen-gitops/gen/internal/helm/chartcache"
	"github.com/gen-gitops/gen/internal/helm/fetch"
	"github.com/gen-gitops/gen/internal/helm/helmtest"
	"github.com/gen-gitops/gen/internal/helm/render"
	"github.com/gen-gitops/gen/internal/rendercache"
)

// The render of one app-template-shaped HelmRelease (a Deployment, a
// Service and an HTTPRoute), chart in the chart cache:
//
//	go test ./internal/helm -run '^$' -bench Render -benchtime 200x
//
// InProcess is Helm's work alone; Sandbox adds the worker round trip
// (workers already started); Cold adds the engine's source resolution,
// values and schema steps with an empty render cache; Warm is a render
// cache hit; WorkerStart is the one-off cost of a worker process.

func benchEngine(b *testing.B, renderer Renderer, renders *rendercache.Cache) (*Engine, Input) {
	b.Helper()
	reg := helmtest.StartRegistry(b)
	reg.PushChart(b, "charts/app-chart", "1.2.0", helmtest.Package("app-chart", helmtest.AppChart("1.2.0", helmtest.AppChartOptions{})))
	charts, err := chartcache.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	p, _ := fetch.NewPolicy(reg.Host)
	client, err := fetch.New(fetch.Options{Policy: p, Cache: charts})
	if err != nil {
		b.Fatal(err)
	}
	e, err := New(Options{Client: client, Renderer: renderer, Cache: renders})
	if err != nil {
		b.Fatal(err)
	}
	in := appInput(b, "oci://"+reg.Host+"/charts/app-chart", "1.2.0", "whoami.example.org")
	// Fill the chart cache.
	if _, err := e.Render(context.Background(), in); err != nil {
		b.Fatal(err)
	}
	return e, in
}

func sandbox(b *testing.B) *render.Sandbox {
	b.Helper()
	sb, err := render.NewSandbox(render.SandboxOptions{Workers: 1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = sb.Close() })
	return sb
}

func BenchmarkRenderInProcess(b *testing.B) {
	e, in := benchEngine(b, InProcess{}, nil)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := e.Render(context.Background(), in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRenderSandboxCold(b *testing.B) {
	e, in := benchEngine(b, sandbox(b), nil)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := e.Render(context.Background(), in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRenderWarm(b *testing.B) {
	renders, err := rendercache.Open(b.TempDir(), 0)
	if err != nil {
		b.Fatal(err)
	}
	e, in := benchEngine(b, sandbox(b), renders)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out, err := e.Render(context.Background(), in)
		if err != nil {
			b.Fatal(err)
		}
		if !out.Cached {
			b.Fatal("not a cache hit")
		}
	}
}

func BenchmarkRenderWorkerStart(b *testing.B) {
	req := &render.Request{
		Release: appInput(b, "oci://example.invalid/x", "1", "x.example.org").Release,
		Chart:   render.Chart{Archive: helmtest.Package("simple", helmtest.SimpleChart("simple", "0.1.0"))},
	}
	for i := 0; i < b.N; i++ {
		sb, err := render.NewSandbox(render.SandboxOptions{Workers: 1})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := sb.Render(context.Background(), req); err != nil {
			b.Fatal(err)
		}
		_ = sb.Close()
	}
}
