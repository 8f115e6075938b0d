package action

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/gen-gitops/gen/generator"
	"github.com/gen-gitops/gen/generator/initrepo"
	"github.com/gen-gitops/gen/internal/apply"
	"github.com/gen-gitops/gen/internal/gitops"
	"github.com/gen-gitops/gen/internal/repo"
	"github.com/gen-gitops/gen/internal/secrets"
)

// Init creates a new repository: gen init.
type Init struct {
	cfg *Configuration

	// Options are the new repository's; the tokens are already read and
	// AgeRecipient is filled in by Run from the key.
	Options initrepo.Options
	// Dir is the folder to create, as the user named it.
	Dir string
	// AgeKey is where the age key goes, outside the repository (default
	// $XDG_CONFIG_HOME/sops/age/<cluster>.agekey, or under ~/.config).
	AgeKey string
	// Author authors the first commit, "Name <email>" (default: git config).
	Author string
	// Force writes into a folder that is not empty.
	Force bool
	// NoGit writes the files only.
	NoGit bool
	// DryRun makes no key and writes nothing.
	DryRun bool
}

// NewInit returns an Init that takes the process's environment from cfg.
func NewInit(cfg *Configuration) *Init { return &Init{cfg: cfg} }

// InitResult is what an Init did.
type InitResult struct {
	// Changeset holds the new repository's files.
	Changeset *generator.Changeset
	// Abs is the repository's absolute path.
	Abs string
	// Diff is the new files as a diff, on a dry run only.
	Diff string
	// Written is set once the files are written; Commit is the first
	// commit's hash, "" with NoGit.
	Written bool
	Commit  string
	// KeyPath is the age key's file; FreshKey is set when Run made it.
	KeyPath  string
	FreshKey bool
}

// Run checks everything that can fail before it writes: options, folder,
// key, author. Then it writes the key, then the files, then commits.
// When the commit fails the files stay: Run returns the result (Written
// set) with the error.
func (a *Init) Run() (*InitResult, error) {
	opts := a.Options
	// Validate with a stand-in recipient first, so a bad flag costs no key.
	probe := opts
	probe.AgeRecipient = "age1" + strings.Repeat("q", 58)
	probe.Default()
	if err := probe.Validate(); err != nil {
		return nil, &UsageError{Err: err}
	}

	abs, err := filepath.Abs(a.Dir)
	if err != nil {
		return nil, err
	}
	if err := checkInitDir(abs, a.Force); err != nil {
		return nil, err
	}
	keyPath, err := a.keyPath(abs)
	if err != nil {
		return nil, err
	}
	var author gitops.Author
	if !a.NoGit && !a.DryRun {
		if a.Author != "" {
			author, err = gitops.ParseAuthor(a.Author)
		} else {
			author, err = gitops.GlobalAuthor()
		}
		if err != nil {
			return nil, err
		}
	}

	identity, fresh, err := loadOrNewKey(keyPath, a.DryRun)
	if err != nil {
		return nil, err
	}
	opts.AgeRecipient = identity.Recipient().String()
	cfg, err := initrepo.SopsConfig(opts.AgeRecipient)
	if err != nil {
		return nil, err
	}
	if opts.Sealer, err = secrets.NewSealer(&repo.Repo{Files: map[string][]byte{".sops.yaml": cfg}}, nil); err != nil {
		return nil, err
	}
	cs, err := initrepo.Generate(opts)
	if err != nil {
		return nil, err
	}
	if err := checkSkeleton(cs, opts.Domain); err != nil {
		return nil, err
	}
	res := &InitResult{Changeset: cs, Abs: abs, KeyPath: keyPath, FreshKey: fresh}
	if a.DryRun {
		var b strings.Builder
		if err := apply.Diff(&b, map[string][]byte{}, cs); err != nil {
			return nil, err
		}
		res.Diff = b.String()
		return res, nil
	}

	if fresh {
		if err := writeKey(keyPath, identity); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("creating %q: %w", abs, err)
	}
	if err := apply.NewWriter(abs).Apply(cs); err != nil {
		return nil, err
	}
	res.Written = true
	if !a.NoGit {
		h, err := commitSkeleton(abs, opts.Branch, author, cs)
		if err != nil {
			return res, fmt.Errorf("the files were written but not committed: %w", err)
		}
		res.Commit = h
	}
	return res, nil
}

