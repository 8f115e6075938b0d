// Package live reads (and, for scratch teardown, deletes) objects of a
// running cluster. It finds the cluster the way kubectl does (--kubeconfig,
// then KUBECONFIG, then ~/.kube/config; --context or the current context)
// and talks to it through discovery and the dynamic client, so custom
// resources such as HTTPRoute and DNSEndpoint are read without generated
// clients, and skipped with a note when their CRDs are not installed.
//
// Every error names the cluster, the object or the namespace involved and,
// where the user can act, what to do.
package live

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/gen-gitops/gen/internal/netguard"
)

// Options say which cluster to talk to.
type Options struct {
	// Kubeconfig is --kubeconfig: one file, used alone.
	Kubeconfig string
	// Context is --context: a context of the kubeconfig other than its
	// current one.
	Context string
	// Getenv reads KUBECONFIG and HOME; nil means no environment.
	Getenv func(string) string
	// Timeout bounds each request (default 15s).
	Timeout time.Duration
}

// Client is a connection to one cluster.
type Client struct {
	dyn  dynamic.Interface
	disc discovery.DiscoveryInterface
	// Context is the kubeconfig context in use ("" for a bare rest.Config).
	Context string
	// Host is the API server's address.
	Host string

	once      sync.Once
	kinds     []Kind
	kindNotes []string
	kindErr   error
}

// Kind is one namespaced resource type the server serves.
type Kind struct {
	GVR        schema.GroupVersionResource
	Kind       string
	Verbs      []string
	Categories []string
}

// GVK returns the kind's group, version and kind.
func (k Kind) GVK() schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: k.GVR.Group, Version: k.GVR.Version, Kind: k.Kind}
}

func (k Kind) can(verb string) bool { return slices.Contains(k.Verbs, verb) }

// String is the kind the way kubectl names it: resource.group.
func (k Kind) String() string {
	if k.GVR.Group == "" {
		return k.GVR.Resource
	}
	return k.GVR.Resource + "." + k.GVR.Group
}

// ErrNoCluster is wrapped when no kubeconfig names a cluster.
var ErrNoCluster = errors.New("no cluster configured")

