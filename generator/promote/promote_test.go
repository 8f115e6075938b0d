package promote_test

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/gen-gitops/gen/generator"
	"github.com/gen-gitops/gen/generator/access"
	"github.com/gen-gitops/gen/generator/internal/gentest"
	"github.com/gen-gitops/gen/generator/promote"
	"github.com/gen-gitops/gen/internal/live"
	"github.com/gen-gitops/gen/internal/live/livetest"
	"github.com/gen-gitops/gen/internal/repo"
	"github.com/gen-gitops/gen/internal/schema"
	"github.com/gen-gitops/gen/internal/testutil"
	"github.com/gen-gitops/gen/scaffolds"
)

// testSealer stands in for SOPS in golden tests, whose output must not
// change between runs: it marks the plaintext instead of encrypting it.
// The real encryption is tested end to end in internal/live and the
// promote scripts.
type testSealer struct{}

func (testSealer) Seal(path string, plain []byte) ([]byte, error) {
	return append([]byte("# sealed by the test sealer for "+path+"\n"), plain...), nil
}

func (testSealer) Holds([]byte, map[string]string) (bool, error) { return false, nil }

// liveObjects reads a fixture's live.yaml: what `kubectl get -o yaml
// --show-managed-fields` printed for the app on a real API server (see
// internal/live's TestFixtures).
func liveObjects(t *testing.T, fixture string) []*unstructured.Unstructured {
	t.Helper()
	p := filepath.Join("testdata", "promote", fixture, "live.yaml")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := live.ReadManifest(p, data)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// promotionFiles is a promotion as a golden tree: the files it writes and
// a REPORT of its notes and handoff.
func promotionFiles(pr *promote.Promotion) map[string][]byte {
	files := map[string][]byte{}
	for _, f := range pr.Changeset.Files {
		files[f.Path] = f.Content
	}
	var b strings.Builder
	fmt.Fprintf(&b, "title: %s\n", pr.Changeset.Title)
	for _, n := range pr.Changeset.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	for _, k := range pr.KeptRaw {
		fmt.Fprintf(&b, "kept raw: %s\n", k)
	}
	if len(pr.Hosts) > 0 {
		fmt.Fprintf(&b, "publishes: %s\n", strings.Join(pr.Hosts, ", "))
	}
	fmt.Fprintf(&b, "teardown: %s\n", pr.Teardown)
	for _, r := range pr.Reasons {
		fmt.Fprintf(&b, "because: %s\n", r)
	}
	files["REPORT"] = []byte(b.String())
	return files
}

var promoteCases = []struct {
	name    string
	fixture string
	opts    promote.Options
	// dir is the repository (default: the example).
	dir func(t *testing.T) string
}{
	{"hello-helm", "hello", promote.Options{App: "hello"}, nil},
	{"hello-raw-renamed", "hello", promote.Options{App: "hello", Mode: promote.ModeRaw, Name: "greeter", Namespace: "tools"}, nil},
	{"notes-helm", "notes", promote.Options{App: "notes"}, nil},
	{"notes-raw", "notes", promote.Options{App: "notes", Mode: promote.ModeRaw}, nil},
	{"odd-helm", "odd", promote.Options{App: "odd"}, nil},
	// The routes become cloudflared ingress rules to the Service under its
	// new name (app-template renders it as the release; raw mode renames
	// it), and the tunnel's DNSEndpoint replaces the scratch one.
	{"hello-tunnel-helm", "hello", promote.Options{App: "hello", Name: "greeter", Expose: generator.ExposeTunnel}, nil},
	{"hello-tunnel-raw", "hello", promote.Options{App: "hello", Mode: promote.ModeRaw, Name: "greeter", Namespace: "tools", Expose: generator.ExposeTunnel}, nil},
	// The route (two rules, one Service) becomes a Chute; the app waits
	// for the Kustomization that declares the ChuteConfig.
	{"notes-access", "notes", promote.Options{App: "notes", Expose: generator.ExposeAccess,
		Access: access.Options{Emails: []string{"me@example.org"}, EmailDomains: []string{"family.example.org"}}}, gentest.ChuteRepo},
	// A scratch app behind Access already: its Chute carries over.
	{"gated-helm", "gated", promote.Options{App: "gated", Name: "portal"}, gentest.ChuteRepo},
	{"gated-raw", "gated", promote.Options{App: "gated", Mode: promote.ModeRaw, Namespace: "tools"}, gentest.ChuteRepo},
}

// repoFor loads a promote case's repository.
func repoFor(t *testing.T, dir func(t *testing.T) string) *repo.Repo {
	t.Helper()
	if dir == nil {
		return gentest.LoadExample(t)
	}
	return gentest.LoadRepo(t, dir(t))
}

// TestPromoteGolden promotes each fixture and compares every file written
// (and the report) with testdata/promote/<fixture>/want-<case>. Every
// written document decodes strictly into its API type; a Chute, once Flux
// substituted the domains, is what the CRD accepts.
func TestPromoteGolden(t *testing.T) {
	chute := gentest.LoadCRD(t, "Chute")
	domains := strings.NewReplacer("${SECRET_DOMAIN}", "example.com", "${SECRET_DOMAIN_TWO}", "example.org")
	for _, tc := range promoteCases {
		t.Run(tc.name, func(t *testing.T) {
			r := repoFor(t, tc.dir)
			opts := tc.opts
			opts.Objects = liveObjects(t, tc.fixture)
			opts.FromFile = "live.yaml"
			opts.Sealer = testSealer{}
			pr, err := promote.Generate(r.Model(), opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range pr.Changeset.Files {
				if strings.HasSuffix(f.Path, ".sops.yaml") {
					if !f.Sensitive {
						t.Errorf("%s is not marked sensitive: diffs would show it", f.Path)
					}
					continue
				}
				for i, doc := range repo.SplitDocuments(f.Content) {
					if strings.Contains(string(doc), "kind: Chute\n") {
						substituted := []byte(domains.Replace(string(doc)))
						if p := chute.Validate(t, substituted); len(p) > 0 {
							t.Errorf("%s document %d: the CRD refuses it: %v", f.Path, i+1, p)
						}
						if _, err := access.DecodeChute(substituted); err != nil {
							t.Errorf("%s document %d: %v", f.Path, i+1, err)
						}
						continue
					}
					if _, err := schema.DecodeYAML(doc); err != nil {
						t.Errorf("%s document %d: %v", f.Path, i+1, err)
					}
				}
			}
			testutil.GoldenTree(t, filepath.Join("testdata", "promote", tc.fixture, "want-"+strings.TrimPrefix(tc.name, tc.fixture+"-")), promotionFiles(pr))
		})
	}
}

// TestPromoteEquivalence builds each promoted app the way Flux does and
// renders its HelmRelease with a model of app-template 4.x, then compares
// the pods field by field with the scratch Deployments as the API server
// stored them (live.yaml). internal/live repeats this with the real
// server's defaulting on both sides.
func TestPromoteEquivalence(t *testing.T) {
	for _, tc := range promoteCases {
		t.Run(tc.name, func(t *testing.T) {
			r := repoFor(t, tc.dir)
			opts := tc.opts
			objs := liveObjects(t, tc.fixture)
			opts.Objects = objs
			opts.Sealer = testSealer{}
			pr, err := promote.Generate(r.Model(), opts)
			if err != nil {
				t.Fatal(err)
			}
			ns, name := opts.Namespace, opts.Name
			if ns == "" {
				ns = "default"
			}
			if name == "" {
				name = opts.App
			}
			got, err := livetest.RenderPromoted(r.Files, r.RootKustomizations, pr.Changeset, "kubernetes/apps/"+ns+"/"+name+"/app", gentest.ExampleDomains)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range objs {
				if d.GetKind() != "Deployment" {
					continue
				}
				want := strings.Replace(d.GetName(), opts.App, name, 1)
				var p *unstructured.Unstructured
				for _, o := range got {
					if o.GetKind() == "Deployment" && o.GetName() == want {
						p = o
					}
				}
				if p == nil {
					t.Fatalf("no promoted Deployment %s among %s", want, kinds(got))
				}
				if diffs := livetest.ComparePodTemplates(d, p); len(diffs) > 0 {
					t.Errorf("Deployment %s: the promoted pods differ:\n  %s", d.GetName(), strings.Join(diffs, "\n  "))
				}
			}
		})
	}
}

func kinds(objs []*unstructured.Unstructured) string {
	var out []string
	for _, o := range objs {
		out = append(out, o.GetKind()+"/"+o.GetName())
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// TestClean cleans every fixture and compares with want-clean.yaml.
func TestClean(t *testing.T) {
	for _, fixture := range []string{"hello", "notes", "odd"} {
		t.Run(fixture, func(t *testing.T) {
			var b strings.Builder
			for _, o := range liveObjects(t, fixture) {
				c, notes := promote.Clean(o)
				for _, n := range notes {
					fmt.Fprintf(&b, "# note: %s\n", n)
				}
				out, err := scaffolds.ToYAML(c.Object)
				if err != nil {
					t.Fatal(err)
				}
				b.WriteString("---\n" + out + "\n")
				for _, bad := range []string{"managedFields", "resourceVersion", "uid:", "creationTimestamp", "status:", "clusterIP", "terminationMessagePath", "namespace: scratch", "scratch.app: " + fixture + "\n    name"} {
					if strings.Contains(out, bad) {
						t.Errorf("%s %s still holds %q:\n%s", o.GetKind(), o.GetName(), bad, out)
					}
				}
			}
			testutil.GoldenFile(t, filepath.Join("testdata", "promote", fixture, "want-clean.yaml"), []byte(b.String()))
		})
	}
}

func TestCleanDefaults(t *testing.T) {
	dep := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "x", "namespace": "scratch", "annotations": map[string]any{"deployment.kubernetes.io/revision": "3", "team": "a"}},
		"spec": map[string]any{
			"replicas": int64(3),
			"strategy": map[string]any{"type": "RollingUpdate", "rollingUpdate": map[string]any{"maxSurge": int64(1), "maxUnavailable": "25%"}},
			"template": map[string]any{"spec": map[string]any{
				"containers": []any{map[string]any{
					"name": "a", "image": "nginx", "imagePullPolicy": "Always",
					"livenessProbe": map[string]any{"httpGet": map[string]any{"path": "/", "port": int64(80), "scheme": "HTTPS"}, "timeoutSeconds": int64(1), "periodSeconds": int64(20)},
				}},
				"terminationGracePeriodSeconds": int64(60),
			}},
		},
	}}
	c, _ := promote.Clean(dep)
	got, _ := scaffolds.ToYAML(c.Object)
	want := `apiVersion: apps/v1
kind: Deployment
metadata:
  annotations:
    team: a
  name: x
spec:
  replicas: 3
  strategy:
    rollingUpdate:
      maxSurge: 1
    type: RollingUpdate
  template:
    spec:
      containers:
        - image: nginx
          livenessProbe:
            httpGet:
              path: /
              port: 80
              scheme: HTTPS
            periodSeconds: 20
          name: a
      terminationGracePeriodSeconds: 60`
	if got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
	if promote.DefaultPullPolicy("nginx:1.27") != "IfNotPresent" || promote.DefaultPullPolicy("nginx") != "Always" ||
		promote.DefaultPullPolicy("nginx:latest") != "Always" || promote.DefaultPullPolicy("nginx@sha256:"+strings.Repeat("a", 64)) != "IfNotPresent" {
		t.Fatal("DefaultPullPolicy")
	}
}

func TestFluxLiteral(t *testing.T) {
	for in, want := range map[string]string{
		"plain":          "plain",
		"$HOME":          "$HOME",
		"$(POD_IP):80":   "$(POD_IP):80",
		"${HOME}/x":      "$${HOME}/x",
		"a$$b ${X} $(Y)": "a$$$$b $${X} $$(Y)",
	} {
		if got := promote.FluxLiteral(in); got != want {
			t.Errorf("FluxLiteral(%q) = %q, want %q", in, got, want)
		}
	}
}

// obj builds an object from YAML.
func obj(t *testing.T, y string) *unstructured.Unstructured {
	t.Helper()
	objs, err := live.ReadManifest("test", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return objs[0]
}

const bareDeployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: solo, namespace: scratch, labels: {scratch.app: solo}}
spec:
  selector: {matchLabels: {scratch.app: solo}}
  template:
    metadata: {labels: {scratch.app: solo}}
    spec:
      containers: [{name: app, image: "ghcr.io/example/solo:1.0"}]
`

// TestPromoteBadInput: every refusal names the problem and writes nothing
// (Promote returns no changeset).
func TestPromoteBadInput(t *testing.T) {
	route := func(host string) *unstructured.Unstructured {
		return obj(t, `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: solo, namespace: scratch, labels: {scratch.app: solo}}
