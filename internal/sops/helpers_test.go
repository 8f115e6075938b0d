package sops

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"go.yaml.in/yaml/v3"
)

// clusterSecret is a Secret in the form the target repositories keep, in the
// canonical layout the yaml store writes with indent 2 (no leading ---), so a
// round trip must give it back byte for byte.
const clusterSecret = `# yaml-language-server: $schema=https://example.invalid/secret.json
apiVersion: v1
kind: Secret
metadata:
  name: cluster-secrets
  labels:
    app.kubernetes.io/part-of: cluster
stringData:
  SECRET_DOMAIN: example.com
  SECRET_DOMAIN_TWO: example.org
  CLUSTER_NAME: home
  TIMEZONE: Etc/UTC
`

var fixedTime = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func fixedClock() time.Time { return fixedTime }

func newKey(t testing.TB) *age.X25519Identity {
	t.Helper()
	k, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func idsOf(t testing.TB, keys ...*age.X25519Identity) *Identities {
	t.Helper()
	var lines []string
	for _, k := range keys {
		lines = append(lines, k.String())
	}
	ids, err := ParseIdentities(strings.Join(lines, "\n"), "test keys")
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// clusterRule is the creation rule cluster-template repositories use.
func clusterRule(keys ...*age.X25519Identity) *Rule {
	var group []string
	for _, k := range keys {
		group = append(group, k.Recipient().String())
	}
	return &Rule{
		PathRegex:        `kubernetes/.*\.sops\.ya?ml`,
		EncryptedRegex:   "^(data|stringData)$",
		MACOnlyEncrypted: true,
		KeyGroups:        [][]string{group},
	}
}

// clusterSopsYAML is the .sops.yaml of a cluster-template repository for
// the given recipients.
func clusterSopsYAML(keys ...*age.X25519Identity) string {
	var rs []string
	for _, k := range keys {
		rs = append(rs, k.Recipient().String())
	}
	return fmt.Sprintf(`---
creation_rules:
  - path_regex: kubernetes/.*\.sops\.ya?ml
    encrypted_regex: "^(data|stringData)$"
    mac_only_encrypted: true
    age: %q
stores:
  yaml:
    indent: 2
`, strings.Join(rs, ","))
}

func mustEncrypt(t testing.TB, plain string, rule *Rule, indent int) []byte {
	t.Helper()
	out, err := Encrypt([]byte(plain), rule, indent, WithClock(fixedClock))
	if err != nil {
		t.Fatalf("Encrypt: %v", err)
	}
	return out
}

// lookup walks a decoded YAML document along keys and returns the value.
func lookup(t testing.TB, doc []byte, path ...string) any {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal(doc, &m); err != nil {
		t.Fatalf("parsing output: %v\n%s", err, doc)
	}
	var cur any = m
	for _, p := range path {
		mm, ok := cur.(map[string]any)
		if !ok {
			t.Fatalf("at %q: not a mapping in\n%s", p, doc)
		}
		cur, ok = mm[p]
		if !ok {
			t.Fatalf("no %s in\n%s", strings.Join(path, "."), doc)
		}
	}
	return cur
}

func isCiphertext(v any) bool {
	s, ok := v.(string)
	return ok && strings.HasPrefix(s, "ENC[AES256_GCM,data:")
}

var (
	encValue = regexp.MustCompile(`ENC\[AES256_GCM,data:[^,]*,iv:[^,]*,tag:[^,]*,type:(\w+)\]`)
	ageArmor = regexp.MustCompile(`(?s)-----BEGIN AGE ENCRYPTED FILE-----\n.*?-----END AGE ENCRYPTED FILE-----`)
	lastMod  = regexp.MustCompile(`lastmodified: "[^"]*"`)
)

// shape masks everything random in an encrypted file (ciphertexts, wrapped
// data keys, the timestamp) and keeps its layout.
func shape(b []byte) string {
	s := encValue.ReplaceAllString(string(b), "ENC[<${1}>]")
	s = ageArmor.ReplaceAllString(s, "<age>")
	return lastMod.ReplaceAllString(s, `lastmodified: "<time>"`)
}

// lineWith returns the first line of b containing substr.
func lineWith(t testing.TB, b []byte, substr string) string {
	t.Helper()
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, substr) {
			return l
		}
	}
	t.Fatalf("no line with %q in\n%s", substr, b)
	return ""
}
