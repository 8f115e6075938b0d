package generator_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	apiextensions "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	"k8s.io/kube-openapi/pkg/validation/spec"
	"k8s.io/kube-openapi/pkg/validation/strfmt"
	"k8s.io/kube-openapi/pkg/validation/validate"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/gen-gitops/gen/generator"
	"github.com/gen-gitops/gen/internal/testutil"
)

// crdValidator checks objects against one version of a CRD the way the API
// server's structural schema does: unknown fields (pruning), then types,
// required fields, enums, patterns, formats and bounds.
type crdValidator struct {
	structural *structuralschema.Structural
	schema     *spec.Schema
}

func loadCRD(t *testing.T, kind string) *crdValidator {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testutil.ModuleRoot(t), "examples", "crds", "chute.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range strings.Split(string(data), "\n---\n") {
		var crd apiextensionsv1.CustomResourceDefinition
		if err := sigsyaml.UnmarshalStrict([]byte(doc), &crd); err != nil {
			t.Fatalf("examples/crds/chute.yaml does not decode as a CRD: %v", err)
		}
		if crd.Spec.Names.Kind != kind {
			continue
		}
		if crd.Spec.Group != generator.ChuteGroup || crd.Name != crd.Spec.Names.Plural+"."+crd.Spec.Group {
			t.Fatalf("CRD %s: group %s", crd.Name, crd.Spec.Group)
		}
		v1 := crd.Spec.Versions[0].Schema.OpenAPIV3Schema
		var internal apiextensions.JSONSchemaProps
		if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(v1, &internal, nil); err != nil {
			t.Fatal(err)
		}
		s, err := structuralschema.NewStructural(&internal)
		if err != nil {
			t.Fatalf("%s: not a structural schema: %v", kind, err)
		}
		if errs := structuralschema.ValidateStructural(nil, s); len(errs) > 0 {
			t.Fatalf("%s: not a structural schema: %v", kind, errs.ToAggregate())
		}
		raw, err := json.Marshal(v1)
		if err != nil {
			t.Fatal(err)
		}
		var sp spec.Schema
		if err := json.Unmarshal(raw, &sp); err != nil {
			t.Fatal(err)
		}
		return &crdValidator{structural: s, schema: &sp}
	}
	t.Fatalf("examples/crds/chute.yaml has no CRD for %s", kind)
	return nil
}

// validate returns the problems the CRD finds in a YAML object (none when
// it would be accepted).
func (v *crdValidator) validate(t *testing.T, doc []byte) []string {
	t.Helper()
	var obj map[string]any
	if err := sigsyaml.Unmarshal(doc, &obj); err != nil {
		t.Fatal(err)
	}
	var problems []string
	pruned := pruning.PruneWithOptions(obj, v.structural, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true})
	for _, p := range pruned {
		problems = append(problems, "unknown field "+p)
	}
	res := validate.NewSchemaValidator(v.schema, nil, "", strfmt.Default).Validate(obj)
	for _, e := range res.Errors {
		problems = append(problems, e.Error())
	}
	return problems
}

func TestChuteCRDIsStructural(t *testing.T) {
	loadCRD(t, "Chute")
	cfg := loadCRD(t, "ChuteConfig")
	ok := []byte(`apiVersion: chutes.troubleshat.com/v1alpha1
kind: ChuteConfig
metadata:
  name: home
spec:
  accountID: 0123456789abcdef0123456789abcdef
  teamName: home
  apiTokenSecretRef: {name: chutes, namespace: network, key: api-token}
`)
	if p := cfg.validate(t, ok); len(p) > 0 {
		t.Fatalf("a valid ChuteConfig is refused: %v", p)
	}
	bad := []byte(strings.Replace(string(ok), "0123456789abcdef0123456789abcdef", "acct", 1))
	if p := cfg.validate(t, bad); len(p) == 0 {
		t.Fatal("a bad accountID is accepted")
	}
}

// TestChuteTypeAgreesWithCRD: the Go type's Validate and the CRD accept
// and refuse the same objects.
func TestChuteTypeAgreesWithCRD(t *testing.T) {
	crd := loadCRD(t, "Chute")
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
			crdProblems := crd.validate(t, []byte(doc))
			_, goErr := generator.DecodeChute([]byte(doc))
			if (len(crdProblems) == 0) != c.ok {
				t.Errorf("CRD: ok=%v, problems %v", len(crdProblems) == 0, crdProblems)
			}
			if (goErr == nil) != c.ok {
				t.Errorf("Go type: ok=%v, %v", goErr == nil, goErr)
			}
		})
	}
}

