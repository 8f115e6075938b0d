package check

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"github.com/gen-gitops/gen/internal/flux"
)

// Limits bound the work a check does, so that a hostile repository ends in
// a finding instead of exhausting time or memory.
type Limits struct {
	// MaxFileSize is the largest file read, in bytes.
	MaxFileSize int64
	// MaxTotalBytes bounds the bytes read from all files together.
	MaxTotalBytes int64
	// MaxFiles bounds the number of files read.
	MaxFiles int
	// MaxDocuments bounds the YAML documents of all files together.
	MaxDocuments int
	// MaxAliasNodes bounds the nodes a YAML document holds once its
	// aliases are expanded.
	MaxAliasNodes int
	// MaxDepth bounds how deep a YAML document nests.
	MaxDepth int
	// MaxObjects bounds the objects all renders hold together.
	MaxObjects int
	// MaxRenderBytes bounds the bytes all builds read together (a file
	// read by several builds counts each time).
	MaxRenderBytes int64
	// MaxRenderWork bounds the sum over builds of the square of the YAML
	// documents each reads: kustomize's time grows so.
	MaxRenderWork int64
}

// DefaultLimits are far above what a real repository needs (the largest
// home-lab repositories hold a few MiB of YAML): 4 MiB a file (what gen's
// other commands read), 128 MiB and 200,000 files in all,
// 500,000 documents and rendered objects, 256 MiB read by builds in all,
// builds whose squared document counts sum to 50 million (some tens of
// seconds of kustomize; a real repository needs a fiftieth of it),
// a million nodes per document after alias expansion, 200 levels of
// nesting.
func DefaultLimits() Limits {
	return Limits{
		MaxFileSize:    4 << 20,
		MaxTotalBytes:  128 << 20,
		MaxFiles:       200_000,
		MaxDocuments:   500_000,
		MaxAliasNodes:  1_000_000,
		MaxDepth:       200,
		MaxObjects:     500_000,
		MaxRenderBytes: 256 << 20,
		MaxRenderWork:  50_000_000,
	}
}

// Snapshot is a repository read into memory, with what reading it found.
type Snapshot struct {
	Files flux.Files
	// Findings are problems met while reading: links, oversized files,
	// limits reached.
	Findings []Finding
	// Bytes is the total size of Files.
	Bytes int64
}

// Builder collects a Snapshot under Limits. Add may be called from several
// goroutines.
type Builder struct {
	limits Limits

	mu        sync.Mutex
	snap      Snapshot
	overFiles bool
	overBytes bool
}

// NewBuilder starts a snapshot.
func NewBuilder(l Limits) *Builder {
	return &Builder{limits: l, snap: Snapshot{Files: flux.Files{}}}
}

// Wanted reports whether a repository path is read at all: every YAML
// file, the SOPS and gen configuration, and anything under kubernetes/
// (kustomize generators read plain files there). The .git folder and
// node_modules are skipped by the callers.
func Wanted(p string) bool {
	switch path.Base(p) {
	case ".sops.yaml", ".gen.yaml", ".sourceignore":
		return true
	}
	if strings.HasPrefix(p, ".gen/") || strings.HasPrefix(p, "kubernetes/") {
		return true
	}
	ext := path.Ext(p)
	return ext == ".yaml" || ext == ".yml"
}

// belowKustomization reports whether a folder holding p, or one above it,
// has a kustomization file (see KustomizationDirs).
func belowKustomization(p string, kdirs map[string]bool) bool {
	for dir := path.Dir(p); ; dir = path.Dir(dir) {
		if kdirs[dir] {
			return true
		}
		if dir == "." || dir == "/" {
			return false
		}
	}
}

func isKustomizationName(name string) bool {
	return name == "kustomization.yaml" || name == "kustomization.yml" || name == "Kustomization"
}

// Reserve is called before reading a file of the given size. It reports
// whether to read it, recording a finding when a limit says no.
func (b *Builder) Reserve(p string, size int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if size > b.limits.MaxFileSize {
		b.snap.Findings = append(b.snap.Findings, newFinding(RuleFileTooLarge, p, 0,
			"%d bytes, over the limit of %d; the file was not read", size, b.limits.MaxFileSize))
		return false
	}
	if len(b.snap.Files) >= b.limits.MaxFiles {
		if !b.overFiles {
			b.overFiles = true
			b.snap.Findings = append(b.snap.Findings, newFinding(RuleRepoTooLarge, "", 0,
				"more than %d files; the rest were not read", b.limits.MaxFiles))
		}
		return false
	}
	if b.snap.Bytes+size > b.limits.MaxTotalBytes {
		if !b.overBytes {
			b.overBytes = true
			b.snap.Findings = append(b.snap.Findings, newFinding(RuleRepoTooLarge, "", 0,
				"more than %d bytes in all; the rest was not read", b.limits.MaxTotalBytes))
		}
		return false
	}
	b.snap.Bytes += size
	// Hold the slot while the file is read.
	b.snap.Files[p] = nil
	return true
}

