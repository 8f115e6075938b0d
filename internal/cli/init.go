package cli

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gen-gitops/gen/generator/initrepo"
	"github.com/gen-gitops/gen/internal/action"
	"github.com/gen-gitops/gen/internal/gitops"
)

// initFlags are init's flags; with the folder, what it runs with.
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

func newInitCmd(streams IO, env Env, runF func(f *initFlags, dir string) error) *cobra.Command {
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
			if runF != nil {
				return runF(f, args[0])
			}
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

// runInit reads the token files and hands the rest to action.Init.
func runInit(streams IO, env Env, f *initFlags, dir string) error {
	if err := gitops.ValidateBranch(f.Branch); err != nil {
		return &UsageError{Err: fmt.Errorf("--branch %w", err)}
	}
	a := action.NewInit(env.action())
	a.Options = initrepo.Options{
		Domain: f.Domain, Cluster: f.Cluster, GitURL: f.GitURL, Branch: f.Branch,
		TunnelID: f.TunnelID, ACMEEmail: f.ACMEEmail,
	}
	a.Dir, a.AgeKey, a.Author = dir, f.AgeKey, f.Author
	a.Force, a.NoGit, a.DryRun = f.Force, f.NoGit, f.DryRun
	stdinUsed := false
	for _, in := range []struct {
		flag, file string
		into       *string
	}{{"--tunnel-token", f.TunnelTokenFile, &a.Options.TunnelToken}, {"--cloudflare-token", f.CloudflareTokenFile, &a.Options.CloudflareToken}} {
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
	res, err := a.Run()
	if res == nil {
		return err
	}
	cs := res.Changeset
	if f.DryRun {
		fmt.Fprint(streams.Out, res.Diff)
		printNotes(streams, cs)
		fmt.Fprintf(streams.ErrOut, "dry run: %d file(s) would be written to %s; nothing was written and no key was made\n", len(cs.Files), res.Abs)
		return nil
	}
	for _, p := range cs.Paths() {
		fmt.Fprintf(streams.Out, "wrote %s\n", filepath.ToSlash(filepath.Join(dir, p)))
	}
	if err != nil {
		return err
	}
	if res.Commit != "" {
		fmt.Fprintf(streams.Out, "committed %s: %s\n", res.Commit[:12], cs.Title)
	}
	if res.FreshKey {
		fmt.Fprintf(streams.Out, "age key: %s (new; keep it safe and out of the repository)\n", res.KeyPath)
	} else {
		fmt.Fprintf(streams.Out, "age key: %s (existing)\n", res.KeyPath)
	}
	fmt.Fprintf(streams.Out, "next: export SOPS_AGE_KEY_FILE=%s, fill in the notes below, then follow %s\n", res.KeyPath, filepath.Join(dir, "README.md"))
	printNotes(streams, cs)
	return nil
}
