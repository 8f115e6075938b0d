package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gen-gitops/gen/generator"
	"github.com/gen-gitops/gen/generator/apps"
	"github.com/gen-gitops/gen/internal/apply"
	"github.com/gen-gitops/gen/internal/flux"
	"github.com/gen-gitops/gen/internal/gitops"
	"github.com/gen-gitops/gen/internal/repo"
)

// repoFlags are shared by every command that reads a repository.
type repoFlags struct {
	Repo    string
	Domains []string
}

func (f *repoFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.Repo, "repo", "", "repository root (default: the enclosing git work tree)")
	fs.StringArrayVar(&f.Domains, "domain", nil, "domain behind a variable, VAR=domain (repeatable), e.g. SECRET_DOMAIN=example.com")
}

// root resolves --repo: the flag, else the enclosing git work tree, else
// the current folder.
func (f *repoFlags) root() (string, error) {
	if f.Repo != "" {
		return f.Repo, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	if top, err := gitops.TopLevel(wd); err == nil {
		return top, nil
	}
	return wd, nil
}

func (f *repoFlags) domains() (map[string]string, error) {
	out := map[string]string{}
	for _, d := range f.Domains {
		k, v, ok := strings.Cut(d, "=")
		if !ok || !repo.IsDomainVar(k) || v == "" {
			return nil, usageErrorf("--domain %q: want VAR=domain, e.g. SECRET_DOMAIN_TWO=example.org", d)
		}
		out[k] = v
	}
	return out, nil
}

// load reads the repository with everything the user told gen about it.
// A command that reads the repository never writes, so a write a killed
// run left half done is an error that says how to finish it: the tree is
// neither the old one nor the new one.
func (f *repoFlags) load(env Env) (*repo.Repo, error) {
	root, err := f.root()
	if err != nil {
		return nil, err
	}
	if err := env.writer(root, "").CheckReadable(); err != nil {
		return nil, err
	}
	return f.loadFrom(root, env)
}

// loadFrom reads the repository at root.
func (f *repoFlags) loadFrom(root string, env Env) (*repo.Repo, error) {
	domains, err := f.domains()
	if err != nil {
		return nil, err
	}
	opts := repo.LoadOptions{Domains: domains}
	r, err := repo.Load(root, opts)
	if err != nil {
		return nil, err
	}
	if values := env.clusterSecretValues(r); values != nil {
		opts.SecretValues = values
		r, err = repo.FromFilesAt(r.Root, r.Files, opts)
		if err != nil {
			return nil, err
		}
	}
	return r, nil
}

// load is repoFlags.load for a command that writes. Before anything is
// read, a write a killed run left behind is finished or undone (and said
// so on stderr): a change computed from a half-written tree would mix
// the two. A dry run writes nothing, so it stops there as a reading
// command does. The change is validated with a build, so kustomize's
// schema loads while the repository is read.
func (f *writeFlags) load(streams IO, env Env) (*repo.Repo, error) {
	if f.DryRun {
		flux.PreloadSchema()
		return f.repoFlags.load(env)
	}
	root, err := f.root()
	if err != nil {
		return nil, err
	}
	rec, err := env.writer(root, "").Recover()
	if err != nil {
		return nil, err
	}
	if rec != nil {
		fmt.Fprintf(streams.ErrOut, "note: %s\n", rec)
	}
	flux.PreloadSchema()
	return f.loadFrom(root, env)
}

// writeFlags are shared by every command that writes.
type writeFlags struct {
	repoFlags
	DryRun bool
	Commit bool
	Branch string
	Author string
	Output outputFormat
	// Push, Remote, AllowInsecureRemote and PRBody: see register.
	Push                bool
	Remote              string
	AllowInsecureRemote bool
	PRBody              string
}

func (f *writeFlags) register(fs *pflag.FlagSet) {
	f.repoFlags.register(fs)
	fs.BoolVar(&f.DryRun, "dry-run", false, "print the change as a unified diff and write nothing")
	fs.BoolVar(&f.Commit, "commit", false, "commit exactly the touched files with git")
	fs.StringVar(&f.Branch, "branch", "", "with --commit: commit on this branch (created from HEAD when new)")
	fs.StringVar(&f.Author, "author", "", "with --commit: commit author, \"Name <email>\" (default: git config)")
	f.Output = outputText
	fs.Var(&f.Output, "output", "what to print: text or json")
	fs.BoolVar(&f.Push, "push", false, "with --commit: push the branch with git (HTTPS: token from GITHUB_TOKEN or GIT_TOKEN; SSH: the ssh-agent)")
	fs.StringVar(&f.Remote, "remote", gitops.DefaultRemote, "with --push: the remote to push to")
	fs.BoolVar(&f.AllowInsecureRemote, "allow-insecure-remote", false, "with --push: send the token to a plain http:// remote (in cleartext; gen refuses otherwise)")
	fs.StringVar(&f.PRBody, "pr-body", "", "write a Markdown summary of the change to this file, for a pull request's body (after the write; never over a repository's file or through a link)")
}

func (f *writeFlags) check() error {
	if f.Branch != "" && !f.Commit {
		return usageErrorf("--branch needs --commit")
	}
	if f.Author != "" && !f.Commit {
		return usageErrorf("--author needs --commit")
	}
	if f.DryRun && f.Commit {
		return usageErrorf("--dry-run and --commit do not go together")
	}
	if f.Push && !f.Commit {
		return usageErrorf("--push needs --commit: gen pushes the commit it makes")
	}
	if f.Remote != gitops.DefaultRemote && !f.Push {
		return usageErrorf("--remote needs --push")
	}
	if f.AllowInsecureRemote && !f.Push {
		return usageErrorf("--allow-insecure-remote needs --push")
	}
	if f.Branch != "" {
		// Checked before anything is read or written: a name git refuses
		// would otherwise fail after the files are in place.
		if err := gitops.ValidateBranch(f.Branch); err != nil {
			return &UsageError{Err: fmt.Errorf("--branch %w", err)}
		}
	}
	return nil
}

// outputFormat is the --output flag.
type outputFormat string

const (
	outputText outputFormat = "text"
	outputJSON outputFormat = "json"
)

func (o *outputFormat) String() string { return string(*o) }
func (o *outputFormat) Type() string   { return "text|json" }
func (o *outputFormat) Set(s string) error {
	switch outputFormat(s) {
	case outputText, outputJSON:
		*o = outputFormat(s)
		return nil
	}
	return fmt.Errorf("want text or json")
}

// result is what a writing command reports (--output json).
type result struct {
	Title   string   `json:"title"`
	DryRun  bool     `json:"dryRun"`
	Changed []string `json:"changed"`
	Commit  string   `json:"commit,omitempty"`
	Branch  string   `json:"branch,omitempty"`
	Pushed  string   `json:"pushed,omitempty"`
	PRBody  string   `json:"prBody,omitempty"`
	Notes   []string `json:"notes,omitempty"`
	Diff    string   `json:"diff,omitempty"`
}

// runChangeset is the shared tail of every writing command: validate, then
// show or write, then commit. What can be refused is refused before the
// first file is written: the branch name (writeFlags.check), a file the
// change replaces but cannot parse, the --pr-body path, a dirty tree, the
// push target. The files the change was computed from are compared with
// the disk under the write's lock; the pull request body is written only
// once the change is.
func runChangeset(cmd *cobra.Command, streams IO, env Env, f *writeFlags, r *repo.Repo, cs *generator.Changeset) error {
	if err := cs.Normalize(); err != nil {
		return err
	}
	if err := cs.CheckReplaced(r.Files); err != nil {
		return err
	}
	cs.RecordRead(r.Files)
	res := result{Title: cs.Title, DryRun: f.DryRun, Changed: cs.Paths(), Notes: cs.Notes}
	body, err := prBodyTarget(f.PRBody, r.Root, r.Files, cs)
	if err != nil {
		return err
	}
	if len(cs.Files) == 0 {
		if err := body.write(prBody(cs, "", f.DryRun)); err != nil {
			return err
		}
		res.PRBody = body.name()
		if f.Output == outputJSON {
			return writeJSON(streams, res)
		}
		fmt.Fprintf(streams.ErrOut, "%s: nothing to change, the repository already has it\n", cs.Title)
		printPRBody(streams, body)
		return nil
	}
	if err := env.validate(r, cs); err != nil {
		return err
	}
	var b strings.Builder
	if err := apply.Diff(&b, r.Files, cs); err != nil {
		return err
	}
	if f.DryRun {
		if err := body.write(prBody(cs, b.String(), true)); err != nil {
			return err
		}
		res.PRBody = body.name()
		if f.Output == outputJSON {
			res.Diff = b.String()
			return writeJSON(streams, res)
		}
		fmt.Fprint(streams.Out, b.String())
		printNotes(streams, cs)
		if body == nil {
			fmt.Fprintf(streams.ErrOut, "dry run: %d file(s) would change; nothing was written\n", len(cs.Files))
		} else {
			fmt.Fprintf(streams.ErrOut, "dry run: %d file(s) would change; nothing was written to the repository; the pull request body went to %s\n", len(cs.Files), body.path)
		}
		return nil
	}
	var g *gitops.Repo
	var author gitops.Author
	var target *gitops.PushTarget
	if f.Commit {
		var err error
		g, err = gitops.Open(r.Root)
		if err != nil {
			return err
		}
		dirty, err := g.Dirty(cs.Paths())
		if err != nil {
			return err
		}
		if len(dirty) > 0 {
			return fmt.Errorf("refusing to commit: %s already %s uncommitted changes; commit or stash them first, or drop --commit",
				strings.Join(dirty, ", "), plural(len(dirty), "has", "have"))
		}
		if f.Author != "" {
			author, err = gitops.ParseAuthor(f.Author)
		} else {
			author, err = g.DefaultAuthor()
		}
		if err != nil {
			return err
		}
		if f.Push {
			// A bad remote or token fails here, before anything is written.
			if target, err = g.PushTarget(cmd.Context(), gitops.PushOptions{
				Remote: f.Remote, Branch: f.Branch, Getenv: env.Getenv, AllowInsecure: f.AllowInsecureRemote,
			}); err != nil {
				return err
			}
		}
	}
	if err := env.writer(r.Root, cmd.CommandPath()+": "+cs.Title).Apply(cs); err != nil {
		return err
	}
	// The pull request body describes what was written (and committed):
	// it is written once that is true, before the push, which may fail
	// and be retried by hand.
	writeBody := func() error {
		if err := body.write(prBody(cs, b.String(), false)); err != nil {
			done := "the files were written"
			if res.Commit != "" {
				done += " and committed (" + res.Commit[:12] + ")"
			}
			return fmt.Errorf("%s, but the pull request body was not: %w", done, err)
		}
		res.PRBody = body.name()
		return nil
	}
	var pushErr error
	if f.Commit {
		h, err := g.Commit(gitops.CommitOptions{Paths: cs.Paths(), Message: commitMessage(cs), Author: author, Branch: f.Branch})
		if err != nil {
			return fmt.Errorf("files were written but not committed: %w", err)
		}
		res.Commit = h.String()
		res.Branch = f.Branch
		if err := writeBody(); err != nil {
			return err
		}
		if target != nil {
			res.Branch = target.Branch
			// The commit stays whatever the push does; the error says how
			// to retry.
			if pushErr = g.Push(cmd.Context(), target, h); pushErr == nil {
				res.Pushed = target.Remote + "/" + target.Branch
			}
		}
	} else if err := writeBody(); err != nil {
		return err
	}
	if f.Output == outputJSON {
		if err := writeJSON(streams, res); err != nil {
			return err
		}
		return pushErr
	}
	for _, f := range cs.Files {
		verb := "wrote"
		if f.Delete {
			verb = "deleted"
		}
		fmt.Fprintf(streams.Out, "%s %s\n", verb, filepath.ToSlash(f.Path))
	}
	if res.Commit != "" {
		fmt.Fprintf(streams.Out, "committed %s: %s\n", res.Commit[:12], cs.Title)
	}
	if res.Pushed != "" {
		fmt.Fprintf(streams.Out, "pushed %s to %s (%s)\n", target.Branch, target.Remote, target.URL)
	}
	printNotes(streams, cs)
	printPRBody(streams, body)
	return pushErr
}

func commitMessage(cs *generator.Changeset) string {
	var b strings.Builder
	b.WriteString(cs.Title)
	b.WriteString("\n\nWritten by gen. Files:\n")
	for _, p := range cs.Paths() {
		b.WriteString("  " + p + "\n")
	}
	return b.String()
}

func printNotes(streams IO, cs *generator.Changeset) {
	for _, n := range cs.Notes {
		fmt.Fprintf(streams.ErrOut, "note: %s\n", n)
	}
}

func writeJSON(streams IO, v any) error {
	enc := json.NewEncoder(streams.Out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// existsErr shows what --force would replace when an app already exists.
func existsErr(streams IO, r *repo.Repo, err error) error {
	var ex *apps.ExistsError
	if errors.As(err, &ex) {
		fmt.Fprintln(streams.ErrOut, "what --force would change:")
		_ = apply.Diff(streams.ErrOut, r.Files, ex.Changeset)
	}
	return err
}