spec:
  parentRefs: [{name: envoy-external, namespace: network, sectionName: https}]
  hostnames: [`+host+`]
  rules: [{backendRefs: [{name: solo, port: 80}]}]
`)
	}
	routeWith := func(spec string) *unstructured.Unstructured {
		return obj(t, `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: solo, namespace: scratch, labels: {scratch.app: solo}}
spec:
  parentRefs: [{name: envoy-external, namespace: network, sectionName: https}]
`+spec)
	}
	chute := func(spec string) *unstructured.Unstructured {
		return obj(t, `apiVersion: chutes.troubleshat.com/v1alpha1
kind: Chute
metadata: {name: solo, namespace: scratch, labels: {scratch.app: solo}}
spec:
`+spec)
	}
	const chuteSpec = "  configRef: {name: home}\n  service: {name: solo, port: 80}\n  hostname: solo.example.com\n  access: {emails: [me@example.org]}\n"
	admit := access.Options{Emails: []string{"me@example.org"}}
	binary := obj(t, `apiVersion: v1
kind: Secret
metadata: {name: solo-tls, namespace: scratch, labels: {scratch.app: solo}}
data:
  cert.der: `+base64.StdEncoding.EncodeToString([]byte{0x30, 0x82, 0x00, 0xff, 0xfe})+`
