package live_test

import (
	"context"
	"testing"

	"github.com/gen-gitops/gen/internal/live"
	"github.com/gen-gitops/gen/internal/live/livetest"
)

func TestConnectWithKubeconfig(t *testing.T) {
	c := livetest.Get(t)
	cl, err := live.Connect(context.Background(), live.Options{Kubeconfig: c.Kubeconfig})
	if err != nil {
		t.Fatal(err)
	}
	kinds, notes, err := cl.Kinds(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, k := range kinds {
		found[k.String()] = true
	}
	for _, want := range []string{"deployments.apps", "services", "httproutes.gateway.networking.k8s.io", "dnsendpoints.externaldns.k8s.io"} {
		if !found[want] {
			t.Errorf("discovery lacks %s (notes: %v)", want, notes)
		}
	}
}
