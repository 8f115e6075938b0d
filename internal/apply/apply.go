// Package apply writes a Changeset to disk all or none.
//
// The write is a small journaled transaction: every new file is first
// written and synced beside its target, the journal is written and synced
// (the commit point), then the files are renamed into place. A run that is
// killed before the commit point leaves the old tree; after it, the next run
// (or Recover) finishes the renames, so the tree is the new one. A lock file
// keeps two runs from interleaving.
package apply

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/gen-gitops/gen/generator"
)

// LockName is the lock and journal file at the repository root.
const LockName = ".gen.lock"

const (
	newSuffix = ".gen-new"
)

// journal is what the lock file holds once a write is committed.
type journal struct {
	PID       int      `json:"pid"`
	Committed bool     `json:"committed"`
	Writes    []string `json:"writes,omitempty"`
	Deletes   []string `json:"deletes,omitempty"`
	Dirs      []string `json:"dirs,omitempty"`
}

// Writer applies changesets under one root.
type Writer struct {
	// Root is the repository root on disk.
	Root string
	// crashAfter, when positive, makes the writer exit the process after
	// that many filesystem steps: the crash tests' way of killing a run at
	// each write. It is read from GEN_APPLY_CRASH_AFTER.
	crashAfter int
	steps      int
}

// NewWriter returns a Writer for root.
func NewWriter(root string) *Writer {
	w := &Writer{Root: root}
	if v := os.Getenv("GEN_APPLY_CRASH_AFTER"); v != "" {
		w.crashAfter, _ = strconv.Atoi(v)
	}
	return w
}

func (w *Writer) step() {
	w.steps++
	if w.crashAfter > 0 && w.steps >= w.crashAfter {
		os.Exit(137)
	}
}

// ErrLocked is returned while another gen run holds the lock.
var ErrLocked = errors.New("another gen run is writing to this repository")

// Apply writes cs. Paths are checked again here: a path that is absolute,
// leaves the root, or passes through a symbolic link is refused before
// anything is written.
func (w *Writer) Apply(cs *generator.Changeset) (err error) {
	if err := cs.Normalize(); err != nil {
		return err
	}
	for _, f := range cs.Files {
		if err := w.checkPath(f.Path); err != nil {
			return err
		}
	}
	if err := w.Recover(); err != nil {
		return err
	}
	// Plan everything before touching the disk, so the journal written
	// with the lock lists what a crashed run may leave behind.
	j := journal{PID: os.Getpid()}
	planned := map[string]bool{}
	for _, f := range cs.Files {
		target := filepath.Join(w.Root, filepath.FromSlash(f.Path))
		if f.Delete {
			if _, err := os.Lstat(target); err == nil {
				j.Deletes = append(j.Deletes, f.Path)
			}
			continue
		}
		for _, d := range missingDirs(w.Root, filepath.Dir(target)) {
			if !planned[d] {
				planned[d] = true
				j.Dirs = append(j.Dirs, d)
			}
		}
		j.Writes = append(j.Writes, f.Path)
	}
	lock := filepath.Join(w.Root, LockName)
	lf, err := os.OpenFile(lock, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%w (lock %s); if no gen is running, remove that file", ErrLocked, lock)
		}
		return fmt.Errorf("taking lock %s: %w", lock, err)
	}
	if err := writeJSON(lf, j); err != nil {
		lf.Close()
		os.Remove(lock)
		return err
	}
	lf.Close()
	w.step()

	committed := false
	defer func() {
		if committed {
			return
		}
		w.rollback(j)
		os.Remove(lock)
	}()

	for _, d := range j.Dirs {
		if err := os.Mkdir(filepath.Join(w.Root, filepath.FromSlash(d)), 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("creating folder %q: %w", d, err)
		}
		w.step()
	}
	// Stage every new file beside its target.
	for _, f := range cs.Files {
		if f.Delete {
			continue
		}
		target := filepath.Join(w.Root, filepath.FromSlash(f.Path))
		mode := os.FileMode(0o644)
		if st, err := os.Stat(target); err == nil {
			mode = st.Mode().Perm()
		}
		if err := writeSynced(target+newSuffix, f.Content, mode); err != nil {
			return fmt.Errorf("writing %q: %w", f.Path, err)
		}
		w.step()
	}
	// Commit point.
	j.Committed = true
	if err := writeFileSynced(lock, j); err != nil {
		return err
	}
	committed = true
	w.step()
	syncDir(w.Root)
	return w.finish(j)
}

