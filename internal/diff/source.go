package diff

import (
	"errors"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/gen-gitops/gen/internal/check"
)

// Repository is a git repository holding a gen repository, which may be a
// folder of it.
type Repository struct {
	git *git.Repository
	// Top is the work tree's root on disk.
	Top string
	// Prefix is the gen repository's folder inside the work tree ("" or
	// "clusters/home/", slash-separated, with a trailing slash).
	Prefix string
}

// Open finds the git repository enclosing dir, which is the gen
// repository's root.
func Open(dir string) (*Repository, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	g, err := git.PlainOpenWithOptions(abs, &git.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
	if err != nil {
		return nil, fmt.Errorf("opening the git repository at %q: %w", dir, err)
	}
	wt, err := g.Worktree()
	if err != nil {
		return nil, fmt.Errorf("%q: %w", dir, err)
	}
	top := wt.Filesystem.Root()
	rel, err := filepath.Rel(top, abs)
	if err != nil {
		return nil, err
	}
	prefix := ""
	if rel != "." {
		prefix = filepath.ToSlash(rel) + "/"
	}
	return &Repository{git: g, Top: top, Prefix: prefix}, nil
}

// Resolve turns a revision (a branch, tag, commit, HEAD~1, origin/main...)
// into its commit.
func (r *Repository) Resolve(rev string) (*object.Commit, error) {
	h, err := r.git.ResolveRevision(plumbing.Revision(rev))
	if err != nil {
		return nil, fmt.Errorf("revision %q: %w", rev, err)
	}
	c, err := r.git.CommitObject(*h)
	if err != nil {
		return nil, fmt.Errorf("revision %q: %w", rev, err)
	}
	return c, nil
}

// tree returns the tree of the gen repository's folder at a commit.
func (r *Repository) tree(c *object.Commit) (*object.Tree, error) {
	t, err := c.Tree()
	if err != nil {
		return nil, err
	}
	if r.Prefix == "" {
		return t, nil
	}
	sub, err := t.Tree(strings.TrimSuffix(r.Prefix, "/"))
	if errors.Is(err, object.ErrDirectoryNotFound) {
		return nil, fmt.Errorf("folder %q does not exist at %s", r.Prefix, c.Hash.String()[:12])
	}
	return sub, err
}

// Read reads the files of the gen repository at a commit straight from git
// objects (nothing is checked out) under limits, as check.ReadDir reads the
// disk: links are reported and never followed, submodules are skipped.
func (r *Repository) Read(c *object.Commit, l check.Limits) (*check.Snapshot, error) {
	t, err := r.tree(c)
	if err != nil {
		return nil, err
	}
	b := check.NewBuilder(l)
	if err := r.walk(b, t, "", l); err != nil {
		return nil, err
	}
	return b.Snapshot(), nil
}

func (r *Repository) walk(b *check.Builder, t *object.Tree, dir string, l check.Limits) error {
	for _, e := range t.Entries {
		p := path.Join(dir, e.Name)
		switch e.Mode {
		case filemode.Dir:
			if e.Name == ".git" || e.Name == "node_modules" {
				continue
			}
			sub, err := r.git.TreeObject(e.Hash)
			if err != nil {
				return fmt.Errorf("reading %q: %w", p, err)
			}
			if err := r.walk(b, sub, p, l); err != nil {
				return err
			}
		case filemode.Symlink:
			target, err := r.blob(e.Hash, 4096)
			if err == nil {
				b.Symlink(p, string(target))
			}
		case filemode.Regular, filemode.Executable, filemode.Deprecated:
			if !check.Wanted(p) {
				continue
			}
			size, err := r.git.Storer.EncodedObjectSize(e.Hash)
			if err != nil {
				return fmt.Errorf("reading %q: %w", p, err)
			}
			if !b.Reserve(p, size) {
				continue
			}
			data, err := r.blob(e.Hash, l.MaxFileSize)
			if err != nil {
				b.Drop(p)
				return fmt.Errorf("reading %q: %w", p, err)
			}
			b.Add(p, data)
		}
	}
	return nil
}

// blob reads at most max+1 bytes of a blob.
func (r *Repository) blob(h plumbing.Hash, max int64) ([]byte, error) {
	o, err := r.git.Storer.EncodedObject(plumbing.BlobObject, h)
	if err != nil {
		return nil, err
	}
	rd, err := o.Reader()
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	return io.ReadAll(io.LimitReader(rd, max+1))
}
