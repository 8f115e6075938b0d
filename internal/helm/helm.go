// Package helm renders HelmReleases the way helm-controller does, for
// gen's check, diff and promote.
//
// For one HelmRelease, Engine.Render:
//
//  1. finds its chart as source-controller would (package source), from
//     the source objects of the rendered repository;
//  2. fetches it through gen's one door to the network (package fetch:
//     a host policy, per-host credentials, size budgets, digests
//     verified) into the chart cache, or reads it from the cache alone
//     when offline, or from the repository itself for a chart in git;
//  3. composes the values with Flux's own code (package values), from
//     the repository's ConfigMaps and Secrets, SOPS ciphertext left as
//     placeholders;
//  4. fetches the remote documents the chart's values.schema.json refers
//     to, under the same policy (package schema);
//  5. renders with Helm v4 in a sandboxed worker process (package
//     render), or answers from the render cache when nothing it read
//     has changed (package rendercache).
//
// Nothing here reads the user's files, runs a program from the chart or
// the repository, or talks to a cluster.
package helm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"sort"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"

	"github.com/gen-gitops/gen/internal/helm/chartfile"
	"github.com/gen-gitops/gen/internal/helm/fetch"
	"github.com/gen-gitops/gen/internal/helm/render"
	"github.com/gen-gitops/gen/internal/helm/schema"
	"github.com/gen-gitops/gen/internal/helm/source"
	"github.com/gen-gitops/gen/internal/helm/values"
	"github.com/gen-gitops/gen/internal/rendercache"
)

// renderVersion changes whenever what the engine renders for the same
// inputs changes (a new Helm, a different post-render chain), so that old
// render cache entries are not reused.
const renderVersion = "helm-v4.3.2/flux-2.10/1"

// Renderer renders one chart: a *render.Sandbox, or RenderInProcess for
// trusted input.
type Renderer interface {
	Render(ctx context.Context, req *render.Request) (*render.Result, error)
}

// InProcess renders in this process, without time or memory bounds.
type InProcess struct{}

// Render implements Renderer.
func (InProcess) Render(ctx context.Context, req *render.Request) (*render.Result, error) {
	return render.Render(ctx, req)
}

// Options configure an Engine.
type Options struct {
	// Client fetches charts and schema documents. Required for charts
	// that are not in the repository.
	Client *fetch.Client
	// Renderer renders; a Sandbox for anything from a pull request.
	Renderer Renderer
	// Cache, if set, keeps renders by the content of their inputs.
	Cache *rendercache.Cache
	// KubeVersion and APIVersions are what charts see of the cluster
	// (render.DefaultKubeVersion when empty).
	KubeVersion string
	APIVersions []string
	// Repository and Self serve charts kept in the repository itself (see
	// source.Resolver).
	Repository fs.FS
	Self       func(source.ObjectRef) bool
	// ChartLimits and SchemaLimits bound what is read.
	ChartLimits  chartfile.Limits
	SchemaLimits schema.Limits
}

// Engine renders HelmReleases. It is safe for concurrent use.
type Engine struct {
	opts     Options
	resolver *source.Resolver
}

// New builds an Engine.
func New(opts Options) (*Engine, error) {
	if opts.Renderer == nil {
		return nil, errors.New("helm: a renderer is required")
	}
	return &Engine{
		opts: opts,
		resolver: &source.Resolver{
			Client: opts.Client, Repository: opts.Repository, Self: opts.Self, Limits: opts.ChartLimits,
		},
	}, nil
}

// Input is one HelmRelease and what it may refer to.
type Input struct {
	Release *helmv2.HelmRelease
	// Sources are the repository's OCIRepositories, HelmRepositories,
	// HelmCharts and GitRepositories.
	Sources *source.Objects
	// Resources are the repository's ConfigMaps and Secrets (valuesFrom).
	Resources *values.Resources
	// Upgrade renders as an upgrade of an installed release.
	Upgrade bool
}

// Chart describes the chart that was rendered.
type Chart struct {
	Name, Version string
	// Digest identifies its content; Revision says where it came from.
	Digest, Revision string
	// Source is the Flux object it came from.
	Source source.ObjectRef
}

// Output is a rendered HelmRelease.
type Output struct {
	Result *render.Result
	Chart  Chart
	// Notes are things the reader should know that are not errors: a
	// schema not checked and why, values left out because they are
	// encrypted.
	Notes []string
	// Cached says the result came from the render cache.
	Cached bool
}

// Stage says where rendering a HelmRelease failed.
type Stage string

// Stages, in order.
const (
	StageSource Stage = "source" // the chart could not be found or fetched
	StageValues Stage = "values" // valuesFrom could not be resolved
	StageRender Stage = "render" // see the wrapped *render.Error
)

