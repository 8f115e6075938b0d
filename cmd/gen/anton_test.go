package main

import (
	"io"
	"strings"
	"testing"

	"github.com/gen-gitops/gen/internal/cli"
	"github.com/gen-gitops/gen/internal/flux"
	"github.com/gen-gitops/gen/internal/repo"
	"github.com/gen-gitops/gen/internal/schema"
	"github.com/gen-gitops/gen/internal/testutil"
)

// TestAddAppOnAnton runs add-app on a copy of the anton corpus, into an
// existing namespace and into a new one, then builds the whole result with
// Flux's rules and reruns both commands, which must change nothing.
func TestAddAppOnAnton(t *testing.T) {
	dir := testutil.CopyTree(t, testutil.AntonCorpus(t))
	commands := [][]string{
		{"add-app", "default/hello", "--image", "ghcr.io/traefik/whoami:v1.11.0", "--port", "80", "--host", "hello", "--probe", "/health"},
		{"add-app", "media/tube", "--raw", "--image", "ghcr.io/example/tube:3.2.1", "--port", "8080",
			"--host", "tube.${SECRET_DOMAIN_TWO}", "--persist", "data=5Gi:/data"},
	}
	run := func(args []string) (string, int) {
		var errOut strings.Builder
		code := cli.Main(append(args, "--repo", dir), strings.NewReader(""), io.Discard, &errOut)
		return errOut.String(), code
	}
	for _, args := range commands {
		if msg, code := run(args); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, msg)
		}
	}

	r, err := repo.Load(dir, repo.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range [][2]string{{"default", "hello"}, {"media", "tube"}} {
		if a, ok := r.App(id[0], id[1]); !ok || !a.Registered {
			t.Fatalf("%s/%s missing or unregistered: %+v", id[0], id[1], a)
		}
	}
	all, err := flux.Discover(flux.Files(r.Files), r.RootKustomizations)
	if err != nil {
		t.Fatalf("the tree no longer builds: %v", err)
	}
	opts := flux.RenderOptions{Names: r.SecretVars}
	built := map[string]bool{}
	for _, ks := range all {
		if ks.External {
			continue
		}
		if ks.Name != "hello" && ks.Name != "tube" {
			continue
		}
		rd, err := flux.Render(flux.Files(r.Files), ks, opts)
		if err != nil {
			t.Fatalf("%s: %v", ks.ID(), err)
		}
		for _, f := range rd.Findings {
			if f.Severity == flux.SeverityError {
				t.Errorf("%s: %s", ks.ID(), f.Message)
			}
		}
		kinds := map[string]bool{}
		for _, o := range rd.Objects {
			kinds[o.Unstructured.GetKind()] = true
			if _, err := schema.Decode(o.Unstructured); err != nil {
				t.Errorf("%s: %v", o.ID(), err)
			}
		}
		want := map[string][]string{"hello": {"HelmRelease", "OCIRepository"}, "tube": {"Deployment", "Service", "HTTPRoute", "DNSEndpoint", "PersistentVolumeClaim"}}[ks.Name]
		for _, k := range want {
			if !kinds[k] {
				t.Errorf("%s renders no %s (got %v)", ks.ID(), k, kinds)
			}
		}
		built[ks.Name] = true
	}
	if !built["hello"] || !built["tube"] {
		t.Fatalf("new apps not reached from the root: %v", built)
	}

	before := testutil.Snapshot(t, dir)
	for _, args := range commands {
		msg, code := run(args)
		if code != 0 || !strings.Contains(msg, "nothing to change") {
			t.Fatalf("rerun %v: exit %d: %s", args, code, msg)
		}
	}
	testutil.SameSnapshot(t, before, testutil.Snapshot(t, dir))
}
