package source

import (
	"context"
	"errors"
	"strings"
	"testing"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	"github.com/fluxcd/pkg/apis/meta"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/gen-gitops/gen/internal/helm/chartcache"
	"github.com/gen-gitops/gen/internal/helm/fetch"
	"github.com/gen-gitops/gen/internal/helm/helmtest"
)

func client(t *testing.T, cache *chartcache.Cache, offline bool, hosts ...string) *fetch.Client {
	t.Helper()
	if cache == nil {
		var err error
		if cache, err = chartcache.Open(t.TempDir()); err != nil {
			t.Fatal(err)
		}
	}
	p, err := fetch.NewPolicy(hosts...)
	if err != nil {
		t.Fatal(err)
	}
	c, err := fetch.New(fetch.Options{Policy: p, Cache: cache, Offline: offline})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func hr(name string) *helmv2.HelmRelease {
	return &helmv2.HelmRelease{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "apps"}}
}

func ociRepo(name, url string, ref *sourcev1.OCIRepositoryRef, mediaType string) *sourcev1.OCIRepository {
	o := &sourcev1.OCIRepository{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "apps"}}
	o.Spec.URL = url
	o.Spec.Reference = ref
	if mediaType != "" {
		o.Spec.LayerSelector = &sourcev1.OCILayerSelector{MediaType: mediaType, Operation: sourcev1.OCILayerCopy}
	}
	return o
}

func chartRef(kind, name string) *helmv2.HelmRelease {
	h := hr("web")
	h.Spec.ChartRef = &helmv2.CrossNamespaceSourceReference{Kind: kind, Name: name}
	return h
}

func resolve(t *testing.T, r *Resolver, h *helmv2.HelmRelease, objs ...any) (*Artifact, error) {
	t.Helper()
	ref, err := FromHelmRelease(h, NewObjects(objs...))
	if err != nil {
		return nil, err
	}
	return r.Resolve(context.Background(), ref)
}

func TestOCIRepositoryReferences(t *testing.T) {
	reg := helmtest.StartRegistry(t)
	digests := map[string]string{}
	for _, v := range []string{"0.1.0", "0.2.0", "0.3.0-rc.1", "1.0.0"} {
		digests[v] = reg.PushChart(t, "charts/app", v, helmtest.Package("app", helmtest.SimpleChart("app", v)))
	}
	// "latest" points at 0.2.0's chart; a Helm build-metadata version is
	// pushed with "_" for "+".
	digests["latest"] = reg.PushChart(t, "charts/app", "latest", helmtest.Package("app", helmtest.SimpleChart("app", "0.2.0")))
	digests["1.0.1_build.7"] = reg.PushChart(t, "charts/app", "1.0.1_build.7", helmtest.Package("app", helmtest.SimpleChart("app", "1.0.1+build.7")))
	url := "oci://" + reg.Host + "/charts/app"
	r := &Resolver{Client: client(t, nil, false, reg.Host)}

	tests := []struct {
		name         string
		ref          *sourcev1.OCIRepositoryRef
		mediaType    string
		wantVersion  string
		wantRevision string
	}{
		{"tag", &sourcev1.OCIRepositoryRef{Tag: "0.1.0"}, "", "0.1.0", "0.1.0@" + digests["0.1.0"]},
		{"no ref means latest", nil, "", "0.2.0", "latest@" + digests["latest"]},
		{"semver range skips prereleases", &sourcev1.OCIRepositoryRef{SemVer: "<1.0.0"}, "", "0.2.0", "0.2.0@" + digests["0.2.0"]},
		{"semver wins over tag", &sourcev1.OCIRepositoryRef{SemVer: "0.1.x", Tag: "1.0.0"}, "", "0.1.0", "0.1.0@" + digests["0.1.0"]},
		{"semver filter", &sourcev1.OCIRepositoryRef{SemVer: ">=0.1.0-0", SemverFilter: `.*-rc\..*`}, "", "0.3.0-rc.1", "0.3.0-rc.1@" + digests["0.3.0-rc.1"]},
		{"digest wins", &sourcev1.OCIRepositoryRef{Digest: digests["1.0.0"], SemVer: "*"}, "", "1.0.0", digests["1.0.0"]},
		{"chart media type reads _ as +", &sourcev1.OCIRepositoryRef{SemVer: ">1.0.0"}, helmtest.ChartMediaType, "1.0.1+build.7", "1.0.1_build.7@" + digests["1.0.1_build.7"]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := resolve(t, r, chartRef("OCIRepository", "app"), ociRepo("app", url, tc.ref, tc.mediaType))
			if err != nil {
				t.Fatal(err)
			}
			if a.Version != tc.wantVersion || a.Chart.OCIRevision != tc.wantRevision {
				t.Errorf("got %s (%s), want %s (%s)", a.Version, a.Chart.OCIRevision, tc.wantVersion, tc.wantRevision)
			}
		})
	}

	if _, err := resolve(t, r, chartRef("OCIRepository", "app"), ociRepo("app", url, &sourcev1.OCIRepositoryRef{SemVer: ">=5.0.0"}, "")); err == nil || !strings.Contains(err.Error(), "no match found for semver") {
		t.Errorf("an unmatched range: %v", err)
	}
	if _, err := resolve(t, r, chartRef("OCIRepository", "app"), ociRepo("app", url+":1.0.0", nil, "")); err == nil {
		t.Errorf("a URL with a tag was accepted")
	}
}

