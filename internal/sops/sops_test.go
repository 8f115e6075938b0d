package sops

import (
	"encoding/base64"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	k := newKey(t)
	enc := mustEncrypt(t, clusterSecret, clusterRule(k), 2)
	if !IsEncrypted(enc) {
		t.Fatalf("IsEncrypted(Encrypt(...)) = false:\n%s", enc)
	}
	got, err := Decrypt(enc, idsOf(t, k))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != clusterSecret {
		t.Errorf("round trip changed the document:\n got:\n%s\nwant:\n%s", got, clusterSecret)
	}
}

// TestEncryptShape pins the layout of an encrypted Secret: the parts that are
// not random must be exactly what the sops CLI writes for a cluster-template
// rule (the interop test checks the same against the CLI itself).
func TestEncryptShape(t *testing.T) {
	k := newKey(t)
	enc := mustEncrypt(t, clusterSecret, clusterRule(k), 2)
	want := `# yaml-language-server: $schema=https://example.invalid/secret.json
apiVersion: v1
kind: Secret
metadata:
  name: cluster-secrets
  labels:
    app.kubernetes.io/part-of: cluster
stringData:
  SECRET_DOMAIN: ENC[<str>]
  SECRET_DOMAIN_TWO: ENC[<str>]
  CLUSTER_NAME: ENC[<str>]
  TIMEZONE: ENC[<str>]
sops:
  age:
    - enc: |
        <age>
      recipient: ` + k.Recipient().String() + `
  encrypted_regex: ^(data|stringData)$
  lastmodified: "<time>"
  mac: ENC[<str>]
  mac_only_encrypted: true
  version: 3.13.3
`
	if got := shape(enc); got != want {
		t.Errorf("encrypted layout:\n got:\n%s\nwant:\n%s", got, want)
	}
	if !strings.Contains(string(enc), `lastmodified: "2025-01-02T03:04:05Z"`) {
		t.Errorf("lastmodified does not come from the clock:\n%s", enc)
	}
}

func TestEncryptIndent(t *testing.T) {
	k := newKey(t)
	enc := mustEncrypt(t, clusterSecret, clusterRule(k), 4)
	if l := lineWith(t, enc, "name: cluster-secrets"); l != "    name: cluster-secrets" {
		t.Errorf("indent 4 gave %q", l)
	}
	// Decrypt keeps the file's indentation unless told otherwise.
	plain, err := Decrypt(enc, idsOf(t, k))
	if err != nil {
		t.Fatal(err)
	}
	if l := lineWith(t, plain, "SECRET_DOMAIN:"); l != "    SECRET_DOMAIN: example.com" {
		t.Errorf("Decrypt of a 4-space file gave %q", l)
	}
	plain, err = Decrypt(enc, idsOf(t, k), WithIndent(2))
	if err != nil {
		t.Fatal(err)
	}
	if string(plain) != clusterSecret {
		t.Errorf("Decrypt WithIndent(2):\n%s", plain)
	}
}

