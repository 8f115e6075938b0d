// Package source finds the chart a HelmRelease installs the way
// helm-controller and source-controller find it, and fetches it through
// gen's door to the network (package fetch) or reads it from the
// repository itself.
//
// A HelmRelease names its chart with spec.chartRef (an OCIRepository or a
// HelmChart) or spec.chart (a template for a HelmChart or, since Flux 2.8,
// an OCIRepository). A HelmChart's source is a HelmRepository (an HTTP
// index or, with type: oci, a registry) or a GitRepository. For each,
// version ranges, tag filters, layer selection and the chart-version
// metadata are decided as source-controller decides them. A chart in a
// GitRepository is read only when that GitRepository is the repository
// being checked (its snapshot, never a clone); other git sources are
// reported, not fetched.
package source

import (
	"fmt"
	"net/url"
	"sort"
	"strings"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	"github.com/google/go-containerregistry/pkg/name"
)

// Kind is how a chart is obtained.
type Kind string

// The kinds of chart source.
const (
	// KindOCI is an OCIRepository: one artifact, one chart.
	KindOCI Kind = "OCIRepository"
	// KindHelmHTTP is a HelmRepository serving index.yaml over HTTP.
	KindHelmHTTP Kind = "HelmRepository"
	// KindHelmOCI is a HelmRepository of type oci: charts under a
	// registry path.
	KindHelmOCI Kind = "HelmRepository (oci)"
	// KindGit is a chart folder in a GitRepository.
	KindGit Kind = "GitRepository"
)

// ObjectRef names a Flux object.
type ObjectRef struct {
	Kind, Namespace, Name string
}

func (r ObjectRef) String() string { return r.Kind + "/" + r.Namespace + "/" + r.Name }

// Ref is where a HelmRelease's chart comes from, decided from the
// objects alone: nothing has been fetched yet.
type Ref struct {
	Kind Kind
	// Source is the object that holds the chart (an OCIRepository, a
	// HelmRepository, a GitRepository), or for a HelmRelease's own
	// spec.chart of kind OCIRepository, the HelmRelease.
	Source ObjectRef
	// URL is the source's URL (oci://..., https://...).
	URL string
	// Insecure allows plain HTTP to the registry.
	Insecure bool
	// Chart is the chart's name in a HelmRepository, or its path in a
	// GitRepository.
	Chart string
	// Version is a HelmRepository chart's version or semver range ("*"
	// when none).
	Version string
	// OCI is an OCIRepository's reference (tag, semver, digest).
	OCI sourcev1.OCIRepositoryRef
	// LayerMediaType selects an OCIRepository's layer; empty for the
	// first.
	LayerMediaType string
	// ValuesFiles replace the chart's values.yaml (HelmChart valuesFiles).
	ValuesFiles              []string
	IgnoreMissingValuesFiles bool
	// SecretRef names the source's credentials Secret ("" for none).
	SecretRef string
}

// Objects holds the Flux source objects of a repository, as decoded from
// its render.
type Objects struct {
	oci  map[string]*sourcev1.OCIRepository
	helm map[string]*sourcev1.HelmRepository
	hc   map[string]*sourcev1.HelmChart
	git  map[string]*sourcev1.GitRepository
}

// NewObjects indexes source objects; other kinds are ignored.
func NewObjects(objs ...any) *Objects {
	o := &Objects{
		oci: map[string]*sourcev1.OCIRepository{}, helm: map[string]*sourcev1.HelmRepository{},
		hc: map[string]*sourcev1.HelmChart{}, git: map[string]*sourcev1.GitRepository{},
	}
	for _, obj := range objs {
		switch v := obj.(type) {
		case *sourcev1.OCIRepository:
			o.oci[v.Namespace+"/"+v.Name] = v
		case *sourcev1.HelmRepository:
			o.helm[v.Namespace+"/"+v.Name] = v
		case *sourcev1.HelmChart:
			o.hc[v.Namespace+"/"+v.Name] = v
		case *sourcev1.GitRepository:
			o.git[v.Namespace+"/"+v.Name] = v
		}
	}
	return o
}