func TestOCIRepositoryLayerSelector(t *testing.T) {
	reg := helmtest.StartRegistry(t)
	chart := helmtest.Package("app", helmtest.SimpleChart("app", "1.0.0"))
	reg.Push(t, "charts/app", "1.0.0", []helmtest.Layer{
		{MediaType: "application/vnd.cncf.helm.chart.provenance.v1.prov", Data: []byte("-----BEGIN PGP SIGNED MESSAGE-----\n")},
		{MediaType: helmtest.ChartMediaType, Data: chart},
	})
	url := "oci://" + reg.Host + "/charts/app"
	r := &Resolver{Client: client(t, nil, false, reg.Host)}
	ref := &sourcev1.OCIRepositoryRef{Tag: "1.0.0"}
	a, err := resolve(t, r, chartRef("OCIRepository", "app"), ociRepo("app", url, ref, helmtest.ChartMediaType))
	if err != nil {
		t.Fatal(err)
	}
	if a.Name != "app" || a.Digest != helmtest.Digest(chart) {
		t.Errorf("selected %s %s", a.Name, a.Digest)
	}
	// Without a selector the first layer is taken, as source-controller
	// does; it is not a chart.
	if _, err := resolve(t, r, chartRef("OCIRepository", "app"), ociRepo("app", url, ref, "")); err == nil {
		t.Error("the provenance layer was read as a chart")
	}
	if _, err := resolve(t, r, chartRef("OCIRepository", "app"), ociRepo("app", url, ref, "application/x-nothing")); err == nil || !strings.Contains(err.Error(), "failed to find layer") {
		t.Errorf("a selector matching nothing: %v", err)
	}
}

func helmRepo(name, url, typ string) *sourcev1.HelmRepository {
	h := &sourcev1.HelmRepository{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "apps"}}
	h.Spec.URL = url
	h.Spec.Type = typ
	return h
}

func templated(chartName, version, sourceKind, sourceName string) *helmv2.HelmRelease {
	h := hr("web")
	h.Spec.Chart = &helmv2.HelmChartTemplate{Spec: helmv2.HelmChartTemplateSpec{
		Chart: chartName, Version: version,
		SourceRef: &helmv2.CrossNamespaceObjectReference{Kind: sourceKind, Name: sourceName},
	}}
	return h
}

func TestHelmRepositoryHTTP(t *testing.T) {
	repo := helmtest.StartChartRepo(t)
	for _, v := range []string{"1.0.0", "1.1.0", "2.0.0-beta.1"} {
		repo.Add(t, helmtest.Package("app", helmtest.SimpleChart("app", v)))
	}
	cache, err := chartcache.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	r := &Resolver{Client: client(t, cache, false, repo.Host)}
	src := helmRepo("charts", repo.URL, "")
	for version, want := range map[string]string{
		"":             "1.1.0",
		"*":            "1.1.0",
		"~1.0":         "1.0.0",
		">=1.0.0-0":    "2.0.0-beta.1",
		"2.0.0-beta.1": "2.0.0-beta.1",
		"1.0.0":        "1.0.0",
	} {
		a, err := resolve(t, r, templated("app", version, "HelmRepository", "charts"), src)
		if err != nil {
			t.Fatalf("version %q: %v", version, err)
		}
		if a.Version != want {
			t.Errorf("version %q resolved to %s, want %s", version, a.Version, want)
		}
	}
	if _, err := resolve(t, r, templated("app", "~3", "HelmRepository", "charts"), src); err == nil || !strings.Contains(err.Error(), "no 'app' chart with version matching '~3' found") {
		t.Errorf("no match: %v", err)
	}
	if _, err := resolve(t, r, templated("nope", "*", "HelmRepository", "charts"), src); err == nil {
		t.Error("a chart the index does not list was found")
	}

	// A pinned version is remembered: the next run needs neither the index
	// nor the chart from the network.
	before := repo.Requests()
	next := &Resolver{Client: client(t, cache, false, repo.Host)}
	if _, err := resolve(t, next, templated("app", "1.0.0", "HelmRepository", "charts"), src); err != nil {
		t.Fatal(err)
	}
	if repo.Requests() != before {
		t.Errorf("a remembered pinned chart asked the network %d times", repo.Requests()-before)
	}
	// A range needs the index again (online, once per run).
	if _, err := resolve(t, next, templated("app", "~1", "HelmRepository", "charts"), src); err != nil {
		t.Fatal(err)
	}
	if repo.Requests() != before+1 {
		t.Errorf("a range read the index %d times", repo.Requests()-before)
	}

	// A chart whose URL in the index points at another host is refused
	// unless the policy names that host.
	elsewhere := helmtest.StartChartRepo(t)
	elsewhere.Add(t, helmtest.Package("app", helmtest.SimpleChart("app", "9.0.0")))
	repo.Add(t, helmtest.Package("app", helmtest.SimpleChart("app", "9.0.0")))
	repo.Entry("app", "9.0.0").URLs = []string{elsewhere.URL + "/charts/app-9.0.0.tgz"}
	fresh := &Resolver{Client: client(t, nil, false, repo.Host)}
	_, err = resolve(t, fresh, templated("app", "9.0.0", "HelmRepository", "charts"), src)
	var he *fetch.HostError
	if !errors.As(err, &he) || elsewhere.Requests() != 0 {
		t.Errorf("a chart URL on another host: %v (%d requests there)", err, elsewhere.Requests())
	}
}

