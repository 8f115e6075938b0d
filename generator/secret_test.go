package generator_test

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gen-gitops/gen/generator"
	"github.com/gen-gitops/gen/internal/testutil"
)

func TestSetSecretGolden(t *testing.T) {
	cases := []struct {
		name string
		opts generator.SecretSetOptions
	}{
		{"tunnel-token", generator.SecretSetOptions{Target: "network/cloudflare-tunnel",
			Values: []generator.KV{{Key: "TUNNEL_TOKEN", Value: "eyJhIjoidGVzdCJ9"}}}},
		{"new-app-secret", generator.SecretSetOptions{Target: "default/echo",
			Values: []generator.KV{{Key: "API_KEY", Value: "k-123"}, {Key: "MODE", Value: "prod"}}}},
		{"new-file-by-path", generator.SecretSetOptions{Target: "kubernetes/apps/default/whoami/app/db.sops.yaml",
			Values: []generator.KV{{Key: "PASSWORD", Value: "multi\nline"}}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := exampleFixture(t)
			tc.opts.Store = f.store(t)
			cs, err := generator.SetSecret(f.r, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string][]byte{}
			for _, fc := range cs.Files {
				got[fc.Path] = fc.Content
				if !fc.Sensitive {
					continue
				}
				for _, kv := range tc.opts.Values {
					if bytes.Contains(fc.Content, []byte(kv.Value)) {
						t.Fatalf("%s holds the plaintext of %s", fc.Path, kv.Key)
					}
				}
				// The sops CLI reads what gen wrote.
				values := sopsDecrypt(t, f.keyFile, fc.Path, fc.Content)
				for _, kv := range tc.opts.Values {
					if values[kv.Key] != kv.Value {
						t.Fatalf("sops --decrypt: %s = %q, want %q", kv.Key, values[kv.Key], kv.Value)
					}
				}
				got[fc.Path] = decryptedView(t, f, fc.Content)
			}
			testutil.GoldenTree(t, filepath.Join("testdata", "secret", tc.name), got)

			// The same values again change nothing.
			r2 := withFiles(t, f, overlay(f.r.Files, cs)).r
			tc.opts.Store = newTestStore(t, r2, f.ids)
			again, err := generator.SetSecret(r2, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(again.Files) != 0 {
				t.Fatalf("a rerun changes %v", again.Paths())
			}
		})
	}
}

func TestSetSecretKeepsOtherCiphertext(t *testing.T) {
	f := exampleFixture(t)
	cs, err := generator.SetSecret(f.r, generator.SecretSetOptions{Target: secretsFile,
		Values: []generator.KV{{Key: "TIMEZONE", Value: "Europe/Berlin"}}, Store: f.store(t)})
	if err != nil {
		t.Fatal(err)
	}
	if got := cs.Paths(); len(got) != 1 || got[0] != secretsFile {
		t.Fatalf("changed %v, want only %s", got, secretsFile)
	}
	for _, k := range []string{"SECRET_DOMAIN", "SECRET_DOMAIN_TWO", "CLUSTER_NAME"} {
		if !bytes.Contains(cs.Files[0].Content, []byte(encryptedLine(f.r.Files[secretsFile], k))) {
			t.Errorf("the ciphertext of %s changed", k)
		}
	}
	values := sopsDecrypt(t, f.keyFile, secretsFile, cs.Files[0].Content)
	if values["TIMEZONE"] != "Europe/Berlin" || values["SECRET_DOMAIN"] != "example.com" {
		t.Fatalf("sops --decrypt gives %v", values)
	}
}

func TestSetSecretBadInput(t *testing.T) {
	ex := exampleFixture(t)
	plainSecret := []byte("apiVersion: v1\nkind: Secret\nmetadata:\n  name: leak\nstringData:\n  A: b\n")
	second := withFiles(t, ex, map[string][]byte{
		"kubernetes/apps/network/cloudflare-tunnel/app/other.sops.yaml": ex.r.Files["kubernetes/apps/network/cloudflare-dns/app/secret.sops.yaml"],
	})
	leak := withFiles(t, ex, map[string][]byte{"kubernetes/apps/default/echo/app/leak.sops.yaml": plainSecret})
	noRule := withFiles(t, ex, replaceIn(t, ex, ".sops.yaml", `kubernetes/.*\.sops\.ya?ml`, `talos/.*\.sops\.ya?ml`))
	cases := []struct {
		name string
		f    fixture
		opts generator.SecretSetOptions
		want string
	}{
		{"unknown app", ex, generator.SecretSetOptions{Target: "default/nope", Values: []generator.KV{{Key: "A", Value: "b"}}}, "no app default/nope"},
		{"bad key", ex, generator.SecretSetOptions{Target: "default/echo", Values: []generator.KV{{Key: "A B", Value: "b"}}}, "not a valid Secret key"},
		{"key twice", ex, generator.SecretSetOptions{Target: "default/echo", Values: []generator.KV{{Key: "A", Value: "b"}, {Key: "A", Value: "c"}}}, "A is given twice"},
		{"no values", ex, generator.SecretSetOptions{Target: "default/echo"}, "no KEY=VALUE"},
		{"not a sops path", ex, generator.SecretSetOptions{Target: "kubernetes/apps/default/echo/app/secret.yaml", Values: []generator.KV{{Key: "A", Value: "b"}}}, "named *.sops.yaml"},
		{"outside the repository", ex, generator.SecretSetOptions{Target: "../x.sops.yaml", Values: []generator.KV{{Key: "A", Value: "b"}}}, "escapes the repository"},
		{"plaintext file", leak, generator.SecretSetOptions{Target: "kubernetes/apps/default/echo/app/leak.sops.yaml", Values: []generator.KV{{Key: "A", Value: "c"}}}, "is not SOPS-encrypted"},
		{"several secrets", second, generator.SecretSetOptions{Target: "network/cloudflare-tunnel", Values: []generator.KV{{Key: "A", Value: "b"}}}, "several secrets"},
		{"name mismatch", ex, generator.SecretSetOptions{Target: "network/cloudflare-tunnel", Name: "other", Values: []generator.KV{{Key: "A", Value: "b"}}}, `not "other"`},
		{"bad name", ex, generator.SecretSetOptions{Target: "default/echo", Name: "Bad_Name", Values: []generator.KV{{Key: "A", Value: "b"}}}, "not a valid Secret name"},
		{"no matching creation rule", noRule, generator.SecretSetOptions{Target: "default/echo", Values: []generator.KV{{Key: "A", Value: "b"}}}, "add a creation_rule"},
		{"edit with no matching rule", noRule, generator.SecretSetOptions{Target: "network/cloudflare-tunnel", Values: []generator.KV{{Key: "A", Value: "b"}}}, "path_regex"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Store = tc.f.store(t)
			cs, err := generator.SetSecret(tc.f.r, tc.opts)
			if err == nil {
				t.Fatalf("no error; the change would write %v", cs.Paths())
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not contain %q", err, tc.want)
			}
			for _, kv := range tc.opts.Values {
				if kv.Value != "" && strings.Contains(err.Error(), kv.Value+"\"") {
					t.Fatalf("the error shows the value of %s", kv.Key)
				}
			}
		})
	}
}

