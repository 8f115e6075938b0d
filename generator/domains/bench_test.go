package domains_test

import (
	"testing"

	"github.com/gen-gitops/gen/generator/domains"
	"github.com/gen-gitops/gen/generator/internal/gentest"
)

// BenchmarkOnboardDomain times the seven-file change on the example
// repository in process: decrypting cluster-secrets, every located edit and
// its verification, and the SOPS edit.
func BenchmarkOnboardDomain(b *testing.B) {
	f := gentest.ExampleFixture(b)
	store := f.Store(b)
	r := f.Model()
	for b.Loop() {
		if _, err := domains.Onboard(r, domains.OnboardOptions{Domain: "example.net", Store: store}); err != nil {
			b.Fatal(err)
		}
	}
}
