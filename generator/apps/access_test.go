package apps_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/gen-gitops/gen/generator"
	"github.com/gen-gitops/gen/generator/access"
	"github.com/gen-gitops/gen/generator/apps"
	"github.com/gen-gitops/gen/generator/internal/gentest"
	"github.com/gen-gitops/gen/internal/testutil"
)

func TestChuteCRDIsStructural(t *testing.T) {
	gentest.LoadCRD(t, "Chute")
	cfg := gentest.LoadCRD(t, "ChuteConfig")
	ok := []byte(`apiVersion: chutes.troubleshat.com/v1alpha1
kind: ChuteConfig
metadata:
  name: home
spec:
  accountID: 0123456789abcdef0123456789abcdef
  teamName: home
  apiTokenSecretRef: {name: chutes, namespace: network, key: api-token}
`)
	if p := cfg.Validate(t, ok); len(p) > 0 {
		t.Fatalf("a valid ChuteConfig is refused: %v", p)
	}
	bad := []byte(strings.Replace(string(ok), "0123456789abcdef0123456789abcdef", "acct", 1))
	if p := cfg.Validate(t, bad); len(p) == 0 {
		t.Fatal("a bad accountID is accepted")
	}
}

// TestChuteTypeAgreesWithCRD: the Go type's Validate and the CRD accept
// and refuse the same objects.
func TestChuteTypeAgreesWithCRD(t *testing.T) {
	crd := gentest.LoadCRD(t, "Chute")
	base := `apiVersion: chutes.troubleshat.com/v1alpha1
kind: Chute
metadata:
  name: notes
spec:
  configRef:
    name: home
  service:
    name: notes
    port: 8080
  hostname: notes.example.org
  access:
    emails: [me@example.org]
`
	cases := []struct {
		name, from, to string
		ok             bool
	}{
		{"valid", "", "", true},
		{"domains only", "    emails: [me@example.org]", "    emailDomains: [example.org]", true},
		{"both lists", "    emails: [me@example.org]", "    emails: [me@example.org]\n    emailDomains: [family.example.org]", true},
		{"https and a session", "    port: 8080", "    port: 8080\n    scheme: https\n  sessionDuration: 12h", true},
		{"no access list", "    emails: [me@example.org]", "    {}", false},
		{"empty emails", "    emails: [me@example.org]", "    emails: []", false},
		{"email that does not parse", "me@example.org", "me@", false},
		{"email domain with a wildcard", "    emails: [me@example.org]", "    emailDomains: ['*.example.org']", false},
		{"hostname with a variable", "notes.example.org", "notes.${SECRET_DOMAIN}", false},
		{"uppercase hostname", "notes.example.org", "Notes.example.org", false},
		{"port out of range", "port: 8080", "port: 70000", false},
		{"port zero", "port: 8080", "port: 0", false},
		{"unknown scheme", "    port: 8080", "    port: 8080\n    scheme: grpc", false},
		{"bad session", "  access:", "  sessionDuration: 1d\n  access:", false},
		{"no service name", "    name: notes\n    port", "    port", false},
		{"no config", "  configRef:\n    name: home\n", "", false},
		{"misspelt field", "  hostname:", "  hostName: x.example.org\n  hostname:", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc := base
			if c.from != "" || c.to != "" {
				if !strings.Contains(doc, c.from) {
					t.Fatalf("case does not apply: %q", c.from)
				}
				doc = strings.Replace(doc, c.from, c.to, 1)
			}
			crdProblems := crd.Validate(t, []byte(doc))
			_, goErr := access.DecodeChute([]byte(doc))
			if (len(crdProblems) == 0) != c.ok {
				t.Errorf("CRD: ok=%v, problems %v", len(crdProblems) == 0, crdProblems)
			}
			if (goErr == nil) != c.ok {
				t.Errorf("Go type: ok=%v, %v", goErr == nil, goErr)
			}
		})
	}
}

