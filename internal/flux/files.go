package flux

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// Files is a repository snapshot: slash-separated paths relative to the
// repository root, mapped to file contents. Directories are implied by the
// paths of the files under them.
type Files map[string][]byte

// FS returns a kustomize file system over the snapshot, held in memory and
// rooted at "/": the file "kubernetes/apps/x.yaml" is "/kubernetes/apps/x.yaml"
// and no path outside the snapshot exists. Keys that are absolute or that
// climb out of the root with ".." are left out. Each call returns a new,
// independent file system; writing to it never changes f.
func (f Files) FS() filesys.FileSystem {
	fs := filesys.MakeFsInMemory()
	for _, p := range f.paths() {
		// A path that is also the parent of another path cannot be both a
		// file and a directory; the write fails and the file is left out.
		_ = fs.WriteFile("/"+p, f[p])
	}
	return fs
}

// paths returns the snapshot's valid keys, cleaned and sorted.
func (f Files) paths() []string {
	out := make([]string, 0, len(f))
	for k := range f {
		if c, ok := cleanRel(k); ok && c != "" {
			out = append(out, c)
		}
	}
	sort.Strings(out)
	return out
}

// cleanRel cleans a slash-separated relative path. It fails for absolute
// paths and for paths that leave the root.
func cleanRel(p string) (string, bool) {
	if strings.HasPrefix(p, "/") {
		return "", false
	}
	c := path.Clean(p)
	if c == "." {
		return "", true
	}
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", false
	}
	return c, true
}

// repoPath turns an absolute path of the in-memory file system into a
// repository-relative path ("" for the root).
func repoPath(abs string) string {
	return strings.TrimPrefix(path.Clean("/"+filepath.ToSlash(abs)), "/")
}

// parentDir returns the directory holding a repository-relative path; the
// root's children have parent "".
func parentDir(p string) string {
	d := path.Dir(p)
	if d == "." || d == "/" {
		return ""
	}
	return d
}

// inputs records what a build looked at in the file system, so that a later
// change can be tested against it. All paths are repository-relative.
type inputs struct {
	mu sync.Mutex
	// read holds files read and paths probed for existence: a change to any
	// of them, including creating or deleting it, can change the build.
	read map[string]bool
	// listed holds directories whose entries the build enumerated.
	listed map[string]bool
	// seen holds every path the build saw, as an entry of a listed
	// directory or otherwise.
	seen map[string]bool
	// docs counts the YAML documents of the files read (each read counts).
	docs int
}

func newInputs() *inputs {
	return &inputs{read: map[string]bool{}, listed: map[string]bool{}, seen: map[string]bool{}}
}

func (in *inputs) addRead(abs string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	p := repoPath(abs)
	in.read[p] = true
	in.seen[p] = true
}

func (in *inputs) addListed(abs string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	p := repoPath(abs)
	in.listed[p] = true
	in.seen[p] = true
}

func (in *inputs) addSeen(abs string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.seen[repoPath(abs)] = true
}

// merge adds the repository-relative paths of other to in.
func (in *inputs) merge(other *inputs) {
	if other == nil || other == in {
		return
	}
	other.mu.Lock()
	read, listed, seen := copySet(other.read), copySet(other.listed), copySet(other.seen)
	other.mu.Unlock()
	in.mu.Lock()
	defer in.mu.Unlock()
	for p := range read {
		in.read[p] = true
	}
	for p := range listed {
		in.listed[p] = true
	}
	for p := range seen {
		in.seen[p] = true
	}
}

func copySet(s map[string]bool) map[string]bool {
	out := make(map[string]bool, len(s))
	for k, v := range s {
		out[k] = v
	}
	return out
}

// size returns the bytes of the snapshot's files the build read.
func (in *inputs) size(idx *snapshotIndex) int64 {
	in.mu.Lock()
	defer in.mu.Unlock()
	var n int64
	for p := range in.read {
		n += int64(len(idx.files[p]))
	}
	return n
}

// touches reports whether a change (edit, creation or deletion) of the
// repository-relative path p can change what the recorded build saw.
func (in *inputs) touches(p string) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.read[p] {
		return true
	}
	// Walk up to the nearest directory the build knew about. If it was
	// listed and the path below it was not seen, the change adds or removes
	// an entry of that listing.
	child := p
	for {
		dir := parentDir(child)
		if in.listed[dir] {
			return child == p || !in.seen[child]
		}
		if in.seen[dir] || dir == "" {
			return false
		}
		child = dir
	}
}

// snapshot is a Files prepared for builds: cleaned paths and an index of
// its folders, made once and shared by every build from it.
type snapshot struct {
	files Files
	idx   *snapshotIndex
}

func newSnapshot(files Files) *snapshot {
	return &snapshot{files: files, idx: newSnapshotIndex(files.cleaned())}
}

// snapshotIndex tells, for a snapshot, which paths are files and what each
// directory holds.
type snapshotIndex struct {
	files map[string][]byte
	// dirs maps each directory ("" is the root) to its sorted entries, with
	// a trailing "/" on sub-directories.
	dirs map[string][]string
}

