// Package render renders a Helm chart the way helm-controller installs a
// HelmRelease, without a cluster and without the network.
//
// Render runs Helm v4's install action in client-only dry-run mode with the
// release name, namespace, hooks and schema settings helm-controller
// derives from the HelmRelease; applies helm-controller's post-renderers
// in its order (each kustomize post-renderer's patches and images, then
// commonMetadata, then the helm.toolkit.fluxcd.io origin labels); and
// lists the chart's CRDs when the CRD policy applies them. Helm's `lookup`
// returns nothing (there is no cluster), getHostByName returns nothing (DNS
// is off), and no plugin or post-renderer program is ever run.
//
// values.schema.json is validated as Helm validates it, except that remote
// $ref documents come from Request.Schemas, fetched beforehand under gen's
// host policy; local (file://) references are never followed. A schema
// whose documents are missing is skipped and named in Result.SchemaSkipped.
//
// A template is a program: it can recurse or build gigabytes. Render bounds
// nothing by itself; Sandbox runs it in a child process that is stopped at
// a time and memory budget.
package render

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"path"
	"strings"

	"github.com/Masterminds/semver/v3"
	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	fluxchartutil "github.com/fluxcd/pkg/chartutil"
	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/common"
	commonutil "helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/loader/archive"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	helmrelease "helm.sh/helm/v4/pkg/release/v1"
	"sigs.k8s.io/yaml"

	"github.com/gen-gitops/gen/internal/helm/schema"
)

// DefaultKubeVersion is the Kubernetes version charts see when none is
// given: the newest gen knows, the release of the k8s.io modules it is
// built with.
const DefaultKubeVersion = "v1.37.2"

// File is one file of an unpacked chart, its name relative to the chart's
// folder with forward slashes.
type File struct {
	Name string `json:"name"`
	Data []byte `json:"data"`
}

// Chart is the chart to render: a package (.tgz) or the files of a chart
// folder.
type Chart struct {
	// Archive is a packaged chart, as source-controller serves it.
	Archive []byte `json:"archive,omitempty"`
	// Files is an unpacked chart, as read from a repository.
	Files []File `json:"files,omitempty"`
	// OCIRevision is the revision of the OCIRepository the chart came
	// from ("<tag>@sha256:<hex>" or "sha256:<hex>"). helm-controller
	// appends the first 12 digits of the digest to the chart's version as
	// build metadata, so templates see "4.1.1+abcdef012345"; empty for
	// other sources.
	OCIRevision string `json:"ociRevision,omitempty"`
	// Values, when set, replaces the chart's values.yaml: what
	// source-controller packages when a HelmChart lists valuesFiles of a
	// chart in git (read from the repository's root).
	Values []byte `json:"values,omitempty"`
	// ValuesFiles, for a packaged chart, are files of the chart merged in
	// order into its values, replacing values.yaml (which counts only
	// when listed), as source-controller does for a HelmChart's
	// valuesFiles.
	ValuesFiles []string `json:"valuesFiles,omitempty"`
	// IgnoreMissingValuesFiles skips listed files the chart lacks.
	IgnoreMissingValuesFiles bool `json:"ignoreMissingValuesFiles,omitempty"`
}

// Request is one render.
type Request struct {
	// Release is the HelmRelease: name, namespace, releaseName,
	// targetNamespace, install/upgrade settings, postRenderers and
	// commonMetadata are read from it. Its values are not: see Values.
	Release *helmv2.HelmRelease `json:"release"`
	// Values are the release's values, valuesFrom already merged
	// (values.Compose).
	Values map[string]any `json:"values"`
	Chart  Chart          `json:"chart"`
	// KubeVersion is the Kubernetes version charts see
	// (.Capabilities.KubeVersion); DefaultKubeVersion when empty.
	KubeVersion string `json:"kubeVersion,omitempty"`
	// APIVersions are added to Helm's default set
	// (.Capabilities.APIVersions), as `helm template --api-versions`.
	APIVersions []string `json:"apiVersions,omitempty"`
	// Upgrade renders as helm-controller upgrades an installed release
	// (.Release.IsUpgrade, the upgrade's hooks, schema and CRD settings)
	// instead of as a first install.
	Upgrade bool `json:"upgrade,omitempty"`
	// Schemas holds the remote documents values.schema.json files refer
	// to, by absolute URL.
	Schemas schema.Documents `json:"schemas,omitempty"`
}