func TestExposeAccessGolden(t *testing.T) {
	crd := gentest.LoadCRD(t, "Chute")
	cases := []struct {
		name string
		dir  func(t *testing.T) string
		opts apps.AddOptions
	}{
		{"app-template-config-in-repo", gentest.ChuteRepo, apps.AddOptions{
			Namespace: "default", Name: "notes", Mode: apps.ModeAppTemplate, Image: "ghcr.io/example/notes:1.4", Port: 8080,
			Hosts: []string{"notes"}, Expose: generator.ExposeAccess,
			Access: access.Options{Emails: []string{"Me@Example.org", "ann@example.net", "me@example.org"}, EmailDomains: []string{"family.example.org"}},
		}},
		{"raw-named-config", func(t *testing.T) string { return testutil.ExampleRepo(t) }, apps.AddOptions{
			Namespace: "tools", Name: "admin", Mode: apps.ModeRaw, Image: "ghcr.io/example/admin:2.0", Port: 9000,
			Hosts: []string{"admin.example.org"}, Expose: generator.ExposeAccess,
			Access: access.Options{EmailDomains: []string{"example.org"}, Config: "lab"},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := gentest.LoadRepo(t, tc.dir(t))
			cs, err := apps.Add(r.Model(), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string][]byte{}
			for _, f := range cs.Files {
				got[f.Path] = f.Content
				if filepath.Base(f.Path) == "chute.yaml" {
					substituted := strings.NewReplacer("${SECRET_DOMAIN}", "example.com", "${SECRET_DOMAIN_TWO}", "example.org").Replace(string(f.Content))
					if p := crd.Validate(t, []byte(substituted)); len(p) > 0 {
						t.Fatalf("the CRD refuses %s: %v\n%s", f.Path, p, substituted)
					}
					if _, err := access.DecodeChute([]byte(substituted)); err != nil {
						t.Fatal(err)
					}
					continue
				}
				if strings.Contains(string(f.Content), "kind: HTTPRoute") || strings.Contains(string(f.Content), "kind: DNSEndpoint") || strings.Contains(string(f.Content), "route:") {
					t.Fatalf("%s: the chute operator publishes the name; gen must not route it", f.Path)
				}
				if strings.HasSuffix(f.Path, ".yaml") {
					gentest.AssertStrict(t, f.Path, f.Content)
				}
			}
			testutil.GoldenTree(t, filepath.Join("testdata", "access", tc.name), got)
		})
	}
}

func TestExposeAccessRefusals(t *testing.T) {
	base := apps.AddOptions{Namespace: "default", Name: "notes", Mode: apps.ModeRaw, Image: "nginx:1.27", Hosts: []string{"notes"},
		Expose: generator.ExposeAccess, Access: access.Options{Emails: []string{"me@example.org"}}}
	twoConfigs := gentest.ChuteRepo(t)
	mustWrite(t, filepath.Join(twoConfigs, "kubernetes/apps/network/chutes/app/chuteconfig.yaml"), `---
apiVersion: chutes.troubleshat.com/v1alpha1
kind: ChuteConfig
metadata:
  name: home
spec: {accountID: 0123456789abcdef0123456789abcdef, teamName: home, apiTokenSecretRef: {name: a, namespace: b, key: c}}
---
apiVersion: chutes.troubleshat.com/v1alpha1
kind: ChuteConfig
metadata:
  name: work
spec: {accountID: 0123456789abcdef0123456789abcdef, teamName: work, apiTokenSecretRef: {name: a, namespace: b, key: c}}
`)
	for _, c := range []struct {
		dir  string
		edit func(o *apps.AddOptions)
		want string
	}{
		{"", func(o *apps.AddOptions) { o.Access.Emails = []string{"me@"} }, `--allow-email "me@" is not an email address`},
		{"", func(o *apps.AddOptions) { o.Access.Emails = []string{"Me <me@example.org>"} }, "is not an email address"},
		{"", func(o *apps.AddOptions) { o.Access.Emails = nil }, "needs --allow-email or --allow-domain"},
		{"", func(o *apps.AddOptions) {
			o.Access = access.Options{EmailDomains: []string{"*.example.org"}}
		}, "give the domain itself"},
		{"", func(o *apps.AddOptions) { o.Hosts = []string{"a", "b"} }, "takes one --host"},
		{"", func(o *apps.AddOptions) { o.Access.Config = "Bad_Name" }, "--chute-config \"Bad_Name\" is not a valid name"},
		{"", func(o *apps.AddOptions) { o.Expose = generator.ExposeTunnel }, "go with --expose access"},
		{"", nil, "declares no ChuteConfig"},
		{twoConfigs, nil, "declares 2 ChuteConfigs (home, work); choose one with --chute-config"},
		{twoConfigs, func(o *apps.AddOptions) { o.Access.Config = "lab" }, "no ChuteConfig of that name in the repository (have: home, work)"},
	} {
		o := base
		o.Access.Emails = append([]string(nil), base.Access.Emails...)
		if c.edit != nil {
			c.edit(&o)
		}
		dir := c.dir
		if dir == "" {
			dir = testutil.ExampleRepo(t)
		}
		_, err := apps.Add(gentest.LoadRepo(t, dir).Model(), o)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want an error containing %q", err, c.want)
		}
	}
}
