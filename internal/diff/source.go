package diff

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"

	"github.com/gen-gitops/gen/internal/check"
	"github.com/gen-gitops/gen/internal/gitops"
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

	storage *filesystem.Storage
	// skip, during one read, names folders not to read.
	skip func(dir string) bool
}

// Open finds the git repository enclosing dir, which is the gen
// repository's root. Close it when done.
func Open(dir string) (*Repository, error) {
	g, top, prefix, err := gitops.Locate(dir)
	if err != nil {
		return nil, err
	}
	r := &Repository{git: g, Top: top, Prefix: prefix}
	// go-git opens the pack file again for every object it reads, unless
	// told to keep it open: reading a large tree then costs most of its
	// time in system calls.
	if st, err := os.Stat(filepath.Join(top, ".git")); err == nil && st.IsDir() {
		storage := filesystem.NewStorageWithOptions(osfs.New(filepath.Join(top, ".git")), cache.NewObjectLRUDefault(),
			filesystem.Options{KeepDescriptors: true})
		if kept, err := git.Open(storage, osfs.New(top)); err == nil {
			r.git, r.storage = kept, storage
		}
	}
	return r, nil
}

// Close releases the files the repository keeps open.
func (r *Repository) Close() error {
	if r.storage != nil {
		return r.storage.Close()
	}
	return nil
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
	if err := r.walk(b, nil, t, nil, "", false); err != nil {
		return nil, err
	}
	return b.Snapshot(), nil
}

// ReadPair reads two commits at once: a folder or file whose object is the
// same on both sides is read once and shared, so a small change to a large
// repository costs one read of it, not two.
func (r *Repository) ReadPair(base, head *object.Commit, l check.Limits) (*check.Snapshot, *check.Snapshot, error) {
	bt, err := r.tree(base)
	if err != nil {
		return nil, nil, err
	}
	ht, err := r.tree(head)
	if err != nil {
		return nil, nil, err
	}
	bb, hb := check.NewBuilder(l), check.NewBuilder(l)
	if err := r.walk(hb, bb, ht, bt, "", false); err != nil {
		return nil, nil, err
	}
	return bb.Snapshot(), hb.Snapshot(), nil
}

// walk reads tree t into b. When other is given, it is the same folder on
// another side, read into ob: an entry with the same object on both sides
// is read once for both, a folder that differs is walked on both sides
// together, anything else is read for its own side. inKus is set below a
// folder with a kustomization file, where plain files are read too
// (kustomize generators read them), as check.ReadDir does.
func (r *Repository) walk(b, ob *check.Builder, t, other *object.Tree, dir string, inKus bool) error {
	inKus = inKus || dir != "" && (hasKustomization(t) || other != nil && hasKustomization(other))
	if other == nil {
		for _, e := range t.Entries {
			if err := r.entry([]*check.Builder{b}, e, dir, inKus); err != nil {
				return err
			}
		}
		return nil
	}
	others := make(map[string]object.TreeEntry, len(other.Entries))
	for _, e := range other.Entries {
		others[e.Name] = e
	}
	for _, e := range t.Entries {
		oe, ok := others[e.Name]
		delete(others, e.Name)
		switch {
		case ok && oe.Hash == e.Hash && oe.Mode == e.Mode:
			if err := r.entry([]*check.Builder{b, ob}, e, dir, inKus); err != nil {
				return err
			}
		case ok && e.Mode == filemode.Dir && oe.Mode == filemode.Dir:
			if e.Name == ".git" || e.Name == "node_modules" || (r.skip != nil && r.skip(path.Join(dir, e.Name))) {
				continue
			}
			p := path.Join(dir, e.Name)
			sub, err := r.git.TreeObject(e.Hash)
			if err != nil {
				return fmt.Errorf("reading %q: %w", p, err)
			}
			osub, err := r.git.TreeObject(oe.Hash)
			if err != nil {
				return fmt.Errorf("reading %q: %w", p, err)
			}
			if err := r.walk(b, ob, sub, osub, p, inKus); err != nil {
				return err
			}
		default:
			if err := r.entry([]*check.Builder{b}, e, dir, inKus); err != nil {
				return err
			}
			if ok {
				if err := r.entry([]*check.Builder{ob}, oe, dir, inKus); err != nil {
					return err
				}
			}
		}
	}
	for _, oe := range others {
		if err := r.entry([]*check.Builder{ob}, oe, dir, inKus); err != nil {
			return err
		}
	}
	return nil
}