func TestEncryptSelectors(t *testing.T) {
	const secret = `apiVersion: v1
kind: Secret
metadata:
  name: s
stringData:
  token: abc
  note_unencrypted: visible
  count: 3
`
	tests := []struct {
		name string
		// edit turns the cluster rule into the rule under test.
		edit func(*Rule)
		// encrypted and plain list value paths, dot-separated.
		encrypted, plain []string
		metadataLine     string
	}{
		{
			name:         "encrypted_regex",
			edit:         func(*Rule) {},
			encrypted:    []string{"stringData.token", "stringData.note_unencrypted", "stringData.count"},
			plain:        []string{"apiVersion", "kind", "metadata.name"},
			metadataLine: "  encrypted_regex: ^(data|stringData)$",
		},
		{
			name: "unencrypted_regex",
			edit: func(r *Rule) {
				r.EncryptedRegex, r.UnencryptedRegex = "", "^(apiVersion|kind|metadata)$"
			},
			encrypted:    []string{"stringData.token", "stringData.count"},
			plain:        []string{"apiVersion", "kind", "metadata.name"},
			metadataLine: "  unencrypted_regex: ^(apiVersion|kind|metadata)$",
		},
		{
			name:         "no selector falls back to the _unencrypted suffix like the CLI",
			edit:         func(r *Rule) { r.EncryptedRegex = "" },
			encrypted:    []string{"apiVersion", "kind", "metadata.name", "stringData.token", "stringData.count"},
			plain:        []string{"stringData.note_unencrypted"},
			metadataLine: "  unencrypted_suffix: _unencrypted",
		},
		{
			name:         "encrypted_suffix",
			edit:         func(r *Rule) { r.EncryptedRegex, r.EncryptedSuffix = "", "Data" },
			encrypted:    []string{"stringData.token", "stringData.count"},
			plain:        []string{"apiVersion", "kind", "metadata.name"},
			metadataLine: "  encrypted_suffix: Data",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := newKey(t)
			rule := clusterRule(k)
			tt.edit(rule)
			enc := mustEncrypt(t, secret, rule, 2)
			for _, p := range tt.encrypted {
				if v := lookup(t, enc, strings.Split(p, ".")...); !isCiphertext(v) {
					t.Errorf("%s = %v, want ciphertext", p, v)
				}
			}
			for _, p := range tt.plain {
				if v := lookup(t, enc, strings.Split(p, ".")...); isCiphertext(v) {
					t.Errorf("%s is encrypted, want it readable", p)
				}
			}
			if l := lineWith(t, enc, tt.metadataLine); l != tt.metadataLine {
				t.Errorf("sops block line = %q, want %q", l, tt.metadataLine)
			}
			// Keys stay readable whatever the selector.
			if got, _ := Keys(enc); !reflect.DeepEqual(got, []string{"count", "note_unencrypted", "token"}) {
				t.Errorf("Keys = %v", got)
			}
			plain, err := Decrypt(enc, idsOf(t, k))
			if err != nil {
				t.Fatal(err)
			}
			if string(plain) != secret {
				t.Errorf("round trip:\n%s", plain)
			}
		})
	}
}

// TestMACOnlyEncrypted checks what the setting is for: with it, the readable
// part of a Secret (metadata) can be changed by hand without breaking the
// file; without it the MAC covers every value.
func TestMACOnlyEncrypted(t *testing.T) {
	for _, macOnly := range []bool{true, false} {
		k := newKey(t)
		rule := clusterRule(k)
		rule.MACOnlyEncrypted = macOnly
		enc := mustEncrypt(t, clusterSecret, rule, 2)
		if got := strings.Contains(string(enc), "mac_only_encrypted: true"); got != macOnly {
			t.Errorf("mac_only_encrypted=%v: sops block mentions it: %v", macOnly, got)
		}
		renamed := strings.Replace(string(enc), "name: cluster-secrets", "name: renamed", 1)
		plain, err := Decrypt([]byte(renamed), idsOf(t, k))
		if macOnly {
			if err != nil {
				t.Errorf("mac_only_encrypted: renaming the Secret broke it: %v", err)
			} else if !strings.Contains(string(plain), "name: renamed") {
				t.Errorf("rename lost:\n%s", plain)
			}
		} else if !errors.Is(err, ErrMACMismatch) {
			t.Errorf("without mac_only_encrypted, renaming gave %v, want ErrMACMismatch", err)
		}
	}
}