// Hook is a chart hook: an object Helm creates around the install rather
// than as part of the release.
type Hook struct {
	// Path is the template it came from, such as "app/templates/job.yaml".
	Path     string   `json:"path"`
	Kind     string   `json:"kind"`
	Name     string   `json:"name"`
	Events   []string `json:"events"`
	Manifest string   `json:"manifest"`
}

// Result is what a chart renders to.
type Result struct {
	// Manifest is the release manifest: every object the chart's templates
	// make, post-rendered, in Helm's install order, each document headed
	// by a "# Source: <template>" comment.
	Manifest string `json:"manifest"`
	// CRDs are the chart's CustomResourceDefinitions (its crds/ folders,
	// subcharts included) when the CRD policy applies them, with the
	// origin labels helm-controller sets; one document each.
	CRDs string `json:"crds,omitempty"`
	// Hooks are the chart's hooks (none when hooks are disabled).
	Hooks []Hook `json:"hooks,omitempty"`
	// Chart and Version name the chart as rendered (Version carries the
	// OCI digest metadata when it applies).
	Chart   string `json:"chart"`
	Version string `json:"version"`
	// SchemaSkipped lists the remote schema documents that were not in
	// Request.Schemas; a chart needing one was not validated.
	SchemaSkipped []string `json:"schemaSkipped,omitempty"`
}

// Stage says where a render failed.
type Stage string

// Stages of a render, in order.
const (
	StageRequest    Stage = "request"
	StageChart      Stage = "chart"
	StageSchema     Stage = "schema"
	StageTemplate   Stage = "template"
	StagePostRender Stage = "post-render"
	StageBudget     Stage = "budget"
)

// Error is a failed render.
type Error struct {
	Stage Stage  `json:"stage"`
	Msg   string `json:"msg"`
}

func (e *Error) Error() string { return e.Msg }

func fail(stage Stage, err error) *Error {
	return &Error{Stage: stage, Msg: err.Error()}
}

