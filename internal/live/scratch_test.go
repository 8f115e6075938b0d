package live_test

import (
	"strings"
	"testing"

	"github.com/gen-gitops/gen/internal/live"
)

// TestScratchAppWithChute: a scratch app behind Cloudflare Access has a
// Chute instead of a route; ls shows its hostname.
func TestScratchAppWithChute(t *testing.T) {
	objs, err := live.ReadManifest("gated.yaml", []byte(`---
apiVersion: v1
kind: Service
metadata: {name: gated, namespace: scratch, labels: {scratch.app: gated}}
spec: {ports: [{port: 8080}]}
---
apiVersion: chutes.troubleshat.com/v1alpha1
kind: Chute
metadata: {name: gated, namespace: scratch, labels: {scratch.app: gated}}
spec:
  configRef: {name: home}
  service: {name: gated, port: 8080}
  hostname: gated.example.org
  access: {emails: [me@example.org]}
`))
	if err != nil {
		t.Fatal(err)
	}
	apps := live.GroupScratchApps(objs)
	if len(apps) != 1 || strings.Join(apps[0].Hosts, ",") != "gated.example.org" || strings.Join(apps[0].Objects, ",") != "Chute/gated,Service/gated" {
		t.Fatalf("got %+v", apps)
	}
}
