package sops

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"filippo.io/age"
)

// These tests run the real sops CLI against gen's output and the other way
// round. The CLI comes from PATH or from the folder scripts/tools.sh installs
// into. Under CI=true a missing CLI fails the test; locally it skips.

var findSops = sync.OnceValues(func() (string, []string) {
	if p, err := exec.LookPath("sops"); err == nil {
		return p, nil
	}
	var tried []string
	if root, err := moduleRoot(); err == nil {
		script := filepath.Join(root, "scripts", "tools.sh")
		if out, err := exec.Command(script, "bindir").Output(); err == nil {
			p := filepath.Join(strings.TrimSpace(string(out)), "sops")
			if isExecutable(p) {
				return p, nil
			}
			tried = append(tried, p)
		}
	}
	if cache, err := os.UserCacheDir(); err == nil {
		p := filepath.Join(cache, "gen-tools", "bin", "sops")
		if isExecutable(p) {
			return p, nil
		}
		tried = append(tried, p)
	}
	return "", tried
})

func sopsCLI(t *testing.T) string {
	t.Helper()
	p, tried := findSops()
	if p != "" {
		return p
	}
	msg := "sops CLI not found on PATH"
	if len(tried) > 0 {
		msg += " nor at " + strings.Join(tried, ", ")
	}
	msg += "; run scripts/tools.sh test to install it"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found")
		}
		dir = parent
	}
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// repoFixture is a temporary repository root with a cluster-template
// .sops.yaml and a key file holding the private keys.
type repoFixture struct {
	dir, keyFile, home string
}

func newRepo(t *testing.T, sopsYAML string, keys ...*age.X25519Identity) repoFixture {
	t.Helper()
	dir := t.TempDir()
	var lines []string
	for _, k := range keys {
		lines = append(lines, "# public key: "+k.Recipient().String(), k.String())
	}
	r := repoFixture{
		dir:     filepath.Join(dir, "repo"),
		keyFile: writeFile(t, filepath.Join(dir, "keys.txt"), strings.Join(lines, "\n")+"\n"),
		home:    filepath.Join(dir, "home"),
	}
	writeFile(t, filepath.Join(r.dir, ".sops.yaml"), sopsYAML)
	if err := os.MkdirAll(r.home, 0o755); err != nil {
		t.Fatal(err)
	}
	return r
}

// sops runs the CLI in the repository root with an environment that holds
// nothing but the key file, a throwaway HOME and PATH.
func (r repoFixture) sops(t *testing.T, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(sopsCLI(t), args...)
	cmd.Dir = r.dir
	cmd.Env = []string{
		"HOME=" + r.home,
		"SOPS_AGE_KEY_FILE=" + r.keyFile,
		"PATH=" + os.Getenv("PATH"),
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sops %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// rule parses the fixture's .sops.yaml and picks the rule for rel.
func (r repoFixture) rule(t *testing.T, rel string) (*Rule, int) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(r.dir, ".sops.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		t.Fatal(err)
	}
	rule, err := cfg.RuleFor(rel)
	if err != nil {
		t.Fatal(err)
	}
	return rule, cfg.Indent
}

func (r repoFixture) ids(t *testing.T) *Identities {
	t.Helper()
	ids, err := LoadIdentities(envOf(map[string]string{"SOPS_AGE_KEY_FILE": r.keyFile, "HOME": r.home}))
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

const secretPath = "kubernetes/components/sops/cluster-secrets.sops.yaml"

func TestInteropCLIDecryptsGenOutput(t *testing.T) {
	k := newKey(t)
	repo := newRepo(t, clusterSopsYAML(k), k)
	rule, indent := repo.rule(t, secretPath)
	enc, err := Encrypt([]byte(clusterSecret), rule, indent)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(repo.dir, secretPath), string(enc))

	if got := repo.sops(t, "--decrypt", secretPath); string(got) != clusterSecret {
		t.Errorf("sops --decrypt of gen's file:\n got:\n%s\nwant:\n%s", got, clusterSecret)
	}
}

func TestInteropCLIDecryptsGenKeyGroups(t *testing.T) {
	a, b, c := newKey(t), newKey(t), newKey(t)
	sopsYAML := `creation_rules:
  - path_regex: kubernetes/.*\.sops\.ya?ml
    encrypted_regex: "^(data|stringData)$"
    mac_only_encrypted: true
    shamir_threshold: 2
    key_groups:
      - age: [` + a.Recipient().String() + `]
      - age: [` + b.Recipient().String() + `]
      - age: [` + c.Recipient().String() + `]
stores:
  yaml:
    indent: 2
`
	// The CLI holds two of the three keys: enough for the threshold.
	repo := newRepo(t, sopsYAML, a, c)
	rule, indent := repo.rule(t, secretPath)
	enc, err := Encrypt([]byte(clusterSecret), rule, indent)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(repo.dir, secretPath), string(enc))
	if got := repo.sops(t, "--decrypt", secretPath); string(got) != clusterSecret {
		t.Errorf("sops --decrypt of gen's 2-of-3 file:\n%s", got)
	}
}

func TestInteropGenEditsCLIOutput(t *testing.T) {
	k := newKey(t)
	repo := newRepo(t, clusterSopsYAML(k), k)
	path := filepath.Join(repo.dir, secretPath)
	writeFile(t, path, clusterSecret)
	repo.sops(t, "--encrypt", "--in-place", secretPath)
	cliEnc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ids := repo.ids(t)

	plain, err := Decrypt(cliEnc, ids)
	if err != nil {
		t.Fatalf("gen cannot decrypt the CLI's file: %v", err)
	}
	if string(plain) != clusterSecret {
		t.Errorf("gen's decryption of the CLI's file:\n%s", plain)
	}

	edited, err := Edit(cliEnc, ids, map[string]string{"SECRET_DOMAIN_THREE": "example.net"}, []string{"TIMEZONE"})
	if err != nil {
		t.Fatal(err)
	}
	if a, b := lineWith(t, cliEnc, "SECRET_DOMAIN:"), lineWith(t, edited, "SECRET_DOMAIN:"); a != b {
		t.Errorf("gen re-encrypted a value the CLI wrote and gen did not touch")
	}
	writeFile(t, path, string(edited))

	want := strings.Replace(clusterSecret, "  TIMEZONE: Etc/UTC\n", "  SECRET_DOMAIN_THREE: example.net\n", 1)
	if got := repo.sops(t, "--decrypt", secretPath); string(got) != want {
		t.Errorf("sops --decrypt after gen's edit:\n got:\n%s\nwant:\n%s", got, want)
	}
}

// TestInteropSameShape encrypts one Secret with both and compares everything
// but the random parts: gen must write what the CLI writes.
func TestInteropSameShape(t *testing.T) {
	k := newKey(t)
	repo := newRepo(t, clusterSopsYAML(k), k)
	path := filepath.Join(repo.dir, secretPath)
	// With the leading --- and comment the repositories use.
	in := "---\n" + clusterSecret
	writeFile(t, path, in)
	repo.sops(t, "--encrypt", "--in-place", secretPath)
	cliEnc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rule, indent := repo.rule(t, secretPath)
	genEnc, err := Encrypt([]byte(in), rule, indent)
	if err != nil {
		t.Fatal(err)
	}
	if shape(genEnc) != shape(cliEnc) {
		t.Errorf("gen and the CLI disagree on layout:\n gen:\n%s\n cli:\n%s", shape(genEnc), shape(cliEnc))
	}
}
