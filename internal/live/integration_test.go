package live_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/gen-gitops/gen/generator"
	"github.com/gen-gitops/gen/generator/promote"
	"github.com/gen-gitops/gen/internal/cli"
	"github.com/gen-gitops/gen/internal/live"
	"github.com/gen-gitops/gen/internal/live/livetest"
	"github.com/gen-gitops/gen/internal/repo"
	"github.com/gen-gitops/gen/internal/schema"
	"github.com/gen-gitops/gen/internal/secrets"
	"github.com/gen-gitops/gen/internal/sops"
	"github.com/gen-gitops/gen/internal/testutil"
)

var exampleDomains = map[string]string{"SECRET_DOMAIN": "example.com", "SECRET_DOMAIN_TWO": "example.org"}

// fixtures are the scratch apps under generator/promote/testdata/promote: what a
// user applied (applied.yaml) and what `kubectl get -o yaml` printed for
// it from this test server (live.yaml), which the generator's offline
// tests promote.
var fixtures = []string{"hello", "notes", "odd"}

// fixtureKinds is what the fixtures hold, as kubectl names them.
const fixtureKinds = "deploy,svc,httproute,dnsendpoint,cm,secret,pvc,cronjob,pdb"

func fixtureDir(t *testing.T, name string) string {
	return filepath.Join(testutil.ModuleRoot(t), "generator", "promote", "testdata", "promote", name)
}

// runGen runs gen's CLI in-process.
func runGen(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := cli.Main(args, strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), code
}