// hasKustomization reports whether a folder holds a kustomization file.
func hasKustomization(t *object.Tree) bool {
	for _, e := range t.Entries {
		switch e.Name {
		case "kustomization.yaml", "kustomization.yml", "Kustomization":
			return e.Mode != filemode.Dir
		}
	}
	return false
}

// entry reads one tree entry (recursively for a folder) into every builder
// of targets.
func (r *Repository) entry(targets []*check.Builder, e object.TreeEntry, dir string, inKus bool) error {
	p := path.Join(dir, e.Name)
	switch e.Mode {
	case filemode.Dir:
		if e.Name == ".git" || e.Name == "node_modules" || (r.skip != nil && r.skip(p)) {
			return nil
		}
		sub, err := r.git.TreeObject(e.Hash)
		if err != nil {
			return fmt.Errorf("reading %q: %w", p, err)
		}
		subKus := inKus || hasKustomization(sub)
		for _, se := range sub.Entries {
			if err := r.entry(targets, se, p, subKus); err != nil {
				return err
			}
		}
	case filemode.Symlink:
		target, err := r.blob(e.Hash, 4096)
		if err == nil {
			for _, b := range targets {
				b.Symlink(p, string(target))
			}
		}
	case filemode.Regular, filemode.Executable, filemode.Deprecated:
		if !check.Wanted(p) && !inKus {
			return nil
		}
		size, err := r.git.Storer.EncodedObjectSize(e.Hash)
		if err != nil {
			return fmt.Errorf("reading %q: %w", p, err)
		}
		var want []*check.Builder
		for _, b := range targets {
			if b.Reserve(p, size) {
				want = append(want, b)
			}
		}
		if len(want) == 0 {
			return nil
		}
		data, err := r.blob(e.Hash, check.DefaultLimits().MaxFileSize)
		if err != nil {
			for _, b := range want {
				b.Drop(p)
			}
			return fmt.Errorf("reading %q: %w", p, err)
		}
		for _, b := range want {
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

// ChangedPaths lists the files that differ between two commits, from the
// trees alone: folders whose objects are the same are not opened.
func (r *Repository) ChangedPaths(base, head *object.Commit) ([]string, error) {
	bt, err := r.tree(base)
	if err != nil {
		return nil, err
	}
	ht, err := r.tree(head)
	if err != nil {
		return nil, err
	}
	var out []string
	if err := r.changed(bt, ht, "", &out); err != nil {
		return nil, err
	}
	sort.Strings(out)
	return out, nil
}

func (r *Repository) changed(a, b *object.Tree, dir string, out *[]string) error {
	entries := func(t *object.Tree) map[string]object.TreeEntry {
		m := map[string]object.TreeEntry{}
		if t != nil {
			for _, e := range t.Entries {
				m[e.Name] = e
			}
		}
		return m
	}
	ea, eb := entries(a), entries(b)
	names := map[string]bool{}
	for n := range ea {
		names[n] = true
	}
	for n := range eb {
		names[n] = true
	}
	for n := range names {
		x, inA := ea[n]
		y, inB := eb[n]
		if inA && inB && x.Hash == y.Hash && x.Mode == y.Mode {
			continue
		}
		p := path.Join(dir, n)
		var ta, tb *object.Tree
		var err error
		if inA && x.Mode == filemode.Dir {
			if ta, err = r.git.TreeObject(x.Hash); err != nil {
				return err
			}
		}
		if inB && y.Mode == filemode.Dir {
			if tb, err = r.git.TreeObject(y.Hash); err != nil {
				return err
			}
		}
		if ta != nil || tb != nil {
			if err := r.changed(ta, tb, p, out); err != nil {
				return err
			}
		}
		if (inA && x.Mode != filemode.Dir) || (inB && y.Mode != filemode.Dir) {
			*out = append(*out, p)
		}
	}
	return nil
}

// file reads one file of a commit, or nil when it is not there.
func (r *Repository) file(c *object.Commit, p string) []byte {
	t, err := r.tree(c)
	if err != nil {
		return nil
	}
	f, err := t.File(p)
	if err != nil || f.Mode == filemode.Symlink {
		return nil
	}
	data, err := r.blob(f.Hash, check.DefaultLimits().MaxFileSize)
	if err != nil || int64(len(data)) > check.DefaultLimits().MaxFileSize {
		return nil
	}
	return data
}

// hasFile reports whether a commit holds a file.
func (r *Repository) hasFile(c *object.Commit, p string) bool {
	t, err := r.tree(c)
	if err != nil {
		return false
	}
	_, err = t.FindEntry(p)
	return err == nil
}