// Error is a HelmRelease that could not be rendered.
type Error struct {
	Stage Stage
	Err   error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Missing says whether err is a chart or document an offline run lacks,
// and names it.
func Missing(err error) (string, bool) {
	var m *fetch.MissingError
	if errors.As(err, &m) {
		return m.What, true
	}
	return "", false
}

// Render renders one HelmRelease.
func (e *Engine) Render(ctx context.Context, in Input) (*Output, error) {
	hr := in.Release
	ref, err := source.FromHelmRelease(hr, in.Sources)
	if err != nil {
		return nil, &Error{Stage: StageSource, Err: err}
	}
	art, err := e.resolver.Resolve(ctx, ref)
	if err != nil {
		return nil, &Error{Stage: StageSource, Err: err}
	}
	out := &Output{Chart: Chart{Name: art.Name, Version: art.Version, Digest: art.Digest, Revision: art.Revision, Source: ref.Source}}

	vals, notes, err := values.Compose(ctx, hr, in.Resources)
	for _, n := range notes {
		out.Notes = append(out.Notes, n.Msg)
	}
	if err != nil {
		return nil, &Error{Stage: StageValues, Err: err}
	}

	req := &render.Request{
		Release: hr, Values: vals, Chart: art.Chart,
		KubeVersion: e.opts.KubeVersion, APIVersions: e.opts.APIVersions, Upgrade: in.Upgrade,
	}
	failures := map[string]error{}
	if !schemaDisabled(hr, in.Upgrade) {
		var schemas [][]byte
		for _, c := range art.Summary.Charts {
			if c.Schema != nil {
				schemas = append(schemas, c.Schema)
			}
		}
		if len(schemas) > 0 {
			var fetcher schema.Fetcher = noFetcher{}
			if e.opts.Client != nil {
				fetcher = e.opts.Client
			}
			docs, fails := schema.Prefetch(ctx, schemas, nil, fetcher, e.opts.SchemaLimits)
			req.Schemas = docs
			for _, f := range fails {
				failures[f.URL] = f.Err
			}
		}
	}

	key, keyErr := e.key(req, art)
	if e.opts.Cache != nil && keyErr == nil {
		if data, ok := e.opts.Cache.Get(key); ok {
			var c cached
			if err := json.Unmarshal(data, &c); err == nil {
				out.Cached = true
				if c.Error != nil {
					return nil, &Error{Stage: StageRender, Err: c.Error}
				}
				out.Result = c.Result
				out.Notes = append(out.Notes, skippedNotes(art.Name, c.Result.SchemaSkipped, failures)...)
				return out, nil
			}
		}
	}

	res, err := e.opts.Renderer.Render(ctx, req)
	if err != nil {
		var rerr *render.Error
		if errors.As(err, &rerr) && rerr.Stage != render.StageBudget && e.opts.Cache != nil && keyErr == nil {
			// A template or schema error is as reproducible as a result.
			if data, jerr := json.Marshal(cached{Error: rerr}); jerr == nil {
				_ = e.opts.Cache.Put(key, data)
			}
		}
		return nil, &Error{Stage: StageRender, Err: err}
	}
	if e.opts.Cache != nil && keyErr == nil {
		if data, err := json.Marshal(cached{Result: res}); err == nil {
			_ = e.opts.Cache.Put(key, data)
		}
	}
	out.Result = res
	out.Notes = append(out.Notes, skippedNotes(art.Name, res.SchemaSkipped, failures)...)
	return out, nil
}

type cached struct {
	Result *render.Result `json:"result,omitempty"`
	Error  *render.Error  `json:"error,omitempty"`
}

type noFetcher struct{}

func (noFetcher) Fetch(context.Context, string) ([]byte, error) {
	return nil, errors.New("no fetch client")
}

func schemaDisabled(hr *helmv2.HelmRelease, upgrade bool) bool {
	if upgrade {
		return hr.GetUpgrade().DisableSchemaValidation
	}
	return hr.GetInstall().DisableSchemaValidation
}

// skippedNotes explains schemas that were not checked.
func skippedNotes(chartName string, skipped []string, failures map[string]error) []string {
	var notes []string
	for _, u := range skipped {
		reason := "it was not fetched"
		if err, ok := failures[u]; ok {
			reason = err.Error()
		} else if len(u) > 7 && u[:7] == "file://" {
			reason = "local schema references are not followed"
		}
		notes = append(notes, fmt.Sprintf("values.schema.json of chart %s not checked: %s is unavailable (%s)", chartName, u, reason))
	}
	return notes
}

// releaseInputs are the parts of a HelmRelease the render reads (its
// values are in the composed values).
type releaseInputs struct {
	Name, Namespace              string
	ReleaseName, TargetNamespace string
	Install                      *helmv2.Install
	Upgrade                      *helmv2.Upgrade
	PostRenderers                []helmv2.PostRenderer
	CommonMetadata               *helmv2.CommonMetadata
	PostRenderStrategy           helmv2.PostRenderStrategy
}

// key is the render cache key: every input of the render by content.
func (e *Engine) key(req *render.Request, art *source.Artifact) (string, error) {
	hr := req.Release
	k := rendercache.NewKey("helm").
		AddString("engine", renderVersion).
		AddString("chart", art.Digest).
		AddString("oci-revision", req.Chart.OCIRevision).
		Add("chart-values", req.Chart.Values).
		AddJSON("values-files", req.Chart.ValuesFiles).
		AddJSON("ignore-missing-values-files", req.Chart.IgnoreMissingValuesFiles).
		AddJSON("release", releaseInputs{
			Name: hr.Name, Namespace: hr.Namespace,
			ReleaseName: hr.Spec.ReleaseName, TargetNamespace: hr.Spec.TargetNamespace,
			Install: hr.Spec.Install, Upgrade: hr.Spec.Upgrade,
			PostRenderers: hr.Spec.PostRenderers, CommonMetadata: hr.Spec.CommonMetadata,
			PostRenderStrategy: hr.Spec.PostRenderStrategy,
		}).
		AddJSON("values", req.Values).
		AddString("kube-version", kubeVersionOrDefault(req.KubeVersion)).
		AddJSON("api-versions", sortedCopy(req.APIVersions)).
		AddJSON("upgrade", req.Upgrade)
	urls := make([]string, 0, len(req.Schemas))
	for u := range req.Schemas {
		urls = append(urls, u)
	}
	sort.Strings(urls)
	for _, u := range urls {
		k.Add("schema "+u, req.Schemas[u])
	}
	return k.Sum()
}

func kubeVersionOrDefault(v string) string {
	if v == "" {
		return render.DefaultKubeVersion
	}
	return v
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}