`)
	cases := []struct {
		name    string
		objs    []*unstructured.Unstructured
		opts    promote.Options
		sealer  bool
		wantErr []string
	}{
		{"hostname on no onboarded domain", []*unstructured.Unstructured{obj(t, bareDeployment), route("solo.example.net")},
			promote.Options{App: "solo"}, false, []string{`"solo.example.net" is on no onboarded domain`, "gen onboard-domain example.net"}},
		{"selector matches nothing", []*unstructured.Unstructured{obj(t, bareDeployment)},
			promote.Options{App: "other"}, false, []string{"no objects in namespace scratch match the selector scratch.app=other", "scratch apps there: solo"}},
		{"explicit selector matches nothing", []*unstructured.Unstructured{obj(t, bareDeployment)},
			promote.Options{App: "solo", Selector: "app=solo"}, false, []string{"match the selector app=solo"}},
		{"target app exists", []*unstructured.Unstructured{obj(t, bareDeployment)},
			promote.Options{App: "solo", Name: "echo"}, false, []string{"app default/echo already exists", "--name"}},
		{"infrastructure name", []*unstructured.Unstructured{obj(t, bareDeployment)},
			promote.Options{App: "solo", Name: "cloudflare-dns", Namespace: "tools"}, false, []string{"infrastructure app network/cloudflare-dns"}},
		{"binary secret", []*unstructured.Unstructured{obj(t, bareDeployment), binary},
			promote.Options{App: "solo"}, true, []string{"Secret solo-tls: key cert.der holds binary data"}},
		{"secret without sops", []*unstructured.Unstructured{obj(t, bareDeployment), binary},
			promote.Options{App: "solo"}, false, []string{"no .sops.yaml"}},
		{"bad name", []*unstructured.Unstructured{obj(t, bareDeployment)},
			promote.Options{App: "solo", Name: "Solo_1"}, false, []string{`--name "Solo_1" is not a valid name`}},
		{"bad selector", []*unstructured.Unstructured{obj(t, bareDeployment)},
			promote.Options{App: "solo", Selector: "a=(b"}, false, []string{`--selector "a=(b"`}},
		{"tunnel to two backends", []*unstructured.Unstructured{obj(t, bareDeployment), routeWith("  hostnames: [solo.example.com]\n  rules: [{backendRefs: [{name: solo, port: 80, weight: 90}, {name: solo-canary, port: 80, weight: 10}]}]\n")},
			promote.Options{App: "solo", Expose: generator.ExposeTunnel}, false,
			[]string{"--expose tunnel: HTTPRoute solo sends traffic to 2 backends (solo port 80, solo-canary port 80), and a tunnel rule sends a hostname to one Service; promote with --expose gateway"}},
		{"tunnel to a backend of another kind", []*unstructured.Unstructured{obj(t, bareDeployment), routeWith("  hostnames: [solo.example.com]\n  rules: [{backendRefs: [{group: inference.networking.k8s.io, kind: InferencePool, name: pool}]}]\n")},
			promote.Options{App: "solo", Expose: generator.ExposeTunnel}, false,
			[]string{"sends traffic to the InferencePool.inference.networking.k8s.io pool, and a tunnel rule reaches Services only; promote with --expose gateway"}},
		{"tunnel to another namespace", []*unstructured.Unstructured{obj(t, bareDeployment), routeWith("  hostnames: [solo.example.com]\n  rules: [{backendRefs: [{name: db, namespace: data, port: 80}]}]\n")},
			promote.Options{App: "solo", Expose: generator.ExposeTunnel}, false, []string{"Service db in namespace data", "--expose gateway"}},
		{"tunnel for some paths only", []*unstructured.Unstructured{obj(t, bareDeployment), routeWith("  hostnames: [solo.example.com]\n  rules: [{matches: [{path: {type: PathPrefix, value: /api}}], backendRefs: [{name: solo, port: 80}]}]\n")},
			promote.Options{App: "solo", Expose: generator.ExposeTunnel}, false, []string{"HTTPRoute solo serves only some paths (/api), and a tunnel rule would send every path to Service solo"}},
		{"tunnel with filters", []*unstructured.Unstructured{obj(t, bareDeployment), routeWith("  hostnames: [solo.example.com]\n  rules: [{filters: [{type: RequestHeaderModifier, requestHeaderModifier: {add: [{name: X, value: y}]}}], backendRefs: [{name: solo, port: 80}]}]\n")},
			promote.Options{App: "solo", Expose: generator.ExposeTunnel}, false, []string{"HTTPRoute solo uses rules.filters, which a tunnel rule cannot express"}},
		{"tunnel without hostnames", []*unstructured.Unstructured{obj(t, bareDeployment), routeWith("  rules: [{backendRefs: [{name: solo, port: 80}]}]\n")},
			promote.Options{App: "solo", Expose: generator.ExposeTunnel}, false, []string{"HTTPRoute solo has no hostnames"}},
		{"tunnel without a route", []*unstructured.Unstructured{obj(t, bareDeployment)},
			promote.Options{App: "solo", Expose: generator.ExposeTunnel}, false, []string{"--expose tunnel: the scratch app has no HTTPRoute"}},
		{"access with two hostnames", []*unstructured.Unstructured{obj(t, bareDeployment), route("solo.example.com, solo.example.org")},
			promote.Options{App: "solo", Expose: generator.ExposeAccess, Access: admit}, false,
			[]string{"--expose access: a Chute serves one hostname, and the scratch routes have 2 (solo.example.com, solo.example.org)", "--selector"}},
		{"access with a bad email", []*unstructured.Unstructured{obj(t, bareDeployment), route("solo.example.com")},
			promote.Options{App: "solo", Expose: generator.ExposeAccess, Access: access.Options{Emails: []string{"me@"}}}, false,
			[]string{`--allow-email "me@" is not an email address`}},
		{"access without a list", []*unstructured.Unstructured{obj(t, bareDeployment), route("solo.example.com")},
			promote.Options{App: "solo", Expose: generator.ExposeAccess}, false, []string{"needs --allow-email or --allow-domain"}},
		{"access without a ChuteConfig", []*unstructured.Unstructured{obj(t, bareDeployment), route("solo.example.com")},
			promote.Options{App: "solo", Expose: generator.ExposeAccess, Access: admit}, false, []string{"declares no ChuteConfig"}},
		{"allow lists without access", []*unstructured.Unstructured{obj(t, bareDeployment), route("solo.example.com")},
			promote.Options{App: "solo", Expose: generator.ExposeTunnel, Access: admit}, false, []string{"go with --expose access"}},
		{"bad expose", []*unstructured.Unstructured{obj(t, bareDeployment)},
			promote.Options{App: "solo", Expose: "ingress"}, false, []string{`--expose "ingress": want gateway, tunnel or access`}},
		{"access over a scratch Chute", []*unstructured.Unstructured{obj(t, bareDeployment), route("solo.example.org"), chute(chuteSpec)},
			promote.Options{App: "solo", Expose: generator.ExposeAccess, Access: admit}, false,
			[]string{"the scratch app already has a Chute (solo), which promote carries over; leave out --expose access"}},
		{"scratch Chute with an unknown field", []*unstructured.Unstructured{obj(t, bareDeployment), chute(chuteSpec + "  sessionTimeout: 1h\n")},
			promote.Options{App: "solo"}, false, []string{"promoting Chute solo: reading the Chute", "sessionTimeout"}},
		{"scratch Chute on an unknown domain", []*unstructured.Unstructured{obj(t, bareDeployment), chute(strings.Replace(chuteSpec, "example.com", "example.net", 1))},
			promote.Options{App: "solo"}, false, []string{"promoting Chute solo", "gen onboard-domain example.net"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := gentest.LoadExample(t)
			opts := tc.opts
			opts.Objects = tc.objs
			if tc.sealer {
				opts.Sealer = testSealer{}
			}
			pr, err := promote.Generate(r.Model(), opts)
			if err == nil {
				t.Fatalf("no error; wrote %v", pr.Changeset.Paths())
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "MIIB") || strings.Contains(err.Error(), "\xff") {
				t.Errorf("error shows a secret value: %v", err)
			}
		})
	}
}

// TestPromoteShapes: a scratch app without a Service or an HTTPRoute,
// several containers, an unknown kind.
func TestPromoteShapes(t *testing.T) {
	r := gentest.LoadExample(t)
	unknown := obj(t, `apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: solo, namespace: scratch, labels: {scratch.app: solo}}
