package action

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/gen-gitops/gen/generator"
	"github.com/gen-gitops/gen/internal/apply"
	"github.com/gen-gitops/gen/internal/gitops"
)

// prBodyFile is a checked --pr-body destination; nil when there is none.
type prBodyFile struct {
	// path is the path as the user gave it, for messages.
	path string
	abs  string
}

// prBodyTarget checks where --pr-body goes before anything is written.
// The body is a summary for a pull request, so it never replaces a file
// of a repository (one git tracks, one inside .git, one gen reads or
// writes, the lock) and is never written through a symbolic link: not as
// the file itself, and not through a folder that leads out of the
// repository. A new or untracked file is fine, as with a shell's ">".
func prBodyTarget(p, root string, files map[string][]byte, cs *generator.Changeset) (*prBodyFile, error) {
	if p == "" {
		return nil, nil
	}
	refuse := func(format string, args ...any) error {
		return &UsageError{Err: fmt.Errorf("--pr-body %q: "+format, append([]any{p}, args...)...)}
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return nil, refuse("%v", err)
	}
	st, err := os.Lstat(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, refuse("%v", err)
	case st.Mode()&fs.ModeSymlink != 0:
		return nil, refuse("is a symbolic link, and gen never writes through links; give the path of a plain file")
	case !st.Mode().IsRegular():
		return nil, refuse("is not a plain file")
	}
	absRoot, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	realRoot, err := filepath.EvalSymlinks(absRoot)
	if err != nil {
		return nil, err
	}
	ours := func(rel string) error {
		if rel == apply.LockName || strings.HasPrefix(rel, apply.LockName+".") {
			return refuse("is gen's lock file")
		}
		for _, f := range cs.Files {
			if f.Path == rel {
				return refuse("is %s, which this change writes; write the body outside the repository", rel)
			}
		}
		if _, read := files[rel]; read {
			return refuse("is %s, a file of the repository; write the body outside it (e.g. $RUNNER_TEMP/pr.md)", rel)
		}
		return nil
	}
	lexRel, lexInside := inside(absRoot, abs)
	if lexInside {
		if err := ours(lexRel); err != nil {
			return nil, err
		}
	}
	dir, err := filepath.EvalSymlinks(filepath.Dir(abs))
	if err != nil {
		return nil, refuse("its folder: %v", err)
	}
	real := filepath.Join(dir, filepath.Base(abs))
	if rel, ok := inside(realRoot, real); ok {
		if err := ours(rel); err != nil {
			return nil, err
		}
	} else if lexInside {
		return nil, refuse("a symbolic link on the way leads out of the repository, and gen never writes through links; give a path without links")
	}
	why, err := gitops.Owned(real)
	if err != nil {
		return nil, refuse("%v", err)
	}
	if why != "" {
		return nil, refuse("is %s; write the body outside the repository (e.g. $RUNNER_TEMP/pr.md)", why)
	}
	return &prBodyFile{path: p, abs: abs}, nil
}

// inside returns p relative to root (slash-separated) when p is below it.
func inside(root, p string) (string, bool) {
	rel, err := filepath.Rel(root, p)
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return "", false
	}
	return filepath.ToSlash(rel), true
}

func (b *prBodyFile) name() string {
	if b == nil {
		return ""
	}
	return b.path
}

// write writes the body. The file is opened without truncating and
// compared with what was checked, so a link put in its place since is
// refused instead of followed.
func (b *prBodyFile) write(body string) error {
	if b == nil {
		return nil
	}
	before, err := os.Lstat(b.abs)
	exists := err == nil
	if exists && !before.Mode().IsRegular() {
		return fmt.Errorf("writing --pr-body %q: it is no longer a plain file", b.path)
	}
	flags := os.O_WRONLY
	if !exists {
		flags |= os.O_CREATE | os.O_EXCL
	}
	f, err := os.OpenFile(b.abs, flags, 0o644)
	if err != nil {
		return fmt.Errorf("writing --pr-body %q: %w", b.path, err)
	}
	opened, err := f.Stat()
	if err == nil && exists && !os.SameFile(before, opened) {
		err = fmt.Errorf("it was replaced while gen ran")
	}
	if err == nil {
		err = f.Truncate(0)
	}
	if err == nil {
		_, err = f.WriteString(body)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing --pr-body %q: %w", b.path, err)
	}
	return nil
}

// prBody renders the summary. Its layout is stable so bots can match on it.
func prBody(cs *generator.Changeset, diff string, dryRun bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## %s\n\n", cs.Title)
	if len(cs.Files) == 0 {
		b.WriteString("Nothing to change: the repository already has it.\n")
		return b.String()
	}
	if dryRun {
		b.WriteString("A dry run of gen: nothing was written. The change was built the way Flux builds it.\n\n")
	} else {
		b.WriteString("Written by gen; the change was built the way Flux builds it before it was written.\n\n")
	}
	b.WriteString("| file | change |\n|---|---|\n")
	for _, fc := range cs.Files {
		what := "written"
		switch {
		case fc.Delete && dryRun:
			what = "would be deleted"
		case fc.Delete:
			what = "deleted"
		case fc.Sensitive && dryRun:
			what = "would be written (SOPS-encrypted)"
		case fc.Sensitive:
			what = "written (SOPS-encrypted)"
		case dryRun:
			what = "would be written"
		}
		fmt.Fprintf(&b, "| `%s` | %s |\n", fc.Path, what)
	}
	if len(cs.Notes) > 0 {
		b.WriteString("\n### Notes\n\n")
		for _, n := range cs.Notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}
	if diff != "" {
		fence := "```"
		for strings.Contains(diff, fence) {
			fence += "`"
		}
		fmt.Fprintf(&b, "\n<details>\n<summary>Diff (secret values redacted)</summary>\n\n%sdiff\n%s", fence, diff)
		if !strings.HasSuffix(diff, "\n") {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "%s\n\n</details>\n", fence)
	}
	return b.String()
}
