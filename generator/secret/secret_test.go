package secret_test

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gen-gitops/gen/generator"
	"github.com/gen-gitops/gen/generator/internal/gentest"
	"github.com/gen-gitops/gen/generator/secret"
	"github.com/gen-gitops/gen/internal/testutil"
)

// secretsFile is the example repository's cluster-secrets.
const secretsFile = "kubernetes/components/sops/cluster-secrets.sops.yaml"

func TestSetSecretGolden(t *testing.T) {
	cases := []struct {
		name string
		opts secret.SetOptions
	}{
		{"tunnel-token", secret.SetOptions{Target: "network/cloudflare-tunnel",
			Values: []generator.KV{{Key: "TUNNEL_TOKEN", Value: "eyJhIjoidGVzdCJ9"}}}},
		{"new-app-secret", secret.SetOptions{Target: "default/echo",
			Values: []generator.KV{{Key: "API_KEY", Value: "k-123"}, {Key: "MODE", Value: "prod"}}}},
		{"new-file-by-path", secret.SetOptions{Target: "kubernetes/apps/default/whoami/app/db.sops.yaml",
			Values: []generator.KV{{Key: "PASSWORD", Value: "multi\nline"}}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := gentest.ExampleFixture(t)
			tc.opts.Store = f.Store(t)
			cs, err := secret.Set(f.Repo.Model(), tc.opts)
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
				values := gentest.SopsDecrypt(t, f.KeyFile, fc.Path, fc.Content)
				for _, kv := range tc.opts.Values {
					if values[kv.Key] != kv.Value {
						t.Fatalf("sops --decrypt: %s = %q, want %q", kv.Key, values[kv.Key], kv.Value)
					}
				}
				got[fc.Path] = gentest.DecryptedView(t, f, fc.Content)
			}
			testutil.GoldenTree(t, filepath.Join("testdata", "secret", tc.name), got)

			// The same values again change nothing.
			r2 := gentest.WithFiles(t, f, gentest.Overlay(f.Repo.Files, cs)).Repo
			tc.opts.Store = gentest.NewStore(t, r2, f.IDs)
			again, err := secret.Set(r2.Model(), tc.opts)
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
	f := gentest.ExampleFixture(t)
	cs, err := secret.Set(f.Repo.Model(), secret.SetOptions{Target: secretsFile,
		Values: []generator.KV{{Key: "TIMEZONE", Value: "Europe/Berlin"}}, Store: f.Store(t)})
	if err != nil {
		t.Fatal(err)
	}
	if got := cs.Paths(); len(got) != 1 || got[0] != secretsFile {
		t.Fatalf("changed %v, want only %s", got, secretsFile)
	}
	for _, k := range []string{"SECRET_DOMAIN", "SECRET_DOMAIN_TWO", "CLUSTER_NAME"} {
		if !bytes.Contains(cs.Files[0].Content, []byte(gentest.EncryptedLine(f.Repo.Files[secretsFile], k))) {
			t.Errorf("the ciphertext of %s changed", k)
		}
	}
	values := gentest.SopsDecrypt(t, f.KeyFile, secretsFile, cs.Files[0].Content)
	if values["TIMEZONE"] != "Europe/Berlin" || values["SECRET_DOMAIN"] != "example.com" {
		t.Fatalf("sops --decrypt gives %v", values)
	}
}

func TestSetSecretBadInput(t *testing.T) {
	ex := gentest.ExampleFixture(t)
	plainSecret := []byte("apiVersion: v1\nkind: Secret\nmetadata:\n  name: leak\nstringData:\n  A: b\n")
	second := gentest.WithFiles(t, ex, map[string][]byte{
		"kubernetes/apps/network/cloudflare-tunnel/app/other.sops.yaml": ex.Repo.Files["kubernetes/apps/network/cloudflare-dns/app/secret.sops.yaml"],
	})
	leak := gentest.WithFiles(t, ex, map[string][]byte{"kubernetes/apps/default/echo/app/leak.sops.yaml": plainSecret})
	noRule := gentest.WithFiles(t, ex, gentest.ReplaceIn(t, ex, ".sops.yaml", `kubernetes/.*\.sops\.ya?ml`, `talos/.*\.sops\.ya?ml`))
	cases := []struct {
		name string
		f    gentest.Fixture
		opts secret.SetOptions
		want string
	}{
		{"unknown app", ex, secret.SetOptions{Target: "default/nope", Values: []generator.KV{{Key: "A", Value: "b"}}}, "no app default/nope"},
		{"bad key", ex, secret.SetOptions{Target: "default/echo", Values: []generator.KV{{Key: "A B", Value: "b"}}}, "not a valid Secret key"},
		{"key twice", ex, secret.SetOptions{Target: "default/echo", Values: []generator.KV{{Key: "A", Value: "b"}, {Key: "A", Value: "c"}}}, "A is given twice"},
		{"no values", ex, secret.SetOptions{Target: "default/echo"}, "no KEY=VALUE"},
		{"not a sops path", ex, secret.SetOptions{Target: "kubernetes/apps/default/echo/app/secret.yaml", Values: []generator.KV{{Key: "A", Value: "b"}}}, "named *.sops.yaml"},
		{"outside the repository", ex, secret.SetOptions{Target: "../x.sops.yaml", Values: []generator.KV{{Key: "A", Value: "b"}}}, "escapes the repository"},
		{"plaintext file", leak, secret.SetOptions{Target: "kubernetes/apps/default/echo/app/leak.sops.yaml", Values: []generator.KV{{Key: "A", Value: "c"}}}, "is not SOPS-encrypted"},
		{"several secrets", second, secret.SetOptions{Target: "network/cloudflare-tunnel", Values: []generator.KV{{Key: "A", Value: "b"}}}, "several secrets"},
		{"name mismatch", ex, secret.SetOptions{Target: "network/cloudflare-tunnel", Name: "other", Values: []generator.KV{{Key: "A", Value: "b"}}}, `not "other"`},
		{"bad name", ex, secret.SetOptions{Target: "default/echo", Name: "Bad_Name", Values: []generator.KV{{Key: "A", Value: "b"}}}, "not a valid Secret name"},
		{"no matching creation rule", noRule, secret.SetOptions{Target: "default/echo", Values: []generator.KV{{Key: "A", Value: "b"}}}, "add a creation_rule"},
		{"edit with no matching rule", noRule, secret.SetOptions{Target: "network/cloudflare-tunnel", Values: []generator.KV{{Key: "A", Value: "b"}}}, "path_regex"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Store = tc.f.Store(t)
			cs, err := secret.Set(tc.f.Repo.Model(), tc.opts)
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
	ex := gentest.ExampleFixture(t)
	sf, err := secret.Resolve(ex.Repo.Model(), "network/cloudflare-tunnel", "")
	if err != nil {
		t.Fatal(err)
	}
	want := secret.File{Path: "kubernetes/apps/network/cloudflare-tunnel/app/secret.sops.yaml", Exists: true,
		Name: "cloudflare-tunnel-secret", Kustomization: "kubernetes/apps/network/cloudflare-tunnel/app/kustomization.yaml"}
	if sf != want {
		t.Fatalf("got %+v, want %+v", sf, want)
	}
	sf, err = secret.Resolve(ex.Repo.Model(), "default/echo", "")
	if err != nil || sf.Exists || sf.Name != "echo-secret" || sf.Path != "kubernetes/apps/default/echo/app/secret.sops.yaml" {
		t.Fatalf("got %+v, %v", sf, err)
	}
}

// BenchmarkSetSecret times `gen secret set`'s work in process: editing the
// tunnel token in place (decrypt, set, re-encrypt, MAC) and writing a new
// encrypted Secret with its registration.
func BenchmarkSetSecret(b *testing.B) {
	f := gentest.ExampleFixture(b)
	store := f.Store(b)
	r := f.Model()
	b.Run("edit", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			_, err := secret.Set(r, secret.SetOptions{Target: "network/cloudflare-tunnel",
				Values: []generator.KV{{Key: "TUNNEL_TOKEN", Value: strings.Repeat("x", i%7+1)}}, Store: store})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("new", func(b *testing.B) {
		for b.Loop() {
			_, err := secret.Set(r, secret.SetOptions{Target: "default/echo",
				Values: []generator.KV{{Key: "API_KEY", Value: "k-123"}}, Store: store})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}