// Connect loads the kubeconfig by kubectl's rules and checks the cluster
// answers.
func Connect(ctx context.Context, opts Options) (*Client, error) {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: opts.Kubeconfig}
	where := opts.Kubeconfig
	if opts.Kubeconfig == "" {
		if env := getenv(clientcmd.RecommendedConfigPathEnvVar); env != "" {
			rules.Precedence = filepath.SplitList(env)
			where = "KUBECONFIG=" + env
		} else if home := getenv("HOME"); home != "" {
			p := filepath.Join(home, clientcmd.RecommendedHomeDir, clientcmd.RecommendedFileName)
			rules.Precedence = []string{p}
			where = p
		}
	}
	overrides := &clientcmd.ConfigOverrides{CurrentContext: opts.Context}
	loader := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
	raw, err := loader.RawConfig()
	if err != nil {
		return nil, fmt.Errorf("reading kubeconfig %s: %w", where, err)
	}
	contextName := opts.Context
	if contextName == "" {
		contextName = raw.CurrentContext
	}
	if opts.Context != "" {
		if _, ok := raw.Contexts[opts.Context]; !ok {
			return nil, fmt.Errorf("--context %q: no such context in %s (have: %s)", opts.Context, where, contextNames(raw))
		}
	}
	cfg, err := loader.ClientConfig()
	if err != nil {
		if clientcmd.IsEmptyConfig(err) || len(raw.Contexts) == 0 {
			return nil, fmt.Errorf("%w: %s holds no cluster; pass --kubeconfig or --context, set KUBECONFIG, or read a manifest with -f", ErrNoCluster, where)
		}
		return nil, fmt.Errorf("kubeconfig %s, context %q: %w", where, contextName, err)
	}
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = 15 * time.Second
	}
	cfg.Timeout = timeout
	c, err := New(cfg)
	if err != nil {
		return nil, err
	}
	c.Context = contextName
	if err := c.Ping(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

func contextNames(cfg clientcmdapi.Config) string {
	var names []string
	for n := range cfg.Contexts {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// New builds a client for a rest.Config (tests use the one envtest gives).
func New(cfg *rest.Config) (*Client, error) {
	cfg = rest.CopyConfig(cfg)
	// client-go uses http.DefaultTransport for a plain-HTTP cluster
	// without TLS settings; the cluster is one the user chose, so its
	// requests pass gen's network guard.
	cfg.Wrap(netguard.Through)
	if cfg.QPS == 0 {
		cfg.QPS, cfg.Burst = 50, 100
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("building a client for %s: %w", cfg.Host, err)
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("building a discovery client for %s: %w", cfg.Host, err)
	}
	return &Client{dyn: dyn, disc: disc, Host: cfg.Host}, nil
}

// Ping asks the server for its version: the cheapest proof it answers and
// accepts the credentials.
func (c *Client) Ping(ctx context.Context) error {
	_, err := c.disc.ServerVersion()
	if err != nil {
		return c.wrap(err, "reaching the cluster")
	}
	return nil
}

// where names the cluster in messages.
func (c *Client) where() string {
	host := c.Host
	if u, err := url.Parse(c.Host); err == nil && u.Host != "" {
		host = u.Host
	}
	if c.Context != "" {
		return fmt.Sprintf("cluster %s (context %s)", host, c.Context)
	}
	return "cluster " + host
}

// wrap turns an API error into a message that says what was being done,
// on which cluster, and what the status means for the user.
func (c *Client) wrap(err error, action string) error {
	switch {
	case apierrors.IsForbidden(err):
		return fmt.Errorf("%s on %s: forbidden: the credentials in use may not do this (%w)", action, c.where(), err)
	case apierrors.IsUnauthorized(err):
		return fmt.Errorf("%s on %s: the cluster refused the credentials; log in again or pick another --context (%w)", action, c.where(), err)
	case apierrors.IsNotFound(err):
		return fmt.Errorf("%s on %s: %w", action, c.where(), err)
	}
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return fmt.Errorf("%s on %s: %w", action, c.where(), err)
	}
	return fmt.Errorf("%s: cannot reach %s: %w", action, c.where(), err)
}

// Kinds returns the namespaced resource types the server serves, preferred
// versions only, and notes for API groups discovery could not read.
func (c *Client) Kinds(ctx context.Context) ([]Kind, []string, error) {
	c.once.Do(func() {
		lists, err := discovery.ServerPreferredNamespacedResources(c.disc)
		if err != nil {
			var failed *discovery.ErrGroupDiscoveryFailed
			if !errors.As(err, &failed) {
				c.kindErr = c.wrap(err, "discovering the API")
				return
			}
			var groups []string
			for gv := range failed.Groups {
				groups = append(groups, gv.String())
			}
			sort.Strings(groups)
			c.kindNotes = append(c.kindNotes, fmt.Sprintf("API groups not read (their server did not answer discovery): %s", strings.Join(groups, ", ")))
		}
		for _, l := range lists {
			gv, err := schema.ParseGroupVersion(l.GroupVersion)
			if err != nil {
				continue
			}
			for _, r := range l.APIResources {
				if strings.Contains(r.Name, "/") || !r.Namespaced {
					continue
				}
				c.kinds = append(c.kinds, Kind{GVR: gv.WithResource(r.Name), Kind: r.Kind, Verbs: r.Verbs, Categories: r.Categories})
			}
		}
		sort.Slice(c.kinds, func(i, j int) bool { return c.kinds[i].String() < c.kinds[j].String() })
	})
	return c.kinds, c.kindNotes, c.kindErr
}

// KindOf finds the served resource type of a group and kind, any version.
func (c *Client) KindOf(ctx context.Context, group, kind string) (Kind, bool, error) {
	kinds, _, err := c.Kinds(ctx)
	if err != nil {
		return Kind{}, false, err
	}
	for _, k := range kinds {
		if k.GVR.Group == group && k.Kind == kind {
			return k, true, nil
		}
	}
	return Kind{}, false, nil
}

// CheckNamespace fails with a clear message when ns does not exist. A user
// who may not read namespaces is given the benefit of the doubt.
func (c *Client) CheckNamespace(ctx context.Context, ns string) error {
	_, err := c.dyn.Resource(schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}).Get(ctx, ns, metav1.GetOptions{})
	switch {
	case err == nil:
		return nil
	case apierrors.IsNotFound(err):
		return fmt.Errorf("namespace %q does not exist on %s", ns, c.where())
	case apierrors.IsForbidden(err):
		return nil
	}
	return c.wrap(err, fmt.Sprintf("reading namespace %q", ns))
}