func TestHelmRepositoryOCI(t *testing.T) {
	reg := helmtest.StartRegistry(t)
	for _, v := range []string{"1.0.0", "1.2.0", "2.0.0"} {
		reg.PushChart(t, "charts/app", v, helmtest.Package("app", helmtest.SimpleChart("app", v)))
	}
	reg.PushChart(t, "charts/app", "not-semver", helmtest.Package("app", helmtest.SimpleChart("app", "0.0.1")))
	r := &Resolver{Client: client(t, nil, false, reg.Host)}
	src := helmRepo("charts", "oci://"+reg.Host+"/charts", sourcev1.HelmRepositoryTypeOCI)
	for version, want := range map[string]string{"1.0.0": "1.0.0", "^1": "1.2.0", "*": "2.0.0", "": "2.0.0"} {
		a, err := resolve(t, r, templated("app", version, "HelmRepository", "charts"), src)
		if err != nil {
			t.Fatalf("version %q: %v", version, err)
		}
		if a.Version != want {
			t.Errorf("version %q resolved to %s, want %s", version, a.Version, want)
		}
		if a.Chart.OCIRevision != "" {
			t.Errorf("a HelmRepository chart's version gets no digest metadata from helm-controller")
		}
	}
}

func TestHelmChartRefAndOCITemplate(t *testing.T) {
	reg := helmtest.StartRegistry(t)
	reg.PushChart(t, "charts/app", "1.0.0", helmtest.Package("app", helmtest.SimpleChart("app", "1.0.0")))
	repo := helmtest.StartChartRepo(t)
	repo.Add(t, helmtest.Package("app", helmtest.SimpleChart("app", "3.0.0")))
	r := &Resolver{Client: client(t, nil, false, reg.Host, repo.Host)}

	hc := &sourcev1.HelmChart{ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "apps"}}
	hc.Spec = sourcev1.HelmChartSpec{Chart: "app", Version: "3.x", SourceRef: sourcev1.LocalHelmChartSourceReference{Kind: "HelmRepository", Name: "charts"}}
	a, err := resolve(t, r, chartRef("HelmChart", "app"), hc, helmRepo("charts", repo.URL, ""))
	if err != nil {
		t.Fatal(err)
	}
	if a.Version != "3.0.0" {
		t.Errorf("HelmChart: %s", a.Version)
	}

	h := hr("web")
	h.Spec.Chart = &helmv2.HelmChartTemplate{Kind: "OCIRepository", Spec: helmv2.HelmChartTemplateSpec{
		OCIRepositorySpec: sourcev1.OCIRepositorySpec{URL: "oci://" + reg.Host + "/charts/app", Reference: &sourcev1.OCIRepositoryRef{Tag: "1.0.0"}},
	}}
	a, err = resolve(t, r, h)
	if err != nil {
		t.Fatal(err)
	}
	if a.Version != "1.0.0" || !strings.HasPrefix(a.Chart.OCIRevision, "1.0.0@sha256:") {
		t.Errorf("OCIRepository template: %s %s", a.Version, a.Chart.OCIRevision)
	}

	_, err = resolve(t, r, chartRef("OCIRepository", "missing"))
	var nf *NotFoundError
	if !errors.As(err, &nf) {
		t.Errorf("a missing source: %v", err)
	}
	_, err = resolve(t, r, chartRef("ExternalArtifact", "x"))
	var un *UnsupportedError
	if !errors.As(err, &un) {
		t.Errorf("an ExternalArtifact: %v", err)
	}
}

