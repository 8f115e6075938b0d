// Package apply writes a Changeset to disk all or none.
//
// The write is a small journaled transaction under a lock: the lock file
// is created with its owner (pid, process start time, command) in one
// atomic step; under it the files the change was computed from are
// compared with the disk (Changeset.Read), so a concurrent edit is never
// overwritten; every new file is then written and synced beside its
// target, the journal is marked committed (the commit point), and the
// files are renamed into place. A run that is killed before the commit
// point leaves the old tree; after it, the next run (or Recover) finishes
// the renames, so the tree is the new one.
package apply

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gen-gitops/gen/generator"
)

// LockName is the lock and journal file at the repository root.
const LockName = ".gen.lock"

const (
	newSuffix = ".gen-new"
	// DefaultLockWait is how long a run waits for another live run's
	// lock before it gives up: a write holds the lock for milliseconds.
	DefaultLockWait = 10 * time.Second
	lockPoll        = 20 * time.Millisecond
)

// Owner names the run that holds the lock.
type Owner struct {
	// PID is the owner's process id.
	PID int `json:"pid"`
	// Start is the owner's start time in clock ticks after boot (field 22
	// of /proc/<pid>/stat), 0 where the system does not say. A process
	// with the owner's pid but another start time is a later one that
	// reused the pid: the owner is gone.
	Start uint64 `json:"start,omitempty"`
	// Command is what the owner was doing, e.g. "gen add-app: Add
	// default/echo".
	Command string `json:"command,omitempty"`
	// Since is when the owner took the lock.
	Since time.Time `json:"since,omitzero"`
}

func (o Owner) String() string {
	s := fmt.Sprintf("pid %d", o.PID)
	if o.Command != "" {
		s += " (" + o.Command + ")"
	}
	if !o.Since.IsZero() {
		s += ", started " + o.Since.Local().Format("2006-01-02 15:04:05")
	}
	return s
}

// journal is what the lock file holds: the owner, and once planned, the
// write's files.
type journal struct {
	Owner
	Committed bool     `json:"committed"`
	Writes    []string `json:"writes,omitempty"`
	Deletes   []string `json:"deletes,omitempty"`
	Dirs      []string `json:"dirs,omitempty"`
}

func (j journal) files() []string {
	out := append(append([]string{}, j.Writes...), j.Deletes...)
	sort.Strings(out)
	return out
}

// Writer applies changesets under one root.
type Writer struct {
	// Root is the repository root on disk.
	Root string
	// Command describes the run in the lock, so a message about the lock
	// can say who holds it ("gen add-app: Add default/echo"). It must
	// not hold secret values.
	Command string
	// LockWait is how long Apply, Recover and CheckReadable wait for a
	// live run to release the lock (DefaultLockWait when zero; negative:
	// not at all).
	LockWait time.Duration
	// AfterStep, when set, is called after each filesystem step of a
	// write with the number of steps so far. Tests stop a run there to
	// show that a crash at any point leaves a tree the next run
	// recovers; gen itself never sets it.
	AfterStep func(step int)

	steps int
}

// NewWriter returns a Writer for root.
func NewWriter(root string) *Writer {
	return &Writer{Root: root}
}

func (w *Writer) step() {
	w.steps++
	if w.AfterStep != nil {
		w.AfterStep(w.steps)
	}
}

func (w *Writer) lockWait() time.Duration {
	switch {
	case w.LockWait == 0:
		return DefaultLockWait
	case w.LockWait < 0:
		return 0
	}
	return w.LockWait
}

// ErrLocked is returned while another gen run holds the lock.
var ErrLocked = errors.New("another gen run is writing to this repository")

// LockedError is a lock held by a live run; it unwraps to ErrLocked.
type LockedError struct {
	Owner Owner
	// Lock is the lock file's path.
	Lock string
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("%v: %s holds %s; wait for it to finish, or if it hangs, stop it (kill %d) and run 'gen recover'",
		ErrLocked, e.Owner, e.Lock, e.Owner.PID)
}

func (e *LockedError) Unwrap() error { return ErrLocked }

// ConflictError is a change computed from files that changed on disk
// before it could be written: writing it would lose the other change.
type ConflictError struct {
	// Paths are the files that differ from what the change was computed
	// from.
	Paths []string
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("%s changed since gen read %s; nothing was written; run the command again",
		strings.Join(e.Paths, ", "), plural(len(e.Paths), "it", "them"))
}

// InterruptedError is a write a killed run left half done, found by a
// command that does not write (CheckReadable).
type InterruptedError struct {
	Owner     Owner
	Committed bool
	Lock      string
}

func (e *InterruptedError) Error() string {
	what := "undone"
	if e.Committed {
		what = "finished"
	}
	return fmt.Sprintf("a gen write to this repository was interrupted (%s; journal %s), so its files are only partly in place; "+
		"run 'gen recover' (or any gen command that writes) to have it %s, then run this again", e.Owner, e.Lock, what)
}