// NotFoundError is a reference to an object the repository does not
// hold.
type NotFoundError struct {
	Ref ObjectRef
	// From is the object that refers to it.
	From ObjectRef
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("%s refers to %s %s/%s, which is not in the repository", e.From, e.Ref.Kind, e.Ref.Namespace, e.Ref.Name)
}

// UnsupportedError is a source gen does not read.
type UnsupportedError struct {
	Ref    ObjectRef
	Reason string
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("%s: %s", e.Ref, e.Reason)
}

// FromHelmRelease decides where a HelmRelease's chart comes from.
func FromHelmRelease(hr *helmv2.HelmRelease, objs *Objects) (*Ref, error) {
	self := ObjectRef{Kind: helmv2.HelmReleaseKind, Namespace: hr.Namespace, Name: hr.Name}
	switch {
	case hr.Spec.ChartRef != nil:
		cr := hr.Spec.ChartRef
		ns := cr.Namespace
		if ns == "" {
			ns = hr.Namespace
		}
		ref := ObjectRef{Kind: cr.Kind, Namespace: ns, Name: cr.Name}
		switch cr.Kind {
		case sourcev1.OCIRepositoryKind:
			o, ok := objs.oci[ns+"/"+cr.Name]
			if !ok {
				return nil, &NotFoundError{Ref: ref, From: self}
			}
			return fromOCI(ref, o.Spec)
		case sourcev1.HelmChartKind:
			c, ok := objs.hc[ns+"/"+cr.Name]
			if !ok {
				return nil, &NotFoundError{Ref: ref, From: self}
			}
			return fromHelmChart(ref, c.Spec, objs)
		default:
			return nil, &UnsupportedError{Ref: ref, Reason: "gen renders charts from OCIRepository and HelmChart sources"}
		}
	case hr.Spec.Chart != nil:
		t := hr.Spec.Chart
		if t.Kind == sourcev1.OCIRepositoryKind {
			return fromOCI(self, t.Spec.OCIRepositorySpec)
		}
		if t.Spec.SourceRef == nil {
			return nil, fmt.Errorf("%s: spec.chart.spec.sourceRef is required", self)
		}
		ns := t.Spec.SourceRef.Namespace
		if ns == "" {
			ns = hr.Namespace
		}
		spec := sourcev1.HelmChartSpec{
			Chart:   t.Spec.Chart,
			Version: t.Spec.GetVersion(),
			SourceRef: sourcev1.LocalHelmChartSourceReference{
				Kind: t.Spec.SourceRef.Kind, Name: t.Spec.SourceRef.Name,
			},
			ReconcileStrategy:        t.Spec.ReconcileStrategy,
			ValuesFiles:              t.Spec.ValuesFiles,
			IgnoreMissingValuesFiles: t.Spec.IgnoreMissingValuesFiles,
		}
		// The HelmChart helm-controller generates lives in the source's
		// namespace and is named after the HelmRelease.
		chartRef := ObjectRef{Kind: sourcev1.HelmChartKind, Namespace: ns, Name: hr.Namespace + "-" + hr.Name}
		return fromHelmChart(chartRef, spec, objs)
	default:
		return nil, fmt.Errorf("%s has neither spec.chart nor spec.chartRef", self)
	}
}

func fromOCI(src ObjectRef, spec sourcev1.OCIRepositorySpec) (*Ref, error) {
	if !strings.HasPrefix(spec.URL, sourcev1.OCIRepositoryPrefix) {
		return nil, fmt.Errorf("%s: URL must be in format 'oci://<domain>/<org>/<repo>'", src)
	}
	r := &Ref{Kind: KindOCI, Source: src, URL: spec.URL, Insecure: spec.Insecure}
	if _, err := ociRepository(spec.URL, spec.Insecure); err != nil {
		return nil, fmt.Errorf("%s: %w", src, err)
	}
	if spec.Reference != nil {
		r.OCI = *spec.Reference
	}
	if spec.LayerSelector != nil {
		r.LayerMediaType = spec.LayerSelector.MediaType
	}
	if spec.SecretRef != nil {
		r.SecretRef = src.Namespace + "/" + spec.SecretRef.Name
	}
	return r, nil
}

