// Package livetest starts a real kube-apiserver and etcd on loopback for
// gen's tests, through controller-runtime's envtest, with the Gateway API,
// DNSEndpoint and Flux CRDs installed. The binaries are the ones
// scripts/kube-tools.sh builds into the tools cache; no fake clientset
// stands in for the API server.
//
// One Cluster serves one test package: start it in TestMain with Main.
// When the binaries are missing the package's tests skip with a message
// saying how to get them, except in CI (CI=true), where they fail.
package livetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/gen-gitops/gen/internal/repo"
)

// KubeVersion is the version of the binaries scripts/kube-tools.sh builds.
const KubeVersion = "v1.37.2"

// Cluster is a running test API server.
type Cluster struct {
	// Config reaches the server as an administrator.
	Config *rest.Config
	// Kubeconfig is the path of a kubeconfig file for the same user, for
	// commands (gen, kubectl) run by tests.
	Kubeconfig string

	env *envtest.Environment
	dir string
}

// AssetsDir is where the binaries are: $KUBEBUILDER_ASSETS when set, else
// the tools cache scripts/kube-tools.sh fills.
func AssetsDir() string {
	if d := os.Getenv("KUBEBUILDER_ASSETS"); d != "" {
		return d
	}
	base := os.Getenv("GEN_TOOLS_DIR")
	if base == "" {
		cache := os.Getenv("XDG_CACHE_HOME")
		if cache == "" {
			home, _ := os.UserHomeDir()
			cache = filepath.Join(home, ".cache")
		}
		base = filepath.Join(cache, "gen-tools")
	}
	return filepath.Join(base, "kube-"+KubeVersion)
}

// missing names the binaries absent from dir.
func missing(dir string) []string {
	var out []string
	for _, b := range []string{"kube-apiserver", "etcd"} {
		if st, err := os.Stat(filepath.Join(dir, b)); err != nil || st.IsDir() {
			out = append(out, b)
		}
	}
	return out
}

// current is the package's cluster, set by Main.
var (
	current  *Cluster
	skipWhy  string
	startErr error
)

// Main starts a cluster, runs the package's tests and stops it. Use it as
// TestMain's body: os.Exit(livetest.Main(m)).
func Main(m *testing.M) int {
	dir := AssetsDir()
	if miss := missing(dir); len(miss) > 0 {
		why := fmt.Sprintf("no %s in %s: run scripts/kube-tools.sh (or make test) to build them, or set KUBEBUILDER_ASSETS",
			strings.Join(miss, " and "), dir)
		if os.Getenv("CI") == "true" {
			fmt.Fprintln(os.Stderr, "livetest: "+why)
			return 1
		}
		skipWhy = why
		return m.Run()
	}
	c, err := Start(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "livetest: "+err.Error())
		startErr = err
		return 1
	}
	current = c
	code := m.Run()
	if err := c.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "livetest: stopping the API server:", err)
	}
	return code
}

// Get returns the package's cluster, skipping the test when Main found no
// binaries (outside CI).
func Get(t testing.TB) *Cluster {
	t.Helper()
	switch {
	case current != nil:
		return current
	case skipWhy != "":
		t.Skip(skipWhy)
	case startErr != nil:
		t.Fatal(startErr)
	}
	t.Fatal("livetest.Main did not run: call it from TestMain")
	return nil
}

// CRDDirs are the CRD folders installed: Gateway API's standard channel
// from the sigs.k8s.io/gateway-api module the build uses, this package's
// crds folder (DNSEndpoint) and crds/flux, the Flux CRDs generated from
// the Flux API modules go.mod pins (scripts/gen-flux-crds.sh).
func CRDDirs() ([]string, error) {
	_, file, _, _ := runtime.Caller(0)
	own := filepath.Join(filepath.Dir(file), "crds")
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/gateway-api").Output()
	if err != nil {
		return nil, fmt.Errorf("locating the sigs.k8s.io/gateway-api module for its CRDs: %w", err)
	}
	gw := filepath.Join(strings.TrimSpace(string(out)), "config", "crd", "standard")
	return []string{gw, own, filepath.Join(own, "flux")}, nil
}

// Start starts kube-apiserver and etcd from the binaries in dir and
// installs the CRDs.
func Start(dir string) (*Cluster, error) {
	crds, err := CRDDirs()
	if err != nil {
		return nil, err
	}
	return StartWith(dir, crds)
}

// StartBare starts a second, bare cluster (no CRDs) from the package's
// binaries, for tests of clusters without Gateway API, external-dns or Flux; it
// is stopped when the test ends.
func StartBare(t testing.TB) *Cluster {
	t.Helper()
	Get(t)
	c, err := StartWith(AssetsDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop() })
	return c
}

