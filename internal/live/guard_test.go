package live_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"

	"github.com/gen-gitops/gen/internal/live"
	"github.com/gen-gitops/gen/internal/live/livetest"
	"github.com/gen-gitops/gen/internal/netguard"
)

// TestPassesTheNetworkGuard reaches the test cluster over plain HTTP (a
// loopback proxy in front of it), which client-go sends through
// http.DefaultTransport: with gen's network guard installed, as it is in
// every gen process, the cluster client is let through, while a client-go
// client gen did not build is refused.
func TestPassesTheNetworkGuard(t *testing.T) {
	c := livetest.Get(t)
	netguard.Install()
	upstream, err := url.Parse(c.Config.Host)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := rest.TransportFor(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(upstream)
	proxy.Transport = tr
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)

	plain := &rest.Config{Host: srv.URL}
	cl, err := live.New(plain)
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.Ping(context.Background()); err != nil {
		t.Fatalf("through the guard: %v", err)
	}

	disc, err := discovery.NewDiscoveryClientForConfig(plain)
	if err != nil {
		t.Fatal(err)
	}
	_, err = disc.ServerVersion()
	var refused *netguard.RefusedError
	if !errors.As(err, &refused) {
		t.Fatalf("a client without a permit: err = %v, want a *netguard.RefusedError", err)
	}
}
