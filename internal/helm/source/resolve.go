package source

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
	fluxchartutil "github.com/fluxcd/pkg/chartutil"
	"github.com/fluxcd/pkg/version"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	repo "helm.sh/helm/v4/pkg/repo/v1"
	"sigs.k8s.io/yaml"

	"github.com/gen-gitops/gen/internal/helm/chartcache"
	"github.com/gen-gitops/gen/internal/helm/chartfile"
	"github.com/gen-gitops/gen/internal/helm/fetch"
	"github.com/gen-gitops/gen/internal/helm/render"
)

// Helm's media types for a chart in an OCI registry.
const (
	chartLayerMediaType       = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
	legacyChartLayerMediaType = "application/tar+gzip"
)

// Artifact is a chart ready to render.
type Artifact struct {
	// Chart is what render needs.
	Chart render.Chart
	// Name and Version are the chart's, from its Chart.yaml.
	Name, Version string
	// Digest identifies the chart's content: the package's sha256, or for
	// a chart folder the sha256 of its files.
	Digest string
	// Revision is where it came from, for people: a URL with the version,
	// tag or digest that was resolved.
	Revision string
	// Summary is what the bounded scan learnt (files, schemas).
	Summary *chartfile.Summary
}

// Resolver turns Refs into Artifacts.
type Resolver struct {
	// Client is the door to the network and the cache. Required for every
	// kind but KindGit.
	Client *fetch.Client
	// Repository is the snapshot of the repository being checked, for
	// charts in it. Paths are slash-separated from its root.
	Repository fs.FS
	// Self says whether a GitRepository is the repository being checked
	// (for example flux-system, the root Kustomization's source).
	Self func(ObjectRef) bool
	// Limits bound every chart read.
	Limits chartfile.Limits
}

// Resolve finds, fetches and checks the chart ref names.
func (r *Resolver) Resolve(ctx context.Context, ref *Ref) (*Artifact, error) {
	var a *Artifact
	var err error
	switch ref.Kind {
	case KindOCI:
		a, err = r.oci(ctx, ref)
	case KindHelmHTTP:
		a, err = r.helmHTTP(ctx, ref)
	case KindHelmOCI:
		a, err = r.helmOCI(ctx, ref)
	case KindGit:
		a, err = r.git(ref)
	default:
		err = fmt.Errorf("unknown chart source kind %q", ref.Kind)
	}
	if err != nil {
		return nil, err
	}
	a.Chart.ValuesFiles = ref.ValuesFiles
	a.Chart.IgnoreMissingValuesFiles = ref.IgnoreMissingValuesFiles
	if ref.Kind == KindGit {
		// Values files of a chart in git are read from the source's root,
		// not from the chart.
		a.Chart.ValuesFiles, a.Chart.IgnoreMissingValuesFiles = nil, false
		vals, err := r.gitValuesFiles(ref)
		if err != nil {
			return nil, err
		}
		a.Chart.Values = vals
	}
	return a, nil
}

func (r *Resolver) client() (*fetch.Client, error) {
	if r.Client == nil {
		return nil, errors.New("no fetch client to read remote charts with")
	}
	return r.Client, nil
}

