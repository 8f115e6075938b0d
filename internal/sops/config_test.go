package sops

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// Fixed, valid age recipients (public keys only) for config parsing.
const (
	recA = "age1nxx6jf4a7empkzugyews90kvevu2ht6eswjl2dqd26gznuh3ap8qq5wwar"
	recB = "age190r96cz8mz2pgw207pjlkgkvspvl6tpeaegyva7n9df7rcums4us6fzdc4"
)

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want *Config
	}{
		{
			name: "cluster-template",
			in: `---
creation_rules:
  - # talos secrets
    path_regex: talos/.*\.sops\.ya?ml
    mac_only_encrypted: true
    key_groups:
      - age:
          - "` + recA + `"
  - path_regex: (bootstrap|kubernetes)/.*\.sops\.ya?ml
    encrypted_regex: "^(data|stringData)$"
    mac_only_encrypted: true
    age: "` + recA + `"
stores:
  yaml:
    indent: 2
`,
			want: &Config{Indent: 2, Rules: []Rule{
				{PathRegex: `talos/.*\.sops\.ya?ml`, MACOnlyEncrypted: true, KeyGroups: [][]string{{recA}}},
				{PathRegex: `(bootstrap|kubernetes)/.*\.sops\.ya?ml`, EncryptedRegex: "^(data|stringData)$", MACOnlyEncrypted: true, KeyGroups: [][]string{{recA}}},
			}},
		},
		{
			name: "no stores section keeps the sops default indent",
			in:   "creation_rules:\n  - age: " + recA + "\n",
			want: &Config{Indent: DefaultIndent, Rules: []Rule{{KeyGroups: [][]string{{recA}}}}},
		},
		{
			name: "comma-separated and listed recipients, repeats dropped",
			in: `creation_rules:
  - path_regex: a
    age: " ` + recA + `, ` + recB + `,"
  - path_regex: b
    age: ["` + recB + `", "` + recA + `", "` + recB + `"]
`,
			want: &Config{Indent: DefaultIndent, Rules: []Rule{
				{PathRegex: "a", KeyGroups: [][]string{{recA, recB}}},
				{PathRegex: "b", KeyGroups: [][]string{{recB, recA}}},
			}},
		},
		{
			name: "key groups with merge and shamir threshold",
			in: `creation_rules:
  - unencrypted_suffix: _plain
    shamir_threshold: 2
    key_groups:
      - age: [` + recA + `]
      - merge:
          - age: [` + recB + `]
        age: [` + recB + `]
`,
			want: &Config{Indent: DefaultIndent, Rules: []Rule{
				{UnencryptedSuffix: "_plain", ShamirThreshold: 2, KeyGroups: [][]string{{recA}, {recB}}},
			}},
		},
		{
			name: "non-age keys are recorded, not fatal",
			in: `creation_rules:
  - path_regex: pgp-only
    pgp: FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4
  - path_regex: mixed
    key_groups:
      - age: [` + recA + `]
        kms:
          - arn: arn:aws:kms:us-east-1:1:key/x
`,
			want: &Config{Indent: DefaultIndent, Rules: []Rule{
				{PathRegex: "pgp-only", UnsupportedKeys: []string{"pgp"}},
				{PathRegex: "mixed", KeyGroups: [][]string{{recA}}, UnsupportedKeys: []string{"kms"}},
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseConfig([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseConfig:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseConfigErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"bad yaml", "creation_rules: [", "parsing .sops.yaml"},
		{"bad path_regex", "creation_rules:\n  - path_regex: '('\n", "creation rule 1 (path_regex \"(\"): path_regex"},
		{"bad encrypted_regex", "creation_rules:\n  - encrypted_regex: '['\n", "encrypted_regex"},
		{"two selectors", "creation_rules:\n  - path_regex: x\n  - encrypted_regex: a\n    unencrypted_suffix: b\n", "creation rule 2"},
		{"bad recipient", "creation_rules:\n  - age: age1notakey\n", `age recipient "age1notakey"`},
		{"negative indent", "stores:\n  yaml:\n    indent: -2\n", "must not be negative"},
		{"threshold above groups", "creation_rules:\n  - shamir_threshold: 3\n    key_groups:\n      - age: [" + recA + "]\n      - age: [" + recB + "]\n", "shamir_threshold 3 does not fit 2 key groups"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestRuleFor(t *testing.T) {
	cfg, err := ParseConfig([]byte(`creation_rules:
  - path_regex: kubernetes/apps/special/.*\.sops\.yaml
    age: ` + recB + `
  - path_regex: kubernetes/.*\.sops\.ya?ml
    encrypted_regex: "^(data|stringData)$"
    age: ` + recA + `
  - path_regex: talos/
    age: ` + recA + `
`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path      string
		wantRegex string
	}{
		// Both the first and second rules match: the first wins.
		{"kubernetes/apps/special/x.sops.yaml", `kubernetes/apps/special/.*\.sops\.yaml`},
		{"kubernetes/components/sops/cluster-secrets.sops.yaml", `kubernetes/.*\.sops\.ya?ml`},
		{"./kubernetes/a/b.sops.yml", `kubernetes/.*\.sops\.ya?ml`},
		{`kubernetes\a\b.sops.yaml`, `kubernetes/.*\.sops\.ya?ml`},
		// Unanchored, as in sops.
		{"clusters/main/talos/talsecret.sops.yaml", "talos/"},
	}
	for _, tt := range tests {
		r, err := cfg.RuleFor(tt.path)
		if err != nil {
			t.Errorf("RuleFor(%q): %v", tt.path, err)
			continue
		}
		if r.PathRegex != tt.wantRegex {
			t.Errorf("RuleFor(%q) = rule %q, want %q", tt.path, r.PathRegex, tt.wantRegex)
		}
	}

	_, err = cfg.RuleFor("docs/readme.md")
	if !errors.Is(err, ErrNoRule) {
		t.Fatalf("RuleFor(no match) error = %v, want ErrNoRule", err)
	}
	for _, want := range []string{`"docs/readme.md"`, `"kubernetes/apps/special/.*\\.sops\\.yaml"`, `"kubernetes/.*\\.sops\\.ya?ml"`, `"talos/"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("no-match error %q does not mention %s", err, want)
		}
	}
}

func TestRuleForCatchAllAndEmpty(t *testing.T) {
	cfg, err := ParseConfig([]byte("creation_rules:\n  - path_regex: only/\n    age: " + recA + "\n  - age: " + recB + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := cfg.RuleFor("anything.yaml")
	if err != nil || r.Recipients()[0] != recB {
		t.Fatalf("catch-all rule not chosen: %+v, %v", r, err)
	}

	empty, err := ParseConfig([]byte("stores:\n  yaml:\n    indent: 2\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := empty.RuleFor("a.sops.yaml"); !errors.Is(err, ErrNoRule) || !strings.Contains(err.Error(), "no creation_rules") {
		t.Fatalf("error = %v, want ErrNoRule saying there are no creation_rules", err)
	}
}