spec: {secretName: solo-tls, dnsNames: [solo.example.com], issuerRef: {name: letsencrypt, kind: ClusterIssuer}}
`)
	pr, err := promote.Generate(r.Model(), promote.Options{App: "solo", Objects: []*unstructured.Unstructured{obj(t, bareDeployment), unknown}})
	if err != nil {
		t.Fatal(err)
	}
	files := promotionFiles(pr)
	hr := string(files["kubernetes/apps/default/solo/app/helmrelease.yaml"])
	if !strings.Contains(hr, "repository: ghcr.io/example/solo") || strings.Contains(hr, "service:") || strings.Contains(hr, "route:") {
		t.Errorf("helmrelease without service and route:\n%s", hr)
	}
	if _, ok := files["kubernetes/apps/default/solo/app/certificate.yaml"]; !ok {
		t.Errorf("the Certificate was not kept: %v", pr.Changeset.Paths())
	}
	if !strings.Contains(string(files["REPORT"]), "kept raw: Certificate/solo: a kind gen does not know (cert-manager.io/v1), kept as it is") {
		t.Errorf("report:\n%s", files["REPORT"])
	}
	ks := string(files["kubernetes/apps/default/solo/ks.yaml"])
	if strings.Contains(ks, "dependsOn") {
		t.Errorf("an app without route or DNS needs no dependsOn:\n%s", ks)
	}
	if !strings.Contains(string(files["kubernetes/apps/default/solo/app/certificate.yaml"]), "dnsNames:\n    - \"solo.${SECRET_DOMAIN}\"") {
		t.Errorf("literal domains in kept objects become variables:\n%s", files["kubernetes/apps/default/solo/app/certificate.yaml"])
	}
}

// TestPromoteTunnelKeepsOtherRecords: with --expose tunnel the scratch
// records of the route hostnames give way to the tunnel's DNSEndpoint, and
// a record no route serves is kept beside them in the same object.
func TestPromoteTunnelKeepsOtherRecords(t *testing.T) {
	r := gentest.LoadExample(t)
	objs := []*unstructured.Unstructured{
		obj(t, bareDeployment),
		obj(t, "apiVersion: v1\nkind: Service\nmetadata: {name: solo, namespace: scratch, labels: {scratch.app: solo}}\nspec: {selector: {scratch.app: solo}, ports: [{name: http, port: 8080}]}\n"),
		obj(t, `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: solo, namespace: scratch, labels: {scratch.app: solo}}
