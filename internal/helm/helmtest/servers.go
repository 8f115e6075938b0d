package helmtest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	repo "helm.sh/helm/v4/pkg/repo/v1"
	"sigs.k8s.io/yaml"
)

// Media types of a chart pushed to an OCI registry, as `helm push` writes
// them.
const (
	ConfigMediaType = "application/vnd.cncf.helm.config.v1+json"
	ChartMediaType  = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
)

// Server is a loopback HTTP server that counts what it is asked and can
// demand basic authentication.
type Server struct {
	*httptest.Server
	// Host is host:port.
	Host string

	requests atomic.Int64
	mu       sync.Mutex
	user     string // demanded credentials, "" for none
	password string
	seen     []string
}

// Port is the server's port.
func (s *Server) Port() string {
	_, port, _ := strings.Cut(s.Host, ":")
	return port
}

// Requests is how many requests reached the server.
func (s *Server) Requests() int64 { return s.requests.Load() }

// Authorizations lists the Authorization headers the server received, in
// order (empty strings for requests without one).
func (s *Server) Authorizations() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.seen...)
}

// RequireBasicAuth makes the server refuse requests without these
// credentials, with a Basic challenge.
func (s *Server) RequireBasicAuth(user, password string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.user, s.password = user, password
}

// StartServer serves h on loopback, counting requests.
func StartServer(t testing.TB, h http.Handler) *Server { return newServer(t, h) }

