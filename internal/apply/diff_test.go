package apply_test

import (
	"strings"
	"testing"

	"github.com/gen-gitops/gen/generator"
	"github.com/gen-gitops/gen/internal/apply"
)

func TestRedact(t *testing.T) {
	in := `apiVersion: v1
kind: Secret
metadata:
  name: x
stringData:
  TOKEN: hunter2
  CERT: |
    -----BEGIN SECRET-----
    abc
  ENCRYPTED: ENC[AES256_GCM,data:Zm9v,iv:YmFy,tag:YmF6,type:str]
data:
  raw: aHVudGVyMg==
sops:
  age:
    - recipient: age1xyz
      enc: |
        -----BEGIN AGE ENCRYPTED FILE-----
  mac: ENC[AES256_GCM,data:bWFj,iv:aXY=,tag:dGFn,type:str]
`
	got := apply.Redact(in)
	for _, leak := range []string{"hunter2", "BEGIN SECRET", "abc", "Zm9v", "aHVudGVyMg", "age1xyz", "AGE ENCRYPTED", "bWFj"} {
		if strings.Contains(got, leak) {
			t.Errorf("redacted output still holds %q:\n%s", leak, got)
		}
	}
	for _, kept := range []string{"  TOKEN: <redacted>", "  CERT: <redacted>", "  ENCRYPTED: ENC[…]", "  raw: <redacted>", "sops: …", "  name: x"} {
		if !strings.Contains(got, kept) {
			t.Errorf("redacted output lacks %q:\n%s", kept, got)
		}
	}
}

func TestDiffRedactsSensitiveFiles(t *testing.T) {
	cs := &generator.Changeset{}
	cs.AddSensitive("a/secret.sops.yaml", []byte("stringData:\n  TOKEN: ENC[AES256_GCM,data:c2VjcmV0,iv:x,tag:y,type:str]\nsops:\n  mac: ENC[AES256_GCM,data:bWFj,iv:x,tag:y,type:str]\n"))
	cs.Add("a/plain.yaml", []byte("kind: ConfigMap\n"))
	var b strings.Builder
	if err := apply.Diff(&b, map[string][]byte{}, cs); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Contains(out, "c2VjcmV0") || strings.Contains(out, "bWFj") {
		t.Fatalf("diff leaks ciphertext:\n%s", out)
	}
	for _, want := range []string{"+++ b/a/secret.sops.yaml", "+  TOKEN: ENC[…]", "+++ b/a/plain.yaml", "+kind: ConfigMap"} {
		if !strings.Contains(out, want) {
			t.Fatalf("diff lacks %q:\n%s", want, out)
		}
	}
}