spec:
  parentRefs: [{name: envoy-internal, namespace: network, sectionName: https}]
  hostnames: [solo.example.com, solo.example.org]
  rules: [{matches: [{path: {type: PathPrefix, value: /}}], backendRefs: [{name: solo, port: 8080}]}]
`),
		obj(t, `apiVersion: externaldns.k8s.io/v1alpha1
kind: DNSEndpoint
metadata: {name: solo, namespace: scratch, labels: {scratch.app: solo}}
spec:
  endpoints:
    - {dnsName: solo.example.org, recordType: CNAME, targets: [external.example.org]}
    - {dnsName: old.example.org, recordType: CNAME, targets: [external.example.org]}
`),
	}
	pr, err := promote.Generate(r.Model(), promote.Options{App: "solo", Mode: promote.ModeRaw, Expose: generator.ExposeTunnel, Objects: objs})
	if err != nil {
		t.Fatal(err)
	}
	files := promotionFiles(pr)
	got := string(files["kubernetes/apps/default/solo/app/dnsendpoint.yaml"])
	want := `---
apiVersion: externaldns.k8s.io/v1alpha1
kind: DNSEndpoint
metadata:
  name: solo
spec:
  endpoints:
    - dnsName: "solo.${SECRET_DOMAIN}"
      recordType: CNAME
      targets: ["external.${SECRET_DOMAIN}"]
    - dnsName: "solo.${SECRET_DOMAIN_TWO}"
      recordType: CNAME
      targets: ["external.${SECRET_DOMAIN_TWO}"]
    - dnsName: "old.${SECRET_DOMAIN_TWO}"
      recordType: CNAME
      targets:
        - "external.${SECRET_DOMAIN_TWO}"
