package sops

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"

	sopsage "github.com/getsops/sops/v3/age"
	sopsyaml "github.com/getsops/sops/v3/stores/yaml"
	"go.yaml.in/yaml/v3"
)

// DefaultIndent is the YAML indentation the sops CLI uses when .sops.yaml
// does not set stores.yaml.indent.
const DefaultIndent = sopsyaml.IndentDefault

// ErrNoRule is returned (wrapped) by Config.RuleFor when no creation rule
// matches a path.
var ErrNoRule = errors.New("no creation rule matches")

// Config is a parsed .sops.yaml: its creation rules, in file order, and the
// YAML store settings.
type Config struct {
	// Rules are the creation_rules, in the order the file lists them.
	Rules []Rule
	// Indent is stores.yaml.indent, or DefaultIndent when the file does not
	// set it. cluster-template repositories set 2.
	Indent int
}

// Rule is one creation rule of .sops.yaml.
type Rule struct {
	// PathRegex is the rule's path_regex; empty matches every path.
	PathRegex string
	// EncryptedRegex, UnencryptedRegex, EncryptedSuffix and
	// UnencryptedSuffix select which values get encrypted; at most one of
	// them (and of the comment regexes) is set.
	EncryptedRegex, UnencryptedRegex, EncryptedSuffix, UnencryptedSuffix string
	// EncryptedCommentRegex and UnencryptedCommentRegex select values by the
	// comments above them.
	EncryptedCommentRegex, UnencryptedCommentRegex string
	// MACOnlyEncrypted makes the MAC cover only the encrypted values, so the
	// readable parts (apiVersion, kind, metadata) can change without
	// breaking the file.
	MACOnlyEncrypted bool
	// KeyGroups holds the age recipients of each key group. A rule written
	// with a plain `age:` field has one group.
	KeyGroups [][]string
	// ShamirThreshold is how many key groups are needed to recover the data
	// key; zero means all of them.
	ShamirThreshold int
	// UnsupportedKeys names the non-age key types the rule also lists
	// (pgp, kms, ...). Encrypt refuses such a rule, since the file would
	// miss recipients the repository expects.
	UnsupportedKeys []string
}

// fileConfig mirrors the parts of .sops.yaml this package reads.
type fileConfig struct {
	CreationRules []fileRule `yaml:"creation_rules"`
	Stores        struct {
		YAML struct {
			Indent *int `yaml:"indent"`
		} `yaml:"yaml"`
	} `yaml:"stores"`
}

type fileRule struct {
	PathRegex               string         `yaml:"path_regex"`
	Age                     any            `yaml:"age"`
	KeyGroups               []fileKeyGroup `yaml:"key_groups"`
	ShamirThreshold         int            `yaml:"shamir_threshold"`
	EncryptedRegex          string         `yaml:"encrypted_regex"`
	UnencryptedRegex        string         `yaml:"unencrypted_regex"`
	EncryptedSuffix         string         `yaml:"encrypted_suffix"`
	UnencryptedSuffix       string         `yaml:"unencrypted_suffix"`
	EncryptedCommentRegex   string         `yaml:"encrypted_comment_regex"`
	UnencryptedCommentRegex string         `yaml:"unencrypted_comment_regex"`
	MACOnlyEncrypted        bool           `yaml:"mac_only_encrypted"`
	Other                   map[string]any `yaml:",inline"`
}

type fileKeyGroup struct {
	Merge []fileKeyGroup `yaml:"merge"`
	Age   any            `yaml:"age"`
	Other map[string]any `yaml:",inline"`
}

// otherKeyTypes are the key fields sops knows besides age. A rule or key
// group that lists any of them needs a key gen cannot use.
var otherKeyTypes = []string{"pgp", "kms", "gcp_kms", "azure_keyvault", "hc_vault_transit_uri", "hc_vault", "hckms"}