func newSnapshotIndex(clean map[string][]byte) *snapshotIndex {
	idx := &snapshotIndex{files: clean, dirs: map[string][]string{"": nil}}
	entries := map[string]map[string]bool{"": {}}
	for p := range clean {
		child, entry := p, path.Base(p)
		for {
			dir := parentDir(child)
			if entries[dir] == nil {
				entries[dir] = map[string]bool{}
			}
			entries[dir][entry] = true
			if dir == "" {
				break
			}
			child, entry = dir, path.Base(dir)+"/"
		}
	}
	for dir, set := range entries {
		idx.dirs[dir] = sortedKeys(set)
	}
	return idx
}

// fingerprint hashes what the recorded build saw of the snapshot: the state
// and content of every path it read or probed, and the entries of every
// directory it listed.
func (in *inputs) fingerprint(idx *snapshotIndex) [sha256.Size]byte {
	in.mu.Lock()
	read, listed := sortedKeys(in.read), sortedKeys(in.listed)
	in.mu.Unlock()
	h := sha256.New()
	for _, p := range read {
		h.Write([]byte("r\x00" + p + "\x00"))
		if c, ok := idx.files[p]; ok {
			sum := sha256.Sum256(c)
			h.Write([]byte("f"))
			h.Write(sum[:])
		} else if _, ok := idx.dirs[p]; ok {
			h.Write([]byte("d"))
		} else {
			h.Write([]byte("-"))
		}
	}
	for _, d := range listed {
		h.Write([]byte("l\x00" + d + "\x00"))
		for _, e := range idx.dirs[d] {
			h.Write([]byte(e + "\x00"))
		}
	}
	var out [sha256.Size]byte
	copy(out[:], h.Sum(nil))
	return out
}

// recordingFS is a read-only view of a file system that records every path
// a build reads, probes or lists.
type recordingFS struct {
	filesys.FileSystem
	in *inputs
}

func (r recordingFS) Create(p string) (filesys.File, error) { return nil, readOnly(p) }
func (r recordingFS) Mkdir(p string) error                  { return readOnly(p) }
func (r recordingFS) MkdirAll(p string) error               { return readOnly(p) }
func (r recordingFS) RemoveAll(p string) error              { return readOnly(p) }
func (r recordingFS) WriteFile(p string, _ []byte) error    { return readOnly(p) }

func (r recordingFS) Open(p string) (filesys.File, error) {
	r.in.addRead(p)
	return r.FileSystem.Open(p)
}

func (r recordingFS) ReadFile(p string) ([]byte, error) {
	r.in.addRead(p)
	data, err := r.FileSystem.ReadFile(p)
	if err == nil {
		if err := r.in.countDocuments(p, data); err != nil {
			return nil, err
		}
	}
	return data, err
}

// MaxBuildDocuments bounds the YAML documents one build may read. kustomize
// checks every object it adds against all the others, so a build's time
// grows with the square of its objects: about a second for 3,000 objects,
// minutes for a file of 80,000 small ones.
const MaxBuildDocuments = 5000

// countDocuments adds the documents of a file read, failing once the
// build has read more than MaxBuildDocuments.
func (in *inputs) countDocuments(p string, data []byte) error {
	n := bytes.Count(data, []byte("\n---")) + 1
	in.mu.Lock()
	defer in.mu.Unlock()
	in.docs += n
	if in.docs > MaxBuildDocuments {
		return fmt.Errorf("reading %q: the build has read more than %d YAML documents, the limit for one build", repoPath(p), MaxBuildDocuments)
	}
	return nil
}

// documents returns how many documents the build read.
func (in *inputs) documents() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.docs
}

func (r recordingFS) Exists(p string) bool {
	r.in.addRead(p)
	return r.FileSystem.Exists(p)
}

func (r recordingFS) IsDir(p string) bool {
	r.in.addRead(p)
	return r.FileSystem.IsDir(p)
}

func (r recordingFS) ReadDir(p string) ([]string, error) {
	r.in.addListed(p)
	names, err := r.FileSystem.ReadDir(p)
	for _, n := range names {
		r.in.addSeen(path.Join(p, n))
	}
	return names, err
}

func (r recordingFS) Glob(pattern string) ([]string, error) {
	r.in.addListed(path.Dir(pattern))
	return r.FileSystem.Glob(pattern)
}

func (r recordingFS) Walk(root string, fn filepath.WalkFunc) error {
	r.in.addRead(root)
	return r.FileSystem.Walk(root, func(p string, info os.FileInfo, err error) error {
		r.in.addSeen(p)
		ret := fn(p, info, err)
		if info != nil && info.IsDir() && ret == nil {
			r.in.addListed(p)
		}
		return ret
	})
}

func readOnly(p string) error {
	return &os.PathError{Op: "write", Path: p, Err: os.ErrPermission}
}