// Add stores a file read after Reserve. Data longer than reserved (a file
// that grew) is cut off at the file size limit and reported.
func (b *Builder) Add(p string, data []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if int64(len(data)) > b.limits.MaxFileSize {
		delete(b.snap.Files, p)
		b.snap.Findings = append(b.snap.Findings, newFinding(RuleFileTooLarge, p, 0,
			"over the limit of %d bytes; the file was not read", b.limits.MaxFileSize))
		return
	}
	b.snap.Files[p] = data
}

// Drop forgets a reserved file that could not be read.
func (b *Builder) Drop(p string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.snap.Files, p)
}

// Symlink records a symbolic link at p pointing at target, which is never
// followed.
func (b *Builder) Symlink(p, target string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if escapes(p, target) {
		b.snap.Findings = append(b.snap.Findings, newFinding(RuleSymlinkEscape, p, 0,
			"symbolic link to %q, outside the repository; it is not followed", target))
		return
	}
	if Wanted(p) {
		b.snap.Findings = append(b.snap.Findings, newFinding(RuleSymlink, p, 0,
			"symbolic link to %q; it is not followed, so Flux and gen may see different content", target))
	}
}

// escapes reports whether a link at p (repository path) to target leaves
// the repository.
func escapes(p, target string) bool {
	target = filepath.ToSlash(target)
	if strings.HasPrefix(target, "/") || filepath.IsAbs(target) || (len(target) > 1 && target[1] == ':') {
		return true
	}
	joined := path.Join(path.Dir(p), target)
	return joined == ".." || strings.HasPrefix(joined, "../")
}

// Snapshot returns what was collected.
func (b *Builder) Snapshot() *Snapshot {
	b.mu.Lock()
	defer b.mu.Unlock()
	for p, data := range b.snap.Files {
		if data == nil {
			b.snap.Files[p] = []byte{}
		}
	}
	return &b.snap
}

// ReadDir reads the repository at root from disk under limits. It never
// follows a symbolic link (each one is a finding), skips .git and
// node_modules, and reads only regular files.
func ReadDir(root string, l Limits) (*Snapshot, error) {
	st, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("repository root %q: %w", root, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("repository root %q is not a folder", root)
	}
	b := NewBuilder(l)
	fsys := os.DirFS(root)
	// Files are reserved in the walk's order (fs.WalkDir reads each folder
	// sorted by name), so which ones a limit leaves out does not depend on
	// timing, and read while the walk goes on.
	var wg sync.WaitGroup
	jobs := make(chan string, 64)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range jobs {
				readOne(b, fsys, p, l.MaxFileSize)
			}
		}()
	}
	// The walk lists the tree first: a plain file is read when it is
	// Wanted or lies below a folder with a kustomization file (kustomize
	// generators read plain files beside it, wherever the repository
	// keeps its manifests).
	type entry struct {
		p string
		d fs.DirEntry
	}
	var entries []entry
	kdirs := map[string]bool{}
	err = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			// An unreadable folder is skipped, not fatal.
			if d != nil && d.IsDir() && p != "." {
				return fs.SkipDir
			}
			return err
		}
		if d.IsDir() {
			if p != "." && (d.Name() == ".git" || d.Name() == "node_modules") {
				return fs.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() && isKustomizationName(d.Name()) {
			if dir := path.Dir(p); dir != "." {
				kdirs[dir] = true
			}
		}
		entries = append(entries, entry{p, d})
		return nil
	})
	for _, e := range entries {
		if err != nil {
			break
		}
		switch {
		case e.d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(filepath.Join(root, filepath.FromSlash(e.p)))
			if err == nil {
				b.Symlink(e.p, target)
			}
		case e.d.Type().IsRegular() && (Wanted(e.p) || belowKustomization(e.p, kdirs)):
			info, err := e.d.Info()
			if err == nil && b.Reserve(e.p, info.Size()) {
				jobs <- e.p
			}
		}
	}
	close(jobs)
	wg.Wait()
	if err != nil {
		return nil, fmt.Errorf("reading repository %q: %w", root, err)
	}
	return b.Snapshot(), nil
}

// readOne reads a reserved file.
func readOne(b *Builder, fsys fs.FS, p string, max int64) {
	f, err := fsys.Open(p)
	if err != nil {
		b.Drop(p)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		b.Drop(p)
		return
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		b.Drop(p)
		return
	}
	b.Add(p, data)
}
