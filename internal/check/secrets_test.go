package check

import (
	"strings"
	"testing"

	"github.com/gen-gitops/gen/internal/flux"
	"github.com/gen-gitops/gen/internal/sops"
)

const exampleRecipient = "age1nxx6jf4a7empkzugyews90kvevu2ht6eswjl2dqd26gznuh3ap8qq5wwar"

// sopsEncrypted returns a Secret encrypted in process with the real sops
// library, under a creation rule that leaves some values readable.
func sopsEncrypted(t *testing.T, plain string, rule sops.Rule) edit {
	return func(t *testing.T, f flux.Files) {
		t.Helper()
		rule.KeyGroups = [][]string{{exampleRecipient}}
		out, err := sops.Encrypt([]byte(plain), &rule, 2)
		if err != nil {
			t.Fatal(err)
		}
		f["kubernetes/apps/default/whoami/app/secret.sops.yaml"] = out
	}
}

// TestPlaintextSecretsWhereverTheyHide: a Secret value stored readable is
// a secret-plaintext finding wherever the object holding it is: in a kind:
// List, in a HelmRelease's values as an object or as a multi-line string,
// in a secretGenerator's literals or the plain file it reads, and in a
// SOPS file whose creation rule left it unencrypted. The value itself is
// never in the message.
func TestPlaintextSecretsWhereverTheyHide(t *testing.T) {
	const app = "kubernetes/apps/default/whoami/app/"
	cases := []struct {
		name  string
		edits []edit
		file  string
		line  int
		says  string
	}{
		{"list", []edit{
			set(app+"list.yaml", "apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: ConfigMap\n    metadata:\n      name: c\n  - apiVersion: v1\n    kind: Secret\n    metadata:\n      name: listed\n    stringData:\n      TOKEN: hunter2\n"),
			replace(whoamiKus, "  - ./service.yaml\n", "  - ./service.yaml\n  - ./list.yaml\n"),
		}, app + "list.yaml", 8, "Secret listed at items[1] holds 1 value(s) in plaintext (TOKEN)"},
		{"values object", []edit{
			replace(echoHR, "  values:\n", "  values:\n    extraObjects:\n      - apiVersion: v1\n        kind: Secret\n        metadata:\n          name: extra\n        stringData:\n          password: hunter2\n"),
		}, echoHR, 14, "Secret extra at spec.values.extraObjects[0]"},
		{"values string", []edit{
			replace(echoHR, "  values:\n", "  values:\n    extraManifests: |\n      apiVersion: v1\n      kind: Secret\n      metadata:\n        name: extra\n      stringData:\n        password: hunter2\n"),
		}, echoHR, 13, "Secret extra at spec.values.extraManifests#0"},
		{"generator literal", []edit{
			replace(whoamiKus, "resources:\n", "secretGenerator:\n  - name: creds\n    literals:\n      - TOKEN=hunter2\n      - FROM_VAR=${TOKEN}\nresources:\n"),
		}, whoamiKus, 6, "secretGenerator creds at secretGenerator[0] holds 1 value(s) in plaintext (TOKEN)"},
		{"generator file", []edit{
			set(app+"creds.env", "TOKEN=hunter2\n"),
			replace(whoamiKus, "resources:\n", "secretGenerator:\n  - name: creds\n    envs:\n      - creds.env\nresources:\n"),
		}, whoamiKus, 8, "secretGenerator creds reads " + app + "creds.env, which is not encrypted"},
		{"sops unencrypted_regex", []edit{
			sopsEncrypted(t, "apiVersion: v1\nkind: Secret\nmetadata:\n  name: partly\ndata:\n  KEY: aHVudGVyMg==\nstringData:\n  TOKEN: hunter2\n", sops.Rule{UnencryptedRegex: "^(apiVersion|kind|metadata|stringData)$"}),
			replace(whoamiKus, "  - ./service.yaml\n", "  - ./service.yaml\n  - ./secret.sops.yaml\n"),
		}, app + "secret.sops.yaml", 0, "Secret partly holds 1 value(s) sops left unencrypted (TOKEN; its sops metadata has unencrypted_regex: ^(apiVersion|kind|metadata|stringData)$)"},
		{"sops encrypted_suffix", []edit{
			sopsEncrypted(t, "apiVersion: v1\nkind: Secret\nmetadata:\n  name: partly\nstringData:\n  TOKEN_secret: sealed\n  PASSWORD: hunter2\n", sops.Rule{EncryptedSuffix: "_secret"}),
			replace(whoamiKus, "  - ./service.yaml\n", "  - ./service.yaml\n  - ./secret.sops.yaml\n"),
		}, app + "secret.sops.yaml", 0, "(PASSWORD; its sops metadata has encrypted_suffix: _secret)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			files := example(t)
			for _, e := range c.edits {
				e(t, files)
			}
			rep, err := Run(&Snapshot{Files: files}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			var got []Finding
			for _, f := range rep.Findings {
				if strings.Contains(f.Message, "hunter2") || strings.Contains(f.Message, "aHVudGVyMg") {
					t.Errorf("a finding shows a value: %s", f)
				}
				if f.Rule == RuleSecretPlaintext {
					got = append(got, f)
				}
			}
			if len(got) != 1 {
				t.Fatalf("%d secret-plaintext findings, want 1:\n%s", len(got), findingList(rep.Findings))
			}
			f := got[0]
			if f.File != c.file || (c.line != 0 && f.Line != c.line) || !strings.Contains(f.Message, c.says) {
				t.Errorf("got %s (line %d), want %s:%d saying %q", f, f.Line, c.file, c.line, c.says)
			}
		})
	}
}

// TestSecretsNotPlaintext: what holds no readable value is no finding: a
// reference to a Secret, a generator reading a SOPS-encrypted file, values
// filled in by substitution or a secret manager, a fully encrypted file.
func TestSecretsNotPlaintext(t *testing.T) {
	cases := map[string][]edit{
		"encrypted generator file": {
			sopsEncrypted(t, "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  TOKEN: sealed\n", sops.Rule{EncryptedRegex: "^(data|stringData)$"}),
			replace(whoamiKus, "resources:\n", "secretGenerator:\n  - name: creds\n    files:\n      - token=secret.sops.yaml\nresources:\n"),
		},
		"templated values in values": {
			replace(echoHR, "  values:\n", "  values:\n    extraObjects:\n      - apiVersion: v1\n        kind: Secret\n        metadata:\n          name: extra\n        stringData:\n          password: ${SECRET_PASSWORD:=}\n          ref: op://vault/item/field\n"),
		},
		"a reference, not a Secret": {
			replace(echoHR, "  values:\n", "  values:\n    envFrom:\n      - kind: Secret\n        name: echo-secret\n"),
		},
		"encrypted file": {
			sopsEncrypted(t, "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  TOKEN: sealed\n", sops.Rule{EncryptedRegex: "^(data|stringData)$"}),
			replace(whoamiKus, "  - ./service.yaml\n", "  - ./service.yaml\n  - ./secret.sops.yaml\n"),
		},
	}
	for name, edits := range cases {
		t.Run(name, func(t *testing.T) {
			files := example(t)
			for _, e := range edits {
				e(t, files)
			}
			rep, err := Run(&Snapshot{Files: files}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range rep.Findings {
				if f.Rule == RuleSecretPlaintext {
					t.Errorf("%s", f)
				}
			}
		})
	}
}
