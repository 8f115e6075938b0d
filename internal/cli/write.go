package cli

import (
	"context"
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
	"github.com/gen-gitops/gen/internal/action"
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

	// command is the command's path ("gen add-app"), which names the run
	// in the write's lock.
	command string
}

func (f *writeFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	f.repoFlags.register(fs)
	fs.BoolVar(&f.DryRun, "dry-run", false, "print the change as a unified diff and write nothing")
	fs.BoolVar(&f.Commit, "commit", false, "commit exactly the touched files with git")
	fs.StringVar(&f.Branch, "branch", "", "with --commit: commit on this branch (created from HEAD when new)")
	fs.StringVar(&f.Author, "author", "", "with --commit: commit author, \"Name <email>\" (default: git config)")
	enumVar(cmd, &f.Output, "output", outputText, outputs, "what to print: text or json")
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

var outputs = newEnum(outputText, outputJSON)

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

// writeAction is the action.Write the write flags describe.
func (f *writeFlags) writeAction(env Env, cs *generator.Changeset) *action.Write {
	w := action.NewWrite(env.action())
	w.Command = f.command + ": " + cs.Title
	w.DryRun, w.Commit, w.Branch, w.Author = f.DryRun, f.Commit, f.Branch, f.Author
	w.Push, w.Remote, w.AllowInsecureRemote = f.Push, f.Remote, f.AllowInsecureRemote
	w.PRBody = f.PRBody
	return w
}

// runChangeset is the shared tail of every writing command: action.Write
// validates the change and writes it, and this prints what it did.
func runChangeset(ctx context.Context, streams IO, env Env, f *writeFlags, r *repo.Repo, cs *generator.Changeset) error {
	res, err := f.writeAction(env, cs).Run(ctx, r, cs)
	if res == nil {
		return err
	}
	if f.Output == outputJSON {
		if werr := writeJSON(streams, jsonResult(res)); werr != nil {
			return werr
		}
		return err
	}
	printWrite(streams, res)
	return err
}

// jsonResult is what --output json says of res.
func jsonResult(res *action.WriteResult) result {
	cs := res.Changeset
	out := result{Title: cs.Title, DryRun: res.DryRun, Changed: cs.Paths(), Notes: cs.Notes,
		Commit: res.Commit, Branch: res.Branch, PRBody: res.PRBody}
	if res.Pushed {
		out.Pushed = res.Target.Remote + "/" + res.Target.Branch
	}
	if res.DryRun {
		out.Diff = res.Diff
	}
	return out
}

// printWrite says what a write did: the diff of a dry run, or the files
// written, the commit and the push; then the notes and where the pull
// request body went.
func printWrite(streams IO, res *action.WriteResult) {
	cs := res.Changeset
	switch {
	case res.Empty():
		fmt.Fprintf(streams.ErrOut, "%s: nothing to change, the repository already has it\n", cs.Title)
		printPRBody(streams, res.PRBody)
		return
	case res.DryRun:
		fmt.Fprint(streams.Out, res.Diff)
		printNotes(streams, cs)
		if res.PRBody == "" {
			fmt.Fprintf(streams.ErrOut, "dry run: %d file(s) would change; nothing was written\n", len(cs.Files))
		} else {
			fmt.Fprintf(streams.ErrOut, "dry run: %d file(s) would change; nothing was written to the repository; the pull request body went to %s\n", len(cs.Files), res.PRBody)
		}
		return
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
	if res.Pushed {
		fmt.Fprintf(streams.Out, "pushed %s to %s (%s)\n", res.Target.Branch, res.Target.Remote, res.Target.URL)
	}
	printNotes(streams, cs)
	printPRBody(streams, res.PRBody)
}

// printPRBody says where the pull request body went.
func printPRBody(streams IO, path string) {
	if path != "" {
		fmt.Fprintf(streams.ErrOut, "wrote the pull request body to %s\n", path)
	}
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
