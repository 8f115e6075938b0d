// Package gitops commits what gen wrote, with go-git: exactly the touched
// paths, refusing to sweep up anyone else's changes.
package gitops

import (
	"errors"
	"fmt"
	"net/mail"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Repo is the git work tree that holds a gen repository (which may be a
// subfolder of it).
type Repo struct {
	git *git.Repository
	// Top is the work tree's root on disk.
	Top string
	// Prefix is the gen repository's folder relative to Top ("" or
	// "examples/home-ops/"), slash-separated with a trailing slash.
	Prefix string
}

// ErrNotGit is returned when the folder is in no git work tree.
var ErrNotGit = errors.New("not inside a git work tree")

// Open finds the work tree enclosing dir.
func Open(dir string) (*Repo, error) {
	g, top, prefix, err := Locate(dir)
	if errors.Is(err, ErrNotGit) {
		return nil, fmt.Errorf("%w; run 'git init' there or drop --commit", err)
	}
	if err != nil {
		return nil, err
	}
	return &Repo{git: g, Top: top, Prefix: prefix}, nil
}

// Locate opens the git work tree enclosing dir and returns it, its root on
// disk, and dir's folder inside it ("" or "sub/dir/", slash-separated with
// a trailing slash). A dir in no work tree is an ErrNotGit.
func Locate(dir string) (g *git.Repository, top, prefix string, err error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, "", "", err
	}
	g, err = git.PlainOpenWithOptions(abs, &git.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
	if errors.Is(err, git.ErrRepositoryNotExists) {
		return nil, "", "", fmt.Errorf("%q: %w", dir, ErrNotGit)
	}
	if err != nil {
		return nil, "", "", fmt.Errorf("opening git repository at %q: %w", dir, err)
	}
	wt, err := g.Worktree()
	if err != nil {
		return nil, "", "", fmt.Errorf("%q: %w (a bare repository has no work tree)", dir, err)
	}
	top = wt.Filesystem.Root()
	rel, err := filepath.Rel(top, abs)
	if err != nil {
		return nil, "", "", err
	}
	if rel != "." {
		prefix = filepath.ToSlash(rel) + "/"
	}
	return g, top, prefix, nil
}

// TopLevel returns the root of the work tree enclosing dir.
func TopLevel(dir string) (string, error) {
	r, err := Open(dir)
	if err != nil {
		return "", err
	}
	return r.Top, nil
}

// Dirty returns the given paths (relative to the gen repository) that have
// changes not yet committed: modified, staged, or untracked where gen would
// write.
func (r *Repo) Dirty(paths []string) ([]string, error) {
	wt, err := r.git.Worktree()
	if err != nil {
		return nil, err
	}
	st, err := wt.Status()
	if err != nil {
		return nil, fmt.Errorf("reading git status: %w", err)
	}
	var out []string
	for _, p := range paths {
		s, ok := st[r.Prefix+p]
		if !ok {
			continue
		}
		if s.Staging != git.Unmodified || s.Worktree != git.Unmodified {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out, nil
}

// stagedElsewhere lists staged changes outside paths: a commit made now
// would carry them along.
func (r *Repo) stagedElsewhere(paths []string) ([]string, error) {
	wt, err := r.git.Worktree()
	if err != nil {
		return nil, err
	}
	st, err := wt.Status()
	if err != nil {
		return nil, err
	}
	mine := map[string]bool{}
	for _, p := range paths {
		mine[r.Prefix+p] = true
	}
	var out []string
	for p, s := range st {
		if !mine[p] && s.Staging != git.Unmodified && s.Staging != git.Untracked {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out, nil
}

// Author is a commit author.
type Author struct {
	Name  string
	Email string
}

// ParseAuthor parses "Name <email>".
func ParseAuthor(s string) (Author, error) {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name == "" {
		return Author{}, fmt.Errorf("--author %q: want \"Name <email>\"", s)
	}
	return Author{Name: a.Name, Email: a.Address}, nil
}

// DefaultAuthor reads user.name and user.email from the repository's and
// the user's git config.
func (r *Repo) DefaultAuthor() (Author, error) {
	var a Author
	if cfg, err := r.git.ConfigScoped(config.SystemScope); err == nil {
		a.Name, a.Email = cfg.User.Name, cfg.User.Email
	}
	if a.Name == "" || a.Email == "" {
		return Author{}, fmt.Errorf("no commit author: set git config user.name and user.email, or pass --author \"Name <email>\"")
	}
	return a, nil
}

// CommitOptions say what to commit.
type CommitOptions struct {
	// Paths are relative to the gen repository; deleted paths are removed
	// from the index.
	Paths   []string
	Message string
	Author  Author
	// Branch, when set, is where the commit goes: created from HEAD when it
	// does not exist and checked out (the work tree keeps its files).
	Branch string
	// When is the commit time (now when zero).
	When time.Time
}

// Commit stages exactly opts.Paths and commits them.
func (r *Repo) Commit(opts CommitOptions) (plumbing.Hash, error) {
	if others, err := r.stagedElsewhere(opts.Paths); err != nil {
		return plumbing.ZeroHash, err
	} else if len(others) > 0 {
		return plumbing.ZeroHash, fmt.Errorf("the index has staged changes gen did not make (%s); commit or unstage them first", strings.Join(others, ", "))
	}
	wt, err := r.git.Worktree()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if opts.Branch != "" {
		if err := r.switchBranch(wt, opts.Branch); err != nil {
			return plumbing.ZeroHash, err
		}
	}
	for _, p := range opts.Paths {
		full := r.Prefix + p
		if _, err := os.Lstat(filepath.Join(r.Top, filepath.FromSlash(full))); errors.Is(err, os.ErrNotExist) {
			if _, err := wt.Remove(full); err != nil && !errors.Is(err, plumbing.ErrObjectNotFound) {
				return plumbing.ZeroHash, fmt.Errorf("staging removal of %q: %w", full, err)
			}
			continue
		}
		if _, err := wt.Add(full); err != nil {
			return plumbing.ZeroHash, fmt.Errorf("staging %q: %w", full, err)
		}
	}
	when := opts.When
	if when.IsZero() {
		when = time.Now()
	}
	sig := &object.Signature{Name: opts.Author.Name, Email: opts.Author.Email, When: when}
	h, err := wt.Commit(opts.Message, &git.CommitOptions{Author: sig, Committer: sig})
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("committing: %w", err)
	}
	return h, nil
}

func (r *Repo) switchBranch(wt *git.Worktree, branch string) error {
	if err := ValidateBranch(branch); err != nil {
		return fmt.Errorf("--branch %w", err)
	}
	ref := plumbing.NewBranchReferenceName(branch)
	head, err := r.git.Head()
	if err != nil {
		return fmt.Errorf("reading HEAD: %w (make a first commit before --branch)", err)
	}
	if head.Name() == ref {
		return nil
	}
	if _, err := r.git.Reference(ref, false); err == nil {
		return fmt.Errorf("branch %q exists and is not checked out; check it out first, or choose a new branch name", branch)
	}
	if err := wt.Checkout(&git.CheckoutOptions{Hash: head.Hash(), Branch: ref, Create: true, Keep: true}); err != nil {
		return fmt.Errorf("creating branch %q: %w", branch, err)
	}
	return nil
}

// Owned says why the file at abs (an absolute path whose folder exists)
// belongs to git, or "" when it does not: it is tracked in the index of
// the work tree that encloses it ("tracked by git"), or lies inside the
// git folder itself ("inside .git"). A path in no work tree is "".
func Owned(abs string) (string, error) {
	g, top, _, err := Locate(filepath.Dir(abs))
	if errors.Is(err, ErrNotGit) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(top, abs)
	if err != nil {
		return "", err
	}
	rel = filepath.ToSlash(rel)
	if rel == ".git" || strings.HasPrefix(rel, ".git/") {
		return "inside .git", nil
	}
	idx, err := g.Storer.Index()
	if err != nil {
		return "", fmt.Errorf("reading the git index: %w", err)
	}
	if _, err := idx.Entry(rel); err == nil {
		return "tracked by git", nil
	}
	return "", nil
}