func TestEditKeepsUntouchedCiphertext(t *testing.T) {
	k := newKey(t)
	ids := idsOf(t, k)
	enc := mustEncrypt(t, clusterSecret, clusterRule(k), 2)

	edited, err := Edit(enc, ids,
		map[string]string{"SECRET_DOMAIN_THREE": "example.net", "CLUSTER_NAME": "lab"},
		[]string{"TIMEZONE"}, WithClock(fixedClock))
	if err != nil {
		t.Fatal(err)
	}
	for _, same := range []string{"SECRET_DOMAIN:", "SECRET_DOMAIN_TWO:", "recipient:", "-----BEGIN AGE"} {
		if a, b := lineWith(t, enc, same), lineWith(t, edited, same); a != b {
			t.Errorf("untouched line changed:\n before %s\n after  %s", a, b)
		}
	}
	// The data key is kept, so the wrapped key is identical.
	if a, b := ageArmor.FindString(string(enc)), ageArmor.FindString(string(edited)); a != b {
		t.Errorf("wrapped data key changed")
	}
	if lineWith(t, enc, "CLUSTER_NAME:") == lineWith(t, edited, "CLUSTER_NAME:") {
		t.Errorf("changed value kept its old ciphertext")
	}
	if lineWith(t, enc, "  mac:") == lineWith(t, edited, "  mac:") {
		t.Errorf("mac not rewritten")
	}
	if strings.Contains(string(edited), "TIMEZONE") {
		t.Errorf("removed key still there:\n%s", edited)
	}
	if !isCiphertext(lookup(t, edited, "stringData", "SECRET_DOMAIN_THREE")) {
		t.Errorf("new key not encrypted:\n%s", edited)
	}

	plain, err := Decrypt(edited, ids)
	if err != nil {
		t.Fatalf("edited file does not decrypt (MAC?): %v", err)
	}
	want := strings.NewReplacer("  CLUSTER_NAME: home\n", "  CLUSTER_NAME: lab\n", "  TIMEZONE: Etc/UTC\n", "  SECRET_DOMAIN_THREE: example.net\n").Replace(clusterSecret)
	if string(plain) != want {
		t.Errorf("edited plaintext:\n got:\n%s\nwant:\n%s", plain, want)
	}

	// Setting what is already there changes nothing, not even the timestamp.
	again, err := Edit(edited, ids, map[string]string{"CLUSTER_NAME": "lab"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(again) != string(edited) {
		t.Errorf("no-op edit rewrote the file")
	}
}

func TestEditDataField(t *testing.T) {
	const secret = `apiVersion: v1
kind: Secret
metadata:
  name: tunnel
data:
  TUNNEL_TOKEN: c2VjcmV0
`
	k := newKey(t)
	ids := idsOf(t, k)
	enc := mustEncrypt(t, secret, clusterRule(k), 2)
	edited, err := Edit(enc, ids, map[string]string{"TUNNEL_TOKEN": "rotated", "ACCOUNT": "a1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := Decrypt(edited, ids)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"TUNNEL_TOKEN": "rotated", "ACCOUNT": "a1"} {
		got, _ := lookup(t, plain, "data", k).(string)
		if got != base64.StdEncoding.EncodeToString([]byte(v)) {
			t.Errorf("data.%s = %q, want base64 of %q", k, got, v)
		}
	}
	if strings.Contains(string(plain), "stringData") {
		t.Errorf("a Secret with only data grew stringData:\n%s", plain)
	}
}

func TestEditErrors(t *testing.T) {
	k := newKey(t)
	ids := idsOf(t, k)
	enc := mustEncrypt(t, clusterSecret, clusterRule(k), 2)
	cm := mustEncrypt(t, "apiVersion: v1\nkind: ConfigMap\ndata:\n  a: b\n", clusterRule(k), 2)
	tests := []struct {
		name   string
		data   []byte
		set    map[string]string
		remove []string
		want   string
	}{
		{"remove missing key", enc, nil, []string{"NOPE"}, `cannot remove "NOPE": it is in neither stringData nor data`},
		{"set and remove", enc, map[string]string{"A": "1"}, []string{"A"}, `key "A" is both set and removed`},
		{"not a secret", cm, map[string]string{"A": "1"}, nil, "no document of kind Secret"},
		{"plaintext input", []byte(clusterSecret), map[string]string{"A": "1"}, nil, "not a sops-encrypted file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Edit(tt.data, ids, tt.set, tt.remove)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestTamperedFileFailsMAC(t *testing.T) {
	k := newKey(t)
	ids := idsOf(t, k)
	enc := mustEncrypt(t, clusterSecret, clusterRule(k), 2)

	// A value encrypted with the file's own data key for the same path
	// passes AES-GCM; only the MAC can tell it was swapped in.
	other, err := Edit(enc, ids, map[string]string{"SECRET_DOMAIN": "evil.example"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	swapped := strings.Replace(string(enc), lineWith(t, enc, "SECRET_DOMAIN:"), lineWith(t, other, "SECRET_DOMAIN:"), 1)

	dropped := strings.Replace(string(enc), lineWith(t, enc, "TIMEZONE:")+"\n", "", 1)

	for name, data := range map[string]string{"swapped value": swapped, "dropped value": dropped} {
		t.Run(name, func(t *testing.T) {
			_, err := Decrypt([]byte(data), ids)
			if !errors.Is(err, ErrMACMismatch) {
				t.Fatalf("Decrypt error = %v, want ErrMACMismatch", err)
			}
			if !strings.Contains(err.Error(), "mac mismatch") {
				t.Errorf("error does not say mac mismatch: %v", err)
			}
			if _, err := Edit([]byte(data), ids, map[string]string{"X": "y"}, nil); !errors.Is(err, ErrMACMismatch) {
				t.Errorf("Edit error = %v, want ErrMACMismatch", err)
			}
		})
	}
}

func TestDamagedValue(t *testing.T) {
	k := newKey(t)
	ids := idsOf(t, k)
	enc := mustEncrypt(t, clusterSecret, clusterRule(k), 2)
	line := lineWith(t, enc, "CLUSTER_NAME:")
	// Flip the ciphertext: AES-GCM authentication fails before the MAC
	// is reached.
	i := strings.Index(line, "data:") + len("data:")
	flipped := line[:i] + string(line[i]^1) + line[i+1:]
	tests := map[string]struct{ from, to, want string }{
		"flipped ciphertext": {line, flipped, "changed outside sops or is damaged"},
		"pasted plain value": {line, "  CLUSTER_NAME: hunter2", "is plain text"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Decrypt([]byte(strings.Replace(string(enc), tt.from, tt.to, 1)), ids)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want one containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error quotes the secret: %v", err)
			}
		})
	}
}

func TestDecryptWrongKey(t *testing.T) {
	owner, stranger := newKey(t), newKey(t)
	enc := mustEncrypt(t, clusterSecret, clusterRule(owner), 2)
	_, err := Decrypt(enc, idsOf(t, stranger))
	if !errors.Is(err, ErrNotRecipient) {
		t.Fatalf("Decrypt with a key that is not a recipient: %v, want ErrNotRecipient", err)
	}
	for _, want := range []string{"test keys", owner.Recipient().String(), stranger.Recipient().String()} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q: %v", want, err)
		}
	}
	// Listing the stranger as recipient without a data key wrapped for it
	// gets past the recipient check; age itself must then refuse.
	forged := strings.Replace(string(enc), owner.Recipient().String(), stranger.Recipient().String(), 1)
	if _, err := Decrypt([]byte(forged), idsOf(t, stranger)); err == nil || errors.Is(err, ErrNotRecipient) {
		t.Errorf("Decrypt of a forged recipient: %v, want a data key error", err)
	}
	if _, err := Decrypt(enc, nil); !errors.Is(err, ErrNoIdentity) {
		t.Errorf("Decrypt without identities: %v, want ErrNoIdentity", err)
	}
}

func TestKeyGroups(t *testing.T) {
	a, b, c := newKey(t), newKey(t), newKey(t)
	sets := map[string]*Identities{
		"a": idsOf(t, a), "b": idsOf(t, b), "c": idsOf(t, c),
		"a+b": idsOf(t, a, b), "b+c": idsOf(t, b, c), "a+b+c": idsOf(t, a, b, c),
	}
	tests := []struct {
		name      string
		threshold int
		// opens says which key sets can decrypt.
		opens map[string]bool
	}{
		{"all groups needed by default", 0, map[string]bool{"a": false, "a+b": false, "b+c": false, "a+b+c": true}},
		{"threshold 2 of 3", 2, map[string]bool{"a": false, "c": false, "a+b": true, "b+c": true, "a+b+c": true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rule := clusterRule()
			rule.KeyGroups = [][]string{{a.Recipient().String()}, {b.Recipient().String()}, {c.Recipient().String()}}
			rule.ShamirThreshold = tt.threshold
			enc := mustEncrypt(t, clusterSecret, rule, 2)
			if !strings.Contains(string(enc), "  key_groups:\n") {
				t.Errorf("no key_groups in sops block:\n%s", enc)
			}
			if tt.threshold > 0 && !strings.Contains(string(enc), "  shamir_threshold: 2\n") {
				t.Errorf("no shamir_threshold in sops block:\n%s", enc)
			}
			for name, ok := range tt.opens {
				plain, err := Decrypt(enc, sets[name])
				if ok && (err != nil || string(plain) != clusterSecret) {
					t.Errorf("keys %s: %v", name, err)
				}
				if !ok && !errors.Is(err, ErrNotRecipient) {
					t.Errorf("keys %s: %v, want ErrNotRecipient", name, err)
				}
			}
			// Edit needs only the keys that open the file, and keeps
			// every group working.
			edited, err := Edit(enc, sets["a+b+c"], map[string]string{"NEW": "v"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Decrypt(edited, sets["a+b+c"]); err != nil {
				t.Errorf("edited file: %v", err)
			}
		})
	}
}

func TestShamirThresholdOne(t *testing.T) {
	// The library cannot split a key with threshold 1; say so up front.
	_, err := ParseConfig([]byte("creation_rules:\n  - shamir_threshold: 1\n    key_groups:\n      - age: [" + recA + "]\n      - age: [" + recB + "]\n"))
	if err == nil || !strings.Contains(err.Error(), "shamir_threshold 1 does not fit 2 key groups") {
		t.Fatalf("ParseConfig error = %v", err)
	}
	rule := &Rule{KeyGroups: [][]string{{recA}, {recB}}, ShamirThreshold: 1}
	if _, err := Encrypt([]byte(clusterSecret), rule, 2); err == nil || !strings.Contains(err.Error(), "shamir_threshold 1") {
		t.Fatalf("Encrypt error = %v", err)
	}
}

func TestEncryptErrors(t *testing.T) {
	k := newKey(t)
	enc := mustEncrypt(t, clusterSecret, clusterRule(k), 2)
	pgp := clusterRule(k)
	pgp.UnsupportedKeys = []string{"pgp"}
	tests := []struct {
		name  string
		plain string
		rule  *Rule
		want  string
	}{
		{"already encrypted", string(enc), clusterRule(k), "already encrypted"},
		{"empty", "", clusterRule(k), "the document is empty"},
		{"no rule", clusterSecret, nil, "no creation rule given"},
		{"no recipients", clusterSecret, &Rule{PathRegex: "x"}, "has no age recipients"},
		{"empty group", clusterSecret, clusterRule(), "key group 1 of the creation rule"},
		{"other key types", clusterSecret, pgp, "also lists pgp keys"},
		{"bad yaml", "a: [", clusterRule(k), "parsing the plaintext"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Encrypt([]byte(tt.plain), tt.rule, 2)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestIsEncryptedAndKeys(t *testing.T) {
	k := newKey(t)
	enc := mustEncrypt(t, clusterSecret, clusterRule(k), 2)
	tests := []struct {
		name      string
		in        string
		encrypted bool
		keys      []string
	}{
		{"encrypted", string(enc), true, []string{"CLUSTER_NAME", "SECRET_DOMAIN", "SECRET_DOMAIN_TWO", "TIMEZONE"}},
		{"plain", clusterSecret, false, []string{"CLUSTER_NAME", "SECRET_DOMAIN", "SECRET_DOMAIN_TWO", "TIMEZONE"}},
		{"data and stringData", "---\nkind: Secret\ndata:\n  b: eA==\n  a: eQ==\nstringData:\n  a: x\n", false, []string{"a", "b"}},
		{"sops block without mac", "kind: Secret\nsops:\n  version: 3.13.3\n", false, nil},
		{"no data", "kind: Secret\n", false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsEncrypted([]byte(tt.in)); got != tt.encrypted {
				t.Errorf("IsEncrypted = %v, want %v", got, tt.encrypted)
			}
			got, err := Keys([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.keys) {
				t.Errorf("Keys = %v, want %v", got, tt.keys)
			}
		})
	}
	if _, err := Keys([]byte("a: [")); err == nil {
		t.Error("Keys accepted broken yaml")
	}
	if IsEncrypted([]byte("a: [")) {
		t.Error("broken yaml reported as encrypted")
	}
}

func BenchmarkEncryptSecret(b *testing.B) {
	k := newKey(b)
	rule := clusterRule(k)
	plain := []byte(clusterSecret)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encrypt(plain, rule, 2); err != nil {
			b.Fatal(err)
		}
	}
}