// Apply writes cs. Paths are checked again here: a path that is absolute,
// leaves the root, or passes through a symbolic link is refused before
// anything is written. A file of cs.Read that changed on disk is a
// *ConflictError, and nothing is written.
func (w *Writer) Apply(cs *generator.Changeset) (err error) {
	if err := cs.Normalize(); err != nil {
		return err
	}
	if err := w.checkPaths(cs); err != nil {
		return err
	}
	owner := w.owner()
	lock, err := w.acquire(owner)
	if err != nil {
		return err
	}
	locked := true
	defer func() {
		if locked {
			os.Remove(lock)
		}
	}()
	// Under the lock, nothing another gen run writes can change the
	// disk, so what is checked now holds until the renames are done.
	if err := w.checkPaths(cs); err != nil {
		return err
	}
	if err := w.compare(cs); err != nil {
		return err
	}
	j := w.plan(cs)
	j.Owner = owner
	if err := writeJournal(lock, j); err != nil {
		return err
	}
	w.step()

	committed := false
	defer func() {
		if committed {
			return
		}
		w.rollback(j)
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
	if err := writeJournal(lock, j); err != nil {
		return err
	}
	committed = true
	// From here on the journal finishes the write, even when this run
	// stops: the lock stays until finish removes it.
	locked = false
	w.step()
	syncDir(w.Root)
	return w.finish(j)
}

// plan lists the folders to create and the files to write and delete, so
// the journal says what a crashed run may leave behind.
func (w *Writer) plan(cs *generator.Changeset) journal {
	var j journal
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
	return j
}

func (w *Writer) checkPaths(cs *generator.Changeset) error {
	for _, f := range cs.Files {
		if err := w.checkPath(f.Path); err != nil {
			return err
		}
	}
	return nil
}

// compare checks every file of cs.Read against the disk.
func (w *Writer) compare(cs *generator.Changeset) error {
	if cs.Read == nil {
		return nil
	}
	var changed []string
	for _, f := range cs.Files {
		want, ok := cs.Read[f.Path]
		if !ok {
			continue
		}
		data, err := os.ReadFile(filepath.Join(w.Root, filepath.FromSlash(f.Path)))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if want != "" {
				changed = append(changed, f.Path)
			}
		case err != nil:
			return fmt.Errorf("reading %q: %w", f.Path, err)
		case want == "" || generator.ContentHash(data) != want:
			changed = append(changed, f.Path)
		}
	}
	if len(changed) > 0 {
		return &ConflictError{Paths: changed}
	}
	return nil
}

// acquire takes the lock, first recovering a write a killed run left
// behind and waiting (up to LockWait) for a live one to finish. It returns
// the lock's path.
func (w *Writer) acquire(owner Owner) (string, error) {
	lock := filepath.Join(w.Root, LockName)
	deadline := time.Now().Add(w.lockWait())
	for {
		err := createLock(lock, journal{Owner: owner})
		if err == nil {
			removeStrayLockFiles(lock)
			w.step()
			return lock, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("taking lock %s: %w", lock, err)
		}
		_, err = w.recoverOnce()
		var held *LockedError
		switch {
		case err == nil:
			continue
		case !errors.As(err, &held):
			return "", err
		case time.Now().After(deadline):
			return "", err
		}
		time.Sleep(lockPoll)
	}
}