// checkInitDir refuses a folder that holds anything, unless forced, and a
// path that is a file.
func checkInitDir(abs string, force bool) error {
	st, err := os.Stat(abs)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("checking %q: %w", abs, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("%q is a file, not a folder", abs)
	}
	entries, err := os.ReadDir(abs)
	if err != nil {
		return fmt.Errorf("reading %q: %w", abs, err)
	}
	if len(entries) > 0 && !force {
		var names []string
		for i, e := range entries {
			if i == 3 {
				names = append(names, "...")
				break
			}
			names = append(names, e.Name())
		}
		return fmt.Errorf("%q is not empty (%s); choose a new folder, or pass --force to write into it (files init writes are replaced)",
			abs, strings.Join(names, ", "))
	}
	return nil
}

// keyPath resolves --age-key and refuses a path inside the new
// repository: the key must never be committed.
func (a *Init) keyPath(repoDir string) (string, error) {
	p := a.AgeKey
	if p == "" {
		base := a.cfg.Getenv("XDG_CONFIG_HOME")
		if base == "" {
			home := a.cfg.Getenv("HOME")
			if home == "" {
				return "", usageErrorf("cannot tell where to write the age key (HOME is unset); pass --age-key")
			}
			base = filepath.Join(home, ".config")
		}
		p = filepath.Join(base, "sops", "age", a.Options.Cluster+".agekey")
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	if rel, err := filepath.Rel(repoDir, abs); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", usageErrorf("--age-key %s is inside the new repository; keep the private key outside it", p)
	}
	return abs, nil
}

// loadOrNewKey reads the age key at path, or makes a new one when there is
// none (fresh is true; it is written later, by writeKey).
func loadOrNewKey(path string, dryRun bool) (*age.X25519Identity, bool, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		id, err := age.GenerateX25519Identity()
		if err != nil {
			return nil, false, fmt.Errorf("generating an age key: %w", err)
		}
		return id, true, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("reading the age key %q: %w", path, err)
	}
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "AGE-SECRET-KEY-") {
			id, err := age.ParseX25519Identity(line)
			if err != nil {
				return nil, false, fmt.Errorf("the age key %q does not parse: %w", path, err)
			}
			return id, false, nil
		}
	}
	return nil, false, fmt.Errorf("%q exists and holds no age key (AGE-SECRET-KEY-...); choose another --age-key", path)
}

// writeKey writes a new key the way age-keygen does, readable by its owner
// only, and never over an existing file.
func writeKey(path string, id *age.X25519Identity) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("creating the age key's folder: %w", err)
	}
	content := fmt.Sprintf("# created: %s\n# public key: %s\n%s\n", time.Now().UTC().Format(time.RFC3339), id.Recipient(), id)
	fh, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("writing the age key %q: %w", path, err)
	}
	if _, err := fh.WriteString(content); err != nil {
		fh.Close()
		return fmt.Errorf("writing the age key %q: %w", path, err)
	}
	if err := fh.Sync(); err != nil {
		fh.Close()
		return fmt.Errorf("writing the age key %q: %w", path, err)
	}
	return fh.Close()
}

// checkSkeleton reads the new tree the way every other command will, so a
// skeleton gen itself cannot find its way around is never written.
func checkSkeleton(cs *generator.Changeset, domain string) error {
	files := map[string][]byte{}
	for _, fc := range cs.Files {
		files[fc.Path] = fc.Content
	}
	r, err := repo.FromFiles(files, repo.LoadOptions{Domains: map[string]string{"SECRET_DOMAIN": domain}})
	if err != nil {
		return fmt.Errorf("the new repository does not load: %w", err)
	}
	if r.AppsDir == "" || r.ClusterSecretsFile == "" || len(r.Gateways) == 0 {
		return fmt.Errorf("the new repository is incomplete: apps %q, cluster-secrets %q, %d gateways", r.AppsDir, r.ClusterSecretsFile, len(r.Gateways))
	}
	return nil
}

// commitSkeleton makes the first commit: git init (or the repository
// already there, with --force), every file init wrote.
func commitSkeleton(dir, branch string, author gitops.Author, cs *generator.Changeset) (string, error) {
	g, err := gitops.Open(dir)
	if err != nil || g.Top != dir {
		if g, err = gitops.Init(dir, branch); err != nil {
			return "", err
		}
	}
	h, err := g.Commit(gitops.CommitOptions{Paths: cs.Paths(), Message: CommitMessage(cs), Author: author})
	if err != nil {
		return "", err
	}
	return h.String(), nil
}
