package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gen-gitops/gen/internal/testutil"
)

// genChild runs gen with args in a child process (see TestMain), stopped
// like a kill after crashAfter filesystem steps of its write when
// crashAfter > 0. It returns the exit code and what gen printed.
func genChild(t *testing.T, crashAfter int, args ...string) (int, string, string) {
	t.Helper()
	argv, _ := json.Marshal(args)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	home := filepath.Join(t.TempDir(), "home")
	cmd.Env = append(os.Environ(), "GEN_CHILD_ARGS="+string(argv), fmt.Sprintf("GEN_CRASH_AFTER=%d", crashAfter),
		"SOPS_AGE_KEY_FILE="+testutil.ExampleAgeKey(t), "SOPS_AGE_KEY=", "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, stdout.String(), stderr.String()
	case errors.As(err, &exit):
		return exit.ExitCode(), stdout.String(), stderr.String()
	}
	t.Fatalf("running gen %v: %v", args, err)
	return 0, "", ""
}

const nsKustomization = "kubernetes/apps/default/kustomization.yaml"

// registered reports whether the default namespace's kustomization lists
// the app.
func registered(t *testing.T, dir, app string) bool {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, nsKustomization))
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Contains(data, []byte("- ./"+app+"/ks.yaml\n"))
}

func exists(dir, rel string) bool {
	_, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(rel)))
	return err == nil
}

// checkConsistent fails when an app folder of the default namespace is not
// registered, or a registered app has no folder, or a write left files
// behind: the tree gen leaves is always one Flux deploys as it looks.
func checkConsistent(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, "kubernetes/apps/default"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() && !registered(t, dir, e.Name()) {
			t.Errorf("app folder %s is not registered in %s", e.Name(), nsKustomization)
		}
	}
	data, _ := os.ReadFile(filepath.Join(dir, nsKustomization))
	for _, line := range strings.Split(string(data), "\n") {
		if app, ok := strings.CutSuffix(strings.TrimPrefix(strings.TrimSpace(line), "- ./"), "/ks.yaml"); ok && !exists(dir, "kubernetes/apps/default/"+app+"/ks.yaml") {
			t.Errorf("%s lists %s, which has no ks.yaml", nsKustomization, app)
		}
	}
	for p := range testutil.Snapshot(t, dir) {
		if strings.Contains(p, ".gen-new") || strings.Contains(p, ".gen.lock") {
			t.Errorf("left behind: %s", p)
		}
	}
}

// TestConcurrentAddAppsLoseNothing is the lost update: pairs of add-app
// run at once on one repository, as separate processes. Each run either
// registers its app, or is refused with a message that says to run it
// again and writes nothing; a refused run then succeeds. No run exits 0
// with its app unregistered.
func TestConcurrentAddAppsLoseNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("runs gen twice per pair")
	}
	dir := testutil.CopyTree(t, testutil.ExampleRepo(t))
	const pairs = 10
	refused := 0
	for i := range pairs {
		apps := []string{fmt.Sprintf("aa%d", i), fmt.Sprintf("bb%d", i)}
		type outcome struct {
			code   int
			stderr string
		}
		out := make([]outcome, len(apps))
		var wg sync.WaitGroup
		for k, app := range apps {
			wg.Add(1)
			go func() {
				defer wg.Done()
				code, _, stderr := genChild(t, 0, "add-app", "default/"+app, "--image", "ghcr.io/example/app:1.0.0", "--repo", dir)
				out[k] = outcome{code, stderr}
			}()
		}
		wg.Wait()
		for k, app := range apps {
			o := out[k]
			switch {
			case o.code == 0:
				if !registered(t, dir, app) {
					t.Fatalf("add-app default/%s exited 0 but the app is not registered: the update was lost", app)
				}
			case strings.Contains(o.stderr, "changed since gen read it") && strings.Contains(o.stderr, "run the command again"):
				refused++
				if exists(dir, "kubernetes/apps/default/"+app) {
					t.Fatalf("add-app default/%s was refused but wrote its folder", app)
				}
				// Run again, as the message says: now it goes through.
				if code, _, stderr := genChild(t, 0, "add-app", "default/"+app, "--image", "ghcr.io/example/app:1.0.0", "--repo", dir); code != 0 {
					t.Fatalf("add-app default/%s run again: exit %d\n%s", app, code, stderr)
				}
			default:
				t.Fatalf("add-app default/%s: exit %d without a clear refusal:\n%s", app, o.code, o.stderr)
			}
		}
		checkConsistent(t, dir)
	}
	for i := range pairs {
		for _, app := range []string{fmt.Sprintf("aa%d", i), fmt.Sprintf("bb%d", i)} {
			if !registered(t, dir, app) || !exists(dir, "kubernetes/apps/default/"+app+"/ks.yaml") {
				t.Errorf("%s is missing at the end", app)
			}
		}
	}
	t.Logf("%d of %d runs were refused and run again", refused, 2*pairs)
}