func TestResolveSecret(t *testing.T) {
	ex := exampleFixture(t)
	sf, err := generator.ResolveSecret(ex.r, "network/cloudflare-tunnel", "")
	if err != nil {
		t.Fatal(err)
	}
	want := generator.SecretFile{Path: "kubernetes/apps/network/cloudflare-tunnel/app/secret.sops.yaml", Exists: true,
		Name: "cloudflare-tunnel-secret", Kustomization: "kubernetes/apps/network/cloudflare-tunnel/app/kustomization.yaml"}
	if sf != want {
		t.Fatalf("got %+v, want %+v", sf, want)
	}
	sf, err = generator.ResolveSecret(ex.r, "default/echo", "")
	if err != nil || sf.Exists || sf.Name != "echo-secret" || sf.Path != "kubernetes/apps/default/echo/app/secret.sops.yaml" {
		t.Fatalf("got %+v, %v", sf, err)
	}
}

// BenchmarkSetSecret times `gen secret set`'s work in process: editing the
// tunnel token in place (decrypt, set, re-encrypt, MAC) and writing a new
// encrypted Secret with its registration.
func BenchmarkSetSecret(b *testing.B) {
	f := exampleFixture(b)
	store := f.store(b)
	b.Run("edit", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			_, err := generator.SetSecret(f.r, generator.SecretSetOptions{Target: "network/cloudflare-tunnel",
				Values: []generator.KV{{Key: "TUNNEL_TOKEN", Value: strings.Repeat("x", i%7+1)}}, Store: store})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("new", func(b *testing.B) {
		for b.Loop() {
			_, err := generator.SetSecret(f.r, generator.SecretSetOptions{Target: "default/echo",
				Values: []generator.KV{{Key: "API_KEY", Value: "k-123"}}, Store: store})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkOnboardDomain times the seven-file change on the example
// repository in process: decrypting cluster-secrets, every located edit and
// its verification, and the SOPS edit.
func BenchmarkOnboardDomain(b *testing.B) {
	f := exampleFixture(b)
	store := f.store(b)
	for b.Loop() {
		if _, err := generator.OnboardDomain(f.r, generator.OnboardDomainOptions{Domain: "example.net", Store: store}); err != nil {
			b.Fatal(err)
		}
	}
}
