// Package sops encrypts, decrypts and edits SOPS-encrypted Kubernetes YAML
// in process, with age keys, producing and reading the same files as the
// sops CLI (v3.13.3) and Flux.
//
// It drives the getsops/sops/v3 library's tree, key-group and store types
// directly, because the library has no public encrypt function and its
// decrypt package reads keys from the process environment. Keys are always
// passed explicitly: LoadIdentities finds them where the CLI would, from an
// injected environment lookup, and an internal key service hands them to the
// library (see ageKeyService). Only age keys are supported.
//
// Importing the library has two side effects shared with the CLI: its init
// reads /etc/sops/audit.yaml when that file exists, and its loggers print
// warnings to stderr.
package sops

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/getsops/sops/v3"
	"github.com/getsops/sops/v3/aes"
	sopsage "github.com/getsops/sops/v3/age"
	sopsconfig "github.com/getsops/sops/v3/config"
	"github.com/getsops/sops/v3/keyservice"
	sopsyaml "github.com/getsops/sops/v3/stores/yaml"
	"github.com/getsops/sops/v3/version"
	"go.yaml.in/yaml/v3"
)

var (
	// ErrMACMismatch is returned (wrapped) when a file's values do not match
	// its MAC: it was changed by something other than sops, or is damaged.
	ErrMACMismatch = errors.New("mac mismatch")
	// ErrNotEncrypted is returned (wrapped) when a file has no sops
	// metadata.
	ErrNotEncrypted = errors.New("not a sops-encrypted file")
	// ErrNotRecipient is returned (wrapped) when none of the given age keys
	// is a recipient of the file (or too few, for a Shamir threshold).
	ErrNotRecipient = errors.New("no matching age key")
	// ErrAlreadyEncrypted is returned (wrapped) by Encrypt when the input
	// already carries a sops metadata block.
	ErrAlreadyEncrypted = errors.New("already encrypted")
)

// Option adjusts Encrypt, Decrypt and Edit.
type Option func(*options)

type options struct {
	now    func() time.Time
	indent int
}

// WithClock sets the clock that stamps lastmodified (the time the MAC is
// bound to). It defaults to time.Now; tests pass a fixed time.
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

// WithIndent sets the indentation of the YAML that Decrypt and Edit write.
// By default they keep the indentation of their input. Encrypt takes its
// indentation as an argument and ignores this option.
func WithIndent(n int) Option {
	return func(o *options) { o.indent = n }
}