// oci resolves an OCIRepository as source-controller does: a digest wins,
// then a semver range over the repository's tags, then a tag, then
// "latest".
func (r *Resolver) oci(ctx context.Context, ref *Ref) (*Artifact, error) {
	c, err := r.client()
	if err != nil {
		return nil, err
	}
	if _, err := ociRepository(ref.URL, ref.Insecure); err != nil {
		return nil, fmt.Errorf("%s: %w", ref.Source, err)
	}
	repository := fetch.Repository{Name: strings.TrimPrefix(ref.URL, "oci://"), Insecure: ref.Insecure}
	tag := ""
	reference := ""
	switch {
	case ref.OCI.Digest != "":
		reference = ref.OCI.Digest
	case ref.OCI.SemVer != "":
		tags, err := c.Tags(ctx, repository)
		if err != nil {
			return nil, err
		}
		tag, err = tagBySemver(tags, ref.OCI.SemVer, ref.OCI.SemverFilter, ref.LayerMediaType)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ref.Source, err)
		}
		reference = tag
	case ref.OCI.Tag != "":
		tag, reference = ref.OCI.Tag, ref.OCI.Tag
	default:
		tag, reference = "latest", "latest"
	}
	m, err := c.Manifest(ctx, repository, reference)
	if err != nil {
		return nil, err
	}
	layer, err := selectLayer(m, ref.LayerMediaType)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ref.Source, err)
	}
	data, err := c.Layer(ctx, repository, layer)
	if err != nil {
		return nil, err
	}
	revision := m.Digest
	if tag != "" {
		revision = tag + "@" + m.Digest
	}
	a, err := r.archive(data, layer.Digest)
	if err != nil {
		return nil, fmt.Errorf("%s (%s): %w", ref.Source, ref.URL, err)
	}
	a.Chart.OCIRevision = revision
	a.Revision = ref.URL + ":" + revision
	if tag == "" {
		a.Revision = ref.URL + "@" + revision
	}
	return a, nil
}

// selectLayer picks an artifact's layer: the first of the selected media
// type, or the first of all.
func selectLayer(m *fetch.Manifest, mediaType string) (fetch.Descriptor, error) {
	if len(m.Layers) == 0 {
		return fetch.Descriptor{}, errors.New("no layers found in artifact")
	}
	if mediaType == "" {
		return m.Layers[0], nil
	}
	for _, l := range m.Layers {
		if l.MediaType == mediaType {
			return l, nil
		}
	}
	return fetch.Descriptor{}, fmt.Errorf("failed to find layer with media type '%s' in artifact", mediaType)
}

// tagBySemver picks the highest tag in range, after the filter, reading a
// Helm chart's "_" as "+" as source-controller does for the chart media
// type.
func tagBySemver(tags []string, rng, filter, mediaType string) (string, error) {
	if filter != "" {
		re, err := compileFilter(filter)
		if err != nil {
			return "", err
		}
		var kept []string
		for _, t := range tags {
			if re.MatchString(t) {
				kept = append(kept, t)
			}
		}
		tags = kept
	}
	constraint, err := semver.NewConstraint(rng)
	if err != nil {
		return "", fmt.Errorf("semver '%s' parse error: %w", rng, err)
	}
	var matching []*semver.Version
	for _, t := range tags {
		candidate := t
		if mediaType == chartLayerMediaType {
			candidate = strings.ReplaceAll(t, "_", "+")
		}
		v, err := version.ParseVersion(candidate)
		if err != nil || !constraint.Check(v) {
			continue
		}
		matching = append(matching, v)
	}
	if len(matching) == 0 {
		return "", fmt.Errorf("no match found for semver: %s", rng)
	}
	sort.Sort(sort.Reverse(semver.Collection(matching)))
	best := matching[0].Original()
	if mediaType == chartLayerMediaType {
		best = strings.ReplaceAll(best, "+", "_")
	}
	return best, nil
}

// indexEntry is what the cache remembers about a chart version found in
// an index, so that a pinned version needs no index next time.
type indexEntry struct {
	URL    string `json:"url"`
	Digest string `json:"digest"`
}