// Render renders req in this process. It has no bound of its own on time
// or memory: use a Sandbox for charts or values from untrusted changes.
func Render(ctx context.Context, req *Request) (*Result, error) {
	if req.Release == nil {
		return nil, &Error{Stage: StageRequest, Msg: "render request without a HelmRelease"}
	}
	hr := req.Release
	set := settingsOf(hr, req.Upgrade)

	kubeVersion := req.KubeVersion
	if kubeVersion == "" {
		kubeVersion = DefaultKubeVersion
	}
	kv, err := common.ParseKubeVersion(kubeVersion)
	if err != nil {
		return nil, &Error{Stage: StageRequest, Msg: fmt.Sprintf("kube version %q: %v", kubeVersion, err)}
	}

	// The schema is checked on a chart of its own: dependency processing
	// changes the chart, and the install does it again.
	var skipped []string
	if !set.skipSchema {
		sc, err := loadChart(req.Chart)
		if err != nil {
			return nil, err
		}
		if err := chartutil.ProcessDependencies(sc, req.Values); err != nil {
			return nil, &Error{Stage: StageTemplate, Msg: fmt.Sprintf("chart dependencies processing failed: %v", err)}
		}
		coalesced, err := commonutil.CoalesceValues(sc, req.Values)
		if err != nil {
			return nil, &Error{Stage: StageTemplate, Msg: err.Error()}
		}
		skipped, err = schema.Validate(sc, coalesced, req.Schemas)
		if err != nil {
			return nil, &Error{Stage: StageSchema, Msg: err.Error()}
		}
	}

	ch, err := loadChart(req.Chart)
	if err != nil {
		return nil, err
	}

	cfg := action.NewConfiguration()
	cfg.SetLogger(slog.DiscardHandler)
	install := action.NewInstall(cfg)
	install.DryRunStrategy = action.DryRunClient
	install.ReleaseName = shortenName(hr.GetReleaseName())
	install.Namespace = hr.GetReleaseNamespace()
	install.Replace = true
	install.Devel = true
	install.SkipCRDs = true
	install.IncludeCRDs = false
	install.DisableHooks = set.disableHooks
	install.SkipSchemaValidation = true
	install.IsUpgrade = req.Upgrade
	install.KubeVersion = kv
	install.APIVersions = common.VersionSet(req.APIVersions)
	install.PostRenderer = postRenderers(hr)
	install.PostRenderStrategy = postRenderStrategy(hr.Spec.PostRenderStrategy)

	rel, err := install.RunWithContext(ctx, ch, req.Values)
	if err != nil {
		return nil, classify(err)
	}
	r, ok := rel.(*helmrelease.Release)
	if !ok {
		return nil, &Error{Stage: StageTemplate, Msg: "only Chart API v2 charts are supported"}
	}

	res := &Result{
		Manifest:      r.Manifest,
		Chart:         ch.Metadata.Name,
		Version:       ch.Metadata.Version,
		SchemaSkipped: skipped,
	}
	if !set.disableHooks {
		for _, h := range r.Hooks {
			hook := Hook{Path: h.Path, Kind: h.Kind, Name: h.Name, Manifest: h.Manifest}
			for _, e := range h.Events {
				hook.Events = append(hook.Events, string(e))
			}
			res.Hooks = append(res.Hooks, hook)
		}
	}
	if set.crds != helmv2.Skip {
		crds, err := crdManifest(ch, hr)
		if err != nil {
			return nil, err
		}
		res.CRDs = crds
	}
	return res, nil
}

// settings are what helm-controller reads from a HelmRelease for the
// action it runs.
type settings struct {
	disableHooks bool
	skipSchema   bool
	crds         helmv2.CRDsPolicy
}

func settingsOf(hr *helmv2.HelmRelease, upgrade bool) settings {
	if upgrade {
		u := hr.GetUpgrade()
		policy := u.CRDs
		if policy == "" {
			policy = helmv2.Skip
		}
		return settings{disableHooks: u.DisableHooks, skipSchema: u.DisableSchemaValidation, crds: policy}
	}
	in := hr.GetInstall()
	policy := in.CRDs
	if policy == "" {
		policy = helmv2.Create
	}
	return settings{disableHooks: in.DisableHooks, skipSchema: in.DisableSchemaValidation, crds: policy}
}

// loadChart loads the chart with Helm's own loader, as helm-controller
// loads the artifact, and applies what source-controller and
// helm-controller change in it.
func loadChart(c Chart) (*chart.Chart, error) {
	var ch *chart.Chart
	var err error
	switch {
	case len(c.Archive) > 0:
		ch, err = loader.LoadArchive(bytes.NewReader(c.Archive))
	case len(c.Files) > 0:
		files := make([]*archive.BufferedFile, 0, len(c.Files))
		for _, f := range c.Files {
			files = append(files, &archive.BufferedFile{Name: f.Name, Data: f.Data})
		}
		ch, err = loader.LoadFiles(files)
	default:
		return nil, &Error{Stage: StageChart, Msg: "render request without a chart"}
	}
	if err != nil {
		return nil, &Error{Stage: StageChart, Msg: fmt.Sprintf("loading chart: %v", err)}
	}
	if len(c.Values) > 0 {
		vals, err := common.ReadValues(c.Values)
		if err != nil {
			return nil, &Error{Stage: StageChart, Msg: fmt.Sprintf("reading the chart's merged values files: %v", err)}
		}
		ch.Values = vals
		for _, f := range ch.Raw {
			if f.Name == chartutil.ValuesfileName {
				f.Data = c.Values
			}
		}
	}
	if len(c.ValuesFiles) > 0 {
		merged, err := mergeValuesFiles(ch, c.ValuesFiles, c.IgnoreMissingValuesFiles)
		if err != nil {
			return nil, &Error{Stage: StageChart, Msg: err.Error()}
		}
		ch.Values = merged
	}
	if c.OCIRevision != "" {
		if err := addRevisionDigest(ch, c.OCIRevision); err != nil {
			return nil, &Error{Stage: StageChart, Msg: err.Error()}
		}
	}
	return ch, nil
}

