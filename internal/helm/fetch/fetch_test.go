package fetch

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gen-gitops/gen/internal/helm/chartcache"
	"github.com/gen-gitops/gen/internal/helm/helmtest"
	"github.com/gen-gitops/gen/internal/netguard"
)

func newCache(t *testing.T) *chartcache.Cache {
	t.Helper()
	c, err := chartcache.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newClient(t *testing.T, opts Options) *Client {
	t.Helper()
	if opts.Cache == nil {
		opts.Cache = newCache(t)
	}
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func policy(t *testing.T, hosts ...string) Policy {
	t.Helper()
	p, err := NewPolicy(hosts...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPolicy(t *testing.T) {
	p := policy(t, "ghcr.io", "oci://registry.example.org:5000/charts", "https://Charts.Example.org/stable")
	tests := []struct {
		url  string
		want bool
	}{
		{"https://ghcr.io/v2/", true},
		{"https://ghcr.io:443/v2/", true},
		{"http://ghcr.io/v2/", true},
		{"https://ghcr.io:8443/v2/", false},
		{"https://evil.ghcr.io/v2/", false},
		{"https://ghcr.io.evil.org/v2/", false},
		{"https://registry.example.org:5000/v2/", true},
		{"https://registry.example.org/v2/", false},
		{"https://charts.example.org/stable/index.yaml", true},
		{"file:///etc/passwd", false},
		{"ftp://ghcr.io/x", false},
	}
	for _, tc := range tests {
		u, _ := url.Parse(tc.url)
		if got := p.Allows(u); got != tc.want {
			t.Errorf("Allows(%s) = %v, want %v", tc.url, got, tc.want)
		}
	}
	var zero Policy
	if zero.Allows(&url.URL{Scheme: "https", Host: "ghcr.io"}) {
		t.Error("the zero policy allows a host")
	}
	for _, bad := range []string{"", "*.example.org", "ghcr.io/org", "user@ghcr.io"} {
		if _, err := NewPolicy(bad); err == nil {
			t.Errorf("NewPolicy(%q) accepted", bad)
		}
	}
}

func TestDownloadOnlyFromAllowedHosts(t *testing.T) {
	allowed := helmtest.StartChartRepo(t)
	other := helmtest.StartChartRepo(t)
	archive := helmtest.Package("simple", helmtest.SimpleChart("simple", "0.1.0"))
	allowed.Add(t, archive)
	other.Add(t, archive)
	c := newClient(t, Options{Policy: policy(t, allowed.Host)})
	ctx := context.Background()

	if _, err := c.Index(ctx, allowed.URL); err != nil {
		t.Fatalf("allowed host: %v", err)
	}
	_, err := c.Index(ctx, other.URL)
	var he *HostError
	if !errors.As(err, &he) {
		t.Fatalf("want a HostError for a host the policy does not name, got %v", err)
	}
	if n := other.Requests(); n != 0 {
		t.Errorf("the refused host received %d requests", n)
	}

	// A redirect from an allowed host to another one is refused too.
	allowed.Handle("/moved/index.yaml", http.RedirectHandler(other.URL+"/index.yaml", http.StatusFound))
	_, err = c.Index(ctx, allowed.URL+"/moved")
	if !errors.As(err, &he) || other.Requests() != 0 {
		t.Fatalf("redirect to a refused host: err %v, %d requests", err, other.Requests())
	}
}

func TestCredentialsGoOnlyToTheirHost(t *testing.T) {
	repo := helmtest.StartChartRepo(t)
	repo.RequireBasicAuth("alice", "s3cret")
	other := helmtest.StartChartRepo(t)
	archive := helmtest.Package("simple", helmtest.SimpleChart("simple", "0.1.0"))
	repo.Add(t, archive)
	other.Add(t, archive)

	creds := NewCredentials()
	if err := creds.Add(repo.Host, "alice", "s3cret"); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, Options{Policy: policy(t, repo.Host, other.Host), Credentials: creds})
	ctx := context.Background()
	if _, err := c.Index(ctx, repo.URL); err != nil {
		t.Fatalf("with credentials: %v", err)
	}
	if _, err := c.Index(ctx, other.URL); err != nil {
		t.Fatalf("other host: %v", err)
	}
	for _, a := range other.Authorizations() {
		if a != "" {
			t.Errorf("the other host received credentials: %q", a)
		}
	}

	// A redirect to another allowed host drops the credentials (and the
	// door would refuse them if they were still attached).
	repo.Handle("/elsewhere/index.yaml", http.RedirectHandler(other.URL+"/index.yaml", http.StatusFound))
	before := len(other.Authorizations())
	if _, err := c.Index(ctx, repo.URL+"/elsewhere"); err != nil {
		t.Fatal(err)
	}
	for _, a := range other.Authorizations()[before:] {
		if a != "" {
			t.Errorf("credentials followed a redirect: %q", a)
		}
	}

	// The door itself refuses a request that carries them elsewhere, or
	// over plain HTTP to a host that is not loopback, before dialing.
	d := newDoor(policy(t, repo.Host, other.Host, "charts.example.invalid"), creds, 1<<20)
	header := credential{Username: "alice", Password: "s3cret"}.header()
	for _, target := range []string{other.URL + "/index.yaml", "http://charts.example.invalid/index.yaml"} {
		req, _ := http.NewRequest(http.MethodGet, target, nil)
		req.Header.Set("Authorization", header)
		_, err := d.RoundTrip(req)
		var ce *CredentialError
		if !errors.As(err, &ce) {
			t.Errorf("%s: want a CredentialError, got %v", target, err)
		}
	}
}

func TestOCICredentialsNotSentToATokenServiceElsewhere(t *testing.T) {
	// A registry that sends clients to a token service on another host, as
	// Docker Hub does: with credentials for the registry, the token request
	// would carry them to the token host. The door refuses it.
	tokens := helmtest.StartChartRepo(t)
	reg := helmtest.StartRegistry(t)
	archive := helmtest.Package("simple", helmtest.SimpleChart("simple", "0.1.0"))
	reg.PushChart(t, "charts/simple", "0.1.0", archive)
	challenger := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="http://localhost:%s/token",service="registry"`, tokens.Port()))
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		http.Error(w, "no", http.StatusForbidden)
	}))
	t.Cleanup(challenger.Close)
	host := strings.TrimPrefix(challenger.URL, "http://")

	creds := NewCredentials()
	_ = creds.Add(host, "bob", "hunter2")
	c := newClient(t, Options{Policy: policy(t, host, "localhost:"+tokens.Port()), Credentials: creds})
	_, err := c.Manifest(context.Background(), Repository{Name: host + "/charts/simple"}, "0.1.0")
	var ce *CredentialError
	if !errors.As(err, &ce) {
		t.Fatalf("want the credentials refused on their way to the token host, got %v", err)
	}
	for _, a := range tokens.Authorizations() {
		if a != "" {
			t.Errorf("token host received %q", a)
		}
	}
}

func TestOCIWithBasicAuth(t *testing.T) {
	reg := helmtest.StartRegistry(t)
	reg.RequireBasicAuth("alice", "s3cret")
	archive := helmtest.Package("simple", helmtest.SimpleChart("simple", "0.1.0"))
	digest := reg.PushChart(t, "charts/simple", "0.1.0", archive)

	anon := newClient(t, Options{Policy: policy(t, reg.Host)})
	if _, err := anon.Manifest(context.Background(), Repository{Name: reg.Host + "/charts/simple"}, "0.1.0"); err == nil {
		t.Fatal("a private registry answered without credentials")
	}
	creds := NewCredentials()
	_, err := creds.AddDockerConfig([]byte(fmt.Sprintf(`{"auths": {%q: {"auth": %q}}, "credHelpers": {"gcr.io": "gcloud"}}`,
		reg.Host, "YWxpY2U6czNjcmV0")))
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, Options{Policy: policy(t, reg.Host), Credentials: creds})
	m, err := c.Manifest(context.Background(), Repository{Name: reg.Host + "/charts/simple"}, "0.1.0")
	if err != nil {
		t.Fatal(err)
	}
	if m.Digest != digest {
		t.Errorf("manifest digest %s, pushed %s", m.Digest, digest)
	}
	data, err := c.Layer(context.Background(), Repository{Name: reg.Host + "/charts/simple"}, m.Layers[0])
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != string(archive) {
		t.Error("layer is not the pushed chart")
	}
}

func TestDockerConfigSkipsHelpers(t *testing.T) {
	creds := NewCredentials()
	skipped, err := creds.AddDockerConfig([]byte(`{
  "auths": {"https://index.docker.io/v1/": {"auth": "dTpw"}, "quay.io": {}},
  "credsStore": "desktop",
  "credHelpers": {"123.dkr.ecr.us-east-1.amazonaws.com": "ecr-login"}
}`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(skipped, ",") != "123.dkr.ecr.us-east-1.amazonaws.com,quay.io" {
		t.Errorf("skipped = %v", skipped)
	}
	if cred, ok := creds.lookup("index.docker.io"); !ok || cred.Username != "u" || cred.Password != "p" {
		t.Errorf("docker hub credentials filed as %+v %v", cred, ok)
	}
}

func TestHugeChartIsCutAtTheBudget(t *testing.T) {
	repo := helmtest.StartChartRepo(t)
	endless := &helmtest.Endless{N: 2 << 30}
	repo.Handle("/charts/huge-1.0.0.tgz", endless)
	const limit = 1 << 20
	c := newClient(t, Options{Policy: policy(t, repo.Host), Limits: Limits{Chart: limit}})
	_, _, err := c.Download(context.Background(), repo.URL+"/charts/huge-1.0.0.tgz", "")
	var se *SizeError
	if !errors.As(err, &se) {
		t.Fatalf("want a SizeError, got %v", err)
	}
	// The server was stopped long before 2 GB: what it wrote is the budget
	// plus what the socket buffers held.
	time.Sleep(50 * time.Millisecond)
	if sent := endless.Sent.Load(); sent > 64<<20 {
		t.Errorf("server sent %d bytes for a %d-byte budget", sent, limit)
	}
}

func TestOCILayerOverBudgetIsNotFetched(t *testing.T) {
	reg := helmtest.StartRegistry(t)
	big := make([]byte, 2<<20)
	reg.PushChart(t, "charts/big", "1.0.0", big)
	c := newClient(t, Options{Policy: policy(t, reg.Host), Limits: Limits{Chart: 1 << 20}})
	r := Repository{Name: reg.Host + "/charts/big"}
	m, err := c.Manifest(context.Background(), r, "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	before := reg.Requests()
	_, err = c.Layer(context.Background(), r, m.Layers[0])
	var se *SizeError
	if !errors.As(err, &se) {
		t.Fatalf("want a SizeError, got %v", err)
	}
	if reg.Requests() != before {
		t.Errorf("a layer the manifest says is over budget was requested")
	}
}

func TestCacheAcrossRunsAndOffline(t *testing.T) {
	repo := helmtest.StartChartRepo(t)
	archive := helmtest.Package("simple", helmtest.SimpleChart("simple", "0.1.0"))
	repo.Add(t, archive)
	reg := helmtest.StartRegistry(t)
	reg.PushChart(t, "charts/simple", "0.1.0", archive)
	cache := newCache(t)
	ctx := context.Background()
	chartURL := repo.URL + "/charts/simple-0.1.0.tgz"
	setup := repo.Requests() + reg.Requests()
	ociRepo := Repository{Name: reg.Host + "/charts/simple"}

	// Offline with an empty cache: every answer is a MissingError.
	off := newClient(t, Options{Policy: policy(t, repo.Host, reg.Host), Cache: cache, Offline: true})
	var me *MissingError
	if _, err := off.Index(ctx, repo.URL); !errors.As(err, &me) {
		t.Errorf("offline index: %v", err)
	}
	if _, _, err := off.Download(ctx, chartURL, ""); !errors.As(err, &me) {
		t.Errorf("offline download: %v", err)
	}
	if _, err := off.Manifest(ctx, ociRepo, "0.1.0"); !errors.As(err, &me) || !strings.Contains(me.What, "charts/simple:0.1.0") {
		t.Errorf("offline manifest: %v", err)
	}
	if repo.Requests()+reg.Requests() != setup {
		t.Fatalf("offline reached the network")
	}

	// One online run fills the cache.
	on := newClient(t, Options{Policy: policy(t, repo.Host, reg.Host), Cache: cache})
	if _, err := on.Index(ctx, repo.URL); err != nil {
		t.Fatal(err)
	}
	if _, _, err := on.Download(ctx, chartURL, ""); err != nil {
		t.Fatal(err)
	}
	m, err := on.Manifest(ctx, ociRepo, "0.1.0")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := on.Layer(ctx, ociRepo, m.Layers[0]); err != nil {
		t.Fatal(err)
	}

	// The next run, online or not, needs no network for the same things.
	repoBefore, regBefore := repo.Requests(), reg.Requests()
	for _, c := range []*Client{
		newClient(t, Options{Policy: policy(t, repo.Host, reg.Host), Cache: cache}),
		newClient(t, Options{Policy: policy(t, repo.Host, reg.Host), Cache: cache, Offline: true}),
	} {
		data, _, err := c.Download(ctx, chartURL, "")
		if err != nil || string(data) != string(archive) {
			t.Fatalf("cached download: %v", err)
		}
		m, err := c.Manifest(ctx, ociRepo, "0.1.0")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Layer(ctx, ociRepo, m.Layers[0]); err != nil {
			t.Fatal(err)
		}
	}
	if repo.Requests() != repoBefore || reg.Requests() != regBefore {
		t.Errorf("a warm cache still asked the network (%d, %d requests)", repo.Requests()-repoBefore, reg.Requests()-regBefore)
	}
	// Offline, the index comes from the cache.
	if _, err := off.Index(ctx, repo.URL); err != nil {
		t.Errorf("offline index after a run: %v", err)
	}
}

func TestDigestsAreVerified(t *testing.T) {
	repo := helmtest.StartChartRepo(t)
	archive := helmtest.Package("simple", helmtest.SimpleChart("simple", "0.1.0"))
	repo.Add(t, archive)
	cache := newCache(t)
	c := newClient(t, Options{Policy: policy(t, repo.Host), Cache: cache})
	wrong := chartcache.Digest([]byte("something else"))
	if _, _, err := c.Download(context.Background(), repo.URL+"/charts/simple-0.1.0.tgz", wrong); err == nil || !strings.Contains(err.Error(), "digest") {
		t.Fatalf("a chart that does not match the index's digest was accepted: %v", err)
	}

	// A cached blob that was damaged is fetched again, not used.
	_, digest, err := c.Download(context.Background(), repo.URL+"/charts/simple-0.1.0.tgz", "")
	if err != nil {
		t.Fatal(err)
	}
	blob := filepath.Join(cache.Dir(), "blobs", "sha256", strings.TrimPrefix(digest, "sha256:"))
	if err := os.WriteFile(blob, []byte("tampered"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := repo.Requests()
	data, _, err := c.Download(context.Background(), repo.URL+"/charts/simple-0.1.0.tgz", digest)
	if err != nil || string(data) != string(archive) {
		t.Fatalf("after damage: %v", err)
	}
	if repo.Requests() != before+1 {
		t.Errorf("the damaged blob was not fetched again")
	}
}

func TestServerThatNeverAnswers(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { conn.Close() })
		}
	}()
	c := newClient(t, Options{Policy: policy(t, ln.Addr().String()), Limits: Limits{Request: 500 * time.Millisecond}})
	done := make(chan error, 1)
	go func() {
		_, err := c.Index(context.Background(), "http://"+ln.Addr().String())
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a silent server answered")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the request outlived its time budget by far")
	}
}

func TestCredentialsFromSecrets(t *testing.T) {
	creds := NewCredentials()
	dockerConfig := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "pull", Namespace: "flux-system"},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data: map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths": {
  "ghcr.io": {"username": "me", "password": "ghcr-token"},
  "quay.io": {"username": "me", "password": "quay-token"}}}`)},
	}
	if err := creds.AddSecret("ghcr.io", dockerConfig); err != nil {
		t.Fatal(err)
	}
	if _, ok := creds.lookup("quay.io"); ok {
		t.Error("a dockerconfigjson entry for another host was filed")
	}
	if c, ok := creds.lookup("ghcr.io:443"); !ok || c.Password != "ghcr-token" {
		t.Errorf("ghcr.io: %+v %v", c, ok)
	}
	if err := creds.AddSecret("registry.example.org", dockerConfig); err == nil {
		t.Error("a secret without an entry for the host was accepted")
	}
	basic := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "repo", Namespace: "flux-system"},
		StringData: map[string]string{"username": "u", "password": "p"},
	}
	if err := creds.AddSecret("https://charts.example.org/stable", basic); err != nil {
		t.Fatal(err)
	}
	if c, ok := creds.lookup("charts.example.org"); !ok || c.Username != "u" {
		t.Errorf("basic auth: %+v %v", c, ok)
	}
}

// TestWorksUnderTheNetworkGuard: gen installs a guard on
// http.DefaultTransport that refuses requests without a permit. The door
// has its own transport: it is neither refused by the guard nor let
// through by it, so the host policy alone decides.
func TestWorksUnderTheNetworkGuard(t *testing.T) {
	old := http.DefaultTransport
	t.Cleanup(func() { http.DefaultTransport = old })
	guard := netguard.Install()

	repo := helmtest.StartChartRepo(t)
	repo.Add(t, helmtest.Package("simple", helmtest.SimpleChart("simple", "0.1.0")))
	c := newClient(t, Options{Policy: policy(t, repo.Host)})
	if _, err := c.Index(context.Background(), repo.URL); err != nil {
		t.Fatalf("under the guard: %v", err)
	}
	if refused := guard.Refused(); len(refused) != 0 {
		t.Errorf("the door went through the default transport: %v", refused)
	}
	// A permit from the caller does not widen the policy.
	other := helmtest.StartChartRepo(t)
	_, err := c.Index(netguard.Permit(context.Background()), other.URL)
	var he *HostError
	if !errors.As(err, &he) || other.Requests() != 0 {
		t.Errorf("a permitted context reached a host the policy does not name: %v", err)
	}
}
