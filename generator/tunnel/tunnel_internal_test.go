package tunnel

import (
	"strings"
	"testing"

	"github.com/gen-gitops/gen/generator/internal/yamledit"
)

func TestIngressRules(t *testing.T) {
	const stock = `---
originRequest:
  originServerName: "external.${SECRET_DOMAIN}"
ingress:
  - hostname: "*.${SECRET_DOMAIN}"
    service: &svc https://envoy-external.network.svc.cluster.local
  # the catch-all
  - service: http_status:404
`
	out, err := AddDomainRules([]byte(stock), "SECRET_DOMAIN_TWO", "test")
	if err != nil {
		t.Fatal(err)
	}
	want := `---
originRequest:
  originServerName: "external.${SECRET_DOMAIN}"
ingress:
  - hostname: "*.${SECRET_DOMAIN}"
    service: &svc https://envoy-external.network.svc.cluster.local
  - hostname: "${SECRET_DOMAIN_TWO}"
    service: *svc
  - hostname: "*.${SECRET_DOMAIN_TWO}"
    service: *svc
  # the catch-all
  - service: http_status:404
`
	if string(out) != want {
		t.Fatalf("got:\n%s\nwant:\n%s", out, want)
	}
	again, err := AddDomainRules(out, "SECRET_DOMAIN_TWO", "test")
	if err != nil || string(again) != string(out) {
		t.Fatalf("rerun changed the config: %v\n%s", err, again)
	}
	back, err := RemoveDomainRules(out, "SECRET_DOMAIN_TWO", "test")
	if err != nil || string(back) != stock {
		t.Fatalf("remove: %v\n%s", err, back)
	}

	// An anchor whose value names the domain is dropped in the copy, and an
	// apex-only repository gets its wildcard from the apex rule.
	const apexOnly = `ingress:
  - hostname: ${SECRET_DOMAIN}
    originRequest:
      originServerName: &osn external.${SECRET_DOMAIN}
    service: https://envoy
  - service: http_status:404
`
	out, err = AddDomainRules([]byte(apexOnly), "SECRET_DOMAIN_TWO", "test")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "  - hostname: \"*.${SECRET_DOMAIN_TWO}\"\n    originRequest:\n      originServerName: external.${SECRET_DOMAIN_TWO}\n") ||
		!strings.Contains(string(out), "  - hostname: ${SECRET_DOMAIN_TWO}\n") {
		t.Fatalf("got:\n%s", out)
	}

	// Rules kept wildcard first get their copies in that order.
	const wildFirst = `ingress:
  - hostname: '*.${SECRET_DOMAIN}'
    service: https://envoy
  - hostname: '${SECRET_DOMAIN}'
    service: https://envoy
  - service: http_status:404
`
	out, err = AddDomainRules([]byte(wildFirst), "SECRET_DOMAIN_TWO", "test")
	if err != nil {
		t.Fatal(err)
	}
	if want := "  - hostname: '*.${SECRET_DOMAIN_TWO}'\n    service: https://envoy\n  - hostname: '${SECRET_DOMAIN_TWO}'\n    service: https://envoy\n  - service: http_status:404\n"; !strings.HasSuffix(string(out), want) {
		t.Fatalf("got:\n%s", out)
	}

	for name, bad := range map[string]string{
		"no catch-all":    "ingress:\n  - hostname: \"*.${SECRET_DOMAIN}\"\n    service: x\n",
		"catch-all first": "ingress:\n  - service: http_status:404\n  - hostname: \"*.${SECRET_DOMAIN}\"\n    service: x\n",
		"flow list":       "ingress: [{hostname: \"*.${SECRET_DOMAIN}\", service: x}, {service: http_status:404}]\n",
		"no domain rule":  "ingress:\n  - hostname: example.com\n    service: x\n  - service: http_status:404\n",
		"not yaml":        "ingress:\n  - service: [\n",
	} {
		if _, err := AddDomainRules([]byte(bad), "SECRET_DOMAIN_TWO", "the config"); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestReplaceBlockScalar(t *testing.T) {
	data := []byte("a:\n  cfg: |-\n    one: 1\n\n    two: 2\n  next: x\n")
	docs, err := yamledit.ParseStream(data)
	if err != nil {
		t.Fatal(err)
	}
	n := yamledit.NodeAt(docs[0], "a", "cfg")
	out, err := replaceBlockScalar(data, n, "one: 1\n\ntwo: 2\nthree: 3\n")
	if err != nil {
		t.Fatal(err)
	}
	if want := "a:\n  cfg: |-\n    one: 1\n\n    two: 2\n    three: 3\n  next: x\n"; string(out) != want {
		t.Fatalf("got:\n%s\nwant:\n%s", out, want)
	}
	folded := []byte("cfg: >\n  a\n")
	docs, _ = yamledit.ParseStream(folded)
	if _, err := replaceBlockScalar(folded, yamledit.MapGet(docs[0], "cfg"), "b\n"); err == nil {
		t.Fatal("a folded block was edited")
	}
}