func newServer(t testing.TB, h http.Handler) *Server {
	s := &Server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		s.mu.Lock()
		want := ""
		if s.user != "" {
			want = "Basic " + base64.StdEncoding.EncodeToString([]byte(s.user+":"+s.password))
		}
		s.seen = append(s.seen, r.Header.Get("Authorization"))
		s.mu.Unlock()
		if want != "" && r.Header.Get("Authorization") != want {
			w.Header().Set("WWW-Authenticate", `Basic realm="helmtest"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	}))
	s.Host = strings.TrimPrefix(s.URL, "http://")
	t.Cleanup(s.Close)
	return s
}

// Registry is an OCI registry on loopback.
type Registry struct {
	*Server
}

// StartRegistry starts go-containerregistry's in-memory registry.
func StartRegistry(t testing.TB) *Registry {
	t.Helper()
	h := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	return &Registry{Server: newServer(t, h)}
}

// rawManifest is an OCI manifest given as bytes.
type rawManifest []byte

func (m rawManifest) RawManifest() ([]byte, error)        { return m, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }

// PushChart pushes a chart archive as `helm push` would (a Helm config
// and one chart layer) to repository:tag and returns the manifest digest.
// repository is a path such as "charts/app-chart".
func (r *Registry) PushChart(t testing.TB, repository, tag string, archive []byte) string {
	t.Helper()
	return r.Push(t, repository, tag, []Layer{{MediaType: ChartMediaType, Data: archive}})
}

// Layer is one layer of an artifact pushed with Push.
type Layer struct {
	MediaType string
	Data      []byte
}

// Push pushes an artifact with a Helm config and the given layers.
func (r *Registry) Push(t testing.TB, repository, tag string, layers []Layer) string {
	t.Helper()
	auth := r.pushAuth()
	repoName, err := name.NewRepository(r.Host+"/"+repository, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	config := []byte(`{"name":"pushed","version":"` + tag + `"}`)
	desc := func(mt string, data []byte) map[string]any {
		sum := sha256.Sum256(data)
		return map[string]any{"mediaType": mt, "digest": "sha256:" + hex.EncodeToString(sum[:]), "size": len(data)}
	}
	upload := func(mt string, data []byte) {
		if err := remote.WriteLayer(repoName, static.NewLayer(data, types.MediaType(mt)), remote.WithAuth(auth)); err != nil {
			t.Fatalf("uploading a blob: %v", err)
		}
	}
	upload(ConfigMediaType, config)
	var ls []map[string]any
	for _, l := range layers {
		upload(l.MediaType, l.Data)
		ls = append(ls, desc(l.MediaType, l.Data))
	}
	manifest, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     string(types.OCIManifestSchema1),
		"config":        desc(ConfigMediaType, config),
		"layers":        ls,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Put(repoName.Tag(tag), rawManifest(manifest), remote.WithAuth(auth)); err != nil {
		t.Fatalf("pushing %s:%s: %v", repository, tag, err)
	}
	sum := sha256.Sum256(manifest)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// pushAuth returns the credentials the server demands, for the tests' own
// pushes.
func (r *Registry) pushAuth() authn.Authenticator {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.user == "" {
		return authn.Anonymous
	}
	return &authn.Basic{Username: r.user, Password: r.password}
}

// ChartRepo is an HTTP Helm chart repository on loopback: /index.yaml and
// the archives under /charts/.
type ChartRepo struct {
	*Server

	mu     sync.Mutex
	index  *repo.IndexFile
	files  map[string][]byte
	extras map[string]http.Handler
}

// StartChartRepo starts an empty chart repository.
func StartChartRepo(t testing.TB) *ChartRepo {
	t.Helper()
	c := &ChartRepo{index: repo.NewIndexFile(), files: map[string][]byte{}, extras: map[string]http.Handler{}}
	c.Server = newServer(t, http.HandlerFunc(c.serve))
	return c
}

// Add publishes a chart archive and lists it in the index.
func (c *ChartRepo) Add(t testing.TB, archive []byte) {
	t.Helper()
	meta, err := metadataOf(archive)
	if err != nil {
		t.Fatal(err)
	}
	file := fmt.Sprintf("charts/%s-%s.tgz", meta.Name, meta.Version)
	sum := sha256.Sum256(archive)
	c.mu.Lock()
	defer c.mu.Unlock()
	// An empty base URL lists the archive by a URL relative to the
	// repository's, which clients resolve against it.
	if err := c.index.MustAdd(meta, file, "", hex.EncodeToString(sum[:])); err != nil {
		t.Fatal(err)
	}
	c.index.SortEntries()
	c.files["/"+file] = archive
}

// Entry lets a test change a listed chart version (its URLs or digest).
func (c *ChartRepo) Entry(name, version string) *repo.ChartVersion {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, cv := range c.index.Entries[name] {
		if cv.Version == version {
			return cv
		}
	}
	return nil
}

// Handle serves h at path (for files that are not charts: schema
// documents, or a hostile endless stream).
func (c *ChartRepo) Handle(path string, h http.Handler) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.extras[path] = h
}

// File serves data at path.
func (c *ChartRepo) File(path string, data []byte) {
	c.Handle(path, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(data)
	}))
}

func (c *ChartRepo) serve(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	extra := c.extras[r.URL.Path]
	data, ok := c.files[r.URL.Path]
	var index []byte
	if r.URL.Path == "/index.yaml" {
		var err error
		index, err = yaml.Marshal(c.index)
		if err != nil {
			c.mu.Unlock()
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
	}
	c.mu.Unlock()
	switch {
	case extra != nil:
		extra.ServeHTTP(w, r)
	case index != nil:
		_, _ = w.Write(index)
	case ok:
		_, _ = w.Write(data)
	default:
		http.NotFound(w, r)
	}
}

// Endless streams n bytes of zeros without holding them: a chart that is
// far larger than any budget. Sent counts the bytes written.
type Endless struct {
	N    int64
	Sent atomic.Int64
}

func (e *Endless) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	buf := make([]byte, 32<<10)
	w.Header().Set("Content-Type", "application/gzip")
	for sent := int64(0); sent < e.N; {
		n := int64(len(buf))
		if e.N-sent < n {
			n = e.N - sent
		}
		m, err := w.Write(buf[:n])
		sent += int64(m)
		e.Sent.Add(int64(m))
		if err != nil {
			return
		}
	}
}

func metadataOf(archive []byte) (*chart.Metadata, error) {
	files, err := untar(archive)
	if err != nil {
		return nil, err
	}
	for n, data := range files {
		if strings.Count(n, "/") == 1 && strings.HasSuffix(n, "/Chart.yaml") {
			var m chart.Metadata
			if err := yaml.Unmarshal(data, &m); err != nil {
				return nil, err
			}
			return &m, nil
		}
	}
	return nil, fmt.Errorf("no Chart.yaml in archive")
}

// Digest is the sha256 digest of data in OCI form.
func Digest(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Hash is v1.Hash of data, for go-containerregistry calls.
func Hash(data []byte) v1.Hash {
	h, _, err := v1.SHA256(strings.NewReader(string(data)))
	if err != nil {
		panic(err)
	}
	return h
}

// untar reads every regular file of a chart archive.
func untar(archive []byte) (map[string][]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(archive))
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(zr)
	out := map[string][]byte{}
	for {
		hd, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if hd.Typeflag != tar.TypeReg {
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return nil, err
		}
		out[hd.Name] = data
	}
}