// helmHTTP resolves a chart of an HTTP chart repository as
// source-controller does: an exact version string first, then the
// highest version in range (ties broken by creation time), then the
// chart's first URL resolved against the repository's.
func (r *Resolver) helmHTTP(ctx context.Context, ref *Ref) (*Artifact, error) {
	c, err := r.client()
	if err != nil {
		return nil, err
	}
	pinKey := "helm-repo-chart " + strings.TrimSuffix(ref.URL, "/") + " " + ref.Chart + " " + ref.Version
	var entry indexEntry
	exact := isExactVersion(ref.Version)
	known := false
	if exact && !c.Refresh() {
		known, _ = c.Recall(pinKey, &entry)
	}
	if !known {
		raw, err := c.Index(ctx, ref.URL)
		if err != nil {
			return nil, err
		}
		index, err := indexFromBytes(raw)
		if err != nil {
			return nil, fmt.Errorf("reading the index of %s: %w", ref.URL, err)
		}
		cv, err := chartVersion(index, ref.Chart, ref.Version)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ref.Source, err)
		}
		if len(cv.URLs) == 0 {
			return nil, fmt.Errorf("%s: chart '%s' has no downloadable URLs", ref.Source, cv.Name)
		}
		u, err := repo.ResolveReferenceURL(ref.URL, cv.URLs[0])
		if err != nil {
			return nil, err
		}
		entry = indexEntry{URL: u, Digest: cv.Digest}
		if exact {
			if err := c.Remember(pinKey, entry); err != nil {
				return nil, err
			}
		}
	}
	data, digest, err := c.Download(ctx, entry.URL, entry.Digest)
	if err != nil {
		return nil, err
	}
	a, err := r.archive(data, digest)
	if err != nil {
		return nil, fmt.Errorf("%s (%s): %w", ref.Source, entry.URL, err)
	}
	a.Revision = entry.URL
	return a, nil
}

// isExactVersion says whether a chart.spec.version names one version.
func isExactVersion(v string) bool {
	_, err := semver.StrictNewVersion(strings.TrimPrefix(v, "v"))
	return err == nil
}

// indexFromBytes reads an index as source-controller does: JSON or strict
// YAML, entries Helm would refuse dropped, entries sorted.
func indexFromBytes(b []byte) (*repo.IndexFile, error) {
	if len(b) == 0 {
		return nil, repo.ErrEmptyIndexYaml
	}
	i := &repo.IndexFile{}
	var err error
	if json.Valid(b) {
		err = json.Unmarshal(b, i)
	} else {
		err = yaml.UnmarshalStrict(b, i)
	}
	if err != nil {
		return nil, err
	}
	if i.APIVersion == "" {
		return nil, repo.ErrNoAPIVersion
	}
	for n, cvs := range i.Entries {
		kept := cvs[:0]
		for _, cv := range cvs {
			if cv == nil {
				continue
			}
			if cv.Metadata == nil {
				cv.Metadata = &chart.Metadata{}
			}
			if cv.APIVersion == "" {
				cv.APIVersion = chart.APIVersionV1
			}
			if err := cv.Validate(); err != nil && !skippable(err) {
				continue
			}
			kept = append(kept, cv)
		}
		i.Entries[n] = kept
	}
	i.SortEntries()
	return i, nil
}

// skippable are index validation errors that do not matter for loading
// (an index from a registry that strips dependency aliases).
func skippable(err error) bool {
	var verr chart.ValidationError
	return errors.As(err, &verr) && strings.HasPrefix(verr.Error(), "validation: more than one dependency with name or alias")
}

// chartVersion picks a chart version from an index as source-controller
// does.
func chartVersion(index *repo.IndexFile, name, ver string) (*repo.ChartVersion, error) {
	cvs, ok := index.Entries[name]
	if !ok {
		return nil, repo.ErrNoChartName
	}
	if len(cvs) == 0 {
		return nil, repo.ErrNoChartVersion
	}
	if ver != "" {
		for _, cv := range cvs {
			if cv.Version == ver {
				return cv, nil
			}
		}
	}
	constraint, err := semver.NewConstraint("*")
	if err != nil {
		return nil, err
	}
	if ver != "" && ver != "*" {
		if constraint, err = semver.NewConstraint(ver); err != nil {
			return nil, err
		}
	}
	type match struct {
		v       *semver.Version
		cv      *repo.ChartVersion
		created time.Time
	}
	var ms []match
	for _, cv := range cvs {
		v, err := version.ParseVersion(cv.Version)
		if err != nil || !constraint.Check(v) {
			continue
		}
		ms = append(ms, match{v: v, cv: cv, created: cv.Created})
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("no '%s' chart with version matching '%s' found", name, ver)
	}
	sort.SliceStable(ms, func(i, j int) bool {
		if !ms[i].v.Equal(ms[j].v) {
			return ms[j].v.LessThan(ms[i].v)
		}
		return ms[j].created.Before(ms[i].created)
	})
	return ms[0].cv, nil
}