func mustGen(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, code := runGen(t, "", args...)
	if code != 0 {
		t.Fatalf("gen %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// exampleRepo copies the example repository into a git work tree.
func exampleRepo(t *testing.T) string {
	t.Helper()
	dir := testutil.CopyTree(t, testutil.ExampleRepo(t))
	t.Setenv("SOPS_AGE_KEY_FILE", testutil.ExampleAgeKey(t))
	t.Setenv("HOME", t.TempDir())
	t.Setenv("XDG_CONFIG_HOME", "")
	t.Setenv("KUBECONFIG", "")
	return dir
}

func applyKubectl(t *testing.T, c *livetest.Cluster, manifest []byte) {
	t.Helper()
	if _, err := c.Kubectl(context.Background(), manifest, "apply", "--server-side", "-f", "-"); err != nil {
		// kubectl may be absent locally; the dynamic client applies the
		// same way (server-side, field manager kubectl).
		t.Logf("kubectl apply failed (%v); applying with the dynamic client", err)
		if _, err := c.Apply(context.Background(), manifest); err != nil {
			t.Fatal(err)
		}
	}
}

// TestFixtures applies every fixture and checks its live.yaml is what the
// server gives back for it, once both are cleaned. With -update it
// rewrites live.yaml from the server, managed fields and all.
func TestFixtures(t *testing.T) {
	c := livetest.Get(t)
	ctx := context.Background()
	for _, name := range fixtures {
		t.Run(name, func(t *testing.T) {
			dir := fixtureDir(t, name)
			applied, err := os.ReadFile(filepath.Join(dir, "applied.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			applyKubectl(t, c, applied)
			got, err := c.Kubectl(ctx, nil, "get", "-n", "scratch", fixtureKinds, "-l", "scratch.app="+name, "-o", "yaml", "--show-managed-fields")
			if err != nil {
				if os.Getenv("CI") == "true" {
					t.Fatalf("kubectl is needed to check the fixtures: %v", err)
				}
				t.Skipf("kubectl is needed to check the fixtures: %v", err)
			}
			livePath := filepath.Join(dir, "live.yaml")
			if *testutil.Update {
				if err := os.WriteFile(livePath, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			stored, err := os.ReadFile(livePath)
			if err != nil {
				t.Fatalf("%v (run go test ./internal/live -run TestFixtures -update)", err)
			}
			if a, b := cleanedYAML(t, got), cleanedYAML(t, stored); a != b {
				t.Fatalf("the server now returns something else for %s than live.yaml holds (cleaned):\n--- server\n%s\n--- live.yaml\n%s\nrun go test ./internal/live -run TestFixtures -update", name, a, b)
			}
		})
	}
}

func cleanedYAML(t *testing.T, data []byte) string {
	t.Helper()
	objs, err := live.ReadManifest("fixture", data)
	if err != nil {
		t.Fatal(err)
	}
	var parts []string
	for _, o := range objs {
		c, _ := promote.Clean(o)
		js, _ := c.MarshalJSON()
		parts = append(parts, string(js))
	}
	sort.Strings(parts)
	return strings.Join(parts, "\n")
}

// TestScratchLifecycle is the whole story against the real API server:
// scratch new → kubectl apply --server-side → scratch ls → promote (helm
// and raw) → the promoted tree builds with Flux's rules, every file decodes
// strictly and the server accepts every object → the promoted pods equal
// the scratch ones → scratch rm.
func TestScratchLifecycle(t *testing.T) {
	c := livetest.Get(t)
	ctx := context.Background()
	kc := c.Kubeconfig
	r0 := exampleRepo(t)

	manifest := mustGen(t, "scratch", "new", "hi", "--repo", r0, "--image", "ghcr.io/traefik/whoami:v1.11.0",
		"--host", "hi", "--host", "hi.example.org")
	if !strings.Contains(manifest, "kind: DNSEndpoint") || strings.Count(manifest, "\n---\n")+1 != 5 {
		t.Fatalf("want the five-resource manifest:\n%s", manifest)
	}
	applyKubectl(t, c, []byte(manifest))
	notes, err := os.ReadFile(filepath.Join(fixtureDir(t, "notes"), "applied.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	applyKubectl(t, c, notes)
	// A route somebody applied by hand and forgot, and one Flux manages.
	applyKubectl(t, c, []byte(`
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: forgotten, namespace: default}
spec:
  parentRefs: [{name: envoy-external, namespace: network}]
  hostnames: [old.example.com]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: managed
  namespace: default
  labels: {kustomize.toolkit.fluxcd.io/name: echo, kustomize.toolkit.fluxcd.io/namespace: flux-system}
spec:
  parentRefs: [{name: envoy-external, namespace: network}]
  hostnames: [echo.example.com]
`))

	t.Run("ls", func(t *testing.T) {
		out := mustGen(t, "scratch", "ls", "--kubeconfig", kc)
		for _, want := range []string{"hi", "ghcr.io/traefik/whoami:v1.11.0", "hi.example.com,hi.example.org", "notes", "ghcr.io/example/backup:1.0,ghcr.io/example/notes:2.3.1"} {
			if !strings.Contains(out, want) {
				t.Errorf("scratch ls lacks %q:\n%s", want, out)
			}
		}
		out = mustGen(t, "scratch", "ls", "--kubeconfig", kc, "--audit")
		rows := auditRows(out)
		for _, want := range []string{
			"default HTTPRoute forgotten old.example.com -",
			"scratch HTTPRoute hi hi.example.com,hi.example.org hi",
			"scratch DNSEndpoint hi hi.example.org hi",
		} {
			if !rows[want] {
				t.Errorf("audit lacks %q:\n%s", want, out)
			}
		}
		for row := range rows {
			if strings.Contains(row, "echo.example.com") {
				t.Errorf("audit lists a route Flux manages: %s", row)
			}
		}
		js := mustGen(t, "scratch", "ls", "--kubeconfig", kc, "--output", "json")
		if !strings.Contains(js, `"name": "hi"`) || !strings.Contains(js, `"created": "`) {
			t.Errorf("json output:\n%s", js)
		}
	})

	for _, tc := range []struct{ app, mode string }{{"hi", "helm"}, {"hi", "raw"}, {"notes", "helm"}, {"notes", "raw"}} {
		t.Run("promote-"+tc.app+"-"+tc.mode, func(t *testing.T) {
			dir := exampleRepo(t)
			before := testutil.Snapshot(t, dir)
			out := mustGen(t, "promote", tc.app, "--repo", dir, "--kubeconfig", kc, "--mode", tc.mode)
			if !strings.Contains(out, "wrote kubernetes/apps/default/"+tc.app+"/ks.yaml") {
				t.Fatalf("promote output:\n%s", out)
			}
			checkPromoted(t, c, dir, before, tc.app, tc.mode)
		})
	}

	t.Run("rm", func(t *testing.T) {
		if _, errOut, code := runGen(t, "", "scratch", "rm", "hi", "--kubeconfig", kc); code == 0 || !strings.Contains(errOut, "--yes") {
			t.Fatalf("rm without an answer must not delete: exit %d\n%s", code, errOut)
		}
		if _, errOut, code := runGen(t, "n\n", "scratch", "rm", "hi", "--kubeconfig", kc); code == 0 || !strings.Contains(errOut, "not confirmed") {
			t.Fatalf("rm answered no: exit %d\n%s", code, errOut)
		}
		out, errOut, code := runGen(t, "y\n", "scratch", "rm", "hi", "--kubeconfig", kc)
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, errOut)
		}
		for _, want := range []string{"deleted Deployment/hi", "deleted Service/hi", "deleted HTTPRoute/hi", "deleted DNSEndpoint/hi"} {
			if !strings.Contains(out, want) {
				t.Errorf("rm output lacks %q:\n%s", want, out)
			}
		}
		ls := mustGen(t, "scratch", "ls", "--kubeconfig", kc)
		if strings.Contains(ls, "hi.example.com") || !strings.Contains(ls, "notes.example.com") {
			t.Errorf("after rm:\n%s", ls)
		}
		out = mustGen(t, "scratch", "rm", "notes", "--kubeconfig", kc, "--yes")
		if !strings.Contains(out, "deleted Deployment/notes") {
			t.Errorf("rm notes:\n%s", out)
		}
		if _, errOut, _ := runGen(t, "", "scratch", "rm", "notes", "--kubeconfig", kc, "--yes"); !strings.Contains(errOut, "keep   ConfigMap/notes-config") && !strings.Contains(errOut, "no scratch app") {
			t.Errorf("second rm: %s", errOut)
		}
		_ = ctx
	})
}

// checkPromoted checks one promotion: only the app's files and the
// namespace registration changed; every file decodes strictly; Flux's
// build works; the server accepts every object (dry run); the pods equal
// the scratch ones field by field; Secrets are encrypted.
func checkPromoted(t *testing.T, c *livetest.Cluster, dir string, before map[string]string, app, mode string) {
	t.Helper()
	ctx := context.Background()
	after := testutil.Snapshot(t, dir)
	appDir := "kubernetes/apps/default/" + app + "/"
	for p, h := range after {
		if before[p] == h {
			continue
		}
		if !strings.HasPrefix(p, appDir) && p != "kubernetes/apps/default/kustomization.yaml" && p != ".gen.lock" {
			t.Errorf("promote touched %s", p)
		}
	}
	r, err := repo.Load(dir, repo.LoadOptions{Domains: exampleDomains})
	if err != nil {
		t.Fatal(err)
	}
	cs := &generator.Changeset{}
	for p, data := range r.Files {
		if !strings.HasPrefix(p, appDir) {
			continue
		}
		cs.Add(p, data)
		for i, doc := range repo.SplitDocuments(data) {
			if strings.HasSuffix(p, ".sops.yaml") {
				if !bytes.Contains(doc, []byte("ENC[AES256_GCM")) || bytes.Contains(doc, []byte("hunter2")) {
					t.Errorf("%s is not encrypted", p)
				}
				continue
			}
			if _, err := schema.DecodeYAML(doc); err != nil {
				t.Errorf("%s document %d: %v", p, i+1, err)
			}
		}
	}
	if app == "notes" {
		ids, err := sops.LoadIdentities(func(k string) string {
			if k == "SOPS_AGE_KEY_FILE" {
				return testutil.ExampleAgeKey(t)
			}
			return ""
		})
		if err != nil {
			t.Fatal(err)
		}
		vals, err := secrets.Values(r.Files[appDir+"app/secret.sops.yaml"], ids)
		if err != nil {
			t.Fatal(err)
		}
		if vals["DB_PASSWORD"] != "hunter2" || vals["DB_URL"] != "postgres://notes:hunter2@db:5432/notes" {
			t.Errorf("the encrypted Secret decrypts to other values (keys: %d)", len(vals))
		}
	}
	objs, err := livetest.RenderPromoted(r.Files, r.RootKustomizations, cs, appDir+"app", exampleDomains)
	if err != nil {
		t.Fatal(err)
	}
	// The server is the schema oracle: apply everything (dry run) into the
	// target namespace, Secrets aside (their values are still ciphertext).
	var docs []string
	for _, o := range objs {
		if o.GetKind() == "Secret" {
			continue
		}
		js, _ := o.MarshalJSON()
		docs = append(docs, string(js))
	}
	stored, err := c.DryRun(ctx, []byte(strings.Join(docs, "\n---\n")))
	if err != nil {
		t.Fatalf("the API server refuses the promoted objects: %v", err)
	}
	checkPromotedFlux(t, c, r, cs, appDir, mode)
	liveDeps := listScratch(t, c, app, "Deployment")
	var deps []*unstructured.Unstructured
	for _, o := range stored {
		if o.GetKind() == "Deployment" {
			deps = append(deps, o)
		}
	}
	if len(deps) != len(liveDeps) {
		t.Fatalf("%d Deployments promoted, %d running", len(deps), len(liveDeps))
	}
	for _, ld := range liveDeps {
		want := app
		if ld.GetName() != app {
			want = ld.GetName()
		}
		var pd *unstructured.Unstructured
		for _, d := range deps {
			if d.GetName() == want {
				pd = d
			}
		}
		if pd == nil {
			t.Fatalf("no promoted Deployment for %s", ld.GetName())
		}
		if diffs := livetest.ComparePodTemplates(ld, pd); len(diffs) > 0 {
			t.Errorf("%s (%s): the promoted pods differ from the scratch ones:\n  %s", ld.GetName(), mode, strings.Join(diffs, "\n  "))
		}
	}
	for _, o := range stored {
		switch o.GetKind() {
		case "HTTPRoute":
			hs, _, _ := unstructured.NestedStringSlice(o.Object, "spec", "hostnames")
			want := map[string][]string{"hi": {"hi.example.com", "hi.example.org"}, "notes": {"notes.example.com"}}[app]
			if strings.Join(hs, ",") != strings.Join(want, ",") {
				t.Errorf("route hostnames %v, want %v", hs, want)
			}
		case "Service":
			sel, _, _ := unstructured.NestedStringMap(o.Object, "spec", "selector")
			podLabels, _, _ := unstructured.NestedStringMap(deps[0].Object, "spec", "template", "metadata", "labels")
			for k, v := range sel {
				if podLabels[k] != v {
					t.Errorf("Service %s selects %s=%s, which the promoted pods lack (%v)", o.GetName(), k, v, podLabels)
				}
			}
		}
	}
}

// checkPromotedFlux dry-runs the Flux objects of a promotion (the app's
// Kustomization, its HelmRelease and OCIRepository) against the Flux CRDs
// installed in the test server.
func checkPromotedFlux(t *testing.T, c *livetest.Cluster, r *repo.Repo, cs *generator.Changeset, appDir, mode string) {
	t.Helper()
	ctx := context.Background()
	objs, err := livetest.RenderPromotedFlux(r.Files, r.RootKustomizations, cs, appDir+"app", exampleDomains)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	var docs []string
	for _, o := range objs {
		kinds[o.GetKind()] = true
		ensureNamespace(t, c, o.GetNamespace())
		js, _ := o.MarshalJSON()
		docs = append(docs, string(js))
	}
	want := []string{"Kustomization"}
	if mode == "helm" {
		want = append(want, "HelmRelease", "OCIRepository")
	}
	for _, k := range want {
		if !kinds[k] {
			t.Errorf("%s promotion: no Flux %s to check (got %v)", mode, k, kinds)
		}
	}
	if _, err := c.DryRun(ctx, []byte(strings.Join(docs, "\n---\n"))); err != nil {
		t.Fatalf("the API server refuses the promoted Flux objects: %v", err)
	}
}

// ensureNamespace creates namespace ns (for real) when it is missing.
func ensureNamespace(t *testing.T, c *livetest.Cluster, ns string) {
	t.Helper()
	if ns == "" {
		return
	}
	if _, err := c.Apply(context.Background(), []byte("apiVersion: v1\nkind: Namespace\nmetadata: {name: "+ns+"}\n")); err != nil {
		t.Fatal(err)
	}
}

func listScratch(t *testing.T, c *livetest.Cluster, app, kind string) []*unstructured.Unstructured {
	t.Helper()
	cl, err := live.New(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	sel, err := cl.ListSelected(context.Background(), "scratch", "scratch.app="+app)
	if err != nil {
		t.Fatal(err)
	}
	var out []*unstructured.Unstructured
	for _, o := range sel.Objects {
		if o.GetKind() == kind {
			out = append(out, o)
		}
	}
	return out
}

// TestClusterErrors: each way of not reaching a cluster is a clear error.
func TestClusterErrors(t *testing.T) {
	c := livetest.Get(t)
	ctx := context.Background()
	dir := exampleRepo(t)
	applyKubectl(t, c, []byte("apiVersion: v1\nkind: Namespace\nmetadata: {name: scratch}\n"))

	t.Run("no cluster", func(t *testing.T) {
		_, err := live.Connect(ctx, live.Options{Getenv: func(k string) string {
			if k == "HOME" {
				return t.TempDir()
			}
			return ""
		}})
		if err == nil || !strings.Contains(err.Error(), "no cluster configured") || !strings.Contains(err.Error(), "-f") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("unknown context", func(t *testing.T) {
		_, err := live.Connect(ctx, live.Options{Kubeconfig: c.Kubeconfig, Context: "prod"})
		if err == nil || !strings.Contains(err.Error(), `--context "prod"`) || !strings.Contains(err.Error(), "have:") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "kubeconfig")
		cfg := `apiVersion: v1
kind: Config
clusters: [{name: gone, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: gone, context: {cluster: gone, user: u}}]
current-context: gone
`
		if err := os.WriteFile(bad, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		var err error
		_, err = live.Connect(ctx, live.Options{Kubeconfig: bad, Timeout: 5 * time.Second})
		if err == nil || !strings.Contains(err.Error(), "cannot reach cluster 127.0.0.1:1 (context gone)") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("forbidden", func(t *testing.T) {
		kc := c.UserKubeconfig(t, "nobody")
		_, errOut, code := runGen(t, "", "promote", "hello", "--repo", dir, "--kubeconfig", kc)
		if code != 1 || !strings.Contains(errOut, "forbidden") || !strings.Contains(errOut, "namespace \"scratch\"") {
			t.Fatalf("exit %d: %s", code, errOut)
		}
	})
	t.Run("missing namespace", func(t *testing.T) {
		_, errOut, code := runGen(t, "", "promote", "nope/hello", "--repo", dir, "--kubeconfig", c.Kubeconfig)
		if code != 1 || !strings.Contains(errOut, `namespace "nope" does not exist`) {
			t.Fatalf("exit %d: %s", code, errOut)
		}
	})
	t.Run("selector matches nothing", func(t *testing.T) {
		before := testutil.Snapshot(t, dir)
		_, errOut, code := runGen(t, "", "promote", "ghost", "--repo", dir, "--kubeconfig", c.Kubeconfig)
		if code != 1 || !strings.Contains(errOut, "no objects in namespace scratch match the selector scratch.app=ghost") {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		testutil.SameSnapshot(t, before, testutil.Snapshot(t, dir))
	})
}

// auditRows returns the audit table's rows, cells joined by one space.
func auditRows(out string) map[string]bool {
	rows := map[string]bool{}
	i := strings.Index(out, "not managed by Flux")
	if i < 0 {
		return rows
	}
	for _, line := range strings.Split(out[i:], "\n")[2:] {
		if f := strings.Fields(line); len(f) > 0 {
			rows[strings.Join(f, " ")] = true
		}
	}
	return rows
}

// TestWithoutCRDs: a cluster without the Gateway API and external-dns CRDs
// is read with a note for each, and its apps still promote.
func TestWithoutCRDs(t *testing.T) {
	c := livetest.StartBare(t)
	ctx := context.Background()
	applyKubectl(t, c, []byte(`apiVersion: v1
kind: Namespace
metadata: {name: scratch}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: plain, namespace: scratch, labels: {scratch.app: plain}}
spec:
  selector: {matchLabels: {scratch.app: plain}}
  template:
    metadata: {labels: {scratch.app: plain}}
    spec:
      containers: [{name: app, image: "nginx:1.27"}]
`))
	cl, err := live.Connect(ctx, live.Options{Kubeconfig: c.Kubeconfig})
	if err != nil {
		t.Fatal(err)
	}
	sel, err := cl.ListSelected(ctx, "scratch", "scratch.app=plain")
	if err != nil {
		t.Fatal(err)
	}
	notes := strings.Join(sel.Notes, "\n")
	if len(sel.Objects) != 1 || !strings.Contains(notes, "no HTTPRoute CRD") || !strings.Contains(notes, "no DNSEndpoint CRD") {
		t.Fatalf("objects %d, notes:\n%s", len(sel.Objects), notes)
	}
	_, errOut, code := runGen(t, "", "scratch", "ls", "--kubeconfig", c.Kubeconfig, "--audit")
	if code != 0 || !strings.Contains(errOut, "no HTTPRoute CRD") || !strings.Contains(errOut, "nothing to audit there") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	dir := exampleRepo(t)
	out, errOut, code := runGen(t, "", "promote", "plain", "--repo", dir, "--kubeconfig", c.Kubeconfig)
	if code != 0 || !strings.Contains(out, "wrote kubernetes/apps/default/plain/app/helmrelease.yaml") || !strings.Contains(errOut, "note: the cluster has no HTTPRoute CRD") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
}
