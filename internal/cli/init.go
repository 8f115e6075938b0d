package cli

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
	"github.com/spf13/cobra"

	"github.com/gen-gitops/gen/generator"
	"github.com/gen-gitops/gen/generator/initrepo"
	"github.com/gen-gitops/gen/internal/apply"
	"github.com/gen-gitops/gen/internal/gitops"
	"github.com/gen-gitops/gen/internal/repo"
	"github.com/gen-gitops/gen/internal/secrets"
)

type initFlags struct {
	Domain              string
	Cluster             string
	GitURL              string
	Branch              string
	TunnelTokenFile     string
	TunnelID            string
	CloudflareTokenFile string
	ACMEEmail           string
	AgeKey              string
	Author              string
	Force               bool
	NoGit               bool
	DryRun              bool
}

func newInitCmd(streams IO, env Env) *cobra.Command {
	f := &initFlags{}
	cmd := &cobra.Command{
		Use:   "init <dir>",
		Short: "Create a new Flux repository of this shape: Flux root, SOPS, gateways, tunnel, DNS, certificates",
		Long: `init creates a complete Flux repository in <dir>:

  kubernetes/flux/cluster/        the GitRepository and the root Kustomizations
                                  (prune, SOPS decryption, defaults for every app)
  kubernetes/components/sops/     cluster-secrets (SECRET_DOMAIN, CLUSTER_NAME), encrypted
  kubernetes/apps/cert-manager/   cert-manager and a Let's Encrypt DNS-01 issuer
  kubernetes/apps/network/        envoy-gateway (envoy-external, envoy-internal),
                                  cloudflare-tunnel, cloudflare-dns (external-dns)
  kubernetes/apps/default/        an empty namespace for your apps
  .sops.yaml, .gitignore, README.md

A fresh age key is generated and written outside the repository (--age-key,
default ~/.config/sops/age/<cluster>.agekey); every secret is encrypted to it
and it is never committed. An existing key file at --age-key is used instead
of a new one. The folder becomes a git repository with one commit.

What init is not told is written as a placeholder and listed at the end:
the Git URL, the tunnel token (and with it the tunnel's ID), the Cloudflare
API token. A folder that is not empty is refused unless --force.`,
		Example: `  # A new repository for example.org, with placeholders for the tokens
  gen init home-ops --domain example.org --cluster home

  # Everything known up front; the tokens are read from files, or - for stdin
  cloudflared tunnel token home | gen init home-ops --domain example.org --cluster home \
    --git-url ssh://git@github.com/me/home-ops --tunnel-token - --cloudflare-token ~/cf-token

  # Preview the files without writing anything (no key is created)
  gen init home-ops --domain example.org --cluster home --dry-run`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runInit(streams, env, f, args[0])
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.Domain, "domain", "", "the domain the cluster serves (SECRET_DOMAIN), e.g. example.org")
	fl.StringVar(&f.Cluster, "cluster", "", "a short name for the cluster, e.g. home")
	fl.StringVar(&f.GitURL, "git-url", "", "where Flux reads the repository: https://... or ssh://git@host/owner/repo")
	fl.StringVar(&f.Branch, "branch", "main", "the repository's branch")
	fl.StringVar(&f.TunnelTokenFile, "tunnel-token", "", "file holding the cloudflared tunnel token, or - for stdin")
	fl.StringVar(&f.TunnelID, "tunnel-id", "", "the tunnel's UUID (read from the token when one is given)")
	fl.StringVar(&f.CloudflareTokenFile, "cloudflare-token", "", "file holding a Cloudflare API token (DNS edit) for cert-manager and external-dns, or - for stdin")
	fl.StringVar(&f.ACMEEmail, "acme-email", "", "Let's Encrypt account email (default: none)")
	fl.StringVar(&f.AgeKey, "age-key", "", "where to write the new age key, outside the repository (default ~/.config/sops/age/<cluster>.agekey)")
	fl.StringVar(&f.Author, "author", "", "author of the first commit, \"Name <email>\" (default: git config)")
	fl.BoolVar(&f.Force, "force", false, "write into a folder that is not empty (files init writes are replaced)")
	fl.BoolVar(&f.NoGit, "no-git", false, "write the files only: no git init, no commit")
	fl.BoolVar(&f.DryRun, "dry-run", false, "print the files init would write and write nothing")
	return cmd
}

