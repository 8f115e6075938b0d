package apply_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gen-gitops/gen/generator"
	"github.com/gen-gitops/gen/internal/apply"
	"github.com/gen-gitops/gen/internal/testutil"
)

// read returns the files of dir the way repo.Load snapshots them.
func read(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		data, err := os.ReadFile(p)
		out[filepath.ToSlash(rel)] = data
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestApplyRefusesWhatChangedSinceRead is the lost update: a change
// computed from a snapshot must not overwrite an edit made since, nor
// replace a file that appeared since.
func TestApplyRefusesWhatChangedSinceRead(t *testing.T) {
	for name, edit := range map[string]func(dir string) error{
		"edited": func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "kubernetes/apps/default/kustomization.yaml"),
				[]byte("resources:\n  - ./namespace.yaml\n  - ./theirs/ks.yaml\n"), 0o644)
		},
		"created": func(dir string) error {
			if err := os.MkdirAll(filepath.Join(dir, "kubernetes/apps/default/new"), 0o755); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dir, "kubernetes/apps/default/new/ks.yaml"), []byte("theirs\n"), 0o644)
		},
		"deleted": func(dir string) error {
			return os.Remove(filepath.Join(dir, "kubernetes/apps/default/kustomization.yaml"))
		},
		"edited before delete": func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "kubernetes/apps/default/old.yaml"), []byte("theirs\n"), 0o644)
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := seed(t)
			cs := changeset()
			if err := cs.Normalize(); err != nil {
				t.Fatal(err)
			}
			cs.RecordRead(read(t, dir))
			if err := edit(dir); err != nil {
				t.Fatal(err)
			}
			before := testutil.Snapshot(t, dir)
			err := apply.NewWriter(dir).Apply(cs)
			var conflict *apply.ConflictError
			if !errors.As(err, &conflict) {
				t.Fatalf("want a ConflictError, got %v", err)
			}
			if !strings.Contains(err.Error(), "changed since gen read") || !strings.Contains(err.Error(), "run the command again") {
				t.Errorf("unclear message: %v", err)
			}
			testutil.SameSnapshot(t, before, testutil.Snapshot(t, dir))
		})
	}
}

// TestApplyWritesWhatIsUnchanged: the comparison passes when the disk is
// what the change was computed from.
func TestApplyWritesWhatIsUnchanged(t *testing.T) {
	dir := seed(t)
	cs := changeset()
	if err := cs.Normalize(); err != nil {
		t.Fatal(err)
	}
	cs.RecordRead(read(t, dir))
	if err := apply.NewWriter(dir).Apply(cs); err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentWritersLoseNothing runs writers at once, each with a
// change computed from the same snapshot that adds its own line to one
// file: exactly one wins, the others are refused, and the file holds the
// winner's line.
func TestConcurrentWritersLoseNothing(t *testing.T) {
	dir := seed(t)
	snapshot := read(t, dir)
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		cs := &generator.Changeset{Title: fmt.Sprint("writer ", i)}
		cs.Add("kubernetes/apps/default/kustomization.yaml", fmt.Appendf(nil, "resources:\n  - ./namespace.yaml\n  - ./app%d/ks.yaml\n", i))
		cs.Add(fmt.Sprintf("kubernetes/apps/default/app%d/ks.yaml", i), []byte("ks\n"))
		if err := cs.Normalize(); err != nil {
			t.Fatal(err)
		}
		cs.RecordRead(snapshot)
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = apply.NewWriter(dir).Apply(cs)
		}()
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		var conflict *apply.ConflictError
		switch {
		case err == nil:
			if winner >= 0 {
				t.Fatalf("writers %d and %d both wrote: one update is lost", winner, i)
			}
			winner = i
		case !errors.As(err, &conflict):
			t.Fatalf("writer %d: want a ConflictError, got %v", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no writer wrote")
	}
	got, _ := os.ReadFile(filepath.Join(dir, "kubernetes/apps/default/kustomization.yaml"))
	if !strings.Contains(string(got), fmt.Sprintf("./app%d/ks.yaml", winner)) {
		t.Fatalf("the winner's line is missing:\n%s", got)
	}
	for i := range n {
		_, err := os.Stat(filepath.Join(dir, fmt.Sprintf("kubernetes/apps/default/app%d", i)))
		if (i == winner) != (err == nil) {
			t.Errorf("app%d: folder present %v, winner %v", i, err == nil, i == winner)
		}
	}
}

// procStart reads a process's start time as the lock records it.
func procStart(t *testing.T, pid int) uint64 {
	t.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Skip("no /proc on this system")
	}
	fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	v, err := strconv.ParseUint(fields[19], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func procState(pid int) string {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	return strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))[0]
}