func newOptions(opts []Option) options {
	o := options{now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

func newStore(indent int) (*sopsyaml.Store, error) {
	if indent < 0 {
		return nil, fmt.Errorf("yaml indent %d must not be negative", indent)
	}
	if indent == 0 {
		indent = DefaultIndent
	}
	return sopsyaml.NewStore(&sopsconfig.YAMLStoreConfig{Indent: indent}), nil
}

// Encrypt encrypts a plaintext YAML document (a Kubernetes Secret) for the
// age recipients of rule, selecting values by the rule's
// encrypted/unencrypted regex or suffix (the CLI's default, an
// "_unencrypted" suffix, when the rule sets none). The output is what the
// sops CLI writes for the same input and .sops.yaml: keys readable, values
// ENC[AES256_GCM,...], and a trailing sops: block with the recipients,
// lastmodified, mac, the selector, mac_only_encrypted and version, indented
// with indent spaces (DefaultIndent when 0).
func Encrypt(plain []byte, rule *Rule, indent int, opts ...Option) ([]byte, error) {
	o := newOptions(opts)
	if rule == nil {
		return nil, errors.New("encrypting: no creation rule given")
	}
	if len(rule.UnsupportedKeys) > 0 {
		return nil, fmt.Errorf("encrypting: the creation rule for %q also lists %s keys, which gen cannot encrypt to; use the sops CLI",
			rule.PathRegex, strings.Join(rule.UnsupportedKeys, ", "))
	}
	if len(rule.KeyGroups) == 0 {
		return nil, fmt.Errorf("encrypting: the creation rule for %q has no age recipients; add `age:` to it in .sops.yaml", rule.PathRegex)
	}
	if err := rule.checkThreshold(); err != nil {
		return nil, fmt.Errorf("encrypting: %w", err)
	}
	store, err := newStore(indent)
	if err != nil {
		return nil, fmt.Errorf("encrypting: %w", err)
	}
	branches, err := store.LoadPlainFile(plain)
	if err != nil {
		return nil, fmt.Errorf("encrypting: parsing the plaintext: %w", err)
	}
	if len(branches) == 0 {
		return nil, errors.New("encrypting: the document is empty")
	}
	if store.HasSopsTopLevelKey(branches[0]) {
		return nil, fmt.Errorf("encrypting: %w: the document has a top-level sops: key", ErrAlreadyEncrypted)
	}
	md := sops.Metadata{
		EncryptedRegex:          rule.EncryptedRegex,
		UnencryptedRegex:        rule.UnencryptedRegex,
		EncryptedSuffix:         rule.EncryptedSuffix,
		UnencryptedSuffix:       rule.UnencryptedSuffix,
		EncryptedCommentRegex:   rule.EncryptedCommentRegex,
		UnencryptedCommentRegex: rule.UnencryptedCommentRegex,
		MACOnlyEncrypted:        rule.MACOnlyEncrypted,
		ShamirThreshold:         rule.ShamirThreshold,
		Version:                 version.Version,
	}
	if rule.selectorCount() == 0 {
		md.UnencryptedSuffix = sops.DefaultUnencryptedSuffix
	}
	for gi, recipients := range rule.KeyGroups {
		if len(recipients) == 0 {
			return nil, fmt.Errorf("encrypting: key group %d of the creation rule for %q is empty", gi+1, rule.PathRegex)
		}
		group := make(sops.KeyGroup, 0, len(recipients))
		for _, r := range recipients {
			mk, err := sopsage.MasterKeyFromRecipient(r)
			if err != nil {
				return nil, fmt.Errorf("encrypting: age recipient %q: %w", r, err)
			}
			group = append(group, mk)
		}
		md.KeyGroups = append(md.KeyGroups, group)
	}
	tree := sops.Tree{Branches: branches, Metadata: md}
	dataKey, errs := tree.GenerateDataKeyWithKeyServices([]keyservice.KeyServiceClient{ageKeyService{}})
	if len(errs) > 0 {
		return nil, fmt.Errorf("encrypting: wrapping the data key for the recipients: %w", errors.Join(errs...))
	}
	if err := seal(&tree, dataKey, aes.NewCipher(), o.now()); err != nil {
		return nil, fmt.Errorf("encrypting: %w", err)
	}
	out, err := store.EmitEncryptedFile(tree)
	if err != nil {
		return nil, fmt.Errorf("encrypting: writing yaml: %w", err)
	}
	return out, nil
}

// seal encrypts every selected value of tree and stores the MAC, bound to
// the lastmodified time, as the CLI does after encrypting or editing.
func seal(tree *sops.Tree, dataKey []byte, cipher sops.Cipher, now time.Time) error {
	mac, err := tree.Encrypt(dataKey, cipher)
	if err != nil {
		return fmt.Errorf("encrypting values: %w", err)
	}
	tree.Metadata.LastModified = now.UTC().Truncate(time.Second)
	tree.Metadata.MessageAuthenticationCode, err = cipher.Encrypt(mac, dataKey, tree.Metadata.LastModified.Format(time.RFC3339))
	if err != nil {
		return fmt.Errorf("encrypting the mac: %w", err)
	}
	return nil
}

// open loads an encrypted document, recovers its data key with ids, decrypts
// its values in place and checks the MAC. The returned cipher remembers the
// IV of every value it decrypted, so re-encrypting an unchanged value with it
// gives back the same ciphertext.
func open(store *sopsyaml.Store, data []byte, ids *Identities) (*sops.Tree, []byte, sops.Cipher, error) {
	if ids.Len() == 0 {
		return nil, nil, nil, fmt.Errorf("%w: none given; load them with LoadIdentities", ErrNoIdentity)
	}
	tree, err := store.LoadEncryptedFile(data)
	if errors.Is(err, sops.MetadataNotFound) {
		return nil, nil, nil, fmt.Errorf("%w: it has no sops: metadata block", ErrNotEncrypted)
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("reading the encrypted document: %w", err)
	}
	if err := checkRecipients(tree.Metadata, ids); err != nil {
		return nil, nil, nil, err
	}
	dataKey, err := tree.Metadata.GetDataKeyWithKeyServices([]keyservice.KeyServiceClient{ageKeyService{ids: ids.ids}}, nil)
	if err != nil {
		var detail sops.UserError
		if errors.As(err, &detail) {
			err = userError{err: err, text: detail.UserError()}
		}
		return nil, nil, nil, fmt.Errorf("recovering the data key with the age keys from %s: %w", strings.Join(ids.Sources, ", "), err)
	}
	cipher := aes.NewCipher()
	computed, err := tree.Decrypt(dataKey, cipher)
	if err != nil {
		if strings.Contains(err.Error(), "does not match sops' data format") {
			// The library's text quotes the value, which is a secret
			// someone pasted in plain text.
			return nil, nil, nil, errors.New("decrypting values: a value that should be encrypted is plain text (added by hand?); remove it and set it with gen or sops")
		}
		return nil, nil, nil, fmt.Errorf("decrypting values: a value does not decrypt with the file's data key, so the file was changed outside sops or is damaged: %w", err)
	}
	stored, err := cipher.Decrypt(tree.Metadata.MessageAuthenticationCode, dataKey, tree.Metadata.LastModified.Format(time.RFC3339))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w: the stored mac does not decrypt (%v); the file was changed outside sops or is damaged", ErrMACMismatch, err)
	}
	if s, _ := stored.(string); s != computed {
		return nil, nil, nil, fmt.Errorf("%w: the values do not match the stored mac; the file was changed outside sops or is damaged", ErrMACMismatch)
	}
	return &tree, dataKey, cipher, nil
}

// userError shows the library's multi-line report (which names every key
// group and key that failed) on one line, in place of its terse Error text.
type userError struct {
	err  error
	text string
}

func (e userError) Error() string {
	words := strings.Fields(e.text)
	out := words[:0]
	for _, w := range words {
		if w != "|" {
			out = append(out, w)
		}
	}
	return strings.Join(out, " ")
}

func (e userError) Unwrap() error { return e.err }

// checkRecipients tells, before any decryption is tried, when the held keys
// cannot open the file: no key group (or too few of them, under a Shamir
// threshold) lists one of their public keys. The error names both sides so
// the user sees which key is missing.
func checkRecipients(md sops.Metadata, ids *Identities) error {
	held := make(map[string]bool, len(ids.recipients))
	for _, r := range ids.recipients {
		held[r] = true
	}
	var all []string
	opened := 0
	for _, g := range md.KeyGroups {
		ok := false
		for _, k := range g {
			name := k.ToString()
			if k.TypeToIdentifier() != sopsage.KeyTypeIdentifier {
				name = k.TypeToIdentifier() + " " + name
			}
			all = append(all, name)
			ok = ok || held[k.ToString()]
		}
		if ok {
			opened++
		}
	}
	need := 1
	if n := len(md.KeyGroups); n > 1 {
		need = n
		if md.ShamirThreshold > 0 {
			need = md.ShamirThreshold
		}
	}
	if opened >= need {
		return nil
	}
	if len(md.KeyGroups) > 1 {
		return fmt.Errorf("%w: the age keys from %s (%s) are recipients in %d of %d key groups, and the file needs %d; its recipients are %s",
			ErrNotRecipient, strings.Join(ids.Sources, ", "), strings.Join(ids.recipients, ", "), opened, len(md.KeyGroups), need, strings.Join(all, ", "))
	}
	return fmt.Errorf("%w: the file is encrypted for %s, and the age keys from %s are for %s; use the private key of one of the file's recipients",
		ErrNotRecipient, strings.Join(all, ", "), strings.Join(ids.Sources, ", "), strings.Join(ids.recipients, ", "))
}

// Decrypt returns the plaintext of an encrypted document, indented like the
// input unless WithIndent says otherwise. A MAC that does not verify is an
// error wrapping ErrMACMismatch.
func Decrypt(data []byte, ids *Identities, opts ...Option) ([]byte, error) {
	o := newOptions(opts)
	store, err := newStore(o.indentFor(data))
	if err != nil {
		return nil, fmt.Errorf("decrypting: %w", err)
	}
	tree, _, _, err := open(store, data, ids)
	if err != nil {
		return nil, fmt.Errorf("decrypting: %w", err)
	}
	out, err := store.EmitPlainFile(tree.Branches)
	if err != nil {
		return nil, fmt.Errorf("decrypting: writing yaml: %w", err)
	}
	return out, nil
}

func (o options) indentFor(data []byte) int {
	if o.indent != 0 {
		return o.indent
	}
	return detectIndent(data)
}

// Edit sets keys under stringData or data of an encrypted Secret and removes
// the keys in remove, then re-encrypts with the same data key and writes a
// fresh MAC and lastmodified. Every value left alone keeps its exact
// ciphertext, so a diff shows only what changed; the recipients are kept.
//
// A key that exists is updated where it is (base64-encoded under data); a new
// key goes under stringData, or under data (base64-encoded) when the Secret
// has data and no stringData. Removing a key that is in neither is an error.
// When nothing changes, data is returned as is. The result keeps the input's
// indentation unless WithIndent says otherwise.
func Edit(data []byte, ids *Identities, set map[string]string, remove []string, opts ...Option) ([]byte, error) {
	o := newOptions(opts)
	for _, k := range remove {
		if _, ok := set[k]; ok {
			return nil, fmt.Errorf("editing: key %q is both set and removed", k)
		}
	}
	store, err := newStore(o.indentFor(data))
	if err != nil {
		return nil, fmt.Errorf("editing: %w", err)
	}
	tree, dataKey, cipher, err := open(store, data, ids)
	if err != nil {
		return nil, fmt.Errorf("editing: %w", err)
	}
	doc := secretIndex(tree.Branches)
	if doc < 0 {
		return nil, errors.New("editing: the file holds no document of kind Secret")
	}
	branch := tree.Branches[doc]
	changed := false
	removals := slices.Clone(remove)
	slices.Sort(removals)
	for _, k := range slices.Compact(removals) {
		found := false
		for _, field := range []string{"stringData", "data"} {
			if !hasKey(branch, field, k) {
				continue
			}
			branch, err = branch.Unset([]any{field, k})
			if err != nil {
				return nil, fmt.Errorf("editing: removing %s.%s: %w", field, k, err)
			}
			found, changed = true, true
		}
		if !found {
			return nil, fmt.Errorf("editing: cannot remove %q: it is in neither stringData nor data", k)
		}
	}
	names := make([]string, 0, len(set))
	for k := range set {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		var fields []string
		for _, field := range []string{"stringData", "data"} {
			if hasKey(branch, field, k) {
				fields = append(fields, field)
			}
		}
		if len(fields) == 0 {
			if hasField(branch, "data") && !hasField(branch, "stringData") {
				fields = []string{"data"}
			} else {
				fields = []string{"stringData"}
			}
		}
		for _, field := range fields {
			v := set[k]
			if field == "data" {
				v = base64.StdEncoding.EncodeToString([]byte(v))
			}
			var c bool
			branch, c = branch.Set([]any{field, k}, v)
			changed = changed || c
		}
	}
	if !changed {
		return data, nil
	}
	tree.Branches[doc] = branch
	if err := seal(tree, dataKey, cipher, o.now()); err != nil {
		return nil, fmt.Errorf("editing: %w", err)
	}
	out, err := store.EmitEncryptedFile(*tree)
	if err != nil {
		return nil, fmt.Errorf("editing: writing yaml: %w", err)
	}
	return out, nil
}

// secretIndex returns the index of the first document whose kind is Secret,
// or -1.
func secretIndex(branches sops.TreeBranches) int {
	for i, b := range branches {
		for _, item := range b {
			if item.Key == "kind" && item.Value == "Secret" {
				return i
			}
		}
	}
	return -1
}

func hasField(b sops.TreeBranch, field string) bool {
	for _, item := range b {
		if item.Key == field {
			return true
		}
	}
	return false
}

func hasKey(b sops.TreeBranch, field, key string) bool {
	for _, item := range b {
		if item.Key != field {
			continue
		}
		sub, ok := item.Value.(sops.TreeBranch)
		if !ok {
			return false
		}
		for _, kv := range sub {
			if kv.Key == key {
				return true
			}
		}
	}
	return false
}

// IsEncrypted reports whether data is a sops-encrypted YAML document: one of
// its documents has a top-level sops: mapping with a non-empty mac.
func IsEncrypted(data []byte) bool {
	found := false
	_ = eachDocument(data, func(root *yaml.Node) {
		if md := mapValue(root, "sops"); md != nil {
			if mac := mapValue(md, "mac"); mac != nil && mac.Kind == yaml.ScalarNode && mac.Value != "" {
				found = true
			}
		}
	})
	return found
}

// Keys lists the keys under data and stringData of a Secret, encrypted or
// not, sorted and without repeats. It does not decrypt: sops leaves keys
// readable.
func Keys(data []byte) ([]string, error) {
	var out []string
	err := eachDocument(data, func(root *yaml.Node) {
		for _, field := range []string{"data", "stringData"} {
			m := mapValue(root, field)
			if m == nil || m.Kind != yaml.MappingNode {
				continue
			}
			for i := 0; i+1 < len(m.Content); i += 2 {
				out = append(out, m.Content[i].Value)
			}
		}
	})
	if err != nil {
		return nil, fmt.Errorf("listing secret keys: %w", err)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// eachDocument calls fn with the root mapping of every YAML document in data.
func eachDocument(data []byte, fn func(root *yaml.Node)) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("parsing yaml: %w", err)
		}
		if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 && doc.Content[0].Kind == yaml.MappingNode {
			fn(doc.Content[0])
		}
	}
}

// mapValue returns the value node of key in a mapping node, or nil.
func mapValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// detectIndent returns the indentation of the first nested mapping in data,
// or DefaultIndent when there is none (or data does not parse, in which case
// the caller reports the parse error).
func detectIndent(data []byte) int {
	indent := 0
	_ = eachDocument(data, func(root *yaml.Node) {
		for i := 0; indent == 0 && i+1 < len(root.Content); i += 2 {
			k, v := root.Content[i], root.Content[i+1]
			if v.Kind == yaml.MappingNode && len(v.Content) > 0 && v.Content[0].Line > k.Line {
				indent = v.Content[0].Column - k.Column
			}
		}
	})
	if indent <= 0 {
		return DefaultIndent
	}
	return indent
}