// ParseConfig parses the content of a .sops.yaml file. Every rule is checked
// up front (regexes compile, age recipients parse, at most one
// encrypted/unencrypted selector), so a broken rule is reported even when it
// is not the one a path would match.
func ParseConfig(data []byte) (*Config, error) {
	var fc fileConfig
	if err := yaml.Unmarshal(data, &fc); err != nil {
		return nil, fmt.Errorf("parsing .sops.yaml: %w", err)
	}
	cfg := &Config{Indent: DefaultIndent}
	if p := fc.Stores.YAML.Indent; p != nil {
		if *p < 0 {
			return nil, fmt.Errorf("parsing .sops.yaml: stores.yaml.indent is %d; it must not be negative", *p)
		}
		if *p > 0 {
			cfg.Indent = *p
		}
	}
	for i, fr := range fc.CreationRules {
		r, err := fr.rule()
		if err != nil {
			return nil, fmt.Errorf("parsing .sops.yaml: creation rule %d (path_regex %q): %w", i+1, fr.PathRegex, err)
		}
		cfg.Rules = append(cfg.Rules, r)
	}
	return cfg, nil
}

func (fr fileRule) rule() (Rule, error) {
	r := Rule{
		PathRegex:               fr.PathRegex,
		EncryptedRegex:          fr.EncryptedRegex,
		UnencryptedRegex:        fr.UnencryptedRegex,
		EncryptedSuffix:         fr.EncryptedSuffix,
		UnencryptedSuffix:       fr.UnencryptedSuffix,
		EncryptedCommentRegex:   fr.EncryptedCommentRegex,
		UnencryptedCommentRegex: fr.UnencryptedCommentRegex,
		MACOnlyEncrypted:        fr.MACOnlyEncrypted,
		ShamirThreshold:         fr.ShamirThreshold,
	}
	if _, err := regexp.Compile(fr.PathRegex); err != nil {
		return Rule{}, fmt.Errorf("path_regex: %w", err)
	}
	for name, re := range map[string]string{
		"encrypted_regex":           fr.EncryptedRegex,
		"unencrypted_regex":         fr.UnencryptedRegex,
		"encrypted_comment_regex":   fr.EncryptedCommentRegex,
		"unencrypted_comment_regex": fr.UnencryptedCommentRegex,
	} {
		if _, err := regexp.Compile(re); err != nil {
			return Rule{}, fmt.Errorf("%s: %w", name, err)
		}
	}
	if n := r.selectorCount(); n > 1 {
		return Rule{}, errors.New("set at most one of encrypted_regex, unencrypted_regex, encrypted_suffix, unencrypted_suffix, encrypted_comment_regex and unencrypted_comment_regex")
	}
	unsupported := map[string]bool{}
	if len(fr.KeyGroups) > 0 {
		// sops ignores the top-level key fields when key_groups is set.
		for gi, fg := range fr.KeyGroups {
			group, err := fg.recipients(unsupported)
			if err != nil {
				return Rule{}, fmt.Errorf("key group %d: %w", gi+1, err)
			}
			r.KeyGroups = append(r.KeyGroups, group)
		}
	} else {
		recipients, err := stringList(fr.Age)
		if err != nil {
			return Rule{}, fmt.Errorf("age: %w", err)
		}
		group, err := splitRecipients(recipients)
		if err != nil {
			return Rule{}, err
		}
		if len(group) > 0 {
			r.KeyGroups = [][]string{group}
		}
		markUnsupported(fr.Other, unsupported)
	}
	for _, t := range otherKeyTypes {
		if unsupported[t] {
			r.UnsupportedKeys = append(r.UnsupportedKeys, t)
		}
	}
	if err := r.checkThreshold(); err != nil {
		return Rule{}, err
	}
	return r, nil
}

// checkThreshold rejects a shamir_threshold the library cannot split the
// data key with: with several key groups it must be 0 (all groups) or
// between 2 and the number of groups.
func (r *Rule) checkThreshold() error {
	n, t := len(r.KeyGroups), r.ShamirThreshold
	if t < 0 || (n > 1 && (t == 1 || t > n)) {
		return fmt.Errorf("shamir_threshold %d does not fit %d key groups; use 0 (all groups) or 2 to %d", t, n, max(n, 2))
	}
	return nil
}