// staleLock leaves the journal of a write that had staged one file and not
// reached its commit point, as a killed run does.
func staleLock(t *testing.T, dir string, owner map[string]any) {
	t.Helper()
	j := map[string]any{"committed": false, "writes": []string{"kubernetes/apps/default/kustomization.yaml"}}
	for k, v := range owner {
		j[k] = v
	}
	data, _ := json.Marshal(j)
	if err := os.WriteFile(filepath.Join(dir, apply.LockName), data, 0o644); err != nil {
		t.Fatal(err)
	}
	staged := filepath.Join(dir, "kubernetes/apps/default/kustomization.yaml.gen-new")
	if err := os.WriteFile(staged, []byte("half\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestZombieOwnerIsGone: a run that has exited but whose parent has not
// reaped it keeps its pid (a zombie); it holds nothing, so the next write
// undoes its journal and goes ahead.
func TestZombieOwnerIsGone(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	pid := cmd.Process.Pid
	start := procStart(t, pid)
	// The child exits at once; until Wait it is a zombie. Bounded by a
	// count, not a clock.
	for i := 0; procState(pid) != "Z"; i++ {
		if i > 100000 {
			t.Fatalf("child %d never became a zombie (state %q)", pid, procState(pid))
		}
		runtimeGosched()
	}
	dir := seed(t)
	staleLock(t, dir, map[string]any{"pid": pid, "start": start, "command": "gen add-app: Add default/x"})
	w := apply.NewWriter(dir)
	w.LockWait = -1
	if err := w.Apply(changeset()); err != nil {
		t.Fatalf("a zombie's lock blocked the write: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "kubernetes/apps/default/kustomization.yaml.gen-new")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the zombie's staged file was not undone: %v", err)
	}
}

// TestReusedPIDIsGone: the lock's pid belongs to a live process that
// started at another time, so it is not the owner.
func TestReusedPIDIsGone(t *testing.T) {
	parent := os.Getppid()
	dir := seed(t)
	staleLock(t, dir, map[string]any{"pid": parent, "start": procStart(t, parent) + 1})
	w := apply.NewWriter(dir)
	w.LockWait = -1
	rec, err := w.Recover()
	if err != nil {
		t.Fatalf("a reused pid was taken for the owner: %v", err)
	}
	if rec == nil || rec.Finished {
		t.Fatalf("want the journal undone, got %+v", rec)
	}
}

// TestLockNamesItsOwner: a live owner is named with its command and start,
// and the message says how to clear it.
func TestLockNamesItsOwner(t *testing.T) {
	parent := os.Getppid()
	dir := seed(t)
	staleLock(t, dir, map[string]any{"pid": parent, "start": procStart(t, parent), "command": "gen add-app: Add default/x", "since": "2025-01-02T03:04:05Z"})
	w := apply.NewWriter(dir)
	w.LockWait = -1
	err := w.Apply(changeset())
	var locked *apply.LockedError
	if !errors.As(err, &locked) || !errors.Is(err, apply.ErrLocked) {
		t.Fatalf("want a LockedError, got %v", err)
	}
	for _, want := range []string{fmt.Sprintf("pid %d", parent), "gen add-app: Add default/x", "started 2025-01-0", "kill " + strconv.Itoa(parent), "gen recover", apply.LockName} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message lacks %q: %v", want, err)
		}
	}
}

// TestRecoverRefusesJournalOutsideRoot: a journal is data on disk (it
// may come with a checkout); recovery never acts on a path outside the
// repository or through a link.
func TestRecoverRefusesJournalOutsideRoot(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "repo")
	if err := os.MkdirAll(filepath.Join(dir, "kubernetes"), 0o755); err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(parent, "victim.txt")
	if err := os.WriteFile(victim, []byte("keep\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(parent, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"../victim.txt", "link/victim.txt", "/etc/hostname", "kubernetes/../../victim.txt"} {
		j, _ := json.Marshal(map[string]any{"pid": 0, "committed": true, "deletes": []string{p}})
		if err := os.WriteFile(filepath.Join(dir, apply.LockName), j, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := apply.NewWriter(dir).Recover(); err == nil {
			t.Errorf("%s: recovery acted on the journal", p)
		}
		if _, err := os.Stat(victim); err != nil {
			t.Fatalf("%s: the file outside the repository is gone", p)
		}
	}
}

// TestCheckReadable: readers wait for nothing when there is no lock, and
// refuse a half-written tree with a message that says how to finish it.
func TestCheckReadable(t *testing.T) {
	dir := seed(t)
	if err := apply.NewWriter(dir).CheckReadable(); err != nil {
		t.Fatal(err)
	}
	staleLock(t, dir, map[string]any{"pid": 0, "command": "gen add-app: Add default/x"})
	before := testutil.Snapshot(t, dir)
	err := apply.NewWriter(dir).CheckReadable()
	var interrupted *apply.InterruptedError
	if !errors.As(err, &interrupted) || !strings.Contains(err.Error(), "gen recover") || !strings.Contains(err.Error(), "gen add-app: Add default/x") {
		t.Fatalf("want an InterruptedError naming the run and 'gen recover', got %v", err)
	}
	testutil.SameSnapshot(t, before, testutil.Snapshot(t, dir))
}

// TestApplyWaitsForLiveLock: a lock a live run releases soon is waited
// for, not refused.
func TestApplyWaitsForLiveLock(t *testing.T) {
	dir := seed(t)
	lock := filepath.Join(dir, apply.LockName)
	j, _ := json.Marshal(map[string]any{"pid": os.Getpid(), "command": "another writer"})
	if err := os.WriteFile(lock, j, 0o644); err != nil {
		t.Fatal(err)
	}
	w := apply.NewWriter(dir)
	var released atomic.Bool
	// The holder lets go after a few polls of its own.
	go func() {
		for i := 0; ; i++ {
			if _, err := os.Stat(lock); err != nil {
				return
			}
			if i == 3 {
				released.Store(true)
				os.Remove(lock)
				return
			}
			sleepPoll()
		}
	}()
	if err := w.Apply(changeset()); err != nil {
		t.Fatalf("the writer did not wait for the lock: %v", err)
	}
	if !released.Load() {
		t.Fatal("the writer took a lock that was held")
	}
}
