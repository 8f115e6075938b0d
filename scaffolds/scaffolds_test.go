package scaffolds_test

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/gen-gitops/gen/internal/repo"
	"github.com/gen-gitops/gen/internal/schema"
	"github.com/gen-gitops/gen/scaffolds"
)

func valuesNode(t *testing.T, s string) *yaml.Node {
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(s), &n); err != nil {
		t.Fatal(err)
	}
	return n.Content[0]
}

// TestEveryTemplateRenders renders each embedded template with sample data
// and decodes the result strictly into its API type, so no template can
// emit a field the API does not know. A template without a sample here
// fails the test.
func TestEveryTemplateRenders(t *testing.T) {
	samples := map[string]any{
		"ks.yaml": map[string]any{
			"SchemaHeaders": true, "Name": "demo", "KSNamespace": "flux-system", "Path": "kubernetes/apps/default/demo/app",
			"SubstituteFrom": "cluster-secrets", "Namespace": "default",
			"SourceRef": map[string]string{"Kind": "GitRepository", "Name": "flux-system", "Namespace": "flux-system"},
			"DependsOn": []map[string]string{{"Name": "envoy-gateway", "Namespace": "network"}},
		},
		"app-kustomization.yaml":       map[string]any{"SchemaHeaders": true, "Resources": []string{"helmrelease.yaml", "ocirepository.yaml"}},
		"namespace-kustomization.yaml": map[string]any{"SchemaHeaders": false, "Name": "media", "Components": []string{"../../components/sops"}, "Apps": []string{"demo"}},
		"ocirepository.yaml":           map[string]any{"SchemaHeaders": true, "Name": "demo", "URL": "oci://ghcr.io/bjw-s-labs/helm/app-template", "Version": "4.6.2"},
		"helmrepository.yaml":          map[string]any{"SchemaHeaders": true, "Name": "demo", "URL": "https://charts.example.com"},
		"helmrelease.yaml": map[string]any{"SchemaHeaders": true, "Name": "demo", "ChartSpec": nil,
			"Values": valuesNode(t, "controllers:\n  demo:\n    containers:\n      app:\n        image:\n          repository: nginx\n          tag: \"1.27\"\n")},
		"httproute.yaml": map[string]any{"Name": "demo", "Gateway": "envoy-external", "GatewayNamespace": "network",
			"Hostnames": []string{"demo.${SECRET_DOMAIN}"}, "Service": "demo", "Port": 80},
		"dnsendpoint.yaml": map[string]any{"Name": "demo", "Endpoints": []map[string]string{{"DNSName": "demo.${SECRET_DOMAIN_TWO}", "Target": "external.${SECRET_DOMAIN_TWO}"}}},
		"namespace.yaml":   map[string]any{"Name": "media"},
		"secret.yaml":      map[string]any{"Name": "demo-secret", "StringData": valuesNode(t, "TOKEN: x\n")},
		"deployment.yaml": map[string]any{"Name": "demo", "Spec": valuesNode(t,
			"selector:\n  matchLabels:\n    app: demo\ntemplate:\n  metadata:\n    labels:\n      app: demo\n  spec:\n    containers:\n      - name: demo\n        image: nginx\n")},
		"service.yaml": map[string]any{"Name": "demo", "Port": 80, "TargetPort": "http"},
		"scratch.yaml": map[string]any{"Namespace": "scratch", "Name": "demo", "Image": "ghcr.io/traefik/whoami:v1.11.0", "Port": 80,
			"Hosts": []string{"demo.example.org"}, "Gateway": "envoy-external", "GatewayNamespace": "network",
			"Endpoints": []map[string]string{{"DNSName": "demo.example.org", "Target": "external.example.org"}}},
	}
	for _, name := range scaffolds.Names() {
		t.Run(name, func(t *testing.T) {
			data, ok := samples[name]
			if !ok {
				t.Fatalf("template %s has no sample data in this test", name)
			}
			out, err := scaffolds.Set{}.Render(name, data)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(out), "---\n") || !strings.HasSuffix(string(out), "\n") || strings.HasSuffix(string(out), "\n\n") {
				t.Fatalf("%s must start with --- and end with one newline:\n%s", name, out)
			}
			if strings.Contains(string(out), "\t") {
				t.Fatalf("%s has a tab", name)
			}
			// A template may render several documents (the scratch manifest).
			for _, doc := range repo.SplitDocuments(out) {
				known, err := schema.DecodeYAML(doc)
				if err != nil {
					t.Fatalf("%s: %v\n%s", name, err, out)
				}
				if !known && !strings.Contains(name, "kustomization") {
					t.Fatalf("%s renders a kind the schema package does not know", name)
				}
			}
		})
	}
}

func TestOverrideWins(t *testing.T) {
	set := scaffolds.Set{Overrides: map[string][]byte{"namespace.yaml": []byte("---\n# ours\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: {{ .Name }}\n")}}
	out, err := set.Render("namespace.yaml", map[string]any{"Name": "x"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "# ours") {
		t.Fatalf("override not used:\n%s", out)
	}
	if _, err := set.Render("nope.yaml", nil); err == nil || !strings.Contains(err.Error(), "have:") {
		t.Fatalf("unknown template: %v", err)
	}
}

func TestMissingKeyIsAnError(t *testing.T) {
	if _, err := (scaffolds.Set{}).Render("namespace.yaml", map[string]any{}); err == nil {
		t.Fatal("a template given no Name must fail, not render <no value>")
	}
}