func TestGitRepositoryCharts(t *testing.T) {
	files := helmtest.SimpleChart("local", "0.3.0")
	snapshot := map[string][]byte{
		"values/prod.yaml":                []byte("greeting: from-git\n"),
		"charts/local/.helmignore":        []byte("*.md\n"),
		"charts/local/README.md":          []byte("docs\n"),
		"charts/local/templates/.scratch": []byte("{{ fail }}\n"),
	}
	for n, d := range files {
		snapshot["charts/local/"+n] = []byte(d)
	}
	repoFS := FilesFS(snapshot)

	self := &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Name: "flux-system", Namespace: "apps"}}
	self.Spec.URL = "ssh://git@github.com/me/home-ops"
	other := &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Name: "upstream", Namespace: "apps"}}
	r := &Resolver{Repository: repoFS, Self: func(o ObjectRef) bool { return o.Name == "flux-system" }}

	h := templated("./charts/local", "", "GitRepository", "flux-system")
	h.Spec.Chart.Spec.ValuesFiles = []string{"values/prod.yaml", "values/missing.yaml"}
	h.Spec.Chart.Spec.IgnoreMissingValuesFiles = true
	a, err := resolve(t, r, h, self, other)
	if err != nil {
		t.Fatal(err)
	}
	if a.Name != "local" || a.Version != "0.3.0" {
		t.Errorf("chart %s %s", a.Name, a.Version)
	}
	var names []string
	for _, f := range a.Chart.Files {
		names = append(names, f.Name)
	}
	if got := strings.Join(names, ","); got != ".helmignore,Chart.yaml,templates/configmap.yaml,values.yaml" {
		t.Errorf("files read: %s", got)
	}
	var vals map[string]any
	if err := yaml.Unmarshal(a.Chart.Values, &vals); err != nil || vals["greeting"] != "from-git" {
		t.Errorf("values files merged: %v %v", vals, err)
	}

	_, err = resolve(t, r, templated("./charts/local", "", "GitRepository", "upstream"), self, other)
	var un *UnsupportedError
	if !errors.As(err, &un) {
		t.Errorf("a GitRepository that is not this repository: %v", err)
	}
	if _, err := resolve(t, r, templated("../../etc", "", "GitRepository", "flux-system"), self); err == nil {
		t.Error("a chart path leaving the repository was read")
	}
	h = templated("./charts/local", "", "GitRepository", "flux-system")
	h.Spec.Chart.Spec.ValuesFiles = []string{"values/missing.yaml"}
	if _, err := resolve(t, r, h, self); err == nil || !strings.Contains(err.Error(), "no values file found") {
		t.Errorf("a missing values file: %v", err)
	}
}

func TestOfflineNamesWhatIsMissing(t *testing.T) {
	reg := helmtest.StartRegistry(t)
	reg.PushChart(t, "charts/app", "1.0.0", helmtest.Package("app", helmtest.SimpleChart("app", "1.0.0")))
	r := &Resolver{Client: client(t, nil, true, reg.Host)}
	_, err := resolve(t, r, chartRef("OCIRepository", "app"), ociRepo("app", "oci://"+reg.Host+"/charts/app", &sourcev1.OCIRepositoryRef{Tag: "1.0.0"}, ""))
	var me *fetch.MissingError
	if !errors.As(err, &me) || me.What != "oci://"+reg.Host+"/charts/app:1.0.0" {
		t.Errorf("offline: %v", err)
	}
}

func TestHosts(t *testing.T) {
	h := hr("web")
	h.Spec.Chart = &helmv2.HelmChartTemplate{Kind: "OCIRepository", Spec: helmv2.HelmChartTemplateSpec{
		OCIRepositorySpec: sourcev1.OCIRepositorySpec{URL: "oci://docker.io/bitnamicharts/redis"},
	}}
	secret := helmRepo("private", "https://charts.example.org:8443/stable", "")
	secret.Spec.SecretRef = &meta.LocalObjectReference{Name: "creds"}
	got := Hosts([]any{
		ociRepo("a", "oci://ghcr.io/bjw-s/helm/app-template", nil, ""),
		helmRepo("b", "oci://GHCR.io/home-operations/charts", "oci"),
		secret, h, hr("unrelated"),
	})
	if strings.Join(got, ",") != "charts.example.org:8443,ghcr.io,index.docker.io" {
		t.Errorf("hosts = %v", got)
	}
}
