package action

import (
	"context"
	"fmt"
	"strings"

	"github.com/gen-gitops/gen/generator"
	"github.com/gen-gitops/gen/internal/apply"
	"github.com/gen-gitops/gen/internal/gitops"
	"github.com/gen-gitops/gen/internal/repo"
	"github.com/gen-gitops/gen/internal/validate"
)

// Write is the shared tail of every writing command: validate the change,
// then show it or write it, then commit and push it. Its fields are the
// write flags; the flags' combinations (--branch needs --commit, ...) are
// checked by the command before the repository is read.
type Write struct {
	cfg *Configuration

	// Command names the run in the write's lock, e.g. "gen add-app: Add
	// default/whoami".
	Command string
	// DryRun computes the diff and writes nothing but the pull request
	// body.
	DryRun bool
	// Commit commits exactly the touched files, on Branch when set
	// (created from HEAD when new), as Author ("Name <email>"; default:
	// git config).
	Commit bool
	Branch string
	Author string
	// Push pushes the commit to Remote; a token goes to a plain http://
	// remote only with AllowInsecureRemote.
	Push                bool
	Remote              string
	AllowInsecureRemote bool
	// PRBody is where a Markdown summary of the change goes, "" for none.
	PRBody string
}

// NewWrite returns a Write that takes the process's environment from cfg.
func NewWrite(cfg *Configuration) *Write {
	return &Write{cfg: cfg, Remote: gitops.DefaultRemote}
}

// WriteResult is what a Write did.
type WriteResult struct {
	// Changeset is the change, normalized.
	Changeset *generator.Changeset
	// DryRun is set when nothing was written to the repository.
	DryRun bool
	// Diff is the unified diff of the change, secret values redacted; ""
	// when the change is empty.
	Diff string
	// Commit is the commit's full hash, "" without --commit.
	Commit string
	// Branch is the branch committed on: the --branch given, or the
	// branch pushed to.
	Branch string
	// Target is where the commit was to be pushed, nil without --push;
	// Pushed is set once it was.
	Target *gitops.PushTarget
	Pushed bool
	// PRBody is the pull request body's path as given, "" when none was
	// written.
	PRBody string
}

// Empty reports whether the change had nothing to write.
func (r *WriteResult) Empty() bool { return len(r.Changeset.Files) == 0 }

// Run validates cs against r and writes it. What can be refused is
// refused before the first file is written: a file the change replaces
// but cannot parse, the pull request body's path, a dirty tree, the push
// target. The files the change was computed from are compared with the
// disk under the write's lock; the pull request body is written only once
// the change is.
//
// When the push fails the commit stays: Run returns the whole result with
// the push's error, so that the command can say what was done before it
// reports the error.
func (w *Write) Run(ctx context.Context, r *repo.Repo, cs *generator.Changeset) (*WriteResult, error) {
	if err := cs.Normalize(); err != nil {
		return nil, err
	}
	if err := cs.CheckReplaced(r.Files); err != nil {
		return nil, err
	}
	cs.RecordRead(r.Files)
	res := &WriteResult{Changeset: cs, DryRun: w.DryRun}
	body, err := prBodyTarget(w.PRBody, r.Root, r.Files, cs)
	if err != nil {
		return nil, err
	}
	if len(cs.Files) == 0 {
		if err := body.write(prBody(cs, "", w.DryRun)); err != nil {
			return nil, err
		}
		res.PRBody = body.name()
		return res, nil
	}
	if err := validate.Changeset(r, cs); err != nil {
		return nil, err
	}
	var b strings.Builder
	if err := apply.Diff(&b, r.Files, cs); err != nil {
		return nil, err
	}
	res.Diff = b.String()
	if w.DryRun {
		if err := body.write(prBody(cs, res.Diff, true)); err != nil {
			return nil, err
		}
		res.PRBody = body.name()
		return res, nil
	}
	var c *committer
	if w.Commit {
		if c, err = w.prepareCommit(ctx, r.Root, cs); err != nil {
			return nil, err
		}
	}
	if err := w.cfg.Writer(r.Root, w.Command).Apply(cs); err != nil {
		return nil, err
	}
	// The pull request body describes what was written (and committed):
	// it is written once that is true, before the push, which may fail
	// and be retried by hand.
	writeBody := func() error {
		if err := body.write(prBody(cs, res.Diff, false)); err != nil {
			done := "the files were written"
			if res.Commit != "" {
				done += " and committed (" + res.Commit[:12] + ")"
			}
			return fmt.Errorf("%s, but the pull request body was not: %w", done, err)
		}
		res.PRBody = body.name()
		return nil
	}
	if c == nil {
		if err := writeBody(); err != nil {
			return nil, err
		}
		return res, nil
	}
	h, err := c.g.Commit(gitops.CommitOptions{Paths: cs.Paths(), Message: CommitMessage(cs), Author: c.author, Branch: w.Branch})
	if err != nil {
		return nil, fmt.Errorf("files were written but not committed: %w", err)
	}
	res.Commit = h.String()
	res.Branch = w.Branch
	if err := writeBody(); err != nil {
		return nil, err
	}
	if c.target == nil {
		return res, nil
	}
	res.Target = c.target
	res.Branch = c.target.Branch
	// The commit stays whatever the push does; the error says how to
	// retry.
	if err := c.g.Push(ctx, c.target, h); err != nil {
		return res, err
	}
	res.Pushed = true
	return res, nil
}

// committer is what a commit needs, settled before anything is written.
type committer struct {
	g      *gitops.Repo
	author gitops.Author
	target *gitops.PushTarget
}

// prepareCommit refuses a tree whose touched files have uncommitted
// changes, picks the author, and with Push checks the remote and token:
// a bad one fails here, before anything is written.
func (w *Write) prepareCommit(ctx context.Context, root string, cs *generator.Changeset) (*committer, error) {
	g, err := gitops.Open(root)
	if err != nil {
		return nil, err
	}
	dirty, err := g.Dirty(cs.Paths())
	if err != nil {
		return nil, err
	}
	if len(dirty) > 0 {
		return nil, fmt.Errorf("refusing to commit: %s already %s uncommitted changes; commit or stash them first, or drop --commit",
			strings.Join(dirty, ", "), plural(len(dirty), "has", "have"))
	}
	c := &committer{g: g}
	if w.Author != "" {
		c.author, err = gitops.ParseAuthor(w.Author)
	} else {
		c.author, err = g.DefaultAuthor()
	}
	if err != nil {
		return nil, err
	}
	if w.Push {
		if c.target, err = g.PushTarget(ctx, gitops.PushOptions{
			Remote: w.Remote, Branch: w.Branch, Getenv: w.cfg.Getenv, AllowInsecure: w.AllowInsecureRemote,
		}); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// CommitMessage is the message of the commit gen makes for cs: its title
// and the files it touched.
func CommitMessage(cs *generator.Changeset) string {
	var b strings.Builder
	b.WriteString(cs.Title)
	b.WriteString("\n\nWritten by gen. Files:\n")
	for _, p := range cs.Paths() {
		b.WriteString("  " + p + "\n")
	}
	return b.String()
}