// mergeValuesFiles merges a packaged chart's values files as
// source-controller does when it builds a HelmChart with valuesFiles.
func mergeValuesFiles(ch *chart.Chart, paths []string, ignoreMissing bool) (map[string]any, error) {
	merged := map[string]any{}
	for _, p := range paths {
		clean := path.Clean(p)
		if clean == chartutil.ValuesfileName {
			merged = fluxchartutil.MergeMaps(merged, ch.Values)
			continue
		}
		var data []byte
		for _, f := range ch.Files {
			if f.Name == clean {
				data = f.Data
				break
			}
		}
		if data == nil {
			if ignoreMissing {
				continue
			}
			return nil, fmt.Errorf("no values file found at path '%s'", p)
		}
		vals := map[string]any{}
		if err := yaml.Unmarshal(data, &vals); err != nil {
			return nil, fmt.Errorf("unmarshaling values from '%s' failed: %w", p, err)
		}
		merged = fluxchartutil.MergeMaps(merged, vals)
	}
	return merged, nil
}

// addRevisionDigest gives the chart's version the digest of the OCI
// artifact as build metadata, as helm-controller does for charts from an
// OCIRepository so that a moved tag shows as a new version.
func addRevisionDigest(ch *chart.Chart, revision string) error {
	ver, err := semver.NewVersion(ch.Metadata.Version)
	if err != nil {
		return fmt.Errorf("invalid chart version %s", ch.Metadata.Version)
	}
	tag, digest, hasTag := strings.Cut(revision, "@")
	if !hasTag {
		digest = revision
	} else if tv, err := semver.NewVersion(strings.ReplaceAll(tag, "_", "+")); err == nil && !tv.Equal(ver) {
		return fmt.Errorf("artifact revision %s does not match chart version %s", tag, ch.Metadata.Version)
	}
	_, hex, ok := strings.Cut(digest, ":")
	if !ok || len(hex) < 12 || strings.Contains(hex, ":") {
		return fmt.Errorf("invalid artifact revision %s", revision)
	}
	withMeta, err := ver.SetMetadata(hex[:12])
	if err != nil {
		return err
	}
	ch.Metadata.Version = withMeta.String()
	return nil
}

// shortenName keeps a release name within Helm's 53 characters the way
// helm-controller does: the first 40 characters, a dash, and the first 12
// hex digits of the name's SHA-256.
func shortenName(name string) string {
	const maxLength, hashLength = 53, 12
	if len(name) <= maxLength {
		return name
	}
	return name[:maxLength-hashLength-1] + "-" + sha256Hex(name)[:hashLength]
}

func postRenderStrategy(s helmv2.PostRenderStrategy) action.PostRenderStrategy {
	if s == "" {
		return action.PostRenderStrategyCombined
	}
	return action.PostRenderStrategy(s)
}

// classify turns an install error into a staged Error.
func classify(err error) *Error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "error while running post render"):
		return &Error{Stage: StagePostRender, Msg: msg}
	default:
		return &Error{Stage: StageTemplate, Msg: msg}
	}
}