`
	if got != want {
		t.Errorf("dnsendpoint.yaml:\n%s\nwant:\n%s", got, want)
	}
	if _, ok := files["kubernetes/apps/default/solo/app/httproute.yaml"]; ok {
		t.Error("the route was written; the tunnel replaces it")
	}
	tunnel := string(files["kubernetes/apps/network/cloudflare-tunnel/app/helmrelease.yaml"])
	if strings.Count(tunnel, "service: http://solo.default.svc.cluster.local:8080\n") != 2 {
		t.Errorf("want two rules to the Service's port:\n%s", tunnel)
	}
	if h := strings.Join(pr.Hosts, " "); h != "old.example.org solo.example.com solo.example.org" {
		t.Errorf("published hosts: %s", h)
	}
	if !strings.Contains(string(files["REPORT"]), "HTTPRoute solo was attached to the gateway envoy-internal; through the tunnel solo.example.com, solo.example.org are reachable from the internet") {
		t.Errorf("no warning about the internal gateway:\n%s", files["REPORT"])
	}
	for _, f := range pr.Changeset.Files {
		gentest.AssertStrict(t, f.Path, f.Content)
	}
}

func TestReferences(t *testing.T) {
	refs := promote.References(liveObjects(t, "notes"))
	var got []string
	for _, r := range refs {
		got = append(got, r.Kind+"/"+r.Name)
	}
	want := "ConfigMap/notes-config PersistentVolumeClaim/notes-data Secret/notes-secret"
	if strings.Join(got, " ") != want {
		t.Fatalf("got %s, want %s", strings.Join(got, " "), want)
	}
}

func TestSelectAppTakesReferencedObjects(t *testing.T) {
	// The ConfigMap carries no scratch label: it is taken because the pods
	// reference it; the unrelated one is not.
	cm := obj(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: solo-env, namespace: scratch}\ndata: {A: b}\n")
	other := obj(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: unrelated, namespace: scratch}\ndata: {A: b}\n")
	dep := obj(t, strings.Replace(bareDeployment, `image: "ghcr.io/example/solo:1.0"}`, `image: "ghcr.io/example/solo:1.0", envFrom: [{configMapRef: {name: solo-env}}, {secretRef: {name: gone}}]}`, 1))
	picked, notes, err := promote.SelectApp(promote.Options{App: "solo", Objects: []*unstructured.Unstructured{dep, cm, other}})
	if err != nil {
		t.Fatal(err)
	}
	if kinds(picked) != "ConfigMap/solo-env, Deployment/solo" {
		t.Fatalf("picked %s", kinds(picked))
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "Secret gone is referenced by the pods but not in the cluster") {
		t.Fatalf("notes %v", notes)
	}
}

// TestEquivalenceCatchesDifferences makes sure the equivalence check is
// not vacuous: a promoted HelmRelease edited by hand (an env value, the
// order of init containers, a mount) is reported, field by field.
func TestEquivalenceCatchesDifferences(t *testing.T) {
	r := gentest.LoadExample(t)
	objs := liveObjects(t, "notes")
	pr, err := promote.Generate(r.Model(), promote.Options{App: "notes", Objects: objs, Sealer: testSealer{}})
	if err != nil {
		t.Fatal(err)
	}
	hr := "kubernetes/apps/default/notes/app/helmrelease.yaml"
	for i, f := range pr.Changeset.Files {
		if f.Path != hr {
			continue
		}
		s := string(f.Content)
		for old, new := range map[string]string{
			"LOG_LEVEL: info":                  "LOG_LEVEL: debug",
			"            dependsOn: wait-db\n": "",
			"                subPath: notes\n": "",
		} {
			if !strings.Contains(s, old) {
				t.Fatalf("%s lacks %q", hr, old)
			}
			s = strings.Replace(s, old, new, 1)
		}
		pr.Changeset.Files[i].Content = []byte(s)
	}
	got, err := livetest.RenderPromoted(r.Files, r.RootKustomizations, pr.Changeset, "kubernetes/apps/default/notes/app", gentest.ExampleDomains)
	if err != nil {
		t.Fatal(err)
	}
	var dep, promoted *unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == "Deployment" {
			dep = o
		}
	}
	for _, o := range got {
		if o.GetKind() == "Deployment" {
			promoted = o
		}
	}
	diffs := strings.Join(livetest.ComparePodTemplates(dep, promoted), "\n")
	for _, want := range []string{`value: scratch "info", promoted "debug"`, `initContainers[0].name: scratch "wait-db", promoted "migrate"`, `subPath: scratch "notes", promoted (none)`} {
		if !strings.Contains(diffs, want) {
			t.Errorf("the check missed %q; it reported:\n%s", want, diffs)
		}
	}
}
