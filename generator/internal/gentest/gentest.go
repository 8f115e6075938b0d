// Package gentest holds what the generator packages' tests share: the
// example repository and its age key, repositories with the key that opens
// their cluster-secrets, the secret store the CLI builds, and the sops CLI
// for interop checks. Only tests import it.
package gentest

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"filippo.io/age"
	"go.yaml.in/yaml/v3"

	"github.com/gen-gitops/gen/generator"
	"github.com/gen-gitops/gen/internal/repo"
	"github.com/gen-gitops/gen/internal/schema"
	"github.com/gen-gitops/gen/internal/secrets"
	"github.com/gen-gitops/gen/internal/sops"
	"github.com/gen-gitops/gen/internal/testutil"
)

// ExampleDomains are the values the example repository's cluster-secrets
// hold; tests that do not decrypt pass them like --domain does.
var ExampleDomains = map[string]string{"SECRET_DOMAIN": "example.com", "SECRET_DOMAIN_TWO": "example.org"}

// LoadExample loads the example repository with ExampleDomains.
func LoadExample(t testing.TB) *repo.Repo {
	t.Helper()
	r, err := repo.Load(testutil.ExampleRepo(t), repo.LoadOptions{Domains: ExampleDomains})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// LoadRepo loads the repository at dir with ExampleDomains.
func LoadRepo(t testing.TB, dir string) *repo.Repo {
	t.Helper()
	r, err := repo.Load(dir, repo.LoadOptions{Domains: ExampleDomains})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// ExampleIdentities are the age identities of the example repository's key.
func ExampleIdentities(t testing.TB) *sops.Identities {
	t.Helper()
	key := testutil.ExampleAgeKey(t)
	ids, err := sops.LoadIdentities(func(k string) string {
		if k == "SOPS_AGE_KEY_FILE" {
			return key
		}
		if k == "HOME" || k == "XDG_CONFIG_HOME" {
			return t.TempDir()
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// ExampleSealer is the sealer of r with the example key.
func ExampleSealer(t testing.TB, r *repo.Repo) *secrets.Sealer {
	t.Helper()
	s, err := secrets.NewSealer(r, ExampleIdentities(t))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Store is the SecretStore the tests use: the repository's .sops.yaml and
// explicit keys, as the CLI's store with a key file.
type Store struct {
	cfg    *sops.Config
	sealer *secrets.Sealer
	ids    *sops.Identities
	// IDsErr, when set, is what reading the keys failed with.
	IDsErr error
}

// NewStore returns the store of r with the identities ids.
func NewStore(t testing.TB, r *repo.Repo, ids *sops.Identities) *Store {
	t.Helper()
	s := &Store{ids: ids}
	if data, ok := r.Files[".sops.yaml"]; ok {
		cfg, err := sops.ParseConfig(data)
		if err != nil {
			t.Fatal(err)
		}
		s.cfg = cfg
		if s.sealer, err = secrets.NewSealer(r, ids); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func (s *Store) rule(path string) error {
	if s.cfg == nil {
		return nil
	}
	_, err := s.cfg.RuleFor(path)
	return err
}

// Seal encrypts plain by the creation rule of path.
func (s *Store) Seal(path string, plain []byte) ([]byte, error) {
	return s.sealer.Seal(path, plain)
}

// Values decrypts the Secret in data.
func (s *Store) Values(path string, data []byte) (map[string]string, error) {
	if err := s.rule(path); err != nil {
		return nil, err
	}
	if s.IDsErr != nil {
		return nil, s.IDsErr
	}
	return secrets.Values(data, s.ids)
}

// Edit sets and removes keys of the Secret in data.
func (s *Store) Edit(path string, data []byte, set map[string]string, remove []string) ([]byte, error) {
	if err := s.rule(path); err != nil {
		return nil, err
	}
	if s.IDsErr != nil {
		return nil, s.IDsErr
	}
	return sops.Edit(data, s.ids, set, remove)
}

// Fixture is a repository in memory with the age key that opens its
// cluster-secrets.
type Fixture struct {
	Repo    *repo.Repo
	IDs     *sops.Identities
	KeyFile string
}

// Model is the repository as generators read it.
func (f Fixture) Model() *generator.Repo { return f.Repo.Model() }

// Store is the fixture's secret store.
func (f Fixture) Store(t testing.TB) *Store { return NewStore(t, f.Repo, f.IDs) }

// ExampleFixture is the example repository with its key.
func ExampleFixture(t testing.TB) Fixture {
	t.Helper()
	r, err := repo.Load(testutil.ExampleRepo(t), repo.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return Fixture{Repo: r, IDs: KeyFileIdentities(t, testutil.ExampleAgeKey(t)), KeyFile: testutil.ExampleAgeKey(t)}
}

// StockRepo is the single-domain repository of a fresh cluster-template
// checkout, encrypted to the example key.
func StockRepo(t testing.TB) string {
	return filepath.Join(testutil.ModuleRoot(t), "generator", "domains", "testdata", "onboard", "stock-repo")
}

// StockFixture is StockRepo with the example key.
func StockFixture(t testing.TB) Fixture {
	t.Helper()
	r, err := repo.Load(StockRepo(t), repo.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return Fixture{Repo: r, IDs: KeyFileIdentities(t, testutil.ExampleAgeKey(t)), KeyFile: testutil.ExampleAgeKey(t)}
}

// antonValues are the placeholder values the anton copy's cluster-secrets
// is re-encrypted with.
var antonValues = map[string]string{
	"SECRET_DOMAIN":       "alpha.example",
	"SECRET_DOMAIN_TWO":   "beta.example",
	"SECRET_DOMAIN_THREE": "gamma.example",
	"TAILNET_SUFFIX":      "tail0000.ts.net",
}

// AntonFixture copies the anton corpus into memory and re-encrypts its
// cluster-secrets (encrypted to a key nobody here has) to a key made for
// the test, with placeholder values for the same variables.
func AntonFixture(t testing.TB) Fixture {
	t.Helper()
	files, err := repo.ReadFiles(os.DirFS(testutil.AntonCorpus(t)))
	if err != nil {
		t.Fatal(err)
	}
	key, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	const secretsPath = "kubernetes/components/sops/cluster-secrets.sops.yaml"
	keys, err := sops.Keys(files[secretsPath])
	if err != nil {
		t.Fatal(err)
	}
	var plain strings.Builder
	plain.WriteString("apiVersion: v1\nkind: Secret\nmetadata:\n  name: cluster-secrets\nstringData:\n")
	for _, k := range keys {
		v, ok := antonValues[k]
		if !ok {
			t.Fatalf("anton's cluster-secrets has %s, which the test has no placeholder for", k)
		}
		plain.WriteString("  " + k + ": " + v + "\n")
	}
	old, err := sops.ParseConfig(files[".sops.yaml"])
	if err != nil {
		t.Fatal(err)
	}
	for _, rule := range old.Rules {
		for _, r := range rule.Recipients() {
			files[".sops.yaml"] = bytes.ReplaceAll(files[".sops.yaml"], []byte(r), []byte(key.Recipient().String()))
		}
	}
	cfg, err := sops.ParseConfig(files[".sops.yaml"])
	if err != nil {
		t.Fatal(err)
	}
	rule, err := cfg.RuleFor(secretsPath)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := sops.Encrypt([]byte(plain.String()), rule, cfg.Indent)
	if err != nil {
		t.Fatal(err)
	}
	files[secretsPath] = enc
	r, err := repo.FromFiles(files, repo.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "keys.txt")
	if err := os.WriteFile(keyFile, []byte(key.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return Fixture{Repo: r, IDs: KeyFileIdentities(t, keyFile), KeyFile: keyFile}
}

// KeyFileIdentities are the identities of the age key file keyFile, found
// as sops finds them.
func KeyFileIdentities(t testing.TB, keyFile string) *sops.Identities {
	t.Helper()
	home := t.TempDir()
	ids, err := sops.LoadIdentities(func(k string) string {
		switch k {
		case "SOPS_AGE_KEY_FILE":
			return keyFile
		case "HOME":
			return home
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// Overlay returns files with cs applied.
func Overlay(files map[string][]byte, cs *generator.Changeset) map[string][]byte {
	out := maps.Clone(files)
	if out == nil {
		out = map[string][]byte{}
	}
	for _, f := range cs.Files {
		if f.Delete {
			delete(out, f.Path)
		} else {
			out[f.Path] = f.Content
		}
	}
	return out
}

// Finding the sops CLI: PATH, then where scripts/tools.sh installs it. Under
// CI=true a missing CLI fails the test; elsewhere it skips.

var (
	sopsOnce sync.Once
	sopsPath string
)

// SopsCLI returns the path of the sops CLI, or skips the test (fails it
// under CI=true) when there is none.
func SopsCLI(t *testing.T) string {
	t.Helper()
	root := testutil.ModuleRoot(t)
	sopsOnce.Do(func() { sopsPath = lookSops(root) })
	if sopsPath == "" {
		msg := "sops CLI not found on PATH nor where scripts/tools.sh installs it; run scripts/tools.sh test"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return sopsPath
}

func lookSops(root string) string {
	if p, err := exec.LookPath("sops"); err == nil {
		return p
	}
	if out, err := exec.Command(filepath.Join(root, "scripts", "tools.sh"), "bindir").Output(); err == nil {
		p := filepath.Join(strings.TrimSpace(string(out)), "sops")
		if st, err := os.Stat(p); err == nil && st.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// SopsDecrypt runs `sops --decrypt` on data as the file rel and returns the
// Secret's stringData.
func SopsDecrypt(t *testing.T, keyFile, rel string, data []byte) map[string]string {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(SopsCLI(t), "--decrypt", p)
	cmd.Dir = dir
	cmd.Env = []string{"SOPS_AGE_KEY_FILE=" + keyFile, "HOME=" + dir, "PATH=" + os.Getenv("PATH")}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sops --decrypt %s: %v\n%s", rel, err, stderr.String())
	}
	var doc struct {
		StringData map[string]string `yaml:"stringData"`
	}
	if err := yaml.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.StringData
}

// DecryptedView is the Secret in data decrypted with the fixture's key:
// its name, the order of its keys in the file, and its values, sorted.
func DecryptedView(t testing.TB, f Fixture, data []byte) []byte {
	t.Helper()
	values, err := secrets.Values(data, f.IDs)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	var meta struct {
		Metadata struct{ Name string } `yaml:"metadata"`
	}
	if err := yaml.Unmarshal(data, &meta); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "# Secret %s, decrypted by the test; keys in file order: %s\n", meta.Metadata.Name, KeyOrder(data))
	for _, k := range slices.Sorted(maps.Keys(values)) {
		fmt.Fprintf(&b, "%s: %q\n", k, values[k])
	}
	return []byte(b.String())
}

// KeyOrder lists the encrypted keys of a SOPS file in file order.
func KeyOrder(data []byte) []byte {
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		if k, _, ok := strings.Cut(strings.TrimSpace(l), ": ENC["); ok && !strings.HasPrefix(k, "mac") {
			out = append(out, k)
		}
	}
	return []byte(strings.Join(out, ","))
}

// WithFiles returns the fixture with some files replaced (nil removes).
func WithFiles(t testing.TB, f Fixture, change map[string][]byte) Fixture {
	t.Helper()
	files := maps.Clone(f.Repo.Files)
	for p, d := range change {
		if d == nil {
			delete(files, p)
		} else {
			files[p] = d
		}
	}
	r, err := repo.FromFiles(files, repo.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return Fixture{Repo: r, IDs: f.IDs, KeyFile: f.KeyFile}
}

// EncryptedLine returns the line of a SOPS file that holds key.
func EncryptedLine(data []byte, key string) string {
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), key+": ENC[") {
			return l
		}
	}
	return ""
}

// ReplaceIn returns the file of the fixture with the first old replaced by
// new, for WithFiles; old must be there.
func ReplaceIn(t testing.TB, f Fixture, file, old, new string) map[string][]byte {
	t.Helper()
	data := f.Repo.Files[file]
	if !bytes.Contains(data, []byte(old)) {
		t.Fatalf("%s does not contain %q", file, old)
	}
	return map[string][]byte{file: bytes.Replace(data, []byte(old), []byte(new), 1)}
}

// AssertStrict decodes every document of a generated file into its API
// type: an unknown or misspelt field fails.
func AssertStrict(t testing.TB, p string, content []byte) {
	t.Helper()
	for i, doc := range strings.Split(string(content), "\n---\n") {
		if strings.TrimSpace(strings.TrimPrefix(doc, "---")) == "" {
			continue
		}
		known, err := schema.DecodeYAML([]byte(doc))
		if err != nil {
			t.Fatalf("%s document %d: %v", p, i, err)
		}
		base := filepath.Base(p)
		if !known && base != "kustomization.yaml" {
			t.Fatalf("%s document %d: gen wrote a kind it cannot check", p, i)
		}
	}
}
