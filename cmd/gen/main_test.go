package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/gen-gitops/gen/internal/cli"
	"github.com/gen-gitops/gen/internal/testutil"
)

func TestMain(m *testing.M) {
	// A test that runs gen in a child process of its own (genChild)
	// lands here.
	if args := os.Getenv("GEN_CHILD_ARGS"); args != "" {
		var argv []string
		if err := json.Unmarshal([]byte(args), &argv); err != nil {
			panic(err)
		}
		os.Exit(cli.Run(argv, cli.IO{In: strings.NewReader(""), Out: os.Stdout, ErrOut: os.Stderr}, crashEnv(os.Getenv("GEN_CRASH_AFTER"))))
	}
	testscript.Main(m, map[string]func(){
		"gen": func() { os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs the end-to-end stories in testdata/script. Each script
// starts with a fresh copy of the example repository at $WORK/home-ops and
// a HOME of its own; $EXAMPLE_KEY is the example age key.
func TestScripts(t *testing.T) {
	example := testutil.ExampleRepo(t)
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			dst := filepath.Join(env.WorkDir, "home-ops")
			if err := copyDir(example, dst); err != nil {
				return err
			}
			home := filepath.Join(env.WorkDir, ".home")
			if err := os.MkdirAll(home, 0o755); err != nil {
				return err
			}
			env.Setenv("HOME", home)
			env.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
			env.Setenv("EXAMPLE_KEY", filepath.Join(example, "example-age.key"))
			env.Setenv("GIT_CONFIG_NOSYSTEM", "1")
			env.Setenv("SOPS_AGE_KEY_FILE", "")
			return nil
		},
		Condition: func(cond string) (bool, error) {
			if name, ok := strings.CutPrefix(cond, "tool:"); ok {
				if _, err := exec.LookPath(name); err == nil {
					return true, nil
				}
				if os.Getenv("CI") == "true" {
					return false, fmt.Errorf("%s is not installed; CI installs it with scripts/tools.sh", name)
				}
				return false, nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"snapshot":  cmdSnapshot,
			"unchanged": cmdUnchanged,
		},
	})
}

// snapshot NAME DIR records a tree's paths and content hashes.
func cmdSnapshot(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: snapshot NAME DIR")
	}
	ts.Check(os.WriteFile(snapshotPath(ts, args[0]), []byte(treeHash(ts, ts.MkAbs(args[1]))), 0o644))
}

// unchanged NAME DIR fails when DIR differs from the snapshot NAME.
func cmdUnchanged(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: unchanged NAME DIR")
	}
	want, err := os.ReadFile(snapshotPath(ts, args[0]))
	ts.Check(err)
	got := treeHash(ts, ts.MkAbs(args[1]))
	if (got == string(want)) == neg {
		if neg {
			ts.Fatalf("%s did not change", args[1])
		}
		ts.Fatalf("%s changed:\n%s", args[1], lineDiff(string(want), got))
	}
}

func treeHash(ts *testscript.TestScript, dir string) string {
	snap, err := testutil.HashTree(dir)
	ts.Check(err)
	keys := make([]string, 0, len(snap))
	for k := range snap {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s %s\n", snap[k], k)
	}
	return b.String()
}

func lineDiff(a, b string) string {
	al, bl := map[string]bool{}, map[string]bool{}
	for _, l := range strings.Split(a, "\n") {
		al[l] = true
	}
	for _, l := range strings.Split(b, "\n") {
		bl[l] = true
	}
	var out []string
	for l := range al {
		if !bl[l] {
			out = append(out, "- "+l)
		}
	}
	for l := range bl {
		if !al[l] {
			out = append(out, "+ "+l)
		}
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

func copyDir(src, dst string) error {
	return filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, info.Mode().Perm())
	})
}

// snapshotPath keeps snapshots outside the trees they describe.
func snapshotPath(ts *testscript.TestScript, name string) string {
	dir := filepath.Join(ts.Getenv("WORK"), ".snapshots")
	ts.Check(os.MkdirAll(dir, 0o755))
	return filepath.Join(dir, name)
}
