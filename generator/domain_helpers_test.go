package generator_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"filippo.io/age"
	"go.yaml.in/yaml/v3"

	"github.com/gen-gitops/gen/generator"
	"github.com/gen-gitops/gen/internal/repo"
	"github.com/gen-gitops/gen/internal/secrets"
	"github.com/gen-gitops/gen/internal/sops"
	"github.com/gen-gitops/gen/internal/testutil"
)

// testStore is the SecretStore the tests use: the repository's .sops.yaml
// and explicit keys, as the CLI's store with a key file.
type testStore struct {
	cfg    *sops.Config
	sealer *secrets.Sealer
	ids    *sops.Identities
	idsErr error
}

func newTestStore(t testing.TB, r *repo.Repo, ids *sops.Identities) *testStore {
	t.Helper()
	s := &testStore{ids: ids}
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

func (s *testStore) rule(path string) error {
	if s.cfg == nil {
		return nil
	}
	_, err := s.cfg.RuleFor(path)
	return err
}

func (s *testStore) Seal(path string, plain []byte) ([]byte, error) {
	return s.sealer.Seal(path, plain)
}

func (s *testStore) Values(path string, data []byte) (map[string]string, error) {
	if err := s.rule(path); err != nil {
		return nil, err
	}
	if s.idsErr != nil {
		return nil, s.idsErr
	}
	return secrets.Values(data, s.ids)
}

func (s *testStore) Edit(path string, data []byte, set map[string]string, remove []string) ([]byte, error) {
	if err := s.rule(path); err != nil {
		return nil, err
	}
	if s.idsErr != nil {
		return nil, s.idsErr
	}
	return sops.Edit(data, s.ids, set, remove)
}

// fixture is a repository in memory with the age key that opens its
// cluster-secrets.
type fixture struct {
	r       *repo.Repo
	ids     *sops.Identities
	keyFile string
}

func (f fixture) store(t testing.TB) *testStore { return newTestStore(t, f.r, f.ids) }

func exampleFixture(t testing.TB) fixture {
	t.Helper()
	r, err := repo.Load(testutil.ExampleRepo(t), repo.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return fixture{r: r, ids: keyFileIdentities(t, testutil.ExampleAgeKey(t)), keyFile: testutil.ExampleAgeKey(t)}
}

// stockFixture is the single-domain repository of a fresh
// cluster-template checkout, encrypted to the example key.
func stockFixture(t testing.TB) fixture {
	t.Helper()
	r, err := repo.Load(filepath.Join("testdata", "onboard", "stock-repo"), repo.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return fixture{r: r, ids: keyFileIdentities(t, testutil.ExampleAgeKey(t)), keyFile: testutil.ExampleAgeKey(t)}
}

// antonValues are the placeholder values the anton copy's cluster-secrets
// is re-encrypted with.
var antonValues = map[string]string{
	"SECRET_DOMAIN":       "alpha.example",
	"SECRET_DOMAIN_TWO":   "beta.example",
	"SECRET_DOMAIN_THREE": "gamma.example",
	"TAILNET_SUFFIX":      "tail0000.ts.net",
}

// antonFixture copies the anton corpus into memory and re-encrypts its
// cluster-secrets (encrypted to a key nobody here has) to a key made for
// the test, with placeholder values for the same variables.
func antonFixture(t testing.TB) fixture {
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
	return fixture{r: r, ids: keyFileIdentities(t, keyFile), keyFile: keyFile}
}

func keyFileIdentities(t testing.TB, keyFile string) *sops.Identities {
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

// overlay returns files with cs applied.
func overlay(files map[string][]byte, cs *generator.Changeset) map[string][]byte {
	out := make(map[string][]byte, len(files))
	for p, d := range files {
		out[p] = d
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

var findSops = sync.OnceValue(func() string {
	if p, err := exec.LookPath("sops"); err == nil {
		return p
	}
	if out, err := exec.Command(filepath.Join("..", "scripts", "tools.sh"), "bindir").Output(); err == nil {
		p := filepath.Join(strings.TrimSpace(string(out)), "sops")
		if st, err := os.Stat(p); err == nil && st.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
})

func sopsCLI(t *testing.T) string {
	t.Helper()
	p := findSops()
	if p == "" {
		msg := "sops CLI not found on PATH nor where scripts/tools.sh installs it; run scripts/tools.sh test"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return p
}

// sopsDecrypt runs `sops --decrypt` on data as the file rel and returns the
// Secret's stringData.
func sopsDecrypt(t *testing.T, keyFile, rel string, data []byte) map[string]string {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(sopsCLI(t), "--decrypt", p)
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

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