// TestCrashThenAnotherCommand kills `gen add-app default/aa` after each
// filesystem step of its write; the next command is a different one. A
// command that writes first finishes or undoes the interrupted write (and
// says so), then does its own work on a consistent tree; one that only
// reads refuses the half-written tree and points to 'gen recover'.
func TestCrashThenAnotherCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("runs gen twice per write step")
	}
	first := []string{"add-app", "default/aa", "--image", "ghcr.io/example/app:1.0.0"}
	// The tree a run that is not killed leaves.
	ref := testutil.CopyTree(t, testutil.ExampleRepo(t))
	if code, _, stderr := genChild(t, 0, append(first, "--repo", ref)...); code != 0 {
		t.Fatalf("add-app: exit %d\n%s", code, stderr)
	}
	refFiles := readFiles(t, filepath.Join(ref, "kubernetes/apps/default/aa"))
	nexts := [][]string{
		{"add-app", "default/bb", "--image", "ghcr.io/example/app:1.0.0"},
		{"remove-app", "default/echo"},
		{"secret", "set", "default/whoami", "API_KEY=s3cret"},
		{"check"},
	}
	sawOld, sawNew := false, false
	for step := 1; step < 60; step++ {
		dir := testutil.CopyTree(t, testutil.ExampleRepo(t))
		code, _, stderr := genChild(t, step, append(first, "--repo", dir)...)
		crashed := code == 137
		if !crashed && code != 0 {
			t.Fatalf("step %d: add-app failed: exit %d\n%s", step, code, stderr)
		}
		next := nexts[step%len(nexts)]
		code, _, stderr = genChild(t, 0, append(next, "--repo", dir)...)
		if next[0] == "check" && crashed {
			// A reader never writes: it names the interrupted write and
			// the way to finish it, and leaves the tree alone.
			if code == 0 || !strings.Contains(stderr, "interrupted") || !strings.Contains(stderr, "gen recover") || !strings.Contains(stderr, "gen add-app: Add default/aa") {
				t.Fatalf("step %d: check on a half-written tree: exit %d\n%s", step, code, stderr)
			}
			code, _, stderr = genChild(t, 0, "recover", "--repo", dir)
			if code != 0 {
				t.Fatalf("step %d: recover: exit %d\n%s", step, code, stderr)
			}
			code, _, stderr = genChild(t, 0, "check", "--repo", dir)
		}
		if code != 0 {
			t.Fatalf("step %d: gen %s after the crash: exit %d\n%s", step, strings.Join(next, " "), code, stderr)
		}
		if crashed && next[0] != "check" && !strings.Contains(stderr, "recovered a write that was interrupted") {
			t.Errorf("step %d: gen %s did not say it recovered the interrupted write:\n%s", step, strings.Join(next, " "), stderr)
		}
		checkConsistent(t, dir)
		// The first app is all there, as a run that finished writes it,
		// or not there at all.
		if exists(dir, "kubernetes/apps/default/aa") {
			sawNew = true
			got := readFiles(t, filepath.Join(dir, "kubernetes/apps/default/aa"))
			if len(got) != len(refFiles) {
				t.Fatalf("step %d: aa has %d files, a finished run writes %d", step, len(got), len(refFiles))
			}
			for p, data := range refFiles {
				if !bytes.Equal(got[p], data) {
					t.Fatalf("step %d: aa/%s differs from what a finished run writes", step, p)
				}
			}
		} else {
			sawOld = true
			if registered(t, dir, "aa") {
				t.Fatalf("step %d: aa is registered without its folder", step)
			}
		}
		switch next[0] {
		case "add-app":
			if !registered(t, dir, "bb") {
				t.Fatalf("step %d: the next add-app's app is not registered", step)
			}
		case "remove-app":
			if registered(t, dir, "echo") || exists(dir, "kubernetes/apps/default/echo") {
				t.Fatalf("step %d: remove-app left echo behind", step)
			}
		}
		if !crashed {
			if !sawOld || !sawNew {
				t.Fatalf("crash points never gave both outcomes (old %v, new %v)", sawOld, sawNew)
			}
			t.Logf("add-app was killed at each of its %d write steps; every next command recovered first", step-1)
			return
		}
	}
	t.Fatal("add-app never finished writing within 60 steps")
}
