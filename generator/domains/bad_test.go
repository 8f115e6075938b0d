package domains_test

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/gen-gitops/gen/generator"
	"github.com/gen-gitops/gen/generator/domains"
	"github.com/gen-gitops/gen/generator/internal/gentest"
	"github.com/gen-gitops/gen/internal/repo"
	"github.com/gen-gitops/gen/internal/sops"
)

func TestNormalizeDomain(t *testing.T) {
	good := map[string]string{
		"example.net":      "example.net",
		"Example.NET.":     "example.net",
		" sub.example.io ": "sub.example.io",
		"xn--bcher-kva.de": "xn--bcher-kva.de",
	}
	for in, want := range good {
		got, err := domains.Normalize(in)
		if err != nil || got != want {
			t.Errorf("NormalizeDomain(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	bad := map[string]string{
		"":                               "no domain",
		"localhost":                      "at least two labels",
		"exa_mple.net":                   "not a valid DNS name",
		"-example.net":                   "not a valid DNS name",
		"example..net":                   "not a valid DNS name",
		"*.example.net":                  "without \"*.\"",
		"https://example.net":            "URL",
		"example.net/x":                  "URL or path",
		"ex ample.net":                   "not a valid DNS name",
		"10.0.0.1":                       "IP address",
		"bücher.de":                      "punycode",
		strings.Repeat("a", 64) + ".net": "label",
	}
	for in, want := range bad {
		_, err := domains.Normalize(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("NormalizeDomain(%q): %v; want an error with %q", in, err, want)
		}
	}
}

const (
	tunnelHR    = "kubernetes/apps/network/cloudflare-tunnel/app/helmrelease.yaml"
	dnsHR       = "kubernetes/apps/network/cloudflare-dns/app/helmrelease.yaml"
	secretsFile = "kubernetes/components/sops/cluster-secrets.sops.yaml"
)

func TestOnboardDomainBadInput(t *testing.T) {
	ex := gentest.ExampleFixture(t)
	noKey := func(f gentest.Fixture) generator.SecretStore {
		s := gentest.NewStore(t, f.Repo, nil)
		_, s.IDsErr = sops.LoadIdentities(func(k string) string {
			if k == "HOME" {
				return "/nonexistent-home"
			}
			return ""
		})
		return s
	}
	cases := []struct {
		name  string
		f     gentest.Fixture
		opts  domains.OnboardOptions
		store func(gentest.Fixture) generator.SecretStore
		want  []string
	}{
		{name: "invalid domain", f: ex, opts: domains.OnboardOptions{Domain: "not_a.domain"},
			want: []string{"not a valid DNS name"}},
		{name: "onboarded under another variable", f: ex, opts: domains.OnboardOptions{Domain: "example.org", Var: "SECRET_DOMAIN_THREE"},
			want: []string{"example.org is already onboarded as SECRET_DOMAIN_TWO"}},
		{name: "subdomain of an onboarded domain", f: ex, opts: domains.OnboardOptions{Domain: "apps.example.com"},
			want: []string{"subdomain of example.com", "SECRET_DOMAIN"}},
		{name: "var holds another domain", f: ex, opts: domains.OnboardOptions{Domain: "example.net", Var: "SECRET_DOMAIN_TWO"},
			want: []string{"--var SECRET_DOMAIN_TWO already holds example.org"}},
		{name: "var is not a domain variable", f: ex, opts: domains.OnboardOptions{Domain: "example.net", Var: "MY_DOMAIN"},
			want: []string{"--var \"MY_DOMAIN\""}},
		{name: "no age key", f: ex, opts: domains.OnboardOptions{Domain: "example.net"}, store: noKey,
			want: []string{"no age key found", "$SOPS_AGE_KEY,", "$SOPS_AGE_KEY_FILE", "keys.txt", secretsFile}},
		{name: "sops rules match no file",
			f:    gentest.WithFiles(t, ex, gentest.ReplaceIn(t, ex, ".sops.yaml", `kubernetes/.*\.sops\.ya?ml`, `talos/.*\.sops\.ya?ml`)),
			opts: domains.OnboardOptions{Domain: "example.net"},
			want: []string{"no creation rule", secretsFile, `talos/.*\\.sops\\.ya?ml`}},
		{name: "mac does not verify",
			f:    gentest.WithFiles(t, ex, gentest.ReplaceIn(t, ex, secretsFile, `lastmodified: "2026-11-24T00:32:34Z"`, `lastmodified: "2026-11-25T00:32:34Z"`)),
			opts: domains.OnboardOptions{Domain: "example.net"},
			want: []string{"mac mismatch", secretsFile}},
		{name: "tunnel config without catch-all",
			f:    gentest.WithFiles(t, ex, gentest.ReplaceIn(t, ex, tunnelHR, "              - service: http_status:404\n", "")),
			opts: domains.OnboardOptions{Domain: "example.net"},
			want: []string{"does not end with a catch-all rule", tunnelHR}},
		{name: "malformed embedded tunnel config",
			f:    gentest.WithFiles(t, ex, gentest.ReplaceIn(t, ex, tunnelHR, "              - service: http_status:404\n", "              - service: [http_status:404\n")),
			opts: domains.OnboardOptions{Domain: "example.net"},
			want: []string{"cloudflared config in HelmRelease cloudflare-tunnel", "does not parse", tunnelHR}},
		{name: "malformed plain tunnel config",
			f: gentest.WithFiles(t, gentest.StockFixture(t), map[string][]byte{
				"kubernetes/apps/network/cloudflare-tunnel/app/cloudflared/config.yaml": []byte("ingress:\n  - hostname: \"*.${SECRET_DOMAIN}\"\n    service: [x\n"),
			}),
			opts: domains.OnboardOptions{Domain: "example.net"},
			want: []string{"cloudflared/config.yaml", "looks like a cloudflared config", "does not parse"}},
		{name: "missing external-dns",
			f:    gentest.WithFiles(t, ex, map[string][]byte{dnsHR: nil}),
			opts: domains.OnboardOptions{Domain: "example.net"},
			want: []string{"lacks cloudflare-dns", "--skip cloudflare-dns"}},
		{name: "missing tunnel and cert-manager",
			f: gentest.WithFiles(t, ex, map[string][]byte{tunnelHR: nil,
				"kubernetes/apps/cert-manager/cert-manager/app/clusterissuer.yaml": nil}),
			opts: domains.OnboardOptions{Domain: "example.net"},
			want: []string{"cert-manager (no ClusterIssuer", "cloudflare-tunnel (no cloudflared config", "--skip cert-manager,cloudflare-tunnel"}},
		{name: "unknown gateway", f: ex, opts: domains.OnboardOptions{Domain: "example.net", Gateways: []string{"envoy-public"}},
			want: []string{`no Gateway "envoy-public"`, "envoy-external, envoy-internal"}},
		{name: "unknown component", f: ex, opts: domains.OnboardOptions{Domain: "example.net", Skip: []domains.Component{"dns"}},
			want: []string{`unknown component "dns"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			store := generator.SecretStore(tc.f.Store(t))
			if tc.store != nil {
				store = tc.store(tc.f)
			}
			tc.opts.Store = store
			cs, err := domains.Onboard(tc.f.Repo.Model(), tc.opts)
			if err == nil {
				t.Fatalf("no error; the change would write %v", cs.Paths())
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestOnboardDomainParentOfOnboarded(t *testing.T) {
	ex := gentest.ExampleFixture(t)
	cs, err := domains.Onboard(ex.Repo.Model(), domains.OnboardOptions{Domain: "deep.example.net", Store: ex.Store(t)})
	if err != nil {
		t.Fatal(err)
	}
	r2, err := repo.FromFiles(gentest.Overlay(ex.Repo.Files, cs), repo.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = domains.Onboard(r2.Model(), domains.OnboardOptions{Domain: "example.net", Store: gentest.NewStore(t, r2, ex.IDs)})
	if err == nil || !strings.Contains(err.Error(), "example.net contains deep.example.net") {
		t.Fatalf("want a refusal naming the onboarded subdomain, got %v", err)
	}
}

func TestOnboardDomainOptions(t *testing.T) {
	ex := gentest.ExampleFixture(t)
	t.Run("gateways", func(t *testing.T) {
		cs, err := domains.Onboard(ex.Repo.Model(), domains.OnboardOptions{Domain: "example.net", Gateways: []string{"envoy-external"}, Store: ex.Store(t)})
		if err != nil {
			t.Fatal(err)
		}
		envoy := string(fileIn(t, cs, "kubernetes/apps/network/envoy-gateway/app/envoy.yaml"))
		if n := strings.Count(envoy, "${SECRET_DOMAIN_THREE/./-}-production-tls"); n != 1 {
			t.Fatalf("the certificate is on %d gateways, want only envoy-external", n)
		}
		ext := envoy[strings.Index(envoy, "name: envoy-external"):strings.Index(envoy, "name: envoy-internal")]
		if !strings.Contains(ext, "SECRET_DOMAIN_THREE") {
			t.Fatal("envoy-external did not get the certificate")
		}
	})
	t.Run("var", func(t *testing.T) {
		cs, err := domains.Onboard(ex.Repo.Model(), domains.OnboardOptions{Domain: "example.net", Var: "SECRET_DOMAIN_NET", Store: ex.Store(t)})
		if err != nil {
			t.Fatal(err)
		}
		if cs.Title != "Onboard example.net as SECRET_DOMAIN_NET" {
			t.Fatalf("title %q", cs.Title)
		}
		for _, f := range cs.Files {
			if !f.Sensitive && !bytes.Contains(f.Content, []byte("${SECRET_DOMAIN_NET")) {
				t.Errorf("%s does not use the chosen variable", f.Path)
			}
		}
	})
	t.Run("skip", func(t *testing.T) {
		cs, err := domains.Onboard(ex.Repo.Model(), domains.OnboardOptions{Domain: "example.net",
			Skip: []domains.Component{domains.ComponentTunnel, domains.ComponentCertManager}, Store: ex.Store(t)})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range cs.Paths() {
			if strings.Contains(p, "cloudflare-tunnel") || strings.Contains(p, "cert-manager") {
				t.Errorf("--skip did not keep %s out", p)
			}
		}
		if len(cs.Files) != 4 {
			t.Errorf("changed %v, want cluster-secrets, cloudflare-dns and the two envoy-gateway files", cs.Paths())
		}
		notes := strings.Join(cs.Notes, "\n")
		if !strings.Contains(notes, "skipped cloudflare-tunnel") || !strings.Contains(notes, "skipped cert-manager") {
			t.Errorf("notes do not say what was skipped: %s", notes)
		}
	})
	t.Run("skip cluster-secrets needs no key", func(t *testing.T) {
		r, err := repo.FromFiles(ex.Repo.Files, repo.LoadOptions{Domains: map[string]string{"SECRET_DOMAIN": "example.com", "SECRET_DOMAIN_TWO": "example.org"}})
		if err != nil {
			t.Fatal(err)
		}
		cs, err := domains.Onboard(r.Model(), domains.OnboardOptions{Domain: "example.net",
			Skip: []domains.Component{domains.ComponentClusterSecrets}})
		if err != nil {
			t.Fatal(err)
		}
		if len(cs.Files) != 6 || !strings.Contains(strings.Join(cs.Notes, "\n"), "add SECRET_DOMAIN_THREE: example.net to cluster-secrets yourself") {
			t.Fatalf("changed %v, notes %q", cs.Paths(), cs.Notes)
		}
		// Without the domains it cannot tell example.org is onboarded.
		_, err = domains.Onboard(gentest.ExampleFixture(t).Repo.Model(), domains.OnboardOptions{Domain: "example.net",
			Skip: []domains.Component{domains.ComponentClusterSecrets}})
		if err == nil || !strings.Contains(err.Error(), "pass --domain") {
			t.Fatalf("want a request for --domain, got %v", err)
		}
	})
	t.Run("completes a half-done onboarding", func(t *testing.T) {
		f := gentest.WithFiles(t, ex, gentest.ReplaceIn(t, ex, dnsHR, `, "${SECRET_DOMAIN_TWO}"]`, `]`))
		cs, err := domains.Onboard(f.Repo.Model(), domains.OnboardOptions{Domain: "example.org", Store: f.Store(t)})
		if err != nil {
			t.Fatal(err)
		}
		if got := cs.Paths(); len(got) != 1 || got[0] != dnsHR {
			t.Fatalf("changed %v, want only %s", got, dnsHR)
		}
		if !bytes.Equal(cs.Files[0].Content, ex.Repo.Files[dnsHR]) {
			t.Fatalf("the filter is not back as it was:\n%s", cs.Files[0].Content)
		}
	})
	t.Run("var numbering", func(t *testing.T) {
		r := gentest.WithFiles(t, ex, nil).Repo
		r.SecretVars = []string{"SECRET_DOMAIN", "SECRET_DOMAIN_2"}
		r.Domains = []repo.Domain{{Var: "SECRET_DOMAIN", Value: "example.com", Primary: true}, {Var: "SECRET_DOMAIN_2", Value: "example.org"}}
		// Digits stay digits.
		cs, err := domains.Onboard(r.Model(), domains.OnboardOptions{Domain: "example.net",
			Skip: []domains.Component{domains.ComponentClusterSecrets, domains.ComponentTunnel, domains.ComponentCertManager, domains.ComponentGateway, domains.ComponentDNS}})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(cs.Title, "SECRET_DOMAIN_3") {
			t.Fatalf("title %q, want SECRET_DOMAIN_3", cs.Title)
		}
	})
}

func fileIn(t *testing.T, cs *generator.Changeset, p string) []byte {
	t.Helper()
	for _, f := range cs.Files {
		if f.Path == p {
			return f.Content
		}
	}
	t.Fatalf("the change does not write %s (it writes %v)", p, cs.Paths())
	return nil
}

func TestOffboardDomainBadInput(t *testing.T) {
	ex := gentest.ExampleFixture(t)
	cases := []struct {
		name string
		opts domains.OffboardOptions
		want *regexp.Regexp
	}{
		{"primary", domains.OffboardOptions{Domain: "example.com"}, regexp.MustCompile(`primary domain \(SECRET_DOMAIN\)`)},
		{"still used", domains.OffboardOptions{Domain: "example.org"},
			regexp.MustCompile(`still used by default/whoami \(app/dnsendpoint\.yaml, app/httproute\.yaml\)`)},
		{"not onboarded", domains.OffboardOptions{Domain: "example.net"},
			regexp.MustCompile(`example\.net is not onboarded \(onboarded: example\.com \(SECRET_DOMAIN\), example\.org \(SECRET_DOMAIN_TWO\)\)`)},
		{"wrong var", domains.OffboardOptions{Domain: "example.org", Var: "SECRET_DOMAIN_THREE"},
			regexp.MustCompile(`held by SECRET_DOMAIN_TWO, not SECRET_DOMAIN_THREE`)},
		{"invalid", domains.OffboardOptions{Domain: "example"}, regexp.MustCompile(`two labels`)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Store = ex.Store(t)
			cs, err := domains.Offboard(ex.Repo.Model(), tc.opts)
			if err == nil {
				t.Fatalf("no error; the change would write %v", cs.Paths())
			}
			if !tc.want.MatchString(err.Error()) {
				t.Fatalf("error %q does not match %s", err, tc.want)
			}
		})
	}
}
