package domains_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/gen-gitops/gen/generator/domains"
	"github.com/gen-gitops/gen/generator/internal/gentest"
	"github.com/gen-gitops/gen/internal/repo"
)

// TestOnboardDomainWithNothingToCopy: with no Certificate and no tunnel
// record on a domain variable to copy, onboarding writes them from scratch
// (a certificate.yaml beside the gateways, listed in its kustomization),
// and offboarding removes exactly that again.
func TestOnboardDomainWithNothingToCopy(t *testing.T) {
	ex := gentest.ExampleFixture(t)
	const (
		certs = "kubernetes/apps/network/envoy-gateway/app/certificate.yaml"
		kfile = "kubernetes/apps/network/envoy-gateway/app/kustomization.yaml"
		dns   = "kubernetes/apps/network/cloudflare-tunnel/app/dnsendpoint.yaml"
	)
	literal := bytes.ReplaceAll(ex.Repo.Files[dns], []byte("external.${SECRET_DOMAIN}"), []byte("external.example.com"))
	literal = bytes.ReplaceAll(literal, []byte("external.${SECRET_DOMAIN_TWO}"), []byte("external.example.org"))
	f := gentest.WithFiles(t, ex, map[string][]byte{
		certs: nil,
		kfile: bytes.Replace(ex.Repo.Files[kfile], []byte("  - ./certificate.yaml\n"), nil, 1),
		dns:   literal,
	})
	cs, err := domains.Onboard(f.Repo.Model(), domains.OnboardOptions{Domain: "example.net", Store: f.Store(t)})
	if err != nil {
		t.Fatal(err)
	}
	if len(cs.Files) != 8 {
		t.Fatalf("changed %v, want the seven files and the kustomization", cs.Paths())
	}
	want := `---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata:
  name: "${SECRET_DOMAIN_THREE/./-}-production"
spec:
  dnsNames:
    - "${SECRET_DOMAIN_THREE}"
    - "*.${SECRET_DOMAIN_THREE}"
  issuerRef:
    kind: ClusterIssuer
    name: letsencrypt-production
  secretName: "${SECRET_DOMAIN_THREE/./-}-production-tls"
`
	if got := string(fileIn(t, cs, certs)); got != want {
		t.Fatalf("certificate.yaml:\n%s\nwant:\n%s", got, want)
	}
	if !strings.Contains(string(fileIn(t, cs, kfile)), "  - ./certificate.yaml\n") {
		t.Fatal("certificate.yaml is not listed in the kustomization")
	}
	wantDNS := `    - dnsName: "external.${SECRET_DOMAIN_THREE}"
      recordType: CNAME
      targets:
        - "7b56e8fd-0abc-4e14-9447-5d848c2394b7.cfargotunnel.com"
`
	if got := string(fileIn(t, cs, dns)); !strings.HasSuffix(got, wantDNS) {
		t.Fatalf("dnsendpoint.yaml:\n%s", got)
	}
	after := gentest.Overlay(f.Repo.Files, cs)
	checkFluxBuilds(t, f.Repo, after, cs.Paths(), "SECRET_DOMAIN_THREE")

	r2, err := repo.FromFiles(after, repo.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	off, err := domains.Offboard(r2.Model(), domains.OffboardOptions{Domain: "example.net", Store: gentest.NewStore(t, r2, f.IDs)})
	if err != nil {
		t.Fatal(err)
	}
	restored := gentest.Overlay(after, off)
	if _, ok := restored[certs]; ok {
		t.Fatal("certificate.yaml, left empty, was not deleted")
	}
	for _, p := range []string{kfile, dns, "kubernetes/apps/network/envoy-gateway/app/envoy.yaml"} {
		if !bytes.Equal(restored[p], f.Repo.Files[p]) {
			t.Errorf("%s is not restored:\n%s", p, restored[p])
		}
	}
}