// owner describes this run.
func (w *Writer) owner() Owner {
	start, _ := startTime(os.Getpid())
	return Owner{PID: os.Getpid(), Start: start, Command: w.Command, Since: time.Now().UTC().Truncate(time.Second)}
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

// Recovery is what Recover did with a write a killed run left behind.
type Recovery struct {
	// Owner is the run that was killed.
	Owner Owner
	// Finished is true when the write had passed its commit point and was
	// completed, false when it was undone.
	Finished bool
	// Files are the files the write touched.
	Files []string
}

func (r *Recovery) String() string {
	what := "undid it (no file had changed yet)"
	if r.Finished {
		what = fmt.Sprintf("finished it (%d %s)", len(r.Files), plural(len(r.Files), "file", "files"))
	}
	return fmt.Sprintf("recovered a write that was interrupted (%s): %s", r.Owner, what)
}

// Recover finishes or undoes a write that a killed run left behind, and
// says which (nil when there was none). A lock held by a live run is
// waited for (up to LockWait) and then a *LockedError.
func (w *Writer) Recover() (*Recovery, error) {
	deadline := time.Now().Add(w.lockWait())
	for {
		rec, err := w.recoverOnce()
		var held *LockedError
		if !errors.As(err, &held) || time.Now().After(deadline) {
			return rec, err
		}
		time.Sleep(lockPoll)
	}
}

// CheckReadable is Recover for commands that must not write: it waits
// (up to LockWait) for a live run to finish, and returns an
// *InterruptedError for a write a killed run left half done, which the
// tree must not be read with.
func (w *Writer) CheckReadable() error {
	lock := filepath.Join(w.Root, LockName)
	deadline := time.Now().Add(w.lockWait())
	for {
		j, ok, err := readJournal(lock)
		if err != nil || !ok {
			return err
		}
		if !alive(j.Owner) {
			if err := w.checkJournal(j); err != nil {
				return fmt.Errorf("%s: %w", lock, err)
			}
			return &InterruptedError{Owner: j.Owner, Committed: j.Committed, Lock: lock}
		}
		if time.Now().After(deadline) {
			return &LockedError{Owner: j.Owner, Lock: lock}
		}
		time.Sleep(lockPoll)
	}
}

// recoverOnce recovers a journal whose owner is gone; a live owner is a
// *LockedError.
func (w *Writer) recoverOnce() (*Recovery, error) {
	lock := filepath.Join(w.Root, LockName)
	j, ok, err := readJournal(lock)
	if err != nil || !ok {
		return nil, err
	}
	if alive(j.Owner) {
		return nil, &LockedError{Owner: j.Owner, Lock: lock}
	}
	// Two runs may find the same dead owner's lock. Only one may act on
	// it, and only while it is still that lock: the other would otherwise
	// remove the lock the first takes next.
	unlock, err := lockFolder(w.Root)
	if err != nil {
		return nil, fmt.Errorf("locking %s to recover %s: %w", w.Root, lock, err)
	}
	defer unlock()
	j, ok, err = readJournal(lock)
	if err != nil || !ok {
		return nil, err
	}
	if alive(j.Owner) {
		return nil, &LockedError{Owner: j.Owner, Lock: lock}
	}
	if err := w.checkJournal(j); err != nil {
		return nil, fmt.Errorf("%s: %w", lock, err)
	}
	rec := &Recovery{Owner: j.Owner, Finished: j.Committed, Files: j.files()}
	if j.Committed {
		if err := w.finish(j); err != nil {
			return nil, fmt.Errorf("finishing the write interrupted in %s (%s): %w; fix the cause and run 'gen recover'", lock, j.Owner, err)
		}
		return rec, nil
	}
	// Not committed: undo what the journal planned. Only the lock taker
	// could have removed it since it was read, and it is gone.
	w.rollback(j)
	if err := os.Remove(lock); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	return rec, nil
}

// checkJournal refuses a journal that names a path outside the root or
// through a link: a journal is data on disk, and recovery must not be a
// way to write anywhere else.
func (w *Writer) checkJournal(j journal) error {
	for _, group := range [][]string{j.Writes, j.Deletes, j.Dirs} {
		for _, p := range group {
			clean, err := generator.CleanRelPath(p)
			if err != nil || clean != p || clean == "." {
				return fmt.Errorf("the journal names %q, which is no path inside the repository; remove the file if no gen is running", p)
			}
			if err := w.checkPath(p); err != nil {
				return fmt.Errorf("the journal names %q: %w; remove the file if no gen is running", p, err)
			}
		}
	}
	return nil
}

// readJournal reads the lock; ok is false when there is none.
func readJournal(lock string) (journal, bool, error) {
	data, err := os.ReadFile(lock)
	if errors.Is(err, fs.ErrNotExist) {
		return journal{}, false, nil
	}
	if err != nil {
		return journal{}, false, fmt.Errorf("reading %s: %w", lock, err)
	}
	var j journal
	if err := json.Unmarshal(data, &j); err != nil {
		// The lock is created with its content in one step, so this is
		// not a run that is starting: the file was damaged or made by
		// hand.
		return journal{}, false, fmt.Errorf("%s does not parse (%v); if no gen is running, remove it", lock, err)
	}
	return j, true, nil
}

// createLock creates the lock with j in it, atomically: another run sees
// no lock or a complete one, never an empty file. The content is written
// to a file of its own and linked to the lock's name, which fails when
// the lock exists.
func createLock(lock string, j journal) error {
	data, err := json.Marshal(j)
	if err != nil {
		return err
	}
	var nonce [6]byte
	_, _ = rand.Read(nonce[:])
	tmp := fmt.Sprintf("%s.%d.%s.tmp", lock, os.Getpid(), hex.EncodeToString(nonce[:]))
	if err := writeSynced(tmp, data, 0o644); err != nil {
		return err
	}
	defer os.Remove(tmp)
	err = os.Link(tmp, lock)
	if err == nil || errors.Is(err, fs.ErrExist) {
		return err
	}
	// A file system without hard links: create exclusively and write.
	f, ferr := os.OpenFile(lock, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if ferr != nil {
		return ferr
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(lock)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(lock)
		return err
	}
	return f.Close()
}

// removeStrayLockFiles removes the files createLock writes before it links
// them, left behind by a run killed in between; only a dead run's.
func removeStrayLockFiles(lock string) {
	matches, _ := filepath.Glob(lock + ".*.tmp")
	for _, m := range matches {
		rest := strings.TrimPrefix(m, lock+".")
		pidText, _, ok := strings.Cut(rest, ".")
		pid, err := strconv.Atoi(pidText)
		if !ok || err != nil || alive(Owner{PID: pid}) {
			continue
		}
		os.Remove(m)
	}
}

// writeJournal replaces the journal atomically.
func writeJournal(lock string, j journal) error {
	data, err := json.Marshal(j)
	if err != nil {
		return err
	}
	tmp := lock + ".tmp"
	if err := writeSynced(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, lock)
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

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