// chuteRepo is the example repository with a chute operator app whose
// folder declares the ChuteConfig home.
func chuteRepo(t *testing.T) string {
	t.Helper()
	dir := testutil.CopyTree(t, testutil.ExampleRepo(t))
	app := filepath.Join(dir, "kubernetes/apps/network/chutes")
	mustWrite(t, filepath.Join(app, "ks.yaml"), `---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: chutes
  namespace: flux-system
spec:
  interval: 1h
  path: ./kubernetes/apps/network/chutes/app
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
    namespace: flux-system
  targetNamespace: network
`)
	mustWrite(t, filepath.Join(app, "app/kustomization.yaml"), "---\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ./chuteconfig.yaml\n")
	mustWrite(t, filepath.Join(app, "app/chuteconfig.yaml"), `---
apiVersion: chutes.troubleshat.com/v1alpha1
kind: ChuteConfig
metadata:
  name: home
spec:
  accountID: 0123456789abcdef0123456789abcdef
  teamName: home
  apiTokenSecretRef:
    name: chutes
    namespace: network
    key: api-token
`)
	nk := filepath.Join(dir, "kubernetes/apps/network/kustomization.yaml")
	data, err := os.ReadFile(nk)
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, nk, strings.Replace(string(data), "  - ./cloudflare-dns/ks.yaml\n", "  - ./chutes/ks.yaml\n  - ./cloudflare-dns/ks.yaml\n", 1))
	return dir
}

func TestExposeAccessGolden(t *testing.T) {
	crd := loadCRD(t, "Chute")
	cases := []struct {
		name string
		dir  func(t *testing.T) string
		opts generator.AddAppOptions
	}{
		{"app-template-config-in-repo", chuteRepo, generator.AddAppOptions{
			Namespace: "default", Name: "notes", Mode: generator.ModeAppTemplate, Image: "ghcr.io/example/notes:1.4", Port: 8080,
			Hosts: []string{"notes"}, Expose: generator.ExposeAccess,
			Access: generator.AccessOptions{Emails: []string{"Me@Example.org", "ann@example.net", "me@example.org"}, EmailDomains: []string{"family.example.org"}},
		}},
		{"raw-named-config", func(t *testing.T) string { return testutil.ExampleRepo(t) }, generator.AddAppOptions{
			Namespace: "tools", Name: "admin", Mode: generator.ModeRaw, Image: "ghcr.io/example/admin:2.0", Port: 9000,
			Hosts: []string{"admin.example.org"}, Expose: generator.ExposeAccess,
			Access: generator.AccessOptions{EmailDomains: []string{"example.org"}, Config: "lab"},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := loadRepo(t, tc.dir(t))
			cs, err := generator.AddApp(r, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string][]byte{}
			for _, f := range cs.Files {
				got[f.Path] = f.Content
				if filepath.Base(f.Path) == "chute.yaml" {
					substituted := strings.NewReplacer("${SECRET_DOMAIN}", "example.com", "${SECRET_DOMAIN_TWO}", "example.org").Replace(string(f.Content))
					if p := crd.validate(t, []byte(substituted)); len(p) > 0 {
						t.Fatalf("the CRD refuses %s: %v\n%s", f.Path, p, substituted)
					}
					if _, err := generator.DecodeChute([]byte(substituted)); err != nil {
						t.Fatal(err)
					}
					continue
				}
				if strings.Contains(string(f.Content), "kind: HTTPRoute") || strings.Contains(string(f.Content), "kind: DNSEndpoint") || strings.Contains(string(f.Content), "route:") {
					t.Fatalf("%s: the chute operator publishes the name; gen must not route it", f.Path)
				}
				if strings.HasSuffix(f.Path, ".yaml") {
					assertStrict(t, f.Path, f.Content)
				}
			}
			testutil.GoldenTree(t, filepath.Join("testdata", "access", tc.name), got)
		})
	}
}

func TestExposeAccessRefusals(t *testing.T) {
	base := generator.AddAppOptions{Namespace: "default", Name: "notes", Mode: generator.ModeRaw, Image: "nginx:1.27", Hosts: []string{"notes"},
		Expose: generator.ExposeAccess, Access: generator.AccessOptions{Emails: []string{"me@example.org"}}}
	twoConfigs := chuteRepo(t)
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
		edit func(o *generator.AddAppOptions)
		want string
	}{
		{"", func(o *generator.AddAppOptions) { o.Access.Emails = []string{"me@"} }, `--allow-email "me@" is not an email address`},
		{"", func(o *generator.AddAppOptions) { o.Access.Emails = []string{"Me <me@example.org>"} }, "is not an email address"},
		{"", func(o *generator.AddAppOptions) { o.Access.Emails = nil }, "needs --allow-email or --allow-domain"},
		{"", func(o *generator.AddAppOptions) {
			o.Access = generator.AccessOptions{EmailDomains: []string{"*.example.org"}}
		}, "give the domain itself"},
		{"", func(o *generator.AddAppOptions) { o.Hosts = []string{"a", "b"} }, "takes one --host"},
		{"", func(o *generator.AddAppOptions) { o.Access.Config = "Bad_Name" }, "--chute-config \"Bad_Name\" is not a valid name"},
		{"", func(o *generator.AddAppOptions) { o.Expose = generator.ExposeTunnel }, "go with --expose access"},
		{"", nil, "declares no ChuteConfig"},
		{twoConfigs, nil, "declares 2 ChuteConfigs (home, work); choose one with --chute-config"},
		{twoConfigs, func(o *generator.AddAppOptions) { o.Access.Config = "lab" }, "no ChuteConfig of that name in the repository (have: home, work)"},
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
		_, err := generator.AddApp(loadRepo(t, dir), o)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want an error containing %q", err, c.want)
		}
	}
}
