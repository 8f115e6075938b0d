package flux

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// memFS is a kustomize file system over a snapshot index, rooted at "/".
// The index is shared and never changed, so building the file system of
// one build costs nothing however large the repository is; what a build
// writes (the kustomization the controller generates or amends) goes to a
// layer of its own that no other build sees.
//
// It behaves like kustomize's in-memory file system (filesys.MakeFsInMemory)
// for everything a build does: paths are cleaned, relative paths are taken
// from the root, nothing outside the snapshot exists.
type memFS struct {
	idx *snapshotIndex

	mu sync.Mutex
	// written holds files written by the build, by repository path.
	written map[string][]byte
}

var _ filesys.FileSystem = (*memFS)(nil)

func newMemFS(idx *snapshotIndex) *memFS {
	return &memFS{idx: idx, written: map[string][]byte{}}
}

// rel turns a file system path into a repository path ("" for the root).
func (m *memFS) rel(p string) string {
	return repoPath(p)
}

func (m *memFS) file(rel string) ([]byte, bool) {
	m.mu.Lock()
	data, ok := m.written[rel]
	m.mu.Unlock()
	if ok {
		return data, true
	}
	data, ok = m.idx.files[rel]
	return data, ok
}

func (m *memFS) isDir(rel string) bool {
	if rel == "" {
		return true
	}
	if _, isFile := m.file(rel); isFile {
		return false
	}
	if _, ok := m.idx.dirs[rel]; ok {
		return true
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	prefix := rel + "/"
	for p := range m.written {
		if strings.HasPrefix(p, prefix) {
			return true
		}
	}
	return false
}

// entries returns the names in a directory, sub-directories without a
// trailing slash, sorted.
func (m *memFS) entries(rel string) []string {
	set := map[string]bool{}
	for _, e := range m.idx.dirs[rel] {
		set[strings.TrimSuffix(e, "/")] = true
	}
	m.mu.Lock()
	for p := range m.written {
		if parentDir(p) == rel {
			set[path.Base(p)] = true
		}
	}
	m.mu.Unlock()
	return sortedKeys(set)
}

func notExist(p string) error {
	return &os.PathError{Op: "open", Path: p, Err: fmt.Errorf("'%s' doesn't exist: %w", p, os.ErrNotExist)}
}

// Create is refused: builds only read, apart from the kustomization the
// renderer itself writes with WriteFile.
func (m *memFS) Create(p string) (filesys.File, error) { return nil, readOnly(p) }

// Mkdir is refused; see Create.
func (m *memFS) Mkdir(p string) error { return readOnly(p) }

// MkdirAll is refused; see Create.
func (m *memFS) MkdirAll(p string) error { return readOnly(p) }

// RemoveAll is refused; see Create.
func (m *memFS) RemoveAll(p string) error { return readOnly(p) }

// Open opens a file for reading.
func (m *memFS) Open(p string) (filesys.File, error) {
	rel := m.rel(p)
	data, ok := m.file(rel)
	if !ok {
		if m.isDir(rel) {
			return nil, fmt.Errorf("cannot open directory '%s'", p)
		}
		return nil, notExist(p)
	}
	return &memFile{Reader: bytes.NewReader(data), info: memInfo{name: path.Base("/" + rel), size: int64(len(data))}}, nil
}

// IsDir reports whether p is a directory.
func (m *memFS) IsDir(p string) bool { return m.isDir(m.rel(p)) }

// ReadDir lists a directory.
func (m *memFS) ReadDir(p string) ([]string, error) {
	rel := m.rel(p)
	if !m.isDir(rel) {
		if _, ok := m.file(rel); ok {
			return nil, fmt.Errorf("%s is not a directory", p)
		}
		return nil, notExist(p)
	}
	return m.entries(rel), nil
}

// CleanedAbs splits a path into its directory and file name.
func (m *memFS) CleanedAbs(p string) (filesys.ConfirmedDir, string, error) {
	rel := m.rel(p)
	if m.isDir(rel) {
		return filesys.ConfirmedDir("/" + rel), "", nil
	}
	if _, ok := m.file(rel); ok {
		return filesys.ConfirmedDir("/" + parentDir(rel)), path.Base(rel), nil
	}
	return "", "", notExist(p)
}

// Exists reports whether p is a file or directory.
func (m *memFS) Exists(p string) bool {
	rel := m.rel(p)
	if _, ok := m.file(rel); ok {
		return true
	}
	return m.isDir(rel)
}

// Glob returns the files matching pattern (filepath.Match on absolute
// paths), hidden files only when the pattern asks for them.
func (m *memFS) Glob(pattern string) ([]string, error) {
	var out []string
	err := m.Walk("/", func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		ok, err := filepath.Match(pattern, p)
		if err != nil {
			return err
		}
		if ok {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !filesys.IsHiddenFilePath(pattern) {
		out = filesys.RemoveHiddenFiles(out)
	}
	sort.Strings(out)
	return out, nil
}

// ReadFile returns a copy of a file's content.
func (m *memFS) ReadFile(p string) ([]byte, error) {
	rel := m.rel(p)
	data, ok := m.file(rel)
	if !ok {
		if m.isDir(rel) {
			return nil, fmt.Errorf("cannot read content from non-file '%s'", p)
		}
		return nil, notExist(p)
	}
	return bytes.Clone(data), nil
}

// WriteFile writes a file into the build's own layer.
func (m *memFS) WriteFile(p string, data []byte) error {
	rel := m.rel(p)
	if rel == "" || m.isDir(rel) {
		return fmt.Errorf("cannot write to directory '%s'", p)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.written[rel] = bytes.Clone(data)
	return nil
}

// Walk visits p and everything below it in lexical order, like
// filepath.Walk.
func (m *memFS) Walk(p string, fn filepath.WalkFunc) error {
	rel := m.rel(p)
	if !m.Exists("/" + rel) {
		return notExist(p)
	}
	err := m.walk(rel, fn)
	if err == filepath.SkipDir || err == filepath.SkipAll {
		return nil
	}
	return err
}

func (m *memFS) walk(rel string, fn filepath.WalkFunc) error {
	abs := "/" + rel
	if !m.isDir(rel) {
		data, _ := m.file(rel)
		return fn(abs, memInfo{name: path.Base(abs), size: int64(len(data))}, nil)
	}
	name := path.Base(abs)
	if err := fn(abs, memInfo{name: name, dir: true}, nil); err != nil {
		if err == filepath.SkipDir {
			return nil
		}
		return err
	}
	for _, e := range m.entries(rel) {
		child := e
		if rel != "" {
			child = rel + "/" + e
		}
		if err := m.walk(child, fn); err != nil {
			if err == filepath.SkipDir {
				// A file asking to skip its directory ends the directory.
				if !m.isDir(child) {
					return nil
				}
				continue
			}
			return err
		}
	}
	return nil
}

// memFile is an open file of a memFS.
type memFile struct {
	*bytes.Reader
	info memInfo
}

func (f *memFile) Write([]byte) (int, error)  { return 0, readOnly(f.info.name) }
func (f *memFile) Close() error               { return nil }
func (f *memFile) Stat() (os.FileInfo, error) { return f.info, nil }

var _ io.ReadWriteCloser = (*memFile)(nil)

// memInfo describes a memFS entry.
type memInfo struct {
	name string
	size int64
	dir  bool
}

func (i memInfo) Name() string { return i.name }
func (i memInfo) Size() int64  { return i.size }
func (i memInfo) Mode() os.FileMode {
	if i.dir {
		return os.ModeDir | 0o777
	}
	return 0o777
}
func (i memInfo) ModTime() time.Time { return time.Time{} }
func (i memInfo) IsDir() bool        { return i.dir }
func (i memInfo) Sys() any           { return nil }