// finish renames staged files into place and removes deletions, then the
// journal. It is idempotent, so recovery can run it again.
func (w *Writer) finish(j journal) error {
	for _, p := range j.Writes {
		target := filepath.Join(w.Root, filepath.FromSlash(p))
		if _, err := os.Lstat(target + newSuffix); err == nil {
			if err := os.Rename(target+newSuffix, target); err != nil {
				return fmt.Errorf("moving %q into place: %w", p, err)
			}
			syncDir(filepath.Dir(target))
			w.step()
		}
	}
	for _, p := range j.Deletes {
		target := filepath.Join(w.Root, filepath.FromSlash(p))
		if err := os.Remove(target); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("removing %q: %w", p, err)
		}
		w.step()
	}
	w.removeEmptied(j.Deletes)
	return os.Remove(filepath.Join(w.Root, LockName))
}

// removeEmptied removes the folders that deletions left empty, walking up
// from each deleted file to the root (which stays): a removed app leaves
// no empty app/ folder behind. A folder that still holds anything stays.
func (w *Writer) removeEmptied(deleted []string) {
	for _, p := range deleted {
		dir := filepath.Dir(filepath.Join(w.Root, filepath.FromSlash(p)))
		for {
			rel, err := filepath.Rel(w.Root, dir)
			if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
				break
			}
			if os.Remove(dir) != nil {
				break
			}
			dir = filepath.Dir(dir)
		}
	}
}

// rollback removes staged files and folders made for them.
func (w *Writer) rollback(j journal) {
	for _, p := range j.Writes {
		os.Remove(filepath.Join(w.Root, filepath.FromSlash(p)) + newSuffix)
	}
	for i := len(j.Dirs) - 1; i >= 0; i-- {
		os.Remove(filepath.Join(w.Root, filepath.FromSlash(j.Dirs[i])))
	}
}

// Recover finishes or undoes a write that a killed run left behind. A lock
// held by a live process is left alone.
func (w *Writer) Recover() error {
	lock := filepath.Join(w.Root, LockName)
	data, err := os.ReadFile(lock)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading %s: %w", lock, err)
	}
	var j journal
	if err := json.Unmarshal(data, &j); err != nil {
		// A lock whose first write was cut short holds nothing to undo.
		return os.Remove(lock)
	}
	if j.PID != os.Getpid() && processAlive(j.PID) {
		return fmt.Errorf("%w (pid %d, lock %s)", ErrLocked, j.PID, lock)
	}
	if j.Committed {
		return w.finish(j)
	}
	// Not committed: undo what the journal planned.
	w.rollback(j)
	return os.Remove(lock)
}

func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	return p.Signal(syscall.Signal(0)) == nil
}

// checkPath refuses a target that leaves the root through ".." or a
// symbolic link anywhere on its way.
func (w *Writer) checkPath(rel string) error {
	clean, err := generator.CleanRelPath(rel)
	if err != nil {
		return err
	}
	cur := w.Root
	parts := strings.Split(clean, "/")
	for i, part := range parts {
		cur = filepath.Join(cur, part)
		st, err := os.Lstat(cur)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("checking %q: %w", rel, err)
		}
		if st.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("refusing to write %q: %q is a symbolic link, and gen never writes through links", rel, strings.Join(parts[:i+1], "/"))
		}
		if i < len(parts)-1 && !st.IsDir() {
			return fmt.Errorf("refusing to write %q: %q is a file, not a folder", rel, strings.Join(parts[:i+1], "/"))
		}
	}
	return nil
}

// missingDirs returns the folders from root down to dir that do not exist
// yet (relative, slash-separated), outermost first.
func missingDirs(root, dir string) []string {
	var missing []string
	for d := dir; d != root && len(d) > len(root); d = filepath.Dir(d) {
		if _, err := os.Lstat(d); err == nil {
			break
		}
		rel, _ := filepath.Rel(root, d)
		missing = append(missing, filepath.ToSlash(rel))
	}
	for i, k := 0, len(missing)-1; i < k; i, k = i+1, k-1 {
		missing[i], missing[k] = missing[k], missing[i]
	}
	return missing
}

func writeSynced(p string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(p, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func writeJSON(f *os.File, j journal) error {
	data, err := json.Marshal(j)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	return f.Sync()
}

// writeFileSynced replaces the journal atomically.
func writeFileSynced(p string, j journal) error {
	data, err := json.Marshal(j)
	if err != nil {
		return err
	}
	if err := writeSynced(p+".tmp", data, 0o644); err != nil {
		return err
	}
	return os.Rename(p+".tmp", p)
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}