// StartWith starts a cluster with the CRDs of the given folders.
func StartWith(dir string, crds []string) (*Cluster, error) {
	env := &envtest.Environment{
		BinaryAssetsDirectory: dir,
		CRDDirectoryPaths:     crds,
		ErrorIfCRDPathMissing: true,
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("starting kube-apiserver and etcd from %s: %w", dir, err)
	}
	c := &Cluster{Config: cfg, env: env}
	tmp, err := os.MkdirTemp("", "gen-livetest-")
	if err != nil {
		_ = env.Stop()
		return nil, err
	}
	c.dir = tmp
	user, err := env.AddUser(envtest.User{Name: "gen-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		_ = c.Stop()
		return nil, fmt.Errorf("adding the admin user: %w", err)
	}
	kc, err := user.KubeConfig()
	if err != nil {
		_ = c.Stop()
		return nil, err
	}
	c.Kubeconfig = filepath.Join(tmp, "kubeconfig")
	if err := os.WriteFile(c.Kubeconfig, kc, 0o600); err != nil {
		_ = c.Stop()
		return nil, err
	}
	return c, nil
}

// Stop stops the server and removes its files.
func (c *Cluster) Stop() error {
	err := c.env.Stop()
	if c.dir != "" {
		_ = os.RemoveAll(c.dir)
	}
	return err
}

// UserKubeconfig writes a kubeconfig for a user with the given groups
// (none: a user RBAC lets do nothing) and returns its path.
func (c *Cluster) UserKubeconfig(t testing.TB, name string, groups ...string) string {
	t.Helper()
	user, err := c.env.AddUser(envtest.User{Name: name, Groups: groups}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kc, err := user.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(p, kc, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// client is a dynamic client with a REST mapper that rereads discovery.
type client struct {
	dyn    dynamic.Interface
	mapper meta.ResettableRESTMapper
}

func (c *Cluster) client() (*client, error) {
	dyn, err := dynamic.NewForConfig(c.Config)
	if err != nil {
		return nil, err
	}
	dc, err := discovery.NewDiscoveryClientForConfig(c.Config)
	if err != nil {
		return nil, err
	}
	return &client{dyn: dyn, mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))}, nil
}

func (cl *client) resource(o *unstructured.Unstructured) (dynamic.ResourceInterface, error) {
	gvk := o.GroupVersionKind()
	m, err := cl.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		cl.mapper.Reset()
		if m, err = cl.mapper.RESTMapping(gvk.GroupKind(), gvk.Version); err != nil {
			return nil, fmt.Errorf("mapping %s: %w", gvk, err)
		}
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		ns := o.GetNamespace()
		if ns == "" {
			ns = "default"
		}
		return cl.dyn.Resource(m.Resource).Namespace(ns), nil
	}
	return cl.dyn.Resource(m.Resource), nil
}

// Objects parses a YAML stream into objects.
func Objects(data []byte) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	for _, doc := range repo.SplitDocuments(data) {
		docs, err := repo.Documents(doc)
		if err != nil {
			return nil, err
		}
		for _, d := range docs {
			if d == nil {
				continue
			}
			// Round-trip through JSON so numbers are int64, as the API
			// machinery expects.
			js, err := json.Marshal(d)
			if err != nil {
				return nil, err
			}
			u := &unstructured.Unstructured{}
			if err := u.UnmarshalJSON(js); err != nil {
				return nil, err
			}
			out = append(out, u)
		}
	}
	return out, nil
}

// Apply applies a YAML stream server-side, the way `kubectl apply
// --server-side` does (field manager "kubectl"), and returns the objects
// as the server stored them.
func (c *Cluster) Apply(ctx context.Context, data []byte) ([]*unstructured.Unstructured, error) {
	return c.apply(ctx, data, false)
}

// DryRun applies a YAML stream server-side with dryRun=All: the server
// validates and defaults every object, stores nothing, and returns them.
// It is the schema oracle for generated manifests: field validation is
// strict, so an unknown or duplicate field is an error, like a value that
// breaks the schema (a type, an enum, a pattern).
func (c *Cluster) DryRun(ctx context.Context, data []byte) ([]*unstructured.Unstructured, error) {
	return c.apply(ctx, data, true)
}

func (c *Cluster) apply(ctx context.Context, data []byte, dryRun bool) ([]*unstructured.Unstructured, error) {
	cl, err := c.client()
	if err != nil {
		return nil, err
	}
	objs, err := Objects(data)
	if err != nil {
		return nil, err
	}
	var out []*unstructured.Unstructured
	for _, o := range objs {
		ri, err := cl.resource(o)
		if err != nil {
			return nil, err
		}
		js, err := o.MarshalJSON()
		if err != nil {
			return nil, err
		}
		opts := metav1.PatchOptions{FieldManager: "kubectl", Force: ptr(true), FieldValidation: "Strict"}
		if dryRun {
			opts.DryRun = []string{metav1.DryRunAll}
		}
		got, err := ri.Patch(ctx, o.GetName(), types.ApplyPatchType, js, opts)
		if err != nil {
			return nil, fmt.Errorf("applying %s %s: %w", o.GetKind(), o.GetName(), err)
		}
		out = append(out, got)
	}
	return out, nil
}

// Kubectl runs the kubectl of the assets folder against the cluster.
func (c *Cluster) Kubectl(ctx context.Context, stdin []byte, args ...string) ([]byte, error) {
	bin := filepath.Join(AssetsDir(), "kubectl")
	if _, err := os.Stat(bin); err != nil {
		if p, err := exec.LookPath("kubectl"); err == nil {
			bin = p
		} else {
			return nil, fmt.Errorf("no kubectl in %s or on PATH", AssetsDir())
		}
	}
	cmd := exec.CommandContext(ctx, bin, append([]string{"--kubeconfig", c.Kubeconfig}, args...)...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return out, nil
}

func ptr[T any](v T) *T { return &v }
