package initrepo_test

import (
	"encoding/base64"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gen-gitops/gen/generator"
	"github.com/gen-gitops/gen/generator/apps"
	"github.com/gen-gitops/gen/generator/initrepo"
	"github.com/gen-gitops/gen/generator/internal/gentest"
	"github.com/gen-gitops/gen/internal/flux"
	"github.com/gen-gitops/gen/internal/repo"
	"github.com/gen-gitops/gen/internal/schema"
	"github.com/gen-gitops/gen/internal/secrets"
	"github.com/gen-gitops/gen/internal/sops"
	"github.com/gen-gitops/gen/internal/testutil"
)

// exampleRecipient is the public half of examples/home-ops/example-age.key.
const exampleRecipient = "age1nxx6jf4a7empkzugyews90kvevu2ht6eswjl2dqd26gznuh3ap8qq5wwar"

// tunnelToken builds a token of cloudflared's shape for tunnel id.
func tunnelToken(id string) string {
	return base64.StdEncoding.EncodeToString([]byte(`{"a":"0123456789abcdef0123456789abcdef","t":"` + id + `","s":"c2VjcmV0"}`))
}

func initSealer(t *testing.T, recipient string) generator.SecretSealer {
	t.Helper()
	cfg, err := initrepo.SopsConfig(recipient)
	if err != nil {
		t.Fatal(err)
	}
	s, err := secrets.NewSealer(&repo.Repo{Files: map[string][]byte{".sops.yaml": cfg}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func runInit(t *testing.T, opts initrepo.Options) *generator.Changeset {
	t.Helper()
	if opts.AgeRecipient == "" {
		opts.AgeRecipient = exampleRecipient
	}
	opts.Sealer = initSealer(t, opts.AgeRecipient)
	cs, err := initrepo.Generate(opts)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func filesOf(cs *generator.Changeset) map[string][]byte {
	out := map[string][]byte{}
	for _, f := range cs.Files {
		out[f.Path] = f.Content
	}
	return out
}

// kindsOutsideSchema are kinds the skeleton writes whose Go types gen does
// not carry (cert-manager, envoy-gateway).
var kindsOutsideSchema = []string{"kind: ClusterIssuer", "kind: Certificate", "kind: EnvoyProxy", "kind: Component"}

func TestInitGolden(t *testing.T) {
	cases := []struct {
		name string
		opts initrepo.Options
	}{
		{"placeholders", initrepo.Options{Domain: "example.org", Cluster: "home"}},
		{"complete", initrepo.Options{
			Domain: "Example.NET.", Cluster: "lab", GitURL: "ssh://git@github.com/someone/lab-ops", Branch: "trunk",
			TunnelToken: tunnelToken("7b56e8fd-0abc-4e14-9447-5d848c2394b7"), CloudflareToken: "cf-token-value",
			ACMEEmail: "ops@example.net",
		}},
	}
	ids := gentest.ExampleIdentities(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cs := runInit(t, tc.opts)
			got := map[string][]byte{}
			for _, f := range cs.Files {
				content := f.Content
				if f.Sensitive {
					for _, secret := range []string{tc.opts.CloudflareToken, tc.opts.TunnelToken, "example.org", "example.net"} {
						if secret != "" && strings.Contains(string(content), secret) {
							t.Fatalf("%s holds the plaintext %q", f.Path, secret)
						}
					}
					plain, err := sops.Decrypt(content, ids)
					if err != nil {
						t.Fatalf("decrypting %s: %v", f.Path, err)
					}
					content = append([]byte("# decrypted by the test\n"), plain...)
				} else if strings.HasSuffix(f.Path, ".yaml") && !strings.HasPrefix(f.Path, ".") {
					assertStrictSkeleton(t, f.Path, content)
				}
				got[f.Path] = content
			}
			notes := strings.Join(cs.Notes, "\n") + "\n"
			got["NOTES"] = []byte(notes)
			testutil.GoldenTree(t, filepath.Join("testdata", "init", tc.name), got)
		})
	}
}

func assertStrictSkeleton(t *testing.T, p string, content []byte) {
	t.Helper()
	for i, doc := range strings.Split(string(content), "\n---\n") {
		if strings.TrimSpace(strings.TrimPrefix(doc, "---")) == "" {
			continue
		}
		known, err := schema.DecodeYAML([]byte(doc))
		if err != nil {
			t.Fatalf("%s document %d: %v", p, i, err)
		}
		if known || filepath.Base(p) == "kustomization.yaml" {
			continue
		}
		outside := false
		for _, k := range kindsOutsideSchema {
			outside = outside || strings.Contains(doc, "\n"+k+"\n")
		}
		if !outside {
			t.Fatalf("%s document %d: a kind nobody checks", p, i)
		}
	}
}

// TestInitIsAWorkingRepository: the model finds every part of the new
// repository, Flux builds every Kustomization in it, and add-app works on
// it straight away.
func TestInitIsAWorkingRepository(t *testing.T) {
	cs := runInit(t, initrepo.Options{Domain: "example.org", Cluster: "home"})
	files := filesOf(cs)
	r, err := repo.FromFiles(files, repo.LoadOptions{SecretValues: map[string]string{"SECRET_DOMAIN": "example.org"}})
	if err != nil {
		t.Fatal(err)
	}
	if r.AppsDir != "kubernetes/apps" || r.SopsComponent != "kubernetes/components/sops" || r.ClusterSecretsFile == "" {
		t.Fatalf("model: apps %q, sops component %q, cluster-secrets %q", r.AppsDir, r.SopsComponent, r.ClusterSecretsFile)
	}
	if d, ok := r.PrimaryDomain(); !ok || d.Value != "example.org" {
		t.Fatalf("primary domain: %+v", r.Domains)
	}
	for _, gw := range []string{"envoy-external", "envoy-internal"} {
		g, ok := r.Gateway(gw)
		if !ok || g.Namespace != "network" || !g.HasListener("https") {
			t.Fatalf("gateway %s: %+v", gw, g)
		}
	}
	if got := strings.Join(r.NamespaceNames(), ","); got != "cert-manager,default,network" {
		t.Fatalf("namespaces %s", got)
	}

	all, err := flux.Discover(files, r.RootKustomizations)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, k := range all {
		names[k.ID().String()] = true
		rendered, err := flux.Render(files, k, flux.RenderOptions{Vars: map[string]string{"SECRET_DOMAIN": "example.org"}, Names: r.SecretVars})
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		for _, f := range rendered.Findings {
			if f.Severity == flux.SeverityError {
				t.Errorf("%s", f)
			}
		}
	}
	for _, want := range []string{"flux-system/cluster-apps", "cert-manager/cert-manager", "network/envoy-gateway", "network/cloudflare-dns", "network/cloudflare-tunnel"} {
		if !names[want] {
			t.Errorf("Flux does not reach Kustomization %s (have %v)", want, names)
		}
	}

	app, err := apps.Add(r.Model(), apps.AddOptions{Namespace: "default", Name: "hello", Mode: apps.ModeAppTemplate, Image: "nginx:1.27", Hosts: []string{"hello"}})
	if err != nil {
		t.Fatal(err)
	}
	got := filesOf(app)
	ks := string(got["kubernetes/apps/default/hello/ks.yaml"])
	if !strings.Contains(ks, "- name: envoy-gateway\n      namespace: network") {
		t.Fatalf("the new app does not depend on the gateway:\n%s", ks)
	}
	if !strings.Contains(string(got["kubernetes/apps/default/kustomization.yaml"]), "  - ./hello/ks.yaml\n") {
		t.Fatalf("the new app is not registered:\n%s", got["kubernetes/apps/default/kustomization.yaml"])
	}
}

func TestInitRefusesBadInput(t *testing.T) {
	cases := []struct {
		opts initrepo.Options
		want string
	}{
		{initrepo.Options{Cluster: "home"}, "--domain is required"},
		{initrepo.Options{Domain: "localhost", Cluster: "home"}, "not a domain name"},
		{initrepo.Options{Domain: "exa mple.org", Cluster: "home"}, "not a domain name"},
		{initrepo.Options{Domain: "example.org"}, "--cluster is required"},
		{initrepo.Options{Domain: "example.org", Cluster: "Home_Lab"}, "--cluster \"Home_Lab\" is not a valid name"},
		{initrepo.Options{Domain: "example.org", Cluster: "home", GitURL: "git@github.com:x/y.git"}, "ssh://git@github.com/OWNER/REPOSITORY"},
		{initrepo.Options{Domain: "example.org", Cluster: "home", Branch: "a..b"}, "not a valid branch name"},
		{initrepo.Options{Domain: "example.org", Cluster: "home", TunnelToken: "not a token"}, "not a cloudflared token"},
		{initrepo.Options{Domain: "example.org", Cluster: "home", TunnelToken: base64.StdEncoding.EncodeToString([]byte(`{"t":"nope"}`))}, "does not name a tunnel"},
		{initrepo.Options{Domain: "example.org", Cluster: "home", TunnelToken: tunnelToken("7b56e8fd-0abc-4e14-9447-5d848c2394b7"), TunnelID: "11111111-1111-1111-1111-111111111111"}, "is not the tunnel of the token"},
		{initrepo.Options{Domain: "example.org", Cluster: "home", TunnelID: "tunnel"}, "not a tunnel UUID"},
		{initrepo.Options{Domain: "example.org", Cluster: "home", ACMEEmail: "nobody"}, "not an email address"},
		{initrepo.Options{Domain: "example.org", Cluster: "home", AgeRecipient: "age1short"}, "not an age public key"},
	}
	for _, c := range cases {
		opts := c.opts
		if opts.AgeRecipient == "" {
			opts.AgeRecipient = exampleRecipient
		}
		opts.Sealer = initSealer(t, exampleRecipient)
		_, err := initrepo.Generate(opts)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want an error containing %q", c.opts, err, c.want)
		}
	}
}

func TestTunnelIDFromToken(t *testing.T) {
	id := "7b56e8fd-0abc-4e14-9447-5d848c2394b7"
	for _, tok := range []string{tunnelToken(id), strings.TrimRight(tunnelToken(id), "="), " " + tunnelToken(id) + "\n"} {
		got, err := initrepo.TunnelIDFromToken(tok)
		if err != nil || got != id {
			t.Errorf("%q: %q, %v", tok, got, err)
		}
	}
}