// runInit checks everything that can fail before it writes: options,
// folder, key, author. Then the key, then the files, then the commit.
func runInit(streams IO, env Env, f *initFlags, dir string) error {
	if err := gitops.ValidateBranch(f.Branch); err != nil {
		return &UsageError{Err: fmt.Errorf("--branch %w", err)}
	}
	opts := initrepo.Options{
		Domain: f.Domain, Cluster: f.Cluster, GitURL: f.GitURL, Branch: f.Branch,
		TunnelID: f.TunnelID, ACMEEmail: f.ACMEEmail,
	}
	stdinUsed := false
	for _, in := range []struct {
		flag, file string
		into       *string
	}{{"--tunnel-token", f.TunnelTokenFile, &opts.TunnelToken}, {"--cloudflare-token", f.CloudflareTokenFile, &opts.CloudflareToken}} {
		if in.file == "" {
			continue
		}
		var data []byte
		var err error
		if in.file == "-" {
			if stdinUsed {
				return usageErrorf("%s -: only one token can come from stdin", in.flag)
			}
			stdinUsed = true
			data, err = readCapped(streams.In, maxValueSize)
		} else {
			data, err = readFileCapped(in.file, maxValueSize)
		}
		if err != nil {
			return usageErrorf("%s: %v", in.flag, err)
		}
		if *in.into = strings.TrimSpace(string(data)); *in.into == "" {
			return usageErrorf("%s %s: the token is empty", in.flag, in.file)
		}
	}
	// Validate with a stand-in recipient first, so a bad flag costs no key.
	probe := opts
	probe.AgeRecipient = "age1" + strings.Repeat("q", 58)
	probe.Default()
	if err := probe.Validate(); err != nil {
		return &UsageError{Err: err}
	}

	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if err := checkInitDir(abs, f.Force); err != nil {
		return err
	}
	keyPath, err := initKeyPath(env, f, abs)
	if err != nil {
		return err
	}
	var author gitops.Author
	if !f.NoGit && !f.DryRun {
		if f.Author != "" {
			author, err = gitops.ParseAuthor(f.Author)
		} else {
			author, err = gitops.GlobalAuthor()
		}
		if err != nil {
			return err
		}
	}

	identity, fresh, err := loadOrNewKey(keyPath, f.DryRun)
	if err != nil {
		return err
	}
	opts.AgeRecipient = identity.Recipient().String()
	cfg, err := initrepo.SopsConfig(opts.AgeRecipient)
	if err != nil {
		return err
	}
	if opts.Sealer, err = secrets.NewSealer(&repo.Repo{Files: map[string][]byte{".sops.yaml": cfg}}, nil); err != nil {
		return err
	}
	cs, err := initrepo.Generate(opts)
	if err != nil {
		return err
	}
	if err := checkSkeleton(cs, opts.Domain); err != nil {
		return err
	}
	if f.DryRun {
		if err := apply.Diff(streams.Out, map[string][]byte{}, cs); err != nil {
			return err
		}
		printNotes(streams, cs)
		fmt.Fprintf(streams.ErrOut, "dry run: %d file(s) would be written to %s; nothing was written and no key was made\n", len(cs.Files), abs)
		return nil
	}

	if fresh {
		if err := writeKey(keyPath, identity); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return fmt.Errorf("creating %q: %w", abs, err)
	}
	if err := apply.NewWriter(abs).Apply(cs); err != nil {
		return err
	}
	for _, p := range cs.Paths() {
		fmt.Fprintf(streams.Out, "wrote %s\n", filepath.ToSlash(filepath.Join(dir, p)))
	}
	if !f.NoGit {
		h, err := commitSkeleton(abs, opts.Branch, author, cs)
		if err != nil {
			return fmt.Errorf("the files were written but not committed: %w", err)
		}
		fmt.Fprintf(streams.Out, "committed %s: %s\n", h[:12], cs.Title)
	}
	if fresh {
		fmt.Fprintf(streams.Out, "age key: %s (new; keep it safe and out of the repository)\n", keyPath)
	} else {
		fmt.Fprintf(streams.Out, "age key: %s (existing)\n", keyPath)
	}
	fmt.Fprintf(streams.Out, "next: export SOPS_AGE_KEY_FILE=%s, fill in the notes below, then follow %s\n", keyPath, filepath.Join(dir, "README.md"))
	printNotes(streams, cs)
	return nil
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

// initKeyPath resolves --age-key and refuses a path inside the new
// repository: the key must never be committed.
func initKeyPath(env Env, f *initFlags, repoDir string) (string, error) {
	p := f.AgeKey
	if p == "" {
		base := env.Getenv("XDG_CONFIG_HOME")
		if base == "" {
			home := env.Getenv("HOME")
			if home == "" {
				return "", usageErrorf("cannot tell where to write the age key (HOME is unset); pass --age-key")
			}
			base = filepath.Join(home, ".config")
		}
		p = filepath.Join(base, "sops", "age", f.Cluster+".agekey")
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
	h, err := g.Commit(gitops.CommitOptions{Paths: cs.Paths(), Message: commitMessage(cs), Author: author})
	if err != nil {
		return "", err
	}
	return h.String(), nil
}