func (fg fileKeyGroup) recipients(unsupported map[string]bool) ([]string, error) {
	var out []string
	for _, m := range fg.Merge {
		sub, err := m.recipients(unsupported)
		if err != nil {
			return nil, err
		}
		out = append(out, sub...)
	}
	entries, err := stringList(fg.Age)
	if err != nil {
		return nil, fmt.Errorf("age: %w", err)
	}
	own, err := splitRecipients(entries)
	if err != nil {
		return nil, err
	}
	markUnsupported(fg.Other, unsupported)
	return dedupe(append(out, own...)), nil
}

// markUnsupported records which non-age key fields carry a value.
func markUnsupported(fields map[string]any, into map[string]bool) {
	for _, t := range otherKeyTypes {
		v, ok := fields[t]
		if !ok || v == nil {
			continue
		}
		if s, isString := v.(string); isString && strings.TrimSpace(s) == "" {
			continue
		}
		if l, isList := v.([]any); isList && len(l) == 0 {
			continue
		}
		into[t] = true
	}
}

// stringList reads a key field written either as one comma-separated string
// or as a list of strings, as sops accepts both.
func stringList(v any) ([]string, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case string:
		return []string{v}, nil
	case []any:
		out := make([]string, 0, len(v))
		for _, item := range v {
			s, ok := item.(string)
			if !ok {
				return nil, fmt.Errorf("expected a list of strings, found %T in it", item)
			}
			out = append(out, s)
		}
		return out, nil
	default:
		return nil, fmt.Errorf("expected a string or a list of strings, found %T", v)
	}
}

// splitRecipients splits comma-separated entries, drops blanks and checks
// that each recipient parses as sops would parse it.
func splitRecipients(entries []string) ([]string, error) {
	var out []string
	for _, e := range entries {
		for _, r := range strings.Split(e, ",") {
			r = strings.TrimSpace(r)
			if r == "" {
				continue
			}
			if _, err := sopsage.MasterKeyFromRecipient(r); err != nil {
				return nil, fmt.Errorf("age recipient %q: %w", r, err)
			}
			out = append(out, r)
		}
	}
	return dedupe(out), nil
}

func dedupe(in []string) []string {
	seen := make(map[string]bool, len(in))
	out := in[:0]
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func (r *Rule) selectorCount() int {
	n := 0
	for _, s := range []string{r.EncryptedRegex, r.UnencryptedRegex, r.EncryptedSuffix, r.UnencryptedSuffix, r.EncryptedCommentRegex, r.UnencryptedCommentRegex} {
		if s != "" {
			n++
		}
	}
	return n
}

// Recipients returns every age recipient of the rule, across key groups, in
// order and without repeats.
func (r *Rule) Recipients() []string {
	var all []string
	for _, g := range r.KeyGroups {
		all = append(all, g...)
	}
	return dedupe(all)
}

// RuleFor returns the first rule whose path_regex matches relPath
// (slash-separated, relative to the directory holding .sops.yaml). Like sops,
// the regex is unanchored and an empty path_regex matches everything. When no
// rule matches, the error wraps ErrNoRule and lists the regexes it tried.
func (c *Config) RuleFor(relPath string) (*Rule, error) {
	p := strings.TrimPrefix(path.Clean(strings.ReplaceAll(relPath, `\`, "/")), "./")
	tried := make([]string, 0, len(c.Rules))
	for i := range c.Rules {
		r := &c.Rules[i]
		if r.PathRegex == "" {
			return r, nil
		}
		re, err := regexp.Compile(r.PathRegex)
		if err != nil {
			return nil, fmt.Errorf("creation rule %d: path_regex %q: %w", i+1, r.PathRegex, err)
		}
		if re.MatchString(p) {
			return r, nil
		}
		tried = append(tried, fmt.Sprintf("%q", r.PathRegex))
	}
	if len(tried) == 0 {
		return nil, fmt.Errorf("%w %q: .sops.yaml has no creation_rules; add one whose path_regex matches it", ErrNoRule, p)
	}
	return nil, fmt.Errorf("%w %q: path_regex values are %s; add or widen a rule in .sops.yaml", ErrNoRule, p, strings.Join(tried, ", "))
}