// ociRepository parses an OCIRepository URL as source-controller does: it
// must not carry a tag.
func ociRepository(u string, insecure bool) (name.Repository, error) {
	trimmed := strings.TrimPrefix(u, sourcev1.OCIRepositoryPrefix)
	var opts []name.Option
	if insecure {
		opts = append(opts, name.Insecure)
	}
	repo, err := name.NewRepository(trimmed, opts...)
	if err != nil {
		return name.Repository{}, err
	}
	path := strings.TrimPrefix(trimmed, repo.RegistryStr())
	if s := strings.Split(path, ":"); len(s) > 1 {
		return name.Repository{}, fmt.Errorf("URL must not contain a tag; remove ':%s'", s[1])
	}
	return repo, nil
}

func fromHelmChart(chartRef ObjectRef, spec sourcev1.HelmChartSpec, objs *Objects) (*Ref, error) {
	ns := chartRef.Namespace
	src := ObjectRef{Kind: spec.SourceRef.Kind, Namespace: ns, Name: spec.SourceRef.Name}
	version := spec.Version
	if version == "" {
		version = "*"
	}
	base := Ref{
		Source: src, Chart: spec.Chart, Version: version,
		ValuesFiles: spec.ValuesFiles, IgnoreMissingValuesFiles: spec.IgnoreMissingValuesFiles,
	}
	switch spec.SourceRef.Kind {
	case sourcev1.HelmRepositoryKind:
		hr, ok := objs.helm[ns+"/"+spec.SourceRef.Name]
		if !ok {
			return nil, &NotFoundError{Ref: src, From: chartRef}
		}
		base.URL = hr.Spec.URL
		base.Insecure = hr.Spec.Insecure
		if hr.Spec.SecretRef != nil {
			base.SecretRef = ns + "/" + hr.Spec.SecretRef.Name
		}
		if hr.Spec.Type == sourcev1.HelmRepositoryTypeOCI {
			base.Kind = KindHelmOCI
			if !strings.HasPrefix(hr.Spec.URL, "oci://") {
				return nil, fmt.Errorf("%s: a HelmRepository of type oci needs an oci:// URL", src)
			}
		} else {
			base.Kind = KindHelmHTTP
			u, err := url.Parse(hr.Spec.URL)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				return nil, fmt.Errorf("%s: URL %q is not an http(s) chart repository", src, hr.Spec.URL)
			}
		}
		return &base, nil
	case sourcev1.GitRepositoryKind:
		g, ok := objs.git[ns+"/"+spec.SourceRef.Name]
		if !ok {
			return nil, &NotFoundError{Ref: src, From: chartRef}
		}
		base.Kind = KindGit
		base.URL = g.Spec.URL
		return &base, nil
	default:
		return nil, &UnsupportedError{Ref: src, Reason: "gen renders charts from HelmRepository and GitRepository sources"}
	}
}

// Hosts lists the hosts a revision's sources fetch from: every
// OCIRepository's and HelmRepository's URL host, and those of
// HelmReleases whose spec.chart is an OCIRepository template. A check on
// a pull request allows these hosts as the base revision names them
// (fetch.NewPolicy).
func Hosts(objs []any) []string {
	set := map[string]bool{}
	add := func(raw string) {
		if raw == "" {
			return
		}
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" {
			return
		}
		host := strings.ToLower(u.Host)
		if u.Scheme == "oci" {
			if reg, err := name.NewRegistry(host); err == nil {
				host = reg.RegistryStr()
			}
		}
		set[host] = true
	}
	for _, obj := range objs {
		switch v := obj.(type) {
		case *sourcev1.OCIRepository:
			add(v.Spec.URL)
		case *sourcev1.HelmRepository:
			add(v.Spec.URL)
		case *helmv2.HelmRelease:
			if v.Spec.Chart != nil && v.Spec.Chart.Kind == sourcev1.OCIRepositoryKind {
				add(v.Spec.Chart.Spec.URL)
			}
		}
	}
	out := make([]string, 0, len(set))
	for h := range set {
		out = append(out, h)
	}
	sort.Strings(out)
	return out
}