// helmOCI resolves a chart of a HelmRepository of type oci as
// source-controller's OCI chart repository does: a version that parses
// is a tag as it stands; otherwise the repository's tags (those Helm's
// registry client accepts) are matched against the range.
func (r *Resolver) helmOCI(ctx context.Context, ref *Ref) (*Artifact, error) {
	c, err := r.client()
	if err != nil {
		return nil, err
	}
	repository := fetch.Repository{
		Name:     strings.TrimSuffix(strings.TrimPrefix(ref.URL, "oci://"), "/") + "/" + ref.Chart,
		Insecure: ref.Insecure,
	}
	tag := ref.Version
	if _, err := version.ParseVersion(ref.Version); err != nil {
		tags, err := c.Tags(ctx, repository)
		if err != nil {
			return nil, err
		}
		tag, err = lastMatchingVersion(helmTags(tags), ref.Version)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ref.Source, err)
		}
	}
	// Helm's registry client stores "+" as "_" in tags.
	ociTag := strings.ReplaceAll(tag, "+", "_")
	m, err := c.Manifest(ctx, repository, ociTag)
	if err != nil {
		return nil, err
	}
	var layer *fetch.Descriptor
	for i, l := range m.Layers {
		if l.MediaType == chartLayerMediaType || l.MediaType == legacyChartLayerMediaType {
			layer = &m.Layers[i]
			break
		}
	}
	if layer == nil {
		return nil, fmt.Errorf("oci://%s:%s has no chart layer", repository.Name, ociTag)
	}
	data, err := c.Layer(ctx, repository, *layer)
	if err != nil {
		return nil, err
	}
	a, err := r.archive(data, layer.Digest)
	if err != nil {
		return nil, fmt.Errorf("%s (oci://%s:%s): %w", ref.Source, repository.Name, ociTag, err)
	}
	a.Revision = "oci://" + repository.Name + ":" + ociTag + "@" + m.Digest
	return a, nil
}

// helmTags keeps the tags Helm's registry client lists: strict semver
// once "_" is read as "+", highest first.
func helmTags(tags []string) []string {
	var vs []*semver.Version
	for _, t := range tags {
		if v, err := semver.StrictNewVersion(strings.ReplaceAll(t, "_", "+")); err == nil {
			vs = append(vs, v)
		}
	}
	sort.Sort(sort.Reverse(semver.Collection(vs)))
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.String()
	}
	return out
}

// lastMatchingVersion is source-controller's choice among an OCI chart
// repository's versions: an exact match, else the highest in range (any
// stable version for "" or "*").
func lastMatchingVersion(cvs []string, ver string) (string, error) {
	if ver != "" {
		for _, cv := range cvs {
			if cv == ver {
				return cv, nil
			}
		}
	}
	constraint, err := semver.NewConstraint("*")
	if err != nil {
		return "", err
	}
	if ver != "" && ver != "*" {
		if constraint, err = semver.NewConstraint(ver); err != nil {
			return "", err
		}
	}
	var ms []*semver.Version
	for _, cv := range cvs {
		v, err := version.ParseVersion(cv)
		if err != nil || !constraint.Check(v) {
			continue
		}
		ms = append(ms, v)
	}
	if len(ms) == 0 {
		return "", fmt.Errorf("could not locate a version matching provided version string %s", ver)
	}
	sort.Sort(sort.Reverse(semver.Collection(ms)))
	return ms[0].Original(), nil
}

