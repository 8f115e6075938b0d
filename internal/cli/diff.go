package cli

import (
	"fmt"
	"os"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/spf13/cobra"

	"github.com/gen-gitops/gen/internal/apply"
	"github.com/gen-gitops/gen/internal/check"
	"github.com/gen-gitops/gen/internal/diff"
	"github.com/gen-gitops/gen/internal/flux"
)

// diffFormat is diff's --output flag.
type diffFormat string

var diffFormats = newEnum[diffFormat]("text", "markdown", "json")

// worktree is the --head value that reads the work tree from disk.
const worktree = "worktree"

// diffFlags are diff's flags, and what it runs with.
type diffFlags struct {
	repoFlags
	Base     string
	Head     string
	Roots    []string
	Output   diffFormat
	Budget   int
	Full     string
	Artifact string
	Color    colorMode
}

func newDiffCmd(streams IO, env Env, runF func(*diffFlags) error) *cobra.Command {
	f := &diffFlags{Head: worktree}
	cmd := &cobra.Command{
		Use:   "diff --base <rev> [--head <rev>|worktree]",
		Short: "Show what a change does to the objects Flux applies",
		Long: `diff renders both revisions the way Flux builds them and compares the
objects, not the files: added, removed and changed objects with a unified
YAML diff each, a HelmRelease's values diff and chart version, and the
container images that change.

Both revisions are read straight from git objects (nothing is checked out);
--head worktree (the default) reads the files on disk. Only the Flux
Kustomizations the change can reach are rendered.

Secret values, data and stringData entries and ENC[...] payloads are
redacted in every output. Like gen check, diff never executes anything,
never fetches, and reads nothing outside the repository.

Exit codes: 0 the comparison is complete, 1 the head does not render a
Kustomization the change reaches (the output says which and why) or a
problem left the comparison incomplete, 2 usage.

--output markdown writes a pull request comment: a hidden marker for the
workflow to find and update its own comment, a summary table, one folded
section per Kustomization, cut at --budget characters with a note that
points at the full diff (--full FILE writes it).`,
		Example: `  # What does my branch change, against main?
  gen diff --base main

  # Two commits, as a PR comment, the full diff in a file
  gen diff --base origin/main --head HEAD --output markdown --full gen-diff.txt > comment.md`,
		Args:        cobra.NoArgs,
		Annotations: map[string]string{runsNoProgram: "true"},
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(f)
			}
			if f.Base == "" {
				return usageErrorf("--base is required: the revision to compare with, e.g. --base main")
			}
			if f.Budget < 0 {
				return usageErrorf("--budget must be positive")
			}
			domains, err := f.domains()
			if err != nil {
				return err
			}
			root, err := f.root()
			if err != nil {
				return err
			}
			tuneGC(env)
			flux.PreloadSchema()
			return runDiff(streams, env, f, root, diff.Options{Roots: f.Roots, Domains: domains})
		},
	}
	fl := cmd.Flags()
	f.repoFlags.register(fl)
	fl.StringVar(&f.Base, "base", "", "the revision to compare with: a branch, tag or commit")
	fl.StringVar(&f.Head, "head", worktree, "the revision to compare, or worktree for the files on disk")
	fl.StringArrayVar(&f.Roots, "root", nil, "file holding the root Flux Kustomizations of the one cluster to compare, or the folder a Flux installation syncs (repeatable; default: every cluster gen check finds, each walked on its own)")
	enumVar(cmd, &f.Output, "output", "text", diffFormats, "what to print: text, markdown (a pull request comment) or json")
	fl.IntVar(&f.Budget, "budget", diff.DefaultBudget, "with --output markdown: the most characters the comment takes")
	fl.StringVar(&f.Full, "full", "", "also write the whole diff, as text, to this file (for a job artifact)")
	enumVar(cmd, &f.Color, "color", "auto", colorModes, "colour the text output: auto (on a terminal, unless NO_COLOR is set), always or never")
	fl.StringVar(&f.Artifact, "artifact-name", "", "with --output markdown: how the cut-short note names the full diff (default: the --full file's name)")
	return cmd
}

func runDiff(streams IO, env Env, f *diffFlags, root string, opts diff.Options) error {
	repo, err := diff.Open(root)
	if err != nil {
		return err
	}
	defer repo.Close()
	l := check.DefaultLimits()
	baseCommit, err := repo.Resolve(f.Base)
	if err != nil {
		return &UsageError{Err: fmt.Errorf("--base: %w", err)}
	}
	var base, head *check.Snapshot
	var headCommit *object.Commit
	headName := f.Head
	if f.Head == worktree {
		if err := apply.NewWriter(root).CheckReadable(); err != nil {
			return err
		}
		if base, err = repo.Read(baseCommit, l); err != nil {
			return err
		}
		if head, err = check.ReadDir(root, l); err != nil {
			return err
		}
	} else {
		c, err := repo.Resolve(f.Head)
		if err != nil {
			return &UsageError{Err: fmt.Errorf("--head: %w", err)}
		}
		headCommit = c
		headName = f.Head + " (" + c.Hash.String()[:12] + ")"
	}
	var res *diff.Result
	if headCommit != nil {
		res, err = repo.CompareRevisions(baseCommit, headCommit, opts)
	} else {
		res, err = diff.Compare(base, head, opts)
	}
	if err != nil {
		return err
	}
	res.Base = f.Base + " (" + baseCommit.Hash.String()[:12] + ")"
	res.Head = headName
	if f.Full != "" {
		out, err := os.Create(f.Full)
		if err != nil {
			return fmt.Errorf("--full: %w", err)
		}
		if err := diff.WriteText(out, res); err != nil {
			out.Close()
			return err
		}
		if err := out.Close(); err != nil {
			return fmt.Errorf("--full: %w", err)
		}
	}
	switch f.Output {
	case "json":
		err = diff.WriteJSON(streams.Out, res)
	case "markdown":
		artifact := f.Artifact
		if artifact == "" && f.Full != "" {
			artifact = "`" + strings.ReplaceAll(f.Full, "`", "") + "` (job artifact)"
		}
		_, err = fmt.Fprint(streams.Out, diff.Markdown(res, diff.MarkdownOptions{Budget: f.Budget, Artifact: artifact}))
	default:
		err = diff.WriteTextColor(streams.Out, res, useColor(f.Color, f.Output == "text", streams.Out, env))
	}
	if err != nil {
		return err
	}
	return diffFailure(res)
}

// diffFailedError makes diff exit 1 after its output: the head does not
// render where the change reaches, or the comparison is incomplete.
type diffFailedError struct{ msg string }

func (e diffFailedError) Error() string { return e.msg }
func (diffFailedError) ExitCode() int   { return ExitFailure }

// diffFailure is the error diff ends with for res, nil when it is
// complete.
func diffFailure(res *diff.Result) error {
	if !res.Failed() {
		return nil
	}
	if failed := res.HeadFailures(); len(failed) > 0 {
		ids := make([]string, len(failed))
		for i, k := range failed {
			ids[i] = k.ID
		}
		return diffFailedError{fmt.Sprintf("the head does not render %d Kustomization(s): %s", len(failed), strings.Join(ids, ", "))}
	}
	return diffFailedError{"the comparison is incomplete: see the problems in the output"}
}