// archive checks a chart package within the limits.
func (r *Resolver) archive(data []byte, digest string) (*Artifact, error) {
	sum, err := chartfile.Scan(data, r.Limits)
	if err != nil {
		return nil, err
	}
	root := sum.Root()
	if root.Name == "" {
		return nil, errors.New("the package holds no Chart.yaml")
	}
	if digest == "" {
		digest = chartcache.Digest(data)
	}
	return &Artifact{
		Chart: render.Chart{Archive: data}, Name: root.Name, Version: root.Version,
		Digest: digest, Summary: sum,
	}, nil
}

// git reads a chart folder from the repository being checked.
func (r *Resolver) git(ref *Ref) (*Artifact, error) {
	if r.Self == nil || !r.Self(ref.Source) {
		return nil, &UnsupportedError{Ref: ref.Source, Reason: "gen reads charts from a GitRepository only when it is this repository (nothing is cloned)"}
	}
	if r.Repository == nil {
		return nil, errors.New("no repository snapshot to read the chart from")
	}
	dir, err := cleanRepoPath(ref.Chart)
	if err != nil {
		return nil, fmt.Errorf("%s: chart path %q: %w", ref.Source, ref.Chart, err)
	}
	files, err := readChartDir(r.Repository, dir, r.Limits)
	if err != nil {
		return nil, fmt.Errorf("%s: chart %q: %w", ref.Source, ref.Chart, err)
	}
	sum, err := chartfile.ScanFiles(files, r.Limits)
	if err != nil {
		return nil, fmt.Errorf("%s: chart %q: %w", ref.Source, ref.Chart, err)
	}
	root := sum.Root()
	if root.Name == "" {
		return nil, fmt.Errorf("%s: %q holds no Chart.yaml", ref.Source, ref.Chart)
	}
	rf := make([]render.File, len(files))
	for i, f := range files {
		rf[i] = render.File{Name: f.Name, Data: f.Data}
	}
	return &Artifact{
		Chart: render.Chart{Files: rf}, Name: root.Name, Version: root.Version,
		Digest: filesDigest(files), Summary: sum, Revision: ref.URL + "//" + dir,
	}, nil
}

// cleanRepoPath makes a source path relative to the repository root,
// refusing one that leaves it.
func cleanRepoPath(p string) (string, error) {
	c := path.Clean("/" + strings.TrimPrefix(p, "./"))
	if strings.Contains(p, "..") && c != path.Clean("/"+p) {
		return "", errors.New("leaves the repository")
	}
	c = strings.TrimPrefix(c, "/")
	if c == "" {
		c = "."
	}
	return c, nil
}

// gitValuesFiles merges valuesFiles read from the repository root, as
// source-controller does for a chart in a git source.
func (r *Resolver) gitValuesFiles(ref *Ref) ([]byte, error) {
	if len(ref.ValuesFiles) == 0 {
		return nil, nil
	}
	merged := map[string]any{}
	for _, p := range ref.ValuesFiles {
		clean, err := cleanRepoPath(p)
		if err != nil {
			return nil, fmt.Errorf("%s: values file %q: %w", ref.Source, p, err)
		}
		data, err := fs.ReadFile(r.Repository, clean)
		if err != nil {
			if ref.IgnoreMissingValuesFiles && errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return nil, fmt.Errorf("%s: no values file found at path '%s'", ref.Source, p)
		}
		vals := map[string]any{}
		if err := yaml.Unmarshal(data, &vals); err != nil {
			return nil, fmt.Errorf("%s: unmarshaling values from '%s' failed: %w", ref.Source, p, err)
		}
		merged = fluxchartutil.MergeMaps(merged, vals)
	}
	return yaml.Marshal(merged)
}

// SourceKind is the Flux kind of a Ref's source object.
func (r *Ref) SourceKind() string {
	switch r.Kind {
	case KindOCI:
		return sourcev1.OCIRepositoryKind
	case KindGit:
		return sourcev1.GitRepositoryKind
	default:
		return sourcev1.HelmRepositoryKind
	}
}
